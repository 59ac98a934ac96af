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
  ``(height, width, 3)`` uint8 image, for ``render_mode="rgb_array"``. Where it paints a frame of
  any size (``pixel_observations``), :func:`pixel_task` makes the picture the observation
  (``obs_mode="pixels"``): the same source paints a small image straight into each observation
  row inside the step kernel.

Observations of any shape are handed to ``observe`` (and ``potential``) as one flat row, in C
order: a gridworld's ``(rows, cols)`` grid arrives as ``rows * cols`` cells. A ``Dict``
observation (an image and an instruction, say) is one row too, its keys' cells one after another
in the space's key order, all of one dtype; the env hands users each key's view of that row
(:func:`observation_views`).

Time limits, autoreset and batching are the engine's job, not the task's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces
from numba.extending import register_jitable

from rewardgym.core.fast_math import with_fast_math
from rewardgym.core.validation import check_integer

RENDER_FPS = 4
"""The default frames per second of videos made from rendered frames: a gridworld's moves, slow
enough to follow."""


@dataclass(frozen=True)
class BatchedTask:
    """Everything the engine needs to run an environment as a batch.

    Attributes:
        name: a short name, e.g. ``"CartPole"``.
        state_size: floats of simulator state per instance (float64).
        observation_space: one instance's observation space: a float32 ``Box``, an integer
            ``Box``/``MultiDiscrete`` (token ids), or a ``Dict`` of those sharing one dtype (an
            image and its instruction); observations are allocated in its dtype.
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
        pixel_observations: whether ``render`` paints a frame of any size (scaling its picture to
            the frame), which ``obs_mode="pixels"`` needs (see :func:`pixel_task`).
        keyword_params: turns keyword arguments that name no parameter into parameters (a scene's
            ``instruction="go to the red triangle"`` into its colour and shape), refusing bad ones;
            None where every keyword is a parameter.
        vectorize: the CPU kernels may step every instance's dynamics in one loop that LLVM
            vectorises, before the engine's books: ``step`` is arithmetic (no inner loops) that is
            safe on a finished episode's state, whose result is then discarded, and ``reset`` sets
            the whole state. The control tasks promise it, except Acrobot (its angle wrapping
            loops).
    """

    name: str
    state_size: int
    observation_space: spaces.Box | spaces.MultiDiscrete | spaces.Dict
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
    pixel_observations: bool = False
    keyword_params: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    vectorize: bool = False

    @property
    def discrete(self) -> bool:
        return isinstance(self.action_space, spaces.Discrete)

    @property
    def action_dtype(self) -> type:
        """The dtype actions are handed to the kernels in."""
        return np.int64 if self.discrete else np.float32


def observation_row(space: spaces.Space) -> tuple[int, np.dtype]:
    """The cells and dtype of one observation as the kernels see it: one flat row.

    Example:
        >>> observation_row(spaces.Dict({"a": spaces.Box(0, 9, (2, 3), np.uint8), "b": spaces.MultiDiscrete([4, 4], dtype=np.uint8)}))
        (8, dtype('uint8'))
    """
    leaves: list[spaces.Space] = list(space.spaces.values()) if isinstance(space, spaces.Dict) else [space]
    dtypes = {leaf.dtype for leaf in leaves}
    if len(dtypes) != 1 or any(leaf.shape is None or leaf.dtype is None for leaf in leaves):
        raise ValueError(f"a Dict observation's keys must be flat spaces of one dtype, got {space}")
    return sum(int(np.prod(leaf.shape or ())) for leaf in leaves), np.dtype(leaves[0].dtype)


def observation_views(rows: Any, space: spaces.Space) -> Any:
    """``(n, cells)`` flat observation rows as a batch of ``space``: the rows reshaped to
    ``(n, *shape)``, or for a ``Dict`` a dict of each key's view of its cells (no copy).

    Example:
        >>> space = spaces.Dict({"image": spaces.Box(0, 255, (1, 2, 1), np.uint8), "tokens": spaces.MultiDiscrete([5], dtype=np.uint8)})
        >>> views = observation_views(np.arange(6, dtype=np.uint8).reshape(2, 3), space)
        >>> views["image"][1].ravel().tolist(), views["tokens"].tolist()
        ([3, 4], [[2], [5]])
    """
    n = rows.shape[0]
    if not isinstance(space, spaces.Dict):
        return rows.reshape(n, *(space.shape or ()))
    views, start = {}, 0
    for key, leaf in space.spaces.items():
        shape = leaf.shape or ()
        size = int(np.prod(shape))
        views[key] = rows[:, start : start + size].reshape(n, *shape)
        start += size
    return views


def observation_row_of(batch: Any, index: int) -> Any:
    """Instance ``index`` of a batch of observations (a dict of batches per key, or one batch)."""
    if isinstance(batch, dict):
        return {key: value[index] for key, value in batch.items()}
    return batch[index]


# Inlined into the kernels at numba's IR level: as a call it cost CartPole's kernel 298 instructions
# an env step against 260 inlined (valgrind's count, 3000 steps of 4096 envs on one thread).
@register_jitable(inline="always")
def observe_state(state: np.ndarray, obs: np.ndarray) -> None:
    """The ``observe`` of tasks whose observation is their state (CartPole, MountainCar)."""
    for j in range(obs.shape[0]):
        obs[j] = state[j]


OBS_MODES = ("state", "pixels")
"""What an env's observation is: the task's own (``"state"``, the default) or its rendered
picture (``"pixels"``)."""

DEFAULT_PIXEL_SIZE = 84
"""The side of a pixel observation by default: the Atari convention (Mnih et al. 2015), which the
usual Nature-CNN encoders take."""

MIN_PIXEL_SIZE, MAX_PIXEL_SIZE = 16, 512
"""The sides a pixel observation may have: below 16 the control pictures lose their objects (a
pole is under a pixel wide), above 512 an observation outgrows gymnasium's own frame."""

_PIXEL_TASKS: dict[tuple[str, int, tuple], BatchedTask] = {}


def observed_task(task: BatchedTask, obs_mode: str, pixel_size: int | None, params: Any) -> BatchedTask:
    """The task an env with ``obs_mode`` runs: ``task`` itself for ``"state"``, its
    :func:`pixel_task` for ``"pixels"``. Refuses, by name, an unknown mode, pixels on a task whose
    renderer cannot paint them, a ``pixel_size`` out of range and a ``pixel_size`` without pixels.

    Example:
        >>> from rewardgym.envs.control import CARTPOLE
        >>> observed_task(CARTPOLE, "state", None, CARTPOLE.params) is CARTPOLE
        True
        >>> observed_task(CARTPOLE, "pixels", 32, CARTPOLE.params).observation_space
        Box(0, 255, (32, 32, 3), uint8)
        >>> observed_task(CARTPOLE, "rgb", None, CARTPOLE.params)
        Traceback (most recent call last):
        ...
        ValueError: unknown obs_mode 'rgb' for CartPole; valid modes: 'state', 'pixels'
    """
    if obs_mode not in OBS_MODES:
        valid = ", ".join(repr(m) for m in OBS_MODES)
        raise ValueError(f"unknown obs_mode {obs_mode!r} for {task.name}; valid modes: {valid}")
    if obs_mode == "state":
        if pixel_size is not None:
            raise ValueError(
                f"pixel_size={pixel_size!r} sets the side of a pixel observation; pass it with "
                "obs_mode='pixels' (this env's obs_mode is 'state')"
            )
        return task
    if task.render is None or not task.pixel_observations:
        raise ValueError(
            f"obs_mode='pixels' is not supported by {task.name}: its renderer does not paint "
            "observation images; valid obs_mode: 'state'"
        )
    size = DEFAULT_PIXEL_SIZE if pixel_size is None else pixel_size
    size = check_integer(size, "pixel_size", low=MIN_PIXEL_SIZE, high=MAX_PIXEL_SIZE)
    return pixel_task(task, size, params)


def pixel_task(task: BatchedTask, size: int, params: Any) -> BatchedTask:
    """``task`` observed as a ``size x size`` RGB image: its ``render`` paints each observation.

    The dynamics, rewards and time limit are ``task``'s; the observation space is
    ``Box(0, 255, (size, size, 3), uint8)`` and ``observe`` paints the state with the task's own
    ``render`` (and ``params``, compiled in) straight into the observation row the engine hands it,
    viewed as the image, so the step kernel draws the small picture with no full-size frame in
    between, on every target. The built-in potential and aliases are dropped: they read state
    observations, so ``shaped`` needs a potential of images (a callable) on a pixel env. One task
    per ``(task, size, params)``: the engine's kernel cache is keyed by its name and parameters.

    Example:
        >>> import numpy as np
        >>> from rewardgym.envs.control import CARTPOLE
        >>> pixels = pixel_task(CARTPOLE, 48, CARTPOLE.params)
        >>> pixels.name, pixels.potential, pixels.observation_space.shape
        ('CartPole (pixels 48x48)', None, (48, 48, 3))
        >>> obs = np.empty(48 * 48 * 3, np.uint8)
        >>> pixels.observe(np.zeros(4), obs)
        >>> frame = np.empty((48, 48, 3), np.uint8)
        >>> CARTPOLE.render(np.zeros(4), frame, CARTPOLE.params)
        >>> bool((obs.reshape(48, 48, 3) == frame).all())
        True
    """
    key = (task.name, size, tuple(params))
    if key not in _PIXEL_TASKS:
        render = task.render
        if render is None:
            raise ValueError(f"task {task.name!r} has no render function")
        shape = (size, size, 3)

        @register_jitable
        def observe(state: np.ndarray, obs: np.ndarray) -> None:
            # The engine hands a flat row (C order); viewed as the image it is the frame itself.
            render(state, obs.reshape(shape), params)

        _PIXEL_TASKS[key] = dataclasses.replace(
            task,
            name=f"{task.name} (pixels {size}x{size})",
            observation_space=spaces.Box(0, 255, shape, np.uint8),
            observe=observe,
            potential=None,
            aliases=(),
        )
    return _PIXEL_TASKS[key]


_FAST_MATH_TASKS: dict[int, tuple[BatchedTask, BatchedTask]] = {}


def fast_math_task(task: BatchedTask) -> BatchedTask:
    """``task`` with its ``step`` compiled against :mod:`rewardgym.core.fast_math`: ``sin`` and
    ``cos`` that a vectorised loop runs in every lane, which may differ from libm's in the last
    bit. ``task`` itself where it is not :attr:`~BatchedTask.vectorize` (stepped row by row, libm's
    are as fast) or where its step uses neither. The engine runs this unless an env is made with
    ``exact_math=True``. Built once per task; its name, which keys the engine's kernel cache, says
    "fast math".

    Example:
        >>> from rewardgym.envs.control import ACROBOT, CARTPOLE
        >>> fast_math_task(CARTPOLE).name, fast_math_task(CARTPOLE).step is CARTPOLE.step
        ('CartPole (fast math)', False)
        >>> fast_math_task(ACROBOT) is ACROBOT
        True
    """
    if not task.vectorize:
        return task
    # Keyed by identity (a task's spaces are unhashable, and tasks of one name may differ); the
    # entry holds the task, so its id is not reused while the entry lives.
    if id(task) not in _FAST_MATH_TASKS:
        step = with_fast_math(task.step)
        fast = task if step is task.step else dataclasses.replace(task, name=f"{task.name} (fast math)", step=step)
        _FAST_MATH_TASKS[id(task)] = (task, fast)
    return _FAST_MATH_TASKS[id(task)][1]
