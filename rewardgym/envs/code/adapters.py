"""``rewardgym/Code-v0``'s reward, under any reward spec, as the reward function each LLM trainer expects.

The same three trainers and calls as the text adapters (:mod:`rewardgym.envs.text.adapters`):

================  ===================================================================  ==========
trainer           call                                                                 returns
================  ===================================================================  ==========
TRL GRPOTrainer   ``f(prompts=..., completions=..., completion_ids=..., problem=...)``  list[float]
verl              ``compute_score(data_source, solution_str, ground_truth, extra_info)``  float
verl (batched)    ``compute_score(data_sources, solution_strs, ground_truths, extra_infos)``  list
OpenRLHF          ``reward_func(queries, prompts, labels)`` (queries = prompt+response)  dict
================  ===================================================================  ==========

Each function scores with :class:`~rewardgym.envs.code.rewards.CodeReward`: the grader of
``grader=`` on the visible tests (``"typical"`` by default, flawed as the env's; ``"hardened"``;
or ``"gold"``, the hidden tests, for a gold monitor), then the spec's regimes, every completion
of a call graded in one batch in the sandbox's worker pool. It returns the *proxy*; the gold
scores of its last call are in ``f.scorer.last.gold`` and the exploits detected in
``f.scorer.details["exploits"]`` (OpenRLHF also logs the gold mean as ``extra_logs["gold"]``).

**The label is the problem.** Gold needs the hidden tests, which the prompt does not show, so
each row carries its problem item as JSON (:func:`~rewardgym.envs.code.rewards.problem_label`:
id, entry point, visible and hidden tests) in the column the trainer hands the reward function:
TRL's ``problem`` column, verl's ``reward_model.ground_truth``, OpenRLHF's ``--label_key``.
:func:`trl_rows`, :func:`verl_rows` and :func:`openrlhf_rows` export a
:class:`~rewardgym.envs.code.tasks.CodeTaskDataset` (or a loaded problem set) that way. There is
no fallback without labels. Prompts may be TRL's conversational messages, as for text.

TRL logs each reward function's mean under its ``__name__``, so functions are named after the
task, the grader and the spec: ``rewardgym_code_<task>_<spec>`` (``rewardgym_code_mixed_scale_factor_2``)
with the default ``"typical"`` grader, ``rewardgym_code_<task>_<grader>_<spec>`` with another,
and ``rewardgym_code_<task>_<grader>`` when the spec adds no regime (``rewardgym_code_rotate_gold``
for the gold monitor, ``rewardgym_code_rotate_typical`` for the bare flawed grader). The names
are built with the text adapters' helpers (:func:`~rewardgym.envs.text.adapters.spec_slug`).

Why a module of its own rather than ``task="Code"`` in the text adapters: the label is a problem
rather than an answer, the grader is a parameter, nothing is solved from the prompt, and the
text adapters stay free of the sandbox (code imports text, never the other way).

Example:
    >>> from rewardgym.envs.code.scripted import exit_zero
    >>> from rewardgym.envs.code.tasks import CodeTaskDataset
    >>> rows = trl_rows(CodeTaskDataset("rotate", size=2))
    >>> proxy, gold = trl_reward_func("rotate", "scale(factor=2)"), trl_reward_func("rotate", grader="gold")
    >>> proxy.__name__, gold.__name__
    ('rewardgym_code_rotate_scale_factor_2', 'rewardgym_code_rotate_gold')
    >>> call = dict(prompts=[r["prompt"] for r in rows], completions=[exit_zero(r["prompt"]) for r in rows],
    ...             completion_ids=None, problem=[r["problem"] for r in rows])
    >>> proxy(**call), gold(**call)
    ([2.0, 2.0], [0.0, 0.0])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rewardgym.envs.code.code_env import MAX_CODE_CHARS
from rewardgym.envs.code.graders import grader_name, parse_grader
from rewardgym.envs.code.rewards import GOLD_GRADER, CodeReward, problem_label
from rewardgym.envs.code.tasks import TASKS, CodeTaskDataset
from rewardgym.envs.code.tasks import family as code_family
from rewardgym.envs.text.adapters import check_func_name, message_text, metric_slug, prompt_of, spec_slug
from rewardgym.envs.text.rewards import Scores

__all__ = [
    "CODE_ADAPTER_TASKS",
    "LABEL_COLUMN",
    "code_task_name",
    "openrlhf_reward_func",
    "openrlhf_rows",
    "reward_func_name",
    "trl_reward_func",
    "trl_rows",
    "verl_batch_compute_score",
    "verl_compute_score",
    "verl_rows",
]

CODE_ADAPTER_TASKS = (*TASKS, "mixed", "problems")
"""The task names the code adapters take: a procedural family, ``"mixed"`` or ``"problems"`` (a
loaded problem set). Only the name depends on it: every row's problem comes with its label."""

LABEL_COLUMN = "problem"
"""The TRL dataset column (and reward-function keyword) that holds each row's problem label."""

DEFAULT_GRADER = "typical"


def code_task_name(task: Any) -> str:
    """The code adapters' name of a task, refusing unknown ones with the valid names.

    Example:
        >>> code_task_name("rotate"), code_task_name("mixed")
        ('rotate', 'mixed')
        >>> code_task_name("rotat")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unknown task 'rotat' (did you mean 'rotate'?); valid tasks: ..., rotate, ..., mixed, problems
    """
    if task in ("mixed", "problems"):
        return str(task)
    return code_family(task).name if isinstance(task, str) and task in TASKS else _unknown_task(task)


def _unknown_task(task: Any) -> str:
    import difflib

    close = difflib.get_close_matches(str(task), list(CODE_ADAPTER_TASKS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(f"unknown task {task!r}{hint}; valid tasks: {', '.join(CODE_ADAPTER_TASKS)}")


def _grader(grader: Any) -> str:
    return GOLD_GRADER if grader == GOLD_GRADER else grader_name(parse_grader(grader))


def reward_func_name(task: str, reward: Any = None, grader: Any = DEFAULT_GRADER) -> str:
    """The name :func:`trl_reward_func` gives a code task's reward under a grader and a spec.

    Example:
        >>> reward_func_name("mixed", "scale(factor=2)"), reward_func_name("rotate", grader="gold")
        ('rewardgym_code_mixed_scale_factor_2', 'rewardgym_code_rotate_gold')
        >>> reward_func_name("rotate", "shaped(kind='format')", grader="exit_code+stdout_verdict")
        'rewardgym_code_rotate_exit_code_stdout_verdict_shaped_kind_format'
    """
    name, grader, slug = code_task_name(task), _grader(grader), spec_slug(reward)
    parts = [grader] if grader != DEFAULT_GRADER or not slug else []
    return "_".join(["rewardgym_code", name, *(metric_slug(p) for p in parts), *([slug] if slug else [])])


class _Scorer(CodeReward):
    """A :class:`CodeReward` that keeps its last scores for monitoring."""

    last: Scores | None = None

    def __call__(self, problems, completions, prompts=None):
        self.last = super().__call__(problems, completions, prompts)
        return self.last


def _scorer(reward: Any, grader: Any, seed: int | None, batch_size: int | None, max_chars: int, timeout_s: float):
    return _Scorer(reward, grader=grader, seed=seed, batch_size=batch_size, max_chars=max_chars, timeout_s=timeout_s)


def _labels(labels: Sequence[Any] | None, n: int, where: str) -> list[Any]:
    if labels is None:
        raise ValueError(
            f"code rewards need each row's problem (its hidden tests), which the prompt does not hold; pass "
            f"{where} (the rows of trl_rows/verl_rows/openrlhf_rows carry it)"
        )
    labels = list(labels)
    if len(labels) != n:
        raise ValueError(f"got {n} completions but {len(labels)} {where}")
    return labels


def trl_reward_func(
    task: str = "mixed",
    reward: Any = None,
    *,
    grader: Any = DEFAULT_GRADER,
    seed: int | None = 0,
    batch_size: int | None = None,
    max_chars: int = MAX_CODE_CHARS,
    timeout_s: float = 5.0,
    name: str | None = None,
) -> Callable[..., list[float]]:
    """A reward function for TRL's ``GRPOTrainer(reward_funcs=[...])`` on code problems.

    TRL calls it with keyword arguments ``prompts``, ``completions``, ``completion_ids`` and
    every other dataset column; ``problem`` (:data:`LABEL_COLUMN`, written by :func:`trl_rows`)
    holds each row's problem label. It returns one float per completion and is named
    :func:`reward_func_name` (or ``name``), which TRL logs as ``rewards/<name>/mean``.

    Example:
        >>> trl_reward_func("two_sum", "shaped(kind='length', coef=0.001)").__name__
        'rewardgym_code_two_sum_shaped_kind_length_coef_0.001'
    """
    name = check_func_name(name)
    func_name = name if name is not None else reward_func_name(task, reward, grader)
    scorer = _scorer(reward, grader, seed, batch_size, max_chars, timeout_s)

    def reward_func(
        prompts: Sequence[Any], completions: Sequence[Any], problem: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float]:
        prompt_texts = [message_text(p, "prompts", i) for i, p in enumerate(prompts)]
        texts = [message_text(c, "completions", i) for i, c in enumerate(completions)]
        labels = _labels(problem, len(texts), f"the dataset's {LABEL_COLUMN!r} column")
        return scorer(labels, texts, prompt_texts).proxy.tolist()

    reward_func.__name__ = reward_func.__qualname__ = func_name
    reward_func.scorer = scorer  # type: ignore[attr-defined]
    return reward_func


def verl_compute_score(
    task: str = "mixed",
    reward: Any = None,
    *,
    grader: Any = DEFAULT_GRADER,
    seed: int | None = 0,
    max_chars: int = MAX_CODE_CHARS,
    timeout_s: float = 5.0,
) -> Callable[..., float]:
    """A ``compute_score`` for verl's reward managers: ``ground_truth`` is the problem label,
    ``extra_info["question"]`` the prompt the regimes see.

    Example:
        >>> from rewardgym.envs.code.scripted import oracle
        >>> row = verl_rows(CodeTaskDataset("balanced", size=1))[0]
        >>> score = verl_compute_score("balanced", "scale(factor=-1)")
        >>> score(row["data_source"], oracle(row["extra_info"]["question"]), row["reward_model"]["ground_truth"],
        ...       row["extra_info"])
        -1.0
    """
    code_task_name(task)
    scorer = _scorer(reward, grader, seed, 1, max_chars, timeout_s)

    def compute_score(
        data_source: Any, solution_str: str, ground_truth: Any, extra_info: dict[str, Any] | None = None, **kwargs: Any
    ) -> float:
        labels = _labels(None if ground_truth is None else [ground_truth], 1, "ground_truth")
        return float(scorer(labels, [solution_str], [prompt_of(extra_info)]).proxy[0])

    compute_score.scorer = scorer  # type: ignore[attr-defined]
    return compute_score


def verl_batch_compute_score(
    task: str = "mixed",
    reward: Any = None,
    *,
    grader: Any = DEFAULT_GRADER,
    seed: int | None = 0,
    batch_size: int | None = None,
    max_chars: int = MAX_CODE_CHARS,
    timeout_s: float = 5.0,
) -> Callable[..., list[float]]:
    """A ``compute_score`` for verl's batched reward manager: lists in, one float per response
    out, the whole batch graded at once in the worker pool."""
    code_task_name(task)
    scorer = _scorer(reward, grader, seed, batch_size, max_chars, timeout_s)

    def compute_score(
        data_sources: Sequence[Any],
        solution_strs: Sequence[str],
        ground_truths: Sequence[Any],
        extra_infos: Sequence[dict[str, Any] | None] | None = None,
        **kwargs: Any,
    ) -> list[float]:
        solutions = list(solution_strs)
        infos = list(extra_infos) if extra_infos is not None else [None] * len(solutions)
        labels = _labels(ground_truths, len(solutions), "ground_truths")
        return scorer(labels, solutions, [prompt_of(info) for info in infos]).proxy.tolist()

    compute_score.scorer = scorer  # type: ignore[attr-defined]
    return compute_score


def openrlhf_reward_func(
    task: str = "mixed",
    reward: Any = None,
    *,
    grader: Any = DEFAULT_GRADER,
    seed: int | None = 0,
    batch_size: int | None = None,
    max_chars: int = MAX_CODE_CHARS,
    timeout_s: float = 5.0,
) -> Callable[..., dict[str, Any]]:
    """A ``reward_func`` for OpenRLHF's ``--remote_rm_url reward_func.py``: ``labels`` are the
    problem labels; it returns ``{"rewards", "scores", "extra_logs": {"gold"}}`` (torch)."""
    code_task_name(task)
    scorer = _scorer(reward, grader, seed, batch_size, max_chars, timeout_s)

    def reward_func(
        queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        import torch

        queries = [message_text(q, "queries", i) for i, q in enumerate(queries)]
        prompts = [message_text(p, "prompts", i) for i, p in enumerate(prompts)]
        if len(queries) != len(prompts):
            raise ValueError(f"got {len(queries)} queries but {len(prompts)} prompts")
        responses = [q[len(p) :] if q.startswith(p) else q for q, p in zip(queries, prompts)]
        out = scorer(_labels(labels, len(responses), "labels"), responses, prompts)
        rewards = torch.as_tensor(out.proxy, dtype=torch.float32)
        return {
            "rewards": rewards,
            "scores": rewards.clone(),
            "extra_logs": {"gold": torch.as_tensor(out.gold, dtype=torch.float32).mean()},
        }

    reward_func.scorer = scorer  # type: ignore[attr-defined]
    return reward_func


# ----------------------------------------------------------------------------------------------
# Dataset rows in each trainer's layout.


def _rows_source(dataset: CodeTaskDataset | Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    if isinstance(dataset, CodeTaskDataset):
        return list(dataset), f"rewardgym/Code/{dataset.task}"
    if isinstance(dataset, (str, bytes)) or not isinstance(dataset, Sequence):
        raise TypeError(f"rows need a CodeTaskDataset or a list of problem items, got {type(dataset).__name__}")
    return list(dataset), "rewardgym/Code/problems"


def trl_rows(dataset: CodeTaskDataset | Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows for ``datasets.Dataset.from_list`` and GRPOTrainer: ``{"prompt", "problem"}``, the
    problem as its JSON label (:func:`~rewardgym.envs.code.rewards.problem_label`).

    Example:
        >>> sorted(trl_rows(CodeTaskDataset("running_sum", size=1))[0])
        ['problem', 'prompt']
    """
    items, _ = _rows_source(dataset)
    return [{"prompt": item["prompt"], LABEL_COLUMN: problem_label(item)} for item in items]


def verl_rows(
    dataset: CodeTaskDataset | Sequence[dict[str, Any]], data_source: str | None = None
) -> list[dict[str, Any]]:
    """Rows in verl's RL parquet layout: ``prompt`` as chat messages, ``ability="coding"``,
    ``reward_model.ground_truth`` the problem label, ``extra_info`` the prompt (``question``), the
    problem's ``task_id`` and its ``index``.

    Example:
        >>> row = verl_rows(CodeTaskDataset("caesar", size=1))[0]
        >>> row["data_source"], row["ability"], row["extra_info"]["task_id"]
        ('rewardgym/Code/caesar', 'coding', 'caesar/d1/s0/i0')
    """
    items, source = _rows_source(dataset)
    return [
        {
            "data_source": data_source or source,
            "prompt": [{"role": "user", "content": item["prompt"]}],
            "ability": "coding",
            "reward_model": {"style": "rule", "ground_truth": problem_label(item)},
            "extra_info": {"question": item["prompt"], "task_id": item["task_id"], "index": index},
        }
        for index, item in enumerate(items)
    ]


def openrlhf_rows(dataset: CodeTaskDataset | Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``{"input", "label"}`` rows (``--input_key input --label_key label``), the label the
    problem's JSON.

    Example:
        >>> sorted(openrlhf_rows(CodeTaskDataset("count_vowels", size=1))[0])
        ['input', 'label']
    """
    items, _ = _rows_source(dataset)
    return [{"input": item["prompt"], "label": problem_label(item)} for item in items]
