"""Coopetition: firms that compete on one market and share an investment that grows it.

Each round each firm chooses a quantity to sell, ``(action // 2 + 1) * quantity_unit``, and
whether to invest (``action % 2``) in a shared good: joint research, market development. The
market clears at ``price = max(base_demand + boost - total quantity, 0)`` (Cournot competition),
and each firm earns ``(price - marginal_cost) * quantity - invest_cost * invested``. Investment
raises next round's demand for everyone: ``boost' = market_decay * boost + invest_gain *
investors``. Two pulls part a firm's payoff from the group's: selling more lowers the price for
all (each firm's best reply over-produces against the joint optimum), and investing pays the
investor only its own share of the larger market (at the defaults a unit of investment is worth
about 2 units of demand in total: an investor selling 3 gains about 6 < 7 it costs, the market
selling 6 gains about 12). Welfare here is the firms' joint profit; consumers' surplus is not
counted.

Observation of firm ``i`` (``2 * num_agents + 2`` floats): the demand boost as a share of
``base_demand``, the share of the episode played, each firm's last quantity as a share of the
largest, and each firm's last investment flag, own first and then the others in turn. Reset is
deterministic. References: Brandenburger and Nalebuff (1996), "Co-opetition"; the framing of
Coopetition-Gym (a payoff layer apart from the reward layer), written fresh.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from gymnasium import spaces
from numba.extending import register_jitable

from rewardgym.core.validation import check_integer, check_number
from rewardgym.envs.multiagent.game import MultiAgentGame, start_from_zeros


class CoopetitionParams(NamedTuple):
    num_agents: int = 2
    base_demand: float = 10.0
    marginal_cost: float = 1.0
    quantity_unit: float = 1.0
    quantity_levels: int = 4
    invest_cost: float = 7.0
    invest_gain: float = 1.0
    market_decay: float = 0.5
    max_cycles: int = 50


# State: [round, demand boost, last quantity of each firm..., last investment of each firm...].
ROUND = 0
BOOST = 1
LAST_QUANTITIES = 2


@register_jitable
def quantity(action: int, params: CoopetitionParams) -> float:
    return (action // 2 + 1) * params.quantity_unit


@register_jitable
def step(state: np.ndarray, actions: np.ndarray, payoff: np.ndarray, params: CoopetitionParams) -> bool:
    n = params.num_agents
    total = 0.0
    investors = 0
    for i in range(n):
        total += quantity(actions[i], params)
        investors += actions[i] % 2
    price = max(params.base_demand + state[BOOST] - total, 0.0)
    for i in range(n):
        q = quantity(actions[i], params)
        invested = actions[i] % 2
        payoff[i] = (price - params.marginal_cost) * q - params.invest_cost * invested
        state[LAST_QUANTITIES + i] = q
        state[LAST_QUANTITIES + n + i] = invested
    state[BOOST] = params.market_decay * state[BOOST] + params.invest_gain * investors
    state[ROUND] += 1.0
    return False


@register_jitable
def observe(state: np.ndarray, agent: int, obs: np.ndarray, params: CoopetitionParams) -> None:
    n = params.num_agents
    obs[0] = state[BOOST] / params.base_demand
    obs[1] = state[ROUND] / params.max_cycles
    largest = params.quantity_unit * params.quantity_levels
    for j in range(n):
        other = (agent + j) % n
        obs[2 + j] = state[LAST_QUANTITIES + other] / largest
        obs[2 + n + j] = state[LAST_QUANTITIES + n + other]


def _largest_boost(params: CoopetitionParams) -> float:
    """The demand boost every firm investing every round tends to, as a share of base demand."""
    return params.invest_gain * params.num_agents / (1.0 - params.market_decay) / params.base_demand


def _check(params: CoopetitionParams) -> None:
    check_number(params.base_demand, "Coopetition: base_demand", low=0.0, low_open=True)
    check_number(params.marginal_cost, "Coopetition: marginal_cost", low=0.0)
    check_number(params.quantity_unit, "Coopetition: quantity_unit", low=0.0, low_open=True)
    check_integer(params.quantity_levels, "Coopetition: quantity_levels", low=1)
    check_number(params.invest_cost, "Coopetition: invest_cost", low=0.0)
    check_number(params.invest_gain, "Coopetition: invest_gain", low=0.0)
    check_number(params.market_decay, "Coopetition: market_decay", low=0.0, high=1.0, high_open=True)


def _observation_space(params: CoopetitionParams) -> spaces.Box:
    high = np.ones(2 * params.num_agents + 2, np.float32)
    high[0] = _largest_boost(params)
    return spaces.Box(np.zeros_like(high), high, dtype=np.float32)


COOPETITION = MultiAgentGame(
    name="Coopetition",
    params=CoopetitionParams(),
    step=step,
    reset=start_from_zeros,
    observe=observe,
    state_size=lambda params: 2 + 2 * params.num_agents,
    observation_space=_observation_space,
    action_space=lambda params: spaces.Discrete(2 * params.quantity_levels),
    gold="welfare: the firms' joint profit (consumers' surplus is not counted)",
    dilemma="each firm over-produces against the joint optimum and free-rides on the others' "
    "investment in the shared market",
    reference="Brandenburger & Nalebuff (1996); after Coopetition-Gym's framing",
    check_params=_check,
)
