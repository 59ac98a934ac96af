"""The sandbox pool's own contract: same results as ``run_python``, a PID namespace per run,
zygotes that die are replaced, bad input refused by name, and a clean close.

Real zygotes and real sandboxed runs throughout (no mocks). The exploits through the pool are in
``test_sandbox_exploits.py``; ``run_python``'s own limits and isolation in ``test_sandbox.py``.
Every program here is bounded by itself (sleeps and loops that end on their own), so that a
broken pool fails a test instead of hanging it.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Iterator

import pytest
from rewardgym.envs.code import pool as pool_module
from rewardgym.envs.code import sandbox
from rewardgym.envs.code.pool import Program, SandboxPool
from rewardgym.envs.code.sandbox import RunResult, run_python
from tests.envs.code.test_sandbox_exploits import _run_processes

# The host waits this long past a run's timeout before it takes the zygote for stuck: the bound on
# how long a run may take that the pool promises.
GRACE_S = pool_module._HOST_GRACE_S
PID_PROGRAM = "import os\nprint(os.getpid())"


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    """One pool of two zygotes for the tests that neither kill its zygotes nor close it."""
    with SandboxPool(workers=2) as made:
        yield made


@pytest.fixture(scope="module")
def layered(pool: SandboxPool) -> SandboxPool:
    """The shared pool, for tests of the pool's own layers (skipped where it runs run_python instead)."""
    if not pool.isolation().get("pool"):
        pytest.skip("the pool's layers cannot be had here: it runs every program through run_python")
    return pool


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def _processes_of(uid: int) -> list[int]:
    """The processes on this host whose real uid is ``uid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as handle:
                for line in handle:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            found.append(int(entry))
                        break
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def _uid_of(pid: int) -> int | None:
    """The real uid of process ``pid``, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return None


def _workdirs_of(uid: int) -> list[str]:
    """The run directories in the host's /tmp (where the zygotes make them, in their pool's
    directory, or run_python's directly) owned by the run uid ``uid``."""
    paths = glob.glob("/tmp/rewardgym-sandbox-*") + glob.glob("/tmp/rewardgym-pool-*/rewardgym-sandbox-*")
    return [path for path in paths if os.stat(path).st_uid == uid]


def _remove_workdirs_of(uid: int) -> None:
    """Remove what a lost run left in /tmp, so that these tests do not litter the host."""
    for path in _workdirs_of(uid):
        shutil.rmtree(path, ignore_errors=True)


def _parents() -> dict[int, int]:
    """pid -> parent pid for every process on this host."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    return parents


def _run_processes_under(ancestor: int) -> list[int]:
    """The processes of a run uid (test_sandbox_exploits' ``_run_processes``) that descend from
    ``ancestor``: this test process's own runs, not those of other sandboxes on a shared host.
    (Orphans of our runs come to a zygote or to this process, both subreapers, so stay under it.)"""
    parents = _parents()

    def descends(pid: int) -> bool:
        for _ in range(64):
            pid = parents.get(pid, 0)
            if pid == ancestor:
                return True
            if pid <= 1:
                return False
        return False

    return [pid for pid in _run_processes() if descends(pid)]


def _none_of_ours_left(within_s: float = 2.0) -> bool:
    """Whether no process of a run of this test process is left (waiting up to ``within_s``)."""
    deadline = time.monotonic() + within_s
    while _run_processes_under(os.getpid()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _zygote_pids(made: SandboxPool) -> list[int]:
    return [zygote.process.pid for zygote in made._zygotes]


def _comparable(result: RunResult) -> dict[str, object]:
    """The fields that must agree between runners (not the timings), the run's directory masked in stderr."""
    fields = {k: v for k, v in vars(result).items() if k not in ("wall_s", "cpu_s")}
    fields["stderr"] = re.sub(r"[^\s\"']*rewardgym-sandbox-[^/\s\"']+", "<dir>", result.stderr)
    return fields


# name -> (source, files, limits): programs whose results run_python and the pool must agree on.
CASES: dict[str, tuple[str, dict[str, str], dict[str, float]]] = {
    "exit_code": ("import sys\nprint('out')\nsys.exit(3)", {}, {}),
    "exit_code_mod_256": ("import sys\nsys.exit(300)", {}, {}),
    "exit_message": ("import sys\nsys.exit('bad thing')", {}, {}),
    "traceback": ("def f():\n    raise ValueError('boom')\nf()\n", {}, {}),
    "syntax_error": ("def (:", {}, {}),
    "no_stdin": ("import sys\nprint(repr(sys.stdin.read()))\ninput()", {}, {}),
    "unicode_and_bad_bytes": ("import sys\nprint('\\u00e9\\u4e2d')\nsys.stdout.buffer.write(b'\\xff\\n')", {}, {}),
    "atexit_and_threads": (
        "import atexit, threading, time\natexit.register(lambda: print('bye'))\n"
        "threading.Thread(target=lambda: (time.sleep(0.05), print('late'))).start()\nprint('early')",
        {},
        {},
    ),
    "files_next_to_main": (
        "import os, data\nfrom pkg.mod import Y\nprint(data.X, Y, open('notes/a.txt').read(), sorted(os.listdir('.')))",
        {"data.py": "X = 1", "pkg/mod.py": "Y = 2", "notes/a.txt": "h\u00e9llo"},
        {},
    ),
    "argv_home_path": ("import os, sys\nprint(sys.argv, os.getcwd() == os.environ['HOME'] == sys.path[0])", {}, {}),
    "signal": ("import os, signal\nprint('x', flush=True)\nos.kill(os.getpid(), signal.SIGTERM)", {}, {}),
    "abort": ("import os\nos.abort()", {}, {}),
    "timeout": ("import time\ntime.sleep(10)  # capped", {}, {"timeout_s": 0.5, "cpu_s": 5.0}),
    "cpu_limit": (
        "import time\nend = time.monotonic() + 20  # capped\nwhile time.monotonic() < end:\n    pass",
        {},
        {"timeout_s": 15.0, "cpu_s": 1.0},
    ),
    "memory_limit": ("x = bytearray(10**9)", {}, {"memory_mb": 128}),
    "truncation": (
        "import sys\nsys.stdout.write('x' * 100000)\nsys.stderr.write('y' * 5000)",
        {},
        {"output_bytes": 1000},
    ),
    "exactly_at_the_cap": ("import sys\nsys.stdout.write('z' * 1000)", {}, {"output_bytes": 1000}),
}


# name -> what the case shows, checked on both runners' results (so that agreeing is not vacuous).
CLAIMS = {
    "exit_code": lambda r: r.exit_code == 3 and r.signal is None and r.stdout == "out\n" and not r.ok,
    "exit_code_mod_256": lambda r: r.exit_code == 44,
    "exit_message": lambda r: r.exit_code == 1 and r.stderr == "bad thing\n",
    "traceback": lambda r: r.exit_code == 1 and r.stderr.endswith("ValueError: boom\n"),
    "syntax_error": lambda r: r.exit_code == 1 and "SyntaxError" in r.stderr,
    "no_stdin": lambda r: r.stdout == "''\n" and "EOFError" in r.stderr,
    "unicode_and_bad_bytes": lambda r: r.ok and "\u00e9\u4e2d" in r.stdout and "\ufffd" in r.stdout,
    "atexit_and_threads": lambda r: r.ok and r.stdout == "early\nlate\nbye\n",
    "files_next_to_main": lambda r: r.stdout == "1 2 h\u00e9llo ['data.py', 'main.py', 'notes', 'pkg']\n",
    "argv_home_path": lambda r: r.stdout == "['main.py'] True\n",
    "signal": lambda r: r.exit_code is None and r.signal == "SIGTERM" and r.stdout == "x\n",
    "abort": lambda r: r.signal == "SIGABRT",
    "timeout": lambda r: r.timed_out and r.signal == "SIGKILL" and not r.cpu_exceeded,
    "cpu_limit": lambda r: r.cpu_exceeded and not r.timed_out and r.signal in ("SIGXCPU", "SIGKILL"),
    "memory_limit": lambda r: r.memory_exceeded and r.exit_code == 1,
    "truncation": lambda r: (
        (r.stdout, r.stdout_truncated, r.stderr, r.stderr_truncated) == ("x" * 1000, True, "y" * 1000, True)
    ),
    "exactly_at_the_cap": lambda r: r.stdout == "z" * 1000 and not r.stdout_truncated,
}


@pytest.mark.parametrize("name", list(CASES))
def test_run_many_agrees_with_run_python(pool, name):
    """One program through the pool gives run_python's result (exit code, signal, stdout, stderr
    with the run's directory masked, timeout, CPU and memory flags, truncation), within the
    run's timeout plus the host's grace; and the result is what the case is meant to show."""
    source, files, limits = CASES[name]
    expected = run_python(source, files=files, **limits)
    start = time.monotonic()
    [got] = pool.run_many([Program(source, files)], **limits)
    elapsed = time.monotonic() - start
    assert isinstance(got, RunResult)
    assert _comparable(got) == _comparable(expected)
    assert CLAIMS[name](expected), expected
    assert elapsed < limits.get("timeout_s", 2.0) + GRACE_S


def test_a_batch_larger_than_the_pool_comes_back_in_submission_order_and_agrees_with_run_python(layered):
    """A batch of many programs on two zygotes: results in the programs' order, each run_python's,
    and each run in the pool (PID 2 of its own namespace), with its own files only."""
    quick = {name: case for name, case in CASES.items() if not case[2]}
    programs = [Program(source, files) for source, files, _ in quick.values()]
    # Later programs finish first: each sleeps less than the one before, and prints its index.
    count = 9
    ordered = [
        Program(
            f"import os, time\ntime.sleep({(count - i) * 0.02})\nprint({i}, os.getpid(), sorted(os.listdir('.')))",
            {f"only_{i}.txt": str(i)},
        )
        for i in range(count)
    ]
    results = layered.run_many(programs + ordered)
    assert len(results) == len(programs) + count
    expected = [run_python(source, files=files) for source, files, _ in quick.values()]
    assert [_comparable(r) for r in results[: len(programs)]] == [_comparable(r) for r in expected]
    assert [r.stdout for r in results[len(programs) :]] == [
        f"{i} 2 {sorted(['main.py', f'only_{i}.txt'])}\n" for i in range(count)
    ]
    assert layered.run_many([]) == []


def test_workers_per_call_may_be_fewer_than_the_pool(layered):
    """run_many(workers=1) runs the batch one at a time on one zygote, still in order."""
    results = layered.run_many([Program(f"print({i})") for i in range(4)], workers=1)
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(4)]


def test_a_run_sees_what_the_module_doc_says(layered):
    """Inside a run: PID 2 under PID 1, only its own processes in /proc, argv, HOME, sys.path[0],
    stdin empty, no descriptor but stdio, a run uid; its directory is removed after the run."""
    source = (
        "import os, sys\n"
        "print(os.getpid(), os.getppid())\n"
        "print(sorted(int(e) for e in os.listdir('/proc') if e.isdigit()))\n"
        "print(sys.argv, os.getcwd() == os.environ['HOME'] == sys.path[0])\n"
        "print(sorted(int(fd) for fd in os.listdir('/proc/self/fd')))\n"  # 3: listdir's own
        "print(repr(sys.stdin.read()))\n"
        "print(os.getuid())\n"
        "print(os.getcwd())\n"
    )
    [result] = layered.run_many([Program(source)])
    assert result.ok, result.stderr
    pids, proc, argv, fds, stdin, uid, workdir = result.stdout.splitlines()
    assert pids == "2 1"
    assert proc == "[1, 2]"
    assert argv == "['main.py'] True"
    assert fds == "[0, 1, 2, 3]"
    assert stdin == "''"
    assert int(uid) in sandbox.RUN_IDS
    assert workdir.startswith("/") and not os.path.exists(workdir)


def test_a_setsid_grandchild_dies_with_the_run(layered):
    """A grandchild that leaves the session with setsid and sleeps on is killed with the run's PID
    namespace: the program ends the run at once, and no process of its uid is left."""
    source = """
import os, time
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.write(w, str(os.getpid()).encode())
        time.sleep(30)  # capped
        os._exit(0)
    os._exit(0)
os.close(w)
grandchild = int(os.read(r, 32))
os.wait()
os.kill(grandchild, 0)  # still there when the program ends
print(os.getuid(), grandchild, os.getsid(grandchild) != os.getsid(0), flush=True)
"""
    assert not _run_processes_under(os.getpid())
    timeout_s = 3.0
    start = time.monotonic()
    [result] = layered.run_many([Program(source)], timeout_s=timeout_s)
    elapsed = time.monotonic() - start
    assert result.ok and not result.timed_out, result.stderr
    uid, grandchild, left_session = result.stdout.split()
    assert int(uid) in sandbox.RUN_IDS and int(grandchild) > 2 and left_session == "True"
    assert elapsed < timeout_s + GRACE_S  # not the grandchild's 30 s
    assert not _processes_of(int(uid))
    assert _none_of_ours_left()


def test_a_zygote_killed_between_batches_is_replaced(layered):
    """SIGKILL a zygote between batches: the next batch is still right, the dead zygote is replaced
    by a live one, and the batch after that runs wholly in the pool again."""
    with SandboxPool(workers=2) as made:
        assert [r.stdout for r in made.run_many([Program(PID_PROGRAM)] * 2)] == ["2\n", "2\n"]
        victim = made._zygotes[0].process
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        results = made.run_many([Program(f"import os\nprint({i}, os.getpid() == 2)") for i in range(4)])
        assert [r.stdout.split()[0] for r in results] == ["0", "1", "2", "3"]
        assert all(r.ok for r in results)
        assert sum(r.stdout.split()[1] == "False" for r in results) <= 1  # at most one via run_python
        assert victim.pid not in _zygote_pids(made)
        assert len(made._zygotes) == 2 and all(_alive(pid) for pid in _zygote_pids(made))
        assert [r.stdout for r in made.run_many([Program(PID_PROGRAM)] * 4)] == ["2\n"] * 4
    assert _none_of_ours_left()


def _kill_the_zygote_mid_run(made: SandboxPool, timeout_s: float) -> tuple[RunResult, int, int, float]:
    """Run one program on ``made`` (one zygote) and SIGKILL the zygote once the program has dropped
    to its run uid: (the result, the zygote's pid, the lost run's uid, the seconds run_many took)."""
    [zygote_pid] = _zygote_pids(made)
    lost_uid: list[int] = []

    def kill_the_zygote_once_the_program_runs() -> None:
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            for pid in _run_processes_under(zygote_pid):
                uid = _uid_of(pid)
                if uid is not None:
                    lost_uid.append(uid)
                    os.kill(zygote_pid, signal.SIGKILL)
                    return
            time.sleep(0.002)

    watcher = threading.Thread(target=kill_the_zygote_once_the_program_runs)
    watcher.start()
    start = time.monotonic()
    try:
        [result] = made.run_many(
            [Program("import os, time\ntime.sleep(0.5)\nprint('done', os.getpid())")], timeout_s=timeout_s
        )
    finally:
        watcher.join()
    assert lost_uid, "the program never started in the zygote"
    return result, zygote_pid, lost_uid[0], time.monotonic() - start


def test_a_zygote_killed_mid_run_has_its_program_rerun_through_run_python(layered):
    """SIGKILL the zygote while its program runs: the program is run again through run_python (not
    PID 2) and gets its right result, no process of the lost run is left, and the pool goes on."""
    with SandboxPool(workers=1) as made:
        assert made.run_many([Program(PID_PROGRAM)])[0].stdout == "2\n"
        assert not _run_processes_under(os.getpid())
        timeout_s = 3.0
        result, zygote_pid, lost_uid, elapsed = _kill_the_zygote_mid_run(made, timeout_s)
        try:
            assert result.ok, result.stderr
            word, pid = result.stdout.split()
            assert word == "done" and int(pid) != 2  # the rerun, through run_python
            assert elapsed < 2 * (timeout_s + GRACE_S)  # the lost run, then the rerun
            assert not _alive(zygote_pid) and zygote_pid not in _zygote_pids(made)
            assert not _processes_of(lost_uid) and _none_of_ours_left()
            assert made.run_many([Program(PID_PROGRAM)])[0].stdout == "2\n"
        finally:
            _remove_workdirs_of(lost_uid)  # should a leak come back: keep the host clean


def test_a_lost_runs_directory_is_removed(layered):
    """The directory of a run whose zygote was killed mid-run does not outlive the run."""
    with SandboxPool(workers=1) as made:
        assert made.run_many([Program(PID_PROGRAM)])[0].stdout == "2\n"
        result, _, lost_uid, _ = _kill_the_zygote_mid_run(made, 3.0)
        assert result.ok
        left = _workdirs_of(lost_uid)
        _remove_workdirs_of(lost_uid)
        assert left == []


def test_isolation_reports_the_layers_of_run_python_and_a_pid_namespace(pool):
    """pool.isolation() has run_python's layers and, where the pool runs its own runs, a PID
    namespace too; the answer is a copy, and PID 2 in a run agrees with it."""
    expected = sandbox.isolation()
    layers = pool.isolation()
    if layers.get("pool"):
        assert set(expected) <= set(layers)
        assert {k: v for k, v in layers.items() if k in expected and k != "pid_namespace"} == {
            k: v for k, v in expected.items() if k != "pid_namespace"
        }
        assert layers["pid_namespace"] is True and expected["pid_namespace"] is False
    else:
        assert layers == expected
    assert layers["separate_process"] and layers["resource_limits"]
    layers["pid_namespace"] = "changed"
    assert pool.isolation()["pid_namespace"] != "changed"
    in_namespace = pool.run_many([Program(PID_PROGRAM)])[0].stdout == "2\n"
    assert in_namespace == pool.isolation()["pid_namespace"]


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2"])
def test_a_bad_worker_count_is_refused_by_name(pool, workers):
    """workers must be a positive int (or None), for the pool and for one call alike."""
    with pytest.raises(ValueError, match=r"SandboxPool: workers must be a positive int or None, got"):
        SandboxPool(workers=workers)
    with pytest.raises(ValueError, match=r"run_many: workers must be a positive int or None, got"):
        pool.run_many([Program("pass")], workers=workers)


@pytest.mark.parametrize(
    ("programs", "error", "match"),
    [
        ("print(1)", TypeError, r"programs must be a sequence of Program, got str"),
        (None, TypeError, r"programs must be a sequence of Program, got NoneType"),
        ((Program("pass") for _ in range(2)), TypeError, r"programs must be a sequence of Program, got generator"),
        ([Program("pass"), "print(1)"], TypeError, r"programs\[1\] must be a Program, got str"),
        ([Program("pass"), Program(b"print(1)")], TypeError, r"programs\[1\]\.source must be a str, got bytes"),
        ([Program("pass"), Program("pass", {"..": "x"})], ValueError, r"programs\[1\].*inside the run's directory"),
        ([Program("pass"), Program("pass", {"a/../b": "x"})], ValueError, r"programs\[1\].*inside the run's dir"),
        ([Program("pass"), Program("pass", {"/etc/x": "x"})], ValueError, r"programs\[1\].*inside the run's dir"),
        ([Program("pass"), Program("pass", {"main.py": "x"})], ValueError, r"programs\[1\].*'main.py' is the prog"),
        ([Program("pass"), Program("pass", {"": "x"})], ValueError, r"programs\[1\].*non-empty relative path"),
        ([Program("pass"), Program("pass", {"a.txt": 1})], TypeError, r"programs\[1\].*files\['a.txt'\] must be a str"),
        ([Program("pass"), Program("pass", ["a.txt"])], TypeError, r"programs\[1\].*files must be a dict"),
    ],
    ids=[
        "str",
        "none",
        "generator",
        "not_a_program",
        "bytes_source",
        "dotdot",
        "dotdot_inside",
        "absolute",
        "main_py",
        "empty_name",
        "non_str_text",
        "files_not_a_mapping",
    ],
)
def test_bad_programs_are_refused_by_name(pool, programs, error, match):
    """A bad batch is refused before anything runs, with a message naming the program and the
    problem; the pool works normally afterwards."""
    with pytest.raises(error, match=r"run_many: .*" + match):
        pool.run_many(programs)
    assert pool.run_many([Program("print('fine')")])[0].stdout == "fine\n"


@pytest.mark.parametrize(
    ("limits", "match"),
    [({"timeout_s": 0}, "run_many: timeout_s"), ({"memory_mb": 8}, "run_many: memory_mb"), ({"cpu_s": -1}, "cpu_s")],
)
def test_bad_limits_are_refused_by_name(pool, limits, match):
    """The limits are run_python's, checked the same way and named after run_many."""
    with pytest.raises(ValueError, match=match):
        pool.run_many([Program("pass")], **limits)


def test_closing_stops_every_zygote_and_the_pool_refuses_to_run_after():
    """close() ends every zygote (even before the first run), a second close() is fine, and
    run_many then raises; the context manager closes too."""
    unused = SandboxPool(workers=2)
    pids = _zygote_pids(unused)
    unused.close()
    assert len(pids) == 2 and not any(_alive(pid) for pid in pids)

    with SandboxPool(workers=2) as made:
        assert [r.stdout for r in made.run_many([Program(PID_PROGRAM)] * 3)] == ["2\n"] * 3
        pids = _zygote_pids(made)
        assert len(pids) == 2 and all(_alive(pid) for pid in pids)
    assert not any(_alive(pid) for pid in pids)
    assert made._zygotes == []
    with pytest.raises(RuntimeError, match="the pool is closed"):
        made.run_many([Program("pass")])
    made.close()
    with pytest.raises(RuntimeError, match="the pool is closed"):
        made.run_many([])


def test_close_waits_for_a_run_in_flight_in_another_thread():
    """run_many from two threads and close() from this one take turns: close() waits for the batch
    under way, which comes back whole; the other batch ran before it or is refused as closed."""
    made = SandboxPool(workers=2)
    results: dict[str, list[RunResult]] = {}
    refused: dict[str, str] = {}

    def batch(tag: str) -> None:
        try:
            results[tag] = made.run_many(
                [Program(f"import time\ntime.sleep(0.1)\nprint('{tag}', {i})") for i in range(3)]
            )
        except RuntimeError as error:  # the batch that came after close()
            refused[tag] = str(error)

    threads = [threading.Thread(target=batch, args=(tag,)) for tag in ("a", "b")]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 5.0
        while not made._lock.locked() and time.monotonic() < deadline:  # a batch has begun
            time.sleep(0.001)
        made.close()
    finally:
        for thread in threads:
            thread.join()
    # close() waited for the batch under way; the other one ran before it or found the pool closed.
    assert results and sorted([*results, *refused]) == ["a", "b"]
    assert all("the pool is closed" in message for message in refused.values())
    for tag, got in results.items():
        assert [r.stdout for r in got] == [f"{tag} {i}\n" for i in range(3)]
    with pytest.raises(RuntimeError, match="closed"):
        made.run_many([Program("pass")])
    assert made._zygotes == []


def test_a_forked_child_may_not_use_the_parents_pool(layered):
    """In a forked child the parent's pool refuses to run, and closing it there leaves the
    parent's zygotes alone: the parent's pool works on."""
    pids = _zygote_pids(layered)
    child = os.fork()
    if child == 0:  # pragma: no cover - the child ends with os._exit whatever happens
        code = 1
        try:
            try:
                layered.run_many([Program("pass")])
                code = 2
            except RuntimeError as error:
                code = 0 if "forked child" in str(error) else 3
            layered.close()
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert _zygote_pids(layered) == pids and all(_alive(pid) for pid in pids)
    assert [r.stdout for r in layered.run_many([Program(PID_PROGRAM)] * 2)] == ["2\n", "2\n"]


def test_more_workers_than_the_pool_runs_on_the_new_zygotes(layered, monkeypatch):
    """run_many(workers=3) on a pool of one starts two more zygotes and runs the batch on all three."""
    monkeypatch.setattr(pool_module, "_HOST_GRACE_S", 1.0)  # a stall, if it came back, shortened from 5 s
    with SandboxPool(workers=1) as made:
        assert made.run_many([Program(PID_PROGRAM)])[0].stdout == "2\n"
        results = made.run_many([Program(PID_PROGRAM)] * 3, workers=3, timeout_s=0.2)
        assert len(made._zygotes) == 3
        assert all(r.ok for r in results)
        assert [r.stdout for r in results] == ["2\n"] * 3  # each in the pool, not rerun via run_python


class _Interrupted(Exception):
    pass


def test_a_batch_interrupted_mid_run_leaves_a_working_pool(layered, monkeypatch):
    """An exception raised in the caller during run_many (as KeyboardInterrupt would) leaves no
    process behind, and the next batch runs in the pool as before."""
    monkeypatch.setattr(pool_module, "_HOST_GRACE_S", 1.0)  # a stall, if it came back, shortened from 5 s

    interrupted_uids: list[int] = []

    def interrupt(signum, frame):
        interrupted_uids.extend(uid for uid in map(_uid_of, _run_processes_under(zygote_pid)) if uid is not None)
        raise _Interrupted

    with SandboxPool(workers=1) as made:
        assert made.run_many([Program(PID_PROGRAM)])[0].stdout == "2\n"
        [zygote_pid] = _zygote_pids(made)
        previous = signal.signal(signal.SIGALRM, interrupt)
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            with pytest.raises(_Interrupted):
                made.run_many([Program("import time\ntime.sleep(3)  # capped")], timeout_s=5.0)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            for uid in interrupted_uids:
                _remove_workdirs_of(uid)  # the leak test_a_lost_runs_directory_is_removed shows
        assert interrupted_uids  # the program was running when the batch was interrupted
        assert _none_of_ours_left()
        [result] = made.run_many([Program(PID_PROGRAM)], timeout_s=0.2)
        assert result.ok
        assert result.stdout == "2\n"  # in the pool, not rerun via run_python after the host deadline


LISTENER = """
import os, socket, time
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind("\\0rewardgym-pool-test")  # an abstract name: it lives in the network namespace
server.listen()
if os.fork() == 0:  # a daemon that leaves the session, holding the socket open
    os.setsid()
    time.sleep(30)
    os._exit(0)
print("listening")
"""

CONNECTOR = """
import socket
client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    client.connect("\\0rewardgym-pool-test")
    print("connected")
except OSError as error:
    print(type(error).__name__)
"""


def test_runs_of_one_zygote_share_nothing_through_its_network_namespace():
    """A zygote's runs use its network namespace one after another: what a run left listening
    there (an abstract Unix socket held by a setsid daemon) is gone before the next run starts."""
    with SandboxPool(workers=1) as made:
        if not made.isolation().get("pool"):
            pytest.skip("the pool's layers cannot be had here: it runs every program through run_python")
        first, second = made.run_many([Program(LISTENER), Program(CONNECTOR)], timeout_s=5.0)
        assert first.stdout == "listening\n", first.stderr
        assert second.stdout == "ConnectionRefusedError\n", second.stderr
