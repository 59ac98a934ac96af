"""PublicGoods: an iterated public-goods game, with optional costly punishment.

Each round every agent holds an endowment and either keeps it (action 0, defect) or puts it in a
common pot (action 1, contribute). The pot is multiplied by ``multiplier`` and shared equally by
all, contributors or not. With ``1 < multiplier < num_agents`` it is a social dilemma: an agent
always earns more by keeping its endowment (it still gets its share of the others'
contributions), yet every agent contributing gives the group ``multiplier`` times the welfare of
every agent defecting. With ``punishment=True`` action 2 contributes *and* punishes: the punisher
pays ``punish_cost`` per defector of this round, and each defector loses ``punish_fine`` per
punisher (Fehr and Gächter's costly punishment, in the same round for simplicity).

Payoff of agent ``i`` (its contribution ``c_i`` is the endowment or 0)::

    p_i = endowment - c_i + multiplier * sum(c) / num_agents   [- punishment terms]

Observation of agent ``i`` (``2 * num_agents + 1`` floats): each agent's last-round contribution
flag, own first and then the others in turn (``i+1``, ``i+2``, ... modulo the number of agents,
so one network serves every seat), each agent's last-round punishment flag in the same order, and
the share of the episode played. The episode runs ``max_cycles`` rounds and never terminates
early. References: Fehr and Gächter (2000), "Cooperation and punishment in public goods
experiments"; Ledyard (1995), "Public goods: a survey of experimental research".
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from gymnasium import spaces
from numba.extending import register_jitable

from rewardgym.core.validation import check_number
from rewardgym.envs.multiagent.game import MultiAgentGame, start_from_zeros


class PublicGoodsParams(NamedTuple):
    num_agents: int = 4
    multiplier: float = 1.6
    endowment: float = 1.0
    punishment: bool = False
    punish_cost: float = 0.2
    punish_fine: float = 0.6
    max_cycles: int = 50


# State: [round, last action of agent 0, ..., last action of agent n-1].
ROUND = 0
LAST_ACTIONS = 1

DEFECT, CONTRIBUTE, PUNISH = 0, 1, 2


@register_jitable
def step(state: np.ndarray, actions: np.ndarray, payoff: np.ndarray, params: PublicGoodsParams) -> bool:
    n = params.num_agents
    contributors = 0
    defectors = 0
    punishers = 0
    for i in range(n):
        if actions[i] == DEFECT:
            defectors += 1
        else:
            contributors += 1
            if actions[i] == PUNISH:
                punishers += 1
    share = params.multiplier * (contributors * params.endowment) / n
    for i in range(n):
        a = actions[i]
        p = params.endowment + share
        if a != DEFECT:
            p -= params.endowment
        if params.punishment:
            if a == PUNISH:
                p -= params.punish_cost * defectors
            elif a == DEFECT:
                p -= params.punish_fine * punishers
        payoff[i] = p
        state[LAST_ACTIONS + i] = a
    state[ROUND] += 1.0
    return False


@register_jitable
def observe(state: np.ndarray, agent: int, obs: np.ndarray, params: PublicGoodsParams) -> None:
    n = params.num_agents
    for j in range(n):
        last = state[LAST_ACTIONS + (agent + j) % n]
        obs[j] = 1.0 if last != DEFECT else 0.0
        obs[n + j] = 1.0 if last == PUNISH else 0.0
    # At reset every last action reads 0: nobody has contributed yet.
    obs[2 * n] = state[ROUND] / params.max_cycles


def _check(params: PublicGoodsParams) -> None:
    check_number(params.multiplier, "PublicGoods: multiplier", low=0.0, low_open=True)
    check_number(params.endowment, "PublicGoods: endowment", low=0.0, low_open=True)
    check_number(params.punish_cost, "PublicGoods: punish_cost", low=0.0)
    check_number(params.punish_fine, "PublicGoods: punish_fine", low=0.0)


PUBLIC_GOODS = MultiAgentGame(
    name="PublicGoods",
    params=PublicGoodsParams(),
    step=step,
    reset=start_from_zeros,
    observe=observe,
    state_size=lambda params: 1 + params.num_agents,
    observation_space=lambda params: spaces.Box(0.0, 1.0, (2 * params.num_agents + 1,), np.float32),
    action_space=lambda params: spaces.Discrete(3 if params.punishment else 2),
    gold="welfare: the sum of all agents' payoffs (endowments kept plus the shared pot, less fines)",
    dilemma="defecting pays each agent more whatever the others do, yet all contributing gives "
    "the group multiplier x the welfare of all defecting",
    reference="Fehr & Gachter (2000); Ledyard (1995)",
    check_params=_check,
)
