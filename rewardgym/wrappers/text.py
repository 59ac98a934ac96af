"""The text variants of the regime families, for completion envs (``rewardgym/TextCompletion*``)
and, for the token format bonus, token envs (``rewardgym/Text*``).

Each family's logic stays in its own module; this one holds the kinds that only make sense on
text and, when imported, registers each into its family's ``KINDS`` table, so that specs such as
``"shaped(kind='format')"`` or ``"intrinsic(kind='ngram')"`` work like any other:

==========================  =======================================================================
family(kind=...)            what it does to the verifier score ``r`` of a completion
==========================  =======================================================================
shaped(kind='format')       ``r + weight * [one well-formed <answer>...</answer> pair, non-empty]``
shaped(kind='length')       ``r - coef * max(0, len(completion) - free)`` (a length penalty)
shaped(kind='token_format') token envs (``rewardgym/Text*``): ``r + weight`` when an episode ends
                            on answer characters then EOS (or on answer characters that fill the
                            token budget)
shaped(kind='par')          (the family's own PAR, ``sigmoid(r - r_ref)``) works on ``r`` unchanged
noisy(kind='flip')          (the family's own) flips the binary verifier score: ``low=0, high=1``
adversarial(kind='text')    the inner ``reward`` spec, paid on a gold-preserving perturbation of
                            the completion (distractor, whitespace, case, punctuation, extra text)
intrinsic(kind='ngram')     ``r + beta * share of the completion's character n-grams never seen in
                            earlier batches`` (n-gram novelty)
learned(kind='text_model')  a :class:`~rewardgym.rewardmodels.text.TextRewardModel`'s reward of
                            (question, completion), frozen
==========================  =======================================================================

Regimes on completion envs see a :class:`~rewardgym.core.transition.Transition` whose ``obs``
and ``next_obs`` are the questions and ``action`` the completions (sequences of ``str``); the
incoming reward is the verifier's score. String work uses ``numpy.strings`` ufuncs over the whole
batch; the only per-string Python loops are tokenizing (encoding each string to ids, which has no
vectorized form) in the n-gram and reward-model kinds.

:func:`perturb` makes the adversarial perturbations and :func:`perturbation_sensitivity` reports
the share of them that change a reward spec's proxy (gold never changes, by construction).

Example:
    >>> import rewardgym.wrappers.text
    >>> from rewardgym.envs.text.rewards import CompletionReward
    >>> scorer = CompletionReward("add", "shaped(kind='format', weight=0.5)")
    >>> scorer(["q"] * 3, ["<answer>3</answer>", "3", "<answer>4"], ["3"] * 3).proxy.tolist()
    [1.5, 1.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rewardgym.core.arrays import Array, is_torch, take_per_row, where
from rewardgym.core.pipeline import RewardPipeline
from rewardgym.core.regime import EnvContext, Regime
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number
from rewardgym.envs.text.rewards import CLOSE_TAG, MAX_COMPLETION_CHARS, OPEN_TAG
from rewardgym.envs.text.tasks import TASKS, family
from rewardgym.envs.text.token_env import env_id as token_env_id
from rewardgym.envs.text.vocab import CHARS, EOS, EQUALS, PAD, VOCAB_SIZE, encode
from rewardgym.wrappers import adversarial, intrinsic, learned, shaped

__all__ = [
    "PERTURBATIONS",
    "FormatReward",
    "LengthPenalty",
    "NgramNovelty",
    "TextModelReward",
    "TextPerturbation",
    "TokenFormatReward",
    "perturb",
    "perturbation_sensitivity",
    "well_formed",
]

_STR = np.dtypes.StringDType()


def as_strings(texts: Any) -> np.ndarray:
    """A batch of texts (tuple, list or object array of ``str``) as a ``StringDType`` array."""
    if isinstance(texts, str):
        raise TypeError("a batch of texts must be a sequence of str, got one str")
    array = np.asarray(list(texts) if not isinstance(texts, np.ndarray) else texts, dtype=object)
    bad = [i for i, t in enumerate(array.tolist()) if not isinstance(t, str)] if array.dtype == object else []
    if bad:
        raise TypeError(f"text regimes need completions of type str; item {bad[0]} is "
                        f"{type(array[bad[0]]).__name__}: is this a rewardgym/TextCompletion env?")
    return array.astype(_STR)


def _tag_positions(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The last closing tag and the innermost opening tag before it (-1 where missing), as
    :func:`~rewardgym.envs.text.rewards.extract_answer` reads them."""
    close = np.strings.rfind(texts, CLOSE_TAG)
    open_ = np.strings.rfind(texts, OPEN_TAG, 0, np.maximum(close, 0))
    return open_, close


def well_formed(texts: Any) -> np.ndarray:
    """Whether each completion holds exactly one ``<answer>...</answer>`` pair, in that order,
    around a non-empty answer (bool ``(N,)``).

    Example:
        >>> well_formed(["<answer>3</answer>", "<answer> </answer>", "<answer>3", "a</answer><answer>b</answer>"]).tolist()
        [True, False, False, False]
    """
    texts = as_strings(texts)
    open_, close = _tag_positions(texts)
    one_pair = (np.strings.count(texts, OPEN_TAG) == 1) & (np.strings.count(texts, CLOSE_TAG) == 1)
    inner = np.strings.strip(np.strings.slice(texts, open_ + len(OPEN_TAG), np.maximum(close, 0)))
    return one_pair & (open_ >= 0) & (np.strings.str_len(inner) > 0)


# ----------------------------------------------------------------------------------------------
# shaped


class FormatReward(Regime):
    """``r + weight * format``: a bonus for answering in the asked format, one well-formed
    ``<answer>...</answer>`` pair around a non-empty answer (:func:`well_formed`).

    The classic format reward of RL from verifiable rewards (as in DeepSeek-R1's recipe). It pays
    a wrong answer in good form, so alone it is hackable by format: see the ``format_only`` agent.

    Args:
        weight: the bonus for good form; any finite number.

    Example:
        >>> from rewardgym.envs.text.rewards import CompletionReward
        >>> import rewardgym.wrappers.text
        >>> CompletionReward("add", "shaped(kind='format')")(["q"], ["<answer>9</answer>"], ["3"]).proxy.tolist()
        [0.5]
    """

    name = "shaped"

    def __init__(self, weight: float = 0.5) -> None:
        self.weight = check_number(weight, "shaped(kind='format'): weight")

    def reward(self, batch: Transition) -> Array:
        return batch.reward + np.float32(self.weight) * well_formed(batch.action).astype(np.float32)


class LengthPenalty(Regime):
    """``r - coef * max(0, len(completion) - free)``: a penalty per character beyond ``free``.

    The usual counter to length hacking (and, set too high, a push towards terse wrong answers).

    Args:
        coef: the penalty per character, ``>= 0``.
        free: characters allowed without penalty, ``>= 0``.

    Example:
        >>> from rewardgym.envs.text.rewards import CompletionReward
        >>> import rewardgym.wrappers.text
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
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.text
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


_TOKEN_ENV_TASKS = {token_env_id(task): task for task in TASKS}


# ----------------------------------------------------------------------------------------------
# adversarial: gold-preserving perturbations


PERTURBATIONS = ("distractor", "prefix", "suffix", "whitespace", "case", "punctuation")
"""The perturbations :func:`perturb` draws from. None changes the extracted answer."""

_PREFIXES = np.array(["Let me think. ", "Sure! Here is my answer. ", "Thinking step by step... ",
                      "Okay.\n"], dtype=_STR)
_SUFFIXES = np.array([" I am confident.", " Hope this helps!", "\nDone.", " (final)"], dtype=_STR)
_MAX_GROWTH = 64  # no perturbation adds more characters than this


def perturb(completions: Any, rng: np.random.Generator, kinds: Sequence[str] = PERTURBATIONS,
            *, max_chars: int = MAX_COMPLETION_CHARS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Perturb each completion in one of ``kinds`` (drawn per completion), keeping its answer.

    - ``distractor``: a sentence with a random number before everything ("A common mistake
      gives 57.");
    - ``prefix`` / ``suffix``: a sentence before / after everything;
    - ``whitespace``: spaces and newlines around and inside the answer tags;
    - ``case``: everything outside the answer (and its tags) upper-cased;
    - ``punctuation``: ``!`` and ``...`` after the closing tag.

    Only completions with a well-formed answer pair are perturbed: every change lies outside the
    answer, whitespace inside the tags is stripped by the extraction, and no tag is added, so the
    answer read (and hence gold) is the same. Completions without tags (read by the fallback), or
    too close to ``max_chars``, are left as they are.

    Returns:
        ``(perturbed, applied, kind_index)``: the texts (``StringDType``), where a perturbation
        was applied, and the index in ``kinds`` drawn for each.

    Example:
        >>> out, applied, _ = perturb(["<answer>12</answer>", "12"], np.random.default_rng(0), ["case"])
        >>> out.tolist(), applied.tolist()
        (['<answer>12</answer>', '12'], [True, False])
        >>> perturb(["Is it <answer>12</answer> ok"], np.random.default_rng(0), ["case"])[0].tolist()
        ['IS IT <answer>12</answer> OK']
    """
    kinds = _check_perturbations(kinds)
    texts = as_strings(completions)
    n = texts.shape[0]
    open_, close = _tag_positions(texts)
    applied = (open_ >= 0) & (np.strings.str_len(texts) + _MAX_GROWTH <= max_chars)
    pick = rng.integers(0, len(kinds), n)
    end = close + len(CLOSE_TAG)
    before, after = np.strings.slice(texts, 0, np.maximum(open_, 0)), np.strings.slice(texts, end, None)
    answer = np.strings.slice(texts, open_ + len(OPEN_TAG), np.maximum(close, 0))
    options = {
        "distractor": lambda: np.strings.add(
            np.strings.add("A common mistake gives ", rng.integers(0, 1000, n).astype(str).astype(_STR)),
            np.strings.add(". ", texts)),
        "prefix": lambda: np.strings.add(_PREFIXES[rng.integers(0, _PREFIXES.size, n)], texts),
        "suffix": lambda: np.strings.add(texts, _SUFFIXES[rng.integers(0, _SUFFIXES.size, n)]),
        "whitespace": lambda: _join(before, "\n" + OPEN_TAG + " ", answer, "  " + CLOSE_TAG + " \n", after),
        "case": lambda: _join(np.strings.upper(before), OPEN_TAG, answer, CLOSE_TAG, np.strings.upper(after)),
        "punctuation": lambda: np.strings.add(texts, np.where(rng.random(n) < 0.5, "!", "...").astype(_STR)),
    }
    out = texts.copy()
    for index, kind in enumerate(kinds):
        chosen = applied & (pick == index)
        if chosen.any():
            out[chosen] = options[kind]()[chosen]
    return out, applied, pick


def _join(*parts: Any) -> np.ndarray:
    out = parts[0]
    for part in parts[1:]:
        out = np.strings.add(out, part)
    return out


def _check_perturbations(kinds: Any) -> tuple[str, ...]:
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in PERTURBATIONS]
    if not kinds or bad:
        raise ValueError(f"unknown text perturbation {bad[0] if bad else kinds!r}; valid perturbations: "
                         f"{', '.join(PERTURBATIONS)}")
    return kinds


class TextPerturbation(Regime):
    """An adversary that rewrites the completion before the reward reads it: the agent is paid
    the inner ``reward`` spec's proxy of a gold-preserving perturbation of what it wrote.

    A robust reward pays the same; a reward model that keys on surface features (length, a stray
    number, capitals) does not. The inner spec starts from the incoming verifier score, which the
    perturbation leaves unchanged (its answer is the same). ``info()`` reports ``applied`` and
    the perturbation drawn (an index into ``perturbations``).

    Args:
        reward: the inner reward spec (string, regime or list), e.g.
            ``"learned(kind='text_model', path='rm')"``.
        perturbations: which of :data:`PERTURBATIONS` to draw from.
        seed: seeds the draws; None takes the layer's reset seed.

    Example:
        >>> from rewardgym.envs.text.rewards import CompletionReward
        >>> import rewardgym.wrappers.text
        >>> spec = "adversarial(kind='text', reward=\\"shaped(kind='length', coef=0.01, free=0)\\", perturbations=['suffix'])"
        >>> out = CompletionReward("add", spec)(["q"], ["<answer>3</answer>"], ["3"])
        >>> bool(out.proxy[0] < 1.0 - 0.18), out.gold.tolist()
        (True, [1.0])
    """

    name = "adversarial"

    def __init__(self, reward: Any = None, perturbations: Sequence[str] = PERTURBATIONS,
                 seed: int | None = None) -> None:
        from rewardgym.core.spec import resolve_reward_spec

        if reward is None:
            raise ValueError("adversarial(kind='text') needs reward=<the inner reward spec to attack>, e.g. "
                             "reward=\"learned(kind='text_model', path='rm')\"")
        self.perturbations = _check_perturbations(perturbations)
        self.inner = RewardPipeline(resolve_reward_spec(reward))
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._report: dict[str, Any] = {}

    def bind(self, context: EnvContext) -> None:
        self.inner.bind(context)

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        self.inner.reset(mask, seed=seed)
        if seed is not None and self.seed is None:
            self._rng = np.random.default_rng(seed)

    def reward(self, batch: Transition) -> Array:
        perturbed, applied, pick = perturb(batch.action, self._rng, self.perturbations)
        action = np.empty(perturbed.shape[0], dtype=object)
        action[:] = perturbed.tolist()
        proxy, _, _ = self.inner.apply(batch.replace(action=action))
        self._report = {"applied": applied, "perturbation": pick}
        return proxy

    def train(self, mode: bool = True) -> Regime:
        self.training = mode
        for regime in self.inner.regimes:
            regime.train(mode)
        return self

    def info(self) -> dict[str, Any]:
        return dict(self._report)


def perturbation_sensitivity(reward: Any, task: str = "add", *, completions: str | Sequence[str] = "pool",
                             num: int = 200, perturbations: Sequence[str] = PERTURBATIONS,
                             difficulty: int = 1, atol: float = 1e-6, seed: int = 0) -> dict[str, Any]:
    """The share of gold-preserving perturbations that change a reward spec's proxy.

    ``num`` questions of ``task`` get a completion each, from ``completions``: ``"pool"`` (the
    preference data's mix of terse, verbose, wrong and hedging answers,
    :func:`~rewardgym.rewardmodels.text.sample_completions`) or the name of a scripted agent
    (``"oracle"``, ``"format_only"``, ``"hacker"``). Each is perturbed once (:func:`perturb`),
    both versions are scored by ``reward`` (a spec, through
    :class:`~rewardgym.envs.text.rewards.CompletionReward`), and a proxy that moves by more
    than ``atol`` counts as changed. Use deterministic specs: fresh noise changes any proxy.

    Returns:
        ``{"share_changed", "by_perturbation": {kind: share}, "mean_abs_change", "perturbed",
        "gold_changed"}`` (``gold_changed`` is 0 by construction; it is checked, not assumed).

    Example:
        >>> import rewardgym.wrappers.text
        >>> perturbation_sensitivity("shaped(kind='format')", num=50)["share_changed"]
        0.0
        >>> report = perturbation_sensitivity("shaped(kind='length', coef=0.01, free=0)", num=50)
        >>> report["by_perturbation"]["case"], report["by_perturbation"]["suffix"], report["gold_changed"]
        (0.0, 1.0, 0.0)
    """
    from rewardgym.agents.text_scripted import completion_agent
    from rewardgym.envs.text.rewards import CompletionReward
    from rewardgym.envs.text.tasks import TaskDataset
    from rewardgym.rewardmodels.text import POOL_KINDS, sample_completions

    kinds = _check_perturbations(perturbations)
    items = TaskDataset(task, difficulty=difficulty, seed=seed, size=num).items(range(num))
    questions, golds = [it["question"] for it in items], [it["answer"] for it in items]
    rng = np.random.default_rng(seed)
    if completions == "pool":
        pool = [k for k in POOL_KINDS if k != "malformed"]  # malformed tags cannot be perturbed
        texts = sample_completions(task, golds, [pool[i] for i in rng.integers(0, len(pool), num)], seed=seed)
    elif isinstance(completions, str):
        texts = completion_agent(completions, task, seed=seed).act(questions)
    else:
        texts = list(completions)[:num]
        questions, golds = questions[: len(texts)], golds[: len(texts)]
    perturbed, applied, pick = perturb(texts, rng, kinds)
    scorer = CompletionReward(task, reward, seed=seed)
    before = scorer(questions, texts, golds)
    after = scorer(questions, perturbed.tolist(), golds)
    delta = np.abs(after.proxy.astype(np.float64) - before.proxy)
    changed = (delta > atol) & applied
    count = int(applied.sum())
    share = float(changed.sum() / count) if count else float("nan")
    by_kind = {k: float(changed[applied & (pick == i)].mean()) for i, k in enumerate(kinds) if (applied & (pick == i)).any()}
    return {
        "share_changed": share,
        "by_perturbation": by_kind,
        "mean_abs_change": float(delta[applied].mean()) if count else float("nan"),
        "perturbed": count,
        "gold_changed": float((after.gold != before.gold)[applied].mean()) if count else 0.0,
    }


# ----------------------------------------------------------------------------------------------
# intrinsic: n-gram novelty


class NgramNovelty(Regime):
    """``r + beta * novelty``: the share of a completion's character n-grams that no completion
    of an earlier batch contained.

    A count-based exploration bonus for text (as token-level novelty rewards in RL for language
    models): a completion made only of phrases seen before earns nothing, a new one up to
    ``beta``. N-grams are hashed into a table of ``2**table_bits`` counters (distinct n-grams may
    share one with probability ~ n-grams / table size, which only ever lowers a bonus). The
    table learns while the layer is training, from real steps only; it is never cleared by
    episode ends (each episode is one completion), only by a fresh layer. Completions shorter
    than ``n`` characters earn no bonus.

    Args:
        n: the n-gram length in characters, ``>= 1``.
        beta: the bonus weight, any finite number.
        table_bits: log2 of the counter table's size, 8..26.
        extrinsic: add the bonus to the incoming reward (True) or pay the bonus alone.

    Example:
        >>> from rewardgym.envs.text.rewards import CompletionReward
        >>> import rewardgym.wrappers.text
        >>> scorer = CompletionReward("add", "intrinsic(kind='ngram', n=3, beta=1.0)")
        >>> [scorer(["q"], ["<answer>3</answer>"], ["3"]).proxy.tolist() for _ in range(2)]
        [[2.0], [1.0]]
    """

    name = "intrinsic"

    def __init__(self, n: int = 3, beta: float = 0.1, table_bits: int = 20, extrinsic: bool = True) -> None:
        for name_, value, low, high in (("n", n, 1, 64), ("table_bits", table_bits, 8, 26)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
                raise ValueError(f"intrinsic(kind='ngram'): {name_} must be an integer in [{low}, {high}], got {value!r}")
        if not isinstance(extrinsic, bool):
            raise ValueError(f"intrinsic(kind='ngram'): extrinsic must be True or False, got {extrinsic!r}")
        self.n, self.table_bits, self.extrinsic = int(n), int(table_bits), extrinsic
        self.beta = check_number(beta, "intrinsic(kind='ngram'): beta")
        self.counts = np.zeros(2**self.table_bits, dtype=np.int64)
        self._last: tuple[np.ndarray, np.ndarray] | None = None
        self._novelty: np.ndarray | None = None

    def hashes(self, texts: Any) -> tuple[np.ndarray, np.ndarray]:
        """Each completion's n-gram table slots ``(N, W)`` and which are real ``(N, W)`` bool."""
        texts = as_strings(texts)
        # Tokenizing: each string to its bytes (no vectorized form); the rest is batched.
        rows = [np.frombuffer(t.encode("utf-8"), dtype=np.uint8) for t in texts.tolist()]
        lengths = np.array([r.size for r in rows], dtype=np.int64)
        width = max(int(lengths.max(initial=0)), self.n)
        ids = np.zeros((len(rows), width), dtype=np.uint64)
        for i, row in enumerate(rows):
            ids[i, : row.size] = row
        windows = width - self.n + 1
        h = np.zeros((len(rows), windows), dtype=np.uint64)
        for k in range(self.n):  # a loop over the n characters of a gram, not over completions
            h = h * np.uint64(1099511628211) + ids[:, k : k + windows] + np.uint64(1)
        slots = (h * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - self.table_bits)
        real = np.arange(windows)[None, :] < (lengths - self.n + 1)[:, None]
        return slots.astype(np.int64), real

    def reward(self, batch: Transition) -> Array:
        slots, real = self.hashes(batch.action)
        unseen = (self.counts[slots] == 0) & real
        self._novelty = (unseen.sum(1) / np.maximum(real.sum(1), 1)).astype(np.float32)
        self._last = (slots, real)
        bonus = np.float32(self.beta) * self._novelty
        return batch.reward + bonus if self.extrinsic else bonus

    def update(self, batch: Transition) -> dict[str, float]:
        if self._last is None:
            return {}
        slots, real = self._last
        take = real & np.asarray(batch.valid, dtype=bool)[:, None]
        np.add.at(self.counts, slots[take], 1)
        return {}

    def info(self) -> dict[str, Any]:
        return {} if self._novelty is None else {"novelty": self._novelty}


# ----------------------------------------------------------------------------------------------
# learned: a transformer reward model of text


class TextModelReward(Regime):
    """A trained :class:`~rewardgym.rewardmodels.text.TextRewardModel` pays the agent, frozen.

    Give exactly one of ``path`` (saved by
    :func:`~rewardgym.rewardmodels.text.save_text_reward_model`) or ``model``. It reads the
    question (``obs``) and the completion (``action``) only, never gold.

    Example:
        >>> from rewardgym.rewardmodels.text import TextRewardModel
        >>> from rewardgym.envs.text.rewards import CompletionReward
        >>> import rewardgym.wrappers.text
        >>> model = TextRewardModel(d_model=8, layers=1, heads=1, max_tokens=32)
        >>> out = CompletionReward("add", TextModelReward(model=model))(["1+2="], ["<answer>3</answer>"], ["3"])
        >>> bool(out.proxy[0] == model.reward(["1+2="], ["<answer>3</answer>"])[0]), out.gold.tolist()
        (True, [1.0])
    """

    name = "learned"
    training = False

    def __init__(self, path: str | None = None, model: Any = None) -> None:
        from rewardgym.rewardmodels.text import TextRewardModel

        if (path is None) == (model is None):
            raise ValueError("learned(kind='text_model') needs exactly one of path='<saved TextRewardModel>' or "
                             f"model=<TextRewardModel>, got path={path!r} and model={model!r}")
        if path is not None and not isinstance(path, (str, Path)):
            raise TypeError(f"learned(kind='text_model'): path must be a string, got {type(path).__name__}")
        if model is not None and not isinstance(model, TextRewardModel):
            raise TypeError(f"learned(kind='text_model'): model must be a TextRewardModel, got {type(model).__name__}")
        self.path, self.model = path, model

    def bind(self, context: EnvContext) -> None:
        from gymnasium import spaces

        if not isinstance(context.action_space, spaces.Text):
            raise ValueError(f"learned(kind='text_model') serves completion envs (Text actions), but "
                             f"{context.env_id or 'this env'} has action space {context.action_space}")
        if self.model is None:
            from rewardgym.rewardmodels.text import load_text_reward_model

            self.model = load_text_reward_model(self.path)

    def reward(self, batch: Transition) -> Array:
        if self.model is None:
            from rewardgym.rewardmodels.text import load_text_reward_model

            self.model = load_text_reward_model(self.path)
        return self.model.reward(as_strings(batch.obs).tolist(), as_strings(batch.action).tolist())

    def train(self, mode: bool = True) -> Regime:
        self.training = False  # frozen by design
        return self


shaped.KINDS["format"] = FormatReward
shaped.KINDS["length"] = LengthPenalty
shaped.KINDS["token_format"] = TokenFormatReward
adversarial.KINDS["text"] = TextPerturbation  # type: ignore[assignment]
intrinsic.KINDS["ngram"] = NgramNovelty
learned.KINDS["text_model"] = TextModelReward
