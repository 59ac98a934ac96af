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
from collections.abc import Collection, Iterable
from typing import Any

import numpy as np

from rewardgym.envs.gridworld.grid import AGENT, COL_STEP, ROW_STEP, WALL

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
