"""Seeded random numbers for regimes, drawn where the batch lives (numpy or torch, CPU or GPU).

A regime that adds noise owns one :class:`BatchRandom`, reseeded in ``Regime.reset(seed=...)``.
Each call draws one value per env, so envs in a batch get independent noise, and the same seed
gives the same noise (DESIGN.md, contract point 7).

Example:
    >>> import numpy as np
    >>> rng = BatchRandom(seed=0)
    >>> a = rng.normal(like=np.zeros(3, np.float32))
    >>> rng.seed(0); b = rng.normal(like=np.zeros(3, np.float32))
    >>> bool((a == b).all()), a.dtype
    (True, dtype('float32'))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rewardgym.core.arrays import Array, is_torch


class BatchRandom:
    """A numpy ``Generator`` for numpy batches and a ``torch.Generator`` per device for torch ones.

    Every draw takes ``like``: a batch whose kind, device and (by default) shape the draw matches.
    Draws are float32 unless a dtype is given.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed(seed)

    def seed(self, seed: int | None) -> None:
        """Restart every stream from ``seed`` (fresh entropy if None)."""
        self._seed = int(np.random.SeedSequence(seed).generate_state(1)[0]) if seed is None else int(seed)
        self._numpy = np.random.default_rng(self._seed)
        self._torch: dict[str, Any] = {}

    def uniform(self, like: Array, low: float = 0.0, high: float = 1.0, shape: tuple[int, ...] | None = None) -> Array:
        """Uniform on ``[low, high)``."""
        size = self._shape(like, shape)
        if is_torch(like):
            import torch

            return low + (high - low) * torch.rand(size, generator=self.torch(like.device), device=like.device)
        # Drawn in float32 directly: a float64 draw cast to float32 can round up to 1.0.
        return (low + (high - low) * self._numpy.random(size, dtype=np.float32)).astype(np.float32)

    def normal(self, like: Array, scale: float = 1.0, shape: tuple[int, ...] | None = None) -> Array:
        """Normal with mean 0 and standard deviation ``scale``."""
        size = self._shape(like, shape)
        if is_torch(like):
            import torch

            return scale * torch.randn(size, generator=self.torch(like.device), device=like.device)
        # float32 draws directly: a third cheaper than float64 draws cast down.
        return (scale * self._numpy.standard_normal(size, dtype=np.float32)).astype(np.float32, copy=False)

    def numpy(self) -> np.random.Generator:
        """The numpy generator, for draws these methods do not cover (e.g. ``standard_t``)."""
        return self._numpy

    def torch(self, device: Any) -> Any:
        """The torch generator of ``device``, seeded from the same seed."""
        import torch

        key = str(device)
        if key not in self._torch:
            generator = torch.Generator(device=device)
            generator.manual_seed(self._seed)
            self._torch[key] = generator
        return self._torch[key]

    @staticmethod
    def _shape(like: Array, shape: tuple[int, ...] | None) -> tuple[int, ...]:
        return tuple(like.shape) if shape is None else shape
