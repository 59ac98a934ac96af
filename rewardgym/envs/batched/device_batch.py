"""The plumbing a batched vector env shares: buffers on either device, and its input checks.

A batched env keeps its state and outputs in numpy arrays on ``device="cpu"`` and in torch tensors
on ``device="cuda"``; these helpers allocate, view and fill them the same way on both, so an env
class holds only its own logic. :class:`DeviceBatchEnv` is the base of the single-agent
:class:`~rewardgym.envs.batched.vector_env.BatchedVectorEnv` and of the multi-agent vector env,
whose rows are agents.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv

from rewardgym.core.arrays import to_numpy
from rewardgym.envs.batched import device as devices
from rewardgym.envs.batched.actions import first_invalid


class DeviceBatchEnv(VectorEnv):
    """A gymnasium ``VectorEnv`` whose batches live on ``self.device``: the buffer helpers and
    the checks of actions and reset masks that every batched env runs.

    A subclass sets ``device``, ``num_envs``, ``single_action_space``, ``autoreset_mode``,
    ``_action_dtype``, ``_everyone`` (an all-True ``(num_envs,)`` mask), ``_needs_reset`` (which
    instances' episodes ended) and ``_has_reset`` (whether the first reset happened).
    """

    device: str
    autoreset_mode: AutoresetMode
    _action_dtype: type
    _everyone: Any
    _needs_reset: Any
    _has_reset: bool

    def _check_step(self, actions: Any) -> Any:
        """What every step checks before any env moves: a first reset, the actions (returned in
        the kernels' dtype) and, with autoreset DISABLED, that no ended episode awaits a reset."""
        if not self._has_reset:
            raise RuntimeError("call reset() before step() on a rewardgym vector env")
        actions = self._check_actions(actions)
        if self.autoreset_mode is AutoresetMode.DISABLED and bool(self._needs_reset.any()):
            raise RuntimeError(
                "autoreset_mode is DISABLED and some episodes have ended; reset them with "
                "reset(options={'reset_mask': mask}) before stepping again"
            )
        return actions

    # -- input checks -----------------------------------------------------------------------

    def _check_actions(self, actions: Any) -> Any:
        space = self.single_action_space
        expected = self._action_batch_shape
        # What a training loop passes on the CPU, a numpy batch already in the kernels' dtype and
        # shape, skips the conversions: their calls cost a busy step of 4,096 envs ~2 us.
        ready = (
            type(actions) is np.ndarray
            and self.device == "cpu"
            and actions.dtype == self._action_dtype
            and actions.shape == expected
        )
        if not ready:
            actions = self._as_batch(actions)
            if tuple(actions.shape) != expected:
                raise ValueError(
                    f"actions must have shape {expected} (num_envs={self.num_envs}, one action of "
                    f"{space} each), got shape {tuple(actions.shape)}"
                )
            kind = _dtype_kind(actions)
            if isinstance(space, spaces.Discrete) and kind not in "iu":
                raise TypeError(f"actions of {space} must be integers, got dtype {actions.dtype}")
            if isinstance(space, spaces.Box) and kind != "f":
                raise TypeError(f"actions of {space} must be floats, got dtype {actions.dtype}")
        index = first_invalid(actions, space)  # type: ignore[arg-type]  # a task acts in a Discrete or Box
        if index >= 0:
            raise ValueError(
                f"action {to_numpy(actions[index]).tolist()} of env {index} is outside {space}"
                + (
                    ""
                    if isinstance(space, spaces.Discrete)
                    else "; clip actions to the bounds (e.g. gymnasium.wrappers.vector.ClipAction)"
                )
            )
        if isinstance(space, spaces.Discrete) and space.start != 0:
            actions = actions - space.start
        elif ready and actions.flags.c_contiguous:
            return actions
        return self._cast(actions, self._action_dtype)

    @functools.cached_property
    def _action_batch_shape(self) -> tuple[int, ...]:
        """The shape of a step's actions: one action of ``single_action_space`` per env."""
        return (self.num_envs, *(self.single_action_space.shape or ()))

    def _reset_mask(self, options: dict[str, Any] | None) -> Any:
        options = options or {}
        unknown = set(options) - {"reset_mask"}
        if unknown:
            raise ValueError(f"unknown reset option {sorted(unknown)[0]!r}; valid options: reset_mask")
        if "reset_mask" not in options:
            return self._everyone
        mask = self._as_batch(options["reset_mask"])
        if tuple(mask.shape) != (self.num_envs,) or _dtype_kind(mask) != "b":
            raise ValueError(
                f"reset_mask must be a bool array of shape ({self.num_envs},), got "
                f"{getattr(mask, 'dtype', type(mask))} of shape {tuple(mask.shape)}"
            )
        if not self._has_reset and not bool(mask.all()):
            raise RuntimeError("the first reset() must reset every env; pass no reset_mask")
        return mask

    # -- buffers on either device -----------------------------------------------------------

    def _zeros(self, shape: tuple[int, ...], dtype: type) -> Any:
        buffer = self._empty(shape, dtype)
        buffer[...] = 0
        return buffer

    def _empty(self, shape: tuple[int, ...], dtype: type) -> Any:
        if self.device == "cpu":
            return np.empty(shape, dtype=dtype)
        import torch

        return torch.empty(shape, dtype=_torch_dtype(dtype), device=devices.torch_device("cuda"))

    def _view(self, buffer: Any, dtype: type | None = None) -> Any:
        return buffer if self.device == "cpu" else devices.kernel_view(buffer, dtype)

    def _as_batch(self, value: Any) -> Any:
        if self.device == "cpu":
            return to_numpy(value)
        import torch

        return torch.as_tensor(value, device=devices.torch_device("cuda"))

    def _from_numpy(self, array: np.ndarray) -> Any:
        return array if self.device == "cpu" else self._as_batch(array)

    def _cast(self, array: Any, dtype: type) -> Any:
        if self.device == "cpu":
            return np.ascontiguousarray(array, dtype=dtype)
        return array.to(_torch_dtype(dtype)).contiguous()

    def _write(self, buffer: Any, values: np.ndarray, mask: Any) -> None:
        if self.device == "cuda" and values.dtype == np.uint64:
            values = values.view(np.int64)
        values = self._from_numpy(values)
        buffer[mask] = values[mask]


def _dtype_kind(array: Any) -> str:
    """numpy's one-letter dtype kind ('b', 'i', 'u', 'f', ...) for numpy or torch arrays."""
    if isinstance(array, np.ndarray):
        return array.dtype.kind
    if array.dtype.is_floating_point:
        return "f"
    if array.dtype.is_complex:
        return "c"
    return "b" if str(array.dtype) == "torch.bool" else "i"


@functools.cache
def _torch_dtype(dtype: type) -> Any:
    # torch has few uint64 kernels, so the random streams live in int64 tensors and the kernels
    # see them reinterpreted as uint64 (see ``_view``).
    import torch

    names = {
        "float64": "float64",
        "float32": "float32",
        "int64": "int64",
        "uint64": "int64",
        "uint8": "uint8",
        "bool": "bool",
    }
    return getattr(torch, names[np.dtype(dtype).name])
