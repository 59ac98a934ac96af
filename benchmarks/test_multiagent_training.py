"""Do selfish rewards lower welfare? Independent PPO learners on the mixed-motive games, paid
their own payoff (``reward_mode="private"``) or the group's welfare (``"cooperative"``).

For PublicGoods and CommonsHarvest, independent learners (one network per agent,
``learners="independent"``) train with the game's shipped settings
(rewardgym/agents/hyperparams/ppo.yaml) under each reward mode for three seeds; each run's final
evaluation welfare (the mean over the 10 evaluation games of the sum of the agents' gold returns,
``TrainResult.final_welfare``) is reported per seed and as a mean, beside the welfare of the
game's scripted policies (rewardgym.agents.multiagent: the floor and the ceiling). The social
dilemma predicts private < cooperative: a private learner keeps its endowment (PublicGoods) and
overharvests the commons (CommonsHarvest), which pays it more and the group less.

Each run is a subprocess with torch and numba on one thread (``NUMBA_NUM_THREADS=1``), two at a
time (``--jobs``), so a run repeats a sweep worker's trial on the same machine.

Run: ``python benchmarks/test_multiagent_training.py [--games PublicGoods-v0 ...] [--seeds 0 1 2]
[--modes private cooperative] [--learners independent] [--jobs 2] [--steps N]`` or ``python -m pytest -q -s -m
slow benchmarks/test_multiagent_training.py -p no:cacheprovider``. The pytest version asserts the
prediction (the private mean below the cooperative mean, for each game).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

GAMES = ("rewardgym/PublicGoods-v0", "rewardgym/CommonsHarvest-v0")
MODES = ("private", "cooperative")
SEEDS = (0, 1, 2)
STEPS = {
    "rewardgym/PublicGoods-v0": 100_000,
    "rewardgym/CommonsHarvest-v0": 200_000,
    "rewardgym/Coopetition-v0": 200_000,
}
EVAL_EPISODES = 10


def run_one(env_id: str, mode: str, learners: str, seed: int, steps: int) -> dict[str, Any]:
    """One training run, in this process (the subprocess's side): its final welfare and proxies."""
    import torch
    from rewardgym.agents.train import train

    torch.set_num_threads(1)
    start = time.perf_counter()
    result = train(
        env_id,
        algo="ppo",
        seed=seed,
        total_steps=steps,
        hyperparams={"learners": learners},
        eval_every=steps // 10,
        eval_episodes=EVAL_EPISODES,
        env_kwargs={"reward_mode": mode},
    )
    return {
        "welfare": result.final_welfare,
        "agent_proxy": result.final_agent_proxy,
        "curve": [row["eval_welfare"] for row in result.curves],
        "wall_s": time.perf_counter() - start,
    }


def spawn(env_id: str, mode: str, learners: str, seed: int, steps: int) -> dict[str, Any]:
    """:func:`run_one` in a fresh interpreter with torch and numba on one thread."""
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, __file__, "--run-one", json.dumps([env_id, mode, learners, seed, steps])]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{env_id} {mode} seed {seed} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def scripted_welfare(env_id: str) -> dict[str, float]:
    """The welfare of each of the game's scripted policies on the evaluation games."""
    from rewardgym.agents.multiagent import MULTIAGENT_POLICIES
    from rewardgym.agents.train import train

    return {
        name: float(train(env_id, algo=name, eval_episodes=EVAL_EPISODES).final_welfare or 0.0)
        for name in MULTIAGENT_POLICIES[env_id]
    }


def table(
    games: list[str], modes: list[str], seeds: list[int], learners: str, jobs: int, steps: int | None = None
) -> tuple[str, dict]:
    """Runs everything; returns the markdown table and the welfare of every run by (game, mode)."""
    runs = [(game, mode, seed) for game in games for mode in modes for seed in seeds]
    budget = {game: steps or STEPS[game] for game in games}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {run: pool.submit(spawn, run[0], run[1], learners, run[2], budget[run[0]]) for run in runs}
        results = {run: future.result() for run, future in futures.items()}
    lines = [
        "| game | reward mode | learners | steps | final eval welfare per seed | mean | scripted welfare |",
        "|---|---|---|---|---|---|---|",
    ]
    welfare: dict[tuple[str, str], list[float]] = {}
    for game in games:
        scripted = ", ".join(f"{name} {value:.1f}" for name, value in scripted_welfare(game).items())
        for mode in modes:
            done = [results[game, mode, seed] for seed in seeds]
            welfare[game, mode] = [r["welfare"] for r in done]
            per_seed = ", ".join(f"{r['welfare']:.1f}" for r in done)
            wall = np.mean([r["wall_s"] for r in done])
            lines.append(
                f"| `{game.split('/')[1]}` | {mode} | {learners} | {budget[game]:,} ({wall:.0f} s/run) | {per_seed} "
                f"| **{np.mean(welfare[game, mode]):.1f}** | {scripted} |"
            )
    return "\n".join(lines), welfare


@pytest.mark.slow
def test_private_rewards_reach_lower_welfare_than_cooperative_ones() -> None:
    text, welfare = table(list(GAMES), list(MODES), list(SEEDS), "independent", jobs=2)
    print()
    print(text)
    for game in GAMES:
        assert np.mean(welfare[game, "private"]) < np.mean(welfare[game, "cooperative"]), game


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--games", nargs="+", default=[g.split("/")[1] for g in GAMES])
    parser.add_argument("--modes", nargs="+", default=list(MODES))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--learners", default="independent", choices=("independent", "shared"))
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2)")
    parser.add_argument("--steps", type=int, default=None, help="steps per run (default: per game)")
    parser.add_argument("--run-one", default=None, help=argparse.SUPPRESS)  # a subprocess's single run
    args = parser.parse_args()
    if args.run_one is not None:
        print(json.dumps(run_one(*json.loads(args.run_one))))
    else:
        games = [f"rewardgym/{g}" for g in args.games]
        print(table(games, args.modes, args.seeds, args.learners, args.jobs, args.steps)[0])
