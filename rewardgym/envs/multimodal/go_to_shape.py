"""GoToShape: walk to the shape the instruction names, among distractors, seen as pixels.

The board is 6 x 6 cells with coloured shapes on it; the instruction reads ``go to the <colour>
<shape>`` (BabyAI's GoTo, on a smaller, open board). The named pair is unique on the board;
distractors are any other pair.

- **Actions**: ``Discrete(4)``, up, down, left, right; the agent walks over shapes and stays put
  at the board's edge.
- **Observation**: ``Dict(image=Box(0, 255, (48, 48, 3), uint8), instruction=MultiDiscrete(10 x
  20, uint8))`` (see :mod:`~rewardgym.envs.multimodal.scene`).
- **Reward** (the task's natural sparse reward): 1 on the step the agent reaches the named shape,
  which ends the episode; 0 otherwise. MiniGrid pays ``1 - 0.9 t / T`` instead; a flat 1 keeps
  proxy equal to gold under the env's own reward, so any gap is a regime's doing.
- **Gold** (``info["gold_reward"]``): 1 on the step the instruction comes to hold in the true state
  (the agent on the named shape's cell), else 0; an episode's gold is its success.
- **Difficulty** 1-4: 1, 3, 5 and 7 distractors; from 3 on, some share the named colour (a red
  square beside the red triangle) and some the named shape: the counterfactuals a reward model
  that reads colour alone gets wrong. ``instruction="go to the red triangle"`` (or ``colour=`` and
  ``shape=``, indices of ``COLOURS``/``SHAPES``) fixes the target; by default it is drawn.
- Episodes last 64 steps (truncated) unless reached.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> env = gym.make("rewardgym/GoToShape-v0", instruction="go to the blue circle")
    >>> obs, _ = env.reset(seed=0)
    >>> obs["image"].shape, decode_instruction(obs["instruction"])
    ((48, 48, 3), 'go to the blue circle')
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba.extending import register_jitable

from rewardgym.envs.multimodal.scene import (
    COLOURS,
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

DISTRACTOR_KINDS = np.array(
    [
        [0, -1, -1, -1, -1, -1, -1],
        [0, 0, 0, -1, -1, -1, -1],
        [1, 2, 0, 0, 0, -1, -1],
        [1, 2, 1, 2, 0, 0, 0],
    ],
    np.int64,
)
"""Per difficulty, each distractor's kind (see ``draw_distractor``: 0 any other pair, 1 the named
colour, 2 the named shape), -1 past the last."""

__all__ = ["GO_TO_SHAPE", "GoToShapeParams", "decode_instruction"]


class GoToShapeParams(NamedTuple):
    difficulty: int = 1
    colour: int = -1
    shape: int = -1


def check_params(params: GoToShapeParams) -> None:
    check_difficulty("GoToShape", params.difficulty)
    check_instruction_fields("GoToShape", Instruction(params.colour, params.shape), relation_needed=False)


@register_jitable
def step(state: np.ndarray, action: int, params: GoToShapeParams) -> tuple[float, float, bool]:
    move_agent(state, action, False)
    reached = instruction_holds(state)
    return (1.0, 1.0, True) if reached else (0.0, 0.0, False)


@register_jitable
def reset(state: np.ndarray, rng: np.ndarray, params: GoToShapeParams) -> None:
    clear(state)
    colour = drawn(params.colour, rng, len(COLOURS))
    shape = drawn(params.shape, rng, len(SHAPES))
    add_object(state, rng, colour, shape, 0)
    kinds = DISTRACTOR_KINDS[params.difficulty - 1]
    for j in range(kinds.shape[0]):
        if kinds[j] >= 0:
            draw_distractor(state, rng, 0, 1, kinds[j])
    place_agent(state, rng)
    write_tokens(state)


GO_TO_SHAPE = scene_task(
    name="GoToShape",
    params=GoToShapeParams(),
    step=step,
    reset=reset,
    max_episode_steps=64,
    gold="1 on the step the agent reaches the named shape (the instruction holds in the true state)",
    reference="BabyAI GoToLocal (MiniGrid), on an open 6x6 board with 4 moves",
    check_params=check_params,
    put=False,
)
