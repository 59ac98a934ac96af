"""Shared machinery of the throughput suites: timing rounds, bare-kernel calls, the summary table.

Each benchmark steps a vector env ``K`` times per round (``K`` chosen so a round takes about
:data:`ROUND_SECONDS`), and reports ``steps/s = num_envs * K / round time``. The rates land in
``benchmark.extra_info`` and, at the end of the session, in one table per suite with the ratios
we report and the targets we check (printed as PASS/MISS, never asserted).

A suite may measure each contender under several loads (:data:`IDLE`, and :data:`BUSY`: one core
kept busy by a spinning process that :func:`busy_core` starts and always stops); its table then
has a column per batch size and load, and its ratios and targets name the load they compare at.
"""

from __future__ import annotations

import inspect
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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

IDLE = "idle"
BUSY = "busy"
"""The loads a suite may measure under: nothing else started, or one core kept busy (:func:`busy_core`)."""
SPINNER_START_SECONDS = 0.25
"""How long :func:`busy_core` waits for the spinner's interpreter to start and spin."""
FOREIGN_CORES = 0.25
"""A rate is flagged when other processes (not this one, not its busy-core spinner) used more than
this many cores on average while it was timed: on a shared machine "idle" is then not idle."""


def variant(contender: str, load: str = IDLE) -> str:
    """The name a contender's rate is kept under: the contender itself when idle, else
    ``"contender@load"`` (so a suite's ``rates[num_envs]`` holds every load's rates side by side)."""
    return contender if load == IDLE else f"{contender}@{load}"


@dataclass
class Suite:
    """How one suite's table is laid out and which targets it checks."""

    title: str
    contenders: list[str]
    ratios: list[tuple[str, str, str]]  # (column label, numerator, denominator)
    targets: list[tuple[str, Callable[[dict[int, dict[str, float]]], tuple[bool, str]]]]
    loads: list[str] = field(default_factory=lambda: [IDLE])
    """More than one: the table has a column per (num_envs, load) and a row per contender."""
    rates: dict[int, dict[str, float]] = field(default_factory=dict)  # by num_envs, then variant()
    skipped: dict[int, dict[str, str]] = field(default_factory=dict)
    noisy: set[tuple[int, str]] = field(default_factory=set)
    foreign: dict[tuple[int, str], float] = field(default_factory=dict)
    """Cores that other processes used while a rate was timed (:class:`CpuProbe`), where known."""
    load_averages: dict[str, list[float]] = field(default_factory=dict)
    """The 1-minute load average at the start of each benchmark, by load."""


def _ratio_check(num_envs: int, numerator: str, denominator: str, load: str, ok: Callable[[float], bool]):
    where = f"{num_envs} envs" + ("" if load == IDLE else f", {load}")

    def check(rates: dict[int, dict[str, float]]) -> tuple[bool, str]:
        at = rates.get(num_envs, {})
        a, b = variant(numerator, load), variant(denominator, load)
        if a not in at or b not in at:
            return False, f"{numerator}/{denominator} not measured at {where}"
        ratio = at[a] / at[b]
        return ok(ratio), f"{numerator}/{denominator} = {ratio:.2f} at {where}"

    return check


def _at_least(num_envs: int, numerator: str, denominator: str, threshold: float, load: str = IDLE):
    return _ratio_check(num_envs, numerator, denominator, load, lambda ratio: ratio >= threshold)


def _at_most(num_envs: int, numerator: str, denominator: str, threshold: float, load: str = IDLE):
    return _ratio_check(num_envs, numerator, denominator, load, lambda ratio: ratio <= threshold)


def _rate_at_least(min_envs: int, contender: str, threshold: float):
    def check(rates: dict[int, dict[str, float]]) -> tuple[bool, str]:
        measured = {n: r[contender] for n, r in rates.items() if n >= min_envs and contender in r}
        if not measured:
            return False, f"{contender} not measured at >= {min_envs} envs"
        worst = min(measured, key=lambda n: measured[n])
        detail = ", ".join(f"{measured[n]:.3g} at {n}" for n in sorted(measured))
        return measured[worst] >= threshold, f"{contender} steps/s: {detail}"

    return check


SUITES: dict[str, Suite] = {
    "cpu": Suite(
        title="CartPole on the CPU",
        contenders=[
            "rewardgym",
            "rewardgym-exact",
            "rewardgym+scale",
            "rewardgym+stack",
            "rewardgym+stack-unfused",
            "rewardgym-1thread",
            "gymnasium-vector",
            "gymnasium-stack",
            "gymnasium-sync",
            "gymnax-step",
            "gymnax-scan64",
            "envpool",
            "bare-kernel",
        ],
        ratios=[
            ("rg/vector", "rewardgym", "gymnasium-vector"),
            ("rg/sync", "rewardgym", "gymnasium-sync"),
            ("rg/gymnax-step", "rewardgym", "gymnax-step"),
            ("rg/gymnax-scan64", "rewardgym", "gymnax-scan64"),
            ("rg/envpool", "rewardgym", "envpool"),
            ("rg/bare", "rewardgym", "bare-kernel"),
            ("fast/exact", "rewardgym", "rewardgym-exact"),
            ("scale/rg", "rewardgym+scale", "rewardgym"),
            ("rg/stack", "rewardgym", "rewardgym+stack"),
            ("fused/unfused", "rewardgym+stack", "rewardgym+stack-unfused"),
            ("stack/gym-stack", "rewardgym+stack", "gymnasium-stack"),
            ("1thread/vector", "rewardgym-1thread", "gymnasium-vector"),
        ],
        targets=[
            (
                "idle, 4096 envs: rewardgym >= 5x gymnasium's numpy vector env",
                _at_least(4096, "rewardgym", "gymnasium-vector", 5.0),
            ),
            (
                "idle, 4096 envs: rewardgym >= 10x gymnax's jitted scan (JAX on the CPU)",
                _at_least(4096, "rewardgym", "gymnax-scan64", 10.0),
            ),
            (
                "one core busy, 4096 envs: rewardgym >= 2x gymnasium's numpy vector env",
                _at_least(4096, "rewardgym", "gymnasium-vector", 2.0, load=BUSY),
            ),
            # "adds at most 50% to a plain step": a stack step takes <= 1.5x a plain one.
            (
                "idle, 4096 envs: shaped+noisy+adversarial adds <= 50% to a step (rg/stack <= 1.5)",
                _at_most(4096, "rewardgym", "rewardgym+stack", 1.5),
            ),
            (
                "idle, 4096 envs: rewardgym+stack >= 3x the same layers as gymnasium vector wrappers",
                _at_least(4096, "rewardgym+stack", "gymnasium-stack", 3.0),
            ),
            (
                "idle, 4096 envs: rewardgym on one numba thread >= 2x gymnasium's numpy vector env",
                _at_least(4096, "rewardgym-1thread", "gymnasium-vector", 2.0),
            ),
            (
                "idle, 4096 envs: rewardgym >= 50% of the bare kernel",
                _at_least(4096, "rewardgym", "bare-kernel", 0.5),
            ),
        ],
        loads=[IDLE, BUSY],
    ),
    "gpu": Suite(
        title="CartPole on the GPU (device='cuda')",
        contenders=["rewardgym", "rewardgym+scale", "rewardgym+stack", "bare-kernel", "gymnasium-vector"],
        ratios=[
            ("rg/bare", "rewardgym", "bare-kernel"),
            ("scale/rg", "rewardgym+scale", "rewardgym"),
            ("rg/stack", "rewardgym", "rewardgym+stack"),
            ("rg/vector", "rewardgym", "gymnasium-vector"),
        ],
        targets=[
            ("rewardgym >= 1e9 steps/s at >= 1M envs", _rate_at_least(2**20, "rewardgym", 1e9)),
            (
                "shaped+noisy+adversarial adds <= 20% at >= 1M envs (rg/stack <= 1.2)",
                _at_most(2**20, "rewardgym", "rewardgym+stack", 1.2),
            ),
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
    load: str = IDLE,
    steps_per_call: int = 1,
) -> float:
    """Time ``run_steps(K)`` with ``benchmark.pedantic`` and record steps/s; returns the median rate.

    ``run_steps`` must already be warmed up (numba compiles on the first call). ``sync`` is
    called before each round (untimed) and at the end of each round (timed): the GPU's
    ``torch.cuda.synchronize``. ``steps_per_call``: env steps that one call steps each env (a
    rollout of 64 steps in one call counts 64). ``load`` only labels the rate: the caller sets the
    load up (:func:`busy_core`).
    """
    if hasattr(os, "getloadavg"):
        SUITES[suite].load_averages.setdefault(load, []).append(os.getloadavg()[0])
    steps = calibrate_steps(lambda: run_steps(1), sync)
    durations: list[float] = []

    def one_round() -> None:
        start = time.perf_counter()
        run_steps(steps)
        sync()
        durations.append(time.perf_counter() - start)

    probe = CpuProbe()
    benchmark.pedantic(one_round, setup=sync, rounds=rounds, warmup_rounds=WARMUP_ROUNDS, iterations=1)
    foreign = probe.foreign_cores()
    measured = durations[WARMUP_ROUNDS:] or durations
    median = statistics.median(measured)
    rate = num_envs * steps * steps_per_call / median
    best = num_envs * steps * steps_per_call / min(measured)
    benchmark.extra_info.update(
        num_envs=num_envs,
        load=load,
        steps_per_round=steps * steps_per_call,
        steps_per_s=rate,
        steps_per_s_best=best,
        foreign_cores=foreign,
    )
    name = variant(contender, load)
    SUITES[suite].rates.setdefault(num_envs, {})[name] = rate
    if best > NOISY_SPREAD * rate:
        SUITES[suite].noisy.add((num_envs, name))
    if foreign is not None:
        SUITES[suite].foreign[(num_envs, name)] = foreign
    return rate


_SPINNERS: list[int] = []
"""Process ids of the busy-core spinners running now (:func:`busy_core`), for :class:`CpuProbe`."""


class CpuProbe:
    """How many cores other processes used from its creation to :meth:`foreign_cores`: the whole
    machine's busy CPU time (``/proc/stat``) less this process's (every thread: numba's, JAX's,
    envpool's) and the busy-core spinner's, over the wall time. Linux only; elsewhere ``None``."""

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float, float] | None:
        """(wall, machine busy, own, spinners) seconds, or None where /proc cannot tell."""
        try:
            tick = os.sysconf("SC_CLK_TCK")
            with open("/proc/stat") as stat:
                fields = [int(v) for v in stat.readline().split()[1:]]
            spinners = 0
            for pid in _SPINNERS:
                with open(f"/proc/{pid}/stat") as process:
                    after_name = process.read().rsplit(")", 1)[1].split()
                spinners += int(after_name[11]) + int(after_name[12])  # utime, stime
        except (OSError, ValueError, IndexError, AttributeError):
            return None
        busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6]  # user nice system irq softirq
        own = os.times()
        return time.perf_counter(), busy / tick, own.user + own.system, spinners / tick

    def foreign_cores(self) -> float | None:
        end = self._sample()
        if self.start is None or end is None or end[0] <= self.start[0]:
            return None
        wall, busy, own, spinners = (b - a for a, b in zip(self.start, end))
        return max(0.0, (busy - own - spinners) / wall)


def skip_contender(suite: str, num_envs: int, contender: str, reason: str, load: str = IDLE) -> None:
    """Skip a benchmark and keep the reason for the summary table."""
    SUITES[suite].skipped.setdefault(num_envs, {})[variant(contender, load)] = reason
    pytest.skip(reason)


@contextmanager
def busy_core(load: str = BUSY) -> Iterator[None]:
    """Under ``load == BUSY``, one core kept busy for the block: a spinning Python process, as
    another user's job would be (same priority), started here and always killed on the way out.
    Any other load runs the block as it is."""
    if load != BUSY:
        yield
        return
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    _SPINNERS.append(spinner.pid)
    try:
        time.sleep(SPINNER_START_SECONDS)  # let its interpreter start and spin before timing
        if spinner.poll() is not None:
            raise RuntimeError(f"the busy-core spinner exited with status {spinner.returncode}")
        yield
    finally:
        _SPINNERS.remove(spinner.pid)
        spinner.kill()
        spinner.wait()


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
    """Parameter names of a numba kernel, of the CUDA kernel a launcher closes over, or of the
    first of the interchangeable kernels that a chooser holds in ``kernels`` (the engine's
    ``FastestKernel``: the bare-kernel contender then calls the chooser, as ``env.step`` does)."""
    function = getattr(kernel, "py_func", None)
    for cell in getattr(kernel, "__closure__", None) or ():
        if function is None:
            function = getattr(cell.cell_contents, "py_func", None)
    if function is None:
        inner = getattr(kernel, "kernels", None)
        return _kernel_parameters(inner[0]) if inner else []
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

    IDLE = IDLE
    BUSY = BUSY
    measure = staticmethod(measure)
    skip = staticmethod(skip_contender)
    busy_core = staticmethod(busy_core)
    cycle_calls = staticmethod(cycle_calls)
    bare_kernel_args = staticmethod(bare_kernel_args)


@pytest.fixture(scope="session")
def throughput() -> Throughput:
    return Throughput()


def pytest_collection_modifyitems(items: list[Any]) -> None:
    """Benchmarks parametrized by ``load`` run every idle one first, then every busy one (each
    group in collection order): the load average printed per load then describes that load, not
    a mix of the spinner coming and going."""
    order = {IDLE: 0, BUSY: 1}

    def rank(item: Any) -> int:
        callspec = getattr(item, "callspec", None)
        return order.get(callspec.params.get("load"), 0) if callspec is not None else 0

    items.sort(key=rank)  # stable: the order within each load is kept


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


def _load_averages_line(suite: Suite) -> str:
    """The 1-minute load average seen at the start of the suite's benchmarks, by load."""
    spans = [
        f"{load} {min(values):.2f}-{max(values):.2f}"
        for load in suite.loads
        if (values := suite.load_averages.get(load))
    ]
    if len(suite.loads) < 2 or not spans:
        return ""
    return "1-min load average as each benchmark started: " + ", ".join(spans) + (f" (the {BUSY} runs' spinner adds 1)")


def _table(header: list[str], rows: list[list[str]], left: int = 0) -> list[str]:
    """Rows of cells in columns, the first ``left`` columns flush left, the others flush right."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
        for cells in [header, *rows]
    ]


def _by_num_envs(suite: Suite) -> list[str]:
    """One row per batch size: the rates of every contender, then the ratios (a single load)."""
    header = ["num_envs", *suite.contenders, *(label for label, _, _ in suite.ratios)]
    rows = []
    for n in sorted(set(suite.rates) | set(suite.skipped)):
        rates = suite.rates.get(n, {})
        skipped = suite.skipped.get(n, {})
        cells = [str(n)]
        for name in suite.contenders:
            cell = "skipped" if name in skipped else _format_rate(rates.get(name))
            cells.append(cell + _marks(suite, n, name))
        for _, a, b in suite.ratios:
            cells.append(f"{rates[a] / rates[b]:.2f}" if a in rates and b in rates else "-")
        rows.append(cells)
    return _table(header, rows)


def _by_contender(suite: Suite) -> list[str]:
    """One row per contender and then per ratio, one column per batch size and load: a suite
    measured under several loads."""
    sizes = sorted(set(suite.rates) | set(suite.skipped))
    columns = [(n, load) for n in sizes for load in suite.loads]
    header = ["steps/s", *(f"{n} {load}" for n, load in columns)]
    rows = []
    for name in suite.contenders:
        cells = [name]
        for n, load in columns:
            key = variant(name, load)
            cell = "skipped" if key in suite.skipped.get(n, {}) else _format_rate(suite.rates.get(n, {}).get(key))
            cells.append(cell + _marks(suite, n, key))
        rows.append(cells)
    for label, a, b in suite.ratios:
        cells = [label]
        for n, load in columns:
            rates = suite.rates.get(n, {})
            ka, kb = variant(a, load), variant(b, load)
            cells.append(f"{rates[ka] / rates[kb]:.2f}" if ka in rates and kb in rates else "-")
        rows.append(cells)
    lines = _table(header, rows, left=1)
    lines.insert(len(suite.contenders) + 1, "-" * len(lines[0]))  # rates above, ratios below
    return lines


def _marks(suite: Suite, num_envs: int, name: str) -> str:
    """``*`` for a rate whose rounds spread (:data:`NOISY_SPREAD`), ``!`` for one timed while other
    processes used the CPU (:data:`FOREIGN_CORES`)."""
    marks = "*" if (num_envs, name) in suite.noisy else ""
    return marks + ("!" if suite.foreign.get((num_envs, name), 0.0) > FOREIGN_CORES else "")


def _foreign_line(suite: Suite) -> str:
    """How many cores other processes took while the suite's rates were timed, by load."""
    spans = []
    for load in suite.loads:
        values = [
            v for (_, name), v in suite.foreign.items() if name.partition("@")[2] == ("" if load == IDLE else load)
        ]
        if values:
            flagged = sum(v > FOREIGN_CORES for v in values)
            spans.append(
                f"{load} {min(values):.2f}-{max(values):.2f} ({flagged} of {len(values)} over {FOREIGN_CORES})"
            )
    if not spans:
        return ""
    return "cores used by other processes while timing (machine CPU less this process and its spinner): " + ", ".join(
        spans
    )


def _skip_lines(suite: Suite) -> list[str]:
    """Each skipped contender once per reason, with the sizes (and loads) it was skipped at."""
    where: dict[tuple[str, str], list[str]] = {}
    for n in sorted(suite.skipped):
        for key, why in suite.skipped[n].items():
            name, _, load = key.partition("@")
            load = load or (IDLE if len(suite.loads) > 1 else "")
            where.setdefault((name, why), []).append(f"{n}" + (f" {load}" if load else ""))
    return [f"skipped {name} at {', '.join(at)}: {why}" for (name, why), at in sorted(where.items())]


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's own tables
def pytest_terminal_summary(terminalreporter: Any) -> None:
    for suite in SUITES.values():
        if not suite.rates and not suite.skipped:
            continue
        write = terminalreporter.write_line
        terminalreporter.section(f"{suite.title}: env steps/s (median round)", sep="=")
        write(f"machine: {_machine(with_gpu=suite is SUITES['gpu'])}")
        for line in (_load_line(), _load_averages_line(suite), _foreign_line(suite)):
            if line:
                write(line)
        for line in _by_contender(suite) if len(suite.loads) > 1 else _by_num_envs(suite):
            write(line)
        write("ratios: " + "; ".join(f"{label} = {a} / {b}" for label, a, b in suite.ratios))
        if len(suite.loads) > 1:
            write(
                f"loads: {IDLE} = nothing started beside the benchmark; {BUSY} = one core kept busy by a spinning process"
            )
        if suite.noisy:
            write(
                f"* its best round was over {NOISY_SPREAD}x its median: the CPU was busy with "
                "something else; rerun on an idle machine"
            )
        if any(v > FOREIGN_CORES for v in suite.foreign.values()):
            write(
                f"! other processes used over {FOREIGN_CORES} cores on average while it was timed "
                "(its load was not the one its column says); rerun on an idle machine"
            )
        for line in _skip_lines(suite):
            write(line)
        for label, check in suite.targets:
            ok, detail = check(suite.rates)
            write(f"{'PASS' if ok else 'MISS'}  {label}: {detail}")
