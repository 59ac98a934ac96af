"""The CUDA path against the CPU path, kernel for kernel.

tests/conftest.py turns on numba's CUDA simulator, so ``device="cuda"`` runs the real CUDA
kernels (one thread per env) in Python on torch CPU tensors. They must agree with the numba CPU
kernels exactly: both compile the same per-instance source and draw from the same streams.
"""

import gymnasium as gym
import numpy as np
import pytest
import torch
from rewardgym.envs import ENVS
from rewardgym.envs.batched.device import cuda_simulated

# The batched-engine envs: control tasks, gridworlds, the multimodal scenes and one token-level
# text task (completion envs hold strings and refuse device="cuda").
SCENE_IDS = ["rewardgym/GoToShape-v0", "rewardgym/ArrangeShapes-v0"]
ENGINE_IDS = sorted(i for i, e in ENVS.items() if e.modality in ("control", "gridworld")) + SCENE_IDS
ENGINE_IDS += ["rewardgym/TextAdd-v0"]

pytestmark = pytest.mark.skipif(not cuda_simulated(), reason="runs under numba's CUDA simulator")


def as_numpy(x):
    """A batch as numpy; a Dict observation (the scenes' image and instruction) as one array of
    its keys' rows side by side, so images are compared byte for byte with the tokens."""
    if isinstance(x, dict):
        return np.concatenate([as_numpy(v).reshape(len(as_numpy(v)), -1) for v in x.values()], axis=1)
    return x.numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
@pytest.mark.parametrize("env_id", ENGINE_IDS)
def test_cuda_kernels_match_cpu_kernels(env_id, mode):
    num_envs = 6
    cuda = gym.make_vec(env_id, num_envs=num_envs, device="cuda", autoreset_mode=mode, max_episode_steps=15)
    cpu = gym.make_vec(env_id, num_envs=num_envs, device="cpu", autoreset_mode=mode, max_episode_steps=15)
    cpu.action_space.seed(0)
    obs_gpu, _ = cuda.reset(seed=4)
    obs_cpu, _ = cpu.reset(seed=4)
    assert all(isinstance(v, torch.Tensor) for v in (obs_gpu.values() if isinstance(obs_gpu, dict) else [obs_gpu]))
    np.testing.assert_array_equal(as_numpy(obs_gpu), as_numpy(obs_cpu))
    ended = 0
    for _ in range(35):
        actions = cpu.action_space.sample()
        gpu_out = cuda.step(torch.as_tensor(actions))
        cpu_out = cpu.step(actions)
        for g, c in zip(gpu_out[:4], cpu_out[:4]):
            np.testing.assert_array_equal(as_numpy(g), as_numpy(c))
        np.testing.assert_array_equal(as_numpy(gpu_out[4]["gold_reward"]), cpu_out[4]["gold_reward"])
        if mode == "same_step":
            np.testing.assert_array_equal(as_numpy(gpu_out[4]["final_obs"]), as_numpy(cpu_out[4]["final_obs"]))
        ended += int(cpu_out[2].sum() + cpu_out[3].sum())
    assert ended > 0  # autoreset was exercised


def test_cuda_env_takes_and_returns_torch_tensors_and_applies_regimes():
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=4, device="cuda", reward="scale(factor=2)")
    envs.reset(seed=0)
    obs, reward, terminated, truncated, info = envs.step(torch.ones(4, dtype=torch.int64))
    assert all(isinstance(x, torch.Tensor) for x in (obs, reward, terminated, truncated, info["gold_reward"]))
    assert reward.tolist() == [2.0] * 4 and info["gold_reward"].tolist() == [1.0] * 4
    with pytest.raises(ValueError, match="outside Discrete"):
        envs.step(torch.full((4,), 3))
    with pytest.raises(TypeError, match="must be integers"):
        envs.step(torch.zeros(4))
