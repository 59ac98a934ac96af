"""Sweep statistics against hand-computed values on small fixed tables."""

from __future__ import annotations

import math
import sqlite3

import numpy as np
import pandas as pd
import pytest
from rewardgym.sweeps import stats


def trials_table(rows: list[tuple]) -> pd.DataFrame:
    """A trials table from (env, reward, agent, seed, status, final_gold, final_proxy) rows."""
    frame = pd.DataFrame(rows, columns=["env", "reward", "agent", "seed", "status", "final_gold", "final_proxy"])
    frame.insert(0, "trial_id", [f"t{i}" for i in range(len(frame))])
    return frame


def curves_table(trial_id: str, steps, eval_proxy, eval_gold, train_proxy=None, train_gold=None) -> pd.DataFrame:
    n = len(steps)
    nan = [math.nan] * n
    return pd.DataFrame({
        "trial_id": trial_id, "step": steps, "eval_proxy": eval_proxy, "eval_gold": eval_gold,
        "train_proxy": train_proxy if train_proxy is not None else nan,
        "train_gold": train_gold if train_gold is not None else nan, "episodes": 1, "wall_s": 0.0,
    })  # fmt: skip


# A fixed table: two cells of one env (4 and 3 seeds), one failed trial, one cell in a second env.
FIXED = trials_table([
    ("E", "none", "ppo", 0, "done", 1.0, 1.0),
    ("E", "none", "ppo", 1, "done", 2.0, 3.0),
    ("E", "none", "ppo", 2, "done", 3.0, 3.0),
    ("E", "none", "ppo", 3, "done", 10.0, 20.0),
    ("E", "shaped", "ppo", 0, "done", 4.0, 8.0),
    ("E", "shaped", "ppo", 1, "done", 5.0, 9.0),
    ("E", "shaped", "ppo", 2, "done", 9.0, 10.0),
    ("E", "shaped", "ppo", 3, "failed", math.nan, math.nan),
    ("F", "none", "ppo", 0, "done", -200.0, -200.0),
    ("F", "none", "ppo", 1, "done", -100.0, -100.0),
])  # fmt: skip


# ------------------------------------------------------------------------------------------
# IQM and bootstrap


def test_iqm_by_hand():
    # 8 runs: trim 2 from each end -> mean(3, 4, 5, 6).
    assert stats.iqm([7.0, 1.0, 100.0, 2.0, 3.0, 4.0, 5.0, 6.0]) == 4.5
    # 4 runs: trim 1 from each end -> mean(2, 3).
    assert stats.iqm([1.0, 2.0, 3.0, 10.0]) == 2.5
    # 3 runs: 0.25 * 3 rounds down to nothing trimmed, as in rliable -> the mean.
    assert stats.iqm([1.0, 2.0, 9.0]) == 4.0
    assert stats.iqm(np.array([[1.0, 2.0, 3.0, 10.0], [0.0, 0.0, 4.0, 4.0]]), axis=1).tolist() == [2.5, 2.0]


def test_bootstrap_ci_is_deterministic_under_seed_and_contains_iqm():
    scores = np.random.default_rng(1).normal(size=12)
    first = stats.bootstrap_ci(scores, seed=3, reps=500)
    assert first == stats.bootstrap_ci(scores, seed=3, reps=500)
    assert first != stats.bootstrap_ci(scores, seed=4, reps=500)
    point, low, high = first
    assert point == pytest.approx(stats.iqm(scores))
    assert low < point < high


def test_bootstrap_ci_of_mean_matches_the_normal_approximation():
    # For the mean of 400 normal draws the percentile CI is close to mean +- 1.96 sd / sqrt(n).
    scores = np.random.default_rng(0).normal(5.0, 2.0, size=400)
    point, low, high = stats.bootstrap_ci(scores, statistic=np.mean, reps=4000, seed=0)
    half = 1.96 * scores.std(ddof=1) / math.sqrt(scores.size)
    assert point == pytest.approx(scores.mean())
    assert (high - low) / 2 == pytest.approx(half, rel=0.1)
    assert (low + high) / 2 == pytest.approx(point, abs=0.1 * half)


def test_bootstrap_ci_edge_cases():
    assert stats.bootstrap_ci([7.0, 7.0, 7.0]) == (7.0, 7.0, 7.0)
    assert stats.bootstrap_ci([4.0]) == (4.0, 4.0, 4.0)
    assert all(math.isnan(v) for v in stats.bootstrap_ci([]))
    with pytest.raises(ValueError, match="NaN at positions \\[1\\]"):
        stats.bootstrap_ci([1.0, math.nan])
    with pytest.raises(ValueError, match="confidence must be in \\(0, 1\\), got 1.5"):
        stats.bootstrap_ci([1.0, 2.0], confidence=1.5)
    with pytest.raises(ValueError, match="reps must be an int >= 1, got 0"):
        stats.bootstrap_ci([1.0, 2.0], reps=0)
    with pytest.raises(ValueError, match="strata must not contain missing labels"):
        stats.bootstrap_ci([1.0, 2.0], [None, "a"])
    with pytest.raises(ValueError, match="3 labels for 2 scores"):
        stats.bootstrap_ci([1.0, 2.0], ["a", "b", "c"])


def test_stratified_resampling_keeps_per_stratum_counts():
    strata = np.array(["b", "a", "b", "c", "a", "b", "b", "c", "b"])  # a: 2, b: 5, c: 2
    idx = stats.stratified_bootstrap_indices(strata, reps=300, seed=0)
    assert idx.shape == (300, strata.size)
    drawn = strata[idx]
    for label, size in (("a", 2), ("b", 5), ("c", 2)):
        assert ((drawn == label).sum(axis=1) == size).all()
    # Columns are laid out per stratum in sorted order, each drawing only its stratum's runs.
    assert (drawn[:, :2] == "a").all() and (drawn[:, 2:7] == "b").all() and (drawn[:, 7:] == "c").all()
    # With replacement: every run appears somewhere, and some resample repeats a run.
    assert set(idx.ravel()) == set(range(strata.size))
    assert any(len(set(row[2:7])) < 5 for row in idx)
    assert (idx == stats.stratified_bootstrap_indices(strata, reps=300, seed=0)).all()


def test_stratified_ci_is_tighter_than_pooled_when_strata_differ():
    # Stratum a scores 0, stratum b scores 10: every stratified resample holds four of each, so the
    # IQM of each resample is mean(0, 0, 10, 10) = 5 exactly; pooled resampling varies the mix.
    scores = [0.0] * 4 + [10.0] * 4
    strata = ["a"] * 4 + ["b"] * 4
    assert stats.bootstrap_ci(scores, strata, reps=500) == (5.0, 5.0, 5.0)
    _, low, high = stats.bootstrap_ci(scores, reps=500)
    assert low < 5.0 < high


# ------------------------------------------------------------------------------------------
# Summary and rankings


def test_summarize_by_hand():
    summary = stats.summarize(FIXED, reps=400, seed=0).set_index(["env", "reward"])
    none = summary.loc[("E", "none")]
    # gold 1, 2, 3, 10 -> 2.5; proxy 1, 3, 3, 20 -> 3; gaps 0, 1, 0, 10 -> mean(0, 1) = 0.5.
    assert (none["runs"], none["failed"]) == (4, 0)
    assert (none["gold_iqm"], none["proxy_iqm"], none["gap_iqm"]) == (2.5, 3.0, 0.5)
    shaped = summary.loc[("E", "shaped")]
    # The failed seed is counted, not scored: 3 runs, nothing trimmed.
    assert (shaped["runs"], shaped["failed"]) == (3, 1)
    assert shaped["gold_iqm"] == 6.0 and shaped["proxy_iqm"] == 9.0 and shaped["gap_iqm"] == 3.0
    for channel in stats.CHANNELS:
        assert (summary[f"{channel}_low"] <= summary[f"{channel}_iqm"]).all()
        assert (summary[f"{channel}_iqm"] <= summary[f"{channel}_high"]).all()
    # The CI of a cell depends on its own runs only, not on what else the sweep holds.
    alone = stats.summarize(FIXED[FIXED["reward"] == "none"], reps=400, seed=0).set_index(["env", "reward"])
    assert alone.loc[("E", "none"), "gold_low"] == none["gold_low"]


def test_summarize_cell_with_only_failed_runs_has_no_scores():
    table = trials_table([("E", "none", "a", 0, "failed", math.nan, math.nan)])
    row = stats.summarize(table, reps=10).iloc[0]
    assert (row["runs"], row["failed"]) == (0, 1)
    assert math.isnan(row["gold_iqm"])


def test_summarize_refuses_tables_without_the_store_columns():
    with pytest.raises(ValueError, match="trials table lacks columns \\['final_gold'\\]"):
        stats.summarize(FIXED.drop(columns="final_gold"))
    with pytest.raises(TypeError, match="trials must be a pandas DataFrame, got list"):
        stats.summarize([1, 2])  # type: ignore[arg-type]


def test_rank_regimes_orders_by_gold_and_marks_separation():
    summary = pd.DataFrame({
        "env": "E", "agent": "a", "reward": ["x", "y", "z", "w"],
        "gold_iqm": [1.0, 5.0, 5.0, 0.0], "gold_low": [0.5, 4.0, 3.0, -1.0], "gold_high": [2.0, 6.0, 7.0, 0.6],
    })  # fmt: skip
    ranked = stats.rank_regimes(summary)
    assert ranked["reward"].tolist() == ["y", "z", "x", "w"]
    assert ranked["rank"].tolist() == [1, 1, 3, 4]  # y and z tie
    # y's low 4 is below z's high 7: not separated; z's low 3 > x's high 2; x's low 0.5 < w's high 0.6.
    assert ranked["separated"].tolist() == [False, True, False, False]


def test_normalized_gold_and_aggregate_ranking_by_hand():
    scores = stats.normalized_gold(FIXED).set_index("trial_id")["score"]
    # env E: gold from 1 to 10; env F: from -200 to -100.
    assert scores["t0"] == 0.0 and scores["t3"] == 1.0 and scores["t4"] == pytest.approx(3 / 9)
    assert scores["t8"] == 0.0 and scores["t9"] == 1.0
    aggregate = stats.aggregate_ranking(FIXED, reps=400).set_index("reward")
    # none: E scores 0, 1/9, 2/9, 1 and F scores 0, 1 -> 6 runs, trim 1 each end -> mean(0, 1/9, 2/9, 1).
    assert aggregate.loc["none", "score_iqm"] == pytest.approx((0 + 1 / 9 + 2 / 9 + 1) / 4)
    assert aggregate.loc["none", "envs"] == 2 and aggregate.loc["shaped", "envs"] == 1
    # shaped: 3/9, 4/9, 8/9 -> mean 5/9, which beats none's 1/3.
    assert aggregate.loc["shaped", "score_iqm"] == pytest.approx(5 / 9)
    assert aggregate.loc["shaped", "rank"] == 1 and aggregate.loc["none", "rank"] == 2


def test_normalized_gold_of_a_constant_env_is_nan():
    table = trials_table([("E", "none", "a", s, "done", 3.0, 3.0) for s in range(3)])
    assert stats.normalized_gold(table)["score"].isna().all()
    assert stats.aggregate_ranking(table).empty


# ------------------------------------------------------------------------------------------
# Hacking flags


STEPS = np.arange(1, 9) * 1000.0  # 8 evaluations


def test_hacking_flag_whole_run():
    verdict = stats.hacking_flag(STEPS, proxy=np.linspace(10, 100, 8), gold=np.linspace(100, 40, 8))
    assert verdict.hacked and verdict.reason == "whole run" and verdict.points == 8
    # Least-squares change over the run relative to max |value|: 90 / 100 and -60 / 100.
    assert verdict.proxy_change == pytest.approx(0.9)
    assert verdict.gold_change == pytest.approx(-0.6)


def test_hacking_flag_second_half_catches_rise_then_fall():
    # Gold rises with proxy, then falls while proxy keeps rising: the whole-run trend of gold is
    # upward, only the second half shows the hack.
    gold = np.array([10, 30, 50, 70, 75, 70, 62, 55], dtype=float)
    verdict = stats.hacking_flag(STEPS, proxy=np.linspace(10, 100, 8), gold=gold)
    assert verdict.gold_change > 0
    assert verdict.hacked and verdict.reason == "second half"
    assert verdict.late_gold_change < -0.05 and verdict.late_proxy_change > 0.05


def test_hacking_flag_false_cases():
    rising = np.linspace(10, 100, 8)
    # Aligned: both rise.
    assert not stats.hacking_flag(STEPS, rising, rising).hacked
    # Both fall: the agent got worse on both, not a hack.
    assert not stats.hacking_flag(STEPS, rising[::-1], rising[::-1]).hacked
    # Gold constant: a zero change never qualifies.
    assert not stats.hacking_flag(STEPS, rising, np.full(8, 5.0)).hacked
    # Gold falls by less than the minimum relative change (2% < 5%).
    verdict = stats.hacking_flag(STEPS, rising, np.linspace(100, 98, 8))
    assert not verdict.hacked and verdict.gold_change == pytest.approx(-0.02)
    assert stats.hacking_flag(STEPS, rising, np.linspace(100, 98, 8), min_rel_change=0.01).hacked
    # All zeros: scale 0, no change.
    assert not stats.hacking_flag(STEPS, np.zeros(8), np.zeros(8)).hacked


def test_hacking_flag_too_few_points_and_nans():
    verdict = stats.hacking_flag([0, 1, 2], [0, 1, 2], [2, 1, 0])
    assert not verdict.hacked and verdict.reason == "too few points" and verdict.points == 3
    assert math.isnan(verdict.proxy_change)
    # NaNs are dropped in pairs: 5 points with one NaN proxy and one NaN gold leave 3.
    proxy = [0.0, math.nan, 2.0, 3.0, 4.0]
    gold = [4.0, 3.0, math.nan, 1.0, 0.0]
    assert stats.hacking_flag(range(5), proxy, gold).reason == "too few points"
    assert stats.hacking_flag(range(5), proxy, gold, min_points=3).hacked
    # Infinite values count as missing, unsorted steps are sorted first.
    verdict = stats.hacking_flag([3, 0, 2, 1, 4], [3, 0, 2, 1, math.inf], [0, 3, 1, 2, 9])
    assert verdict.points == 4 and verdict.hacked
    # The second half needs min_points of its own: 6 points give a half of 3 < 4.
    assert math.isnan(stats.hacking_flag(range(6), range(6), range(6)).late_gold_change)
    assert not math.isnan(stats.hacking_flag(range(7), range(7), range(7)).late_gold_change)


def test_hacking_flag_refuses_bad_arguments():
    with pytest.raises(ValueError, match="min_points must be an int >= 2"):
        stats.hacking_flag([0, 1], [0, 1], [0, 1], min_points=1)
    with pytest.raises(ValueError, match="min_rel_change must be a finite number >= 0, got -0.1"):
        stats.hacking_flag([0, 1], [0, 1], [0, 1], min_rel_change=-0.1)
    with pytest.raises(ValueError, match="one length, got 2, 3, 2"):
        stats.hacking_flag([0, 1], [0, 1, 2], [0, 1])


def test_hacking_flags_table_picks_curves_and_skips_failed_trials():
    trials = trials_table([
        ("E", "shaped", "ppo", 0, "done", 40.0, 100.0),
        ("E", "none", "ppo", 0, "done", 100.0, 100.0),
        ("E", "none", "ppo", 1, "failed", math.nan, math.nan),
    ])  # fmt: skip
    hacked = curves_table("t0", STEPS, np.linspace(10, 100, 8), np.linspace(100, 40, 8))
    # t1 has a single evaluation but 8 training rows, where proxy rises and gold falls.
    single = curves_table(
        "t1",
        STEPS,
        [math.nan] * 7 + [100.0],
        [math.nan] * 7 + [100.0],
        train_proxy=np.linspace(1, 9, 8),
        train_gold=np.linspace(9, 1, 8),
    )
    curves = pd.concat([hacked, single], ignore_index=True)
    flags = stats.hacking_flags(trials, curves).set_index("trial_id")
    assert flags.index.tolist() == ["t0", "t1"]
    assert flags.loc["t0", "source"] == "eval" and flags.loc["t1", "source"] == "train"
    assert flags["hacked"].tolist() == [True, True]
    forced = stats.hacking_flags(trials, curves, source="eval").set_index("trial_id")
    assert forced.loc["t1", "reason"] == "too few points" and not forced.loc["t1", "hacked"]
    summary = stats.summarize(trials, curves, reps=10).set_index("reward")
    assert summary.loc["shaped", "hacked"] == 1 and summary.loc["none", "hacked"] == 1
    with pytest.raises(ValueError, match="source must be one of 'auto', 'eval', 'train', got 'gold'"):
        stats.hacking_flags(trials, curves, source="gold")  # type: ignore[arg-type]


def test_a_reward_that_learns_is_judged_on_its_evaluation_curve_like_any_other():
    # Evaluation pays the proxy with the training regimes as they stand, frozen, so "auto" reads
    # the evaluation curve of a learning reward too; "train" still reads the training episodes
    # (for a sweep recorded when evaluation rebuilt learning rewards untrained).
    trials = trials_table([("E", "learned(kind='online')", "ppo", 0, "done", 40.0, 100.0)])
    curves = curves_table(
        "t0",
        STEPS,
        np.linspace(10, 100, 8),
        np.full(8, 100.0),
        train_proxy=np.linspace(1, 9, 8),
        train_gold=np.linspace(9, 1, 8),
    )
    flags = stats.hacking_flags(trials, curves)
    assert flags["source"].tolist() == ["eval"] and flags["hacked"].tolist() == [False]
    old = stats.hacking_flags(trials, curves, source="train")
    assert old["source"].tolist() == ["train"] and old["hacked"].tolist() == [True]


# ------------------------------------------------------------------------------------------
# Learning curves and the overoptimization fit


def test_curve_summary_by_hand():
    trials = trials_table([("E", "none", "a", s, "done", 0.0, 0.0) for s in range(4)])
    curves = pd.concat([
        curves_table(f"t{s}", [0, 10], [0.0, 10.0 * (s + 1)], [0.0, [1.0, 2.0, 3.0, 10.0][s]]) for s in range(4)
    ], ignore_index=True)  # fmt: skip
    summary = stats.curve_summary(trials, curves, reps=200).set_index("step")
    assert summary.loc[0, "eval_gold_iqm"] == 0.0 and summary.loc[0, "eval_gold_high"] == 0.0
    assert summary.loc[10, "eval_gold_iqm"] == 2.5  # 1, 2, 3, 10
    assert summary.loc[10, "eval_proxy_iqm"] == 25.0  # 10, 20, 30, 40
    assert summary.loc[10, "runs"] == 4


def _fit_sweep(g0: float, alpha: float, beta: float, form: str, noise: float, reward: str = "learned(kind='x')"):
    steps = np.array([0, 500, 1000, 2000, 4000, 8000, 12000, 16000, 25000, 36000])
    rng = np.random.default_rng(0)
    trials = trials_table(
        [("E", reward, "ppo", s, "done", 0.0, 0.0) for s in range(3)] + [("E", "none", "ppo", 0, "done", 0.0, 0.0)]
    )
    frames = []
    for s in range(4):
        gold = stats.overoptimization_curve(stats.optimization_distance(steps), g0, alpha, beta, form)
        frames.append(curves_table(f"t{s}", steps, steps / 100.0, gold + rng.normal(0, noise, steps.size)))
    return trials, pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("form", ["rl", "bon"])
def test_fit_recovers_known_alpha_and_beta(form):
    trials, curves = _fit_sweep(g0=20.0, alpha=30.0, beta=12.0, form=form, noise=0.5)
    fits = stats.fit_overoptimization(trials, curves, form=form)
    assert fits["reward"].tolist() == ["learned(kind='x')"]  # only the learned regime by default
    fit = fits.iloc[0]
    assert fit["status"] == "ok" and fit["runs"] == 3 and fit["points"] == 30
    assert fit["alpha"] == pytest.approx(30.0, rel=0.03)
    assert fit["beta"] == pytest.approx(12.0, rel=0.03)
    assert fit["g0"] == pytest.approx(20.0, abs=1.0)
    assert fit["r2"] > 0.99
    assert abs(fit["alpha"] - 30.0) < 4 * fit["alpha_se"]
    peak = math.exp(30.0 / 12.0 - 1.0) if form == "rl" else 30.0 / 24.0
    assert fit["d_peak"] == pytest.approx(peak, rel=0.05)
    assert fit["step_peak"] == pytest.approx(fit["d_peak"] ** 2 * stats.STEPS_PER_DISTANCE_UNIT)


def test_fit_edge_cases():
    trials, curves = _fit_sweep(g0=0.0, alpha=5.0, beta=-1.0, form="rl", noise=0.0)
    fit = stats.fit_overoptimization(trials, curves).iloc[0]
    assert fit["beta"] == pytest.approx(-1.0) and fit["d_peak"] == math.inf  # gold never turns down
    # Explicit rewards select any regime; two distinct steps cannot fix three parameters.
    short = curves[curves["step"].isin([0, 1000])]
    fit = stats.fit_overoptimization(trials, short, rewards=["none"]).iloc[0]
    assert fit["reward"] == "none" and fit["status"].startswith("too few distinct steps")
    plain = trials[trials["reward"] == "none"]
    assert stats.fit_overoptimization(plain, curves).empty
    with pytest.raises(ValueError, match="form must be 'rl' or 'bon', got 'exp'"):
        stats.fit_overoptimization(trials, curves, form="exp")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="steps >= 0"):
        stats.optimization_distance([-1])
    assert stats.is_learned(" Learned(kind='preference')+noisy") and not stats.is_learned("shaped+learned")


# ------------------------------------------------------------------------------------------
# A real SQLite file


def test_statistics_from_a_real_sqlite_store(tmp_path):
    from rewardgym.sweeps.store import ResultsStore, TrialRecord

    with ResultsStore(tmp_path) as store:
        for row in FIXED.itertuples(index=False):
            store.record(TrialRecord(
                trial_id=row.trial_id, env=row.env, reward=row.reward, agent=row.agent, algo="ppo", seed=row.seed,
                total_steps=100, status=row.status, error="boom" if row.status == "failed" else None,
                final_proxy=row.final_proxy, final_gold=row.final_gold,
                curves=[{"step": 100, "eval_proxy": row.final_proxy, "eval_gold": row.final_gold}]
                if row.status == "done" else []))  # fmt: skip
        trials, curves = store.trials(), store.curves()
    # The file holds the agreed schema, readable without the store module.
    with sqlite3.connect(tmp_path / "results.sqlite") as db:
        raw = pd.read_sql_query("SELECT * FROM trials ORDER BY rowid", db)
        assert {r[1] for r in db.execute("PRAGMA table_info(curves)")} >= {"trial_id", "step", "eval_gold"}
    assert len(raw) == len(FIXED) and len(curves) == 9
    from_store = stats.summarize(trials, curves, reps=300)
    from_frames = stats.summarize(FIXED, reps=300)
    pd.testing.assert_frame_equal(from_store.drop(columns="hacked"), from_frames)
    assert (from_store["hacked"] == 0).all()  # one evaluation per run: too few points to judge


def test_a_learning_reward_is_scored_by_its_final_evaluation():
    trials = trials_table(
        [("E", "learned(kind='online')", "ppo", 0, "done", 100.0, 37.0), ("E", "shaped", "ppo", 0, "done", 100.0, 7.0)]
    )
    scores = stats.final_scores(trials).set_index("trial_id")
    assert scores.loc["t0", "proxy"] == 37.0 and scores.loc["t0", "gap"] == -63.0
    assert scores.loc["t1", "proxy"] == 7.0
    curves = curves_table("t0", STEPS, np.zeros(8), np.full(8, 100.0), train_proxy=np.arange(8.0) + 50)
    summary = stats.summarize(trials, curves, reps=10).set_index("reward")
    assert summary.loc["learned(kind='online')", "proxy_iqm"] == 37.0  # not the training episodes' 57
