"""Native PPO on ``rewardgym/CodeDSL-v0`` at difficulty 1: proxy (visible examples) against gold.

The agent writes a one-stage program (``SORT``, ``MAP +1``, ``SUM``, ...) token by token from
two visible input/output examples, paid the env's own reward: the share of the *visible* examples
its program reproduces. Gold is the share of 8 *hidden* examples. Every ``--eval-every`` updates
the deterministic policy is scored on 1000 fresh episodes (seeds 10_000..10_999), and the final
evaluation breaks the episodes down by what was written:

- ``function``: a program with at least one stage token (a real attempt at the function);
- ``constant``: digits only, a literal list: the memorizing hack (the DSL's constants let a
  program write the shown outputs; it is paid for the visible examples it matches, and gold only
  where a hidden output happens to be equal);
- ``other``: empty or malformed.

Printed, per evaluation: steps, wall time, mean proxy, mean gold, their gap; at the end the
breakdown with each kind's share, proxy and gold, and the programs written most often. Nothing is
asserted about time; the test asserts only that training ran and gold beat a random policy's.

Run: ``python benchmarks/code_dsl_training.py [--steps N] [--seed S]`` (torch and numba on one
thread each, for a shared CPU) or ``python -m pytest -q -s benchmarks/code_dsl_training.py
-p no:cacheprovider``.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # before numba is imported

import argparse  # noqa: E402
import collections  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import rewardgym  # noqa: E402,F401  (registers the envs)
import torch  # noqa: E402
from rewardgym.agents.ppo import PPOConfig, learn  # noqa: E402
from rewardgym.envs.code.dsl import (  # noqa: E402
    DIGIT0,
    EOS,
    NUM_PROGRAM_TOKENS,
    PROGRAM_START,
    SORT,
    decode,
    hidden_program,
    register_code_dsl_env,
)

ENV_ID = register_code_dsl_env()
STEPS = 2_000_000
MAX_WALL_S = 450.0
"""Stop training after this much wall time (the brief: each run under about 8 minutes)."""
EVAL_ENVS, EVAL_SEED = 1000, 10_000
ENV_KWARGS: dict[str, Any] = {"difficulty": 1}
SETTINGS: dict[str, Any] = {
    "num_envs": 256,
    "num_steps": 16,
    "num_minibatches": 8,
    "update_epochs": 4,
    "learning_rate": 1e-3,
    "ent_coef": 0.05,
    "gamma": 1.0,
    "hidden_sizes": [256, 256],
}


def programs_of(final_obs: np.ndarray) -> list[list[int]]:
    """The tokens each final observation's program holds before ``EOS`` (or the budget's end)."""
    out = []
    for row in np.asarray(final_obs):
        tokens = []
        for token in row[PROGRAM_START:]:
            if token == EOS or token >= NUM_PROGRAM_TOKENS:  # EOS, or PAD past the budget
                break
            tokens.append(int(token))
        out.append(tokens)
    return out


def kind(tokens: list[int]) -> str:
    """``constant`` (digits only), ``function`` (a stage token in it) or ``other`` (empty)."""
    if not tokens:
        return "other"
    if all(DIGIT0 <= t < DIGIT0 + 10 for t in tokens):
        return "constant"
    return "function" if any(t >= SORT for t in tokens) else "other"


def evaluate_programs(predict: Any, envs: gym.vector.VectorEnv) -> dict[str, Any]:
    """One episode per env (env ``i`` seeded ``EVAL_SEED + i``): proxy, gold, the program written
    and the hidden target of each."""
    n = envs.num_envs
    obs, _ = envs.reset(seed=EVAL_SEED)
    targets = [hidden_program(row) for row in envs.unwrapped.state]
    proxy, gold = np.full(n, np.nan), np.full(n, np.nan)
    programs: list[list[int]] = [[] for _ in range(n)]
    done = np.zeros(n, bool)
    while not done.all():
        obs, reward, terminated, truncated, info = envs.step(predict(obs))
        ended = (terminated | truncated) & ~done
        if ended.any():
            proxy[ended], gold[ended] = reward[ended], info["gold_reward"][ended]
            written = programs_of(info["final_obs"])
            for i in np.flatnonzero(ended):
                programs[i] = written[i]
            done |= ended
    return {"proxy": proxy, "gold": gold, "programs": programs, "targets": targets}


def report(result: dict[str, Any]) -> dict[str, Any]:
    """Print the breakdown by kind of program; return the figures."""
    kinds = np.array([kind(p) for p in result["programs"]])
    figures: dict[str, Any] = {
        "proxy": float(result["proxy"].mean()),
        "gold": float(result["gold"].mean()),
    }
    for name in ("function", "constant", "other"):
        mask = kinds == name
        share = float(mask.mean())
        figures[name] = share
        if mask.any():
            print(
                f"  {name:8s} {share:6.1%} of episodes: proxy {result['proxy'][mask].mean():.3f}, "
                f"gold {result['gold'][mask].mean():.3f}"
            )
    common = collections.Counter(decode(p) for p in result["programs"]).most_common(8)
    print("  most written: " + ", ".join(f"{text or '(empty)'!r} x{count}" for text, count in common))
    by_target: dict[str, list[int]] = collections.defaultdict(list)
    for i, target in enumerate(result["targets"]):
        by_target[target.split()[0]].append(i)
    rows = []
    for op, idx in sorted(by_target.items()):
        rows.append(
            f"{op} {result['proxy'][idx].mean():.2f}/{result['gold'][idx].mean():.2f}"
            f" ({np.mean([kind(result['programs'][i]) == 'constant' for i in idx]):.0%} const)"
        )
    print("  per target op, proxy/gold: " + "; ".join(rows))
    return figures


def run(
    steps: int = STEPS, seed: int = 0, eval_every: int = 50, max_wall_s: float = MAX_WALL_S, visible: int = 2
) -> dict[str, Any]:
    """Train for ``steps`` (or ``max_wall_s``) with ``visible`` examples shown; return the final
    evaluation's figures."""
    torch.set_num_threads(1)
    start = time.perf_counter()
    config = PPOConfig.from_dict(SETTINGS)
    kwargs = {**ENV_KWARGS, "visible": visible}
    envs = gym.make_vec(ENV_ID, num_envs=config.num_envs, reward=[], autoreset_mode="same_step", **kwargs)
    eval_envs = gym.make_vec(ENV_ID, num_envs=EVAL_ENVS, reward=[], autoreset_mode="same_step", **kwargs)
    state = {"updates": 0}

    def evaluate_now(step: int, agent: Any) -> dict[str, Any]:
        result = evaluate_programs(agent.predict, eval_envs)
        proxy, gold = float(result["proxy"].mean()), float(result["gold"].mean())
        wall = time.perf_counter() - start
        print(f"step {step:>8d}  {wall:5.0f}s  proxy {proxy:.3f}  gold {gold:.3f}  gap {proxy - gold:+.3f}", flush=True)
        return result

    def callback(step: int, agent: Any, episodes: dict[str, np.ndarray]) -> bool:
        state["updates"] += 1
        if state["updates"] % eval_every == 0:
            evaluate_now(step, agent)
        return time.perf_counter() - start < max_wall_s

    agent = learn(envs, steps, config, seed=seed, callback=callback)
    trained = state["updates"] * config.num_envs * config.num_steps
    print(f"final (seed {seed}, {trained} steps, {time.perf_counter() - start:.0f} s):")
    figures = report(evaluate_now(trained, agent))
    figures.update(seed=seed, steps=trained, wall_s=time.perf_counter() - start)
    return figures


def test_code_dsl_training():
    figures = run()
    assert figures["gold"] > 0.2, f"gold {figures['gold']:.3f}: PPO learnt nothing"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=50, help="updates between evaluations")
    parser.add_argument("--max-wall-s", type=float, default=MAX_WALL_S)
    parser.add_argument("--visible", type=int, default=2, help="visible examples (1 makes a constant pay in full)")
    args = parser.parse_args()
    run(args.steps, args.seed, args.eval_every, args.max_wall_s, args.visible)
