"""``shaped``: reward shaping (potential-based and naive) and the bounded reward transforms.

Kinds (``shaped(kind=..., ...)``; the default is ``"potential"``), each in its own module:

- ``potential``: ``r + scale * (gamma * Phi(s') - Phi(s))``, potential-based shaping (Ng, Harada &
  Russell 1999), which leaves optimal policies unchanged when ``gamma`` is the agent's discount.
- ``naive``: ``r + scale * Phi(s')``, a bonus for good states, which does not (the contrast).
- ``clip``: ``clip(r, low, high)``.
- ``par``: ``mean_m sigmoid(r - r_ref_m)``, Preference As Reward (Fu et al. 2025).
- ``log_sigmoid``: ``log sigmoid(r - r_ref)``, the LSC transform (Wang et al. 2024).
- ``delta_cap``: the reward, capped so that an episode's sum never exceeds ``cap`` (after the
  Clip and Delta mechanisms of Gao et al. 2024).
- ``weighted_sum``: ``sum_i w_i * term_i(batch)`` (plus the incoming reward if asked).
- ``format``, ``length`` and ``token_format``: the text kinds, a format bonus and a length penalty
  for completion envs and a format bonus for token envs.

``potential`` and ``naive`` are in :mod:`~rewardgym.wrappers.shaped.potential`, the transforms in
:mod:`~rewardgym.wrappers.shaped.transform`, ``weighted_sum`` in
:mod:`~rewardgym.wrappers.shaped.weighted_sum` and the text kinds in
:mod:`~rewardgym.wrappers.shaped.text`.

``Phi`` is a potential: a function of an observation batch returning one number per env. Each
control, gridworld and MuJoCo env has a built-in one, written with its dynamics (the ``potential``
of its :class:`~rewardgym.envs.batched.BatchedTask` or :class:`~rewardgym.envs.mujoco.MujocoTask`)
and chosen by the env's id when ``potential`` is None (:data:`BUILTIN_POTENTIALS`);
:mod:`~rewardgym.wrappers.shaped.kernels` compiles a batched task's into the shaping kernels.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> import rewardgym.wrappers.shaped
    >>> env = gym.make("rewardgym/Pendulum-v0", reward="shaped(gamma=0.99)")
    >>> _ = env.reset(seed=0)
    >>> _, proxy, _, _, info = env.step([0.0])
    >>> list(info["reward_trace"]), info["gold_reward"] == info["reward_trace"]["env"]
    (['env', 'shaped'], True)
"""

from __future__ import annotations

from typing import Any

from rewardgym.core.regime import Regime
from rewardgym.core.registry import RegimeFactory, make_kind, register_regime
from rewardgym.wrappers.shaped.potential import (
    BUILTIN_POTENTIALS,
    BuiltinPotential,
    NaiveShaping,
    Potential,
    PotentialShaping,
)
from rewardgym.wrappers.shaped.text import FormatReward, LengthPenalty, TokenFormatReward
from rewardgym.wrappers.shaped.transform import ClipReward, DeltaCap, LogSigmoidReward, PreferenceAsReward
from rewardgym.wrappers.shaped.weighted_sum import WeightedSum

KINDS: dict[str, RegimeFactory] = {
    "potential": PotentialShaping,
    "naive": NaiveShaping,
    "clip": ClipReward,
    "par": PreferenceAsReward,
    "log_sigmoid": LogSigmoidReward,
    "delta_cap": DeltaCap,
    "weighted_sum": WeightedSum,
    "format": FormatReward,
    "length": LengthPenalty,
    "token_format": TokenFormatReward,
}
"""The variants of the ``shaped`` family, by kind name."""


def shaped(kind: str = "potential", **params: Any) -> Regime:
    """The ``shaped`` family: reward shaping and bounded reward transforms, chosen by ``kind``.

    Kinds: ``potential`` (default), ``naive``, ``clip``, ``par``, ``log_sigmoid``, ``delta_cap``,
    ``weighted_sum`` and the text kinds ``format``, ``length``, ``token_format``; see
    :data:`KINDS` and each class for its parameters. Unknown kinds and parameters are refused
    with the valid choices.

    Example:
        >>> import gymnasium as gym, numpy as np, rewardgym
        >>> import rewardgym.wrappers.shaped
        >>> envs = gym.make_vec("rewardgym/MountainCar-v0", num_envs=2, reward="shaped(gamma=1.0)")
        >>> _ = envs.reset(seed=0)
        >>> _, proxy, _, _, info = envs.step(np.array([2, 0]))
        >>> list(info["reward_trace"]), info["gold_reward"].tolist()
        (['env', 'shaped'], [-1.0, -1.0])
        >>> shaped(kind="clip", low=1.0, high=0.0)
        Traceback (most recent call last):
        ...
        ValueError: shaped(kind='clip') needs low < high, got low=1.0, high=0.0
    """
    return make_kind("shaped", KINDS, kind, params)


register_regime("shaped", shaped, override=True)

__all__ = [
    "BUILTIN_POTENTIALS",
    "KINDS",
    "BuiltinPotential",
    "ClipReward",
    "DeltaCap",
    "FormatReward",
    "LengthPenalty",
    "LogSigmoidReward",
    "NaiveShaping",
    "Potential",
    "PotentialShaping",
    "PreferenceAsReward",
    "TokenFormatReward",
    "WeightedSum",
    "shaped",
]
