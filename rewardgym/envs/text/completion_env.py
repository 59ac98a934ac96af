"""Completion-level text envs, ``rewardgym/TextCompletion<Task>-v0``: one question, one answer.

The observation is the question (a ``Text`` space over printable ASCII): an instruction, the
task's compact prompt and the answer format. The action is a completion string. Each episode is
one step: the completion is scored by the verifier (:mod:`rewardgym.envs.text.rewards`: the
answer in the last ``<answer>...</answer>`` pair, with the documented fallback) and the episode
terminates. Gold is that score; a reward spec puts its regimes on top, as for every env.

Bad completions never crash a step: an empty one, or one longer than ``max_chars``, scores 0;
one that is not a ``str`` raises ``TypeError`` naming the env and the type.

The vector env draws each env's items from the same SplitMix64 stream and jitted generator as
the token envs, so env ``i`` seeded ``s`` sees the same items at both levels. Its default
autoreset mode is SAME_STEP, the natural one for one-step episodes: every step returns the next
questions, with the answered ones in ``info["final_obs"]``. As in gymnasium, a batch of questions
is a tuple of ``str`` (the space is a ``Tuple`` of ``Text``); ``info["final_obs"]`` is an object
array holding a question where an episode ended and None elsewhere.

:class:`OneStepVectorEnv` and :class:`OneStepEnv` hold what every completion-level env shares
(one-step episodes, seeding, autoreset, scoring by the verifier, gold in ``info``); an env says
only what items it draws and how its observations batch. The text envs here are two;
``rewardgym/ShapesVQA-v0`` (:mod:`rewardgym.envs.multimodal.vqa_env`), a picture with its
question, is another.

Example:
    >>> import gymnasium as gym
    >>> from rewardgym.envs.text import register_text_envs
    >>> _ = register_text_envs()
    >>> env = gym.make("rewardgym/TextCompletionAdd-v0")
    >>> question, _ = env.reset(seed=3)
    >>> print(question)
    Add the two numbers.
    7+5=
    Give only the final answer, between <answer> and </answer>.
    >>> _, reward, terminated, truncated, info = env.step("7 + 5 is <answer>12</answer>")
    >>> reward, terminated, truncated, info["gold_reward"]
    (1.0, True, False, 1.0)
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from rewardgym.core.info import FINAL_OBS, GOLD_REWARD, REWARD_TRACE, mask_key
from rewardgym.core.rng import per_env_seeds, seed_streams
from rewardgym.envs.batched import parse_autoreset_mode
from rewardgym.envs.registration import with_reward
from rewardgym.envs.text.answers import (
    MAX_COMPLETION_CHARS,
    as_object_array,
    check_completions,
    check_fallback,
    check_max_chars,
    score_completions,
    text_space,
)
from rewardgym.envs.text.tasks import family, generate_items, question

QUESTION_MAX_CHARS = 512
"""The observation space's bound; the longest question is under 200 characters."""


def completion_spaces(max_chars: int = MAX_COMPLETION_CHARS) -> tuple[gym.spaces.Text, gym.spaces.Text]:
    """``(observation_space, action_space)`` of one completion env."""
    return text_space(QUESTION_MAX_CHARS, min_length=1), text_space(max_chars)


def env_id(task: str) -> str:
    """The registered id of a task's completion env, e.g. ``rewardgym/TextCompletionAdd-v0``."""
    return f"rewardgym/TextCompletion{family(task).env_name}-v0"


class OneStepVectorEnv(VectorEnv):
    """What every completion-level vector env shares: ``num_envs`` one-step episodes, each an item
    drawn from its env's own stream and answered by a completion string, scored as one batch.

    A subclass draws the items (:meth:`_draw_items`: each env's observation and its gold answer,
    kept here in ``_answers``, never in the observation) and says how its observations batch
    (:meth:`_observation`, :meth:`_final_observations`); resetting, autoreset, seeding and
    scoring are this class's. The text envs (:class:`CompletionVectorEnv`) ask questions, the
    multimodal VQA env (:mod:`rewardgym.envs.multimodal.vqa_env`) shows a picture with its question.

    Args:
        num_envs: how many envs.
        env_id: the registered id, named in errors.
        single_observation_space: one env's observation space.
        autoreset_mode: SAME_STEP (default), NEXT_STEP or DISABLED.
        fallback: how answers without tags are read (``"last_token"`` or ``"none"``).
        max_chars: completions longer than this score 0.

    Example:
        >>> envs = CompletionVectorEnv("add", 3)
        >>> isinstance(envs, OneStepVectorEnv), envs.env_id
        (True, 'rewardgym/TextCompletionAdd-v0')
    """

    detail_keys: tuple[str, ...] = ()
    """The per-env info keys :meth:`_score` reports besides gold and the trace (a single env's
    info holds them too, unbatched)."""
    scores_any_action: bool = False
    """True where a completion that is not a ``str`` scores 0 (with the reason in a detail key)
    instead of raising ``TypeError``."""

    def __init__(
        self,
        num_envs: int,
        *,
        env_id: str,
        single_observation_space: gym.Space,
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
        fallback: str = "last_token",
        max_chars: int = MAX_COMPLETION_CHARS,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        self.env_id = env_id
        self.num_envs = int(num_envs)
        self.fallback = check_fallback(fallback)
        self.max_chars = check_max_chars(max_chars)
        self.autoreset_mode = parse_autoreset_mode(autoreset_mode)
        self.metadata = {"render_modes": [], "autoreset_mode": self.autoreset_mode}
        self.render_mode = None
        self.single_observation_space = single_observation_space
        self.single_action_space = text_space(self.max_chars)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        n = self.num_envs
        self._streams = np.zeros((n, 2), dtype=np.uint64)
        self._answers: list[str] = [""] * n  # gold; never shown to the agent
        self._needs_reset = np.zeros(n, dtype=bool)
        self._everyone = np.ones(n, dtype=bool)
        self._everyone.flags.writeable = False
        self._seeded = False
        self._has_reset = False

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """New items for all envs, or those in ``options["reset_mask"]``; env ``i`` is seeded
        ``seed + i``."""
        super().reset(seed=None if seed is None or not isinstance(seed, int) else seed)
        mask = self._reset_mask(options)
        if seed is not None:
            self._streams[mask] = seed_streams(per_env_seeds(seed, self.num_envs))[mask]
            self._seeded = True
        elif not self._seeded:
            self._streams[:] = seed_streams(per_env_seeds(int(self.np_random.integers(2**62)), self.num_envs))
            self._seeded = True
        self._draw(mask)
        self._has_reset = True
        return self._observation(), {}

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        """Score each env's completion against its gold answer; every answered episode ends."""
        if not self._has_reset:
            raise RuntimeError("call reset() before step() on a rewardgym completion env")
        mode = self.autoreset_mode
        if mode is AutoresetMode.DISABLED and self._needs_reset.any():
            raise RuntimeError(
                "autoreset_mode is DISABLED and the episodes have ended; reset them with "
                "reset(options={'reset_mask': mask}) before stepping again"
            )
        restarting = self._needs_reset.copy()  # NEXT_STEP: these only start a new episode
        answering = ~restarting
        reward, gold, details = self._score(actions, answering)
        answered = self._final_observations(answering) if mode is AutoresetMode.SAME_STEP else None
        if mode is AutoresetMode.SAME_STEP:
            self._draw(answering)
        else:
            self._needs_reset = answering
            if restarting.any():
                self._draw(restarting)
        info: dict[str, Any] = {
            GOLD_REWARD: gold,
            mask_key(GOLD_REWARD): self._everyone,
            REWARD_TRACE: {"env": reward},
            mask_key(REWARD_TRACE): self._everyone,
        }
        for key, values in details.items():
            info[key] = values
            info[mask_key(key)] = answering
        if mode is AutoresetMode.SAME_STEP:
            info[FINAL_OBS] = answered
            info[mask_key(FINAL_OBS)] = answering
        return self._observation(), reward, answering, np.zeros(self.num_envs, dtype=bool), info

    # -- what a subclass provides ------------------------------------------------------------

    def _score(self, actions: Any, answering: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """``(reward, gold, details)`` of the batch's completions, float32 ``(num_envs,)`` each,
        0.0 where an env is not ``answering``; ``details`` are per-env info arrays (reported with
        ``answering`` as their mask). Here the verifier scores the answer against the gold one,
        and the reward is that score; an env whose reward is a proxy overrides this."""
        completions = check_completions(actions, self.num_envs)
        gold = score_completions(completions, self._answers, fallback=self.fallback, max_chars=self.max_chars)
        gold[~answering] = 0.0
        return gold.copy(), gold, {}

    def _draw_items(self, index: np.ndarray, streams: np.ndarray) -> None:
        """Draw one item for each env in ``index`` from its ``streams`` row (advancing the rows in
        place): store its observation and its gold answer in ``self._answers``."""
        raise NotImplementedError

    def _observation(self) -> Any:
        """The batch's current observations, as ``observation_space`` holds them (fresh objects)."""
        raise NotImplementedError

    def _final_observations(self, ended: np.ndarray) -> np.ndarray:
        """An object array of each ``ended`` env's current observation, None elsewhere (what
        ``info["final_obs"]`` holds, as gymnasium's own vector envs keep it)."""
        raise NotImplementedError

    # -- internals --------------------------------------------------------------------------

    def _draw(self, mask: np.ndarray) -> None:
        index = np.flatnonzero(mask)
        if not index.size:
            return
        streams = self._streams[index]
        self._draw_items(index, streams)
        self._streams[index] = streams  # the draws advanced the copies
        self._needs_reset[index] = False

    def _reset_mask(self, options: dict[str, Any] | None) -> np.ndarray:
        options = options or {}
        unknown = set(options) - {"reset_mask"}
        if unknown:
            raise ValueError(f"unknown reset option {sorted(unknown)[0]!r}; valid options: reset_mask")
        if "reset_mask" not in options:
            return np.ones(self.num_envs, dtype=bool)
        mask = np.asarray(options["reset_mask"])
        if mask.shape != (self.num_envs,) or mask.dtype != bool:
            raise ValueError(
                f"reset_mask must be a bool array of shape ({self.num_envs},), got {mask.dtype} of shape {mask.shape}"
            )
        if not self._has_reset and not mask.all():
            raise RuntimeError("the first reset() must reset every env; pass no reset_mask")
        return mask


class CompletionVectorEnv(OneStepVectorEnv):
    """``num_envs`` one-step completion episodes, scored as one batch.

    Args:
        task: the text task (``rewardgym.envs.text.TASKS``).
        num_envs: how many envs.
        difficulty: 1..5.
        autoreset_mode: SAME_STEP (default), NEXT_STEP or DISABLED.
        fallback: how answers without tags are read (``"last_token"`` or ``"none"``).
        max_chars: completions longer than this score 0.

    Example:
        >>> envs = CompletionVectorEnv("parity", 2)
        >>> questions, _ = envs.reset(seed=0)
        >>> [q.splitlines()[1] for q in questions]
        ['110=', '010=']
        >>> _, reward, terminated, _, info = envs.step(["<answer>1</answer>", "<answer>1</answer>"])
        >>> reward.tolist(), terminated.tolist(), [q.splitlines()[1] for q in info["final_obs"]]
        ([0.0, 1.0], [True, True], ['110=', '010='])
    """

    def __init__(
        self,
        task: str,
        num_envs: int = 1,
        *,
        difficulty: int = 1,
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
        fallback: str = "last_token",
        max_chars: int = MAX_COMPLETION_CHARS,
    ) -> None:
        self.family = family(task)
        self.task = self.family.name
        self.size = self.family.size(difficulty)
        self.difficulty = int(difficulty)
        super().__init__(
            num_envs,
            env_id=env_id(self.task),
            single_observation_space=completion_spaces()[0],
            autoreset_mode=autoreset_mode,
            fallback=fallback,
            max_chars=max_chars,
        )
        self._questions: list[str] = [""] * self.num_envs

    def _draw_items(self, index: np.ndarray, streams: np.ndarray) -> None:
        prompts, answers = generate_items(self.task, self.size, streams)
        for i, prompt, answer in zip(index, prompts, answers):
            self._questions[i] = question(self.task, prompt)
            self._answers[i] = answer

    def _observation(self) -> tuple[str, ...]:
        return tuple(self._questions)

    def _final_observations(self, ended: np.ndarray) -> np.ndarray:
        answered = as_object_array(self._questions)
        answered[~ended] = None
        return answered


class OneStepEnv(gym.Env):
    """One completion-level env: a :class:`OneStepVectorEnv` of one, so single and vector envs
    cannot disagree. Seeded with ``s`` it draws the items of env 0 of a vector env seeded ``s``.

    Args:
        batch: the vector env of one it runs (made with ``autoreset_mode=DISABLED``).

    Example:
        >>> env = OneStepEnv(CompletionVectorEnv("add", 1, autoreset_mode="disabled"))
        >>> env.reset(seed=3)[0].splitlines()[1]
        '7+5='
    """

    metadata = {"render_modes": []}

    def __init__(self, batch: OneStepVectorEnv) -> None:
        if batch.num_envs != 1 or batch.autoreset_mode is not AutoresetMode.DISABLED:
            raise ValueError("a OneStepEnv runs a vector env of one env with autoreset_mode=DISABLED")
        self._batch = batch
        self.observation_space = batch.single_observation_space
        self.action_space = batch.single_action_space

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """A new item; a seeded reset starts its stream afresh."""
        super().reset(seed=seed)
        if options:
            raise ValueError(f"unknown reset option {sorted(options)[0]!r}; completion envs take none")
        obs, _ = self._batch.reset(seed=seed)
        return _first(obs), {}

    def step(self, action: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        """Score the completion ``action``; the episode ends."""
        if not isinstance(action, str) and not self._batch.scores_any_action:
            raise TypeError(
                f"the action of {self._batch.env_id} is a completion str, got {type(action).__name__}: {action!r:.80}"
            )
        if self._batch._needs_reset[0]:
            raise RuntimeError(f"the {self._batch.env_id} episode has ended (one step each); call reset()")
        obs, reward, terminated, truncated, info = self._batch.step([action])
        reward = float(reward[0])
        return (
            _first(obs),
            reward,
            bool(terminated[0]),
            bool(truncated[0]),
            {
                **{key: _first(info[key]) for key in self._batch.detail_keys},
                GOLD_REWARD: float(info[GOLD_REWARD][0]),
                REWARD_TRACE: {"env": reward},
            },
        )


def _first(obs: Any) -> Any:
    """Env 0's observation in a batch of one (per key of a ``Dict`` observation)."""
    if isinstance(obs, dict):
        return {key: _first(value) for key, value in obs.items()}
    return obs[0]


class CompletionEnv(OneStepEnv):
    """One completion env: a vector env of one, so single and vector envs cannot disagree.

    Seeded with ``s`` it asks the questions of env 0 of a vector env seeded ``s``.
    """

    def __init__(
        self,
        task: str,
        *,
        difficulty: int = 1,
        fallback: str = "last_token",
        max_chars: int = MAX_COMPLETION_CHARS,
    ) -> None:
        batch = CompletionVectorEnv(
            task,
            1,
            difficulty=difficulty,
            autoreset_mode=AutoresetMode.DISABLED,
            fallback=fallback,
            max_chars=max_chars,
        )
        super().__init__(batch)
        self.task = batch.task


def make_completion_env(
    task: str,
    difficulty: int = 1,
    reward: Any = None,
    fallback: str = "last_token",
    max_chars: int = MAX_COMPLETION_CHARS,
) -> gym.Env:
    """gymnasium entry point of ``rewardgym/TextCompletion<Task>-v0``."""
    env = CompletionEnv(task, difficulty=difficulty, fallback=fallback, max_chars=max_chars)
    return with_reward(env, reward, env_id(task))


def make_completion_vector_env(
    task: str,
    num_envs: int = 1,
    difficulty: int = 1,
    reward: Any = None,
    autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
    fallback: str = "last_token",
    max_chars: int = MAX_COMPLETION_CHARS,
    device: str = "cpu",
) -> gym.vector.VectorEnv:
    """gymnasium vector entry point of ``rewardgym/TextCompletion<Task>-v0``."""
    if device != "cpu":
        raise ValueError(
            f"completion envs run on the CPU (their observations are strings), got device={device!r}; "
            "valid devices: cpu"
        )
    env = CompletionVectorEnv(
        task,
        num_envs,
        difficulty=difficulty,
        autoreset_mode=autoreset_mode,
        fallback=fallback,
        max_chars=max_chars,
    )
    return with_reward(env, reward, env_id(task))
