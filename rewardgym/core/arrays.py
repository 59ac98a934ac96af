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

from typing import TYPE_CHECKING, TypeAlias, cast

import numpy as np
from typing_extensions import TypeIs

if TYPE_CHECKING:
    import torch

Array: TypeAlias = "np.ndarray | torch.Tensor"
"""A numpy array or a torch tensor: the batch type of rewardgym's vector envs."""


def is_torch(x: object) -> TypeIs[torch.Tensor]:
    """True for a torch tensor, without importing torch for numpy-only users."""
    return type(x).__module__.startswith("torch")


def first_leaf(batch: object) -> Array:
    """A batch's first array: the batch itself, or its first key's for a ``Dict`` observation
    (an image and an instruction), so helpers that need a batch's kind and device take any.

    Example:
        >>> import numpy as np
        >>> first_leaf({"image": np.zeros((2, 3)), "tokens": np.zeros(2)}).shape
        (2, 3)
    """
    while isinstance(batch, dict):
        batch = next(iter(batch.values()))
    return cast("Array", batch)


def as_reward_batch(value: object, like: Array) -> Array:
    """``value`` as a float32 batch of the same kind (numpy or torch) and device as ``like``."""
    if is_torch(like):
        import torch

        return torch.as_tensor(value, dtype=torch.float32, device=like.device)
    if is_torch(value):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float32)


def where(mask: Array, a: Array | float, b: Array | float) -> Array:
    """Elementwise ``a if mask else b`` for numpy or torch batches."""
    if is_torch(mask):
        import torch

        return torch.where(mask, cast("torch.Tensor", a), cast("torch.Tensor", b))
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


def copy(x: Array) -> Array:
    """A copy of a numpy or torch batch."""
    return x.clone() if is_torch(x) else x.copy()


def fill_where(x: Array, mask: Array, value: float) -> None:
    """Set ``x[mask] = value`` in place, without a device sync on the GPU."""
    if is_torch(x):
        x.masked_fill_(cast("torch.Tensor", mask), value)
    else:
        np.copyto(x, value, where=mask)


def to_numpy(x: Array) -> np.ndarray:
    """A numpy view or copy of a batch, for reporting and tests."""
    if is_torch(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def zeros(like: Array, shape: tuple[int, ...] | None = None, dtype: str | None = None) -> Array:
    """Zeros of ``shape`` and ``dtype`` (default: ``like``'s) in ``like``'s kind and device."""
    shape = tuple(like.shape) if shape is None else shape
    if is_torch(like):
        import torch

        torch_dtype = like.dtype if dtype is None else getattr(torch, dtype)
        return torch.zeros(shape, dtype=torch_dtype, device=like.device)
    return np.zeros(shape, dtype=like.dtype if dtype is None else dtype)


def empty(like: Array, dtype: str | None = None) -> Array:
    """An uninitialised batch of ``like``'s shape, ``dtype`` (default: ``like``'s), kind and
    device: for outputs whose every element is written before it is read.

    Example:
        >>> empty(np.zeros(3, np.float32), "bool").shape, empty(np.zeros(3, np.float32), "bool").dtype
        ((3,), dtype('bool'))
    """
    if is_torch(like):
        import torch

        return torch.empty(like.shape, dtype=like.dtype if dtype is None else getattr(torch, dtype), device=like.device)
    return np.empty(like.shape, dtype=like.dtype if dtype is None else dtype)


def float64(x: Array) -> Array:
    """``x`` as float64, of the same kind (numpy or torch) and device."""
    if is_torch(x):
        import torch

        return x.to(torch.float64)
    return np.asarray(x, dtype=np.float64)


def minimum(a: Array, b: Array | float) -> Array:
    """Elementwise minimum of a batch ``a`` and a batch or number ``b`` (cast to ``a``'s dtype)."""
    if is_torch(a):
        import torch

        return torch.minimum(a, torch.as_tensor(b, dtype=a.dtype, device=a.device))
    return np.minimum(a, b)


def mask_like(mask: Array, like: Array) -> Array:
    """``mask`` as a bool batch of ``like``'s kind and device (a user's reset mask may be numpy)."""
    if is_torch(like):
        import torch

        if is_torch(mask):
            return mask.to(device=like.device, dtype=torch.bool)
        # A copy: the envs hand out read-only masks, which torch warns about sharing.
        return torch.as_tensor(np.array(mask, dtype=bool), device=like.device)
    return to_numpy(mask).astype(bool)


def take_per_row(x: Array, column: Array) -> Array:
    """``x[i, column[i]]`` for every row ``i`` of a 2-d batch."""
    if is_torch(x):
        return x.gather(1, cast("torch.Tensor", column).reshape(-1, 1)).reshape(-1)
    return np.take_along_axis(x, cast(np.ndarray, column).reshape(-1, 1), axis=1).reshape(-1)


def full_like(like: Array, value: float) -> Array:
    """A batch of ``like``'s shape, dtype, kind and device, filled with ``value``."""
    if is_torch(like):
        import torch

        return torch.full_like(like, value)
    return np.full_like(like, value)


def take(table: Array, index: Array) -> Array:
    """``table[index]`` along the first axis (torch's ``index_select`` beats its fancy indexing)."""
    return table.index_select(0, cast("torch.Tensor", index)) if is_torch(table) else table[index]


def clip(x: Array, low: float | None = None, high: float | None = None) -> Array:
    """``x`` clipped to ``[low, high]`` (either bound may be None), numpy or torch."""
    if is_torch(x):
        return x.clamp(low, high)
    return np.clip(x, low, high)


def sign(x: Array) -> Array:
    """Elementwise sign (-1, 0 or 1) of a numpy or torch batch."""
    return x.sign() if is_torch(x) else np.sign(x)


def sigmoid(x: Array) -> Array:
    """``1 / (1 + exp(-x))`` of a numpy or torch batch, without overflow in either tail.

    Example:
        >>> import numpy as np
        >>> sigmoid(np.array([0.0, 100.0], np.float32)).tolist()
        [0.5, 1.0]
    """
    if is_torch(x):
        import torch

        return torch.sigmoid(x)
    # exp(-softplus(-x)): no overflow for large |x| and full precision in both tails.
    return np.exp(-np.logaddexp(np.float32(0.0), -x))


def log_sigmoid(x: Array) -> Array:
    """``log sigmoid(x)`` of a numpy or torch batch, without overflow."""
    if is_torch(x):
        import torch

        return torch.nn.functional.logsigmoid(x)
    return -np.logaddexp(np.float32(0.0), -x)
