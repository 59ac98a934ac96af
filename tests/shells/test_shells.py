"""The shells: gold untouched, the trace, real final observations, autoreset steps, resets."""

import gymnasium as gym
import numpy as np
import pytest
import rewardgym
from gymnasium.vector import AutoresetMode
from rewardgym.core.pipeline import NonFiniteRewardError
from rewardgym.core.regime import Regime


class Recorder(Regime):
    """Passes the reward through and keeps every batch and reset it was given."""

    name = "recorder"

    def __init__(self):
        self.batches, self.resets, self.context = [], [], None

    def bind(self, context):
        self.context = context

    def reward(self, batch):
        self.batches.append(batch)
        return batch.reward

    def reset(self, mask=None, *, seed=None):
        self.resets.append((None if mask is None else np.array(mask), seed))


def layer_seed(seed, layer):
    """The seed the pipeline derives for its layer ``layer`` from the env's seed: the seed plus
    a fixed 63-bit offset per layer, so that seeds ``s + i`` give layer seeds ``+ i``."""
    offset = int(np.random.SeedSequence(layer).generate_state(1, np.uint64)[0]) % 2**63
    return (seed + offset) % 2**63


def cartpole_fell(obs):
    """CartPole's termination condition, on observations."""
    return (np.abs(obs[..., 0]) > 2.4) | (np.abs(obs[..., 2]) > 12 * 2 * np.pi / 360)


def test_make_applies_the_spec_and_keeps_gold():
    env = gym.make("rewardgym/CartPole-v0", reward="scale(factor=0)")
    env.reset(seed=0)
    _, proxy, _, _, info = env.step(1)
    assert proxy == 0.0
    assert info["gold_reward"] == 1.0
    assert info["reward_trace"] == {"env": 1.0, "scale": 0.0}


def test_single_shell_hands_regimes_a_batch_of_one():
    recorder = Recorder()
    env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), recorder)
    obs0, _ = env.reset(seed=3)
    assert recorder.context.num_envs == 1 and recorder.context.env_id == "rewardgym/CartPole-v0"
    assert recorder.resets == [(None, layer_seed(3, 0))]
    obs1, *_ = env.step(np.int64(1))
    (b,) = recorder.batches
    assert b.obs.shape == (1, 4) and b.next_obs.shape == (1, 4) and b.action.tolist() == [1]
    np.testing.assert_array_equal(b.obs[0], obs0)
    np.testing.assert_array_equal(b.next_obs[0], obs1)


def test_nested_shells_extend_one_trace():
    env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0", reward="scale(factor=2)"), "scale(factor=3)")
    env.reset(seed=0)
    _, proxy, _, _, info = env.step(0)
    assert proxy == 6.0
    assert info["reward_trace"] == {"env": 1.0, "scale": 2.0, "scale#2": 6.0}
    assert info["gold_reward"] == 1.0


def test_a_nan_reward_is_never_passed_on():
    env = gym.make("rewardgym/CartPole-v0", reward=lambda batch: batch.reward * np.nan)
    env.reset(seed=0)
    with pytest.raises(NonFiniteRewardError, match="'custom' produced NaN"):
        env.step(0)


def test_foreign_envs_get_their_own_reward_as_gold():
    env = rewardgym.wrap(gym.make("CartPole-v1"), "scale(factor=-1)")
    env.reset(seed=0)
    _, proxy, _, _, info = env.step(0)
    assert (proxy, info["gold_reward"], info["reward_trace"]) == (-1.0, 1.0, {"env": 1.0, "scale": -1.0})
    envs = rewardgym.wrap(gym.make_vec("CartPole-v1", num_envs=3, vectorization_mode="sync"), "scale(factor=2)")
    envs.reset(seed=0)
    _, proxy, _, _, info = envs.step(np.array([0, 1, 0]))
    np.testing.assert_array_equal(proxy, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(info["gold_reward"], [1.0, 1.0, 1.0])


def test_wrap_refuses_what_it_cannot_shell():
    with pytest.raises(TypeError, match="gymnasium.Env, a gymnasium.vector.VectorEnv or a stable-baselines3 VecEnv"):
        rewardgym.wrap(object(), "scale")


def run_vector(mode, steps=120, num_envs=6, vectorization_mode=None):
    recorder = Recorder()
    kwargs = {"autoreset_mode": mode}
    if vectorization_mode == "sync":
        base = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="sync", vector_kwargs=kwargs)
    else:
        base = gym.make_vec("rewardgym/CartPole-v0", num_envs=num_envs, **kwargs)
    envs = rewardgym.wrap(base, recorder)
    envs.reset(seed=1)
    rng = np.random.default_rng(0)
    outputs = []
    for _ in range(steps):
        outputs.append(envs.step(rng.integers(0, 2, num_envs)))
    return recorder, outputs


@pytest.mark.parametrize("source", ["rewardgym", "sync"])
def test_next_step_mode_marks_autoreset_steps_invalid_and_gives_real_final_obs(source):
    recorder, outputs = run_vector(AutoresetMode.NEXT_STEP, vectorization_mode=source)
    ended_any = False
    for t, (batch, (_obs, _, terminated, truncated, _)) in enumerate(zip(recorder.batches, outputs)):
        done = terminated | truncated
        assert np.all(cartpole_fell(batch.next_obs[terminated]))
        if t > 0:
            prev_done = outputs[t - 1][2] | outputs[t - 1][3]
            np.testing.assert_array_equal(batch.valid, ~prev_done)
            ended_any |= prev_done.any()
        np.testing.assert_array_equal(recorder.resets[t + 1][0], done)
    assert ended_any


@pytest.mark.parametrize("source", ["rewardgym", "sync"])
def test_same_step_mode_hands_regimes_the_final_obs_not_the_reset_obs(source):
    recorder, outputs = run_vector(AutoresetMode.SAME_STEP, vectorization_mode=source)
    ended = 0
    for batch, (obs, _, terminated, _truncated, _info) in zip(recorder.batches, outputs):
        assert batch.valid.all()
        assert np.all(cartpole_fell(batch.next_obs[terminated]))
        assert not np.any(cartpole_fell(obs[terminated]))  # the returned obs already restarted
        ended += terminated.sum()
    assert ended > 0


def test_vector_shell_reset_passes_seed_and_mask():
    recorder = Recorder()
    envs = rewardgym.wrap(gym.make_vec("rewardgym/CartPole-v0", num_envs=3, autoreset_mode="disabled"), recorder)
    envs.reset(seed=5)
    mask = np.array([True, False, True])
    envs.reset(options={"reset_mask": mask})
    assert recorder.resets[0] == (None, layer_seed(5, 0))
    np.testing.assert_array_equal(recorder.resets[1][0], mask)


def test_make_vec_with_reward_applies_it_batched():
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=4, reward="scale(factor=0.5)")
    envs.reset(seed=0)
    _, proxy, _, _, info = envs.step(np.zeros(4, np.int64))
    np.testing.assert_array_equal(proxy, [0.5] * 4)
    np.testing.assert_array_equal(info["gold_reward"], [1.0] * 4)
    assert list(info["reward_trace"]) == ["env", "scale"]


class Spender(Regime):
    name = "spender"

    def reward(self, batch):
        self.spent = batch.reward * 0.25
        return batch.reward

    def info(self):
        return {"spent": self.spent}


def test_regime_reports_reach_info_on_single_and_vector_envs():
    env = gym.make("rewardgym/CartPole-v0", reward=Spender())
    env.reset(seed=0)
    assert env.step(0)[4]["regime_info"] == {"spender": {"spent": 0.25}}
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=2, reward=[Spender(), "scale"])
    envs.reset(seed=0)
    info = envs.step(np.zeros(2, np.int64))[4]
    assert list(info["regime_info"]) == ["spender"]
    np.testing.assert_array_equal(info["regime_info"]["spender"]["spent"], [0.25, 0.25])


def test_regimes_made_by_id_know_their_env():
    recorder = Recorder()
    gym.make_vec("rewardgym/Pendulum-v0", num_envs=2, reward=recorder)
    assert recorder.context.env_id == "rewardgym/Pendulum-v0" and recorder.context.num_envs == 2


class GoldWithoutMask(gym.vector.VectorEnv):
    """A foreign vector env that reports gold but not gymnasium's ``_gold_reward`` mask."""

    def __init__(self, num_envs=2):
        self.num_envs = num_envs
        self.single_observation_space = gym.spaces.Box(-1, 1, (1,), np.float32)
        self.single_action_space = gym.spaces.Discrete(2)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, num_envs)

    def reset(self, *, seed=None, options=None):
        return np.zeros((self.num_envs, 1), np.float32), {}

    def step(self, actions):
        reward = np.ones(self.num_envs, np.float32)
        done = np.zeros(self.num_envs, bool)
        return np.zeros((self.num_envs, 1), np.float32), reward, done, done, {"gold_reward": reward * 3}


def test_a_foreign_env_with_gold_but_no_mask_gets_one():
    envs = rewardgym.wrap(GoldWithoutMask(), "scale(factor=2)")
    envs.reset(seed=0)
    _, proxy, _, _, info = envs.step(np.zeros(2, np.int64))
    np.testing.assert_array_equal(info["gold_reward"], [3.0, 3.0])
    assert info["_gold_reward"].all() and info["_reward_trace"].all()
    np.testing.assert_array_equal(proxy, [2.0, 2.0])


@pytest.mark.parametrize("spec", [None, "scale", ["scale", "noisy(kind='dropout', p=1.0)"]])
def test_a_foreign_envs_nan_is_blamed_on_the_env_whatever_the_layers(spec):
    class NanReward(gym.Wrapper):
        def step(self, action):
            obs, _, terminated, truncated, info = self.env.step(action)
            return obs, float("nan"), terminated, truncated, info

    env = rewardgym.wrap(NanReward(gym.make("CartPole-v1")), spec)
    env.reset(seed=0)
    with pytest.raises(NonFiniteRewardError, match="the env's own reward 'env' produced NaN"):
        env.step(0)


def test_final_text_observations_are_not_cut_to_the_new_ones_width():
    # gymnasium's vector envs keep final observations per env in an object array; a completion
    # env's prompts are strings of any length.
    from rewardgym.shells.vector_shell import _dense_final_obs

    final = np.empty(2, dtype=object)
    final[0] = "a much longer question?"
    dense = _dense_final_obs(("new", "next"), final, np.array([True, False]))
    assert list(dense) == ["a much longer question?", "next"]
    per_key = np.empty(2, dtype=object)
    per_key[1] = {"question": "the longest question of all?", "image": np.ones(3)}
    dense = _dense_final_obs({"question": ("q0", "q1"), "image": np.zeros((2, 3))}, per_key, np.array([False, True]))
    assert list(dense["question"]) == ["q0", "the longest question of all?"]
    np.testing.assert_array_equal(dense["image"], [[0, 0, 0], [1, 1, 1]])
