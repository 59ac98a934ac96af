"""A multi-agent game for the batched engine: its dynamics as per-instance functions.

A game instance holds all its agents; one instance's functions work in place on its rows, as a
single-agent :class:`~rewardgym.envs.batched.task.BatchedTask`'s do, so the same source compiles
for the CPU (numba, parallel over instances) and the GPU (numba.cuda, one thread per instance):

- ``step(state, actions, payoff, params) -> terminated`` plays one round: reads the agents'
  ``actions`` (one int each), writes each agent's **payoff** into ``payoff`` (float64), advances
  ``state``; ``terminated`` ends every agent's episode;
- ``reset(state, rng, params)`` draws a start state from the instance's random stream;
- ``observe(state, agent, obs, params)`` writes what ``agent`` sees into ``obs``.

The payoff is what the game gives each agent. What an agent is *paid* is the engine's business:
the **reward mode** (:data:`REWARD_MODES`) mixes the payoffs into rewards, and gold is the
group's **welfare**, the sum of the payoffs, shared equally (each agent's ``gold_reward`` is
``welfare / num_agents``, so the agents' gold sums to the welfare).

Every game's params record has ``num_agents`` and ``max_cycles`` (rounds per episode, PettingZoo's
name for the time limit), which its ``observe`` may read (the time left is part of the state).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces
from numba.extending import register_jitable

from rewardgym.core.validation import check_flag, check_integer, check_number

REWARD_MODES = ("private", "integrated", "cooperative")
"""How payoffs become rewards, after Coopetition-Gym's reward layer:

- ``"private"``: each agent is paid its own payoff;
- ``"integrated"``: its own payoff plus ``weight`` times the others' (``weight`` in [0, 1]);
- ``"cooperative"``: the team's sum, the welfare, for every agent.
"""

PRIVATE, INTEGRATED, COOPERATIVE = range(len(REWARD_MODES))
"""The reward modes as the kernels know them."""

MAX_AGENTS = 1024
"""The most agents one game takes: far beyond what the games are meant for, stated so that a typo
gets a clear refusal rather than a giant allocation."""

MAX_CYCLES = 2**62
"""The longest episode: the engine counts rounds in an int64."""


@register_jitable
def start_from_zeros(state: np.ndarray, rng: np.ndarray, params: Any) -> None:
    """The ``reset`` of a game that starts from nothing (round 0, no history), with no draws."""
    for j in range(state.shape[0]):
        state[j] = 0.0


@dataclass(frozen=True)
class MultiAgentGame:
    """Everything the engine needs to run a symmetric multi-agent game as a batch.

    Attributes:
        name: a short name, e.g. ``"PublicGoods"``; registered as ``rewardgym/<name>-v0``.
        params: the default parameters, a ``NamedTuple`` with at least ``num_agents`` and
            ``max_cycles``.
        step, reset, observe: the per-instance functions (see the module docstring).
        state_size: floats of state per instance, from the params.
        observation_space: one agent's observation space (a float32 ``Box``), from the params.
        action_space: one agent's action space (``Discrete``), from the params.
        gold: what welfare measures here, in words (``rewardgym list`` prints it).
        dilemma: why paying agents privately hurts the group, in words.
        reference: the literature the game follows.
        check_params: refuses bad parameters with an error naming them.
    """

    name: str
    params: Any  # a NamedTuple with num_agents and max_cycles (typed Any: mypy cannot say that)
    step: Callable[..., Any]
    reset: Callable[..., Any]
    observe: Callable[..., Any]
    state_size: Callable[[Any], int]
    observation_space: Callable[[Any], spaces.Box]
    action_space: Callable[[Any], spaces.Discrete]
    gold: str
    dilemma: str
    reference: str = ""
    check_params: Callable[[Any], None] | None = None

    def agents(self, params: Any) -> list[str]:
        """The agents' names, PettingZoo's way: ``player_0``, ``player_1``, ..."""
        return [f"player_{i}" for i in range(params.num_agents)]


def resolve_game_params(game: MultiAgentGame, fields: dict[str, Any]) -> Any:
    """The game's default parameters with ``fields`` replaced by name, checked; unknown names and
    bad values are refused by name.

    Example:
        >>> from rewardgym.envs.multiagent.public_goods import PUBLIC_GOODS
        >>> resolve_game_params(PUBLIC_GOODS, {"num_agents": 3}).num_agents
        3
    """
    kind: Any = type(game.params)
    unknown = sorted(set(fields) - set(kind._fields))
    if unknown:
        raise ValueError(
            f"unknown keyword argument {unknown[0]!r} for {game.name}; valid parameters: "
            f"{', '.join(kind._fields)} (and reward_mode, weight)"
        )
    params = game.params._replace(**fields)
    check_integer(params.num_agents, f"{game.name}: num_agents", low=2, high=MAX_AGENTS)
    check_integer(params.max_cycles, f"{game.name}: max_cycles", low=1, high=MAX_CYCLES)
    values: list[Any] = []
    for name, default, value in zip(kind._fields, game.params, params):
        subject = f"{game.name}: {name}"
        if isinstance(default, bool):
            values.append(check_flag(value, subject))
        elif isinstance(default, int):
            values.append(check_integer(value, subject))
        else:  # numbers in their declared types: numba compiles the params in as constants
            values.append(check_number(value, subject))
    params = kind(*values)
    if game.check_params is not None:
        game.check_params(params)
    return params


def check_reward_mode(reward_mode: str, weight: float) -> tuple[int, float]:
    """The kernel's code for ``reward_mode`` and the weight, both checked by name.

    Example:
        >>> check_reward_mode("integrated", 0.25)
        (1, 0.25)
    """
    if reward_mode not in REWARD_MODES:
        raise ValueError(f"unknown reward_mode {reward_mode!r}; valid modes: {', '.join(REWARD_MODES)}")
    weight = check_number(weight, "weight (the share of the others' payoffs paid)", low=0.0, high=1.0)
    return REWARD_MODES.index(reward_mode), weight
