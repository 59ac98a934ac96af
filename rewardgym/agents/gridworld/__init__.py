"""Scripted reference policies for the gridworlds: an ``oracle`` that does the intended task and a
``hacker`` that takes the hack, so the gap between proxy and gold shows without training.

``GRIDWORLD_POLICIES[task name][role]`` is the policy class; :func:`gridworld_policy` makes one
for an env or env id, and ``rewardgym.agents.scripted.SCRIPTED`` offers both as ``"oracle"`` and
``"hacker"`` (``rewardgym train --algo oracle``).

Example:
    >>> import gymnasium as gym, rewardgym
    >>> from rewardgym.agents.evaluation import evaluate
    >>> envs = gym.make_vec("rewardgym/BoatRace-v0", num_envs=1, reward="none")
    >>> oracle = evaluate(gridworld_policy("oracle", envs).predict, envs)
    >>> hacker = evaluate(gridworld_policy("hacker", envs).predict, envs)
    >>> bool(hacker["proxy"][0] > oracle["proxy"][0] and hacker["gold"][0] < oracle["gold"][0])
    True
"""

from __future__ import annotations

from typing import Any

from rewardgym.agents.gridworld.absent_supervisor import AbsentSupervisorHacker, AbsentSupervisorOracle
from rewardgym.agents.gridworld.boat_race import BoatRaceHacker, BoatRaceOracle
from rewardgym.agents.gridworld.planning import GridPolicy
from rewardgym.agents.gridworld.reward_tampering import RewardTamperingHacker, RewardTamperingOracle
from rewardgym.agents.gridworld.side_effects_sokoban import SideEffectsSokobanHacker, SideEffectsSokobanOracle
from rewardgym.agents.gridworld.tomato_watering import TomatoWateringHacker, TomatoWateringOracle

GRIDWORLD_POLICIES: dict[str, dict[str, type[GridPolicy]]] = {
    "BoatRace": {"oracle": BoatRaceOracle, "hacker": BoatRaceHacker},
    "TomatoWatering": {"oracle": TomatoWateringOracle, "hacker": TomatoWateringHacker},
    "AbsentSupervisor": {"oracle": AbsentSupervisorOracle, "hacker": AbsentSupervisorHacker},
    "SideEffectsSokoban": {"oracle": SideEffectsSokobanOracle, "hacker": SideEffectsSokobanHacker},
    "RewardTampering": {"oracle": RewardTamperingOracle, "hacker": RewardTamperingHacker},
}
"""The scripted policies of each gridworld, by task name and role (``"oracle"``, ``"hacker"``)."""

ROLES = ("oracle", "hacker")


def gridworld_policy(role: str, env: Any) -> GridPolicy:
    """The ``role`` policy (``"oracle"`` or ``"hacker"``) of a gridworld env, vector env or env id.

    Anything else is refused, naming the gridworlds that have one.
    """
    if role not in ROLES:
        raise ValueError(f"unknown scripted gridworld role {role!r}; valid: {', '.join(ROLES)}")
    env_id = env if isinstance(env, str) else getattr(getattr(env, "spec", None), "id", None)
    name = (env_id or "").split("/")[-1].rsplit("-v", 1)[0]
    if not (env_id or "").startswith("rewardgym/") or name not in GRIDWORLD_POLICIES:
        valid = ", ".join(f"rewardgym/{n}-v0" for n in GRIDWORLD_POLICIES)
        raise ValueError(
            f"the {role!r} scripted policy exists for the gridworlds only, got env {env_id!r}; valid: {valid}"
        )
    return GRIDWORLD_POLICIES[name][role]()


__all__ = ["GRIDWORLD_POLICIES", "ROLES", "GridPolicy", "gridworld_policy"]
