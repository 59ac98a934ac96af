"""Sweep statistics: IQM with stratified bootstrap CIs, regime rankings, hacking flags, overoptimization fits.

The estimators follow rliable (Agarwal et al. 2021, "Deep Reinforcement Learning at the Edge of
the Statistical Precipice"), reimplemented here with numpy and scipy because the rliable package
does not install cleanly next to rewardgym: its dependency ``arch`` breaks with pandas 3. The
definitions are rliable's:

- **IQM**: the interquartile mean over runs, ``scipy.stats.trim_mean(scores, 0.25)`` (the mean of
  the middle 50% of runs; with fewer than 4 runs nothing is trimmed and it is the mean).
- **Stratified bootstrap CI**: runs are resampled with replacement *within* each stratum (a task,
  here an env), the statistic is recomputed on every resample, and the CI is the percentile
  interval of those values. rliable's default is 50,000 resamples; 2,000 keeps a sweep's report
  fast and moves a 95% bound by well under its own width. Every group is bootstrapped from the same
  seed, so a group's CI does not depend on which other groups the sweep holds.

The inputs are the two tables of a sweep's results store (``trials`` and ``curves``, one row per
trial and one per evaluation; see :mod:`rewardgym.sweeps.store`). A run's score is its final
evaluation (``final_gold``, ``final_proxy``); the gap is ``proxy - gold`` per run, so its IQM is
the IQM of per-run gaps, not the difference of two IQMs.

Example:
    >>> import pandas as pd
    >>> trials = pd.DataFrame({"env": "E", "reward": "none", "agent": "ppo", "seed": [0, 1, 2, 3],
    ...                        "status": "done", "final_gold": [1.0, 2.0, 3.0, 10.0],
    ...                        "final_proxy": [2.0, 2.0, 4.0, 11.0]})
    >>> row = summarize(trials, reps=200).iloc[0]
    >>> float(row["gold_iqm"]), float(row["proxy_iqm"]), float(row["gap_iqm"])  # gaps 1, 0, 1, 1
    (2.5, 3.0, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from rewardgym.core.validation import check_number

__all__ = [
    "CHANNELS",
    "GROUP",
    "HackingVerdict",
    "STEPS_PER_DISTANCE_UNIT",
    "aggregate_ranking",
    "bootstrap_ci",
    "curve_points",
    "curve_summary",
    "final_scores",
    "fit_overoptimization",
    "hacking_flag",
    "hacking_flags",
    "iqm",
    "is_learned",
    "normalized_gold",
    "optimization_distance",
    "overoptimization_curve",
    "rank_regimes",
    "stratified_bootstrap_indices",
    "summarize",
]

CHANNELS = ("gold", "proxy", "gap")
"""The per-run scores summarized: final gold return, final proxy return, and ``proxy - gold``."""

GROUP = ["env", "reward", "agent"]
"""A sweep cell: runs that differ only by seed."""

STEPS_PER_DISTANCE_UNIT = 1000.0
"""Optimization distance is ``sqrt(step / STEPS_PER_DISTANCE_UNIT)``; see :func:`optimization_distance`."""

FitForm = Literal["rl", "bon"]
CurveSource = Literal["auto", "eval", "train"]


# --------------------------------------------------------------------------------------------
# IQM and the stratified bootstrap


def iqm(scores: ArrayLike, axis: int | None = None) -> float | np.ndarray:
    """Interquartile mean: the mean of the middle 50% of ``scores`` (along ``axis``, else of all).

    Example:
        >>> iqm([1.0, 2.0, 3.0, 100.0, 4.0, 5.0, 6.0, 7.0])  # drops 1, 2 and 7, 100
        4.5
    """
    from scipy.stats import (
        trim_mean,  # scipy on first use: `rewardgym --help` need not load it
    )

    value = trim_mean(np.asarray(scores, dtype=float), 0.25, axis=axis)
    return float(value) if np.ndim(value) == 0 else value


def stratified_bootstrap_indices(strata: ArrayLike, reps: int, seed: int = 0) -> np.ndarray:
    """``(reps, n)`` indices into ``n`` runs, each row a resample drawn within each stratum.

    ``strata[i]`` labels run ``i``'s stratum. Row ``r`` holds, for every stratum of ``k`` runs,
    ``k`` indices drawn with replacement from that stratum's runs, so each resample keeps every
    stratum's size (rliable's ``StratifiedBootstrap``). Strata are laid out in sorted label order.

    Example:
        >>> idx = stratified_bootstrap_indices(["a", "b", "a"], reps=3, seed=0)
        >>> idx.shape, set(idx[:, :2].ravel()) <= {0, 2}, set(idx[:, 2]) == {1}
        ((3, 3), True, True)
    """
    if not isinstance(reps, (int, np.integer)) or isinstance(reps, bool) or reps < 1:
        raise ValueError(f"bootstrap reps must be an int >= 1, got {reps!r}")
    codes, _ = pd.factorize(pd.Series(np.asarray(strata, dtype=object)), sort=True)
    if (codes < 0).any():
        raise ValueError("bootstrap strata must not contain missing labels (None or NaN)")
    rng = np.random.default_rng(seed)
    blocks = []
    for code in range(codes.max() + 1 if codes.size else 0):
        members = np.flatnonzero(codes == code)
        blocks.append(members[rng.integers(0, members.size, size=(reps, members.size))])
    return np.concatenate(blocks, axis=1) if blocks else np.zeros((reps, 0), dtype=np.int64)


def bootstrap_ci(
    scores: ArrayLike,
    strata: ArrayLike | None = None,
    *,
    statistic: Callable[..., Any] = iqm,
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``(point, low, high)``: ``statistic`` of ``scores`` and its percentile stratified bootstrap CI.

    ``statistic(x, axis=1)`` must reduce a ``(reps, n)`` matrix row by row (``iqm`` and ``np.mean``
    do). Without ``strata`` all runs form one stratum. NaN scores are an error: drop them first,
    since silently resampling them would hide a broken trial.

    Example:
        >>> point, low, high = bootstrap_ci([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], seed=0)
        >>> point, low <= point <= high
        (3.5, True)
    """
    x = np.asarray(scores, dtype=float).ravel()
    check_number(confidence, "bootstrap confidence", low=0.0, high=1.0, low_open=True, high_open=True)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    if np.isnan(x).any():
        raise ValueError(f"bootstrap scores contain NaN at positions {np.flatnonzero(np.isnan(x)).tolist()}")
    labels = np.zeros(x.size, dtype=np.int64) if strata is None else np.asarray(strata, dtype=object)
    if len(labels) != x.size:
        raise ValueError(f"bootstrap strata has {len(labels)} labels for {x.size} scores")
    samples = statistic(x[stratified_bootstrap_indices(labels, reps, seed)], axis=1)
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(samples, [tail, 100.0 - tail])
    return float(statistic(x, axis=None)), float(low), float(high)


# --------------------------------------------------------------------------------------------
# Final scores: summary table and rankings


def final_scores(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per finished trial with ``gold``, ``proxy`` and ``gap = proxy - gold``.

    Failed trials are left out (they have no score); ``gold``/``proxy``/``gap`` keep a NaN when a
    finished trial reported one, and each statistic drops those per channel.

    ``gold`` and ``proxy`` are the final evaluation's, for every reward: evaluation pays the proxy
    with the training env's regimes as they stand, frozen (``Regime.frozen_copy``), so a reward
    that learns during training (``learned(kind='online')``, ``intrinsic``) is scored as trained.
    (Sweeps recorded before evaluation did so, before issue 13, scored such a reward's
    evaluation proxy with an untrained copy; their ``train_proxy`` curves hold what it paid in
    training.)
    """
    _require_columns(trials, "trials", [*GROUP, "seed", "status", "final_gold", "final_proxy"])
    done = trials[trials["status"] == "done"].copy()
    done["gold"] = pd.to_numeric(done["final_gold"]).astype(float)
    done["proxy"] = pd.to_numeric(done["final_proxy"]).astype(float)
    done["gap"] = done["proxy"] - done["gold"]
    return done.reset_index(drop=True)


def summarize(
    trials: pd.DataFrame,
    curves: pd.DataFrame | None = None,
    *,
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """IQM and bootstrap CI of final gold, proxy and gap for each ``(env, reward, agent)``.

    Columns: ``env, reward, agent, runs, failed``, then ``{channel}_iqm, {channel}_low,
    {channel}_high`` for ``gold``, ``proxy``, ``gap``, and, when ``curves`` is given, ``hacked``:
    how many of the cell's runs :func:`hacking_flags` flags. One cell is one task, so its CI is a
    plain bootstrap over seeds (the stratified bootstrap with a single stratum).
    """
    _require_columns(trials, "trials", [*GROUP, "status"])
    scores = final_scores(trials)
    failed = trials[trials["status"] != "done"].groupby(GROUP, sort=False).size()
    flags = None
    if curves is not None:
        flags = hacking_flags(trials, curves).groupby(GROUP, sort=False)["hacked"].sum()
    scored = {key: cell for key, cell in scores.groupby(GROUP, sort=False)}
    rows = []
    for key, _ in trials.groupby(GROUP, sort=True):
        runs = scored.get(key, scores.iloc[:0])
        row: dict[str, object] = dict(zip(GROUP, key))
        row["runs"] = len(runs)
        row["failed"] = int(failed.get(key, 0))
        for channel in CHANNELS:
            values = runs[channel].dropna().to_numpy()
            point, low, high = bootstrap_ci(values, reps=reps, confidence=confidence, seed=seed)
            row.update({f"{channel}_iqm": point, f"{channel}_low": low, f"{channel}_high": high})
        if flags is not None:
            row["hacked"] = int(flags.get(key, 0))
        rows.append(row)
    columns = [*GROUP, "runs", "failed"] + [f"{c}_{s}" for c in CHANNELS for s in ("iqm", "low", "high")]
    return pd.DataFrame(rows, columns=columns + (["hacked"] if flags is not None else []))


def rank_regimes(summary: pd.DataFrame) -> pd.DataFrame:
    """Regimes ranked by gold IQM within each ``(env, agent)``; rank 1 is the most gold.

    Ties share the best rank. ``separated`` says whether a regime's gold CI lies wholly above the
    next-ranked one's, i.e. whether the order to the next regime is more than noise at this
    confidence (a conservative check: overlapping CIs can still differ).

    Example:
        >>> s = pd.DataFrame({"env": "E", "agent": "a", "reward": ["x", "y"], "gold_iqm": [1.0, 3.0],
        ...                   "gold_low": [0.5, 2.0], "gold_high": [1.5, 4.0]})
        >>> rank_regimes(s)[["reward", "rank", "separated"]].values.tolist()
        [['y', 1, True], ['x', 2, False]]
    """
    _require_columns(summary, "summary", ["env", "agent", "reward", "gold_iqm", "gold_low", "gold_high"])
    parts = []
    for _, cell in summary.groupby(["env", "agent"], sort=True):
        cell = cell.sort_values(["gold_iqm", "reward"], ascending=[False, True], na_position="last").copy()
        cell["rank"] = cell["gold_iqm"].rank(method="min", ascending=False).astype("Int64")
        next_high = cell["gold_high"].shift(-1)
        cell["separated"] = (cell["gold_low"] > next_high).fillna(False).astype(bool)
        parts.append(cell)
    if not parts:
        return summary.assign(rank=pd.Series(dtype="Int64"), separated=pd.Series(dtype=bool))
    return pd.concat(parts, ignore_index=True)


def normalized_gold(trials: pd.DataFrame) -> pd.DataFrame:
    """Finished trials with ``score``: final gold min-max normalized per env over the whole sweep.

    ``score = (gold - min_env) / (max_env - min_env)``, where the min and max run over every
    finished run of that env (all regimes, agents and seeds). Envs' gold returns have unrelated
    scales (CartPole up to 500, MountainCar around -200..-100), so they must be normalized before
    pooling; rliable uses random- and human-normalized scores, but a sweep has no human reference
    and need not hold a random agent, while its own worst and best runs always exist. The
    transform is increasing per env, so per-env rankings are unchanged; its cost is that 0 and 1
    mean "worst and best seen in this sweep", so scores compare regimes within one sweep only. An
    env whose runs all have the same gold carries no ranking information and scores NaN.
    """
    scores = final_scores(trials)
    by_env = scores.groupby("env")["gold"]
    low, high = by_env.transform("min"), by_env.transform("max")
    spread = (high - low).where(high > low)
    scores["score"] = (scores["gold"] - low) / spread
    return scores


def aggregate_ranking(
    trials: pd.DataFrame, *, reps: int = 2000, confidence: float = 0.95, seed: int = 0
) -> pd.DataFrame:
    """Regimes ranked across envs by the IQM of :func:`normalized_gold` scores, for each agent.

    As rliable's aggregate IQM: one statistic over all runs of all envs, with the CI from a
    bootstrap stratified by env (runs resampled within each env). ``envs`` counts the envs a
    regime was scored on; regimes scored on fewer envs than others are not on equal footing.
    """
    scores = normalized_gold(trials).dropna(subset=["score"])
    rows = []
    for (agent, reward), cell in scores.groupby(["agent", "reward"], sort=True):
        point, low, high = bootstrap_ci(
            cell["score"].to_numpy(), cell["env"].to_numpy(), reps=reps, confidence=confidence, seed=seed
        )
        rows.append(
            {
                "agent": agent,
                "reward": reward,
                "envs": cell["env"].nunique(),
                "runs": len(cell),
                "score_iqm": point,
                "score_low": low,
                "score_high": high,
            }
        )
    table = pd.DataFrame(rows, columns=["agent", "reward", "envs", "runs", "score_iqm", "score_low", "score_high"])
    table = table.sort_values(["agent", "score_iqm", "reward"], ascending=[True, False, True], ignore_index=True)
    table.insert(2, "rank", table.groupby("agent")["score_iqm"].rank(method="min", ascending=False).astype("Int64"))
    return table


# --------------------------------------------------------------------------------------------
# Learning curves


def curve_points(trials: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """The curves of finished trials, joined with their trial's env, reward, agent and seed."""
    _require_columns(trials, "trials", ["trial_id", *GROUP, "seed", "status"])
    _require_columns(curves, "curves", ["trial_id", "step", "eval_proxy", "eval_gold", "train_proxy", "train_gold"])
    done = trials.loc[trials["status"] == "done", ["trial_id", *GROUP, "seed"]]
    points = curves.merge(done, on="trial_id", how="inner")
    for column in ("eval_proxy", "eval_gold", "train_proxy", "train_gold"):
        points[column] = pd.to_numeric(points[column]).astype(float)
    return points.sort_values(["trial_id", "step"], ignore_index=True)


def curve_summary(
    trials: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    columns: Sequence[str] = ("eval_gold", "eval_proxy"),
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """IQM and bootstrap CI across seeds at every evaluation step of every ``(env, reward, agent)``.

    One row per cell and step, with ``runs`` (seeds with a value there) and, per column ``c``,
    ``c_iqm, c_low, c_high``. Steps are matched exactly: seeds of one cell share the evaluation
    schedule.
    """
    points = curve_points(trials, curves)
    rows = []
    for key, cell in points.groupby([*GROUP, "step"], sort=True):
        row: dict[str, object] = dict(zip([*GROUP, "step"], key))
        row["runs"] = cell["trial_id"].nunique()
        for column in columns:
            point, low, high = bootstrap_ci(
                cell[column].dropna().to_numpy(), reps=reps, confidence=confidence, seed=seed
            )
            row.update({f"{column}_iqm": point, f"{column}_low": low, f"{column}_high": high})
        rows.append(row)
    names = [*GROUP, "step", "runs"] + [f"{c}_{s}" for c in columns for s in ("iqm", "low", "high")]
    return pd.DataFrame(rows, columns=names)


# --------------------------------------------------------------------------------------------
# Hacking flags


@dataclass(frozen=True)
class HackingVerdict:
    """Whether a run hacked its proxy, and the trends behind the verdict.

    Changes are least-squares fitted changes over a segment (slope times the segment's step span)
    relative to the channel's scale in the run (its largest ``|value|``); ``late_*`` are over the
    second half of the evaluations, NaN when that half is too short.
    """

    hacked: bool
    reason: str
    points: int
    proxy_change: float
    gold_change: float
    late_proxy_change: float
    late_gold_change: float


def hacking_flag(
    steps: ArrayLike,
    proxy: ArrayLike,
    gold: ArrayLike,
    *,
    min_points: int = 4,
    min_rel_change: float = 0.05,
) -> HackingVerdict:
    """Whether proxy rose while gold fell over one run's training curve.

    Definition. Keep the evaluations where both proxy and gold are finite (NaNs are dropped in
    pairs). With ``n`` such points, fit a least-squares line of each channel against the step and
    take its change over the segment, ``slope * (last step - first step)``, relative to the
    channel's scale ``max |value|`` over the run. A segment shows hacking when the proxy's relative
    change is ``> min_rel_change`` and gold's is ``< -min_rel_change``. The run is flagged when the
    whole run shows it, or its second half (the last ``ceil(n / 2)`` points) does: the second half
    catches the classic overoptimization shape, where gold first rises with the proxy and then
    falls while the proxy keeps rising, which a whole-run slope can average away. A segment needs
    ``min_points`` points (else it cannot flag), so a run with fewer than ``min_points`` points is
    never flagged (``reason="too few points"``) and the second half counts only from
    ``2 * min_points - 1`` points on. A constant channel has a zero change and never qualifies.

    A fixed half, rather than the segment after gold's best point, keeps the test unbiased: gold
    falls after its own maximum in pure noise too.

    Example:
        >>> v = hacking_flag([0, 1, 2, 3], proxy=[0, 1, 2, 3], gold=[3, 2, 1, 0])
        >>> v.hacked, v.reason
        (True, 'whole run')
        >>> hacking_flag([0, 1, 2], proxy=[0, 1, 2], gold=[2, 1, 0]).reason
        'too few points'
    """
    if not isinstance(min_points, (int, np.integer)) or isinstance(min_points, bool) or min_points < 2:
        raise ValueError(f"hacking flag min_points must be an int >= 2 (a line needs two points), got {min_points!r}")
    check_number(min_rel_change, "hacking flag min_rel_change", low=0.0)
    s, p, g = (np.asarray(a, dtype=float).ravel() for a in (steps, proxy, gold))
    if not s.size == p.size == g.size:
        raise ValueError(f"hacking flag needs steps, proxy and gold of one length, got {s.size}, {p.size}, {g.size}")
    keep = np.isfinite(s) & np.isfinite(p) & np.isfinite(g)
    order = np.argsort(s[keep], kind="stable")
    s, p, g = s[keep][order], p[keep][order], g[keep][order]
    n = s.size
    if n < min_points:
        return HackingVerdict(False, "too few points", n, math.nan, math.nan, math.nan, math.nan)
    p_scale, g_scale = np.abs(p).max(), np.abs(g).max()

    def change(y: np.ndarray, x: np.ndarray, scale: float) -> float:
        if scale == 0.0 or x[-1] == x[0]:
            return 0.0
        slope = np.polyfit(x - x[0], y, 1)[0]
        return float(slope * (x[-1] - x[0]) / scale)

    proxy_change, gold_change = change(p, s, p_scale), change(g, s, g_scale)
    half = n // 2  # the last ceil(n / 2) points
    late_proxy = late_gold = math.nan
    if n - half >= min_points:
        late_proxy = change(p[half:], s[half:], p_scale)
        late_gold = change(g[half:], s[half:], g_scale)

    def hacks(dp: float, dg: float) -> bool:
        return bool(dp > min_rel_change and dg < -min_rel_change)

    if hacks(proxy_change, gold_change):
        reason = "whole run"
    elif hacks(late_proxy, late_gold):
        reason = "second half"
    else:
        reason = ""
    return HackingVerdict(bool(reason), reason, n, proxy_change, gold_change, late_proxy, late_gold)


def hacking_flags(
    trials: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    source: CurveSource = "auto",
    min_points: int = 4,
    min_rel_change: float = 0.05,
) -> pd.DataFrame:
    """:func:`hacking_flag` for every finished trial, one row each.

    ``source`` picks the curves: ``"eval"`` (evaluation returns on fixed seeds, the cleaner
    measure of the policy at each step), ``"train"`` (mean returns of training episodes, what the
    agent was paid while learning), or ``"auto"``: eval when it has ``min_points`` finite pairs,
    else train. Evaluation pays the proxy with the training regimes as they stand, frozen, so the
    eval curve is honest for a reward that learns while the agent trains too. (For a sweep run
    before that, whose learning rewards were evaluated by an untrained copy, pass
    ``source="train"``.) Columns: ``trial_id, env, reward, agent, seed, source, hacked, reason,
    points`` and the verdict's changes.
    """
    if source not in ("auto", "eval", "train"):
        raise ValueError(f"hacking flag source must be one of 'auto', 'eval', 'train', got {source!r}")
    points = curve_points(trials, curves)
    done = trials.loc[trials["status"] == "done", ["trial_id", *GROUP, "seed"]]
    runs = {trial_id: run for trial_id, run in points.groupby("trial_id", sort=False)}
    rows = []
    for trial in done.itertuples(index=False):
        run = runs.get(trial.trial_id, points.iloc[:0])
        chosen = source
        if source == "auto":
            finite_eval = (np.isfinite(run["eval_proxy"]) & np.isfinite(run["eval_gold"])).sum()
            chosen = "eval" if finite_eval >= min_points else "train"
        verdict = hacking_flag(
            run["step"],
            run[f"{chosen}_proxy"],
            run[f"{chosen}_gold"],
            min_points=min_points,
            min_rel_change=min_rel_change,
        )
        rows.append({**trial._asdict(), "source": chosen, **verdict.__dict__})
    columns = ["trial_id", *GROUP, "seed", "source", *HackingVerdict.__dataclass_fields__]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------------------------
# Overoptimization fit (Gao, Schulman & Hilton 2022)


def is_learned(reward: str) -> bool:
    """Whether a reward spec string's first layer is the ``learned`` family."""
    return str(reward).strip().lower().startswith("learned")


def optimization_distance(step: ArrayLike) -> np.ndarray:
    """``d = sqrt(step / STEPS_PER_DISTANCE_UNIT)``: how far training has moved the policy.

    Gao et al. measure ``d = sqrt(KL(pi || pi_init))``, which a sweep does not record for every
    agent (SB3 and scripted agents expose no KL from the initial policy). This is the stand-in:
    PPO-style updates each move the policy by a bounded KL (clipping, ``target_kl``), and if
    successive updates' moves were independent, KL from the initial policy would grow linearly
    with the number of updates, i.e. with steps, so ``sqrt(KL)`` grows as ``sqrt(steps)``. It is an
    assumption (aligned updates grow KL faster), so the fitted alpha and beta are in units of this
    ``d`` (square root of thousands of env steps), comparable across regimes of one sweep, not with
    the paper's numbers.

    Example:
        >>> optimization_distance([0, 1000, 4000]).tolist()
        [0.0, 1.0, 2.0]
    """
    s = np.asarray(step, dtype=float)
    if (s < 0).any():
        raise ValueError(f"optimization distance needs steps >= 0, got {s[s < 0][:3].tolist()}")
    return np.sqrt(s / STEPS_PER_DISTANCE_UNIT)


def overoptimization_curve(d: ArrayLike, g0: float, alpha: float, beta: float, form: FitForm = "rl") -> np.ndarray:
    """Gao et al.'s gold score at distance ``d``, plus the initial policy's gold ``g0``.

    ``form="rl"``: ``g0 + d * (alpha - beta * log d)`` (their RL form, which peaks at
    ``d = exp(alpha / beta - 1)`` for ``beta > 0``); ``form="bon"``: ``g0 + d * (alpha - beta * d)``
    (best-of-n, peak at ``alpha / (2 beta)``). ``d log d`` is taken as 0 at ``d = 0``.

    Example:
        >>> overoptimization_curve([0.0, 1.0], g0=5.0, alpha=2.0, beta=1.0).tolist()
        [5.0, 7.0]
    """
    from scipy.special import xlogy

    d = np.asarray(d, dtype=float)
    if form == "rl":
        return g0 + alpha * d - beta * xlogy(d, d)
    if form == "bon":
        return g0 + alpha * d - beta * d * d
    raise ValueError(f"overoptimization form must be 'rl' or 'bon', got {form!r}")


def _fit_one(d: np.ndarray, gold: np.ndarray, form: FitForm) -> dict[str, float | str]:
    # The model is linear in (g0, alpha, beta): least squares gives the exact starting point, and
    # curve_fit adds the parameter covariance (standard errors).
    from scipy.optimize import curve_fit
    from scipy.special import xlogy

    basis = np.stack([np.ones_like(d), d, -(xlogy(d, d) if form == "rl" else d * d)], axis=1)
    if np.unique(d).size < 3 or np.linalg.matrix_rank(basis) < 3:
        return {"status": "too few distinct steps (need 3)"}
    start = np.linalg.lstsq(basis, gold, rcond=None)[0]
    params, cov = curve_fit(lambda x, g0, a, b: overoptimization_curve(x, g0, a, b, form), d, gold, p0=start)
    residual = gold - overoptimization_curve(d, params[0], params[1], params[2], form=form)
    total = ((gold - gold.mean()) ** 2).sum()
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None)) if np.isfinite(cov).all() else np.full(3, math.nan)
    g0, alpha, beta = (float(v) for v in params)
    if beta > 0:
        d_peak = math.exp(alpha / beta - 1.0) if form == "rl" else alpha / (2.0 * beta)
        d_peak = max(d_peak, 0.0)
    else:
        d_peak = math.inf  # no overoptimization within the model: gold never turns down
    return {
        "status": "ok",
        "g0": g0,
        "alpha": alpha,
        "beta": beta,
        "alpha_se": float(se[1]),
        "beta_se": float(se[2]),
        "r2": float(1.0 - (residual**2).sum() / total) if total > 0 else math.nan,
        "d_peak": d_peak,
        "step_peak": d_peak**2 * STEPS_PER_DISTANCE_UNIT,
    }


def fit_overoptimization(
    trials: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    form: FitForm = "rl",
    rewards: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Fit gold against optimization distance for each ``(env, reward, agent)``, after Gao et al. 2022.

    Fits ``gold(d) = g0 + d * (alpha - beta * log d)`` (``form="rl"``, the paper's RL form;
    ``"bon"`` fits their best-of-n form) by least squares (``scipy.optimize.curve_fit``) to the
    evaluation gold of every seed of the cell, pooled, at ``d = optimization_distance(step)``.
    ``g0``, the initial policy's gold, is fitted too, since a sweep need not evaluate at step 0.
    Positive ``beta`` means gold turns down at ``d_peak``; ``step_peak`` is that distance in steps.
    ``rewards`` defaults to the learned regimes of the sweep (:func:`is_learned`), where
    overoptimization of a reward model is the paper's subject. Columns: ``env, reward, agent,
    form, runs, points, status, g0, alpha, beta, alpha_se, beta_se, r2, d_peak, step_peak``.
    """
    if form not in ("rl", "bon"):
        raise ValueError(f"overoptimization form must be 'rl' or 'bon', got {form!r}")
    points = curve_points(trials, curves).dropna(subset=["eval_gold"])
    # astype(bool): an empty object Series would index columns instead of rows.
    wanted = points["reward"].map(is_learned) if rewards is None else points["reward"].isin(list(rewards))
    wanted = wanted.astype(bool)
    rows = []
    for key, cell in points[wanted].groupby(GROUP, sort=True):
        d = optimization_distance(cell["step"].to_numpy())
        fit = _fit_one(d, cell["eval_gold"].to_numpy(), form)
        rows.append(
            {**dict(zip(GROUP, key)), "form": form, "runs": cell["trial_id"].nunique(), "points": len(cell), **fit}
        )
    columns = [
        *GROUP,
        "form",
        "runs",
        "points",
        "status",
        "g0",
        "alpha",
        "beta",
        "alpha_se",
        "beta_se",
        "r2",
        "d_peak",
        "step_peak",
    ]
    return pd.DataFrame(rows, columns=columns)


def _require_columns(frame: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} table lacks columns {missing}; it has {list(frame.columns)}")
