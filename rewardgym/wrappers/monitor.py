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

from rewardgym.core.arrays import Array, copy, fill_where, is_torch, zeros


class EpisodeReturns:
    """Running per-env sums of proxy and gold rewards, reported when episodes end."""

    def __init__(self) -> None:
        self._sums: tuple[Array, Array, Array] | None = None  # proxy, gold, length

    def reset(self, like: Array, mask: Array | None = None) -> None:
        """Start new episodes: every env, or those in ``mask``. ``like`` sets kind and size."""
        if self._sums is None or mask is None or tuple(self._sums[0].shape) != tuple(like.shape):
            self._sums = (zeros(like, dtype="float64"), zeros(like, dtype="float64"), zeros(like, dtype="float64"))
        else:
            for total in self._sums:
                fill_where(total, mask, 0.0)

    def step(self, proxy: Array, gold: Array, valid: Array, done: Array) -> dict[str, Array] | None:
        """Add a step; return the totals of the episodes that ``done`` ends (None if none end)."""
        if self._sums is None:
            self.reset(proxy)
        proxy_sum, gold_sum, length = self._sums
        # In place: the monitor runs on every step, and fresh arrays per step cost more than the sums.
        proxy_sum += proxy
        gold_sum += gold
        length += valid
        # On the GPU deciding whether anything ended would cost a device sync: always report.
        if not is_torch(done) and not done.any():
            return None
        report = {"proxy": copy(proxy_sum), "gold": copy(gold_sum), "gap": proxy_sum - gold_sum, "length": copy(length)}
        self.reset(proxy, done)
        return report
