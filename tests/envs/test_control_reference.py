"""The control tasks against gymnasium's own classic-control envs, step for step.

Each rewardgym task is started from the reference env's start state (copied into ``state``) and
both are driven by the same actions; observations, rewards, ``terminated`` and ``truncated`` must
agree at every step, the time-limit step included. The ways of driving each task are chosen so
that every task ends both ways it can (Pendulum only truncates) and reaches its clips (walls,
speed limits), where exactness is easiest to lose.

Tolerances, and why they are needed at all:

- none for CartPole, MountainCar, MountainCarContinuous and Pendulum states with
  ``exact_math=True`` (libm's sin and cos): they come out bit-identical to gymnasium's, which
  :func:`test_states_per_step_exact_with_libm_and_within_1e9_with_the_fast_math` asserts (on a
  machine whose NumPy sin/cos of a float differ from libm's, gymnasium's CartPole would differ);
- 1e-9 per step for states under the default fast math (:mod:`rewardgym.core.fast_math`), from
  the same state;
- rewards are compared to float32 precision, because the engine hands rewards out of a float32
  buffer while gymnasium returns Python floats;
- Acrobot states drift apart by float64 ulps: gymnasium squares with ``**`` (libm's ``pow``, off
  by an ulp now and then) where numba multiplies, and Acrobot's dynamics are chaotic enough to grow
  that to ~1e-12 over 500 steps, still below float32 observations' resolution;
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the envs)
from rewardgym.envs import ENVS
from rewardgym.envs.control import CONTROL_TASKS

OBS_TOL = {"rtol": 1e-5, "atol": 1e-6}
REWARD_TOL = {"rtol": 1e-6, "atol": 1e-6}  # float32 rewards (see the module docstring)

REFERENCES = {
    "CartPole": "CartPole-v1",
    "MountainCar": "MountainCar-v0",
    "MountainCarContinuous": "MountainCarContinuous-v0",
    "Pendulum": "Pendulum-v1",
    "Acrobot": "Acrobot-v1",
}


def _random(obs, rng, space):
    if isinstance(space, gym.spaces.Discrete):
        return int(rng.integers(space.n))
    return rng.uniform(space.low, space.high).astype(np.float32)


def _epsilon(policy, epsilon=0.1):
    """``policy`` with a random action now and then, so that episodes differ."""

    def act(obs, rng, space):
        return _random(obs, rng, space) if rng.random() < epsilon else policy(obs, rng, space)

    return act


def _throttle(value):
    return np.array([value], dtype=np.float32)


@dataclass(frozen=True)
class Drive:
    """A way to drive a task: ``policy(obs, rng, space) -> action``, how its episodes end, and
    optionally a check on the state that must hold at some step (a clip being reached)."""

    policy: Callable[..., Any]
    ends: str  # "terminated" or "truncated", in every episode
    clip: Callable[[np.ndarray], bool] | None = None


DRIVES = {
    "CartPole": {
        "random": Drive(_random, "terminated"),
        # A linear balancer that keeps the pole up for the whole time limit.
        "balance": Drive(_epsilon(lambda o, r, s: int(o[2] + 0.3 * o[3] + 0.01 * o[0] + 0.1 * o[1] > 0)), "truncated"),
    },
    "MountainCar": {
        "random": Drive(_random, "truncated"),
        # Pushing along the velocity pumps energy; the swings hit the inelastic left wall.
        "pump": Drive(lambda o, r, s: 2 if o[1] >= 0 else 0, "terminated", clip=lambda x: x[0] == -1.2),
    },
    "MountainCarContinuous": {
        "random": Drive(_random, "truncated"),
        "pump": Drive(
            lambda o, r, s: _throttle((1.0 if o[1] >= 0 else -1.0) * r.uniform(0.5, 1.0)),
            "terminated",
            clip=lambda x: x[0] == np.float32(-1.2),
        ),
    },
    "Pendulum": {
        "random": Drive(_random, "truncated"),
        # Bang-bang torque along the motion spins the pendulum up to its speed limit.
        "spin": Drive(
            lambda o, r, s: _throttle(2.0 if o[2] >= 0 else -2.0), "truncated", clip=lambda x: abs(x[1]) == 8.0
        ),
    },
    "Acrobot": {
        "random": Drive(_random, "truncated"),
        # Torque along the second link's motion pumps energy until the tip is above the line.
        "pump": Drive(_epsilon(lambda o, r, s: 2 if o[5] > 0 else 0), "terminated"),
    },
}

CASES = [(name, drive) for name in REFERENCES for drive in DRIVES[name]]
EPISODES = 3


def _make_pair(name):
    return gym.make(REFERENCES[name]), gym.make(f"rewardgym/{name}-v0")


def test_control_tasks_are_registered_in_order_with_gymnasiums_spaces_and_limits():
    assert [task.name for task in CONTROL_TASKS] == list(REFERENCES)
    for task in CONTROL_TASKS:
        reference = gym.make(REFERENCES[task.name])
        assert task.reference == REFERENCES[task.name]
        assert task.observation_space == reference.observation_space
        assert task.observation_space.dtype == np.float32
        assert task.action_space == reference.action_space
        assert task.max_episode_steps == reference.spec.max_episode_steps
        info = ENVS[f"rewardgym/{task.name}-v0"]
        assert info.reference == task.reference and info.gold


@pytest.mark.parametrize(("name", "drive_name"), CASES)
def test_single_env_follows_the_reference_step_for_step(name, drive_name):
    theirs, ours = _make_pair(name)
    drive = DRIVES[name][drive_name]
    rng = np.random.default_rng(123)
    limit = theirs.spec.max_episode_steps
    clipped = False
    for episode in range(EPISODES):
        theirs_obs, _ = theirs.reset(seed=episode)
        ours.reset(seed=10_000 + episode)  # a different start, overwritten here:
        ours.unwrapped.state[:] = theirs.unwrapped.state
        steps, done = 0, False
        while not done:
            action = drive.policy(theirs_obs, rng, theirs.action_space)
            theirs_obs, ref_reward, ref_terminated, ref_truncated, _ = theirs.step(action)
            obs, reward, terminated, truncated, info = ours.step(action)
            steps += 1
            where = f"{name} {drive_name} episode {episode} step {steps}"
            assert obs.dtype == np.float32, where
            np.testing.assert_allclose(obs, theirs_obs, **OBS_TOL, err_msg=where)
            np.testing.assert_allclose(reward, ref_reward, **REWARD_TOL, err_msg=where)
            assert isinstance(reward, float) and info["gold_reward"] == reward, where
            assert (terminated, truncated) == (ref_terminated, ref_truncated), where
            clipped = clipped or (drive.clip is not None and drive.clip(ours.unwrapped.state))
            done = ref_terminated or ref_truncated
        where = f"{name} {drive_name} episode {episode}"
        if drive.ends == "truncated":
            assert truncated and not terminated and steps == limit, where
        else:
            assert terminated and not truncated and steps < limit, where
        with pytest.raises(RuntimeError, match="episode has ended"):
            ours.step(action)
    assert drive.clip is None or clipped, f"{name} {drive_name} never reached the clip it is meant to test"


@pytest.mark.parametrize(("name", "drive_name"), CASES)
def test_states_per_step_exact_with_libm_and_within_1e9_with_the_fast_math(name, drive_name):
    theirs = gym.make(REFERENCES[name])
    exact = gym.make(f"rewardgym/{name}-v0", exact_math=True)
    fast = gym.make(f"rewardgym/{name}-v0")
    drive = DRIVES[name][drive_name]
    rng = np.random.default_rng(5)
    worst = 0.0
    for episode in range(2):
        theirs_obs, _ = theirs.reset(seed=episode)
        for ours in (exact, fast):
            ours.reset(seed=episode)
        exact.unwrapped.state[:] = theirs.unwrapped.state
        done, step = False, 0
        while not done:
            fast.unwrapped.state[:] = theirs.unwrapped.state  # one step from the same state
            action = drive.policy(theirs_obs, rng, theirs.action_space)
            theirs_obs, _, terminated, truncated, _ = theirs.step(action)
            exact.step(action)
            fast.step(action)
            step += 1
            state = np.asarray(theirs.unwrapped.state, dtype=np.float64)
            if name != "Acrobot":  # gymnasium's ** (see the module docstring)
                np.testing.assert_array_equal(exact.unwrapped.state, state, err_msg=f"{name} step {step}")
            worst = max(worst, float(np.abs(fast.unwrapped.state - state).max()))
            done = terminated or truncated
    assert worst <= 1e-9, f"{name}: the fast step is {worst:.3g} from gymnasium's"


@pytest.mark.parametrize(("name", "drive_name"), CASES)
def test_vector_env_follows_reference_envs_until_the_first_ends(name, drive_name):
    num_envs = 4
    references = [gym.make(REFERENCES[name]) for _ in range(num_envs)]
    ours = gym.make_vec(f"rewardgym/{name}-v0", num_envs=num_envs)
    policy = DRIVES[name][drive_name].policy
    space = references[0].action_space
    rng = np.random.default_rng(7)
    for seed in (0, 100):
        ref_obs = [env.reset(seed=seed + i)[0] for i, env in enumerate(references)]
        ours.reset(seed=seed + 50)
        ours.unwrapped.state[:] = np.stack([np.asarray(env.unwrapped.state, dtype=np.float64) for env in references])
        for step in range(1, references[0].spec.max_episode_steps + 1):
            actions = [policy(o, rng, space) for o in ref_obs]
            results = [env.step(a) for env, a in zip(references, actions)]
            ref_obs = [r[0] for r in results]
            obs, reward, terminated, truncated, info = ours.step(np.array(actions))
            where = f"{name} {drive_name} seed {seed} step {step}"
            np.testing.assert_allclose(obs, np.array(ref_obs), **OBS_TOL, err_msg=where)
            np.testing.assert_allclose(reward, [r[1] for r in results], **REWARD_TOL, err_msg=where)
            np.testing.assert_array_equal(info["gold_reward"], reward, err_msg=where)
            np.testing.assert_array_equal(terminated, [r[2] for r in results], err_msg=where)
            np.testing.assert_array_equal(truncated, [r[3] for r in results], err_msg=where)
            if terminated.any() or truncated.any():
                break
        else:
            pytest.fail(f"{name} {drive_name}: no episode ended within the time limit")


# name -> per state variable (low, high) of gymnasium's documented start distribution.
START_RANGES = {
    "CartPole": [(-0.05, 0.05)] * 4,
    "MountainCar": [(-0.6, -0.4), (0.0, 0.0)],
    "MountainCarContinuous": [(-0.6, -0.4), (0.0, 0.0)],
    "Pendulum": [(-np.pi, np.pi), (-1.0, 1.0)],
    "Acrobot": [(-0.1, 0.1)] * 4,
}


@pytest.mark.parametrize("name", list(REFERENCES))
def test_start_states_fill_gymnasiums_start_ranges(name):
    # 8 resets of 256 envs: 2048 start states from the serial kernel the other tests compiled.
    envs = gym.make_vec(f"rewardgym/{name}-v0", num_envs=256)
    starts, observations = [], []
    for seed in range(0, 8 * 256, 256):
        obs, _ = envs.reset(seed=seed)
        starts.append(np.array(envs.unwrapped.state))
        observations.append(obs)
    starts = np.concatenate(starts)
    assert len(np.unique(starts, axis=0)) == len(starts)  # distinct seeds, distinct starts
    for obs in np.concatenate(observations):
        assert envs.single_observation_space.contains(obs)
    if name == "Acrobot":
        # gymnasium keeps Acrobot's start state in float32, so its bounds round to float32 too.
        np.testing.assert_array_equal(starts, starts.astype(np.float32))
    for j, (low, high) in enumerate(START_RANGES[name]):
        column = starts[:, j]
        if name == "Acrobot":
            low, high = float(np.float32(low)), float(np.float32(high))
        assert low <= column.min() and column.max() <= high, (name, j)
        margin = 0.01 * (high - low)
        assert column.min() <= low + margin and column.max() >= high - margin, (name, j)
        assert abs(column.mean() - (low + high) / 2) <= 0.05 * (high - low) + 1e-12, (name, j)
