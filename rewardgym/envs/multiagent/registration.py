"""The multi-agent games by id: ``rewardgym.make_parallel`` and ``rewardgym.make_parallel_vec``.

Multi-agent games are not gymnasium envs (``gym.make`` returns one agent's env), so they keep a
registry of their own under the same ``rewardgym/<Name>-v0`` ids; each env made here carries a
gymnasium ``EnvSpec`` with its id, which regimes read to find the game.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from gymnasium.envs.registration import EnvSpec
from gymnasium.vector import AutoresetMode
from pettingzoo.utils.conversions import parallel_to_aec

from rewardgym.envs.multiagent.commons_harvest import COMMONS_HARVEST
from rewardgym.envs.multiagent.coopetition import COOPETITION
from rewardgym.envs.multiagent.game import MultiAgentGame
from rewardgym.envs.multiagent.parallel_env import BatchedParallelEnv
from rewardgym.envs.multiagent.public_goods import PUBLIC_GOODS
from rewardgym.envs.multiagent.vector_env import MultiAgentVectorEnv
from rewardgym.envs.registration import NAMESPACE
from rewardgym.shells import wrap

GAMES: dict[str, MultiAgentGame] = {
    f"{NAMESPACE}/{game.name}-v0": game for game in (PUBLIC_GOODS, COMMONS_HARVEST, COOPETITION)
}
"""Every multi-agent game, by id."""

MULTIAGENT_IDS = tuple(GAMES)


def is_multiagent(env_id: str) -> bool:
    """Whether ``env_id`` names a multi-agent game (``"PublicGoods-v0"`` counts as well).

    Example:
        >>> is_multiagent("rewardgym/PublicGoods-v0"), is_multiagent("rewardgym/CartPole-v0")
        (True, False)
    """
    return _resolve(env_id) in GAMES


def game_of(env_id: str) -> MultiAgentGame:
    """The game registered as ``env_id``; an unknown id is refused with the valid ones."""
    resolved = _resolve(env_id)
    if resolved not in GAMES:
        raise ValueError(f"unknown multi-agent env {env_id!r}; valid ids: {', '.join(MULTIAGENT_IDS)}")
    return GAMES[resolved]


def make_parallel(env_id: str, reward: Any = None, **kwargs: Any) -> Any:
    """A game as a PettingZoo ``ParallelEnv`` in a reward shell (``reward=None``: no layer).

    Every agent's reward goes through the spec's regimes, each agent with its own regime state;
    ``infos[agent]`` carries gold, the trace and, when the episode ends, its episode returns.

    Example:
        >>> import rewardgym
        >>> env = rewardgym.make_parallel("rewardgym/CommonsHarvest-v0", reward="scale(factor=2)")
        >>> obs, infos = env.reset(seed=0)
        >>> _, rewards, _, _, infos = env.step({agent: 1 for agent in env.agents})
        >>> rewards["player_0"], infos["player_0"]["gold_reward"]
        (5.0, 2.5)
    """
    env = BatchedParallelEnv(game_of(env_id), **kwargs)
    env.spec = _spec(env_id, kwargs)
    return wrap(env, [] if reward is None else reward)


def make_parallel_vec(
    env_id: str,
    num_envs: int = 1,
    *,
    reward: Any = None,
    device: str = "cpu",
    autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    fuse: bool = True,
    **kwargs: Any,
) -> Any:
    """``num_envs`` instances of a game as one vector env with a row per agent, in a reward shell
    (``fuse=False``: no reward layer runs in the engine's compiled loops; :func:`rewardgym.wrap`).

    ``envs.num_envs`` is ``num_envs * num_agents`` rows (see :class:`MultiAgentVectorEnv`);
    ``envs.unwrapped`` has ``num_games``, ``num_agents``, ``agent_index`` and ``by_game``.

    Example:
        >>> import numpy as np, rewardgym
        >>> envs = rewardgym.make_parallel_vec("rewardgym/PublicGoods-v0", num_envs=16, reward="noisy")
        >>> obs, _ = envs.reset(seed=0)
        >>> envs.num_envs, envs.unwrapped.num_games, obs.shape
        (64, 16, (64, 9))
    """
    envs = MultiAgentVectorEnv(game_of(env_id), num_envs, device=device, autoreset_mode=autoreset_mode, **kwargs)
    envs.spec = _spec(env_id, {"num_envs": num_envs, "device": device, **kwargs})
    return wrap(envs, [] if reward is None else reward, fuse=fuse)


class PettingZooModule(NamedTuple):
    """What a PettingZoo env module exports: ``raw_env``, ``parallel_env`` and ``env`` (AEC)."""

    raw_env: Callable[..., BatchedParallelEnv]
    parallel_env: Callable[..., Any]
    env: Callable[..., Any]


def pettingzoo_module(env_id: str) -> PettingZooModule:
    """The three functions of a game's PettingZoo module (``public_goods_v0`` and the others).

    ``raw_env(**kwargs)`` is the bare game; ``parallel_env(**kwargs)`` the game in a reward shell
    (:func:`make_parallel`: ``reward=`` a spec, none by default); ``env(**kwargs)`` the latter as an
    AEC env through PettingZoo's own ``parallel_to_aec``.

    Example:
        >>> module = pettingzoo_module("rewardgym/Coopetition-v0")
        >>> module.raw_env().possible_agents, type(module.env()).__name__
        (['player_0', 'player_1'], 'OrderEnforcingWrapper')
    """
    game = game_of(env_id)

    def raw_env(**kwargs: Any) -> BatchedParallelEnv:
        """The bare game as a ``ParallelEnv``, outside any reward shell."""
        return BatchedParallelEnv(game, **kwargs)

    def parallel_env(**kwargs: Any) -> Any:
        """The game as a ``ParallelEnv`` in a reward shell (``reward=`` a spec; none by default)."""
        return make_parallel(env_id, **kwargs)

    def env(**kwargs: Any) -> Any:
        """The game as an AEC env, through PettingZoo's own ``parallel_to_aec``."""
        return parallel_to_aec(parallel_env(**kwargs))

    return PettingZooModule(raw_env, parallel_env, env)


def _resolve(env_id: str) -> str:
    env_id = str(env_id)
    return env_id if "/" in env_id else f"{NAMESPACE}/{env_id}"


def _spec(env_id: str, kwargs: dict[str, Any]) -> EnvSpec:
    # Not in gymnasium's registry (gym.make cannot make a multi-agent game); the spec carries the
    # id and the arguments for regimes and records.
    entry = "rewardgym.envs.multiagent.registration:make_parallel"
    return EnvSpec(id=_resolve(env_id), entry_point=entry, kwargs=dict(kwargs))
