"""Running whichever of equivalent kernels has been fastest lately, timed as they run.

numba's parallel kernels split a batch among their threads and wait for the slowest. On a machine
where another process holds a core, the thread sharing that core finishes a scheduler timeslice
later, and OpenMP's barriers make it worse: on this project's 2-core machine, with one core
spinning, a 4,096-env CartPole step on two threads ran 1.5-20x slower than on one. A serial
kernel on the free core loses nothing. So the vector env holds the parallel and the serial kernel
(one source, the same results bit for bit: each env's arithmetic is its own) and runs the one
that has been faster, probing the other now and then (after 16 calls, then twice as long each
time the probe loses, up to 4,096 calls), so that it moves back to the threads when the core
frees up.

Example:
    >>> import time
    >>> slow = lambda: time.sleep(0.001)
    >>> fast = lambda: None
    >>> run = FastestKernel([slow, fast])
    >>> for _ in range(40):
    ...     run()
    >>> run.current
    1
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

FIRST_PROBE_AFTER = 16
"""Calls before the first probe of another kernel, and after a probe that found a faster one."""

MAX_PROBE_AFTER = 4096
"""The longest wait between probes: a probe that loses doubles the wait up to this, so that a
kernel that collapses under load (a step 100x slower) costs at most a fortieth of a step."""

SMOOTHING = 0.25
"""Weight of the newest timing in each kernel's moving average."""


class FastestKernel:
    """Calls one of ``kernels`` (interchangeable: same arguments, same results) per call: the one
    whose recent calls took least time, probing the others now and then.

    A kernel's first call is not timed (numba compiles on it), nor counted as a probe.

    Args:
        kernels: the candidates, the preferred first (the parallel kernel); it runs until the
            first probe.
    """

    def __init__(self, kernels: Sequence[Callable[..., Any]]) -> None:
        if not kernels:
            raise ValueError("FastestKernel needs at least one kernel")
        self.kernels = list(kernels)
        self.current = 0
        self.seconds: list[float | None] = [None] * len(self.kernels)
        """Each kernel's moving average of seconds per call (None until timed)."""
        self._called = [False] * len(self.kernels)
        self._probe_after = FIRST_PROBE_AFTER
        self._until_probe = FIRST_PROBE_AFTER
        self._next_probe = 1 % len(self.kernels)

    def __call__(self, *args: Any) -> None:
        index = self.current
        self._until_probe -= 1
        if self._until_probe <= 0 and len(self.kernels) > 1:
            index = self._next_probe
        kernel = self.kernels[index]
        if not self._called[index]:
            kernel(*args)  # compiles: not a timing
            self._called[index] = True
            return
        start = time.perf_counter()
        kernel(*args)
        self._record(index, time.perf_counter() - start)

    def _record(self, index: int, seconds: float) -> None:
        previous = self.seconds[index]
        self.seconds[index] = seconds if previous is None else previous + SMOOTHING * (seconds - previous)
        if index == self.current:
            return
        # A probe: switch if it beat the current kernel's average, and probe again soon; else
        # wait twice as long before the next probe.
        best = self.seconds[self.current]
        if best is None or seconds < best:
            self.current = index
            self._probe_after = FIRST_PROBE_AFTER
        else:
            self._probe_after = min(2 * self._probe_after, MAX_PROBE_AFTER)
        self._until_probe = self._probe_after
        self._next_probe = self._following(self._next_probe)

    def _following(self, index: int) -> int:
        """The next kernel to probe after ``index``: the others in turn, never the current one."""
        following = (index + 1) % len(self.kernels)
        if following == self.current:
            following = (following + 1) % len(self.kernels)
        return following
