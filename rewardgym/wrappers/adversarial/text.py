"""The text kind of ``adversarial``: gold-preserving perturbations of completions.

``adversarial(kind='text')`` pays the inner ``reward`` spec on a perturbed completion (a
distractor, extra text, whitespace, case, punctuation) whose answer, and so gold, is unchanged.
:func:`perturb` makes the perturbations and :func:`perturbation_sensitivity` reports the share of
them that change a reward spec's proxy.

Example:
    >>> import numpy as np
    >>> out, applied, _ = perturb(["<answer>3</answer> ok"], np.random.default_rng(0), ["case"])
    >>> out.tolist(), applied.tolist()
    (['<answer>3</answer> OK'], [True])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rewardgym.core.arrays import Array
from rewardgym.core.pipeline import RewardPipeline
from rewardgym.core.regime import EnvContext, Regime
from rewardgym.core.spec import resolve_reward_spec
from rewardgym.core.transition import Transition
from rewardgym.envs.text.answers import (
    CLOSE_TAG,
    MAX_COMPLETION_CHARS,
    OPEN_TAG,
    STRING_DTYPE,
    as_strings,
    tag_positions,
)
from rewardgym.envs.text.rewards import CompletionReward
from rewardgym.envs.text.scripted import completion_agent
from rewardgym.envs.text.tasks import TaskDataset
from rewardgym.rewardmodels.text import POOL_KINDS, sample_completions

__all__ = ["PERTURBATIONS", "TextPerturbation", "perturb", "perturbation_sensitivity"]

PERTURBATIONS = ("distractor", "prefix", "suffix", "whitespace", "case", "punctuation")
"""The perturbations :func:`perturb` draws from. None changes the extracted answer."""

_PREFIXES = np.array(
    ["Let me think. ", "Sure! Here is my answer. ", "Thinking step by step... ", "Okay.\n"], dtype=STRING_DTYPE
)
_SUFFIXES = np.array([" I am confident.", " Hope this helps!", "\nDone.", " (final)"], dtype=STRING_DTYPE)
_MAX_GROWTH = 64  # no perturbation adds more characters than this


def perturb(
    completions: Any,
    rng: np.random.Generator,
    kinds: Sequence[str] = PERTURBATIONS,
    *,
    max_chars: int = MAX_COMPLETION_CHARS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    n = len(texts)
    open_, close = tag_positions(texts)
    applied = (open_ >= 0) & (np.strings.str_len(texts) + _MAX_GROWTH <= max_chars)
    pick = rng.integers(0, len(kinds), n)
    end = close + len(CLOSE_TAG)
    before, after = np.strings.slice(texts, 0, np.maximum(open_, 0)), np.strings.slice(texts, end, None)
    answer = np.strings.slice(texts, open_ + len(OPEN_TAG), np.maximum(close, 0))
    options = {
        "distractor": lambda: np.strings.add(
            np.strings.add("A common mistake gives ", rng.integers(0, 1000, n).astype(str).astype(STRING_DTYPE)),
            np.strings.add(". ", texts),
        ),
        "prefix": lambda: np.strings.add(_PREFIXES[rng.integers(0, _PREFIXES.size, n)], texts),
        "suffix": lambda: np.strings.add(texts, _SUFFIXES[rng.integers(0, _SUFFIXES.size, n)]),
        "whitespace": lambda: _join(before, "\n" + OPEN_TAG + " ", answer, "  " + CLOSE_TAG + " \n", after),
        "case": lambda: _join(np.strings.upper(before), OPEN_TAG, answer, CLOSE_TAG, np.strings.upper(after)),
        "punctuation": lambda: np.strings.add(texts, np.where(rng.random(n) < 0.5, "!", "...").astype(STRING_DTYPE)),
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
        raise ValueError(
            f"unknown text perturbation {bad[0] if bad else kinds!r}; valid perturbations: {', '.join(PERTURBATIONS)}"
        )
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
        >>> spec = "adversarial(kind='text', reward=\\"shaped(kind='length', coef=0.01, free=0)\\", perturbations=['suffix'])"
        >>> out = CompletionReward("add", spec)(["q"], ["<answer>3</answer>"], ["3"])
        >>> bool(out.proxy[0] < 1.0 - 0.18), out.gold.tolist()
        (True, [1.0])
    """

    name = "adversarial"

    def __init__(
        self, reward: Any = None, perturbations: Sequence[str] = PERTURBATIONS, seed: int | None = None
    ) -> None:
        if reward is None:
            raise ValueError(
                "adversarial(kind='text') needs reward=<the inner reward spec to attack>, e.g. "
                "reward=\"learned(kind='text_model', path='rm')\""
            )
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
        super().train(mode)
        for regime in self.inner.regimes:
            regime.train(mode)
        return self

    def frozen_copy(self) -> TextPerturbation:
        """The attack as it stands, frozen (see :meth:`Regime.frozen_copy`): the inner spec's
        regimes are frozen copies too, and a fixed ``seed`` restarts the draws, so every copy
        perturbs the same completions alike."""
        twin = super().frozen_copy()
        if self.seed is not None:
            twin._rng = np.random.default_rng(self.seed)
        return twin

    def _frozen_parts(self) -> dict[str, Any]:
        return {"inner": RewardPipeline([regime.frozen_copy() for regime in self.inner.regimes]), "_report": {}}

    def info(self) -> dict[str, Any]:
        return dict(self._report)


def perturbation_sensitivity(
    reward: Any,
    task: str = "add",
    *,
    completions: str | Sequence[str] = "pool",
    num: int = 200,
    perturbations: Sequence[str] = PERTURBATIONS,
    difficulty: int = 1,
    atol: float = 1e-6,
    seed: int = 0,
) -> dict[str, Any]:
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
        >>> perturbation_sensitivity("shaped(kind='format')", num=50)["share_changed"]
        0.0
        >>> report = perturbation_sensitivity("shaped(kind='length', coef=0.01, free=0)", num=50)
        >>> report["by_perturbation"]["case"], report["by_perturbation"]["suffix"], report["gold_changed"]
        (0.0, 1.0, 0.0)
    """
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
    by_kind = {
        k: float(changed[applied & (pick == i)].mean()) for i, k in enumerate(kinds) if (applied & (pick == i)).any()
    }
    return {
        "share_changed": share,
        "by_perturbation": by_kind,
        "mean_abs_change": float(delta[applied].mean()) if count else float("nan"),
        "perturbed": count,
        "gold_changed": float((after.gold != before.gold)[applied].mean()) if count else 0.0,
    }
