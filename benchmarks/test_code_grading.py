"""Sandboxed grading throughput: completions graded per second, 256 oracle solutions x 10 hidden tests.

The completions are :class:`~rewardgym.envs.code.tasks.CodeTaskDataset` reference solutions across
all eleven families (difficulty 4: 10 hidden tests each), so every one passes every test, which
each contender checks (a correctness assert; the rates are only printed). Contenders, each
grading the same 256 completions:

- ``pool``: a :class:`~rewardgym.envs.code.pool.SandboxPool` of one zygote per core running
  ``run_tests``'s harness (``grading_run``, one sandboxed run per completion, read back with
  ``read_grading``: the expected outputs compared here), all isolation layers on;
- ``humaneval``: the usual harness, as openai/human-eval's ``check_correctness``: per completion
  a ``multiprocessing.Manager().list()`` for the result, a ``multiprocessing.Process`` (forked
  from this process) that makes a temporary directory, applies a ``reliability_guard``, and runs
  solution + asserts under a ``setitimer`` time limit with its output swallowed, ``join(timeout +
  1)``, ``kill`` if alive; submitted from a ``ThreadPoolExecutor`` with one thread per core as
  ``evaluate_functional_correctness`` does. No uid, no namespaces, no rlimits: less isolation;
- ``run_python``: ``run_tests`` one completion after the other (for reference).

Run it with ``python -m pytest benchmarks/test_code_grading.py -q -p no:cacheprovider
--benchmark-only -s``; a table of completions/s and the target (the pool >= 5x the HumanEval-style
harness) prints at the end, PASS/MISS, never asserted.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import signal
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from rewardgym.envs.code.pool import Program, SandboxPool
from rewardgym.envs.code.tasks import TASKS, CodeTaskDataset, grading_limits, grading_run, read_grading, run_tests

COMPLETIONS = 256
DIFFICULTY = 4  # 8 + 3 * (4 - 1) = 17 hidden tests drawn; the first 10 are used
HIDDEN = 10
TIMEOUT_S = 3.0
CORES = max(1, os.cpu_count() or 1)
ROUNDS = 3
CONTENDERS = ["pool", "humaneval", "run_python"]
RATES: dict[str, float] = {}


def oracle_items() -> list[dict[str, Any]]:
    """256 items round-robin over the families, each with its reference and 10 hidden tests."""
    per_family = -(-COMPLETIONS // len(TASKS))
    data = {task: CodeTaskDataset(task, difficulty=DIFFICULTY, seed=7, size=per_family) for task in TASKS}
    items = []
    for i in range(COMPLETIONS):
        item = dict(data[TASKS[i % len(TASKS)]][i // len(TASKS)])
        item["hidden"] = item["hidden"][:HIDDEN]
        assert len(item["hidden"]) == HIDDEN
        items.append(item)
    return items


# -- pool: run_tests's harness, one sandboxed run per completion, compared here ------------------


def grade_with_pool(pool: SandboxPool, items: list[dict[str, Any]]) -> list[bool]:
    runs = [grading_run(item["reference"], item, hidden=True) for item in items]
    results = pool.run_many([Program(run.source, run.files) for run in runs], **grading_limits(TIMEOUT_S))
    return [all(read_grading(run, result, item).passed) for run, result, item in zip(runs, results, items)]


# -- humaneval: one multiprocessing.Process per completion, as openai/human-eval's execution.py --


class _TimeoutException(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float):
    def handler(signum, frame):
        raise _TimeoutException("Timed out!")

    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _reliability_guard() -> None:
    import builtins
    import shutil
    import subprocess

    builtins.exit = None  # type: ignore[assignment]
    builtins.quit = None  # type: ignore[assignment]
    for name in ("kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid", "fork", "forkpty"):
        setattr(os, name, None)
    for name in ("killpg", "rename", "renames", "truncate", "replace", "unlink", "fchmod", "fchown", "chmod", "chown"):
        setattr(os, name, None)
    shutil.rmtree = None  # type: ignore[assignment]
    shutil.move = None  # type: ignore[assignment]
    subprocess.Popen = None  # type: ignore[assignment, misc]


def _unsafe_execute(program: str, timeout: float, result: Any) -> None:
    with tempfile.TemporaryDirectory() as dirname:
        os.chdir(dirname)
        _reliability_guard()
        try:
            sink = io.StringIO()
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), _time_limit(timeout):
                exec(program, {})
            result.append("passed")
        except _TimeoutException:
            result.append("timed out")
        except BaseException as error:
            result.append(f"failed: {error}")
        os.chdir("/")


def _check_correctness(program: str, timeout: float) -> bool:
    manager = multiprocessing.Manager()
    try:
        result = manager.list()
        process = multiprocessing.get_context("fork").Process(target=_unsafe_execute, args=(program, timeout, result))
        process.start()
        process.join(timeout=timeout + 1)
        if process.is_alive():
            process.kill()
            process.join()
        return bool(result) and result[0] == "passed"
    finally:
        manager.shutdown()


def grade_humaneval_style(items: list[dict[str, Any]]) -> list[bool]:
    programs = [
        item["reference"] + "\n" + "".join(f"assert {t['call']} == {t['expected']!r}\n" for t in item["hidden"])
        for item in items
    ]
    with ThreadPoolExecutor(max_workers=CORES) as executor:
        return list(executor.map(lambda p: _check_correctness(p, TIMEOUT_S), programs))


def grade_run_python(items: list[dict[str, Any]]) -> list[bool]:
    return [all(run_tests(item["reference"], item, hidden=True, timeout_s=TIMEOUT_S)) for item in items]


# -- the table ------------------------------------------------------------------------------------


class _Summary:
    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not RATES:
            return
        write = terminalreporter.write_line
        terminalreporter.section("code grading: sandboxed completions graded/s (median round)", sep="=")
        load = f", 1-min load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
        write(f"{CORES} CPU cores{load}; {COMPLETIONS} oracle completions x {HIDDEN} hidden tests")
        for name in CONTENDERS:
            if name in RATES:
                write(f"{name:>12}  {RATES[name]:8.1f} completions/s")
        if "pool" in RATES and "humaneval" in RATES:
            ratio = RATES["pool"] / RATES["humaneval"]
            write(f"{'PASS' if ratio >= 5 else 'MISS'}  pool >= 5x the HumanEval-style harness: {ratio:.2f}x")
        if "pool" in RATES and "run_python" in RATES:
            write(f"      pool / sequential run_python: {RATES['pool'] / RATES['run_python']:.2f}x")


@pytest.fixture(scope="module", autouse=True)
def summary(request):
    plugin = _Summary()
    if not request.config.pluginmanager.is_registered(plugin):
        request.config.pluginmanager.register(plugin, "rewardgym-code-grading")
    yield


@pytest.fixture(scope="module")
def items():
    return oracle_items()


@pytest.fixture(scope="module")
def pool():
    with SandboxPool(workers=CORES) as made:
        made.run_many([Program("pass")] * CORES)  # started and probed
        yield made


@pytest.mark.parametrize("contender", CONTENDERS)
def test_grading_throughput(benchmark, items, pool, contender):
    grade = {
        "pool": lambda: grade_with_pool(pool, items),
        "humaneval": lambda: grade_humaneval_style(items),
        "run_python": lambda: grade_run_python(items),
    }[contender]
    durations: list[float] = []
    verdicts: list[list[bool]] = []

    def one_round() -> None:
        start = time.perf_counter()
        verdicts.append(grade())
        durations.append(time.perf_counter() - start)

    rounds = 1 if contender == "run_python" else ROUNDS
    benchmark.pedantic(one_round, rounds=rounds, warmup_rounds=0, iterations=1)
    assert all(all(v) for v in verdicts), f"{contender}: an oracle solution failed"
    rate = COMPLETIONS / statistics.median(durations)
    benchmark.extra_info.update(completions_per_s=rate, completions=COMPLETIONS, hidden_tests=HIDDEN)
    RATES[contender] = rate
