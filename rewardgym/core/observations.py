"""``Dict`` observations seen as one flat row per env, for regimes whose models read arrays.

A scene's observation is a ``Dict`` of an image and instruction tokens. A regime that reads an
observation as one vector (an intrinsic bonus's networks or counts) sees it through
:func:`flat_space` and :func:`flat_batch`: every key's values flattened and placed side by side,
in the space's key order, numpy or torch alike.

Example:
    >>> import numpy as np
    >>> from gymnasium import spaces
    >>> space = spaces.Dict({"image": spaces.Box(0, 255, (2, 2, 1), np.uint8),
    ...                      "instruction": spaces.MultiDiscrete([5, 5], dtype=np.uint8)})
    >>> flat_space(space)
    Box(0, [255 255 255 255   4   4], (6,), uint8)
    >>> batch = {"image": np.ones((3, 2, 2, 1), np.uint8), "instruction": np.zeros((3, 2), np.uint8)}
    >>> flat_batch(batch).shape
    (3, 6)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from rewardgym.core.arrays import Array, is_torch


def flat_space(space: spaces.Dict) -> spaces.Box:
    """One ``Box`` for a ``Dict`` of ``Box``/``MultiDiscrete``/``MultiBinary``/``Discrete`` keys:
    their bounds side by side, in one dtype (numpy's promotion of the keys')."""
    lows, highs, dtypes = [], [], []
    for key, sub in space.spaces.items():
        if isinstance(sub, spaces.Box):
            low, high = sub.low.reshape(-1), sub.high.reshape(-1)
        elif isinstance(sub, spaces.MultiDiscrete):
            low, high = sub.start.reshape(-1), (sub.start + sub.nvec - 1).reshape(-1)
        elif isinstance(sub, spaces.MultiBinary):
            low, high = np.zeros(int(np.prod(sub.shape))), np.ones(int(np.prod(sub.shape)))
        elif isinstance(sub, spaces.Discrete):
            low, high = np.array([sub.start]), np.array([sub.start + sub.n - 1])
        else:
            raise TypeError(f"a Dict observation is flattened from array keys only; key {key!r} is {sub}")
        lows.append(low)
        highs.append(high)
        dtypes.append(sub.dtype)
    dtype = np.result_type(*dtypes)
    return spaces.Box(np.concatenate(lows).astype(dtype), np.concatenate(highs).astype(dtype), dtype=dtype)


def flat_batch(batch: Any) -> Array:
    """A batch of ``Dict`` observations (a dict of ``(n, ...)`` batches) as ``(n, width)`` rows;
    any other batch as it is."""
    if not isinstance(batch, dict):
        return batch
    parts = [value.reshape(value.shape[0], -1) for value in batch.values()]
    if is_torch(parts[0]):
        import torch

        dtype = parts[0].dtype
        for part in parts[1:]:
            dtype = torch.promote_types(dtype, part.dtype)
        return torch.cat([part.to(dtype) for part in parts], dim=1)
    return np.concatenate(parts, axis=1)
