"""GPU throughput of ``rewardgym/CartPole-v0`` with ``device="cuda"``, at 64K, 1M and 4M envs.

Contenders, each stepping the same pregenerated random actions (a torch int64 tensor on the GPU,
so that neither sampling nor host-to-device copies are measured):

- ``rewardgym``: ``gym.make_vec("rewardgym/CartPole-v0", num_envs=N, device="cuda")``;
- ``rewardgym+scale``: the same through the reward shell, ``reward="scale(factor=2)"``;
- ``rewardgym+stack``: the same under ``shaped+noisy(sigma=0.5)+adversarial(budget=0.2)``, whose
  layers run inside the CUDA step kernel (the issue's target: it adds at most 20%);
- ``bare-kernel``: rewardgym's CUDA step kernel launched directly on preallocated buffers;
- ``gymnasium-vector``: gymnasium's numpy CartPole vector env on the CPU, for scale.

Every round ends with ``torch.cuda.synchronize()`` (and starts after one), so the time is the
GPU's, not the launch queue's. The module is skipped unless both torch and numba can use a CUDA
GPU. Run it with
``python -m pytest benchmarks/test_gpu_throughput.py -q -p no:cacheprovider --benchmark-only``;
``REWARDGYM_BENCH_GPU_SIZES=65536,1048576`` picks other batch sizes (a smaller GPU, say).
"""

from __future__ import annotations

import os

import gymnasium as gym
import pytest

torch = pytest.importorskip("torch")
numba_cuda = pytest.importorskip("numba.cuda")

pytestmark = pytest.mark.skipif(
    not (torch.cuda.is_available() and numba_cuda.is_available()),
    reason="needs a CUDA GPU that both torch and numba can use "
    f"(torch.cuda.is_available()={torch.cuda.is_available()}, "
    f"numba.cuda.is_available()={numba_cuda.is_available()})",
)

import rewardgym  # noqa: E402,F401  (registers the rewardgym/ envs)

SIZES = [int(n) for n in os.environ.get("REWARDGYM_BENCH_GPU_SIZES", f"{2**16},{2**20},{2**22}").split(",")]
ACTION_ROWS = 8
"""Distinct action batches per N, cycled through (8 x 4M int64 actions = 256 MiB of GPU memory)."""
SEED = 0

CONTENDERS = ["rewardgym", "rewardgym+scale", "rewardgym+stack", "gymnasium-vector"]
STACK = "shaped+noisy(sigma=0.5)+adversarial(budget=0.2)"


def _sizes() -> list:
    return [pytest.param(n, id=str(n), marks=pytest.mark.benchmark(group=f"cartpole-cuda-{n}")) for n in SIZES]


def _device() -> torch.device:
    from rewardgym.envs.batched.device import torch_device

    return torch_device("cuda")  # the CPU under numba's CUDA simulator, which has no GPU


def synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def action_rows(num_envs: int) -> list:
    """``ACTION_ROWS`` seeded batches of random actions, int64 on the env's device."""
    generator = torch.Generator(device=_device()).manual_seed(SEED + num_envs)
    actions = torch.randint(0, 2, (ACTION_ROWS, num_envs), generator=generator, dtype=torch.int64, device=_device())
    return list(actions.unbind(0))


def make_envs(contender: str, num_envs: int) -> gym.vector.VectorEnv:
    if contender == "rewardgym":
        return gym.make_vec("rewardgym/CartPole-v0", num_envs=num_envs, device="cuda")
    if contender == "rewardgym+scale":
        return gym.make_vec("rewardgym/CartPole-v0", num_envs=num_envs, device="cuda", reward="scale(factor=2)")
    if contender == "rewardgym+stack":
        return gym.make_vec("rewardgym/CartPole-v0", num_envs=num_envs, device="cuda", reward=STACK)
    if contender == "gymnasium-vector":
        return gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point")
    raise ValueError(f"unknown contender {contender!r}")


@pytest.mark.parametrize("contender", CONTENDERS)
@pytest.mark.parametrize("num_envs", _sizes())
def test_vector_env_step(benchmark, throughput, num_envs, contender):
    """``envs.step(actions)`` through the public vector API."""
    rows = action_rows(num_envs)
    if contender == "gymnasium-vector":  # a numpy env: give it the same actions on the host
        rows = [row.cpu().numpy() for row in rows]
    envs = make_envs(contender, num_envs)
    try:
        envs.reset(seed=SEED)
        envs.step(rows[0])  # warm-up: numba compiles the kernels on their first call
        synchronize()
        throughput.measure(
            benchmark,
            suite="gpu",
            contender=contender,
            num_envs=num_envs,
            run_steps=throughput.cycle_calls(envs.step, rows),
            sync=synchronize,
        )
    finally:
        envs.close()


@pytest.mark.parametrize("num_envs", _sizes())
def test_bare_kernel(benchmark, throughput, num_envs):
    """rewardgym's CUDA step kernel alone: no input checks, no allocation, no info."""
    rows = action_rows(num_envs)
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=num_envs, device="cuda")
    envs.reset(seed=SEED)
    kernel, args = throughput.bare_kernel_args(envs, rows)
    kernel(*args[0])  # warm-up (recording the arguments already stepped once, compiling)
    synchronize()
    throughput.measure(
        benchmark,
        suite="gpu",
        contender="bare-kernel",
        num_envs=num_envs,
        run_steps=throughput.cycle_calls(kernel, args, star=True),
        sync=synchronize,
    )
