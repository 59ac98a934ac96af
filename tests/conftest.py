"""Test-session setup.

The CUDA kernels are tested under numba's CUDA simulator, so CI checks the GPU path without a
GPU. numba reads this variable once, at import, so it is set before anything imports numba. Set
NUMBA_ENABLE_CUDASIM=0 on a GPU machine to run the same tests on the real device.
"""

import os

os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
