"""``rewardgym/Ant-v0``: gymnasium's ``Ant-v5``, batched, with its reward's terms.

Reward (= gold): the sum of ``info["reward_components"]``: ``reward_forward`` =
``forward_reward_weight * x_velocity`` (the torso body's ``xpos`` x speed over the step, read
from ``MjData`` as gymnasium does), ``reward_survive`` = ``healthy_reward`` while healthy,
``reward_ctrl`` = ``-ctrl_cost_weight * sum(action**2)``, ``reward_contact`` =
``-contact_cost_weight * sum(clip(cfrc_ext, contact_force_range)**2)``. Healthy: the state is
finite and z in ``healthy_z_range`` (inclusive); an unhealthy state terminates. The observation
is qpos (without x, y), qvel and the clipped external contact forces of every body but the world
(105 numbers). ``info["reward_vector"]`` is MO-Gymnasium's ``mo-ant-v5``:
``[x_velocity, y_velocity, -sum(action**2)] + reward_survive + reward_contact``.

Example:
    >>> import numpy as np
    >>> from rewardgym.envs.mujoco.vector_env import MujocoVectorEnv
    >>> envs = MujocoVectorEnv(ANT, 2)
    >>> obs, _ = envs.reset(seed=0)
    >>> _, reward, *_, info = envs.step(np.zeros((2, 8), np.float32))
    >>> obs.shape, sorted(info["reward_components"])
    ((2, 105), ['reward_contact', 'reward_ctrl', 'reward_forward', 'reward_survive'])
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rewardgym.envs.mujoco.task import (
    Components,
    MujocoTask,
    SimBatch,
    ctrl_cost,
    normal_velocity_noise,
    observed_qpos,
    x_velocity,
)


class AntParams(NamedTuple):
    """gymnasium's ``Ant-v5`` keyword arguments and their defaults (``main_body`` by index)."""

    xml_file: str = "ant.xml"
    frame_skip: int = 5
    forward_reward_weight: float = 1.0
    ctrl_cost_weight: float = 0.5
    contact_cost_weight: float = 5e-4
    healthy_reward: float = 1.0
    main_body: int = 1
    terminate_when_unhealthy: bool = True
    healthy_z_range: tuple[float, float] = (0.2, 1.0)
    contact_force_range: tuple[float, float] = (-1.0, 1.0)
    reset_noise_scale: float = 0.1
    exclude_current_positions_from_observation: bool = True
    include_cfrc_ext_in_observation: bool = True


def contact_forces(sim: SimBatch, params: AntParams) -> np.ndarray:
    """``cfrc_ext`` clipped to ``contact_force_range``, ``(n, nbody, 6)``.

    Example:
        >>> sim = SimBatch(None, None, np.full((1, 2, 6), 3.0), *(None,) * 4, 0.05)
        >>> float(contact_forces(sim, AntParams()).max())
        1.0
    """
    return np.clip(sim.cfrc_ext, *params.contact_force_range)


def observe(sim: SimBatch, params: AntParams) -> np.ndarray:
    """qpos (without x, y), qvel, then the clipped contact forces of bodies 1.., ``(n, 105)``.

    Example:
        >>> sim = SimBatch(np.ones((1, 15)), np.zeros((1, 14)), np.zeros((1, 14, 6)), *(None,) * 4, 0.05)
        >>> observe(sim, AntParams()).shape
        (1, 105)
    """
    skip = 2 if params.exclude_current_positions_from_observation else 0
    parts = [sim.qpos[:, skip:], sim.qvel]
    if params.include_cfrc_ext_in_observation:
        parts.append(contact_forces(sim, params)[:, 1:].reshape(len(sim.qpos), -1))
    return np.concatenate(parts, axis=1)


def is_healthy(sim: SimBatch, params: AntParams) -> np.ndarray:
    """gymnasium's ``is_healthy``: a finite state and z within ``healthy_z_range`` (inclusive).

    Example:
        >>> qpos = np.zeros((2, 15)); qpos[:, 2] = [0.5, 1.5]
        >>> is_healthy(SimBatch(qpos, np.zeros((2, 14)), *(None,) * 5, 0.05), AntParams()).tolist()
        [True, False]
    """
    finite = np.isfinite(sim.qpos).all(axis=1) & np.isfinite(sim.qvel).all(axis=1)
    z = sim.qpos[:, 2]
    return finite & (params.healthy_z_range[0] <= z) & (z <= params.healthy_z_range[1])


def reward_components(sim: SimBatch, healthy: np.ndarray, params: AntParams) -> Components:
    """``reward_forward``, ``reward_ctrl``, ``reward_contact`` (negative), ``reward_survive``.

    Example:
        >>> sim = SimBatch(None, None, np.full((1, 14, 6), 2.0), np.zeros((1, 2)), np.zeros((1, 2)), np.ones((1, 8)), None, 0.05)
        >>> reward_components(sim, np.array([True]), AntParams())["reward_contact"].round(6).tolist()
        [-0.042]
    """
    contact = params.contact_cost_weight * np.sum(np.square(contact_forces(sim, params)), axis=(1, 2))
    return {
        "reward_forward": params.forward_reward_weight * x_velocity(sim),
        "reward_ctrl": -ctrl_cost(sim.action, params.ctrl_cost_weight),
        "reward_contact": -contact,
        "reward_survive": healthy * float(params.healthy_reward),
    }


def reward_vector(components: Components, sim: SimBatch, params: AntParams) -> np.ndarray:
    """MO-Gymnasium's ``mo-ant-v5``: ``[x_velocity, y_velocity, -sum(action**2)] + survive + contact``.

    Example:
        >>> sim = SimBatch(None, None, np.zeros((1, 14, 6)), np.zeros((1, 2)), np.zeros((1, 2)), np.zeros((1, 8)), None, 0.05)
        >>> p = AntParams()
        >>> reward_vector(reward_components(sim, np.array([True]), p), sim, p).tolist()
        [[1.0, 1.0, 1.0]]
    """
    y_velocity = (sim.xy_after[:, 1] - sim.xy_before[:, 1]) / sim.dt
    vector = np.stack((x_velocity(sim), y_velocity, components["reward_ctrl"] / params.ctrl_cost_weight), axis=1)
    return vector + (components["reward_survive"] + components["reward_contact"])[:, None]


def step_info(sim: SimBatch, params: AntParams) -> Components:
    """gymnasium's other info terms: positions, ``distance_from_origin``, x and y velocity.

    Example:
        >>> sim = SimBatch(np.array([[3.0, 4.0]]), None, None, np.zeros((1, 2)), np.ones((1, 2)), None, None, 0.5)
        >>> step_info(sim, AntParams())["distance_from_origin"].tolist()
        [5.0]
    """
    return {
        "x_position": sim.qpos[:, 0].copy(),
        "y_position": sim.qpos[:, 1].copy(),
        "distance_from_origin": np.linalg.norm(sim.qpos[:, 0:2], ord=2, axis=1),
        "x_velocity": x_velocity(sim),
        "y_velocity": (sim.xy_after[:, 1] - sim.xy_before[:, 1]) / sim.dt,
    }


def reset_noise(
    rng: np.random.Generator, init_qpos: np.ndarray, init_qvel: np.ndarray, params: AntParams
) -> tuple[np.ndarray, np.ndarray]:
    """gymnasium's start: uniform qpos noise, normal qvel noise, both of ``reset_noise_scale``.

    Example:
        >>> qpos, qvel = reset_noise(np.random.default_rng(0), np.zeros(15), np.zeros(14), AntParams())
        >>> qvel.shape
        (14,)
    """
    return normal_velocity_noise(rng, init_qpos, init_qvel, params.reset_noise_scale)


def terminates(params: AntParams) -> bool:
    """Whether an unhealthy state ends the episode (``terminate_when_unhealthy``).

    Example:
        >>> terminates(AntParams())
        True
    """
    return bool(params.terminate_when_unhealthy)


def potential(obs: np.ndarray, params: AntParams) -> np.ndarray:
    """The built-in potential for ``shaped``: the torso's height ``z`` (metres; 0.75 at the start).

    A posture potential (the observation holds no forward position); an ant whose torso sinks
    below 0.2 m is unhealthy.

    Example:
        >>> potential(np.array([[0.75] + [0.0] * 104]), AntParams()).tolist()
        [0.75]
    """
    return observed_qpos(obs, params, index=2, excluded=2)


ANT = MujocoTask(
    name="Ant",
    params=AntParams(),
    observe=observe,
    is_healthy=is_healthy,
    reward_components=reward_components,
    reward_vector=reward_vector,
    step_info=step_info,
    reset_noise=reset_noise,
    terminates=terminates,
    potential=potential,
    observation_size=105,
    action_size=8,
    position_body=1,
    uses_cfrc_ext=True,
    gold_text="gymnasium's Ant-v5 reward: torso x speed + 1 while healthy - 0.5 * sum(action**2) - contact cost",
    reference="gymnasium Ant-v5 (same model, obs, reward, termination, start, 1000-step limit)",
)
