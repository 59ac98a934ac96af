"""A tiny sweep end to end on the local process pool, with the real trainer: stored, exported,
reported; failed trials recorded without stopping the sweep; a rerun skips what is done."""

import argparse

import pandas as pd
import pytest
import yaml
from rewardgym.sweeps.backends import LocalBackend
from rewardgym.sweeps.cli import configure_parser, run_from_args
from rewardgym.sweeps.runner import RunFolderBusy, run_sweep
from rewardgym.sweeps.spec import SweepSpec, SweepSpecError, load_spec
from rewardgym.sweeps.store import ResultsStore

TINY = {
    "name": "tiny",
    "envs": ["rewardgym/CartPole-v0"],
    "rewards": ["none", "noisy(sigma=0.5)"],
    "agents": {
        "ppo": {"algo": "ppo", "hyperparams": {"num_envs": 8, "num_steps": 16}},
        # A GPU no machine has: the spec cannot know where its trials will run (a Ray cluster's
        # nodes may have GPUs that the machine loading it lacks), so the trial itself fails.
        "broken": {"algo": "ppo", "hyperparams": {"num_envs": 8, "num_steps": 16}, "device": "cuda:99"},
    },
    "seeds": [0],
    "steps": 256,
    "eval_every": 128,
    "eval_episodes": 2,
}


def test_tiny_sweep_end_to_end_then_a_rerun_skips_finished_trials(tmp_path):
    spec_file = tmp_path / "tiny.yaml"
    spec_file.write_text(yaml.safe_dump(TINY))
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    code = run_from_args(parser.parse_args([str(spec_file), "--workers", "2", "--out", str(tmp_path), "--no-progress"]))
    assert code == 1  # some trials failed; the sweep still ran them all
    run_dir = tmp_path / "tiny"

    with ResultsStore(run_dir) as store:
        trials, curves = store.trials(), store.curves()
    assert len(trials) == 4 and trials["trial_id"].is_unique
    done = trials[trials.status == "done"]
    failed = trials[trials.status == "failed"]
    assert sorted(done.agent) == ["ppo", "ppo"] and sorted(failed.agent) == ["broken", "broken"]
    assert failed.error.str.contains("cuda").all()
    assert failed.error.str.contains("Traceback").all()
    assert {ids: list(rows.step) for ids, rows in curves.groupby("trial_id")} == {t: [128, 256] for t in done.trial_id}
    last = curves.groupby("trial_id").last()
    assert (last.loc[done.trial_id, "eval_gold"].to_numpy() == done.final_gold.to_numpy()).all()
    assert (done.final_gold > 0).all() and (done.final_gold <= 500).all()

    for name in ("spec.yaml", "trials.csv", "curves.csv"):
        assert (run_dir / name).stat().st_size > 0
    pd.testing.assert_frame_equal(pd.read_parquet(run_dir / "trials.parquet"), trials)
    assert load_spec(run_dir / "spec.yaml").trials() == load_spec(spec_file).trials()
    report = run_dir / "report.md"
    pngs = sorted(run_dir.rglob("*.png"))
    assert report.stat().st_size > 0 and pngs
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The rerun trains nothing that is done (the rows keep their times) and retries the failures.
    assert run_sweep(spec_file, tmp_path, workers=1, progress=False, report=False) == run_dir
    with ResultsStore(run_dir) as store:
        again, curves_again = store.trials(), store.curves()
    kept = again.set_index("trial_id").loc[done.trial_id, ["finished_at", "wall_s", "final_gold"]]
    pd.testing.assert_frame_equal(kept, done.set_index("trial_id")[["finished_at", "wall_s", "final_gold"]])
    assert sorted(again.trial_id) == sorted(trials.trial_id)
    assert (again.status == "failed").sum() == 2
    pd.testing.assert_frame_equal(curves_again, curves)


def test_a_run_folder_refuses_a_different_spec(tmp_path):
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "spec.yaml").write_text(yaml.safe_dump({**TINY, "seeds": [0, 1]}))
    with pytest.raises(SweepSpecError, match=r"run folder .*tiny holds a different sweep spec"):
        run_sweep(load_spec_from(TINY, tmp_path), tmp_path, progress=False)


def test_a_run_folder_in_use_by_another_sweep_is_refused(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    (tmp_path / "tiny").mkdir()
    with open(tmp_path / "tiny" / "sweep.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(RunFolderBusy, match=r"run folder .*tiny is in use by another sweep"):
            run_sweep(load_spec_from(TINY, tmp_path), tmp_path, progress=False)
        parser = argparse.ArgumentParser()
        configure_parser(parser)
        assert run_from_args(parser.parse_args([str(tmp_path / "other.yaml"), "--out", str(tmp_path)])) == 2
    assert not (tmp_path / "tiny" / "results.sqlite").exists()


CRASH = """
import os, pathlib, time
from rewardgym.sweeps.store import TrialRecord

DIED = pathlib.Path(__file__).with_name("seed-1-died")

def crash_on_seed_1(trial, threads):
    if trial.seed == 1:
        DIED.touch()
        os._exit(3)  # the worker dies as a segfault or the OOM killer would end it
    deadline = time.monotonic() + 120
    while not DIED.exists() and time.monotonic() < deadline:  # in flight when seed 1 dies
        time.sleep(0.01)
    return TrialRecord(trial.trial_id, trial.env, trial.reward, trial.agent, trial.algo, trial.seed,
                       trial.total_steps, "done", final_gold=float(trial.seed))
"""


def test_a_worker_that_dies_fails_its_own_trial_only(tmp_path, monkeypatch):
    # A worker killed mid-trial cannot be produced by the real trainer on demand; this trial
    # function, in a module the workers import, dies on seed 1, and on seed 0 waits for that death.
    (tmp_path / "crashing.py").write_text(CRASH)
    monkeypatch.syspath_prepend(str(tmp_path))
    from crashing import crash_on_seed_1

    # Seed 0 is in flight when seed 1's worker dies, and breaks with the pool: it must still finish.
    trials = SweepSpec.from_dict({**TINY, "agents": {"ppo": TINY["agents"]["ppo"]}, "seeds": [0, 1]}).trials()
    records = list(LocalBackend(2).run(trials[:2], crash_on_seed_1))
    assert {r.seed: r.status for r in records} == {0: "done", 1: "failed"}
    (died,) = [r for r in records if r.status == "failed"]
    assert "died abruptly" in died.error


def load_spec_from(data, tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_spec(path)
