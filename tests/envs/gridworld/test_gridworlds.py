"""What every gridworld shares: the checkers, pixels, levels, scripted policies showing the hack,
and every regime family on top."""

import gymnasium as gym
import numpy as np
import pytest
from rewardgym.agents.evaluation import evaluate
from rewardgym.agents.gridworld import GRIDWORLD_POLICIES, gridworld_policy
from rewardgym.core.checks import check_vector_env
from rewardgym.envs import ENVS
from rewardgym.envs.gridworld.grid import CELL_PIXELS, PALETTE, WALL, parse_level
from rewardgym.envs.registration import TASKS

GRIDWORLD_IDS = sorted(i for i, e in ENVS.items() if e.modality == "gridworld")


def test_every_gridworld_states_its_proxy_gold_and_hack_and_has_both_policies():
    assert len(GRIDWORLD_IDS) >= 1
    for env_id in GRIDWORLD_IDS:
        info = ENVS[env_id]
        assert info.proxy and info.gold and info.hack, env_id
        assert set(GRIDWORLD_POLICIES[env_id.split("/")[1][:-3]]) == {"oracle", "hacker"}


@pytest.mark.parametrize("env_id", GRIDWORLD_IDS)
def test_the_scripted_hacker_is_paid_more_than_the_oracle_and_achieves_less(env_id):
    envs = gym.make_vec(env_id, num_envs=16, reward="none")
    oracle = evaluate(gridworld_policy("oracle", envs).predict, envs)
    hacker = evaluate(gridworld_policy("hacker", envs).predict, envs)
    assert hacker["proxy"].mean() > oracle["proxy"].mean()
    assert hacker["gold"].mean() < oracle["gold"].mean()


@pytest.mark.parametrize("env_id", GRIDWORLD_IDS)
def test_gridworlds_pass_the_vector_env_checker(env_id):
    for mode in ("next_step", "same_step"):
        check_vector_env(gym.make_vec(env_id, num_envs=4, autoreset_mode=mode), steps=250)


@pytest.mark.parametrize("env_id", GRIDWORLD_IDS)
def test_frames_paint_the_observed_grid_in_batch(env_id):
    envs = gym.make_vec(env_id, num_envs=3, render_mode="rgb_array")
    obs, _ = envs.reset(seed=0)
    obs, *_ = envs.step(envs.action_space.sample())
    frames = envs.render()
    rows, cols = envs.single_observation_space.shape
    assert isinstance(frames, tuple) and len(frames) == 3
    for grid, frame in zip(obs, frames):
        assert frame.shape == (rows * CELL_PIXELS, cols * CELL_PIXELS, 3) and frame.dtype == np.uint8
        # The top-left pixel of each cell has its code's colour.
        np.testing.assert_array_equal(frame[::CELL_PIXELS, ::CELL_PIXELS], PALETTE[grid])
    single = gym.make(env_id, render_mode="rgb_array")
    single.reset(seed=0)
    assert single.render().shape == frames[0].shape
    unrendered = gym.make(env_id)
    unrendered.reset(seed=0)
    assert unrendered.render() is None


def test_frames_reach_gymnasiums_render_wrappers():
    env = gym.wrappers.RenderCollection(gym.make("rewardgym/BoatRace-v0", render_mode="rgb_array"))
    env.reset(seed=0)
    env.step(3)
    assert len(env.render()) == 2  # the reset's frame and the step's
    envs = gym.make_vec("rewardgym/BoatRace-v0", num_envs=2, render_mode="rgb_array")
    assert envs.metadata["render_modes"] == ["rgb_array"] and envs.metadata["render_fps"] > 0


@pytest.mark.parametrize("env_id", GRIDWORLD_IDS)
@pytest.mark.parametrize(
    "reward",
    [
        "shaped",
        "noisy",
        "adversarial",
        "intrinsic",
        "learned(kind='online', segment_length=10, query_every=40, queries=8)",
    ],
)
def test_every_regime_family_runs_on_gridworlds_and_leaves_gold_alone(env_id, reward):
    plain = gym.make_vec(env_id, num_envs=4, reward="none")
    wrapped = gym.make_vec(env_id, num_envs=4, reward=reward)
    plain.reset(seed=1)
    wrapped.reset(seed=1)
    rng = np.random.default_rng(0)
    for _ in range(120):
        actions = rng.integers(0, 4, 4)
        *_, info_plain = plain.step(actions)
        _, reward_wrapped, *_, info_wrapped = wrapped.step(actions)
        assert np.isfinite(reward_wrapped).all()
        np.testing.assert_array_equal(info_plain["gold_reward"], info_wrapped["gold_reward"])


def test_unknown_levels_and_policies_for_other_envs_are_refused_by_name():
    for env_id in GRIDWORLD_IDS:
        with pytest.raises(ValueError, match=r"unknown level 9 of \w+; valid levels: 0(, \d+)*$"):
            gym.make(env_id, level=9)
    with pytest.raises(ValueError, match="'oracle' scripted policy exists for the gridworlds only"):
        gridworld_policy("oracle", "rewardgym/CartPole-v0")
    with pytest.raises(ValueError, match="unknown scripted gridworld role 'cheater'"):
        gridworld_policy("cheater", GRIDWORLD_IDS[0])


@pytest.mark.parametrize(
    "text, message",
    [
        ("####\n#A #\n###", "level rows must all have one length"),
        ("####\n#A?#\n####", "level row 1 has the unknown character '?'"),
        ("####\n#  #\n####", "a level needs exactly one agent 'A', got 0"),
        ("####\n#A  \n####", "a level must be walled all round"),
    ],
)
def test_malformed_levels_are_refused_by_name(text, message):
    with pytest.raises(ValueError, match=message):
        parse_level(text, {})


def test_levels_parse_to_floor_objects_and_start():
    level = parse_level("####\n#A #\n####", {})
    assert level.agent == (1, 1) and level.shape == (3, 4)
    assert (level.floor[0] == WALL).all() and not level.objects.any()
    assert TASKS["BoatRace"].observation_space.shape == (7, 7)
