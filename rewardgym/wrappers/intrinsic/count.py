"""``intrinsic(kind='count')``: the bonus ``1 / sqrt(n(s'))`` over a seeded hash of ``s'``'s bin.

Example:
    >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.intrinsic
    >>> env = gym.make("rewardgym/CartPole-v0", reward="intrinsic(kind='count', normalize=False)")
    >>> _ = env.reset(seed=0)
    >>> [env.step(0)[4]["regime_info"]["intrinsic"]["bonus"] for _ in range(2)]  # two first visits
    [1.0, 1.0]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rewardgym.core.arrays import Array, is_torch, take, zeros
from rewardgym.core.hashing import bin_indices, check_bin_widths, hash_rows
from rewardgym.core.regime import EnvContext
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_integer
from rewardgym.wrappers.intrinsic.base import IntrinsicBonus, Step
from rewardgym.wrappers.intrinsic.encoding import space_width

__all__ = ["Count", "CountStep"]


@dataclass(frozen=True, kw_only=True)
class CountStep(Step):
    """A count step: the bonus and the counter of each ``s'``, which update() then counts in.

    Attributes:
        slots: the counter index of each ``s'``, int64 ``(num_envs,)``, numpy or torch.
    """

    slots: Array


class Count(IntrinsicBonus[CountStep]):
    """Count-based bonus ``1 / sqrt(n(s'))`` over a seeded hash of the discretized observation.

    ``s'`` is cut into bins of width ``resolution`` (one width, or one per observation dimension),
    the bin indices are hashed with SplitMix64 under the layer's seed
    (:mod:`rewardgym.core.hashing`, the same bits on numpy and torch), and the hash picks one of
    ``buckets`` counters (distinct bins share a counter with probability about
    ``bins / buckets``). ``n(s')`` counts the valid training visits before this step plus this
    one, so a first visit pays 1 and the bonus falls as ``1/sqrt(n)`` with visits (Strehl &
    Littman 2008; with a hash, Tang et al. 2017, "#Exploration"). Two envs reaching the same bin
    in one step both get the count before the step.

    Args:
        resolution: the bin width, a number ``> 0`` or one width per observation dimension.
        buckets: the number of counters, a power of two ``>= 2``.
        beta: the bonus coefficient ``>= 0``.
        kappa: the coefficient's decay per training transition, in ``[0, 1)``.
        normalize: divide the bonus by the running RMS of earlier bonuses.
        extrinsic: add the bonus to the reward entering the layer (else pay the bonus alone).
        seed: the hash's seed; None: the env's reset seed.

    Example:
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.intrinsic
        >>> env = gym.make("rewardgym/CartPole-v0",
        ...                reward="intrinsic(kind='count', beta=1.0, normalize=False)")
        >>> _ = env.reset(seed=0)
        >>> env.step(1)[4]["regime_info"]["intrinsic"]["bonus"]  # a first visit
        1.0
    """

    kind = "count"

    def __init__(
        self,
        resolution: float | list[float] = 0.1,
        buckets: int = 2**20,
        beta: float = 0.1,
        kappa: float = 0.0,
        normalize: bool = True,
        extrinsic: bool = True,
        seed: int | None = None,
    ) -> None:
        self.resolution = check_bin_widths(resolution, f"intrinsic(kind={self.kind!r}): resolution")
        self.buckets = check_integer(buckets, f"intrinsic(kind={self.kind!r}): buckets", low=2)
        if self.buckets & (self.buckets - 1):
            raise ValueError(
                f"intrinsic(kind='count'): buckets must be a power of two (2, 4, ..., 2**20), got {buckets!r}"
            )
        super().__init__(beta, kappa, normalize, extrinsic, seed)

    def counts(self, obs: Array) -> Array:
        """The valid training visits counted so far for each observation of a batch, float64.

        A batch of the layer's kind (numpy, or torch on its device) before the first step, too.

        Example:
            >>> import numpy as np
            >>> Count(seed=0).counts(np.zeros((2, 4), np.float32)).tolist()
            [0.0, 0.0]
        """
        n = int(obs.shape[0])
        if self._counts is None:
            return zeros(obs, (n,), "float64")
        return take(self._counts, self._slots(obs, n))

    def _check_spaces(self, context: EnvContext) -> None:
        width = np.size(self.resolution)
        dims = space_width(context.observation_space, "observation", self.kind)
        if isinstance(context.observation_space, gym.spaces.Discrete):
            dims = 1  # counted by index, not one-hot
        if width > 1 and width != dims:
            raise ValueError(
                f"intrinsic(kind='count'): resolution has {width} bin widths, but the observation "
                f"has {dims} dimensions; give one width per dimension or one number"
            )

    def _build(self, seed: int) -> None:
        # numpy or torch, as the batches are (Any: the checker cannot tie its kind to theirs); made
        # on the first batch's device.
        self._counts: Any = None

    def _to_device(self, device: torch.device | None) -> None:
        # float64 counts are exact up to 2**53 visits, and index_add_ supports them everywhere.
        if device is None:
            self._counts = np.zeros(self.buckets, dtype=np.float64)
        else:
            self._counts = torch.zeros(self.buckets, dtype=torch.float64, device=device)

    def _move_state(self, device: torch.device | None) -> None:
        if self._counts is None:
            return
        if device is None:
            self._counts = self._counts.cpu().numpy() if is_torch(self._counts) else self._counts
        else:
            self._counts = torch.as_tensor(self._counts, device=device)

    def _slots(self, next_obs: Array, n: int) -> Array:
        keys = hash_rows(bin_indices(next_obs, self.resolution, n), self._layer_seed)
        if is_torch(keys):
            return keys & (self.buckets - 1)  # int64, non-negative: the mask clears the sign bit
        return (keys & np.uint64(self.buckets - 1)).astype(np.int64)

    def _compute(self, batch: Transition) -> CountStep:
        slots = self._slots(batch.next_obs, int(batch.next_obs.shape[0]))
        visits = take(self._counts, slots) + 1.0
        bonus = visits.rsqrt().to(torch.float32) if is_torch(visits) else (1.0 / np.sqrt(visits)).astype(np.float32)
        return CountStep(batch=batch, bonus=bonus, slots=slots)

    def _learn(self, step: CountStep, weight: Array) -> dict[str, float]:
        _add_at(self._counts, step.slots, weight)
        return {}


def _add_at(table: Any, index: Any, weight: Any) -> None:
    """``table[index] += weight`` in place, a repeated index adding up (numpy or torch alike)."""
    if is_torch(table):
        table.index_add_(0, index, weight.to(table.dtype))
    else:
        np.add.at(table, index, weight)
