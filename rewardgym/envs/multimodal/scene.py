"""What every instruction-following scene shares: shapes, colours, the state layout, the grammar, painting.

A scene is a ``GRID x GRID`` board holding up to :data:`MAX_OBJECTS` coloured shapes and an agent,
with an instruction drawn from a small grammar:

- ``go to the <colour> <shape>`` (GoToShape);
- ``put the <colour> <shape> <relation> the <colour> <shape>`` (ArrangeShapes), where
  ``<relation>`` is ``left of``, ``right of``, ``above``, ``below`` or ``next to``: the first
  shape on the cell immediately left of (right of, above, below, any side of) the second.

An instance's state is one float64 row (the engine's ``state[i]``) laid out as

``[agent row, agent col, objects, relation, object 0 (colour, shape, row, col), ..., tokens]``

Object 0 is the shape the instruction names first, object 1 the second (ArrangeShapes); the
others are distractors. Whether the instruction holds is read off this state
(:func:`instruction_holds`), never off pixels: that is the scenes' gold.

The observation is the picture and the instruction: an ``IMAGE x IMAGE x 3`` uint8 image (each
cell ``CELL x CELL`` pixels: black floor, grey grid lines, the shapes in their colours, the agent a
white frame round its cell, so a shape it stands on stays visible) and :data:`INSTRUCTION_LENGTH`
token ids of :data:`VOCAB`, padded with ``<pad>``. Everything here is a ``register_jitable``
function of one instance, compiled into the engine's CPU and CUDA kernels.

Example:
    >>> encode_instruction("go to the red triangle").tolist()
    [1, 2, 3, 11, 19, 0, 0, 0, 0, 0]
    >>> decode_instruction(encode_instruction("put the blue square left of the green circle"))
    'put the blue square left of the green circle'
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces
from numba.extending import register_jitable

from rewardgym.core.rng import uniform
from rewardgym.envs.batched.task import BatchedTask

GRID = 6
"""Cells per side of the board."""
CELL = 8
"""Pixels per side of a cell."""
IMAGE = GRID * CELL
"""Pixels per side of the image: 48, small enough to train a CNN on two cores."""

COLOURS = ("red", "green", "blue", "purple", "yellow", "grey")
"""The colours, BabyAI's six."""
COLOUR_RGB = np.array([(255, 0, 0), (0, 255, 0), (0, 0, 255), (112, 39, 195), (255, 255, 0), (100, 100, 100)], np.uint8)
"""Each colour's RGB, BabyAI's palette."""
SHAPES = ("square", "circle", "triangle")
"""The shapes."""
RELATIONS = ("left of", "right of", "above", "below", "next to")
"""Where ArrangeShapes' first shape must end up, relative to the second."""
ROW_OFFSET = np.array([0, 0, -1, 1], np.int64)
COL_OFFSET = np.array([-1, 1, 0, 0], np.int64)
"""Per relation but ``next to``: the first shape's cell minus the second's."""
NEXT_TO = 4

ACTION_NAMES = ("up", "down", "left", "right")
"""The four moves, as ``Discrete(4)`` actions (the gridworlds' order)."""
ROW_STEP = np.array([-1, 1, 0, 0], np.int64)
COL_STEP = np.array([0, 0, -1, 1], np.int64)

# -- the instruction's tokens --------------------------------------------------------------------

WORDS = ("<pad>", "go", "to", "the", "put", "left", "right", "of", "above", "below", "next")
VOCAB = WORDS + COLOURS + SHAPES
"""Every token of the grammar, indexed by token id; ``<pad>`` (0) fills the instruction out."""
PAD, GO, TO, THE, PUT, LEFT, RIGHT, OF, ABOVE, BELOW, NEXT = range(len(WORDS))
FIRST_COLOUR = len(WORDS)
FIRST_SHAPE = FIRST_COLOUR + len(COLOURS)
VOCAB_SIZE = len(VOCAB)
INSTRUCTION_LENGTH = 10
"""Tokens per instruction, padded: the longest (``put the ... next to the ...``) takes 10."""

RELATION_TOKENS = np.array([[LEFT, OF], [RIGHT, OF], [ABOVE, PAD], [BELOW, PAD], [NEXT, TO]], np.int64)
"""Each relation's one or two words (``PAD`` where it has one)."""

# -- the state layout ----------------------------------------------------------------------------

MAX_OBJECTS = 8
"""Shapes on a board at most: the hardest level's two named shapes and six distractors."""
AGENT_ROW, AGENT_COL, NUM_OBJECTS, RELATION = range(4)
OBJECTS = 4
"""Where object 0's ``(colour, shape, row, col)`` starts; object ``k``'s is ``4 * k`` further."""
COLOUR, SHAPE, ROW, COL = range(4)
TOKENS = OBJECTS + 4 * MAX_OBJECTS
STATE_SIZE = TOKENS + INSTRUCTION_LENGTH

OBSERVATION_SPACE = spaces.Dict(
    {
        "image": spaces.Box(0, 255, (IMAGE, IMAGE, 3), np.uint8),
        "instruction": spaces.MultiDiscrete(np.full(INSTRUCTION_LENGTH, VOCAB_SIZE), dtype=np.uint8),
    }
)
"""Every scene's observation: the picture and the instruction's token ids."""


# -- the grammar, in Python -----------------------------------------------------------------------


class Instruction(NamedTuple):
    """A parsed instruction: the named shape(s) as indices of :data:`COLOURS`/:data:`SHAPES`, and
    for ``put`` the relation's index in :data:`RELATIONS` (-1 for ``go to``)."""

    colour: int
    shape: int
    relation: int = -1
    colour_b: int = -1
    shape_b: int = -1


def parse_instruction(text: str) -> Instruction:
    """The instruction ``text`` says, refusing any text outside the grammar by naming the problem.

    Example:
        >>> parse_instruction("go to the red triangle")
        Instruction(colour=0, shape=2, relation=-1, colour_b=-1, shape_b=-1)
        >>> parse_instruction("put the blue square above the grey circle")
        Instruction(colour=2, shape=0, relation=2, colour_b=5, shape_b=1)
        >>> parse_instruction("go to the pink triangle")
        Traceback (most recent call last):
        ...
        ValueError: instruction 'go to the pink triangle': unknown colour 'pink'; valid: red, green, blue, purple, yellow, grey
    """
    if not isinstance(text, str):
        raise TypeError(f"an instruction is a str, got {type(text).__name__}")
    words = text.lower().split()

    def fail(problem: str) -> ValueError:
        return ValueError(f"instruction {text!r}: {problem}")

    def shape_at(k: int) -> tuple[int, int]:
        if len(words) < k + 3 or words[k] != "the":
            raise fail(f"expected 'the <colour> <shape>' at word {k + 1}")
        colour, shape = words[k + 1], words[k + 2]
        if colour not in COLOURS:
            raise fail(f"unknown colour {colour!r}; valid: {', '.join(COLOURS)}")
        if shape not in SHAPES:
            raise fail(f"unknown shape {shape!r}; valid: {', '.join(SHAPES)}")
        return COLOURS.index(colour), SHAPES.index(shape)

    if words[:2] == ["go", "to"]:
        colour, shape = shape_at(2)
        if len(words) != 5:
            raise fail("'go to the <colour> <shape>' takes nothing after the shape")
        return Instruction(colour, shape)
    if words[:1] == ["put"]:
        colour, shape = shape_at(1)
        rest = " ".join(words[4:])
        relation = next((r for r in RELATIONS if rest.startswith(r + " ")), None)
        if relation is None:
            raise fail(f"expected a relation after the first shape; valid: {', '.join(RELATIONS)}")
        k = 4 + len(relation.split())
        colour_b, shape_b = shape_at(k)
        if len(words) != k + 3:
            raise fail("nothing may follow the second shape")
        if (colour, shape) == (colour_b, shape_b):
            raise fail("the two shapes must differ")
        return Instruction(colour, shape, RELATIONS.index(relation), colour_b, shape_b)
    raise fail("an instruction starts 'go to the' or 'put the'")


def encode_instruction(text: str) -> np.ndarray:
    """``text``'s token ids, ``(INSTRUCTION_LENGTH,)`` uint8, padded; text outside the grammar is refused."""
    words = " ".join(text.lower().split()) if isinstance(text, str) else text
    parse_instruction(words)
    ids = [VOCAB.index(word) for word in words.split()]
    return np.array(ids + [PAD] * (INSTRUCTION_LENGTH - len(ids)), np.uint8)


def decode_instruction(tokens: Any) -> str:
    """The words of a row of token ids, padding dropped."""
    return " ".join(VOCAB[int(t)] for t in np.asarray(tokens).reshape(-1) if int(t) != PAD)


def check_instruction_fields(name: str, instruction: Instruction, relation_needed: bool) -> None:
    """Refuse fixed instruction fields out of range (-1 means drawn at random), naming them."""
    limits = {"colour": len(COLOURS), "shape": len(SHAPES)}
    if relation_needed:
        limits.update(relation=len(RELATIONS), colour_b=len(COLOURS), shape_b=len(SHAPES))
    for field, limit in limits.items():
        value = getattr(instruction, field)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not -1 <= value < limit:
            raise ValueError(f"{field} of {name} must be -1 (drawn) or in [0, {limit - 1}], got {value!r}")


DIFFICULTIES = (1, 2, 3, 4)
"""The scenes' difficulty levels; what each adds is the scene's own."""


def check_difficulty(name: str, difficulty: Any) -> None:
    """Refuse a difficulty outside :data:`DIFFICULTIES`, naming the scene and the valid ones.

    Example:
        >>> check_difficulty("GoToShape", 5)
        Traceback (most recent call last):
        ...
        ValueError: unknown difficulty 5 of GoToShape; valid: 1, 2, 3, 4
    """
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"unknown difficulty {difficulty!r} of {name}; valid: {', '.join(map(str, DIFFICULTIES))}")


def instruction_fields(name: str, put: bool, kwargs: dict[str, Any]) -> dict[str, Any]:
    """A scene's ``keyword_params``: ``instruction="..."`` as the params fields it names (the
    first shape's for ``go to``, every field for ``put``), refusing text outside the grammar and
    an instruction of the other kind by name.

    Example:
        >>> instruction_fields("GoToShape", False, {"instruction": "go to the red triangle", "difficulty": 2})
        {'difficulty': 2, 'colour': 0, 'shape': 2}
    """
    if "instruction" not in kwargs:
        return kwargs
    kwargs = dict(kwargs)
    parsed = parse_instruction(kwargs.pop("instruction"))
    if (parsed.relation >= 0) != put:
        wanted, other = (
            ("'put the ... the <colour> <shape>'", "'go to'") if put else ("'go to the <colour> <shape>'", "'put'")
        )
        raise ValueError(f"{name} takes a {wanted} instruction, not a {other} one")
    fields = parsed._asdict() if put else {"colour": parsed.colour, "shape": parsed.shape}
    return {**kwargs, **fields}


# -- one instance's state ------------------------------------------------------------------------


@register_jitable
def draw_integer(rng: np.ndarray, n: int) -> int:
    """A uniform integer in ``[0, n)`` from the instance's stream."""
    return min(int(uniform(rng, 0.0, float(n))), n - 1)


@register_jitable
def drawn(value: int, rng: np.ndarray, n: int) -> int:
    """A fixed instruction field (``value >= 0``) as it is, else one drawn from ``range(n)``."""
    return value if value >= 0 else draw_integer(rng, n)


@register_jitable
def object_at(state: np.ndarray, row: int, col: int) -> int:
    """The index of the object on cell ``(row, col)``, or -1."""
    for k in range(int(state[NUM_OBJECTS])):
        base = OBJECTS + 4 * k
        if int(state[base + ROW]) == row and int(state[base + COL]) == col:
            return k
    return -1


@register_jitable
def free_cell(state: np.ndarray, rng: np.ndarray, margin: int) -> tuple[int, int]:
    """A cell drawn uniformly among those at least ``margin`` from the edge holding no object
    and not the agent (the agent is placed last, so its cell is checked only once placed)."""
    span = GRID - 2 * margin
    while True:
        row = margin + draw_integer(rng, span)
        col = margin + draw_integer(rng, span)
        if object_at(state, row, col) < 0:
            return row, col


@register_jitable
def put_object(state: np.ndarray, colour: int, shape: int, row: int, col: int) -> None:
    """Put a ``colour`` ``shape`` on cell ``(row, col)`` (which the caller knows to be free)."""
    k = int(state[NUM_OBJECTS])
    base = OBJECTS + 4 * k
    state[base + COLOUR] = colour
    state[base + SHAPE] = shape
    state[base + ROW] = row
    state[base + COL] = col
    state[NUM_OBJECTS] = k + 1


@register_jitable
def add_object(state: np.ndarray, rng: np.ndarray, colour: int, shape: int, margin: int) -> None:
    """Put a ``colour`` ``shape`` on a free cell drawn at least ``margin`` from the edge."""
    row, col = free_cell(state, rng, margin)
    put_object(state, colour, shape, row, col)


@register_jitable
def draw_distractor(state: np.ndarray, rng: np.ndarray, margin: int, avoid: int, kind: int) -> None:
    """Add a distractor unlike the named shapes (objects ``0..avoid-1``): ``kind`` 0 draws any
    other colour-shape pair, 1 forces object 0's colour (a shape of the named colour), 2 its shape."""
    while True:
        colour = draw_integer(rng, len(COLOURS))
        shape = draw_integer(rng, len(SHAPES))
        if kind == 1:
            colour = int(state[OBJECTS + COLOUR])
        elif kind == 2:
            shape = int(state[OBJECTS + SHAPE])
        clash = False
        for k in range(avoid):
            if colour == int(state[OBJECTS + 4 * k + COLOUR]) and shape == int(state[OBJECTS + 4 * k + SHAPE]):
                clash = True
        if not clash:
            add_object(state, rng, colour, shape, margin)
            return


@register_jitable
def place_agent(state: np.ndarray, rng: np.ndarray) -> None:
    """Put the agent on a cell drawn among those holding no object."""
    row, col = free_cell(state, rng, 0)
    state[AGENT_ROW] = row
    state[AGENT_COL] = col


@register_jitable
def write_tokens(state: np.ndarray) -> None:
    """Write the instruction the state names (object 0, and object 1 with the relation) as tokens."""
    t = TOKENS
    for j in range(INSTRUCTION_LENGTH):
        state[t + j] = PAD
    relation = int(state[RELATION])
    words = state[t : t + INSTRUCTION_LENGTH]
    n = 0
    if relation < 0:
        words[0], words[1] = GO, TO
        n = 2
    else:
        words[0] = PUT
        n = 1
    words[n], words[n + 1], words[n + 2] = (
        THE,
        FIRST_COLOUR + state[OBJECTS + COLOUR],
        FIRST_SHAPE + state[OBJECTS + SHAPE],
    )
    n += 3
    if relation >= 0:
        for w in range(2):
            if RELATION_TOKENS[relation, w] != PAD:
                words[n] = RELATION_TOKENS[relation, w]
                n += 1
        base = OBJECTS + 4
        words[n], words[n + 1], words[n + 2] = (
            THE,
            FIRST_COLOUR + state[base + COLOUR],
            FIRST_SHAPE + state[base + SHAPE],
        )


@register_jitable
def instruction_holds(state: np.ndarray) -> bool:
    """Whether the scene's true state satisfies its instruction: the agent on object 0's cell
    (``go to``), or object 0 placed as the relation says against object 1 (``put``)."""
    relation = int(state[RELATION])
    row, col = int(state[OBJECTS + ROW]), int(state[OBJECTS + COL])
    if relation < 0:
        return int(state[AGENT_ROW]) == row and int(state[AGENT_COL]) == col
    d_row = row - int(state[OBJECTS + 4 + ROW])
    d_col = col - int(state[OBJECTS + 4 + COL])
    if relation == NEXT_TO:
        return abs(d_row) + abs(d_col) == 1
    return d_row == ROW_OFFSET[relation] and d_col == COL_OFFSET[relation]


# -- painting ------------------------------------------------------------------------------------

FLOOR_RGB = (0, 0, 0)
LINE_RGB = (60, 60, 60)
AGENT_RGB = (255, 255, 255)


@register_jitable
def shape_covers(shape: int, y: int, x: int) -> bool:
    """Whether pixel ``(y, x)`` of a cell (0..CELL-1, y down) belongs to ``shape``: a 6 x 6
    square, an octagonal disc, or a triangle pointing up, inside the cell's 1-pixel border."""
    if y < 1 or y > CELL - 2 or x < 1 or x > CELL - 2:
        return False
    if shape == 0:
        return True
    if shape == 1:
        dy, dx = 2 * y - (CELL - 1), 2 * x - (CELL - 1)
        return dy * dy + dx * dx <= 28
    half = (y + 1) // 2  # rows 1-2 two pixels wide, 3-4 four, 5-6 six
    return CELL // 2 - half <= x < CELL // 2 + half


@register_jitable
def paint_scene(state: np.ndarray, image: np.ndarray) -> None:
    """Paint the scene into ``image``, ``(IMAGE, IMAGE, 3)`` uint8."""
    last = CELL - 1
    for y in range(IMAGE):
        for x in range(IMAGE):
            line = y % CELL == last or x % CELL == last
            image[y, x, 0] = LINE_RGB[0] if line else FLOOR_RGB[0]
            image[y, x, 1] = LINE_RGB[1] if line else FLOOR_RGB[1]
            image[y, x, 2] = LINE_RGB[2] if line else FLOOR_RGB[2]
    for k in range(int(state[NUM_OBJECTS])):
        base = OBJECTS + 4 * k
        colour, shape = int(state[base + COLOUR]), int(state[base + SHAPE])
        top, left = int(state[base + ROW]) * CELL, int(state[base + COL]) * CELL
        for y in range(CELL):
            for x in range(CELL):
                if shape_covers(shape, y, x):
                    for channel in range(3):
                        image[top + y, left + x, channel] = COLOUR_RGB[colour, channel]
    top, left = int(state[AGENT_ROW]) * CELL, int(state[AGENT_COL]) * CELL
    for j in range(CELL):
        for channel in range(3):
            image[top, left + j, channel] = AGENT_RGB[channel]
            image[top + last, left + j, channel] = AGENT_RGB[channel]
            image[top + j, left, channel] = AGENT_RGB[channel]
            image[top + j, left + last, channel] = AGENT_RGB[channel]


@register_jitable
def render_scene(state: np.ndarray, frame: np.ndarray, params: Any) -> None:
    """A scene task's ``render(state, frame, params)``: the observation's picture."""
    paint_scene(state, frame)


@register_jitable
def observe_scene(state: np.ndarray, obs: np.ndarray) -> None:
    """A scene task's ``observe``: the picture then the tokens, into one flat uint8 row (the
    engine splits it into the ``Dict`` observation's ``image`` and ``instruction``)."""
    pixels = IMAGE * IMAGE * 3
    paint_scene(state, obs[:pixels].reshape((IMAGE, IMAGE, 3)))
    for j in range(INSTRUCTION_LENGTH):
        obs[pixels + j] = int(state[TOKENS + j])


@register_jitable
def move_agent(state: np.ndarray, action: int, push: bool) -> None:
    """Move the agent one cell, staying put at the board's edge. With ``push`` a shape in the way
    moves one cell on if that cell is on the board and holds no shape (else the agent stays);
    without, the agent walks over shapes."""
    row, col = int(state[AGENT_ROW]) + ROW_STEP[action], int(state[AGENT_COL]) + COL_STEP[action]
    if not (0 <= row < GRID and 0 <= col < GRID):
        return
    if push:
        k = object_at(state, row, col)
        if k >= 0:
            beyond_row, beyond_col = row + ROW_STEP[action], col + COL_STEP[action]
            if not (0 <= beyond_row < GRID and 0 <= beyond_col < GRID) or object_at(state, beyond_row, beyond_col) >= 0:
                return
            state[OBJECTS + 4 * k + ROW] = beyond_row
            state[OBJECTS + 4 * k + COL] = beyond_col
    state[AGENT_ROW] = row
    state[AGENT_COL] = col


@register_jitable
def clear(state: np.ndarray) -> None:
    """Zero the state: no objects, no relation (``go to``)."""
    for j in range(state.shape[0]):
        state[j] = 0.0
    state[RELATION] = -1


# -- the task ------------------------------------------------------------------------------------


def scene_task(
    *,
    name: str,
    params: Any,
    step: Callable[..., Any],
    reset: Callable[..., Any],
    max_episode_steps: int,
    gold: str,
    reference: str,
    check_params: Callable[[Any], None],
    put: bool,
) -> BatchedTask:
    """A scene as a :class:`BatchedTask`: the :data:`OBSERVATION_SPACE` painted by
    :func:`observe_scene`, the four moves as ``Discrete(4)``, the picture as its frame, and
    ``instruction="..."`` taken as a ``put`` (or ``go to``) instruction (:func:`instruction_fields`)."""
    return BatchedTask(
        name=name,
        state_size=STATE_SIZE,
        observation_space=OBSERVATION_SPACE,
        action_space=spaces.Discrete(len(ACTION_NAMES)),
        params=params,
        step=step,
        reset=reset,
        observe=observe_scene,
        max_episode_steps=max_episode_steps,
        gold=gold,
        reference=reference,
        modality="multimodal",
        render=render_scene,
        frame_shape=(IMAGE, IMAGE),
        check_params=check_params,
        keyword_params=functools.partial(instruction_fields, name, put),
    )
