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

import numpy as np
from numba import njit

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
        """Add a step; return the totals of the episodes that ``done`` ends (None if none end).

        Entries of envs whose episode goes on are 0 in the report (gymnasium's vector-info
        convention: only the entries under the mask mean anything).
        """
        if self._sums is None:
            self.reset(proxy)
        assert self._sums is not None  # reset() made them
        proxy_sum, gold_sum, length = self._sums
        report: list[Array] | np.ndarray
        if is_torch(proxy):
            # On the GPU deciding whether anything ended would cost a device sync: always report.
            proxy_sum += proxy
            gold_sum += gold
            length += valid
            report = [copy(proxy_sum), copy(gold_sum), proxy_sum - gold_sum, copy(length)]
            for column in report:
                fill_where(column, ~done, 0.0)
            self.reset(proxy, done)
        else:
            report = np.empty((4, proxy.shape[0]))
            if not _accumulate(proxy_sum, gold_sum, length, proxy, np.asarray(gold), valid, done, report):
                return None
        return dict(zip(("proxy", "gold", "gap", "length"), report))


@njit(nogil=True, cache=True)
def _accumulate(proxy_sum, gold_sum, length, proxy, gold, valid, done, report):  # pragma: no cover
    """The CPU monitor in one compiled pass: a dozen numpy passes cost ~50 us at 4096 envs.

    Branch-free (selects, not ifs), so that the compiler vectorises it: with ~5% of envs ending
    at each step an ``if done`` mispredicts, and the branchy loop took twice as long.
    """
    any_done = False
    for i in range(proxy.shape[0]):
        d = done[i]
        p = proxy_sum[i] + proxy[i]
        g = gold_sum[i] + gold[i]
        n = length[i] + valid[i]
        report[0, i] = p if d else 0.0
        report[1, i] = g if d else 0.0
        report[2, i] = p - g if d else 0.0
        report[3, i] = n if d else 0.0
        proxy_sum[i] = 0.0 if d else p
        gold_sum[i] = 0.0 if d else g
        length[i] = 0.0 if d else n
        any_done |= d
    return any_done
