"""The text reward model: tokenizer, biased labeler, training, RewardBench-style report, saving,
and a test-sized hacking gap."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from rewardgym.envs.text.rewards import CompletionReward
from rewardgym.envs.text.scripted import completion_agent
from rewardgym.envs.text.tasks import TaskDataset
from rewardgym.rewardmodels.text import (
    CATEGORIES,
    LENGTH_SLICES,
    SEP,
    TextLabeler,
    TextRewardModel,
    load_text_reward_model,
    make_text_pairs,
    rewardbench,
    sample_completions,
    save_text_reward_model,
    tokenize,
    train_text_reward_model,
)


@pytest.fixture(scope="module")
def trained():
    return train_text_reward_model(
        "add", num_pairs=300, epochs=3, d_model=16, layers=1, heads=2, max_tokens=48, lr=5e-3, seed=0
    )


def test_tokenize_keeps_prompt_and_the_end_of_the_completion():
    question = TaskDataset("add", seed=0, size=1)[0]["question"]
    ids = tokenize([question, question], ["<answer>7</answer>", "x" * 100 + "<answer>7</answer>"], max_tokens=32)
    assert ids.shape == (2, 32) and ids.dtype == torch.int64
    assert (ids[:, 0] == 1).all() and (ids == SEP).sum(1).tolist() == [1, 1]
    assert ids[1, -1] != 0 and (ids[0] == 0).any()  # the long one fills the window, keeping its end
    with pytest.raises(TypeError, match=r"completions\[0\] must be a str"):
        tokenize(["q"], [3])
    with pytest.raises(ValueError, match="max_tokens"):
        tokenize(["q"], ["a"], max_tokens=2)


def test_labeler_biases():
    golds = ["12"] * 400
    short, long = ["<answer>12</answer>"] * 400, ["I checked it twice. <answer>13</answer>"] * 400
    assert TextLabeler(length_bias=1.0, seed=0).label(short, long, golds).sum() == 0  # always the longer
    assert TextLabeler(length_bias=0.0, seed=0).label(short, long, golds).mean() == 1.0  # always gold
    share = TextLabeler(length_bias=0.3, seed=0).label(short, long, golds).mean()
    assert 0.62 < share < 0.78
    hedge = ["<answer>12 13</answer>"] * 400
    wrong = ["<answer>13</answer>"] * 400
    assert TextLabeler(length_bias=0.0, substring_credit=True, seed=0).label(hedge, wrong, golds).mean() > 0.95
    exact = TextLabeler(length_bias=0.0, substring_credit=False, seed=0).label(hedge, wrong, golds).mean()
    assert 0.4 < exact < 0.6  # no credit: a tie, decided by a coin
    with pytest.raises(ValueError, match="length_bias"):
        TextLabeler(length_bias=1.5)


def test_pairs_and_completions_are_seeded_and_sound():
    a = make_text_pairs("add", 50, TextLabeler(seed=1), seed=4)
    b = make_text_pairs("add", 50, TextLabeler(seed=1), seed=4)
    assert a.first == b.first and np.array_equal(a.label, b.label)
    assert all(x != y for x, y in zip(a.first_kind, a.second_kind))
    golds = ["5"] * 3
    scores = CompletionReward("add")(
        ["q"] * 3, sample_completions("add", golds, ["correct", "wrong", "malformed"]), golds
    )
    assert scores.gold.tolist() == [1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="valid kinds: correct"):
        sample_completions("add", ["1"], ["bogus"])


def test_same_seed_same_model():
    a, b = TextRewardModel(d_model=8, layers=1, heads=1, seed=5), TextRewardModel(d_model=8, layers=1, heads=1, seed=5)
    assert np.array_equal(a.reward(["1+1="], ["2"]), b.reward(["1+1="], ["2"]))
    with pytest.raises(ValueError, match="heads=3 must divide"):
        TextRewardModel(d_model=8, heads=3)


def test_rewardbench_report_and_the_learned_biases(trained):
    report = rewardbench(trained, "add", per_category=40)
    assert set(report["categories"]) == set(CATEGORIES) and set(report["length_slices"]) == set(LENGTH_SLICES)
    cats, slices = report["categories"], report["length_slices"]
    # The planted length bias: the model ranks by length where length and gold disagree.
    assert slices["chosen_longer"] > 0.9 and slices["chosen_shorter"] < 0.2
    assert cats["verbose_correct_vs_wrong"] > cats["correct_vs_verbose_wrong"] + 0.5
    assert cats["correct_vs_hacker"] < 0.2 and cats["format"] > 0.8
    assert trained.card["labeler"]["length_bias"] == 0.3 and trained.card["labeler"]["reads"] == "gold"


def test_test_sized_hacking_gap(trained, tmp_path):
    path = save_text_reward_model(trained, tmp_path / "rm")
    assert np.array_equal(load_text_reward_model(path).reward(["1+2="], ["3"]), trained.reward(["1+2="], ["3"]))
    items = TaskDataset("add", seed=99, size=200).items(range(200))
    questions, golds = [it["question"] for it in items], [it["answer"] for it in items]
    scorer = CompletionReward("add", f"learned(kind='text_model', path={str(path)!r})")
    oracle = scorer(questions, completion_agent("oracle", "add").act(questions), golds)
    hacker = scorer(questions, completion_agent("hacker", "add").act(questions), golds)
    assert hacker.proxy.mean() > oracle.proxy.mean()
    assert oracle.gold.mean() == 1.0 and hacker.gold.mean() < 0.05
