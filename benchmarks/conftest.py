"""Shared machinery of the throughput suites: timing rounds, bare-kernel calls, the summary table.

Each benchmark steps a vector env ``K`` times per round (``K`` chosen so a round takes about
:data:`ROUND_SECONDS`), and reports ``steps/s = num_envs * K / round time``. The rates land in
``benchmark.extra_info`` and, at the end of the session, in one table per suite with the ratios
we report and the targets we check (printed as PASS/MISS, never asserted).
"""

from __future__ import annotations

import inspect
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

ROUND_SECONDS = 0.2
"""Wall time one measured round aims for (the brief: 0.1-0.5 s)."""

ROUNDS = 5
WARMUP_ROUNDS = 1
MAX_STEPS_PER_ROUND = 20_000
NOISY_SPREAD = 1.5
"""A rate is flagged when its best round beats its median round by this factor: something else
was using the CPU (numba's parallel kernels stall whenever one of their threads is descheduled)."""


@dataclass
class Suite:
    """How one suite's table is laid out and which targets it checks."""

    title: str
    contenders: list[str]
    ratios: list[tuple[str, str, str]]  # (column label, numerator, denominator)
    targets: list[tuple[str, Callable[[dict[int, dict[str, float]]], tuple[bool, str]]]]
    rates: dict[int, dict[str, float]] = field(default_factory=dict)
    skipped: dict[int, dict[str, str]] = field(default_factory=dict)
    noisy: set[tuple[int, str]] = field(default_factory=set)


def _at_least(num_envs: int, numerator: str, denominator: str, threshold: float):
    def check(rates: dict[int, dict[str, float]]) -> tuple[bool, str]:
        at = rates.get(num_envs, {})
        if numerator not in at or denominator not in at:
            return False, f"not measured at {num_envs} envs"
        ratio = at[numerator] / at[denominator]
        return ratio >= threshold, f"{numerator}/{denominator} = {ratio:.2f} at {num_envs} envs"

    return check


def _rate_at_least(min_envs: int, contender: str, threshold: float):
    def check(rates: dict[int, dict[str, float]]) -> tuple[bool, str]:
        measured = {n: r[contender] for n, r in rates.items() if n >= min_envs and contender in r}
        if not measured:
            return False, f"{contender} not measured at >= {min_envs} envs"
        worst = min(measured, key=measured.get)
        detail = ", ".join(f"{measured[n]:.3g} at {n}" for n in sorted(measured))
        return measured[worst] >= threshold, f"{contender} steps/s: {detail}"

    return check


SUITES: dict[str, Suite] = {
    "cpu": Suite(
        title="CartPole on the CPU",
        contenders=[
            "rewardgym",
            "rewardgym+scale",
            "rewardgym+stack",
            "gymnasium-vector",
            "gymnasium-sync",
            "bare-kernel",
        ],
        ratios=[
            ("rg/vector", "rewardgym", "gymnasium-vector"),
            ("rg/sync", "rewardgym", "gymnasium-sync"),
            ("rg/bare", "rewardgym", "bare-kernel"),
            ("scale/rg", "rewardgym+scale", "rewardgym"),
            ("stack/rg", "rewardgym+stack", "rewardgym"),
        ],
        targets=[
            (
                "rewardgym >= 5x gymnasium's vector env at 4096 envs",
                _at_least(4096, "rewardgym", "gymnasium-vector", 5.0),
            ),
            ("rewardgym >= 50% of the bare kernel at 4096 envs", _at_least(4096, "rewardgym", "bare-kernel", 0.5)),
            # "adds at most 50% to step time": stack time <= 1.5 x plain time.
            (
                "shaped+noisy+adversarial adds <= 50% to step time at 4096 envs",
                _at_least(4096, "rewardgym+stack", "rewardgym", 1 / 1.5),
            ),
        ],
    ),
    "gpu": Suite(
        title="CartPole on the GPU (device='cuda')",
        contenders=["rewardgym", "rewardgym+scale", "bare-kernel", "gymnasium-vector"],
        ratios=[
            ("rg/bare", "rewardgym", "bare-kernel"),
            ("scale/rg", "rewardgym+scale", "rewardgym"),
            ("rg/vector", "rewardgym", "gymnasium-vector"),
        ],
        targets=[
            ("rewardgym >= 1e9 steps/s at >= 1M envs", _rate_at_least(2**20, "rewardgym", 1e9)),
        ],
    ),
}
"""The suites' table layouts and targets; the summary prints those that measured something."""


def calibrate_steps(step_once: Callable[[], None], sync: Callable[[], None] = lambda: None) -> int:
    """How many steps make a round of about ``ROUND_SECONDS`` (the env is already warmed up)."""
    steps, elapsed = 0, 0.0
    start = time.perf_counter()
    while elapsed < ROUND_SECONDS / 4 and steps < MAX_STEPS_PER_ROUND:
        step_once()
        steps += 1
        if steps & (steps - 1) == 0:  # sync only now and then: a sync per step would distort it
            sync()
            elapsed = time.perf_counter() - start
    sync()
    per_step = (time.perf_counter() - start) / steps
    return max(1, min(MAX_STEPS_PER_ROUND, math.ceil(ROUND_SECONDS / per_step)))


def measure(
    benchmark: Any,
    *,
    suite: str,
    contender: str,
    num_envs: int,
    run_steps: Callable[[int], None],
    sync: Callable[[], None] = lambda: None,
    rounds: int = ROUNDS,
) -> float:
    """Time ``run_steps(K)`` with ``benchmark.pedantic`` and record steps/s; returns the median rate.

    ``run_steps`` must already be warmed up (numba compiles on the first call). ``sync`` is
    called before each round (untimed) and at the end of each round (timed): the GPU's
    ``torch.cuda.synchronize``.
    """
    steps = calibrate_steps(lambda: run_steps(1), sync)
    durations: list[float] = []

    def one_round() -> None:
        start = time.perf_counter()
        run_steps(steps)
        sync()
        durations.append(time.perf_counter() - start)

    benchmark.pedantic(one_round, setup=sync, rounds=rounds, warmup_rounds=WARMUP_ROUNDS, iterations=1)
    measured = durations[WARMUP_ROUNDS:] or durations
    median = statistics.median(measured)
    rate = num_envs * steps / median
    best = num_envs * steps / min(measured)
    benchmark.extra_info.update(num_envs=num_envs, steps_per_round=steps, steps_per_s=rate, steps_per_s_best=best)
    SUITES[suite].rates.setdefault(num_envs, {})[contender] = rate
    if best > NOISY_SPREAD * rate:
        SUITES[suite].noisy.add((num_envs, contender))
    return rate


def skip_contender(suite: str, num_envs: int, contender: str, reason: str) -> None:
    """Skip a benchmark and keep the reason for the summary table."""
    SUITES[suite].skipped.setdefault(num_envs, {})[contender] = reason
    pytest.skip(reason)


def cycle_calls(call: Callable[..., Any], items: list[Any], *, star: bool = False) -> Callable[[int], None]:
    """``run_steps(k)``: ``call(item)`` (``call(*item)`` with ``star``) k times, cycling through
    ``items`` across rounds, so that every contender sees the same pregenerated actions."""
    position = [0]
    count = len(items)

    if star:

        def run_steps(k: int) -> None:
            i = position[0]
            for _ in range(k):
                call(*items[i])
                i += 1
                if i == count:
                    i = 0
            position[0] = i
    else:

        def run_steps(k: int) -> None:
            i = position[0]
            for _ in range(k):
                call(items[i])
                i += 1
                if i == count:
                    i = 0
            position[0] = i

    return run_steps


def bare_kernel_args(env: Any, action_rows: list[Any]) -> tuple[Callable[..., None], list[tuple]]:
    """The compiled step kernel of a reset rewardgym vector env, and one argument tuple per
    action row, so that a loop of ``kernel(*args)`` measures the kernel alone: no input checks,
    no allocation, no info dict.

    The arguments are those that ``env.step`` passes to ``env._step_kernel`` (recorded from one
    real step, which also compiles the kernel), with its output buffers kept and reused and the
    ``actions`` argument swapped for each row. Recording them, rather than rebuilding them here,
    keeps this in step with the engine's kernel signature.
    """
    env = env.unwrapped
    kernel = env._step_kernel
    recorded: list[tuple] = []

    def recorder(*args: Any) -> None:
        recorded.append(args)
        kernel(*args)

    env._step_kernel = recorder
    try:
        env.step(action_rows[0])
    finally:
        env._step_kernel = kernel
    (args,) = recorded
    names = _kernel_parameters(kernel)
    if "actions" not in names or len(names) != len(args):
        raise RuntimeError(
            f"cannot find the actions among the step kernel's parameters {names}; "
            "update benchmarks/conftest.py:bare_kernel_args"
        )
    position = names.index("actions")
    arg_sets = []
    for row in action_rows:
        actions = env._view(env._cast(row, env.task.action_dtype))
        arg_sets.append((*args[:position], actions, *args[position + 1 :]))
    return kernel, arg_sets


def _kernel_parameters(kernel: Any) -> list[str]:
    """Parameter names of a numba kernel, or of the CUDA kernel a launcher closes over."""
    function = getattr(kernel, "py_func", None)
    for cell in getattr(kernel, "__closure__", None) or ():
        if function is None:
            function = getattr(cell.cell_contents, "py_func", None)
    if function is None:
        return []
    return list(inspect.signature(function).parameters)


_LOAD_AT_START: list[float] = []


def pytest_sessionstart(session: Any) -> None:
    if hasattr(os, "getloadavg"):
        _LOAD_AT_START.append(os.getloadavg()[0])


def _load_line() -> str:
    if not _LOAD_AT_START:
        return ""
    return (
        f"1-min load average: {_LOAD_AT_START[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at "
        "the end (the benchmark itself adds 1 to 2; more than that disturbs the numbers)"
    )


class Throughput:
    """The helpers above, handed to benchmark modules as the ``throughput`` fixture (the suites
    run under ``--import-mode=importlib``, where a test module cannot import its conftest)."""

    measure = staticmethod(measure)
    skip = staticmethod(skip_contender)
    cycle_calls = staticmethod(cycle_calls)
    bare_kernel_args = staticmethod(bare_kernel_args)


@pytest.fixture(scope="session")
def throughput() -> Throughput:
    return Throughput()


def _machine(with_gpu: bool) -> str:
    import numba

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    line = f"{cpu}, {os.cpu_count()} CPU cores, numba {numba.__version__} with {numba.get_num_threads()} threads"
    torch = sys.modules.get("torch")
    if with_gpu and torch is not None and torch.cuda.is_available():
        line += f"; GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}"
    return line


def _format_rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.3g}"


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's own tables
def pytest_terminal_summary(terminalreporter: Any) -> None:
    for suite in SUITES.values():
        if not suite.rates and not suite.skipped:
            continue
        write = terminalreporter.write_line
        terminalreporter.section(f"{suite.title}: env steps/s (median round)", sep="=")
        write(f"machine: {_machine(with_gpu=suite is SUITES['gpu'])}")
        if _load_line():
            write(_load_line())
        header = ["num_envs", *suite.contenders, *(label for label, _, _ in suite.ratios)]
        rows = []
        for n in sorted(set(suite.rates) | set(suite.skipped)):
            rates = suite.rates.get(n, {})
            skipped = suite.skipped.get(n, {})
            cells = [str(n)]
            for name in suite.contenders:
                cell = "skipped" if name in skipped else _format_rate(rates.get(name))
                cells.append(cell + ("*" if (n, name) in suite.noisy else ""))
            for _, a, b in suite.ratios:
                if a in rates and b in rates:
                    cells.append(f"{rates[a] / rates[b]:.2f}")
                else:
                    cells.append("-")
            rows.append(cells)
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for cells in [header, *rows]:
            write("  ".join(c.rjust(w) for c, w in zip(cells, widths)))
        write("ratios: " + "; ".join(f"{label} = {a} / {b}" for label, a, b in suite.ratios))
        if suite.noisy:
            write(
                f"* its best round was over {NOISY_SPREAD}x its median: the CPU was busy with "
                "something else; rerun on an idle machine"
            )
        reasons = {(n, name): why for n, s in suite.skipped.items() for name, why in s.items()}
        for (n, name), why in sorted(reasons.items()):
            write(f"skipped {name} at {n} envs: {why}")
        for label, check in suite.targets:
            ok, detail = check(suite.rates)
            write(f"{'PASS' if ok else 'MISS'}  {label}: {detail}")
