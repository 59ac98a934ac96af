"""A sweep killed with SIGKILL while trials run resumes on rerun: no trial lost, none duplicated,
none that had finished trained again."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import yaml
from rewardgym.sweeps.runner import run_sweep
from rewardgym.sweeps.spec import load_spec
from rewardgym.sweeps.store import ResultsStore

SPEC = {
    "name": "resume",
    "envs": ["rewardgym/CartPole-v0"],
    "rewards": ["none", "noisy(sigma=0.5)", "shaped"],
    "agents": {"ppo": {"algo": "ppo", "hyperparams": {"num_envs": 8, "num_steps": 16}}},
    "seeds": [0, 1, 2],
    "steps": 512,
    "eval_every": 256,
    "eval_episodes": 2,
}
TOTAL = 9

SWEEP = (
    "import sys; from rewardgym.sweeps.runner import run_sweep; "
    "run_sweep(sys.argv[1], sys.argv[2], workers=2, progress=False, report=False)"
)


def done_count(db: sqlite3.Connection) -> int:
    try:
        return db.execute("SELECT COUNT(*) FROM trials WHERE status = 'done'").fetchone()[0]
    except sqlite3.OperationalError:  # the sweep has not created the tables yet
        return 0


def test_kill_9_mid_sweep_then_rerun_finishes_every_trial_exactly_once(tmp_path):
    spec_file = tmp_path / "resume.yaml"
    spec_file.write_text(yaml.safe_dump(SPEC))
    run_dir = tmp_path / "resume"
    sweep = subprocess.Popen(
        [sys.executable, "-c", SWEEP, str(spec_file), str(tmp_path)],
        start_new_session=True,  # its workers share its process group, for the cleanup below
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 300
        while not (run_dir / "results.sqlite").exists():
            assert sweep.poll() is None, sweep.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        db = sqlite3.connect(f"file:{run_dir / 'results.sqlite'}?mode=ro", uri=True)
        while done_count(db) < 1:
            assert sweep.poll() is None, sweep.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        os.kill(sweep.pid, signal.SIGKILL)  # the sweep's parent only, as `kill -9 PID` would
        sweep.wait()
        db.close()
    finally:
        try:  # the orphaned workers, which never touch the store
            os.killpg(sweep.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    with ResultsStore(run_dir) as store:
        before = store.trials()
    assert 1 <= len(before) < TOTAL, "the kill must land while trials remain"

    run_sweep(spec_file, tmp_path, workers=2, progress=False, report=False)
    with ResultsStore(run_dir) as store:
        after, curves = store.trials(), store.curves()
        assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert len(after) == TOTAL and after.trial_id.is_unique
    assert (after.status == "done").all()
    assert set(after.trial_id) == {t.trial_id for t in load_spec(spec_file).trials()}
    kept = after.set_index("trial_id").loc[before.trial_id, "finished_at"]
    assert kept.tolist() == before.finished_at.tolist()  # finished trials were not trained again
    assert len(curves) == TOTAL * 2 and not curves.duplicated(["trial_id", "step"]).any()
    assert sorted(curves.groupby("trial_id").size().unique()) == [2]
