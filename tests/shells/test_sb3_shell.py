"""rewardgym.wrap on a stable-baselines3 VecEnv: the same stack, trace and gold as on gymnasium's."""

import gymnasium as gym
import numpy as np
import rewardgym
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env import DummyVecEnv

SPEC = "noisy(sigma=0.5)+adversarial(budget=3.0)"


def test_a_wrapped_sb3_vec_env_matches_the_gymnasium_vector_env_step_for_step():
    n, seed = 3, 4
    venv = rewardgym.wrap(DummyVecEnv([lambda: gym.make("rewardgym/CartPole-v0")] * n), SPEC)
    venv.seed(seed)
    obs = venv.reset()
    envs = rewardgym.wrap(
        gym.make_vec("rewardgym/CartPole-v0", num_envs=n, autoreset_mode=AutoresetMode.SAME_STEP), SPEC
    )
    ref_obs, _ = envs.reset(seed=seed)
    np.testing.assert_array_equal(obs, ref_obs)
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(40):
        actions = rng.integers(0, 2, n)
        obs, proxy, dones, infos = venv.step(actions)
        ref_obs, ref_proxy, terminated, truncated, ref_info = envs.step(actions)
        np.testing.assert_array_equal(obs, ref_obs)
        np.testing.assert_array_equal(proxy, ref_proxy)
        np.testing.assert_array_equal(dones, terminated | truncated)
        for i, info in enumerate(infos):
            assert info["gold_reward"] == ref_info["gold_reward"][i]
            assert info["reward_trace"] == {k: float(v[i]) for k, v in ref_info["reward_trace"].items()}
            assert info["regime_info"]["adversarial"]["spent"] == ref_info["regime_info"]["adversarial"]["spent"][i]
            if dones[i]:
                ended += 1
                want = {k: float(v[i]) for k, v in ref_info["episode_returns"].items()}
                assert info["episode_returns"] == {**want, "length": int(want["length"])}
    assert ended > 0  # episode ends (SB3's same-step resets) were crossed


def test_a_foreign_sb3_vec_env_gets_its_own_reward_as_gold():
    venv = rewardgym.wrap(DummyVecEnv([lambda: gym.make("CartPole-v1")] * 2), "scale(factor=-1)")
    venv.reset()
    _, proxy, _, infos = venv.step(np.array([0, 1]))
    assert proxy.tolist() == [-1.0, -1.0]
    assert [info["gold_reward"] for info in infos] == [1.0, 1.0]
    assert infos[1]["reward_trace"] == {"env": 1.0, "scale": -1.0}
