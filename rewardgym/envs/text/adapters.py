"""A text task's reward, under any reward spec, as the reward function each LLM trainer expects.

================  ===================================================================  ==========
trainer           call                                                                 returns
================  ===================================================================  ==========
TRL GRPOTrainer   ``f(prompts=..., completions=..., completion_ids=..., **columns)``   list[float]
verl              ``compute_score(data_source, solution_str, ground_truth, extra_info)``  float
verl (batched)    ``compute_score(data_sources, solution_strs, ground_truths, extra_infos)``  list
OpenRLHF          ``reward_func(queries, prompts, labels)`` (queries = prompt+response)  dict
================  ===================================================================  ==========

Each function scores with :class:`~rewardgym.envs.text.rewards.CompletionReward`: the verifier's
score, then the spec's regimes (``reward="noisy(kind='flip', e_plus=0.2)"``, a regime, a callable
of the transition batch, or a list). It returns the *proxy*; the gold scores of its last call are
kept in ``f.scorer.last`` for monitoring (OpenRLHF also logs their mean as ``extra_logs["gold"]``).

The gold answer comes from the trainer's label (TRL's ``answer`` column, verl's
``ground_truth``, OpenRLHF's ``labels``); without one a text task's is solved from the prompt,
which holds the task's compact prompt. TRL's conversational format (lists of ``{"role",
"content"}`` messages, the content a string or a list of typed blocks whose ``"text"`` blocks are
read, as TRL passes a vision-language model's prompts) is accepted. :func:`trl_rows`,
:func:`verl_rows` and :func:`openrlhf_rows` export a :class:`~rewardgym.envs.text.tasks.TaskDataset`
in each trainer's dataset layout.

**Vision-language tasks.** ``task="ShapesVQA"`` (:mod:`rewardgym.envs.multimodal.vqa`: a picture of
shapes, a question, an answer string) works in every function here as a text task does: the same
verifier and regimes, scored under the id ``rewardgym/ShapesVQA-v0``. Its answer depends on the
picture, so its gold answers must come with the call (the label columns the rows below write);
the regimes see the question text as the prompt. Its rows
(:class:`~rewardgym.envs.multimodal.vqa.ShapesVQADataset`) carry the picture, a uint8 ``(48, 48,
3)`` numpy array (``image_format="pil"``: a ``PIL.Image``, which ``datasets.Dataset.from_list``
stores as its ``Image`` feature; a numpy column becomes one with ``cast_column("images",
List(Image()))``), in the column each trainer reads:

- TRL (``GRPOTrainer`` with a vision-language model): ``{"prompt": [{"role": "user", "content":
  question}], "images": [picture], "answer"}``; TRL needs conversational prompts for images and
  puts the image placeholder before the user's text itself;
- verl (its multimodal RL parquet, as its geo3k example): ``{"data_source", "prompt": [{"role":
  "user", "content": "<image>" + question}], "images": [picture], "ability", "reward_model",
  "extra_info"}``, the ``<image>`` placeholder where verl's dataset splices the picture in;
- OpenRLHF: ``{"input", "images": [picture], "label"}`` (``--input_key input --label_key label``,
  the images under ``images``: OpenRLHF's text pipeline reads no image column, so this assumes a
  vision-language fork's ``--image_key images``).

TRL logs each reward function's mean under its ``__name__`` (``rewards/<name>/mean``), so
:func:`trl_reward_func` names its function after the task and the spec: ``rewardgym_add_gold``
without regimes, ``rewardgym_add_scale_factor_2`` for ``"scale(factor=2)"``; ``name=`` picks
another. A proxy at weight 1 and its gold monitor at weight 0 thus log two metrics, not one mean.

None of the trainers is a dependency of the package (each pulls in a CUDA build of torch); TRL
is a dev dependency, and a test runs a real ``GRPOTrainer`` step with these functions. verl's and
OpenRLHF's calls are checked against their documented signatures with :func:`inspect.signature`.

Example:
    >>> reward_func = trl_reward_func("add", "scale(factor=2)")
    >>> reward_func.__name__
    'rewardgym_add_scale_factor_2'
    >>> reward_func(prompts=["Add the two numbers.\\n1+2=\\n"] * 2,
    ...             completions=["<answer>3</answer>", "<answer>4</answer>"], completion_ids=None)
    [2.0, 0.0]
    >>> reward_func.scorer.last.gold.tolist()
    [1.0, 0.0]
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rewardgym.core.spec import NO_REGIME, resolve_reward_spec
from rewardgym.envs.multimodal.vqa import ENV_ID as VQA_ENV_ID
from rewardgym.envs.multimodal.vqa import TASK as VQA_TASK
from rewardgym.envs.multimodal.vqa import ShapesVQADataset
from rewardgym.envs.text.answers import MAX_COMPLETION_CHARS
from rewardgym.envs.text.rewards import CompletionReward, Scores
from rewardgym.envs.text.tasks import TASKS, TaskDataset, family, solve_prompts

ADAPTER_TASKS = (*TASKS, VQA_TASK)
"""Every task the adapters score: the text tasks and the vision-language ``ShapesVQA``."""
IMAGE_FORMATS = ("numpy", "pil")
"""How the rows of a vision-language dataset hold its pictures."""


def task_name(task: Any) -> str:
    """The adapters' name of a task, refusing unknown tasks by name with the valid ones.

    Example:
        >>> task_name("ShapesVQA"), task_name("add")
        ('ShapesVQA', 'add')
        >>> task_name("shapes_vqa")
        Traceback (most recent call last):
        ...
        ValueError: unknown task 'shapes_vqa' (did you mean 'ShapesVQA'?); valid tasks: add, subtract, multiply, copy, reverse, sort_digits, count, parity, chain, ShapesVQA
    """
    if task == VQA_TASK:
        return VQA_TASK
    if isinstance(task, str) and task in TASKS:
        return family(task).name
    folded = {t.lower().replace("_", ""): t for t in ADAPTER_TASKS}  # "shapes_vqa" is close to "ShapesVQA"
    close = [folded[c] for c in difflib.get_close_matches(str(task).lower().replace("_", ""), list(folded), n=1)]
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(f"unknown task {task!r}{hint}; valid tasks: {', '.join(ADAPTER_TASKS)}")


class _Scorer(CompletionReward):
    """A :class:`CompletionReward` that keeps its last scores for monitoring, for any adapter task."""

    last: Scores | None = None

    def __init__(
        self, task: str, reward: Any, *, seed: int | None, fallback: str, max_chars: int, batch_size: int | None
    ) -> None:
        name = task_name(task)
        env_id = VQA_ENV_ID if name == VQA_TASK else None  # a VQA answer is scored like a text one
        super().__init__(
            name, reward, seed=seed, fallback=fallback, max_chars=max_chars, batch_size=batch_size, env_id=env_id
        )

    def __call__(self, prompts, completions, golds):
        self.last = super().__call__(prompts, completions, golds)
        return self.last


def _scorer(task: str, reward: Any, seed: int | None, fallback: str, max_chars: int, batch_size: int | None) -> _Scorer:
    return _Scorer(task, reward, seed=seed, fallback=fallback, max_chars=max_chars, batch_size=batch_size)


def message_text(value: Any, what: str, index: int) -> str:
    """A prompt or completion as text: a str, or TRL's conversational list of messages (the last
    one's content: a str, or typed blocks whose ``"text"`` blocks are joined by newlines); shared
    by the text and code adapters.

    Example:
        >>> message_text([{"role": "user", "content": "hi"}], "prompts", 0)
        'hi'
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(m, dict) for m in value):
        content = value[-1].get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, (list, tuple)) and content and all(isinstance(b, dict) for b in content):
            texts = [block.get("text") for block in content if block.get("type") == "text"]
            if texts and all(isinstance(text, str) for text in texts):
                return "\n".join(texts)
    raise TypeError(
        f"{what}[{index}] must be a str or a list of {{'role', 'content'}} messages, got "
        f"{type(value).__name__}: {value!r:.80}"
    )


def _golds(task: str, prompts: list[str], labels: Sequence[Any] | None, where: str) -> list[str]:
    if labels is not None:
        labels = list(labels)
        if len(labels) != len(prompts):
            raise ValueError(f"got {len(prompts)} prompts but {len(labels)} {where}")
        return [str(label) for label in labels]
    if task == VQA_TASK:
        raise ValueError(
            f"{VQA_TASK}'s answers depend on the picture, which the prompt does not hold; pass the gold answers "
            f"({where})"
        )
    solved = solve_prompts(task, prompts)
    for index, answer in enumerate(solved):
        if answer is None:
            raise ValueError(
                f"prompts[{index}] holds no {task!r} prompt to solve ({prompts[index]!r:.80}); pass "
                f"the gold answers ({where})"
            )
    return solved  # type: ignore[return-value]


def _adds_no_regime(reward: Any) -> bool:
    """Whether a spec resolves to no regime, read without building any (a learned reward model
    would train): None, ``"none"`` and lists of nothing else."""
    if reward is None:
        return True
    if isinstance(reward, str):
        return reward.strip() == NO_REGIME
    if isinstance(reward, Sequence):
        return all(_adds_no_regime(item) for item in reward)
    return False


def _describe(reward: Any) -> str:
    """A spec as text: a string as written, a regime or callable by its regime's name."""
    if isinstance(reward, str):
        return reward
    if isinstance(reward, Sequence):
        return "+".join(_describe(item) for item in reward if not _adds_no_regime(item))
    return "+".join(regime.name for regime in resolve_reward_spec(reward))


def metric_slug(text: str) -> str:
    """``text`` with each run of characters other than letters, digits, ``_``, ``.`` and ``-``
    made one ``_`` (and none at either end): the characters TensorBoard and the other loggers
    keep in a metric name, with the signs and decimal points that tell ``factor=-1`` from
    ``factor=1``.

    Example:
        >>> metric_slug("scale(factor=-1.5)+noisy(kind='flip')")
        'scale_factor_-1.5_noisy_kind_flip'
    """
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", text).strip("_")


def spec_slug(reward: Any = None) -> str:
    """A reward spec as a metric-name part (:func:`metric_slug`), ``""`` for a spec that adds no
    regime; shared by the text and code adapters (:mod:`rewardgym.envs.code.adapters`).

    Example:
        >>> spec_slug("shaped(kind='length', coef=0.01)"), spec_slug("none"), spec_slug([])
        ('shaped_kind_length_coef_0.01', '', '')
    """
    return "" if _adds_no_regime(reward) else metric_slug(_describe(reward))


def reward_func_name(task: str, reward: Any = None) -> str:
    """The name :func:`trl_reward_func` gives a task's reward under a spec (what TRL logs).

    ``rewardgym_<task>_gold`` when the spec adds no regime (the reward *is* gold), else
    ``rewardgym_<task>_<spec>`` with the spec made a metric name (:func:`spec_slug`).

    Example:
        >>> reward_func_name("add", "noisy(kind='flip', e_plus=0.2)")
        'rewardgym_add_noisy_kind_flip_e_plus_0.2'
        >>> reward_func_name("add", "none")
        'rewardgym_add_gold'
    """
    return f"rewardgym_{task_name(task)}_{spec_slug(reward) or 'gold'}"


def check_func_name(name: Any) -> str | None:
    """A reward function's ``name=``: None, or a non-empty string without ``/`` (TRL nests its
    metric names with ``/``, ``rewards/<name>/mean``: one in the name would split it).

    Example:
        >>> check_func_name("proxy"), check_func_name(None)
        ('proxy', None)
    """
    if name is not None and (not isinstance(name, str) or not name or "/" in name):
        raise ValueError(f"name must be a non-empty string without '/' (TRL logs rewards/<name>/mean), got {name!r}")
    return name


def trl_reward_func(
    task: str,
    reward: Any = None,
    *,
    seed: int | None = 0,
    fallback: str = "last_token",
    max_chars: int = MAX_COMPLETION_CHARS,
    batch_size: int | None = None,
    name: str | None = None,
) -> Callable[..., list[float]]:
    """A reward function for TRL's ``GRPOTrainer(reward_funcs=[...])``.

    TRL calls it with keyword arguments ``prompts``, ``completions``, ``completion_ids`` and
    every other dataset column (``answer`` is the gold answer when present); it returns one float
    per completion. TRL logs its mean as ``rewards/<__name__>/mean``; the name is ``name`` if
    given, else :func:`reward_func_name` (``rewardgym_<task>_gold`` or ``rewardgym_<task>_<spec>``),
    so that two functions under different specs log apart.

    Example:
        >>> proxy = trl_reward_func("add", "shaped(kind='length', coef=0.01)")
        >>> gold = trl_reward_func("add")  # GRPOConfig(reward_weights=[1.0, 0.0]): logged, not trained on
        >>> proxy.__name__, gold.__name__
        ('rewardgym_add_shaped_kind_length_coef_0.01', 'rewardgym_add_gold')
    """
    name = check_func_name(name)
    scorer = _scorer(task, reward, seed, fallback, max_chars, batch_size)
    func_name = name if name is not None else reward_func_name(task, reward)

    def reward_func(
        prompts: Sequence[Any], completions: Sequence[Any], answer: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float]:
        prompt_texts = [message_text(p, "prompts", i) for i, p in enumerate(prompts)]
        texts = [message_text(c, "completions", i) for i, c in enumerate(completions)]
        golds = _golds(task, prompt_texts, answer, "the dataset's 'answer' column")
        return scorer(prompt_texts, texts, golds).proxy.tolist()

    reward_func.__name__ = reward_func.__qualname__ = func_name
    reward_func.scorer = scorer  # type: ignore[attr-defined]
    return reward_func


def verl_compute_score(
    task: str,
    reward: Any = None,
    *,
    seed: int | None = 0,
    fallback: str = "last_token",
    max_chars: int = MAX_COMPLETION_CHARS,
) -> Callable[..., float]:
    """A ``compute_score`` for verl's reward managers (``custom_reward_function.path``/``name``).

    verl calls it once per response, by keyword: ``data_source``, ``solution_str`` (the decoded
    response), ``ground_truth`` (``reward_model.ground_truth`` of the row) and ``extra_info``
    (whose ``"question"``, when present, is the prompt the regimes see).
    """
    scorer = _scorer(task, reward, seed, fallback, max_chars, 1)

    def compute_score(
        data_source: Any, solution_str: str, ground_truth: Any, extra_info: dict[str, Any] | None = None, **kwargs: Any
    ) -> float:
        prompt = prompt_of(extra_info)
        golds = _golds(task, [prompt], None if ground_truth is None else [ground_truth], "ground_truth")
        return float(scorer([prompt], [solution_str], golds).proxy[0])

    compute_score.scorer = scorer  # type: ignore[attr-defined]
    return compute_score


def verl_batch_compute_score(
    task: str,
    reward: Any = None,
    *,
    seed: int | None = 0,
    fallback: str = "last_token",
    max_chars: int = MAX_COMPLETION_CHARS,
    batch_size: int | None = None,
) -> Callable[..., list[float]]:
    """A ``compute_score`` for verl's batched reward manager (``reward_model.reward_manager=batch``):
    lists in, one float per response out."""
    scorer = _scorer(task, reward, seed, fallback, max_chars, batch_size)

    def compute_score(
        data_sources: Sequence[Any],
        solution_strs: Sequence[str],
        ground_truths: Sequence[Any],
        extra_infos: Sequence[dict[str, Any] | None] | None = None,
        **kwargs: Any,
    ) -> list[float]:
        extra_infos = list(extra_infos) if extra_infos is not None else [None] * len(solution_strs)
        prompts = [prompt_of(info) for info in extra_infos]
        golds = _golds(task, prompts, ground_truths, "ground_truths")
        return scorer(prompts, list(solution_strs), golds).proxy.tolist()

    compute_score.scorer = scorer  # type: ignore[attr-defined]
    return compute_score


def prompt_of(extra_info: Any) -> str:
    """The prompt verl passes in ``extra_info`` (its ``"question"``, else its ``"prompt"``), or ``""``.

    Example:
        >>> prompt_of({"question": "1+2="}), prompt_of(None)
        ('1+2=', '')
    """
    if isinstance(extra_info, dict):
        prompt = extra_info.get("question", extra_info.get("prompt", ""))
        return prompt if isinstance(prompt, str) else ""
    return ""


def openrlhf_reward_func(
    task: str,
    reward: Any = None,
    *,
    seed: int | None = 0,
    fallback: str = "last_token",
    max_chars: int = MAX_COMPLETION_CHARS,
    batch_size: int | None = None,
) -> Callable[..., dict[str, Any]]:
    """A ``reward_func`` for OpenRLHF's ``--remote_rm_url reward_func.py``.

    OpenRLHF calls ``reward_func(queries, prompts, labels)`` positionally: ``queries`` are prompt
    plus response, ``labels`` the ``--label_key`` column. It returns ``{"rewards", "scores",
    "extra_logs"}``: the proxy as torch tensors (``scores`` feed its dynamic filtering, so they
    are the proxy too: the trainer never sees gold) and the gold mean as a log.
    """
    scorer = _scorer(task, reward, seed, fallback, max_chars, batch_size)

    def reward_func(
        queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        import torch

        queries = [message_text(q, "queries", i) for i, q in enumerate(queries)]
        prompts = [message_text(p, "prompts", i) for i, p in enumerate(prompts)]
        if len(queries) != len(prompts):
            raise ValueError(f"got {len(queries)} queries but {len(prompts)} prompts")
        responses = [q[len(p) :] if q.startswith(p) else q for q, p in zip(queries, prompts)]
        golds = _golds(task, prompts, labels, "labels")
        out = scorer(prompts, responses, golds)
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


def _check_image_format(image_format: Any) -> str:
    if image_format not in IMAGE_FORMATS:
        raise ValueError(f"unknown image_format {image_format!r}; valid formats: {', '.join(IMAGE_FORMATS)}")
    return image_format


def _images(item: dict[str, Any], image_format: str) -> list[Any]:
    """An item's ``images`` column: its one picture, as a numpy array or a ``PIL.Image``."""
    image = np.array(item["image"], dtype=np.uint8, copy=True)
    if image_format == "pil":
        from PIL import Image  # Pillow comes with matplotlib, a dependency

        return [Image.fromarray(image)]  # uint8 (h, w, 3): RGB
    return [image]


def trl_rows(dataset: TaskDataset | ShapesVQADataset, *, image_format: str = "numpy") -> list[dict[str, Any]]:
    """Rows for ``datasets.Dataset.from_list`` and GRPOTrainer: ``{"prompt", "answer"}`` for a text
    task; for ShapesVQA ``{"prompt": [{"role": "user", "content": question}], "images": [picture],
    "answer"}`` (TRL takes images only with conversational prompts).

    Example:
        >>> trl_rows(TaskDataset("add", size=1))
        [{'prompt': 'Add the two numbers.\\n6+7=\\nGive only the final answer, between <answer> and </answer>.', 'answer': '13'}]
        >>> row = trl_rows(ShapesVQADataset(size=1))[0]
        >>> sorted(row), row["images"][0].shape
        (['answer', 'images', 'prompt'], (48, 48, 3))
    """
    image_format = _check_image_format(image_format)
    if isinstance(dataset, ShapesVQADataset):
        return [
            {
                "prompt": [{"role": "user", "content": item["question"]}],
                "images": _images(item, image_format),
                "answer": item["answer"],
            }
            for item in dataset
        ]
    return [{"prompt": item["question"], "answer": item["answer"]} for item in dataset]


def verl_rows(
    dataset: TaskDataset | ShapesVQADataset, data_source: str | None = None, *, image_format: str = "numpy"
) -> list[dict[str, Any]]:
    """Rows in verl's RL parquet layout (``prompt`` as chat messages, ``reward_model.ground_truth``;
    ``extra_info["question"]`` is the prompt the regimes see). A ShapesVQA row also has ``images``
    (a list of one picture) and its prompt starts with verl's ``<image>`` placeholder.

    Example:
        >>> row = verl_rows(ShapesVQADataset(size=1))[0]
        >>> row["data_source"], row["prompt"][0]["content"].startswith("<image>"), row["reward_model"]["ground_truth"]
        ('rewardgym/ShapesVQA', True, '2')
    """
    image_format = _check_image_format(image_format)
    source = data_source or f"rewardgym/{dataset.task}"
    vision = isinstance(dataset, ShapesVQADataset)
    rows = []
    for item in dataset:
        row: dict[str, Any] = {
            "data_source": source,
            "prompt": [{"role": "user", "content": ("<image>" if vision else "") + item["question"]}],
            "ability": "visual_reasoning" if vision else "reasoning",
            "reward_model": {"style": "rule", "ground_truth": item["answer"]},
            "extra_info": {"question": item["question"], **item["metadata"]},
        }
        if vision:
            row["images"] = _images(item, image_format)
        rows.append(row)
    return rows


def openrlhf_rows(dataset: TaskDataset | ShapesVQADataset, *, image_format: str = "numpy") -> list[dict[str, Any]]:
    """``{"input", "label"}`` rows (``--input_key input --label_key label``); a ShapesVQA row also
    has ``images``, a list of one picture (for a vision-language fork's ``--image_key images``).

    Example:
        >>> sorted(openrlhf_rows(ShapesVQADataset(size=1))[0])
        ['images', 'input', 'label']
    """
    image_format = _check_image_format(image_format)
    if isinstance(dataset, ShapesVQADataset):
        return [
            {"input": item["question"], "images": _images(item, image_format), "label": item["answer"]}
            for item in dataset
        ]
    return [{"input": item["question"], "label": item["answer"]} for item in dataset]
