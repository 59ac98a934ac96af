"""Sweep plots (PNG): learning curves with CI bands, regime bars with CIs, and overoptimization.

Figures are built with matplotlib's object API (``matplotlib.figure.Figure``) and written by the
Agg renderer, never through ``pyplot``: no GUI backend is needed, no global figure state is left
behind, and a user's own backend choice (a notebook's, say) is untouched.

Every function takes the sweep's ``trials`` and ``curves`` tables (or the statistics derived from
them in :mod:`rewardgym.sweeps.stats`), writes one PNG per env into ``out_dir`` and returns the
paths. A cell's line is labelled with its reward spec, and with its agent when the sweep has more
than one; a cell keeps its colour in every figure.

Example:
    >>> import tempfile, pandas as pd
    >>> summary = pd.DataFrame({"env": "rewardgym/CartPole-v0", "reward": ["none", "shaped"],
    ...     "agent": "ppo", "gold_iqm": [200.0, 150.0], "gold_low": [180.0, 120.0],
    ...     "gold_high": [220.0, 170.0], "proxy_iqm": [200.0, 260.0], "proxy_low": [180.0, 240.0],
    ...     "proxy_high": [220.0, 280.0]})
    >>> [p.name for p in plot_regime_bars(summary, tempfile.mkdtemp())]
    ['bars_CartPole-v0.png']
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rewardgym.sweeps import stats

__all__ = [
    "env_slug",
    "make_plots",
    "plot_aggregate_bars",
    "plot_fits",
    "plot_learning_curves",
    "plot_overoptimization",
    "plot_regime_bars",
]

_DPI = 100


def env_slug(env: str) -> str:
    """A file-name-safe name for an env id: ``"rewardgym/CartPole-v0"`` -> ``"CartPole-v0"``.

    Example:
        >>> env_slug("rewardgym/MountainCar-v0"), env_slug("other/My Env")
        ('MountainCar-v0', 'other_My_Env')
        >>> env_slug("rewardgym/PublicGoods-v0 (private)")  # a game's reward mode, as the report labels it
        'PublicGoods-v0_private'
    """
    name = env[len("rewardgym/") :] if env.startswith("rewardgym/") else env
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "env"


def _labels(frame: pd.DataFrame) -> pd.Series:
    # The agent joins the label only when it tells cells apart.
    if frame["agent"].nunique() > 1:
        return frame["reward"].astype(str) + " / " + frame["agent"].astype(str)
    return frame["reward"].astype(str)


def _colours(labels: list[str]) -> dict[str, tuple]:
    # A sweep-wide label order fixes each cell's colour across every figure.
    cmap = matplotlib.colormaps["tab10" if len(labels) <= 10 else "tab20"]
    return {label: cmap(i % cmap.N) for i, label in enumerate(sorted(labels))}


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI, format="png")
    return path


def _ci_errors(frame: pd.DataFrame, prefix: str) -> np.ndarray:
    # Asymmetric error bars from a CI; a NaN bound (no runs) draws no bar.
    low = (frame[f"{prefix}_iqm"] - frame[f"{prefix}_low"]).to_numpy(dtype=float)
    high = (frame[f"{prefix}_high"] - frame[f"{prefix}_iqm"]).to_numpy(dtype=float)
    return np.nan_to_num(np.stack([low, high]), nan=0.0)


def plot_learning_curves(
    trials: pd.DataFrame,
    curves: pd.DataFrame,
    out_dir: str | Path,
    *,
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    summary: pd.DataFrame | None = None,
) -> list[Path]:
    """Gold and proxy evaluation returns against steps, IQM over seeds with CI bands, one PNG per env.

    ``summary`` may pass a precomputed :func:`stats.curve_summary` to avoid bootstrapping twice.
    """
    if summary is None:
        summary = stats.curve_summary(trials, curves, reps=reps, confidence=confidence, seed=seed)
    if summary.empty:
        return []
    summary = summary.assign(label=_labels(summary))
    colours = _colours(summary["label"].unique().tolist())
    paths = []
    for env, cell in summary.groupby("env", sort=True):
        fig = Figure(layout="constrained", figsize=(11, 4.2))
        axes = fig.subplots(1, 2, sharex=True)
        for ax, channel in zip(axes, ("eval_gold", "eval_proxy")):
            for label, line in cell.groupby("label", sort=True):
                line = line.sort_values("step")
                # Markers keep a one-evaluation curve (a scripted agent) visible.
                ax.plot(
                    line["step"], line[f"{channel}_iqm"], color=colours[label], label=label, lw=1.8, marker="o", ms=3
                )
                ax.fill_between(
                    line["step"],
                    line[f"{channel}_low"],
                    line[f"{channel}_high"],
                    color=colours[label],
                    alpha=0.18,
                    lw=0,
                )
            ax.set_xlabel("env steps")
            ax.set_ylabel(f"{channel.split('_')[1]} return (evaluation)")
            ax.set_title(f"{channel.split('_')[1]} return")
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=8, loc="best")
        fig.suptitle(f"{env}: IQM over seeds, {confidence:.0%} bootstrap CI")
        paths.append(_save(fig, Path(out_dir) / f"curves_{env_slug(env)}.png"))
    return paths


def plot_regime_bars(summary: pd.DataFrame, out_dir: str | Path, *, confidence: float = 0.95) -> list[Path]:
    """Final gold and proxy IQM of each regime as bars with CI error bars, one PNG per env.

    ``summary`` is :func:`stats.summarize`'s table. Proxy and gold share an axis because both are
    returns of the same episodes; a learned or shaped proxy can still sit on another scale.
    """
    summary = summary.dropna(subset=["gold_iqm", "proxy_iqm"], how="all")  # cells whose runs all failed
    if summary.empty:
        return []
    summary = summary.assign(label=_labels(summary))
    paths = []
    for env, cell in summary.groupby("env", sort=True):
        cell = cell.sort_values("gold_iqm", ascending=False, na_position="last")
        x = np.arange(len(cell))
        fig = Figure(layout="constrained", figsize=(max(5.0, 1.1 * len(cell) + 2.0), 4.5))
        ax = fig.subplots()
        width = 0.38
        for offset, channel, colour in ((-width / 2, "gold", "#d4a017"), (width / 2, "proxy", "#4c72b0")):
            ax.bar(
                x + offset,
                cell[f"{channel}_iqm"].fillna(0.0),
                width,
                yerr=_ci_errors(cell, channel),
                capsize=3,
                color=colour,
                label=f"{channel} IQM",
            )
        ax.axhline(0.0, color="black", lw=0.6)
        ax.set_xticks(x, cell["label"], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("final evaluation return")
        ax.set_title(f"{env}: final returns by regime, IQM with {confidence:.0%} CI")
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        paths.append(_save(fig, Path(out_dir) / f"bars_{env_slug(env)}.png"))
    return paths


def plot_aggregate_bars(ranking: pd.DataFrame, out_dir: str | Path, *, confidence: float = 0.95) -> list[Path]:
    """Normalized gold IQM across envs (:func:`stats.aggregate_ranking`) as bars with CIs; one PNG."""
    ranking = ranking.dropna(subset=["score_iqm"])
    if ranking.empty:
        return []
    frame = ranking.assign(label=_labels(ranking))
    fig = Figure(layout="constrained", figsize=(max(5.0, 0.9 * len(frame) + 2.0), 4.5))
    ax = fig.subplots()
    x = np.arange(len(frame))
    ax.bar(x, frame["score_iqm"].fillna(0.0), 0.6, yerr=_ci_errors(frame, "score"), capsize=3, color="#d4a017")
    ax.set_xticks(x, frame["label"], rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0.0, 1.05)
    ax.set_ylabel("normalized gold (per env: 0 worst, 1 best run)", fontsize=9)
    ax.set_title(f"All envs: normalized gold IQM with {confidence:.0%} stratified CI")
    ax.grid(axis="y", alpha=0.3)
    return [_save(fig, Path(out_dir) / "bars_all_envs.png")]


def plot_overoptimization(
    trials: pd.DataFrame, curves: pd.DataFrame, out_dir: str | Path, *, max_columns: int = 4
) -> list[Path]:
    """Gold against proxy over training, one panel per regime, one PNG per env.

    Each seed's evaluations form a thin path in step order and the per-step median over seeds a
    thick one, from a circle (first evaluation) to a star (last). A path that runs right (proxy
    up) and down (gold down) is a hacked proxy; one that runs up and right is aligned.
    """
    points = stats.curve_points(trials, curves).dropna(subset=["eval_gold", "eval_proxy"])
    if points.empty:
        return []
    points = points.assign(label=_labels(points))
    colours = _colours(points["label"].unique().tolist())
    paths = []
    for env, cell in points.groupby("env", sort=True):
        labels = sorted(cell["label"].unique())
        columns = min(max_columns, len(labels))
        rows = math.ceil(len(labels) / columns)
        fig = Figure(layout="constrained", figsize=(3.6 * columns, 3.3 * rows))
        axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
        for ax, label in zip(axes, labels):
            run = cell[cell["label"] == label]
            colour = colours[label]
            for _, seed_run in run.groupby("trial_id"):
                ax.plot(seed_run["eval_proxy"], seed_run["eval_gold"], color=colour, alpha=0.3, lw=0.8)
            median = run.groupby("step")[["eval_proxy", "eval_gold"]].median().sort_index()
            ax.plot(median["eval_proxy"], median["eval_gold"], color=colour, lw=2.0)
            ax.plot(*median.iloc[0], "o", color=colour, ms=6)
            ax.plot(*median.iloc[-1], "*", color=colour, ms=11, mec="black", mew=0.5)
            ax.set_title(label, fontsize=9)
            ax.set_xlabel("proxy return", fontsize=8)
            ax.set_ylabel("gold return", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
        for ax in axes[len(labels) :]:
            ax.set_visible(False)
        fig.suptitle(f"{env}: gold against proxy over training (o first, * last evaluation)")
        paths.append(_save(fig, Path(out_dir) / f"overoptimization_{env_slug(env)}.png"))
    return paths


def plot_fits(trials: pd.DataFrame, curves: pd.DataFrame, fits: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Gold against optimization distance with the fitted Gao et al. curve, one PNG per env with a fit.

    ``fits`` is :func:`stats.fit_overoptimization`'s table; cells whose fit failed show their
    points only.
    """
    if fits.empty:
        return []
    points = stats.curve_points(trials, curves).dropna(subset=["eval_gold"])
    paths = []
    for env, env_fits in fits.groupby("env", sort=True):
        fig = Figure(layout="constrained", figsize=(7.5, 4.8))
        ax = fig.subplots()
        labels = _labels(env_fits).tolist()
        colours = _colours(labels)
        for label, fit in zip(labels, env_fits.itertuples(index=False)):
            cell = points[(points["env"] == env) & (points["reward"] == fit.reward) & (points["agent"] == fit.agent)]
            d = stats.optimization_distance(cell["step"].to_numpy())
            ax.scatter(d, cell["eval_gold"], s=10, alpha=0.45, color=colours[label])
            if fit.status == "ok" and d.size:
                # Only over the evaluated range (and a little beyond, where the peak may lie): before
                # the first evaluation the fitted g0 is an extrapolation, not a measurement.
                grid = np.linspace(d.min(), d.max() * 1.15, 200)
                curve = stats.overoptimization_curve(grid, fit.g0, fit.alpha, fit.beta, fit.form)
                name = "d(α - β log d)" if fit.form == "rl" else "d(α - β d)"
                ax.plot(
                    grid,
                    curve,
                    color=colours[label],
                    lw=2.0,
                    label=f"{label}: g0 + {name}, α={fit.alpha:.3g}, β={fit.beta:.3g}, R²={fit.r2:.2f}",
                )
            else:
                ax.plot([], [], color=colours[label], label=f"{label}: no fit ({fit.status})")
        ax.set_xlabel(f"optimization distance d = sqrt(steps / {stats.STEPS_PER_DISTANCE_UNIT:g})")
        ax.set_ylabel("gold return (evaluation)")
        ax.set_title(
            f"{env}: gold against optimization distance\n(fit: Gao, Schulman & Hilton 2022, RL form)"
            if (env_fits["form"] == "rl").all()
            else f"{env}: gold against optimization distance",
            fontsize=10,
        )
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        paths.append(_save(fig, Path(out_dir) / f"fit_{env_slug(env)}.png"))
    return paths


def make_plots(
    trials: pd.DataFrame,
    curves: pd.DataFrame,
    out_dir: str | Path,
    *,
    summary: pd.DataFrame | None = None,
    ranking: pd.DataFrame | None = None,
    fits: pd.DataFrame | None = None,
    curve_stats: pd.DataFrame | None = None,
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, list[Path]]:
    """Every sweep plot into ``out_dir``, by kind: ``curves``, ``bars``, ``overoptimization``, ``fits``.

    Precomputed statistics may be passed in (the report does, to bootstrap once); missing ones are
    computed here with ``reps``, ``confidence`` and ``seed``. The all-envs bar chart is drawn when
    the sweep has more than one env.
    """
    kw: dict[str, Any] = {"reps": reps, "confidence": confidence, "seed": seed}
    if summary is None:
        summary = stats.summarize(trials, **kw)
    if ranking is None and trials["env"].nunique() > 1:
        ranking = stats.aggregate_ranking(trials, **kw)
    if fits is None:
        fits = stats.fit_overoptimization(trials, curves)
    bars = plot_regime_bars(summary, out_dir, confidence=confidence)
    if ranking is not None and trials["env"].nunique() > 1:
        bars += plot_aggregate_bars(ranking, out_dir, confidence=confidence)
    return {
        "curves": plot_learning_curves(trials, curves, out_dir, summary=curve_stats, **kw),
        "bars": bars,
        "overoptimization": plot_overoptimization(trials, curves, out_dir),
        "fits": plot_fits(trials, curves, fits, out_dir),
    }
