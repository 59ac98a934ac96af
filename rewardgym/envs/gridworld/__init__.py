"""Gridworlds whose own reward is a flawed proxy of gold, built to be hacked.

After the specifications of Leike et al. 2017, "AI Safety Gridworlds", and Everitt et al. 2021,
"Reward tampering problems and solutions", written afresh for the batched engine: each env's
reward is what an engineer might have written, and ``info["gold_reward"]`` is the performance
function it stands in for. Each :class:`~rewardgym.envs.batched.BatchedTask` states its
``proxy``, ``gold`` and ``hack``, which ``rewardgym list`` prints.
"""

from rewardgym.envs.gridworld.absent_supervisor import ABSENT_SUPERVISOR
from rewardgym.envs.gridworld.boat_race import BOAT_RACE
from rewardgym.envs.gridworld.reward_tampering import REWARD_TAMPERING
from rewardgym.envs.gridworld.side_effects_sokoban import SIDE_EFFECTS_SOKOBAN
from rewardgym.envs.gridworld.tomato_watering import TOMATO_WATERING

GRIDWORLD_TASKS = (BOAT_RACE, TOMATO_WATERING, ABSENT_SUPERVISOR, SIDE_EFFECTS_SOKOBAN, REWARD_TAMPERING)

__all__ = [
    "ABSENT_SUPERVISOR",
    "BOAT_RACE",
    "GRIDWORLD_TASKS",
    "REWARD_TAMPERING",
    "SIDE_EFFECTS_SOKOBAN",
    "TOMATO_WATERING",
]
