"""Persistent noise: Gaussian noise fixed per discretized state, read from a seeded hash.

Example:
    >>> import numpy as np
    >>> from rewardgym.wrappers.noisy import Persistent
    >>> regime = Persistent(sigma=1.0, resolution=0.5)
    >>> regime.reset(seed=0)
    >>> a = regime.noise(np.array([[0.1, 0.2], [0.3, 0.4]], np.float32))
    >>> bool(a[0] == a[1])  # both observations fall in the bin (0, 0)
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import numpy as np

from rewardgym.core.arrays import Array, is_torch
from rewardgym.core.hashing import bin_indices, check_bin_widths, hash_normal, hash_rows
from rewardgym.core.regime import EnvContext
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number
from rewardgym.wrappers.noisy.base import Noise

if TYPE_CHECKING:
    import torch

__all__ = ["Persistent"]


class Persistent(Noise):
    """``r' = r + sigma * z(next_obs)``: Gaussian noise fixed per state, so it never averages out.

    ``z`` is a standard normal read from a seeded hash (SplitMix64 over the bin indices
    ``floor(next_obs / resolution)``, then Box-Muller), so the same discretized observation always
    gets the same noise under a seed, and another seed gives another noise table. Revisiting a
    state does not shrink its noise: an agent can learn, and exploit, the states that are
    over-paid. The table's seed is the layer's reset seed (fresh entropy until the first seeded
    reset); a frozen copy (:meth:`~rewardgym.core.regime.Regime.frozen_copy`) keeps its table
    whatever seed it is reset with. numpy and torch batches give the same table.

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
        self.resolution = check_bin_widths(resolution, f"noisy(kind={self.kind!r}): resolution")
        self._table_seed = int(np.random.SeedSequence().generate_state(2, np.uint64)[0])

    def bind(self, context: EnvContext) -> None:
        width = np.size(self.resolution)
        shape = getattr(context.observation_space, "shape", None)
        if shape is None:  # Tuple, Dict, Text, Graph...: nothing to bin
            raise ValueError(
                "noisy(kind='persistent') bins array observations (Box, Discrete, MultiDiscrete, "
                f"MultiBinary); the env's observation space is {context.observation_space}"
            )
        if width > 1 and width != int(np.prod(shape)):
            raise ValueError(
                f"noisy(kind='persistent'): resolution has {width} bin widths, but the observation "
                f"has {int(np.prod(shape))} dimensions; give one width per dimension or one number"
            )

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        super().reset(mask, seed=seed)
        # A frozen copy (evaluation's) keeps the table the agent was paid by in training.
        if seed is not None and not self.frozen:
            self._table_seed = int(seed)

    def noise(self, next_obs: Array) -> Array:
        """The fixed noise ``sigma * z`` of each observation in a batch, float64."""
        n = next_obs.shape[0]
        return self.sigma * hash_normal(hash_rows(bin_indices(next_obs, self.resolution, n), self._table_seed))

    def reward(self, batch: Transition) -> Array:
        r = batch.reward
        noise = self.noise(batch.next_obs)
        if is_torch(noise):
            return r + noise.to(cast("torch.Tensor", r).dtype)
        return r + noise.astype(np.float32)
