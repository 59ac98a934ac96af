"""``Regime.frozen_copy`` for every family: the regime as it stands, learning no more, sharing
nothing with the original, on numpy batches whatever device it trained on."""

import pickle

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the envs and every family)
import torch
from rewardgym.agents.evaluation import evaluate, load_frozen_regimes, make_eval_envs, shell_regimes
from rewardgym.core.transition import Transition
from rewardgym.envs.batched.device import cuda_simulated
from rewardgym.wrappers.adversarial import adversarial
from rewardgym.wrappers.intrinsic import Count
from rewardgym.wrappers.learned import OnlinePreferenceReward
from rewardgym.wrappers.noisy import Persistent

ENV = "rewardgym/CartPole-v0"
ONLINE = "learned(kind='online', query_every=10, segment_length=5, queries=20, hidden=(8,), seed=0)"
SPECS = [
    "shaped",
    "shaped(kind='naive')",
    "shaped(kind='delta_cap')",
    "noisy(sigma=0.5)",
    "noisy(kind='persistent', sigma=1.0)",
    "noisy(kind='delay', k=2)",
    "noisy(kind='flip', low=0.0, high=1.0, e_plus=0.2, e_minus=0.1, correct=True, estimate=True, warmup=20, "
    "estimate_every=5)",
    "adversarial(delta_max=0.5)",
    "adversarial(kind='targeted', target=0)",
    "intrinsic(kind='count')",
    "intrinsic(kind='rnd', train_every=8)",
    "intrinsic(kind='icm', train_every=8)",
    "intrinsic(kind='e3b', variant='product', train_every=8)",
    ONLINE,
    "shaped(kind='weighted_sum', terms=['intrinsic(kind=\\'rnd\\', train_every=8)', 'shaped'])",
    "scale(factor=2)+intrinsic(kind='count')",
]
# Kinds whose reward has no per-step random draw and keeps no per-episode memory: a copy pays
# exactly what the original does on any batch.
DETERMINISTIC = [
    "intrinsic(kind='count', seed=0)",
    "intrinsic(kind='rnd', train_every=8, seed=0)",
    "intrinsic(kind='icm', train_every=8, seed=0)",
    "intrinsic(kind='e3b', variant='global', train_every=8, seed=0)",
    ONLINE,
    "noisy(kind='persistent', sigma=1.0)",
]


def trained(spec, device="cpu", steps=40, num_envs=4):
    """A vector env under ``spec`` after ``steps`` steps of seeded random actions."""
    envs = gym.make_vec(ENV, num_envs=num_envs, reward=spec, device=device)
    envs.reset(seed=0)
    envs.action_space.seed(0)
    run(envs, steps)
    return envs


def run(envs, steps):
    for _ in range(steps):
        actions = envs.action_space.sample()
        envs.step(torch.as_tensor(actions) if envs.unwrapped.device == "cuda" else actions)


def batch(n=5, seed=1):
    rng = np.random.default_rng(seed)
    obs = rng.normal(0, 0.5, (n, 4)).astype(np.float32)
    next_obs = (obs + rng.normal(0, 0.1, (n, 4))).astype(np.float32)
    return Transition(
        obs, rng.integers(0, 2, n), next_obs, np.ones(n, np.float32), np.zeros(n, bool), np.zeros(n, bool),
        np.ones(n, bool), gold=np.ones(n, np.float32),
    )  # fmt: skip


def policy(obs):
    return (obs[:, 2] > 0).astype(np.int64)


@pytest.mark.parametrize("spec", SPECS)
def test_a_frozen_copy_never_learns_and_shares_nothing(spec):
    training = trained(spec)
    envs = make_eval_envs(ENV, spec, num_envs=3)
    copies = load_frozen_regimes(envs, shell_regimes(training))
    for copy in copies:
        assert copy.frozen and not copy.training
        assert copy.update(batch()) == {}
        with pytest.raises(ValueError, match="is a frozen copy"):
            copy.train(True)
        pickle.loads(pickle.dumps(copy))  # a copy travels (to a sweep worker, say)
    before = evaluate(policy, envs)
    run(training, 40)  # the originals go on learning
    after = evaluate(policy, envs)  # the same copies, from the same evaluation seeds
    np.testing.assert_array_equal(after["proxy"], before["proxy"])
    assert all(not regime.frozen for regime in shell_regimes(training))


@pytest.mark.parametrize("spec", DETERMINISTIC)
def test_a_frozen_copy_pays_what_the_original_pays_now(spec):
    [original] = shell_regimes(trained(spec))
    copy = original.frozen_copy()
    b = batch()
    paid = np.asarray(copy.reward(b)).copy()
    np.testing.assert_allclose(paid, original.reward(b), rtol=1e-6)
    copy.reset(None, seed=123)  # a seeded reset keeps what was learned
    np.testing.assert_allclose(copy.reward(b), paid, rtol=1e-6)


def test_a_seeded_reset_restarts_a_fresh_intrinsic_layer_but_not_its_frozen_copy():
    [original] = shell_regimes(trained("intrinsic(kind='count', normalize=False)"))
    copy = original.frozen_copy()
    obs = batch().next_obs
    counted = original.counts(obs)
    copy.reset(None, seed=5)
    np.testing.assert_array_equal(copy.counts(obs), counted)
    original.reset(None, seed=5)  # seed=None: the env's seeded reset restarts the layer
    assert (original.counts(obs) == 0).all()


def test_an_online_copy_keeps_the_model_and_leaves_the_learning_behind():
    training = trained(ONLINE, steps=25)
    [online] = shell_regimes(training)
    copy = online.frozen_copy()
    assert isinstance(copy, OnlinePreferenceReward)
    assert (copy.labels, copy.refreshes, copy.steps) == (online.labels, online.refreshes, online.steps) == (40, 2, 25)
    assert copy.model is not online.model and copy.buffer.rows == 0 and copy.pairs is None
    paid = copy.reward(batch()).copy()
    run(training, 10)  # a third refresh refits the original's model
    assert online.refreshes == 3
    assert not np.allclose(online.reward(batch()), paid)
    np.testing.assert_array_equal(copy.reward(batch()), paid)


def test_a_persistent_noise_copy_keeps_its_table():
    noise = Persistent(sigma=1.0, resolution=0.5)
    noise.reset(seed=0)
    obs = batch().next_obs
    table = noise.noise(obs)
    copy = noise.frozen_copy()
    copy.reset(seed=7)  # an evaluation's seed
    np.testing.assert_array_equal(copy.noise(obs), table)
    noise.reset(seed=7)
    assert not np.array_equal(noise.noise(obs), table)


def test_an_attacker_copy_starts_with_the_whole_budget():
    attack = adversarial(budget=1.0)
    b = batch()
    attack.reward(b)
    assert attack.info()["remaining"].tolist() == [0.0] * 5
    copy = attack.frozen_copy()
    assert copy.reward(b).tolist() == [0.0] * 5  # the reward of 1 flipped: a full budget again
    assert attack.reward(b).tolist() == [1.0] * 5  # the original's books are untouched


def test_nested_regimes_are_frozen_by_their_own_rules():
    [layer] = shell_regimes(trained("shaped(kind='weighted_sum', terms=['intrinsic(kind=\\'count\\')'])"))
    copy = layer.frozen_copy()
    [[term]] = copy.terms
    [[original]] = layer.terms
    assert isinstance(term, Count) and term.frozen and term is not original
    counted = original.counts(batch().next_obs)
    copy.reset(None, seed=3)  # the term's seed is None: a fresh one would restart
    np.testing.assert_array_equal(term.counts(batch().next_obs), counted)


@pytest.mark.skipif(not cuda_simulated(), reason="device='cuda' runs under numba's CUDA simulator")
@pytest.mark.parametrize(
    "spec", ["intrinsic(kind='count', seed=0)", "intrinsic(kind='e3b', variant='product', seed=0)"]
)
def test_a_copy_of_a_layer_trained_on_torch_batches_serves_numpy_batches(spec):
    [on_torch] = shell_regimes(trained(spec, device="cuda"))
    [on_numpy] = shell_regimes(trained(spec, device="cpu"))
    copy = on_torch.frozen_copy()
    b = batch()
    paid = copy.reward(b)
    assert isinstance(paid, np.ndarray)
    # The same seeds gave the same learning on either device.
    np.testing.assert_allclose(paid, on_numpy.frozen_copy().reward(b), rtol=1e-5)
    # And a copy follows a torch batch back.
    torch_batch = Transition(*(torch.as_tensor(x) for x in b[:7]), gold=torch.as_tensor(b.gold))
    np.testing.assert_allclose(copy.reward(torch_batch).numpy(), paid, rtol=1e-5)
