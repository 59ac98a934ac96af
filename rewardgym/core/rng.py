"""A counter-based random stream that numba compiles identically for the CPU and the GPU.

Each env instance owns a ``uint64[2]`` row ``(key, counter)``. A draw hashes the pair with
SplitMix64 and bumps the counter, so streams are independent across instances, need no shared
state, and give bit-identical numbers on every target. Instance ``i`` of a vector env seeded
with ``s`` gets the key of seed ``s + i``, the same as ``SyncVectorEnv`` would give its envs.

Example:
    >>> import numpy as np
    >>> rng = seed_streams(np.array([7], dtype=np.uint64))[0]
    >>> a = uniform(rng, -1.0, 1.0); b = uniform(rng, -1.0, 1.0)
    >>> -1.0 <= a < 1.0 and a != b and int(rng[1])
    2
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba.extending import register_jitable

from rewardgym.core.validation import is_integer

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_ONE = np.uint64(1)
_TWO_POW_M53 = 1.0 / 9007199254740992.0


@register_jitable
def splitmix64(x: Any) -> Any:
    """The SplitMix64 finaliser: a bijective hash of a uint64."""
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@register_jitable
def uniform(rng: np.ndarray, low: float, high: float) -> float:
    """A float64 uniform on ``[low, high)`` from the stream ``rng = (key, counter)``."""
    # SplitMix64's own stream: the key is the start and the counter counts golden-ratio steps.
    bits = splitmix64(rng[0] + rng[1] * _GOLDEN)
    rng[1] += _ONE
    return low + (high - low) * (float(bits >> _S11) * _TWO_POW_M53)


MAX_SEED = 2**63 - 1
"""The largest env seed: seeds are int64 before they key a stream, as gymnasium's own."""


def per_env_seeds(seed: int | list[int], num_envs: int) -> np.ndarray:
    """Each env's seed: ``seed + i`` for an int (so env ``i`` of a vector env seeded ``s`` equals a
    single env seeded ``s + i``), or ``num_envs`` non-negative ints as given.

    Seeds are at most :data:`MAX_SEED` (``2**63 - 1``; for an int, ``seed + num_envs - 1`` is).

    Example:
        >>> per_env_seeds(7, 3).tolist()
        [7, 8, 9]
        >>> per_env_seeds(2**64, 2)
        Traceback (most recent call last):
        ...
        ValueError: seed must be an int in [0, 9223372036854775806] for 2 envs (env i is seeded seed + i, at most 2**63 - 1), got 18446744073709551616
    """
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        high = MAX_SEED - (num_envs - 1)
        if not 0 <= seed <= high:
            raise ValueError(
                f"seed must be an int in [0, {high}] for {num_envs} envs (env i is seeded seed + i, at most "
                f"2**63 - 1), got {seed!r}"
            )
        return (int(seed) + np.arange(num_envs, dtype=np.int64)).astype(np.uint64)
    # As Python objects, so that an int beyond 64 bits is checked rather than overflowing numpy.
    seeds = np.asarray(seed, dtype=object)
    if seeds.shape != (num_envs,) or not all(is_integer(s) and 0 <= s <= MAX_SEED for s in seeds.tolist()):
        raise ValueError(f"seed must be an int or {num_envs} ints, all in [0, 2**63 - 1], got {seed!r}")
    return seeds.astype(np.uint64)


def seed_streams(seeds: np.ndarray) -> np.ndarray:
    """Fresh ``(key, counter)`` rows for the given integer seeds, vectorised."""
    seeds = np.asarray(seeds).astype(np.uint64)
    streams = np.zeros((seeds.shape[0], 2), dtype=np.uint64)
    with np.errstate(over="ignore"):  # uint64 wrap-around is the hash's arithmetic
        streams[:, 0] = splitmix64(seeds)
    return streams
