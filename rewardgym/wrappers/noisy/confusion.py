"""Rewards on a finite set of levels, each redrawn from a confusion matrix: ``flip`` (two levels)
and ``confusion`` (any number), with the unbiased surrogate of Wang, Liu & Li (AAAI 2020) and
its online estimate.

``matrix[i, j] = P(observed level j | true level i)``. With ``correct=True`` the agent is paid
the surrogate of the observed level instead of the level itself; with ``estimate=True`` the
surrogate uses a confusion matrix estimated while the agent runs, by majority voting per
discretized state-action pair.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> env = gym.make("rewardgym/CartPole-v0", reward="noisy(kind='flip', e_plus=0.0, e_minus=0.0)")
    >>> _ = env.reset(seed=0)
    >>> _, proxy, _, _, info = env.step(1)
    >>> proxy, info["regime_info"]["noisy"]["perturbed"]
    (1.0, False)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from numpy.typing import ArrayLike

from rewardgym.core.arrays import Array, clip, is_torch, take, to_numpy
from rewardgym.core.hashing import bin_indices, check_bin_widths, hash_rows
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_flag, check_integer, check_number
from rewardgym.wrappers.noisy.base import Noise

if TYPE_CHECKING:
    import torch

__all__ = ["Confusion", "Flip"]


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


_BUCKETS = 1 << 16
"""Hash buckets of the state-action vote table that ``estimate=True`` keeps (per level)."""


class _LevelNoise(Noise):
    """Rewards on a finite set of levels, redrawn from a row-stochastic confusion matrix.

    ``matrix[i, j] = P(observed level j | true level i)``. With ``correct=True`` the agent is paid
    the surrogate ``r_hat = C^-1 @ levels`` of the observed level (Wang, Liu & Li, "Reinforcement
    Learning with Perturbed Rewards", AAAI 2020, Lemma 1 and its multi-level form): for every true
    level i, ``E[r_hat | true i] = sum_j C[i, j] r_hat[j] = (C @ C^-1 @ levels)[i] = levels[i]``.
    """

    strict = False  # flip: a reward that is not one of the two levels is an error

    def __init__(
        self,
        levels: ArrayLike,
        matrix: ArrayLike,
        correct: bool,
        estimate: bool,
        resolution: float | Sequence[float],
        warmup: int,
        estimate_every: int,
    ) -> None:
        super().__init__()
        self.levels = np.asarray(levels, dtype=np.float64)
        self.matrix = np.asarray(matrix, dtype=np.float64)
        self.correct = check_flag(correct, f"noisy(kind={self.kind!r}): correct")
        self.estimate = check_flag(estimate, f"noisy(kind={self.kind!r}): estimate")
        if self.estimate and not self.correct:
            raise ValueError(
                f"noisy(kind={self.kind!r}): estimate=True estimates the confusion matrix for the "
                "surrogate reward, so it needs correct=True"
            )
        self.resolution = check_bin_widths(resolution, f"noisy(kind={self.kind!r}): resolution")
        self.warmup = check_integer(warmup, f"noisy(kind={self.kind!r}): warmup", low=1)
        self.estimate_every = check_integer(estimate_every, f"noisy(kind={self.kind!r}): estimate_every", low=1)
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
        cumulative = take(self._constants.get("cumulative", r), true)
        # The first level whose cumulative probability exceeds u; the clip only catches a float32
        # u that rounded up to 1.0.
        observed = (u[:, None] >= cumulative).sum(1)
        observed = clip(observed, high=len(self.levels) - 1)
        self._perturbed = observed != true
        if self.estimate:
            keys = hash_rows(_key_bins(batch, self.resolution), 0)
            self._pending = (keys, observed)
        return take(self._constants.get("paid", r), observed)

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

    def _frozen_parts(self) -> dict[str, Any]:
        # A frozen copy keeps the estimate and its votes, on the CPU; the constants' cache of
        # device tensors and the last step's arrays stay with the training envs.
        votes = None if self._votes is None else np.array(to_numpy(self._votes))
        constants = _Constants(**{name: array.copy() for name, array in self._constants.numpy.items()})
        return {"_votes": votes, "_constants": constants, "_pending": None, "_perturbed": None}

    # -- the parts -------------------------------------------------------------------------------

    def _level_index(self, r: Array, valid: Array) -> Array:
        # The nearest level: how many midpoints between levels lie below r (a tie goes down).
        index = (r[:, None] > self._constants.get("midpoints", r)).sum(1)
        nearest: Any = take(self._constants.get("levels", r), index)
        known: Any
        if is_torch(r):
            import torch

            known = torch.isfinite(r)
        else:
            known = np.isfinite(r)
        if self.strict:
            known = known & (abs(r - nearest) <= 1e-6 * (1.0 + abs(nearest)))
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
            self._votes.index_add_(0, slot, cast("torch.Tensor", valid).to(torch.float64))
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

        return torch.cat([obs, cast("torch.Tensor", action).to(obs.device)], dim=1)
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
