"""Reward layers compiled from their per-instance bodies: into the engine's step kernel, or alone.

A regime that has a :class:`~rewardgym.core.regime.FusedLayer` writes its per-env arithmetic
once, as a body ``body(i, reward, valid, obs, next_obs, terminated, args) -> new reward``. This
module compiles such bodies two ways, from the same source:

- :func:`chain`: the bodies of a stack's leading layers as one function over a range of envs,
  which :mod:`rewardgym.envs.batched.kernels` calls inside the step kernel right after the
  dynamics of the same envs: a whole stack is then one kernel call a step, on the CPU (serial or
  threaded) and on the GPU;
- :func:`apply_layer`: one layer over any batch of transitions, numpy or torch (on the GPU, or
  under numba's CUDA simulator, one thread per env), which is how a regime applies itself to an
  env the engine does not run (gymnasium's own, say).

numba cannot pass a tuple of arrays into a threaded loop (its parallel backend takes arrays and
numbers only), so the loops are generated with one flat argument per array (:func:`flat_loop`)
and regroup them, per layer, inside the loop.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# A module-level import: numba's CUDA simulator finds ``cuda`` in a kernel's globals to swap in
# its per-thread fake, which it cannot do for a name bound in a closure.
from numba import cuda, njit, prange
from numba.extending import register_jitable

from rewardgym.core.arrays import Array, is_torch, mask_like, to_numpy
from rewardgym.core.regime import FusedLayer
from rewardgym.core.transition import Transition
from rewardgym.envs.batched.device import cuda_simulated, kernel_view
from rewardgym.envs.batched.rows import row

__all__ = [
    "apply_layer",
    "chain",
    "finish_layers",
    "flat_loop",
    "kernel_arguments",
    "layer_arguments",
    "layers_kernel",
    "observation_rows",
    "on_device",
    "register_sure_path",
]


def chain(bodies: Sequence[Callable[..., float]], width: int | None = None) -> Callable[..., None]:
    """The bodies applied in order to rows ``start`` to ``stop``, as one function
    ``run(start, stop, reward, valid, obs, next_obs, terminated, layers, trace)``.

    Layer by layer: each runs over the rows in a tight loop of its own (as a separate pass would,
    but on rows still in the cache), reading the previous layer's output. ``layers`` holds each
    body's argument tuple; ``trace[k, i]`` gets layer ``k``'s output. Where ``valid[i]`` is False
    (an autoreset step) every layer's output is its input, as in
    :class:`~rewardgym.core.pipeline.RewardPipeline`; the bodies still run, for their reports.
    ``width``, where given (the CPU kernels), is the cells of an observation row, compiled in:
    bodies then get unsigned row indices and rows of that width, so the loops can vectorise, and
    a body with a sure path (:func:`register_sure_path`) runs as that path, then itself where it
    left NaN.

    Example:
        >>> import numpy as np
        >>> from numba import njit
        >>> from numba.extending import register_jitable
        >>> @register_jitable
        ... def double(i, reward, valid, obs, next_obs, terminated, args):
        ...     return reward * np.float32(2.0)
        >>> run = chain([double, double])
        >>> @njit
        ... def rows(reward, valid, trace):
        ...     run(0, 2, reward, valid, reward, reward, valid, ((), ()), trace)
        >>> trace = np.zeros((2, 2), np.float32)
        >>> rows(np.array([1.5, 1.0], np.float32), np.array([True, False]), trace)
        >>> trace.tolist()
        [[3.0, 1.0], [6.0, 1.0]]
    """

    # Generated as one flat function: numba types a chain of nested closures far more slowly.
    lines = ["def run(start, stop, reward, valid, obs, next_obs, terminated, layers, trace):"]
    # With the rows' width compiled in, row views and unsigned indices (rows.py says why) let LLVM
    # vectorise the layers whose bodies are only arithmetic (not the ziggurat's rejection loop).
    index = "j" if width is None else "np.uint64(j)"
    rows = "obs[i], next_obs[i]" if width is None else f"row(obs, i, {width}), row(next_obs, i, {width})"
    namespace: dict[str, Any] = {"np": np, "select": _select, "row": row}
    for k, body in enumerate(bodies):
        incoming = "reward[i]" if k == 0 else f"trace[{k - 1}, i]"
        namespace[f"body{k}"] = body
        # A body's sure path (register_sure_path) on the CPU, where it lets the loop vectorise; on
        # the GPU each thread would run both anyway.
        sure = _SURE_PATHS.get(body) if width is not None else None
        call = f"(i, r, valid[i], {rows}, terminated[i], args))"
        lines += [
            f"    args = layers[{k}]",
            "    for j in range(start, stop):",
            f"        i = {index}",
            f"        r = {incoming}",
            f"        new = np.float32({'body' if sure is None else 'sure'}{k}{call}",
            f"        trace[{k}, i] = select(valid[i], new, r)",
        ]
        if sure is not None:
            namespace[f"sure{k}"] = sure
            # The rows the sure path left NaN, again with the whole body: the same result there
            # (a NaN reward comes out NaN again), while the loop above stays free of its branches.
            # Block by block: a block's NaN test is a vectorised reduction, and most blocks have none.
            lines += [
                "    block = start",
                "    while block < stop:",
                f"        end = min(block + {_SCAN_BLOCK}, stop)",
                "        left = False",
                "        for j in range(block, end):",
                f"            i = {index}",
                f"            left |= trace[{k}, i] != trace[{k}, i]",
                "        if left:",
                "            for j in range(block, end):",
                f"                i = {index}",
                f"                if trace[{k}, i] != trace[{k}, i]:",
                f"                    r = {incoming}",
                f"                    new = np.float32(body{k}{call}",
                f"                    trace[{k}, i] = select(valid[i], new, r)",
                "        block = end",
            ]
    if not bodies:
        lines.append("    pass")
    exec("\n".join(lines) + "\n", namespace)  # noqa: S102 - the source is built from indices alone
    return register_jitable(inline="always")(namespace["run"])


_SCAN_BLOCK = 32
"""Rows per NaN test of :func:`chain`'s second pass over a sure path's rows."""

_SURE_PATHS: dict[Callable[..., float], Callable[..., float]] = {}


def register_sure_path(body: Callable[..., float], sure: Callable[..., float]) -> None:
    """Have :func:`chain` run ``sure`` in ``body``'s place on the CPU, and ``body`` itself only
    on the rows where ``sure`` returns NaN.

    ``sure`` takes a body's arguments and returns ``body``'s result bit for bit, or NaN where it
    cannot tell cheaply (a rejection sampler's rare rejections); it writes nothing, and neither
    does ``body``. Where ``body`` branches on such a rare case, or loops or calls out for it, its
    loop over envs stays scalar; a ``sure`` without those vectorises, and the rare rows cost a
    second, scalar, pass over the NaNs it left. (A NaN that ``body`` itself returns, from a NaN
    reward, comes out of that pass the same.)

    Example:
        >>> import math
        >>> import numpy as np
        >>> from numba import njit
        >>> from numba.extending import register_jitable
        >>> @register_jitable
        ... def halve(i, reward, valid, obs, next_obs, terminated, args):
        ...     return reward / np.float32(2.0)
        >>> @register_jitable
        ... def halve_sure(i, reward, valid, obs, next_obs, terminated, args):
        ...     return reward / np.float32(2.0) if reward < np.float32(4.0) else math.nan
        >>> register_sure_path(halve, halve_sure)
        >>> run = chain([halve], width=1)
        >>> @njit
        ... def rows(reward, valid, obs, trace):
        ...     run(0, 2, reward, valid, obs, obs, valid, ((),), trace)
        >>> trace = np.zeros((1, 2), np.float32)
        >>> rows(np.array([1.0, 6.0], np.float32), np.ones(2, bool), np.zeros((2, 1), np.float32), trace)
        >>> trace.tolist()
        [[0.5, 3.0]]
    """
    _SURE_PATHS[body] = sure


@register_jitable  # not inline="always": numba's inliner mis-scopes a conditional expression's value
def _select(condition: bool, yes: float, no: float) -> float:  # pragma: no cover (compiled)
    return yes if condition else no


def flat_loop(inner: Callable[..., None], fixed: Sequence[str], arities: Sequence[int], target: str) -> Any:
    """A kernel ``kernel(*fixed, *flat)`` that calls ``inner(start, stop, *fixed, layers)`` over
    the rows of its first argument, in chunks of :data:`CHUNK` rows, where ``flat`` is every
    layer's arguments one after another and ``layers`` regroups them, ``arities[k]`` for layer ``k``.

    ``target`` is ``"serial"``, ``"parallel"`` (numba's ``prange`` over chunks) or ``"cuda"`` (a
    launcher of one thread per row, each a chunk of one). The source is generated because numba's
    threaded loops take no tuples.

    Example:
        >>> import numpy as np
        >>> from numba.extending import register_jitable
        >>> @register_jitable
        ... def add(start, stop, out, layers):
        ...     for i in range(start, stop):
        ...         out[i] = layers[0][0][i] + layers[1][0]
        >>> kernel = flat_loop(add, ["out"], [1, 1], "serial")
        >>> out = np.zeros(3)
        >>> kernel(out, np.arange(3.0), 10.0)
        >>> out.tolist()
        [10.0, 11.0, 12.0]
    """
    params, call = _signature(tuple(fixed), tuple(arities))
    namespace: dict[str, Any] = {"inner": inner, "prange": prange, "cuda": cuda, "CHUNK": CHUNK}
    if target == "cuda":
        exec(  # noqa: S102 - the source is built from argument names alone
            f"def kernel({params}):\n"
            f"    i = cuda.grid(1)\n"
            f"    if i < {fixed[0]}.shape[0]:\n"
            f"        inner(i, i + 1, {call})\n",
            namespace,
        )
        from rewardgym.envs.batched.kernels import cuda_launcher  # here: kernels imports this module

        return cuda_launcher(cuda.jit(namespace["kernel"]))
    # numba's parallel array analysis fails on tuples built inside a prange body, so the threads
    # take chunks of rows, each run by a separate (not inlined) function: a call per chunk, not
    # per row, which would cost more than the row (every array is passed as its fields). The
    # serial kernel calls the same function once, so the two targets compile it once.
    namespace["rows"] = _rows(inner, tuple(fixed), tuple(arities))
    loop = (
        f"    for chunk in prange((n + CHUNK - 1) // CHUNK):\n"
        f"        rows(chunk * CHUNK, min(n, (chunk + 1) * CHUNK), {params})\n"
        if target == "parallel"
        else f"    rows(0, n, {params})\n"
    )
    exec(f"def kernel({params}):\n    n = {fixed[0]}.shape[0]\n" + loop, namespace)  # noqa: S102
    from rewardgym.envs.batched.kernels import CPU_OPTIONS

    return njit(parallel=target == "parallel", **CPU_OPTIONS)(namespace["kernel"])


def _signature(fixed: tuple[str, ...], arities: tuple[int, ...]) -> tuple[str, str]:
    """A flat loop's parameter list, and the arguments it passes ``inner`` after ``start, stop``:
    the fixed ones, then a tuple of each layer's."""
    flat, groups = [], []
    for k, arity in enumerate(arities):
        names = [f"layer{k}_{j}" for j in range(arity)]
        flat += names
        groups.append(f"({''.join(name + ', ' for name in names)})")
    params = ", ".join([*fixed, *flat])
    call = "".join(name + ", " for name in fixed) + f"({''.join(group + ', ' for group in groups)})"
    return params, call


@functools.cache
def _rows(inner: Callable[..., None], fixed: tuple[str, ...], arities: tuple[int, ...]) -> Any:
    """``rows(start, stop, *fixed, *flat)``, calling ``inner`` on those rows, compiled once."""
    from rewardgym.envs.batched.kernels import CPU_OPTIONS

    params, call = _signature(fixed, arities)
    namespace: dict[str, Any] = {"inner": inner}
    exec(f"def rows(start, stop, {params}):\n    inner(start, stop, {call})\n", namespace)  # noqa: S102
    return njit(**CPU_OPTIONS)(namespace["rows"])


CHUNK = 256
"""Rows per task of a threaded :func:`flat_loop`: enough to make a call's cost vanish, few enough
that TBB can balance the chunks between threads (16 chunks at 4,096 envs)."""


@functools.cache
def layers_kernel(bodies: tuple[Callable[..., float], ...], arities: tuple[int, ...], target: str) -> Any:
    """The layers alone, over a batch stepped already: ``kernel(reward, valid, obs, next_obs,
    terminated, trace, *each layer's arguments)``, one call for all of them (the multi-agent
    engine runs it right after its step kernel), built once per bodies, arities and target.

    Example:
        >>> import numpy as np
        >>> from numba.extending import register_jitable
        >>> @register_jitable
        ... def plus(i, reward, valid, obs, next_obs, terminated, args):
        ...     return reward + args[0]
        >>> kernel = layers_kernel((plus, plus), (1, 1), "serial")
        >>> reward, trace = np.ones(2, np.float32), np.zeros((2, 2), np.float32)
        >>> rows = reward.reshape(2, 1)
        >>> kernel(reward, np.array([True, False]), rows, rows, np.zeros(2, bool), trace, 0.5, 2.0)
        >>> trace.tolist()
        [[1.5, 1.0], [3.5, 1.0]]
    """
    run = chain(bodies)

    @register_jitable(inline="always")
    def rows(start, stop, reward, valid, obs, next_obs, terminated, trace, layers):
        run(start, stop, reward, valid, obs, next_obs, terminated, layers, trace)

    return flat_loop(rows, ("reward", "valid", "obs", "next_obs", "terminated", "trace"), arities, target)


def observation_rows(obs: Array) -> Array:
    """Observations as bodies read them: one flat row per env (a grid's cells in C order, as the
    engine's ``observe`` writes them), float32 and float64 as they are, any other dtype (integers,
    bools, half floats) as float64, which holds each of them exactly.

    Example:
        >>> import numpy as np
        >>> observation_rows(np.ones((2, 2, 2), np.uint8)).dtype, observation_rows(np.ones((2, 3), np.float32)).shape
        (dtype('float64'), (2, 3))
    """
    obs = obs.reshape(obs.shape[0], math.prod(obs.shape[1:]))  # not -1: an empty batch has no size to infer
    if is_torch(obs):
        import torch

        return obs if obs.dtype in (torch.float32, torch.float64) else obs.to(torch.float64)
    return obs if obs.dtype.char in "fd" else obs.astype(np.float64)


def apply_layer(layer: FusedLayer, batch: Transition) -> Array:
    """``layer``'s new reward of every env of ``batch`` (float32, of the batch's kind and device),
    from its body: on the CPU for numpy batches and torch ones on the CPU, on the GPU (or numba's
    CUDA simulator) for torch ones there, one thread per env. Calls ``layer.finish`` with the
    layer's arguments, its arrays as the batch's kind (torch on the batch's device for torch).

    Unlike the pipeline, it computes every row, ``valid`` or not: the pipeline keeps the input
    reward where a step is not valid.

    Example:
        >>> import numpy as np
        >>> from numba.extending import register_jitable
        >>> from rewardgym.core.regime import FusedLayer
        >>> @register_jitable
        ... def plus(i, reward, valid, obs, next_obs, terminated, args):
        ...     return reward + args[0]
        >>> batch = Transition(np.zeros((2, 1)), np.zeros(2), np.zeros((2, 1)), np.ones(2, np.float32),
        ...                    np.zeros(2, bool), np.zeros(2, bool), np.ones(2, bool))
        >>> apply_layer(FusedLayer(plus, lambda like: (np.float32(0.5),)), batch).tolist()
        [1.5, 1.5]
    """
    reward = batch.reward
    n = batch.num_envs
    args = layer.arguments(reward)
    if layer.reads_obs:
        obs, next_obs = observation_rows(batch.obs), observation_rows(batch.next_obs)
    else:  # stand-ins the body never reads
        obs = next_obs = reward.reshape(n, 1)
    fixed = (reward, mask_like(batch.valid, reward), obs, next_obs, mask_like(batch.terminated, reward))
    out: Array
    if not is_torch(reward):
        out = np.empty(n, np.float32)
        _layer_loop(layer.body, len(args), "serial")(out, *fixed, *args)
    elif reward.is_cuda or cuda_simulated():
        import torch

        args = on_device(args, reward.device)
        out = torch.empty(n, dtype=torch.float32, device=reward.device)
        if n:
            views = (kernel_view(torch.as_tensor(x, device=out.device).detach()) for x in fixed)
            _layer_loop(layer.body, len(args), "cuda")(kernel_view(out), *views, *kernel_arguments(args))
    else:
        import torch

        # A torch batch on the CPU: the CPU loop on numpy views; the layer's arrays as torch.
        out_rows = np.empty(n, np.float32)
        numpy_args = tuple(to_numpy(x) if is_torch(x) else x for x in args)
        _layer_loop(layer.body, len(args), "serial")(out_rows, *(to_numpy(x) for x in fixed), *numpy_args)
        out = torch.from_numpy(out_rows)
        args = tuple(torch.from_numpy(x) if isinstance(x, np.ndarray) else x for x in numpy_args)
    finish_layers([layer], (args,))
    return out


def layer_arguments(layers: Sequence[FusedLayer], like: Array) -> tuple[tuple[tuple[Any, ...], ...], tuple[Any, ...]]:
    """Each layer's arguments for a step whose batch is like ``like`` (a float32 row: numpy, or
    torch on its device), and all of them one after another as a kernel takes them (torch
    tensors on a GPU as numba device arrays). What both engines do before their layers' kernel;
    :func:`finish_layers` after it.

    Example:
        >>> import numpy as np
        >>> from rewardgym.core.regime import FusedLayer
        >>> layer = FusedLayer(body=None, arguments=lambda like: (np.float32(2.0), np.zeros(len(like))))
        >>> arguments, flat = layer_arguments([layer, layer], np.zeros(3, np.float32))
        >>> len(arguments), len(flat)
        (2, 4)
    """
    arguments = tuple([layer.arguments(like) for layer in layers])
    if type(like) is not np.ndarray and is_torch(like) and (like.is_cuda or cuda_simulated()):
        # numpy constants a layer keeps (its per-step arrays are made on the device already)
        arguments = tuple(on_device(group, like.device) for group in arguments)
        return arguments, tuple(value for group in arguments for value in kernel_arguments(group))
    # A sum of tuples: a third of a generator's cost, for the few layers of a stack.
    return arguments, sum(arguments, ())


def finish_layers(layers: Sequence[FusedLayer], arguments: tuple[tuple[Any, ...], ...]) -> None:
    """Each layer's ``finish`` with its arguments, after the kernel has run them."""
    for layer, args in zip(layers, arguments):
        if layer.finish is not None:
            layer.finish(args)


def on_device(arguments: tuple[Any, ...], device: Any) -> tuple[Any, ...]:
    """A layer's arguments with any numpy arrays left among them (constants such as a stand-in
    the body never reads; its per-step arrays are made on the device already) moved to a torch
    ``device``, where a CUDA kernel can read them."""
    import torch

    return tuple(torch.as_tensor(x, device=device) if isinstance(x, np.ndarray) else x for x in arguments)


def kernel_arguments(arguments: tuple[Any, ...]) -> tuple[Any, ...]:
    """Arguments as a CUDA kernel takes them: torch tensors as numba device arrays."""
    return tuple(kernel_view(x) if is_torch(x) else x for x in arguments)


@functools.cache
def _layer_loop(body: Callable[..., float], arity: int, target: str) -> Any:
    """The loop applying one body to a batch, built once per body, arity and target."""

    @register_jitable(inline="always")
    def one(start, stop, out, reward, valid, obs, next_obs, terminated, layers):
        for i in range(start, stop):
            out[i] = np.float32(body(i, reward[i], valid[i], obs[i], next_obs[i], terminated[i], layers[0]))

    return flat_loop(one, ["out", "reward", "valid", "obs", "next_obs", "terminated"], [arity], target)
