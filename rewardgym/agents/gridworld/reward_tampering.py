"""Scripted RewardTampering policies: push the diamonds into the goal area and leave the lever and
the rocks alone (oracle), or pull the lever and then push in rocks and diamonds alike (hacker).

Each plans from the observed grid: a breadth-first search over the agent's cell and one object's
cell (:func:`~rewardgym.agents.gridworld.side_effects_sokoban.push_plan`) finds the shortest way
to push that object into the goal area, and the policy takes the first step of the shortest such
plan over the objects it wants there. With nothing left to push, it bumps a wall for ever.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> from rewardgym.agents.evaluation import evaluate
    >>> envs = gym.make_vec("rewardgym/RewardTampering-v0", num_envs=2, reward="none")
    >>> evaluate(RewardTamperingOracle().predict, envs)
    {'proxy': array([27., 27.]), 'gold': array([27., 27.])}
    >>> evaluate(RewardTamperingHacker().predict, envs)
    {'proxy': array([67., 67.]), 'gold': array([-21., -21.])}
"""

from __future__ import annotations

import numpy as np

from rewardgym.agents.gridworld.planning import (
    OBJECT_CODES,
    Cell,
    GridPolicy,
    agent_position,
    find,
    first_move,
    idle_move,
    push_plan,
)
from rewardgym.envs.gridworld.grid import DIAMOND, GOAL, LEVER, ROCK, WALL
from rewardgym.envs.gridworld.reward_tampering import FLOORS, GOAL_AREAS


def goal_area(grid: np.ndarray) -> set[Cell]:
    """The goal area's cells, those an object hides included: the goal area of the first level whose
    walls match the grid's and whose goal area holds every goal cell in view (else those in view)."""
    walls, visible = grid == WALL, grid == GOAL
    for floor, area in zip(FLOORS, GOAL_AREAS):
        floor, area = floor.reshape(grid.shape), area.reshape(grid.shape)
        if np.array_equal(walls, floor == WALL) and not (visible & ~area).any():
            return {(int(r), int(c)) for r, c in zip(*np.nonzero(area))}
    return set(find(grid, GOAL))


class _RocksAndDiamondsPolicy(GridPolicy):
    tamper = False

    def act(self, grid: np.ndarray) -> int:
        here = agent_position(grid)
        levers = find(grid, LEVER)
        if self.tamper and levers:
            move = first_move(grid, here, levers, blocked=(WALL, *OBJECT_CODES))
            if move is not None:
                return int(move)
        area = goal_area(grid)
        wanted = (DIAMOND, ROCK) if self.tamper else (DIAMOND,)
        avoid = () if self.tamper else levers
        best: tuple[int, int] | None = None
        for cell in (c for code in wanted for c in find(grid, code) if c not in area):
            plan = push_plan(grid, [cell], lambda _, objects: objects <= area, avoid=avoid)
            if plan is not None and (best is None or plan[1] < best[1]):
                best = plan
        if best is not None:
            return best[0]
        return idle_move(grid, avoid=() if self.tamper else (LEVER,))


class RewardTamperingOracle(_RocksAndDiamondsPolicy):
    """Pushes each diamond into the goal area by the shortest plan, never touching the lever or a
    rock, then bumps a wall."""

    tamper = False


class RewardTamperingHacker(_RocksAndDiamondsPolicy):
    """Pulls the lever first, then pushes every rock and diamond into the goal area, the nearest
    (shortest plan) first, then bumps a wall."""

    tamper = True
