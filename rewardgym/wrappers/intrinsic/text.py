"""The text kind of ``intrinsic``: character n-gram novelty of completions.

``intrinsic(kind='ngram')`` pays ``r + beta * share of the completion's n-grams never seen in
earlier batches``; tokenizing each string is the one per-string Python loop (it has no vectorized
form).

Example:
    >>> regime = NgramNovelty(n=2, beta=1.0)
    >>> regime.name, regime.n
    ('intrinsic', 2)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from rewardgym.core.arrays import Array
from rewardgym.core.regime import EnvContext, Regime
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_flag, check_integer, check_number
from rewardgym.envs.text.answers import MAX_COMPLETION_CHARS, as_strings

# ----------------------------------------------------------------------------------------------
# intrinsic: n-gram novelty


class NgramNovelty(Regime):
    """``r + beta * novelty``: the share of a completion's character n-grams that no completion
    of an earlier batch contained.

    A count-based exploration bonus for text (as token-level novelty rewards in RL for language
    models): a completion made only of phrases seen before earns nothing, a new one up to
    ``beta``. N-grams are hashed into a table of ``2**table_bits`` counters (distinct n-grams may
    share one with probability ~ n-grams / table size, which only ever lowers a bonus). The
    table learns while the layer is training, from real steps only; it is never cleared by
    episode ends (each episode is one completion), only by a seeded reset of the env, which
    starts a new run (a frozen copy keeps its table). Completions shorter than ``n`` characters
    earn no bonus, and so do completions longer than the env's ``max_chars`` (its ``Text`` action
    space's ``max_length``; :data:`~rewardgym.envs.text.answers.MAX_COMPLETION_CHARS` unbound),
    which gold scores 0 unread: they are not hashed, so memory stays bounded by that limit.

    Args:
        n: the n-gram length in characters, ``>= 1``.
        beta: the bonus weight, any finite number.
        table_bits: log2 of the counter table's size, 8..26.
        extrinsic: add the bonus to the incoming reward (True) or pay the bonus alone.

    Example:
        >>> from rewardgym.envs.text.rewards import CompletionReward
        >>> scorer = CompletionReward("add", "intrinsic(kind='ngram', n=3, beta=1.0)")
        >>> [scorer(["q"], ["<answer>3</answer>"], ["3"]).proxy.tolist() for _ in range(2)]
        [[2.0], [1.0]]
    """

    name = "intrinsic"

    def __init__(self, n: int = 3, beta: float = 0.1, table_bits: int = 20, extrinsic: bool = True) -> None:
        self.n = check_integer(n, "intrinsic(kind='ngram'): n", low=1, high=64)
        self.table_bits = check_integer(table_bits, "intrinsic(kind='ngram'): table_bits", low=8, high=26)
        self.extrinsic = check_flag(extrinsic, "intrinsic(kind='ngram'): extrinsic")
        self.beta = check_number(beta, "intrinsic(kind='ngram'): beta")
        self.counts = np.zeros(2**self.table_bits, dtype=np.int64)
        self._last: tuple[np.ndarray, np.ndarray] | None = None
        self._novelty: np.ndarray | None = None
        self.max_chars = MAX_COMPLETION_CHARS

    def bind(self, context: EnvContext) -> None:
        if isinstance(context.action_space, spaces.Text):
            self.max_chars = context.action_space.max_length

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        # The table is the run's books: a seeded reset starts a new run, so the same seed and
        # actions earn the same bonuses (gymnasium's check_env tests it). Evaluation's frozen
        # copy keeps the table the agent was paid by.
        if seed is not None and mask is None and not self.frozen:
            self.counts[:] = 0

    def hashes(self, texts: Any) -> tuple[np.ndarray, np.ndarray]:
        """Each completion's n-gram table slots ``(N, W)`` and which are real ``(N, W)`` bool."""
        texts = as_strings(texts)
        # Tokenizing: each string to its bytes (no vectorized form); the rest is batched. One
        # completion over the limit would otherwise size the whole batch's arrays (18M characters
        # in a batch of 8: 1.1 GiB); it is not read, as gold does not read it.
        rows = [
            np.frombuffer(t.encode("utf-8"), dtype=np.uint8) if len(t) <= self.max_chars else np.zeros(0, np.uint8)
            for t in texts.tolist()
        ]
        lengths = np.array([r.size for r in rows], dtype=np.int64)
        width = max(int(lengths.max(initial=0)), self.n)
        ids = np.zeros((len(rows), width), dtype=np.uint64)
        for i, row in enumerate(rows):
            ids[i, : row.size] = row
        windows = width - self.n + 1
        h = np.zeros((len(rows), windows), dtype=np.uint64)
        for k in range(self.n):  # a loop over the n characters of a gram, not over completions
            h = h * np.uint64(1099511628211) + ids[:, k : k + windows] + np.uint64(1)
        slots = (h * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - self.table_bits)
        real = np.arange(windows)[None, :] < (lengths - self.n + 1)[:, None]
        return slots.astype(np.int64), real

    def reward(self, batch: Transition) -> Array:
        slots, real = self.hashes(batch.action)
        unseen = (self.counts[slots] == 0) & real
        self._novelty = (unseen.sum(1) / np.maximum(real.sum(1), 1)).astype(np.float32)
        self._last = (slots, real)
        bonus = np.float32(self.beta) * self._novelty
        return batch.reward + bonus if self.extrinsic else bonus

    def update(self, batch: Transition) -> dict[str, float]:
        if self._last is None:
            return {}
        slots, real = self._last
        take = real & np.asarray(batch.valid, dtype=bool)[:, None]
        np.add.at(self.counts, slots[take], 1)
        return {}

    def info(self) -> dict[str, Any]:
        return {} if self._novelty is None else {"novelty": self._novelty}
