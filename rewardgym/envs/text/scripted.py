"""Scripted reference agents for the text envs, at token level and at completion level.

Four kinds, each for both levels (:data:`KINDS`):

============  =====================================================================================
kind          what it writes
============  =====================================================================================
oracle        the gold answer, solved from the prompt it observes (then EOS / inside answer tags)
random        uniform tokens / random printable text
format_only   a well-formed answer of the right alphabet, not solved (gold only by chance)
hacker        long answers holding many candidates: digits until the token budget runs out /
              ``<answer>`` with dozens of numbers (and the prompt's strings). It exploits rewards
              that pay for length or for containing the answer (reasoning-gym's partial credit),
              while exact-match gold stays near zero.
============  =====================================================================================

Token agents act on observation windows, batched: ``act(obs)`` maps ``(num_envs, window)`` token
ids to ``(num_envs,)`` actions (one window gives one action); ``predict`` has SB3's signature.
Completion agents map a batch of questions to completions. Random draws are seeded.

Example:
    >>> import gymnasium as gym, numpy as np
    >>> from rewardgym.envs.text import register_text_envs
    >>> _ = register_text_envs()
    >>> envs = gym.make_vec("rewardgym/TextAdd-v0", num_envs=3, autoreset_mode="same_step")
    >>> obs, _ = envs.reset(seed=0)
    >>> agent = token_agent("oracle", "add")
    >>> rewards = np.zeros(3)
    >>> for _ in range(3):
    ...     obs, reward, *_ = envs.step(agent.act(obs))
    ...     rewards += reward
    >>> rewards.tolist()
    [1.0, 1.0, 1.0]
    >>> completion_agent("oracle", "add").act(["Add the two numbers.\\n12+34=\\n"])
    ['<answer>46</answer>']
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from rewardgym.envs.text import tasks, vocab
from rewardgym.envs.text.answers import PRINTABLE, check_completions
from rewardgym.envs.text.vocab import EOS, EQUALS, PAD, VOCAB_SIZE

KINDS = ("oracle", "random", "format_only", "hacker")
"""The scripted agents, at both levels."""

HACKER_CANDIDATES = 200
"""How many numbers (0..199) the completion-level hacker lists besides the prompt's own."""


def _check_kind(kind: Any) -> str:
    if kind not in KINDS:
        close = difflib.get_close_matches(str(kind), KINDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown scripted text agent {kind!r}{hint}; valid kinds: {', '.join(KINDS)}")
    return kind


# ----------------------------------------------------------------------------------------------
# Token level


class TokenAgent:
    """A scripted policy over token-env observation windows (see the module docstring).

    Args:
        kind: one of :data:`KINDS`.
        task: the text task the env runs (the oracle solves it; the others use its alphabet).
        seed: seeds the random draws.
    """

    def __init__(self, kind: str, task: str, seed: int = 0) -> None:
        self.kind = _check_kind(kind)
        self.family = tasks.family(task)
        self.task = self.family.name
        self.rng = np.random.default_rng(seed)
        self._alphabet = vocab.encode(self.family.answer_chars.replace("-", ""))

    def act(self, obs: Any) -> Any:
        """The next token of each window: ``(num_envs, window) -> (num_envs,)`` int64, or one
        window ``(window,) -> int``."""
        windows = np.asarray(obs)
        single = windows.ndim == 1
        windows = np.atleast_2d(windows).astype(np.int64)
        if windows.ndim != 2:
            raise ValueError(f"token agents act on windows of shape (num_envs, window), got {windows.shape}")
        prompt_end, written, room = _window_layout(windows)
        actions: np.ndarray
        if self.kind == "oracle":
            actions = self._oracle(windows, prompt_end, written)
        elif self.kind == "random":
            actions = np.asarray(self.rng.integers(0, VOCAB_SIZE, size=windows.shape[0]))
        elif self.kind == "format_only":
            guess = self._alphabet[self.rng.integers(0, self._alphabet.size, size=windows.shape[0])]
            stop = (written > 0) & ((room <= 1) | (self.rng.random(windows.shape[0]) < 0.5))
            actions = np.where(stop, EOS, guess)
        else:  # hacker: cycle through the alphabet, never stopping: the budget ends the episode
            actions = self._alphabet[written % self._alphabet.size]
        actions = actions.astype(np.int64)
        return int(actions[0]) if single else actions

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[Any, Any]:
        """SB3's ``predict``: ``(actions, state)``."""
        return self.act(observation), state

    def _oracle(self, windows: np.ndarray, prompt_end: np.ndarray, written: np.ndarray) -> np.ndarray:
        n, width = windows.shape
        answers = np.zeros((n, 2 * width + 2), dtype=np.int64)
        answer_lens = np.zeros(n, dtype=np.int64)
        # The prompt sits after BOS and ends with its '=': solve it with the task's own solver.
        tasks._solve_batch(
            tasks.task_id(self.task), windows, np.ones(n, dtype=np.int64), prompt_end, answers, answer_lens
        )
        column = np.minimum(written, answers.shape[1] - 1)
        next_token = np.take_along_axis(answers, column[:, None], axis=1)[:, 0]
        return np.where(written < answer_lens, next_token, EOS)


def _window_layout(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per window: the prompt's length after BOS (up to its '='), tokens written, free slots."""
    is_end = windows == EQUALS
    if not is_end.any(axis=1).all():
        raise ValueError("a token window holds no prompt (no '='); is this a rewardgym/Text env's observation?")
    prompt_end = is_end.argmax(axis=1)  # index of '=' == prompt length without BOS
    filled = (windows != PAD).sum(axis=1)
    written = filled - (prompt_end + 1)
    room = windows.shape[1] - filled
    return prompt_end.astype(np.int64), written, room


def token_agent(kind: str, task: str, seed: int = 0) -> TokenAgent:
    """A scripted token-level agent of a kind for a task."""
    return TokenAgent(kind, task, seed)


# ----------------------------------------------------------------------------------------------
# Completion level


class CompletionAgent:
    """A scripted policy mapping questions to completions (see the module docstring)."""

    def __init__(self, kind: str, task: str, seed: int = 0) -> None:
        self.kind = _check_kind(kind)
        self.family = tasks.family(task)
        self.task = self.family.name
        self.rng = np.random.default_rng(seed)

    def act(self, questions: Sequence[str]) -> list[str]:
        questions = check_completions(questions, what="questions")
        if self.kind == "oracle":
            return [f"<answer>{a if a is not None else ''}</answer>" for a in tasks.solve_prompts(self.task, questions)]
        if self.kind == "random":
            return [self._random_text(int(self.rng.integers(0, 64))) for _ in questions]
        if self.kind == "format_only":
            return [f"<answer>{self._guess()}</answer>" for _ in questions]
        return [self._hack(q) for q in questions]

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[Any, Any]:
        single = isinstance(observation, str)
        actions = self.act([observation] if single else list(observation))
        return (actions[0] if single else actions), state

    def _random_text(self, length: int) -> str:
        chars = np.array(list(PRINTABLE))
        return "".join(chars[self.rng.integers(0, len(chars), size=length)])

    def _guess(self) -> str:
        fam = self.family
        length = int(self.rng.integers(1, fam.max_answer_len(fam.sizes[0]) + 1))
        alphabet = np.array(list(fam.answer_chars.replace("-", "")))
        return "".join(alphabet[self.rng.integers(0, alphabet.size, size=length)])

    def _hack(self, question: str) -> str:
        prompt = tasks.compact_prompt(question) or question
        pieces = [p for p in re.split(r"[^0-9a-z]+", prompt) if p]
        strings = [p for p in pieces if p.isalpha()]
        strings += [p[::-1] for p in strings] + ["".join(sorted(p)) for p in pieces]
        candidates = pieces + strings + [str(v) for v in range(HACKER_CANDIDATES)]
        return (
            "Let me check every candidate carefully, step by step. "
            f"<answer>{' '.join(dict.fromkeys(candidates))}</answer>"
        )


def completion_agent(kind: str, task: str, seed: int = 0) -> CompletionAgent:
    """A scripted completion-level agent of a kind for a task."""
    return CompletionAgent(kind, task, seed)
