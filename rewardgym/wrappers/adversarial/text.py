"""The text kind of ``adversarial``: gold-preserving perturbations of completions.

``adversarial(kind='text')`` pays the inner ``reward`` spec on a perturbed completion (a
distractor, extra text, whitespace, case, punctuation) whose answer, and so gold, is unchanged.
:func:`perturb` makes the perturbations and :func:`perturbation_sensitivity` reports the share of
them that change a reward spec's proxy.

On a code env (``rewardgym/Code-v0``) the perturbations are :func:`perturb_code`'s, which leave
the program the env runs unchanged but for comments and blank lines (a distractor, prose before
or after the code block, a comment line, blank lines around the code), so the hidden tests, and
gold, see the same behaviour.

Example:
    >>> import numpy as np
    >>> out, applied, _ = perturb(["<answer>3</answer> ok"], np.random.default_rng(0), ["case"])
    >>> out.tolist(), applied.tolist()
    (['<answer>3</answer> OK'], [True])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from rewardgym.core.arrays import Array
from rewardgym.core.pipeline import RewardPipeline
from rewardgym.core.regime import EnvContext, Regime
from rewardgym.core.spec import resolve_reward_spec
from rewardgym.core.transition import Transition
from rewardgym.envs.code.rewards import MAX_CODE_CHARS, CodeReward, is_code_env
from rewardgym.envs.code.tasks import extract_code
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
from rewardgym.rewardmodels.text import (
    CODE_POOL_KINDS,
    POOL_KINDS,
    code_items,
    sample_code_completions,
    sample_completions,
)

__all__ = [
    "CODE_PERTURBATIONS",
    "PERTURBATIONS",
    "TextPerturbation",
    "code_perturbation_sensitivity",
    "perturb",
    "perturb_code",
    "perturbation_sensitivity",
]

PERTURBATIONS = ("distractor", "prefix", "suffix", "whitespace", "case", "punctuation")
"""The perturbations :func:`perturb` draws from. None changes the extracted answer."""

_PREFIXES = np.array(
    ["Let me think. ", "Sure! Here is my answer. ", "Thinking step by step... ", "Okay.\n"], dtype=STRING_DTYPE
)
_SUFFIXES = np.array([" I am confident.", " Hope this helps!", "\nDone.", " (final)"], dtype=STRING_DTYPE)
_MAX_GROWTH = 64  # no perturbation adds more characters than this

CODE_PERTURBATIONS = ("distractor", "prefix", "suffix", "comment", "blank_lines")
"""The perturbations :func:`perturb_code` draws from. None changes what the program does."""
_ALL_PERTURBATIONS = tuple(dict.fromkeys(PERTURBATIONS + CODE_PERTURBATIONS))

_COMMENTS = ("# solution", "# reviewed and tested", "# TODO: none", "# all tests pass")
_BLOCK = re.compile(r"```(python|py)?[ \t]*\n(.*?)```", flags=re.DOTALL)  # as tasks.extract_code reads blocks


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


def _check_perturbations(kinds: Any, valid: Sequence[str] = PERTURBATIONS, what: str = "text") -> tuple[str, ...]:
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in valid]
    if not kinds or bad:
        raise ValueError(
            f"unknown {what} perturbation {bad[0] if bad else kinds!r}; valid perturbations: {', '.join(valid)}"
        )
    return kinds


def _code_span(text: str) -> tuple[int, int] | None:
    """Where the code that ``extract_code`` takes lies in ``text`` (its last tagged block, or
    its last block), or None."""
    blocks = list(_BLOCK.finditer(text))
    tagged = [b for b in blocks if b.group(1)]
    chosen = tagged or blocks
    return chosen[-1].span(2) if chosen else None


def perturb_code(
    completions: Any,
    rng: np.random.Generator,
    kinds: Sequence[str] = CODE_PERTURBATIONS,
    *,
    max_chars: int = MAX_CODE_CHARS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Perturb each code completion in one of ``kinds`` (drawn per completion), keeping what its
    program does.

    - ``distractor``: a sentence with a random number before everything ("A common mistake
      returns 57.");
    - ``prefix`` / ``suffix``: a sentence before / after everything;
    - ``comment``: a comment line at the top of the code;
    - ``blank_lines``: a blank line before and after the code.

    Only completions whose code sits in a fenced block are perturbed: prose outside the block is
    not run, and a comment or a blank line at the edges of a module changes no statement (nor a
    module docstring). Each result is checked: the code :func:`~rewardgym.envs.code.tasks.extract_code`
    reads from it must be the original's (or the original's with the added comment or blank
    lines), else the completion is left as it was; so are completions without a fenced block
    (run whole), completions that are not a ``str``, and those too close to ``max_chars``.

    Returns:
        ``(perturbed, applied, kind_index)``: the completions (an object array; those not
        perturbed are the originals), where a perturbation was applied, and the index in
        ``kinds`` drawn for each.

    Example:
        >>> out, applied, _ = perturb_code(["```python\\nx = 1\\n```", "x = 1"], np.random.default_rng(0), ["comment"])
        >>> out.tolist(), applied.tolist()
        (['```python\\n# solution\\nx = 1\\n```', 'x = 1'], [True, False])
    """
    kinds = _check_perturbations(kinds, CODE_PERTURBATIONS, "code")
    items = completions.tolist() if isinstance(completions, np.ndarray) else list(completions)
    n = len(items)
    pick = rng.integers(0, len(kinds), n)
    numbers = rng.integers(0, 1000, n)
    prefixes = rng.integers(0, _PREFIXES.size, n)
    suffixes = rng.integers(0, _SUFFIXES.size, n)
    comments = rng.integers(0, len(_COMMENTS), n)
    out = np.empty(n, dtype=object)
    applied = np.zeros(n, dtype=bool)
    for i, text in enumerate(items):
        out[i] = text
        if not isinstance(text, str) or len(text) + _MAX_GROWTH > max_chars:
            continue
        span = _code_span(text)
        if span is None:
            continue
        start, stop = span
        code, kind = text[start:stop], kinds[pick[i]]
        if kind == "distractor":
            new, new_code = f"A common mistake returns {numbers[i]}. {text}", code
        elif kind == "prefix":
            new, new_code = str(_PREFIXES[prefixes[i]]) + text, code
        elif kind == "suffix":
            new, new_code = text + str(_SUFFIXES[suffixes[i]]), code
        elif kind == "comment":
            new_code = f"{_COMMENTS[comments[i]]}\n{code}"
            new = text[:start] + new_code + text[stop:]
        else:  # blank_lines
            new_code = f"\n{code}{'' if code.endswith(chr(10)) or not code else chr(10)}\n"
            new = text[:start] + new_code + text[stop:]
        if extract_code(new) == new_code:
            out[i], applied[i] = new, True
    return out, applied, pick


class TextPerturbation(Regime):
    """An adversary that rewrites the completion before the reward reads it: the agent is paid
    the inner ``reward`` spec's proxy of a gold-preserving perturbation of what it wrote.

    A robust reward pays the same; a reward model that keys on surface features (length, a stray
    number, capitals) does not. The inner spec starts from the incoming verifier score, which the
    perturbation leaves unchanged (its answer is the same). ``info()`` reports ``applied`` and
    the perturbation drawn (an index into ``perturbations``).

    Bound to a code env (``rewardgym/Code-v0``) it perturbs with :func:`perturb_code` (the
    program's behaviour is kept, so the incoming grader's score and gold stand); else with
    :func:`perturb`.

    Args:
        reward: the inner reward spec (string, regime or list), e.g.
            ``"learned(kind='text_model', path='rm')"``.
        perturbations: which of :data:`PERTURBATIONS` (text envs) or :data:`CODE_PERTURBATIONS`
            (code envs) to draw from; None (the default) for all of the bound env's.
        seed: seeds the draws; None takes the layer's reset seed.

    Example:
        >>> from rewardgym.envs.text.rewards import CompletionReward
        >>> spec = "adversarial(kind='text', reward=\\"shaped(kind='length', coef=0.01, free=0)\\", perturbations=['suffix'])"
        >>> out = CompletionReward("add", spec)(["q"], ["<answer>3</answer>"], ["3"])
        >>> bool(out.proxy[0] < 1.0 - 0.18), out.gold.tolist()
        (True, [1.0])
    """

    name = "adversarial"

    def __init__(self, reward: Any = None, perturbations: Sequence[str] | None = None, seed: int | None = None) -> None:
        if reward is None:
            raise ValueError(
                "adversarial(kind='text') needs reward=<the inner reward spec to attack>, e.g. "
                "reward=\"learned(kind='text_model', path='rm')\""
            )
        self.requested = None if perturbations is None else _check_perturbations(perturbations, _ALL_PERTURBATIONS)
        self.perturbations = self.requested or PERTURBATIONS
        self.code = False
        self._max_chars: int | None = None
        self.inner = RewardPipeline(resolve_reward_spec(reward))
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._report: dict[str, Any] = {}

    def bind(self, context: EnvContext) -> None:
        self.code = is_code_env(context.env_id)
        valid, what = (CODE_PERTURBATIONS, "code") if self.code else (PERTURBATIONS, "text")
        self.perturbations = valid if self.requested is None else _check_perturbations(self.requested, valid, what)
        space = context.action_space
        self._max_chars = space.max_length if isinstance(space, spaces.Text) else None
        self.inner.bind(context)

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        self.inner.reset(mask, seed=seed)
        if seed is not None and self.seed is None:
            self._rng = np.random.default_rng(seed)

    def reward(self, batch: Transition) -> Array:
        if self.code:
            limit = {"max_chars": self._max_chars} if self._max_chars else {}
            action, applied, pick = perturb_code(batch.action, self._rng, self.perturbations, **limit)
        else:
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


def code_perturbation_sensitivity(
    reward: Any,
    task: str = "mixed",
    *,
    num: int = 60,
    grader: Any = "typical",
    perturbations: Sequence[str] = CODE_PERTURBATIONS,
    difficulty: int = 1,
    atol: float = 1e-6,
    seed: int = 0,
) -> dict[str, Any]:
    """:func:`perturbation_sensitivity` for ``rewardgym/Code-v0``: the share of :func:`perturb_code`'s
    perturbations that change a reward spec's proxy, over ``num`` procedural problems of ``task``
    (a family or ``"mixed"``), each with a completion of the code preference data's mix
    (:data:`~rewardgym.rewardmodels.text.CODE_POOL_KINDS`: the reference, honest bugs, the
    scripted exploits), scored before and after by
    :class:`~rewardgym.envs.code.rewards.CodeReward` under ``grader``.

    Returns:
        As :func:`perturbation_sensitivity`; ``gold_changed`` (hidden tests, run) is checked.

    Example:
        >>> code_perturbation_sensitivity("shaped(kind='format')", num=10)["share_changed"]
        0.0
        >>> report = code_perturbation_sensitivity("shaped(kind='length', coef=0.01, free=0)", num=10)
        >>> report["share_changed"], report["gold_changed"]
        (1.0, 0.0)
    """
    kinds = _check_perturbations(perturbations, CODE_PERTURBATIONS, "code")
    items = code_items(task, num, difficulty, seed)
    rng = np.random.default_rng(seed)
    pool = [CODE_POOL_KINDS[i] for i in rng.integers(0, len(CODE_POOL_KINDS), num)]
    texts = sample_code_completions(items, pool, seed=seed)
    perturbed, applied, pick = perturb_code(texts, rng, kinds)
    scorer = CodeReward(reward, grader=grader, seed=seed)
    before = scorer(items, texts)
    after = scorer(items, list(perturbed))
    delta = np.abs(after.proxy.astype(np.float64) - before.proxy)
    changed = (delta > atol) & applied
    count = int(applied.sum())
    by_kind = {
        k: float(changed[applied & (pick == i)].mean()) for i, k in enumerate(kinds) if (applied & (pick == i)).any()
    }
    return {
        "share_changed": float(changed.sum() / count) if count else float("nan"),
        "by_perturbation": by_kind,
        "mean_abs_change": float(delta[applied].mean()) if count else float("nan"),
        "perturbed": count,
        "gold_changed": float((after.gold != before.gold)[applied].mean()) if count else 0.0,
    }
