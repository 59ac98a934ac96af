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
from rewardgym.envs.control import raster


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
    """The parameters that the functions both mountain cars share (reset, potential, render) read."""

    @property
    def min_position(self) -> float: ...
    @property
    def max_position(self) -> float: ...
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


SCREEN_WIDTH, SCREEN_HEIGHT = 600, 400
"""gymnasium's frame size for both mountain cars."""

CURVE_POINTS = 100
"""gymnasium draws the mountain as a polyline through this many points."""


@register_jitable
def _height(x: float) -> float:
    """The mountain's drawn height at position ``x`` (gymnasium's ``_height``)."""
    return math.sin(3 * x) * 0.45 + 0.55


@register_jitable
def render(state: np.ndarray, frame: np.ndarray, params: _Shared) -> None:
    """gymnasium's mountain car picture: the black mountain curve, the black car tilted with the
    slope on its two grey wheels, and the yellow flag on its pole at the goal; the track's
    ``min_position..max_position`` spans the frame's width.

    It is drawn in gymnasium's 600 x 400 coordinates, scaled to the frame's size
    (:func:`~rewardgym.envs.control.raster.scales`).

    Example:
        >>> frame = np.zeros((SCREEN_HEIGHT, SCREEN_WIDTH, 3), np.uint8)
        >>> render(np.array([-0.5, 0.0]), frame, MountainCarParams())
        >>> int((frame == [204, 204, 0]).all(-1).sum()) > 100  # the flag
        True
        >>> small = np.zeros((84, 84, 3), np.uint8)
        >>> render(np.array([-0.5, 0.0]), small, MountainCarParams())
        >>> int((small == [204, 204, 0]).all(-1).sum()) > 3
        True
    """
    sx, sy = raster.scales(frame, SCREEN_WIDTH, SCREEN_HEIGHT)
    scale = SCREEN_WIDTH / (params.max_position - params.min_position)
    raster.fill(frame, 255, 255, 255)
    # The mountain: gymnasium's polyline through CURVE_POINTS evenly spaced positions.
    step = (params.max_position - params.min_position) / (CURVE_POINTS - 1)
    for k in range(CURVE_POINTS - 1):
        x0 = params.min_position + k * step
        x1 = params.min_position + (k + 1) * step
        raster.aaline(
            frame,
            (x0 - params.min_position) * scale * sx,
            _height(x0) * scale * sy,
            (x1 - params.min_position) * scale * sx,
            _height(x1) * scale * sy,
            0,
            0,
            0,
        )
    position = state[0]
    clearance = 10
    angle = math.cos(3 * position)  # gymnasium tilts the car by this many radians
    x = (position - params.min_position) * scale
    y = clearance + _height(position) * scale
    raster.fill_rotated_rect(frame, -20.0, 20.0, 20.0, 0.0, angle, x, y, sx, sy, 0, 0, 0)
    cos, sin = math.cos(angle), math.sin(angle)
    wheel = int(8 * min(sx, sy))
    for offset in (10.0, -10.0):  # the wheels, a quarter of the car's width from its middle
        raster.fill_disc(frame, int((offset * cos + x) * sx), int((offset * sin + y) * sy), wheel, 128, 128, 128)
    flag_x = int((params.goal_position - params.min_position) * scale)
    flag_y1 = int(_height(params.goal_position) * scale)
    flag_y2 = flag_y1 + 50
    raster.vline(frame, int(flag_x * sx), int(flag_y1 * sy), int(flag_y2 * sy), 0, 0, 0)
    raster.fill_quad(
        frame,
        flag_x * sx,
        flag_y2 * sy,
        flag_x * sx,
        (flag_y2 - 10) * sy,
        (flag_x + 25) * sx,
        (flag_y2 - 5) * sy,
        flag_x * sx,
        flag_y2 * sy,
        204,
        204,
        0,
    )


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
    render=render,
    frame_shape=(SCREEN_HEIGHT, SCREEN_WIDTH),
    render_fps=30,  # gymnasium's
    pixel_observations=True,
    vectorize=True,
)
