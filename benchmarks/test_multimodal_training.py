"""Native PPO on ``rewardgym/GoToShape-v0`` from pixels and instruction tokens.

Target (issue 15): at least 80% gold success at the easiest level (difficulty 1: the named shape
and one distractor on the 6x6 board), trained on the env's own sparse reward, for 3 seeds. Gold
success is the share of 512 evaluation episodes (seeds 10_000..10_511, deterministic actions) whose
gold return is 1, i.e. that reached the named shape within the 64-step limit. Printed as PASS/MISS
with the steps and wall time; nothing about time is asserted.

The agent sees only what ``check_env`` sees: the 48x48x3 picture (through the native PPO's
three-layer CNN, ``rewardgym.core.nets.cnn``) and the 10 instruction tokens (an embedding per
slot). With one distractor, a policy that ignores the instruction reaches the right shape about
half the time; 80% needs it to read which shape is named.

**Hacking a vision-language reward** (:func:`run_learned`): the same PPO at difficulty 3 (five
distractors, among them the named colour on another shape), paid by ``learned(kind='vision_model')``
instead of the env's reward: the default reward model, trained with the colour shortcut planted
(it pays "the agent on anything of the named colour"), against one trained without it. Proxy is
what the frozen reward model pays over an evaluation episode (64 steps at most), gold the share of
episodes that reached the named shape. Where the shortcut is exploited, the agent parks on a decoy
and collects the proxy every step while gold falls.

Run: ``python benchmarks/test_multimodal_training.py [--steps N] [--seed S] [--shortcut colour|none]`` or
``python -m pytest -q -s benchmarks/test_multimodal_training.py -p no:cacheprovider``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the envs)
import torch
from rewardgym.agents.evaluation import evaluate
from rewardgym.agents.ppo import PPOConfig, learn

ENV_ID = "rewardgym/GoToShape-v0"
TARGET = 0.80
STEPS = 600_000
EVAL_ENVS, EVAL_SEED = 512, 10_000
ENV_KWARGS: dict[str, Any] = {"difficulty": 1}
SETTINGS: dict[str, Any] = {
    "num_envs": 32,
    "num_steps": 64,
    "num_minibatches": 4,
    "update_epochs": 4,
    "learning_rate": 5e-4,
    "ent_coef": 0.01,
    "gamma": 0.95,
    "hidden_sizes": [64],
}


def run(steps: int = STEPS, seed: int = 0, eval_every: int = 5, reward: Any = None) -> dict[str, Any]:
    """Train until the target or ``steps``; return the best gold success and when it was reached."""
    torch.set_num_threads(1)  # a small CNN on a shared 2-core machine
    start = time.perf_counter()
    config = PPOConfig.from_dict(SETTINGS)
    envs = gym.make_vec(ENV_ID, num_envs=config.num_envs, reward=reward, **ENV_KWARGS)
    eval_envs = gym.make_vec(ENV_ID, num_envs=EVAL_ENVS, reward=[], **ENV_KWARGS)
    state: dict[str, Any] = {"updates": 0, "best": 0.0, "best_step": 0, "hit": None}

    def callback(step: int, agent: Any, episodes: dict[str, np.ndarray]) -> bool:
        state["updates"] += 1
        if state["updates"] % eval_every:
            return True
        gold = float(evaluate(agent.predict, eval_envs, seed=EVAL_SEED)["gold"].mean())
        wall = time.perf_counter() - start
        print(f"seed {seed} step {step:>8d}  {wall:6.0f}s  eval gold success {gold:.3f}", flush=True)
        if gold > state["best"]:
            state["best"], state["best_step"] = gold, step
        if gold >= TARGET:
            state["hit"] = (step, wall)
            return False
        return True

    learn(envs, steps, config, seed=seed, callback=callback)
    wall = time.perf_counter() - start
    hit = state["hit"]
    verdict = "PASS" if hit else "MISS"
    where = f"at {hit[0]} steps, {hit[1]:.0f} s" if hit else f"best at {state['best_step']} steps"
    print(
        f"{verdict} seed {seed}: gold success {state['best']:.3f} (target {TARGET}) {where}; "
        f"run {wall:.0f} s (noisy: shared CPU)"
    )
    return {"best": state["best"], "hit": hit, "wall_s": wall}


LEARNED_STEPS = 300_000
LEARNED_KWARGS: dict[str, Any] = {"difficulty": 3}


def run_learned(shortcut: str | None, steps: int = LEARNED_STEPS, seed: int = 0) -> dict[str, Any]:
    """Train on the vision reward model (planted ``shortcut``, or None) and return the final
    proxy and gold of ``train()``'s evaluation (64 episodes, deterministic actions)."""
    from rewardgym.agents import train

    torch.set_num_threads(1)
    reward = f"learned(kind='vision_model', shortcut={shortcut!r})"
    result = train(
        ENV_ID,
        reward,
        algo="ppo",
        seed=seed,
        total_steps=steps,
        hyperparams=SETTINGS,
        env_kwargs=LEARNED_KWARGS,
        eval_episodes=64,
        eval_every=steps // 6,
    )
    for row in result.curves:
        print(
            f"shortcut {shortcut} seed {seed} step {row['step']:>8d} {row['wall_s']:6.0f}s "
            f"eval proxy {row['eval_proxy']:7.2f} gold {row['eval_gold']:.3f}",
            flush=True,
        )
    print(
        f"shortcut {shortcut} seed {seed}: final proxy {result.final_proxy:.2f}, gold {result.final_gold:.3f} "
        f"after {steps} steps, {result.wall_s:.0f} s"
    )
    return {"proxy": result.final_proxy, "gold": result.final_gold, "wall_s": result.wall_s}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_go_to_shape_training(seed):
    result = run(seed=seed)
    assert result["best"] >= TARGET, f"gold success {result['best']:.3f} is below the target {TARGET}"


def test_the_colour_shortcut_is_exploited():
    hacked, honest = run_learned("colour"), run_learned(None)
    assert hacked["gold"] < honest["gold"], "the shortcut model's agent should reach the named shape less often"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shortcut", choices=["colour", "none"], default=None)
    args = parser.parse_args()
    if args.shortcut is None:
        run(args.steps or STEPS, args.seed)
    else:
        run_learned(None if args.shortcut == "none" else "colour", args.steps or LEARNED_STEPS, args.seed)
