"""MuJoCo locomotion envs equal to gymnasium's ``-v5``, batched, with their rewards' terms.

- :mod:`~rewardgym.envs.mujoco.task`: what a task is (plain batched functions of the state);
- :mod:`~rewardgym.envs.mujoco.half_cheetah`, :mod:`~rewardgym.envs.mujoco.hopper`,
  :mod:`~rewardgym.envs.mujoco.walker2d`, :mod:`~rewardgym.envs.mujoco.ant`: the tasks;
- :mod:`~rewardgym.envs.mujoco.vector_env`: :class:`MujocoVectorEnv`, many ``MjData`` stepped by
  a thread pool over ``mj_step`` (why not ``mujoco.rollout``: see that module);
- :mod:`~rewardgym.envs.mujoco.variants`: the hackable variants (``HopperHeight``,
  ``HalfCheetahSensor``), whose reward is a flawed proxy of their gold;
- :mod:`~rewardgym.envs.mujoco.mujoco_warnings`: MuJoCo's warnings as Python warnings, not
  ``MUJOCO_LOG.TXT`` files in the working directory;
- :mod:`~rewardgym.envs.mujoco.registration`: the single env and :func:`register_mujoco_envs`.

Importing this package and registering its envs needs no ``mujoco`` (the optional extra
``rewardgym[mujoco]``); the simulator is imported when an env is made.

Gold of the four equal envs is their ``-v5`` reward (the intended objective of these envs);
``info["reward_components"]`` holds its signed terms and ``info["reward_vector"]``
MO-Gymnasium's vector.
"""

from typing import TYPE_CHECKING, Any

from rewardgym.envs.mujoco.registration import (
    MUJOCO_TASKS,
    MujocoEnv,
    make_mujoco_env,
    make_mujoco_vector_env,
    mujoco_env_id,
    register_mujoco_envs,
)
from rewardgym.envs.mujoco.task import REWARD_COMPONENTS, REWARD_VECTOR, UNSTABLE, MujocoTask, SimBatch

if TYPE_CHECKING:
    from rewardgym.envs.mujoco.vector_env import MujocoVectorEnv

__all__ = [
    "MUJOCO_TASKS",
    "REWARD_COMPONENTS",
    "REWARD_VECTOR",
    "UNSTABLE",
    "MujocoEnv",
    "MujocoTask",
    "MujocoVectorEnv",
    "SimBatch",
    "make_mujoco_env",
    "make_mujoco_vector_env",
    "mujoco_env_id",
    "register_mujoco_envs",
]


def __getattr__(name: str) -> Any:
    """``MujocoVectorEnv`` on first use: importing this package (registration) needs no ``mujoco``.

    Example:
        >>> import rewardgym.envs.mujoco as m
        >>> m.MujocoVectorEnv.__name__
        'MujocoVectorEnv'
    """
    if name == "MujocoVectorEnv":
        from rewardgym.envs.mujoco.vector_env import MujocoVectorEnv

        return MujocoVectorEnv
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
