"""A batched task: an environment's dynamics written once, as plain per-instance functions.

Following gymnax, dynamics are functions of ``(state, action, params)`` with the parameters in an
immutable record. They are decorated with numba's ``register_jitable`` so that the very same
source compiles for the CPU (numba, parallel over instances) and the GPU (numba.cuda), and still
runs as plain Python (numba's CUDA simulator runs it that way in CI).

The functions work in place on one instance's rows:

- ``step(state, action, params) -> (reward, gold_reward, terminated)`` advances ``state``;
- ``reset(state, rng, params)`` draws a start state from the instance's random stream;
- ``observe(state, obs)`` writes the observation of ``state`` into ``obs``;
- ``potential(obs, params) -> float``, optional: the task's built-in potential, a measure of
  progress read from one observation row, for potential-based reward shaping (``shaped``
  compiles it into its kernels as the engine compiles the others);
- ``render(state, frame, params)``, optional: paints ``state`` into ``frame``, an
  ``(height, width, 3)`` uint8 image, for ``render_mode="rgb_array"``.

Observations of any shape are handed to ``observe`` (and ``potential``) as one flat row, in C
order: a gridworld's ``(rows, cols)`` grid arrives as ``rows * cols`` cells.

Time limits, autoreset and batching are the engine's job, not the task's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces
from numba.extending import register_jitable

RENDER_FPS = 4
"""The default frames per second of videos made from rendered frames: a gridworld's moves, slow
enough to follow."""


@dataclass(frozen=True)
class BatchedTask:
    """Everything the engine needs to run an environment as a batch.

    Attributes:
        name: a short name, e.g. ``"CartPole"``.
        state_size: floats of simulator state per instance (float64).
        observation_space: one instance's observation space: a float32 ``Box``, or an integer
            ``Box``/``MultiDiscrete`` (token ids); observations are allocated in its dtype.
        action_space: one instance's action space (``Discrete`` or ``Box``).
        params: the default physical parameters, a ``NamedTuple`` of floats.
        step, reset, observe: the per-instance functions (see the module docstring).
        max_episode_steps: the default time limit, equal to gymnasium's registration.
        gold: what the gold reward measures, in words (``rewardgym list`` prints it).
        reference: the gymnasium env whose dynamics this task reproduces.
        modality: the family of tasks it belongs to.
        potential: the built-in potential (see the module docstring), or None for none.
        aliases: other gymnasium ids whose observations equal this task's (an older version of
            ``reference``, say), which its potential serves too.
        render: paints one instance (see the module docstring), or None where the task has no
            pixels.
        frame_shape: ``(height, width)`` of a rendered frame in pixels.
        render_fps: frames per second of a video made of rendered frames
            (``metadata["render_fps"]``, what ``RecordVideo`` writes): gymnasium's own rate where
            the task reproduces a gymnasium env, :data:`RENDER_FPS` otherwise.
        proxy, hack: for tasks whose own reward is a flawed proxy of gold (the gridworlds), what
            the reward pays and how a policy can get paid without doing the task; empty where the
            reward is the task's objective.
        check_params: refuses bad parameters (e.g. an unknown level) with an error naming them;
            None checks only their type.
    """

    name: str
    state_size: int
    observation_space: spaces.Box | spaces.MultiDiscrete
    action_space: spaces.Discrete | spaces.Box
    params: NamedTuple
    step: Callable[..., Any]
    reset: Callable[..., Any]
    observe: Callable[..., Any]
    max_episode_steps: int
    gold: str
    reference: str = ""
    modality: str = "control"
    potential: Callable[..., float] | None = None
    aliases: tuple[str, ...] = ()
    render: Callable[..., Any] | None = None
    frame_shape: tuple[int, int] = (0, 0)
    render_fps: int = RENDER_FPS
    proxy: str = ""
    hack: str = ""
    check_params: Callable[[Any], None] | None = None

    @property
    def discrete(self) -> bool:
        return isinstance(self.action_space, spaces.Discrete)

    @property
    def action_dtype(self) -> type:
        """The dtype actions are handed to the kernels in."""
        return np.int64 if self.discrete else np.float32


@register_jitable
def observe_state(state: np.ndarray, obs: np.ndarray) -> None:
    """The ``observe`` of tasks whose observation is their state (CartPole, MountainCar)."""
    for j in range(obs.shape[0]):
        obs[j] = state[j]
