"""``noisy``: the agent is paid a corrupted copy of the reward that enters the layer.

One family, eight kinds, chosen with ``kind=...`` (default ``"gaussian"``):

=============  ==================================================================================
kind           what the agent is paid
=============  ==================================================================================
gaussian       ``r + sigma * N(0, 1)``
student_t      ``r + scale * t_df`` (heavy tails; variance infinite for ``df <= 2``)
laplace        ``r + Laplace(0, scale)``
flip           a binary reward flipped with rates ``e_plus``/``e_minus`` (Wang, Liu & Li 2020)
confusion      the reward's level redrawn from a confusion matrix (Wang, Liu & Li 2020)
dropout        the reward withheld (``fill`` paid instead) with probability ``p``
delay          the reward paid ``k`` steps late, or the episode's sum at its end
persistent     ``r + sigma * z(next_obs)``: Gaussian noise fixed per discretized state
=============  ==================================================================================

``flip`` and ``confusion`` can pay the paper's unbiased surrogate reward instead of the observed
one (``correct=True``), with the confusion matrix given or estimated online (``estimate=True``).

All randomness comes from a :class:`BatchRandom` reseeded from the env's reset seed, so the same
seed gives the same noise and envs in a batch get independent draws; ``persistent`` instead
hashes the observation with the seed, which is what makes its noise repeatable per state.

One module per kind of corruption, each kind a class (:data:`KINDS` names them):

- :mod:`~rewardgym.wrappers.noisy.base`: :class:`Noise`, what every kind shares;
- :mod:`~rewardgym.wrappers.noisy.additive`: ``gaussian``, ``student_t``, ``laplace``;
- :mod:`~rewardgym.wrappers.noisy.confusion`: ``flip``, ``confusion`` and their surrogate;
- :mod:`~rewardgym.wrappers.noisy.withheld`: ``dropout``, ``delay``;
- :mod:`~rewardgym.wrappers.noisy.persistent`: ``persistent``.

Example:
    >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.noisy
    >>> env = gym.make("rewardgym/CartPole-v0", reward="noisy(sigma=0.5)")
    >>> _ = env.reset(seed=0)
    >>> _, proxy, _, _, info = env.step(1)
    >>> info["gold_reward"], proxy != 1.0, list(info["reward_trace"])
    (1.0, True, ['env', 'noisy'])
"""

from __future__ import annotations

from typing import Any

from rewardgym.core.regime import Regime
from rewardgym.core.registry import RegimeFactory, make_kind, register_regime
from rewardgym.wrappers.noisy.additive import Gaussian, Laplace, StudentT
from rewardgym.wrappers.noisy.base import Noise
from rewardgym.wrappers.noisy.confusion import Confusion, Flip
from rewardgym.wrappers.noisy.persistent import Persistent
from rewardgym.wrappers.noisy.withheld import Delay, Dropout

__all__ = [
    "Confusion",
    "Delay",
    "Dropout",
    "Flip",
    "Gaussian",
    "KINDS",
    "Laplace",
    "Noise",
    "Persistent",
    "StudentT",
    "noisy",
]

KINDS: dict[str, RegimeFactory] = {
    "gaussian": Gaussian,
    "student_t": StudentT,
    "laplace": Laplace,
    "flip": Flip,
    "confusion": Confusion,
    "dropout": Dropout,
    "delay": Delay,
    "persistent": Persistent,
}
"""The kinds of the ``noisy`` family, by name."""


def noisy(kind: str = "gaussian", **params: Any) -> Regime:
    """The ``noisy`` family: the ``kind`` variant with its parameters (see :data:`KINDS`).

    Unknown kinds and parameters are refused with the valid choices.

    Example:
        >>> import gymnasium as gym, numpy as np, rewardgym, rewardgym.wrappers.noisy
        >>> envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=3,
        ...                     reward="noisy(kind='dropout', p=1.0, fill=-1.0)")
        >>> _ = envs.reset(seed=0)
        >>> envs.step(np.array([0, 1, 0]))[1].tolist()
        [-1.0, -1.0, -1.0]
        >>> noisy("gaussian", p=0.5)
        Traceback (most recent call last):
        ...
        ValueError: noisy(kind='gaussian') has no parameter 'p'; its parameters: sigma
    """
    return make_kind("noisy", KINDS, kind, params)


register_regime("noisy", noisy, override=True)
