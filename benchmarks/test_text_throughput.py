"""CPU throughput of the token-level text envs: generated tokens per second.

Each env step writes one token. The vector envs run in SAME_STEP autoreset mode, so every step of
every env is a real token (NEXT_STEP would spend one step in N on restarts, and 1-digit additions
end every 2-3 tokens). Contenders, at each batch size N, for ``rewardgym/TextAdd-v0`` (difficulty
1: episodes of 2-3 tokens, so resets, which draw a new item, are frequent) and
``rewardgym/TextChain-v0`` (difficulty 3: 16-token prompts, 6-token answers):

- ``api``: ``gym.make_vec(..., num_envs=N, autoreset_mode="same_step")``, random tokens (the
  engine picks its parallel kernel from 512 envs on);
- ``api+scale``: the same through the reward shell, ``reward="scale(factor=2)"``;
- ``api/serial``: ``api`` with the engine's single-threaded kernel swapped in (benchmark only): the
  public step's cost without numba's thread pool, which stalls when the cores are busy;
- ``bare``: the env's compiled step kernel alone on preallocated buffers (the ceiling);
- ``bare-serial``: the single-threaded kernel on the same buffers (what a loaded 2-core machine,
  where parallel threads get descheduled, may prefer).

Run it with ``python -m pytest benchmarks/test_text_throughput.py -q -p no:cacheprovider
--benchmark-only``; a table of tokens/s and the target (>= 1M tokens/s at 4096 envs, through the
public API) prints at the end, PASS/MISS, never asserted.
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
from rewardgym.envs.text import register_text_envs
from rewardgym.envs.text.vocab import VOCAB_SIZE

register_text_envs()

SIZES = [64, 1024, 4096]
ENVS = {"TextAdd": {}, "TextChain": {"difficulty": 3}}
CONTENDERS = ["api", "api+scale", "api/serial", "bare", "bare-serial"]
TARGET_ENVS, TARGET_TOKENS_PER_S = 4096, 1e6
ACTION_ROWS = 64
ROUND_SECONDS, ROUNDS = 0.2, 5
RATES: dict[tuple[str, int], dict[str, float]] = {}


def action_rows(num_envs: int) -> list[np.ndarray]:
    rng = np.random.default_rng([0, num_envs])
    return list(rng.integers(0, VOCAB_SIZE, size=(ACTION_ROWS, num_envs), dtype=np.int64))


def measure(benchmark, name: str, num_envs: int, contender: str, run_steps) -> None:
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
    RATES.setdefault((name, num_envs), {})[contender] = rate


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
    """Prints the table after pytest-benchmark's own (a test module cannot define hooks, but it
    can register a plugin object that does)."""

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not RATES:
            return
        write = terminalreporter.write_line
        terminalreporter.section("text envs: generated tokens/s (median round)", sep="=")
        load = f", 1-min load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
        write(f"{os.cpu_count()} CPU cores{load} (a load above the core count disturbs the numbers)")
        header = ["env", "num_envs", *CONTENDERS]
        rows = [
            [name, str(n), *(f"{RATES[(name, n)][c]:.3g}" if c in RATES[(name, n)] else "-" for c in CONTENDERS)]
            for name, n in sorted(RATES)
        ]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for cells in [header, *rows]:
            write("  ".join(c.rjust(w) for c, w in zip(cells, widths)))
        for name in ENVS:
            rate = RATES.get((name, TARGET_ENVS), {}).get("api")
            if rate is not None:
                verdict = "PASS" if rate >= TARGET_TOKENS_PER_S else "MISS"
                write(f"{verdict}  {name}: >= 1M tokens/s at {TARGET_ENVS} envs through the API: {rate:.3g}")


@pytest.fixture(scope="module", autouse=True)
def summary(request):
    plugin = _Summary()
    if not request.config.pluginmanager.is_registered(plugin):
        request.config.pluginmanager.register(plugin, "rewardgym-text-throughput")
    yield


def make(name: str, num_envs: int, reward: str | None = None):
    return gym.make_vec(
        f"rewardgym/{name}-v0", num_envs=num_envs, autoreset_mode="same_step", reward=reward, **ENVS[name]
    )


@pytest.mark.parametrize("contender", CONTENDERS)
@pytest.mark.parametrize("num_envs", SIZES)
@pytest.mark.parametrize("name", list(ENVS))
def test_token_env_step(benchmark, throughput, name, num_envs, contender):
    rows = action_rows(num_envs)
    envs = make(name, num_envs, "scale(factor=2)" if contender == "api+scale" else None)
    envs.reset(seed=0)
    # numba compiles on the first call, and FastestKernel its serial kernel when it first probes
    # it, after FIRST_WINDOW calls: a compile left to the calibration would make rounds one step.
    cycle(envs.step, rows)(FIRST_WINDOW + 2)
    if contender == "api/serial":
        unwrapped = envs.unwrapped
        unwrapped._step_kernel, unwrapped._reset_kernel = kernels(unwrapped.task, "serial", unwrapped.params)
        envs.step(rows[0])  # compile
    if contender.startswith("api"):
        measure(benchmark, name, num_envs, contender, cycle(envs.step, rows))
        return
    kernel, args = throughput.bare_kernel_args(envs, rows)
    if contender == "bare-serial":
        unwrapped = envs.unwrapped
        kernel = kernels(unwrapped.task, "serial", unwrapped.params)[0]
        kernel(*args[0])  # compile
    measure(benchmark, name, num_envs, contender, cycle(kernel, args, star=True))
