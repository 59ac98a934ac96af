"""rewardgym's MuJoCo envs against gymnasium's -v5, the vector API, seeding and bad input."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode
from rewardgym.core.checks import check_vector_env
from rewardgym.envs.mujoco import MUJOCO_TASKS, MujocoVectorEnv, register_mujoco_envs
from rewardgym.envs.mujoco.hopper import HOPPER

register_mujoco_envs()

V5 = {"HalfCheetah": "HalfCheetah-v5", "Hopper": "Hopper-v5", "Walker2d": "Walker2d-v5", "Ant": "Ant-v5"}
STEPS = 200
TOL = 1e-8


@pytest.mark.parametrize("name", list(V5))
def test_equal_to_gymnasium_v5(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Seeded alike, rewardgym and gymnasium run the same episodes: obs, reward, ends and info terms."""
    monkeypatch.chdir(tmp_path)  # gymnasium's own -v5 envs let MuJoCo write MUJOCO_LOG.TXT in the cwd
    ours = MujocoVectorEnv(MUJOCO_TASKS[name], 2)
    theirs = [gym.make(V5[name]) for _ in range(2)]
    obs, _ = ours.reset(seed=10)
    for i, env in enumerate(theirs):
        ref, _ = env.reset(seed=10 + i)
        np.testing.assert_allclose(obs[i], ref, rtol=0, atol=TOL)
    rng = np.random.default_rng(0)
    space = ours.single_action_space
    ended = 0
    restart_obs: dict[int, np.ndarray] = {}
    for step in range(STEPS):
        actions = rng.uniform(space.low, space.high, (2, *space.shape)).astype(np.float32)
        obs, reward, terminated, truncated, info = ours.step(actions)
        for i, env in enumerate(theirs):
            where = f"{name} env {i} step {step}"
            if i in restart_obs:  # NEXT_STEP: ours restarts env i now; gymnasium was reset at the end
                assert not info["_reward_components"][i] and reward[i] == 0.0, where
                np.testing.assert_allclose(obs[i], restart_obs.pop(i), rtol=0, atol=TOL, err_msg=where)
                continue
            ref, ref_reward, ref_term, ref_trunc, ref_info = env.step(actions[i])
            np.testing.assert_allclose(obs[i], ref, rtol=0, atol=TOL, err_msg=where)
            assert reward[i] == np.float32(ref_reward), where
            assert info["gold_reward"][i] == np.float32(ref_reward), where
            parts = info["reward_components"]
            assert abs(sum(float(v[i]) for v in parts.values()) - ref_reward) < TOL, where
            for key, value in ref_info.items():
                got = parts[key][i] if key.startswith("reward_") else info[key][i]
                assert abs(got - value) < TOL, (where, key)
            assert (bool(terminated[i]), bool(truncated[i])) == (ref_term, ref_trunc), where
            if ref_term or ref_trunc:
                ended += 1
                restart_obs[i] = env.reset()[0]  # gymnasium's generator continues, as ours does
    if name in ("Hopper", "Walker2d"):
        assert ended > 0, "random actions should end some episodes here"


def test_single_env_passes_check_env() -> None:
    for name in MUJOCO_TASKS:
        env = gym.make(f"rewardgym/{name}-v0")
        check_env(env.unwrapped, skip_render_check=True)
        check_env(env, skip_render_check=True)


@pytest.mark.parametrize("mode", ["next_step", "same_step", "disabled"])
def test_vector_env_passes_checker(mode: str) -> None:
    envs = gym.make_vec("rewardgym/Hopper-v0", num_envs=4, autoreset_mode=mode, reward="scale(factor=2.0)")
    check_vector_env(envs, seed=0, steps=120)


def test_same_step_autoreset_gives_final_obs() -> None:
    envs = MujocoVectorEnv(HOPPER, 4, autoreset_mode=AutoresetMode.SAME_STEP, max_episode_steps=5)
    envs.reset(seed=0)
    for _ in range(5):
        obs, reward, terminated, truncated, info = envs.step(np.zeros((4, 3), np.float32))
    assert truncated.all() and info["_final_obs"].all()
    fresh, _ = MujocoVectorEnv(HOPPER, 4).reset(seed=0)
    assert not np.array_equal(info["final_obs"], obs)
    assert (obs != fresh).any()  # the generators continued: new starts, not the first ones
    assert envs._elapsed.tolist() == [0, 0, 0, 0]


def test_next_step_autoreset_restarts_on_the_next_step() -> None:
    envs = MujocoVectorEnv(HOPPER, 2, max_episode_steps=3)
    envs.reset(seed=0)
    for _ in range(3):
        *_, truncated, _ = envs.step(np.zeros((2, 3), np.float32))
    assert truncated.all()
    _, reward, terminated, truncated, info = envs.step(np.zeros((2, 3), np.float32))
    assert reward.tolist() == [0.0, 0.0] and not (terminated | truncated).any()
    assert not info["_reward_components"].any()


def test_seeding_env_i_is_single_env_seeded_s_plus_i() -> None:
    envs = MujocoVectorEnv(MUJOCO_TASKS["Ant"], 3)
    single = MujocoVectorEnv(MUJOCO_TASKS["Ant"], 1)
    actions = np.random.default_rng(1).uniform(-1, 1, (20, 3, 8)).astype(np.float32)
    obs, _ = envs.reset(seed=5)
    one, _ = single.reset(seed=7)
    np.testing.assert_array_equal(obs[2], one[0])
    for a in actions:
        obs, reward, *_ = envs.step(a)
        one, r, *_ = single.step(a[2:3])
        np.testing.assert_array_equal(obs[2], one[0])
        assert reward[2] == r[0]
    again, _ = envs.reset(seed=5)
    first, _ = MujocoVectorEnv(MUJOCO_TASKS["Ant"], 3).reset(seed=5)
    np.testing.assert_array_equal(again, first)


@pytest.mark.parametrize("name", list(V5))
def test_components_sum_to_reward_and_vector_shape(name: str) -> None:
    envs = gym.make_vec(f"rewardgym/{name}-v0", num_envs=3)
    envs.reset(seed=0)
    for _ in range(30):
        _, reward, *_, info = envs.step(envs.action_space.sample())
        total = sum(info["reward_components"].values())
        np.testing.assert_allclose(total, info["reward_trace"]["env"], rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(info["gold_reward"], reward)
        assert info["reward_vector"].shape[0] == 3


def test_bad_actions_are_refused_by_name() -> None:
    envs = MujocoVectorEnv(HOPPER, 2)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        envs.step(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="not finite"):
        envs.step(np.array([[0, 0, 0], [0, np.inf, 0]], np.float32))
    with pytest.raises(ValueError, match="env 1 is not finite"):
        envs.step(np.array([[0, 0, 0], [np.nan, 0, 0]], np.float32))
    with pytest.raises(ValueError, match="outside"):
        envs.step(np.full((2, 3), 2.0, np.float32))
    with pytest.raises(TypeError, match="floats"):
        envs.step(np.zeros((2, 3), np.int64))
    env = gym.make("rewardgym/Hopper-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="unknown keyword argument 'gravity'"):
        gym.make("rewardgym/Hopper-v0", gravity=1.0)
    with pytest.raises(ValueError, match="not found"):
        gym.make("rewardgym/Hopper-v0", xml_file="/no/such/model.xml")


def test_unstable_simulation_ends_truncated_without_nan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # nothing may be written here (MuJoCo would log MUJOCO_LOG.TXT)
    envs = MujocoVectorEnv(HOPPER, 2)
    obs, _ = envs.reset(seed=0)
    envs.datas[1].qvel[:] = 1e300  # blow env 1 up: MuJoCo warns and resets its state
    obs2, reward, terminated, truncated, info = envs.step(np.zeros((2, 3), np.float32))
    assert info["unstable"].tolist() == [False, True]
    assert truncated.tolist() == [False, True] and not terminated[1]
    assert np.isfinite(obs2).all() and np.isfinite(reward).all()
    np.testing.assert_array_equal(obs2[1], obs[1])  # the last good observation
    assert reward[1] == 0.0 and info["gold_reward"][1] == 0.0
