"""SB3 SAC and the native PPO on ``rewardgym/Hopper-v0`` for a wall-clock budget, and PPO on the
hackable ``rewardgym/HopperHeight-v0``: what a budget on this machine's CPUs reaches.

Each run trains with the shipped reference settings (``rewardgym/agents/hyperparams/``: SAC is
rl-baselines3-zoo's MuJoCo entry, 10k random steps then one gradient step per env step; PPO is
CleanRL's MuJoCo PPO as 16 envs x 128 steps) until ``--minutes`` of wall time have passed,
evaluations included. Every tenth of the budget the deterministic policy plays
``EVAL_EPISODES`` episodes (seeds ``EVAL_SEED + i``, as ``train()`` evaluates), recording the
return it is paid (proxy) and gold; a last evaluation follows training. The native PPO anneals
its learning rate over the steps the budget is expected to allow (its rate is measured first on
four updates; the clock still ends the run if it comes first), as CleanRL anneals over its step
budget; SAC's learning rate is constant.

Printed, per evaluation: steps, wall time, proxy and gold; per run its final and best
evaluation (return, gold, steps, wall time). On Hopper-v0 the proxy is the env's own reward, the
``-v5`` reward, which is also gold: the two columns agree. On HopperHeight-v0 the proxy pays the
torso's height and gold is forward progress while healthy; the scripted hack (stand tall and
still, ``hopper_stand_tall``) and an honest lunge (``hopper_lunge``) are scored on the same seeds
for comparison. Nothing is asserted about the figures; the test asserts only that every run
trained and evaluated.

Run: ``python benchmarks/mujoco_training.py [--minutes 30] [--seeds 0 1] [--algos sac ppo]
[--variant-minutes M]`` (torch on one thread) or ``python -m pytest -q -s -m slow
benchmarks/mujoco_training.py -p no:cacheprovider`` (the default budget: 2 seeds x 2 algorithms
x 30 minutes, then 30 minutes on HopperHeight: two and a half hours).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the envs)
import torch
from gymnasium.vector import AutoresetMode
from rewardgym.agents import ppo
from rewardgym.agents.evaluation import EVAL_SEED, evaluate, make_eval_envs
from rewardgym.agents.train import reference_hyperparams
from rewardgym.envs.mujoco import MUJOCO_TASKS
from rewardgym.envs.mujoco.variants import hopper_lunge, hopper_stand_tall, scripted_returns

HOPPER = "rewardgym/Hopper-v0"
VARIANT = "rewardgym/HopperHeight-v0"
MINUTES = 30.0
SEEDS = (0, 1)
ALGOS = ("sac", "ppo")
EVAL_EPISODES = 10
EVALS = 10
"""Evaluations per run (every tenth of the budget), besides the last one after training."""
MAX_STEPS = 10**9
"""SAC's step budget: far beyond any wall-clock budget, so that the clock ends the run."""


class Run:
    """One run's clock, evaluation envs and curve: when to evaluate, when to stop."""

    def __init__(self, label: str, env_id: str, budget_s: float) -> None:
        self.label, self.budget_s = label, budget_s
        self.start = time.perf_counter()
        self.eval_envs = make_eval_envs(env_id, None, EVAL_EPISODES)
        self.next_eval = budget_s / EVALS
        self.rows: list[dict[str, float]] = []

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def out_of_time(self) -> bool:
        return self.elapsed() >= self.budget_s

    def evaluate_if_due(self, step: int, predict: Callable[[np.ndarray], np.ndarray]) -> None:
        if self.elapsed() >= self.next_eval:
            self.evaluate(step, predict)
            while self.next_eval <= self.elapsed():
                self.next_eval += self.budget_s / EVALS

    def evaluate(self, step: int, predict: Callable[[np.ndarray], np.ndarray]) -> dict[str, float]:
        returns = evaluate(predict, self.eval_envs)
        row = {
            "step": step,
            "wall_s": self.elapsed(),
            "proxy": float(returns["proxy"].mean()),
            "gold": float(returns["gold"].mean()),
        }
        self.rows.append(row)
        print(
            f"{self.label:28s} step {step:>8d}  {row['wall_s']:6.0f}s  proxy {row['proxy']:8.1f}  "
            f"gold {row['gold']:8.1f}",
            flush=True,
        )
        return row

    def finish(self, step: int, predict: Callable[[np.ndarray], np.ndarray]) -> None:
        """The last evaluation, after training (unless one just scored this very policy)."""
        if not self.rows or self.rows[-1]["step"] != step:
            self.evaluate(step, predict)

    def summary(self) -> dict[str, Any]:
        self.eval_envs.close()
        final = self.rows[-1]
        best = max(self.rows, key=lambda row: row["proxy"])
        return {"label": self.label, "final": final, "best": best, "rows": self.rows}


def train_sac(env_id: str, seed: int, budget_s: float) -> dict[str, Any]:
    """SB3 SAC with the shipped settings (``sb3-sac.yaml``) until the budget is spent."""
    from rewardgym.agents.sb3 import make_sb3_env, sb3_arguments
    from stable_baselines3 import SAC
    from stable_baselines3.common.callbacks import BaseCallback

    run = Run(f"sac {env_id.split('/')[-1]} s{seed}", env_id, budget_s)
    settings = reference_hyperparams("sb3-sac", env_id)
    n_envs, policy = settings.pop("n_envs"), settings.pop("policy")
    venv = make_sb3_env(env_id, n_envs, None)
    model = SAC(policy, venv, seed=seed, device="cpu", verbose=0, **sb3_arguments("sb3-sac", SAC, settings))

    def predict(obs: np.ndarray) -> np.ndarray:
        return model.predict(obs, deterministic=True)[0]

    class Clock(BaseCallback):
        def _on_step(self) -> bool:
            run.evaluate_if_due(self.num_timesteps, predict)
            return not run.out_of_time()

    model.learn(MAX_STEPS, callback=Clock())
    run.finish(model.num_timesteps, predict)
    venv.close()
    return run.summary()


def train_ppo(env_id: str, seed: int, budget_s: float) -> dict[str, Any]:
    """The native PPO with the shipped settings (``ppo.yaml``) until the budget is spent, its
    learning rate annealed over the steps the budget is expected to allow."""
    run = Run(f"ppo {env_id.split('/')[-1]} s{seed}", env_id, budget_s)
    config = ppo.PPOConfig.from_dict(reference_hyperparams("ppo", env_id))

    def make_envs() -> gym.vector.VectorEnv:
        return gym.make_vec(env_id, num_envs=config.num_envs, reward=[], autoreset_mode=AutoresetMode.SAME_STEP)

    # Four updates on a throwaway agent measure the rate; the rest of the budget sets the steps
    # (whichever ends first, those steps or the clock, ends the run).
    calibration = make_envs()
    began = time.perf_counter()
    ppo.learn(calibration, 4 * config.batch_size, config, seed=seed)
    rate = 4 * config.batch_size / (time.perf_counter() - began)
    calibration.close()
    updates = max(1, math.floor(rate * (budget_s - run.elapsed()) / config.batch_size))
    planned = updates * config.batch_size
    print(f"{run.label:28s} {rate:.0f} steps/s: planning {planned} steps", flush=True)

    envs = make_envs()
    state = {"step": 0}

    def callback(step: int, agent: ppo.Agent, episodes: dict[str, np.ndarray]) -> bool:
        state["step"] = step
        run.evaluate_if_due(step, agent.predict)
        return not run.out_of_time()

    agent = ppo.learn(envs, planned, config, seed=seed, callback=callback)
    envs.close()
    run.finish(state["step"], agent.predict)
    summary = run.summary()
    summary["planned_steps"] = planned
    return summary


TRAINERS = {"sac": train_sac, "ppo": train_ppo}


def scripted_references() -> dict[str, dict[str, float]]:
    """HopperHeight's scripted hack and honest lunge on the evaluation seeds: proxy and gold."""
    seeds = list(range(EVAL_SEED, EVAL_SEED + EVAL_EPISODES))
    out = {}
    for name, policy in (("stand_tall (hack)", hopper_stand_tall), ("lunge (honest)", hopper_lunge)):
        proxy, gold = scripted_returns(MUJOCO_TASKS["HopperHeight"], policy, seeds)
        out[name] = {"proxy": float(proxy.mean()), "gold": float(gold.mean())}
    return out


def _line(summary: dict[str, Any], which: str) -> str:
    row = summary[which]
    return (
        f"{which:5s} return {row['proxy']:8.1f}  gold {row['gold']:8.1f}  at {row['step']:>8d} steps, "
        f"{row['wall_s']:5.0f} s"
    )


def run(
    minutes: float = MINUTES,
    seeds: tuple[int, ...] = SEEDS,
    algos: tuple[str, ...] = ALGOS,
    variant_minutes: float | None = None,
) -> dict[str, Any]:
    """Every (algorithm, seed) on Hopper for ``minutes``, then PPO on HopperHeight for
    ``variant_minutes`` (default ``minutes``; 0 skips it); print and return the summaries."""
    torch.set_num_threads(1)
    budget_s = 60.0 * minutes
    results: dict[str, Any] = {"hopper": [], "variant": None}
    for algo in algos:
        for seed in seeds:
            results["hopper"].append(TRAINERS[algo](HOPPER, seed, budget_s))
    variant_s = budget_s if variant_minutes is None else 60.0 * variant_minutes
    if variant_s > 0:
        results["variant"] = train_ppo(VARIANT, seeds[0], variant_s)
        results["references"] = scripted_references()

    print(f"\n== Hopper-v0, {minutes:g} minutes a run, {EVAL_EPISODES} evaluation episodes ==")
    for summary in results["hopper"]:
        print(f"{summary['label']}\n  {_line(summary, 'final')}\n  {_line(summary, 'best')}")
    if results["variant"] is not None:
        summary = results["variant"]
        print("\n== HopperHeight-v0 (proxy: torso height; gold: forward progress while healthy) ==")
        print(f"{summary['label']}\n  {_line(summary, 'final')}")
        for name, row in results["references"].items():
            print(f"  scripted {name:18s} proxy {row['proxy']:8.1f}  gold {row['gold']:8.1f}")
    return results


@pytest.mark.slow
def test_mujoco_training():
    results = run()
    for summary in [*results["hopper"], results["variant"]]:
        assert summary["final"]["step"] > 0 and math.isfinite(summary["final"]["gold"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=MINUTES, help="wall-clock budget of each run")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--algos", nargs="+", choices=ALGOS, default=list(ALGOS))
    parser.add_argument(
        "--variant-minutes", type=float, default=None, help="PPO's budget on HopperHeight (default --minutes; 0 skips)"
    )
    args = parser.parse_args()
    run(args.minutes, tuple(args.seeds), tuple(args.algos), args.variant_minutes)
