"""CartPole: balance a pole on a cart (Barto, Sutton & Anderson 1983), as in gymnasium's CartPole-v1.

Gold reward: +1 for every step the pole stays up, the task's own objective. Built-in potential:
uprightness and centring.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from gymnasium import spaces
from numba.extending import register_jitable

from rewardgym.core.rng import uniform
from rewardgym.envs.batched.task import BatchedTask, observe_state
from rewardgym.envs.control import raster


class CartPoleParams(NamedTuple):
    gravity: float = 9.8
    masscart: float = 1.0
    masspole: float = 0.1
    length: float = 0.5  # half the pole's length
    force_mag: float = 10.0
    tau: float = 0.02  # seconds between state updates
    theta_threshold: float = 12 * 2 * math.pi / 360
    x_threshold: float = 2.4
    reset_bound: float = 0.05


@register_jitable
def step(state: np.ndarray, action: int, params: CartPoleParams) -> tuple[float, float, bool]:
    x, x_dot, theta, theta_dot = state[0], state[1], state[2], state[3]
    force = params.force_mag if action == 1 else -params.force_mag
    costheta = math.cos(theta)
    sintheta = math.sin(theta)
    total_mass = params.masspole + params.masscart
    polemass_length = params.masspole * params.length
    # Squares grouped as gymnasium's np.square(...) so float rounding matches bit for bit.
    temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass
    thetaacc = (params.gravity * sintheta - costheta * temp) / (
        params.length * (4.0 / 3.0 - params.masspole * (costheta * costheta) / total_mass)
    )
    xacc = temp - polemass_length * thetaacc * costheta / total_mass
    # Explicit Euler, gymnasium's default kinematics integrator.
    state[0] = x + params.tau * x_dot
    state[1] = x_dot + params.tau * xacc
    state[2] = theta + params.tau * theta_dot
    state[3] = theta_dot + params.tau * thetaacc
    terminated = (
        state[0] < -params.x_threshold
        or state[0] > params.x_threshold
        or state[2] < -params.theta_threshold
        or state[2] > params.theta_threshold
    )
    return 1.0, 1.0, terminated


@register_jitable
def reset(state: np.ndarray, rng: np.ndarray, params: CartPoleParams) -> None:
    for j in range(4):
        state[j] = uniform(rng, -params.reset_bound, params.reset_bound)


@register_jitable
def potential(obs: np.ndarray, params: CartPoleParams) -> float:
    """Uprightness and centring, ``1 - (|theta| / theta_threshold + |x| / x_threshold) / 2``.

    1 with the pole upright over the track's centre, 0 where the episode would end on both counts
    (each term reaches 0 at its own termination threshold).

    Example:
        >>> round(potential(np.array([1.2, 0.0, -np.pi / 30, 0.0]), CartPoleParams()), 6)
        0.5
    """
    # Products with the halved reciprocals, which compile to constants: a compiled loop vectorises
    # multiplications, where divisions were half the shaping kernel's time.
    return 1.0 - (abs(float(obs[2])) * (0.5 / params.theta_threshold) + abs(float(obs[0])) * (0.5 / params.x_threshold))


SCREEN_WIDTH, SCREEN_HEIGHT = 600, 400
"""gymnasium's frame size for CartPole."""


@register_jitable
def render(state: np.ndarray, frame: np.ndarray, params: CartPoleParams) -> None:
    """gymnasium's CartPole picture: the black cart on the track line, the brown pole from its axle,
    the blue axle, at gymnasium's scale (the track's +-x_threshold spans the frame's width).

    It is drawn in gymnasium's 600 x 400 coordinates, scaled to the frame's size
    (:func:`~rewardgym.envs.control.raster.scales`): gymnasium's frame at that size, a small
    observation image (``obs_mode="pixels"``) at any other.

    Example:
        >>> frame = np.zeros((SCREEN_HEIGHT, SCREEN_WIDTH, 3), np.uint8)
        >>> render(np.zeros(4), frame, CartPoleParams())
        >>> frame[400 - 1 - 90, 300].tolist(), frame[400 - 1 - 200, 300].tolist()  # cart, pole
        ([0, 0, 0], [202, 152, 101])
        >>> small = np.zeros((84, 84, 3), np.uint8)
        >>> render(np.zeros(4), small, CartPoleParams())
        >>> small[84 - 1 - 19, 42].tolist(), small[84 - 1 - 42, 42].tolist()  # cart, pole
        ([0, 0, 0], [202, 152, 101])
    """
    sx, sy = raster.scales(frame, SCREEN_WIDTH, SCREEN_HEIGHT)
    scale = SCREEN_WIDTH / (params.x_threshold * 2)
    pole_width = 10.0
    pole_length = scale * (2 * params.length)
    cart_x = state[0] * scale + SCREEN_WIDTH / 2.0  # the middle of the cart
    cart_y = 100  # the top of the track, where the cart's middle rides
    axle_offset = 30.0 / 4.0
    raster.fill(frame, 255, 255, 255)
    raster.fill_rotated_rect(frame, -25.0, 25.0, 15.0, -15.0, 0.0, cart_x, cart_y, sx, sy, 0, 0, 0)
    half = pole_width / 2
    raster.fill_rotated_rect(
        frame, -half, half, pole_length - half, -half, -state[2], cart_x, cart_y + axle_offset, sx, sy, 202, 152, 101
    )
    axle_x, axle_y = int(cart_x * sx), int((cart_y + axle_offset) * sy)
    raster.fill_disc(frame, axle_x, axle_y, int(half * min(sx, sy)), 129, 132, 203)
    raster.hline(frame, 0, int(SCREEN_WIDTH * sx), int(cart_y * sy), 0, 0, 0)


_PARAMS = CartPoleParams()
_HIGH = np.array([_PARAMS.x_threshold * 2, np.inf, _PARAMS.theta_threshold * 2, np.inf], dtype=np.float32)

CARTPOLE = BatchedTask(
    name="CartPole",
    state_size=4,
    observation_space=spaces.Box(-_HIGH, _HIGH, dtype=np.float32),
    action_space=spaces.Discrete(2),
    params=_PARAMS,
    step=step,
    reset=reset,
    observe=observe_state,
    max_episode_steps=500,
    gold="+1 per step with the pole upright and the cart on the track (max 500)",
    reference="CartPole-v1",
    potential=potential,
    aliases=("CartPole-v0",),  # gymnasium's: the same dynamics with a 200-step limit
    render=render,
    frame_shape=(SCREEN_HEIGHT, SCREEN_WIDTH),
    render_fps=50,  # gymnasium's
    pixel_observations=True,
    vectorize=True,
)
