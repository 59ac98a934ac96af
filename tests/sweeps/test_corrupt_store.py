"""Corrupt results stores (issue 19): a truncated, garbage or foreign-schema ``results.sqlite`` is
refused with one message naming the file, what is wrong and what to do, and is never modified;
``rewardgym sweep`` and ``rewardgym report`` print that one line and exit 2, no traceback."""

import hashlib
import re
import sqlite3
import subprocess
import sys

import pytest
import yaml
from rewardgym.cli import main
from rewardgym.sweeps.store import ResultsStore, StoreError, TrialRecord

SPEC = {
    "name": "tiny",
    "envs": ["rewardgym/CartPole-v0"],
    "rewards": ["none"],
    "agents": {"rand": {"algo": "random"}},
    "seeds": [0],
    "steps": 100,
    "eval_episodes": 1,
}


def snapshot(folder):
    """Every file of the folder with its contents' hash: what 'nothing was touched' means."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def real_store(path, trials=40):
    with ResultsStore(path) as store:
        for i in range(trials):
            store.record(
                TrialRecord(
                    trial_id=f"t{i}", env="rewardgym/CartPole-v0", reward="none", agent="rand", algo="random",
                    seed=i, total_steps=100, status="done", final_proxy=1.0, final_gold=1.0, error="x" * 500,
                    curves=[{"step": 100, "eval_proxy": 1.0, "eval_gold": 1.0}],
                )
            )  # fmt: skip
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def garbage(path):
    path.write_bytes(b"this is not a database\n" * 300)


def truncated(path):
    real_store(path)
    data = path.read_bytes()
    assert len(data) > 3 * 4096
    path.write_bytes(data[: len(data) // 2])


def foreign(path):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE users (name TEXT, email TEXT)")
    db.execute("INSERT INTO users VALUES ('ann', 'ann@example.com')")
    db.commit()
    db.close()


def foreign_columns(path):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE trials (id INTEGER, score REAL)")
    db.commit()
    db.close()


CASES = [
    (garbage, r"is not a readable SQLite database \(file is not a database\)"),
    (truncated, r"is (corrupt \(SQLite quick_check|not a readable SQLite database \(database disk image is malformed)"),
    (foreign, r"is a SQLite database with tables that a rewardgym results store does not have \(users\)"),
    (foreign_columns, r"table 'trials' has columns \(id, score\), expected \(trial_id, env"),
]


@pytest.mark.parametrize("make, message", CASES, ids=[c[0].__name__ for c in CASES])
def test_a_corrupt_store_is_refused_by_path_and_left_untouched(tmp_path, make, message):
    path = tmp_path / "results.sqlite"
    make(path)
    before = snapshot(tmp_path)
    with pytest.raises(StoreError, match=message) as error:
        ResultsStore(tmp_path)
    assert str(path) in str(error.value) and "left untouched" in str(error.value)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("make, message", CASES[:1] + CASES[2:3], ids=["garbage", "foreign"])
def test_sweep_and_report_cli_print_one_line_and_exit_2_on_a_corrupt_store(tmp_path, capsys, make, message):
    spec_file = tmp_path / "tiny.yaml"
    spec_file.write_text(yaml.safe_dump(SPEC))
    run_dir = tmp_path / "tiny"
    run_dir.mkdir()
    make(run_dir / "results.sqlite")
    capsys.readouterr()
    before = snapshot(run_dir)
    for argv in (["sweep", str(spec_file), "--out", str(tmp_path), "--no-progress"], ["report", str(run_dir)]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err
        assert str(run_dir / "results.sqlite") in err
    # The sweep wrote its spec beside the store (a new file); the store itself is as it was.
    after = snapshot(run_dir)
    after.pop("spec.yaml", None)
    after.pop("sweep.lock", None)
    assert after == before


@pytest.mark.parametrize(
    "argv, message",
    [
        (["report", "{tmp}/no/such/run"], r"rewardgym report: no sweep results in '.*no/such/run'"),
        (["report", "{tmp}/empty"], r"rewardgym report: no sweep results in '.*empty'"),
        (["sweep", "quik", "--out", "{tmp}"], r"rewardgym sweep: no sweep preset or spec file 'quik'; presets: quick"),
        (["sweep", "{tmp}/bad.yaml", "--out", "{tmp}"], r"rewardgym sweep: sweep spec .*bad.yaml is not valid YAML"),
        (["sweep", "{tmp}/dup.yaml", "--out", "{tmp}"], r"rewardgym sweep: sweep spec .*dup.yaml: key 'seeds' appears twice"),
        (["sweep", "{tmp}/binary.yaml", "--out", "{tmp}"], r"rewardgym sweep: sweep spec .*binary.yaml cannot be read"),
        (["sweep", "{tmp}/tiny.yaml", "--out", "{tmp}/runs"], r"rewardgym sweep: run folder .*runs/tiny holds a spec that no longer loads: sweep spec .*spec.yaml cannot be read"),
    ],
)  # fmt: skip
def test_cli_user_errors_are_one_line_and_exit_2(tmp_path, capsys, argv, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.yaml").write_text("envs: [a, b\nseeds: {")
    (tmp_path / "dup.yaml").write_text(yaml.safe_dump(SPEC) + "seeds: [1]\n")
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00\x80")
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(SPEC))
    (tmp_path / "runs" / "tiny").mkdir(parents=True)
    (tmp_path / "runs" / "tiny" / "spec.yaml").write_bytes(b"\xff\xfe\x00\x80")
    capsys.readouterr()
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert re.search(message, err), err


def test_report_of_a_missing_folder_from_the_shell_exits_2_without_a_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "rewardgym.cli", "report", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.startswith("rewardgym report: no sweep results in")
    assert not (tmp_path / "missing").exists()
