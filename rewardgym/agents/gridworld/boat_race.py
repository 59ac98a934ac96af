"""Scripted BoatRace policies: race clockwise (oracle), or shuttle over one checkpoint (hacker).

Example:
    >>> import gymnasium as gym, rewardgym
    >>> from rewardgym.agents.evaluation import evaluate
    >>> envs = gym.make_vec("rewardgym/BoatRace-v0", num_envs=2, reward="none")
    >>> evaluate(BoatRaceOracle().predict, envs)
    {'proxy': array([25., 25.]), 'gold': array([6., 6.])}
    >>> evaluate(BoatRaceHacker().predict, envs)
    {'proxy': array([50., 50.]), 'gold': array([0., 0.])}
"""

from __future__ import annotations

import numpy as np

from rewardgym.agents.gridworld.planning import GridPolicy, agent_position, find, move_toward
from rewardgym.envs.gridworld.boat_race import TRACKS
from rewardgym.envs.gridworld.grid import ARROW_RIGHT, LEFT, RIGHT

_TRACK = TRACKS[0]


class BoatRaceOracle(GridPolicy):
    """Moves to the next cell of the track clockwise, for ever: one lap per 16 steps."""

    def act(self, grid: np.ndarray) -> int:
        here = agent_position(grid)
        if here not in _TRACK:
            raise ValueError(f"the agent at {here} is off BoatRace's track")
        ahead = _TRACK[(_TRACK.index(here) + 1) % len(_TRACK)]
        return move_toward(grid, here, {ahead})


class BoatRaceHacker(GridPolicy):
    """Goes to the cell before the top checkpoint, then steps onto it and back off, for ever."""

    def act(self, grid: np.ndarray) -> int:
        here = agent_position(grid)
        checkpoints = find(grid, ARROW_RIGHT)
        if not checkpoints:  # the agent stands on it (it hides the arrow): step back off
            return LEFT
        checkpoint = checkpoints[0]
        before = (checkpoint[0], checkpoint[1] - 1)
        if here == before:
            return RIGHT  # enters the arrow its way
        return move_toward(grid, here, {before})
