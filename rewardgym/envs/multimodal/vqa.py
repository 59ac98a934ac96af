"""ShapesVQA: questions about a picture of coloured shapes, answered in words, gold from the scene's state.

Each item is a scene of :mod:`~rewardgym.envs.multimodal.scene` (a 6 x 6 board of coloured shapes,
its state one float64 row) drawn from a seed, its 48 x 48 x 3 picture painted by
:func:`~rewardgym.envs.multimodal.scene.paint_scene`, and a question from a small grammar
(CLEVR's kinds, on BabyAI's colours):

=================  ====================================================================  ==============
kind               question                                                              answer
=================  ====================================================================  ==============
count_colour       ``How many red shapes are there?``                                    ``0`` .. ``8``
count_shape        ``How many squares are there?``                                       ``0`` .. ``8``
exists             ``Is there a blue circle?``                                           ``yes``/``no``
relation_colour    ``What colour is the square on the cell left of the blue circle?``    ``red``
relation_object    ``What is on the cell above the blue circle?``                        ``red square``
=================  ====================================================================  ==============

The relations are the scenes' own (``left of``, ``right of``, ``above``, ``below``): the cell
immediately beside the named shape, so the question says "on the cell". A relation question's
named shape is the only one of its colour and shape on the board, and the cell beside it holds a
shape, so its answer is unique (the scene is built so; :func:`true_answer` checks it and returns
None where it would not be). Counts and yes/no answers are balanced: the number of matching shapes
is drawn uniformly from 0 to the number of shapes, and half the ``exists`` scenes hold the shape.

The picture has no agent: VQA scenes have none, so the white frame ``paint_scene`` draws round the
agent's cell is painted over (:func:`paint_picture`; a shape never reaches a cell's outer ring).

**Gold** is the text tasks' verifier (:mod:`rewardgym.envs.text.answers`): the answer in the last
``<answer>...</answer>`` pair (or, without tags, the last word) equal to :func:`true_answer` of the
scene's state exactly, which gives 1.0, else 0.0. Answers are lower case; numbers are digits. A
``relation_object`` answer is two words, so it needs the tags: the fallback reads one word.

**Difficulty** 1-4 sets the number of shapes, the question kinds and how many distractors are
*lures* (the named colour on another shape, or the named shape in another colour: what a model
that reads one attribute confuses):

==========  ==========  =====  ==========================================
difficulty  shapes      lures  kinds
==========  ==========  =====  ==========================================
1           2-3         0      count_colour, count_shape, exists
2           3-5         1      all five
3           5-7         2      all five
4           6-8         4      all five
==========  ==========  =====  ==========================================

``kinds=`` (a kind or a sequence of kinds) asks only those, at any difficulty.

Item ``i`` of a dataset seeded ``s`` is drawn from the SplitMix64 stream of seed ``s + i``
(:mod:`rewardgym.core.rng`), as the text tasks' are; it is also the first item env ``i`` of a
``rewardgym/ShapesVQA-v0`` vector env seeded ``s`` sees. Scenes are drawn and painted by numba
loops over ``register_jitable`` functions of one instance.

Example:
    >>> data = ShapesVQADataset(difficulty=2, seed=0, size=3)
    >>> item = data[0]
    >>> print(item["question"])
    Look at the picture. Answer with one colour: red, green, blue, purple, yellow or grey.
    What colour is the triangle on the cell right of the purple triangle?
    Give only the final answer, between <answer> and </answer>.
    >>> item["answer"], item["image"].shape, item["image"].dtype
    ('red', (48, 48, 3), dtype('uint8'))
    >>> data.score_answer("It is <answer>red</answer>", item), data.score_answer("<answer>blue</answer>", item)
    (1.0, 0.0)
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numba.extending import register_jitable

from rewardgym.core.rng import seed_streams
from rewardgym.envs.multimodal.scene import (
    AGENT_COL,
    AGENT_ROW,
    CELL,
    COL,
    COL_OFFSET,
    COLOUR,
    COLOURS,
    FLOOR_RGB,
    GRID,
    IMAGE,
    LINE_RGB,
    MAX_OBJECTS,
    NUM_OBJECTS,
    OBJECTS,
    RELATIONS,
    ROW,
    ROW_OFFSET,
    SHAPE,
    SHAPES,
    STATE_SIZE,
    add_object,
    clear,
    draw_integer,
    object_at,
    paint_scene,
    put_object,
)
from rewardgym.envs.text.answers import score_completion
from rewardgym.envs.text.tasks import ANSWER_FORMAT, SeededItems

__all__ = [
    "DIFFICULTIES",
    "ENV_ID",
    "QUESTION_KINDS",
    "TASK",
    "ShapesVQADataset",
    "check_kinds",
    "generate_scenes",
    "paint_images",
    "prompt",
    "question_text",
    "true_answer",
]

TASK = "ShapesVQA"
"""The task's name in datasets and the trainer adapters (``trl_reward_func("ShapesVQA")``)."""
ENV_ID = f"rewardgym/{TASK}-v0"
"""Its env's registered id."""

QUESTION_KINDS = ("count_colour", "count_shape", "exists", "relation_colour", "relation_object")
"""The question kinds, indexed by their code in a question row."""
COUNT_COLOUR, COUNT_SHAPE, EXISTS, RELATION_COLOUR, RELATION_OBJECT = range(len(QUESTION_KINDS))
QUESTION_RELATIONS = RELATIONS[:4]
"""The relations questions ask about (``next to`` is left out: it can name several cells)."""

# A question is one int64 row: its kind, the colour and shape it names, the relation (-1 for
# none) and, for ``relation_colour``, the shape it names on the neighbouring cell (-1 otherwise).
KIND, Q_COLOUR, Q_SHAPE, Q_RELATION, Q_TARGET_SHAPE = range(5)
QUESTION_SIZE = 5

DIFFICULTIES = (1, 2, 3, 4)
"""The difficulty levels."""


class Level(NamedTuple):
    """What a difficulty level draws: shapes on the board, lure distractors, question kinds."""

    min_shapes: int
    max_shapes: int
    lures: int
    kinds: tuple[str, ...]


LEVELS = {
    1: Level(2, 3, 0, QUESTION_KINDS[:3]),
    2: Level(3, 5, 1, QUESTION_KINDS),
    3: Level(5, 7, 2, QUESTION_KINDS),
    4: Level(6, 8, 4, QUESTION_KINDS),
}
"""Each difficulty's :class:`Level`."""
assert all(level.max_shapes <= MAX_OBJECTS and level.min_shapes >= 2 for level in LEVELS.values())

INSTRUCTIONS = (
    "Look at the picture. Answer with a number.",
    "Look at the picture. Answer with a number.",
    "Look at the picture. Answer yes or no.",
    f"Look at the picture. Answer with one colour: {', '.join(COLOURS[:-1])} or {COLOURS[-1]}.",
    "Look at the picture. Answer with a colour and a shape, such as: green circle.",
)
"""The first line of each kind's prompt: what form its answer takes."""


# -- checks ----------------------------------------------------------------------------------------


def check_difficulty(difficulty: Any) -> int:
    """``difficulty`` as an int if it is a level, else ``ValueError`` naming the levels.

    Example:
        >>> check_difficulty(2)
        2
        >>> check_difficulty(5)
        Traceback (most recent call last):
        ...
        ValueError: unknown difficulty 5 of ShapesVQA; valid difficulties: 1, 2, 3, 4
    """
    valid = not isinstance(difficulty, bool) and isinstance(difficulty, (int, np.integer))
    if not valid or int(difficulty) not in DIFFICULTIES:
        raise ValueError(
            f"unknown difficulty {difficulty!r} of {TASK}; valid difficulties: {', '.join(map(str, DIFFICULTIES))}"
        )
    return int(difficulty)


def check_kinds(kinds: str | Sequence[str] | None, difficulty: int = 1) -> tuple[str, ...]:
    """The question kinds asked: ``kinds`` (one kind or a sequence), or the difficulty's when None;
    unknown kinds are refused by name.

    Example:
        >>> check_kinds(None, 1)
        ('count_colour', 'count_shape', 'exists')
        >>> check_kinds("exists")
        ('exists',)
        >>> check_kinds(["count"])
        Traceback (most recent call last):
        ...
        ValueError: unknown question kind 'count' of ShapesVQA (did you mean 'count_shape'?); valid kinds: count_colour, count_shape, exists, relation_colour, relation_object
    """
    if kinds is None:
        return LEVELS[check_difficulty(difficulty)].kinds
    if isinstance(kinds, str):
        kinds = (kinds,)
    if not isinstance(kinds, (Sequence, np.ndarray)) or not len(kinds):
        raise ValueError(
            f"kinds of {TASK} must be a question kind or a non-empty sequence of them, got {kinds!r}; "
            f"valid kinds: {', '.join(QUESTION_KINDS)}"
        )
    for kind in kinds:
        if not isinstance(kind, str) or kind not in QUESTION_KINDS:
            close = difflib.get_close_matches(str(kind), QUESTION_KINDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"unknown question kind {kind!r} of {TASK}{hint}; valid kinds: {', '.join(QUESTION_KINDS)}"
            )
    return tuple(dict.fromkeys(kinds))  # in order, each once


# -- one instance: drawing a scene and its question, painting it ----------------------------------


@register_jitable
def draw_other(rng: np.ndarray, colour: int, shape: int, lure: int) -> tuple[int, int]:
    """A colour-shape pair other than ``(colour, shape)``: any (``lure`` 0), the same colour on
    another shape (1), or the same shape in another colour (2)."""
    while True:
        other_colour = draw_integer(rng, len(COLOURS))
        other_shape = draw_integer(rng, len(SHAPES))
        if lure == 1:
            other_colour = colour
        elif lure == 2:
            other_shape = shape
        if other_colour != colour or other_shape != shape:
            return other_colour, other_shape


@register_jitable
def lure_kind(j: int, lures: int) -> int:
    """The ``draw_other`` kind of distractor ``j``: the first ``lures`` alternate 1 and 2, then 0."""
    return 1 + j % 2 if j < lures else 0


@register_jitable
def generate_scene(
    state: np.ndarray,
    question: np.ndarray,
    rng: np.ndarray,
    min_shapes: int,
    max_shapes: int,
    lures: int,
    kinds: np.ndarray,
) -> None:
    """Draw a scene into ``state`` and a question about it into ``question`` from the stream ``rng``.

    The kind is drawn among ``kinds`` (codes), the number of shapes in ``[min_shapes,
    max_shapes]``; the first ``lures`` distractors of ``exists`` and relation questions share the
    named colour or shape. The agent stays on cell (0, 0) and is not painted.
    """
    clear(state)
    for j in range(QUESTION_SIZE):
        question[j] = -1
    kind = kinds[draw_integer(rng, kinds.shape[0])]
    n = min_shapes + draw_integer(rng, max_shapes - min_shapes + 1)
    question[KIND] = kind
    if kind == COUNT_COLOUR or kind == COUNT_SHAPE:
        by_colour = kind == COUNT_COLOUR
        choices = len(COLOURS) if by_colour else len(SHAPES)
        value = draw_integer(rng, choices)
        matches = draw_integer(rng, n + 1)  # the answer, uniform on 0..n
        for j in range(n):
            colour = draw_integer(rng, len(COLOURS))
            shape = draw_integer(rng, len(SHAPES))
            pick = value if j < matches else (value + 1 + draw_integer(rng, choices - 1)) % choices
            if by_colour:
                colour = pick
            else:
                shape = pick
            add_object(state, rng, colour, shape, 0)
        question[Q_COLOUR if by_colour else Q_SHAPE] = value
    elif kind == EXISTS:
        colour = draw_integer(rng, len(COLOURS))
        shape = draw_integer(rng, len(SHAPES))
        present = draw_integer(rng, 2)
        if present == 1:
            add_object(state, rng, colour, shape, 0)
        for j in range(n - present):
            other_colour, other_shape = draw_other(rng, colour, shape, lure_kind(j, lures))
            add_object(state, rng, other_colour, other_shape, 0)
        question[Q_COLOUR] = colour
        question[Q_SHAPE] = shape
    else:
        relation = draw_integer(rng, len(QUESTION_RELATIONS))
        colour = draw_integer(rng, len(COLOURS))
        shape = draw_integer(rng, len(SHAPES))
        target_colour, target_shape = draw_other(rng, colour, shape, 0)
        d_row, d_col = ROW_OFFSET[relation], COL_OFFSET[relation]  # the target's cell minus the named one's
        row = max(0, -d_row) + draw_integer(rng, GRID - abs(d_row))
        col = max(0, -d_col) + draw_integer(rng, GRID - abs(d_col))
        put_object(state, colour, shape, row, col)
        put_object(state, target_colour, target_shape, row + d_row, col + d_col)
        for j in range(n - 2):  # never the named pair, so the named shape stays unique
            other_colour, other_shape = draw_other(rng, colour, shape, lure_kind(j, lures))
            add_object(state, rng, other_colour, other_shape, 0)
        question[Q_COLOUR] = colour
        question[Q_SHAPE] = shape
        question[Q_RELATION] = relation
        if kind == RELATION_COLOUR:
            question[Q_TARGET_SHAPE] = target_shape


@register_jitable
def paint_background(image: np.ndarray, y: int, x: int) -> None:
    """Paint pixel ``(y, x)`` as ``paint_scene`` paints an empty board: floor, or a grid line."""
    last = CELL - 1
    line = y % CELL == last or x % CELL == last
    for channel in range(3):
        image[y, x, channel] = LINE_RGB[channel] if line else FLOOR_RGB[channel]


@register_jitable
def paint_picture(state: np.ndarray, image: np.ndarray) -> None:
    """The VQA picture: ``paint_scene``, then the agent's frame painted over (VQA scenes have no
    agent; the frame is its cell's outer ring of pixels, which no shape reaches)."""
    paint_scene(state, image)
    top, left = int(state[AGENT_ROW]) * CELL, int(state[AGENT_COL]) * CELL
    last = CELL - 1
    for j in range(CELL):
        paint_background(image, top, left + j)
        paint_background(image, top + last, left + j)
        paint_background(image, top + j, left)
        paint_background(image, top + j, left + last)


@njit(cache=True, nogil=True)
def _generate_batch(streams, states, questions, min_shapes, max_shapes, lures, kinds):  # pragma: no cover
    for i in range(streams.shape[0]):
        generate_scene(states[i], questions[i], streams[i], min_shapes, max_shapes, lures, kinds)


@njit(cache=True, nogil=True)
def _paint_batch(states, images):  # pragma: no cover
    for i in range(states.shape[0]):
        paint_picture(states[i], images[i])


# -- batches, from Python --------------------------------------------------------------------------


def generate_scenes(
    streams: np.ndarray, difficulty: int = 1, kinds: str | Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One scene and question per stream row (advancing the streams in place): ``(states,
    questions)``, float64 ``(n, STATE_SIZE)`` and int64 ``(n, QUESTION_SIZE)``.

    ``streams`` is a ``(n, 2)`` uint64 array of :func:`rewardgym.core.rng.seed_streams` rows.

    Example:
        >>> from rewardgym.core.rng import seed_streams
        >>> states, questions = generate_scenes(seed_streams(np.array([0, 1], np.uint64)), 1, "exists")
        >>> states.shape, [question_text(q) for q in questions]
        ((2, 46), ['Is there a blue circle?', 'Is there a red triangle?'])
    """
    level = LEVELS[check_difficulty(difficulty)]
    codes = np.array([QUESTION_KINDS.index(kind) for kind in check_kinds(kinds, difficulty)], np.int64)
    streams = np.asarray(streams)
    if streams.dtype != np.uint64 or streams.ndim != 2 or streams.shape[1] != 2:
        raise ValueError(f"streams must be a (n, 2) uint64 array, got {streams.dtype} of shape {streams.shape}")
    n = streams.shape[0]
    states = np.zeros((n, STATE_SIZE), np.float64)
    questions = np.zeros((n, QUESTION_SIZE), np.int64)
    _generate_batch(streams, states, questions, level.min_shapes, level.max_shapes, level.lures, codes)
    return states, questions


def paint_images(states: np.ndarray) -> np.ndarray:
    """The pictures of scene states, uint8 ``(n, IMAGE, IMAGE, 3)`` (:func:`paint_picture`).

    Example:
        >>> from rewardgym.core.rng import seed_streams
        >>> states, _ = generate_scenes(seed_streams(np.array([0], np.uint64)))
        >>> paint_images(states).shape
        (1, 48, 48, 3)
    """
    states = np.ascontiguousarray(states, dtype=np.float64)
    if states.ndim != 2 or states.shape[1] != STATE_SIZE:
        raise ValueError(f"states must be a (n, {STATE_SIZE}) array of scene rows, got shape {states.shape}")
    images = np.zeros((states.shape[0], IMAGE, IMAGE, 3), np.uint8)
    _paint_batch(states, images)
    return images


# -- the question's words and its true answer ------------------------------------------------------


def _plural(shape: str) -> str:
    return shape + "s"


def question_text(question: Sequence[int] | np.ndarray) -> str:
    """The sentence a question row asks.

    Example:
        >>> question_text([RELATION_COLOUR, 2, 1, 0, 0])
        'What colour is the square on the cell left of the blue circle?'
        >>> question_text([COUNT_SHAPE, -1, 2, -1, -1])
        'How many triangles are there?'
    """
    kind, colour, shape, relation, target_shape = (int(v) for v in np.asarray(question).reshape(-1))
    if kind == COUNT_COLOUR:
        return f"How many {COLOURS[colour]} shapes are there?"
    if kind == COUNT_SHAPE:
        return f"How many {_plural(SHAPES[shape])} are there?"
    if kind == EXISTS:
        return f"Is there a {COLOURS[colour]} {SHAPES[shape]}?"
    named = f"the cell {QUESTION_RELATIONS[relation]} the {COLOURS[colour]} {SHAPES[shape]}"
    if kind == RELATION_COLOUR:
        return f"What colour is the {SHAPES[target_shape]} on {named}?"
    if kind == RELATION_OBJECT:
        return f"What is on {named}?"
    raise ValueError(f"unknown question kind code {kind}; valid codes: 0..{len(QUESTION_KINDS) - 1}")


def prompt(question: Sequence[int] | np.ndarray) -> str:
    """The text an agent sees beside the picture: what form the answer takes, the question and
    the answer format (the text completion envs' last line).

    Example:
        >>> print(prompt([EXISTS, 0, 2, -1, -1]))
        Look at the picture. Answer yes or no.
        Is there a red triangle?
        Give only the final answer, between <answer> and </answer>.
    """
    kind = int(np.asarray(question).reshape(-1)[KIND])
    return f"{INSTRUCTIONS[kind]}\n{question_text(question)}\n{ANSWER_FORMAT}"


def scene_objects(state: np.ndarray) -> list[tuple[int, ...]]:
    """The scene's shapes as ``(colour, shape, row, col)`` index tuples, in state order.

    Example:
        >>> state = np.zeros(STATE_SIZE); put_object(state, 0, 2, 1, 3)
        >>> scene_objects(state)
        [(0, 2, 1, 3)]
    """
    state = np.asarray(state)
    return [
        tuple(int(state[OBJECTS + 4 * k + field]) for field in (COLOUR, SHAPE, ROW, COL))
        for k in range(int(state[NUM_OBJECTS]))
    ]


def true_answer(state: np.ndarray, question: Sequence[int] | np.ndarray) -> str | None:
    """The answer to ``question`` in the scene ``state``, read off the state alone; None where a
    relation question has no unique answer (its named shape is missing or not unique, or the
    cell beside it is off the board, empty, or holds a shape other than the one named).

    Example:
        >>> state = np.zeros(STATE_SIZE); put_object(state, 2, 1, 3, 3); put_object(state, 0, 0, 3, 2)
        >>> true_answer(state, [RELATION_OBJECT, 2, 1, 0, -1]), true_answer(state, [COUNT_SHAPE, -1, 1, -1, -1])
        ('red square', '1')
        >>> true_answer(state, [RELATION_OBJECT, 2, 1, 2, -1]) is None  # nothing above the blue circle
        True
    """
    kind, colour, shape, relation, target_shape = (int(v) for v in np.asarray(question).reshape(-1))
    objects = scene_objects(state)
    if kind == COUNT_COLOUR:
        return str(sum(c == colour for c, _, _, _ in objects))
    if kind == COUNT_SHAPE:
        return str(sum(s == shape for _, s, _, _ in objects))
    if kind == EXISTS:
        return "yes" if any((c, s) == (colour, shape) for c, s, _, _ in objects) else "no"
    if kind not in (RELATION_COLOUR, RELATION_OBJECT):
        raise ValueError(f"unknown question kind code {kind}; valid codes: 0..{len(QUESTION_KINDS) - 1}")
    named = [(r, c) for c_, s, r, c in objects if (c_, s) == (colour, shape)]
    if len(named) != 1:
        return None
    row, col = named[0][0] + int(ROW_OFFSET[relation]), named[0][1] + int(COL_OFFSET[relation])
    if not (0 <= row < GRID and 0 <= col < GRID):
        return None
    k = object_at(np.asarray(state), row, col)
    if k < 0:
        return None
    found_colour, found_shape = objects[k][0], objects[k][1]
    if kind == RELATION_COLOUR:
        return COLOURS[found_colour] if found_shape == target_shape else None
    return f"{COLOURS[found_colour]} {SHAPES[found_shape]}"


# -- datasets ----------------------------------------------------------------------------------------


class ShapesVQADataset(SeededItems):
    """``size`` ShapesVQA items at a difficulty, indexable like the text tasks'
    :class:`~rewardgym.envs.text.tasks.TaskDataset`: the same seed and index give the same item, in
    any process and on any machine.

    Items are dicts ``{"question", "answer", "image", "metadata"}``: the prompt (what the env's
    ``question`` shows), the gold answer, the picture (uint8 ``(48, 48, 3)`` numpy array, what the
    env's ``image`` shows) and the task, difficulty, seed, index, question ``kind`` and the scene's
    ``objects`` (``{"colour", "shape", "row", "col"}`` each, the true state the answer is read
    from). :meth:`score_answer` is the gold verifier applied to a completion. The trainer
    adapters (:mod:`rewardgym.envs.text.adapters`) export it as TRL, verl or OpenRLHF rows.

    Example:
        >>> data = ShapesVQADataset(difficulty=1, seed=5, size=2, kinds="count_shape")
        >>> [item["metadata"]["kind"] for item in data], data[0]["answer"]
        (['count_shape', 'count_shape'], '2')
    """

    task = TASK

    def __init__(
        self, *, difficulty: int = 1, seed: int = 0, size: int = 500, kinds: str | Sequence[str] | None = None
    ) -> None:
        self.difficulty = check_difficulty(difficulty)
        self.kinds = check_kinds(kinds, self.difficulty)
        self._check_seed_and_size(seed, size)

    def items(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        """Many items at once, drawn and painted in one compiled loop each."""
        index_array = np.asarray(list(indices), dtype=np.int64)
        streams = seed_streams((self.seed + index_array).astype(np.uint64))
        states, questions = generate_scenes(streams, self.difficulty, self.kinds)
        images = paint_images(states)
        return [
            {
                "question": prompt(question),
                "answer": true_answer(state, question),
                "image": image,
                "metadata": {
                    "task": TASK,
                    "difficulty": self.difficulty,
                    "seed": self.seed,
                    "index": int(index),
                    "kind": QUESTION_KINDS[int(question[KIND])],
                    "objects": [
                        {"colour": COLOURS[c], "shape": SHAPES[s], "row": r, "col": col}
                        for c, s, r, col in scene_objects(state)
                    ],
                },
            }
            for index, state, question, image in zip(index_array, states, questions, images)
        ]

    def score_answer(self, answer: str | None, entry: dict[str, Any]) -> float:
        """The gold score of a completion (or a bare answer) for an item: 1.0 or 0.0."""
        if answer is None:
            return 0.0
        return score_completion(answer, entry["answer"])
