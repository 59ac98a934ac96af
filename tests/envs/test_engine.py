"""The batched engine: autoreset modes, time limits, seeding, single = vector, and bad input."""

import os
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from rewardgym.envs import ENVS

# Every batched-engine env: the control tasks and one token-level text task (the other text
# tasks share its kernel code and have their own tests in tests/envs/text).
ALL_IDS = sorted(i for i, e in ENVS.items() if e.modality in ("control", "gridworld")) + ["rewardgym/TextAdd-v0"]

# Gridworlds whose level and dynamics involve no chance, as in AI Safety Gridworlds.
DETERMINISTIC = {"rewardgym/BoatRace-v0", "rewardgym/SideEffectsSokoban-v0", "rewardgym/RewardTampering-v0"}


def rollout(envs, actions, seed):
    obs, _ = envs.reset(seed=seed)
    out = [obs]
    for a in actions:
        obs, reward, terminated, truncated, info = envs.step(a)
        out += [obs, reward, terminated, truncated, info["gold_reward"]]
    return out


def test_next_step_autoreset_gives_a_reset_step_with_zero_reward():
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=4, max_episode_steps=5)
    envs.reset(seed=0)
    for _ in range(4):
        _, _, terminated, truncated, _ = envs.step(np.zeros(4, np.int64))
        assert not truncated.any()
    _, reward, terminated, truncated, _ = envs.step(np.zeros(4, np.int64))
    assert truncated.all() and not terminated.any() and (reward == 1).all()
    obs, reward, terminated, truncated, info = envs.step(np.ones(4, np.int64))
    assert (reward == 0).all() and (info["gold_reward"] == 0).all()
    assert not terminated.any() and not truncated.any()
    assert np.all(np.abs(obs) <= 0.05)  # a fresh start state, not a stepped one


def test_same_step_autoreset_returns_the_new_start_and_the_final_obs():
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=3, max_episode_steps=3, autoreset_mode="same_step")
    envs.reset(seed=0)
    for _ in range(2):
        _, _, _, _, info = envs.step(np.ones(3, np.int64))
        assert not info["_final_obs"].any()
    obs, reward, terminated, truncated, info = envs.step(np.ones(3, np.int64))
    assert truncated.all() and (reward == 1).all() and info["_final_obs"].all()
    assert np.all(np.abs(obs) <= 0.05)
    assert np.all(np.abs(info["final_obs"][:, 1]) > 0.5)  # pushed right three times


def test_disabled_autoreset_refuses_stepping_an_ended_episode_and_resets_by_mask():
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=3, max_episode_steps=2, autoreset_mode="disabled")
    envs.reset(seed=0)
    envs.step(np.ones(3, np.int64))
    before, *_ = envs.step(np.ones(3, np.int64))
    with pytest.raises(RuntimeError, match="reset_mask"):
        envs.step(np.ones(3, np.int64))
    obs, _ = envs.reset(options={"reset_mask": np.array([True, False, True])})
    np.testing.assert_array_equal(obs[1], before[1])
    assert np.all(np.abs(obs[[0, 2]]) <= 0.05)
    with pytest.raises(RuntimeError, match="reset_mask"):
        envs.step(np.ones(3, np.int64))


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_same_seed_same_trajectory_and_different_seed_different_one(env_id):
    envs = gym.make_vec(env_id, num_envs=5)
    actions = np.stack([envs.action_space.sample() for _ in range(40)])
    envs.action_space.seed(0)
    first, second = rollout(envs, actions, seed=11), rollout(envs, actions, seed=11)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    if env_id in DETERMINISTIC:
        return  # one fixed level and no chance: every seed plays the same episode
    third = rollout(envs, actions, seed=12)
    assert not np.array_equal(first[0], third[0])


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_env_i_of_a_vector_seeded_s_equals_a_single_env_seeded_s_plus_i(env_id):
    envs = gym.make_vec(env_id, num_envs=3, autoreset_mode="same_step")
    single = gym.make(env_id)
    envs.action_space.seed(1)
    actions = np.stack([envs.action_space.sample() for _ in range(30)])
    obs, _ = envs.reset(seed=20)
    single_obs, _ = single.reset(seed=22)
    np.testing.assert_array_equal(obs[2], single_obs)
    for a in actions:
        obs, reward, terminated, truncated, info = envs.step(a)
        single_obs, single_reward, single_term, single_trunc, _ = single.step(a[2])
        assert (reward[2], terminated[2], truncated[2]) == (single_reward, single_term, single_trunc)
        if terminated[2] or truncated[2]:
            np.testing.assert_array_equal(info["final_obs"][2], single_obs)
            break
        np.testing.assert_array_equal(obs[2], single_obs)


def test_reset_without_seed_continues_the_stream():
    env = gym.make("rewardgym/CartPole-v0")
    first, _ = env.reset(seed=0)
    second, _ = env.reset()
    assert not np.array_equal(first, second)
    again, _ = env.reset(seed=0)
    np.testing.assert_array_equal(first, again)


# check_env's advice (unbounded velocities, an asymmetric torque range, a wrapped env given on
# purpose) concerns gymnasium's own spaces, which these envs reproduce; its checks are errors.
@pytest.mark.filterwarnings("ignore::UserWarning:gymnasium.utils.env_checker")
@pytest.mark.parametrize("env_id", ALL_IDS)
def test_single_envs_pass_gymnasiums_checker(env_id):
    env = gym.make(env_id, disable_env_checker=True)
    check_env(env.unwrapped, skip_render_check=True)
    check_env(gym.make(env_id, reward="scale(factor=2)", disable_env_checker=True), skip_render_check=True)


def test_single_env_refuses_a_step_after_the_episode_ended():
    from rewardgym.envs.batched import BatchedEnv
    from rewardgym.envs.control import CARTPOLE

    env = BatchedEnv(CARTPOLE, max_episode_steps=1)
    env.reset(seed=0)
    assert env.step(0)[3] is True
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)


@pytest.mark.parametrize(
    "actions, error, message",
    [
        (np.zeros(3, np.int64), ValueError, r"actions must have shape \(4,\)"),
        (np.zeros((4, 1), np.int64), ValueError, r"actions must have shape \(4,\)"),
        (np.zeros(4, np.float32), TypeError, "must be integers, got dtype float32"),
        (np.array([0, 1, 2, 0]), ValueError, "action 2 of env 2 is outside Discrete\\(2\\)"),
        (np.array([0, -1, 0, 0]), ValueError, "action -1 of env 1 is outside"),
    ],
)
def test_bad_discrete_actions_are_refused_by_name(actions, error, message):
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=4)
    envs.reset(seed=0)
    with pytest.raises(error, match=message):
        envs.step(actions)


@pytest.mark.parametrize(
    "convert",
    [list, lambda a: a.astype(np.int32), lambda a: a.astype(np.uint8), lambda a: np.repeat(a, 2)[::2]],
    ids=["list", "int32", "uint8", "strided"],
)
def test_actions_in_any_integer_form_step_as_a_contiguous_int64_batch(convert):
    # int64 contiguous batches skip the conversions (the fast path); every other form converts.
    envs = [gym.make_vec("rewardgym/CartPole-v0", num_envs=4) for _ in range(2)]
    for env in envs:
        env.reset(seed=3)
    for step in range(40):
        actions = np.array([step % 2, 1, 0, step % 3 == 0], np.int64)
        expected, got = envs[0].step(actions), envs[1].step(convert(actions))
        for a, b in zip(expected[:4], got[:4]):
            np.testing.assert_array_equal(a, b)


def test_bad_single_env_actions_are_refused_by_name():
    env = gym.make("rewardgym/CartPole-v0", disable_env_checker=True)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must have shape \(\)"):
        env.step([0, 1])
    with pytest.raises(ValueError, match="outside Discrete"):
        env.step(5)
    with pytest.raises(TypeError, match="must be integers"):
        env.step(0.5)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"num_envs": 0}, ValueError, r"num_envs must be an integer in \[1, "),
        ({"device": "tpu"}, ValueError, "unknown device 'tpu'; valid devices: cpu, cuda"),
        ({"autoreset_mode": "sometimes"}, ValueError, "unknown autoreset_mode 'sometimes'"),
        ({"max_episode_steps": 0}, ValueError, r"max_episode_steps must be an integer in \[1, "),
        ({"params": (1, 2)}, TypeError, "params of CartPole must be a CartPoleParams"),
        ({"gravty": 5.0}, ValueError, "unknown keyword argument 'gravty' for CartPole; valid parameters: gravity"),
        ({"render_mode": "human"}, ValueError, "render_mode 'human' is not supported by CartPole; valid: None"),
        ({"reward": "nosiy(sigma=1)"}, ValueError, "unknown reward regime 'nosiy'"),
    ],
)
def test_bad_construction_is_refused_by_name(kwargs, error, message):
    kwargs = {"num_envs": 2, **kwargs}
    with pytest.raises(error, match=message):
        gym.make_vec("rewardgym/CartPole-v0", **kwargs)


def test_unknown_env_and_reset_options_are_refused():
    with pytest.raises(gym.error.Error, match="CartPol"):
        gym.make("rewardgym/CartPol-v0")
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=2)
    with pytest.raises(ValueError, match="unknown reset option 'low'"):
        envs.reset(options={"low": -0.1})
    with pytest.raises(RuntimeError, match="call reset"):
        gym.make_vec("rewardgym/CartPole-v0", num_envs=2).step(np.zeros(2, np.int64))


def test_custom_physics_parameters_change_the_dynamics():
    from rewardgym.envs.control.cartpole import CartPoleParams

    weak = gym.make_vec("rewardgym/CartPole-v0", num_envs=1, params=CartPoleParams(force_mag=1.0))
    strong = gym.make_vec("rewardgym/CartPole-v0", num_envs=1)
    (a, *_), (b, *_) = [e.reset(seed=0) and e.step(np.ones(1, np.int64)) for e in (weak, strong)]
    assert a[0, 1] < b[0, 1]


def test_single_parameters_may_be_given_by_name():
    from rewardgym.envs.control.cartpole import CartPoleParams

    by_name = gym.make_vec("rewardgym/CartPole-v0", num_envs=1, force_mag=1.0)
    by_record = gym.make_vec("rewardgym/CartPole-v0", num_envs=1, params=CartPoleParams(force_mag=1.0))
    assert by_name.unwrapped.params == by_record.unwrapped.params
    single = gym.make("rewardgym/CartPole-v0", params=CartPoleParams(gravity=1.0), force_mag=2.0)
    assert (single.unwrapped._batch.params.gravity, single.unwrapped._batch.params.force_mag) == (1.0, 2.0)


def test_cuda_without_a_gpu_is_refused_by_name():
    code = "import gymnasium as gym, rewardgym; gym.make_vec('rewardgym/CartPole-v0', num_envs=2, device='cuda')"
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "0"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    if result.returncode == 0:
        pytest.skip("this machine has a usable GPU")
    assert "device='cuda' was requested but" in result.stderr


def test_seeds_may_be_numpy_ints_or_one_per_env():
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=3)
    by_int, _ = envs.reset(seed=5)
    by_numpy, _ = envs.reset(seed=np.int64(5))
    by_list, _ = envs.reset(seed=[5, 6, 7])
    np.testing.assert_array_equal(by_int, by_numpy)
    np.testing.assert_array_equal(by_int, by_list)
    for bad in ([1, 2], -1, [0, -1, 2]):
        with pytest.raises(ValueError, match=r"seed must be an int (in \[0, \d+\] for 3 envs|or 3 ints, all in)"):
            envs.reset(seed=bad)


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: gym.make("rewardgym/CartPole-v0").reset(seed=2**64),
            r"seed must be an int in \[0, 9223372036854775807\]",
        ),
        (
            lambda: gym.make_vec("rewardgym/CartPole-v0", num_envs=2).reset(seed=2**63 - 1),
            r"in \[0, 9223372036854775806\] for 2 envs",
        ),
        (
            lambda: gym.make_vec("rewardgym/CartPole-v0", num_envs=2).reset(seed=[2**64, 1]),
            r"all in \[0, 2\*\*63 - 1\]",
        ),
        (
            lambda: gym.make_vec("rewardgym/CartPole-v0", num_envs=2, max_episode_steps=2**63),
            r"max_episode_steps must be an integer in \[1, 9223372036854775807\]",
        ),
        (
            lambda: gym.make_vec("rewardgym/CartPole-v0", num_envs=2**62),
            r"num_envs must be an integer in \[1, 2147483647\]",
        ),
    ],
)
def test_integers_out_of_range_are_refused_with_the_valid_range(make, message):
    # These reached numpy or C ("Python int too large to convert to C long", "array is too big").
    with pytest.raises(ValueError, match=message):
        make()
