"""The vector env that runs a :class:`BatchedTask` as whole batches, on the CPU or the GPU."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium.envs.registration import EnvSpec
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from rewardgym.core.arrays import to_numpy
from rewardgym.core.info import FINAL_OBS, GOLD_REWARD, REWARD_TRACE, mask_key
from rewardgym.core.regime import FusedLayer
from rewardgym.core.rng import per_env_seeds, seed_streams
from rewardgym.core.threading_layer import threads_usable
from rewardgym.core.validation import check_flag, check_integer
from rewardgym.envs.batched import device as devices
from rewardgym.envs.batched.device_batch import DeviceBatchEnv
from rewardgym.envs.batched.fastest_kernel import threads_while_they_pay
from rewardgym.envs.batched.kernels import DISABLED, NEXT_STEP, SAME_STEP, fused_step_kernel, kernels, render_kernel
from rewardgym.envs.batched.layers import finish_layers, layer_arguments
from rewardgym.envs.batched.task import (
    BatchedTask,
    fast_math_task,
    observation_row,
    observation_views,
    observed_task,
)

SERIAL_BELOW = 512
"""Batches smaller than this step on one thread: a thread pool's wake-up costs more there."""

MAX_NUM_ENVS = 2**31 - 1
"""The most envs one vector env holds: far beyond any machine's memory (the GPU benchmark's
largest batch is 2**22), stated so that a typo gets a clear refusal, not numpy's "array is too big"."""

MAX_EPISODE_STEPS = 2**63 - 1
"""The longest time limit: the kernels count an episode's steps in an int64."""

# The info keys, spelled once rather than on every step.
_GOLD_MASK, _TRACE_MASK, _FINAL_MASK = map(mask_key, (GOLD_REWARD, REWARD_TRACE, FINAL_OBS))

_KERNEL_MODES = {
    AutoresetMode.NEXT_STEP: NEXT_STEP,
    AutoresetMode.SAME_STEP: SAME_STEP,
    AutoresetMode.DISABLED: DISABLED,
}


def parse_autoreset_mode(mode: AutoresetMode | str) -> AutoresetMode:
    """Accept gymnasium's enum or its name in any common spelling ("same_step", "SameStep")."""
    if isinstance(mode, AutoresetMode):
        return mode
    wanted = str(mode).replace("_", "").lower()
    for candidate in AutoresetMode:
        if wanted in (candidate.value.lower(), candidate.name.replace("_", "").lower()):
            return candidate
    valid = ", ".join(m.name.lower() for m in AutoresetMode)
    raise ValueError(f"unknown autoreset_mode {mode!r}; valid modes: {valid}")


class BatchedVectorEnv(DeviceBatchEnv):
    """``num_envs`` copies of a task stepped by one compiled kernel, with no per-env Python loop.

    On ``device="cpu"`` it takes and returns numpy arrays; on ``device="cuda"`` torch tensors
    that stay on the GPU (the kernels read and write torch's memory directly).

    Every ``step`` puts the reward contract's keys in ``info``: ``gold_reward`` (``(num_envs,)``)
    and ``reward_trace`` (``{"env": reward}``), each with gymnasium's ``_key`` mask. In SAME_STEP
    mode ``info["final_obs"]`` is a dense ``(num_envs, *obs_shape)`` array holding the real last
    observation where ``info["_final_obs"]`` is True.

    Args:
        task: the dynamics to run.
        num_envs: how many instances.
        device: ``"cpu"`` or ``"cuda"``.
        autoreset_mode: gymnasium's ``AutoresetMode`` (or its name); NEXT_STEP by default, as in
            gymnasium's own vector envs.
        max_episode_steps: the time limit; the task's default (gymnasium's) if None.
        params: parameters replacing the task's defaults, e.g. a lower gravity.
        render_mode: ``"rgb_array"`` for tasks with pixels: :meth:`render` returns one
            ``(height, width, 3)`` uint8 frame per env, painted in one batched kernel call.
        obs_mode: ``"state"`` (the default): the task's own observation; ``"pixels"`` (the control
            tasks): the picture :meth:`render` draws, scaled to ``pixel_size x pixel_size``, as a
            uint8 ``Box(0, 255, (pixel_size, pixel_size, 3))``, painted by the step kernel.
        pixel_size: the side of a pixel observation, 16 to 512; 84 if None.
        exact_math: run the dynamics with libm's ``sin`` and ``cos``, bit for bit gymnasium's
            (CartPole, MountainCar, MountainCarContinuous, Pendulum), instead of the vectorisable
            ones of :mod:`rewardgym.core.fast_math` (within 1e-9 of gymnasium's per step), which
            let the CPU kernels of :attr:`~rewardgym.envs.batched.task.BatchedTask.vectorize`
            tasks step several envs per instruction.
        **param_fields: single parameters by name, replacing those of ``params`` (or of the
            defaults): ``gravity=5.0``, ``level=1``.

    Example:
        >>> import gymnasium as gym, rewardgym, numpy as np
        >>> envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=3)
        >>> obs, _ = envs.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = envs.step(np.array([0, 1, 0]))
        >>> obs.shape, info["gold_reward"].tolist()
        ((3, 4), [1.0, 1.0, 1.0])
        >>> pixels = gym.make_vec("rewardgym/CartPole-v0", num_envs=3, obs_mode="pixels", pixel_size=32)
        >>> obs, _ = pixels.reset(seed=0)
        >>> obs.shape, obs.dtype
        ((3, 32, 32, 3), dtype('uint8'))
    """

    _spec: EnvSpec | None = None

    def __init__(
        self,
        task: BatchedTask,
        num_envs: int = 1,
        *,
        device: str = "cpu",
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        max_episode_steps: int | None = None,
        params: Any = None,
        render_mode: str | None = None,
        obs_mode: str = "state",
        pixel_size: int | None = None,
        exact_math: bool = False,
        **param_fields: Any,
    ) -> None:
        num_envs = check_integer(num_envs, "num_envs", low=1, high=MAX_NUM_ENVS)
        max_episode_steps = task.max_episode_steps if max_episode_steps is None else max_episode_steps
        max_episode_steps = check_integer(max_episode_steps, "max_episode_steps", low=1, high=MAX_EPISODE_STEPS)
        self.task = task
        self.num_envs = int(num_envs)
        self.device = devices.resolve_device(device)
        self.params = resolve_params(task, params, param_fields)
        self.max_episode_steps = int(max_episode_steps)
        self.autoreset_mode = parse_autoreset_mode(autoreset_mode)
        self.metadata = {
            "render_modes": render_modes(task),
            "render_fps": task.render_fps,
            "autoreset_mode": self.autoreset_mode,
        }
        self.render_mode = check_render_mode(task, render_mode)
        # The task the kernels run: ``task``, or the one whose observation is its picture, with
        # the fast math unless exact_math.
        observed = observed_task(task, obs_mode, pixel_size, self.params)
        self.exact_math = check_flag(exact_math, "exact_math")
        if not self.exact_math:
            observed = fast_math_task(observed)
        self.obs_mode = obs_mode

        self.single_observation_space = observed.observation_space
        self.single_action_space = task.action_space
        self.observation_space = batch_space(observed.observation_space, self.num_envs)
        self.action_space = batch_space(task.action_space, self.num_envs)

        if self.device == "cuda":
            self._target = "cuda"
        else:
            self._target = "parallel" if self.num_envs >= SERIAL_BELOW else "serial"
        # The threads pay only while the cores are free: on a busy machine the serial kernel (the
        # same results, bit for bit) is faster, and FastestKernel runs whichever is.
        # The reset kernel too: a child forked after OpenMP's threads ran must start none.
        self._step_kernel = threads_while_they_pay(
            lambda target: kernels(observed, target, self.params)[0], self._target
        )
        self._reset_kernel = threads_while_they_pay(
            lambda target: kernels(observed, target, self.params)[1], self._target
        )

        n = self.num_envs
        self._state = self._zeros((n, task.state_size), np.float64)
        self._rng = self._zeros((n, 2), np.uint64)
        self._elapsed = self._zeros((n,), np.int64)
        self._needs_reset = self._zeros((n,), np.bool_)
        self._buffers = (
            self._view(self._state),
            self._view(self._rng, np.uint64),
            self._view(self._elapsed),
            self._view(self._needs_reset),
        )
        self._everyone = self._zeros((n,), np.bool_)
        self._everyone[...] = True
        if self.device == "cpu":
            self._everyone.flags.writeable = False  # shared by every step's info masks
        # Observations come in the space's dtype: float32 for control, int64 token ids for text,
        # uint8 for pixels and scenes. The kernels write one flat row per env; users get it in the
        # space's shape (a Dict's keys as views of the row).
        cells, dtype = observation_row(observed.observation_space)
        self._obs_dtype = dtype.type
        self._obs_cells = cells
        # A flat Box (the control tasks') is observed as the rows themselves: no view to make.
        self._rows_are_observations = self.single_observation_space.shape == (cells,)
        self._no_final_obs = self._zeros((1, cells), self._obs_dtype)
        self._kernel_mode = _KERNEL_MODES[self.autoreset_mode]
        self._action_dtype = task.action_dtype
        self._seeded = False
        self._has_reset = False
        self._observed = observed
        self._fused_kernels: dict[tuple[Any, ...], Any] = {}
        self._last_obs: Any = None  # the flat rows last returned: what layers read as obs
        self._valid_scratch = self._zeros((n,), np.bool_)  # which steps were transitions, for layers

    # -- public API -------------------------------------------------------------------------

    @property
    def spec(self) -> EnvSpec | None:
        """gymnasium's spec, reporting the env's own time limit as ``max_episode_steps``.

        ``gym.make_vec(envs.spec)`` hands that limit back to the env (gymnasium's vector entry
        point passes it as ``max_episode_steps``), so a recreated env truncates where this one does.

        Example:
            >>> import gymnasium as gym, rewardgym
            >>> gym.make_vec("rewardgym/CartPole-v0", num_envs=2, max_episode_steps=50).spec.max_episode_steps
            50
        """
        return self._spec

    @spec.setter
    def spec(self, value: EnvSpec | None) -> None:
        if value is not None and value.max_episode_steps != self.max_episode_steps:
            value = dataclasses.replace(value, max_episode_steps=self.max_episode_steps)
        self._spec = value

    @property
    def state(self) -> Any:
        """The simulator state, ``(num_envs, state_size)`` float64; writable, e.g. to set a start state."""
        return self._state

    @property
    def episode_over(self) -> Any:
        """Which envs' episodes have ended and not yet restarted, ``(num_envs,)`` bool."""
        return self._needs_reset

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset all envs, or those in ``options["reset_mask"]``; env ``i`` is seeded ``seed + i``."""
        seeds = None if seed is None else per_env_seeds(seed, self.num_envs)
        # gymnasium's own generator (``np_random``) takes one Python int: env 0's seed.
        super().reset(seed=None if seeds is None else int(seeds[0]))
        mask = self._reset_mask(options)
        if seeds is None and not self._seeded:
            seeds = per_env_seeds(int(self.np_random.integers(2**62)), self.num_envs)
        if seeds is not None:
            streams = seed_streams(seeds)
            self._write(self._rng, streams, mask)
            self._seeded = True
        obs = self._empty((self.num_envs, self._obs_cells), self._obs_dtype)
        self._reset_kernel(*self._buffers, self._view(mask), self._view(obs))
        self._has_reset = True
        self._last_obs = obs
        return self._observations(obs), {}

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        return self.step_with_layers(actions, ())[:5]

    def step_with_layers(
        self, actions: Any, layers: Sequence[FusedLayer]
    ) -> tuple[Any, Any, Any, Any, dict[str, Any], Any]:
        """:meth:`step`, with reward layers applied inside the step kernel: gymnasium's five
        results (the reward is still the env's own) and, last, each layer's output, one row per
        layer ``(len(layers), num_envs)`` float32, as :class:`~rewardgym.core.pipeline.RewardPipeline`
        would compute it (an autoreset step's reward passes through). Calls each layer's ``finish``.

        This is how :class:`~rewardgym.shells.VectorRewardShell` runs the leading layers of a
        stack that have a :class:`~rewardgym.core.regime.FusedLayer`: dynamics and those layers
        in one kernel call a step.

        Example:
            >>> import gymnasium as gym, numpy as np, rewardgym
            >>> envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=2).unwrapped
            >>> scale = rewardgym.resolve_reward_spec("scale(factor=3)")[0]
            >>> _ = envs.reset(seed=0)
            >>> *_, layer_rewards = envs.step_with_layers(np.array([0, 1]), [scale.fused_layer()])
            >>> layer_rewards.tolist()
            [[3.0, 3.0]]
        """
        actions = self._check_step(actions)
        if not layers:
            return self._step(actions, self._step_kernel, (), ())
        trace = self._empty((len(layers), self.num_envs), np.float32)
        arguments, flat = layer_arguments(layers, trace[0])
        kernel = self._fused_kernel(tuple(layer.body for layer in layers), tuple(map(len, arguments)))
        buffers = self._view(trace), self._view(self._last_obs), self._view(self._valid_scratch)
        *results, _ = self._step(actions, kernel, buffers, flat)
        finish_layers(layers, arguments)
        return (*results, trace)

    def _fused_kernel(self, bodies: tuple[Any, ...], arities: tuple[int, ...]) -> Any:
        """The step kernel with these layers compiled in: like the plain one, the faster of the
        threaded and serial loops from SERIAL_BELOW envs."""
        key = (bodies, arities)
        if key not in self._fused_kernels:
            build = functools.partial(
                fused_step_kernel, self._observed, params=self.params, bodies=bodies, arities=arities
            )
            self._fused_kernels[key] = threads_while_they_pay(lambda target: build(target=target), self._target)
        return self._fused_kernels[key]

    def _step(
        self, actions: Any, kernel: Any, layer_buffers: tuple[Any, ...], layer_arguments: tuple[Any, ...]
    ) -> tuple[Any, Any, Any, Any, dict[str, Any], None]:
        """One step of ``kernel`` on checked actions: the plain kernel, or a fused one with the
        layers' buffers and arguments after the usual ones."""
        n = self.num_envs
        obs_shape = (n, self._obs_cells)
        same_step = self.autoreset_mode is AutoresetMode.SAME_STEP
        # Fresh outputs every step, so a caller may keep them; the kernel writes final_obs only
        # in SAME_STEP mode, and otherwise gets a one-row stand-in.
        obs = self._empty(obs_shape, self._obs_dtype)
        final_obs = self._empty(obs_shape, self._obs_dtype) if same_step else self._no_final_obs
        reward = self._empty((n,), np.float32)
        gold = self._empty((n,), np.float32)
        terminated = self._empty((n,), np.bool_)
        truncated = self._empty((n,), np.bool_)
        # The kernels see observations as flat rows (a grid's cells in C order).
        outputs = (obs, final_obs, reward, gold, terminated, truncated)
        if self.device == "cuda":
            outputs = tuple(map(self._view, outputs))
            actions = devices.kernel_view(actions)
        kernel(
            *self._buffers,
            actions,
            self.max_episode_steps,
            self._kernel_mode,
            *outputs,
            *layer_buffers,
            *layer_arguments,
        )
        everyone = self._everyone
        info: dict[str, Any] = {
            GOLD_REWARD: gold,
            _GOLD_MASK: everyone,
            REWARD_TRACE: {"env": reward},
            _TRACE_MASK: everyone,
        }
        if same_step:
            info[FINAL_OBS] = self._observations(final_obs)
            info[_FINAL_MASK] = terminated | truncated
        self._last_obs = obs
        return self._observations(obs), reward, terminated, truncated, info, None

    def _observations(self, rows: Any) -> Any:
        """The kernels' flat ``(num_envs, cells)`` rows in the observation space's shape."""
        if self._rows_are_observations:
            return rows
        return observation_views(rows, self.single_observation_space)

    def render(self) -> tuple[Any, ...] | None:
        """One ``(height, width, 3)`` uint8 frame per env (numpy), as gymnasium's vector envs
        return them; None unless made with ``render_mode="rgb_array"``."""
        if self.render_mode is None:
            return None
        frames = np.empty((self.num_envs, *self.task.frame_shape, 3), np.uint8)
        if self.device == "cuda":
            gpu_frames = self._empty(frames.shape, np.uint8)
            render_kernel(self.task, "cuda", self.params)(self._buffers[0], self._view(gpu_frames))
            frames = to_numpy(gpu_frames)
        else:
            target = self._target if threads_usable() else "serial"  # a child forked after OpenMP ran
            render_kernel(self.task, target, self.params)(self._state, frames)
        return tuple(frames)


def render_modes(task: BatchedTask) -> list[str]:
    """The render modes a task supports: ``["rgb_array"]`` where it paints frames, else none."""
    return ["rgb_array"] if task.render is not None else []


def check_render_mode(task: BatchedTask, render_mode: str | None) -> str | None:
    """``render_mode`` if the task supports it (None always is); else a ValueError naming the valid ones."""
    if render_mode is not None and render_mode not in render_modes(task):
        valid = ", ".join(repr(m) for m in [None, *render_modes(task)])
        raise ValueError(f"render_mode {render_mode!r} is not supported by {task.name}; valid: {valid}")
    return render_mode


def resolve_params(task: BatchedTask, params: Any, fields: dict[str, Any]) -> Any:
    """The task's parameters: ``params`` (or the defaults) with single ``fields`` replaced by name,
    checked by the task; unknown fields and a wrong ``params`` type are refused by name.

    Example:
        >>> from rewardgym.envs.control import CARTPOLE
        >>> resolve_params(CARTPOLE, None, {"gravity": 5.0}).gravity
        5.0
    """
    kind = type(task.params)
    if params is not None and not isinstance(params, kind):
        raise TypeError(f"params of {task.name} must be a {kind.__name__}, got {type(params).__name__}")
    params = task.params if params is None else params
    if task.keyword_params is not None:
        fields = task.keyword_params(fields)
    unknown = sorted(set(fields) - set(kind._fields))
    if unknown:
        raise ValueError(
            f"unknown keyword argument {unknown[0]!r} for {task.name}; valid parameters: "
            f"{', '.join(kind._fields)} (and max_episode_steps, params, render_mode, obs_mode, pixel_size, exact_math)"
        )
    if fields:
        params = params._replace(**fields)
    if task.check_params is not None:
        task.check_params(params)
    return params
