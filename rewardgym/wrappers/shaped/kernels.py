"""Compiles a task's built-in potential into shaping kernels, as
:mod:`rewardgym.envs.batched.kernels` compiles a task's dynamics into step kernels.

One per-instance body (``shape_one``) shapes one env's reward with the task's
``potential(obs_row, params)``. It is wrapped by a thin loop per target:

- ``"cpu"``: ``numba.njit``, for numpy batches (and torch batches on the CPU, through numpy
  views): one pass over the batch where numpy would make a dozen;
- ``"cuda"``: ``numba.cuda.jit``, one thread per env, for torch batches on the GPU; under
  numba's CUDA simulator it runs on torch CPU tensors, as the engine's ``device="cuda"`` does.

A third loop, ``"values"``, evaluates the potential over a batch for reading it. Each loop is built
once per potential and parameters, which are compiled in as constants.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

# A module-level import: numba's CUDA simulator finds ``cuda`` in a kernel's globals to swap in
# its per-thread fake, which it cannot do for a name bound in a closure.
from numba import cuda, njit
from numba.extending import register_jitable

from rewardgym.core.arrays import Array, is_torch, mask_like, to_numpy
from rewardgym.core.transition import Transition
from rewardgym.envs.batched.device import cuda_simulated, kernel_stream, kernel_view
from rewardgym.envs.batched.kernels import CPU_OPTIONS, CUDA_THREADS_PER_BLOCK
from rewardgym.envs.batched.task import BatchedTask


class CompiledPotential:
    """A task's built-in potential, compiled: shaping whole batches, and the potential's values.

    Numpy batches run on the CPU kernel; torch batches run on the CUDA kernel on the GPU (or under
    numba's CUDA simulator), and on the CPU kernel otherwise. Observations of float32 or float64
    are read as they are, any other dtype as float64.

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
        self._loop = functools.partial(_loop, task.potential, task.params)

    def values(self, obs: Array) -> Array:
        """The potential of each observation of a batch ``(num_envs, *obs_shape)``: float64, of
        the batch's kind (numpy or torch) and device."""
        self._check("obs", obs, len(obs))
        rows = _floats(to_numpy(obs))
        out = np.empty(len(rows), np.float64)
        self._loop("values")(rows, out)
        if is_torch(obs):
            import torch

            return torch.as_tensor(out, device=obs.device)
        return out

    def shaping(self, batch: Transition, gamma: float, scale: float, naive: bool) -> tuple[Array, Array]:
        """``(reward + added, added)``, float32 like the reward batch, where ``added`` is
        ``scale * (gamma * Phi(s') - Phi(s))`` with ``Phi(s') = 0`` where the step terminated, or
        ``scale * Phi(s')`` if ``naive``."""
        n = batch.num_envs
        self._check("obs", batch.obs, n)
        self._check("next_obs", batch.next_obs, n)
        reward = batch.reward
        if not is_torch(reward):
            return self._shaping_on_cpu(batch.obs, batch.next_obs, reward, batch.terminated, gamma, scale, naive)
        if reward.is_cuda or cuda_simulated():
            return self._shaping_on_device(batch, gamma, scale, naive)
        import torch

        # A torch batch on the CPU: the CPU loop, on numpy views of its tensors.
        obs, next_obs, terminated = to_numpy(batch.obs), to_numpy(batch.next_obs), to_numpy(batch.terminated)
        out, added = self._shaping_on_cpu(obs, next_obs, to_numpy(reward), terminated, gamma, scale, naive)
        return torch.from_numpy(out), torch.from_numpy(added)

    def _shaping_on_cpu(
        self,
        obs: Array,
        next_obs: Array,
        reward: np.ndarray,
        terminated: Array,
        gamma: float,
        scale: float,
        naive: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        out = np.empty(len(reward), np.float32)
        added = np.empty(len(reward), np.float32)
        self._loop("cpu")(
            _floats(obs), _floats(next_obs), reward, np.asarray(terminated), gamma, scale, naive, out, added
        )
        return out, added

    def _shaping_on_device(self, batch: Transition, gamma: float, scale: float, naive: bool) -> tuple[Array, Array]:
        import torch

        reward = batch.reward
        n = batch.num_envs
        out = torch.empty(n, dtype=torch.float32, device=reward.device)
        added = torch.empty(n, dtype=torch.float32, device=reward.device)
        if n == 0:
            return out, added
        inputs = (_floats(batch.obs), _floats(batch.next_obs), reward, mask_like(batch.terminated, reward))
        views = (kernel_view(torch.as_tensor(x, device=out.device).detach()) for x in inputs)
        threads = min(CUDA_THREADS_PER_BLOCK, n)
        self._loop("cuda")[math.ceil(n / threads), threads, kernel_stream()](
            *views, gamma, scale, naive, kernel_view(out), kernel_view(added)
        )
        return out, added

    def _check(self, name: str, obs: Array, num_envs: int) -> None:
        if tuple(obs.shape) != (num_envs, *self.obs_shape):
            raise ValueError(
                f"the built-in potential of {self.task.name} reads observations of shape "
                f"{self.obs_shape}, but {name} has shape {tuple(obs.shape)} for {num_envs} envs"
            )


def _floats(obs: Array) -> Array:
    """Observations as the kernels read them: one flat row per env (a grid's cells in C order, as
    the engine's ``observe`` writes them), float32 and float64 as they are, other dtypes (integers,
    bools, half floats) as float64, which holds any of them exactly."""
    obs = obs.reshape(obs.shape[0], math.prod(obs.shape[1:]))  # not -1: an empty batch has no size to infer
    if is_torch(obs):
        import torch

        return obs if obs.dtype in (torch.float32, torch.float64) else obs.to(torch.float64)
    return obs if obs.dtype.char in "fd" else obs.astype(np.float64)


@functools.cache
def _loop(potential: Callable[..., float], params: tuple, target: str) -> Any:
    """The ``target`` loop (``"cpu"``, ``"cuda"`` or ``"values"``) of a potential, built once."""
    if target == "values":

        @njit(**CPU_OPTIONS)
        def values(obs, out):  # pragma: no cover (compiled)
            for i in range(obs.shape[0]):
                out[i] = potential(obs[i], params)

        return values

    @register_jitable(inline="always")
    def shape_one(i, obs, next_obs, reward, terminated, gamma, scale, naive, out, added):
        phi_next = potential(next_obs[i], params)
        if naive:
            value = np.float32(scale * phi_next)
        else:
            phi_next = 0.0 if terminated[i] else phi_next  # a select, not a branch: it vectorises
            value = np.float32(scale * (gamma * phi_next - potential(obs[i], params)))
        added[i] = value
        out[i] = reward[i] + value

    if target == "cpu":

        @njit(**CPU_OPTIONS)
        def cpu_loop(obs, next_obs, reward, terminated, gamma, scale, naive, out, added):  # pragma: no cover
            for i in range(reward.shape[0]):
                shape_one(i, obs, next_obs, reward, terminated, gamma, scale, naive, out, added)

        return cpu_loop
    if target == "cuda":

        @cuda.jit
        def cuda_loop(obs, next_obs, reward, terminated, gamma, scale, naive, out, added):
            i = cuda.grid(1)
            if i < reward.shape[0]:
                shape_one(i, obs, next_obs, reward, terminated, gamma, scale, naive, out, added)

        return cuda_loop
    raise ValueError(f"unknown shaping target {target!r}; valid: cpu, cuda, values")
