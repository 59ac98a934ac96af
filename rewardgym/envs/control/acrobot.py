"""Acrobot: swing a two-link robot's tip above a line by torquing the middle joint (Sutton 1996),
as in gymnasium's Acrobot-v1 (the book's dynamics, one RK4 step of 0.2 s).

Gold reward: -1 for every step until the tip is above the line, the task's own objective. Built-in
potential: the tip's height.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from gymnasium import spaces
from numba.extending import register_jitable

from rewardgym.core.rng import uniform
from rewardgym.envs.batched.task import BatchedTask
from rewardgym.envs.control import raster


class AcrobotParams(NamedTuple):
    dt: float = 0.2
    link_length_1: float = 1.0
    link_mass_1: float = 1.0
    link_mass_2: float = 1.0
    link_com_pos_1: float = 0.5
    link_com_pos_2: float = 0.5
    link_moi: float = 1.0
    max_vel_1: float = 4 * math.pi
    max_vel_2: float = 9 * math.pi
    torque: float = 1.0  # actions 0, 1, 2 apply -torque, 0, +torque
    g: float = 9.8
    reset_bound: float = 0.1


@register_jitable
def dsdt(
    theta1: float, theta2: float, dtheta1: float, dtheta2: float, a: float, params: AcrobotParams
) -> tuple[float, float, float, float]:
    """The state's time derivative under torque ``a`` (the book's equations, as gymnasium's)."""
    m1 = params.link_mass_1
    m2 = params.link_mass_2
    l1 = params.link_length_1
    lc1 = params.link_com_pos_1
    lc2 = params.link_com_pos_2
    I1 = params.link_moi  # noqa: N806 (the physics' name)
    I2 = params.link_moi  # noqa: N806
    g = params.g
    # Squares are written as products so that every target computes them alike: numba compiles
    # ``x**2`` to ``x * x``, but the CUDA simulator (like gymnasium itself) calls libm's ``pow``,
    # which is off by an ulp now and then.
    d1 = m1 * (lc1 * lc1) + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * math.cos(theta2)) + I1 + I2
    d2 = m2 * (lc2 * lc2 + l1 * lc2 * math.cos(theta2)) + I2
    phi2 = m2 * lc2 * g * math.cos(theta1 + theta2 - math.pi / 2.0)
    phi1 = (
        -m2 * l1 * lc2 * (dtheta2 * dtheta2) * math.sin(theta2)
        - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * math.sin(theta2)
        + (m1 * lc1 + m2 * l1) * g * math.cos(theta1 - math.pi / 2)
        + phi2
    )
    ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * (dtheta1 * dtheta1) * math.sin(theta2) - phi2) / (
        m2 * (lc2 * lc2) + I2 - (d2 * d2) / d1
    )
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    return dtheta1, dtheta2, ddtheta1, ddtheta2


@register_jitable
def wrap(x: float, m: float, M: float) -> float:  # noqa: N803 (gymnasium's signature)
    """``x`` wrapped around into ``[m, M]``."""
    diff = M - m
    while x > M:
        x = x - diff
    while x < m:
        x = x + diff
    return x


@register_jitable
def step(state: np.ndarray, action: int, params: AcrobotParams) -> tuple[float, float, bool]:
    torque = (action - 1) * params.torque
    y0, y1, y2, y3 = state[0], state[1], state[2], state[3]
    # One classic RK4 step over [0, dt], the same arithmetic as gymnasium's rk4 on [0, dt].
    dt = params.dt - 0.0
    dt2 = dt / 2.0
    k10, k11, k12, k13 = dsdt(y0, y1, y2, y3, torque, params)
    k20, k21, k22, k23 = dsdt(y0 + dt2 * k10, y1 + dt2 * k11, y2 + dt2 * k12, y3 + dt2 * k13, torque, params)
    k30, k31, k32, k33 = dsdt(y0 + dt2 * k20, y1 + dt2 * k21, y2 + dt2 * k22, y3 + dt2 * k23, torque, params)
    k40, k41, k42, k43 = dsdt(y0 + dt * k30, y1 + dt * k31, y2 + dt * k32, y3 + dt * k33, torque, params)
    scale = dt / 6.0
    state[0] = wrap(y0 + scale * (k10 + 2 * k20 + 2 * k30 + k40), -math.pi, math.pi)
    state[1] = wrap(y1 + scale * (k11 + 2 * k21 + 2 * k31 + k41), -math.pi, math.pi)
    state[2] = min(max(y2 + scale * (k12 + 2 * k22 + 2 * k32 + k42), -params.max_vel_1), params.max_vel_1)
    state[3] = min(max(y3 + scale * (k13 + 2 * k23 + 2 * k33 + k43), -params.max_vel_2), params.max_vel_2)
    terminated = -math.cos(state[0]) - math.cos(state[1] + state[0]) > 1.0
    reward = 0.0 if terminated else -1.0
    return reward, reward, terminated


@register_jitable
def reset(state: np.ndarray, rng: np.ndarray, params: AcrobotParams) -> None:
    # gymnasium draws the start state in float64 and keeps it as float32.
    for j in range(4):
        state[j] = np.float32(uniform(rng, -params.reset_bound, params.reset_bound))


@register_jitable
def observe(state: np.ndarray, obs: np.ndarray) -> None:
    obs[0] = math.cos(state[0])
    obs[1] = math.sin(state[0])
    obs[2] = math.cos(state[1])
    obs[3] = math.sin(state[1])
    obs[4] = state[2]
    obs[5] = state[3]


@register_jitable
def potential(obs: np.ndarray, params: AcrobotParams) -> float:
    """The tip's height ``-cos(t1) - cos(t1 + t2)``, in link lengths (-2 hanging, +2 up).

    The observation holds ``(cos t1, sin t1, cos t2, sin t2, dt1, dt2)``, so
    ``cos(t1 + t2) = cos t1 cos t2 - sin t1 sin t2`` needs no angles. The env terminates when this
    height exceeds 1.

    Example:
        >>> potential(np.array([-1.0, 0.0, 1.0, 0.0, 0.0, 0.0], np.float32), AcrobotParams())
        2.0
    """
    cos1, sin1, cos2, sin2 = float(obs[0]), float(obs[1]), float(obs[2]), float(obs[3])
    return -cos1 - (cos1 * cos2 - sin1 * sin2)


SCREEN_DIM = 500
"""gymnasium's frame is ``SCREEN_DIM`` pixels square."""

LINK_LENGTH_2 = 1.0
"""gymnasium's second link's length: drawn, but no part of the dynamics."""


@register_jitable
def _link(
    frame: np.ndarray, x: float, y: float, angle: float, length: float, scale: float, sx: float, sy: float
) -> None:
    """One cyan link from its joint at ``(x, y)``, then the yellow joint over it (gymnasium's order)."""
    raster.fill_rotated_rect(frame, 0.0, length, 0.1 * scale, -0.1 * scale, angle, x, y, sx, sy, 0, 204, 204)
    raster.fill_disc(frame, int(x * sx), int(y * sy), int(0.1 * scale * min(sx, sy)), 204, 204, 0)


@register_jitable
def render(state: np.ndarray, frame: np.ndarray, params: AcrobotParams) -> None:
    """gymnasium's acrobot picture: the black target line one link length above the pivot, and
    the two cyan links hanging from the frame's middle with yellow joints.

    It is drawn in gymnasium's 500 x 500 coordinates, scaled to the frame's size
    (:func:`~rewardgym.envs.control.raster.scales`).

    Example:
        >>> frame = np.zeros((SCREEN_DIM, SCREEN_DIM, 3), np.uint8)
        >>> render(np.zeros(4), frame, AcrobotParams())
        >>> frame[250 + 80, 250].tolist(), frame[250, 250].tolist(), frame[136, 10].tolist()
        ([0, 204, 204], [204, 204, 0], [0, 0, 0])
        >>> small = np.zeros((84, 84, 3), np.uint8)
        >>> render(np.zeros(4), small, AcrobotParams())
        >>> small[42 + 14, 42].tolist(), small[42, 42].tolist(), small[83 - 61, 5].tolist()
        ([0, 204, 204], [204, 204, 0], [0, 0, 0])
    """
    sx, sy = raster.scales(frame, SCREEN_DIM, SCREEN_DIM)
    l1 = params.link_length_1
    scale = SCREEN_DIM / ((l1 + LINK_LENGTH_2 + 0.2) * 2)
    offset = SCREEN_DIM / 2
    theta1, theta2 = state[0], state[1]
    raster.fill(frame, 255, 255, 255)
    line_y = (1 * scale + offset) * sy
    raster.line(frame, (-2.2 * scale + offset) * sx, line_y, (2.2 * scale + offset) * sx, line_y, 0, 0, 0)
    _link(frame, offset, offset, theta1 - math.pi / 2, l1 * scale, scale, sx, sy)
    # The elbow, where gymnasium puts it: (l1 sin t1, -l1 cos t1) from the pivot.
    elbow_x = l1 * math.sin(theta1) * scale + offset
    elbow_y = -l1 * math.cos(theta1) * scale + offset
    _link(frame, elbow_x, elbow_y, theta1 + theta2 - math.pi / 2, LINK_LENGTH_2 * scale, scale, sx, sy)


_PARAMS = AcrobotParams()
_HIGH = np.array([1.0, 1.0, 1.0, 1.0, _PARAMS.max_vel_1, _PARAMS.max_vel_2], dtype=np.float32)

ACROBOT = BatchedTask(
    name="Acrobot",
    state_size=4,
    observation_space=spaces.Box(-_HIGH, _HIGH, dtype=np.float32),
    action_space=spaces.Discrete(3),
    params=_PARAMS,
    step=step,
    reset=reset,
    observe=observe,
    max_episode_steps=500,
    gold="-1 per step until the tip swings above the line (fewer steps is better; min -500)",
    reference="Acrobot-v1",
    potential=potential,
    render=render,
    frame_shape=(SCREEN_DIM, SCREEN_DIM),
    render_fps=15,  # gymnasium's
    pixel_observations=True,
)
