"""The text kinds of ``shaped``: a format bonus and a length penalty for completion envs
(``rewardgym/TextCompletion*``), and a format bonus for token envs (``rewardgym/Text*``).

Completion regimes see a :class:`~rewardgym.core.transition.Transition` whose ``obs`` and
``next_obs`` are the questions and ``action`` the completions; the incoming reward is the
verifier's score. String work uses ``numpy.strings`` ufuncs over the whole batch.

Example:
    >>> from rewardgym.envs.text.rewards import CompletionReward
    >>> scorer = CompletionReward("add", "shaped(kind='format', weight=0.5)")
    >>> scorer(["q"] * 3, ["<answer>3</answer>", "3", "<answer>4"], ["3"] * 3).proxy.tolist()
    [1.5, 1.0, 0.0]
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rewardgym.core.arrays import Array, is_torch, take_per_row, where
from rewardgym.core.regime import EnvContext, Regime
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number
from rewardgym.envs.code.rewards import MAX_CODE_CHARS, is_code_env, well_formed_code
from rewardgym.envs.text import text_env_ids
from rewardgym.envs.text.answers import as_strings, well_formed
from rewardgym.envs.text.tasks import family
from rewardgym.envs.text.vocab import CHARS, EOS, EQUALS, PAD, VOCAB_SIZE, encode


class FormatReward(Regime):
    """``r + weight * format``: a bonus for answering in the asked format, one well-formed
    ``<answer>...</answer>`` pair around a non-empty answer (:func:`well_formed`).

    The classic format reward of RL from verifiable rewards (as in DeepSeek-R1's recipe). It pays
    a wrong answer in good form, so alone it is hackable by format: see the ``format_only`` agent.

    Bound to a code env (``rewardgym/Code-v0``), the asked format is the code env's: exactly one
    fenced ``python`` block whose code compiles, prose around it allowed
    (:func:`~rewardgym.envs.code.rewards.well_formed_code`). Every scripted exploit is in good
    form, so the bonus pays them too.

    Args:
        weight: the bonus for good form; any finite number.

    Example:
        >>> from rewardgym.envs.text.rewards import CompletionReward
        >>> CompletionReward("add", "shaped(kind='format')")(["q"], ["<answer>9</answer>"], ["3"]).proxy.tolist()
        [0.5]
    """

    name = "shaped"

    def __init__(self, weight: float = 0.5) -> None:
        self.weight = check_number(weight, "shaped(kind='format'): weight")
        self._code_chars: int | None = None  # bound to a code env: its max_chars

    def bind(self, context: EnvContext) -> None:
        space = context.action_space
        self._code_chars = None
        if is_code_env(context.env_id):
            self._code_chars = space.max_length if isinstance(space, gym.spaces.Text) else MAX_CODE_CHARS

    def reward(self, batch: Transition) -> Array:
        if self._code_chars is not None:
            formatted = well_formed_code(list(batch.action), max_chars=self._code_chars)
        else:
            formatted = well_formed(batch.action)
        return batch.reward + np.float32(self.weight) * formatted.astype(np.float32)


class LengthPenalty(Regime):
    """``r - coef * max(0, len(completion) - free)``: a penalty per character beyond ``free``.

    The usual counter to length hacking (and, set too high, a push towards terse wrong answers).

    Args:
        coef: the penalty per character, ``>= 0``.
        free: characters allowed without penalty, ``>= 0``.

    Example:
        >>> from rewardgym.envs.text.rewards import CompletionReward
        >>> spec = "shaped(kind='length', coef=0.01, free=20)"
        >>> out = CompletionReward("add", spec)(["q"] * 2, ["<answer>3</answer>", "x" * 70 + " 3"], ["3"] * 2)
        >>> [round(float(r), 3) for r in out.proxy]
        [1.0, 0.48]
    """

    name = "shaped"

    def __init__(self, coef: float = 0.001, free: int = 64) -> None:
        self.coef = check_number(coef, "shaped(kind='length'): coef", low=0.0)
        self.free = check_number(free, "shaped(kind='length'): free", low=0.0)

    def reward(self, batch: Transition) -> Array:
        excess = np.maximum(np.strings.str_len(as_strings(batch.action)) - self.free, 0.0)
        return batch.reward - (self.coef * excess).astype(np.float32)


class TokenFormatReward(Regime):
    """The format reward of token envs: ``r + weight`` on the step that ends an episode whose
    written tokens are one or more answer characters followed by EOS, or answer characters up to
    the token budget (a full budget ends the episode as written).

    The token-level counterpart of ``shaped(kind='format')``, and what makes a token env learnable
    from scratch: a uniform policy over the 47 tokens spells a given two-token answer about once
    in 2,200 episodes, while this bonus pays every well-formed guess from the start (see
    ``benchmarks/test_text_training.py``). Like any format reward it also pays a wrong answer in
    good form; gold stays the verifier's score.

    It reads only the agent's own observation window (``next_obs``): every token task's prompt
    ends with its only ``=``, so what follows is what the agent wrote. Numpy and torch batches.

    Args:
        weight: the bonus; any finite number.
        chars: the answer characters; None for the bound env's task's (digits for arithmetic,
            letters for copy and reverse, and so on).

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> from rewardgym.envs.text import vocab
        >>> env = gym.make("rewardgym/TextAdd-v0", reward="shaped(kind='token_format', weight=0.1)")
        >>> obs, _ = env.reset(seed=3)
        >>> vocab.decode(obs)
        '7+5='
        >>> [round(float(env.step(t)[1]), 3) for t in vocab.encode("13", eos=True)]  # wrong, well formed
        [0.0, 0.0, 0.1]
    """

    name = "shaped"

    def __init__(self, weight: float = 0.1, chars: str | None = None) -> None:
        self.weight = check_number(weight, "shaped(kind='token_format'): weight")
        if chars is not None and (not isinstance(chars, str) or not chars or set(chars) - set(CHARS)):
            raise ValueError(
                f"shaped(kind='token_format') parameter chars={chars!r} must be None (the task's "
                f"answer characters) or a non-empty string of vocabulary characters {CHARS!r}"
            )
        self.chars = chars
        self._allowed: np.ndarray | None = None if chars is None else _token_table(chars)
        self._torch_allowed: Any = None

    def bind(self, context: EnvContext) -> None:
        space = context.observation_space
        if not (isinstance(space, gym.spaces.MultiDiscrete) and (space.nvec == VOCAB_SIZE).all()):
            raise ValueError(
                "shaped(kind='token_format') needs a token env (rewardgym/Text<Task>-v0, whose "
                f"observations are windows of token ids); this env's observation space is {space}"
            )
        if self._allowed is None:
            task = _TOKEN_ENV_TASKS.get(context.env_id or "")
            if task is None:
                raise ValueError(
                    f"shaped(kind='token_format') knows no answer characters for env "
                    f"{context.env_id!r}; pass chars='...' (e.g. chars='0123456789')"
                )
            self._allowed = _token_table(family(task).answer_chars)

    def reward(self, batch: Transition) -> Array:
        if self._allowed is None:
            raise RuntimeError("shaped(kind='token_format') is not bound to an env yet, and has no chars")
        window = batch.next_obs
        allowed: Any = self._allowed
        if is_torch(window):
            import torch

            if self._torch_allowed is None or self._torch_allowed.device != window.device:
                self._torch_allowed = torch.as_tensor(self._allowed, device=window.device)
            allowed = self._torch_allowed
        width = window.shape[1]
        equals = window == EQUALS
        # The slots after the first '=' (the prompt's only one; the agent may write more).
        written = equals.cumsum(1) > equals  # 0 before it, 1 > True at it, >= 1 > False after
        start = (~written).sum(1)  # BOS, the prompt and its '=' (the whole window if no '=')
        # Count the answer characters that open the written part: prompt slots count as passed.
        passing = allowed[window] | ~written
        leading = passing.cumprod(1).sum(1) - start
        after = start + leading  # the slot after them: EOS, PAD (budget spent) or past the window
        next_token = take_per_row(window, after.clip(max=width - 1))
        closed = (after >= width) | (next_token == EOS) | (next_token == PAD)
        formatted = (leading >= 1) & closed & batch.terminated
        return where(formatted, batch.reward + np.float32(self.weight), batch.reward)


def _token_table(chars: str) -> np.ndarray:
    """A bool lookup over token ids: True at the ids of ``chars``."""
    table = np.zeros(VOCAB_SIZE, dtype=bool)
    table[encode(chars)] = True
    return table


_TOKEN_ENV_TASKS = {token_id: task for task, (token_id, _) in text_env_ids().items()}
