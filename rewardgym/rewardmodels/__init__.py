"""Reward models learned from preferences: the models, the segments, the simulated labeler, training.

The modules, in the order a preference-based pipeline uses them (Christiano et al., "Deep
Reinforcement Learning from Human Preferences", 2017):

- :mod:`rewardgym.rewardmodels.segments`: :class:`Segments` (windows of one env's steps), the
  :class:`SegmentBuffer` that records a vector env's batches, and :func:`collect_segments`.
- :mod:`rewardgym.rewardmodels.labelers`: the :class:`SyntheticLabeler` (which reads gold, as a
  simulated human may) and the :class:`PreferencePairs` it labels.
- :mod:`rewardgym.rewardmodels.model`: :class:`RewardModel` (pluggable features and network),
  :class:`RewardEnsemble` (mean, WCO, UWO), saving and loading with a model card.
- :mod:`rewardgym.rewardmodels.training`: the Bradley-Terry loss, offline :func:`fit`,
  :func:`pair_accuracy`, and :func:`train_reward_model`, which does all of it for an env id.
- :mod:`rewardgym.rewardmodels.text`: a small transformer reward model of completions, trained
  the same way on pairs with planted biases.
- :mod:`rewardgym.rewardmodels.vision`: a small CNN-and-instruction reward model of the
  instruction-following scenes (:class:`VisionRewardModel`), trained on labeled pairs drawn from
  the scenes with a planted shortcut, and its counterfactual evaluation.

The ``learned`` reward regime (:mod:`rewardgym.wrappers.learned`) pays an agent with these models.

Example:
    >>> import torch
    >>> from gymnasium import spaces
    >>> from rewardgym.rewardmodels import RewardEnsemble
    >>> ens = RewardEnsemble(spaces.Box(-1, 1, (2,)), spaces.Discrete(2), size=2, hidden=(4,))
    >>> ens(torch.zeros(3, 2), torch.zeros(3, dtype=torch.long), torch.zeros(3, 2)).shape
    torch.Size([3])
"""

from rewardgym.rewardmodels.labelers import PreferencePairs, SyntheticLabeler, collect_pairs, label_pairs
from rewardgym.rewardmodels.model import (
    AGGREGATIONS,
    RewardEnsemble,
    RewardModel,
    TransitionFeatures,
    aggregate,
    check_spaces,
    load_reward_model,
    mlp,
    read_model_card,
    save_reward_model,
    space_to_dict,
)
from rewardgym.rewardmodels.segments import SegmentBuffer, Segments, collect_segments
from rewardgym.rewardmodels.training import (
    bradley_terry_loss,
    fit,
    pair_accuracy,
    segment_returns,
    train_reward_model,
)
from rewardgym.rewardmodels.vision import (
    VisionRewardModel,
    load_vision_reward_model,
    save_vision_reward_model,
    train_vision_reward_model,
)

describe_space = space_to_dict
"""The former name of :func:`space_to_dict`, kept for existing imports (``envs`` has a
``describe_space`` of its own that returns a string)."""

__all__ = [
    "AGGREGATIONS",
    "PreferencePairs",
    "RewardEnsemble",
    "RewardModel",
    "SegmentBuffer",
    "Segments",
    "SyntheticLabeler",
    "TransitionFeatures",
    "VisionRewardModel",
    "aggregate",
    "bradley_terry_loss",
    "check_spaces",
    "collect_pairs",
    "collect_segments",
    "describe_space",
    "fit",
    "label_pairs",
    "load_reward_model",
    "load_vision_reward_model",
    "mlp",
    "pair_accuracy",
    "read_model_card",
    "save_reward_model",
    "save_vision_reward_model",
    "segment_returns",
    "space_to_dict",
    "train_reward_model",
    "train_vision_reward_model",
]
