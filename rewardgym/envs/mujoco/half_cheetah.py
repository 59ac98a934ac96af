"""``rewardgym/HalfCheetah-v0``: gymnasium's ``HalfCheetah-v5``, batched, with its reward's terms.

Reward (= gold): ``reward_forward - ctrl_cost``, the terms in ``info["reward_components"]``:
``reward_forward`` = ``forward_reward_weight * x_velocity`` (the root's x speed over the step),
``reward_ctrl`` = ``-ctrl_cost_weight * sum(action**2)``. No termination; truncated at 1000 steps.
``info["reward_vector"]`` is MO-Gymnasium's ``mo-halfcheetah-v5``: ``[x_velocity, -sum(action**2)]``.

Example:
    >>> import numpy as np
    >>> from rewardgym.envs.mujoco.vector_env import MujocoVectorEnv
    >>> envs = MujocoVectorEnv(HALF_CHEETAH, 2)
    >>> obs, _ = envs.reset(seed=0)
    >>> obs.shape
    (2, 17)
    >>> _, reward, *_, info = envs.step(np.zeros((2, 6), np.float32))
    >>> sorted(info["reward_components"]), info["reward_vector"].shape
    (['reward_ctrl', 'reward_forward'], (2, 2))
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


class HalfCheetahParams(NamedTuple):
    """gymnasium's ``HalfCheetah-v5`` keyword arguments and their defaults."""

    xml_file: str = "half_cheetah.xml"
    frame_skip: int = 5
    forward_reward_weight: float = 1.0
    ctrl_cost_weight: float = 0.1
    reset_noise_scale: float = 0.1
    exclude_current_positions_from_observation: bool = True


def observe(sim: SimBatch, params: HalfCheetahParams) -> np.ndarray:
    """qpos (without the root's x) then qvel, ``(n, 17)``.

    Example:
        >>> sim = SimBatch(np.ones((1, 9)), np.zeros((1, 9)), np.zeros((1, 0, 6)), *np.zeros((3, 1, 2)), np.zeros(9), 0.05)
        >>> observe(sim, HalfCheetahParams()).shape
        (1, 17)
    """
    skip = 1 if params.exclude_current_positions_from_observation else 0
    return np.concatenate((sim.qpos[:, skip:], sim.qvel), axis=1)


def is_healthy(sim: SimBatch, params: HalfCheetahParams) -> np.ndarray:
    """Always healthy (HalfCheetah never terminates).

    Example:
        >>> sim = SimBatch(np.ones((2, 9)), *(None,) * 6, 0.05)
        >>> is_healthy(sim, HalfCheetahParams()).tolist()
        [True, True]
    """
    return np.ones(len(sim.qpos), dtype=bool)


def reward_components(sim: SimBatch, healthy: np.ndarray, params: HalfCheetahParams) -> Components:
    """``reward_forward`` and ``reward_ctrl`` (negative), gymnasium's info names and signs.

    Example:
        >>> sim = SimBatch(None, None, None, np.zeros((1, 2)), np.full((1, 2), 0.05), np.ones((1, 6)), None, 0.05)
        >>> {k: v.tolist() for k, v in reward_components(sim, None, HalfCheetahParams()).items()}
        {'reward_forward': [1.0], 'reward_ctrl': [-0.6000000000000001]}
    """
    return {
        "reward_forward": params.forward_reward_weight * x_velocity(sim),
        "reward_ctrl": -ctrl_cost(sim.action, params.ctrl_cost_weight),
    }


def reward_vector(components: Components, sim: SimBatch, params: HalfCheetahParams) -> np.ndarray:
    """MO-Gymnasium's ``mo-halfcheetah-v5`` vector: ``[x_velocity, -sum(action**2)]``, ``(n, 2)``.

    Example:
        >>> sim = SimBatch(None, None, None, np.zeros((1, 2)), np.full((1, 2), 0.05), np.ones((1, 6)), None, 0.05)
        >>> p = HalfCheetahParams()
        >>> reward_vector(reward_components(sim, None, p), sim, p).round(6).tolist()
        [[1.0, -6.0]]
    """
    return np.stack((x_velocity(sim), components["reward_ctrl"] / params.ctrl_cost_weight), axis=1)


def step_info(sim: SimBatch, params: HalfCheetahParams) -> Components:
    """gymnasium's other info terms: ``x_position``, ``x_velocity``.

    Example:
        >>> sim = SimBatch(np.ones((1, 9)), None, None, np.zeros((1, 2)), np.ones((1, 2)), None, None, 0.5)
        >>> {k: v.tolist() for k, v in step_info(sim, HalfCheetahParams()).items()}
        {'x_position': [1.0], 'x_velocity': [2.0]}
    """
    return {"x_position": sim.qpos[:, 0].copy(), "x_velocity": x_velocity(sim)}


def reset_noise(
    rng: np.random.Generator, init_qpos: np.ndarray, init_qvel: np.ndarray, params: HalfCheetahParams
) -> tuple[np.ndarray, np.ndarray]:
    """gymnasium's start: uniform qpos noise, normal qvel noise, both of ``reset_noise_scale``.

    Example:
        >>> qpos, qvel = reset_noise(np.random.default_rng(0), np.zeros(9), np.zeros(9), HalfCheetahParams())
        >>> bool(np.all(np.abs(qpos) <= 0.1))
        True
    """
    return normal_velocity_noise(rng, init_qpos, init_qvel, params.reset_noise_scale)


def terminates(params: HalfCheetahParams) -> bool:
    """HalfCheetah never terminates.

    Example:
        >>> terminates(HalfCheetahParams())
        False
    """
    return False


def potential(obs: np.ndarray, params: HalfCheetahParams) -> np.ndarray:
    """The built-in potential for ``shaped``: ``cos`` of the torso's pitch, 1 upright, -1 on its back.

    A posture potential (the observation holds no forward position): HalfCheetah's best-known
    failure is flipping over and running on its back, which this potential marks as the worst
    state. Potential-based shaping with it keeps the optimal policy; naive shaping pays for
    staying upright.

    Example:
        >>> potential(np.array([[0.0, np.pi] + [0.0] * 15]), HalfCheetahParams()).tolist()
        [-1.0]
    """
    return np.cos(observed_qpos(obs, params, index=2, excluded=1))


HALF_CHEETAH = MujocoTask(
    name="HalfCheetah",
    params=HalfCheetahParams(),
    observe=observe,
    is_healthy=is_healthy,
    reward_components=reward_components,
    reward_vector=reward_vector,
    step_info=step_info,
    reset_noise=reset_noise,
    terminates=terminates,
    potential=potential,
    observation_size=17,
    action_size=6,
    gold_text="gymnasium's HalfCheetah-v5 reward: forward speed minus 0.1 * sum(action**2)",
    reference="gymnasium HalfCheetah-v5 (same model, obs, reward, start, 1000-step limit)",
)
