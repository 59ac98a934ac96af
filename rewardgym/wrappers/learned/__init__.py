"""``learned``: the agent is paid by a reward model learned from pairwise preferences.

One family, four kinds, chosen with ``kind=...`` (default ``"model"``), one module each:

============  ==================================================================================
kind          what the agent is paid
============  ==================================================================================
model         a trained reward model's reward, frozen: a saved model (``path=...``) or a
              :class:`~rewardgym.rewardmodels.RewardModel` / ``RewardEnsemble`` object
              (``model=...``); :mod:`~rewardgym.wrappers.learned.frozen`
online        a reward model trained while the agent runs, as in preference-based RL: the layer
              records the batches it sees, asks a simulated labeler for preferences between
              segments on a query schedule, and refits the model (Christiano et al. 2017);
              :mod:`~rewardgym.wrappers.learned.online`
text_model    a transformer reward model of (question, completion), frozen, for completion envs;
              :mod:`~rewardgym.wrappers.learned.text`
vision_model  a CNN-and-instruction reward model's probability that the instruction holds in the
              next observation (picture and instruction), frozen, for the instruction-following
              scenes: ``path=...``, ``model=...``, or by default one trained here on pairs with
              a planted shortcut (``shortcut="colour"`` for GoToShape: it pays the agent for
              standing on anything of the named colour); :mod:`~rewardgym.wrappers.learned.vision`
============  ==================================================================================

``model`` and ``online`` share :class:`~rewardgym.wrappers.learned.base.RewardModelRegime`.

Ensembles aggregate their members per step as ``"mean"``, ``"wco"`` (min) or ``"uwo"``
(``mean - uwo_lambda * variance``); an ensemble's layer reports the members' standard deviation
in ``info["regime_info"]["learned"]["std"]``.

Only the ``online`` kind's labeler reads gold (``Transition.gold``): it simulates the human
whose preferences the model learns (:class:`~rewardgym.rewardmodels.SyntheticLabeler`). The
reward the agent is paid never reads it. Models run in torch on the batch's device: numpy
batches enter through ``torch.from_numpy`` and leave as numpy; GPU batches stay on the GPU.

To study overoptimization, pay the agent with a learned reward and watch the proxy return rise
while the gold return (``info["episode_returns"]["gold"]``) stalls or falls.

Example:
    >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.learned
    >>> envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=4,
    ...                     reward="learned(kind='online', query_every=30, segment_length=10)")
    >>> _ = envs.reset(seed=0)
    >>> for _ in range(31):   # the layer refreshes after step 30; step 31 reports it
    ...     _, proxy, _, _, info = envs.step(envs.action_space.sample())
    >>> list(info["reward_trace"]), info["regime_info"]["learned"]["labels"]
    (['env', 'learned'], 100)
"""

from __future__ import annotations

from typing import Any

from rewardgym.core.regime import Regime
from rewardgym.core.registry import RegimeFactory, make_kind, register_regime
from rewardgym.wrappers.learned.base import RewardModelRegime
from rewardgym.wrappers.learned.frozen import ModelReward
from rewardgym.wrappers.learned.online import OnlinePreferenceReward
from rewardgym.wrappers.learned.text import TextModelReward
from rewardgym.wrappers.learned.vision import VisionModelReward

__all__ = [
    "KINDS",
    "ModelReward",
    "OnlinePreferenceReward",
    "RewardModelRegime",
    "TextModelReward",
    "VisionModelReward",
    "learned",
]


KINDS: dict[str, RegimeFactory] = {
    "model": ModelReward,
    "online": OnlinePreferenceReward,
    "text_model": TextModelReward,
    "vision_model": VisionModelReward,
}
"""The kinds of the ``learned`` family, by name."""


def learned(kind: str = "model", **params: Any) -> Regime:
    """The ``learned`` family: the ``kind`` variant with its parameters (see :data:`KINDS`).

    Unknown kinds and parameters are refused with the valid choices.

    Example:
        >>> learned("online", ensemble=0)
        Traceback (most recent call last):
        ...
        ValueError: learned(kind='online'): ensemble size must be an integer >= 1, got 0
        >>> learned("online", aggregation="max")
        Traceback (most recent call last):
        ...
        ValueError: learned(kind='online'): unknown aggregation 'max'; valid aggregations: mean, wco, uwo
    """
    return make_kind("learned", KINDS, kind, params)


register_regime("learned", learned, override=True)
