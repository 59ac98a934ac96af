"""What every ``noisy`` kind shares: the family's layer name and a seeded per-env random stream.

Example:
    >>> from rewardgym.wrappers.noisy import Gaussian, Noise
    >>> regime = Gaussian(sigma=0.5)
    >>> isinstance(regime, Noise), regime.name, regime
    (True, 'noisy', Gaussian(kind='gaussian'))
"""

from __future__ import annotations

from rewardgym.core.arrays import Array
from rewardgym.core.batch_random import BatchRandom
from rewardgym.core.regime import Regime

__all__ = ["Noise"]


class Noise(Regime):
    """Base of the ``noisy`` kinds: the layer's name and a :class:`BatchRandom` reseeded from the
    env's reset seed, so the same seed gives the same noise and envs in a batch draw independently.
    """

    name = "noisy"
    kind = "noisy"

    def __init__(self) -> None:
        self.rng = BatchRandom()

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        if seed is not None:
            self.rng.seed(seed)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r})"
