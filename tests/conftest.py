"""Test-session setup.

The CUDA kernels are tested under numba's CUDA simulator, so CI checks the GPU path without a
GPU. numba reads this variable once, at import, so it is set before anything imports numba. Set
NUMBA_ENABLE_CUDASIM=0 on a GPU machine to run the same tests on the real device.
"""

import os

import pytest

os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Torch on one thread for the whole session, restored afterwards.

    The models under test are tiny (reward models, PPO and SB3 policies), and on a small shared
    CPU two contending threads made them 5-20x slower than one. One thread also keeps every
    test's floating-point reductions in one order.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
