"""Registers rewardgym's envs with gymnasium and keeps what ``rewardgym list`` prints about them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from rewardgym.envs.batched import BatchedEnv, BatchedTask, BatchedVectorEnv
from rewardgym.shells import wrap

NAMESPACE = "rewardgym"


@dataclass(frozen=True)
class EnvInfo:
    """What a researcher needs to know about a registered env before making it."""

    env_id: str
    modality: str
    observation_space: str
    action_space: str
    gold: str
    max_episode_steps: int | None
    reference: str = ""
    proxy: str = ""
    """What the env's own reward pays, where it is a flawed proxy of gold (else empty)."""
    hack: str = ""
    """How a policy gets paid by the proxy without achieving gold (else empty)."""


ENVS: dict[str, EnvInfo] = {}
TASKS: dict[str, BatchedTask] = {}
ENV_IDS: dict[str, str] = {}
"""The registered id of each task, by task name."""


def register_task(task: BatchedTask, version: int = 0) -> str:
    """Register a batched task as ``rewardgym/<name>-v<version>``, single and vector.

    ``gym.make(id, reward=spec)`` and ``gym.make_vec(id, num_envs=N, reward=spec, device=...)``
    both work; the reward spec is applied by :func:`rewardgym.wrap`.
    """
    env_id = f"{NAMESPACE}/{task.name}-v{version}"
    TASKS[task.name] = task
    ENV_IDS[task.name] = env_id
    if env_id not in gym.registry:
        gym.register(
            id=env_id,
            entry_point="rewardgym.envs.registration:make_env",
            vector_entry_point="rewardgym.envs.registration:make_vector_env",
            # The time limit is the env's own (not gymnasium's TimeLimit wrapper) so that reward
            # regimes, which sit inside gym.make's wrappers, still see every truncation.
            max_episode_steps=None,
            kwargs={"task": task.name},
        )
    ENVS[env_id] = EnvInfo(
        env_id=env_id,
        modality=task.modality,
        observation_space=describe_space(task.observation_space),
        action_space=describe_space(task.action_space),
        gold=task.gold,
        max_episode_steps=task.max_episode_steps,
        reference=task.reference,
        proxy=task.proxy,
        hack=task.hack,
    )
    return env_id


def describe_space(space: gym.Space) -> str:
    """A one-line description of a space, short enough for a table.

    Example:
        >>> import numpy as np
        >>> describe_space(gym.spaces.Dict({"image": gym.spaces.Box(0, 255, (48, 48, 3), np.uint8),
        ...                                 "instruction": gym.spaces.MultiDiscrete(np.full(10, 20), dtype=np.uint8)}))
        'Dict(image: Box(48, 48, 3) uint8, instruction: MultiDiscrete(10 x 20) uint8)'
    """
    if isinstance(space, gym.spaces.Box):
        return f"Box{space.shape} {space.dtype}"
    if isinstance(space, gym.spaces.Dict):
        return "Dict(" + ", ".join(f"{key}: {describe_space(sub)}" for key, sub in space.spaces.items()) + ")"
    if isinstance(space, gym.spaces.MultiDiscrete) and space.nvec.ndim == 1 and len(set(space.nvec.tolist())) == 1:
        return f"MultiDiscrete({len(space.nvec)} x {int(space.nvec[0])}) {space.dtype}"
    return str(space)


def make_env(task: str, reward: Any = None, **kwargs: Any) -> gym.Env:
    """gymnasium entry point: one env of a task, wrapped in a reward spec if one is given."""
    env = BatchedEnv(_task(task), **kwargs)
    return with_reward(env, reward, ENV_IDS[task])


def make_vector_env(
    task: str, num_envs: int = 1, reward: Any = None, device: str = "cpu", fuse: bool = True, **kwargs: Any
) -> gym.vector.VectorEnv:
    """gymnasium vector entry point: ``num_envs`` envs of a task on ``device``, with a reward spec
    (``fuse=False``: no layer runs inside the step kernel; see :func:`rewardgym.wrap`)."""
    env = BatchedVectorEnv(_task(task), num_envs, device=device, **kwargs)
    return with_reward(env, reward, ENV_IDS[task], fuse=fuse)


def with_reward(env: Any, reward: Any, env_id: str, *, fuse: bool = True) -> Any:
    """``env`` in a reward shell under ``reward``, with the spec of ``env_id`` set first.

    ``reward=None`` gives the shell with no layer, as ``"none"`` does: every env made by id
    reports its episode returns the same way, whether or not a regime was asked for.
    """
    # gymnasium sets the spec only after the entry point returns, but regimes are bound now and
    # may need the id (built-in potentials are chosen by env).
    env.spec = gym.spec(env_id)
    return wrap(env, reward, fuse=fuse)


def _task(name: str) -> BatchedTask:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; registered tasks: {', '.join(sorted(TASKS))}") from None
