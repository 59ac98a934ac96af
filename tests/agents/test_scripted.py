"""Scripted reference policies: the random floor and CartPole's linear controller."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the envs)
import torch
from gymnasium import spaces
from rewardgym.agents.evaluation import evaluate as first_episode_returns
from rewardgym.agents.scripted import (
    SCRIPTED,
    CartPoleLinearPolicy,
    Policy,
    RandomPolicy,
    cartpole_linear_policy,
    random_policy,
)


def first_episode_gold(policy: Policy, env_id: str, num_envs: int, seed: int) -> np.ndarray:
    """Gold return of each env's first episode (NEXT_STEP autoreset, the default)."""
    envs = gym.make_vec(env_id, num_envs=num_envs, reward=[])
    return first_episode_returns(policy.predict, envs, seed=seed)["gold"]


def test_linear_controller_balances_cartpole():
    returns = first_episode_gold(cartpole_linear_policy(), "rewardgym/CartPole-v0", 100, seed=0)
    assert returns.mean() >= 475
    assert returns.min() == 500  # every one of the 100 starts, the full 500 steps


def test_random_policy_is_the_floor_on_cartpole():
    returns = first_episode_gold(random_policy(spaces.Discrete(2), seed=0), "rewardgym/CartPole-v0", 100, seed=0)
    assert 10 <= returns.mean() <= 40  # a random CartPole episode lasts about 22 steps


def test_linear_controller_is_batched_and_takes_numpy_or_torch():
    policy = CartPoleLinearPolicy()
    obs = np.array([[0, 0, 0.1, 0], [0, 0, -0.1, 0], [0, 0, 0.01, -0.1]], np.float32)
    assert policy.predict(obs).tolist() == [1, 0, 0]
    assert policy.predict(obs).dtype == np.int64
    assert policy.predict(obs[0]).tolist() == 1
    assert policy.predict(torch.from_numpy(obs)).tolist() == [1, 0, 0]
    with pytest.raises(ValueError, match=r"shape \(n, 4\) or \(4,\), got \(2, 3\)"):
        policy.predict(np.zeros((2, 3)))


def test_random_policy_is_seeded_and_in_the_space():
    discrete = RandomPolicy(spaces.Discrete(3, start=-1), seed=0)
    actions = discrete.predict(np.zeros((1000, 2)))
    assert actions.dtype == np.int64 and set(actions.tolist()) == {-1, 0, 1}
    again = RandomPolicy(spaces.Discrete(3, start=-1), seed=0).predict(np.zeros((1000, 2)))
    np.testing.assert_array_equal(actions, again)
    other = RandomPolicy(spaces.Discrete(3, start=-1), seed=1).predict(np.zeros((1000, 2)))
    assert not np.array_equal(actions, other)

    box = spaces.Box(np.array([-2.0, 0.0], np.float32), np.array([2.0, 0.1], np.float32))
    actions = RandomPolicy(box, seed=0).predict(np.zeros((1000, 3)))
    assert actions.shape == (1000, 2) and actions.dtype == np.float32
    assert all(box.contains(a) for a in actions)
    assert actions[:, 0].min() < -1.5 and actions[:, 0].max() > 1.5  # spread over the bounds


def test_random_policy_answers_torch_with_torch():
    actions = RandomPolicy(spaces.Discrete(2), seed=0).predict(torch.zeros(50, 4))
    assert torch.is_tensor(actions) and actions.dtype == torch.int64
    assert set(actions.tolist()) == {0, 1}
    actions = RandomPolicy(spaces.Box(-1, 1, (2,)), seed=0).predict(torch.zeros(50, 3))
    assert torch.is_tensor(actions) and actions.shape == (50, 2) and float(actions.abs().max()) <= 1


def test_scripted_registry_builds_from_envs_and_ids():
    envs = gym.make_vec("rewardgym/Pendulum-v0", num_envs=2, reward=[])
    for source in (envs, "rewardgym/Pendulum-v0", gym.make("rewardgym/Pendulum-v0")):
        policy = SCRIPTED["random"](source, seed=3)
        assert isinstance(policy, Policy) and policy.action_space == envs.single_action_space
    assert isinstance(SCRIPTED["linear"]("rewardgym/CartPole-v0"), CartPoleLinearPolicy)
    cartpole = gym.make_vec("rewardgym/CartPole-v0", num_envs=2, reward="scale(factor=2)")
    assert isinstance(SCRIPTED["linear"](cartpole), CartPoleLinearPolicy)


def test_scripted_registry_refuses_what_it_cannot_do():
    message = "'linear' scripted policy exists for CartPole only, got env 'rewardgym/MountainCar-v0'"
    with pytest.raises(ValueError, match=message):
        SCRIPTED["linear"]("rewardgym/MountainCar-v0")
    with pytest.raises(TypeError, match="Discrete or Box action spaces, got MultiBinary"):
        random_policy(spaces.MultiBinary(3))
    with pytest.raises(ValueError, match="bounded Box"):
        random_policy(spaces.Box(-np.inf, np.inf, (2,)))
    with pytest.raises(TypeError, match="expected an env, a vector env or an env id"):
        SCRIPTED["random"](42)
