"""The character vocabulary of rewardgym's text tasks: four special tokens and 43 characters.

Token ids are small integers: ``PAD`` (0) fills the unused end of an observation window, ``BOS``
(1) starts every prompt, ``EOS`` (2) ends a generated answer, and ``UNK`` (3) stands for any
character outside the vocabulary (so an answer holding one can never match gold). The characters
follow: the digits, the lowercase letters, then ``+-*=:()``.

The constants are plain module-level ints so that numba compiles them into the task kernels.

Example:
    >>> ids = encode("12+34=", bos=True)
    >>> ids.tolist()
    [1, 5, 6, 40, 7, 8, 43]
    >>> decode(ids), decode(encode("x?y"))
    ('12+34=', 'x<unk>y')
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>", "<unk>")

CHARS = "0123456789abcdefghijklmnopqrstuvwxyz+-*=:()"
"""The characters the tasks' prompts and answers are written in, in id order from 4."""

DIGIT0 = 4
"""The id of ``"0"``; digit ``d`` is ``DIGIT0 + d``."""
LETTER_A = 14
"""The id of ``"a"``; letter ``k`` of the alphabet is ``LETTER_A + k``."""
PLUS, MINUS, TIMES, EQUALS, COLON, LPAREN, RPAREN = 40, 41, 42, 43, 44, 45, 46

VOCAB_SIZE = len(SPECIAL_TOKENS) + len(CHARS)
"""47: the size of the token envs' ``Discrete`` action space."""

TOKENS: tuple[str, ...] = SPECIAL_TOKENS + tuple(CHARS)
"""Every token's text, indexed by id."""

_BYTE_TO_ID = np.full(256, UNK, dtype=np.int64)
_BYTE_TO_ID[np.frombuffer(CHARS.encode("ascii"), dtype=np.uint8)] = np.arange(len(CHARS)) + DIGIT0
_ID_TO_TEXT = np.array(TOKENS, dtype=object)

assert TOKENS[DIGIT0] == "0" and TOKENS[LETTER_A] == "a"  # the jitted tasks rely on these ids
assert [TOKENS[t] for t in (PLUS, MINUS, TIMES, EQUALS, COLON, LPAREN, RPAREN)] == list("+-*=:()")


def encode(text: str, *, bos: bool = False, eos: bool = False) -> np.ndarray:
    """The token ids of ``text`` (int64), one per character; characters outside the vocabulary
    (including any non-ASCII one) become ``UNK``.

    Example:
        >>> encode("ab", eos=True).tolist()
        [14, 15, 2]
    """
    if not isinstance(text, str):
        raise TypeError(f"encode takes a str, got {type(text).__name__}")
    raw = text.encode("latin-1", errors="replace")
    # latin-1 "replace" writes '?' for code points above 255, and '?' is UNK too.
    ids = _BYTE_TO_ID[np.frombuffer(raw, dtype=np.uint8)]
    parts = ([np.array([BOS])] if bos else []) + [ids] + ([np.array([EOS])] if eos else [])
    return np.concatenate(parts).astype(np.int64) if len(parts) > 1 else ids


def decode(ids: Sequence[int] | np.ndarray, *, keep_special: bool = False) -> str:
    """The text of token ids. Without ``keep_special``, PAD, BOS and EOS are dropped (UNK shows as
    ``<unk>``); ids outside the vocabulary raise ``ValueError``.

    Example:
        >>> decode([1, 5, 40, 6, 43, 2, 0]), decode([1, 5, 2], keep_special=True)
        ('1+2=', '<bos>1<eos>')
    """
    ids = np.asarray(ids)
    if ids.size and (ids.min() < 0 or ids.max() >= VOCAB_SIZE or not np.all(ids == np.floor(ids))):
        bad = ids[(ids < 0) | (ids >= VOCAB_SIZE) | (ids != np.floor(ids))][0]
        raise ValueError(f"token id {bad!r} is outside the vocabulary; valid ids: 0..{VOCAB_SIZE - 1}")
    ids = ids.astype(np.int64)
    if not keep_special:
        ids = ids[(ids != PAD) & (ids != BOS) & (ids != EOS)]
    return "".join(_ID_TO_TEXT[ids])


def split_window(window: Sequence[int] | np.ndarray) -> tuple[str, str]:
    """A token env's observation window as ``(prompt, generated)`` text.

    Every prompt ends with its only ``=``, so what follows the first ``=`` was generated; EOS
    and padding are dropped.

    Example:
        >>> split_window([1, 5, 40, 6, 43, 7, 2, 0])
        ('1+2=', '3')
    """
    ids = np.asarray(window).astype(np.int64)
    ends = np.flatnonzero(ids == EQUALS)
    cut = int(ends[0]) + 1 if ends.size else ids.shape[0]
    generated = ids[cut:]
    stop = np.flatnonzero((generated == EOS) | (generated == PAD))
    if stop.size:
        generated = generated[: stop[0]]
    return decode(ids[:cut]), decode(generated)
