"""The reward of code completions under any reward spec: a grader's score, then the regimes.

:class:`CodeReward` is to ``rewardgym/Code-v0`` what
:class:`~rewardgym.envs.text.rewards.CompletionReward` is to the text completion envs, for
batches that come from outside an env (a trainer's generations). Each completion is graded as
the env grades it (:func:`grade_completions`): the proxy is what the grader of ``grader=`` pays on
the visible tests, gold the hardened grader's share of the hidden tests, both runs of every
completion in one batch through the sandbox's worker pool. Then the reward spec's regimes are
applied by the same :class:`~rewardgym.core.pipeline.RewardPipeline` as every env's, bound to
``rewardgym/Code-v0``: they see the problems' prompts as ``obs`` and the completions as
``action``.

A problem travels with its completion as its *item* (a dict with ``task_id``, ``entry_point``,
``visible`` and ``hidden``, as :class:`~rewardgym.envs.code.tasks.CodeTaskDataset` and
:func:`~rewardgym.envs.code.tasks.load_problems` make), or as that item's JSON
(:func:`problem_label`): gold needs the hidden tests, which the prompt does not show.

Example:
    >>> from rewardgym.envs.code.scripted import exit_zero, oracle
    >>> from rewardgym.envs.code.tasks import CodeTaskDataset
    >>> items = CodeTaskDataset("digit_sum", size=2).items([0, 1])
    >>> scorer = CodeReward("scale(factor=2)", grader="exit_code")
    >>> out = scorer(items, [oracle(items[0]["prompt"]), exit_zero(items[1]["prompt"])])
    >>> out.proxy.tolist(), out.gold.tolist(), scorer.details["exploits"].tolist()
    ([2.0, 2.0], [1.0, 0.0], [(), ('early_exit',)])
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rewardgym.core.validation import check_number
from rewardgym.envs.code.code_env import ENV_ID, PROBLEM_MAX_CHARS
from rewardgym.envs.code.graders import grader_name, parse_grader
from rewardgym.envs.code.scoring import GOLD_GRADER, MAX_CODE_CHARS, grade_completions
from rewardgym.envs.code.tasks import extract_code
from rewardgym.envs.registration import ENVS
from rewardgym.envs.text.answers import check_max_chars, text_space
from rewardgym.envs.text.rewards import RegimeScorer, Scores

__all__ = [
    "FENCE",
    "GOLD_GRADER",
    "MAX_CODE_CHARS",
    "PROBLEM_KEYS",
    "CodeReward",
    "grade_completions",
    "is_code_env",
    "problem_label",
    "read_problem",
    "well_formed_code",
]

PROBLEM_KEYS = ("task_id", "entry_point", "visible", "hidden")
"""What grading needs of a problem item, and all that :func:`problem_label` keeps."""


FENCE = "```"
"""The code fence of a completion's blocks."""

_TAGGED_BLOCK = re.compile(r"\A```(?:python|py)[ \t]*\n(.*?)```\Z", re.DOTALL)


def is_code_env(env_id: str | None) -> bool:
    """Whether ``env_id`` names a code env (``rewardgym/Code-v0``, or an env registered with the
    ``"code"`` modality): what the text regimes read to judge completions as programs.

    Example:
        >>> is_code_env("rewardgym/Code-v0"), is_code_env("rewardgym/TextCompletionAdd-v0"), is_code_env(None)
        (True, False, False)
    """
    if env_id is None:
        return False
    info = ENVS.get(env_id)
    return env_id == ENV_ID or (info is not None and info.modality == "code")


def well_formed_code(completions: Sequence[Any], *, max_chars: int = MAX_CODE_CHARS) -> np.ndarray:
    """Whether each completion is in the format ``rewardgym/Code-v0`` asks for, bool ``(n,)``:
    exactly one fenced block (two fences), tagged ``python`` (or ``py``), whose code compiles,
    in at most ``max_chars`` characters. Prose around the block is allowed; a completion that
    is no ``str`` is not well formed. The format, not the behaviour: ``sys.exit(0)`` compiles.

    Example:
        >>> ok = "Here:\\n```python\\ndef f(x):\\n    return x\\n```\\nDone."
        >>> well_formed_code([ok, ok.replace("return x", "return ("), "def f(x): return x",
        ...                   ok + "\\n```python\\nf(1)\\n```", ok.replace("python", "")]).tolist()
        [True, False, False, False, False]
    """
    out = np.zeros(len(completions), dtype=bool)
    for i, text in enumerate(completions):
        if not isinstance(text, str) or len(text) > max_chars or text.count(FENCE) != 2:
            continue
        start = text.index(FENCE)
        block = _TAGGED_BLOCK.match(text[start : text.index(FENCE, start + len(FENCE)) + len(FENCE)])
        if block is None or extract_code(text) != block.group(1):
            continue
        try:
            compile(block.group(1), "solution.py", "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        out[i] = True
    return out


def problem_label(item: Mapping[str, Any]) -> str:
    """A problem item as the JSON label a trainer carries next to its prompt: its id, entry
    point and tests (:data:`PROBLEM_KEYS`).

    Example:
        >>> from rewardgym.envs.code.tasks import CodeTaskDataset
        >>> label = problem_label(CodeTaskDataset("rotate", size=1)[0])
        >>> sorted(json.loads(label))
        ['entry_point', 'hidden', 'task_id', 'visible']
    """
    missing = [key for key in PROBLEM_KEYS if key not in item]
    if missing:
        raise ValueError(f"a problem item needs {', '.join(PROBLEM_KEYS)}; this one lacks {', '.join(missing)}")
    return json.dumps({key: item[key] for key in PROBLEM_KEYS}, separators=(",", ":"))


def read_problem(label: Any, where: str = "label") -> dict[str, Any]:
    """A problem item from its label: the item itself (a dict) or its JSON (:func:`problem_label`).

    Example:
        >>> read_problem('{"task_id": "t", "entry_point": "f", "visible": [], "hidden": []}')["entry_point"]
        'f'
        >>> read_problem("42")
        Traceback (most recent call last):
        ...
        ValueError: label must be a problem item (a dict with task_id, entry_point, visible, hidden) or its JSON, got '42'
    """
    item = label
    if isinstance(label, (str, bytes)):
        try:
            item = json.loads(label)
        except ValueError:
            item = None
    if not isinstance(item, Mapping) or any(key not in item for key in PROBLEM_KEYS):
        raise ValueError(
            f"{where} must be a problem item (a dict with {', '.join(PROBLEM_KEYS)}) or its JSON, got {label!r:.80}"
        )
    return dict(item)


class CodeReward(RegimeScorer):
    """The reward of code completions under a reward spec: a grader's score, then the regimes.

    Called with the problems (items or their JSON labels) and one completion each, it returns
    :class:`~rewardgym.envs.text.rewards.Scores`: the proxy after the regimes, gold (the hidden
    tests' share) and the trace; :attr:`details` keeps the last call's ``exploits``, ``reason``
    and ``task_id``. The regimes see each problem's ``prompt`` (or ``prompts=`` given to the
    call, as a trainer shows them) and are bound as on ``rewardgym/Code-v0``, in chunks of
    ``batch_size`` as :class:`~rewardgym.envs.text.rewards.RegimeScorer` binds them.

    Args:
        reward: a reward spec: string, regime, callable of the transition batch, list, or None
            for the grader's score alone.
        grader: the env's ``grader=`` (``"typical"``, ``"hardened"``, flaw names), or ``"gold"``.
        seed: seeds the regimes' noise.
        batch_size: the batch the regimes are bound to (the first call's size when None).
        max_chars: completions longer than this score 0 unrun.
        timeout_s: each program's wall-clock limit.

    Example:
        >>> from rewardgym.envs.code.scripted import forger
        >>> from rewardgym.envs.code.tasks import CodeTaskDataset
        >>> item = CodeTaskDataset("gcd_list", size=1)[0]
        >>> out = CodeReward(grader="stdout_verdict")([item], [forger(item["prompt"])])
        >>> out.proxy.tolist(), out.gold.tolist(), list(out.trace)
        ([1.0], [0.0], ['env'])
    """

    def __init__(
        self,
        reward: Any = None,
        *,
        grader: Any = "typical",
        seed: int | None = 0,
        batch_size: int | None = None,
        max_chars: int = MAX_CODE_CHARS,
        timeout_s: float = 5.0,
    ) -> None:
        self.grader = GOLD_GRADER if grader == GOLD_GRADER else grader_name(parse_grader(grader))
        self.max_chars = check_max_chars(max_chars)
        self.timeout_s = check_number(timeout_s, "CodeReward: timeout_s", low=0.0, low_open=True)
        self.details: dict[str, np.ndarray] = {}
        super().__init__(
            reward,
            env_id=ENV_ID,
            observation_space=text_space(PROBLEM_MAX_CHARS, min_length=1),
            action_space=text_space(self.max_chars),
            seed=seed,
            batch_size=batch_size,
        )

    def __call__(
        self, problems: Sequence[Any], completions: Sequence[Any], prompts: Sequence[str] | None = None
    ) -> Scores:
        if isinstance(problems, (str, bytes, Mapping)) or not isinstance(problems, (Sequence, np.ndarray)):
            raise TypeError(f"problems must be a sequence of problem items or labels, got {type(problems).__name__}")
        items = [read_problem(p, f"problems[{i}]") for i, p in enumerate(problems)]
        completions = list(completions)
        if len(completions) != len(items):
            raise ValueError(f"got {len(items)} problems but {len(completions)} completions")
        if prompts is None:
            prompts = [str(item.get("prompt", "")) for item in items]
        prompts = list(prompts)
        if len(prompts) != len(items):
            raise ValueError(f"got {len(items)} problems but {len(prompts)} prompts")
        reward, gold, self.details = grade_completions(
            items, completions, self.grader, max_chars=self.max_chars, timeout_s=self.timeout_s
        )
        # The regimes read text: a completion that is no str (scored 0 unrun) is shown as "".
        texts = [c if isinstance(c, str) else "" for c in completions]
        return self.apply(prompts, texts, reward, gold)
