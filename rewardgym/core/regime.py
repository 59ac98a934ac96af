"""The regime protocol: how a reward regime turns a batch of transitions into new rewards."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from rewardgym.core.arrays import Array
from rewardgym.core.transition import Transition


@dataclass(frozen=True)
class EnvContext:
    """What a regime may know about the env it is bound to.

    Attributes:
        num_envs: the batch size; 1 for a single ``gymnasium.Env``.
        observation_space: the space of one env's observation.
        action_space: the space of one env's action.
        device: ``"cpu"`` (numpy batches) or ``"cuda"`` (torch batches on the GPU).
        env_id: the registered id, when the env was made by id (for built-in potentials, say).
    """

    num_envs: int
    observation_space: gym.Space
    action_space: gym.Space
    device: str = "cpu"
    env_id: str | None = None


class Regime:
    """Base class of reward regimes: batched, stateful if need be, able to learn online.

    A subclass implements :meth:`reward`; the rest has sensible defaults. The shells call, in
    order: :meth:`bind` once, :meth:`reset` when episodes begin, then on every step
    :meth:`reward`, :meth:`info` and, while :attr:`training`, :meth:`update`.

    Regimes see only what an agent could see (the :class:`Transition`). The one allowed exception
    is a labeler that simulates a human, which must say so in its docstring.

    Example:
        >>> import numpy as np
        >>> class Bonus(Regime):
        ...     name = "bonus"
        ...     def reward(self, batch):
        ...         return batch.reward + 1.0
        >>> import gymnasium as gym, rewardgym
        >>> env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), Bonus())
        >>> _ = env.reset(seed=0)
        >>> env.step(1)[1]
        2.0
    """

    name: str = "regime"
    """The layer's name in ``info["reward_trace"]``."""

    training: bool = True
    """While True the shells call :meth:`update` on every step."""

    def bind(self, context: EnvContext) -> None:
        """Called once with the env's shape and device, before any other call."""

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        """Called when episodes begin: ``mask`` selects the envs (None: all), ``seed`` seeds noise.

        Vector shells call it with the envs whose episode ended right after the step that ended
        it, so per-episode state is clear before the next episode's first transition.
        """

    def reward(self, batch: Transition) -> Array:
        """The new reward of each env, shape ``(num_envs,)``, given the batch."""
        raise NotImplementedError(f"{type(self).__name__} must implement reward(batch)")

    def update(self, batch: Transition) -> dict[str, float]:
        """Learn online from a batch (entries with ``valid=False`` must be skipped).

        Returns metrics to log, if any.
        """
        return {}

    def info(self) -> dict[str, Any]:
        """What the layer reports about the step it just computed, e.g. an attack's spent budget.

        The shells put it in ``info["regime_info"][layer_name]`` when it is not empty. Values are
        per-env batches ``(num_envs,)`` or scalars.
        """
        return {}

    def train(self, mode: bool = True) -> Regime:
        """Turn online learning on or off, like ``torch.nn.Module.train``."""
        self.training = mode
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


RewardFn = Callable[[Transition], Array]
"""A user's own reward: a function of the transition batch returning one reward per env."""


class CallableRegime(Regime):
    """Turns a user's function of the :class:`Transition` batch into a regime.

    The function receives the whole batch (obs, action, next_obs, reward, terminated, truncated,
    valid) and returns one reward per env.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> def stay_centered(batch):
        ...     return batch.reward - abs(batch.next_obs[:, 0])
        >>> env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), stay_centered)
        >>> _ = env.reset(seed=0)
        >>> _, proxy, *_, info = env.step(1)
        >>> list(info["reward_trace"])
        ['env', 'stay_centered']
    """

    def __init__(self, fn: RewardFn, name: str | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"a reward function must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", None) or type(fn).__name__
        if self.name == "<lambda>":
            self.name = "custom"

    def reward(self, batch: Transition) -> Any:
        return self.fn(batch)
