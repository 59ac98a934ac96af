"""The SB3 adapter: SB3's VecEnv semantics, infos only where episodes end, SB3's algorithms on top."""

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the envs)
import stable_baselines3 as sb3
from gymnasium.vector import AutoresetMode
from rewardgym.agents.sb3 import (
    NO_INFO,
    EpisodeLog,
    EpisodeReturnsLogger,
    SB3VecEnv,
    find_adapter,
    make_sb3_env,
)
from rewardgym.envs.batched.device import cuda_simulated
from stable_baselines3.common.env_checker import check_env
from stable_baselines3.common.vec_env import VecCheckNan, VecMonitor, VecNormalize


def random_actions(venv, steps, seed=0):
    venv.action_space.seed(seed)
    return [np.stack([venv.action_space.sample() for _ in range(venv.num_envs)]) for _ in range(steps)]


@pytest.mark.parametrize("env_id", ["rewardgym/CartPole-v0", "rewardgym/Pendulum-v0"])
def test_sb3_env_checker_accepts_the_envs_the_adapter_serves(env_id):
    # SB3's checker takes single envs; the adapter's own contract is checked below.
    check_env(gym.make(env_id, reward="scale(factor=2)"), warn=False)


@pytest.mark.parametrize("env_id", ["rewardgym/CartPole-v0", "rewardgym/Pendulum-v0"])
def test_step_follows_the_vecenv_contract(env_id):
    venv = VecCheckNan(make_sb3_env(env_id, num_envs=5, reward="scale(factor=2)"), raise_exception=True)
    venv.seed(0)
    obs = venv.reset()
    assert obs.shape == (5, *venv.observation_space.shape) and obs.dtype == np.float32
    assert len(venv.unwrapped.reset_infos) == 5
    ended = 0
    for actions in random_actions(venv, 210):
        obs, rewards, dones, infos = venv.step(actions)
        assert obs.shape == (5, *venv.observation_space.shape)
        assert rewards.shape == (5,) and rewards.dtype == np.float32
        assert dones.shape == (5,) and dones.dtype == bool
        assert isinstance(infos, list) and len(infos) == 5
        for i in np.flatnonzero(dones):
            info = infos[i]
            assert venv.observation_space.contains(info["terminal_observation"])
            assert isinstance(info["TimeLimit.truncated"], bool)
            assert info["episode"]["r"] == pytest.approx(2 * info["episode"]["gold"])
            ended += 1
        assert all(infos[i] is NO_INFO for i in np.flatnonzero(~dones))
    assert ended >= 5  # Pendulum truncates at 200 steps, CartPole terminates far sooner


def test_infos_only_for_finished_envs_and_the_shared_one_is_read_only():
    venv = make_sb3_env("rewardgym/CartPole-v0", num_envs=4)
    venv.seed(1)
    venv.reset()
    _, _, dones, infos = venv.step(np.zeros(4, dtype=np.int64))
    assert not dones.any() and all(info is NO_INFO and not info for info in infos)
    with pytest.raises(TypeError, match="shared"):
        infos[0]["key"] = 1
    assert infos[0].copy() == {} and type(infos[0].copy()) is dict


def test_terminal_observation_and_truncation_match_single_envs():
    """Env i of the adapter seeded s is the single env seeded s + i, reset by hand at its end."""
    num_envs, seed = 3, 7
    venv = make_sb3_env("rewardgym/Pendulum-v0", num_envs=num_envs)
    singles = [gym.make("rewardgym/Pendulum-v0") for _ in range(num_envs)]
    venv.seed(seed)
    obs = venv.reset()
    single_obs = [env.reset(seed=seed + i)[0] for i, env in enumerate(singles)]
    np.testing.assert_array_equal(obs, np.stack(single_obs))
    ends = 0
    for actions in random_actions(venv, 410, seed=3):
        obs, rewards, dones, infos = venv.step(actions)
        for i, env in enumerate(singles):
            o, r, terminated, truncated, _ = env.step(actions[i])
            assert rewards[i] == pytest.approx(r)
            assert dones[i] == (terminated or truncated)
            if dones[i]:
                ends += 1
                np.testing.assert_array_equal(infos[i]["terminal_observation"], o)
                assert infos[i]["TimeLimit.truncated"] == (truncated and not terminated)
                o, _ = env.reset()
            np.testing.assert_array_equal(obs[i], o)
    assert ends == 2 * num_envs


def test_next_step_env_is_reset_by_the_adapter_like_same_step():
    """Without a SAME_STEP mode the adapter resets ended envs itself: the same stream results."""
    same = make_sb3_env("rewardgym/CartPole-v0", num_envs=4, reward="scale(factor=3)")
    nxt = SB3VecEnv(
        gym.make_vec(
            "rewardgym/CartPole-v0", num_envs=4, reward="scale(factor=3)", autoreset_mode=AutoresetMode.NEXT_STEP
        )
    )
    assert same.envs.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    assert nxt.autoreset_mode is AutoresetMode.NEXT_STEP
    for venv in (same, nxt):
        venv.seed(5)
    np.testing.assert_array_equal(same.reset(), nxt.reset())
    ended = 0
    for actions in random_actions(same, 120):
        a, b = same.step(actions), nxt.step(actions)
        for x, y in zip(a[:3], b[:3]):
            np.testing.assert_array_equal(x, y)
        for i in np.flatnonzero(a[2]):
            ended += 1
            np.testing.assert_array_equal(a[3][i]["terminal_observation"], b[3][i]["terminal_observation"])
            for key in ("r", "l", "gold"):  # "t", the wall time, differs
                assert a[3][i]["episode"][key] == b[3][i]["episode"][key]
            assert a[3][i]["episode_returns"] == b[3][i]["episode_returns"]
    assert ended > 10


def test_episode_returns_are_logged_and_kept_for_every_reader():
    venv = make_sb3_env("rewardgym/CartPole-v0", num_envs=8, reward="scale(factor=2)")
    model = sb3.PPO("MlpPolicy", venv, n_steps=32, batch_size=128, n_epochs=1, seed=0)
    logger = EpisodeReturnsLogger()
    model.learn(512, callback=logger)
    assert set(logger.recorded) == {"rollout/ep_proxy_mean", "rollout/ep_gold_mean", "rollout/ep_gap_mean"}
    assert logger.recorded["rollout/ep_proxy_mean"] == pytest.approx(2 * logger.recorded["rollout/ep_gold_mean"])
    # SB3's own ep_info_buffer (rollout/ep_rew_mean) gets the proxy return without a Monitor.
    assert len(model.ep_info_buffer) > 0
    assert all(ep["r"] == 2 * ep["gold"] == 2 * ep["l"] for ep in model.ep_info_buffer)
    episodes, cursor = venv.episodes.since(0)
    assert cursor == venv.episodes.total > 0
    np.testing.assert_array_equal(episodes["proxy"], 2 * episodes["length"])


def test_episode_log_ring_keeps_the_last_episodes():
    log = EpisodeLog(capacity=3)
    log.add(np.arange(2.0), np.arange(2.0), np.ones(2))
    log.add(np.arange(2.0, 6.0), np.arange(2.0, 6.0), np.ones(4))
    episodes, cursor = log.since(0)
    assert cursor == 6 and episodes["proxy"].tolist() == [3.0, 4.0, 5.0]
    assert log.last(2)["gold"].tolist() == [4.0, 5.0]


def test_seed_and_options_reach_the_vector_env():
    venv = make_sb3_env("rewardgym/CartPole-v0", num_envs=3)
    assert venv.seed(11) == [11, 12, 13]
    expected, _ = gym.make_vec("rewardgym/CartPole-v0", num_envs=3).reset(seed=11)
    np.testing.assert_array_equal(venv.reset(), expected)
    venv.set_options({"bogus": 1})  # one dict for every env: passed through, and refused by name
    with pytest.raises(ValueError, match="bogus"):
        venv.reset()
    venv.set_options([{"a": 1}, {"a": 2}, {}])
    with pytest.raises(ValueError, match="one options dict"):
        venv.reset()


def test_works_under_vecnormalize_and_vecmonitor():
    adapter = make_sb3_env("rewardgym/CartPole-v0", num_envs=4, reward="scale(factor=2)")
    venv = VecNormalize(VecMonitor(adapter), gamma=0.98)
    assert find_adapter(venv) is adapter
    venv.seed(0)
    venv.reset()
    monitored = 0
    for actions in random_actions(venv, 60):
        obs, rewards, dones, infos = venv.step(actions)
        for i in np.flatnonzero(dones):
            monitored += 1
            # VecMonitor's return is the proxy the adapter reports; VecNormalize normalized the
            # terminal observation, as it does for SB3's own vector envs.
            assert infos[i]["episode"]["r"] == pytest.approx(infos[i]["episode_returns"]["proxy"])
            assert infos[i]["terminal_observation"].shape == (4,)
    assert monitored > 0
    model = sb3.PPO("MlpPolicy", venv, n_steps=32, batch_size=64, n_epochs=1, seed=0)
    model.learn(256)


@pytest.mark.parametrize(
    "algo, env_id, kwargs",
    [
        ("PPO", "rewardgym/CartPole-v0", dict(n_steps=64, batch_size=128, n_epochs=2)),
        ("A2C", "rewardgym/CartPole-v0", dict()),
        ("DQN", "rewardgym/CartPole-v0", dict(learning_starts=200, train_freq=8, batch_size=32)),
        ("SAC", "rewardgym/Pendulum-v0", dict(learning_starts=200, train_freq=16, batch_size=32)),
    ],
)
def test_sb3_algorithms_learn_through_the_adapter(algo, env_id, kwargs):
    num_envs = 4 if algo in ("PPO", "A2C") else 1
    steps = 1000 if algo == "SAC" else 2000  # 5 Pendulum episodes; SAC's updates cost the most
    venv = make_sb3_env(env_id, num_envs=num_envs, reward="scale(factor=0.5)")
    model = getattr(sb3, algo)("MlpPolicy", venv, seed=0, **kwargs)
    model.learn(steps, callback=EpisodeReturnsLogger())
    assert model.num_timesteps >= steps
    assert len(model.ep_info_buffer) > 0
    ep = model.ep_info_buffer[-1]
    assert ep["r"] == pytest.approx(0.5 * ep["gold"], rel=1e-5)
    actions, _ = model.predict(venv.reset(), deterministic=True)
    assert venv.action_space.contains(actions[0])


def test_a_foreign_vector_env_gets_an_empty_shell():
    # gymnasium's own CartPole: no gold channel, so its reward is gold, as rewardgym.wrap does.
    venv = SB3VecEnv(gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync"))
    venv.seed(0)
    venv.reset()
    finished = []
    for actions in random_actions(venv, 80):
        _, _, dones, infos = venv.step(actions)
        finished += [infos[i]["episode"] for i in np.flatnonzero(dones)]
    assert finished and all(ep["r"] == ep["gold"] == ep["l"] for ep in finished)


@pytest.mark.skipif(not cuda_simulated(), reason="runs under numba's CUDA simulator")
def test_cuda_envs_hand_sb3_numpy():
    venv = make_sb3_env("rewardgym/CartPole-v0", num_envs=2, device="cuda")
    venv.seed(0)
    obs = venv.reset()
    obs2, rewards, dones, _ = venv.step(np.array([0, 1]))
    assert all(isinstance(x, np.ndarray) for x in (obs, obs2, rewards, dones))


def test_bad_input_is_refused_by_name():
    with pytest.raises(TypeError, match="gymnasium.vector.VectorEnv"):
        SB3VecEnv(gym.make("rewardgym/CartPole-v0"))
    venv = make_sb3_env("rewardgym/CartPole-v0", num_envs=3)
    with pytest.raises(ValueError, match="subset"):
        venv.set_attr("foo", 1, indices=[0])
    assert venv.get_attr("num_envs", indices=[0, 2]) == [3, 3]
