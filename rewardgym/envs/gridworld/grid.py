"""What every gridworld shares: object codes, levels, the state layout, moves, observing and painting.

A gridworld instance's state is one float64 row (the engine's ``state[i]``) laid out as

``[floor (rows*cols) | objects (rows*cols) | agent row, agent col | the env's own counters]``

- the **floor** holds what does not move (walls, goal cells, arrows, the lever) and the cells
  the env changes in place (a tomato's water, the lever once pulled);
- the **objects** hold what the agent pushes (boxes, rocks, diamonds), or :data:`EMPTY`;
- the **observation** is the grid an agent sees: per cell the agent, else the object, else the
  floor, as ``uint8`` codes of one table shared by all gridworlds (:data:`CODE_NAMES`), so one
  palette paints them all and one network reads any of them.

Everything here is a ``register_jitable`` function of one instance, compiled into the engine's
CPU and CUDA kernels with each env's own ``step``/``reset``/``observe``.

Example:
    >>> level = parse_level('''
    ...     ####
    ...     #A.#
    ...     ####''', {".": (GOAL, EMPTY)})
    >>> level.shape, level.agent, CODE_NAMES[level.floor[1, 2]]
    ((3, 4), (1, 1), 'goal')
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces
from numba.extending import register_jitable

from rewardgym.envs.batched.task import BatchedTask

# -- codes ---------------------------------------------------------------------------------------

CODE_NAMES = (
    "empty",
    "wall",
    "agent",
    "goal",
    "arrow up",
    "arrow down",
    "arrow left",
    "arrow right",
    "dry tomato",
    "watered tomato",
    "bucket",
    "punishment",
    "supervisor",
    "box",
    "diamond",
    "rock",
    "lever",
    "pulled lever",
)
"""The name of each object code, indexed by code."""

(
    EMPTY,
    WALL,
    AGENT,
    GOAL,
    ARROW_UP,
    ARROW_DOWN,
    ARROW_LEFT,
    ARROW_RIGHT,
    DRY_TOMATO,
    WATERED_TOMATO,
    BUCKET,
    PUNISHMENT,
    SUPERVISOR,
    BOX,
    DIAMOND,
    ROCK,
    LEVER,
    PULLED_LEVER,
) = range(len(CODE_NAMES))
NUM_CODES = len(CODE_NAMES)

PALETTE = np.array(
    [
        (235, 235, 235),  # empty
        (60, 60, 60),  # wall
        (30, 110, 240),  # agent
        (60, 190, 90),  # goal
        (250, 200, 60),  # arrow up
        (240, 170, 40),  # arrow down
        (230, 140, 30),  # arrow left
        (220, 110, 20),  # arrow right
        (170, 120, 70),  # dry tomato
        (220, 40, 40),  # watered tomato
        (120, 200, 250),  # bucket
        (150, 30, 150),  # punishment
        (250, 120, 180),  # supervisor
        (180, 130, 60),  # box
        (80, 230, 230),  # diamond
        (130, 130, 130),  # rock
        (200, 200, 40),  # lever
        (120, 120, 20),  # pulled lever
    ],
    dtype=np.uint8,
)
"""The RGB colour of each code."""

CELL_PIXELS = 8
"""A rendered cell is ``CELL_PIXELS x CELL_PIXELS`` pixels, its last row and column a grid line."""

# -- actions -------------------------------------------------------------------------------------

ACTION_NAMES = ("up", "down", "left", "right")
"""The four moves of every gridworld, as ``Discrete(4)`` actions (AI Safety Gridworlds' order)."""
UP, DOWN, LEFT, RIGHT = range(4)
ROW_STEP = np.array([-1, 1, 0, 0], dtype=np.int64)
COL_STEP = np.array([0, 0, -1, 1], dtype=np.int64)

# -- levels --------------------------------------------------------------------------------------

BASE_LEGEND: dict[str, tuple[int, int]] = {
    " ": (EMPTY, EMPTY),
    "#": (WALL, EMPTY),
    "A": (EMPTY, EMPTY),
}
"""Characters every level may use: floor, wall and the agent (on an empty floor)."""


@dataclass(frozen=True)
class Level:
    """A parsed level: floor and object codes ``(rows, cols)`` and the agent's start cell."""

    floor: np.ndarray
    objects: np.ndarray
    agent: tuple[int, int]

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.floor.shape[0]), int(self.floor.shape[1]))


def parse_level(text: str, legend: Mapping[str, tuple[int, int]]) -> Level:
    """A level from its picture: one character per cell, ``A`` the agent's start, ``#`` walls.

    ``legend`` maps each other character to its ``(floor code, object code)``. Common leading
    indentation and blank first/last lines are ignored. The picture must be a rectangle walled all
    round with exactly one ``A``; anything else is refused, naming the problem.

    Example:
        >>> parse_level("###\\n#A#\\n###", {}).agent
        (1, 1)
        >>> parse_level("###\\n#A?\\n###", {})
        Traceback (most recent call last):
        ...
        ValueError: level row 1 has the unknown character '?'; valid: ' ', '#', 'A'
    """
    legend = {**BASE_LEGEND, **legend}
    lines = textwrap.dedent(text).strip("\n").split("\n")
    if len({len(line) for line in lines}) != 1:
        raise ValueError(f"level rows must all have one length, got lengths {[len(line) for line in lines]}")
    rows, cols = len(lines), len(lines[0])
    floor = np.zeros((rows, cols), np.int64)
    objects = np.zeros((rows, cols), np.int64)
    agents = []
    for r, line in enumerate(lines):
        for c, char in enumerate(line):
            if char not in legend:
                valid = ", ".join(repr(k) for k in sorted(legend))
                raise ValueError(f"level row {r} has the unknown character {char!r}; valid: {valid}")
            floor[r, c], objects[r, c] = legend[char]
            if char == "A":
                agents.append((r, c))
    if len(agents) != 1:
        raise ValueError(f"a level needs exactly one agent 'A', got {len(agents)}")
    border = np.concatenate([floor[0], floor[-1], floor[:, 0], floor[:, -1]])
    if (border != WALL).any():
        raise ValueError("a level must be walled all round ('#' on every border cell)")
    return Level(floor, objects, agents[0])


def stack_levels(levels: list[Level]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Levels of one shape as the constant arrays the kernels read: floors and objects
    ``(num_levels, rows * cols)`` and agent starts ``(num_levels, 2)``."""
    shapes = {level.shape for level in levels}
    if len(shapes) != 1:
        raise ValueError(f"the levels of one gridworld must share a shape, got {sorted(shapes)}")
    floors = np.stack([level.floor.reshape(-1) for level in levels])
    objects = np.stack([level.objects.reshape(-1) for level in levels])
    agents = np.array([level.agent for level in levels], dtype=np.int64)
    return floors, objects, agents


def check_level(name: str, level: Any, num_levels: int) -> None:
    """Refuse a level index outside ``range(num_levels)``, naming the valid ones."""
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not 0 <= level < num_levels:
        raise ValueError(f"unknown level {level!r} of {name}; valid levels: {', '.join(map(str, range(num_levels)))}")


def check_probability(value: Any, name: str) -> None:
    """Refuse a probability that is not a number in [0, 1], naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")


# -- one instance's state ------------------------------------------------------------------------


@register_jitable
def load_level(state: np.ndarray, floors: np.ndarray, objects: np.ndarray, agents: np.ndarray, level: int) -> None:
    """Write level ``level``'s start into ``state`` (floor, objects, agent) and zero the counters."""
    size = floors.shape[1]
    for k in range(size):
        state[k] = floors[level, k]
        state[size + k] = objects[level, k]
    state[2 * size] = agents[level, 0]
    state[2 * size + 1] = agents[level, 1]
    for k in range(2 * size + 2, state.shape[0]):
        state[k] = 0.0


@register_jitable
def agent_cell(state: np.ndarray, size: int, cols: int) -> int:
    """The index ``row * cols + col`` of the agent's cell."""
    return int(state[2 * size]) * cols + int(state[2 * size + 1])


@register_jitable
def move(state: np.ndarray, size: int, cols: int, action: int, push: bool) -> tuple[bool, int, int]:
    """Move the agent one cell by ``action``, pushing the object ahead when ``push`` allows it.

    Walls stop the agent; an object stops it unless ``push`` and the cell beyond is neither a wall
    nor taken, in which case the object moves there (Sokoban's rule: one object, never pulled).
    Returns ``(moved, pushed_from, pushed_to)``: the object's old and new cells, or -1 and -1.
    """
    row, col = int(state[2 * size]), int(state[2 * size + 1])
    dr, dc = ROW_STEP[action], COL_STEP[action]
    target = (row + dr) * cols + (col + dc)
    if state[target] == WALL:
        return False, -1, -1
    pushed_from, pushed_to = -1, -1
    if state[size + target] != EMPTY:
        beyond = (row + 2 * dr) * cols + (col + 2 * dc)
        # The border is walls, so a cell next to the agent's is inside and its beyond is on the grid.
        if not push or state[beyond] == WALL or state[size + beyond] != EMPTY:
            return False, -1, -1
        state[size + beyond] = state[size + target]
        state[size + target] = EMPTY
        pushed_from, pushed_to = target, beyond
    state[2 * size] = row + dr
    state[2 * size + 1] = col + dc
    return True, pushed_from, pushed_to


@register_jitable
def visible_code(state: np.ndarray, size: int, cols: int, k: int) -> int:
    """What cell ``k`` shows: the agent, else its object, else its floor."""
    if k == agent_cell(state, size, cols):
        return AGENT
    if state[size + k] != EMPTY:
        return int(state[size + k])
    return int(state[k])


def make_observe(code_at: Callable[..., int], size: int) -> Callable[..., None]:
    """A task's ``observe(state, obs)`` writing ``code_at(state, k)`` for each of ``size`` cells."""

    @register_jitable
    def observe(state: np.ndarray, obs: np.ndarray) -> None:
        for k in range(size):
            obs[k] = code_at(state, k)

    return observe


def make_render(code_at: Callable[..., int], rows: int, cols: int) -> Callable[..., None]:
    """A task's ``render(state, frame, params)`` painting cell ``k`` in :data:`PALETTE`'s colour of
    ``code_at(state, k)``: what the agent sees, as ``(rows * CELL_PIXELS, cols * CELL_PIXELS, 3)``."""
    last = CELL_PIXELS - 1

    @register_jitable
    def render(state: np.ndarray, frame: np.ndarray, params: Any) -> None:
        for r in range(rows):
            for c in range(cols):
                code = code_at(state, r * cols + c)
                for y in range(CELL_PIXELS):
                    for x in range(CELL_PIXELS):
                        line = y == last or x == last
                        for channel in range(3):
                            value = PALETTE[code, channel]
                            frame[r * CELL_PIXELS + y, c * CELL_PIXELS + x, channel] = value // 2 if line else value

    return render


@register_jitable
def manhattan_to(obs: np.ndarray, cols: int, code: int, target: int) -> float:
    """Grid distance from the first cell showing ``code`` in a flat observation to cell ``target``
    (0 where no cell shows it)."""
    for k in range(obs.shape[0]):
        if obs[k] == code:
            return float(abs(k // cols - target // cols) + abs(k % cols - target % cols))
    return 0.0


# -- the task ------------------------------------------------------------------------------------


def gridworld_task(
    *,
    name: str,
    levels: tuple[np.ndarray, np.ndarray, np.ndarray],
    shape: tuple[int, int],
    extra_state: int,
    params: Any,
    step: Callable[..., Any],
    reset: Callable[..., Any],
    code_at: Callable[..., int],
    potential: Callable[..., float] | None,
    max_episode_steps: int,
    proxy: str,
    gold: str,
    hack: str,
    reference: str,
    check_params: Callable[[Any], None] | None = None,
) -> BatchedTask:
    """A gridworld as a :class:`BatchedTask`: the grid of codes as a ``uint8`` ``Box`` of shape
    ``(rows, cols)``, the four moves as ``Discrete(4)``, pixels from :func:`make_render`.

    ``levels`` is :func:`stack_levels`' output for levels of ``shape = (rows, cols)``;
    ``extra_state`` counts the env's own counters, stored after the agent's cell.
    """
    rows, cols = shape
    size = rows * cols
    return BatchedTask(
        name=name,
        state_size=2 * size + 2 + extra_state,
        observation_space=spaces.Box(0, NUM_CODES - 1, (rows, cols), np.uint8),
        action_space=spaces.Discrete(len(ACTION_NAMES)),
        params=params,
        step=step,
        reset=reset,
        observe=make_observe(code_at, size),
        max_episode_steps=max_episode_steps,
        gold=gold,
        reference=reference,
        modality="gridworld",
        potential=potential,
        render=make_render(code_at, rows, cols),
        frame_shape=(rows * CELL_PIXELS, cols * CELL_PIXELS),
        proxy=proxy,
        hack=hack,
        check_params=check_params,
    )
