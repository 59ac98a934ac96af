"""Instruction-following scenes: coloured shapes seen as pixels, an instruction as tokens, gold from the state.

Each env's observation is a ``Dict`` of a 48 x 48 RGB ``image`` and an ``instruction`` of token ids
(:data:`~rewardgym.envs.multimodal.scene.VOCAB`); gold is whether the instruction holds in the
scene's true state, never read off pixels. See :mod:`~rewardgym.envs.multimodal.scene` for the
layout and grammar, and docs/design.md for how these differ from BabyAI/MiniGrid.
"""

from rewardgym.envs.multimodal.arrange_shapes import ARRANGE_SHAPES
from rewardgym.envs.multimodal.go_to_shape import GO_TO_SHAPE
from rewardgym.envs.multimodal.scene import VOCAB, decode_instruction, encode_instruction, parse_instruction

MULTIMODAL_TASKS = (GO_TO_SHAPE, ARRANGE_SHAPES)

__all__ = [
    "ARRANGE_SHAPES",
    "GO_TO_SHAPE",
    "MULTIMODAL_TASKS",
    "VOCAB",
    "decode_instruction",
    "encode_instruction",
    "parse_instruction",
]
