"""``rewardgym/Walker2d-v0``: gymnasium's ``Walker2d-v5``, batched, with its reward's terms.

Reward (= gold): ``reward_forward + reward_survive + reward_ctrl`` (``info["reward_components"]``:
``forward_reward_weight * x_velocity``, ``healthy_reward`` while healthy, ``-ctrl_cost_weight *
sum(action**2)``). Healthy: z in ``healthy_z_range`` and the torso angle in
``healthy_angle_range`` (strict); an unhealthy state terminates. Velocities in the observation
are clipped to ``[-10, 10]``. ``info["reward_vector"]`` is MO-Gymnasium's ``mo-walker2d-v5``:
``[x_velocity, -sum(action**2)] + reward_survive``.

Example:
    >>> import numpy as np
    >>> from rewardgym.envs.mujoco.vector_env import MujocoVectorEnv
    >>> envs = MujocoVectorEnv(WALKER2D, 2)
    >>> obs, _ = envs.reset(seed=0)
    >>> _, reward, *_, info = envs.step(np.zeros((2, 6), np.float32))
    >>> obs.shape, info["reward_vector"].shape
    ((2, 17), (2, 2))
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rewardgym.envs.mujoco import hopper
from rewardgym.envs.mujoco.task import Components, MujocoTask, SimBatch, uniform_noise, x_velocity


class Walker2dParams(NamedTuple):
    """gymnasium's ``Walker2d-v5`` keyword arguments and their defaults."""

    xml_file: str = "walker2d_v5.xml"
    frame_skip: int = 4
    forward_reward_weight: float = 1.0
    ctrl_cost_weight: float = 1e-3
    healthy_reward: float = 1.0
    terminate_when_unhealthy: bool = True
    healthy_z_range: tuple[float, float] = (0.8, 2.0)
    healthy_angle_range: tuple[float, float] = (-1.0, 1.0)
    reset_noise_scale: float = 5e-3
    exclude_current_positions_from_observation: bool = True


def observe(sim: SimBatch, params: Walker2dParams) -> np.ndarray:
    """qpos (without x) then qvel clipped to [-10, 10], ``(n, 17)``.

    Example:
        >>> sim = SimBatch(np.ones((1, 9)), np.full((1, 9), -20.0), *(None,) * 5, 0.008)
        >>> observe(sim, Walker2dParams())[0, -1]
        np.float64(-10.0)
    """
    skip = 1 if params.exclude_current_positions_from_observation else 0
    return np.concatenate((sim.qpos[:, skip:], np.clip(sim.qvel, -10, 10)), axis=1)


def is_healthy(sim: SimBatch, params: Walker2dParams) -> np.ndarray:
    """gymnasium's ``is_healthy``: z and the torso angle strictly within their ranges.

    Example:
        >>> qpos = np.array([[0.0, 1.25, 0.0], [0.0, 1.25, 1.5]])
        >>> is_healthy(SimBatch(qpos, *(None,) * 6, 0.008), Walker2dParams()).tolist()
        [True, False]
    """
    z, angle = sim.qpos[:, 1], sim.qpos[:, 2]
    return (
        (params.healthy_z_range[0] < z)
        & (z < params.healthy_z_range[1])
        & (params.healthy_angle_range[0] < angle)
        & (angle < params.healthy_angle_range[1])
    )


def reward_components(sim: SimBatch, healthy: np.ndarray, params: Walker2dParams) -> Components:
    """``reward_forward``, ``reward_ctrl`` (negative), ``reward_survive``, as Hopper's.

    Example:
        >>> sim = SimBatch(None, None, None, np.zeros((1, 2)), np.zeros((1, 2)), np.ones((1, 6)), None, 0.008)
        >>> reward_components(sim, np.array([False]), Walker2dParams())["reward_survive"].tolist()
        [0.0]
    """
    return hopper.reward_components(sim, healthy, params)  # type: ignore[arg-type]  # the same fields


def reward_vector(components: Components, sim: SimBatch, params: Walker2dParams) -> np.ndarray:
    """MO-Gymnasium's ``mo-walker2d-v5``: ``[x_velocity, -sum(action**2)] + survive``, ``(n, 2)``.

    Example:
        >>> sim = SimBatch(None, None, None, np.zeros((1, 2)), np.zeros((1, 2)), np.ones((1, 6)), None, 0.008)
        >>> p = Walker2dParams()
        >>> reward_vector(reward_components(sim, np.array([True]), p), sim, p).round(6).tolist()
        [[1.0, -5.0]]
    """
    vector = np.stack((x_velocity(sim), components["reward_ctrl"] / params.ctrl_cost_weight), axis=1)
    return vector + components["reward_survive"][:, None]


def step_info(sim: SimBatch, params: Walker2dParams) -> Components:
    """gymnasium's other info terms: ``x_position``, ``z_distance_from_origin``, ``x_velocity``.

    Example:
        >>> sim = SimBatch(np.array([[2.0, 1.5, 0]]), None, None, np.zeros((1, 2)), np.ones((1, 2)), None, np.array([0, 1.25, 0]), 0.5)
        >>> step_info(sim, Walker2dParams())["z_distance_from_origin"].tolist()
        [0.25]
    """
    return hopper.step_info(sim, params)  # type: ignore[arg-type]  # the same fields


def reset_noise(
    rng: np.random.Generator, init_qpos: np.ndarray, init_qvel: np.ndarray, params: Walker2dParams
) -> tuple[np.ndarray, np.ndarray]:
    """gymnasium's start: uniform noise of ``reset_noise_scale`` on qpos, then on qvel.

    Example:
        >>> qpos, qvel = reset_noise(np.random.default_rng(0), np.zeros(9), np.zeros(9), Walker2dParams())
        >>> qpos.shape
        (9,)
    """
    return uniform_noise(rng, init_qpos, init_qvel, params.reset_noise_scale)


def terminates(params: Walker2dParams) -> bool:
    """Whether an unhealthy state ends the episode (``terminate_when_unhealthy``).

    Example:
        >>> terminates(Walker2dParams(terminate_when_unhealthy=False))
        False
    """
    return bool(params.terminate_when_unhealthy)


WALKER2D = MujocoTask(
    name="Walker2d",
    params=Walker2dParams(),
    observe=observe,
    is_healthy=is_healthy,
    reward_components=reward_components,
    reward_vector=reward_vector,
    step_info=step_info,
    reset_noise=reset_noise,
    terminates=terminates,
    potential=hopper.potential,
    observation_size=17,
    action_size=6,
    gold_text="gymnasium's Walker2d-v5 reward: forward speed + 1 while healthy - 1e-3 * sum(action**2)",
    reference="gymnasium Walker2d-v5 (same model, obs, reward, termination, start, 1000-step limit)",
)
