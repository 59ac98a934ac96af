"""The single MuJoCo env (a vector env of one), the gymnasium entry points and the registration."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import EnvSpec
from gymnasium.vector import AutoresetMode

from rewardgym.core.info import GOLD_REWARD, REWARD_TRACE
from rewardgym.envs.mujoco.ant import ANT
from rewardgym.envs.mujoco.half_cheetah import HALF_CHEETAH
from rewardgym.envs.mujoco.hopper import HOPPER
from rewardgym.envs.mujoco.task import REWARD_COMPONENTS, REWARD_VECTOR, UNSTABLE, MujocoTask, static_spaces
from rewardgym.envs.mujoco.variants import HALF_CHEETAH_SENSOR, HOPPER_HEIGHT
from rewardgym.envs.mujoco.walker2d import WALKER2D
from rewardgym.envs.registration import ENVS, NAMESPACE, EnvInfo, describe_space, with_reward

if TYPE_CHECKING:  # the simulator is imported only when an env is made: registration needs no mujoco
    from rewardgym.envs.mujoco.vector_env import MujocoVectorEnv

MUJOCO_TASKS: dict[str, MujocoTask] = {
    task.name: task for task in (HALF_CHEETAH, HOPPER, WALKER2D, ANT, HOPPER_HEIGHT, HALF_CHEETAH_SENSOR)
}
"""The MuJoCo tasks by name; ``rewardgym/<name>-v0`` is each one's id (the hackable variants last)."""


def _vector_env_class() -> type[MujocoVectorEnv]:
    """The vector env class, importing the simulator now; without ``mujoco``, an error saying how to get it."""
    from rewardgym.envs.mujoco.vector_env import MujocoVectorEnv

    return MujocoVectorEnv


def mujoco_env_id(name: str) -> str:
    """The registered id of a MuJoCo task.

    Example:
        >>> mujoco_env_id("Hopper")
        'rewardgym/Hopper-v0'
    """
    return f"{NAMESPACE}/{name}-v0"


class MujocoEnv(gym.Env):
    """One MuJoCo env: a vector env of one (autoreset DISABLED), so single and vector cannot disagree.

    Seeded ``s`` it starts as env 0 of a vector env seeded ``s`` (and as gymnasium's ``-v5``
    env seeded ``s``). Its info holds floats where the vector env's holds arrays:
    ``gold_reward``, ``reward_trace``, ``reward_components`` (a dict of floats),
    ``reward_vector`` (an array), ``unstable`` and gymnasium's ``-v5`` terms.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> _ = register_mujoco_envs()
        >>> env = gym.make("rewardgym/HalfCheetah-v0")
        >>> obs, _ = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        >>> sorted(info["reward_components"]), info["gold_reward"] == reward
        (['reward_ctrl', 'reward_forward'], True)
    """

    metadata: dict[str, Any] = {"render_modes": []}
    _spec: EnvSpec | None = None

    def __init__(
        self, task: MujocoTask, *, max_episode_steps: int | None = None, params: Any = None, **param_fields: Any
    ) -> None:
        vector_only = sorted({"nthread", "autoreset_mode", "num_envs"} & set(param_fields))
        if vector_only:
            raise TypeError(
                f"{vector_only[0]}= is a keyword of the vector env (gym.make_vec), not of the single env {task.name}"
            )
        self.task = task
        self._batch = _vector_env_class()(
            task,
            1,
            autoreset_mode=AutoresetMode.DISABLED,
            max_episode_steps=max_episode_steps,
            nthread=1,
            params=params,
            **param_fields,
        )
        self.max_episode_steps = self._batch.max_episode_steps
        self.params = self._batch.params
        self.observation_space = self._batch.single_observation_space
        self.action_space = self._batch.single_action_space

    @property
    def spec(self) -> EnvSpec | None:
        """gymnasium's spec, reporting the env's own time limit (1000) as ``max_episode_steps``.

        Example:
            >>> import gymnasium as gym
            >>> _ = register_mujoco_envs()
            >>> gym.make("rewardgym/Hopper-v0").spec.max_episode_steps
            1000
        """
        return self._spec

    @spec.setter
    def spec(self, value: EnvSpec | None) -> None:
        if value is not None and value.max_episode_steps is None:
            value = dataclasses.replace(value, max_episode_steps=self.max_episode_steps)
        self._spec = value

    @property
    def data(self) -> Any:
        """The env's ``mujoco.MjData`` (for reading, or for setting a state with ``mj_forward``)."""
        return self._batch.datas[0]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Start an episode; seeded ``s``, from gymnasium's generator seeded ``s``.

        Example:
            >>> env = MujocoEnv(HOPPER)
            >>> env.reset(seed=0, options={"x": 1})
            Traceback (most recent call last):
            ...
            ValueError: unknown reset option 'x'; Hopper takes none
        """
        super().reset(seed=seed)
        if options:
            raise ValueError(f"unknown reset option {sorted(options)[0]!r}; {self.task.name} takes none")
        obs, _ = self._batch.reset(seed=seed)
        return obs[0], {}

    def step(self, action: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        """One step; bad actions (shape, NaN, inf, out of bounds) are refused by name.

        Example:
            >>> env = MujocoEnv(HOPPER)
            >>> _ = env.reset(seed=0)
            >>> env.step(np.zeros(4, np.float32))
            Traceback (most recent call last):
            ...
            ValueError: action must have shape (3,) for Box(-1.0, 1.0, (3,), float32), got shape (4,)
        """
        action = np.asarray(action)
        if action.shape != self.action_space.shape:
            raise ValueError(
                f"action must have shape {self.action_space.shape} for {self.action_space}, got shape {action.shape}"
            )
        if self._batch._needs_reset[0]:
            raise RuntimeError(f"the {self.task.name} episode has ended (terminated or truncated); call reset()")
        obs, reward, terminated, truncated, info = self._batch.step(action[None])
        value = float(reward[0])
        out: dict[str, Any] = {
            GOLD_REWARD: float(info[GOLD_REWARD][0]),
            REWARD_TRACE: {"env": value},
            REWARD_COMPONENTS: {name: float(v[0]) for name, v in info[REWARD_COMPONENTS].items()},
            REWARD_VECTOR: info[REWARD_VECTOR][0],
            UNSTABLE: bool(info[UNSTABLE][0]),
        }
        for name, values in info.items():
            if name not in out and not name.startswith("_"):
                out[name] = float(values[0])
        return obs[0], value, bool(terminated[0]), bool(truncated[0]), out

    def close(self) -> None:
        """Close the batch of one."""
        self._batch.close()


def _task(name: str) -> MujocoTask:
    try:
        return MUJOCO_TASKS[name]
    except KeyError:
        raise ValueError(f"unknown MuJoCo task {name!r}; valid tasks: {', '.join(sorted(MUJOCO_TASKS))}") from None


def make_mujoco_env(task: str, reward: Any = None, **kwargs: Any) -> gym.Env:
    """gymnasium entry point of ``rewardgym/<task>-v0``: one env, in a reward shell.

    Example:
        >>> _ = register_mujoco_envs()
        >>> make_mujoco_env("Walker2d", ctrl_cost_weight=0.01).unwrapped.params.ctrl_cost_weight
        0.01
    """
    return with_reward(MujocoEnv(_task(task), **kwargs), reward, mujoco_env_id(task))


def make_mujoco_vector_env(
    task: str, num_envs: int = 1, reward: Any = None, device: str = "cpu", **kwargs: Any
) -> gym.vector.VectorEnv:
    """gymnasium vector entry point of ``rewardgym/<task>-v0``: ``num_envs`` envs, in a reward shell.

    Example:
        >>> _ = register_mujoco_envs()
        >>> make_mujoco_vector_env("Ant", num_envs=2, reward="scale(factor=2.0)").num_envs
        2
    """
    if device != "cpu":
        raise ValueError(f"the MuJoCo envs run on the CPU, got device={device!r}; valid devices: cpu")
    env = _vector_env_class()(_task(task), num_envs, **kwargs)
    return with_reward(env, reward, mujoco_env_id(task))


def register_mujoco_envs() -> list[str]:
    """Register the MuJoCo envs with gymnasium and ``rewardgym list``; returns their ids.

    Calling it again is harmless. Kwargs of ``gym.make``: the task's parameters (gymnasium's
    ``-v5`` keyword arguments, e.g. ``ctrl_cost_weight``), ``max_episode_steps``, ``reward``; of
    ``gym.make_vec`` also ``num_envs``, ``autoreset_mode``, ``nthread``, ``device`` (cpu).

    Registration is cheap and needs no ``mujoco``: no model is loaded, and the spaces ``rewardgym
    list`` shows come from each task's static facts. Making an env without ``mujoco`` raises a
    ModuleNotFoundError saying ``pip install 'rewardgym[mujoco]'``.

    Example:
        >>> register_mujoco_envs()  # doctest: +NORMALIZE_WHITESPACE
        ['rewardgym/HalfCheetah-v0', 'rewardgym/Hopper-v0', 'rewardgym/Walker2d-v0', 'rewardgym/Ant-v0',
         'rewardgym/HopperHeight-v0', 'rewardgym/HalfCheetahSensor-v0']
        >>> ENVS["rewardgym/Hopper-v0"].modality, ENVS["rewardgym/Hopper-v0"].observation_space
        ('mujoco', 'Box(11,) float64')
    """
    ids = []
    for name, task in MUJOCO_TASKS.items():
        env_id = mujoco_env_id(name)
        if env_id not in gym.registry:
            gym.register(
                id=env_id,
                entry_point="rewardgym.envs.mujoco.registration:make_mujoco_env",
                vector_entry_point="rewardgym.envs.mujoco.registration:make_mujoco_vector_env",
                max_episode_steps=None,  # the env's own limit, so regimes see every truncation
                kwargs={"task": name},
            )
        if env_id not in ENVS:
            observation_space, action_space = static_spaces(task)
            ENVS[env_id] = EnvInfo(
                env_id=env_id,
                modality="mujoco",
                observation_space=describe_space(observation_space),
                action_space=describe_space(action_space),
                gold=task.gold_text,
                max_episode_steps=task.max_episode_steps,
                reference=task.reference,
                proxy=task.proxy,
                hack=task.hack,
            )
        ids.append(env_id)
    return ids
