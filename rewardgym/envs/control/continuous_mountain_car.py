"""MountainCarContinuous: the mountain car with a continuous throttle, as in gymnasium's
MountainCarContinuous-v0.

Gold reward: +100 on reaching the flag, minus 0.1 times the squared throttle of every step, the
task's own objective. Built-in potential: the discrete mountain car's mechanical energy, 1 at rest
at this env's flag (x = 0.45).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from gymnasium import spaces
from numba.extending import register_jitable

from rewardgym.envs.batched.task import BatchedTask, observe_state
from rewardgym.envs.control.mountain_car import SCREEN_HEIGHT, SCREEN_WIDTH, potential, render, reset


class ContinuousMountainCarParams(NamedTuple):
    min_action: float = -1.0
    max_action: float = 1.0
    min_position: float = -1.2
    max_position: float = 0.6
    max_speed: float = 0.07
    goal_position: float = 0.45
    goal_velocity: float = 0.0
    power: float = 0.0015
    gravity: float = 0.0025
    goal_reward: float = 100.0
    action_cost: float = 0.1
    reset_low: float = -0.6
    reset_high: float = -0.4


@register_jitable
def _f32(x):
    """``x`` rounded to float32, held as a float64."""
    return np.float64(np.float32(x))


@register_jitable
def _in(x, single):
    """``x`` in the precision gymnasium computes it in: float32 if ``single``, else float64."""
    return _f32(x) if single else x


# Why the float32 rounding: gymnasium stores this env's state as float32 after every step (and as
# float64 straight after a reset), and under NumPy 2's promotion rules (NEP 50) a float32 combined
# with a Python float is computed in float32; the throttle is float32 too. Each operation below is
# done in float64 and rounded once, which for +, -, * of float32 inputs equals float32 arithmetic
# (53 >= 2 * 24 + 2 bits, so the double rounding is innocuous). Mirroring it keeps trajectories
# equal to gymnasium's to the last bit instead of drifting apart by float32 ulps.
@register_jitable
def step(state: np.ndarray, action: np.ndarray, params: ContinuousMountainCarParams) -> tuple[float, float, bool]:
    position, velocity = state[0], state[1]
    single = _f32(position) == position  # float32 after any step; float64 after a reset
    throttle = np.float64(action[0])
    force = min(max(throttle, params.min_action), params.max_action)
    slope = params.gravity * math.cos(_in(3.0 * position, single))
    velocity = _in(velocity + _f32(_f32(force * _f32(params.power)) - _f32(slope)), single)
    max_speed = _in(params.max_speed, single)
    if velocity > max_speed:
        velocity = max_speed
    if velocity < -max_speed:
        velocity = -max_speed
    position = _in(position + velocity, single)
    max_position = _in(params.max_position, single)
    min_position = _in(params.min_position, single)
    if position > max_position:
        position = max_position
    if position < min_position:
        position = min_position
    # The left wall is inelastic.
    if position == min_position and velocity < 0:
        velocity = 0.0
    terminated = position >= _in(params.goal_position, single) and velocity >= params.goal_velocity
    state[0] = _f32(position)
    state[1] = _f32(velocity)
    reward = params.goal_reward if terminated else 0.0
    reward -= throttle * throttle * params.action_cost
    return reward, reward, terminated


_PARAMS = ContinuousMountainCarParams()

MOUNTAIN_CAR_CONTINUOUS = BatchedTask(
    name="MountainCarContinuous",
    state_size=2,
    observation_space=spaces.Box(
        np.array([_PARAMS.min_position, -_PARAMS.max_speed], dtype=np.float32),
        np.array([_PARAMS.max_position, _PARAMS.max_speed], dtype=np.float32),
        dtype=np.float32,
    ),
    action_space=spaces.Box(_PARAMS.min_action, _PARAMS.max_action, shape=(1,), dtype=np.float32),
    params=_PARAMS,
    step=step,
    reset=reset,  # the discrete mountain car's start distribution
    observe=observe_state,
    max_episode_steps=999,
    gold="+100 on reaching the flag, minus 0.1 * throttle**2 per step",
    reference="MountainCarContinuous-v0",
    potential=potential,  # the discrete mountain car's energy, scaled to this env's flag
    render=render,  # the discrete mountain car's picture, with this env's flag
    frame_shape=(SCREEN_HEIGHT, SCREEN_WIDTH),
    render_fps=30,  # gymnasium's
    pixel_observations=True,
    vectorize=True,
)
