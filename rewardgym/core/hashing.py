"""A seeded hash of discretized observations, bit-identical on numpy and torch (CPU or GPU).

Regimes that key something on "the same state" use it: the persistent noise of ``noisy`` reads a
fixed Gaussian per state from it, and the count-based bonus of ``intrinsic`` counts visits per
hashed state. An observation is cut into bins of a given width (:func:`bin_indices`), each row of
bin indices is hashed with SplitMix64 under a seed (:func:`hash_rows`), and the hash can be read
as a uniform or a normal number (:func:`hash_uniform`, :func:`hash_normal`).

numpy batches hash in uint64. torch has no uint64 arithmetic, so torch batches hash in int64,
whose add, multiply and xor wrap to the same bits; only the right shift differs, and
:func:`logical_shr` masks off its sign bits. Both give the same 64 bits for the same input, so
a table keyed by the hash is the same on every device.

Example:
    >>> import numpy as np, torch
    >>> obs = np.array([[0.12, -0.31], [0.18, -0.39], [0.52, 0.0]])
    >>> keys = hash_rows(bin_indices(obs, 0.1, 3), seed=7)
    >>> bool(keys[0] == keys[1]), bool(keys[0] == keys[2])  # bins (1, -4), (1, -4), (5, 0)
    (True, False)
    >>> torch_keys = hash_rows(bin_indices(torch.as_tensor(obs), 0.1, 3), seed=7)
    >>> bool((torch_keys.numpy().view(np.uint64) == keys).all())
    True
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np

from rewardgym.core.arrays import Array, float64, is_torch
from rewardgym.core.rng import splitmix64
from rewardgym.core.validation import check_number

__all__ = [
    "BIN_LIMIT",
    "bin_indices",
    "check_bin_widths",
    "hash_normal",
    "hash_rows",
    "hash_uniform",
    "logical_shr",
    "signed64",
    "splitmix64_torch",
]

# SplitMix64's constants (the same as rewardgym.core.rng's), as Python ints for torch.
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB

BIN_LIMIT = float(2**62)
"""Bin indices are clipped to ``[-BIN_LIMIT, BIN_LIMIT]``, so an absurd observation cannot overflow."""


def signed64(x: int) -> int:
    """The Python int whose int64 two's-complement bits are the low 64 bits of ``x``.

    Example:
        >>> signed64(2**64 - 1), signed64(5)
        (-1, 5)
    """
    x &= (1 << 64) - 1
    return x - (1 << 64) if x >= 1 << 63 else x


def logical_shr(z: Any, s: int) -> Any:
    """``z >> s`` as an unsigned (logical) shift of int64 bits: the sign bits shifted in are cleared.

    Example:
        >>> import torch
        >>> int(logical_shr(torch.tensor(-1), 60))
        15
    """
    return (z >> s) & ((1 << (64 - s)) - 1)


def splitmix64_torch(x: Any) -> Any:
    """SplitMix64's finaliser on an int64 torch tensor, with the bits of the uint64 version.

    Example:
        >>> import numpy as np, torch
        >>> bits = splitmix64_torch(torch.tensor([3], dtype=torch.int64)).numpy().view(np.uint64)
        >>> int(bits[0]) == int(splitmix64(np.uint64(3)))
        True
    """
    z = x + signed64(_GOLDEN)
    z = (z ^ logical_shr(z, 30)) * signed64(_MIX1)
    z = (z ^ logical_shr(z, 27)) * signed64(_MIX2)
    return z ^ logical_shr(z, 31)


def bin_indices(x: Array, resolution: float | np.ndarray, n: int) -> Array:
    """Integer bin indices ``floor(x / resolution)`` of each env's flattened row, int64 ``(n, d)``.

    ``resolution`` is one bin width or one per flattened dimension. Indices are clipped to
    :data:`BIN_LIMIT`.

    Example:
        >>> bin_indices(np.array([[0.25, -0.05]]), 0.1, 1).tolist()
        [[2, -1]]
    """
    flat = float64(x).reshape(n, -1)
    if is_torch(flat):
        import torch

        width = torch.as_tensor(resolution, dtype=torch.float64, device=flat.device)
        return torch.floor(flat / width).clamp(-BIN_LIMIT, BIN_LIMIT).to(torch.int64)
    return np.clip(np.floor(flat / resolution), -BIN_LIMIT, BIN_LIMIT).astype(np.int64)


def hash_rows(bins: Array, seed: int) -> Array:
    """One 64-bit hash per row of ``bins``, keyed by ``seed``: uint64 (numpy) or int64 (torch).

    The loop runs over the row's columns (observation dimensions), never over envs.

    Example:
        >>> rows = np.array([[0, 0], [1, 0], [0, 1]], np.int64)
        >>> len(set(hash_rows(rows, 0).tolist())), bool((hash_rows(rows, 1) != hash_rows(rows, 0)).all())
        (3, True)
    """
    n = bins.shape[0]
    if is_torch(bins):
        import torch

        h = splitmix64_torch(torch.full((n,), signed64(seed), dtype=torch.int64, device=bins.device))
        for j in range(bins.shape[1]):
            h = splitmix64_torch(h ^ bins[:, j])
        return h
    with np.errstate(over="ignore"):  # uint64 wrap-around is the hash's arithmetic
        h = splitmix64(np.full(n, seed & ((1 << 64) - 1), dtype=np.uint64))
        for j in range(bins.shape[1]):
            h = splitmix64(h ^ bins[:, j].view(np.uint64))
    return h


def hash_uniform(h: Array) -> Array:
    """A float64 uniform on [0, 1) from the top 53 bits of each hash.

    Example:
        >>> u = hash_uniform(hash_rows(np.arange(1000, dtype=np.int64)[:, None], 0))
        >>> bool(0.0 <= u.min() and u.max() < 1.0), round(float(u.mean()), 1)
        (True, 0.5)
    """
    if is_torch(h):
        import torch

        return logical_shr(h, 11).to(torch.float64) * 2.0**-53
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def hash_normal(h: Array) -> Array:
    """A standard normal per hash (Box-Muller on two further SplitMix64 rounds), float64.

    Example:
        >>> z = hash_normal(hash_rows(np.arange(10_000, dtype=np.int64)[:, None], 0))
        >>> abs(float(z.mean())) < 0.05, abs(float(z.std()) - 1.0) < 0.05
        (True, True)
    """
    if is_torch(h):
        import torch

        h1 = splitmix64_torch(h)
        h2 = splitmix64_torch(h1)
        u1, u2 = hash_uniform(h1), hash_uniform(h2)
        return torch.sqrt(-2.0 * torch.log1p(-cast(torch.Tensor, u1))) * torch.cos(
            2.0 * math.pi * cast(torch.Tensor, u2)
        )
    with np.errstate(over="ignore"):
        h1 = splitmix64(h)
        h2 = splitmix64(h1)
    u1, u2 = hash_uniform(h1), hash_uniform(h2)
    # log1p(-u1) = log(1 - u1) with 1 - u1 in (0, 1]: never log(0).
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * math.pi * u2)


def check_bin_widths(value: Any, subject: str) -> float | np.ndarray:
    """``value`` as bin widths for :func:`bin_indices`: a number > 0, or a list of numbers > 0.

    ``subject`` names the regime and parameter in the error, e.g. ``"intrinsic(kind='count'):
    resolution"``.

    Example:
        >>> check_bin_widths([0.1, 0.01], "demo: resolution").tolist()
        [0.1, 0.01]
        >>> check_bin_widths(0, "demo: resolution")
        Traceback (most recent call last):
        ...
        ValueError: demo: resolution must be a finite number > 0, got 0.0
    """
    if isinstance(value, (list, tuple, np.ndarray)):
        try:
            widths = np.asarray(value, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            widths = np.empty(0)
        if widths.size == 0 or not np.all(np.isfinite(widths)) or np.any(widths <= 0):
            raise ValueError(
                f"{subject} must be a number > 0 or a non-empty list of numbers > 0 (one bin "
                f"width per observation dimension), got {value!r}"
            )
        return widths
    return check_number(value, subject, low=0.0, low_open=True)
