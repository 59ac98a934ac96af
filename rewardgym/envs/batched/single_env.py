"""The single ``gymnasium.Env`` face of a batched task: a batch of one on the CPU."""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import EnvSpec
from gymnasium.vector import AutoresetMode

from rewardgym.core.info import GOLD_REWARD, REWARD_TRACE
from rewardgym.envs.batched.task import BatchedTask, observation_row_of
from rewardgym.envs.batched.vector_env import BatchedVectorEnv, render_modes


class BatchedEnv(gym.Env):
    """One instance of a task, stepped by the same compiled kernel as the vector env.

    It is literally a batch of one (docs/design.md, contract point 4), so single and vector envs cannot
    disagree. The time limit is part of the env, so reward regimes see truncation. Seeded with
    ``s``, it follows the same trajectory as env 0 of a vector env seeded with ``s``.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> env = gym.make("rewardgym/CartPole-v0")
        >>> obs, info = env.reset(seed=42)
        >>> obs, reward, terminated, truncated, info = env.step(1)
        >>> reward, info["gold_reward"], info["reward_trace"]
        (1.0, 1.0, {'env': 1.0})

    ``obs_mode="pixels"`` (the control envs) makes the observation the env's picture, a small
    uint8 image (``pixel_size``, 84 by default; see :class:`BatchedVectorEnv`):

        >>> env = gym.make("rewardgym/CartPole-v0", obs_mode="pixels")
        >>> obs, info = env.reset(seed=42)
        >>> env.observation_space, obs.dtype
        (Box(0, 255, (84, 84, 3), uint8), dtype('uint8'))
    """

    metadata: dict[str, Any] = {"render_modes": []}
    _spec: EnvSpec | None = None

    def __init__(
        self,
        task: BatchedTask,
        *,
        max_episode_steps: int | None = None,
        params: Any = None,
        render_mode: str | None = None,
        obs_mode: str = "state",
        pixel_size: int | None = None,
        exact_math: bool = False,
        **param_fields: Any,
    ) -> None:
        self.task = task
        self._batch = BatchedVectorEnv(
            task,
            1,
            autoreset_mode=AutoresetMode.DISABLED,
            max_episode_steps=max_episode_steps,
            params=params,
            render_mode=render_mode,
            obs_mode=obs_mode,
            pixel_size=pixel_size,
            exact_math=exact_math,
            **param_fields,
        )
        self.metadata = {"render_modes": render_modes(task), "render_fps": task.render_fps}
        self.render_mode = render_mode
        self.max_episode_steps = self._batch.max_episode_steps
        self.obs_mode = obs_mode
        self.observation_space = self._batch.single_observation_space
        self.action_space = task.action_space

    @property
    def spec(self) -> EnvSpec | None:
        """gymnasium's spec, reporting the env's own time limit as ``max_episode_steps``.

        The limit is the env's (so regimes see every truncation), not gymnasium's ``TimeLimit``:
        rewardgym registers its envs without one, and ``gym.make`` sets a spec that says None.
        Tools that read the limit from the spec (SB3, rl-zoo, gymnasium's wrappers) get the real
        one here. ``gym.make(env.spec)`` then adds a ``TimeLimit`` at that same step, outside,
        which truncates exactly when the env does and so changes nothing.

        Example:
            >>> import gymnasium as gym, rewardgym
            >>> gym.make("rewardgym/CartPole-v0").spec.max_episode_steps
            500
        """
        return self._spec

    @spec.setter
    def spec(self, value: EnvSpec | None) -> None:
        if value is not None and value.max_episode_steps is None:
            value = dataclasses.replace(value, max_episode_steps=self.max_episode_steps)
        self._spec = value

    @property
    def state(self) -> np.ndarray:
        """The simulator state (float64, writable), like gymnasium's classic-control ``state``."""
        return self._batch.state[0]

    def render(self) -> np.ndarray | None:
        """The ``(height, width, 3)`` uint8 frame of the current state with ``render_mode="rgb_array"``, else None."""
        frames = self._batch.render()
        return None if frames is None else frames[0]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        if options:
            raise ValueError(f"unknown reset option {sorted(options)[0]!r}; {self.task.name} takes none")
        obs, _ = self._batch.reset(seed=seed)
        return observation_row_of(obs, 0), {}

    def step(self, action: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        action = np.asarray(action)
        if action.shape != self.action_space.shape:
            raise ValueError(
                f"action must have shape {self.action_space.shape} for {self.action_space}, got shape {action.shape}"
            )
        if self._batch.episode_over[0]:
            raise RuntimeError(f"the {self.task.name} episode has ended (terminated or truncated); call reset()")
        obs, reward, terminated, truncated, info = self._batch.step(action[None])
        reward = float(reward[0])
        return (
            observation_row_of(obs, 0),
            reward,
            bool(terminated[0]),
            bool(truncated[0]),
            {
                GOLD_REWARD: float(info[GOLD_REWARD][0]),
                REWARD_TRACE: {"env": reward},
            },
        )
