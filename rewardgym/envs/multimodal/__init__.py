"""Multimodal envs: coloured shapes seen as pixels, with words to follow or to answer; gold from the state.

- Instruction following (:mod:`~rewardgym.envs.multimodal.go_to_shape`,
  :mod:`~rewardgym.envs.multimodal.arrange_shapes`): each env's observation is a ``Dict`` of a
  48 x 48 RGB ``image`` and an ``instruction`` of token ids
  (:data:`~rewardgym.envs.multimodal.scene.VOCAB`); gold is whether the instruction holds in the
  scene's true state, never read off pixels. See :mod:`~rewardgym.envs.multimodal.scene` for the
  layout and grammar, and docs/design.md for how these differ from BabyAI/MiniGrid.
- Visual question answering (:mod:`~rewardgym.envs.multimodal.vqa`,
  :mod:`~rewardgym.envs.multimodal.vqa_env`): ``rewardgym/ShapesVQA-v0`` shows a scene's picture and
  a question (``Text``) and takes an answer string, one step, scored like the text completion envs
  against the answer read off the scene's state; :class:`ShapesVQADataset` holds the same items for
  the trainer adapters (:mod:`rewardgym.envs.text.adapters`).
"""

from rewardgym.envs.multimodal.arrange_shapes import ARRANGE_SHAPES
from rewardgym.envs.multimodal.go_to_shape import GO_TO_SHAPE
from rewardgym.envs.multimodal.scene import VOCAB, decode_instruction, encode_instruction, parse_instruction
from rewardgym.envs.multimodal.vqa import ShapesVQADataset
from rewardgym.envs.multimodal.vqa_env import register_vqa_env

MULTIMODAL_TASKS = (GO_TO_SHAPE, ARRANGE_SHAPES)
"""The batched multimodal tasks (the VQA env is registered by :func:`register_vqa_env`)."""

__all__ = [
    "ARRANGE_SHAPES",
    "GO_TO_SHAPE",
    "MULTIMODAL_TASKS",
    "VOCAB",
    "ShapesVQADataset",
    "decode_instruction",
    "encode_instruction",
    "parse_instruction",
    "register_vqa_env",
]
