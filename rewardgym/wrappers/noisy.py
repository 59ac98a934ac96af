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

Example:
    >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.noisy
    >>> env = gym.make("rewardgym/CartPole-v0", reward="noisy(sigma=0.5)")
    >>> _ = env.reset(seed=0)
    >>> _, proxy, _, _, info = env.step(1)
    >>> info["gold_reward"], proxy != 1.0, list(info["reward_trace"])
    (1.0, True, ['env', 'noisy'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rewardgym.core.arrays import (
    Array,
    is_torch,
    mask_like,
    take_per_row,
    to_numpy,
    where,
    zeros,
)
from rewardgym.core.batch_random import BatchRandom
from rewardgym.core.hashing import bin_indices, hash_normal, hash_rows
from rewardgym.core.regime import EnvContext, Regime
from rewardgym.core.registry import make_kind, register_regime
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number

__all__ = [
    "Confusion",
    "Delay",
    "Dropout",
    "Flip",
    "Gaussian",
    "KINDS",
    "Laplace",
    "Persistent",
    "StudentT",
    "noisy",
]


# ----------------------------------------------------------------------------------------------
# Parameter checks: every refusal names the kind, the parameter, the value and the valid range.


def _integer(kind: str, name: str, value: Any, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"noisy(kind={kind!r}): {name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _flag(kind: str, name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"noisy(kind={kind!r}): {name} must be True or False, got {value!r}")
    return bool(value)


def _resolution(kind: str, value: Any) -> float | np.ndarray:
    if isinstance(value, (list, tuple, np.ndarray)):
        widths = np.asarray(value, dtype=np.float64).ravel()
        if widths.size == 0 or not np.all(np.isfinite(widths)) or np.any(widths <= 0):
            raise ValueError(
                f"noisy(kind={kind!r}): resolution must be a number > 0 or a non-empty list of "
                f"numbers > 0 (one bin width per observation dimension), got {value!r}"
            )
        return widths
    return check_number(value, f"noisy(kind={kind!r}): resolution", low=0.0, low_open=True)


# ----------------------------------------------------------------------------------------------
# Helpers shared by the kinds: constants and state where the batch lives, masks.


class _Constants:
    """numpy constants, converted once per device for torch batches (no copy per step)."""

    def __init__(self, **arrays: np.ndarray) -> None:
        self.numpy = arrays
        self._torch: dict[tuple[str, str], Any] = {}

    def get(self, name: str, like: Array) -> Array:
        if not is_torch(like):
            return self.numpy[name]
        key = (name, str(like.device))
        if key not in self._torch:
            import torch

            self._torch[key] = torch.as_tensor(self.numpy[name], device=like.device)
        return self._torch[key]


def _full_like(like: Array, value: float) -> Array:
    if is_torch(like):
        import torch

        return torch.full_like(like, value)
    return np.full_like(like, value)


def _take(table: Array, index: Array) -> Array:
    """``table[index]`` along the first axis (torch's index_select beats its fancy indexing)."""
    return table.index_select(0, index) if is_torch(table) else table[index]


def _write_slot(buffer: Array, slot: Array, value: Array) -> None:
    """``buffer[i, slot[i]] = value[i]`` for every row i, in place."""
    if is_torch(buffer):
        buffer.scatter_(1, slot[:, None], value[:, None])
    else:
        buffer[np.arange(buffer.shape[0]), slot] = value


# ----------------------------------------------------------------------------------------------
# The kinds.


class _Noise(Regime):
    """What every kind shares: the family's layer name and a seeded per-env random stream."""

    name = "noisy"
    kind = "noisy"

    def __init__(self) -> None:
        self.rng = BatchRandom()

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        if seed is not None:
            self.rng.seed(seed)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r})"


class Gaussian(_Noise):
    """``r' = r + sigma * N(0, 1)``, drawn independently per env and step.

    Args:
        sigma: the noise's standard deviation, ``>= 0`` (0 passes the reward through).

    Example:
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.noisy
        >>> env = gym.make("rewardgym/CartPole-v0", reward="noisy(kind='gaussian', sigma=0.0)")
        >>> _ = env.reset(seed=0)
        >>> env.step(1)[1]
        1.0
    """

    kind = "gaussian"

    def __init__(self, sigma: float = 0.1) -> None:
        super().__init__()
        self.sigma = check_number(sigma, f"noisy(kind={self.kind!r}): sigma", low=0.0)

    def reward(self, batch: Transition) -> Array:
        # One compiled pass on numpy batches (counter-based per-env streams, see
        # BatchRandom.add_normal): numpy's Generator alone took ~60 us for 4096 envs.
        return self.rng.add_normal(batch.reward, self.sigma)


class StudentT(_Noise):
    """``r' = r + scale * T`` with ``T`` Student-t with ``df`` degrees of freedom: heavy tails.

    ``df = 1`` is Cauchy noise; the variance is infinite for ``df <= 2``, so compare spreads by
    quantiles rather than standard deviations. Torch batches draw ``T`` on their device with
    Bailey's polar method (torch has no seeded t sampler); numpy batches use numpy's.

    Args:
        df: degrees of freedom, ``> 0``.
        scale: the noise's scale, ``>= 0``.

    Example:
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.noisy
        >>> env = gym.make("rewardgym/CartPole-v0", reward="noisy(kind='student_t', df=2, scale=0.1)")
        >>> _ = env.reset(seed=0)
        >>> isinstance(env.step(1)[1], float)
        True
    """

    kind = "student_t"

    def __init__(self, df: float = 3.0, scale: float = 0.1) -> None:
        super().__init__()
        self.df = check_number(df, f"noisy(kind={self.kind!r}): df", low=0.0, low_open=True)
        self.scale = check_number(scale, f"noisy(kind={self.kind!r}): scale", low=0.0)

    def reward(self, batch: Transition) -> Array:
        r = batch.reward
        if is_torch(r):
            return r + self.scale * _bailey_t(self.rng, r, self.df).to(r.dtype)
        t = self.rng.numpy().standard_t(self.df, size=r.shape[0])
        return r + (self.scale * t).astype(np.float32)


def _bailey_t(rng: BatchRandom, like: Any, df: float) -> Any:
    """Student-t draws on ``like``'s device by Bailey's polar method (Math. Comp. 62, 1994).

    (U, V) uniform on the unit disc, W = U^2 + V^2: then U * sqrt(df (W^(-2/df) - 1) / W) is
    exactly t_df. Rejection of points outside the disc (probability 1 - pi/4) is redone for the
    envs still lacking a draw, so the loop runs a few times per call, not once per env.
    """
    import torch

    generator = rng.torch(like.device)
    n = like.shape[0]
    out = torch.zeros(n, dtype=torch.float64, device=like.device)
    todo = torch.ones(n, dtype=torch.bool, device=like.device)
    while bool(todo.any()):
        u = 2.0 * torch.rand(n, generator=generator, device=like.device, dtype=torch.float64) - 1.0
        v = 2.0 * torch.rand(n, generator=generator, device=like.device, dtype=torch.float64) - 1.0
        w = u * u + v * v
        accept = todo & (w <= 1.0) & (w > 0.0)
        w = torch.where(accept, w, torch.ones_like(w))
        t = u * torch.sqrt(df * (w ** (-2.0 / df) - 1.0) / w)
        out = torch.where(accept, t, out)
        todo = todo & ~accept
    return out


class Laplace(_Noise):
    """``r' = r + Laplace(0, scale)``: density ``exp(-|x| / scale) / (2 scale)``.

    Its standard deviation is ``sqrt(2) * scale`` and its median absolute value ``ln(2) * scale``.

    Args:
        scale: the Laplace scale ``b``, ``>= 0``.

    Example:
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.noisy
        >>> env = gym.make("rewardgym/CartPole-v0", reward="noisy(kind='laplace', scale=0.0)")
        >>> _ = env.reset(seed=0)
        >>> env.step(1)[1]
        1.0
    """

    kind = "laplace"

    def __init__(self, scale: float = 0.1) -> None:
        super().__init__()
        self.scale = check_number(scale, f"noisy(kind={self.kind!r}): scale", low=0.0)

    def reward(self, batch: Transition) -> Array:
        r = batch.reward
        if is_torch(r):
            import torch

            # The difference of two unit exponentials is a unit Laplace; torch seeds exponential_.
            generator = self.rng.torch(r.device)
            e = torch.empty((2, r.shape[0]), device=r.device).exponential_(generator=generator)
            return r + self.scale * (e[0] - e[1])
        return r + self.rng.numpy().laplace(0.0, self.scale, size=r.shape[0]).astype(np.float32)


# Confusion-matrix noise and its surrogate --------------------------------------------------------

_BUCKETS = 1 << 16
"""Hash buckets of the state-action vote table that ``estimate=True`` keeps (per level)."""


class _LevelNoise(_Noise):
    """Rewards on a finite set of levels, redrawn from a row-stochastic confusion matrix.

    ``matrix[i, j] = P(observed level j | true level i)``. With ``correct=True`` the agent is paid
    the surrogate ``r_hat = C^-1 @ levels`` of the observed level (Wang, Liu & Li, "Reinforcement
    Learning with Perturbed Rewards", AAAI 2020, Lemma 1 and its multi-level form): for every true
    level i, ``E[r_hat | true i] = sum_j C[i, j] r_hat[j] = (C @ C^-1 @ levels)[i] = levels[i]``.
    """

    strict = False  # flip: a reward that is not one of the two levels is an error

    def __init__(
        self,
        levels: Sequence[float],
        matrix: Sequence[Sequence[float]],
        correct: bool,
        estimate: bool,
        resolution: float | Sequence[float],
        warmup: int,
        estimate_every: int,
    ) -> None:
        super().__init__()
        self.levels = np.asarray(levels, dtype=np.float64)
        self.matrix = np.asarray(matrix, dtype=np.float64)
        self.correct = _flag(self.kind, "correct", correct)
        self.estimate = _flag(self.kind, "estimate", estimate)
        if self.estimate and not self.correct:
            raise ValueError(
                f"noisy(kind={self.kind!r}): estimate=True estimates the confusion matrix for the "
                "surrogate reward, so it needs correct=True"
            )
        self.resolution = _resolution(self.kind, resolution)
        self.warmup = _integer(self.kind, "warmup", warmup, low=1)
        self.estimate_every = _integer(self.kind, "estimate_every", estimate_every, low=1)
        cumulative = np.cumsum(self.matrix, axis=1)
        cumulative[:, -1] = 1.0  # rounding must never leave u in [0, 1) past the last level
        self.surrogate = np.linalg.solve(self.matrix, self.levels)
        self.confusion_estimate: np.ndarray | None = None
        """``estimate=True``: the latest estimate of the confusion matrix (None before warmup)."""
        self._paid = self.surrogate if self.correct and not self.estimate else self.levels
        self._constants = _Constants(
            levels=self.levels.astype(np.float32),
            midpoints=((self.levels[1:] + self.levels[:-1]) / 2).astype(np.float32),
            cumulative=cumulative.astype(np.float32),
            paid=self._paid.astype(np.float32),
        )
        self._votes: Any = None
        self._pending: tuple[Any, Any] | None = None
        self._updates = 0
        self._perturbed: Any = None

    def reward(self, batch: Transition) -> Array:
        r = batch.reward
        true = self._level_index(r, batch.valid)
        u = self.rng.uniform(like=r)
        cumulative = _take(self._constants.get("cumulative", r), true)
        # The first level whose cumulative probability exceeds u; the clip only catches a float32
        # u that rounded up to 1.0.
        observed = (u[:, None] >= cumulative).sum(1)
        last = len(self.levels) - 1
        observed = observed.clamp(max=last) if is_torch(observed) else np.minimum(observed, last)
        self._perturbed = observed != true
        if self.estimate:
            keys = hash_rows(_key_bins(batch, self.resolution), 0)
            self._pending = (keys, observed)
        return _take(self._constants.get("paid", r), observed)

    def update(self, batch: Transition) -> dict[str, float]:
        if not self.estimate or self._pending is None:
            return {}
        keys, observed = self._pending
        self._pending = None
        self._collect(keys, observed, batch.valid)
        self._updates += 1
        if self._updates % self.estimate_every == 0:
            self._estimate()
        return {}

    def info(self) -> dict[str, Any]:
        return {} if self._perturbed is None else {"perturbed": self._perturbed}

    # -- the parts -------------------------------------------------------------------------------

    def _level_index(self, r: Array, valid: Array) -> Array:
        # The nearest level: how many midpoints between levels lie below r (a tie goes down).
        index = (r[:, None] > self._constants.get("midpoints", r)).sum(1)
        nearest = _take(self._constants.get("levels", r), index)
        if is_torch(r):
            import torch

            finite = torch.isfinite(r)
        else:
            finite = np.isfinite(r)
        known = finite
        if self.strict:
            known = finite & (abs(r - nearest) <= 1e-6 * (1.0 + abs(nearest)))
        bad = valid & ~known
        if bool(bad.any()):
            value = float(to_numpy(r)[to_numpy(bad)][0])
            raise ValueError(self._unknown_level_message(value))
        return index

    def _unknown_level_message(self, value: float) -> str:
        return (
            f"noisy(kind={self.kind!r}) got reward {value!r}; it needs a finite reward "
            f"(mapped to the nearest of levels {self.levels.tolist()})"
        )

    def _collect(self, keys: Array, observed: Array, valid: Array) -> None:
        """Add this step's observed levels to the vote table of their state-action bucket."""
        n_levels = len(self.levels)
        if is_torch(keys):
            import torch

            if self._votes is None:
                self._votes = torch.zeros(_BUCKETS * n_levels, dtype=torch.float64, device=keys.device)
            slot = (keys & (_BUCKETS - 1)) * n_levels + observed
            self._votes.index_add_(0, slot, valid.to(torch.float64))
        else:
            if self._votes is None:
                self._votes = np.zeros(_BUCKETS * n_levels, dtype=np.float64)
            slot = (keys & np.uint64(_BUCKETS - 1)).astype(np.int64) * n_levels + observed
            np.add.at(self._votes, slot[np.asarray(valid, bool)], 1.0)

    def _estimate(self) -> None:
        """Wang, Liu & Li's estimate of C: majority voting per state-action pair.

        Each state-action bucket's most frequent observed level is taken as its true level; then
        ``C_hat[i, j]`` is the share of level-j observations among all observations of the
        buckets voted i. Levels that no bucket voted for keep an identity row: they never occur
        as true rewards, so their row does not enter ``E[r_hat | true level]`` of the others. If
        ``C_hat`` is (near) singular the observed level is paid, as in the authors' code.
        """
        n_levels = len(self.levels)
        votes = to_numpy(self._votes).reshape(_BUCKETS, n_levels)
        if votes.sum() < self.warmup:
            return
        seen = votes.sum(1) > 0
        majority = votes[seen].argmax(1)
        counts = np.zeros((n_levels, n_levels))
        np.add.at(counts, majority, votes[seen])
        totals = counts.sum(1, keepdims=True)
        estimate = np.where(totals > 0, counts / np.maximum(totals, 1.0), np.eye(n_levels))
        self.confusion_estimate = estimate
        if np.linalg.cond(estimate) < 1e8:
            paid = np.linalg.solve(estimate, self.levels)
        else:
            paid = self.levels
        self._paid = paid
        self._constants = _Constants(**{**self._constants.numpy, "paid": paid.astype(np.float32)})


def _key_bins(batch: Transition, resolution: float | np.ndarray) -> Array:
    """The discretized (obs, action) of each env, side by side: the state-action pair's key."""
    n = batch.num_envs
    obs = bin_indices(batch.obs, resolution, n)
    action = bin_indices(batch.action, resolution if np.ndim(resolution) == 0 else 1.0, n)
    if is_torch(obs):
        import torch

        return torch.cat([obs, action.to(obs.device)], dim=1)
    return np.concatenate([obs, action], axis=1)


class Flip(_LevelNoise):
    """A binary reward flipped at random: the noise model of Wang, Liu & Li (AAAI 2020).

    The reward must be ``low`` or ``high`` (anything else is a ValueError naming the value), and
    with the paper's notation

    - ``e_plus  = P(observed low  | true high)``  (a ``high`` reward read as ``low``),
    - ``e_minus = P(observed high | true low)``   (a ``low`` reward read as ``high``),

    that is, the confusion matrix ``[[1 - e_minus, e_minus], [e_plus, 1 - e_plus]]`` over
    ``[low, high]``. With ``correct=True`` the agent is paid the paper's surrogate (Lemma 1)::

        r_hat(observed high) = ((1 - e_minus) high - e_plus low) / (1 - e_plus - e_minus)
        r_hat(observed low)  = ((1 - e_plus) low - e_minus high) / (1 - e_plus - e_minus)

    whose mean given the true reward is the true reward. ``estimate=True`` estimates the rates
    online instead of using the given ones (see :class:`Confusion`).

    Args:
        e_plus: rate of flips high -> low, in ``[0, 0.5)``.
        e_minus: rate of flips low -> high, in ``[0, 0.5)``.
        low: the reward's low level.
        high: the reward's high level, ``> low``.
        correct: pay the unbiased surrogate of the observed reward.
        estimate: estimate the rates by majority voting instead of using the given ones.
        resolution: bin width of the state (and continuous action) for ``estimate``'s votes.
        warmup: observations to collect before the first estimate.
        estimate_every: re-estimate after this many training steps.

    Example:
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.noisy
        >>> env = gym.make("rewardgym/CartPole-v0",
        ...                reward="noisy(kind='flip', e_plus=0.2, e_minus=0.1, correct=True)")
        >>> _ = env.reset(seed=0)
        >>> round(env.step(1)[1], 4) in (round(0.9 / 0.7, 4), round(-0.1 / 0.7, 4))
        True
    """

    kind = "flip"
    strict = True

    def __init__(
        self,
        e_plus: float = 0.1,
        e_minus: float = 0.1,
        low: float = 0.0,
        high: float = 1.0,
        correct: bool = False,
        estimate: bool = False,
        resolution: float | Sequence[float] = 0.1,
        warmup: int = 1000,
        estimate_every: int = 50,
    ) -> None:
        self.e_plus = check_number(e_plus, f"noisy(kind={self.kind!r}): e_plus", low=0.0, high=0.5, high_open=True)
        self.e_minus = check_number(e_minus, f"noisy(kind={self.kind!r}): e_minus", low=0.0, high=0.5, high_open=True)
        self.low = check_number(low, f"noisy(kind={self.kind!r}): low")
        self.high = check_number(high, f"noisy(kind={self.kind!r}): high")
        if not self.high > self.low:
            raise ValueError(f"noisy(kind='flip'): high must be greater than low, got low={low!r}, high={high!r}")
        matrix = [[1.0 - self.e_minus, self.e_minus], [self.e_plus, 1.0 - self.e_plus]]
        super().__init__([self.low, self.high], matrix, correct, estimate, resolution, warmup, estimate_every)

    def _unknown_level_message(self, value: float) -> str:
        return (
            f"noisy(kind='flip') got reward {value!r}, which is neither low={self.low:g} nor "
            f"high={self.high:g}; flip noise needs a binary reward (set low and high to its values)"
        )


class Confusion(_LevelNoise):
    """Confusion-matrix reward noise (Wang, Liu & Li, "Reinforcement Learning with Perturbed
    Rewards", AAAI 2020): each reward is mapped to its nearest level (ties to the lower one), and
    the agent observes level j with probability ``matrix[i, j]`` when the true level is i.

    With ``correct=True`` the agent is paid the surrogate ``r_hat[j]`` of the observed level j,
    where ``r_hat = C^-1 @ levels``, so that ``E[r_hat | true level i] = levels[i]``: unbiased.

    With ``estimate=True`` the surrogate uses an estimate of C learnt online as in the paper (and
    the authors' code): the observed levels are collected per discretized state-action pair
    (``obs`` and ``action`` binned by ``resolution``, hashed into 65536 buckets, so distinct pairs
    may share a bucket with probability ~pairs/65536); the most frequent level of each pair is
    taken as its true level (majority voting, which assumes that the true level is the most
    frequently observed one and that the true reward is a function of the pair); ``C_hat[i, j]``
    is the share of level j among the observations of the pairs voted i. The estimate is refreshed
    every ``estimate_every`` training steps once ``warmup`` observations are in; until then (and
    while it is singular) the observed level is paid. Only steps while ``training`` is true vote,
    and never an autoreset step.

    Args:
        levels: the reward levels, strictly increasing, at least two.
        matrix: C, square over ``levels``: entries in [0, 1], rows summing to 1, non-singular
            (the surrogate needs ``C^-1``).
        correct: pay the unbiased surrogate of the observed level.
        estimate: estimate C online by majority voting instead of using ``matrix`` for the
            surrogate (``matrix`` still generates the noise).
        resolution: bin width of the state (and continuous action) for ``estimate``'s votes: a
            number or one width per observation dimension.
        warmup: observations to collect before the first estimate.
        estimate_every: re-estimate after this many training steps.

    Example:
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.noisy
        >>> spec = "noisy(kind='confusion', levels=[0, 1], matrix=[[1.0, 0.0], [0.0, 1.0]])"
        >>> env = gym.make("rewardgym/CartPole-v0", reward=spec)
        >>> _ = env.reset(seed=0)
        >>> env.step(1)[1]
        1.0
    """

    kind = "confusion"

    def __init__(
        self,
        *,
        levels: Sequence[float],
        matrix: Sequence[Sequence[float]],
        correct: bool = False,
        estimate: bool = False,
        resolution: float | Sequence[float] = 0.1,
        warmup: int = 1000,
        estimate_every: int = 50,
    ) -> None:
        levels_array, matrix_array = _check_confusion(levels, matrix)
        super().__init__(levels_array, matrix_array, correct, estimate, resolution, warmup, estimate_every)


def _check_confusion(levels: Any, matrix: Any) -> tuple[np.ndarray, np.ndarray]:
    try:
        level_array = np.asarray(levels, dtype=np.float64)
    except (TypeError, ValueError):
        level_array = np.empty(0)
    if (
        level_array.ndim != 1
        or level_array.size < 2
        or not np.all(np.isfinite(level_array))
        or not np.all(np.diff(level_array) > 0)
    ):
        raise ValueError(
            "noisy(kind='confusion'): levels must be a strictly increasing list of at least two "
            f"finite numbers, got {levels!r}"
        )
    n = level_array.size
    try:
        matrix_array = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError):
        matrix_array = np.empty(0)
    if matrix_array.shape != (n, n):
        raise ValueError(
            f"noisy(kind='confusion'): matrix must be {n}x{n} (one row and one column per level), got {matrix!r}"
        )
    if not np.all(np.isfinite(matrix_array)) or np.any(matrix_array < 0) or np.any(matrix_array > 1):
        raise ValueError(f"noisy(kind='confusion'): matrix entries must be probabilities in [0, 1], got {matrix!r}")
    sums = matrix_array.sum(1)
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-6):
        row = int(np.argmax(np.abs(sums - 1.0)))
        raise ValueError(
            f"noisy(kind='confusion'): matrix must be row-stochastic (matrix[i, j] = P(observed "
            f"level j | true level i)), but row {row} sums to {sums[row]:g}, not 1"
        )
    if np.linalg.matrix_rank(matrix_array) < n or np.linalg.cond(matrix_array) > 1e12:
        raise ValueError(
            f"noisy(kind='confusion'): matrix is singular, got {matrix!r}; the surrogate reward "
            "C^-1 @ levels needs an invertible confusion matrix"
        )
    return level_array, matrix_array


# Reward withheld ---------------------------------------------------------------------------------


class Dropout(_Noise):
    """The reward withheld with probability ``p``: the agent is paid ``fill`` instead.

    ``info["regime_info"]["noisy"]["dropped"]`` says which envs' rewards were withheld.

    Args:
        p: the probability of withholding a step's reward, in ``[0, 1]``.
        fill: what is paid instead of a withheld reward.

    Example:
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.noisy
        >>> env = gym.make("rewardgym/CartPole-v0", reward="noisy(kind='dropout', p=1.0)")
        >>> _ = env.reset(seed=0)
        >>> _, proxy, _, _, info = env.step(1)
        >>> proxy, info["regime_info"]["noisy"]["dropped"]
        (0.0, True)
    """

    kind = "dropout"

    def __init__(self, p: float = 0.1, fill: float = 0.0) -> None:
        super().__init__()
        self.p = check_number(p, f"noisy(kind={self.kind!r}): p", low=0.0, high=1.0)
        self.fill = check_number(fill, f"noisy(kind={self.kind!r}): fill")
        self._dropped: Any = None

    def reward(self, batch: Transition) -> Array:
        r = batch.reward
        # u is float32 in [0, 1], and may round up to 1.0: p = 1 must still drop every reward.
        u = self.rng.uniform(like=r)
        self._dropped = (u < self.p) | (self.p >= 1.0)
        return where(self._dropped, _full_like(r, self.fill), r)

    def info(self) -> dict[str, Any]:
        return {} if self._dropped is None else {"dropped": self._dropped}


class Delay(_Noise):
    """The reward paid late: ``k`` steps later, or summed and paid at the episode's end.

    With an integer ``k``, step t of an episode pays the reward of its step ``t - k`` (0 for
    ``t < k``), kept per env in a ring buffer. When the episode ends (terminated or truncated),
    its last step also pays every reward still pending if ``flush`` (so the episode's total is
    unchanged and only its timing moves), or drops them if not. With ``k="episode"`` every step
    pays 0 and the episode's last step pays the episode's sum.

    Nothing leaks across episodes: an env's buffer empties at its episode's end and at every
    reset. Autoreset steps (``valid=False``) neither enter nor advance the buffer.
    ``info["regime_info"]["noisy"]["pending"]`` is the reward each env holds back after the step.

    Args:
        k: the delay in steps, an integer ``>= 1``, or ``"episode"``.
        flush: pay the still-pending rewards on an episode's last step (else they are lost).

    Example:
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.noisy
        >>> env = gym.make("rewardgym/CartPole-v0", reward="noisy(kind='delay', k=2)")
        >>> _ = env.reset(seed=0)
        >>> [env.step(1)[1] for _ in range(3)]
        [0.0, 0.0, 1.0]
    """

    kind = "delay"

    def __init__(self, k: int | str = 1, flush: bool = True) -> None:
        super().__init__()
        if k != "episode":
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
                raise ValueError(f"noisy(kind='delay'): k must be an integer >= 1 or 'episode', got {k!r}")
            k = int(k)
        self.k = k
        self.flush = _flag(self.kind, "flush", flush)
        self._buffer: Any = None  # (num_envs, k) rewards awaiting payment; (num_envs, 1) sums
        self._step: Any = None  # per-env step index within the episode

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        super().reset(mask, seed=seed)
        if self._buffer is None:
            return
        if mask is None:
            self._buffer[:] = 0
            self._step[:] = 0
            return
        mask = mask_like(mask, self._buffer)
        self._buffer[mask] = 0
        self._step[mask] = 0

    def reward(self, batch: Transition) -> Array:
        r = batch.reward
        n = r.shape[0]
        width = 1 if self.k == "episode" else self.k
        if self._buffer is None or tuple(self._buffer.shape) != (n, width):
            self._buffer = zeros(r, (n, width), "float32")
            self._step = zeros(r, (n,), "int64")
        valid = batch.valid
        ended = valid & batch.done
        zero = _full_like(r, 0.0)
        if self.k == "episode":
            total = self._buffer[:, 0] + where(valid, r, zero)
            paid = where(ended, total, zero)
            self._buffer[:, 0] = where(ended, zero, total)
            return paid
        slot = self._step % self.k
        due = take_per_row(self._buffer, slot)  # the reward of step t - k, or 0 early in the episode
        _write_slot(self._buffer, slot, where(valid, r, due))
        paid = where(valid, due, zero)
        if self.flush:
            paid = where(ended, paid + self._buffer.sum(1), paid)
        self._buffer[ended] = 0
        advanced = self._step + (valid.to(self._step.dtype) if is_torch(valid) else valid)
        self._step = where(ended, 0 * self._step, advanced)
        return paid

    def info(self) -> dict[str, Any]:
        return {} if self._buffer is None else {"pending": self._buffer.sum(1)}


# Persistent noise ----------------------------------------------------------------------------


class Persistent(_Noise):
    """``r' = r + sigma * z(next_obs)``: Gaussian noise fixed per state, so it never averages out.

    ``z`` is a standard normal read from a seeded hash (SplitMix64 over the bin indices
    ``floor(next_obs / resolution)``, then Box-Muller), so the same discretized observation always
    gets the same noise under a seed, and another seed gives another noise table. Revisiting a
    state does not shrink its noise: an agent can learn, and exploit, the states that are
    over-paid. The table's seed is the layer's reset seed (fresh entropy until the first seeded
    reset). numpy and torch batches give the same table.

    Args:
        sigma: the noise's standard deviation across states, ``>= 0``.
        resolution: the bin width, a number ``> 0`` or one width per observation dimension.

    Example:
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.noisy
        >>> env = rewardgym.wrap(gym.make("FrozenLake-v1", is_slippery=False),
        ...                      "noisy(kind='persistent', sigma=1.0, resolution=1)")
        >>> paid = []
        >>> for _ in range(2):
        ...     _ = env.reset(seed=0)
        ...     paid.append(env.step(2)[1])  # right, into the same state 1 both times
        >>> paid[0] == paid[1] != 0.0
        True
    """

    kind = "persistent"

    def __init__(self, sigma: float = 0.1, resolution: float | Sequence[float] = 0.1) -> None:
        super().__init__()
        self.sigma = check_number(sigma, f"noisy(kind={self.kind!r}): sigma", low=0.0)
        self.resolution = _resolution(self.kind, resolution)
        self._table_seed = int(np.random.SeedSequence().generate_state(2, np.uint64)[0])

    def bind(self, context: EnvContext) -> None:
        width = np.size(self.resolution)
        shape = getattr(context.observation_space, "shape", None)
        if width > 1 and shape is not None and width != int(np.prod(shape)):
            raise ValueError(
                f"noisy(kind='persistent'): resolution has {width} bin widths, but the observation "
                f"has {int(np.prod(shape))} dimensions; give one width per dimension or one number"
            )

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        super().reset(mask, seed=seed)
        if seed is not None:
            self._table_seed = int(seed)

    def noise(self, next_obs: Array) -> Array:
        """The fixed noise ``sigma * z`` of each observation in a batch, float64."""
        n = next_obs.shape[0]
        return self.sigma * hash_normal(hash_rows(bin_indices(next_obs, self.resolution, n), self._table_seed))

    def reward(self, batch: Transition) -> Array:
        r = batch.reward
        noise = self.noise(batch.next_obs)
        return r + (noise.to(r.dtype) if is_torch(noise) else noise.astype(np.float32))


KINDS: dict[str, type[Regime]] = {
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
