"""numba's threading layer for the parallel kernels: TBB, where its library is installed.

numba picks the first threading layer it can load, TBB before OpenMP before its own workqueue.
TBB schedules by work stealing, so a thread that the OS deschedules (another process on its
core) loses its share of the batch to the others; OpenMP's static split and spinning barriers
wait for it, and on this project's 2-core machine, with one core busy, a 4,096-env CartPole
step took 189-273 us on TBB's two threads, about what one thread takes (169-245 us), and
512-720 us on OpenMP's (130-150 us on either when idle).

The ``tbb`` wheel (a dependency on Linux x86-64) installs ``libtbb.so.12`` into the environment's
``lib`` folder, which conda puts on the loader's path and a virtualenv does not, so numba cannot
find it there. :func:`load_tbb` loads it by path, once, before numba starts its threads; numba's
own choice then finds it. ``NUMBA_THREADING_LAYER`` still decides where it is set.

Example:
    >>> load_tbb() in (True, False)
    True
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

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
