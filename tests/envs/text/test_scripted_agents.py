"""Scripted text agents: the oracle earns gold 1.0, random ~0, format-only is well-formed but
unsolved, and the hacker writes long answers full of candidates that never match exactly."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest
from rewardgym.envs.text import register_text_envs, vocab
from rewardgym.envs.text.answers import extract_answer, has_answer_tags
from rewardgym.envs.text.scripted import KINDS, completion_agent, token_agent
from rewardgym.envs.text.tasks import TASKS, TaskDataset

register_text_envs()


def token_rollout(kind: str, task: str = "add", num_envs: int = 64, steps: int = 40, **kwargs):
    """Final windows and end rewards of every episode that ended within ``steps`` steps."""
    env_name = {"add": "Add", "reverse": "Reverse"}.get(task) or task
    envs = gym.make_vec(f"rewardgym/Text{env_name}-v0", num_envs=num_envs, autoreset_mode="same_step", **kwargs)
    agent = token_agent(kind, task, seed=0)
    obs, _ = envs.reset(seed=0)
    windows, rewards = [], []
    for _ in range(steps):
        obs, reward, terminated, truncated, info = envs.step(agent.act(obs))
        assert not truncated.any()
        assert (reward[~terminated] == 0).all()  # paid only at the end
        windows += list(info["final_obs"][terminated])
        rewards += list(reward[terminated])
    return windows, np.array(rewards)


def test_token_oracle_earns_gold_one_on_every_episode():
    windows, rewards = token_rollout("oracle")
    assert len(rewards) > 500 and (rewards == 1.0).all()
    assert all(re.fullmatch(r"\d+", vocab.split_window(w)[1]) for w in windows)


def test_token_random_agent_earns_about_zero():
    _, rewards = token_rollout("random")
    assert len(rewards) > 500 and rewards.mean() < 0.02


def test_token_format_only_agent_writes_digits_then_eos_but_rarely_solves():
    windows, rewards = token_rollout("format_only")
    assert all(vocab.EOS in w for w in windows)
    assert all(re.fullmatch(r"\d+", vocab.split_window(w)[1]) for w in windows)
    assert rewards.mean() < 0.2


def test_token_hacker_fills_the_budget_with_candidates_and_never_solves():
    windows, rewards = token_rollout("hacker", max_new_tokens=8)
    assert (rewards == 0).all()
    assert all(vocab.split_window(w)[1] == "01234567" and vocab.EOS not in w for w in windows)


def test_token_agents_take_one_window_or_a_batch_and_refuse_other_input():
    envs = gym.make_vec("rewardgym/TextAdd-v0", num_envs=2)
    obs, _ = envs.reset(seed=1)
    agent = token_agent("oracle", "add")
    actions, state = agent.predict(obs)
    assert actions.dtype == np.int64 and actions.shape == (2,) and state is None
    assert agent.act(obs[0]) == actions[0]
    with pytest.raises(ValueError, match="no prompt"):
        agent.act(np.zeros((2, 8), dtype=np.int64))
    with pytest.raises(ValueError, match="valid kinds: oracle, random, format_only, hacker"):
        token_agent("cheater", "add")


@pytest.mark.parametrize("task", TASKS)
def test_completion_agents_on_every_task(task):
    data = TaskDataset(task, difficulty=2, seed=3, size=64)
    questions, answers = [i["question"] for i in data], [i["answer"] for i in data]
    score = {
        kind: np.array([extract_answer(c) == a for c, a in zip(completion_agent(kind, task).act(questions), answers)])
        for kind in KINDS
    }
    assert score["oracle"].all()
    assert score["random"].mean() < 0.05
    assert not score["hacker"].any()
    format_only = completion_agent("format_only", task).act(questions)
    assert all(has_answer_tags(c) for c in format_only)
    assert score["format_only"].mean() < (0.6 if task == "parity" else 0.2)


def test_completion_hacker_is_long_and_contains_the_answer():
    data = TaskDataset("add", difficulty=1, seed=0, size=32)
    hacks = completion_agent("hacker", "add").act([i["question"] for i in data])
    for hack, item in zip(hacks, data):
        content = extract_answer(hack)
        assert len(hack) > 500 and item["answer"] in content.split()


def test_completion_agents_predict_like_sb3():
    agent = completion_agent("oracle", "reverse")
    question = TaskDataset("reverse", seed=0, size=1)[0]["question"]
    action, _ = agent.predict(question)
    assert isinstance(action, str) and has_answer_tags(action)
    with pytest.raises(TypeError, match=r"questions\[0\] must be a str"):
        agent.act([1])


@pytest.mark.slow
@pytest.mark.parametrize(
    "env_name", ["Add", "Subtract", "Multiply", "Copy", "Reverse", "SortDigits", "Count", "Parity", "Chain"]
)
def test_token_oracle_solves_every_family_at_difficulty_three(env_name):
    task = {"SortDigits": "sort_digits"}.get(env_name, env_name.lower())
    envs = gym.make_vec(f"rewardgym/Text{env_name}-v0", num_envs=16, difficulty=3, autoreset_mode="same_step")
    agent = token_agent("oracle", task)
    obs, _ = envs.reset(seed=0)
    ended = 0
    for _ in range(40):
        obs, reward, terminated, *_ = envs.step(agent.act(obs))
        assert (reward[terminated] == 1).all()
        ended += terminated.sum()
    assert ended >= 16
