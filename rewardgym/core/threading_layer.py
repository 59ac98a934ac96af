"""numba's threading layer for the parallel kernels: TBB where its library is installed, and no
threads in a child forked after GNU OpenMP's ran.

numba picks the first threading layer it can load, TBB before OpenMP before its own workqueue.
TBB schedules by work stealing, so a thread that the OS deschedules (another process on its
core) loses its share of the batch to the others; OpenMP's static split and spinning barriers
wait for it, and on this project's 2-core machine, with one core busy, a 4,096-env CartPole
step took 189-273 us on TBB's two threads, about what one thread takes (169-245 us), and
512-720 us on OpenMP's (130-150 us on either when idle). The vector envs'
:class:`~rewardgym.envs.batched.fastest_kernel.FastestKernel` now falls back to one thread while
that is faster, and idle, in interleaved fresh processes, OpenMP's threaded kernel was a little
faster (4,096 envs: 15.8-23.5 us, median 18.9, against TBB's 18.5-35.4, median 19.8; 26-28
serial; benchmarks/README.md, "The threading layer"): not enough to change numba's default, which
``NUMBA_THREADING_LAYER=omp`` does for a process.

The ``tbb`` wheel (a dependency on Linux x86-64) installs ``libtbb.so.12`` into the environment's
``lib`` folder, which conda puts on the loader's path and a virtualenv does not, so numba cannot
find it there. :func:`load_tbb` loads it by path, once, before numba starts its threads; numba's
own choice then finds it. ``NUMBA_THREADING_LAYER`` still decides where it is set.

GNU OpenMP cannot run in a child forked after its threads ran (numba stops such a child with
SIGTERM). :func:`threads_usable` is False there, and rewardgym's kernels run serially (the same
results bit for bit); other code's parallel kernels in such a child are its own to guard.

Example:
    >>> load_tbb() in (True, False), threads_usable()
    (True, True)
"""

from __future__ import annotations

import ctypes
import importlib
import os
import sys
from pathlib import Path

import numba

TBB_LIBRARY = "libtbb.so.12"
"""The TBB runtime numba's TBB layer links against (oneTBB 2021 and later), on Linux."""


def load_tbb() -> bool:
    """Make the TBB runtime of this environment loadable by numba; whether it now is.

    Loads ``<sys.prefix>/lib/libtbb.so.12`` into the process (``RTLD_GLOBAL``) where it exists
    and is not loaded yet. Does nothing on other platforms, without the ``tbb`` wheel, or once
    numba's threads have started (its layer is chosen then).

    Example:
        >>> load_tbb() == load_tbb()  # idempotent
        True
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        ctypes.CDLL(TBB_LIBRARY, mode=os.RTLD_NOLOAD | os.RTLD_GLOBAL)  # already loaded
        return True
    except OSError:
        pass
    from numba.np.ufunc import parallel

    if parallel._is_initialized:  # the threading layer is chosen: loading TBB now changes nothing
        return False
    for directory in dict.fromkeys((Path(sys.prefix) / "lib", Path(sys.base_prefix) / "lib")):
        library = directory / TBB_LIBRARY
        if library.is_file():
            try:
                ctypes.CDLL(str(library), mode=ctypes.RTLD_GLOBAL)
            except OSError:  # a broken or foreign build: numba falls back to OpenMP
                return False
            return True
    return False


_forked_after_openmp = False  # set in a child forked after this process's OpenMP threads ran


def threads_usable() -> bool:
    """Whether this process may start numba's threads: False only in a child forked after its
    parent's OpenMP threads ran (GNU OpenMP would stop it), where kernels must run serially.

    Example:
        >>> threads_usable()
        True
    """
    return not _forked_after_openmp


def _after_fork_in_child() -> None:
    global _forked_after_openmp
    from numba.np.ufunc import parallel

    if parallel._is_initialized and numba.threading_layer() == "omp":
        # Intel's OpenMP runtime survives a fork; GNU's, which numba's Linux wheels use, does not.
        vendor = getattr(importlib.import_module("numba.np.ufunc.omppool"), "openmp_vendor", "GNU")
        _forked_after_openmp = vendor == "GNU"


os.register_at_fork(after_in_child=_after_fork_in_child)
