"""The shell that applies reward regimes to a PettingZoo ``ParallelEnv``, batched over agents.

PettingZoo speaks in per-agent dicts; regimes speak in batches. The shell groups the agents by
their (observation space, action space), in ``possible_agents`` order, and gives each group one
:class:`~rewardgym.core.pipeline.RewardPipeline` bound with a row per agent
(``EnvContext.num_envs`` is the group's size). A symmetric game is one group; a game whose agents
see or act differently has one group per kind of agent. Each step the shell stacks a group's
observations, actions and rewards into a :class:`~rewardgym.core.transition.Transition`, so
regimes are batched over agents and keep each agent's state (a running sum, a noise stream, an
attacker's budget) in its own row.

An agent absent from a step (its episode ended, or it has not yet arrived) is a ``valid=False``
row holding its last observation and a zero reward: nothing learns from it and its output is
ignored. (An agent the env pays without a transition to show for it, with no earlier observation
or no action, is a ``valid=False`` row too: its reward passes through every layer unchanged.)
A PettingZoo env does not reset itself, so an agent's ``next_obs`` on the step that
ends its episode is the real final observation, as the contract requires; right after that
step the shell resets the regimes' rows of the agents whose episode ended.

``infos[agent]`` gets the contract's keys (:mod:`rewardgym.core.info`): ``gold_reward`` (the
env's own, passed through untouched; for an env that reports none, its own reward),
``reward_trace``, ``regime_info`` where a layer reports, and on the step that ends the agent's
episode ``episode_returns`` (``proxy``, ``gold``, ``gap`` as floats, ``length`` as an int).

Seeding: ``reset(seed=s)`` reseeds the group holding the first agents with ``s`` and each later
group with ``s`` plus the number of agents before it, so with the layers' additive seeds
(:func:`~rewardgym.core.pipeline.layer_seed`) every agent's per-row draws are its own, and in a
one-group game agent ``i`` draws as env ``i`` of a vector env seeded ``s`` (the row-per-agent
vector env of docs/design.md, "Multi-agent games", included). An unseeded reset leaves the
streams running.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array, iterate
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils import BaseParallelWrapper

from rewardgym.core.arrays import is_torch
from rewardgym.core.info import EPISODE_RETURNS, GOLD_REWARD, REGIME_INFO, REWARD_TRACE
from rewardgym.core.pipeline import RewardPipeline
from rewardgym.core.regime import EnvContext
from rewardgym.core.spec import RewardSpec, resolve_reward_spec
from rewardgym.core.transition import Transition
from rewardgym.shells.monitor import EpisodeReturns

AEC_TO_PARALLEL = "pettingzoo.utils.conversions.aec_to_parallel"
"""The conversion that makes an AEC env a ``ParallelEnv`` this shell can wrap."""


class ParallelRewardShell(BaseParallelWrapper):
    """Applies regimes to every agent's reward of a PettingZoo ``ParallelEnv`` (see the module).

    ``rewards[agent]`` is the agent's proxy; ``infos[agent]`` carries its gold, trace and episode
    returns. Everything else (``agents``, ``possible_agents``, spaces, ``state()``, ``render()``)
    is the env's.

    Attributes:
        groups: the agent groups, one pipeline each (:class:`AgentGroup`).

    Raises:
        TypeError: an AEC env (convert it with ``pettingzoo.utils.conversions.aec_to_parallel``)
            or anything else that is not a ``ParallelEnv``.
        ValueError: a :class:`~rewardgym.core.regime.Regime` object in the spec when the agents
            form several groups (one object cannot keep the state of two batches).

    Example:
        >>> import rewardgym
        >>> from pettingzoo.classic.rps.rps import parallel_env
        >>> env = rewardgym.wrap(parallel_env(), "scale(factor=2)")
        >>> _ = env.reset(seed=0)
        >>> _, rewards, _, _, infos = env.step({"player_0": 1, "player_1": 2})  # paper, scissors
        >>> rewards, infos["player_1"]["gold_reward"], infos["player_1"]["reward_trace"]
        ({'player_0': -2.0, 'player_1': 2.0}, 1.0, {'env': 1.0, 'scale': 2.0})
    """

    def __init__(self, env: ParallelEnv, reward: RewardSpec = None) -> None:
        check_parallel_env(env)
        super().__init__(env)
        env_id = getattr(getattr(env, "spec", None), "id", None)
        self.groups = [
            AgentGroup(agents, observation_space, action_space, first_row, reward, env_id)
            for agents, observation_space, action_space, first_row in _group_agents(env)
        ]
        _refuse_shared_regimes(self.groups)
        self._known = frozenset(agent for group in self.groups for agent in group.agents)
        self._last_obs: dict[Any, Any] = {}

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[Any, Any], dict[Any, dict[str, Any]]]:
        obs, infos = self.env.reset(seed=seed, options=options)
        self._last_obs = {agent: item for agent, item in obs.items() if agent in self._known}
        for group in self.groups:
            group.pipeline.reset(None, seed=None if seed is None else int(seed) + group.first_row)
            group.episode.reset(np.zeros(len(group.agents)))
            group.obs = group.stack_obs(self._last_obs)
        return obs, infos

    def step(
        self, actions: dict[Any, Any]
    ) -> tuple[dict[Any, Any], dict[Any, float], dict[Any, bool], dict[Any, bool], dict[Any, dict[str, Any]]]:
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        infos = {agent: dict(info) for agent, info in infos.items()}
        for agent in rewards:
            if agent not in self._known:
                raise ValueError(
                    f"the env reported a reward for agent {agent!r}, which is not in its possible_agents "
                    f"({', '.join(map(str, self.possible_agents))}); PettingZoo requires possible_agents "
                    "to list every agent, and the shell gives each of them a row"
                )
            infos.setdefault(agent, {})
        known_before = set(self._last_obs)
        self._last_obs.update((agent, item) for agent, item in obs.items() if agent in self._known)
        proxies: dict[Any, float] = {}
        for group in self.groups:
            if any(agent in rewards for agent in group.agents):
                proxies.update(
                    group.step(actions, self._last_obs, known_before, rewards, terminations, truncations, infos)
                )
            elif any(agent in obs for agent in group.agents):  # agents that arrive without a step
                group.obs = group.stack_obs(self._last_obs)
        # The env's order of agents, the proxy in place of each reward.
        return obs, {agent: proxies[agent] for agent in rewards}, terminations, truncations, infos


class AgentGroup:
    """Agents sharing an (observation, action) space: one pipeline, a row per agent.

    Attributes:
        agents: the group's agents, in ``possible_agents`` order (row ``i`` is ``agents[i]``).
        observation_space, action_space: the spaces they share.
        first_row: how many agents the groups before this one hold (its seed offset).
        pipeline: the group's own regimes (the spec resolved afresh), bound with
            ``num_envs=len(agents)``.
        episode: the group's episode monitor.
        obs: the batch of each agent's latest observation (the next step's ``obs``).
    """

    def __init__(
        self,
        agents: list[Any],
        observation_space: spaces.Space,
        action_space: spaces.Space,
        first_row: int,
        reward: RewardSpec,
        env_id: str | None = None,
    ) -> None:
        self.agents, self.first_row = agents, first_row
        self.observation_space, self.action_space = observation_space, action_space
        self.pipeline = RewardPipeline(resolve_reward_spec(reward))
        self.pipeline.bind(EnvContext(len(agents), observation_space, action_space, env_id=env_id))
        self.episode = EpisodeReturns()
        self.obs: Any = None
        # What an absent agent's row holds before the agent has been seen, and for its action.
        self._blank_obs = _blank(observation_space)
        self._blank_action = _blank(action_space)

    def stack_obs(self, last_obs: dict[Any, Any]) -> Any:
        """The group's observations as one batch, a row per agent (a blank for one never seen)."""
        return _stack(self.observation_space, [last_obs.get(agent, self._blank_obs) for agent in self.agents])

    def step(
        self,
        actions: dict[Any, Any],
        last_obs: dict[Any, Any],
        known_before: set[Any],
        rewards: dict[Any, Any],
        terminations: dict[Any, Any],
        truncations: dict[Any, Any],
        infos: dict[Any, dict[str, Any]],
    ) -> dict[Any, float]:
        """Run the pipeline over the group's step; fill the present agents' infos; their proxies."""
        present = np.array([agent in rewards for agent in self.agents])
        # A transition needs the observation it started from and the action taken.
        valid = present & np.array([agent in known_before and agent in actions for agent in self.agents])
        reward = np.array([rewards.get(agent, 0.0) for agent in self.agents], dtype=np.float32)
        # A foreign env's own reward is its gold (as given, not rounded to the batch's float32).
        for agent in self.agents:
            if agent in rewards:
                infos[agent].setdefault(GOLD_REWARD, float(rewards[agent]))
        gold = np.array([infos[agent][GOLD_REWARD] if agent in rewards else 0.0 for agent in self.agents], np.float64)
        terminated = present & np.array([bool(terminations.get(agent, False)) for agent in self.agents])
        truncated = present & np.array([bool(truncations.get(agent, False)) for agent in self.agents])
        action_items = [actions.get(agent, self._blank_action) for agent in self.agents]
        next_obs = self.stack_obs(last_obs)
        batch = Transition(
            obs=self.obs,
            action=_stack(self.action_space, action_items),
            next_obs=next_obs,
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            valid=valid,
            gold=gold,
        )
        proxy, trace, reports = self.pipeline.apply(batch, self._env_trace(reward, present, infos))
        done = terminated | truncated
        episode = self.episode.step(proxy, gold, present, done)
        proxies: dict[Any, float] = {}
        for row in np.flatnonzero(present).tolist():
            agent = self.agents[row]
            info = infos[agent]
            proxies[agent] = float(proxy[row])
            info[REWARD_TRACE] = {name: float(values[row]) for name, values in trace.items()}
            if reports:
                info[REGIME_INFO] = {
                    layer: {key: _entry(value, row) for key, value in report.items()}
                    for layer, report in reports.items()
                }
            if episode is not None and done[row]:
                info[EPISODE_RETURNS] = {key: float(values[row]) for key, values in episode.items()}
                info[EPISODE_RETURNS]["length"] = int(episode["length"][row])
        if done.any():
            self.pipeline.reset(done)
        self.obs = next_obs
        return proxies

    def _env_trace(self, reward: np.ndarray, present: np.ndarray, infos: dict[Any, dict[str, Any]]) -> dict[str, Any]:
        """The trace entering the pipeline: ``{"env": reward}``, or an inner shell's own trace."""
        inner = [infos[agent].get(REWARD_TRACE) if present[row] else None for row, agent in enumerate(self.agents)]
        keys = next((list(trace) for trace in inner if trace), None)
        if keys is None:
            return {"env": reward}
        return {
            key: np.array(
                [trace.get(key, reward[row]) if trace else reward[row] for row, trace in enumerate(inner)],
                dtype=np.float32,
            )
            for key in keys
        }


def check_parallel_env(env: Any) -> None:
    """Refuse anything but a PettingZoo ``ParallelEnv``, naming the conversion for an AEC env.

    Example:
        >>> from pettingzoo.classic.rps.rps import env as aec_env
        >>> check_parallel_env(aec_env())
        Traceback (most recent call last):
        ...
        TypeError: rewardgym wraps PettingZoo's ParallelEnv, not an AEC env (raw_env); convert it first with pettingzoo.utils.conversions.aec_to_parallel(env)
    """
    if isinstance(env, AECEnv):
        raise TypeError(
            f"rewardgym wraps PettingZoo's ParallelEnv, not an AEC env ({type(env.unwrapped).__name__}); "
            f"convert it first with {AEC_TO_PARALLEL}(env)"
        )
    if not isinstance(env, ParallelEnv):
        raise TypeError(f"ParallelRewardShell takes a PettingZoo ParallelEnv, got {type(env).__name__}")


def _group_agents(env: ParallelEnv) -> list[tuple[list[Any], spaces.Space, spaces.Space, int]]:
    """The agents grouped by (observation space, action space), in ``possible_agents`` order:
    each group's agents, spaces and first row (how many agents the groups before it hold)."""
    groups: list[tuple[list[Any], spaces.Space, spaces.Space]] = []
    for agent in env.possible_agents:
        observation_space, action_space = env.observation_space(agent), env.action_space(agent)
        # Spaces compare by value but are not all hashable: a linear search over a few groups.
        for agents, group_observation_space, group_action_space in groups:
            if group_observation_space == observation_space and group_action_space == action_space:
                agents.append(agent)
                break
        else:
            groups.append(([agent], observation_space, action_space))
    first_rows = np.cumsum([0] + [len(agents) for agents, _, _ in groups[:-1]]).tolist()
    return [(*group, first_row) for group, first_row in zip(groups, first_rows)]


def _refuse_shared_regimes(groups: list[AgentGroup]) -> None:
    """One Regime object cannot serve two groups: it would be bound to two batches at once."""
    seen: set[int] = set()
    for group in groups:
        for regime in group.pipeline.regimes:
            if id(regime) in seen:
                described = "; ".join(f"{', '.join(map(str, g.agents))}" for g in groups)
                raise ValueError(
                    f"the reward spec's layer {regime.name!r} is one Regime object, but the agents form "
                    f"{len(groups)} groups with different spaces ({described}), each with its own "
                    "regimes; give the spec as a string (or a function of the batch) so that each group "
                    "gets its own"
                )
        seen.update(id(regime) for regime in group.pipeline.regimes)


def _stack(space: spaces.Space, items: list[Any]) -> Any:
    """``items`` of ``space`` as one batch, in gymnasium's batched layout (a numpy array for the
    array spaces, a dict or tuple of them for ``Dict`` and ``Tuple``)."""
    out: Any = create_empty_array(space, len(items))
    return concatenate(space, items, out)


def _blank(space: spaces.Space) -> Any:
    """One zero item of ``space`` (gymnasium's empty batch, unbatched)."""
    return next(iter(iterate(batch_space(space, 1), create_empty_array(space, 1))))


def _entry(value: Any, row: int) -> Any:
    """Row ``row`` of a per-row report, as a plain number; a scalar as it is."""
    if isinstance(value, np.ndarray) and value.ndim >= 1:
        item = value[row]
        return item.item() if isinstance(item, np.generic) else item
    if is_torch(value) and value.ndim >= 1:
        item = value[row]
        return item.item() if item.ndim == 0 else item
    return value
