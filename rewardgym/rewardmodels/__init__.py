"""Reward models learned from preferences: the models, the simulated labeler, and training.

- :mod:`rewardgym.rewardmodels.model`: :class:`RewardModel` (pluggable features and network),
  :class:`RewardEnsemble` (mean, WCO, UWO), saving and loading with a model card.
- :mod:`rewardgym.rewardmodels.preferences`: segments, the :class:`SyntheticLabeler` (which reads
  gold, as a simulated human may), the Bradley-Terry loss, offline :func:`fit` and
  :func:`pair_accuracy`.

The ``learned`` reward regime (:mod:`rewardgym.wrappers.learned`) pays an agent with these models.

Example:
    >>> import torch
    >>> from gymnasium import spaces
    >>> from rewardgym.rewardmodels import RewardEnsemble
    >>> ens = RewardEnsemble(spaces.Box(-1, 1, (2,)), spaces.Discrete(2), size=2, hidden=(4,))
    >>> ens(torch.zeros(3, 2), torch.zeros(3, dtype=torch.long), torch.zeros(3, 2)).shape
    torch.Size([3])
"""

from rewardgym.rewardmodels.model import (
    AGGREGATIONS,
    RewardEnsemble,
    RewardModel,
    TransitionFeatures,
    aggregate,
    check_spaces,
    describe_space,
    load_reward_model,
    mlp,
    read_model_card,
    save_reward_model,
)
from rewardgym.rewardmodels.preferences import (
    PreferencePairs,
    SegmentBuffer,
    Segments,
    SyntheticLabeler,
    bradley_terry_loss,
    collect_pairs,
    collect_segments,
    fit,
    label_pairs,
    pair_accuracy,
    segment_returns,
    train_reward_model,
)

__all__ = [
    "AGGREGATIONS",
    "PreferencePairs",
    "RewardEnsemble",
    "RewardModel",
    "SegmentBuffer",
    "Segments",
    "SyntheticLabeler",
    "TransitionFeatures",
    "aggregate",
    "bradley_terry_loss",
    "check_spaces",
    "collect_pairs",
    "collect_segments",
    "describe_space",
    "fit",
    "label_pairs",
    "load_reward_model",
    "mlp",
    "pair_accuracy",
    "read_model_card",
    "save_reward_model",
    "segment_returns",
    "train_reward_model",
]
