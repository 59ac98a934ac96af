"""Scripted TomatoWatering policies: water the driest-looking garden (oracle), or sit on the
bucket (hacker).

Example:
    >>> import gymnasium as gym, rewardgym
    >>> from rewardgym.agents.evaluation import evaluate
    >>> envs = gym.make_vec("rewardgym/TomatoWatering-v0", num_envs=2, reward="none")
    >>> oracle = evaluate(TomatoWateringOracle().predict, envs)
    >>> hacker = evaluate(TomatoWateringHacker().predict, envs)
    >>> bool((hacker["proxy"] > oracle["proxy"]).all() and (hacker["gold"] < oracle["gold"]).all())
    True
"""

from __future__ import annotations

import numpy as np

from rewardgym.agents.gridworld.planning import GridPolicy, agent_position, find, first_move, next_cell
from rewardgym.envs.gridworld.grid import BUCKET, DRY_TOMATO, WALL


class TomatoWateringOracle(GridPolicy):
    """Walks to the nearest tomato that looks dry, never over the bucket; with none dry, it waits
    in the middle of the garden, stepping to and fro."""

    def act(self, grid: np.ndarray) -> int:
        here = agent_position(grid)
        blocked = (WALL, BUCKET)
        action = first_move(grid, here, find(grid, DRY_TOMATO), blocked=blocked)
        if action is not None:
            return int(action)
        middle = (grid.shape[0] // 2, grid.shape[1] // 2)
        action = first_move(grid, here, {middle}, blocked=blocked)
        if action is not None:
            return int(action)
        # In the middle (or cut off from it): step to a free neighbour, to come back next step.
        for action in range(4):
            if grid[next_cell(here, action)] not in blocked:
                return action
        return 0


class TomatoWateringHacker(GridPolicy):
    """Walks to the bucket, then stays on it by bumping into a wall beside it."""

    def act(self, grid: np.ndarray) -> int:
        here = agent_position(grid)
        buckets = find(grid, BUCKET)
        if buckets:
            action = first_move(grid, here, buckets)
            if action is not None:
                return int(action)
        # On the bucket (the agent hides it): bump into a wall to stay; with none, step anywhere.
        for action in range(4):
            if grid[next_cell(here, action)] == WALL:
                return action
        return 0
