"""MountainCar: drive an underpowered car up a hill (Moore 1990), as in gymnasium's MountainCar-v0.

Gold reward: -1 for every step until the car reaches the flag, the task's own objective.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from gymnasium import spaces
from numba.extending import register_jitable

from rewardgym.core.rng import uniform
from rewardgym.envs.batched.task import BatchedTask, observe_state


class MountainCarParams(NamedTuple):
    min_position: float = -1.2
    max_position: float = 0.6
    max_speed: float = 0.07
    goal_position: float = 0.5
    goal_velocity: float = 0.0
    force: float = 0.001
    gravity: float = 0.0025
    reset_low: float = -0.6
    reset_high: float = -0.4


@register_jitable
def step(state, action, params):
    position, velocity = state[0], state[1]
    velocity += (action - 1) * params.force + math.cos(3 * position) * (-params.gravity)
    velocity = min(max(velocity, -params.max_speed), params.max_speed)
    position += velocity
    position = min(max(position, params.min_position), params.max_position)
    # The left wall is inelastic.
    if position == params.min_position and velocity < 0:
        velocity = 0.0
    state[0] = position
    state[1] = velocity
    terminated = position >= params.goal_position and velocity >= params.goal_velocity
    return -1.0, -1.0, terminated


@register_jitable
def reset(state, rng, params):
    state[0] = uniform(rng, params.reset_low, params.reset_high)
    state[1] = 0.0


_PARAMS = MountainCarParams()

MOUNTAIN_CAR = BatchedTask(
    name="MountainCar",
    state_size=2,
    observation_space=spaces.Box(
        np.array([_PARAMS.min_position, -_PARAMS.max_speed], dtype=np.float32),
        np.array([_PARAMS.max_position, _PARAMS.max_speed], dtype=np.float32),
        dtype=np.float32,
    ),
    action_space=spaces.Discrete(3),
    params=_PARAMS,
    step=step,
    reset=reset,
    observe=observe_state,
    max_episode_steps=200,
    gold="-1 per step until the car reaches the flag (fewer steps is better; min -200)",
    reference="MountainCar-v0",
)
