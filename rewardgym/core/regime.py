"""The regime protocol: how a reward regime turns a batch of transitions into new rewards."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

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


class FusedLayer(NamedTuple):
    """A regime's per-env arithmetic in the one form every target compiles: a per-instance body.

    The engine compiles the bodies of a stack's leading layers into its own step kernel (one call
    a step for dynamics and regimes, on the CPU and the GPU: :mod:`rewardgym.envs.batched.layers`),
    and the regime applies the same body to any other batch, so each kind's arithmetic is written
    once.

    Attributes:
        body: a numba function (``register_jitable``, module level, so kernels compile once per
            kind) ``body(i, reward, valid, obs, next_obs, terminated, args) -> new reward`` of env
            ``i``: its incoming reward (float32), whether the step is a real transition (False on
            a NEXT_STEP autoreset step, whose result is discarded), its observations before and
            after the step as flat rows (in the env's dtype inside the engine, float32 or float64
            elsewhere; :func:`~rewardgym.envs.batched.layers.observation_rows`), whether it
            terminated, and ``args``, the tuple :attr:`arguments` gave. It may write per-env
            results into arrays of ``args`` (a report, the books of a budget). Not
            ``inline="always"``: numba's inliner then drops those writes.
        arguments: called before each step with ``like``, a float32 batch ``(num_envs,)`` of the
            step's kind and device (numpy, or torch on the GPU): the tuple of arrays (made like
            it) and numbers the body reads and writes; parameters go here, not into the body, so
            that one compiled kernel serves every value of them.
        finish: called after each step with the same tuple: keeps state, sets :meth:`Regime.info`.
        reads_obs: whether the body reads ``obs`` and ``next_obs``; where it does not,
            :func:`~rewardgym.envs.batched.layers.apply_layer` skips converting them.
    """

    body: Callable[..., float]
    arguments: Callable[[Any], tuple[Any, ...]]
    finish: Callable[[tuple[Any, ...]], None] | None = None
    reads_obs: bool = False


RegimeT = TypeVar("RegimeT", bound="Regime")


class Regime:
    """Base class of reward regimes: batched, stateful if need be, able to learn online.

    A subclass implements :meth:`reward`; the rest has sensible defaults. The shells call, in
    order: :meth:`bind` once, :meth:`reset` when episodes begin, then on every step
    :meth:`reward`, :meth:`info` and, while :attr:`training`, :meth:`update`.
    :meth:`frozen_copy` gives the regime as it stands, learning no more (evaluation scores with it).

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

    frozen: bool = False
    """True on a :meth:`frozen_copy`: it never learns again, and a seeded reset reseeds only its
    per-step random draws, never the reward function it learned or was dealt."""

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
        """Turn online learning on or off, like ``torch.nn.Module.train``.

        Raises:
            ValueError: ``mode=True`` on a :meth:`frozen_copy`, which never learns again.
        """
        if mode and self.frozen:
            raise ValueError(
                f"{type(self).__name__} is a frozen copy (Regime.frozen_copy) and never learns again; "
                "train the regime it was copied from"
            )
        self.training = mode
        return self

    def fused_layer(self) -> FusedLayer | None:
        """The layer's per-env arithmetic as a :class:`FusedLayer`, or None (the default) if it
        has none: a kind that learns, calls Python, or reads more than one env's row.

        Asked after :meth:`bind`, on every step (cheap): a layer that has one now may have none
        later (a regime bound again), and the engine then stops fusing it.
        """
        return None

    def frozen_copy(self: RegimeT) -> RegimeT:
        """A copy of the regime as it stands now that learns no more: what evaluation scores with.

        The copy keeps everything the regime learned or was dealt (weights, normalizers, count
        tables, a confusion estimate, a persistent-noise table, an intrinsic bonus's decay clock) and
        shares nothing with the original: the original may go on learning without changing the
        copy. The copy is frozen for good: ``training`` is False, :meth:`update` does nothing and
        ``train(True)`` is refused.

        What it does not keep, and why:

        - **per-episode and per-env state** (a delay's pending rewards, e3b's episodic memory, an
          attacker's per-env budget books): the copy starts as after a full :meth:`reset`, since it
          serves other envs and other episodes (evaluation's), in batches of any size;
        - **what only learning uses** (replay and segment buffers, optimizers, labeled pairs): left
          out rather than copied;
        - **where its tensors live**: torch state is on the CPU (evaluation runs there); a kind
          that follows its batches moves to theirs on the first step.

        Random streams: a seeded reset of the copy reseeds its per-step draws (noise, attack rates,
        perturbations) from that seed as usual, so evaluation episodes started from one seed draw the
        same noise at every evaluation; a seed fixed by a parameter restarts from that parameter. It
        never restarts what was learned or dealt, as it would for a fresh layer with ``seed=None``.

        A kind overrides :meth:`_frozen_parts` for attributes that must not be deep-copied, and this
        method (calling it first) for fix-ups. A user's function in a :class:`CallableRegime` is
        shared, not copied (Python copies functions by reference); a callable object is copied.

        Example:
            >>> import numpy as np
            >>> class Counter(Regime):
            ...     def __init__(self):
            ...         self.seen = 0
            ...     def reward(self, batch):
            ...         return batch.reward + self.seen
            ...     def update(self, batch):
            ...         self.seen += 1
            ...         return {}
            >>> live = Counter()
            >>> live.seen = 5
            >>> frozen = live.frozen_copy()
            >>> live.seen = 9  # the original goes on learning
            >>> frozen.seen, frozen.training, frozen.update(None), frozen.seen
            (5, False, {}, 5)
        """
        parts = self._frozen_parts()
        shallow = copy.copy(self)
        for name in parts:  # what the copy gets as given is not deep-copied first
            vars(shallow).pop(name, None)
        twin = copy.deepcopy(shallow)
        vars(twin).update(parts)
        twin.reset(None)
        twin.train(False)
        twin.frozen = True
        # Every kind's update learns, and none checks a flag: on the copy it is replaced by one
        # that does nothing, for any caller (the shells already skip it while not training).
        twin.update = _learn_nothing  # type: ignore[method-assign]
        return twin

    def _frozen_parts(self) -> dict[str, Any]:
        """Attributes a :meth:`frozen_copy` takes as given here instead of deep-copying them.

        Blanks for what only learning uses (a buffer, an optimizer), frozen copies of nested
        regimes, or references that must stay shared (a live learner's policy). None by default.
        """
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _learn_nothing(batch: Transition) -> dict[str, float]:
    """The :meth:`Regime.update` of a frozen copy (module level, so the copy still pickles)."""
    return {}


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
