"""CPU throughput of HalfCheetah: env steps per second of rewardgym's MuJoCo vector env and its peers.

One env step is one control step of ``HalfCheetah-v5`` (``frame_skip=5`` MuJoCo steps). Contenders,
each stepping the same pregenerated seeded random actions (64 batches per N, uniform over the
action bounds, cycled through) in NEXT_STEP autoreset mode at N = 16, 64 and 256 envs:

- ``rewardgym``: rewardgym's ``MujocoVectorEnv(HALF_CHEETAH, N)`` with its default ``nthread``
  (the CPU count): N ``MjData`` stepped by a thread pool over ``mj_step``;
- ``rewardgym-1t``: the same with ``nthread=1`` (every env stepped on the calling thread);
- ``gym-sync``: gymnasium's ``SyncVectorEnv`` of N ``gym.make("HalfCheetah-v5")``;
- ``gym-async``: gymnasium's ``AsyncVectorEnv`` of the same, ``shared_memory=True``, one worker
  process per env started with ``fork`` (the default where it exists); at 256 envs that is 256
  processes on the machine's cores: about 15 s to build and 5 s to close on 2 cores, kept;
- ``envpool``: envpool's C++ ``HalfCheetah-v5`` (``env_type="gymnasium"``, its default thread
  count, min(N, cores)), skipped with the reason printed when ``import envpool`` fails (it is
  not a dependency of rewardgym: ``pip install envpool`` to run it).

Each contender is built, reset (seed 0) and stepped once before timing; rounds of ``K`` steps
are calibrated to about 0.2 s and the rate, ``N * K / round time``, is the median of 5 rounds
after one warm-up round. Building and closing are not timed. MuJoCo's compiler warns once per
model compiled from gymnasium's ``half_cheetah.xml`` (``settotalmass`` is deprecated); the
copies printed while building N envs are collapsed to one line with a count.

Target (issue 17): rewardgym at least 2x the best peer at 64 envs on 2 cores, printed as
PASS/MISS with the ratio (the faster rewardgym contender over the fastest peer), never asserted.

Run it with ``python -m pytest benchmarks/test_mujoco_throughput.py -q -p no:cacheprovider
--benchmark-only -s`` (under a minute on 2 cores); the table of steps/s, the ratios, the load
average and the verdict print at the end of the session.
"""

from __future__ import annotations

import contextlib
import functools
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from rewardgym.envs.mujoco.half_cheetah import HALF_CHEETAH
from rewardgym.envs.mujoco.vector_env import MujocoVectorEnv

try:
    import envpool
except Exception as error:  # noqa: BLE001  (any failure to import makes the contender skip)
    envpool = None
    ENVPOOL_MISSING = f"import envpool failed ({type(error).__name__}: {error}); pip install envpool to run it"
else:
    ENVPOOL_MISSING = ""

ENV_ID = "HalfCheetah-v5"
SIZES = [16, 64, 256]
REWARDGYM = ["rewardgym", "rewardgym-1t"]
PEERS = ["gym-sync", "gym-async", "envpool"]
CONTENDERS = [*REWARDGYM, *PEERS]
ASYNC_MAX_ENVS = 256
"""Above this many envs ``gym-async`` is skipped: a process per env only gets slower to build."""
TARGET_ENVS, TARGET_RATIO = 64, 2.0
ACTION_ROWS = 64
"""Distinct action batches per N, cycled through; enough that no contender sees a constant."""
SEED = 0
ROUND_SECONDS, ROUNDS, WARMUP_ROUNDS = 0.2, 5, 1
NOISY_SPREAD = 1.5
"""A rate is flagged when its median round is over this factor slower than its best round."""

RATES: dict[int, dict[str, float]] = {}
SKIPPED: dict[tuple[int, str], str] = {}
NOISY: set[tuple[int, str]] = set()
LOAD_AT_START = os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def _sizes() -> list:
    return [pytest.param(n, id=str(n), marks=pytest.mark.benchmark(group=f"half-cheetah-{n}")) for n in SIZES]


def action_rows(num_envs: int) -> list[np.ndarray]:
    """``ACTION_ROWS`` seeded batches of uniform random actions in HalfCheetah's bounds, float32."""
    low, high = action_bounds()
    rng = np.random.default_rng([SEED, num_envs])
    rows = rng.uniform(low, high, size=(ACTION_ROWS, num_envs, len(low))).astype(np.float32)
    return list(np.clip(rows, low, high))  # float32 rounding must not step past a bound


@functools.cache
def action_bounds() -> tuple[np.ndarray, np.ndarray]:
    """HalfCheetah's action bounds (the actuators' ``ctrlrange``), float32."""
    with collapsed_stderr():
        space = MujocoVectorEnv(HALF_CHEETAH, 1, nthread=1).single_action_space
    assert isinstance(space, gym.spaces.Box)
    return space.low, space.high


@contextlib.contextmanager
def collapsed_stderr() -> Iterator[None]:
    """Send file descriptor 2 to a file while envs are built, then print each distinct line once.

    MuJoCo's compiler writes its ``settotalmass`` warning from C for every model compiled, so N
    ``gym.make`` calls print it N times. Worker processes forked inside the block keep the file
    as their stderr (their exceptions still reach the parent through gymnasium's error queue).
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines = Counter(line for line in sink.read().decode(errors="replace").splitlines() if line.strip())
            for line, count in lines.items():
                print(line if count == 1 else f"{line}  [x{count}]", file=sys.stderr)


def make_envs(contender: str, num_envs: int) -> Any:
    """The contender's vector env of ``num_envs`` HalfCheetahs, NEXT_STEP autoreset."""
    thunks = [lambda: gym.make(ENV_ID)] * num_envs
    with collapsed_stderr():
        if contender == "rewardgym":
            return MujocoVectorEnv(HALF_CHEETAH, num_envs, autoreset_mode="next_step")
        if contender == "rewardgym-1t":
            return MujocoVectorEnv(HALF_CHEETAH, num_envs, autoreset_mode="next_step", nthread=1)
        if contender == "gym-sync":
            return gym.vector.SyncVectorEnv(thunks, autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP)
        if contender == "gym-async":
            context = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
            return gym.vector.AsyncVectorEnv(
                thunks, shared_memory=True, context=context, autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP
            )
        if contender == "envpool":
            # envpool restarts an ended env on its next step (NEXT_STEP); its seed is fixed here.
            return envpool.make(ENV_ID, env_type="gymnasium", num_envs=num_envs, seed=SEED)
    raise ValueError(f"unknown contender {contender!r}")


def cycle(call: Callable[[Any], object], items: list) -> Callable[[int], None]:
    """``run_steps(k)``: ``call(item)`` k times, cycling through ``items`` across rounds."""
    position = [0]

    def run_steps(k: int) -> None:
        i = position[0]
        for _ in range(k):
            call(items[i])
            i = (i + 1) % len(items)
        position[0] = i

    return run_steps


def measure(benchmark, num_envs: int, contender: str, run_steps: Callable[[int], None]) -> float:
    """Times rounds of ``K`` steps (``K`` calibrated to ~0.2 s); records the median steps/s."""
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < ROUND_SECONDS / 4:
        run_steps(1)
        calls += 1
    per_round = max(1, math.ceil(ROUND_SECONDS / ((time.perf_counter() - start) / calls)))
    durations: list[float] = []

    def one_round() -> None:
        t0 = time.perf_counter()
        run_steps(per_round)
        durations.append(time.perf_counter() - t0)

    benchmark.pedantic(one_round, rounds=ROUNDS, warmup_rounds=WARMUP_ROUNDS, iterations=1)
    measured = durations[WARMUP_ROUNDS:]
    rate = num_envs * per_round / statistics.median(measured)
    if statistics.median(measured) > NOISY_SPREAD * min(measured):
        NOISY.add((num_envs, contender))
    benchmark.extra_info.update(num_envs=num_envs, steps_per_s=rate, steps_per_round=per_round)
    RATES.setdefault(num_envs, {})[contender] = rate
    return rate


def skip(num_envs: int, contender: str, reason: str) -> None:
    SKIPPED[num_envs, contender] = reason
    pytest.skip(reason)


def best(rates: dict[str, float], names: list[str]) -> tuple[str, float] | None:
    measured = [(name, rates[name]) for name in names if name in rates]
    return max(measured, key=lambda item: item[1]) if measured else None


def table() -> list[str]:
    """The rates, the ratio of the faster rewardgym over the fastest peer, and the verdict."""
    envpool_line = f"envpool {envpool.__version__}" if envpool is not None else "no envpool"
    lines = [
        f"{os.cpu_count()} CPU cores; mujoco {mujoco.__version__}, gymnasium {gym.__version__}, {envpool_line}",
    ]
    if LOAD_AT_START is not None:
        lines.append(
            f"1-min load average: {LOAD_AT_START:.2f} at the start, {os.getloadavg()[0]:.2f} at the end "
            "(the benchmark adds 1 to 2, and gym-async's worker processes more; beyond that the numbers are disturbed)"
        )
    header = ["num_envs", *CONTENDERS, "rg/best-peer"]
    rows = []
    for n in sorted(set(RATES) | {n for n, _ in SKIPPED}):
        rates = RATES.get(n, {})
        cells = [str(n)]
        for name in CONTENDERS:
            cell = "skipped" if (n, name) in SKIPPED else (f"{rates[name]:.3g}" if name in rates else "-")
            cells.append(cell + ("*" if (n, name) in NOISY else ""))
        ours, peer = best(rates, REWARDGYM), best(rates, PEERS)
        cells.append(f"{ours[1] / peer[1]:.2f}" if ours and peer else "-")
        rows.append(cells)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(cells, widths)) for cells in [header, *rows]]
    lines.append("rg/best-peer = the faster of rewardgym, rewardgym-1t / the fastest of gym-sync, gym-async, envpool")
    if NOISY:
        lines.append(
            f"* its median round was over {NOISY_SPREAD}x its best: the CPU was busy; rerun on an idle machine"
        )
    for (n, name), why in sorted(SKIPPED.items()):
        lines.append(f"skipped {name} at {n} envs: {why}")
    rates = RATES.get(TARGET_ENVS, {})
    ours, peer = best(rates, REWARDGYM), best(rates, PEERS)
    label = f"rewardgym >= {TARGET_RATIO:.0f}x the best peer at {TARGET_ENVS} envs on {os.cpu_count()} cores"
    if ours and peer:
        ratio = ours[1] / peer[1]
        verdict = "PASS" if ratio >= TARGET_RATIO else "MISS"
        lines.append(f"{verdict}  {label}: {ours[0]} {ours[1]:.3g} / {peer[0]} {peer[1]:.3g} = {ratio:.2f}x")
    else:
        lines.append(f"MISS  {label}: not measured")
    return lines


class _Summary:
    """Prints the table after pytest-benchmark's own (a test module cannot define hooks, but it
    can register a plugin object that does)."""

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter) -> None:
        if RATES or SKIPPED:
            terminalreporter.section("HalfCheetah-v5 on the CPU: env steps/s (median round)", sep="=")
            for line in table():
                terminalreporter.write_line(line)


@pytest.fixture(scope="module", autouse=True)
def summary(request):
    plugin = _Summary()
    if not request.config.pluginmanager.is_registered(plugin):
        request.config.pluginmanager.register(plugin, "rewardgym-mujoco-throughput")
    yield


@pytest.mark.parametrize("contender", CONTENDERS)
@pytest.mark.parametrize("num_envs", _sizes())
def test_half_cheetah_step(benchmark, num_envs, contender):
    """``envs.step(actions)`` through each library's vector API."""
    if contender == "envpool" and envpool is None:
        skip(num_envs, contender, ENVPOOL_MISSING)
    if contender == "gym-async" and num_envs > ASYNC_MAX_ENVS:
        skip(num_envs, contender, f"a worker process per env; capped at {ASYNC_MAX_ENVS} envs")
    rows = action_rows(num_envs)
    envs = make_envs(contender, num_envs)
    try:
        if contender == "envpool":
            envs.reset()  # seeded at make (envpool ignores reset's seed)
        else:
            envs.reset(seed=SEED)
        envs.step(rows[0])  # warm-up: the thread pool / worker processes start
        measure(benchmark, num_envs, contender, cycle(envs.step, rows))
    finally:
        with collapsed_stderr():
            envs.close()
