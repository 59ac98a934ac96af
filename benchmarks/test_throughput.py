"""CPU throughput of ``rewardgym/CartPole-v0`` as a vector env, against gymnasium's CartPole.

Contenders, each stepping the same pregenerated random actions (so that action sampling is not
measured) at each batch size N:

- ``rewardgym``: ``gym.make_vec("rewardgym/CartPole-v0", num_envs=N, device="cpu")``;
- ``rewardgym+scale``: the same through the reward shell, ``reward="scale(factor=2)"``;
- ``rewardgym+stack``: the same under ``shaped+noisy(sigma=0.5)+adversarial(budget=0.2)``;
- ``gymnasium-vector``: gymnasium's numpy CartPole vector env (``vector_entry_point``);
- ``gymnasium-sync``: gymnasium's ``SyncVectorEnv`` of N CartPole-v1 envs (skipped above
  ``SYNC_MAX_ENVS``: it takes seconds to build and a second per step there);
- ``bare-kernel``: rewardgym's compiled step kernel called directly on preallocated buffers,
  the ceiling that the public API can reach.

Run it with ``python -m pytest benchmarks/test_throughput.py -q -p no:cacheprovider --benchmark-only``;
the table of steps/s and ratios is printed at the end of the session.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the rewardgym/ envs)

SIZES = [1, 64, 1024, 4096, 16384]
SYNC_MAX_ENVS = 4096
ACTION_ROWS = 64
"""Distinct action batches per N, cycled through; enough that no contender sees a constant."""
SEED = 0

STACK = "shaped+noisy(sigma=0.5)+adversarial(budget=0.2)"
"""The three rule-based families stacked, as in the regimes issue's composition example."""

API_CONTENDERS = ["rewardgym", "rewardgym+scale", "rewardgym+stack", "gymnasium-vector", "gymnasium-sync"]


def _sizes() -> list:
    return [pytest.param(n, id=str(n), marks=pytest.mark.benchmark(group=f"cartpole-{n}")) for n in SIZES]


def action_rows(num_envs: int) -> list[np.ndarray]:
    """``ACTION_ROWS`` seeded batches of random CartPole actions, int64 as the kernels take them."""
    rng = np.random.default_rng([SEED, num_envs])
    return list(rng.integers(0, 2, size=(ACTION_ROWS, num_envs), dtype=np.int64))


def make_envs(contender: str, num_envs: int) -> gym.vector.VectorEnv:
    if contender == "rewardgym":
        return gym.make_vec("rewardgym/CartPole-v0", num_envs=num_envs, device="cpu")
    if contender == "rewardgym+scale":
        return gym.make_vec("rewardgym/CartPole-v0", num_envs=num_envs, device="cpu", reward="scale(factor=2)")
    if contender == "rewardgym+stack":
        return gym.make_vec("rewardgym/CartPole-v0", num_envs=num_envs, device="cpu", reward=STACK)
    if contender == "gymnasium-vector":
        return gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point")
    if contender == "gymnasium-sync":
        return gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="sync")
    raise ValueError(f"unknown contender {contender!r}")


@pytest.mark.parametrize("contender", API_CONTENDERS)
@pytest.mark.parametrize("num_envs", _sizes())
def test_vector_env_step(benchmark, throughput, num_envs, contender):
    """``envs.step(actions)`` through each library's public vector API."""
    if contender == "gymnasium-sync" and num_envs > SYNC_MAX_ENVS:
        throughput.skip(
            "cpu",
            num_envs,
            contender,
            f"SyncVectorEnv above {SYNC_MAX_ENVS} envs takes ~10 s to build and ~1 s a step "
            "on 2 cores; its rate only falls with N",
        )
    rows = action_rows(num_envs)
    envs = make_envs(contender, num_envs)
    try:
        envs.reset(seed=SEED)
        envs.step(rows[0])  # warm-up: numba compiles the kernels on their first call
        throughput.measure(
            benchmark,
            suite="cpu",
            contender=contender,
            num_envs=num_envs,
            run_steps=throughput.cycle_calls(envs.step, rows),
        )
    finally:
        envs.close()


@pytest.mark.parametrize("num_envs", _sizes())
def test_bare_kernel(benchmark, throughput, num_envs):
    """rewardgym's compiled CPU step kernel alone: no input checks, no allocation, no info."""
    rows = action_rows(num_envs)
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=num_envs, device="cpu")
    envs.reset(seed=SEED)
    kernel, args = throughput.bare_kernel_args(envs, rows)
    kernel(*args[0])  # warm-up (recording the arguments already stepped once, compiling)
    throughput.measure(
        benchmark,
        suite="cpu",
        contender="bare-kernel",
        num_envs=num_envs,
        run_steps=throughput.cycle_calls(kernel, args, star=True),
    )
