"""CommonsHarvest: a common-pool resource that regrows by the stock left, and collapses.

Agents share a stock (a fishery, a pasture) of at most ``capacity``. Each round each agent asks to
harvest ``action * harvest_unit``; if the requests exceed the stock, the stock is shared out in
proportion to them. What is left regrows logistically, ``left + growth * left * (1 - left /
capacity)`` (the Gordon-Schaefer fishery model), so regrowth is fastest at half capacity and
vanishes as the stock runs out: if fewer than ``collapse_below`` units are left after a harvest,
the resource has collapsed and the episode ends for everyone. The largest harvest the stock can
sustain is ``growth * capacity / 4`` per round in total (12.5 at the defaults); asking more eats
the stock. Each agent's payoff is what it harvested, so each gains by taking more while the cost,
a smaller stock, falls on all: the tragedy of the commons.

Observation of agent ``i`` (``num_agents + 2`` floats): the stock as a share of capacity, the share
of the episode played, and each agent's last harvest as a share of the largest request, own first
and then the others in turn. The start stock is drawn uniformly in ``[0.6, 1.0] * capacity``.
References: Gordon (1954), Schaefer (1957); Hardin (1968); Perolat et al. (2017), "A multi-agent
reinforcement learning model of common-pool resource appropriation".
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from gymnasium import spaces
from numba.extending import register_jitable

from rewardgym.core.rng import uniform
from rewardgym.core.validation import check_integer, check_number
from rewardgym.envs.multiagent.game import MultiAgentGame


class CommonsHarvestParams(NamedTuple):
    num_agents: int = 4
    capacity: float = 100.0
    growth: float = 0.5
    harvest_unit: float = 2.5
    levels: int = 5
    collapse_below: float = 1.0
    max_cycles: int = 100


# State: [round, stock, last harvest of agent 0, ..., of agent n-1].
ROUND = 0
STOCK = 1
LAST_HARVESTS = 2

START_LOW, START_HIGH = 0.6, 1.0
"""The start stock's range, as shares of capacity."""


@register_jitable
def step(state: np.ndarray, actions: np.ndarray, payoff: np.ndarray, params: CommonsHarvestParams) -> bool:
    n = params.num_agents
    stock = state[STOCK]
    asked = 0.0
    for i in range(n):
        asked += actions[i] * params.harvest_unit
    rationed = asked > stock
    for i in range(n):
        request = actions[i] * params.harvest_unit
        got = request * stock / asked if rationed else request
        payoff[i] = got
        state[LAST_HARVESTS + i] = got
    left = 0.0 if rationed else stock - asked
    collapsed = left < params.collapse_below
    if collapsed:
        state[STOCK] = left
    else:
        state[STOCK] = min(params.capacity, left + params.growth * left * (1.0 - left / params.capacity))
    state[ROUND] += 1.0
    return collapsed


@register_jitable
def reset(state: np.ndarray, rng: np.ndarray, params: CommonsHarvestParams) -> None:
    for j in range(state.shape[0]):
        state[j] = 0.0
    state[STOCK] = params.capacity * uniform(rng, START_LOW, START_HIGH)


@register_jitable
def observe(state: np.ndarray, agent: int, obs: np.ndarray, params: CommonsHarvestParams) -> None:
    n = params.num_agents
    obs[0] = state[STOCK] / params.capacity
    obs[1] = state[ROUND] / params.max_cycles
    largest = params.harvest_unit * (params.levels - 1)
    for j in range(n):
        obs[2 + j] = state[LAST_HARVESTS + (agent + j) % n] / largest


def _check(params: CommonsHarvestParams) -> None:
    check_number(params.capacity, "CommonsHarvest: capacity", low=0.0, low_open=True)
    check_number(params.growth, "CommonsHarvest: growth", low=0.0, high=1.0)
    check_number(params.harvest_unit, "CommonsHarvest: harvest_unit", low=0.0, low_open=True)
    check_integer(params.levels, "CommonsHarvest: levels", low=2)
    check_number(params.collapse_below, "CommonsHarvest: collapse_below", low=0.0, high=params.capacity)


COMMONS_HARVEST = MultiAgentGame(
    name="CommonsHarvest",
    params=CommonsHarvestParams(),
    step=step,
    reset=reset,
    observe=observe,
    state_size=lambda params: 2 + params.num_agents,
    observation_space=lambda params: spaces.Box(0.0, 1.0, (params.num_agents + 2,), np.float32),
    action_space=lambda params: spaces.Discrete(params.levels),
    gold="welfare: the total harvest of all agents over the episode",
    dilemma="each agent gains by harvesting more, while the smaller stock regrows less for all; "
    "greedy harvesting collapses the stock and ends the episode",
    reference="Gordon (1954); Schaefer (1957); Perolat et al. (2017)",
    check_params=_check,
)
