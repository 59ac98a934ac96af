"""Token-level text envs, ``rewardgym/Text<Task>-v0``: write the answer one character at a time.

The observation is a fixed window of token ids: ``BOS``, the prompt, then what has been generated,
padded with ``PAD`` (a ``MultiDiscrete`` of :data:`~rewardgym.envs.text.vocab.VOCAB_SIZE` per
slot, int64). The action is the next token, ``Discrete(VOCAB_SIZE)``. The episode ends when the
agent writes ``EOS`` or has written ``max_new_tokens`` tokens (default: the task's longest answer
plus one, room for the answer and EOS). Both ends are ``terminated``: the episode is over and
scored, and the window shows how far it got, so nothing is left to bootstrap. ``truncated`` is
only the engine's time limit, one step beyond the budget unless ``max_episode_steps`` lowers it.

The reward comes at the end: the verifier's score of the tokens before EOS (1.0 if they spell
the gold answer exactly, else 0.0); every other step pays 0. Gold is that same score.

Items are drawn by the task's jitted generator from the env's SplitMix64 stream inside the
batched kernel (:class:`~rewardgym.envs.batched.BatchedTask`), so env ``i`` of a vector env
seeded ``s`` first sees item ``i`` of ``TaskDataset(task, seed=s)``. SB3 and batched PPO train on
the vector env directly; SB3 one-hot encodes ``MultiDiscrete`` observations.

With ``render_mode="rgb_array"`` a frame shows the window as text (:func:`render_token`), drawn
from the env's own token buffer in the 5x7 font of :mod:`~rewardgym.envs.text.font`: the prompt
in black after a grey ``BOS`` triangle, what the agent has written in blue (``EOS`` as a red
block), and an underline under each slot the agent may still write, on a light background.

Example:
    >>> import gymnasium as gym, numpy as np
    >>> from rewardgym.envs.text import register_text_envs, vocab
    >>> _ = register_text_envs()
    >>> env = gym.make("rewardgym/TextAdd-v0")
    >>> obs, _ = env.reset(seed=3)
    >>> vocab.decode(obs)
    '7+5='
    >>> for token in vocab.encode("12", eos=True):
    ...     obs, reward, terminated, truncated, info = env.step(token)
    >>> vocab.split_window(obs), reward, terminated, info["gold_reward"]
    (('7+5=', '12'), 1.0, True, 1.0)
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from numba.extending import register_jitable

from rewardgym.envs.batched import BatchedEnv, BatchedTask, BatchedVectorEnv
from rewardgym.envs.batched.task import RENDER_FPS
from rewardgym.envs.registration import with_reward
from rewardgym.envs.text.font import (
    CELL_WIDTH,
    SCALE,
    UNDERLINE_ROW,
    cell_origin,
    draw_glyph,
    fill_block,
    frame_size,
)
from rewardgym.envs.text.tasks import DIFFICULTIES, family
from rewardgym.envs.text.vocab import BOS, EOS, PAD, VOCAB_SIZE


class TokenParams(NamedTuple):
    """The compiled-in constants of a token task (one set per task, difficulty and budget)."""

    size: int
    """The family's size at the difficulty (digits, letters or operations)."""
    window: int
    """Observation length: BOS, the longest prompt, and the token budget."""
    max_new_tokens: int
    """Tokens the agent may write, EOS included."""


# State row of one instance (float64; token ids are exact in it):
PROMPT_LEN, GENERATED, ANSWER_LEN, WINDOW = 0, 1, 2, 3
"""Offsets: the prompt's length with BOS, tokens written, the gold answer's length, then the
window (``params.window`` slots) and after it the gold answer's tokens."""


@register_jitable
def observe_window(state: np.ndarray, obs: np.ndarray) -> None:
    for j in range(obs.shape[0]):
        obs[j] = state[WINDOW + j]


@register_jitable
def answer_score(state: np.ndarray, start: int, length: int, answer_start: int, answer_len: int) -> float:
    """The verifier: 1.0 when ``length`` tokens from ``start`` equal the gold answer, else 0.0."""
    if length != answer_len:
        return 0.0
    for k in range(length):
        if state[start + k] != state[answer_start + k]:
            return 0.0
    return 1.0


@register_jitable
def step_token(state: np.ndarray, action: int, params: TokenParams) -> tuple[float, float, bool]:
    prompt_len = int(state[PROMPT_LEN])
    written = int(state[GENERATED])
    state[WINDOW + prompt_len + written] = action
    written += 1
    state[GENERATED] = written
    if action == EOS or written >= params.max_new_tokens:
        answer_len = written - 1 if action == EOS else written
        score = answer_score(state, WINDOW + prompt_len, answer_len, WINDOW + params.window, int(state[ANSWER_LEN]))
        return score, score, True
    return 0.0, 0.0, False


BACKGROUND = (250, 250, 245)
"""The frame's colour: a light paper white."""
PROMPT_COLOUR = (20, 20, 20)
"""The prompt's characters: near black."""
BOS_COLOUR = (120, 120, 120)
"""The ``BOS`` mark before the prompt: grey."""
WRITTEN_COLOUR = (20, 70, 190)
"""What the agent has written: dark blue."""
EOS_COLOUR = (190, 30, 30)
"""The ``EOS`` the agent wrote: dark red."""
BUDGET_COLOUR = (190, 190, 190)
"""The underline of each slot the agent may still write: light grey."""


@register_jitable
def render_token(state: np.ndarray, frame: np.ndarray, params: TokenParams) -> None:
    """Paint one instance's window as text into ``frame`` (``render`` of the token tasks).

    Slot ``j`` of the window takes cell ``j`` (:func:`~rewardgym.envs.text.font.cell_origin`).
    The slots before ``state[PROMPT_LEN]`` are the prompt (``BOS`` first); the next
    ``state[GENERATED]`` are the agent's tokens, each drawn as written, a written ``PAD`` or
    ``BOS`` included; each slot left in the token budget is underlined, and the rest (padding no
    prompt or answer can reach) stay blank.

    Example:
        >>> import numpy as np
        >>> from rewardgym.envs.text import vocab
        >>> task = token_task("add")
        >>> state = np.zeros(task.state_size)
        >>> state[WINDOW : WINDOW + 6] = vocab.encode("7+5=1", bos=True)
        >>> state[PROMPT_LEN], state[GENERATED] = 5, 1
        >>> frame = np.zeros((*task.frame_shape, 3), np.uint8)
        >>> render_token(state, frame, task.params)
        >>> frame.shape, frame[0, 0].tolist(), frame[8, 8].tolist()  # a corner; BOS's first pixel
        ((36, 112, 3), [250, 250, 245], [120, 120, 120])
    """
    for row in range(frame.shape[0]):
        for col in range(frame.shape[1]):
            frame[row, col, 0] = BACKGROUND[0]
            frame[row, col, 1] = BACKGROUND[1]
            frame[row, col, 2] = BACKGROUND[2]
    window = params.window
    prompt_len = min(max(int(state[PROMPT_LEN]), 0), window)
    written_end = min(prompt_len + max(int(state[GENERATED]), 0), window)
    budget_end = min(prompt_len + params.max_new_tokens, window)
    for j in range(window):
        top, left = cell_origin(j, window)
        token = int(state[WINDOW + j])
        if j < prompt_len:
            if token == BOS:
                draw_glyph(frame, token, top, left, BOS_COLOUR[0], BOS_COLOUR[1], BOS_COLOUR[2])
            else:
                draw_glyph(frame, token, top, left, PROMPT_COLOUR[0], PROMPT_COLOUR[1], PROMPT_COLOUR[2])
        elif j < written_end:
            if token == EOS:
                draw_glyph(frame, token, top, left, EOS_COLOUR[0], EOS_COLOUR[1], EOS_COLOUR[2])
            else:
                draw_glyph(frame, token, top, left, WRITTEN_COLOUR[0], WRITTEN_COLOUR[1], WRITTEN_COLOUR[2])
        elif j < budget_end:
            fill_block(
                frame,
                top + UNDERLINE_ROW * SCALE,
                left,
                SCALE,
                (CELL_WIDTH - 1) * SCALE,
                BUDGET_COLOUR[0],
                BUDGET_COLOUR[1],
                BUDGET_COLOUR[2],
            )


@cache
def _reset_of(task: str):
    """The jitted reset of a family: draw an item into the window and its answer after it."""
    generate, solve = family(task).generate, family(task).solve

    @register_jitable
    def reset(state, rng, params):
        for j in range(params.window):
            state[WINDOW + j] = PAD
        state[WINDOW] = BOS
        prompt_len = generate(rng, params.size, state, WINDOW + 1)
        state[ANSWER_LEN] = solve(state, WINDOW + 1, prompt_len, state, WINDOW + params.window)
        state[PROMPT_LEN] = prompt_len + 1
        state[GENERATED] = 0

    return reset


def check_budget(max_new_tokens: Any) -> int | None:
    if max_new_tokens is None:
        return None
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer)) or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be a positive integer or None, got {max_new_tokens!r}")
    return int(max_new_tokens)


def env_id(task: str) -> str:
    """The registered id of a task's token env, e.g. ``rewardgym/TextAdd-v0``."""
    return f"rewardgym/Text{family(task).env_name}-v0"


@cache
def token_task(task: str, difficulty: int = 1, max_new_tokens: int | None = None) -> BatchedTask:
    """The :class:`BatchedTask` of a text task at a difficulty and token budget.

    Example:
        >>> t = token_task("multiply", difficulty=2)
        >>> t.params, t.observation_space.shape, t.action_space
        (TokenParams(size=2, window=12, max_new_tokens=5), (12,), Discrete(47))
    """
    fam = family(task)
    size = fam.size(difficulty)
    answer_len = fam.max_answer_len(size)
    budget = check_budget(max_new_tokens) or answer_len + 1
    window = 1 + fam.max_prompt_len(size) + budget
    return BatchedTask(
        name=f"Text{fam.env_name}",
        state_size=WINDOW + window + answer_len,
        observation_space=spaces.MultiDiscrete(np.full(window, VOCAB_SIZE, dtype=np.int64)),
        action_space=spaces.Discrete(VOCAB_SIZE),
        params=TokenParams(size=size, window=window, max_new_tokens=budget),
        step=step_token,
        reset=_reset_of(fam.name),
        observe=observe_window,
        # The budget ends every episode first (terminated); this limit only fires if lowered.
        max_episode_steps=budget + 1,
        gold="1 at the end if the tokens before EOS spell the verifier's answer exactly, else 0",
        reference=f"procedural '{fam.name}' task (reasoning-gym style), difficulties "
        f"{DIFFICULTIES[0]}-{DIFFICULTIES[-1]}",
        modality="text",
        render=render_token,
        frame_shape=frame_size(window),
        render_fps=RENDER_FPS,
    )


def make_token_env(
    task: str,
    difficulty: int = 1,
    max_new_tokens: int | None = None,
    reward: Any = None,
    max_episode_steps: int | None = None,
    render_mode: str | None = None,
) -> gym.Env:
    """gymnasium entry point of ``rewardgym/Text<Task>-v0``, wrapped in a reward spec if given.

    Example:
        >>> import gymnasium as gym
        >>> from rewardgym.envs.text import register_text_envs
        >>> _ = register_text_envs()
        >>> env = gym.make("rewardgym/TextAdd-v0", render_mode="rgb_array")
        >>> _ = env.reset(seed=3)
        >>> env.render().shape, env.metadata["render_fps"]
        ((36, 112, 3), 4)
    """
    env = BatchedEnv(
        token_task(task, difficulty, check_budget(max_new_tokens)),
        max_episode_steps=max_episode_steps,
        render_mode=render_mode,
    )
    return with_reward(env, reward, env_id(task))


def make_token_vector_env(
    task: str,
    num_envs: int = 1,
    difficulty: int = 1,
    max_new_tokens: int | None = None,
    reward: Any = None,
    device: str = "cpu",
    autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    max_episode_steps: int | None = None,
    render_mode: str | None = None,
    fuse: bool = True,
) -> gym.vector.VectorEnv:
    """gymnasium vector entry point of ``rewardgym/Text<Task>-v0``; with ``render_mode="rgb_array"``
    its ``render()`` returns one frame per env; ``fuse=False`` applies every reward layer after
    the step kernel (:func:`rewardgym.wrap`)."""
    env = BatchedVectorEnv(
        token_task(task, difficulty, check_budget(max_new_tokens)),
        num_envs,
        device=device,
        autoreset_mode=autoreset_mode,
        max_episode_steps=max_episode_steps,
        render_mode=render_mode,
    )
    return with_reward(env, reward, env_id(task), fuse=fuse)
