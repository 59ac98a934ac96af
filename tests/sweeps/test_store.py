"""The results store: the agreed tables, one transaction per trial, retries of failed trials, export."""

import json
import math
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rewardgym.sweeps.store import (
    CURVE_COLUMNS,
    TRIAL_COLUMNS,
    ResultsStore,
    TrialRecord,
)


def record(trial_id="t0", status="done", seed=0, curves=None, **fields):
    if curves is None:
        curves = [
            {"step": 100, "eval_proxy": 10.0, "eval_gold": 9.0, "train_proxy": math.nan, "train_gold": math.nan,
             "episodes": 0, "wall_s": 0.5},
            {"step": 200, "eval_proxy": np.float32(20.0), "eval_gold": np.float64(18.0), "train_proxy": 15.0,
             "train_gold": 14.0, "episodes": np.int64(7), "wall_s": 1.0},
        ]  # fmt: skip
    defaults = dict(
        trial_id=trial_id, env="rewardgym/CartPole-v0", reward="none", agent="ppo", algo="ppo", seed=seed,
        total_steps=200, status=status, final_proxy=20.0, final_gold=18.0, wall_s=1.5,
        config={"hyperparams": {"num_envs": np.int64(8)}, "shape": (64, 64), "dir": Path("runs/x")}, curves=curves,
    )  # fmt: skip
    return TrialRecord(**{**defaults, **fields})


def test_tables_have_the_agreed_columns_and_types(tmp_path):
    with ResultsStore(tmp_path) as store:
        assert list(store.trials().columns) == list(TRIAL_COLUMNS)
        assert list(store.curves().columns) == list(CURVE_COLUMNS)
        store.record(record())
        store.record(record("t1", status="failed", error="Traceback ...\nValueError: boom", curves=[],
                            final_proxy=math.nan, final_gold=math.nan))  # fmt: skip
        trials, curves = store.trials(), store.curves()
    assert (tmp_path / "results.sqlite").exists()
    assert trials["trial_id"].tolist() == ["t0", "t1"]
    assert trials["status"].tolist() == ["done", "failed"]
    assert trials["final_gold"].dtype == np.float64 and math.isnan(trials["final_gold"][1])
    assert trials["error"][1].endswith("ValueError: boom")
    assert json.loads(trials["config"][0]) == {"hyperparams": {"num_envs": 8}, "shape": [64, 64], "dir": "runs/x"}
    assert curves["step"].tolist() == [100, 200] and curves["step"].dtype == np.int64
    assert curves["eval_proxy"].tolist() == [10.0, 20.0]
    assert math.isnan(curves["train_gold"][0]) and curves["train_gold"][1] == 14.0
    assert curves["episodes"].tolist() == [0, 7]


def test_runs_in_wal_mode_and_a_reader_sees_committed_trials_while_the_writer_is_open(tmp_path):
    with ResultsStore(tmp_path) as store:
        store.record(record())
        reader = sqlite3.connect(tmp_path / "results.sqlite")
        assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert reader.execute("SELECT COUNT(*) FROM curves").fetchone()[0] == 2
        reader.close()
    with ResultsStore(tmp_path / "results.sqlite") as again:  # reopened: everything persisted
        assert again.finished_ids() == {"t0"} and again.counts() == {"done": 1}


def test_finished_ids_are_done_trials_only_and_a_retry_replaces_a_failure_without_duplicates(tmp_path):
    with ResultsStore(tmp_path) as store:
        store.record(record("t0", status="failed", error="boom", curves=[{"step": 50, "eval_gold": 1.0}]))
        assert store.finished_ids() == set()
        store.record(record("t0"))
        assert store.finished_ids() == {"t0"}
        assert store.trials()["status"].tolist() == ["done"]
        assert store.curves()["step"].tolist() == [100, 200]  # the failed attempt's curve is gone


def test_a_done_trial_is_never_overwritten_and_a_refused_write_leaves_the_store_unchanged(tmp_path):
    with ResultsStore(tmp_path) as store:
        store.record(record("t0"))
        before = (store.trials(), store.curves())
        with pytest.raises(ValueError, match="trial t0 is already recorded as done"):
            store.record(record("t0", final_gold=0.0, curves=[{"step": 300, "eval_gold": 0.0}]))
        with pytest.raises(ValueError, match=r"trial t1: curve steps repeat: \[100, 100\]"):
            store.record(record("t1", curves=[{"step": 100}, {"step": 100}]))
        with pytest.raises(ValueError, match="trial status must be 'done' or 'failed', got 'running'"):
            store.record(record("t2", status="running"))
        pd.testing.assert_frame_equal(store.trials(), before[0])
        pd.testing.assert_frame_equal(store.curves(), before[1])
        store.record(record("t3"))  # the connection is usable after a rolled-back transaction
        assert store.finished_ids() == {"t0", "t3"}


def test_a_trial_and_its_curves_commit_together(tmp_path):
    # A step too large for SQLite fails on the curves insert, after the trial row went in: the
    # transaction must take the trial row back out with it.
    with ResultsStore(tmp_path) as store:
        with pytest.raises(OverflowError):
            store.record(record("t1", curves=[{"step": 100}, {"step": 2**70}]))
        assert store.counts() == {} and len(store.curves()) == 0
        with pytest.raises(ValueError, match="a curve row has no 'step'"):
            store.record(record("t1", curves=[{"eval_gold": 1.0}]))
        store.record(record("t1"))
        assert store.counts() == {"done": 1} and len(store.curves()) == 2


def test_exports_csv_and_parquet_that_read_back_equal(tmp_path):
    with ResultsStore(tmp_path) as store:
        store.record(record("t0"))
        store.record(record("t1", seed=1, status="failed", error="x", curves=[]))
        paths = store.export(tmp_path / "export")
        trials, curves = store.trials(), store.curves()
        with pytest.raises(ValueError, match="unknown export format 'xlsx'; valid formats: csv, parquet"):
            store.export(tmp_path, formats=["xlsx"])
    assert sorted(p.name for p in paths) == ["curves.csv", "curves.parquet", "trials.csv", "trials.parquet"]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "export" / "trials.parquet"), trials)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "export" / "curves.parquet"), curves)
    from_csv = pd.read_csv(tmp_path / "export" / "curves.csv")
    assert from_csv["step"].tolist() == [100, 200] and from_csv["eval_gold"].tolist() == [9.0, 18.0]
    assert pd.read_csv(tmp_path / "export" / "trials.csv")["status"].tolist() == ["done", "failed"]
