"""How a reference agent is scored: whole episodes from fixed seeds, proxy and gold returns.

:func:`evaluate` plays one episode in each env of a vector env with a batched policy;
:func:`make_eval_envs` builds the vector env that :func:`rewardgym.agents.train.train` evaluates
in: the training env's reward spec, with its regimes frozen, on the CPU; and before each
evaluation :func:`load_frozen_regimes` puts in it frozen copies of the training env's regimes as
they stand, so a reward that learns while the agent trains (``learned(kind='online')``, every
``intrinsic`` kind) scores the proxy as trained so far, not as a fresh, untrained copy would.

A multi-agent game (``rewardgym.is_multiagent``) is evaluated the same way, a game per episode
and a row per agent (``rewardgym.make_parallel_vec``): :func:`evaluate` returns each agent's
returns, row by row, and :func:`welfare_and_agent_proxy` sums them per game.

Example:
    >>> from rewardgym.agents.evaluation import evaluate, make_eval_envs
    >>> envs = make_eval_envs("rewardgym/CartPole-v0", "scale(factor=2)", num_envs=2)
    >>> returns = evaluate(lambda obs: (obs[:, 2] > 0).astype("int64"), envs)
    >>> bool((returns["proxy"] == 2 * returns["gold"]).all())
    True
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from rewardgym.core.info import EPISODE_RETURNS
from rewardgym.core.pipeline import RewardPipeline
from rewardgym.core.regime import Regime
from rewardgym.core.spec import RewardSpec
from rewardgym.envs.multiagent import MultiAgentVectorEnv, is_multiagent, make_parallel_vec
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
        actions = np.asarray(predict(_numpy_observations(obs)))
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


def _numpy_observations(obs: Any) -> Any:
    """A batch of observations as numpy: each key's for a ``Dict`` observation (the scenes')."""
    if isinstance(obs, dict):
        return {key: np.asarray(value) for key, value in obs.items()}
    return np.asarray(obs)


def make_eval_envs(
    env_id: str, reward: RewardSpec | None, num_envs: int, env_kwargs: dict[str, Any] | None = None
) -> gym.vector.VectorEnv:
    """``num_envs`` envs of ``env_id`` under ``reward`` with every regime frozen (``train(False)``),
    on the CPU, in SAME_STEP autoreset mode: where :func:`evaluate` scores a training run.

    For a multi-agent game, ``num_envs`` games with a row per agent
    (``rewardgym.make_parallel_vec``), game ``k`` started from seed ``EVAL_SEED + k`` by
    :func:`evaluate`; ``env_kwargs`` (``reward_mode``, ``num_agents``, ...) go to the game.

    Regime objects and callables in ``reward`` are deep-copied: the evaluation envs must not share
    (or train) the training envs' regimes. ``None`` is the env's own reward. These regimes are
    the spec's, untrained: to score with a training env's regimes as they stand, call
    :func:`load_frozen_regimes` before evaluating (``train()`` does, at every evaluation).

    Example:
        >>> envs = make_eval_envs("rewardgym/CartPole-v0", "noisy(sigma=1.0)", num_envs=2)
        >>> [regime.training for regime in shell_regimes(envs)]
        [False]
    """
    eval_reward = [] if reward is None else (reward if isinstance(reward, str) else copy.deepcopy(reward))
    make = make_parallel_vec if is_multiagent(env_id) else gym.make_vec
    envs = make(
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


def welfare_and_agent_proxy(returns: dict[str, np.ndarray], envs: gym.vector.VectorEnv) -> dict[str, Any] | None:
    """A multi-agent evaluation's returns (:func:`evaluate`'s, one per row) summed per game:
    ``{"welfare": ..., "agent_proxy": {agent: ...}}``, or None for a single-agent env.

    ``welfare`` is the mean over games of the game's welfare return (the sum of its agents' gold
    returns, each agent's gold being its equal share of the welfare); ``agent_proxy[agent]`` is
    that agent's proxy return, the mean over games.

    Example:
        >>> import numpy as np, rewardgym
        >>> envs = make_eval_envs("rewardgym/PublicGoods-v0", None, num_envs=2)
        >>> returns = evaluate(lambda obs: np.ones(len(obs), np.int64), envs)  # everyone contributes
        >>> summary = welfare_and_agent_proxy(returns, envs)
        >>> round(summary["welfare"], 3), round(summary["agent_proxy"]["player_0"], 3)  # 50 rounds of 4 x 1.6
        (320.0, 80.0)
    """
    game = envs.unwrapped
    if not isinstance(game, MultiAgentVectorEnv):
        return None
    proxy, gold = (game.by_game(np.asarray(returns[key], np.float64)) for key in ("proxy", "gold"))
    return {
        "welfare": float(gold.sum(1).mean()),
        "agent_proxy": {agent: float(proxy[:, k].mean()) for k, agent in enumerate(game.possible_agents)},
    }


def load_frozen_regimes(eval_envs: gym.vector.VectorEnv, regimes: Sequence[Regime]) -> list[Regime]:
    """Put frozen copies of ``regimes`` (a training env's, as they stand now) in the reward shell of
    ``eval_envs``, in place of its own; return the copies.

    Each copy is :meth:`~rewardgym.core.regime.Regime.frozen_copy`: the learned state (weights,
    normalizers, counts...) as it is now, on the CPU, learning no more, sharing nothing with the
    training regime. The copies stay bound to the training env (same spaces; they take batches of
    any size), and :func:`evaluate`'s seeded reset reseeds their per-step random draws. The shell
    must hold regimes of the same kinds, in the same order (``eval_envs`` made from the training
    env's spec by :func:`make_eval_envs`).

    Raises:
        ValueError: ``eval_envs`` has no reward shell, or its regimes are not those of ``regimes``.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> spec = "learned(kind='online', query_every=10, segment_length=5, queries=20)"
        >>> training = gym.make_vec("rewardgym/CartPole-v0", num_envs=4, reward=spec)
        >>> _ = training.reset(seed=0)
        >>> for _ in range(20):  # two refreshes of 20 labels each
        ...     _ = training.step(training.action_space.sample())
        >>> envs = make_eval_envs("rewardgym/CartPole-v0", spec, num_envs=2)
        >>> [trained], [untrained] = shell_regimes(training), shell_regimes(envs)
        >>> [copy] = load_frozen_regimes(envs, [trained])
        >>> untrained.labels, copy.labels, copy.training, copy.model is trained.model
        (0, 40, False, False)
    """
    shell = _outer_shell(eval_envs)
    if shell is None:
        raise ValueError("load_frozen_regimes needs evaluation envs inside a reward shell (make_eval_envs makes them)")
    own = shell.pipeline.regimes
    if [(type(r), r.name) for r in own] != [(type(r), r.name) for r in regimes]:
        raise ValueError(
            f"the evaluation envs' regimes {[repr(r) for r in own]} are not those given "
            f"({[repr(r) for r in regimes]}); make the evaluation envs from the training env's reward spec"
        )
    copies = [regime.frozen_copy() for regime in regimes]
    # A new pipeline rather than a bind: bind would start a learning regime afresh.
    shell.pipeline = RewardPipeline(copies)
    return copies


def _outer_shell(envs: Any) -> VectorRewardShell | None:
    while envs is not None and not isinstance(envs, VectorRewardShell):
        envs = getattr(envs, "env", None)
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
