"""Seeded random numbers for regimes, drawn where the batch lives (numpy or torch, CPU or GPU).

A regime that adds noise owns one :class:`BatchRandom`, reseeded in ``Regime.reset(seed=...)``.
Each call draws one value per env, so envs in a batch get independent noise, and the same seed
gives the same noise (docs/design.md, contract point 7). On numpy batches, :meth:`~BatchRandom.uniform`
and :meth:`~BatchRandom.add_normal` draw element ``i`` from a counter-based stream keyed by
``seed + i``: with the shells' additive layer seeds (:func:`rewardgym.core.pipeline.layer_seed`),
env ``i`` of a vector env seeded ``s`` draws exactly what a single env seeded ``s + i`` draws.

Example:
    >>> import numpy as np
    >>> rng = BatchRandom(seed=0)
    >>> a = rng.normal(like=np.zeros(3, np.float32))
    >>> rng.seed(0); b = rng.normal(like=np.zeros(3, np.float32))
    >>> bool((a == b).all()), a.dtype
    (True, dtype('float32'))
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, prange
from numba.extending import register_jitable

from rewardgym.core.arrays import Array, is_torch
from rewardgym.core.rng import splitmix64
from rewardgym.core.threading_layer import threads_usable

PARALLEL_FROM = 1 << 15
"""Batches at least this large draw :meth:`BatchRandom.add_normal` on every core; smaller ones
on one, where a thread pool's wake-up costs more than the draws (4096 draws take ~15 us)."""


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
        # add_normal's counter-based streams: one key per element, and the number of calls so far.
        self._keys = np.empty(0, dtype=np.uint64)
        self._device_keys: dict[str, Any] = {}  # the keys on each torch device they were asked for
        self._calls = 0

    def uniform(self, like: Array, low: float = 0.0, high: float = 1.0, shape: tuple[int, ...] | None = None) -> Array:
        """Uniform on ``[low, high)``."""
        size = self._shape(like, shape)
        if is_torch(like):
            import torch

            return low + (high - low) * torch.rand(size, generator=self.torch(like.device), device=like.device)
        keys, call = self._streams(math.prod(size))
        with np.errstate(over="ignore"):  # uint64 wrap-around is the hash's arithmetic
            bits = splitmix64(keys + call * _GOLDEN)
        # The top 24 bits, exact in float32: a float64 draw cast down could round up to 1.0.
        unit = (bits >> _S40).astype(np.float32) * np.float32(1.0 / (1 << 24))
        return (low + (high - low) * unit).astype(np.float32, copy=False).reshape(size)

    def normal(self, like: Array, scale: float = 1.0, shape: tuple[int, ...] | None = None) -> Array:
        """Normal with mean 0 and standard deviation ``scale``."""
        size = self._shape(like, shape)
        if is_torch(like):
            import torch

            return scale * torch.randn(size, generator=self.torch(like.device), device=like.device)
        # float32 draws directly: a third cheaper than float64 draws cast down.
        return (scale * self._numpy.standard_normal(size, dtype=np.float32)).astype(np.float32, copy=False)

    def add_normal(self, x: Array, scale: float) -> Array:
        """``x + scale * N(0, 1)``, an independent standard normal per element, as a new batch.

        Torch batches add :meth:`normal` (``torch.randn`` from the device's generator). numpy
        batches draw in one compiled pass, from counter-based streams: element ``i`` on call
        ``t`` (counted from the last :meth:`seed`) hashes ``(key_i, t)`` with SplitMix64, and
        ``key_i`` hashes ``(seed, i)``. So the draws are reproducible under a seed, element
        ``i``'s draws do not depend on the batch's other elements, and streams of different
        elements or seeds are independent; a ziggurat (Marsaglia & Tsang 2000) turns each
        hash into an exact normal, several times faster than numpy's ``Generator``, whose
        stream is one sequence for the whole batch.

        Example:
            >>> import numpy as np
            >>> rng = BatchRandom(seed=0)
            >>> a = rng.add_normal(np.zeros(3, np.float32), scale=0.5)
            >>> rng.seed(0); b = rng.add_normal(np.zeros(3, np.float32), scale=0.5)
            >>> bool((a == b).all()), a.dtype, len(set(a.tolist()))
            (True, dtype('float32'), 3)
        """
        if is_torch(x):
            return x + self.normal(like=x, scale=scale)
        values = np.asarray(x)
        if values.dtype != np.float32 and values.dtype != np.float64:
            values = values.astype(np.float32)
        flat = np.ascontiguousarray(values).reshape(-1)
        n = flat.shape[0]
        keys, call = self._streams(n)
        out = np.empty_like(flat)
        kernel = _add_normal_parallel if n >= PARALLEL_FROM and threads_usable() else _add_normal
        kernel(flat, keys, call, float(scale), out)
        return out.reshape(values.shape)

    def counter_streams(self, n: int, like: Array | None = None) -> tuple[Array, np.uint64]:
        """The counter-based streams of ``n`` elements for one call: their keys ``(n,)`` uint64
        (numpy, or a torch tensor on ``like``'s device where ``like`` is one: kept there, not
        copied on every call) and the call's number, which this consumes. Element ``i`` draws with
        :func:`counter_normal` or :func:`counter_uniform` of ``(keys[i], call)``; what
        :meth:`add_normal` and :meth:`uniform` draw on numpy batches, and compiled reward layers
        (:class:`~rewardgym.core.regime.FusedLayer`) inside the env's kernel.

        Example:
            >>> import numpy as np
            >>> rng = BatchRandom(seed=0)
            >>> keys, call = rng.counter_streams(3)
            >>> drawn = rng.add_normal(np.zeros(3), 1.0)  # the next call
            >>> rng.seed(0); _ = rng.counter_streams(3); keys2, call2 = rng.counter_streams(3)
            >>> bool((keys == keys2).all()), int(call), int(call2)
            (True, 0, 1)
        """
        keys, call = self._streams(n)
        if like is None or type(like) is np.ndarray or not is_torch(like):
            return keys, call
        key = str(like.device)
        if key not in self._device_keys:
            import torch

            self._device_keys[key] = torch.from_numpy(self._keys).to(like.device)
        return self._device_keys[key][:n], call

    def _streams(self, n: int) -> tuple[np.ndarray, np.uint64]:
        """:meth:`counter_streams` on the host: the keys as numpy."""
        if self._keys.shape[0] < n:
            self._keys = _stream_keys(self._seed, n)
            self._device_keys = {}
        call = np.uint64(self._calls)
        self._calls += 1
        keys = self._keys
        # All the keys as they are where the batch is as long (most calls): a view costs more.
        return (keys if keys.shape[0] == n else keys[:n]), call

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


# ----------------------------------------------------------------------------------------------
# add_normal's compiled draws: SplitMix64 counter streams and a 256-layer ziggurat.

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_LOW8, _S8, _S11, _S12, _ONE = np.uint64(0xFF), np.uint64(8), np.uint64(11), np.uint64(12), np.uint64(1)
_S40 = np.uint64(40)
_ZIGGURAT_R = 3.6541528853610088
"""Where the 256-layer ziggurat's tail starts (Marsaglia & Tsang 2000; numpy uses the same)."""


def _ziggurat_tables(layers: int = 256, r: float = _ZIGGURAT_R) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Layer ``i`` is the box ``[0, x_i] x [f(x_i), f(x_(i+1))]`` under ``f(x) = exp(-x^2 / 2)``,
    all of area ``v``; layer 0 is the base strip plus the tail beyond ``r``, ``x_0 = v / f(r)``.

    Returns ``w_i = x_i / 2^52`` (a 52-bit integer times ``w_i`` is uniform on ``[0, x_i)``),
    ``k_i = floor(2^52 x_(i+1) / x_i)`` (below it the point is inside the curve for sure) and
    ``f_i = f(x_i)``.
    """

    def f(x: float) -> float:
        return math.exp(-0.5 * x * x)

    v = r * f(r) + math.sqrt(math.pi / 2) * math.erfc(r / math.sqrt(2))
    x = np.zeros(layers + 1)
    x[0], x[1] = v / f(r), r
    for i in range(1, layers - 1):
        x[i + 1] = math.sqrt(-2.0 * math.log(v / x[i] + f(x[i])))
    w = x[:layers] / 2.0**52
    k = np.floor(x[1:] / x[:layers] * 2.0**52).astype(np.uint64)
    return w, k, np.exp(-0.5 * x * x)


_ZIGGURAT_W, _ZIGGURAT_K, _ZIGGURAT_F = _ziggurat_tables()


def _stream_keys(seed: int, n: int) -> np.ndarray:
    """One uint64 key per element, ``splitmix64(seed + i)``: element ``i`` under ``seed`` has the
    key of element 0 under ``seed + i`` (what makes vector env ``i`` draw as a single env seeded
    ``s + i``), and otherwise distinct elements and seeds get unrelated keys."""
    with np.errstate(over="ignore"):  # uint64 wrap-around is the hash's arithmetic
        return splitmix64(np.arange(max(n, 1), dtype=np.uint64) + np.uint64(seed & ((1 << 64) - 1)))


@njit(nogil=True, cache=True, inline="always")
def _unit(bits: np.uint64) -> float:  # pragma: no cover (compiled)
    """A uniform on ``[0, 1)`` from a hash's top 53 bits."""
    return float(bits >> _S11) * (1.0 / 9007199254740992.0)


@njit(nogil=True, cache=True, inline="always")
def _ziggurat_normal(
    bits: np.uint64, w: np.ndarray, k: np.ndarray, f: np.ndarray
) -> float:  # pragma: no cover (compiled)
    """A standard normal from a 64-bit hash: bits 0-7 pick the layer, bit 8 the sign, bits 12-63
    the point; the ~1% of points outside the sure region rehash for further bits."""
    while True:
        layer = int(bits & _LOW8)
        mantissa = bits >> _S12
        x = float(mantissa) * w[layer]
        negative = (bits >> _S8) & _ONE
        if mantissa < k[layer]:
            return -x if negative else x
        bits = splitmix64(bits)
        if layer == 0:  # the tail beyond r, by Marsaglia's exponential rejection
            tail = -math.log1p(-_unit(bits)) / _ZIGGURAT_R
            bits = splitmix64(bits)
            if -2.0 * math.log1p(-_unit(bits)) > tail * tail:
                return -(_ZIGGURAT_R + tail) if negative else _ZIGGURAT_R + tail
        elif f[layer] + _unit(bits) * (f[layer + 1] - f[layer]) < math.exp(-0.5 * x * x):
            return -x if negative else x
        bits = splitmix64(bits)


# Not inline="always": numba's inliner then drops a caller's writes to arrays it unpacked from a
# tuple (as reward layers' bodies do); LLVM inlines the call anyway.
@register_jitable
def counter_normal(key: np.uint64, call: np.uint64) -> float:  # pragma: no cover (compiled)
    """The standard normal of stream ``key`` on call ``call`` (see
    :meth:`BatchRandom.counter_streams`): a compiled function, for numba code on the CPU or GPU.

    Example:
        >>> import numpy as np
        >>> rng = BatchRandom(seed=0)
        >>> keys, call = rng.counter_streams(2)
        >>> z = [counter_normal(key, call) for key in keys]
        >>> rng.seed(0)
        >>> rng.add_normal(np.zeros(2), 1.0).tolist() == z
        True
    """
    return _ziggurat_normal(splitmix64(key + call * _GOLDEN), _ZIGGURAT_W, _ZIGGURAT_K, _ZIGGURAT_F)


# Not inline="always": see counter_normal.
@register_jitable
def counter_normal_sure(key: np.uint64, call: np.uint64) -> float:  # pragma: no cover (compiled)
    """:func:`counter_normal` where the ziggurat's first point lies in its sure region (about 99%
    of draws), the same number bit for bit; NaN where it does not, for the caller to draw with
    :func:`counter_normal` instead.

    Branch-free (two table reads, integer and float arithmetic, a select), so a loop over envs
    that calls it vectorises: the ziggurat's rejection loop, with its calls to ``log1p`` and
    ``exp`` and its exits, keeps a loop that calls :func:`counter_normal` scalar.

    Example:
        >>> import math
        >>> rng = BatchRandom(seed=0)
        >>> keys, call = rng.counter_streams(1000)
        >>> sure = [counter_normal_sure(key, call) for key in keys]
        >>> all(math.isnan(s) or s == counter_normal(key, call) for s, key in zip(sure, keys))
        True
        >>> 0 < sum(map(math.isnan, sure)) < 30
        True
    """
    bits = splitmix64(key + call * _GOLDEN)
    # _ziggurat_normal's first pass, without its loop: the same layer, point and sign.
    layer = int(bits & _LOW8)
    mantissa = bits >> _S12
    x = float(mantissa) * _ZIGGURAT_W[layer]
    if (bits >> _S8) & _ONE:
        x = -x
    return x if mantissa < _ZIGGURAT_K[layer] else math.nan


@register_jitable  # not inline="always": see counter_normal
def counter_uniform(key: np.uint64, call: np.uint64) -> np.float32:  # pragma: no cover (compiled)
    """The uniform on ``[0, 1)`` of stream ``key`` on call ``call``, float32 (the top 24 bits of
    the hash, exact): what :meth:`BatchRandom.uniform` draws, for numba code.

    Example:
        >>> import numpy as np
        >>> rng = BatchRandom(seed=0)
        >>> keys, call = rng.counter_streams(2)
        >>> u = [counter_uniform(key, call) for key in keys]
        >>> rng.seed(0)
        >>> rng.uniform(like=np.zeros(2)).tolist() == u
        True
    """
    return np.float32(splitmix64(key + call * _GOLDEN) >> _S40) * np.float32(1.0 / (1 << 24))


@njit(nogil=True, cache=True)
def _add_normal(
    x: np.ndarray, keys: np.ndarray, call: np.uint64, scale: float, out: np.ndarray
) -> None:  # pragma: no cover (compiled)
    for i in range(x.shape[0]):
        out[i] = x[i] + scale * counter_normal(keys[i], call)


@njit(nogil=True, cache=True, parallel=True)
def _add_normal_parallel(
    x: np.ndarray, keys: np.ndarray, call: np.uint64, scale: float, out: np.ndarray
) -> None:  # pragma: no cover (compiled)
    for i in prange(x.shape[0]):
        out[i] = x[i] + scale * counter_normal(keys[i], call)
