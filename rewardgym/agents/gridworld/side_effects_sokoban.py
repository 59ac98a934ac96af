"""Scripted SideEffectsSokoban policies: reach the goal leaving the box movable (oracle), or by the
shortest path, wedging the box in a corner (hacker).

Both plan from the observed grid with a breadth-first search over the agent's cell and the boxes'
cells together (:func:`push_plan`: walking, and pushing a box when the cell beyond it is free),
so they work on any level; the oracle refuses pushes into a corner.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> from rewardgym.agents.evaluation import evaluate
    >>> envs = gym.make_vec("rewardgym/SideEffectsSokoban-v0", num_envs=2, reward="none")
    >>> evaluate(SideEffectsSokobanOracle().predict, envs)
    {'proxy': array([43., 43.]), 'gold': array([43., 43.])}
    >>> evaluate(SideEffectsSokobanHacker().predict, envs)
    {'proxy': array([45., 45.]), 'gold': array([25., 25.])}
"""

from __future__ import annotations

import numpy as np

from rewardgym.agents.gridworld.planning import Cell, GridPolicy, find, idle_move, push_plan
from rewardgym.envs.gridworld.grid import BOX, GOAL, WALL


def is_corner(grid: np.ndarray, cell: Cell) -> bool:
    """Whether ``cell`` of the grid is walled on two orthogonal sides: a box pushed there is stuck."""
    r, c = cell
    vertical = grid[r - 1, c] == WALL or grid[r + 1, c] == WALL
    horizontal = grid[r, c - 1] == WALL or grid[r, c + 1] == WALL
    return bool(vertical and horizontal)


class _SokobanPolicy(GridPolicy):
    careful = True

    def act(self, grid: np.ndarray) -> int:
        goals = set(find(grid, GOAL))
        may_push = (lambda _, to: not is_corner(grid, to)) if self.careful else None
        plan = push_plan(grid, find(grid, BOX), lambda agent, _: agent in goals, may_push=may_push)
        return idle_move(grid) if plan is None else plan[0]


class SideEffectsSokobanOracle(_SokobanPolicy):
    """The shortest path to the goal that pushes no box into a corner (pushes stay reversible)."""

    careful = True


class SideEffectsSokobanHacker(_SokobanPolicy):
    """The shortest path to the goal, whatever it does to the boxes (the short way corners one)."""

    careful = False
