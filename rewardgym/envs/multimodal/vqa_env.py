"""``rewardgym/ShapesVQA-v0``: one picture, one question, one answer string, for vision-language models.

The completion-level text envs (:mod:`rewardgym.envs.text.completion_env`) with a picture: each
episode is one step. The observation is a ``Dict`` of the scene's ``image`` (``Box(0, 255, (48,
48, 3), uint8)``, :func:`~rewardgym.envs.multimodal.vqa.paint_picture`) and the ``question`` (the
text envs' ``Text`` space over printable characters: what form the answer takes, the question,
the answer format); see :mod:`~rewardgym.envs.multimodal.vqa` for the grammar and difficulties.
The action is a completion string, read and scored as the text envs' are: the answer in the last
``<answer>...</answer>`` pair (without tags, the last word) is paid 1.0 if it equals the answer
read off the scene's true state, else 0.0. That is gold (``info["gold_reward"]``) and, as for the
text envs, the env's own reward; a reward spec (``reward="noisy(sigma=0.1)"``,
``"shaped(kind='format')"``...) puts its regimes on top, with the reward trace in
``info["reward_trace"]``. The gold answer is kept by the env, never observed.

Bad completions never crash a step: an empty one, or one longer than ``max_chars``, scores 0; one
that is not a ``str`` raises ``TypeError`` naming the env and the type.

The vector env (``gym.make_vec("rewardgym/ShapesVQA-v0", num_envs=N)``) is the text envs' one-step
vector env (:class:`~rewardgym.envs.text.completion_env.OneStepVectorEnv`) drawing scenes instead:
env ``i`` seeded ``s`` first sees item ``i`` of ``ShapesVQADataset(seed=s)``. A batch of
observations is ``{"image": (N, 48, 48, 3) uint8, "question": tuple of N str}``; in the default
SAME_STEP autoreset mode ``info["final_obs"]`` is an object array holding the answered observation
(a dict) where an episode ended and None elsewhere, as gymnasium's own vector envs keep it.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> env = gym.make("rewardgym/ShapesVQA-v0", kinds="count_colour")
    >>> obs, _ = env.reset(seed=1)
    >>> obs["image"].shape, obs["question"].splitlines()[1]
    ((48, 48, 3), 'How many red shapes are there?')
    >>> _, reward, terminated, truncated, info = env.step("I count <answer>3</answer>")
    >>> reward, terminated, truncated, info["gold_reward"]
    (1.0, True, False, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from rewardgym.envs.multimodal.scene import IMAGE
from rewardgym.envs.multimodal.vqa import (
    ENV_ID,
    TASK,
    check_difficulty,
    check_kinds,
    generate_scenes,
    paint_images,
    prompt,
    true_answer,
)
from rewardgym.envs.registration import ENVS, EnvInfo, with_reward
from rewardgym.envs.text.answers import MAX_COMPLETION_CHARS
from rewardgym.envs.text.completion_env import OneStepEnv, OneStepVectorEnv, completion_spaces

__all__ = ["ShapesVQAEnv", "ShapesVQAVectorEnv", "make_vqa_env", "make_vqa_vector_env", "register_vqa_env"]


def vqa_observation_space() -> gym.spaces.Dict:
    """One env's observation space: the picture and the question (the text envs' question space).

    Example:
        >>> space = vqa_observation_space()
        >>> space["image"].shape, space["question"].max_length
        ((48, 48, 3), 512)
    """
    return gym.spaces.Dict(
        {
            "image": gym.spaces.Box(0, 255, (IMAGE, IMAGE, 3), np.uint8),
            "question": completion_spaces()[0],
        }
    )


class ShapesVQAVectorEnv(OneStepVectorEnv):
    """``num_envs`` one-step ShapesVQA episodes, scored as one batch.

    Args:
        num_envs: how many envs.
        difficulty: 1..4 (:data:`~rewardgym.envs.multimodal.vqa.LEVELS`).
        kinds: the question kinds asked (a kind or a sequence); None for the difficulty's.
        autoreset_mode: SAME_STEP (default), NEXT_STEP or DISABLED.
        fallback: how answers without tags are read (``"last_token"`` or ``"none"``).
        max_chars: completions longer than this score 0.

    Example:
        >>> envs = ShapesVQAVectorEnv(2, kinds="exists")
        >>> obs, _ = envs.reset(seed=0)
        >>> obs["image"].shape, [q.splitlines()[1] for q in obs["question"]]
        ((2, 48, 48, 3), ['Is there a blue circle?', 'Is there a red triangle?'])
        >>> _, reward, terminated, _, info = envs.step(["<answer>yes</answer>", "<answer>yes</answer>"])
        >>> reward.tolist(), terminated.tolist(), info["final_obs"][1]["question"].splitlines()[1]
        ([1.0, 0.0], [True, True], 'Is there a red triangle?')
    """

    def __init__(
        self,
        num_envs: int = 1,
        *,
        difficulty: int = 1,
        kinds: str | Sequence[str] | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
        fallback: str = "last_token",
        max_chars: int = MAX_COMPLETION_CHARS,
    ) -> None:
        self.task = TASK
        self.difficulty = check_difficulty(difficulty)
        self.kinds = check_kinds(kinds, self.difficulty)
        super().__init__(
            num_envs,
            env_id=ENV_ID,
            single_observation_space=vqa_observation_space(),
            autoreset_mode=autoreset_mode,
            fallback=fallback,
            max_chars=max_chars,
        )
        self._images = np.zeros((self.num_envs, IMAGE, IMAGE, 3), np.uint8)
        self._questions: list[str] = [""] * self.num_envs

    def _draw_items(self, index: np.ndarray, streams: np.ndarray) -> None:
        states, questions = generate_scenes(streams, self.difficulty, self.kinds)
        self._images[index] = paint_images(states)
        for i, state, question in zip(index.tolist(), states, questions):
            answer = true_answer(state, question)
            assert answer is not None, "generate_scene builds relation questions with a unique answer"
            self._questions[i] = prompt(question)
            self._answers[i] = answer

    def _observation(self) -> dict[str, Any]:
        return {"image": self._images.copy(), "question": tuple(self._questions)}

    def _final_observations(self, ended: np.ndarray) -> np.ndarray:
        answered = np.full(self.num_envs, None, dtype=object)
        for i in np.flatnonzero(ended).tolist():
            answered[i] = {"image": self._images[i].copy(), "question": self._questions[i]}
        return answered


class ShapesVQAEnv(OneStepEnv):
    """One ShapesVQA env: a vector env of one, so single and vector envs cannot disagree.

    Seeded with ``s`` it shows the items of env 0 of a vector env seeded ``s``.

    Example:
        >>> env = ShapesVQAEnv(difficulty=2)
        >>> obs, _ = env.reset(seed=0)
        >>> sorted(obs), obs["image"].dtype
        (['image', 'question'], dtype('uint8'))
    """

    def __init__(
        self,
        *,
        difficulty: int = 1,
        kinds: str | Sequence[str] | None = None,
        fallback: str = "last_token",
        max_chars: int = MAX_COMPLETION_CHARS,
    ) -> None:
        batch = ShapesVQAVectorEnv(
            1,
            difficulty=difficulty,
            kinds=kinds,
            autoreset_mode=AutoresetMode.DISABLED,
            fallback=fallback,
            max_chars=max_chars,
        )
        super().__init__(batch)
        self.task = TASK
        self.difficulty = batch.difficulty
        self.kinds = batch.kinds


def make_vqa_env(
    difficulty: int = 1,
    kinds: str | Sequence[str] | None = None,
    reward: Any = None,
    fallback: str = "last_token",
    max_chars: int = MAX_COMPLETION_CHARS,
) -> gym.Env:
    """gymnasium entry point of ``rewardgym/ShapesVQA-v0``.

    Example:
        >>> env = make_vqa_env(difficulty=3, reward="scale(factor=2)")
        >>> env.spec.id
        'rewardgym/ShapesVQA-v0'
    """
    env = ShapesVQAEnv(difficulty=difficulty, kinds=kinds, fallback=fallback, max_chars=max_chars)
    return with_reward(env, reward, ENV_ID)


def make_vqa_vector_env(
    num_envs: int = 1,
    difficulty: int = 1,
    kinds: str | Sequence[str] | None = None,
    reward: Any = None,
    autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
    fallback: str = "last_token",
    max_chars: int = MAX_COMPLETION_CHARS,
    device: str = "cpu",
) -> gym.vector.VectorEnv:
    """gymnasium vector entry point of ``rewardgym/ShapesVQA-v0``.

    Example:
        >>> envs = make_vqa_vector_env(4, reward="noisy(sigma=0.1)")
        >>> envs.num_envs, envs.single_observation_space["image"].shape
        (4, (48, 48, 3))
    """
    if device != "cpu":
        raise ValueError(
            f"{ENV_ID} runs on the CPU (its questions and answers are strings), got device={device!r}; "
            "valid devices: cpu"
        )
    env = ShapesVQAVectorEnv(
        num_envs,
        difficulty=difficulty,
        kinds=kinds,
        autoreset_mode=autoreset_mode,
        fallback=fallback,
        max_chars=max_chars,
    )
    return with_reward(env, reward, ENV_ID)


def register_vqa_env() -> str:
    """Register ``rewardgym/ShapesVQA-v0`` with gymnasium and ``rewardgym list``; returns its id.

    Calling it again is harmless. Kwargs: ``difficulty``, ``kinds``, ``reward``, ``fallback``,
    ``max_chars``, and for ``make_vec`` ``num_envs``, ``autoreset_mode``, ``device`` (cpu).

    Example:
        >>> register_vqa_env(), ENVS["rewardgym/ShapesVQA-v0"].modality
        ('rewardgym/ShapesVQA-v0', 'multimodal')
    """
    if ENV_ID not in gym.registry:
        gym.register(
            id=ENV_ID,
            entry_point="rewardgym.envs.multimodal.vqa_env:make_vqa_env",
            vector_entry_point="rewardgym.envs.multimodal.vqa_env:make_vqa_vector_env",
            max_episode_steps=None,  # one step, ended by the env itself
        )
    question, action = completion_spaces()
    ENVS[ENV_ID] = EnvInfo(
        env_id=ENV_ID,
        modality="multimodal",
        observation_space=f"Dict(image: Box({IMAGE}, {IMAGE}, 3) uint8, question: Text(<= {question.max_length} chars))",
        action_space=f"Text(<= {action.max_length} chars) completion",
        gold="1 if the answer in <answer></answer> tags equals the one read off the scene's state exactly, else 0",
        max_episode_steps=1,
        reference="CLEVR-style VQA (Johnson et al. 2017) on BabyAI's colours, a 6x6 board of shapes",
    )
    return ENV_ID
