"""The reward withheld: ``dropout`` pays ``fill`` instead of some rewards, ``delay`` pays them
late (``k`` steps later, or the episode's sum at its end).

Example:
    >>> import gymnasium as gym, rewardgym
    >>> env = gym.make("rewardgym/CartPole-v0", reward="noisy(kind='delay', k='episode')")
    >>> _ = env.reset(seed=0)
    >>> [env.step(1)[1] for _ in range(3)]
    [0.0, 0.0, 0.0]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np

from rewardgym.core.arrays import Array, full_like, is_torch, mask_like, take_per_row, where, zeros
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_flag, check_number, is_integer
from rewardgym.wrappers.noisy.base import Noise

if TYPE_CHECKING:
    import torch

__all__ = ["Delay", "Dropout"]


class Dropout(Noise):
    """The reward withheld with probability ``p``: the agent is paid ``fill`` instead.

    ``info["regime_info"]["noisy"]["dropped"]`` says which envs' rewards were withheld.

    Args:
        p: the probability of withholding a step's reward, in ``[0, 1]``.
        fill: what is paid instead of a withheld reward.

    Example:
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.noisy
        >>> env = gym.make("rewardgym/CartPole-v0", reward="noisy(kind='dropout', p=1.0)")
        >>> _ = env.reset(seed=0)
        >>> _, proxy, _, _, info = env.step(1)
        >>> proxy, info["regime_info"]["noisy"]["dropped"]
        (0.0, True)
    """

    kind = "dropout"

    def __init__(self, p: float = 0.1, fill: float = 0.0) -> None:
        super().__init__()
        self.p = check_number(p, f"noisy(kind={self.kind!r}): p", low=0.0, high=1.0)
        self.fill = check_number(fill, f"noisy(kind={self.kind!r}): fill")
        self._dropped: Any = None

    def reward(self, batch: Transition) -> Array:
        r = batch.reward
        # u is float32 in [0, 1], and may round up to 1.0: p = 1 must still drop every reward.
        u = self.rng.uniform(like=r)
        self._dropped = (u < self.p) | (self.p >= 1.0)
        return where(self._dropped, full_like(r, self.fill), r)

    def info(self) -> dict[str, Any]:
        return {} if self._dropped is None else {"dropped": self._dropped}


class Delay(Noise):
    """The reward paid late: ``k`` steps later, or summed and paid at the episode's end.

    With an integer ``k``, step t of an episode pays the reward of its step ``t - k`` (0 for
    ``t < k``), kept per env in a ring buffer. When the episode ends (terminated or truncated),
    its last step also pays every reward still pending if ``flush`` (so the episode's total is
    unchanged and only its timing moves), or drops them if not. With ``k="episode"`` every step
    pays 0 and the episode's last step pays the episode's sum.

    Nothing leaks across episodes: an env's buffer empties at its episode's end and at every
    reset. Autoreset steps (``valid=False``) neither enter nor advance the buffer.
    ``info["regime_info"]["noisy"]["pending"]`` is the reward each env holds back after the step.

    Args:
        k: the delay in steps, an integer ``>= 1``, or ``"episode"``.
        flush: pay the still-pending rewards on an episode's last step (else they are lost).

    Example:
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.noisy
        >>> env = gym.make("rewardgym/CartPole-v0", reward="noisy(kind='delay', k=2)")
        >>> _ = env.reset(seed=0)
        >>> [env.step(1)[1] for _ in range(3)]
        [0.0, 0.0, 1.0]
    """

    kind = "delay"

    def __init__(self, k: int | str = 1, flush: bool = True) -> None:
        super().__init__()
        if k != "episode" and not (is_integer(k) and int(k) >= 1):
            raise ValueError(f"noisy(kind='delay'): k must be an integer >= 1 or 'episode', got {k!r}")
        self.k = k if k == "episode" else int(k)
        self._width = 1 if k == "episode" else int(k)  # the ring buffer's slots per env
        self.flush = check_flag(flush, f"noisy(kind={self.kind!r}): flush")
        self._buffer: Any = None  # (num_envs, k) rewards awaiting payment; (num_envs, 1) sums
        self._step: Any = None  # per-env step index within the episode

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        super().reset(mask, seed=seed)
        if self._buffer is None:
            return
        if mask is None:  # made again, empty, in the next batch's size, kind and device
            self._buffer = self._step = None
            return
        mask = mask_like(mask, self._buffer)
        self._buffer[mask] = 0
        self._step[mask] = 0

    def reward(self, batch: Transition) -> Array:
        r = batch.reward
        n = r.shape[0]
        if self._buffer is None or tuple(self._buffer.shape) != (n, self._width):
            self._buffer = zeros(r, (n, self._width), "float32")
            self._step = zeros(r, (n,), "int64")
        valid = batch.valid
        ended = valid & batch.done
        zero = full_like(r, 0.0)
        if self.k == "episode":
            total = self._buffer[:, 0] + where(valid, r, zero)
            paid = where(ended, total, zero)
            self._buffer[:, 0] = where(ended, zero, total)
            return paid
        slot = self._step % self._width
        due = take_per_row(self._buffer, slot)  # the reward of step t - k, or 0 early in the episode
        _write_slot(self._buffer, slot, where(valid, r, due))
        paid = where(valid, due, zero)
        if self.flush:
            paid = where(ended, paid + self._buffer.sum(1), paid)
        self._buffer[ended] = 0
        advanced = self._step + (valid.to(self._step.dtype) if is_torch(valid) else valid)
        self._step = where(ended, 0 * self._step, advanced)
        return paid

    def info(self) -> dict[str, Any]:
        return {} if self._buffer is None else {"pending": self._buffer.sum(1)}


def _write_slot(buffer: Array, slot: Array, value: Array) -> None:
    """``buffer[i, slot[i]] = value[i]`` for every row i, in place."""
    if is_torch(buffer):
        buffer.scatter_(1, cast("torch.Tensor", slot)[:, None], cast("torch.Tensor", value)[:, None])
    else:
        buffer[np.arange(buffer.shape[0]), slot] = value
