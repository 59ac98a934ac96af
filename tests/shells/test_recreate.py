"""Shelled envs under gymnasium's tooling: recreated from their spec, checked by ``check_env``,
reporting their real time limit and their episode returns (issue 19)."""

import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
import rewardgym
from gymnasium.utils.env_checker import check_env
from rewardgym.envs.registration import ENVS

# Each family's default kind, as a spec (learned's default needs a saved model: its online kind).
DEFAULT_KINDS = ["shaped", "noisy", "adversarial", "intrinsic", "learned(kind='online')", "scale"]


def test_default_kinds_cover_every_registered_family():
    # Asked of a fresh interpreter: other tests (and doctests) register regimes of their own.
    code = "import rewardgym; print(' '.join(rewardgym.registered_regimes()))"
    shipped = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert {spec.split("(")[0] for spec in DEFAULT_KINDS} == set(shipped)


def applies(env_id, spec):
    """Whether the regime serves the env at all: the others refuse it when made, by name."""
    family = spec.split("(")[0]
    info = ENVS[env_id]
    if info.modality in ("text", "code") and family in ("shaped", "learned"):
        return False  # no built-in potential; the default reward model reads Box/Discrete only
    if info.modality == "mujoco" and family == "shaped":
        return False  # no built-in potential yet
    if info.modality == "multimodal" and (family in ("shaped", "learned") or "Text" in info.observation_space):
        return False  # no built-in potential or default reward model; intrinsic flattens array keys only
    return not (family == "intrinsic" and info.observation_space.startswith("Text"))


CASES = [
    pytest.param(env_id, spec, id=f"{env_id.split('/')[1]}-{spec or 'plain'}")
    for env_id in sorted(ENVS)
    for spec in [None, *DEFAULT_KINDS]
    if spec is None or applies(env_id, spec)
]


def same_first_steps(a, b, steps=5):
    """Two envs seeded alike give the same observations, proxies and gold for ``steps`` steps."""
    obs_a, _ = a.reset(seed=3)
    obs_b, _ = b.reset(seed=3)
    assert str(obs_a) == str(obs_b)
    a.action_space.seed(3)
    for _ in range(steps):
        action = a.action_space.sample()
        step_a, step_b = a.step(action), b.step(action)
        assert str(step_a[0]) == str(step_b[0])
        assert step_a[1:4] == step_b[1:4]
        assert step_a[4]["gold_reward"] == step_b[4]["gold_reward"]
        if step_a[2] or step_a[3]:
            break


@pytest.mark.parametrize(("env_id", "spec"), CASES)
def test_check_env_passes_and_the_spec_recreates_the_env(env_id, spec):
    env = gym.make(env_id) if spec is None else gym.make(env_id, reward=spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gymnasium's advice on float bounds and the like
        check_env(env, skip_render_check=True)
    twin = gym.make(env.spec)
    assert type(twin.unwrapped) is type(env.unwrapped)
    assert twin.spec.kwargs == env.spec.kwargs
    same_first_steps(env, twin)


def test_a_wrapped_foreign_env_passes_check_env_and_recreates():
    env = rewardgym.wrap(gym.make("CartPole-v1"), "scale(factor=-1)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env, skip_render_check=True)
    twin = gym.make(env.spec)
    assert isinstance(twin, rewardgym.wrappers.RewardShell)
    _ = twin.reset(seed=0)
    _, proxy, _, _, info = twin.step(0)
    assert (proxy, info["reward_trace"]) == (-1.0, {"env": 1.0, "scale": -1.0})


def test_wrapping_after_make_keeps_the_time_limit_and_the_reward_on_recreation():
    env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0", max_episode_steps=7), "noisy(sigma=0.5)")
    assert env.spec.max_episode_steps == 7
    twin = gym.make(env.spec)
    assert twin.spec.max_episode_steps == 7
    same_first_steps(env, twin, steps=10)
    twin.reset(seed=0)
    steps = 0
    truncated = False
    while not truncated:
        *_, truncated, info = twin.step(0 if steps % 2 else 1)
        steps += 1
    assert steps == 7 and "noisy" in info["reward_trace"]


def test_a_function_reward_is_recreated_with_the_same_function():
    def stay_centered(batch):
        return batch.reward - abs(batch.next_obs[:, 0])

    env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), stay_centered)
    same_first_steps(env, gym.make(env.spec))


def test_a_regime_object_is_refused_by_name_when_recreating_not_when_wrapping():
    class Bonus(rewardgym.Regime):
        name = "bonus"

        def reward(self, batch):
            return batch.reward + 1.0

    env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), ["scale(factor=2)", Bonus()])
    env.reset(seed=0)
    assert env.step(0)[1] == 3.0
    with pytest.raises(ValueError, match=r"'bonus'.*cannot be recreated"):
        gym.make(env.spec)


def test_the_spec_reports_the_envs_own_time_limit_and_gymnasium_adds_none():
    for kwargs in ({}, {"reward": "scale(factor=2)"}):
        env = gym.make("rewardgym/CartPole-v0", **kwargs)
        assert env.spec.max_episode_steps == 500
        wrapper = env
        while isinstance(wrapper, gym.Wrapper):
            assert not isinstance(wrapper, gym.wrappers.TimeLimit)
            wrapper = wrapper.env
    assert gym.make("rewardgym/MountainCar-v0").spec.max_episode_steps == 200


def test_a_bare_env_reports_episode_returns_like_a_shelled_one():
    for kwargs in ({}, {"reward": "none"}):
        env = gym.make("rewardgym/CartPole-v0", **kwargs)
        env.reset(seed=0)
        done, length = False, 0
        while not done:
            _, _, terminated, truncated, info = env.step(0)
            done, length = terminated or truncated, length + 1
        assert info["episode_returns"] == {"proxy": length, "gold": length, "gap": 0.0, "length": length}

        envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=2, **kwargs)
        envs.reset(seed=0)
        ended = False
        for _ in range(60):
            info = envs.step(np.zeros(2, np.int64))[4]
            ended = ended or "episode_returns" in info
        assert ended


@pytest.mark.parametrize(
    "spec", ["noisy(sigma=0.5)", "noisy(kind='dropout', p=0.5)", "adversarial(rate=0.5)+noisy(sigma=0.1)"]
)
def test_regime_draws_of_vector_env_i_match_a_single_env_seeded_s_plus_i(spec):
    seed, n = 11, 4
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=n, reward=spec)
    envs.reset(seed=seed)
    actions = np.array([0, 1, 0, 1])
    vector = np.array([envs.step(actions)[1] for _ in range(6)])
    for i in range(n):
        env = gym.make("rewardgym/CartPole-v0", reward=spec)
        env.reset(seed=seed + i)
        single = [env.step(int(actions[i]))[1] for _ in range(6)]
        np.testing.assert_array_equal(vector[:, i], np.array(single, np.float32))
    assert len(np.unique(vector[0])) > 1  # the envs' draws differ from one another


def test_a_vector_env_spec_reports_its_limit_and_recreates_with_it():
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=2, max_episode_steps=9, reward="scale(factor=2)")
    assert envs.spec.max_episode_steps == 9
    assert gym.make_vec("rewardgym/MountainCar-v0", num_envs=2).spec.max_episode_steps == 200
    twin = gym.make_vec(envs.spec)
    assert twin.unwrapped.max_episode_steps == 9 and twin.num_envs == 2
    twin.reset(seed=0)
    ends = []
    for t in range(9):
        _, proxy, terminated, truncated, _ = twin.step(np.full(2, t % 2))
        ends.append((terminated | truncated).any())
    assert proxy.tolist() == [2.0, 2.0] and truncated.all() and not any(ends[:-1])
