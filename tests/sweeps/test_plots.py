"""Sweep plots: every figure is written as a non-empty PNG, one per env, with the expected names."""

from __future__ import annotations

import math
import struct

import numpy as np
import pandas as pd
from rewardgym.sweeps import plots, stats

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def sweep_tables(
    envs=("rewardgym/CartPole-v0", "rewardgym/MountainCar-v0"),
    rewards=("none", "learned(kind='preference')"),
    seeds=3,
    evals=6,
):
    """A small sweep: on the learned regime gold rises then falls while proxy keeps rising."""
    rng = np.random.default_rng(0)
    trials, curves = [], []
    steps = np.arange(1, evals + 1) * 2000
    t = steps / steps[-1]
    for env in envs:
        for reward in rewards:
            for seed in range(seeds):
                trial_id = f"{env}|{reward}|{seed}"
                proxy = 100 * t + rng.normal(0, 2, evals)
                gold = (100 * (1.6 * t - 1.4 * t**2) if stats.is_learned(reward) else proxy) + rng.normal(0, 2, evals)
                trials.append(
                    {
                        "trial_id": trial_id,
                        "env": env,
                        "reward": reward,
                        "agent": "ppo",
                        "algo": "ppo",
                        "seed": seed,
                        "status": "done",
                        "final_gold": gold[-1],
                        "final_proxy": proxy[-1],
                    }
                )
                curves.append(
                    pd.DataFrame(
                        {
                            "trial_id": trial_id,
                            "step": steps,
                            "eval_proxy": proxy,
                            "eval_gold": gold,
                            "train_proxy": math.nan,
                            "train_gold": math.nan,
                        }
                    )
                )
    return pd.DataFrame(trials), pd.concat(curves, ignore_index=True)


def assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    # The IHDR chunk follows the magic: width and height, big-endian, both positive.
    width, height = struct.unpack(">II", data[16:24])
    assert width > 100 and height > 100 and len(data) > 5000


def test_make_plots_writes_every_figure_as_png(tmp_path):
    trials, curves = sweep_tables()
    paths = plots.make_plots(trials, curves, tmp_path / "plots", reps=200)
    names = {kind: sorted(p.name for p in ps) for kind, ps in paths.items()}
    assert names == {
        "curves": ["curves_CartPole-v0.png", "curves_MountainCar-v0.png"],
        "bars": ["bars_CartPole-v0.png", "bars_MountainCar-v0.png", "bars_all_envs.png"],
        "overoptimization": ["overoptimization_CartPole-v0.png", "overoptimization_MountainCar-v0.png"],
        "fits": ["fit_CartPole-v0.png", "fit_MountainCar-v0.png"],
    }
    for path in (p for ps in paths.values() for p in ps):
        assert path.parent == tmp_path / "plots"
        assert_png(path)


def test_one_env_without_learned_regime_has_no_fit_or_aggregate(tmp_path):
    trials, curves = sweep_tables(envs=("rewardgym/Pendulum-v0",), rewards=("none", "shaped"), seeds=2, evals=4)
    paths = plots.make_plots(trials, curves, tmp_path, reps=100)
    assert [p.name for p in paths["bars"]] == ["bars_Pendulum-v0.png"]
    assert paths["fits"] == []
    for path in paths["curves"] + paths["overoptimization"]:
        assert_png(path)


def test_failed_fit_and_missing_values_still_plot(tmp_path):
    trials, curves = sweep_tables(envs=("rewardgym/CartPole-v0",), seeds=2, evals=2)
    curves.loc[curves.index[::5], ["eval_gold", "eval_proxy"]] = math.nan
    fits = stats.fit_overoptimization(trials, curves)
    assert fits["status"].str.startswith("too few").all()
    assert_png(plots.plot_fits(trials, curves, fits, tmp_path)[0])
    assert_png(plots.plot_overoptimization(trials, curves, tmp_path)[0])


def test_nothing_to_plot_writes_nothing(tmp_path):
    trials, curves = sweep_tables(envs=("rewardgym/CartPole-v0",), seeds=1, evals=2)
    trials["status"] = "failed"
    assert plots.plot_learning_curves(trials, curves, tmp_path, reps=10) == []
    assert plots.plot_overoptimization(trials, curves, tmp_path) == []
    assert plots.plot_regime_bars(stats.summarize(trials.iloc[:0]), tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_env_slug_is_a_safe_file_name():
    assert plots.env_slug("rewardgym/CartPole-v0") == "CartPole-v0"
    assert plots.env_slug("my/env:v1 beta") == "my_env_v1_beta"
