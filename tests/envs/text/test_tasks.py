"""Task families: reproducible items, verifiers checked against independent Python solutions,
sizes within the declared bounds, and bad task names or difficulties refused by name."""

from __future__ import annotations

import re

import numpy as np
import pytest
from rewardgym.core.rng import seed_streams
from rewardgym.envs.text import vocab
from rewardgym.envs.text.tasks import (
    DIFFICULTIES,
    FAMILIES,
    TASKS,
    TaskDataset,
    compact_prompt,
    family,
    generate_items,
    question,
    solve_prompts,
)


def reference_answer(task: str, prompt: str) -> str:
    """Each family's answer computed independently of the jitted solvers."""
    body = prompt[:-1]  # drop the '='
    if task in ("add", "subtract", "multiply"):
        a, op, b = re.fullmatch(r"(\d+)([-+*])(\d+)", body).groups()
        return str({"+": int(a) + int(b), "-": int(a) - int(b), "*": int(a) * int(b)}[op])
    if task == "copy":
        return body
    if task == "reverse":
        return body[::-1]
    if task == "sort_digits":
        return "".join(sorted(body))
    if task == "count":
        letter, text = body.split(":")
        return str(text.count(letter))
    if task == "parity":
        return str(body.count("1") % 2)
    assert task == "chain"
    tokens = re.findall(r"\d|[-+*]", body)
    value = int(tokens[0])
    for op, digit in zip(tokens[1::2], tokens[2::2]):
        value = {"+": value + int(digit), "-": value - int(digit), "*": value * int(digit)}[op]
    return str(value)


@pytest.mark.parametrize("task", TASKS)
def test_every_family_at_every_difficulty_matches_the_reference_and_its_bounds(task):
    fam = family(task)
    for difficulty in DIFFICULTIES:
        size = fam.size(difficulty)
        items = TaskDataset(task, difficulty=difficulty, seed=11, size=200).items(range(200))
        for item in items:
            prompt, answer = item["metadata"]["prompt"], item["answer"]
            assert answer == reference_answer(task, prompt), (difficulty, prompt)
            assert len(prompt) <= fam.max_prompt_len(size) and len(answer) <= fam.max_answer_len(size)
            assert set(answer) <= set(fam.answer_chars)
            assert compact_prompt(item["question"]) == prompt
        # The bounds are tight enough to matter: some item reaches the longest prompt.
        assert max(len(i["metadata"]["prompt"]) for i in items) == fam.max_prompt_len(size)


def test_same_seed_and_index_give_the_same_item_and_different_ones_differ():
    a = TaskDataset("multiply", difficulty=3, seed=5, size=50)
    b = TaskDataset("multiply", difficulty=3, seed=5, size=50)
    assert a[17] == b[17] == a.items([17])[0]
    assert list(a)[17] == a[17]
    prompts = {item["metadata"]["prompt"] for item in a}
    assert len(prompts) > 45  # 3-digit products: collisions are rare
    assert a[3] != TaskDataset("multiply", difficulty=3, seed=6, size=50)[3]
    # reasoning-gym's Random(seed + index) convention: item i of seed s is item 0 of seed s + i.
    assert a[4]["answer"] == TaskDataset("multiply", difficulty=3, seed=9, size=1)[0]["answer"]
    assert a[-1] == a[49]


def test_items_come_from_the_engines_streams():
    streams = seed_streams(np.array([5, 6], dtype=np.uint64))
    prompts, answers = generate_items("add", 2, streams)
    data = TaskDataset("add", difficulty=2, seed=5, size=2)
    assert prompts == [item["metadata"]["prompt"] for item in data]
    assert int(streams[0, 1]) > 0  # the counters moved: the next draw is a new item
    assert generate_items("add", 2, streams)[0] != prompts


def test_score_answer_is_exact_match_of_the_extracted_answer():
    data = TaskDataset("subtract", difficulty=2, seed=3, size=5)
    item = next(i for i in data if i["answer"].startswith("-"))
    gold = item["answer"]
    assert data.score_answer(gold, item) == 1.0
    assert data.score_answer(f"<answer>{gold}</answer>", item) == 1.0
    assert data.score_answer(gold[1:], item) == 0.0  # the sign matters
    assert data.score_answer(f"<answer>{gold} or {gold[1:]}</answer>", item) == 0.0
    assert data.score_answer(None, item) == 0.0


def test_solve_prompts_reads_compact_prompts_and_questions_and_refuses_others():
    assert solve_prompts("add", ["12+34=", question("add", "9+9="), "12-34=", "", "1+2"]) == [
        "46",
        "18",
        None,
        None,
        None,
    ]
    assert solve_prompts("count", ["b:abba="]) == ["2"]
    assert solve_prompts("multiply", ["1234567890*2="]) == [None]  # beyond int64-safe operands


@pytest.mark.parametrize("bad", ["Add", "sum", "", None, 3])
def test_unknown_task_names_are_refused_with_the_valid_ones(bad):
    with pytest.raises(ValueError, match="valid tasks: add, subtract, multiply"):
        TaskDataset(bad)


@pytest.mark.parametrize("bad", [0, 6, -1, 1.0, "2", True, None])
def test_unknown_difficulties_are_refused_with_the_valid_ones(bad):
    with pytest.raises(ValueError, match=r"difficulty .* valid difficulties: 1, 2, 3, 4, 5"):
        TaskDataset("copy", difficulty=bad)


def test_bad_dataset_arguments_and_indices_are_refused():
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        TaskDataset("add", seed=-1)
    with pytest.raises(ValueError, match="size must be an integer >= 1"):
        TaskDataset("add", size=0)
    data = TaskDataset("add", size=3)
    with pytest.raises(IndexError, match="out of range"):
        data[3]
    with pytest.raises(TypeError, match="must be an int"):
        data["0"]


def test_vocab_round_trips_task_text_and_marks_unknown_characters():
    for item in TaskDataset("chain", difficulty=5, seed=0, size=20):
        text = item["metadata"]["prompt"] + item["answer"]
        assert vocab.decode(vocab.encode(text)) == text
    assert vocab.encode("A é").tolist() == [vocab.UNK] * 3
    assert vocab.VOCAB_SIZE == 47 and len(vocab.TOKENS) == 47
    with pytest.raises(ValueError, match="outside the vocabulary"):
        vocab.decode([5, 47])
    with pytest.raises(TypeError, match="takes a str"):
        vocab.encode(b"12")
    assert set(FAMILIES) == set(TASKS)
