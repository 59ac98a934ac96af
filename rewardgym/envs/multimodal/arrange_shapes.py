"""ArrangeShapes: push one shape next to another as the instruction says, seen as pixels.

The board is 6 x 6 cells; the instruction reads ``put the <colour> <shape> <relation> the
<colour> <shape>``, relation one of ``left of``, ``right of``, ``above``, ``below`` (the first shape
on the cell immediately that side of the second) or ``next to`` (any side). After BabyAI's
PutNext, with pushing (Sokoban's rule) instead of pick-up and drop.

- **Actions**: ``Discrete(4)``, up, down, left, right; walking into a shape pushes it one cell if
  that cell is on the board and free, else the agent stays put.
- **Observation**: ``Dict(image=Box(0, 255, (48, 48, 3), uint8), instruction=MultiDiscrete(10 x
  20, uint8))`` (see :mod:`~rewardgym.envs.multimodal.scene`).
- **Reward** (the task's natural sparse reward): 1 on the step the arrangement holds, which ends
  the episode; 0 otherwise.
- **Gold** (``info["gold_reward"]``): 1 on the step the instruction comes to hold in the true state,
  else 0. The named shapes start off the board's edge (so each can be pushed every way) and never
  already arranged.
- **Difficulty** 1-4: 0, 2, 4 and 6 distractors (any pair but the named two). ``instruction=``
  fixes the instruction; by default every part of it is drawn.
- Episodes last 128 steps (truncated) unless the arrangement holds.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> env = gym.make("rewardgym/ArrangeShapes-v0", instruction="put the red square left of the blue circle")
    >>> obs, _ = env.reset(seed=0)
    >>> decode_instruction(obs["instruction"])
    'put the red square left of the blue circle'
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba.extending import register_jitable

from rewardgym.envs.multimodal.scene import (
    COLOURS,
    RELATION,
    RELATIONS,
    SHAPES,
    Instruction,
    add_object,
    check_difficulty,
    check_instruction_fields,
    clear,
    decode_instruction,
    draw_distractor,
    drawn,
    instruction_holds,
    move_agent,
    place_agent,
    scene_task,
    write_tokens,
)

DISTRACTORS = np.array([0, 2, 4, 6], np.int64)
"""Per difficulty, how many distractors."""

__all__ = ["ARRANGE_SHAPES", "ArrangeShapesParams", "decode_instruction"]


class ArrangeShapesParams(NamedTuple):
    difficulty: int = 1
    colour: int = -1
    shape: int = -1
    relation: int = -1
    colour_b: int = -1
    shape_b: int = -1


def check_params(params: ArrangeShapesParams) -> None:
    check_difficulty("ArrangeShapes", params.difficulty)
    named = Instruction(params.colour, params.shape, params.relation, params.colour_b, params.shape_b)
    check_instruction_fields("ArrangeShapes", named, relation_needed=True)
    fixed = min(params.colour, params.shape, params.colour_b, params.shape_b) >= 0
    if fixed and (params.colour, params.shape) == (params.colour_b, params.shape_b):
        raise ValueError("the two shapes of an ArrangeShapes instruction must differ")


@register_jitable
def step(state: np.ndarray, action: int, params: ArrangeShapesParams) -> tuple[float, float, bool]:
    move_agent(state, action, True)
    done = instruction_holds(state)
    return (1.0, 1.0, True) if done else (0.0, 0.0, False)


@register_jitable
def reset(state: np.ndarray, rng: np.ndarray, params: ArrangeShapesParams) -> None:
    while True:
        clear(state)
        colour = drawn(params.colour, rng, len(COLOURS))
        shape = drawn(params.shape, rng, len(SHAPES))
        colour_b = drawn(params.colour_b, rng, len(COLOURS))
        shape_b = drawn(params.shape_b, rng, len(SHAPES))
        if (colour, shape) == (colour_b, shape_b):
            continue  # a drawn part repeated the other shape: draw again
        add_object(state, rng, colour, shape, 1)
        add_object(state, rng, colour_b, shape_b, 1)
        state[RELATION] = drawn(params.relation, rng, len(RELATIONS))
        if not instruction_holds(state):
            break
    for _ in range(DISTRACTORS[params.difficulty - 1]):
        draw_distractor(state, rng, 0, 2, 0)
    place_agent(state, rng)
    write_tokens(state)


ARRANGE_SHAPES = scene_task(
    name="ArrangeShapes",
    params=ArrangeShapesParams(),
    step=step,
    reset=reset,
    max_episode_steps=128,
    gold="1 on the step the named shapes stand as the instruction says (checked on the true state)",
    reference="BabyAI PutNext (MiniGrid), on an open 6x6 board, pushing instead of carrying",
    check_params=check_params,
    put=True,
)
