"""CPU throughput of ``rewardgym/CodeDSL-v0``: program tokens written per second.

Each env step writes one token; at the end of an episode (``EOS`` or the budget) the kernel runs
the written program on every visible and hidden example (2 + 8 at the defaults) and a reset draws
a new target and its ten examples, running the target on each. With random tokens an episode
lasts about 5 steps, so most steps near an end pay for an interpretation. The vector envs run in
SAME_STEP autoreset mode (every step a real token). Contenders, at each batch size N:

- ``api``: ``gym.make_vec("rewardgym/CodeDSL-v0", num_envs=N, autoreset_mode="same_step")``,
  through the reward shell with no layer, random tokens (the engine's parallel kernel from 512
  envs on);
- ``api/serial``: the same with the single-threaded kernel swapped in (benchmark only);
- ``bare``: the compiled step kernel alone on preallocated buffers (the ceiling);
- ``sync``: the peer, gymnasium's ``SyncVectorEnv`` of N ``gym.make`` single envs (the same
  interpreter, compiled, stepped one env at a time from Python).

Run it with ``python -m pytest benchmarks/test_code_dsl.py -q -p no:cacheprovider
--benchmark-only``; a table of tokens/s, the speed-up over the peer and the target (>= 1M tokens/s
at 4096 envs through the API) prints at the end as PASS/MISS, never asserted.
"""

from __future__ import annotations

import math
import os
import statistics
import time

import gymnasium as gym
import numpy as np
import pytest
from rewardgym.envs.batched.fastest_kernel import FIRST_WINDOW
from rewardgym.envs.batched.kernels import kernels
from rewardgym.envs.code.dsl import NUM_PROGRAM_TOKENS, register_code_dsl_env

ENV_ID = register_code_dsl_env()
SIZES = [64, 1024, 4096]
CONTENDERS = ["api", "api/serial", "bare", "sync"]
TARGET_ENVS, TARGET_TOKENS_PER_S = 4096, 1e6
ACTION_ROWS = 64
ROUND_SECONDS, ROUNDS = 0.2, 5
RATES: dict[int, dict[str, float]] = {}


def action_rows(num_envs: int) -> list[np.ndarray]:
    rng = np.random.default_rng([1, num_envs])
    return list(rng.integers(0, NUM_PROGRAM_TOKENS, size=(ACTION_ROWS, num_envs), dtype=np.int64))


def measure(benchmark, num_envs: int, contender: str, run_steps) -> None:
    """Time rounds of ``K`` steps (``K`` calibrated to ~0.2 s); record the median tokens/s."""
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < ROUND_SECONDS / 4:
        run_steps(1)
        steps += 1
    per_round = max(1, math.ceil(ROUND_SECONDS / ((time.perf_counter() - start) / steps)))
    durations: list[float] = []

    def one_round() -> None:
        t0 = time.perf_counter()
        run_steps(per_round)
        durations.append(time.perf_counter() - t0)

    benchmark.pedantic(one_round, rounds=ROUNDS, warmup_rounds=1, iterations=1)
    rate = num_envs * per_round / statistics.median(durations[1:])
    benchmark.extra_info.update(num_envs=num_envs, tokens_per_s=rate, steps_per_round=per_round)
    RATES.setdefault(num_envs, {})[contender] = rate


def cycle(call, items, star: bool = False):
    position = [0]

    def run_steps(k: int) -> None:
        i = position[0]
        for _ in range(k):
            call(*items[i]) if star else call(items[i])
            i = (i + 1) % len(items)
        position[0] = i

    return run_steps


class _Summary:
    """Prints the table after pytest-benchmark's own."""

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not RATES:
            return
        write = terminalreporter.write_line
        terminalreporter.section("rewardgym/CodeDSL-v0: program tokens/s (median round)", sep="=")
        load = f", 1-min load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
        write(f"{os.cpu_count()} CPU cores{load} (a load above the core count disturbs the numbers)")
        header = ["num_envs", *CONTENDERS, "api/sync"]
        rows = []
        for n in sorted(RATES):
            at = RATES[n]
            ratio = f"{at['api'] / at['sync']:.0f}x" if "api" in at and "sync" in at else "-"
            rows.append([str(n), *(f"{at[c]:.3g}" if c in at else "-" for c in CONTENDERS), ratio])
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for cells in [header, *rows]:
            write("  ".join(c.rjust(w) for c, w in zip(cells, widths)))
        rate = RATES.get(TARGET_ENVS, {}).get("api")
        if rate is not None:
            verdict = "PASS" if rate >= TARGET_TOKENS_PER_S else "MISS"
            write(f"{verdict}  CodeDSL-v0: >= 1M tokens/s at {TARGET_ENVS} envs through the API: {rate:.3g}")


@pytest.fixture(scope="module", autouse=True)
def summary(request):
    plugin = _Summary()
    if not request.config.pluginmanager.is_registered(plugin):
        request.config.pluginmanager.register(plugin, "rewardgym-code-dsl-throughput")
    yield


@pytest.mark.parametrize("contender", CONTENDERS)
@pytest.mark.parametrize("num_envs", SIZES)
def test_code_dsl_step(benchmark, throughput, num_envs, contender):
    rows = action_rows(num_envs)
    if contender == "sync":
        envs = gym.vector.SyncVectorEnv(
            [lambda: gym.make(ENV_ID) for _ in range(num_envs)], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
        )
        envs.reset(seed=0)
        measure(benchmark, num_envs, contender, cycle(envs.step, rows))
        return
    envs = gym.make_vec(ENV_ID, num_envs=num_envs, autoreset_mode="same_step")
    envs.reset(seed=0)
    # numba compiles on the first call, and FastestKernel its serial kernel when it first probes
    # it, after FIRST_WINDOW calls: a compile left to the calibration would make rounds one step.
    cycle(envs.step, rows)(FIRST_WINDOW + 2)
    if contender == "api/serial":
        unwrapped = envs.unwrapped
        unwrapped._step_kernel, unwrapped._reset_kernel = kernels(unwrapped.task, "serial", unwrapped.params)
        envs.step(rows[0])  # compile
    if contender.startswith("api"):
        measure(benchmark, num_envs, contender, cycle(envs.step, rows))
        return
    kernel, args = throughput.bare_kernel_args(envs, rows)
    measure(benchmark, num_envs, contender, cycle(kernel, args, star=True))
