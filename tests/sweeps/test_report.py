"""The sweep report: written from a real results store, with every section, table and plot link."""

from __future__ import annotations

import argparse
import re

import numpy as np
import pandas as pd
import pytest
from rewardgym.sweeps import report
from rewardgym.sweeps.store import ResultsStore, TrialRecord

SECTIONS = ["# Sweep report", "## What this sweep found", "## Overview", "## Summary", "## Regime ranking", "## Reward hacking flags",
            "## Overoptimization fit", "## Plots", "## Failed trials", "## Method"]  # fmt: skip


def write_sweep(run_dir, rewards=("none", "learned(kind='preference')"), evals=8, failed=True):
    """A results store of 2 envs x rewards x 3 seeds; the learned regime is hacked (gold rises, then falls)."""
    rng = np.random.default_rng(0)
    steps = np.arange(1, evals + 1) * 2000
    t = steps / steps[-1]
    with ResultsStore(run_dir) as store:
        for env in ("rewardgym/CartPole-v0", "rewardgym/MountainCar-v0"):
            for reward in rewards:
                for seed in range(3):
                    proxy = 100 * t + rng.normal(0, 2, evals)
                    learned = reward.startswith("learned")
                    gold = (100 * (1.6 * t - 1.4 * t**2) if learned else proxy) + rng.normal(0, 2, evals)
                    broken = failed and (env, reward, seed) == ("rewardgym/MountainCar-v0", "none", 2)
                    status = "failed" if broken else "done"
                    store.record(TrialRecord(
                        trial_id=f"{env}|{reward}|{seed}", env=env, reward=reward, agent="ppo", algo="ppo",
                        seed=seed, total_steps=int(steps[-1]), status=status, wall_s=30.0,
                        error="Traceback (most recent call last):\n  ...\nRuntimeError: diverged | nan loss"
                        if status == "failed" else None,
                        final_proxy=proxy[-1], final_gold=gold[-1],
                        # Training episodes show what evaluation shows.
                        curves=[{"step": int(s), "eval_proxy": p, "eval_gold": g,
                                 "train_proxy": p, "train_gold": g}
                                for s, p, g in zip(steps, proxy, gold)]
                        if status == "done" else []))  # fmt: skip


def findings_tables(cells):
    """Hand-built trials and curves: ``cells`` maps (env, reward) to one (status, gold, proxy)
    per seed, where ``gold`` and ``proxy`` are 8 evaluation points (the last is the final score)."""
    steps = np.arange(1, 9) * 1000
    trials, curves = [], []
    for (env, reward), runs in cells.items():
        for seed, (status, gold, proxy) in enumerate(runs):
            trial_id = f"{env}|{reward}|{seed}"
            done = status == "done"
            trials.append({"trial_id": trial_id, "env": env, "reward": reward, "agent": "ppo", "algo": "ppo",
                           "seed": seed, "status": status, "final_gold": gold[-1] if done else np.nan,
                           "final_proxy": proxy[-1] if done else np.nan, "wall_s": 1.0, "error": None})  # fmt: skip
            if done:
                curves.append(pd.DataFrame({"trial_id": trial_id, "step": steps, "eval_proxy": proxy,
                                            "eval_gold": gold, "train_proxy": proxy, "train_gold": gold}))  # fmt: skip
    columns = ["trial_id", "step", "eval_proxy", "eval_gold", "train_proxy", "train_gold"]
    return pd.DataFrame(trials), pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=columns)


def flat(final):
    return np.full(8, float(final))


def test_findings_say_what_helped_what_was_hacked_and_where_gold_turns_down():
    cart, car = "rewardgym/CartPole-v0", "rewardgym/MountainCar-v0"
    rise, fall = np.linspace(10, 100, 8), np.linspace(100, 40, 8)
    done = lambda g: ("done", flat(g), flat(g))  # noqa: E731
    trials, curves = findings_tables({
        (cart, "none"): [done(g) for g in (50, 52, 54, 56)],
        (cart, "shaped"): [done(g) for g in (90, 92, 94, 96)] + [("failed", None, None)],
        (cart, "noisy(sigma=1.0)"): [done(g) for g in (49, 53, 55, 57)],
        (cart, "adversarial"): [done(g) for g in (10, 11, 12, 13)],
        # Proxy rises while gold falls, on 3 of 4 seeds.
        (cart, "learned(kind='online')"): [("done", fall, rise)] * 3 + [done(40)],
        (car, "shaped"): [done(-120), done(-110)],
        (car, "noisy(sigma=1.0)"): [("failed", None, None)] * 2,
    })  # fmt: skip
    lines = report.findings(report.compute_stats(trials, curves, reps=200))
    assert len(lines) == 3 and lines[-1] == ""
    cartpole, mountaincar = lines[:2]
    assert cartpole.startswith(
        "- `CartPole-v0` (1 failed run): final gold against `none` (53.0): `shaped` (93.0) helped;"
    )
    assert "`noisy(sigma=1.0)` (54.0) within noise;" in cartpole
    assert "`learned(kind='online')` (40.0), `adversarial` (11.5) hurt." in cartpole
    # The whole run's changes: proxy +90 of 100, gold -60 of 100, each the median of 3 flags.
    assert "Flagged as hacked: `learned(kind='online')` in 3 of 4 runs (proxy +90%, gold -60%)." in cartpole
    assert "Overoptimization fit of `learned(kind='online')`:" in cartpole
    assert mountaincar == (
        "- `MountainCar-v0` (2 failed runs): no finished `none` run to compare gold against; best gold: "
        "`shaped` (-115). No finished run of `noisy(sigma=1.0)`. No run flagged as hacked (2 judged)."
    )


def test_findings_of_sweeps_with_nothing_to_say():
    env = "rewardgym/CartPole-v0"
    trials, curves = findings_tables({(env, "none"): [("failed", None, None)] * 2})
    assert report.findings(report.compute_stats(trials, curves, reps=20)) == [
        "No run finished: there is nothing to report yet.",
        "",
    ]
    # One evaluation per run: nothing to judge; only the baseline ran.
    trials, curves = findings_tables({(env, "none"): [("done", flat(5), flat(5))]})
    curves = curves[curves["step"] == 8000]
    [line, _] = report.findings(report.compute_stats(trials, curves, reps=20))
    assert line == "- `CartPole-v0`: only the baseline finished. Hacking: too few evaluations to judge."


def test_write_report_has_every_section_and_working_plot_links(tmp_path):
    write_sweep(tmp_path)
    path = report.write_report(tmp_path, reps=200)
    assert path == tmp_path / "report.md"
    text = path.read_text()
    positions = [text.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    assert "- trials: 12 (11 done, 1 failed)" in text
    # Summary rows: 2 envs x 2 rewards, with the failed seed shown next to the runs.
    summary = text.split("## Summary")[1].split("## Regime ranking")[0]
    assert len([line for line in summary.splitlines() if line.startswith("| `")]) == 4
    assert "| 2 (+1 failed) |" in summary
    # The learned regime is hacked on every seed and ranks last on gold.
    assert re.search(r"\| `CartPole-v0` \| `learned\(kind='preference'\)` \| `ppo` \| 3 \|.*\| 3/3 \| 2 \|", summary)
    assert "6 of 11 finished runs flagged" in text
    assert "### Across envs (normalized gold)" in text
    fit = text.split("## Overoptimization fit")[1].split("## Plots")[0]
    assert "d (alpha - beta log d)" in fit and "sqrt(steps / 1000)" in fit
    assert len(re.findall(r"\| `learned\(kind='preference'\)` \| `ppo` \| 3 \| 24 \| ok \|", fit)) == 2
    links = re.findall(r"!\[[^]]*\]\(([^)]+)\)", text)
    assert len(links) == 9 and all(link.startswith("plots/") for link in links)
    for link in links:
        assert (tmp_path / link).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The failed trial's error is the traceback's last line, with the table's pipe escaped.
    assert "RuntimeError: diverged \\| nan loss |" in text


def test_report_without_learned_regime_or_plots(tmp_path):
    write_sweep(tmp_path, rewards=("none", "shaped"), failed=False)
    text = report.write_report(tmp_path, reps=50, plots=False).read_text()
    assert "No learned regime in this grid: nothing to fit." in text
    assert "Plots were not drawn for this report." in text
    assert "## Failed trials\n\nNone." in text
    assert not (tmp_path / "plots").exists()


def test_report_of_a_sweep_whose_trials_all_failed(tmp_path):
    with ResultsStore(tmp_path) as store:
        for seed in range(2):
            store.record(
                TrialRecord(
                    trial_id=f"t{seed}",
                    env="rewardgym/CartPole-v0",
                    reward="learned",
                    agent="ppo",
                    algo="ppo",
                    seed=seed,
                    total_steps=10,
                    status="failed",
                    error="OSError: disk",
                )
            )
    text = report.write_report(tmp_path, reps=20).read_text()
    assert "- trials: 2 (0 done, 2 failed)" in text
    assert "0 of 0 finished runs flagged" in text and "No finished run to plot." in text
    assert text.count("OSError: disk") == 2


def test_report_refuses_a_folder_without_results(tmp_path):
    with pytest.raises(FileNotFoundError, match="results.sqlite does not exist"):
        report.write_report(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()  # nothing is created on the way
    ResultsStore(tmp_path).close()
    with pytest.raises(ValueError, match="holds no trials yet"):
        report.write_report(tmp_path)


def test_summary_table_for_the_terminal(tmp_path):
    write_sweep(tmp_path)
    text = report.summary_text(report.compute_stats(*report.load_results(tmp_path), reps=50).summary)
    assert "CartPole-v0" in text and "MountainCar-v0" in text and "learned(kind='preference')" in text
    assert "\x1b[" not in text  # plain text, no colour codes
    lines = {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}
    # MountainCar's none: 2 of 3 runs done, not hacked, ranked first.
    assert lines["MountainCar-v0"] == ["MountainCar-v0"]
    table = report.terminal_summary(tmp_path, reps=50)
    assert table.row_count == 6  # a heading row per env and 4 cells
    assert [c.header for c in table.columns] == ["reward", "done", "gold", "proxy", "gap", "hacked", "rank"]
    none_rows = [line.split() for line in text.splitlines() if line.split()[:1] == ["none"]]
    assert [row[1] for row in none_rows] == ["3/3", "2/3"] and [row[-2:] for row in none_rows] == [["-", "1"]] * 2


def test_command_line(tmp_path, capsys):
    write_sweep(tmp_path, failed=False)
    parser = report.configure_parser(argparse.ArgumentParser(prog="rewardgym report"))
    args = parser.parse_args([str(tmp_path), "--reps", "50", "--no-plots"])
    assert report.run_from_args(args) == 0
    out = capsys.readouterr().out
    assert "report: " in out and "report.md" in out and "CartPole-v0" in out
    assert (tmp_path / "report.md").is_file()
    with pytest.raises(SystemExit):
        parser.parse_args([str(tmp_path), "--reps", "0"])
