"""Small helpers that let one piece of reward code serve numpy (CPU) and torch (GPU) batches.

Vector envs on ``device="cpu"`` return numpy arrays; on ``device="cuda"`` they return torch
tensors that stay on the GPU. Regimes and shells call these helpers instead of branching.

Example:
    >>> import numpy as np
    >>> from rewardgym.core.arrays import as_reward_batch
    >>> as_reward_batch([1, 2], like=np.zeros(2, np.float32)).dtype
    dtype('float32')
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = Any
"""A numpy array or a torch tensor: the batch type of rewardgym's vector envs."""


def is_torch(x: object) -> bool:
    """True for a torch tensor, without importing torch for numpy-only users."""
    return type(x).__module__.startswith("torch")


def as_reward_batch(value: object, like: Array) -> Array:
    """``value`` as a float32 batch of the same kind (numpy or torch) and device as ``like``."""
    if is_torch(like):
        import torch

        return torch.as_tensor(value, dtype=torch.float32, device=like.device)
    if is_torch(value):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float32)


def where(mask: Array, a: Array, b: Array) -> Array:
    """Elementwise ``a if mask else b`` for numpy or torch batches."""
    if is_torch(mask):
        import torch

        return torch.where(mask, a, b)
    return np.where(mask, a, b)


def select_rows(mask: Array, a: Array, b: Array) -> Array:
    """Row ``i`` of ``a`` where ``mask[i]``, else row ``i`` of ``b`` (rows may be of any shape)."""
    shape = (mask.shape[0],) + (1,) * (a.ndim - 1)
    return where(mask.reshape(shape), a, b)


def any_nan(x: Array) -> bool:
    """Whether a reward batch holds a NaN (one device sync on the GPU).

    One reduction instead of an elementwise pass: a sum is NaN whenever an element is, and only
    then (or for +inf and -inf together), which the exact check below settles.
    """
    if is_torch(x):
        import torch

        return bool(torch.isnan(x.sum())) and bool(torch.isnan(x).any())
    return bool(np.isnan(np.add.reduce(x))) and bool(np.isnan(x).any())


def to_numpy(x: Array) -> np.ndarray:
    """A numpy view or copy of a batch, for reporting and tests."""
    if is_torch(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)
