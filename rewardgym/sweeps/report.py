"""The sweep report: ``rewardgym report RUN_DIR`` writes ``RUN_DIR/report.md`` and ``RUN_DIR/plots/``.

The report reads the sweep's results store (``RUN_DIR/results.sqlite``) and holds, in order: what
the sweep found (a few bullets written from the results, :func:`findings`), an overview, the
summary table (IQM and bootstrap CI of final gold, proxy and gap per env, regime
and agent), for a sweep with multi-agent games a table per game (each player's proxy, the
welfare and the gap, per reward mode and regime) and what the results say about the welfare lost
under private rewards (:func:`welfare_paragraph`), the regime ranking (per env, and across envs
on normalized gold), the hacking flags, the overoptimization fit of learned regimes, the plots,
the failed trials, and how every number was computed. :func:`summary_table` renders the summary
for the terminal, as ``rewardgym sweep`` prints it at the end (and :func:`games_table` the games').

A multi-agent game played under several reward modes counts, in every table but its own, as one
env per mode, labelled ``"PublicGoods-v0 (private)"`` (:func:`rewardgym.sweeps.multiagent.label_reward_modes`).

Example:
    >>> import tempfile
    >>> from rewardgym.sweeps.store import ResultsStore, TrialRecord
    >>> run_dir = tempfile.mkdtemp()
    >>> with ResultsStore(run_dir) as store:
    ...     for seed in range(3):
    ...         store.record(TrialRecord(trial_id=f"t{seed}", env="rewardgym/CartPole-v0", reward="none",
    ...             agent="ppo", algo="ppo", seed=seed, total_steps=100, status="done",
    ...             final_proxy=20.0 + seed, final_gold=20.0 + seed,
    ...             curves=[{"step": 100, "eval_proxy": 20.0 + seed, "eval_gold": 20.0 + seed}]))
    >>> path = write_report(run_dir, reps=100, plots=False)
    >>> path.name, "## Summary" in path.read_text()
    ('report.md', True)
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

from rewardgym.core.spec import NO_REGIME
from rewardgym.envs.multiagent import game_of
from rewardgym.sweeps import stats
from rewardgym.sweeps.multiagent import label_reward_modes, summarize_games, welfare_loss
from rewardgym.sweeps.store import STORE_FILE, ResultsStore, StoreError

__all__ = [
    "REPORT_FILE",
    "SweepStats",
    "compute_stats",
    "configure_parser",
    "findings",
    "games_table",
    "load_results",
    "render_report",
    "run_from_args",
    "summary_table",
    "summary_text",
    "terminal_games",
    "terminal_summary",
    "welfare_paragraph",
    "write_report",
]

REPORT_FILE = "report.md"
PLOTS_DIR = "plots"


@dataclass
class SweepStats:
    """Every statistic of a sweep, computed once and shared by the report, the plots and the terminal.

    ``summary`` is :func:`stats.summarize` with ``rank`` and ``separated`` from
    :func:`stats.rank_regimes` and ``hacked`` counts; ``aggregate`` is
    :func:`stats.aggregate_ranking`; ``flags`` is :func:`stats.hacking_flags`; ``fits`` is
    :func:`stats.fit_overoptimization`; ``curves`` is :func:`stats.curve_summary`; ``games`` is
    :func:`rewardgym.sweeps.multiagent.summarize_games` (empty without a multi-agent game).
    """

    summary: pd.DataFrame
    aggregate: pd.DataFrame
    flags: pd.DataFrame
    fits: pd.DataFrame
    curves: pd.DataFrame
    reps: int
    confidence: float
    seed: int
    games: pd.DataFrame = field(default_factory=pd.DataFrame)


def load_results(run_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``trials`` and ``curves`` tables of the sweep in ``run_dir``.

    Raises:
        FileNotFoundError: when ``run_dir`` holds no results store (it is not created here).
        StoreError: when the store is corrupt or another program's database (left untouched).
    """
    path = Path(run_dir) / STORE_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"no sweep results in {str(run_dir)!r}: {path} does not exist; pass the run folder that "
            f"'rewardgym sweep' wrote (it holds {STORE_FILE})"
        )
    with ResultsStore(path) as store:
        return store.trials(), store.curves()


def compute_stats(
    trials: pd.DataFrame, curves: pd.DataFrame, *, reps: int = 2000, confidence: float = 0.95, seed: int = 0
) -> SweepStats:
    """All of a sweep's statistics from its two tables (see :class:`SweepStats`).

    A multi-agent game's reward modes are separate cells (:func:`label_reward_modes`).
    """
    kw: dict[str, Any] = {"reps": reps, "confidence": confidence, "seed": seed}
    trials = label_reward_modes(trials)
    summary, flags = _ranked_summary(trials, curves, **kw)
    return SweepStats(
        summary=summary,
        aggregate=stats.aggregate_ranking(trials, **kw),
        flags=flags,
        fits=stats.fit_overoptimization(trials, curves),
        curves=stats.curve_summary(trials, curves, **kw),
        reps=reps,
        confidence=confidence,
        seed=seed,
        games=summarize_games(trials, curves, **kw),
    )


def _ranked_summary(
    trials: pd.DataFrame, curves: pd.DataFrame, *, reps: int, confidence: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    flags = stats.hacking_flags(trials, curves)
    # With the curves, summarize counts the hacked runs of each cell too.
    summary = stats.rank_regimes(stats.summarize(trials, curves, reps=reps, confidence=confidence, seed=seed))
    summary["hacked"] = summary["hacked"].fillna(0).astype(int)
    return summary.sort_values(["env", "agent", "rank", "reward"], ignore_index=True), flags


# --------------------------------------------------------------------------------------------
# Terminal


def summary_table(summary: pd.DataFrame, *, confidence: float = 0.95, title: str | None = None) -> Table:
    """The sweep's main table for the terminal: a ``rich`` Table, one row per env, regime and agent.

    ``summary`` is :attr:`SweepStats.summary` (or :func:`stats.summarize`'s table; ``rank`` and
    ``hacked`` columns are shown when present). Print it with ``rich.console.Console().print``.
    Compact, to fit 80 columns: each env heads its rows, the agent column appears only when the
    sweep has several agents, ``done`` is finished over all runs, and the gap shows its IQM only
    (its CI is in the report).
    """
    table = Table(
        title=title or f"Final returns: IQM [{confidence:.0%} CI] over seeds",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    several_agents = summary["agent"].nunique() > 1
    table.add_column("reward", min_width=12, overflow="fold")
    if several_agents:
        table.add_column("agent", min_width=5, overflow="fold")
    table.add_column("done", justify="right", no_wrap=True)
    table.add_column("gold", justify="right", no_wrap=True)
    table.add_column("proxy", justify="right", no_wrap=True)
    table.add_column("gap", justify="right", no_wrap=True)
    has_hacked, has_rank = "hacked" in summary, "rank" in summary
    if has_hacked:
        table.add_column("hacked", justify="right", no_wrap=True)
    if has_rank:
        table.add_column("rank", justify="right", no_wrap=True)
    width = len(table.columns)
    for env, cell in summary.groupby("env", sort=False):
        table.add_row(f"[bold]{_short_env(env)}[/bold]", *[""] * (width - 1))
        for row in cell.itertuples(index=False):
            cells = [row.reward] + ([row.agent] if several_agents else [])
            cells += [
                f"{row.runs}/{row.runs + getattr(row, 'failed', 0)}",
                _ci(row, "gold"),
                _ci(row, "proxy"),
                _num(row.gap_iqm),
            ]
            if has_hacked:
                cells.append(f"{row.hacked}/{row.runs}" if row.hacked else "-")
            if has_rank:
                cells.append("-" if pd.isna(row.rank) else str(row.rank))
            table.add_row(*cells)
        table.rows[-1].end_section = True
    return table


def summary_text(summary: pd.DataFrame, *, confidence: float = 0.95, width: int = 120) -> str:
    """:func:`summary_table` as plain text (no colour codes), e.g. for a log or the README."""
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, force_terminal=False).print(
        summary_table(summary, confidence=confidence)
    )
    return buffer.getvalue()


def terminal_summary(run_dir: str | Path, *, reps: int = 2000, confidence: float = 0.95, seed: int = 0) -> Table:
    """The summary table of the sweep in ``run_dir``, ready for ``Console().print``.

    Computes only what the table shows (summary, ranks, hacking counts), a fraction of a second
    for a sweep of dozens of trials, so a sweep can call it after :func:`write_report`.
    """
    trials, curves = load_results(run_dir)
    trials = label_reward_modes(trials)
    return summary_table(
        _ranked_summary(trials, curves, reps=reps, confidence=confidence, seed=seed)[0], confidence=confidence
    )


def games_table(games: pd.DataFrame, *, confidence: float = 0.95) -> Table:
    """One multi-agent game for the terminal: a row per reward mode and regime (and agent).

    ``games`` is one game's rows of :attr:`SweepStats.games`. Columns: each player's final proxy
    (IQM over seeds; ``p0`` is ``player_0``), the welfare (gold: the sum of the players' payoffs)
    with its CI, and the gap's IQM (the mean player's proxy minus its share of the welfare). The
    game is the title, so that its rows fit 80 columns.
    """
    game = str(games["game"].iloc[0])
    table = Table(
        title=f"{_short_env(game)}: final returns by reward mode, IQM [{confidence:.0%} CI] over seeds",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    several_agents = games["agent"].nunique() > 1
    players = _players(games)
    table.add_column("mode", no_wrap=True)
    table.add_column("reward", min_width=8, overflow="fold")
    if several_agents:
        table.add_column("agent", min_width=5, overflow="fold")
    table.add_column("done", justify="right", no_wrap=True)
    for player in players:
        table.add_column(_player_label(player), justify="right", no_wrap=True)
    table.add_column("welfare", justify="right", no_wrap=True)
    table.add_column("gap", justify="right", no_wrap=True)
    for _, row in games.iterrows():  # a Series per row: the players' column names hold a "/"
        cells = [str(row["reward_mode"]), str(row["reward"])] + ([str(row["agent"])] if several_agents else [])
        cells.append(f"{row['runs']}/{row['runs'] + row['failed']}")
        cells += [_num(row[f"proxy/{p}_iqm"]) for p in players]
        cells += [_ci(row, "welfare"), _num(row["gap_iqm"])]
        table.add_row(*cells)
    return table


def terminal_games(run_dir: str | Path, *, reps: int = 2000, confidence: float = 0.95, seed: int = 0) -> list[Table]:
    """:func:`games_table` of each multi-agent game of the sweep in ``run_dir`` (none without one)."""
    trials, curves = load_results(run_dir)
    games = summarize_games(trials, curves, reps=reps, confidence=confidence, seed=seed)
    return [games_table(cell, confidence=confidence) for _, cell in games.groupby("game", sort=False)]


def _short_env(env: str) -> str:
    # The namespace is the same on every row; dropping it keeps the tables narrow.
    return env[len("rewardgym/") :] if env.startswith("rewardgym/") else env


# --------------------------------------------------------------------------------------------
# Findings


def findings(sweep: SweepStats, baseline: str = NO_REGIME) -> list[str]:
    """The report's opening: what the sweep found, written from its statistics, as Markdown lines.

    One bullet per env (and agent, when the sweep has several): which regimes **helped** or
    **hurt** final gold against ``baseline`` (the env's own reward, ``"none"``), judged by the
    gold CIs (a regime helped when its CI lies wholly above the baseline's, hurt when wholly
    below, and is within noise otherwise), which regimes had runs flagged as **hacked** (how many
    of their finished runs, and the median relative rise of proxy and fall of gold that the flags
    measured), and each **overoptimization fit** that converged (where gold turns down).
    Failed runs are counted; a missing baseline, an all-failed regime and empty tables are said
    as such rather than skipped.

    Example:
        >>> import pandas as pd
        >>> trials = pd.DataFrame({"trial_id": [f"t{i}" for i in range(6)], "env": "rewardgym/CartPole-v0",
        ...     "reward": ["none"] * 3 + ["shaped"] * 3, "agent": "ppo", "seed": [0, 1, 2] * 2,
        ...     "status": "done", "final_gold": [20.0, 22.0, 24.0, 90.0, 95.0, 100.0],
        ...     "final_proxy": [20.0, 22.0, 24.0, 91.0, 96.0, 99.0]})
        >>> curves = pd.DataFrame(columns=["trial_id", "step", "eval_proxy", "eval_gold", "train_proxy",
        ...                                "train_gold"])
        >>> print("\\n".join(findings(compute_stats(trials, curves, reps=100))))
        - `CartPole-v0`: final gold against `none` (22.0): `shaped` (95.0) helped. Hacking: too few evaluations to judge.
        <BLANKLINE>
    """
    summary, flags, fits = sweep.summary, sweep.flags, sweep.fits
    if summary.empty or not (summary["runs"] > 0).any():
        return ["No run finished: there is nothing to report yet.", ""]
    several_agents = summary["agent"].nunique() > 1
    lines = []
    for (env, agent), cell in summary.groupby(["env", "agent"], sort=True):
        label = f"`{_short_env(env)}`" + (f", `{agent}`" if several_agents else "")
        failed = int(cell["failed"].sum())
        if failed:
            label += f" ({failed} failed run{'s' if failed > 1 else ''})"
        parts = [_gold_against_baseline(cell, baseline)]
        parts.append(_hacking(flags[(flags["env"] == env) & (flags["agent"] == agent)], cell))
        fitted = fits[(fits["env"] == env) & (fits["agent"] == agent) & (fits["status"] == "ok")]
        parts += [_fit(fit) for fit in fitted.itertuples(index=False)]
        lines.append(f"- {label}: " + " ".join(part for part in parts if part))
    for game in sweep.games["game"].unique() if not sweep.games.empty else []:
        said = _welfare_findings(sweep.games[sweep.games["game"] == game])
        if said:
            lines.append(f"- `{_short_env(game)}`, welfare under private against cooperative rewards: {said}")
    return lines + [""]


def _welfare_findings(cell: pd.DataFrame) -> str:
    """One game's welfare under private rewards against cooperative ones, per regime, in a sentence."""
    losses = welfare_loss(cell)
    if losses.empty:
        return ""
    several_agents = cell["agent"].nunique() > 1
    scripted = set(cell.loc[cell["algo"].map(_scripted), "agent"]) if "algo" in cell else set()
    said = []
    for r in losses.itertuples(index=False):
        if r.agent in scripted:  # plays the same whatever it is paid: no finding about the modes
            continue
        name = f"`{r.reward}`" + (f" (`{r.agent}`)" if several_agents else "")
        what = {"loss": f"lost {_share(r.loss)}", "gain": f"gained {_share(-r.loss)}"}.get(r.verdict, "within noise")
        said.append(f"{name} {what} ({_num(r.mode_iqm)} against {_num(r.against_iqm)})")
    return "; ".join(said) + "." if said else ""


def _gold_against_baseline(cell: pd.DataFrame, baseline: str) -> str:
    """Which regimes of one env helped or hurt final gold against the baseline's, by their CIs."""
    scored = cell[cell["runs"] > 0].sort_values("gold_iqm", ascending=False)
    unscored = cell.loc[cell["runs"] == 0, "reward"].tolist()
    lost = f" No finished run of {_join([f'`{r}`' for r in unscored])}." if unscored else ""
    if scored.empty:
        return "no run finished."
    base = scored[scored["reward"] == baseline]
    others = scored[scored["reward"] != baseline]
    if others.empty:
        return ("only the baseline finished." if len(base) else "no regime to compare.") + lost
    if base.empty or pd.isna(base["gold_iqm"].iloc[0]):
        best = others.iloc[0]
        return f"no finished `{baseline}` run to compare gold against; best gold: `{best['reward']}` ({_num(best['gold_iqm'])}).{lost}"
    ref = base.iloc[0]
    verdicts: dict[str, list[str]] = {"helped": [], "within noise": [], "hurt": []}
    for r in others.itertuples(index=False):
        # Separated CIs, as the ranking's `>`: a conservative call (overlapping CIs can still differ).
        verdict = (
            "helped" if r.gold_low > ref["gold_high"] else "hurt" if r.gold_high < ref["gold_low"] else "within noise"
        )
        verdicts[verdict].append(f"`{r.reward}` ({_num(r.gold_iqm)})")
    said = [f"{_join(names)} {verdict}" for verdict, names in verdicts.items() if names]
    return f"final gold against `{baseline}` ({_num(ref['gold_iqm'])}): {'; '.join(said)}.{lost}"


def _hacking(flags: pd.DataFrame, cell: pd.DataFrame) -> str:
    """How many runs of each regime of one env were flagged as hacked, and by how much."""
    if flags.empty:
        return ""
    judged = flags[flags["reason"] != "too few points"]
    if judged.empty:
        return "Hacking: too few evaluations to judge."
    hacked = judged[judged["hacked"].astype(bool)]
    if hacked.empty:
        return f"No run flagged as hacked ({len(judged)} judged)."
    said = []
    for reward, runs in hacked.groupby("reward", sort=True):
        # The changes of the segment that raised each flag (the whole run, else its second half).
        whole = runs["reason"] == "whole run"
        proxy = runs["proxy_change"].where(whole, runs["late_proxy_change"]).median()
        gold = runs["gold_change"].where(whole, runs["late_gold_change"]).median()
        finished = int(cell.loc[cell["reward"] == reward, "runs"].sum())
        said.append(f"`{reward}` in {len(runs)} of {finished} runs (proxy {_pct(proxy)}, gold {_pct(gold)})")
    return f"Flagged as hacked: {'; '.join(said)}."


def _fit(fit: Any) -> str:
    """One converged overoptimization fit: where gold turns down, if it does."""
    beta = _pm(fit.beta, fit.beta_se)
    if fit.beta > 0 and math.isfinite(fit.step_peak):
        return (
            f"Overoptimization fit of `{fit.reward}`: gold turns down near step {_steps(fit.step_peak)} (beta {beta})."
        )
    return f"Overoptimization fit of `{fit.reward}`: no downturn (beta {beta})."


def _join(names: Sequence[str]) -> str:
    return ", ".join(names)


# --------------------------------------------------------------------------------------------
# Markdown


def render_report(
    trials: pd.DataFrame,
    sweep: SweepStats,
    *,
    title: str = "Sweep report",
    plot_paths: dict[str, list[Path]] | None = None,
    base: Path | None = None,
) -> str:
    """The report's Markdown; plot links are written relative to ``base`` (the run folder)."""
    conf = f"{sweep.confidence:.0%}"
    done = trials[trials["status"] == "done"]
    failed = trials[trials["status"] != "done"]
    out: list[str] = [f"# {title}", ""]

    out += ["## What this sweep found", ""]
    out += findings(sweep)

    out += ["## Overview", ""]
    out += [
        f"- trials: {len(trials)} ({len(done)} done, {len(failed)} failed)",
        f"- envs: {', '.join(f'`{e}`' for e in sorted(trials['env'].unique()))}",
        f"- rewards: {', '.join(f'`{r}`' for r in sorted(trials['reward'].unique()))}",
        f"- agents: {', '.join(f'`{a}` ({algo})' for a, algo in _agents(trials))}",
        f"- seeds: {', '.join(str(s) for s in sorted(trials['seed'].unique()))}",
        f"- training time, summed over trials: {_duration(done['wall_s'].sum())}",
        "",
    ]

    out += ["## Summary", ""]
    out += [
        f"Final evaluation returns, IQM over seeds with {conf} bootstrap CI. The gap is proxy minus gold "
        "per run (its IQM is not the difference of the two IQMs). Evaluation pays the proxy with the "
        "training regimes as they stand at that evaluation, frozen, so a reward that learns during "
        "training (`learned(kind='online')`, `intrinsic`) is scored as trained. `hacked` counts runs "
        "with a hacking flag; `rank` orders regimes by gold IQM within an env and agent.",
        "",
    ]
    rows = [
        [
            f"`{_short_env(r.env)}`",
            f"`{r.reward}`",
            f"`{r.agent}`",
            _runs(r),
            _ci(r, "gold"),
            _ci(r, "proxy"),
            _ci(r, "gap"),
            f"{r.hacked}/{r.runs}",
            "-" if pd.isna(r.rank) else str(r.rank),
        ]
        for r in sweep.summary.itertuples(index=False)
    ]
    out += _markdown(["env", "reward", "agent", "runs", "gold", "proxy", "gap", "hacked", "rank"], rows)

    if not sweep.games.empty:
        out += _games_section(sweep.games, conf)

    out += ["## Regime ranking", ""]
    out += [
        f"### Per env (by gold IQM; `>`: the gold {conf} CI lies wholly above the next regime's, `≈`: they overlap)",
        "",
    ]
    for (env, agent), cell in sweep.summary.groupby(["env", "agent"], sort=True):
        order = []
        for r in cell.itertuples(index=False):
            order.append(f"`{r.reward}` ({_num(r.gold_iqm)})")
            order.append(">" if r.separated else "≈")
        out.append(f"- `{_short_env(env)}`, `{agent}`: {' '.join(order[:-1])}")
    out.append("")
    if trials["env"].nunique() > 1 and not sweep.aggregate.empty:
        out += ["### Across envs (normalized gold)", ""]
        out += [
            "Final gold is min-max normalized per env over every finished run of the sweep (0 = the "
            "env's worst run, 1 = its best), so envs with unrelated return scales can be pooled; the "
            "transform keeps each env's order, and scores compare regimes within this sweep only. "
            f"IQM over all runs of all envs, {conf} CI from a bootstrap stratified by env (rliable's "
            "aggregate IQM).",
            "",
        ]
        rows = [
            [str(r.rank), f"`{r.reward}`", f"`{r.agent}`", str(r.envs), str(r.runs), _ci(r, "score", 3)]
            for r in sweep.aggregate.itertuples(index=False)
        ]
        out += _markdown(["rank", "reward", "agent", "envs", "runs", "normalized gold"], rows)

    out += ["## Reward hacking flags", ""]
    flagged = sweep.flags[sweep.flags["hacked"].astype(bool)]
    out += [
        "A run is flagged when its proxy rose while its gold fell over training: on its evaluation "
        "curve (training-episode means when it has fewer than 4 evaluations), the least-squares "
        "change of proxy against steps exceeds +5% of the proxy's largest |value| in the run and "
        "gold's is below -5% of gold's, over the whole run or over its second half (which catches "
        "gold rising and then falling while proxy keeps rising). Runs with fewer than 4 finite "
        "points are not judged.",
        "",
        f"{len(flagged)} of {len(sweep.flags)} finished runs flagged"
        f" ({int((sweep.flags['reason'] == 'too few points').sum())} had too few points to judge).",
        "",
    ]
    if len(flagged):
        rows = [
            [
                f"`{_short_env(f.env)}`",
                f"`{f.reward}`",
                f"`{f.agent}`",
                str(f.seed),
                f.reason,
                f.source,
                _pct(f.proxy_change),
                _pct(f.gold_change),
                _pct(f.late_proxy_change),
                _pct(f.late_gold_change),
            ]
            for f in flagged.itertuples(index=False)
        ]
        out += _markdown(
            [
                "env",
                "reward",
                "agent",
                "seed",
                "where",
                "curve",
                "proxy change",
                "gold change",
                "late proxy",
                "late gold",
            ],
            rows,
        )

    out += ["## Overoptimization fit", ""]
    out += [
        'After Gao, Schulman & Hilton (2022), "Scaling Laws for Reward Model Overoptimization": gold is '
        "fitted as a function of optimization distance with their RL form, "
        "`gold(d) = g0 + d (alpha - beta log d)`, by least squares (`scipy.optimize.curve_fit`) over the "
        "evaluation points of every seed. The paper's `d = sqrt(KL(pi || pi_init))` is not recorded for "
        f"every agent here, so `d = sqrt(steps / {stats.STEPS_PER_DISTANCE_UNIT:g})`: if each PPO-style "
        "update moves the policy by a bounded KL and successive moves were independent, KL from the "
        "initial policy would grow linearly in steps. `g0`, the initial policy's gold, is fitted too. "
        "`beta > 0` means gold turns down, at `d_peak = exp(alpha / beta - 1)` (`step_peak` in steps). "
        "Fitted for the learned regimes of the grid (reward specs starting with `learned`).",
        "",
    ]
    if sweep.fits.empty:
        out += ["No learned regime in this grid: nothing to fit.", ""]
    else:
        rows = [
            [
                f"`{_short_env(f.env)}`",
                f"`{f.reward}`",
                f"`{f.agent}`",
                str(f.runs),
                str(f.points),
                f.status,
                _pm(f.alpha, f.alpha_se),
                _pm(f.beta, f.beta_se),
                _num(f.g0),
                _num(f.r2, 3),
                _steps(f.step_peak),
            ]
            for f in sweep.fits.itertuples(index=False)
        ]
        out += _markdown(
            ["env", "reward", "agent", "runs", "points", "fit", "alpha", "beta", "g0", "R²", "step_peak"], rows
        )

    out += ["## Plots", ""]
    captions = {
        "curves": "Learning curves (gold and proxy, IQM over seeds with CI bands)",
        "bars": "Final returns by regime (IQM with CI)",
        "overoptimization": "Gold against proxy over training",
        "fits": "Overoptimization fit (gold against optimization distance)",
    }
    if plot_paths is None:
        out += ["Plots were not drawn for this report.", ""]
    elif not any(plot_paths.values()):
        out += ["No finished run to plot.", ""]
    for kind, paths in (plot_paths or {}).items():
        for path in paths:
            link = path.relative_to(base).as_posix() if base is not None else path.as_posix()
            out += [f"### {captions.get(kind, kind)}: {path.stem}", "", f"![{path.stem}]({link})", ""]

    out += ["## Failed trials", ""]
    if failed.empty:
        out += ["None.", ""]
    else:
        rows = [
            [
                f"`{t.trial_id}`",
                f"`{_short_env(t.env)}`",
                f"`{t.reward}`",
                f"`{t.agent}`",
                str(t.seed),
                _first_error_line(t.error),
            ]
            for t in failed.itertuples(index=False)
        ]
        out += _markdown(["trial", "env", "reward", "agent", "seed", "error"], rows)

    out += ["## Method", ""]
    out += [
        "- A run's score is its last evaluation (mean return over the evaluation episodes on fixed "
        "seeds). Runs are the seeds of one env, reward and agent.",
        "- IQM: the mean of the middle 50% of runs, `scipy.stats.trim_mean(x, 0.25)` as in rliable "
        "(Agarwal et al. 2021); with fewer than 4 runs nothing is trimmed.",
        f"- CIs: percentile bootstrap, {sweep.reps} resamples of runs with replacement within each "
        f"stratum (env), seed {sweep.seed}. rliable itself is not used: its dependency `arch` breaks "
        "with pandas 3; the estimators are reimplemented in `rewardgym.sweeps.stats`.",
        "",
    ]
    return "\n".join(out)


def _games_section(games: pd.DataFrame, conf: str) -> list[str]:
    """The report's multi-agent section: a table per game and what it says about welfare."""
    out = ["## Multi-agent games", ""]
    out += [
        "A game's reward mode sets what each player is paid from the round's payoffs: `private`, its "
        "own payoff; `integrated`, its own plus a weight times the others'; `cooperative`, the "
        "group's welfare (every payoff summed). Gold is the welfare: each player's gold is its equal "
        "share, and the `welfare` column is the group's whole welfare return per episode. Rows are "
        "reward mode x reward regime; each player's column is its final proxy return (IQM over "
        f"seeds), `welfare` and `gap` (the mean player's proxy minus its gold share) have {conf} "
        "bootstrap CIs. Under `cooperative` every player is paid the whole welfare, so with the "
        "game's own reward its gap is (n - 1) / n of the welfare by construction, not hacking; under "
        "`private` the players' proxies sum to the welfare and the gap is 0, and their spread shows "
        "who gained at the others' cost.",
        "",
    ]
    several_agents = games["agent"].nunique() > 1
    for game, cell in games.groupby("game", sort=False):
        players = _players(cell)
        out += [f"### {_short_env(game)}", ""]
        headers = ["reward mode", "reward"] + (["agent"] if several_agents else []) + ["runs"]
        headers += [f"{_player_label(p)} proxy" for p in players] + ["welfare (gold)", "gap"]
        rows = []
        for _, r in cell.iterrows():  # a Series per row: the players' column names hold a "/"
            row = [f"`{r['reward_mode']}`", f"`{r['reward']}`"] + ([f"`{r['agent']}`"] if several_agents else [])
            row += [_runs(r)] + [_num(r[f"proxy/{p}_iqm"]) for p in players]
            rows.append(row + [_ci(r, "welfare"), _ci(r, "gap")])
        out += _markdown(headers, rows)
        out += [welfare_paragraph(cell), ""]
    return out


def welfare_paragraph(games: pd.DataFrame) -> str:
    """What one game's results say about the welfare lost under private rewards, as Markdown.

    ``games`` is one game's rows of :attr:`SweepStats.games`. For each regime (and agent) with
    finished runs under both ``private`` and ``cooperative`` rewards, it says whether private
    rewards lost welfare against cooperative ones, judged by the welfare CIs (a loss when
    private's CI lies wholly below cooperative's, within noise when they overlap), how large the
    loss is, how far apart the players' private proxies are, and how much of the loss
    ``integrated`` rewards recovered where the sweep has them. A loss is explained by the game's
    own dilemma (:attr:`rewardgym.envs.multiagent.MultiAgentGame.dilemma`); where the data shows
    no loss, or lacks one of the two modes, the paragraph says so.

    Example:
        >>> games = pd.DataFrame({"game": "rewardgym/PublicGoods-v0", "reward": "none", "agent": "ppo",
        ...     "runs": 3, "reward_mode": ["private", "cooperative"], "welfare_iqm": [200.0, 310.0],
        ...     "welfare_low": [195.0, 300.0], "welfare_high": [210.0, 320.0], "gold_iqm": [50.0, 77.5]})
        >>> print(welfare_paragraph(games))  # doctest: +NORMALIZE_WHITESPACE
        Welfare under private rewards against cooperative ones. `none`: private rewards lost 35% of the
        welfare that cooperative rewards reached (200 [195, 210] against 310 [300, 320]; the CIs do not
        overlap), and each player's share of it fell from 77.5 to 50.0. Why: in PublicGoods,
        defecting pays each agent more whatever the others do, yet all contributing gives the group
        multiplier x the welfare of all defecting; a player paid its own payoff gains by that move,
        while its cost falls on the group.
    """
    game = str(games["game"].iloc[0])
    modes = set(games.loc[games["runs"] > 0, "reward_mode"])
    missing = [m for m in ("private", "cooperative") if m not in modes]
    if missing:
        return (
            f"No welfare comparison of private and cooperative rewards: this sweep has no finished "
            f"{' or '.join(f'`{m}`' for m in missing)} run of this game (add it to `reward_modes`)."
        )
    losses = welfare_loss(games)
    several_agents = games["agent"].nunique() > 1
    by_cell = {(r["reward"], r["agent"], r["reward_mode"]): r for _, r in games.iterrows()}
    said, lost = [], False
    for r in losses.itertuples(index=False):
        name = f"`{r.reward}`" + (f" (`{r.agent}`)" if several_agents else "")
        private, cooperative = by_cell[(r.reward, r.agent, "private")], by_cell[(r.reward, r.agent, "cooperative")]
        if _scripted(private.get("algo")):
            said.append(
                f"{name}: `{private['algo']}` is a scripted policy, which plays the same whatever it is paid: "
                f"its welfare ({_num(r.mode_iqm)} under private, {_num(r.against_iqm)} under cooperative rewards) "
                "is a reference point for the learners, not a test of the modes."
            )
            continue
        both = (
            f"{_ci3(r.mode_iqm, r.mode_low, r.mode_high)} against {_ci3(r.against_iqm, r.against_low, r.against_high)}"
        )
        if r.verdict == "loss":
            lost = True
            text = (
                f"{name}: private rewards lost {_share(r.loss)} of the welfare that cooperative rewards "
                f"reached ({both}; the CIs do not overlap), and each player's share of it fell from "
                f"{_num(cooperative.get('gold_iqm', math.nan))} to {_num(private.get('gold_iqm', math.nan))}"
            )
            text += _spread(private)
            if not math.isnan(r.recovered):
                text += f"; integrated rewards recovered {_share(r.recovered)} of the loss"
            said.append(text + ".")
        elif r.verdict == "gain":
            said.append(
                f"{name}: private rewards reached more welfare than cooperative ones ({both}): the data "
                "shows no welfare loss from private rewards here. Cooperative pay makes each player's "
                "reward mostly the others' doing (credit assignment across players is harder), which can "
                "slow its learning."
            )
        else:
            said.append(
                f"{name}: the welfare under private and cooperative rewards is within noise ({both}; the "
                "CIs overlap): the data does not show a welfare loss from private rewards (more seeds or "
                "longer training may)."
            )
    if not said:
        return "No regime has finished runs under both private and cooperative rewards: nothing to compare."
    text = "Welfare under private rewards against cooperative ones. " + " ".join(said)
    if lost:
        text += (
            f" Why: in {_short_env(game).removesuffix('-v0')}, {_dilemma(game)}; a player paid its own payoff "
            "gains by that move, while its cost falls on the group."
        )
    return text


def write_report(
    run_dir: str | Path,
    *,
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    plots: bool = True,
) -> Path:
    """Write ``run_dir/report.md`` (and the PNGs in ``run_dir/plots/``) from ``run_dir/results.sqlite``.

    Returns the report's path. ``plots=False`` skips the figures (the report says so).
    """
    from rewardgym.sweeps import (
        plots as sweep_plots,  # matplotlib is slow to import: only when drawing
    )

    run_dir = Path(run_dir)
    trials, curves = load_results(run_dir)
    trials = label_reward_modes(trials)  # each reward mode of a game is an env of its own here
    if trials.empty:
        raise StoreError(f"the results store in {str(run_dir)!r} holds no trials yet; run the sweep first")
    sweep = compute_stats(trials, curves, reps=reps, confidence=confidence, seed=seed)
    plot_paths = None
    if plots:
        plot_paths = sweep_plots.make_plots(
            trials,
            curves,
            run_dir / PLOTS_DIR,
            summary=sweep.summary,
            ranking=sweep.aggregate,
            fits=sweep.fits,
            curve_stats=sweep.curves,
            reps=reps,
            confidence=confidence,
            seed=seed,
        )
    text = render_report(
        trials, sweep, title=f"Sweep report: {run_dir.resolve().name}", plot_paths=plot_paths, base=run_dir
    )
    path = run_dir / REPORT_FILE
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# Command line


def configure_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``rewardgym report``'s arguments to ``parser``."""
    parser.add_argument("run_dir", type=Path, help="the sweep's run folder (holds results.sqlite)")
    parser.add_argument("--reps", type=_positive_int, default=2000, help="bootstrap resamples (default 2000)")
    parser.add_argument("--confidence", type=float, default=0.95, help="CI level (default 0.95)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--no-plots", action="store_true", help="write the tables without drawing the PNGs")
    return parser


def run_from_args(args: argparse.Namespace) -> int:
    """Run ``rewardgym report`` from parsed arguments: write the report, print the summary and its path.

    Returns 0, or 2 after one line on stderr for a user error (no run folder, no or a corrupt
    results store): a traceback is kept for bugs.

    Example:
        >>> parser = configure_parser(argparse.ArgumentParser())
        >>> run_from_args(parser.parse_args(["/no/such/run"]))  # prints why on stderr
        2
    """
    try:
        path = write_report(
            args.run_dir, reps=args.reps, confidence=args.confidence, seed=args.seed, plots=not args.no_plots
        )
    except (FileNotFoundError, StoreError) as exc:
        print(f"rewardgym report: {exc}", file=sys.stderr)
        return 2
    console = Console()
    console.print(terminal_summary(args.run_dir, reps=args.reps, confidence=args.confidence, seed=args.seed))
    for table in terminal_games(args.run_dir, reps=args.reps, confidence=args.confidence, seed=args.seed):
        console.print(table)
    console.print(f"report: {path}")
    return 0


# --------------------------------------------------------------------------------------------
# Formatting


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {text!r}")
    return value


def _num(x: float, digits: int | None = None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if digits is not None:
        return f"{x:.{digits}f}"
    # Three or four significant figures: more than seeds' spread supports, fewer than clutter.
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}"


def _ci(row: object, channel: str, digits: int | None = None) -> str:
    point, low, high = (getattr(row, f"{channel}_{s}") for s in ("iqm", "low", "high"))
    if pd.isna(point):
        return "-"
    return f"{_num(point, digits)} [{_num(low, digits)}, {_num(high, digits)}]"


def _ci3(point: float, low: float, high: float) -> str:
    return f"{_num(point)} [{_num(low)}, {_num(high)}]"


def _share(x: float) -> str:
    return "-" if pd.isna(x) else f"{100 * x:.0f}%"


def _players(games: pd.DataFrame) -> list[str]:
    """The players with a proxy in any of these rows (a game's players: others' columns are NaN)."""
    prefix = "proxy/"
    names = [
        str(c)[len(prefix) : -len("_iqm")]
        for c in games.columns
        if str(c).startswith(prefix) and str(c).endswith("_iqm")
    ]
    return [n for n in names if games[f"{prefix}{n}_iqm"].notna().any()]


def _player_label(player: str) -> str:
    # "player_0" -> "p0": four players' columns must fit a terminal.
    return "p" + player.removeprefix("player_") if player.startswith("player_") else player


def _spread(row: Any) -> str:
    """How the players' final proxies under private rewards compare: a shared loss, or a transfer."""
    values = [float(row[k]) for k in row.index if str(k).startswith("proxy/") and str(k).endswith("_iqm")]
    values = [v for v in values if not math.isnan(v)]
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    # Within 1% of the largest: as equal as the table's three figures can show.
    if high - low <= 0.01 * max(abs(low), abs(high)):
        return (
            f"; under private rewards every player ended with the same proxy ({_num(high)}): a loss they all "
            "bear, not some players gaining at the others' cost"
        )
    return f"; under private rewards the players' own proxies ranged from {_num(low)} to {_num(high)}"


def _scripted(algo: object) -> bool:
    """Whether ``algo`` is one of the trainer's scripted policies, which do not learn from rewards."""
    from rewardgym.agents.train import MULTIAGENT_ALGOS, SCRIPTED_ALGOS

    return algo in SCRIPTED_ALGOS or algo in MULTIAGENT_ALGOS


def _dilemma(game: str) -> str:
    try:
        return game_of(game).dilemma
    except ValueError:  # a game this version does not know: the results still stand
        return "each player's best move for itself lowers the group's welfare"


def _steps(x: float) -> str:
    return _num(x) if pd.isna(x) or math.isinf(x) else f"{x:,.0f}"


def _pm(value: float, se: float) -> str:
    return "-" if pd.isna(value) else f"{_num(value)} ± {_num(se)}"


def _pct(x: float) -> str:
    return "-" if pd.isna(x) else f"{100 * x:+.0f}%"


def _runs(row: Any) -> str:
    return f"{row.runs}" + (f" (+{row.failed} failed)" if getattr(row, "failed", 0) else "")


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "-"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def _agents(trials: pd.DataFrame) -> list[tuple[str, str]]:
    pairs = trials[["agent", "algo"]].drop_duplicates().sort_values("agent")
    return [(a, algo) for a, algo in pairs.itertuples(index=False)]


def _first_error_line(error: object) -> str:
    # A traceback's last line is the exception and its message: the part worth a table cell.
    lines = [line for line in str(error or "").strip().splitlines() if line.strip()]
    text = lines[-1].strip() if lines else "(no error recorded)"
    return text[:200] + ("…" if len(text) > 200 else "")


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_escape(str(cell)) for cell in row) + " |" for row in rows]
    return lines + [""]
