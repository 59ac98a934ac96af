"""A game as a PettingZoo ``ParallelEnv``: the batched engine with a batch of one game.

The dynamics are the vector env's own kernels (:class:`MultiAgentVectorEnv` with one game and
autoreset disabled), so a ``ParallelEnv`` and game ``k`` of a vector env seeded ``s - k`` play the
same episode; this class only turns rows into PettingZoo's per-agent dicts and checks the actions
by agent name. PettingZoo's AEC API comes from its own conversion (``parallel_to_aec``).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from rewardgym.core.info import GOLD_REWARD
from rewardgym.envs.multiagent.game import MultiAgentGame
from rewardgym.envs.multiagent.vector_env import PAYOFF, WELFARE, MultiAgentVectorEnv


class BatchedParallelEnv(ParallelEnv):
    """One game instance, PettingZoo's parallel way: every agent acts each round.

    ``infos[agent]`` holds ``gold_reward`` (the agent's share of the round's welfare),
    ``welfare`` (the round's welfare, the same for every agent) and ``payoff`` (the agent's own
    payoff before the reward mode). Made without a reward spec it is the bare game; made by
    :func:`rewardgym.make_parallel` it sits in a reward shell, which adds the trace and the
    episode returns.

    Args:
        game: the dynamics.
        reward_mode, weight, **game_params: as for :class:`MultiAgentVectorEnv`.

    Example:
        >>> from rewardgym.envs.multiagent import public_goods_v0
        >>> env = public_goods_v0.parallel_env(num_agents=2)
        >>> obs, infos = env.reset(seed=0)
        >>> obs, rewards, terminations, truncations, infos = env.step({"player_0": 1, "player_1": 0})
        >>> {agent: round(r, 2) for agent, r in rewards.items()}, round(infos["player_0"]["welfare"], 2)
        ({'player_0': 0.8, 'player_1': 1.8}, 2.6)
    """

    def __init__(self, game: MultiAgentGame, **kwargs: Any) -> None:
        self._envs = MultiAgentVectorEnv(game, 1, autoreset_mode="disabled", **kwargs)
        self.game = game
        self.params = self._envs.params
        self.reward_mode, self.weight = self._envs.reward_mode, self._envs.weight
        snake_case = re.sub(r"(?<!^)(?=[A-Z])", "_", game.name).lower()
        self.metadata = {"name": f"{snake_case}_v0", "render_modes": [], "is_parallelizable": True}
        self.render_mode = None
        self.possible_agents = list(self._envs.possible_agents)
        self.agents: list[str] = []
        self.observation_spaces = {agent: self._envs.single_observation_space for agent in self.possible_agents}
        self.action_spaces = {agent: self._envs.single_action_space for agent in self.possible_agents}
        self.state_space = spaces.Box(-np.inf, np.inf, (game.state_size(self.params),), np.float32)

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[self._known(agent)]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[self._known(agent)]

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        # The games take no reset options. PettingZoo's own API test resets with an arbitrary one
        # and requires it to be accepted, so options are ignored here rather than refused.
        del options
        obs, _ = self._envs.reset(seed=seed)
        self.agents = list(self.possible_agents)
        return dict(zip(self.agents, obs)), {agent: {} for agent in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        if not self.agents:
            raise RuntimeError("the episode is over (no agents are left); call reset() to start another")
        rows = self._action_rows(actions)
        obs, reward, terminated, truncated, info = self._envs.step(rows)
        agents = self.agents
        infos = {
            agent: {
                GOLD_REWARD: float(info[GOLD_REWARD][i]),
                WELFARE: float(info[WELFARE][i]),
                PAYOFF: float(info[PAYOFF][i]),
            }
            for i, agent in enumerate(agents)
        }
        result = (
            dict(zip(agents, obs)),
            {agent: float(reward[i]) for i, agent in enumerate(agents)},
            {agent: bool(terminated[i]) for i, agent in enumerate(agents)},
            {agent: bool(truncated[i]) for i, agent in enumerate(agents)},
            infos,
        )
        if bool(terminated[0] or truncated[0]):
            self.agents = []
        return result

    def state(self) -> np.ndarray:
        """The game's whole state (PettingZoo's global state), float32; layout in the game's module."""
        return np.asarray(self._envs.state[0], np.float32)

    def render(self) -> None:
        """The games have no pixels yet (``render_modes`` is empty)."""
        return None

    def close(self) -> None:
        self._envs.close()

    def _known(self, agent: str) -> str:
        if agent not in self.possible_agents:
            raise KeyError(f"unknown agent {agent!r}; agents: {', '.join(self.possible_agents)}")
        return agent

    def _action_rows(self, actions: dict[str, Any]) -> np.ndarray:
        """The agents' actions as the vector env's rows, each checked by the agent's name."""
        if not isinstance(actions, dict):
            raise TypeError(f"actions must be a dict of agent name -> action, got {type(actions).__name__}")
        unknown = [agent for agent in actions if agent not in self.possible_agents]
        if unknown:
            raise ValueError(f"actions for unknown agent {unknown[0]!r}; agents: {', '.join(self.possible_agents)}")
        missing = [agent for agent in self.agents if agent not in actions]
        if missing:
            raise ValueError(f"no action for agent {missing[0]!r}: every agent acts every round in {self.game.name}")
        rows = np.empty(len(self.agents), np.int64)
        for i, agent in enumerate(self.agents):
            action = actions[agent]
            integer = isinstance(action, (int, np.integer)) and not isinstance(action, bool)
            integer = integer or isinstance(action, np.ndarray) and action.shape == () and action.dtype.kind in "iu"
            if not integer or not self.action_spaces[agent].contains(np.int64(action)):
                raise ValueError(f"action {action!r} of agent {agent!r} is outside {self.action_spaces[agent]}")
            rows[i] = int(action)
        return rows
