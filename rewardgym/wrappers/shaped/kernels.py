"""Compiles a task's built-in potential into a shaping layer, as
:mod:`rewardgym.envs.batched.kernels` compiles a task's dynamics into step kernels.

One per-instance body shapes one env's reward with the task's ``potential(obs_row, params)``: a
:class:`~rewardgym.core.regime.FusedLayer` that the engine compiles into its own step kernel, and
that :func:`~rewardgym.envs.batched.layers.apply_layer` runs over any other batch (numpy, or
torch on the CPU or, one thread per env, on the GPU). A second loop evaluates the potential over
a batch for reading it. Both are built once per potential and parameters, which are compiled in
as constants.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit
from numba.extending import register_jitable

from rewardgym.core.arrays import Array, empty, is_torch, to_numpy
from rewardgym.core.regime import FusedLayer
from rewardgym.core.transition import Transition
from rewardgym.envs.batched.kernels import CPU_OPTIONS
from rewardgym.envs.batched.layers import apply_layer, observation_rows
from rewardgym.envs.batched.task import BatchedTask


class CompiledPotential:
    """A task's built-in potential, compiled: a shaping layer, and the potential's values.

    Observations of float32 or float64 are read as they are, any other dtype as float64.

    Args:
        task: a task with a ``potential``; its default ``params`` are compiled in.

    Example:
        >>> import numpy as np
        >>> from rewardgym.envs.registration import TASKS
        >>> phi = CompiledPotential(TASKS["Pendulum"])
        >>> phi.values(np.array([[1.0, 0.0, 3.0], [-1.0, 0.0, 0.0]], np.float32))
        array([ 1., -1.])
    """

    def __init__(self, task: BatchedTask) -> None:
        if task.potential is None:
            raise ValueError(f"task {task.name!r} has no built-in potential")
        self.task = task
        self.obs_shape: tuple[int, ...] = tuple(task.observation_space.shape or ())
        self._body: Callable[..., float] | None = None  # the shaping body, once asked for
        self._last: tuple[tuple[Any, ...], FusedLayer] | None = None  # the last layer made, by its parameters

    def __getstate__(self) -> dict[str, Any]:
        # The body and the last layer are closures, which do not pickle (regimes travel to sweep
        # workers), and a layer reports to the regime that asked for it: the copy builds its own.
        return {**vars(self), "_body": None, "_last": None}

    def values(self, obs: Array) -> Array:
        """The potential of each observation of a batch ``(num_envs, *obs_shape)``: float64, of
        the batch's kind (numpy or torch) and device."""
        self._check("obs", obs, len(obs))
        rows = observation_rows(to_numpy(obs))
        out = np.empty(len(rows), np.float64)
        _values_loop(self.task.potential, self.task.params)(rows, out)
        if is_torch(obs):
            import torch

            return torch.as_tensor(out, device=obs.device)
        return out

    def layer(self, gamma: float, scale: float, naive: bool, report: Callable[[Array], None]) -> FusedLayer:
        """The shaping layer: ``reward + added``, where ``added`` is ``scale * (gamma * Phi(s') -
        Phi(s))`` with ``Phi(s') = 0`` where the step terminated, or ``scale * Phi(s')`` if
        ``naive``, float32; ``report(added)`` after each step."""

        # The last layer made is kept, for as long as its parameters and report stay (the shell
        # asks each step); bound methods compare equal where their function and object do.
        key = (float(gamma), float(scale), bool(naive), report)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        numbers = key[:3]

        def arguments(like: Array) -> tuple[Any, ...]:
            added = np.empty(like.shape, like.dtype) if type(like) is np.ndarray else empty(like)
            return (*numbers, added)

        if self._body is None:
            self._body = _shaping_body(self.task.potential, self.task.params)
        layer = FusedLayer(self._body, arguments, lambda args: report(args[-1]), reads_obs=True)
        self._last = key, layer
        return layer

    def shaping(self, batch: Transition, layer: FusedLayer) -> Array:
        """``layer`` (from :meth:`layer`) over a batch whose observations this potential reads."""
        n = batch.num_envs
        self._check("obs", batch.obs, n)
        self._check("next_obs", batch.next_obs, n)
        return apply_layer(layer, batch)

    def _check(self, name: str, obs: Array, num_envs: int) -> None:
        if tuple(obs.shape) != (num_envs, *self.obs_shape):
            raise ValueError(
                f"the built-in potential of {self.task.name} reads observations of shape "
                f"{self.obs_shape}, but {name} has shape {tuple(obs.shape)} for {num_envs} envs"
            )


@functools.cache
def _shaping_body(potential: Callable[..., float], params: tuple) -> Callable[..., float]:
    """The shaping layer's body for a potential and its parameters, built once."""

    @register_jitable  # never inline="always": numba then drops writes to the argument arrays
    def shape_one(i, reward, valid, obs, next_obs, terminated, args):  # pragma: no cover (compiled)
        gamma, scale, naive, added = args
        phi_next = potential(next_obs, params)
        if naive:
            value = np.float32(scale * phi_next)
        else:
            phi_next = 0.0 if terminated else phi_next
            value = np.float32(scale * (gamma * phi_next - potential(obs, params)))
        added[i] = value
        return reward + value

    return shape_one


@functools.cache
def _values_loop(potential: Callable[..., float], params: tuple) -> Any:
    """The loop evaluating a potential over a batch of rows, built once."""

    @njit(**CPU_OPTIONS)
    def values(obs, out):  # pragma: no cover (compiled)
        for i in range(obs.shape[0]):
            out[i] = potential(obs[i], params)

    return values
