"""Compiles a :class:`BatchedTask` into step and reset kernels for each target.

One per-instance body (``step_one``/``reset_one``) holds the engine's logic: time limits, the
three autoreset modes and the final observation. It is wrapped by a thin loop per target:

- ``"serial"``: ``numba.njit``, for small batches where a thread pool costs more than it saves;
- ``"parallel"``: ``numba.njit(parallel=True)`` with ``prange`` over instances;
- ``"cuda"``: ``numba.cuda.jit``, one thread per instance.

Because every target compiles the same Python source, the CPU and GPU paths cannot drift apart,
and CI checks the CUDA kernels under numba's CUDA simulator against the CPU ones.

On the CPU a :attr:`~rewardgym.envs.batched.task.BatchedTask.vectorize` task is stepped in chunks,
each in loops that LLVM vectorises across envs (:func:`_step_rows`): the task's dynamics over
every row, then the engine's books, with the same logic as ``step_one``.

:func:`fused_step_kernel` is the step kernel with reward layers compiled in after the dynamics
(:mod:`rewardgym.envs.batched.layers`), for every target alike.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any

import numpy as np

# A module-level import: numba's CUDA simulator finds ``cuda`` in a kernel's globals to swap in
# its per-thread fake, which it cannot do for a name bound in a closure.
from numba import cuda, njit, prange
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import register_jitable

from rewardgym.envs.batched.device import kernel_stream
from rewardgym.envs.batched.layers import CHUNK, chain, flat_loop
from rewardgym.envs.batched.rows import FLAG_BLOCK, flag_bits, row
from rewardgym.envs.batched.task import BatchedTask, observation_row, observe_state

NEXT_STEP, SAME_STEP, DISABLED = 0, 1, 2
"""Autoreset modes as the kernels know them (gymnasium's ``AutoresetMode`` in the envs)."""

CUDA_THREADS_PER_BLOCK = 256

_CACHE: dict[tuple[str, str, tuple], tuple[Callable[..., Any], Callable[..., Any]]] = {}


def kernels(
    task: BatchedTask, target: str, params: tuple | None = None
) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The ``(step_kernel, reset_kernel)`` of a task for a target and parameters, built once.

    The physical parameters are compiled in as constants: typing a NamedTuple argument costs
    numba's dispatcher microseconds on every call, which small batches would pay on every step.
    Numba compiles lazily, on the first call with given argument types.
    """
    params = task.params if params is None else params
    key = (task.name, target, params)
    if key not in _CACHE:
        check_target(target)
        step_one, reset_one = _instance_bodies(task, params)
        if target == "cuda":
            step_kernel = _cuda_step_loop(step_one)
        elif task.vectorize:
            step_kernel = _cpu_chunk_loop(register_jitable(_step_rows(task, params)), target == "parallel")
        else:
            step_kernel = _cpu_step_loop(step_one, target == "parallel")
        _CACHE[key] = step_kernel, reset_loop(reset_one, target)
    return _CACHE[key]


TARGETS = ("serial", "parallel", "cuda")
"""Where a kernel runs: one CPU thread, numba's thread pool, or one CUDA thread per instance."""


def check_target(target: str) -> None:
    """Refuse an unknown kernel target, naming the valid ones.

    Example:
        >>> check_target("gpu")
        Traceback (most recent call last):
        ...
        ValueError: unknown kernel target 'gpu'; valid: serial, parallel, cuda
    """
    if target not in TARGETS:
        raise ValueError(f"unknown kernel target {target!r}; valid: {', '.join(TARGETS)}")


def _episode_books(
    task: BatchedTask, params: tuple
) -> tuple[Callable[..., None], Callable[..., None], Callable[..., None]]:
    """The engine's per-instance books: ``start_episode`` (a NEXT_STEP autoreset's step),
    ``end_step`` (after the dynamics: time limit, observation, final observation, then
    ``end_episode`` where the episode ended) and ``end_episode`` (the autoreset of its mode)."""
    reset, observe = task.reset, task.observe

    @register_jitable(inline="always")
    def end_episode(i, state, rng, elapsed, needs_reset, mode, obs):
        if mode == SAME_STEP:
            reset(state[i], rng[i], params)
            elapsed[i] = 0
            observe(state[i], obs[i])
        else:
            # NEXT_STEP resets on the next call; DISABLED refuses a step until reset().
            needs_reset[i] = True

    @register_jitable(inline="always")
    def start_episode(i, state, rng, elapsed, needs_reset, obs, reward, gold, terminated, truncated):
        # NEXT_STEP autoreset: this step only starts the next episode; its action is ignored.
        s = state[i]
        reset(s, rng[i], params)
        elapsed[i] = 0
        needs_reset[i] = False
        observe(s, obs[i])
        reward[i] = 0.0
        gold[i] = 0.0
        terminated[i] = False
        truncated[i] = False

    @register_jitable(inline="always")
    def end_step(
        i,
        r,
        g,
        term,
        state,
        rng,
        elapsed,
        needs_reset,
        max_steps,
        mode,
        obs,
        final_obs,
        reward,
        gold,
        terminated,
        truncated,
    ):
        s = state[i]
        elapsed[i] += 1
        trunc = elapsed[i] >= max_steps
        observe(s, obs[i])
        if mode == SAME_STEP:
            # final_obs holds every env's real next observation; then obs moves on where it ends.
            for j in range(obs.shape[1]):
                final_obs[i, j] = obs[i, j]
        reward[i] = r
        gold[i] = g
        terminated[i] = term
        truncated[i] = trunc
        if term or trunc:
            end_episode(i, state, rng, elapsed, needs_reset, mode, obs)

    return start_episode, end_step, end_episode


def _instance_bodies(task: BatchedTask, params: tuple) -> tuple[Callable[..., Any], Callable[..., Any]]:
    step, reset, observe = task.step, task.reset, task.observe
    start_episode, end_step, _ = _episode_books(task, params)

    @register_jitable(inline="always")
    def step_one(
        i,
        state,
        rng,
        elapsed,
        needs_reset,
        actions,
        max_steps,
        mode,
        obs,
        final_obs,
        reward,
        gold,
        terminated,
        truncated,
    ):
        if needs_reset[i]:
            start_episode(i, state, rng, elapsed, needs_reset, obs, reward, gold, terminated, truncated)
        else:
            r, g, term = step(state[i], actions[i], params)
            end_step(
                i,
                r,
                g,
                term,
                state,
                rng,
                elapsed,
                needs_reset,
                max_steps,
                mode,
                obs,
                final_obs,
                reward,
                gold,
                terminated,
                truncated,
            )

    @register_jitable(inline="always")
    def reset_one(i, state, rng, elapsed, needs_reset, mask, obs):
        if mask[i]:
            reset(state[i], rng[i], params)
            elapsed[i] = 0
            needs_reset[i] = False
        observe(state[i], obs[i])

    return step_one, reset_one


def _step_rows(task: BatchedTask, params: tuple) -> Callable[..., None]:
    """The step over rows ``start`` to ``stop`` for a CPU kernel, to be compiled.

    A :attr:`~rewardgym.envs.batched.task.BatchedTask.vectorize` task is stepped in loops that LLVM
    vectorises (one env a SIMD lane), nothing in their bodies but arithmetic on rows of widths
    compiled in: the dynamics of every row; then the books every step keeps (the step count, the
    time limit, the observation, SAME_STEP's final observation). A last, scalar pass does the rest
    for the few rows that need it: a NEXT_STEP autoreset's new episode, an episode's end. It
    finds them 64 rows at a time, as the set bits of each block's flags (:func:`flag_bits`):
    branches on every row's three flags cost CartPole's serial kernel 1.2 ns of its 7.8 ns an env
    step, and mispredicted at each of those rows. Rows that were to start a new episode are
    stepped too, their results discarded: the task promises its ``step`` is safe on a finished
    state and its ``reset`` sets the whole state. The results equal the row-by-row step's bit for
    bit. Any other task is stepped row by row.
    """
    if not task.vectorize:
        return _dynamics_loop(_instance_bodies(task, params)[0])
    start_episode, _, end_episode = _episode_books(task, params)
    dynamics, observe = _inlined(task.step), task.observe
    width = task.state_size
    obs_width = observation_row(task.observation_space)[0]
    discrete = task.discrete
    action_width = math.prod(task.action_space.shape or (1,))  # a Box's values in one row
    # An observation that is the state, cell for cell (CartPole, MountainCar): the rows of obs are
    # those of state converted, one flat run of cells. Copied row by row, LLVM widened the copy as
    # an interleaved access, shuffling the cells apart and back together (0.3 ns an env step of
    # CartPole's 0.8 ns of books).
    observes_state = observe is observe_state and obs_width == width

    def step_rows(
        start,
        stop,
        state,
        rng,
        elapsed,
        needs_reset,
        actions,
        max_steps,
        mode,
        obs,
        final_obs,
        reward,
        gold,
        terminated,
        truncated,
    ):
        for i in range(start, stop):
            u = np.uint64(i)  # unsigned: no wraparound select, so the addresses stay affine
            # A constant condition: numba compiles only the branch for the task's action space.
            if discrete:
                r, g, term = dynamics(row(state, u, width), actions[u], params)
            else:
                r, g, term = dynamics(row(state, u, width), row(actions, u, action_width), params)
            reward[u] = r
            gold[u] = g
            terminated[u] = term
        for i in range(start, stop):
            u = np.uint64(i)
            elapsed[u] += 1
            truncated[u] = elapsed[u] >= max_steps
            # A constant condition, as above.
            if not observes_state:
                observe(row(state, u, width), row(obs, u, obs_width))
        if observes_state:
            cells, obs_cells = state.reshape(state.size), obs.reshape(obs.size)
            for k in range(start * width, stop * width):
                obs_cells[np.uint64(k)] = cells[np.uint64(k)]
        if mode == SAME_STEP:
            # final_obs holds every env's real next observation; then obs moves on where it ends.
            for i in range(start, stop):
                u = np.uint64(i)
                final_obs_row, obs_row = row(final_obs, u, obs_width), row(obs, u, obs_width)
                for j in range(obs_width):
                    final_obs_row[j] = obs_row[j]
        block = start
        while block + FLAG_BLOCK <= stop:
            u = np.uint64(block)
            # Each row does one or the other, as in step_one: a new episode or the end of one.
            starts = flag_bits(needs_reset, u)
            ends = (flag_bits(terminated, u) | flag_bits(truncated, u)) & ~starts
            # Two loops of one kind of row each: a branch between the kinds would mispredict.
            while starts:
                i = block + np.int64(trailing_zeros(starts))
                starts &= starts - np.uint64(1)  # the lowest set bit cleared
                start_episode(i, state, rng, elapsed, needs_reset, obs, reward, gold, terminated, truncated)
            while ends:
                i = block + np.int64(trailing_zeros(ends))
                ends &= ends - np.uint64(1)
                end_episode(i, state, rng, elapsed, needs_reset, mode, obs)
            block += FLAG_BLOCK
        for i in range(block, stop):  # the last rows of a batch not a multiple of the block
            if needs_reset[i]:
                start_episode(i, state, rng, elapsed, needs_reset, obs, reward, gold, terminated, truncated)
            elif terminated[i] or truncated[i]:
                end_episode(i, state, rng, elapsed, needs_reset, mode, obs)

    return step_rows


def _inlined(function: Callable[..., Any]) -> Callable[..., Any]:
    """A copy of a jitable ``function`` that numba inlines where it is called: LLVM's own inliner
    leaves a task's whole ``step`` a call, and a loop with a call does not vectorise."""
    copy = types.FunctionType(
        function.__code__, function.__globals__, function.__name__, function.__defaults__, function.__closure__
    )
    return register_jitable(inline="always")(copy)


_FUSED_CACHE: dict[tuple, Callable[..., Any]] = {}


def fused_step_kernel(
    task: BatchedTask, target: str, params: tuple, bodies: tuple[Callable[..., float], ...], arities: tuple[int, ...]
) -> Callable[..., Any]:
    """The step kernel of a task with reward layers compiled in, built once per task, target,
    parameters and layer bodies (a layer's own parameters are arguments, not constants):
    ``kernel(state, rng, elapsed, needs_reset, actions, max_steps, mode, obs, final_obs, reward,
    gold, terminated, truncated, trace, obs_before, valid, *each layer's arguments)``.

    Each chunk of envs is stepped, then the layers (a :func:`~rewardgym.envs.batched.layers.chain`)
    run over the same chunk while it is in the cache, one tight loop each: ``trace[k]`` gets layer
    ``k``'s output, ``valid`` (scratch, ``(num_envs,)`` bool) whether each env's step was a transition.
    They read ``obs_before``, the observations the env last returned, and the real next ones
    (``final_obs`` in SAME_STEP mode, else ``obs``), as the pipeline's layers would.
    """
    key = (task.name, target, params, bodies, arities)
    if key not in _FUSED_CACHE:
        check_target(target)
        # The dynamics are a function of their own (on the CPU), compiled once per task and
        # parameters and shared by every stack's kernel: a new stack compiles only its layers.
        dynamics = _cuda_dynamics(task, params) if target == "cuda" else _dynamics(task, params)
        run_layers = chain(bodies, None if target == "cuda" else observation_row(task.observation_space)[0])

        @register_jitable(inline="always")
        def step_rows(
            start,
            stop,
            state,
            rng,
            elapsed,
            needs_reset,
            actions,
            max_steps,
            mode,
            obs,
            final_obs,
            reward,
            gold,
            terminated,
            truncated,
            trace,
            obs_before,
            valid,
            layers,
        ):
            dynamics(
                start,
                stop,
                state,
                rng,
                elapsed,
                needs_reset,
                actions,
                max_steps,
                mode,
                obs,
                final_obs,
                reward,
                gold,
                terminated,
                truncated,
            )
            for i in range(start, stop):
                # Only a NEXT_STEP autoreset step (not a transition) leaves an episode at step 0.
                valid[i] = mode != NEXT_STEP or elapsed[i] > 0
            obs_after = obs
            if mode == SAME_STEP:
                obs_after = final_obs
            run_layers(start, stop, reward, valid, obs_before, obs_after, terminated, layers, trace)

        _FUSED_CACHE[key] = flat_loop(step_rows, _FUSED_ARGUMENTS, arities, target)
    return _FUSED_CACHE[key]


def _dynamics_loop(step_one: Callable[..., None]) -> Callable[..., None]:
    """``step_one`` over rows ``start`` to ``stop``: the fused kernels' dynamics, to be compiled."""

    def dynamics(
        start,
        stop,
        state,
        rng,
        elapsed,
        needs_reset,
        actions,
        max_steps,
        mode,
        obs,
        final_obs,
        reward,
        gold,
        terminated,
        truncated,
    ):
        for i in range(start, stop):
            step_one(
                i,
                state,
                rng,
                elapsed,
                needs_reset,
                actions,
                max_steps,
                mode,
                obs,
                final_obs,
                reward,
                gold,
                terminated,
                truncated,
            )

    return dynamics


_DYNAMICS_CACHE: dict[tuple[str, tuple], Callable[..., None]] = {}


def _dynamics(task: BatchedTask, params: tuple) -> Callable[..., None]:
    """A task's dynamics over rows ``start`` to ``stop``, compiled once per task and parameters."""
    key = (task.name, params)
    if key not in _DYNAMICS_CACHE:
        _DYNAMICS_CACHE[key] = njit(**CPU_OPTIONS)(_step_rows(task, params))
    return _DYNAMICS_CACHE[key]


def _cuda_dynamics(task: BatchedTask, params: tuple) -> Callable[..., None]:
    """The same for a CUDA kernel, where the loop is inlined into it (device functions compile
    with their kernel)."""
    step_one, _ = _instance_bodies(task, params)
    return register_jitable(inline="always")(_dynamics_loop(step_one))


_FUSED_ARGUMENTS = (
    "state",
    "rng",
    "elapsed",
    "needs_reset",
    "actions",
    "max_steps",
    "mode",
    "obs",
    "final_obs",
    "reward",
    "gold",
    "terminated",
    "truncated",
    "trace",
    "obs_before",
    "valid",
)
"""The fused step kernel's arguments before the layers' own."""


# The kernels allocate nothing, so numba's reference counting (NRT) has nothing to do; without it
# the row views (state[i], obs[i]) cost no atomic increments, which made a step 3-5x slower.
# NumPy's error model: a float division by zero gives inf or NaN, as in NumPy, where Python's
# raises, and the check it needs before every division keeps a loop from vectorising.
CPU_OPTIONS: dict[str, Any] = {"nogil": True, "_nrt": False, "error_model": "numpy"}


def _cpu_step_loop(step_one, parallel: bool):
    @njit(parallel=parallel, **CPU_OPTIONS)
    def step_kernel(
        state, rng, elapsed, needs_reset, actions, max_steps, mode, obs, final_obs, reward, gold, terminated, truncated
    ):
        for i in prange(state.shape[0]):
            step_one(
                i,
                state,
                rng,
                elapsed,
                needs_reset,
                actions,
                max_steps,
                mode,
                obs,
                final_obs,
                reward,
                gold,
                terminated,
                truncated,
            )

    return step_kernel


def _cpu_chunk_loop(step_rows, parallel: bool):
    """The CPU step kernel of a vectorised task: ``step_rows`` over chunks of :data:`CHUNK` rows,
    the threads taking chunks, each stepped in the loops of :func:`_step_rows`."""

    @njit(parallel=parallel, **CPU_OPTIONS)
    def step_kernel(
        state, rng, elapsed, needs_reset, actions, max_steps, mode, obs, final_obs, reward, gold, terminated, truncated
    ):
        n = state.shape[0]
        for chunk in prange((n + CHUNK - 1) // CHUNK):
            step_rows(
                chunk * CHUNK,
                min(n, (chunk + 1) * CHUNK),
                state,
                rng,
                elapsed,
                needs_reset,
                actions,
                max_steps,
                mode,
                obs,
                final_obs,
                reward,
                gold,
                terminated,
                truncated,
            )

    return step_kernel


def _cuda_step_loop(step_one):
    @cuda.jit
    def step_kernel(
        state, rng, elapsed, needs_reset, actions, max_steps, mode, obs, final_obs, reward, gold, terminated, truncated
    ):
        i = cuda.grid(1)
        if i < state.shape[0]:
            step_one(
                i,
                state,
                rng,
                elapsed,
                needs_reset,
                actions,
                max_steps,
                mode,
                obs,
                final_obs,
                reward,
                gold,
                terminated,
                truncated,
            )

    return cuda_launcher(step_kernel)


def reset_loop(reset_one: Callable[..., None], target: str) -> Callable[..., None]:
    """The reset kernel for ``target`` over a per-instance ``reset_one(i, state, rng, elapsed,
    needs_reset, mask, obs)``: the loop the single- and multi-agent engines share."""
    if target == "cuda":

        @cuda.jit
        def cuda_reset(state, rng, elapsed, needs_reset, mask, obs):
            i = cuda.grid(1)
            if i < state.shape[0]:
                reset_one(i, state, rng, elapsed, needs_reset, mask, obs)

        return cuda_launcher(cuda_reset)

    @njit(parallel=target == "parallel", **CPU_OPTIONS)
    def cpu_reset(state, rng, elapsed, needs_reset, mask, obs):  # pragma: no cover - compiled
        for i in prange(state.shape[0]):
            reset_one(i, state, rng, elapsed, needs_reset, mask, obs)

    return cpu_reset


def cuda_launcher(kernel: Any) -> Callable[..., None]:
    """``kernel`` as a plain function of its arguments, launched with one thread per row of the
    first (the instances), on torch's current stream."""

    def run(*args: Any) -> None:
        num_instances = args[0].shape[0]
        threads = min(CUDA_THREADS_PER_BLOCK, num_instances)
        kernel[math.ceil(num_instances / threads), threads, kernel_stream()](*args)

    return run


_RENDER_CACHE: dict[tuple[str, str, tuple], Callable[..., Any]] = {}


def render_kernel(task: BatchedTask, target: str, params: tuple | None = None) -> Callable[..., Any]:
    """The kernel ``render(state, frames)`` that paints every instance's frame, built once.

    ``frames`` is ``(num_envs, height, width, 3)`` uint8; the loops are those of the step kernel
    (one thread per instance on the GPU), over the task's own per-instance ``render``.
    """
    if task.render is None:
        raise ValueError(f"task {task.name!r} has no render function")
    params = task.params if params is None else params
    key = (task.name, target, params)
    if key not in _RENDER_CACHE:
        check_target(target)
        render = task.render
        if target == "cuda":

            @cuda.jit
            def cuda_render(state, frames):
                i = cuda.grid(1)
                if i < state.shape[0]:
                    render(state[i], frames[i], params)

            _RENDER_CACHE[key] = cuda_launcher(cuda_render)
        else:

            @njit(parallel=target == "parallel", **CPU_OPTIONS)
            def cpu_render(state, frames):  # pragma: no cover - compiled
                for i in prange(state.shape[0]):
                    render(state[i], frames[i], params)

            _RENDER_CACHE[key] = cpu_render
    return _RENDER_CACHE[key]
