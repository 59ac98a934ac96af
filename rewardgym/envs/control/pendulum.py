"""Pendulum: swing a pendulum up and hold it upright, as in gymnasium's Pendulum-v1.

Gold reward: minus the cost ``angle**2 + 0.1 * speed**2 + 0.001 * torque**2`` of every step (the
angle normalised to [-pi, pi)), the task's own objective. It never terminates, only truncates.
Built-in potential: uprightness.
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


class PendulumParams(NamedTuple):
    max_speed: float = 8.0
    max_torque: float = 2.0
    dt: float = 0.05
    g: float = 10.0
    m: float = 1.0
    l: float = 1.0  # noqa: E741 (gymnasium's name)
    reset_angle: float = math.pi
    reset_speed: float = 1.0


@register_jitable
def _f32(x):
    """``x`` rounded to float32, held as a float64."""
    return np.float64(np.float32(x))


@register_jitable
def angle_normalize(x: float) -> float:
    return ((x + math.pi) % (2 * math.pi)) - math.pi


# The torque is float32, and under NumPy 2's promotion rules (NEP 50) gymnasium computes
# ``0.001 * u**2`` and ``3.0 / (m * l**2) * u`` in float32. Each such product is done in float64
# (exact for float32 inputs) and rounded once, which equals the float32 product.
@register_jitable
def step(state: np.ndarray, action: np.ndarray, params: PendulumParams) -> tuple[float, float, bool]:
    th, thdot = state[0], state[1]
    u = min(max(np.float64(action[0]), -params.max_torque), params.max_torque)
    angle = angle_normalize(th)
    # Squares as products, alike on every target (see acrobot.dsdt).
    costs = angle * angle + 0.1 * (thdot * thdot) + _f32(_f32(0.001) * _f32(u * u))
    torque_accel = _f32(_f32(3.0 / (params.m * (params.l * params.l))) * u)
    newthdot = thdot + (3 * params.g / (2 * params.l) * math.sin(th) + torque_accel) * params.dt
    newthdot = min(max(newthdot, -params.max_speed), params.max_speed)
    state[0] = th + newthdot * params.dt
    state[1] = newthdot
    return -costs, -costs, False


@register_jitable
def reset(state: np.ndarray, rng: np.ndarray, params: PendulumParams) -> None:
    state[0] = uniform(rng, -params.reset_angle, params.reset_angle)
    state[1] = uniform(rng, -params.reset_speed, params.reset_speed)


@register_jitable
def observe(state: np.ndarray, obs: np.ndarray) -> None:
    obs[0] = math.cos(state[0])
    obs[1] = math.sin(state[0])
    obs[2] = state[1]


@register_jitable
def potential(obs: np.ndarray, params: PendulumParams) -> float:
    """Uprightness ``cos(theta)``, read from the observation ``(cos, sin, thetadot)``: 1 upright,
    -1 hanging.

    Example:
        >>> potential(np.array([-1.0, 0.0, 3.0], np.float32), PendulumParams())
        -1.0
    """
    return float(obs[0])


SCREEN_DIM = 500
"""gymnasium's frame is ``SCREEN_DIM`` pixels square."""


@register_jitable
def render(state: np.ndarray, frame: np.ndarray, params: PendulumParams) -> None:
    """gymnasium's pendulum picture: the red rod with round ends swinging about the black axle in
    the frame's middle, upright at angle 0.

    gymnasium also draws an arrow scaled by the last torque; the state does not hold the torque,
    so the arrow is left out (gymnasium's first frame after a reset has none either). It is drawn
    in gymnasium's 500 x 500 coordinates, scaled to the frame's size
    (:func:`~rewardgym.envs.control.raster.scales`).

    Example:
        >>> frame = np.zeros((SCREEN_DIM, SCREEN_DIM, 3), np.uint8)
        >>> render(np.array([0.0, 0.0]), frame, PendulumParams())
        >>> frame[250, 250].tolist(), frame[250 - 80, 250].tolist(), frame[250 + 80, 250].tolist()
        ([0, 0, 0], [204, 77, 77], [255, 255, 255])
        >>> small = np.zeros((84, 84, 3), np.uint8)
        >>> render(np.array([0.0, 0.0]), small, PendulumParams())
        >>> small[41, 42].tolist(), small[41 - 14, 42].tolist(), small[41 + 14, 42].tolist()  # y up: row 83 - 42
        ([0, 0, 0], [204, 77, 77], [255, 255, 255])
    """
    sx, sy = raster.scales(frame, SCREEN_DIM, SCREEN_DIM)
    scale = SCREEN_DIM / (2.2 * 2)  # gymnasium's bound of 2.2 rod lengths each side
    offset = SCREEN_DIM // 2
    rod_length = 1 * scale
    rod_width = 0.2 * scale
    angle = state[0] + math.pi / 2
    radius = int(rod_width / 2 * min(sx, sy))
    raster.fill(frame, 255, 255, 255)
    raster.fill_rotated_rect(
        frame, 0.0, rod_length, rod_width / 2, -rod_width / 2, angle, offset, offset, sx, sy, 204, 77, 77
    )
    centre_x, centre_y = int(offset * sx), int(offset * sy)
    raster.fill_disc(frame, centre_x, centre_y, radius, 204, 77, 77)
    end_x = int((rod_length * math.cos(angle) + offset) * sx)
    end_y = int((rod_length * math.sin(angle) + offset) * sy)
    raster.fill_disc(frame, end_x, end_y, radius, 204, 77, 77)
    raster.fill_disc(frame, centre_x, centre_y, int(0.05 * scale * min(sx, sy)), 0, 0, 0)  # the axle


_PARAMS = PendulumParams()
_HIGH = np.array([1.0, 1.0, _PARAMS.max_speed], dtype=np.float32)

PENDULUM = BatchedTask(
    name="Pendulum",
    state_size=2,
    observation_space=spaces.Box(-_HIGH, _HIGH, dtype=np.float32),
    action_space=spaces.Box(-_PARAMS.max_torque, _PARAMS.max_torque, shape=(1,), dtype=np.float32),
    params=_PARAMS,
    step=step,
    reset=reset,
    observe=observe,
    max_episode_steps=200,
    gold="-(angle**2 + 0.1 * speed**2 + 0.001 * torque**2) per step: upright, still, frugal is 0",
    reference="Pendulum-v1",
    potential=potential,
    render=render,
    frame_shape=(SCREEN_DIM, SCREEN_DIM),
    render_fps=30,  # gymnasium's
    pixel_observations=True,
    vectorize=True,
)
