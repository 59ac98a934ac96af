"""What a MuJoCo task is: a model file and plain batched functions of the simulator's state.

Each env module (:mod:`~rewardgym.envs.mujoco.half_cheetah`, ``hopper``, ``walker2d``, ``ant``)
writes its dynamics-free parts as plain functions in gymnax's style: functions of a
:class:`SimBatch` (the state of every env after a step, as arrays) and of frozen parameters (a
``NamedTuple``). MuJoCo itself does the dynamics; :class:`~rewardgym.envs.mujoco.vector_env.MujocoVectorEnv`
steps every ``MjData`` and hands the functions whole batches, so no function loops over envs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium
import numpy as np

ASSETS_DIR = Path(gymnasium.__file__).parent / "envs" / "mujoco" / "assets"
"""gymnasium's MuJoCo model files: the envs load the very files gymnasium's ``-v5`` envs load."""

REWARD_COMPONENTS = "reward_components"
"""``info`` key: the signed terms of the env's reward, by name; they sum to the reward."""

REWARD_VECTOR = "reward_vector"
"""``info`` key: MO-Gymnasium's vector reward of the env, ``(num_envs, k)``."""

UNSTABLE = "unstable"
"""``info`` key: which envs' simulations went unstable this step (their episodes end truncated)."""

MISSING_MUJOCO = (
    "the MuJoCo envs need the 'mujoco' package (MuJoCo's official Python bindings), which is not "
    "installed: pip install 'rewardgym[mujoco]'"
)
"""The error's text when an env is made without ``mujoco`` installed."""


class SimBatch(NamedTuple):
    """The state of a batch of envs after a step (or a reset), what the task functions read.

    ``qpos`` ``(n, nq)``, ``qvel`` ``(n, nv)`` float64; ``cfrc_ext`` ``(n, nbody, 6)`` (zeros
    ``(n, 0, 6)`` for tasks that do not read it); ``xy_before``/``xy_after`` ``(n, 2)``: the
    position the task pays progress by (``qpos[:2]`` or a body's ``xpos[:2]``), before and after
    the step; ``action`` ``(n, nu)`` in the dtype it was given (costs are computed in it, as
    gymnasium does); ``init_qpos`` ``(nq,)``; ``dt`` the time of one env step.
    """

    qpos: np.ndarray
    qvel: np.ndarray
    cfrc_ext: np.ndarray
    xy_before: np.ndarray
    xy_after: np.ndarray
    action: np.ndarray
    init_qpos: np.ndarray
    dt: float


Components = dict[str, np.ndarray]


@dataclass(frozen=True)
class MujocoTask:
    """A MuJoCo task: its model, its defaults and the functions that read its state.

    Attributes:
        name: the id's name (``rewardgym/<name>-v0``).
        params: the default parameters (a ``NamedTuple`` with ``xml_file`` and ``frame_skip``;
            gymnasium's ``-v5`` defaults for the equal envs).
        observe: ``(sim, params) -> (n, obs_size)`` float64.
        is_healthy: ``(sim, params) -> (n,)`` bool.
        reward_components: ``(sim, healthy, params) -> {name: (n,) float64}``, signed terms
            whose sum is the env's reward.
        reward_vector: ``(components, sim, params) -> (n, k)`` float64, MO-Gymnasium's vector.
        step_info: ``(sim, params) -> {name: (n,) float64}``, gymnasium's other info terms.
        reset_noise: ``(rng, init_qpos, init_qvel, params) -> (qpos, qvel)``, one env's start.
        terminates: ``params -> bool``: whether an unhealthy state ends the episode.
        gold: ``(components, sim, healthy, params) -> (n,)`` float64, or None when gold is the
            reward (the equal envs).
        potential: ``(obs, params) -> (n,)`` float64, the built-in potential that ``shaped``
            uses on this env (a function of the observation batch, as shaping needs), or None.
        position_body: the body whose ``xpos[:2]`` is the paid position, or None for ``qpos[:2]``.
        uses_cfrc_ext: whether the task reads contact forces (then every step runs
            ``mj_rnePostConstraint``, as gymnasium's ``-v5`` do).
        observation_size: the observation's length under the default params (static, so that
            registration describes the spaces without loading the model or needing ``mujoco``;
            a test checks it against the compiled model).
        action_size: the number of actuators of the default model.
        action_bounds: every actuator's ``ctrlrange`` in the default model, ``(low, high)``.
        max_episode_steps: the time limit (gymnasium's: 1000).
        gold_text, reference, proxy, hack: what ``rewardgym list`` says.
    """

    name: str
    params: Any
    observe: Callable[[SimBatch, Any], np.ndarray]
    is_healthy: Callable[[SimBatch, Any], np.ndarray]
    reward_components: Callable[[SimBatch, np.ndarray, Any], Components]
    reward_vector: Callable[[Components, SimBatch, Any], np.ndarray]
    step_info: Callable[[SimBatch, Any], Components]
    reset_noise: Callable[[np.random.Generator, np.ndarray, np.ndarray, Any], tuple[np.ndarray, np.ndarray]]
    terminates: Callable[[Any], bool]
    gold: Callable[[Components, SimBatch, np.ndarray, Any], np.ndarray] | None = None
    potential: Callable[[np.ndarray, Any], np.ndarray] | None = None
    position_body: int | None = None
    uses_cfrc_ext: bool = False
    observation_size: int = 0
    action_size: int = 0
    action_bounds: tuple[float, float] = (-1.0, 1.0)
    max_episode_steps: int = 1000
    gold_text: str = ""
    reference: str = ""
    proxy: str = ""
    hack: str = ""


def static_spaces(task: MujocoTask) -> tuple[gymnasium.spaces.Box, gymnasium.spaces.Box]:
    """The task's single observation and action spaces under its default params, from static facts.

    No model is loaded (and ``mujoco`` is not needed): what registration describes. The env itself
    builds its spaces from the compiled model, which may differ for other params (``xml_file``).

    Example:
        >>> from rewardgym.envs.mujoco.hopper import HOPPER
        >>> static_spaces(HOPPER)
        (Box(-inf, inf, (11,), float64), Box(-1.0, 1.0, (3,), float32))
    """
    low, high = task.action_bounds
    observation = gymnasium.spaces.Box(-np.inf, np.inf, shape=(task.observation_size,), dtype=np.float64)
    action = gymnasium.spaces.Box(low=low, high=high, shape=(task.action_size,), dtype=np.float32)
    return observation, action


def model_path(xml_file: str) -> Path:
    """The model file ``xml_file`` names: a path, or a file name in gymnasium's assets folder.

    Refuses a file that does not exist, naming it.

    Example:
        >>> model_path("hopper.xml").name
        'hopper.xml'
        >>> model_path("no_such_robot.xml")
        Traceback (most recent call last):
        ...
        ValueError: MuJoCo model file 'no_such_robot.xml' not found (looked for it as given and in gymnasium's assets folder)
    """
    if not isinstance(xml_file, (str, os.PathLike)):
        raise TypeError(f"xml_file must be a path (str), got {type(xml_file).__name__}")
    given = Path(xml_file)
    for candidate in (given, ASSETS_DIR / given):
        if candidate.is_file():
            return candidate
    raise ValueError(
        f"MuJoCo model file {str(xml_file)!r} not found (looked for it as given and in gymnasium's assets folder)"
    )


def uniform_noise(
    rng: np.random.Generator, init_qpos: np.ndarray, init_qvel: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Hopper's and Walker2d's start: uniform noise in ``[-scale, scale]`` on qpos, then qvel.

    The draws are gymnasium's, in its order, so a generator seeded like gymnasium's gives its start.

    Example:
        >>> qpos, qvel = uniform_noise(np.random.default_rng(0), np.zeros(2), np.zeros(2), 0.1)
        >>> qpos.shape, bool(np.all(np.abs(qvel) <= 0.1))
        ((2,), True)
    """
    qpos = init_qpos + rng.uniform(low=-scale, high=scale, size=init_qpos.size)
    qvel = init_qvel + rng.uniform(low=-scale, high=scale, size=init_qvel.size)
    return qpos, qvel


def normal_velocity_noise(
    rng: np.random.Generator, init_qpos: np.ndarray, init_qvel: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """HalfCheetah's and Ant's start: uniform noise on qpos, ``scale`` times a standard normal on qvel.

    Example:
        >>> qpos, qvel = normal_velocity_noise(np.random.default_rng(0), np.zeros(2), np.zeros(3), 0.1)
        >>> qpos.shape, qvel.shape
        ((2,), (3,))
    """
    qpos = init_qpos + rng.uniform(low=-scale, high=scale, size=init_qpos.size)
    qvel = init_qvel + scale * rng.standard_normal(init_qvel.size)
    return qpos, qvel


def ctrl_cost(action: np.ndarray, weight: float) -> np.ndarray:
    """``weight * sum(action**2)`` per row, in the action's dtype as gymnasium computes it, as float64.

    Example:
        >>> ctrl_cost(np.array([[1.0, 2.0]]), 0.1).tolist()
        [0.5]
    """
    return (weight * np.sum(np.square(action), axis=1)).astype(np.float64)


def x_velocity(sim: SimBatch) -> np.ndarray:
    """The paid position's x speed over the step: ``(x_after - x_before) / dt``.

    Example:
        >>> sim = SimBatch(*(np.zeros((1, 1)),) * 3, np.zeros((1, 2)), np.ones((1, 2)), np.zeros((1, 1)), np.zeros(1), 0.5)
        >>> x_velocity(sim).tolist()
        [2.0]
    """
    return (sim.xy_after[:, 0] - sim.xy_before[:, 0]) / sim.dt


def observed_qpos(obs: np.ndarray, params: Any, index: int, excluded: int) -> np.ndarray:
    """Coordinate ``qpos[index]`` of each env, read from an observation batch that starts with
    ``qpos``, without its first ``excluded`` coordinates when
    ``exclude_current_positions_from_observation`` (the ``-v5`` default), as float64.

    What the built-in potentials read: the observation is all that shaping sees.

    Example:
        >>> from rewardgym.envs.mujoco.hopper import HopperParams
        >>> obs = np.array([[1.25, 0.1, 0.0]])  # qpos[1:] of a Hopper: z, angle, ...
        >>> observed_qpos(obs, HopperParams(), index=1, excluded=1).tolist()
        [1.25]
    """
    skip = excluded if params.exclude_current_positions_from_observation else 0
    return np.asarray(obs, dtype=np.float64)[:, index - skip]


def check_params(task_name: str, params: Any, fields: dict[str, Any]) -> Any:
    """``params`` with ``fields`` replaced by name; unknown names are refused, naming the valid ones.

    Example:
        >>> from rewardgym.envs.mujoco.hopper import HopperParams
        >>> check_params("Hopper", HopperParams(), {"healthy_reward": 2.0}).healthy_reward
        2.0
        >>> check_params("Hopper", HopperParams(), {"gravity": 2.0})
        Traceback (most recent call last):
        ...
        ValueError: unknown keyword argument 'gravity' for rewardgym/Hopper-v0; valid parameters: xml_file, frame_skip, forward_reward_weight, ctrl_cost_weight, healthy_reward, terminate_when_unhealthy, healthy_state_range, healthy_z_range, healthy_angle_range, reset_noise_scale, exclude_current_positions_from_observation (and max_episode_steps, autoreset_mode, nthread)
    """
    unknown = sorted(set(fields) - set(type(params)._fields))
    if unknown:
        raise ValueError(
            f"unknown keyword argument {unknown[0]!r} for rewardgym/{task_name}-v0; valid parameters: "
            f"{', '.join(type(params)._fields)} (and max_episode_steps, autoreset_mode, nthread)"
        )
    params = params._replace(**fields)
    frame_skip = params.frame_skip
    if isinstance(frame_skip, bool) or not isinstance(frame_skip, (int, np.integer)) or frame_skip < 1:
        raise ValueError(f"frame_skip must be a positive int, got {frame_skip!r}")
    for name, value in params._asdict().items():
        if name not in ("xml_file", "frame_skip") and isinstance(value, float) and not np.isfinite(value):
            if not (name.endswith("_range")):
                raise ValueError(f"{name} must be finite, got {value!r}")
    return params
