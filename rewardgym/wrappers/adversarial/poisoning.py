"""What every ``adversarial`` kind shares: the per-step bound, the total budget per env, the
attack rate, and the books of what was spent (one compiled pass on numpy batches).

Example:
    >>> import numpy as np
    >>> from rewardgym.core.transition import Transition
    >>> from rewardgym.wrappers.adversarial import Untargeted
    >>> attack = Untargeted(delta_max=0.5, budget=0.75)
    >>> batch = Transition(obs=np.zeros((2, 1)), action=np.zeros(2, np.int64), next_obs=np.zeros((2, 1)),
    ...                    reward=np.ones(2, np.float32), terminated=np.zeros(2, bool),
    ...                    truncated=np.zeros(2, bool), valid=np.ones(2, bool))
    >>> attack.reward(batch).tolist(), attack.reward(batch).tolist(), attack.info()["remaining"].tolist()
    ([0.5, 0.5], [0.75, 0.75], [0.0, 0.0])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from numba import njit
from numba.extending import register_jitable

from rewardgym.core.arrays import Array, empty, fill_where, float64, mask_like, zeros
from rewardgym.core.batch_random import BatchRandom, counter_uniform
from rewardgym.core.regime import EnvContext, FusedLayer, Regime
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number
from rewardgym.envs.batched.layers import apply_layer

__all__ = ["RewardPoisoning"]

PoisoningT = TypeVar("PoisoningT", bound="RewardPoisoning")


class RewardPoisoning(Regime):
    """Base of the ``adversarial`` kinds: per-step bound, total budget per env, attack rate.

    A subclass says which delta it aims for (:meth:`aimed_delta`, within ``[-delta_max,
    delta_max]``); this class draws which steps are attacked, clamps to the budget left, skips
    autoreset steps (``valid=False``), and keeps the books that :meth:`info` reports.

    Args:
        delta_max: the per-step bound Delta, a finite number >= 0.
        budget: the total ``sum |delta|`` per env over the whole run, >= 0; ``None`` or ``inf``
            for no limit.
        rate: the probability in ``[0, 1]`` that a step is attacked.

    Example:
        >>> import gymnasium as gym, numpy as np, rewardgym
        >>> envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=2,
        ...                     reward="adversarial(delta_max=2, budget=3)")
        >>> _ = envs.reset(seed=0)
        >>> [envs.step(np.zeros(2, np.int64))[1].tolist() for _ in range(3)]
        [[-1.0, -1.0], [0.0, 0.0], [1.0, 1.0]]
    """

    name = "adversarial"

    def __init__(self, delta_max: float = 1.0, budget: float | None = None, rate: float = 1.0) -> None:
        self.delta_max = check_number(delta_max, "adversarial(delta_max=...)", low=0.0)
        if budget is None:
            budget = math.inf
        self.budget = check_number(
            budget,
            "adversarial(budget=...)",
            low=0.0,
            allow_inf=True,
            valid="a number >= 0, or None (or inf) for no limit",
        )
        self.rate = check_number(rate, "adversarial(rate=...)", low=0.0, high=1.0, valid="a probability in [0, 1]")
        self.context: EnvContext | None = None
        self._rng = BatchRandom()
        self._spent: Array | None = None
        self._fused: dict[bool, FusedLayer] = {}  # the flip's layers, made once, by whether they draw
        self._report: dict[str, Array] = {}

    def bind(self, context: EnvContext) -> None:
        self.context = context

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        # The budget is for the whole run: an episode's reset leaves the books alone. A seeded
        # reset starts a new run (gymnasium: the same seed and actions give the same rewards), so
        # it refills the envs it resets and reseeds the attack's draws.
        if seed is None:
            return
        self._rng.seed(seed)
        if mask is None or self._spent is None:
            self._spent = None
        else:
            fill_where(self._spent, mask_like(mask, self._spent), 0.0)

    def refill(self) -> None:
        """Give every env its whole budget back, e.g. before a new training run.

        Example:
            >>> import gymnasium as gym, rewardgym
            >>> from rewardgym.wrappers.adversarial import adversarial
            >>> attack = adversarial(budget=1.0)
            >>> env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), attack)
            >>> _ = env.reset(seed=0)
            >>> env.step(0)[1], env.step(0)[1]
            (0.0, 1.0)
            >>> attack.refill()
            >>> env.step(0)[1]
            0.0
        """
        self._spent = None

    def frozen_copy(self: PoisoningT) -> PoisoningT:
        """The attacker as it stands, frozen (see :meth:`Regime.frozen_copy`), with every env's
        whole budget: its books are per env and per run, and the copy attacks other envs (an
        evaluation's), in a run of its own. Each frozen copy thus attacks an evaluation as hard
        as the spec allows, whatever training spent.

        Example:
            >>> import gymnasium as gym, rewardgym
            >>> from rewardgym.wrappers.adversarial import adversarial
            >>> attack = adversarial(budget=1.0)
            >>> env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), attack)
            >>> _ = env.reset(seed=0)
            >>> env.step(0)[1], env.step(0)[1]  # the budget is spent
            (0.0, 1.0)
            >>> env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), attack.frozen_copy())
            >>> _ = env.reset(seed=0)
            >>> env.step(0)[1]
            0.0
        """
        twin = super().frozen_copy()
        twin.refill()
        return twin

    def _frozen_parts(self) -> dict[str, Any]:
        # the last step's books, of the training envs; the layers, bound to this regime
        return {"_report": {}, "_fused": {}}

    def aimed_delta(self, batch: Transition) -> Array:
        """The delta of each env before the rate and the budget apply: float64, in the batch's
        kind and device, within ``[-delta_max, delta_max]``."""
        raise NotImplementedError

    def reward(self, batch: Transition) -> Array:
        # The body the engine fuses into its step kernel, over any batch (numpy, or torch on its
        # device); a kind that aims elsewhere than the flip around zero hands it its aimed deltas.
        aimed = None if self._flips_around_zero() else float64(self.aimed_delta(batch))
        return apply_layer(self._layer(aimed), batch)

    def fused_layer(self) -> FusedLayer | None:
        """The flip around zero (the untargeted kind's default); other aims need the whole batch
        first (a running mean, a target), so they run in the pipeline."""
        if not self._flips_around_zero():
            return None
        # One layer for every step (the shell asks each step): its arguments, a bound method, read
        # the parameters and books when called. A copy (copy.copy shares the attribute) makes its own.
        draw = self.rate < 1.0
        layer = self._fused.get(draw)
        if layer is None or getattr(layer.arguments, "__self__", None) is not self:
            layer = FusedLayer(_body(draw), self._flip_arguments, self._keep_books)
            self._fused = {**self._fused, draw: layer}  # a new dict: never one a copy shares
        return layer

    def _layer(self, aimed: Array | None) -> FusedLayer:
        """The attack as a body: ``aimed`` deltas (float64, of the batch's kind), or None for the flip."""
        body = _body(self.rate < 1.0)
        if aimed is None:
            return FusedLayer(body, self._flip_arguments, self._keep_books)
        return FusedLayer(body, lambda like: self._arguments(like, aimed), self._keep_books)

    def _flip_arguments(self, like: Array) -> tuple[Any, ...]:
        return self._arguments(like, None)

    def _arguments(self, like: Array, aimed: Array | None) -> tuple[Any, ...]:
        """The body's arguments for a step like ``like``, aiming for ``aimed`` (None: the flip)."""
        spent = self._spent
        if spent is None or tuple(spent.shape) != tuple(like.shape):
            spent = self._spent = zeros(like, dtype="float64")
        rate = self.rate
        draw = rate < 1.0  # a draw per env costs a pass over the batch; rate 1 needs none
        keys, call = self._rng.counter_streams(len(like), like) if draw else (_NO_KEYS, _NO_CALL)
        # spent, remaining, delta, attacked (drawn but with nothing left to spend, or aim, is no attack)
        books: tuple[Any, ...]
        if type(like) is np.ndarray:  # the engine's CPU steps: numpy's own calls, a few us a step less
            n = like.shape[0]
            books = np.empty(n), np.empty(n), np.empty(n), np.empty(n, np.bool_)
        else:
            books = empty(like, "float64"), empty(like, "float64"), empty(like, "float64"), empty(like, "bool")
        return (
            keys,
            call,
            np.float32(rate),  # float32, as numpy compares a float32 draw
            draw,
            _NO_AIM if aimed is None else aimed,
            aimed is None,
            self.delta_max,
            self.budget,
            spent,
            *books,
        )

    def _keep_books(self, args: tuple[Any, ...]) -> None:
        """After a step: the books the body wrote, reported; every array is new, so a caller may
        keep them."""
        spent, remaining, delta, attacked = args[-4:]
        self._spent = spent
        self._report = {"spent": spent, "remaining": remaining, "delta": delta, "attacked": attacked}

    def info(self) -> dict[str, Any]:
        return dict(self._report)

    def _flips_around_zero(self) -> bool:
        """Whether the aimed delta is ``clip(-2 r, -delta_max, delta_max)``, which the compiled
        body computes itself (the untargeted kind's default)."""
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(delta_max={self.delta_max}, budget={self.budget}, rate={self.rate})"


@njit(nogil=True, cache=True, inline="always")
def _nan_min(a, b):  # pragma: no cover (compiled)
    """np.minimum's rule: NaN wins (Python's min would drop it, hiding a NaN in the books)."""
    return a if a < b or a != a else b


@njit(nogil=True, cache=True, inline="always")
def _nan_max(a, b):  # pragma: no cover (compiled)
    return a if a > b or a != a else b


def _body(draw: bool) -> Callable[..., float]:
    """The attack's body: :func:`_poison_one` where steps are drawn (``rate < 1``), else
    :func:`_poison_every`."""
    return _poison_one if draw else _poison_every


_NO_KEYS, _NO_CALL, _NO_AIM = np.zeros(1, np.uint64), np.uint64(0), np.zeros(1)
"""Stand-ins for the streams' keys and call at rate 1 and the aimed deltas of the flip, which the
body never reads."""


@register_jitable  # never inline="always": numba then drops writes to the argument arrays
def _poison_one(i, reward, valid, obs, next_obs, terminated, args):  # pragma: no cover (compiled)
    """One env's attack: whether it is attacked (a valid step, drawn at ``rate``), the delta aimed
    for (``flip``: ``clip(-2 r, -delta_max, delta_max)``, else ``aimed[i]``) clamped to the budget
    left, and the books after it."""
    keys, call, rate, draw = args[:4]
    attacked = valid
    if draw:
        attacked = attacked and counter_uniform(keys[i], call) < rate
    return _attack(i, reward, attacked, args)


@register_jitable  # never inline="always", as _poison_one
def _poison_every(i, reward, valid, obs, next_obs, terminated, args):  # pragma: no cover (compiled)
    """:func:`_poison_one` at rate 1 (``draw`` False), where every valid step is attacked: the
    same arguments and results, for a loop that vectorises without the draw's arithmetic (LLVM
    computes both sides of ``if draw`` in a vectorised loop and selects: ~0.9 ns an env)."""
    return _attack(i, reward, valid, args)


@register_jitable  # never inline="always", as _poison_one
def _attack(i, reward, attacked, args):  # pragma: no cover (compiled)
    """The attack of env ``i`` where ``attacked`` says whether it is: its books, its new reward."""
    _, _, _, _, aimed, flip, delta_max, budget, spent_before, spent, remaining, delta, attacked_out = args
    if flip:
        a = _nan_min(_nan_max(-2.0 * float(reward), -delta_max), delta_max)
    else:
        a = aimed[i]
    left = _nan_max(budget - spent_before[i], 0.0)
    size = _nan_min(abs(a), left) * attacked
    direction = 1.0 if a > 0.0 else (-1.0 if a < 0.0 else a)  # np.sign: 0 stays 0, NaN stays NaN
    d = direction * size
    after = _nan_min(spent_before[i] + size, budget)
    spent[i] = after
    remaining[i] = _nan_max(budget - after, 0.0)
    delta[i] = d
    attacked_out[i] = d != 0.0
    return reward + np.float32(d)
