"""``rewardgym/Hopper-v0``: gymnasium's ``Hopper-v5``, batched, with its reward's terms.

Reward (= gold): ``reward_forward + reward_survive + reward_ctrl``, the terms in
``info["reward_components"]``: ``reward_forward`` = ``forward_reward_weight * x_velocity``,
``reward_survive`` = ``healthy_reward`` while healthy (else 0), ``reward_ctrl`` =
``-ctrl_cost_weight * sum(action**2)``. Healthy: every state entry but x and z within
``healthy_state_range``, z in ``healthy_z_range``, the torso angle in ``healthy_angle_range``
(all strict); an unhealthy state terminates. Velocities in the observation are clipped to
``[-10, 10]``. ``info["reward_vector"]`` is MO-Gymnasium's ``mo-hopper-v5``:
``[x_velocity, 10 * z_distance_from_origin, -sum(action**2)] + reward_survive``.

Example:
    >>> import numpy as np
    >>> from rewardgym.envs.mujoco.vector_env import MujocoVectorEnv
    >>> envs = MujocoVectorEnv(HOPPER, 2)
    >>> obs, _ = envs.reset(seed=0)
    >>> _, reward, *_, info = envs.step(np.zeros((2, 3), np.float32))
    >>> obs.shape, sorted(info["reward_components"])
    ((2, 11), ['reward_ctrl', 'reward_forward', 'reward_survive'])
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rewardgym.envs.mujoco.task import (
    Components,
    MujocoTask,
    SimBatch,
    ctrl_cost,
    observed_qpos,
    uniform_noise,
    x_velocity,
)


class HopperParams(NamedTuple):
    """gymnasium's ``Hopper-v5`` keyword arguments and their defaults."""

    xml_file: str = "hopper.xml"
    frame_skip: int = 4
    forward_reward_weight: float = 1.0
    ctrl_cost_weight: float = 1e-3
    healthy_reward: float = 1.0
    terminate_when_unhealthy: bool = True
    healthy_state_range: tuple[float, float] = (-100.0, 100.0)
    healthy_z_range: tuple[float, float] = (0.7, float("inf"))
    healthy_angle_range: tuple[float, float] = (-0.2, 0.2)
    reset_noise_scale: float = 5e-3
    exclude_current_positions_from_observation: bool = True


def observe(sim: SimBatch, params: HopperParams) -> np.ndarray:
    """qpos (without x) then qvel clipped to [-10, 10], ``(n, 11)``.

    Example:
        >>> sim = SimBatch(np.ones((1, 6)), np.full((1, 6), 20.0), *(None,) * 5, 0.008)
        >>> observe(sim, HopperParams())[0, -1]
        np.float64(10.0)
    """
    skip = 1 if params.exclude_current_positions_from_observation else 0
    return np.concatenate((sim.qpos[:, skip:], np.clip(sim.qvel, -10, 10)), axis=1)


def is_healthy(sim: SimBatch, params: HopperParams) -> np.ndarray:
    """gymnasium's ``is_healthy``, per row: state (but x, z), z and angle strictly within range.

    Example:
        >>> qpos = np.array([[0.0, 1.25, 0.0, 0, 0, 0], [0.0, 0.5, 0.0, 0, 0, 0]])
        >>> is_healthy(SimBatch(qpos, np.zeros((2, 6)), *(None,) * 5, 0.008), HopperParams()).tolist()
        [True, False]
    """
    state = np.concatenate((sim.qpos, sim.qvel), axis=1)[:, 2:]
    low, high = params.healthy_state_range
    z, angle = sim.qpos[:, 1], sim.qpos[:, 2]
    return (
        np.all((low < state) & (state < high), axis=1)
        & (params.healthy_z_range[0] < z)
        & (z < params.healthy_z_range[1])
        & (params.healthy_angle_range[0] < angle)
        & (angle < params.healthy_angle_range[1])
    )


def reward_components(sim: SimBatch, healthy: np.ndarray, params: HopperParams) -> Components:
    """``reward_forward``, ``reward_ctrl`` (negative), ``reward_survive``: gymnasium's names and signs.

    Example:
        >>> sim = SimBatch(None, None, None, np.zeros((1, 2)), np.full((1, 2), 0.008), np.ones((1, 3)), None, 0.008)
        >>> {k: v.tolist() for k, v in reward_components(sim, np.array([True]), HopperParams()).items()}
        {'reward_forward': [1.0], 'reward_ctrl': [-0.003], 'reward_survive': [1.0]}
    """
    return {
        "reward_forward": params.forward_reward_weight * x_velocity(sim),
        "reward_ctrl": -ctrl_cost(sim.action, params.ctrl_cost_weight),
        "reward_survive": healthy * float(params.healthy_reward),
    }


def reward_vector(components: Components, sim: SimBatch, params: HopperParams) -> np.ndarray:
    """MO-Gymnasium's ``mo-hopper-v5``: ``[x_velocity, 10 * z gain, -sum(action**2)] + survive``, ``(n, 3)``.

    Example:
        >>> sim = SimBatch(np.array([[0, 1.35, 0, 0, 0, 0]]), None, None, np.zeros((1, 2)), np.zeros((1, 2)), np.zeros((1, 3)), np.array([0, 1.25, 0, 0, 0, 0]), 0.008)
        >>> p = HopperParams()
        >>> reward_vector(reward_components(sim, np.array([True]), p), sim, p).round(6).tolist()
        [[1.0, 2.0, 1.0]]
    """
    height = 10 * (sim.qpos[:, 1] - sim.init_qpos[1])
    vector = np.stack((x_velocity(sim), height, components["reward_ctrl"] / params.ctrl_cost_weight), axis=1)
    return vector + components["reward_survive"][:, None]


def step_info(sim: SimBatch, params: HopperParams) -> Components:
    """gymnasium's other info terms: ``x_position``, ``z_distance_from_origin``, ``x_velocity``.

    Example:
        >>> sim = SimBatch(np.array([[2.0, 1.5, 0, 0, 0, 0]]), None, None, np.zeros((1, 2)), np.ones((1, 2)), None, np.array([0, 1.25, 0, 0, 0, 0]), 0.5)
        >>> {k: v.tolist() for k, v in step_info(sim, HopperParams()).items()}
        {'x_position': [2.0], 'z_distance_from_origin': [0.25], 'x_velocity': [2.0]}
    """
    return {
        "x_position": sim.qpos[:, 0].copy(),
        "z_distance_from_origin": sim.qpos[:, 1] - sim.init_qpos[1],
        "x_velocity": x_velocity(sim),
    }


def reset_noise(
    rng: np.random.Generator, init_qpos: np.ndarray, init_qvel: np.ndarray, params: HopperParams
) -> tuple[np.ndarray, np.ndarray]:
    """gymnasium's start: uniform noise of ``reset_noise_scale`` on qpos, then on qvel.

    Example:
        >>> qpos, qvel = reset_noise(np.random.default_rng(0), np.zeros(6), np.zeros(6), HopperParams())
        >>> bool(np.all(np.abs(qvel) <= 5e-3))
        True
    """
    return uniform_noise(rng, init_qpos, init_qvel, params.reset_noise_scale)


def potential(obs: np.ndarray, params: HopperParams) -> np.ndarray:
    """The built-in potential for ``shaped``: the torso's height ``z`` (metres; 1.25 standing).

    A posture potential: the observation holds no forward position (``-v5`` excludes x), and
    height is what separates a healthy hopper from a falling one. Under potential-based shaping
    it cannot change the optimal policy; under ``shaped(kind='naive')`` it pays for standing
    tall, the hack of ``HopperHeight-v0``.

    Example:
        >>> potential(np.array([[1.25] + [0.0] * 10]), HopperParams()).tolist()
        [1.25]
    """
    return observed_qpos(obs, params, index=1, excluded=1)


def terminates(params: HopperParams) -> bool:
    """Whether an unhealthy state ends the episode (``terminate_when_unhealthy``).

    Example:
        >>> terminates(HopperParams())
        True
    """
    return bool(params.terminate_when_unhealthy)


HOPPER = MujocoTask(
    name="Hopper",
    params=HopperParams(),
    observe=observe,
    is_healthy=is_healthy,
    reward_components=reward_components,
    reward_vector=reward_vector,
    step_info=step_info,
    reset_noise=reset_noise,
    terminates=terminates,
    potential=potential,
    observation_size=11,
    action_size=3,
    gold_text="gymnasium's Hopper-v5 reward: forward speed + 1 while healthy - 1e-3 * sum(action**2)",
    reference="gymnasium Hopper-v5 (same model, obs, reward, termination, start, 1000-step limit)",
)
