"""numba runs the package's parallel kernels on TBB where the tbb wheel is installed."""

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


def threading_layer(**environment: str) -> str:
    """The layer a fresh interpreter's parallel step kernel runs on, with ``environment`` set."""
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_THREADING_LAYER"}
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], env={**env, **environment}, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.skipif(
    not (sys.platform.startswith("linux") and platform.machine() == "x86_64"),
    reason="the tbb wheel is a dependency on Linux x86-64 only",
)
def test_parallel_kernels_run_on_tbb_and_numbas_setting_still_decides() -> None:
    assert threading_layer() == "tbb"
    assert threading_layer(NUMBA_THREADING_LAYER="workqueue") == "workqueue"
