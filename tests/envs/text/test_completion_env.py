"""Completion-level envs and answer extraction: one-step episodes scored by the verifier, the
<answer> tags and their fallback, malformed tags, and bad completions (non-strings, empty,
huge) given a clear error or a zero score, never a crash."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import rewardgym
from gymnasium.vector import AutoresetMode
from rewardgym.envs.text import register_text_envs
from rewardgym.envs.text.answers import (
    MAX_COMPLETION_CHARS,
    extract_answer,
    has_answer_tags,
    score_completions,
)
from rewardgym.envs.text.completion_env import CompletionVectorEnv
from rewardgym.envs.text.rewards import CompletionReward
from rewardgym.envs.text.tasks import TaskDataset, compact_prompt

register_text_envs()
ADD = "rewardgym/TextCompletionAdd-v0"


@pytest.mark.parametrize(
    ("completion", "answer"),
    [
        ("<answer>46</answer>", "46"),
        ("<answer>\n 46 \n</answer>", "46"),
        ("first <answer>1</answer> then <answer>46</answer>", "46"),  # the last pair
        ("<answer><answer>46</answer>", "46"),  # the innermost opening tag
        ("<answer></answer>", ""),
        ("The sum is 46.", "46"),  # fallback: the last token, without trailing punctuation
        ("46", "46"),
        ("<answer>46", None),  # never closed: malformed, no fallback
        ("46</answer>", None),  # never opened
        ("</answer>46<answer>", None),
        ("<ANSWER>46</ANSWER>", "<ANSWER>46</ANSWER>"),  # tags are case-sensitive: plain text
        ("", None),
        ("   \n\t", None),
        ("...", None),
    ],
)
def test_answer_extraction(completion, answer):
    assert extract_answer(completion) == answer


def test_fallback_none_and_the_length_limit():
    assert extract_answer("46", fallback="none") is None
    assert extract_answer("<answer>46</answer>", fallback="none") == "46"
    assert extract_answer("<answer>46</answer>" + " " * 10, max_chars=20) is None
    with pytest.raises(ValueError, match="valid fallbacks: last_token, none"):
        extract_answer("46", fallback="first_number")
    assert has_answer_tags("a <answer>b</answer>") and not has_answer_tags("</answer><answer>")


def test_scoring_bad_completions_gives_zero_or_a_clear_error():
    golds = ["46"] * 4
    huge = "<answer>46</answer>" + "x" * MAX_COMPLETION_CHARS
    scores = score_completions(["<answer>46</answer>", "", huge, "<answer>46"], golds)
    assert scores.tolist() == [1.0, 0.0, 0.0, 0.0] and scores.dtype == np.float32
    for bad in (None, 46, b"<answer>46</answer>", ["46"]):
        with pytest.raises(TypeError, match=r"completions\[1\] must be a str"):
            score_completions(["46", bad], ["46", "46"])
    with pytest.raises(TypeError, match="sequence of str"):
        score_completions("46", ["46"])
    with pytest.raises(ValueError, match="2 completions but 1 gold"):
        score_completions(["1", "2"], ["1"])


def test_single_env_is_one_step_scored_by_the_verifier():
    env = gym.make(ADD, difficulty=3)
    question, _ = env.reset(seed=5)
    assert env.observation_space.contains(question)
    item = TaskDataset("add", difficulty=3, seed=5, size=1)[0]
    assert question == item["question"]
    obs, reward, terminated, truncated, info = env.step(f"Working... <answer>{item['answer']}</answer>")
    assert (reward, terminated, truncated, info["gold_reward"]) == (1.0, True, False, 1.0)
    assert obs == question and info["reward_trace"] == {"env": 1.0}
    with pytest.raises(RuntimeError, match="call reset"):
        env.step("<answer>1</answer>")
    env.reset()
    with pytest.raises(TypeError, match="completion str, got int"):
        env.step(46)
    for bad in ("", "x" * (MAX_COMPLETION_CHARS + 1), "<answer>12"):
        env.reset()
        assert env.step(bad)[1] == 0.0


def test_vector_env_same_step_returns_next_questions_and_the_answered_ones():
    envs = gym.make_vec(ADD, num_envs=4)
    assert envs.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    questions, _ = envs.reset(seed=0)
    assert isinstance(questions, tuple) and envs.observation_space.contains(questions)
    items = TaskDataset("add", seed=0, size=4)  # env i seeded s starts with item i of seed s
    assert list(questions) == [item["question"] for item in items]
    completions = [f"<answer>{item['answer']}</answer>" for item in items]
    completions[1] = "<answer>-1</answer>"
    nxt, reward, terminated, truncated, info = envs.step(completions)
    assert reward.tolist() == [1.0, 0.0, 1.0, 1.0] and terminated.all() and not truncated.any()
    assert list(info["final_obs"]) == list(questions) and info["_final_obs"].all()
    assert nxt != questions


def test_vector_env_next_step_and_disabled_modes():
    envs = CompletionVectorEnv("parity", 2, autoreset_mode="next_step")
    first, _ = envs.reset(seed=1)
    obs, reward, terminated, *_ = envs.step(["<answer>0</answer>"] * 2)
    assert obs == first and terminated.all()
    obs, reward, terminated, *_ = envs.step(["<answer>0</answer>"] * 2)  # restart step: ignored
    assert not terminated.any() and (reward == 0).all() and obs != first
    envs = CompletionVectorEnv("parity", 2, autoreset_mode="disabled")
    envs.reset(seed=1)
    envs.step(["1", "1"])
    with pytest.raises(RuntimeError, match="reset_mask"):
        envs.step(["1", "1"])
    envs.reset(options={"reset_mask": np.array([True, True])})
    envs.step(["1", "1"])


def test_vector_env_refuses_bad_actions_and_arguments_by_name():
    envs = gym.make_vec(ADD, num_envs=2)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="must hold 2 strings"):
        envs.step(["1"])
    with pytest.raises(TypeError, match=r"completions\[0\] must be a str, got NoneType"):
        envs.step([None, "1"])
    with pytest.raises(ValueError, match="valid tasks"):
        gym.make_vec("rewardgym/TextCompletionAdd-v0", num_envs=2, task="sum")
    with pytest.raises(ValueError, match="valid difficulties"):
        gym.make(ADD, difficulty=0)
    with pytest.raises(ValueError, match="valid devices: cpu"):
        gym.make_vec(ADD, num_envs=2, device="cuda")
    with pytest.raises(ValueError, match="valid fallbacks"):
        gym.make(ADD, fallback="regex")


def test_the_checker_passes_and_regimes_apply_through_the_shells():
    from rewardgym.core.checks import check_vector_env

    for mode in AutoresetMode:
        check_vector_env(gym.make_vec(ADD, num_envs=3, autoreset_mode=mode, reward="scale(factor=2)"), seed=0, steps=20)
    envs = gym.make_vec(ADD, num_envs=3, reward="scale(factor=-2)")
    questions, _ = envs.reset(seed=2)
    from rewardgym.envs.text.tasks import solve_prompts

    answers = solve_prompts("add", questions)
    _, proxy, _, _, info = envs.step([f"<answer>{a}</answer>" for a in answers])
    assert proxy.tolist() == [-2.0] * 3 and info["gold_reward"].tolist() == [1.0] * 3
    assert info["episode_returns"]["gap"].tolist() == [-3.0] * 3  # proxy - gold
    env = rewardgym.wrap(gym.make("rewardgym/TextCompletionCopy-v0"), "scale(factor=0.5)")
    question, _ = env.reset(seed=0)
    _, proxy, *_, info = env.step(compact_prompt(question)[:-1])  # the fallback reads a bare answer
    assert (proxy, info["gold_reward"]) == (0.5, 1.0)


def test_completion_reward_chunks_and_pads_batches_for_its_regimes():
    seen = []

    def record(batch):
        seen.append((batch.num_envs, batch.valid.tolist()))
        return batch.reward + 1

    scorer = CompletionReward("add", record, batch_size=4)
    out = scorer(["q"] * 6, ["1", "2", "3", "4", "5", "6"], ["1"] * 6)
    assert out.proxy.tolist() == [2.0] + [1.0] * 5 and out.gold.tolist() == [1.0] + [0.0] * 5
    assert seen == [(4, [True] * 4), (4, [True, True, False, False])]
    assert list(out.trace) == ["env", "record"]
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        CompletionReward("add", batch_size=0)
