"""The episode monitor: what every episode paid the agent (proxy) and what it achieved (gold).

Both shells keep one :class:`EpisodeReturns`. On the step where an episode ends they put its
totals in ``info["episode_returns"]``:

- ``"proxy"``: the sum of the rewards the agent received (after every regime);
- ``"gold"``: the sum of ``info["gold_reward"]``, the true objective;
- ``"gap"``: ``proxy - gold``, what the agent was paid beyond what it achieved (reward hacking
  shows up as a gap that grows while gold stalls or falls);
- ``"length"``: the number of real steps (autoreset steps do not count).

A single env reports floats; a vector env reports ``(num_envs,)`` arrays, valid where
``info["_episode_returns"]`` is True (gymnasium's vector-info convention). Nested shells each
report; the outermost, whose proxy is what the agent sees, has the last word.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> env = gym.make("rewardgym/CartPole-v0", reward="scale(factor=2)")
    >>> _ = env.reset(seed=0)
    >>> done = False
    >>> while not done:
    ...     _, _, terminated, truncated, info = env.step(0)
    ...     done = terminated or truncated
    >>> episode = info["episode_returns"]
    >>> episode["proxy"] == 2 * episode["gold"] == 2 * episode["length"], episode["gap"] == episode["gold"]
    (True, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rewardgym.core.arrays import Array, is_torch, where


class EpisodeReturns:
    """Running per-env sums of proxy and gold rewards, reported when episodes end."""

    def __init__(self) -> None:
        self._proxy: Any = None
        self._gold: Any = None
        self._length: Any = None

    def reset(self, like: Array, mask: Array | None = None) -> None:
        """Start new episodes: every env, or those in ``mask``. ``like`` sets kind and size."""
        if self._proxy is None or mask is None or tuple(self._proxy.shape) != tuple(like.shape):
            self._proxy, self._gold, self._length = _zeros(like), _zeros(like), _zeros(like)
        else:
            self._proxy, self._gold, self._length = (
                where(mask, 0.0, self._proxy), where(mask, 0.0, self._gold), where(mask, 0.0, self._length)
            )

    def step(self, proxy: Array, gold: Array, valid: Array, done: Array) -> dict[str, Array] | None:
        """Add a step; return the totals of the episodes that ``done`` ends (None if none end)."""
        if self._proxy is None:
            self.reset(proxy)
        self._proxy = self._proxy + proxy
        self._gold = self._gold + gold
        self._length = self._length + valid
        # On the GPU deciding whether anything ended would cost a device sync: always report.
        if not is_torch(done) and not done.any():
            return None
        report = {"proxy": self._proxy, "gold": self._gold, "gap": self._proxy - self._gold, "length": self._length}
        self.reset(proxy, done)
        return report


def _zeros(like: Array) -> Array:
    if is_torch(like):
        import torch

        return torch.zeros(like.shape, dtype=torch.float64, device=like.device)
    return np.zeros(like.shape, dtype=np.float64)
