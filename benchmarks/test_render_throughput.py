"""The cost of ``render_mode="rgb_array"`` for ``rewardgym/CartPole-v0`` at 1,024 envs.

One batch is one ``render()`` call: a 400 x 600 x 3 uint8 frame per env (720,000 bytes, gymnasium's
CartPole frame), all painted by one numba kernel call (``envs/batched/kernels.render_kernel``).
Contenders, each on envs reset with ``seed=0`` and rendered once before timing (numba compiles
then):

- ``rewardgym``: ``envs.render()`` of ``gym.make_vec("rewardgym/CartPole-v0", num_envs=N,
  render_mode="rgb_array")``, the public API: a fresh ``(N, 400, 600, 3)`` array every call
  (its page faults included), returned as a tuple of frames as gymnasium's vector envs do;
- ``bare-kernel``: the compiled render kernel alone, painting into one preallocated array: the
  ceiling of the public API;
- ``gymnasium-sync``: ``render()`` of gymnasium's ``SyncVectorEnv`` of N ``CartPole-v1`` with
  ``render_mode="rgb_array"`` (pygame, one env after another), for scale.

Reported per contender (``benchmark.extra_info`` and a table at the end of the module): seconds per
batch (median round), frames per second and the bytes of frames written per second. Run it with
``python -m pytest benchmarks/test_render_throughput.py -q -p no:cacheprovider --benchmark-only -s``.
"""

from __future__ import annotations

import statistics
import time

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the rewardgym/ envs)
from rewardgym.envs.batched.kernels import render_kernel

NUM_ENVS = 1024
ROUNDS = 5
SEED = 0
CONTENDERS = ["rewardgym", "bare-kernel", "gymnasium-sync"]

RESULTS: dict[str, dict[str, float]] = {}
"""Per contender: seconds per batch, frames/s and bytes/s, for the table printed at the end."""


def render_call(contender: str, num_envs: int):
    """``(render, close)``: one batch's rendering for a contender, warmed up."""
    if contender == "bare-kernel":
        envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=num_envs, render_mode="rgb_array")
        envs.reset(seed=SEED)
        batch = envs.unwrapped
        frames = np.empty((num_envs, *batch.task.frame_shape, 3), np.uint8)
        kernel = render_kernel(batch.task, batch._target, batch.params)

        def render() -> None:
            kernel(batch.state, frames)

    else:
        env_id = "rewardgym/CartPole-v0" if contender == "rewardgym" else "CartPole-v1"
        options = {} if contender == "rewardgym" else {"vectorization_mode": "sync"}
        envs = gym.make_vec(env_id, num_envs=num_envs, render_mode="rgb_array", **options)
        envs.reset(seed=SEED)
        render = envs.render
    render()  # warm-up: numba compiles the kernel, pygame opens its surfaces
    return render, envs.close


@pytest.mark.benchmark(group=f"render-cartpole-{NUM_ENVS}")
@pytest.mark.parametrize("contender", CONTENDERS)
def test_render_batch(benchmark, contender):
    """One ``render()`` of every env: seconds per batch, frames/s and bytes/s."""
    render, close = render_call(contender, NUM_ENVS)
    durations: list[float] = []

    def one_round() -> None:
        start = time.perf_counter()
        render()
        durations.append(time.perf_counter() - start)

    try:
        benchmark.pedantic(one_round, rounds=ROUNDS, warmup_rounds=1, iterations=1)
    finally:
        close()
    seconds = statistics.median(durations[1:])
    frame_bytes = 400 * 600 * 3
    result = {
        "seconds_per_batch": seconds,
        "frames_per_s": NUM_ENVS / seconds,
        "bytes_per_s": NUM_ENVS * frame_bytes / seconds,
    }
    benchmark.extra_info.update(num_envs=NUM_ENVS, **result)
    RESULTS[contender] = result


@pytest.fixture(scope="module", autouse=True)
def summary(request):
    """Print the table once every contender has run (``-s`` shows it)."""
    yield
    if not RESULTS:
        return
    print(f"\nrgb_array rendering of CartPole, {NUM_ENVS} envs, 400x600x3 uint8 frames")
    print(f"{'contender':<16}{'s/batch':>10}{'frames/s':>12}{'GB/s written':>14}")
    for name in CONTENDERS:
        if name in RESULTS:
            r = RESULTS[name]
            print(f"{name:<16}{r['seconds_per_batch']:>10.4f}{r['frames_per_s']:>12.3g}{r['bytes_per_s'] / 1e9:>14.2f}")
