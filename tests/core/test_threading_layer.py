"""numba runs the package's parallel kernels on TBB where the tbb wheel is installed (another layer
where NUMBA_THREADING_LAYER says so), and a child forked after OpenMP's threads ran still steps."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

PROGRAM = """
import gymnasium as gym, numba, numpy as np, rewardgym
envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=1024)
envs.reset(seed=0)
envs.unwrapped._step_kernel.kernels[0](*envs.unwrapped._buffers, np.zeros(1024, np.int64), 500, 0,
    np.empty((1024, 4), np.float32), np.empty((1, 4), np.float32), np.empty(1024, np.float32),
    np.empty(1024, np.float32), np.empty(1024, bool), np.empty(1024, bool))
print(numba.threading_layer())
"""

# Steps a 1,024-env vector env on its threaded kernel (and draws 2**15 normals on threads), forks,
# and resets, steps, draws and renders in both processes: the child must live and match the parent.
FORK = """
import hashlib, os, sys
import gymnasium as gym, numba, numpy as np, rewardgym
from rewardgym.core.batch_random import BatchRandom
envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=1024, render_mode="rgb_array")
envs.reset(seed=0)
actions = np.random.default_rng(0).integers(0, 2, (64, 1024))
for step in range(3 * 64):
    envs.step(actions[step % 64])
kernel = envs.unwrapped._step_kernel
assert kernel.seconds[0] is not None, "the threaded kernel has run its first window"
rng = BatchRandom(seed=1)
rng.add_normal(np.zeros(1 << 15), 1.0)
from rewardgym.envs.multiagent import GAMES, MultiAgentVectorEnv
games = MultiAgentVectorEnv(GAMES["rewardgym/PublicGoods-v0"], 256)  # >= 512 agent rows: threaded
games.reset(seed=0)
ones = np.ones(games.num_envs, np.int64)
for step in range(3 * 64):
    games.step(ones)
assert games._step_kernel.seconds[0] is not None

def digest():
    h = hashlib.sha256()
    envs.reset(seed=1)
    for step in range(100):
        h.update(envs.step(actions[step % 64])[0].tobytes())
    h.update(rng.add_normal(np.zeros(1 << 15), 1.0).tobytes())
    h.update(envs.render()[-1].tobytes())
    h.update(games.reset(seed=1)[0].tobytes())
    for step in range(10):
        h.update(games.step(ones)[0].tobytes())
    return h.hexdigest()

reading, writing = os.pipe()
child = os.fork()
if child == 0:
    os.close(reading)
    os.write(writing, digest().encode())
    os._exit(0)
os.close(writing)
mine = digest()
_, status = os.waitpid(child, 0)
theirs = os.read(reading, 64).decode()
print(numba.threading_layer(), status, theirs == mine)
"""


def run(program: str, **environment: str) -> str:
    """The last line a fresh interpreter prints running ``program``, with ``environment`` set."""
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_THREADING_LAYER"}
    result = subprocess.run(
        [sys.executable, "-c", program], env={**env, **environment}, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def openmp_loads() -> bool:
    """Whether numba's OpenMP layer loads here, asked of a fresh interpreter (this one stays clean)."""
    probe = "from numba.np.ufunc import omppool; print('loads')"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    return result.stdout.strip() == "loads"


linux_x86 = pytest.mark.skipif(
    not (sys.platform.startswith("linux") and platform.machine() == "x86_64"),
    reason="the tbb wheel is a dependency on Linux x86-64 only",
)


@linux_x86
def test_parallel_kernels_run_on_tbb_and_numbas_setting_still_decides() -> None:
    assert run(PROGRAM) == "tbb"
    assert run(PROGRAM, NUMBA_THREADING_LAYER="workqueue") == "workqueue"
    if openmp_loads():
        assert run(PROGRAM, NUMBA_THREADING_LAYER="omp") == "omp"


@linux_x86
@pytest.mark.parametrize("layer", ["omp", "tbb"])
def test_a_child_forked_after_the_threads_ran_steps_on_and_matches_its_parent(layer: str) -> None:
    """GNU OpenMP stops a forked child that starts its threads: rewardgym's kernels run serially
    there (the same results), TBB's children keep their threads."""
    if layer == "omp" and not openmp_loads():
        pytest.skip("no OpenMP runtime here")
    assert run(FORK, NUMBA_THREADING_LAYER=layer) == f"{layer} 0 True"
