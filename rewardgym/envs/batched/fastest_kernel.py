"""Running whichever of equivalent kernels costs least lately, timed as they run.

numba's parallel kernels split a batch among their threads and wait for the slowest. On a machine
where another process holds a core, the thread sharing that core now and then finishes a
scheduler timeslice late: on this project's 2-core machine, with one core spinning, a 4,096-env
CartPole step on two threads took 88 us at the median but 367 us on average (one step in 26
stalled for milliseconds), against 161 us on one thread; numba's OpenMP layer sometimes collapsed
to milliseconds per step. A serial kernel on the free core loses nothing. So the vector env holds
the parallel and the serial kernel (one source, the same results bit for bit: each env's
arithmetic is its own) and runs the one whose calls have cost least on average, stalls included.

It runs the current kernel for a window of calls, then probes the other for a few dozen calls (the
first ones untimed: the threads a parallel kernel leaves spinning slow the next serial calls),
and switches if the probe averaged clearly less; the next whole window then confirms the switch
or takes it back (a probe can miss a kernel's rare stalls, a window cannot). A probe or a switch
that loses doubles the next window, up to :data:`MAX_WINDOW` calls; a probe already twice as slow
stops early, so a kernel that collapses costs little. When the machine frees up, a probe finds
the threads again.

In a child forked after OpenMP's threads ran, which may start none
(:func:`~rewardgym.core.threading_layer.threads_usable`), it runs the last kernel, the serial one.

Example:
    >>> import time
    >>> slow = lambda: time.sleep(0.001)
    >>> fast = lambda: None
    >>> run = FastestKernel([slow, fast])
    >>> for _ in range(200):
    ...     run()
    >>> run.current
    1
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from rewardgym.core.threading_layer import threads_usable

FIRST_WINDOW = 64
"""Calls of the current kernel before the first probe, and after a switch that held."""

TRIAL_WINDOW = 128
"""Calls of a kernel a probe switched to, whose mean confirms the switch or takes it back."""

MAX_WINDOW = 8192
"""The longest window: probes and switches that lose double it up to this."""

SETTLE_CALLS = 4
"""Calls at a probe's start that are not timed (the previous kernel's threads still spinning)."""

PROBE_CALLS = 48
"""Timed calls of a probe: enough to catch a kernel that stalls one call in a few dozen (a
probe of a kernel that stalls often gives up early, see :data:`GIVE_UP`)."""

MARGIN = 0.9
"""A probe takes over only if it averaged under this fraction of the current kernel's time: two
kernels within noise of each other do not swap back and forth."""

GIVE_UP = 2.0
"""A probe stops early once its time exceeds this many times what the current kernel would have
taken for the whole probe."""


class FastestKernel:
    """Calls one of ``kernels`` (interchangeable: same arguments, same results) per call: the one
    whose recent calls took least time on average, probing the others in turn.

    A kernel's first call is not timed (numba compiles on it).

    Args:
        kernels: the candidates, the preferred first (the parallel kernel); it runs the first
            window. The last must start no threads: it is the one that runs where threads cannot.
    """

    def __init__(self, kernels: Sequence[Callable[..., Any]]) -> None:
        if not kernels:
            raise ValueError("FastestKernel needs at least one kernel")
        self.kernels = list(kernels)
        self.current = 0
        self.seconds: list[float | None] = [None] * len(self.kernels)
        """Each kernel's mean seconds per call over its last window or probe (None until timed)."""
        self._compiled = [False] * len(self.kernels)
        self._backoff = FIRST_WINDOW  # the window after a probe or a trial that lost
        self._window = FIRST_WINDOW
        self._next_probe = 1 % len(self.kernels)
        self._probe: int | None = None  # the kernel being probed, if a probe is on
        self._trial_from: int | None = None  # the kernel a probe won from, until a window confirms
        self._calls, self._total = 0, 0.0

    def __call__(self, *args: Any) -> None:
        if not threads_usable():
            self.kernels[-1](*args)
            return
        index = self.current if self._probe is None else self._probe
        kernel = self.kernels[index]
        if not self._compiled[index]:
            kernel(*args)  # compiles: not a timing
            self._compiled[index] = True
            return
        start = time.perf_counter()
        kernel(*args)
        elapsed = time.perf_counter() - start
        if self._probe is None:
            self._time_current(elapsed)
        else:
            self._time_probe(elapsed)

    def _time_current(self, elapsed: float) -> None:
        self._calls += 1
        self._total += elapsed
        if self._calls < self._window or len(self.kernels) == 1:
            return
        mean = self._total / self._calls
        self.seconds[self.current] = mean
        self._calls, self._total = 0, 0.0
        if self._trial_from is not None:
            # A probe's few dozen calls can miss a kernel's rare stalls; a whole window cannot.
            previous, self._trial_from = self._trial_from, None
            if mean * MARGIN > (self.seconds[previous] or 0.0):
                self.current = previous  # clearly slower than what it replaced: back, probe later
                self._lose()
                return
            self._backoff = FIRST_WINDOW
        self._probe = self._next_probe
        self._calls = -SETTLE_CALLS

    def _time_probe(self, elapsed: float) -> None:
        self._calls += 1
        if self._calls <= 0:
            return  # settling
        self._total += elapsed
        best = self.seconds[self.current] or 0.0
        hopeless = self._total > GIVE_UP * best * PROBE_CALLS
        if self._calls < PROBE_CALLS and not hopeless:
            return
        probed = self._probe
        assert probed is not None
        mean = self._total / self._calls
        self.seconds[probed] = mean
        self._probe = None
        self._next_probe = self._following(probed)
        self._calls, self._total = 0, 0.0
        if mean < MARGIN * best:
            self._trial_from, self.current = self.current, probed
            self._window = TRIAL_WINDOW
        else:
            self._lose()

    def _lose(self) -> None:
        """A probe or a trial lost: run the current kernel twice as long before the next probe."""
        self._backoff = min(2 * self._backoff, MAX_WINDOW)
        self._window = self._backoff

    def _following(self, index: int) -> int:
        """The next kernel to probe after ``index``: the others in turn, never the current one."""
        following = (index + 1) % len(self.kernels)
        if following == self.current:
            following = (following + 1) % len(self.kernels)
        return following


def threads_while_they_pay(build: Callable[[str], Callable[..., Any]], target: str) -> Callable[..., Any]:
    """The kernel an env runs for ``target``: ``build(target)``, except that for ``"parallel"`` it
    is a :class:`FastestKernel` of ``build("parallel")`` and ``build("serial")`` (the same results
    bit for bit), so that the threads run only while the cores are free.

    Example:
        >>> threads_while_they_pay(lambda target: target, "serial")
        'serial'
        >>> threads_while_they_pay(lambda target: target, "parallel").kernels
        ['parallel', 'serial']
    """
    if target != "parallel":
        return build(target)
    return FastestKernel([build("parallel"), build("serial")])
