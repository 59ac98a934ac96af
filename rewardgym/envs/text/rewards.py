"""Answer extraction, the gold verifier and the reward of completions under any reward spec.

**Extraction** (:func:`extract_answer`). The answer is the text inside the *last* well-formed
``<answer>...</answer>`` pair, stripped of surrounding whitespace (the last, because models often
restate the format before answering; tags are case-sensitive). The documented fallback:

- ``fallback="last_token"`` (default): a completion with *no* tag fragment at all is answered by
  its last whitespace-separated token, without trailing ``.,;:!?`` ("The sum is 46." -> "46");
- ``fallback="none"``: such a completion has no answer.

Malformed tags (an ``<answer>`` never closed, a ``</answer>`` never opened) give no answer: a
half-tagged completion is not rescued by the fallback. Empty completions and completions longer
than ``max_chars`` (default :data:`MAX_COMPLETION_CHARS`) have no answer and score zero;
completions that are not strings raise ``TypeError``.

**Gold** (:func:`verify`): 1.0 when the extracted answer equals the task's answer exactly, else
0.0. It is the same rule as the token envs' (their answer is the tokens before EOS).

**Reward under a spec** (:class:`CompletionReward`): the verifier's score is the env reward, and
a reward spec (``"noisy(kind='flip', e_plus=0.2)"``, a regime, a callable, or a list) is applied
on top by the same :class:`~rewardgym.core.pipeline.RewardPipeline` as every other env. Regimes
see a :class:`~rewardgym.core.transition.Transition` whose ``obs`` and ``next_obs`` are the prompts
and ``action`` the completions (numpy object arrays of ``str``), every step terminal. Text regimes
build on the helpers here (:func:`extract_answer`, :func:`has_answer_tags`) and on
:mod:`rewardgym.envs.text.vocab` for token windows.

Example:
    >>> extract_answer("I think <answer> 46 </answer>"), extract_answer("so 46.")
    ('46', '46')
    >>> extract_answer("<answer>46"), extract_answer("46", fallback="none")
    (None, None)
    >>> score_completions(["<answer>46</answer>", "<answer>45</answer>", ""], ["46"] * 3).tolist()
    [1.0, 0.0, 0.0]
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces

from rewardgym.core.arrays import Array
from rewardgym.core.pipeline import RewardPipeline
from rewardgym.core.regime import EnvContext
from rewardgym.core.transition import Transition

OPEN_TAG, CLOSE_TAG = "<answer>", "</answer>"
FALLBACKS = ("last_token", "none")
"""The ways :func:`extract_answer` may answer a completion without tags."""
MAX_COMPLETION_CHARS = 16384
"""Completions longer than this score zero unparsed (an answer is never that long)."""
PRINTABLE = string.printable
"""The charset of the completion envs' ``Text`` spaces: ASCII letters, digits, punctuation and
whitespace."""
_TRAILING = ".,;:!?"


def check_fallback(fallback: Any) -> str:
    if fallback not in FALLBACKS:
        raise ValueError(f"unknown answer fallback {fallback!r}; valid fallbacks: {', '.join(FALLBACKS)}")
    return fallback


def check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_max_chars(max_chars: Any) -> int:
    return check_positive_int(max_chars, "max_chars")


def extract_answer(
    completion: str, *, fallback: str = "last_token", max_chars: int = MAX_COMPLETION_CHARS
) -> str | None:
    """The answer in a completion, or None (see the module docstring for the rules).

    Example:
        >>> extract_answer("<answer>1</answer> no, <answer>2</answer>")
        '2'
        >>> extract_answer("7</answer>"), extract_answer("<answer><answer>7</answer>")
        (None, '7')
        >>> extract_answer(""), extract_answer("x" * 20, max_chars=10)
        (None, None)
    """
    if not isinstance(completion, str):
        raise TypeError(f"a completion must be a str, got {type(completion).__name__}")
    check_fallback(fallback)
    if not completion or len(completion) > max_chars:
        return None
    close = completion.rfind(CLOSE_TAG)
    if close >= 0:
        # The innermost opening tag before the last closing one: "<answer><answer>7</answer>" -> 7.
        open_ = completion.rfind(OPEN_TAG, 0, close)
        if open_ < 0:
            return None  # "7</answer>": closed but never opened, malformed
        return completion[open_ + len(OPEN_TAG) : close].strip()
    if OPEN_TAG in completion or fallback == "none":
        return None  # an unclosed tag: malformed, no fallback
    tokens = completion.split()
    if not tokens:
        return None
    return tokens[-1].rstrip(_TRAILING) or None


def has_answer_tags(completion: str) -> bool:
    """Whether a completion holds a well-formed ``<answer>...</answer>`` pair (a format check).

    Example:
        >>> has_answer_tags("<answer>3</answer>"), has_answer_tags("3"), has_answer_tags("<answer>3")
        (True, False, False)
    """
    if not isinstance(completion, str):
        raise TypeError(f"a completion must be a str, got {type(completion).__name__}")
    close = completion.rfind(CLOSE_TAG)
    return close >= 0 and completion.rfind(OPEN_TAG, 0, close) >= 0


def verify(answer: str | None, gold: str) -> float:
    """The gold verifier of every text task: 1.0 when ``answer == gold`` exactly, else 0.0.

    Example:
        >>> verify("46", "46"), verify("046", "46"), verify(None, "46")
        (1.0, 0.0, 0.0)
    """
    return 1.0 if answer is not None and answer == gold else 0.0


def score_completion(
    completion: str, gold: str, *, fallback: str = "last_token", max_chars: int = MAX_COMPLETION_CHARS
) -> float:
    """The gold score of one completion: :func:`verify` of :func:`extract_answer`."""
    return verify(extract_answer(completion, fallback=fallback, max_chars=max_chars), gold)


def check_completions(completions: Any, num: int | None = None, *, what: str = "completions") -> list[str]:
    """``completions`` as a list of ``str``, refusing anything else by index and type."""
    if isinstance(completions, (str, bytes)) or not isinstance(completions, (Sequence, np.ndarray)):
        raise TypeError(f"{what} must be a sequence of str (one per env), got {type(completions).__name__}")
    completions = list(completions)
    if num is not None and len(completions) != num:
        raise ValueError(f"{what} must hold {num} strings (one per env), got {len(completions)}")
    for index, completion in enumerate(completions):
        if not isinstance(completion, str):
            raise TypeError(
                f"{what}[{index}] must be a str, got {type(completion).__name__}: {completion!r:.80}"
            )
    return completions


def score_completions(
    completions: Sequence[str],
    golds: Sequence[str],
    *,
    fallback: str = "last_token",
    max_chars: int = MAX_COMPLETION_CHARS,
) -> np.ndarray:
    """Gold scores of a batch, float32 ``(n,)``.

    Strings are parsed one by one (Python has no batched string kernel); everything around the
    parse, from the regimes on, is batched.
    """
    fallback, max_chars = check_fallback(fallback), check_max_chars(max_chars)
    completions = check_completions(completions)
    if len(golds) != len(completions):
        raise ValueError(f"got {len(completions)} completions but {len(golds)} gold answers")
    return np.array(
        [verify(extract_answer(c, fallback=fallback, max_chars=max_chars), g) for c, g in zip(completions, golds)],
        dtype=np.float32,
    )


def text_space(max_length: int, *, min_length: int = 0) -> spaces.Text:
    """A gymnasium ``Text`` space over :data:`PRINTABLE`."""
    return spaces.Text(max_length, min_length=min_length, charset=PRINTABLE)


def as_object_array(texts: Sequence[str]) -> np.ndarray:
    """A 1-d numpy object array of strings: the batch type of prompts and completions.

    Object arrays keep each string whole (a ``<U`` array would cut longer ones when assigned into).
    """
    out = np.empty(len(texts), dtype=object)
    out[:] = list(texts)
    return out


class Scores(NamedTuple):
    """What :class:`CompletionReward` returns for a batch (float32 arrays of shape ``(n,)``)."""

    proxy: np.ndarray
    gold: np.ndarray
    trace: dict[str, np.ndarray]


class CompletionReward:
    """The reward of completions under a reward spec: verifier score, then the spec's regimes.

    The regimes are bound once, to batches of ``batch_size`` (the first call's size when None);
    other sizes are processed in chunks of it, the last chunk padded with ``valid=False`` rows
    that regimes skip. Every completion ends its one-step episode, so regimes are reset after
    each chunk, as the vector shell does.

    Args:
        task: the text task (for the regimes' ``env_id`` and spaces).
        reward: a reward spec: string, regime, callable of the transition batch, list, or None
            for the verifier's score alone.
        seed: seeds the regimes' noise.
        fallback, max_chars: the extraction rules (:func:`extract_answer`).
        batch_size: the batch the regimes are bound to.

    Example:
        >>> scorer = CompletionReward("add", "scale(factor=2)")
        >>> out = scorer(["q", "q"], ["<answer>3</answer>", "<answer>4</answer>"], ["3", "3"])
        >>> out.proxy.tolist(), out.gold.tolist(), list(out.trace)
        ([2.0, 0.0], [1.0, 0.0], ['env', 'scale'])
    """

    def __init__(
        self,
        task: str,
        reward: Any = None,
        *,
        seed: int | None = 0,
        fallback: str = "last_token",
        max_chars: int = MAX_COMPLETION_CHARS,
        batch_size: int | None = None,
    ) -> None:
        import rewardgym.wrappers  # noqa: F401  (registers the regime families the spec may name)
        from rewardgym.core.spec import resolve_reward_spec
        from rewardgym.envs.text.tasks import family

        self.family = family(task)
        self.task = task
        self.fallback = check_fallback(fallback)
        self.max_chars = check_max_chars(max_chars)
        self.batch_size = None if batch_size is None else check_positive_int(batch_size, "batch_size")
        self.seed = seed
        self.pipeline = RewardPipeline(resolve_reward_spec(reward))
        self.env_id = f"rewardgym/TextCompletion{self.family.env_name}-v0"
        self._bound = False

    def __call__(self, prompts: Sequence[str], completions: Sequence[str], golds: Sequence[str]) -> Scores:
        prompts = check_completions(prompts, what="prompts")
        completions = check_completions(completions, len(prompts))
        golds = check_completions(golds, len(prompts), what="gold answers")
        gold = score_completions(completions, golds, fallback=self.fallback, max_chars=self.max_chars)
        if not self.pipeline.regimes:
            return Scores(gold.copy(), gold, {"env": gold.copy()})
        if not self._bound:
            self._bind(self.batch_size or max(1, len(prompts)))
        size = self.batch_size
        proxies, traces = [], []
        for start in range(0, len(prompts), size):
            stop = min(len(prompts), start + size)
            proxy, trace = self._chunk(prompts[start:stop], completions[start:stop], gold[start:stop])
            proxies.append(proxy)
            traces.append(trace)
        if not proxies:
            return Scores(gold.copy(), gold, {"env": gold.copy()})
        trace = {k: np.concatenate([t[k] for t in traces]) for k in traces[0]}
        return Scores(np.concatenate(proxies), gold, trace)

    def _bind(self, batch_size: int) -> None:
        self.batch_size = batch_size
        space = text_space(self.max_chars)
        self.pipeline.bind(
            EnvContext(num_envs=batch_size, observation_space=space, action_space=space, env_id=self.env_id)
        )
        self.pipeline.reset(None, seed=self.seed)
        self._bound = True

    def _chunk(self, prompts: list[str], completions: list[str], gold: np.ndarray) -> tuple[Array, dict]:
        n, size = len(prompts), self.batch_size
        pad = size - n
        valid = np.ones(size, dtype=bool)
        if pad:
            valid[n:] = False
            prompts, completions = prompts + [""] * pad, completions + [""] * pad
            gold = np.concatenate([gold, np.zeros(pad, np.float32)])
        obs = as_object_array(prompts)
        done = np.ones(size, dtype=bool)
        batch = Transition(
            obs=obs,
            action=as_object_array(completions),
            next_obs=obs,
            reward=gold.copy(),
            terminated=done,
            truncated=np.zeros(size, dtype=bool),
            valid=valid,
            gold=gold,
        )
        proxy, trace, _ = self.pipeline.apply(batch, {"env": batch.reward})
        self.pipeline.reset(done)
        return proxy[:n], {k: np.asarray(v)[:n] for k, v in trace.items()}
