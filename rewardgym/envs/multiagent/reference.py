"""The multi-agent games in plain Python: the readable specification the batched games must match.

Each class here is a PettingZoo ``ParallelEnv`` playing one game instance, written as directly as
the rules read, one agent and one round at a time, with Python floats (float64) for all
arithmetic and float32 only for the observations handed out. They serve two purposes:

- **the executable specification**: the batched games (``public_goods.py``,
  ``commons_harvest.py``, ``coopetition.py``, compiled by numba) are tested step for step against
  these classes from the same start state and actions
  (``tests/envs/multiagent/test_reference_equality.py``);
- **the speed baseline**: ``benchmarks/test_multiagent_throughput.py`` runs a loop over these
  classes, the way a plain PettingZoo env runs, as the peer of the batched engine.

Nothing here is fast, and nothing here is shared with the batched games: a mistake in one shows
up as a difference from the other.

Common to the three games (payoff ``p_i`` per agent per round, welfare ``W = sum_j p_j``):

- ``reward_mode="private"`` pays ``r_i = p_i``; ``"integrated"`` pays ``p_i + weight * (W - p_i)``
  (its own payoff plus ``weight`` times the others'); ``"cooperative"`` pays ``W`` to everyone;
- ``infos[agent]`` holds ``"gold_reward"`` (``W / N``, the agent's equal share of welfare),
  ``"welfare"`` (``W``) and ``"payoff"`` (``p_i``);
- after round ``max_cycles`` every agent is truncated, unless the game terminated that round;
- "rotated" lists in observations start with the observing agent's own entry, then agents
  ``i+1, i+2, ...`` modulo ``N``, so one policy network serves every seat.

Example: one round of PublicGoods, one defector and three contributors.

    >>> from rewardgym.envs.multiagent.reference import PublicGoodsReference
    >>> env = PublicGoodsReference()
    >>> observations, infos = env.reset(seed=0)
    >>> env.agents
    ['player_0', 'player_1', 'player_2', 'player_3']
    >>> actions = {"player_0": 0, "player_1": 1, "player_2": 1, "player_3": 1}
    >>> observations, rewards, terminations, truncations, infos = env.step(actions)
    >>> {agent: round(reward, 3) for agent, reward in rewards.items()}  # the defector earns most
    {'player_0': 2.2, 'player_1': 1.2, 'player_2': 1.2, 'player_3': 1.2}
    >>> round(infos["player_0"]["welfare"], 3), round(infos["player_0"]["gold_reward"], 3)
    (5.8, 1.45)
    >>> [round(x, 3) for x in observations["player_1"].tolist()]  # contributed, punished, time
    [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.02]
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from rewardgym.core.validation import is_integer, is_real

REWARD_MODES = ("private", "integrated", "cooperative")


def _require(condition: object, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _check_common(game: str, num_agents: object, max_cycles: object, reward_mode: object, weight: object) -> None:
    """Refuses bad values of the parameters every game takes, naming the game and the parameter."""
    _require(
        is_integer(num_agents) and num_agents >= 2,  # type: ignore[operator]
        f"{game}: num_agents must be an integer >= 2, got {num_agents!r}",
    )
    _require(
        is_integer(max_cycles) and max_cycles >= 1,  # type: ignore[operator]
        f"{game}: max_cycles must be an integer >= 1, got {max_cycles!r}",
    )
    _require(
        reward_mode in REWARD_MODES,
        f"{game}: unknown reward_mode {reward_mode!r}; valid modes: {', '.join(REWARD_MODES)}",
    )
    _require(
        is_real(weight) and 0.0 <= weight <= 1.0,  # type: ignore[operator]
        f"{game}: weight must be a number in [0, 1], got {weight!r}",
    )


class _ReferenceGame(ParallelEnv):
    """What the three games share: agents, the round counter, reward modes, episode ends.

    A game fills in ``_start(seed)`` (the start state), ``_play(actions)`` (one round: the
    payoffs, and whether the game terminated) and ``_observe(i)`` (agent ``i``'s observation, as
    a list of floats).
    """

    metadata: dict[str, Any] = {"name": "reference", "render_modes": []}
    render_mode: str | None = None  # nothing to draw; PettingZoo's wrappers read the attribute

    def __init__(
        self,
        *,
        num_agents: int,
        max_cycles: int,
        reward_mode: str,
        weight: float,
        observation_space: spaces.Box,
        action_space: spaces.Discrete,
    ) -> None:
        self.n = int(num_agents)  # ParallelEnv.num_agents is the number of agents still live
        self.max_cycles = int(max_cycles)
        self.reward_mode = reward_mode
        self.weight = float(weight)
        self.possible_agents = [f"player_{i}" for i in range(self.n)]
        self.agents: list[str] = []
        self.t = 0
        # One space object per game, handed to every agent: PettingZoo requires the same object
        # on every call, and the games are symmetric.
        self._observation_space = observation_space
        self._action_space = action_space

    def observation_space(self, agent: str) -> spaces.Box:
        return self._observation_space

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._action_space

    def observe(self, agent: str) -> np.ndarray:
        """What ``agent`` sees now: after writing a start state in (``stock``), its new observation."""
        return self._observation(self.possible_agents.index(agent))

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        self.agents = list(self.possible_agents)
        self.t = 0
        self._start(seed)
        observations = {agent: self._observation(i) for i, agent in enumerate(self.agents)}
        return observations, {agent: {} for agent in self.agents}

    def step(
        self, actions: dict[str, Any]
    ) -> tuple[
        dict[str, np.ndarray],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        if not self.agents:
            raise RuntimeError(f"{self.metadata['name']}: step() after the episode ended; call reset() first")
        chosen = [self._checked_action(actions, agent) for agent in self.agents]

        payoffs, terminated = self._play(chosen)
        self.t += 1
        truncated = not terminated and self.t >= self.max_cycles

        welfare = 0.0
        for p in payoffs:  # left to right, as the kernels add (Python 3.12's sum() compensates)
            welfare += p
        if self.reward_mode == "private":
            rewards = list(payoffs)
        elif self.reward_mode == "integrated":
            rewards = [p + self.weight * (welfare - p) for p in payoffs]
        else:  # cooperative
            rewards = [welfare] * self.n

        agents = self.agents
        observations = {agent: self._observation(i) for i, agent in enumerate(agents)}
        infos = {
            agent: {"gold_reward": welfare / self.n, "welfare": welfare, "payoff": payoffs[i]}
            for i, agent in enumerate(agents)
        }
        if terminated or truncated:
            self.agents = []  # every agent's episode ends together
        return (
            observations,
            {agent: rewards[i] for i, agent in enumerate(agents)},
            dict.fromkeys(agents, terminated),
            dict.fromkeys(agents, truncated),
            infos,
        )

    def render(self) -> None:
        return None

    def close(self) -> None:
        pass

    def _checked_action(self, actions: dict[str, Any], agent: str) -> int:
        if agent not in actions:
            raise ValueError(
                f"{self.metadata['name']}: no action for {agent!r}; every live agent acts every round "
                f"(got actions for {sorted(actions)})"
            )
        action = actions[agent]
        if not (is_integer(action) and 0 <= action < self._action_space.n):
            raise ValueError(
                f"{self.metadata['name']}: invalid action {action!r} for {agent!r}; valid actions are "
                f"the integers 0 to {self._action_space.n - 1}"
            )
        return int(action)

    def _rotated(self, values: list[float], i: int) -> list[float]:
        """``values`` seen from agent ``i``: its own first, then agents i+1, i+2, ... modulo N."""
        return [values[(i + j) % self.n] for j in range(self.n)]

    def _time(self) -> float:
        return self.t / self.max_cycles

    def _observation(self, i: int) -> np.ndarray:
        return np.asarray(self._observe(i), dtype=np.float32)

    # The game's own rules.
    def _start(self, seed: int | None) -> None:
        raise NotImplementedError

    def _play(self, actions: list[int]) -> tuple[list[float], bool]:
        raise NotImplementedError

    def _observe(self, i: int) -> list[float]:
        raise NotImplementedError


class PublicGoodsReference(_ReferenceGame):
    """Iterated public-goods game with optional costly punishment (Fehr & Gachter, 2000).

    Actions: 0 keeps the endowment (defect), 1 contributes it, and with ``punishment=True``, 2
    contributes and punishes this round's defectors. The pot, ``multiplier`` times the
    contributions, is shared equally by all. Never terminates.

    Observation (``2N + 1`` floats): each agent's last-round contributed flag (rotated), each
    agent's last-round punished flag (rotated), time.
    """

    metadata: dict[str, Any] = {"name": "public_goods_reference_v0", "render_modes": []}

    def __init__(
        self,
        *,
        num_agents: int = 4,
        multiplier: float = 1.6,
        endowment: float = 1.0,
        punishment: bool = False,
        punish_cost: float = 0.2,
        punish_fine: float = 0.6,
        max_cycles: int = 50,
        reward_mode: str = "private",
        weight: float = 0.5,
    ) -> None:
        _check_common("PublicGoods", num_agents, max_cycles, reward_mode, weight)
        _require(multiplier > 0.0, f"PublicGoods: multiplier must be > 0, got {multiplier!r}")
        _require(endowment > 0.0, f"PublicGoods: endowment must be > 0, got {endowment!r}")
        _require(punish_cost >= 0.0, f"PublicGoods: punish_cost must be >= 0, got {punish_cost!r}")
        _require(punish_fine >= 0.0, f"PublicGoods: punish_fine must be >= 0, got {punish_fine!r}")
        super().__init__(
            num_agents=num_agents,
            max_cycles=max_cycles,
            reward_mode=reward_mode,
            weight=weight,
            observation_space=spaces.Box(0.0, 1.0, (2 * num_agents + 1,), np.float32),
            action_space=spaces.Discrete(3 if punishment else 2),
        )
        self.multiplier = float(multiplier)
        self.endowment = float(endowment)
        self.punishment = bool(punishment)
        self.punish_cost = float(punish_cost)
        self.punish_fine = float(punish_fine)
        self.last_actions = [0] * self.n

    def _start(self, seed: int | None) -> None:
        # Deterministic: nothing to draw. Last actions of 0 read as "nobody contributed yet".
        self.last_actions = [0] * self.n

    def _play(self, actions: list[int]) -> tuple[list[float], bool]:
        contributions = [self.endowment if a in (1, 2) else 0.0 for a in actions]
        pot = self.multiplier * sum(contributions) / self.n
        payoffs = [self.endowment - c + pot for c in contributions]
        if self.punishment:
            defectors = actions.count(0)
            punishers = actions.count(2)
            for i, a in enumerate(actions):
                if a == 2:
                    payoffs[i] -= self.punish_cost * defectors
                if a == 0:
                    payoffs[i] -= self.punish_fine * punishers
        self.last_actions = list(actions)
        return payoffs, False

    def _observe(self, i: int) -> list[float]:
        contributed = [1.0 if a in (1, 2) else 0.0 for a in self.last_actions]
        punished = [1.0 if a == 2 else 0.0 for a in self.last_actions]
        return self._rotated(contributed, i) + self._rotated(punished, i) + [self._time()]


class CommonsHarvestReference(_ReferenceGame):
    """Common-pool resource with logistic regrowth (Gordon-Schaefer fishery; Perolat et al., 2017).

    Action ``a`` asks to harvest ``a * harvest_unit``; requests beyond the stock are rationed pro
    rata. The stock left regrows logistically; if less than ``collapse_below`` is left, the stock
    has collapsed and the episode terminates for everyone.

    The stock is the writable attribute ``stock`` (tests copy a start state in after ``reset``).
    The start stock is ``capacity * U(0.6, 1.0)`` from ``np.random.default_rng(seed)``; an unseeded
    reset continues the generator of the last seeded one.

    Observation (``N + 2`` floats): stock / capacity, time, each agent's last harvest as a share
    of the largest request (rotated).
    """

    metadata: dict[str, Any] = {"name": "commons_harvest_reference_v0", "render_modes": []}

    def __init__(
        self,
        *,
        num_agents: int = 4,
        capacity: float = 100.0,
        growth: float = 0.5,
        harvest_unit: float = 2.5,
        levels: int = 5,
        collapse_below: float = 1.0,
        max_cycles: int = 100,
        reward_mode: str = "private",
        weight: float = 0.5,
    ) -> None:
        _check_common("CommonsHarvest", num_agents, max_cycles, reward_mode, weight)
        _require(capacity > 0.0, f"CommonsHarvest: capacity must be > 0, got {capacity!r}")
        _require(0.0 <= growth <= 1.0, f"CommonsHarvest: growth must be in [0, 1], got {growth!r}")
        _require(harvest_unit > 0.0, f"CommonsHarvest: harvest_unit must be > 0, got {harvest_unit!r}")
        _require(is_integer(levels) and levels >= 2, f"CommonsHarvest: levels must be an integer >= 2, got {levels!r}")
        _require(
            0.0 <= collapse_below <= capacity,
            f"CommonsHarvest: collapse_below must be in [0, capacity], got {collapse_below!r}",
        )
        super().__init__(
            num_agents=num_agents,
            max_cycles=max_cycles,
            reward_mode=reward_mode,
            weight=weight,
            observation_space=spaces.Box(0.0, 1.0, (num_agents + 2,), np.float32),
            action_space=spaces.Discrete(levels),
        )
        self.capacity = float(capacity)
        self.growth = float(growth)
        self.harvest_unit = float(harvest_unit)
        self.levels = int(levels)
        self.collapse_below = float(collapse_below)
        self.stock = 0.0
        self.last_harvests = [0.0] * self.n
        self._rng: np.random.Generator | None = None

    def _start(self, seed: int | None) -> None:
        if seed is not None or self._rng is None:
            self._rng = np.random.default_rng(seed)
        self.stock = self.capacity * self._rng.uniform(0.6, 1.0)
        self.last_harvests = [0.0] * self.n

    def _play(self, actions: list[int]) -> tuple[list[float], bool]:
        requests = [a * self.harvest_unit for a in actions]
        asked = sum(requests)
        if asked > self.stock:  # not enough for everyone: share what there is pro rata
            got = [h * self.stock / asked for h in requests]
            left = 0.0
        else:
            got = requests
            left = self.stock - asked
        collapsed = left < self.collapse_below
        if collapsed:
            self.stock = left
        else:
            regrowth = self.growth * left * (1.0 - left / self.capacity)
            self.stock = min(self.capacity, left + regrowth)
        self.last_harvests = list(got)
        return list(got), collapsed

    def _observe(self, i: int) -> list[float]:
        largest = self.harvest_unit * (self.levels - 1)
        shares = [h / largest for h in self.last_harvests]
        return [self.stock / self.capacity, self._time()] + self._rotated(shares, i)


class CoopetitionReference(_ReferenceGame):
    """Cournot competition with a shared market investment (Brandenburger & Nalebuff, 1996).

    Action ``a`` sells ``q = (a // 2 + 1) * quantity_unit`` and invests if ``a % 2 == 1``. The
    price is ``max(base_demand + m - Q, 0)`` for the total quantity ``Q``; investment grows next
    round's demand boost ``m`` for everyone. Never terminates.

    Observation (``2N + 2`` floats): m / base_demand, time, each firm's last quantity as a share
    of the largest (rotated), each firm's last investment flag (rotated).
    """

    metadata: dict[str, Any] = {"name": "coopetition_reference_v0", "render_modes": []}

    def __init__(
        self,
        *,
        num_agents: int = 2,
        base_demand: float = 10.0,
        marginal_cost: float = 1.0,
        quantity_unit: float = 1.0,
        quantity_levels: int = 4,
        invest_cost: float = 7.0,
        invest_gain: float = 1.0,
        market_decay: float = 0.5,
        max_cycles: int = 50,
        reward_mode: str = "private",
        weight: float = 0.5,
    ) -> None:
        _check_common("Coopetition", num_agents, max_cycles, reward_mode, weight)
        _require(base_demand > 0.0, f"Coopetition: base_demand must be > 0, got {base_demand!r}")
        _require(quantity_unit > 0.0, f"Coopetition: quantity_unit must be > 0, got {quantity_unit!r}")
        _require(
            is_integer(quantity_levels) and quantity_levels >= 1,
            f"Coopetition: quantity_levels must be an integer >= 1, got {quantity_levels!r}",
        )
        _require(invest_gain >= 0.0, f"Coopetition: invest_gain must be >= 0, got {invest_gain!r}")
        # A decay below 1 keeps the boost bounded (the bound is the observation space's).
        _require(0.0 <= market_decay < 1.0, f"Coopetition: market_decay must be in [0, 1), got {market_decay!r}")
        # Every firm investing every round drives m towards invest_gain * N / (1 - market_decay).
        high = np.ones(2 * num_agents + 2, np.float32)
        high[0] = invest_gain * num_agents / (1.0 - market_decay) / base_demand
        super().__init__(
            num_agents=num_agents,
            max_cycles=max_cycles,
            reward_mode=reward_mode,
            weight=weight,
            observation_space=spaces.Box(np.zeros_like(high), high, dtype=np.float32),
            action_space=spaces.Discrete(2 * quantity_levels),
        )
        self.base_demand = float(base_demand)
        self.marginal_cost = float(marginal_cost)
        self.quantity_unit = float(quantity_unit)
        self.quantity_levels = int(quantity_levels)
        self.invest_cost = float(invest_cost)
        self.invest_gain = float(invest_gain)
        self.market_decay = float(market_decay)
        self.boost = 0.0
        self.last_quantities = [0.0] * self.n
        self.last_investments = [0.0] * self.n

    def _start(self, seed: int | None) -> None:
        # Deterministic: an undeveloped market, and no quantities or investments yet.
        self.boost = 0.0
        self.last_quantities = [0.0] * self.n
        self.last_investments = [0.0] * self.n

    def _play(self, actions: list[int]) -> tuple[list[float], bool]:
        quantities = [(a // 2 + 1) * self.quantity_unit for a in actions]
        investments = [float(a % 2) for a in actions]
        price = max(self.base_demand + self.boost - sum(quantities), 0.0)
        payoffs = [(price - self.marginal_cost) * q - self.invest_cost * x for q, x in zip(quantities, investments)]
        self.boost = self.market_decay * self.boost + self.invest_gain * sum(investments)
        self.last_quantities = quantities
        self.last_investments = investments
        return payoffs, False

    def _observe(self, i: int) -> list[float]:
        largest = self.quantity_unit * self.quantity_levels
        shares = [q / largest for q in self.last_quantities]
        return (
            [self.boost / self.base_demand, self._time()]
            + self._rotated(shares, i)
            + self._rotated(self.last_investments, i)
        )
