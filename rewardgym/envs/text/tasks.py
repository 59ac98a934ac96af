"""Procedural text task families: seeded, indexable and verifiable, like reasoning-gym's datasets.

Each family writes a compact prompt (``"12+34="``) whose gold answer (``"46"``) is a function of
the prompt alone. Both halves are numba ``register_jitable`` functions over token-id buffers and
the SplitMix64 streams of :mod:`rewardgym.core.rng`, so one source makes the items of the
token envs (inside the batched kernel, CPU or GPU) and of the completion envs and datasets (in a
compiled batch loop called from Python):

- ``generate(rng, size, buf, off) -> prompt_len`` draws a prompt into ``buf[off:]``;
- ``solve(buf, off, prompt_len, out, out_off) -> answer_len`` writes the gold answer.

The gold verifier of every family is exact match of the answer with ``solve``'s
(:func:`rewardgym.envs.text.rewards.verify`): 1.0 or 0.0, no partial credit.

=============  =====================  =========  ==============================================
task           prompt -> answer       size       difficulty 1..5
=============  =====================  =========  ==============================================
add            ``12+34=`` -> ``46``   digits     1, 2, 3, 4, 5 digits per operand
subtract       ``12-34=`` -> ``-22``  digits     1, 2, 3, 4, 5
multiply       ``12*34=`` -> ``408``  digits     1, 2, 3, 4, 5
copy           ``abc=`` -> ``abc``    letters    3, 5, 8, 12, 16
reverse        ``abc=`` -> ``cba``    letters    3, 5, 8, 12, 16
sort_digits    ``3141=`` -> ``1134``  digits     3, 5, 8, 12, 16
count          ``a:abca=`` -> ``2``   letters    3, 5, 8, 12, 16 (letters a-d; count the first)
parity         ``1011=`` -> ``1``     bits       3, 5, 8, 12, 16 (1 when the ones are odd)
chain          ``(3+4)*2=`` -> ``14`` operations 2, 3, 4, 5, 6 single-digit steps, in order
=============  =====================  =========  ==============================================

Item ``i`` of a dataset seeded ``s`` is drawn from the stream of seed ``s + i``, as
reasoning-gym's ``Random(seed + idx)``; it is also the first item that env ``i`` of a token or
completion vector env seeded ``s`` sees.

Example:
    >>> data = TaskDataset("add", difficulty=2, seed=7, size=3)
    >>> item = data[0]
    >>> item["metadata"]["prompt"], item["answer"]
    ('74+68=', '142')
    >>> data.score_answer("142", item), data.score_answer("<answer>142</answer>", item)
    (1.0, 1.0)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit
from numba.extending import register_jitable

from rewardgym.core.rng import seed_streams, uniform
from rewardgym.envs.text import vocab
from rewardgym.envs.text.answers import score_completion
from rewardgym.envs.text.vocab import (
    COLON,
    DIGIT0,
    EQUALS,
    LETTER_A,
    LPAREN,
    MINUS,
    PLUS,
    RPAREN,
    TIMES,
)

DIFFICULTIES = (1, 2, 3, 4, 5)
"""The difficulty levels every family has."""

ANSWER_FORMAT = "Give only the final answer, between <answer> and </answer>."
"""The last line of every completion-level question."""


# ----------------------------------------------------------------------------------------------
# Jitted building blocks. They run inside numba (CPU and CUDA) and as plain Python (numba's CUDA
# simulator), so they allocate nothing, raise nothing and use no strings.


@register_jitable
def randint(rng: np.ndarray, low: int, high: int) -> int:
    """An int uniform on ``[low, high)`` from the stream ``rng``."""
    value = low + int(uniform(rng, 0.0, float(high - low)))
    return min(value, high - 1)  # float rounding could reach ``high`` for huge ranges


@register_jitable
def pow10(n: int) -> int:
    value = 1
    for _ in range(n):
        value *= 10
    return value


@register_jitable
def draw_number(rng: np.ndarray, digits: int) -> int:
    """A number of exactly ``digits`` digits (``0..9`` for one digit: no leading zero otherwise)."""
    low = 0 if digits == 1 else pow10(digits - 1)
    return randint(rng, low, pow10(digits))


@register_jitable
def write_int(buf: np.ndarray, pos: int, value: int) -> int:
    """Write ``value`` in decimal tokens at ``buf[pos:]``; returns how many tokens it took."""
    count = 0
    if value < 0:
        buf[pos] = MINUS
        pos += 1
        count = 1
        value = -value
    digits = 1
    rest = value
    while rest >= 10:
        rest //= 10
        digits += 1
    for k in range(digits - 1, -1, -1):
        buf[pos + k] = DIGIT0 + value % 10
        value //= 10
    return count + digits


@register_jitable
def is_digit(token: int) -> bool:
    return DIGIT0 <= token < DIGIT0 + 10


@register_jitable
def read_int(buf: np.ndarray, pos: int, end: int) -> tuple[int, int]:
    """The non-negative decimal number at ``buf[pos:end]`` and the position after it."""
    value = 0
    while pos < end and is_digit(int(buf[pos])):
        value = value * 10 + int(buf[pos]) - DIGIT0
        pos += 1
    return value, pos


# -- arithmetic: add, subtract, multiply -------------------------------------------------------


@register_jitable
def _binary_prompt(rng, digits, buf, off, op):
    pos = off
    pos += write_int(buf, pos, draw_number(rng, digits))
    buf[pos] = op
    pos += 1
    pos += write_int(buf, pos, draw_number(rng, digits))
    buf[pos] = EQUALS
    return pos + 1 - off


@register_jitable
def generate_add(rng: np.ndarray, size: int, buf: np.ndarray, off: int) -> int:
    return _binary_prompt(rng, size, buf, off, PLUS)


@register_jitable
def generate_subtract(rng: np.ndarray, size: int, buf: np.ndarray, off: int) -> int:
    return _binary_prompt(rng, size, buf, off, MINUS)


@register_jitable
def generate_multiply(rng: np.ndarray, size: int, buf: np.ndarray, off: int) -> int:
    return _binary_prompt(rng, size, buf, off, TIMES)


@register_jitable
def _apply(op, a, b):
    if op == PLUS:
        return a + b
    if op == MINUS:
        return a - b
    return a * b


@register_jitable
def solve_binary(buf: np.ndarray, off: int, plen: int, out: np.ndarray, out_off: int) -> int:
    """``a op b =`` with ``op`` one of ``+ - *``: all three arithmetic families share it."""
    a, pos = read_int(buf, off, off + plen)
    op = int(buf[pos])
    b, pos = read_int(buf, pos + 1, off + plen)
    return write_int(out, out_off, _apply(op, a, b))


# -- strings: copy, reverse, sort digits, count, parity ----------------------------------------


@register_jitable
def _symbols(rng, length, first, choices, buf, pos):
    for k in range(length):
        buf[pos + k] = first + randint(rng, 0, choices)
    return pos + length


@register_jitable
def generate_letters(rng: np.ndarray, size: int, buf: np.ndarray, off: int) -> int:
    pos = _symbols(rng, size, LETTER_A, 26, buf, off)
    buf[pos] = EQUALS
    return size + 1


@register_jitable
def solve_copy(buf: np.ndarray, off: int, plen: int, out: np.ndarray, out_off: int) -> int:
    for k in range(plen - 1):
        out[out_off + k] = buf[off + k]
    return plen - 1


@register_jitable
def solve_reverse(buf: np.ndarray, off: int, plen: int, out: np.ndarray, out_off: int) -> int:
    n = plen - 1
    for k in range(n):
        out[out_off + k] = buf[off + n - 1 - k]
    return n


@register_jitable
def generate_digits(rng: np.ndarray, size: int, buf: np.ndarray, off: int) -> int:
    pos = _symbols(rng, size, DIGIT0, 10, buf, off)
    buf[pos] = EQUALS
    return size + 1


@register_jitable
def solve_sort_digits(buf: np.ndarray, off: int, plen: int, out: np.ndarray, out_off: int) -> int:
    # A counting sort: no scratch array, so it runs unchanged in a CUDA thread.
    pos = out_off
    for digit in range(10):
        for k in range(plen - 1):
            if int(buf[off + k]) == DIGIT0 + digit:
                out[pos] = DIGIT0 + digit
                pos += 1
    return pos - out_off


COUNT_LETTERS = 4
"""``count`` draws its strings from the first four letters, so counts are rarely zero."""


@register_jitable
def generate_count(rng: np.ndarray, size: int, buf: np.ndarray, off: int) -> int:
    buf[off] = LETTER_A + randint(rng, 0, COUNT_LETTERS)
    buf[off + 1] = COLON
    pos = _symbols(rng, size, LETTER_A, COUNT_LETTERS, buf, off + 2)
    buf[pos] = EQUALS
    return size + 3


@register_jitable
def solve_count(buf: np.ndarray, off: int, plen: int, out: np.ndarray, out_off: int) -> int:
    target = int(buf[off])
    count = 0
    for k in range(off + 2, off + plen - 1):
        if int(buf[k]) == target:
            count += 1
    return write_int(out, out_off, count)


@register_jitable
def generate_bits(rng: np.ndarray, size: int, buf: np.ndarray, off: int) -> int:
    pos = _symbols(rng, size, DIGIT0, 2, buf, off)
    buf[pos] = EQUALS
    return size + 1


@register_jitable
def solve_parity(buf: np.ndarray, off: int, plen: int, out: np.ndarray, out_off: int) -> int:
    ones = 0
    for k in range(off, off + plen - 1):
        if int(buf[k]) == DIGIT0 + 1:
            ones += 1
    out[out_off] = DIGIT0 + ones % 2
    return 1


# -- chain: several arithmetic steps applied in order -------------------------------------------


@register_jitable
def _draw_op(rng):
    k = randint(rng, 0, 3)
    if k == 0:
        return PLUS
    if k == 1:
        return MINUS
    return TIMES


@register_jitable
def generate_chain(rng: np.ndarray, size: int, buf: np.ndarray, off: int) -> int:
    """``size`` operations on single digits, parenthesised so the order is the written one:
    ``((3+4)*2)-5=``."""
    pos = off
    for _ in range(size - 1):
        buf[pos] = LPAREN
        pos += 1
    buf[pos] = DIGIT0 + randint(rng, 0, 10)
    pos += 1
    for step in range(size):
        buf[pos] = _draw_op(rng)
        buf[pos + 1] = DIGIT0 + randint(rng, 0, 10)
        pos += 2
        if step < size - 1:
            buf[pos] = RPAREN
            pos += 1
    buf[pos] = EQUALS
    return pos + 1 - off


@register_jitable
def solve_chain(buf: np.ndarray, off: int, plen: int, out: np.ndarray, out_off: int) -> int:
    end = off + plen
    pos = off
    while int(buf[pos]) == LPAREN:
        pos += 1
    value, pos = read_int(buf, pos, end)
    while pos < end:
        token = int(buf[pos])
        if token == PLUS or token == MINUS or token == TIMES:
            operand, pos = read_int(buf, pos + 1, end)
            value = _apply(token, value, operand)
        else:  # ")" or the final "="
            pos += 1
    return write_int(out, out_off, value)


# ----------------------------------------------------------------------------------------------
# The families as data.


def _digits_of(value: int) -> int:
    return len(str(value))


@dataclass(frozen=True)
class TaskFamily:
    """One procedural task: its jitted generator and solver, sizes and texts.

    Attributes:
        name: the task's name in datasets and reward functions, e.g. ``"add"``.
        env_name: its part of the env ids, e.g. ``"Add"`` in ``rewardgym/TextAdd-v0``.
        instruction: the first line of its completion-level question.
        sizes: the size (digits, letters or operations) at each difficulty 1..5.
        max_prompt_len: the longest prompt at a size, in tokens (without BOS).
        max_answer_len: the longest gold answer at a size, in tokens (without EOS).
        answer_chars: the characters its answers are written in (the format-only agent's).
        generate, solve: the jitted functions (see the module docstring).
    """

    name: str
    env_name: str
    instruction: str
    sizes: tuple[int, ...]
    max_prompt_len: Callable[[int], int]
    max_answer_len: Callable[[int], int]
    answer_chars: str
    generate: Callable[..., int]
    solve: Callable[..., int]

    def size(self, difficulty: int) -> int:
        """The size at a difficulty level, refusing unknown levels by name."""
        return self.sizes[check_difficulty(self.name, difficulty) - 1]


def _chain_answer_len(ops: int) -> int:
    return 1 + _digits_of(9 ** (ops + 1))  # |value| <= 9**(ops+1); plus a minus sign


FAMILIES: dict[str, TaskFamily] = {
    family.name: family
    for family in (
        TaskFamily(
            "add",
            "Add",
            "Add the two numbers.",
            (1, 2, 3, 4, 5),
            lambda n: 2 * n + 2,
            lambda n: n + 1,
            "0123456789",
            generate_add,
            solve_binary,
        ),
        TaskFamily(
            "subtract",
            "Subtract",
            "Subtract the second number from the first.",
            (1, 2, 3, 4, 5),
            lambda n: 2 * n + 2,
            lambda n: n + 1,
            "-0123456789",
            generate_subtract,
            solve_binary,
        ),
        TaskFamily(
            "multiply",
            "Multiply",
            "Multiply the two numbers.",
            (1, 2, 3, 4, 5),
            lambda n: 2 * n + 2,
            lambda n: 2 * n,
            "0123456789",
            generate_multiply,
            solve_binary,
        ),
        TaskFamily(
            "copy",
            "Copy",
            "Copy the string before the '='.",
            (3, 5, 8, 12, 16),
            lambda n: n + 1,
            lambda n: n,
            "abcdefghijklmnopqrstuvwxyz",
            generate_letters,
            solve_copy,
        ),
        TaskFamily(
            "reverse",
            "Reverse",
            "Reverse the string before the '='.",
            (3, 5, 8, 12, 16),
            lambda n: n + 1,
            lambda n: n,
            "abcdefghijklmnopqrstuvwxyz",
            generate_letters,
            solve_reverse,
        ),
        TaskFamily(
            "sort_digits",
            "SortDigits",
            "Sort the digits in ascending order.",
            (3, 5, 8, 12, 16),
            lambda n: n + 1,
            lambda n: n,
            "0123456789",
            generate_digits,
            solve_sort_digits,
        ),
        TaskFamily(
            "count",
            "Count",
            "Count how often the letter before the ':' occurs in the string after it.",
            (3, 5, 8, 12, 16),
            lambda n: n + 3,
            _digits_of,
            "0123456789",
            generate_count,
            solve_count,
        ),
        TaskFamily(
            "parity",
            "Parity",
            "Answer 1 if the bit string has an odd number of ones, else 0.",
            (3, 5, 8, 12, 16),
            lambda n: n + 1,
            lambda n: 1,
            "01",
            generate_bits,
            solve_parity,
        ),
        TaskFamily(
            "chain",
            "Chain",
            "Evaluate the expression; parentheses give the order.",
            (2, 3, 4, 5, 6),
            lambda k: 4 * k,
            _chain_answer_len,
            "-0123456789",
            generate_chain,
            solve_chain,
        ),
    )
}
"""Every task family, by name."""

TASKS = tuple(FAMILIES)
"""The task names, in the order ``rewardgym list`` shows them."""


def family(task: str) -> TaskFamily:
    """The family of a task name, refusing unknown names with the valid ones.

    Example:
        >>> family("add").env_name
        'Add'
        >>> family("reverse_string")
        Traceback (most recent call last):
        ...
        ValueError: unknown text task 'reverse_string' (did you mean 'reverse'?); valid tasks: add, subtract, multiply, copy, reverse, sort_digits, count, parity, chain
    """
    if isinstance(task, str) and task in FAMILIES:
        return FAMILIES[task]
    close = difflib.get_close_matches(str(task), TASKS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(f"unknown text task {task!r}{hint}; valid tasks: {', '.join(TASKS)}")


def check_difficulty(task: str, difficulty: Any) -> int:
    """``difficulty`` as an int if it is a valid level, else ``ValueError`` naming the levels."""
    valid = not isinstance(difficulty, bool) and isinstance(difficulty, (int, np.integer))
    if not valid or int(difficulty) not in DIFFICULTIES:
        raise ValueError(
            f"unknown difficulty {difficulty!r} of text task {task!r}; valid difficulties: "
            f"{', '.join(map(str, DIFFICULTIES))}"
        )
    return int(difficulty)


def question(task: str, prompt: str) -> str:
    """The completion-level question of a compact prompt: instruction, prompt, answer format.

    Example:
        >>> print(question("add", "1+2="))
        Add the two numbers.
        1+2=
        Give only the final answer, between <answer> and </answer>.
    """
    return f"{family(task).instruction}\n{prompt}\n{ANSWER_FORMAT}"


def compact_prompt(text: str) -> str | None:
    """The compact prompt inside a question (its line that ends with ``=``), or None.

    Example:
        >>> compact_prompt(question("copy", "abc="))
        'abc='
    """
    for line in reversed(str(text).splitlines()):
        line = line.strip()
        if line.endswith("="):
            return line
    return None


# ----------------------------------------------------------------------------------------------
# Compiled batch loops: the same jitted functions, called over many items from Python. One
# dispatch on the task's index (its place in TASKS) lets numba cache the loops on disk, so a new
# process loads them instead of compiling nine closures.


@register_jitable
def generate_task(task_id: int, rng: np.ndarray, size: int, buf: np.ndarray, off: int) -> int:
    """``generate`` of the task at ``TASKS[task_id]``."""
    if task_id == 0:
        return generate_add(rng, size, buf, off)
    if task_id == 1:
        return generate_subtract(rng, size, buf, off)
    if task_id == 2:
        return generate_multiply(rng, size, buf, off)
    if task_id == 3 or task_id == 4:
        return generate_letters(rng, size, buf, off)
    if task_id == 5:
        return generate_digits(rng, size, buf, off)
    if task_id == 6:
        return generate_count(rng, size, buf, off)
    if task_id == 7:
        return generate_bits(rng, size, buf, off)
    return generate_chain(rng, size, buf, off)


@register_jitable
def solve_task(task_id: int, buf: np.ndarray, off: int, plen: int, out: np.ndarray, out_off: int) -> int:
    """``solve`` of the task at ``TASKS[task_id]``."""
    if task_id <= 2:
        return solve_binary(buf, off, plen, out, out_off)
    if task_id == 3:
        return solve_copy(buf, off, plen, out, out_off)
    if task_id == 4:
        return solve_reverse(buf, off, plen, out, out_off)
    if task_id == 5:
        return solve_sort_digits(buf, off, plen, out, out_off)
    if task_id == 6:
        return solve_count(buf, off, plen, out, out_off)
    if task_id == 7:
        return solve_parity(buf, off, plen, out, out_off)
    return solve_chain(buf, off, plen, out, out_off)


assert TASKS == (
    "add",
    "subtract",
    "multiply",
    "copy",
    "reverse",
    "sort_digits",
    "count",
    "parity",
    "chain",
)  # the dispatch above relies on this order


@njit(cache=True, nogil=True)
def _generate_batch(task_id, streams, size, prompts, answers, prompt_lens, answer_lens):  # pragma: no cover
    for i in range(streams.shape[0]):
        prompt_lens[i] = generate_task(task_id, streams[i], size, prompts[i], 0)
        answer_lens[i] = solve_task(task_id, prompts[i], 0, prompt_lens[i], answers[i], 0)


@njit(cache=True, nogil=True)
def _solve_batch(task_id, prompts, offsets, prompt_lens, answers, answer_lens):  # pragma: no cover
    for i in range(prompts.shape[0]):
        answer_lens[i] = solve_task(task_id, prompts[i], offsets[i], prompt_lens[i], answers[i], 0)


def task_id(task: str) -> int:
    """The index of a task in :data:`TASKS`, the id the compiled dispatch takes."""
    return TASKS.index(family(task).name)


def generate_items(task: str, size: int, streams: np.ndarray) -> tuple[list[str], list[str]]:
    """Draw one item per stream row (advancing the streams in place): ``(prompts, answers)``.

    ``streams`` is a ``(n, 2)`` uint64 array of :func:`rewardgym.core.rng.seed_streams`
    rows, the very streams the token envs draw their items from.
    """
    fam = FAMILIES[task]
    n = streams.shape[0]
    prompts = np.zeros((n, fam.max_prompt_len(size)), dtype=np.int64)
    answers = np.zeros((n, fam.max_answer_len(size)), dtype=np.int64)
    prompt_lens = np.zeros(n, dtype=np.int64)
    answer_lens = np.zeros(n, dtype=np.int64)
    _generate_batch(task_id(task), streams, size, prompts, answers, prompt_lens, answer_lens)
    return _texts(prompts, prompt_lens), _texts(answers, answer_lens)


def solve_prompts(task: str, prompts: Sequence[str]) -> list[str | None]:
    """The gold answer of each compact prompt (or question holding one); None where a prompt is
    not one of the task's (wrong characters or no ``=`` line).

    Example:
        >>> solve_prompts("chain", ["((3+4)*2)-5=", "no task here"])
        ['9', None]
    """
    family(task)
    compact = [compact_prompt(p) for p in prompts]
    ids = [vocab.encode(p) if p is not None else None for p in compact]
    ok = [x is not None and _well_formed(task, x) for x in ids]
    rows = [x for x, good in zip(ids, ok) if good and x is not None]
    if not rows:
        return [None] * len(prompts)
    width = max(len(r) for r in rows)
    buf = np.zeros((len(rows), width), dtype=np.int64)
    lens = np.array([len(r) for r in rows], dtype=np.int64)
    for i, row in enumerate(rows):
        buf[i, : len(row)] = row
    # Any well-formed prompt's answer is at most twice as long (a product of two 9-digit numbers).
    answers = np.zeros((len(rows), 2 * width + 2), dtype=np.int64)
    answer_lens = np.zeros(len(rows), dtype=np.int64)
    _solve_batch(task_id(task), buf, np.zeros_like(lens), lens, answers, answer_lens)
    solved = iter(_texts(answers, answer_lens))
    return [next(solved) if good else None for good in ok]


_PROMPT_PATTERNS = {
    "add": r"[0-9]+\+[0-9]+=",
    "subtract": r"[0-9]+-[0-9]+=",
    "multiply": r"[0-9]+\*[0-9]+=",
    "copy": r"[a-z]+=",
    "reverse": r"[a-z]+=",
    "sort_digits": r"[0-9]+=",
    "count": r"[a-d]:[a-d]+=",
    "parity": r"[01]+=",
    "chain": r"\(*[0-9]([-+*][0-9]\)?)+=",
}


def _well_formed(task: str, ids: np.ndarray) -> bool:
    """Whether a compact prompt is one the task's solver reads correctly (its generator's form)."""
    text = vocab.decode(ids)
    if len(text) > 256 or len(text) != len(ids):  # UNK tokens decode longer than one character
        return False
    if not re.fullmatch(_PROMPT_PATTERNS[task], text):
        return False
    if task in ("add", "subtract", "multiply"):
        return all(len(part) <= 9 for part in re.split(r"[-+*=]", text) if part)  # int64-safe
    if task == "chain":
        return sum(text.count(op) for op in "+-*") <= 9  # |value| <= 9**10 fits an int64
    return True


def _texts(ids: np.ndarray, lens: np.ndarray) -> list[str]:
    return [vocab.decode(row[:n]) for row, n in zip(ids, lens)]


# ----------------------------------------------------------------------------------------------
# Datasets, reasoning-gym style.


class SeededItems(Sequence):
    """A dataset of ``size`` items drawn from ``seed``: item ``i`` comes from the stream of
    ``seed + i``, so the same seed and index give the same item anywhere. A subclass sets ``seed``
    and ``size`` (checked by :meth:`_check_seed_and_size`) and draws many items at once in
    ``items(indices)``; indexing and iteration are here.

    Example:
        >>> TaskDataset("add", seed=0, size=3)[5]
        Traceback (most recent call last):
        ...
        IndexError: index 5 is out of range for a dataset of 3 items
    """

    seed: int
    size: int

    def _check_seed_and_size(self, seed: Any, size: Any) -> None:
        for name, value, low in (("seed", seed, 0), ("size", size, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{type(self).__name__} {name} must be an integer >= {low}, got {value!r}")
        self.seed = int(seed)
        self.size = int(size)

    def items(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        """Many items at once."""
        raise NotImplementedError

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict[str, Any]:  # type: ignore[override]
        if isinstance(index, slice):
            raise TypeError(f"{type(self).__name__} takes one index at a time; use items(indices) for many")
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"a {type(self).__name__} index must be an int, got {type(index).__name__}")
        if not -self.size <= index < self.size:
            raise IndexError(f"index {index} is out of range for a dataset of {self.size} items")
        return self.items([int(index) % self.size])[0]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        chunk = 1024
        for start in range(0, self.size, chunk):
            yield from self.items(range(start, min(self.size, start + chunk)))


class TaskDataset(SeededItems):
    """``size`` items of a task at a difficulty, indexable: the same seed and index give the same
    item, in any process and on any machine.

    Items are dicts as in reasoning-gym: ``{"question", "answer", "metadata"}``; the metadata
    holds the task, difficulty, seed, index and the compact ``prompt``. :meth:`score_answer` is
    the gold verifier applied to a completion (answer tags, fallback and limits as in
    :func:`rewardgym.envs.text.rewards.extract_answer`).

    Example:
        >>> data = TaskDataset("reverse", seed=1, size=2)
        >>> [item["metadata"]["prompt"] for item in data], data[1]["answer"]
        (['jyb=', 'kcv='], 'vck')
    """

    def __init__(self, task: str, *, difficulty: int = 1, seed: int = 0, size: int = 500) -> None:
        self.family = family(task)
        self.task = task
        self.difficulty = check_difficulty(task, difficulty)
        self._check_seed_and_size(seed, size)

    def items(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        """Many items at once, generated in one compiled loop."""
        index_array = np.asarray(list(indices), dtype=np.int64)
        streams = seed_streams((self.seed + index_array).astype(np.uint64))
        prompts, answers = generate_items(self.task, self.family.size(self.difficulty), streams)
        return [
            {
                "question": question(self.task, prompt),
                "answer": answer,
                "metadata": {
                    "task": self.task,
                    "difficulty": self.difficulty,
                    "seed": self.seed,
                    "index": int(index),
                    "prompt": prompt,
                },
            }
            for index, prompt, answer in zip(index_array, prompts, answers)
        ]

    def score_answer(self, answer: str | None, entry: dict[str, Any]) -> float:
        """The gold score of a completion (or a bare answer) for an item: 1.0 or 0.0."""
        if answer is None:
            return 0.0
        return score_completion(answer, entry["answer"])
