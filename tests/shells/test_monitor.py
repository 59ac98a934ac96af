"""The episode monitor: proxy and gold returns, their gap and length, at every episode's end."""

import gymnasium as gym
import numpy as np
import pytest
import rewardgym
import torch


def test_single_env_reports_the_episode_it_ends():
    env = gym.make("rewardgym/Pendulum-v0", reward="scale(factor=0.5)")
    env.reset(seed=0)
    env.action_space.seed(0)
    proxy_sum = gold_sum = 0.0
    for step in range(1, 201):
        _, proxy, terminated, truncated, info = env.step(env.action_space.sample())
        proxy_sum += proxy
        gold_sum += info["gold_reward"]
        if step < 200:
            assert "episode_returns" not in info
    assert truncated
    episode = info["episode_returns"]
    assert episode["length"] == 200
    assert episode["proxy"] == pytest.approx(proxy_sum, rel=1e-6)
    assert episode["gold"] == pytest.approx(gold_sum, rel=1e-6)
    assert episode["gap"] == pytest.approx(proxy_sum - gold_sum, rel=1e-6)


def test_reset_mid_episode_starts_the_sums_again():
    env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), None)
    env.reset(seed=0)
    for _ in range(3):
        env.step(0)
    env.reset(seed=1)
    done, length = False, 0
    while not done:
        _, _, terminated, truncated, info = env.step(1)
        done, length = terminated or truncated, length + 1
    assert info["episode_returns"]["length"] == length == info["episode_returns"]["gold"]


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_vector_env_reports_each_ending_episode_and_skips_autoreset_steps(mode):
    num_envs = 5
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=num_envs, autoreset_mode=mode, reward="scale(factor=-2)")
    envs.reset(seed=3)
    rng = np.random.default_rng(0)
    proxy_sum, gold_sum, length = np.zeros(num_envs), np.zeros(num_envs), np.zeros(num_envs)
    prev_done = np.zeros(num_envs, bool)
    reported = 0
    for _ in range(300):
        _, proxy, terminated, truncated, info = envs.step(rng.integers(0, 2, num_envs))
        done = terminated | truncated
        proxy_sum += proxy
        gold_sum += info["gold_reward"]
        length += ~prev_done if mode == "next_step" else 1
        if done.any():
            episode, mask = info["episode_returns"], info["_episode_returns"]
            np.testing.assert_array_equal(mask, done)
            np.testing.assert_allclose(episode["proxy"][done], proxy_sum[done])
            np.testing.assert_allclose(episode["gold"][done], gold_sum[done])
            np.testing.assert_allclose(episode["gap"][done], (proxy_sum - gold_sum)[done])
            np.testing.assert_array_equal(episode["length"][done], length[done])
            np.testing.assert_allclose(episode["proxy"][done], -2 * episode["gold"][done])
            reported += done.sum()
            proxy_sum[done] = gold_sum[done] = length[done] = 0
        else:
            assert "episode_returns" not in info
        prev_done = done
    assert reported > 20


def test_foreign_vector_env_and_torch_batches_are_monitored():
    envs = rewardgym.wrap(gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync"), None)
    envs.reset(seed=0)
    ended = 0
    for _ in range(100):
        info = envs.step(np.ones(2, np.int64))[4]
        ended += int(info.get("_episode_returns", np.zeros(2, bool)).sum())
    assert ended > 0
    cuda = gym.make_vec("rewardgym/CartPole-v0", num_envs=2, device="cuda", reward="scale")
    cuda.reset(seed=0)
    info = cuda.step(torch.ones(2, dtype=torch.int64))[4]
    assert isinstance(info["episode_returns"]["gold"], torch.Tensor)
    assert info["_episode_returns"].tolist() == [False, False]
