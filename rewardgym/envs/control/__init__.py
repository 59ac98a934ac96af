"""Classic control tasks whose dynamics, rewards and time limits equal gymnasium's."""

from rewardgym.envs.control.acrobot import ACROBOT
from rewardgym.envs.control.cartpole import CARTPOLE
from rewardgym.envs.control.continuous_mountain_car import MOUNTAIN_CAR_CONTINUOUS
from rewardgym.envs.control.mountain_car import MOUNTAIN_CAR
from rewardgym.envs.control.pendulum import PENDULUM

CONTROL_TASKS = (CARTPOLE, MOUNTAIN_CAR, MOUNTAIN_CAR_CONTINUOUS, PENDULUM, ACROBOT)

__all__ = [
    "ACROBOT",
    "CARTPOLE",
    "CONTROL_TASKS",
    "MOUNTAIN_CAR",
    "MOUNTAIN_CAR_CONTINUOUS",
    "PENDULUM",
]
