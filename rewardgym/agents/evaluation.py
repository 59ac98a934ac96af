"""How a reference agent is scored: whole episodes from fixed seeds, proxy and gold returns.

:func:`evaluate` plays one episode in each env of a vector env with a batched policy;
:func:`make_eval_envs` builds the vector env that :func:`rewardgym.agents.train.train` evaluates
in: the training env's reward spec, with its regimes copied and frozen, on the CPU.

Example:
    >>> from rewardgym.agents.evaluation import evaluate, make_eval_envs
    >>> envs = make_eval_envs("rewardgym/CartPole-v0", "scale(factor=2)", num_envs=2)
    >>> returns = evaluate(lambda obs: (obs[:, 2] > 0).astype("int64"), envs)
    >>> bool((returns["proxy"] == 2 * returns["gold"]).all())
    True
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from rewardgym.core.info import EPISODE_RETURNS
from rewardgym.core.regime import Regime
from rewardgym.core.spec import RewardSpec
from rewardgym.shells.vector_shell import VectorRewardShell

EVAL_SEED = 10_000
"""Evaluation episode ``i`` starts from seed ``EVAL_SEED + i``, whatever the training seed: every
run of a sweep is scored on the same starts (training seeds, small ints, stay below them)."""


def evaluate(
    predict: Callable[[np.ndarray], np.ndarray], envs: gym.vector.VectorEnv, seed: int = EVAL_SEED
) -> dict[str, np.ndarray]:
    """Run one episode in each env of ``envs`` (env ``i`` from seed ``seed + i``) with the batched
    policy ``predict(obs) -> actions``; return each episode's proxy and gold returns.

    ``envs`` must report ``info["episode_returns"]`` (be inside a reward shell). Box actions are
    clipped to the action space's bounds.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=3, reward="none")
        >>> returns = evaluate(lambda obs: (obs[:, 2] > 0).astype("int64"), envs)
        >>> returns["gold"].shape, bool((returns["gold"] > 20).all())
        ((3,), True)
    """
    space = envs.single_action_space
    bounds = (space.low, space.high) if isinstance(space, gym.spaces.Box) else None
    n = envs.num_envs
    proxy, gold = np.full(n, np.nan), np.full(n, np.nan)
    finished = np.zeros(n, dtype=bool)
    obs, _ = envs.reset(seed=seed)
    limit = getattr(envs.unwrapped, "max_episode_steps", None) or 1_000_000
    for _ in range(int(limit) + 2):  # an autoreset (NEXT_STEP) step may come before an end
        actions = np.asarray(predict(np.asarray(obs)))
        if bounds is not None:
            actions = np.clip(actions, *bounds).astype(space.dtype, copy=False)
        obs, _, terminated, truncated, info = envs.step(actions)
        ended = (np.asarray(terminated) | np.asarray(truncated)) & ~finished
        if ended.any():
            episode = info[EPISODE_RETURNS]
            proxy[ended] = np.asarray(episode["proxy"])[ended]
            gold[ended] = np.asarray(episode["gold"])[ended]
            finished |= ended
            if finished.all():
                return {"proxy": proxy, "gold": gold}
    raise RuntimeError(f"evaluation episodes did not end within {limit} steps")


def make_eval_envs(
    env_id: str, reward: RewardSpec | None, num_envs: int, env_kwargs: dict[str, Any] | None = None
) -> gym.vector.VectorEnv:
    """``num_envs`` envs of ``env_id`` under ``reward`` with every regime frozen (``train(False)``),
    on the CPU, in SAME_STEP autoreset mode: where :func:`evaluate` scores a training run.

    Regime objects and callables in ``reward`` are deep-copied: the evaluation envs must not share
    (or train) the training envs' regimes. ``None`` is the env's own reward.

    Example:
        >>> envs = make_eval_envs("rewardgym/CartPole-v0", "noisy(sigma=1.0)", num_envs=2)
        >>> [regime.training for regime in shell_regimes(envs)]
        [False]
    """
    eval_reward = [] if reward is None else (reward if isinstance(reward, str) else copy.deepcopy(reward))
    envs = gym.make_vec(
        env_id,
        num_envs=num_envs,
        reward=eval_reward,
        device="cpu",
        autoreset_mode=AutoresetMode.SAME_STEP,
        **(env_kwargs or {}),
    )
    for regime in shell_regimes(envs):
        regime.train(False)
    return envs


def shell_regimes(envs: Any) -> list[Regime]:
    """The regimes of every reward shell in a stack of vector wrappers, outermost shell first.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=2, reward="scale(factor=2)")
        >>> [type(regime).__name__ for regime in shell_regimes(envs)]
        ['Scale']
    """
    regimes: list[Regime] = []
    while envs is not None:
        if isinstance(envs, VectorRewardShell):
            regimes += envs.pipeline.regimes
        envs = getattr(envs, "env", None)
    return regimes
