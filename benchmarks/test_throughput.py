"""CPU throughput of ``rewardgym/CartPole-v0`` as a vector env, against gymnasium's, gymnax's and
envpool's CartPole.

Contenders, each stepping the same pregenerated random actions (so that action sampling is not
measured) at each batch size N:

- ``rewardgym``: ``gym.make_vec("rewardgym/CartPole-v0", num_envs=N, device="cpu")``, whose
  dynamics loop LLVM vectorises (the fast ``sin`` and ``cos`` of ``rewardgym.core.fast_math``);
- ``rewardgym-exact``: the same with ``exact_math=True``: libm's ``sin`` and ``cos``, bit for bit
  gymnasium's states (what the fast math gains);
- ``rewardgym+scale``: the same through the reward shell, ``reward="scale(factor=2)"``;
- ``rewardgym+stack``: the same under ``shaped+noisy(sigma=0.5)+adversarial(budget=0.2)``, whose
  three layers run inside the env's step kernel;
- ``rewardgym+stack-unfused``: the same with ``fuse=False``: the layers after the kernel, one
  compiled pass each (what fusing saves);
- ``rewardgym-1thread``: ``rewardgym`` with numba on one thread (``numba.set_num_threads(1)``
  while it is warmed up and timed, restored after);
- ``gymnasium-vector``: gymnasium's numpy CartPole vector env (``vector_entry_point``);
- ``gymnasium-stack``: the same under the stack's three layers written as gymnasium
  ``VectorWrapper`` s in numpy (:class:`PotentialShaping`, :class:`GaussianNoise`,
  :class:`RewardPoisoning`: the same rules and arithmetic as rewardgym's layers);
- ``gymnasium-sync``: gymnasium's ``SyncVectorEnv`` of N CartPole-v1 envs (skipped above
  ``SYNC_MAX_ENVS``: it takes seconds to build and a second per step there);
- ``gymnax-step``: gymnax's CartPole-v1 on JAX's CPU backend, ``jit(vmap(env.step))`` called
  once per step from Python, waiting for each step's observations (what a Python training loop
  that reads them gets);
- ``gymnax-scan64``: the same stepped 64 times per call by a jitted ``lax.scan`` over the 64
  action batches, collecting observations, rewards and flags as a rollout does; counted as 64
  env steps per env per call;
- ``envpool``: envpool's C++ CartPole-v1 (``env_type="gymnasium"``, its default thread count);
- ``bare-kernel``: rewardgym's compiled step kernel called directly on preallocated buffers,
  the ceiling that the public API can reach.

Each runs twice: ``idle`` (nothing else started) and ``busy`` (one core kept busy, while it is
timed, by a spinning process the benchmark starts and always kills: on a 2-core machine, numba's
2-thread kernels then wait for a descheduled thread). gymnax and envpool skip, with the reason
in the table, where they do not import (benchmarks/README.md, "Peers", says how to install them;
JAX is forced onto the CPU here with ``JAX_PLATFORMS=cpu`` unless that is set already).

Run it with ``python -m pytest benchmarks/test_throughput.py -q -p no:cacheprovider --benchmark-only``
(about 3 minutes on 2 cores; ``-k 4096`` for the batch size the targets are checked at;
``REWARDGYM_BENCH_CPU_SIZES=1,64,16384`` for other batch sizes). The table of steps/s, ratios and
targets is printed at the end of the session.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import gymnasium as gym
import numba
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the rewardgym/ envs)
from rewardgym.envs.batched.fastest_kernel import FIRST_WINDOW

# Before jax is imported (only by the gymnax contenders, below): gymnax is measured on JAX's CPU
# backend, on the same cores as the rest, even where a GPU is there.
os.environ.setdefault("JAX_PLATFORMS", "cpu")

SIZES = [int(n) for n in os.environ.get("REWARDGYM_BENCH_CPU_SIZES", "1024,4096,65536").split(",")]
"""The batch sizes; ``REWARDGYM_BENCH_CPU_SIZES=1,64,16384`` picks others (the targets are at 4096)."""
LOADS = ["idle", "busy"]
"""conftest's IDLE and BUSY (a test module cannot import its conftest under importlib)."""
SYNC_MAX_ENVS = 4096
ACTION_ROWS = 64
"""Distinct action batches per N, cycled through; enough that no contender sees a constant. The
gymnax scan steps through all of them in one call."""
SEED = 0

STACK = "shaped+noisy(sigma=0.5)+adversarial(budget=0.2)"
"""The three rule-based families stacked, as in the regimes issue's composition example."""
GAMMA, SIGMA, BUDGET, DELTA_MAX = 0.99, 0.5, 0.2, 1.0
"""The stack's parameters as rewardgym reads them: ``shaped`` is potential-based with gamma 0.99
by default, ``adversarial`` is untargeted (flip the reward's sign) with ``delta_max`` 1."""

API_CONTENDERS = [
    "rewardgym",
    "rewardgym-exact",
    "rewardgym+scale",
    "rewardgym+stack",
    "rewardgym+stack-unfused",
    "rewardgym-1thread",
    "gymnasium-vector",
    "gymnasium-stack",
    "gymnasium-sync",
]


def _sizes() -> list:
    return [pytest.param(n, id=str(n)) for n in SIZES]


def action_rows(num_envs: int) -> list[np.ndarray]:
    """``ACTION_ROWS`` seeded batches of random CartPole actions, int64 as the kernels take them."""
    rng = np.random.default_rng([SEED, num_envs])
    return list(rng.integers(0, 2, size=(ACTION_ROWS, num_envs), dtype=np.int64))


@pytest.fixture(params=LOADS)
def load(request: Any, benchmark: Any) -> str:
    """The load a benchmark is timed under; also its pytest-benchmark group."""
    num_envs = request.node.callspec.params["num_envs"]
    benchmark.group = f"cartpole-{num_envs}-{request.param}"
    return request.param


@contextmanager
def numba_threads(count: int) -> Iterator[None]:
    """numba's parallel kernels on ``count`` threads for the block, the previous count after."""
    previous = numba.get_num_threads()
    numba.set_num_threads(count)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def measure(benchmark: Any, throughput: Any, load: str, contender: str, num_envs: int, **kwargs: Any) -> None:
    """conftest's ``measure`` under ``load``: for ``busy``, the spinner runs only while the
    contender is calibrated and timed, so building and warming up stay as fast as when idle."""
    with throughput.busy_core(load):
        throughput.measure(benchmark, suite="cpu", contender=contender, num_envs=num_envs, load=load, **kwargs)


def warm_up_steps(contender: str) -> int:
    """Untimed steps before calibration: two passes over the action rows, since numba compiles
    each kernel on its first call and rewardgym's ``FastestKernel`` first calls (so compiles) its
    serial loop when its first probe starts, after ``FIRST_WINDOW`` (64) timed steps; one step for
    ``SyncVectorEnv``, which compiles nothing and takes ~40 ms a step at 4096 envs.

    A compile left to the calibration (~2 s for CartPole's serial kernel) makes each measured
    round one step long: until this was cycled rather than sliced out of the 64 action rows, the
    first contender of each kernel was timed that way, ``rewardgym`` idle at 0.2-0.6 of the bare
    kernel where its steps ran at 0.5."""
    return 1 if contender == "gymnasium-sync" else max(2 * ACTION_ROWS, FIRST_WINDOW + 2)


# -- the stack's layers as gymnasium vector wrappers (numpy) --------------------------------------


class RewardLayer(gym.vector.VectorWrapper):
    """A reward layer over a numpy vector env in NEXT_STEP autoreset mode, applied the way
    rewardgym's pipeline applies each of its layers: the layer's reward on real transitions, the
    reward passed through on autoreset steps, which carry none (``valid`` is False there)."""

    def __init__(self, env: gym.vector.VectorEnv) -> None:
        super().__init__(env)
        self.valid = np.ones(self.num_envs, dtype=bool)

    def reset(self, *, seed: Any = None, options: dict | None = None) -> tuple[Any, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        self.valid = np.ones(self.num_envs, dtype=bool)
        self.reset_layer(obs, seed)
        return obs, info

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict]:
        obs, reward, terminated, truncated, info = self.env.step(actions)
        layered = self.layer(obs, reward, terminated, info)
        reward = np.where(self.valid, layered, reward)
        self.valid = ~(terminated | truncated)  # the next step autoresets these envs
        return obs, reward, terminated, truncated, info

    def reset_layer(self, obs: np.ndarray, seed: Any) -> None:
        pass

    def layer(self, obs: np.ndarray, reward: np.ndarray, terminated: np.ndarray, info: dict) -> np.ndarray:
        raise NotImplementedError


class PotentialShaping(RewardLayer):
    """``r + gamma * Phi(s') - Phi(s)``, ``Phi(s') = 0`` where the step terminated, with rewardgym's
    CartPole potential ``Phi = 1 - (|theta| / theta_threshold + |x| / x_threshold) / 2`` (written,
    as there, with the halved reciprocals as constants). ``Phi(s)`` is the previous step's
    ``Phi(s')`` before the terminal zeroing, so each step evaluates the potential once."""

    def __init__(self, env: gym.vector.VectorEnv, gamma: float = GAMMA) -> None:
        super().__init__(env)
        cartpole: Any = env.unwrapped  # gymnasium's CartPoleVectorEnv
        self.gamma = gamma
        self.theta_scale = 0.5 / cartpole.theta_threshold_radians
        self.x_scale = 0.5 / cartpole.x_threshold
        self.phi = np.zeros(self.num_envs, dtype=np.float32)

    def potential(self, obs: np.ndarray) -> np.ndarray:
        return 1.0 - (np.abs(obs[:, 2]) * self.theta_scale + np.abs(obs[:, 0]) * self.x_scale)

    def reset_layer(self, obs: np.ndarray, seed: Any) -> None:
        self.phi = self.potential(obs)

    def layer(self, obs: np.ndarray, reward: np.ndarray, terminated: np.ndarray, info: dict) -> np.ndarray:
        phi_next = self.potential(obs)
        shaping = self.gamma * np.where(terminated, 0.0, phi_next) - self.phi
        self.phi = phi_next
        info["shaping"] = shaping
        return reward + shaping


class GaussianNoise(RewardLayer):
    """``r + sigma * N(0, 1)`` per env and step, from numpy's ``Generator`` (float32 ziggurat),
    reseeded by a seeded reset."""

    def __init__(self, env: gym.vector.VectorEnv, sigma: float = SIGMA) -> None:
        super().__init__(env)
        self.sigma = sigma
        self.rng = np.random.default_rng()

    def reset_layer(self, obs: np.ndarray, seed: Any) -> None:
        if seed is not None:
            self.rng = np.random.default_rng(seed)

    def layer(self, obs: np.ndarray, reward: np.ndarray, terminated: np.ndarray, info: dict) -> np.ndarray:
        return reward + self.sigma * self.rng.standard_normal(self.num_envs, dtype=np.float32)

    # rewardgym draws from counter-based per-env streams in one compiled pass; a numpy user's
    # natural equivalent is one vectorised Generator call, which is what this times.


class RewardPoisoning(RewardLayer):
    """Untargeted reward poisoning as rewardgym's ``adversarial(budget=...)`` does it: aim for
    ``clip(-2 r, -delta_max, delta_max)`` (flip the reward's sign), clamp to the budget each env
    has left for the run (``sum |delta| <= budget``; a seeded reset refills it), skip autoreset
    steps, and keep the books it reports (spent, remaining, delta, attacked). The arithmetic of
    ``RewardPoisoning.reward``'s numpy path, float64 books like its."""

    def __init__(self, env: gym.vector.VectorEnv, budget: float = BUDGET, delta_max: float = DELTA_MAX) -> None:
        super().__init__(env)
        self.budget = budget
        self.delta_max = delta_max
        self.spent = np.zeros(self.num_envs)

    def reset_layer(self, obs: np.ndarray, seed: Any) -> None:
        if seed is not None:
            self.spent = np.zeros(self.num_envs)

    def layer(self, obs: np.ndarray, reward: np.ndarray, terminated: np.ndarray, info: dict) -> np.ndarray:
        aimed = np.clip(-2.0 * reward.astype(np.float64), -self.delta_max, self.delta_max)
        size = np.minimum(np.abs(aimed), np.maximum(self.budget - self.spent, 0.0)) * self.valid
        delta = np.sign(aimed) * size
        self.spent = np.minimum(self.spent + size, self.budget)
        info["adversarial"] = {
            "spent": self.spent,
            "remaining": np.maximum(self.budget - self.spent, 0.0),
            "delta": delta,
            "attacked": delta != 0,
        }
        return reward + delta.astype(reward.dtype)


def gymnasium_stack(num_envs: int) -> gym.vector.VectorEnv:
    """gymnasium's numpy CartPole under shaping, then noise, then poisoning: ``STACK``'s order."""
    envs = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point")
    return RewardPoisoning(GaussianNoise(PotentialShaping(envs)))


def make_envs(contender: str, num_envs: int) -> gym.vector.VectorEnv:
    if contender in ("rewardgym", "rewardgym-1thread"):
        return gym.make_vec("rewardgym/CartPole-v0", num_envs=num_envs, device="cpu")
    if contender == "rewardgym-exact":
        return gym.make_vec("rewardgym/CartPole-v0", num_envs=num_envs, device="cpu", exact_math=True)
    if contender == "rewardgym+scale":
        return gym.make_vec("rewardgym/CartPole-v0", num_envs=num_envs, device="cpu", reward="scale(factor=2)")
    if contender in ("rewardgym+stack", "rewardgym+stack-unfused"):
        fuse = contender == "rewardgym+stack"
        return gym.make_vec("rewardgym/CartPole-v0", num_envs=num_envs, device="cpu", reward=STACK, fuse=fuse)
    if contender == "gymnasium-vector":
        return gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point")
    if contender == "gymnasium-stack":
        return gymnasium_stack(num_envs)
    if contender == "gymnasium-sync":
        return gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="sync")
    raise ValueError(f"unknown contender {contender!r}")


@pytest.mark.parametrize("contender", API_CONTENDERS)
@pytest.mark.parametrize("num_envs", _sizes())
def test_vector_env_step(benchmark, throughput, num_envs, load, contender):
    """``envs.step(actions)`` through each library's public vector API."""
    if contender == "gymnasium-sync" and num_envs > SYNC_MAX_ENVS:
        throughput.skip(
            "cpu",
            num_envs,
            contender,
            f"SyncVectorEnv above {SYNC_MAX_ENVS} envs takes ~10 s to build and ~1 s a step "
            "on 2 cores; its rate only falls with N",
            load=load,
        )
    rows = action_rows(num_envs)
    envs = make_envs(contender, num_envs)
    threads = numba_threads(1) if contender == "rewardgym-1thread" else nullcontext()
    try:
        with threads:
            envs.reset(seed=SEED)
            run_steps = throughput.cycle_calls(envs.step, rows)
            run_steps(warm_up_steps(contender))
            measure(benchmark, throughput, load, contender, num_envs, run_steps=run_steps)
    finally:
        envs.close()


@pytest.mark.parametrize("num_envs", _sizes())
def test_bare_kernel(benchmark, throughput, num_envs, load):
    """rewardgym's compiled CPU step kernel alone: no input checks, no allocation, no info."""
    rows = action_rows(num_envs)
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=num_envs, device="cpu")
    envs.reset(seed=SEED)
    kernel, args = throughput.bare_kernel_args(envs, rows)
    for arg_set in args:  # warm-up, as warm_up_steps says (recording the arguments compiled it)
        kernel(*arg_set)
    measure(
        benchmark, throughput, load, "bare-kernel", num_envs, run_steps=throughput.cycle_calls(kernel, args, star=True)
    )


# -- gymnax (JAX on the CPU) and envpool ------------------------------------------------------------


def _import_or_skip(throughput: Any, contender: str, num_envs: int, load: str, module: str) -> Any:
    """``import module``, or skip the contender with the import error as the reason."""
    import importlib

    try:
        return importlib.import_module(module)
    except Exception as error:  # noqa: BLE001 (a broken install raises more than ImportError)
        throughput.skip(
            "cpu", num_envs, contender, f"import {module} failed: {type(error).__name__}: {error}", load=load
        )


def gymnax_steppers(num_envs: int, rows: list[np.ndarray]) -> tuple[Callable[[Any], None], Callable[[Any], None], Any]:
    """``(step, rollout, actions)`` over N gymnax CartPole-v1 envs, reset with ``SEED``:
    ``step(a)`` steps them once with the ``(N,)`` action batch ``a`` and waits for the
    observations; ``rollout(block)`` steps them through the ``(64, N)`` ``block`` in one jitted
    ``lax.scan`` and waits for everything it collected. ``actions`` holds ``rows`` on JAX's
    device, one per step and all 64 as one block. Both are compiled here (not timed)."""
    import gymnax
    import jax

    env, params = gymnax.make("CartPole-v1")
    reset = jax.vmap(env.reset, in_axes=(0, None))
    vstep = jax.vmap(env.step, in_axes=(0, 0, 0, None))  # gymnax autoresets inside step
    key, sub = jax.random.split(jax.random.key(SEED))
    _, state = reset(jax.random.split(sub, num_envs), params)

    def one_step(key: Any, state: Any, actions: Any) -> tuple:
        key, sub = jax.random.split(key)
        obs, state, reward, terminated, truncated, _ = vstep(jax.random.split(sub, num_envs), state, actions, params)
        return key, state, (obs, reward, terminated, truncated)

    @jax.jit
    def jit_step(key: Any, state: Any, actions: Any) -> tuple:
        return one_step(key, state, actions)

    @jax.jit
    def jit_rollout(key: Any, state: Any, block: Any) -> tuple:
        def body(carry: tuple[Any, Any], actions: Any) -> tuple[tuple[Any, Any], tuple]:
            key, state, out = one_step(carry[0], carry[1], actions)
            return (key, state), out

        (key, state), outs = jax.lax.scan(body, (key, state), block)
        return key, state, outs

    carry = [key, state]  # the envs' key and state, advanced by whichever stepper runs

    def step(actions: Any) -> None:
        carry[0], carry[1], out = jit_step(carry[0], carry[1], actions)
        out[0].block_until_ready()

    def rollout(block: Any) -> None:
        carry[0], carry[1], out = jit_rollout(carry[0], carry[1], block)
        jax.block_until_ready(out)

    block = jax.device_put(np.stack(rows).astype(np.int32))
    actions = [block[i] for i in range(len(rows))]
    for action in actions:  # warm-up: compiles, and puts each row on the device once
        action.block_until_ready()
    step(actions[0])
    rollout(block)
    return step, rollout, (actions, block)


@pytest.mark.parametrize("mode", ["step", "scan64"])
@pytest.mark.parametrize("num_envs", _sizes())
def test_gymnax(benchmark, throughput, num_envs, load, mode):
    """gymnax CartPole-v1, ``jit(vmap(step))`` per step, or 64 steps a call in a jitted scan."""
    contender = f"gymnax-{mode}"
    for module in ("jax", "gymnax"):
        _import_or_skip(throughput, contender, num_envs, load, module)
    step, rollout, (actions, block) = gymnax_steppers(num_envs, action_rows(num_envs))
    if mode == "step":
        measure(benchmark, throughput, load, contender, num_envs, run_steps=throughput.cycle_calls(step, actions))
    else:
        run_steps = throughput.cycle_calls(rollout, [block])
        measure(benchmark, throughput, load, contender, num_envs, run_steps=run_steps, steps_per_call=ACTION_ROWS)


@pytest.mark.parametrize("num_envs", _sizes())
def test_envpool(benchmark, throughput, num_envs, load):
    """envpool's CartPole-v1 (C++, its own thread pool), synchronous: every env steps each call."""
    envpool = _import_or_skip(throughput, "envpool", num_envs, load, "envpool")
    envs = envpool.make("CartPole-v1", env_type="gymnasium", num_envs=num_envs, seed=SEED)
    try:
        # The same actions in its action dtype (int32), converted here rather than per step.
        rows = [row.astype(envs.action_space.dtype) for row in action_rows(num_envs)]
        envs.reset()
        envs.step(rows[0])
        measure(benchmark, throughput, load, "envpool", num_envs, run_steps=throughput.cycle_calls(envs.step, rows))
    finally:
        envs.close()
