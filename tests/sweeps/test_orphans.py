"""A sweep killed with ``kill -9`` leaves no process behind (issue 19): its pool workers and
multiprocessing's resource tracker end with it, whether the kill lands while trials train or while
the workers are still starting up; the store it leaves resumes (see test_resume.py)."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table in /proc")

SPEC = {
    "name": "orphans",
    "envs": ["rewardgym/CartPole-v0"],
    "rewards": ["none", "noisy(sigma=0.5)"],
    "agents": {"ppo": {"algo": "ppo", "hyperparams": {"num_envs": 8, "num_steps": 16}}},
    "seeds": [0, 1, 2],
    "steps": 512,
    "eval_every": 256,
    "eval_episodes": 2,
}
SWEEP = "import sys; from rewardgym.cli import main; sys.exit(main(sys.argv[1:]))"


def parents() -> dict[int, int]:
    """pid -> parent pid of every live (not zombie) process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended while we looked
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state != "Z":
            table[int(entry.name)] = int(ppid)
    return table


def descendants(pid: int) -> set[int]:
    table = parents()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in table.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    return pids & set(parents())


def start(tmp_path: Path) -> subprocess.Popen:
    spec_file = tmp_path / "orphans.yaml"
    spec_file.write_text(yaml.safe_dump(SPEC))
    args = ["sweep", str(spec_file), "--workers", "2", "--out", str(tmp_path), "--no-progress", "--no-report"]
    return subprocess.Popen(
        [sys.executable, "-c", SWEEP, *args],
        start_new_session=True,  # for the cleanup in `killed`, should the test fail
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for(condition, sweep: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert sweep.poll() is None, sweep.stderr.read().decode()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def kill_9_then_count_leftovers(sweep: subprocess.Popen, bound: float = 60) -> tuple[set[int], set[int]]:
    """Kill the sweep's process only (as `kill -9 PID`); its descendants then, and those left after."""
    before = descendants(sweep.pid)
    try:
        os.kill(sweep.pid, signal.SIGKILL)
        sweep.wait()
        deadline = time.monotonic() + bound
        while alive(before) and time.monotonic() < deadline:
            time.sleep(0.1)
        return before, alive(before)
    finally:
        for pid in alive(before):  # a failed test leaves nothing running either
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(sweep.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def workers_of(pid: int) -> set[int]:
    return {p for p in descendants(pid) if "spawn_main" in cmdline(p)}


def test_kill_9_while_trials_train_leaves_no_worker_or_tracker(tmp_path):
    sweep = start(tmp_path)
    store = tmp_path / "orphans" / "results.sqlite"
    try:
        # One trial is stored: both workers have started and armed their death signal.
        def one_done() -> bool:
            if not store.exists():
                return False
            db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
            try:
                return db.execute("SELECT COUNT(*) FROM trials").fetchone()[0] >= 1
            except sqlite3.OperationalError:  # tables not made yet
                return False
            finally:
                db.close()

        wait_for(lambda: len(workers_of(sweep.pid)) == 2 and one_done(), sweep)
    except BaseException:
        kill_9_then_count_leftovers(sweep)
        raise
    before, left = kill_9_then_count_leftovers(sweep)
    tracker = [p for p in before if "resource_tracker" in cmdline(p)]
    assert len(before) >= 2, before
    assert not left, f"left behind: {[cmdline(p) for p in left]} (tracker: {tracker})"


def test_kill_9_while_workers_start_up_leaves_no_worker(tmp_path):
    sweep = start(tmp_path)
    try:
        # Killed as soon as both workers exist: they are still importing, signal not yet armed.
        wait_for(lambda: len(workers_of(sweep.pid)) == 2, sweep)
    except BaseException:
        kill_9_then_count_leftovers(sweep)
        raise
    before, left = kill_9_then_count_leftovers(sweep)
    assert len(before) >= 2
    assert not left, f"left behind: {[cmdline(p) for p in left]}"
