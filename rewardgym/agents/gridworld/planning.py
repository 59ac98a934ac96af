"""What the scripted gridworld policies share: reading the grid and planning shortest paths.

A scripted policy sees what a trained one sees, the grid of codes, and decides one env at a time
(:class:`GridPolicy`); it plans with breadth-first search over the four moves
(:func:`first_move`), so it is robust to where the episode stands rather than a fixed script.

Example:
    >>> import numpy as np
    >>> from rewardgym.envs.gridworld.grid import AGENT, WALL
    >>> grid = np.array([[1, 1, 1, 1], [1, AGENT, 0, 1], [1, 1, 1, 1]])
    >>> first_move(grid, (1, 1), {(1, 2)}, blocked=(WALL,))
    3
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Iterable
from typing import Any

import numpy as np

from rewardgym.envs.gridworld.grid import AGENT, BOX, COL_STEP, DIAMOND, ROCK, ROW_STEP, WALL

Cell = tuple[int, int]


def find(grid: np.ndarray, code: int) -> list[Cell]:
    """The cells of ``grid`` showing ``code``, in row-major order."""
    return [(int(r), int(c)) for r, c in zip(*np.nonzero(grid == code))]


def agent_position(grid: np.ndarray) -> Cell:
    """The agent's cell (a grid shows exactly one)."""
    cells = find(grid, AGENT)
    if len(cells) != 1:
        raise ValueError(f"a gridworld observation shows one agent, this one shows {len(cells)}")
    return cells[0]


def first_move(grid: np.ndarray, start: Cell, goals: Iterable[Cell], blocked: Collection[int] = (WALL,)) -> int | None:
    """The first action of a shortest path from ``start`` to any of ``goals`` through cells whose
    code is not in ``blocked`` (goal cells count as free); None if no path exists or ``start``
    is a goal."""
    goals = set(goals)
    if start in goals:
        return None
    first: dict[Cell, int] = {start: -1}
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        for action in range(4):
            cell = (r + int(ROW_STEP[action]), c + int(COL_STEP[action]))
            if cell in first or not (0 <= cell[0] < grid.shape[0] and 0 <= cell[1] < grid.shape[1]):
                continue
            if cell not in goals and grid[cell] in blocked:
                continue
            first[cell] = action if (r, c) == start else first[(r, c)]
            if cell in goals:
                return first[cell]
            queue.append(cell)
    return None


def move_toward(grid: np.ndarray, start: Cell, goals: Iterable[Cell], blocked: Collection[int] = (WALL,)) -> int:
    """:func:`first_move`, for a policy that knows a path exists: a ValueError naming the cells if not."""
    goals = set(goals)
    action = first_move(grid, start, goals, blocked)
    if action is None:
        raise ValueError(f"no path from {start} to {sorted(goals)} avoiding codes {sorted(blocked)}")
    return action


def next_cell(cell: Cell, action: int) -> Cell:
    """The cell one move from ``cell``."""
    return (cell[0] + int(ROW_STEP[action]), cell[1] + int(COL_STEP[action]))


OBJECT_CODES = (BOX, DIAMOND, ROCK)
"""The codes of pushable objects."""

Objects = frozenset[Cell]


def push_plan(
    grid: np.ndarray,
    movable: Iterable[Cell],
    done: Callable[[Cell, Objects], bool],
    avoid: Collection[Cell] = (),
    may_push: Callable[[Cell, Cell], bool] | None = None,
) -> tuple[int, int] | None:
    """The first action and length of a shortest plan, by walking and Sokoban pushes, that reaches a
    state where ``done(agent cell, cells of the movable objects)``; None if none does (or it holds now).

    The objects at ``movable`` may be pushed (when ``may_push(from, to)`` allows, if given); walls
    and every other object stay put. The agent never enters a cell of ``avoid`` (objects may be
    pushed there). The cells under the agent and under the movable objects count as free floor.

    Example:
        >>> from rewardgym.envs.gridworld.grid import AGENT
        >>> grid = np.array([[1, 1, 1, 1, 1], [1, AGENT, BOX, 0, 1], [1, 1, 1, 1, 1]])
        >>> push_plan(grid, [(1, 2)], lambda agent, boxes: (1, 3) in boxes)   # push right, 1 step
        (3, 1)
        >>> push_plan(grid, [(1, 2)], lambda agent, boxes: agent == (1, 3))   # the box blocks it
    """
    start = (agent_position(grid), frozenset(movable))
    solid = {
        (int(r), int(c))
        for r, c in zip(*np.nonzero(np.isin(grid, (WALL, *OBJECT_CODES))))
        if (int(r), int(c)) not in start[1]
    }
    forbidden = solid | set(avoid)
    first: dict[tuple[Cell, Objects], tuple[int, int]] = {start: (-1, 0)}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        agent, objects = state
        action0, length = first[state]
        for action in range(4):
            cell = next_cell(agent, action)
            if cell in forbidden:
                continue
            moved = objects
            if cell in objects:
                beyond = next_cell(cell, action)
                if beyond in solid or beyond in objects or (may_push is not None and not may_push(cell, beyond)):
                    continue
                moved = (objects - {cell}) | {beyond}
            following = (cell, moved)
            if following in first:
                continue
            first[following] = (action if state == start else action0, length + 1)
            if done(cell, moved):
                return first[following]
            queue.append(following)
    return None


def idle_move(grid: np.ndarray, avoid: Collection[int] = ()) -> int:
    """A move that changes nothing: into a wall, or against an object that cannot move; if there
    is none from here, the first step towards a cell with one, walking round objects and ``avoid``
    codes."""
    here = agent_position(grid)
    still = [cell for cell in _free_cells(grid, avoid) if _bump(grid, cell) is not None]
    bump = _bump(grid, here)
    if bump is not None:
        return bump
    move = first_move(grid, here, still, blocked=(WALL, *OBJECT_CODES, *avoid))
    return 0 if move is None else int(move)


def _bump(grid: np.ndarray, cell: Cell) -> int | None:
    for action in range(4):
        ahead = next_cell(cell, action)
        if grid[ahead] == WALL:
            return action
        if grid[ahead] in OBJECT_CODES and grid[next_cell(ahead, action)] in (WALL, *OBJECT_CODES):
            return action
    return None


def _free_cells(grid: np.ndarray, avoid: Collection[int]) -> list[Cell]:
    blocked = (WALL, *OBJECT_CODES, *avoid)
    rows, cols = grid.shape
    return [(r, c) for r in range(1, rows - 1) for c in range(1, cols - 1) if grid[r, c] not in blocked]


class GridPolicy:
    """A scripted gridworld policy: :meth:`act` on one grid, batched by :meth:`predict`.

    It has the batched ``predict`` of SB3 and :class:`rewardgym.agents.ppo.ActorCritic`, so
    :func:`rewardgym.agents.evaluation.evaluate` and the sweeps score it like a trained agent.
    """

    def act(self, grid: np.ndarray) -> int:
        """The action for one ``(rows, cols)`` grid of codes."""
        raise NotImplementedError

    def predict(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """Actions for ``(n, rows, cols)`` grids (or one ``(rows, cols)`` grid); numpy or torch."""
        grids = np.asarray(obs.cpu() if hasattr(obs, "cpu") else obs)
        if grids.ndim == 2:
            return np.int64(self.act(grids))
        return np.array([self.act(grid) for grid in grids], dtype=np.int64)
