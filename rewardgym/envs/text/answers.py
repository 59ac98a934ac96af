"""Answer extraction and the gold verifier of every text task, and the checks on completions.

**Extraction** (:func:`extract_answer`). The answer is the text inside the *last* well-formed
``<answer>...</answer>`` pair, stripped of surrounding whitespace (the last, because models often
restate the format before answering; tags are case-sensitive). The documented fallback:

- ``fallback="last_token"`` (default): a completion with *no* tag fragment at all is answered by
  its last whitespace-separated token, without trailing ``.,;:!?`` ("The sum is 46." -> "46");
- ``fallback="none"``: such a completion has no answer.

Malformed tags (an ``<answer>`` never closed, a ``</answer>`` never opened) give no answer: a
half-tagged completion is not rescued by the fallback. Empty completions and completions longer
than ``max_chars`` (default :data:`MAX_COMPLETION_CHARS`) have no answer and score zero;
completions that are not strings raise ``TypeError``.

**Gold** (:func:`verify`): 1.0 when the extracted answer equals the task's answer exactly, else
0.0. It is the same rule as the token envs' (their answer is the tokens before EOS).

Example:
    >>> extract_answer("I think <answer> 46 </answer>"), extract_answer("so 46.")
    ('46', '46')
    >>> extract_answer("<answer>46"), extract_answer("46", fallback="none")
    (None, None)
    >>> score_completions(["<answer>46</answer>", "<answer>45</answer>", ""], ["46"] * 3).tolist()
    [1.0, 0.0, 0.0]
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

OPEN_TAG, CLOSE_TAG = "<answer>", "</answer>"
FALLBACKS = ("last_token", "none")
"""The ways :func:`extract_answer` may answer a completion without tags."""
MAX_COMPLETION_CHARS = 16384
"""Completions longer than this score zero unparsed (an answer is never that long)."""
PRINTABLE = string.printable
"""The charset of the completion envs' ``Text`` spaces: ASCII letters, digits, punctuation and
whitespace."""
_TRAILING = ".,;:!?"


def check_fallback(fallback: Any) -> str:
    if fallback not in FALLBACKS:
        raise ValueError(f"unknown answer fallback {fallback!r}; valid fallbacks: {', '.join(FALLBACKS)}")
    return fallback


def check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_max_chars(max_chars: Any) -> int:
    return check_positive_int(max_chars, "max_chars")


def extract_answer(
    completion: str, *, fallback: str = "last_token", max_chars: int = MAX_COMPLETION_CHARS
) -> str | None:
    """The answer in a completion, or None (see the module docstring for the rules).

    Example:
        >>> extract_answer("<answer>1</answer> no, <answer>2</answer>")
        '2'
        >>> extract_answer("7</answer>"), extract_answer("<answer><answer>7</answer>")
        (None, '7')
        >>> extract_answer(""), extract_answer("x" * 20, max_chars=10)
        (None, None)
    """
    if not isinstance(completion, str):
        raise TypeError(f"a completion must be a str, got {type(completion).__name__}")
    check_fallback(fallback)
    if not completion or len(completion) > max_chars:
        return None
    close = completion.rfind(CLOSE_TAG)
    if close >= 0:
        # The innermost opening tag before the last closing one: "<answer><answer>7</answer>" -> 7.
        open_ = completion.rfind(OPEN_TAG, 0, close)
        if open_ < 0:
            return None  # "7</answer>": closed but never opened, malformed
        return completion[open_ + len(OPEN_TAG) : close].strip()
    if OPEN_TAG in completion or fallback == "none":
        return None  # an unclosed tag: malformed, no fallback
    tokens = completion.split()
    if not tokens:
        return None
    return tokens[-1].rstrip(_TRAILING) or None


def has_answer_tags(completion: str) -> bool:
    """Whether a completion holds a well-formed ``<answer>...</answer>`` pair (a format check).

    Example:
        >>> has_answer_tags("<answer>3</answer>"), has_answer_tags("3"), has_answer_tags("<answer>3")
        (True, False, False)
    """
    if not isinstance(completion, str):
        raise TypeError(f"a completion must be a str, got {type(completion).__name__}")
    close = completion.rfind(CLOSE_TAG)
    return close >= 0 and completion.rfind(OPEN_TAG, 0, close) >= 0


def verify(answer: str | None, gold: str) -> float:
    """The gold verifier of every text task: 1.0 when ``answer == gold`` exactly, else 0.0.

    Example:
        >>> verify("46", "46"), verify("046", "46"), verify(None, "46")
        (1.0, 0.0, 0.0)
    """
    return 1.0 if answer is not None and answer == gold else 0.0


def score_completion(
    completion: str, gold: str, *, fallback: str = "last_token", max_chars: int = MAX_COMPLETION_CHARS
) -> float:
    """The gold score of one completion: :func:`verify` of :func:`extract_answer`."""
    return verify(extract_answer(completion, fallback=fallback, max_chars=max_chars), gold)


def check_completions(completions: Any, num: int | None = None, *, what: str = "completions") -> list[str]:
    """``completions`` as a list of ``str``, refusing anything else by index and type."""
    if isinstance(completions, (str, bytes)) or not isinstance(completions, (Sequence, np.ndarray)):
        raise TypeError(f"{what} must be a sequence of str (one per env), got {type(completions).__name__}")
    completions = list(completions)
    if num is not None and len(completions) != num:
        raise ValueError(f"{what} must hold {num} strings (one per env), got {len(completions)}")
    for index, completion in enumerate(completions):
        if not isinstance(completion, str):
            raise TypeError(f"{what}[{index}] must be a str, got {type(completion).__name__}: {completion!r:.80}")
    return completions


def score_completions(
    completions: Sequence[str],
    golds: Sequence[str],
    *,
    fallback: str = "last_token",
    max_chars: int = MAX_COMPLETION_CHARS,
) -> np.ndarray:
    """Gold scores of a batch, float32 ``(n,)``.

    Strings are parsed one by one (Python has no batched string kernel); everything around the
    parse, from the regimes on, is batched.
    """
    fallback, max_chars = check_fallback(fallback), check_max_chars(max_chars)
    completions = check_completions(completions)
    if len(golds) != len(completions):
        raise ValueError(f"got {len(completions)} completions but {len(golds)} gold answers")
    return np.array(
        [verify(extract_answer(c, fallback=fallback, max_chars=max_chars), g) for c, g in zip(completions, golds)],
        dtype=np.float32,
    )


def text_space(max_length: int, *, min_length: int = 0) -> spaces.Text:
    """A gymnasium ``Text`` space over :data:`PRINTABLE`."""
    return spaces.Text(max_length, min_length=min_length, charset=PRINTABLE)


def as_object_array(texts: Sequence[str]) -> np.ndarray:
    """A 1-d numpy object array of strings: the batch type of prompts and completions.

    Object arrays keep each string whole (a ``<U`` array would cut longer ones when assigned into).
    """
    out = np.empty(len(texts), dtype=object)
    out[:] = list(texts)
    return out


STRING_DTYPE = np.dtypes.StringDType()


def as_strings(texts: Any) -> np.ndarray:
    """A batch of texts (tuple, list or object array of ``str``) as a ``StringDType`` array."""
    if isinstance(texts, str):
        raise TypeError("a batch of texts must be a sequence of str, got one str")
    array = np.asarray(list(texts) if not isinstance(texts, np.ndarray) else texts, dtype=object)
    bad = [i for i, t in enumerate(array.tolist()) if not isinstance(t, str)] if array.dtype == object else []
    if bad:
        raise TypeError(
            f"text regimes need completions of type str; item {bad[0]} is "
            f"{type(array[bad[0]]).__name__}: is this a rewardgym/TextCompletion env?"
        )
    try:
        return array.astype(STRING_DTYPE)
    except UnicodeEncodeError:
        # A lone surrogate ("\ud800", what a byte-level decoder can emit) has no UTF-8 form, and
        # StringDType stores UTF-8. It is one character to Python's str, as the gold path reads
        # it: score it as one replacement character.
        return np.array([_LONE_SURROGATE.sub("\ufffd", t) for t in array.tolist()], dtype=STRING_DTYPE)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def tag_positions(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The last closing tag and the innermost opening tag before it (-1 where missing), as
    :func:`extract_answer` reads them."""
    close = np.strings.rfind(texts, CLOSE_TAG)
    open_ = np.strings.rfind(texts, OPEN_TAG, 0, np.maximum(close, 0))
    return open_, close


def well_formed(texts: Any) -> np.ndarray:
    """Whether each completion holds exactly one ``<answer>...</answer>`` pair, in that order,
    around a non-empty answer (bool ``(N,)``).

    Example:
        >>> well_formed(["<answer>3</answer>", "<answer> </answer>", "<answer>3", "a</answer><answer>b</answer>"]).tolist()
        [True, False, False, False]
    """
    texts = as_strings(texts)
    open_, close = tag_positions(texts)
    one_pair = (np.strings.count(texts, OPEN_TAG) == 1) & (np.strings.count(texts, CLOSE_TAG) == 1)
    inner = np.strings.strip(np.strings.slice(texts, open_ + len(OPEN_TAG), np.maximum(close, 0)))
    return one_pair & (open_ >= 0) & (np.strings.str_len(inner) > 0)
