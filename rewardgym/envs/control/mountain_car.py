"""MountainCar: drive an underpowered car up a hill (Moore 1990), as in gymnasium's MountainCar-v0.

Gold reward: -1 for every step until the car reaches the flag, the task's own objective. Built-in
potential: the car's mechanical energy.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Protocol

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


class _Shared(Protocol):
    """The parameters that the functions both mountain cars share (reset, potential) read."""

    @property
    def goal_position(self) -> float: ...
    @property
    def gravity(self) -> float: ...
    @property
    def reset_low(self) -> float: ...
    @property
    def reset_high(self) -> float: ...


@register_jitable
def step(state: np.ndarray, action: int, params: MountainCarParams) -> tuple[float, float, bool]:
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
def reset(state: np.ndarray, rng: np.ndarray, params: _Shared) -> None:
    state[0] = uniform(rng, params.reset_low, params.reset_high)
    state[1] = 0.0


@register_jitable
def potential(obs: np.ndarray, params: _Shared) -> float:
    """Mechanical energy, 0 at rest in the valley and 1 at rest at the flag.

    ``(E - E_valley) / (E_flag - E_valley)`` with ``E = gravity / 3 * sin(3 x) + v**2 / 2``, the
    height and speed terms in the env's own units, so swinging higher or faster is progress. The
    continuous mountain car shares it, with its own flag.

    Example:
        >>> [round(potential(np.array([x, 0.0]), MountainCarParams()), 6) for x in (-np.pi / 6, 0.5)]
        [0.0, 1.0]
    """
    # The hill's height is sin(3 x) / 3 in the units where its pull on the speed is
    # -gravity * cos(3 x) per step, so this is the car's mechanical energy: what pumping back and
    # forth builds up, which position alone does not reward. The scale is a reciprocal (a
    # constant, once compiled) for the reason given in cartpole.potential.
    third = params.gravity / 3.0
    valley = -third
    flag = third * math.sin(3.0 * params.goal_position)
    energy = third * math.sin(3.0 * float(obs[0])) + 0.5 * float(obs[1]) * float(obs[1])
    return (energy - valley) * (1.0 / (flag - valley))


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
    potential=potential,
)
