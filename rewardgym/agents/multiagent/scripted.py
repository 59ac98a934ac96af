"""Scripted policies for the multi-agent games: the floors and ceilings a trained agent sits between.

Each acts on the vector env's rows (one row per agent), reading only the agent's own observation,
so a whole batch of games is one call; each is built from the game's parameters.

- PublicGoods: ``cooperate`` (always contribute), ``defect`` (never), ``tit_for_tat`` (contribute
  in the first round, then whenever at least half of the others contributed in the last one: the
  N-player form of Axelrod's tit-for-tat).
- CommonsHarvest: ``greedy`` (always the largest request), ``sustainable`` (one harvest unit
  while the stock is at least half the capacity, where regrowth is fastest, else nothing).
- Coopetition: ``compete`` (the Cournot quantity, never invest), ``collude`` (the joint-profit
  quantity, shared equally, and invest every round).

Example:
    >>> import rewardgym
    >>> from rewardgym.agents.evaluation import evaluate
    >>> envs = rewardgym.make_parallel_vec("rewardgym/PublicGoods-v0", num_envs=1)
    >>> cooperate = evaluate(multiagent_policy("cooperate", envs).predict, envs)
    >>> defect = evaluate(multiagent_policy("defect", envs).predict, envs)
    >>> round(float(cooperate["gold"].sum()), 3), round(float(defect["gold"].sum()), 3)  # welfare, 50 rounds
    (320.0, 200.0)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rewardgym.agents.scripted import Policy
from rewardgym.envs.multiagent import game_of
from rewardgym.envs.multiagent.coopetition import CoopetitionParams
from rewardgym.envs.multiagent.public_goods import CONTRIBUTE, DEFECT, PublicGoodsParams


class ConstantPolicy:
    """The same action for every agent, every round."""

    def __init__(self, action: int) -> None:
        self.action = int(action)

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        return np.full(len(obs), self.action, np.int64)


class TitForTat:
    """Contribute first, then follow the majority of the others' last contributions."""

    def __init__(self, params: PublicGoodsParams) -> None:
        self.num_agents = params.num_agents

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        obs = np.asarray(obs)
        others_contributed = obs[:, 1 : self.num_agents].mean(axis=1)
        first_round = obs[:, 2 * self.num_agents] == 0.0
        return np.where(first_round | (others_contributed >= 0.5), CONTRIBUTE, DEFECT).astype(np.int64)


class SustainableHarvest:
    """One unit while the stock is at least half the capacity (maximum regrowth), else none."""

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        return (np.asarray(obs)[:, 0] >= 0.5).astype(np.int64)


class CournotQuantity:
    """A quantity for the demand this round, and a fixed choice to invest or not.

    ``share`` is the market's quantity each firm supplies as a share of ``demand - cost``:
    ``1 / (n + 1)`` is the Cournot-Nash quantity, ``1 / (2 n)`` the joint-profit one.
    """

    def __init__(self, params: CoopetitionParams, share: float, invest: bool) -> None:
        self.params, self.share, self.invest = params, share, int(invest)

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        p = self.params
        demand = p.base_demand * (1.0 + np.asarray(obs, np.float64)[:, 0])
        wanted = np.maximum(demand - p.marginal_cost, 0.0) * self.share
        level = np.clip(np.rint(wanted / p.quantity_unit) - 1, 0, p.quantity_levels - 1).astype(np.int64)
        return 2 * level + self.invest


MULTIAGENT_POLICIES: dict[str, dict[str, Callable[[Any], Policy]]] = {
    "rewardgym/PublicGoods-v0": {
        "cooperate": lambda params: ConstantPolicy(CONTRIBUTE),
        "defect": lambda params: ConstantPolicy(DEFECT),
        "tit_for_tat": TitForTat,
    },
    "rewardgym/CommonsHarvest-v0": {
        "greedy": lambda params: ConstantPolicy(params.levels - 1),
        "sustainable": lambda params: SustainableHarvest(),
    },
    "rewardgym/Coopetition-v0": {
        "compete": lambda params: CournotQuantity(params, 1.0 / (params.num_agents + 1), invest=False),
        "collude": lambda params: CournotQuantity(params, 1.0 / (2 * params.num_agents), invest=True),
    },
}
"""The scripted policies of each game, by env id and name; each factory takes the game's params."""


def multiagent_policy(name: str, envs: Any) -> Policy:
    """The scripted policy ``name`` for a multi-agent vector env (made by
    :func:`rewardgym.make_parallel_vec`); a name the game lacks is refused with the valid ones."""
    env_id = getattr(getattr(envs, "spec", None), "id", None)
    game_of(str(env_id))  # refuses anything but a multi-agent game, by id
    policies = MULTIAGENT_POLICIES[str(env_id)]
    if name not in policies:
        raise ValueError(f"unknown scripted policy {name!r} for {env_id}; valid: {', '.join(policies)}")
    return policies[name](envs.unwrapped.params)


__all__ = ["MULTIAGENT_POLICIES", "multiagent_policy"]
