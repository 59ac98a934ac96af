"""``rewardgym/CodeDSL-v0``: write a list-processing program one token at a time, graded by examples.

A small DSL after DeepCoder's (Balog et al. 2017): a program is a pipeline of stages applied, in
order, to one input list of digits. Every value is a list of digits ``0-9`` (a scalar result is a
list of one), arithmetic wraps modulo 10, and no program can fail at run time: a malformed one
(an argument missing or in the wrong place) produces no output, which matches nothing.

===============  =====  =====================================================================
token            id     meaning (``xs`` is the current list)
===============  =====  =====================================================================
``EOS``          0      ends the program (and the episode)
``0`` .. ``9``   1-10   a digit: a run of digits is a literal list that replaces ``xs``
                        (``3 1 4`` is ``[3, 1, 4]``); after ``TAKE``/``DROP``, their argument
``SORT``         11     ascending order
``REVERSE``      12     reversed
``SUM``          13     ``[sum(xs) % 10]`` (``[0]`` for an empty list)
``MAX``          14     ``[max(xs)]`` (``[]`` for an empty list)
``MIN``          15     ``[min(xs)]`` (``[]`` for an empty list)
``COUNT``        16     ``[len(xs) % 10]``
``HEAD``         17     ``xs[:1]``
``LAST``         18     ``xs[-1:]``
``TAKE d``       19     ``xs[:d]`` (``d`` a digit token)
``DROP d``       20     ``xs[d:]``
``MAP f``        21     ``f`` of each element, ``f`` one of ``+1 -1 *2`` (mod 10)
``FILTER p``     22     the elements where ``p`` holds, ``p`` one of ``EVEN ODD >4``
``+1 -1 *2``     23-25  the functions ``MAP`` takes
``EVEN ODD >4``  26-28  the predicates ``FILTER`` takes
===============  =====  =====================================================================

The empty program is the identity. The observation adds four tokens no program writes: ``PAD``
(29), ``IN`` (30), ``OUT`` (31) and ``PROG`` (32).

**An episode.** Reset draws a hidden target program of ``difficulty`` stages (1-4; a reducer,
``SUM``..``LAST``, only as the last stage; ``TAKE``/``DROP`` take 1-3), then ``visible + hidden``
input lists (2-5 digits each) and their outputs under the target. The agent writes the program
(``Discrete(29)``, one token a step); ``EOS`` or a full token budget (``max_new_tokens``; by
default the longer of two tokens per stage and the longest output, plus one) ends the episode,
``terminated``, and scores the tokens written before ``EOS``. Every other step pays 0.

- **Observation**: ``MultiDiscrete(58 x 33)``, int64: four example slots, each ``IN``, the input's
  digits, ``OUT``, the output's digits (each padded to 5 with ``PAD``; slots past ``visible`` all
  ``PAD``), then ``PROG`` and the 9 program slots (``PAD`` until written). Nothing hidden.
- **Proxy** (the env's reward): the share of the *visible* examples whose output the program
  reproduces exactly.
- **Gold** (``info["gold_reward"]``): the share of the *hidden* examples it reproduces: whether
  it computes the function, not the shown answers.
- **The hack**: constants. A literal program that writes a visible output (``4 EOS``) reproduces
  every visible example with that output and, off them, only outputs that happen to be equal.
  Copying the first shown output (measured at difficulty 1 on 2000 episodes) earns a proxy of
  0.53 with two visible examples (0.97 with one, 0.38 with three) and a gold of 0.08 (0.15 where
  the target reduces to one digit, 0.02 where it returns a list); the target itself earns 1 and 1.

Params: ``difficulty`` (1-4, stages), ``visible`` (1-4 examples shown; default 2), ``hidden``
(1-16 examples held out; default 8), ``max_new_tokens`` (1-9; 0, the default, for the
difficulty's). Items come from the env's SplitMix64 stream inside the kernel, so env ``i`` of a
vector env seeded ``s`` plays as a single env seeded ``s + i``, on the CPU and the GPU alike.

Example:
    >>> import gymnasium as gym
    >>> _ = register_code_dsl_env()
    >>> env = gym.make("rewardgym/CodeDSL-v0")
    >>> obs, _ = env.reset(seed=29)
    >>> decode_window(obs)
    'IN 1 0 7 6 8 OUT 0 1 6 7 8 | IN 7 1 3 OUT 1 3 7 | PROG'
    >>> for token in encode("SORT EOS"):
    ...     obs, reward, terminated, truncated, info = env.step(token)
    >>> reward, info["gold_reward"], terminated, truncated
    (1.0, 1.0, True, False)

    The hack: both visible outputs of seed 21 are ``0``, so the constant ``0`` earns the whole
    proxy, while ``MIN`` (the target) is the program that also earns the whole gold:

    >>> obs, _ = env.reset(seed=21)
    >>> decode_window(obs)
    'IN 0 8 8 OUT 0 | IN 9 0 7 1 OUT 0 | PROG'
    >>> for token in encode("0 EOS"):
    ...     obs, reward, terminated, truncated, info = env.step(token)
    >>> reward, info["gold_reward"]
    (1.0, 0.375)
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from gymnasium import spaces
from numba import njit
from numba.extending import register_jitable

from rewardgym.core.validation import check_integer
from rewardgym.envs.batched.task import BatchedTask
from rewardgym.envs.text.tasks import randint

__all__ = [
    "CODE_DSL",
    "DIFFICULTIES",
    "TOKENS",
    "CodeDSLParams",
    "decode",
    "decode_window",
    "encode",
    "hidden_program",
    "interpret",
    "register_code_dsl_env",
]

# -- the vocabulary ------------------------------------------------------------------------------

EOS = 0
DIGIT0 = 1
"""The id of the digit ``0``; digit ``d`` is ``DIGIT0 + d``."""
SORT, REVERSE, SUM, MAX, MIN, COUNT, HEAD, LAST, TAKE, DROP, MAP, FILTER = range(11, 23)
INC, DEC, DOUBLE = 23, 24, 25
"""The functions ``MAP`` takes: ``+1``, ``-1``, ``*2`` (modulo 10)."""
EVEN, ODD, BIG = 26, 27, 28
"""The predicates ``FILTER`` takes: ``EVEN``, ``ODD``, ``>4``."""
NUM_PROGRAM_TOKENS = 29
"""The tokens a program is written in: the action space is ``Discrete(29)``."""
PAD, IN, OUT, PROG = 29, 30, 31, 32
"""Observation-only tokens: padding and the markers of inputs, outputs and the program."""
VOCAB_SIZE = 33

TOKENS: tuple[str, ...] = (
    ("EOS",)
    + tuple(str(d) for d in range(10))
    + ("SORT", "REVERSE", "SUM", "MAX", "MIN", "COUNT", "HEAD", "LAST", "TAKE", "DROP", "MAP", "FILTER")
    + ("+1", "-1", "*2", "EVEN", "ODD", ">4", "PAD", "IN", "OUT", "PROG")
)
"""Every token's text, indexed by id."""
assert len(TOKENS) == VOCAB_SIZE and TOKENS[SORT] == "SORT" and TOKENS[BIG] == ">4" and TOKENS[PROG] == "PROG"
_IDS = {text: i for i, text in enumerate(TOKENS)}

# -- sizes ---------------------------------------------------------------------------------------

DIFFICULTIES = (1, 2, 3, 4)
"""The difficulty levels: the number of stages of the hidden target program."""
MIN_LEN, MAX_LEN = 2, 5
"""Input lists hold 2 to 5 digits; no output is longer than its input."""
MAX_VISIBLE, MAX_HIDDEN = 4, 16
MAX_BUDGET = 9
"""The most tokens a program may have, ``EOS`` included (four two-token stages and ``EOS``)."""
MAX_TARGET = 2 * len(DIFFICULTIES)
"""The longest target program: four stages of at most two tokens."""
EXAMPLE_CELLS = 2 * (MAX_LEN + 1)
"""One example in the state: the input's length and digits, the output's length and digits."""
SLOT_CELLS = 2 * (MAX_LEN + 1)
"""One example in the observation: ``IN``, 5 input slots, ``OUT``, 5 output slots."""
PROGRAM_START = MAX_VISIBLE * SLOT_CELLS + 1
"""The window slot of the program's first token (after the examples and ``PROG``)."""
WINDOW = PROGRAM_START + MAX_BUDGET
"""58: the observation's length."""

# The state row of one instance (float64; every entry is a small int).
GENERATED, VISIBLE, HIDDEN, TARGET_LEN = 0, 1, 2, 3
TARGET = 4
"""The target program's tokens, ``MAX_TARGET`` cells from here."""
EXAMPLES = TARGET + MAX_TARGET
"""The examples, visible first, ``EXAMPLE_CELLS`` each."""
SCRATCH = EXAMPLES + (MAX_VISIBLE + MAX_HIDDEN) * EXAMPLE_CELLS
"""The interpreter's working list (``MAX_BUDGET`` cells: a literal may be that long)."""
PROGRAM = SCRATCH + MAX_BUDGET
"""The tokens the agent has written."""
STATE_SIZE = PROGRAM + MAX_BUDGET

REDUCERS = np.array([SUM, MAX, MIN, COUNT, HEAD, LAST], np.int64)
LIST_OPS = np.array([SORT, REVERSE, TAKE, DROP, MAP, FILTER], np.int64)
ALL_OPS = np.concatenate([LIST_OPS, REDUCERS])


class CodeDSLParams(NamedTuple):
    """The compiled-in constants of the env (see the module docstring)."""

    difficulty: int = 1
    visible: int = 2
    hidden: int = 8
    max_new_tokens: int = 0


# -- the interpreter: runs in the kernels (CPU and CUDA) and as plain Python (the simulator) -----


@register_jitable
def _is_digit(token: int) -> bool:
    return DIGIT0 <= token < DIGIT0 + 10


@register_jitable
def _sort(buf: np.ndarray, start: int, n: int) -> None:
    for j in range(start + 1, start + n):  # insertion sort: no scratch memory
        value = buf[j]
        k = j - 1
        while k >= start and buf[k] > value:
            buf[k + 1] = buf[k]
            k -= 1
        buf[k + 1] = value


@register_jitable
def _apply(token: int, arg: int, buf: np.ndarray, start: int, n: int) -> int:
    """Apply one stage (``token``, with argument ``arg`` where it takes one) to the list of ``n``
    digits at ``buf[start:]`` in place; returns the new length."""
    if token == SORT:
        _sort(buf, start, n)
    elif token == REVERSE:
        for k in range(n // 2):
            value = buf[start + k]
            buf[start + k] = buf[start + n - 1 - k]
            buf[start + n - 1 - k] = value
    elif token == SUM:
        total = 0
        for k in range(n):
            total += int(buf[start + k])
        buf[start] = total % 10
        n = 1
    elif token == MAX or token == MIN:
        if n > 0:
            best = buf[start]
            for k in range(1, n):
                value = buf[start + k]
                if (token == MAX and value > best) or (token == MIN and value < best):
                    best = value
            buf[start] = best
            n = 1
    elif token == COUNT:
        buf[start] = n % 10
        n = 1
    elif token == HEAD:
        n = min(n, 1)
    elif token == LAST:
        if n > 0:
            buf[start] = buf[start + n - 1]
            n = 1
    elif token == TAKE:
        n = min(n, arg)
    elif token == DROP:
        cut = min(arg, n)
        for k in range(n - cut):
            buf[start + k] = buf[start + k + cut]
        n -= cut
    elif token == MAP:
        for k in range(n):
            value = int(buf[start + k])
            if arg == INC:
                value = (value + 1) % 10
            elif arg == DEC:
                value = (value + 9) % 10
            else:
                value = (2 * value) % 10
            buf[start + k] = value
    else:  # FILTER
        kept = 0
        for k in range(n):
            value = int(buf[start + k])
            if (arg == EVEN and value % 2 == 0) or (arg == ODD and value % 2 == 1) or (arg == BIG and value > 4):
                buf[start + kept] = value
                kept += 1
        n = kept
    return n


@register_jitable
def run_program(
    prog: np.ndarray, prog_start: int, prog_len: int, data: np.ndarray, src: int, buf: np.ndarray, start: int
) -> int:
    """Run the program ``prog[prog_start : prog_start + prog_len]`` (token ids) on the list at
    ``data[src]`` (its length, then its digits); the output is left at ``buf[start:]``. Returns the
    output's length, or -1 for a malformed program (no output). ``buf`` holds ``MAX_BUDGET``
    digits from ``start``: no list a program of the budget makes is longer. Allocates nothing and
    raises nothing, so the step kernels run it on every target.

    Example:
        >>> prog = np.array(encode("MAP +1 REVERSE"), np.float64)
        >>> data, buf = np.array([3.0, 4, 0, 9]), np.zeros(MAX_BUDGET)
        >>> n = run_program(prog, 0, 3, data, 0, buf, 0)
        >>> buf[:n].tolist()
        [0.0, 1.0, 5.0]
    """
    n = int(data[src])
    for k in range(n):
        buf[start + k] = data[src + 1 + k]
    pos = 0
    literal = False
    while pos < prog_len:
        token = int(prog[prog_start + pos])
        pos += 1
        if _is_digit(token):
            if not literal:
                n = 0
                literal = True
            buf[start + n] = token - DIGIT0
            n += 1
            continue
        literal = False
        arg = 0
        if token == TAKE or token == DROP:
            if pos >= prog_len or not _is_digit(int(prog[prog_start + pos])):
                return -1
            arg = int(prog[prog_start + pos]) - DIGIT0
            pos += 1
        elif token == MAP:
            if pos >= prog_len:
                return -1
            arg = int(prog[prog_start + pos])
            if arg != INC and arg != DEC and arg != DOUBLE:
                return -1
            pos += 1
        elif token == FILTER:
            if pos >= prog_len:
                return -1
            arg = int(prog[prog_start + pos])
            if arg != EVEN and arg != ODD and arg != BIG:
                return -1
            pos += 1
        elif token < SORT or token > FILTER:
            return -1  # EOS, an argument or a marker where a stage belongs
        n = _apply(token, arg, buf, start, n)
    return n


@register_jitable
def _example(k: int) -> int:
    return EXAMPLES + k * EXAMPLE_CELLS


@register_jitable
def _matches(state: np.ndarray, n: int, example: int) -> bool:
    out = example + MAX_LEN + 1
    if n != int(state[out]):
        return False
    for k in range(n):
        if state[SCRATCH + k] != state[out + 1 + k]:
            return False
    return True


@register_jitable
def _score(state: np.ndarray, length: int, first: int, count: int) -> float:
    """The share of examples ``first .. first + count - 1`` the written program reproduces."""
    right = 0
    for k in range(first, first + count):
        n = run_program(state, PROGRAM, length, state, _example(k), state, SCRATCH)
        if _matches(state, n, _example(k)):
            right += 1
    return right / count


@register_jitable
def budget(params: CodeDSLParams) -> int:
    """Tokens the agent may write, ``EOS`` included: ``max_new_tokens``, or where that is 0 the
    longer of the difficulty's longest program and the longest output, plus one for ``EOS``.

    Example:
        >>> budget(CodeDSLParams(difficulty=1)), budget(CodeDSLParams(difficulty=4)), budget(CodeDSLParams(max_new_tokens=2))
        (6, 9, 2)
    """
    if params.max_new_tokens > 0:
        return params.max_new_tokens
    return max(2 * params.difficulty, MAX_LEN) + 1


@register_jitable
def step(state: np.ndarray, action: int, params: CodeDSLParams) -> tuple[float, float, bool]:
    """Write one token; at ``EOS`` or the budget's end, run the program on every example and pay
    ``(proxy, gold, True)``: the shares of the visible and of the hidden examples reproduced."""
    written = int(state[GENERATED])
    state[PROGRAM + written] = action
    written += 1
    state[GENERATED] = written
    if action == EOS or written >= budget(params):
        length = written - 1 if action == EOS else written
        proxy = _score(state, length, 0, params.visible)
        gold = _score(state, length, MAX_VISIBLE, params.hidden)
        return proxy, gold, True
    return 0.0, 0.0, False


@register_jitable
def _draw_stage(state: np.ndarray, rng: np.ndarray, pos: int, ops: np.ndarray, previous: int) -> int:
    """Write one stage drawn from ``ops`` (not ``previous`` again) at ``state[pos:]``; returns its
    token count."""
    k = randint(rng, 0, ops.shape[0])
    if ops[k] == previous:
        k = (k + 1) % ops.shape[0]
    op = ops[k]
    state[pos] = op
    if op == TAKE or op == DROP:
        state[pos + 1] = DIGIT0 + randint(rng, 1, 4)
        return 2
    if op == MAP:
        state[pos + 1] = INC + randint(rng, 0, 3)
        return 2
    if op == FILTER:
        state[pos + 1] = EVEN + randint(rng, 0, 3)
        return 2
    return 1


@register_jitable
def reset(state: np.ndarray, rng: np.ndarray, params: CodeDSLParams) -> None:
    """Draw a target program and the visible and hidden examples (inputs, and outputs by running
    the target) from the instance's stream; nothing written yet."""
    state[GENERATED] = 0
    state[VISIBLE] = params.visible
    state[HIDDEN] = params.hidden
    length = 0
    previous = -1
    for stage in range(params.difficulty):
        ops = ALL_OPS if stage == params.difficulty - 1 else LIST_OPS
        previous_pos = TARGET + length
        length += _draw_stage(state, rng, previous_pos, ops, previous)
        previous = int(state[previous_pos])
    state[TARGET_LEN] = length
    for k in range(MAX_VISIBLE + MAX_HIDDEN):
        example = _example(k)
        if (k < MAX_VISIBLE and k >= params.visible) or k >= MAX_VISIBLE + params.hidden:
            state[example] = 0
            state[example + MAX_LEN + 1] = 0
            continue
        n = randint(rng, MIN_LEN, MAX_LEN + 1)
        state[example] = n
        for j in range(n):
            state[example + 1 + j] = randint(rng, 0, 10)
        out = run_program(state, TARGET, length, state, example, state, SCRATCH)
        state[example + MAX_LEN + 1] = out
        for j in range(out):
            state[example + MAX_LEN + 2 + j] = state[SCRATCH + j]


@register_jitable
def observe(state: np.ndarray, obs: np.ndarray) -> None:
    """The window: each visible example's ``IN`` digits ``OUT`` digits, then ``PROG`` and the
    tokens written, ``PAD`` elsewhere."""
    visible = int(state[VISIBLE])
    for j in range(obs.shape[0]):
        obs[j] = PAD
    for k in range(visible):
        example = _example(k)
        slot = k * SLOT_CELLS
        obs[slot] = IN
        for j in range(int(state[example])):
            obs[slot + 1 + j] = DIGIT0 + int(state[example + 1 + j])
        obs[slot + MAX_LEN + 1] = OUT
        out = example + MAX_LEN + 1
        for j in range(int(state[out])):
            obs[slot + MAX_LEN + 2 + j] = DIGIT0 + int(state[out + 1 + j])
    obs[PROGRAM_START - 1] = PROG
    for j in range(int(state[GENERATED])):
        obs[PROGRAM_START + j] = int(state[PROGRAM + j])


# -- parameters and the task ---------------------------------------------------------------------


def check_params(params: CodeDSLParams) -> None:
    """Refuse parameters outside their ranges, naming the valid values.

    Example:
        >>> check_params(CodeDSLParams(difficulty=5))
        Traceback (most recent call last):
        ...
        ValueError: unknown difficulty 5 of CodeDSL; valid difficulties: 1, 2, 3, 4
    """
    if isinstance(params.difficulty, bool) or params.difficulty not in DIFFICULTIES:
        valid = ", ".join(map(str, DIFFICULTIES))
        raise ValueError(f"unknown difficulty {params.difficulty!r} of CodeDSL; valid difficulties: {valid}")
    check_integer(params.difficulty, "CodeDSL difficulty")  # 1.0 is not a level
    check_integer(params.visible, "CodeDSL visible (examples shown)", low=1, high=MAX_VISIBLE)
    check_integer(params.hidden, "CodeDSL hidden (held-out examples)", low=1, high=MAX_HIDDEN)
    check_integer(params.max_new_tokens, "CodeDSL max_new_tokens (0: the difficulty's)", low=0, high=MAX_BUDGET)


CODE_DSL = BatchedTask(
    name="CodeDSL",
    state_size=STATE_SIZE,
    observation_space=spaces.MultiDiscrete(np.full(WINDOW, VOCAB_SIZE, dtype=np.int64)),
    action_space=spaces.Discrete(NUM_PROGRAM_TOKENS),
    params=CodeDSLParams(),
    step=step,
    reset=reset,
    observe=observe,
    # The token budget ends every episode first (terminated); this limit only fires if lowered.
    max_episode_steps=MAX_BUDGET + 1,
    gold="share of the hidden input/output examples the written program reproduces exactly",
    reference="DeepCoder-style list DSL (Balog et al. 2017): map, filter, sort, take, sum, ...; "
    f"difficulties {DIFFICULTIES[0]}-{DIFFICULTIES[-1]} stages",
    modality="code",
    proxy="share of the visible input/output examples (in the observation) the program reproduces",
    hack="write a visible output as a literal constant (e.g. '4 EOS'): paid for the shown "
    "examples it matches, gold only by coincidence",
    check_params=check_params,
)
"""The batched task of ``rewardgym/CodeDSL-v0``."""


def register_code_dsl_env() -> str:
    """Register ``rewardgym/CodeDSL-v0`` (idempotent); returns its id.

    Example:
        >>> register_code_dsl_env()
        'rewardgym/CodeDSL-v0'
    """
    from rewardgym.envs.registration import register_task

    return register_task(CODE_DSL)


# -- Python helpers --------------------------------------------------------------------------------


def encode(program: str | Sequence[str]) -> list[int]:
    """Token ids of a program written as space-separated token texts (or a list of them).

    Example:
        >>> encode("MAP +1 SUM EOS")
        [21, 23, 13, 0]
        >>> encode("SORTED")
        Traceback (most recent call last):
        ...
        ValueError: unknown CodeDSL token 'SORTED' (did you mean 'SORT'?); valid tokens: EOS, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, SORT, REVERSE, SUM, MAX, MIN, COUNT, HEAD, LAST, TAKE, DROP, MAP, FILTER, +1, -1, *2, EVEN, ODD, >4
    """
    words = program.split() if isinstance(program, str) else list(program)
    ids = []
    for word in words:
        if word not in _IDS or _IDS[word] >= NUM_PROGRAM_TOKENS:
            close = difflib.get_close_matches(str(word), TOKENS[:NUM_PROGRAM_TOKENS], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            valid = ", ".join(TOKENS[:NUM_PROGRAM_TOKENS])
            raise ValueError(f"unknown CodeDSL token {word!r}{hint}; valid tokens: {valid}")
        ids.append(_IDS[word])
    return ids


def decode(tokens: Sequence[int] | np.ndarray) -> str:
    """Token ids as space-separated texts.

    Example:
        >>> decode([22, 26, 16])
        'FILTER EVEN COUNT'
    """
    return " ".join(TOKENS[int(t)] for t in tokens)


def decode_window(obs: Sequence[int] | np.ndarray) -> str:
    """An observation as text: each shown example's ``IN ... OUT ...`` (padding dropped), then
    ``PROG`` and what has been written.

    Example:
        >>> obs = np.full(WINDOW, PAD); obs[:3] = [IN, DIGIT0 + 7, OUT]; obs[PROGRAM_START - 1] = PROG
        >>> decode_window(obs)
        'IN 7 OUT | PROG'
    """
    row = np.asarray(obs).ravel()
    parts = []
    for k in range(MAX_VISIBLE):
        slot = row[k * SLOT_CELLS : (k + 1) * SLOT_CELLS]
        if slot[0] == IN:
            parts.append(decode([t for t in slot if t != PAD]))
    program = [t for t in row[PROGRAM_START - 1 :] if t != PAD]
    return " | ".join([*parts, decode(program)])


def hidden_program(state: np.ndarray) -> str:
    """The hidden target program of one instance's state row (for tests and analysis; a policy
    never sees it).

    Example:
        >>> import gymnasium as gym
        >>> env = gym.make(register_code_dsl_env())
        >>> _ = env.reset(seed=21)
        >>> hidden_program(env.unwrapped.state)
        'MIN'
    """
    row = np.asarray(state).ravel()
    return decode(row[TARGET : TARGET + int(row[TARGET_LEN])])


@njit(cache=True, nogil=True)
def _interpret(prog, inputs, outputs):  # pragma: no cover - compiled
    lengths = np.empty(inputs.shape[0], np.int64)
    for i in range(inputs.shape[0]):
        lengths[i] = run_program(prog, 0, prog.shape[0], inputs[i], 0, outputs[i], 0)
    return lengths


def interpret(program: str | Sequence[int], inputs: Sequence[Sequence[int]]) -> list[list[int] | None]:
    """Run a program (text, or token ids without ``EOS``) on input lists of digits with the
    kernels' own interpreter; ``None`` where it is malformed.

    Example:
        >>> interpret("FILTER ODD MAP *2 SORT", [[3, 4, 7], [2]])
        [[4, 6], []]
        >>> interpret("3 1 4", [[5]]), interpret("TAKE", [[5]])
        ([[3, 1, 4]], [None])
    """
    ids = encode(program) if isinstance(program, str) else [int(t) for t in program]
    prog = np.array(ids, dtype=np.float64)
    rows = np.zeros((len(inputs), 1 + MAX_BUDGET), np.float64)
    for i, xs in enumerate(inputs):
        if len(xs) > MAX_LEN or any(not 0 <= int(x) <= 9 for x in xs):
            raise ValueError(f"inputs must be lists of at most {MAX_LEN} digits 0-9, got {list(xs)!r}")
        rows[i, 0] = len(xs)
        rows[i, 1 : 1 + len(xs)] = xs
    if len(prog) > MAX_BUDGET:
        raise ValueError(f"a program has at most {MAX_BUDGET} tokens, got {len(prog)}")
    outputs = np.zeros((len(inputs), MAX_BUDGET), np.float64)
    lengths = _interpret(prog, rows, outputs) if len(inputs) else np.zeros(0, np.int64)
    return [None if n < 0 else [int(v) for v in out[:n]] for out, n in zip(outputs, lengths)]
