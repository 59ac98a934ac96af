"""EPIC: invariant to potential shaping and positive scale, 1 for opposite rewards, in (0, 1) for
unrelated ones, symmetric, seeded; the canonical form follows its formula; bad input is refused.

Sizes are small and ``batch_size`` stays below the engine's parallel threshold, so every test
runs the serial kernel that one compilation per task serves (Pendulum for most, CartPole for a
few).
"""

import math

import numpy as np
import pytest
import rewardgym
from rewardgym.envs.batched import BatchedVectorEnv
from rewardgym.envs.registration import TASKS
from rewardgym.epic import (
    TransitionSamples,
    canonicalize,
    epic_distance,
    evaluate_reward,
    sample_transitions,
)
from rewardgym.wrappers.shaped import PotentialShaping

PENDULUM = "rewardgym/Pendulum-v0"
CARTPOLE = "rewardgym/CartPole-v0"
GAMMA = 0.9
SIZES = dict(n_mean_samples=64, batch_size=500)


@pytest.fixture(scope="module")
def pendulum():
    return sample_transitions(PENDULUM, 1024, seed=0)


def epic(a, b, samples, **kwargs):
    return epic_distance(a, b, samples, **{"gamma": GAMMA, **SIZES, **kwargs})


def swing(batch):
    """A reward of a user's own: speed up while low, hold still while high (Pendulum)."""
    height, speed = batch.next_obs[:, 0], batch.next_obs[:, 2]
    return np.where(height < 0, np.abs(speed), -np.abs(speed)) + 0.1 * batch.action[:, 0]


def mlp_reward(in_features, seed=1):
    """A learned-looking reward: a fixed random two-layer network of (s, a, s')."""
    rng = np.random.default_rng(seed)
    w1, b1 = rng.normal(size=(in_features, 32)), rng.normal(size=32)
    w2 = rng.normal(size=32)

    def learned(batch):
        action = batch.action.reshape(batch.obs.shape[0], -1).astype(np.float32)
        x = np.concatenate([batch.obs, action, batch.next_obs], axis=1)
        return np.tanh(x @ w1 + b1) @ w2

    return learned


def height_potential(obs):
    """A custom potential: the pendulum's tip height plus a speed term."""
    return 2.0 * obs[:, 0] - 0.05 * obs[:, 2] ** 2


# ---------------------------------------------------------------------------------------------
# The invariances EPIC is for.
# ---------------------------------------------------------------------------------------------


def test_builtin_potential_shaping_is_at_distance_zero(pendulum):
    assert epic("none", f"shaped(gamma={GAMMA})", pendulum) < 1e-5


def test_custom_potential_shaping_of_a_custom_reward_is_at_distance_zero(pendulum):
    shaped_swing = [swing, PotentialShaping(potential=height_potential, gamma=GAMMA, scale=3.0)]
    assert epic(swing, shaped_swing, pendulum) < 1e-5


def test_shaping_with_another_discount_is_not_removed(pendulum):
    # The shaping telescopes only with EPIC's gamma; at another one it leaves a bonus on s'.
    shaped_swing = [swing, PotentialShaping(potential=height_potential, gamma=0.5, scale=3.0)]
    assert epic(swing, shaped_swing, pendulum) > 0.05


def test_positive_scale_and_offset_are_at_distance_zero(pendulum):
    assert epic("none", "scale(factor=2)", pendulum) < 1e-6
    assert epic(swing, [swing, lambda batch: 0.25 * batch.reward + 7.0], pendulum) < 1e-6


def test_opposite_reward_is_at_distance_one(pendulum):
    assert epic("none", "scale(factor=-1)", pendulum) > 1 - 1e-6
    assert epic(swing, [swing, "scale(factor=-3)"], pendulum) > 1 - 1e-6


def test_a_reward_is_at_distance_exactly_zero_from_itself(pendulum):
    assert epic("none", "none", pendulum) == 0.0
    learned = mlp_reward(7)
    assert epic(learned, learned, pendulum) == 0.0


def test_a_regime_and_a_learned_reward_are_between_zero_and_one(pendulum):
    d = epic("shaped(kind='naive', scale=5.0)", mlp_reward(7), pendulum)
    assert 0.1 < d < 0.95


def test_distance_is_symmetric(pendulum):
    learned = mlp_reward(7)
    assert epic("none", learned, pendulum) == pytest.approx(epic(learned, "none", pendulum), abs=1e-12)
    assert epic(swing, "none", pendulum) == pytest.approx(epic("none", swing, pendulum), abs=1e-12)


def test_the_shaping_gap_grows_with_naive_shaping(pendulum):
    # Naive shaping pays for reaching s' and is not removed; the more of it, the farther.
    distances = [epic("none", f"shaped(kind='naive', scale={s})", pendulum) for s in (0.5, 5.0, 50.0)]
    assert 0 < distances[0] < distances[1] < distances[2] < 1


def test_same_seed_same_distance_and_noise_is_seeded():
    kwargs = dict(n_samples=256, n_mean_samples=16, batch_size=256, gamma=GAMMA)
    a = epic_distance("none", "noisy(sigma=2.0)", PENDULUM, seed=3, **kwargs)
    b = epic_distance("none", "noisy(sigma=2.0)", PENDULUM, seed=3, **kwargs)
    c = epic_distance("none", "noisy(sigma=2.0)", PENDULUM, seed=4, **kwargs)
    assert a == b
    assert a != c
    assert 0 < a < 1


def test_given_regimes_are_left_as_they_are(pendulum):
    regime = PotentialShaping(gamma=GAMMA)  # potential=None: chosen when bound to an env
    assert epic("none", regime, pendulum) < 1e-5
    assert regime.training and regime._function is None  # EPIC bound and froze a copy


# ---------------------------------------------------------------------------------------------
# The canonical form and the env's own reward.
# ---------------------------------------------------------------------------------------------


def test_canonical_form_follows_the_formula_for_a_state_reward(pendulum):
    # R(s, a, s') = f(s) gives C = f(s) + gamma f(s') - f(s) - gamma E_D f(S): gamma f(s') plus a
    # constant. Swapping s and s' in the means (a classic slip) would leave f(s) - f(s') instead.
    canonical = canonicalize(lambda batch: batch.obs[:, 2] ** 2, pendulum, gamma=GAMMA, **SIZES)
    residual = canonical - GAMMA * pendulum.next_obs[:, 2].astype(np.float64) ** 2
    assert residual.std() < 1e-5 * np.abs(canonical).max()


def test_canonical_form_is_unchanged_by_shaping_pointwise(pendulum):
    plain = canonicalize("none", pendulum, gamma=GAMMA, **SIZES)
    shaped = canonicalize(f"shaped(gamma={GAMMA}, scale=4.0)", pendulum, gamma=GAMMA, **SIZES)
    assert np.abs(plain - shaped).max() < 1e-4
    assert plain.std() > 1.0  # not trivially equal: the canonical reward varies


def test_env_reward_is_the_task_reward_of_s_and_a(pendulum):
    # Pendulum's own reward, -(angle^2 + 0.1 speed^2 + 0.001 torque^2), read from (s, a).
    angle = np.arctan2(pendulum.obs[:, 1], pendulum.obs[:, 0]).astype(np.float64)
    speed = pendulum.obs[:, 2].astype(np.float64)
    torque = pendulum.action[:, 0].astype(np.float64)
    expected = -(angle**2 + 0.1 * speed**2 + 0.001 * torque**2)
    np.testing.assert_allclose(evaluate_reward("none", pendulum, batch_size=500), expected, atol=1e-4)


def test_sampled_transitions_are_real_steps_of_the_env():
    samples = sample_transitions(CARTPOLE, 300, seed=1)
    assert samples.obs.shape == (300, 4) and samples.action.dtype == np.int64
    env = BatchedVectorEnv(TASKS["CartPole"], 300, autoreset_mode="same_step")
    env.reset(seed=0)
    env.state[...] = samples.obs
    *_, info = env.step(samples.action)
    # final_obs is the real next observation, also where the step ended the episode.
    np.testing.assert_allclose(info["final_obs"], samples.next_obs, atol=1e-6)
    again = sample_transitions(CARTPOLE, 300, seed=1)
    other = sample_transitions(CARTPOLE, 300, seed=2)
    assert all(np.array_equal(x, y) for x, y in zip(samples[:3], again[:3]))
    assert not np.array_equal(samples.obs, other.obs)


def test_works_on_discrete_actions_with_the_env_reward_underneath():
    samples = sample_transitions(CARTPOLE, 512, seed=0)
    centred = lambda batch: batch.reward - np.abs(batch.next_obs[:, 0]) - batch.next_obs[:, 2] ** 2  # noqa: E731
    assert epic(centred, [centred, "shaped"], samples, gamma=0.99) < 1e-5
    assert 0.05 < epic(centred, mlp_reward(9), samples) < 0.95


# ---------------------------------------------------------------------------------------------
# Bad input.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [0.0, -0.5, 1.5, math.nan, "0.9", True])
def test_gamma_outside_zero_one_is_refused(gamma):
    with pytest.raises(ValueError, match=r"gamma must be in \(0, 1\]"):
        epic_distance("none", "shaped", PENDULUM, gamma=gamma)


@pytest.mark.parametrize("n_samples", [1, 0, 2.5, "64"])
def test_too_few_samples_are_refused(n_samples):
    with pytest.raises(ValueError, match="n_samples must be an integer >= 2"):
        epic_distance("none", "shaped", PENDULUM, n_samples=n_samples)


def test_bad_sizes_and_seed_are_refused():
    with pytest.raises(ValueError, match="n_mean_samples must be an integer >= 1, got 0"):
        epic_distance("none", "shaped", PENDULUM, n_mean_samples=0)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        canonicalize("none", PENDULUM, batch_size=-1)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        epic_distance("none", "shaped", PENDULUM, seed=-1)


def test_unknown_env_is_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown env 'CartPole-v1'.*rewardgym/Pendulum-v0"):
        epic_distance("none", "shaped", "CartPole-v1")
    with pytest.raises(TypeError, match="env id .* or TransitionSamples, got int"):
        epic_distance("none", "shaped", 3)


def test_bad_samples_are_refused(pendulum):
    with pytest.raises(ValueError, match=r"samples.action must have shape \(1024, 1\)"):
        epic_distance("none", "shaped", pendulum._replace(action=pendulum.action[:, 0]))
    with pytest.raises(ValueError, match="n_samples=10 is for an env id"):
        epic_distance("none", "shaped", pendulum, n_samples=10)
    one = TransitionSamples(pendulum.obs[:1], pendulum.action[:1], pendulum.next_obs[:1], PENDULUM)
    with pytest.raises(ValueError, match="at least 2 transitions, got 1"):
        epic_distance("none", "shaped", one)


def test_a_constant_reward_is_refused_rather_than_given_a_nan():
    # CartPole's own reward is +1 on every step: every policy is optimal, correlation undefined.
    with pytest.raises(ValueError, match="reward_a='none' is constant on rewardgym/CartPole-v0"):
        epic_distance("none", "shaped", CARTPOLE, n_samples=64, n_mean_samples=8, batch_size=500)
    # A potential shaping of a constant is constant after canonicalization, up to round-off.
    with pytest.raises(ValueError, match="reward_b=.* is constant"):
        epic_distance(
            swing,
            ["scale(factor=0)", "shaped(gamma=0.9)"],
            PENDULUM,
            gamma=0.9,
            n_samples=64,
            n_mean_samples=8,
            batch_size=500,
        )


def test_unknown_regime_in_a_spec_is_refused(pendulum):
    with pytest.raises(ValueError, match="shapedd"):
        epic("none", "shapedd", pendulum)


def test_a_nan_reward_is_refused(pendulum):
    with pytest.raises(rewardgym.core.NonFiniteRewardError, match="produced NaN"):
        epic("none", lambda batch: np.full(batch.obs.shape[0], np.nan), pendulum)
