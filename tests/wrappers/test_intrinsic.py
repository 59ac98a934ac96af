"""The ``intrinsic`` family: the count bonus falls with visits, RND's predictor learns, E3B forgets
at each episode's start, a bonus used greedily explores MountainCar, the proxy is explained by the
extrinsic reward, coefficient and bonus, numpy and torch agree, seeds reproduce, and bad input is
refused by name.

Everything is seeded. torch runs on one thread here: the batches are tiny, and on a shared
2-core machine torch's thread pool costs far more than it saves.
"""

import copy

import gymnasium as gym
import numpy as np
import pytest
import rewardgym
import rewardgym.wrappers.intrinsic  # registers "intrinsic" before the package imports it itself
import torch
from rewardgym.core.regime import EnvContext
from rewardgym.core.transition import Transition
from rewardgym.envs.batched.device import cuda_simulated
from rewardgym.wrappers.intrinsic import E3B, ICM, KINDS, RND, Count, intrinsic
from rewardgym.wrappers.intrinsic.base import IntrinsicBonus

# The kinds for vector observations (the family also has text kinds such as "ngram").
VECTOR_KINDS = sorted(kind for kind, cls in KINDS.items() if issubclass(cls, IntrinsicBonus))


CARTPOLE = gym.make("rewardgym/CartPole-v0")


def context(num_envs, env=CARTPOLE):
    return EnvContext(num_envs, env.observation_space, env.action_space)


def batch_of(next_obs, obs=None, action=None, reward=None, valid=None):
    """A hand-made numpy transition batch (the envs' own path is tested with real envs below)."""
    next_obs = np.asarray(next_obs, np.float32)
    n = next_obs.shape[0]
    return Transition(
        obs=next_obs if obs is None else np.asarray(obs, np.float32),
        action=np.zeros(n, np.int64) if action is None else np.asarray(action),
        next_obs=next_obs,
        reward=np.zeros(n, np.float32) if reward is None else np.asarray(reward, np.float32),
        terminated=np.zeros(n, bool),
        truncated=np.zeros(n, bool),
        valid=np.ones(n, bool) if valid is None else np.asarray(valid, bool),
    )


def as_torch(batch):
    """The same batch as torch tensors: what a device="cuda" vector env hands its regimes."""
    return Transition(*(None if x is None else torch.as_tensor(np.asarray(x)) for x in batch))


def bound(regime, num_envs, env=CARTPOLE):
    regime.bind(context(num_envs, env))
    return regime


def step(regime, batch):
    """One shell step: reward, then (while training) update. Returns the reward and the report."""
    reward = regime.reward(batch)
    report = dict(regime.info())
    if regime.training:
        regime.update(batch)
    return reward, report


# ----------------------------------------------------------------------------------------------
# count


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_count_bonus_falls_as_one_over_sqrt_visits(backend):
    convert = as_torch if backend == "torch" else (lambda b: b)
    regime = bound(Count(resolution=0.5, beta=1.0, normalize=False, seed=0), 3)
    # Envs 0 and 1 share a bin, env 2 has its own; env 2's visits are invalid from step 3 on.
    states = [[0.1, 0.1, 0.1, 0.1], [0.2, 0.3, 0.2, 0.4], [3.0, 0.1, 0.1, 0.1]]
    bonuses = []
    for t in range(5):
        valid = [True, True, t < 2]
        _, report = step(regime, convert(batch_of(states, valid=valid)))
        bonuses.append(np.asarray(report["bonus"]))
    shared = 1 / np.sqrt(1 + 2 * np.arange(5))  # two visits per step
    alone = 1 / np.sqrt([1, 2, 3, 3, 3])  # invalid visits are not counted
    np.testing.assert_allclose(np.array(bonuses), np.stack([shared, shared, alone], 1), rtol=1e-6)
    counts = regime.counts(convert(batch_of(states)).next_obs)
    np.testing.assert_array_equal(np.asarray(counts), [10, 10, 2])


def test_count_hashes_bins_with_its_seed():
    states = np.array([[0.01, 0, 0, 0], [0.09, 0, 0, 0], [0.11, 0, 0, 0]], np.float32)
    regime = bound(Count(resolution=0.1, seed=1), 3)
    np.testing.assert_array_equal(regime._slots(states, 3)[:2], regime._slots(states, 3)[[1, 0]])
    assert regime._slots(states, 3)[0] != regime._slots(states, 3)[2]
    other = bound(Count(resolution=0.1, seed=2), 3)
    assert not np.array_equal(regime._slots(states, 3), other._slots(states, 3))


# ----------------------------------------------------------------------------------------------
# rnd and icm: their models learn


def test_rnd_predictor_loss_falls_on_a_fixed_set_of_states():
    states = np.random.default_rng(0).uniform(-1, 1, (256, 4)).astype(np.float32)
    regime = bound(RND(seed=0, train_every=256, normalize=False), 256)
    batch = batch_of(states)
    step(regime, batch)  # the observation statistics are in from here on
    first = np.asarray(regime.reward(batch))
    losses = [regime.update(batch)["loss"]]
    for _ in range(100):
        regime.reward(batch)
        losses.append(regime.update(batch)["loss"])
    last = np.asarray(regime.reward(batch))
    assert losses[-1] < 0.1 * losses[0]
    assert last.mean() < 0.1 * first.mean()  # the bonus is the predictor's error on each state
    # States far from those trained on keep a large bonus.
    novel = batch_of(np.full((256, 4), 4.0, np.float32))
    assert np.asarray(regime.reward(novel)).mean() > 10 * last.mean()


@pytest.mark.parametrize("env_id", ["rewardgym/CartPole-v0", "rewardgym/MountainCarContinuous-v0"])
def test_icm_learns_the_dynamics_for_discrete_and_box_actions(env_id):
    env = gym.make(env_id)
    env.action_space.seed(0)
    n = 128
    rng = np.random.default_rng(0)
    obs = rng.uniform(-0.5, 0.5, (n, env.observation_space.shape[0])).astype(np.float32)
    action = np.stack([env.action_space.sample() for _ in range(n)])
    # Dynamics that the action decides, so that both the inverse and the forward model can learn.
    shift = (np.asarray(action, np.float32).reshape(n, -1)[:, :1] - 0.5) * 0.2
    learned = batch_of(obs + shift, obs=obs, action=action)
    regime = bound(ICM(seed=0, train_every=n, normalize=False), n, env)
    losses = []
    for _ in range(100):
        regime.reward(learned)
        losses.append(regime.update(learned)["loss"])
    assert losses[-1] < 0.05 * losses[0]
    # The bonus is the forward model's surprise: low on the dynamics learned, high against them.
    surprising = batch_of(obs - shift, obs=obs, action=action)
    assert np.asarray(regime.reward(surprising)).mean() > 10 * np.asarray(regime.reward(learned)).mean()


# ----------------------------------------------------------------------------------------------
# e3b


def test_e3b_episodic_bonus_falls_within_an_episode_and_resets_at_its_start():
    regime = bound(E3B(seed=0, normalize=False), 2).train(False)  # no learning: only the episode
    state = [[0.1, 0.2, 0.0, -0.1], [0.3, -0.2, 0.1, 0.0]]
    bonuses = [np.asarray(step(regime, batch_of(state))[1]["bonus"]) for _ in range(3)]
    assert np.all(bonuses[1] < 0.5 * bonuses[0]) and np.all(bonuses[2] < bonuses[1])
    regime.reset(np.array([True, False]))  # env 0 starts a new episode
    again = np.asarray(step(regime, batch_of(state))[1]["bonus"])
    np.testing.assert_allclose(again[0], bonuses[0][0], rtol=1e-5)
    assert again[1] < bonuses[2][1]
    regime.reset()  # every env
    np.testing.assert_allclose(np.asarray(step(regime, batch_of(state))[1]["bonus"]), bonuses[0], rtol=1e-5)


def test_e3b_bonus_resets_at_each_episode_start_in_a_vector_env():
    regime = E3B(seed=0, normalize=False)
    envs = rewardgym.wrap(gym.make_vec("rewardgym/CartPole-v0", num_envs=4, max_episode_steps=9), regime)
    regime.train(False)
    probe = copy.deepcopy(regime)  # the same embedding, with its own episodic memory
    obs, _ = envs.reset(seed=3)
    envs.action_space.seed(3)
    starts, autoreset = np.ones(4, bool), np.zeros(4, bool)
    n_starts = 0
    for _ in range(40):
        action = envs.action_space.sample()
        next_obs, _, terminated, truncated, info = envs.step(action)
        probe.reset()
        probe.reward(batch_of(next_obs, obs=obs, action=action))
        fresh = probe.info()["bonus"]
        bonus = info["regime_info"]["intrinsic"]["bonus"]
        first = starts & ~autoreset  # the first real transition of an episode
        np.testing.assert_allclose(bonus[first], fresh[first], rtol=1e-5)
        later = ~starts & ~autoreset
        assert np.all(bonus[later] < fresh[later])  # the episode so far lowers the bonus
        n_starts += int(first.sum())
        # NEXT_STEP autoreset: the step after an episode's end only resets (no transition).
        starts = np.where(autoreset, True, starts & autoreset)
        autoreset = terminated | truncated
        obs = next_obs
    assert n_starts >= 12  # several episodes began (9 steps at most each)


@pytest.mark.parametrize("variant", ["global", "product"])
def test_e3b_global_bonus_spans_episodes_and_the_product_multiplies(variant):
    regime = bound(E3B(variant=variant, seed=0, normalize=False), 2)
    state = [[0.1, 0.2, 0.0, -0.1], [0.3, -0.2, 0.1, 0.0]]
    first = step(regime, batch_of(state))[1]
    regime.reset()  # new episodes everywhere: the global memory stays
    second = step(regime, batch_of(state))[1]
    if variant == "global":
        assert np.all(second["bonus"] < 0.5 * first["bonus"])
    else:
        np.testing.assert_allclose(first["bonus"], first["episodic_bonus"] * first["global_bonus"], rtol=1e-6)
        np.testing.assert_allclose(second["episodic_bonus"], first["episodic_bonus"], rtol=0.2)
        assert np.all(second["global_bonus"] < 0.5 * first["global_bonus"])


# ----------------------------------------------------------------------------------------------
# Exploration: a bonus used greedily covers more of MountainCar than random actions.

GRID = 20
LOW, HIGH = np.array([-1.2, -0.07]), np.array([0.6, 0.07])


def cells(obs):
    """The cell of each (position, velocity) in a GRID x GRID grid over MountainCar's box."""
    index = np.clip(((obs - LOW) / (HIGH - LOW) * GRID).astype(int), 0, GRID - 1)
    return index[:, 0] * GRID + index[:, 1]


def coverage(spec, steps, num_envs=16, epsilon=0.1, gamma=0.9, alpha=0.5, seed=0):
    """Cells visited by ``num_envs`` MountainCars in ``steps`` vector steps.

    ``spec=None``: uniformly random actions. Otherwise the proxy reward of ``spec`` (the bonus
    alone) drives tabular Q-learning over the same grid, acted on epsilon-greedily. Q starts at 0
    and bonuses are positive, so the agent's only pull towards the unvisited is the bonus.
    """
    envs = gym.make_vec("rewardgym/MountainCar-v0", num_envs=num_envs, reward=spec)
    obs, _ = envs.reset(seed=seed)
    rng = np.random.default_rng(seed)
    q = np.zeros((GRID * GRID, 3))
    seen = np.zeros(GRID * GRID, bool)
    seen[cells(obs)] = True
    autoreset = np.zeros(num_envs, bool)  # NEXT_STEP: this step only resets these envs
    for _ in range(steps):
        s = cells(obs)
        explore = spec is None or rng.random(num_envs) < epsilon
        a = np.where(explore, rng.integers(0, 3, num_envs), q[s].argmax(1))
        obs, proxy, terminated, truncated, _ = envs.step(a)
        seen[cells(obs)] = True
        if spec is not None:
            target = proxy + gamma * ~terminated * q[cells(obs)].max(1)
            real = ~autoreset
            pair, change = (s * 3 + a)[real], (target - q[s, a])[real]
            visits = np.maximum(np.bincount(pair, None, q.size), 1)
            q.flat += alpha * np.bincount(pair, change, q.size) / visits
        autoreset = terminated | truncated
    return int(seen.sum())


@pytest.mark.parametrize(
    "spec",
    ["intrinsic(kind='count', resolution=[0.09, 0.007], extrinsic=False)", "intrinsic(kind='rnd', extrinsic=False)"],
)
def test_a_greedy_bonus_covers_more_of_mountain_car_than_random_actions(spec):
    # Measured with these seeds: random 39 cells, count 82, rnd 62 (of 400).
    assert coverage(spec, 400) > 1.4 * coverage(None, 400)


@pytest.mark.slow
@pytest.mark.parametrize(
    "spec",
    [
        "intrinsic(kind='count', resolution=[0.09, 0.007], extrinsic=False)",
        "intrinsic(kind='rnd', extrinsic=False)",
        "intrinsic(kind='icm', extrinsic=False)",
        "intrinsic(kind='e3b', extrinsic=False)",
        "intrinsic(kind='e3b', variant='global', extrinsic=False)",
        "intrinsic(kind='e3b', variant='product', extrinsic=False)",
    ],
)
def test_every_kind_covers_more_of_mountain_car_than_random_actions(spec):
    # Measured with these seeds: random 68 cells; count 138, rnd 88, icm 85, e3b 89 (episodic),
    # 107 (global), 106 (product). An episodic bonus is no function of the state alone, which a
    # tabular Q-learner can only average over, hence the smaller margin.
    assert coverage(spec, 1500) > 1.2 * coverage(None, 1500)


# ----------------------------------------------------------------------------------------------
# The proxy is explained; the coefficient decays; invalid steps are skipped.


def test_the_proxy_is_extrinsic_plus_coefficient_times_normalized_bonus_and_composes():
    spec = "scale(factor=2)+intrinsic(kind='count', beta=0.5)+noisy(sigma=0.0)"
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=4, reward=spec)
    envs.reset(seed=0)
    raw, previous_done = [], np.zeros(4, bool)
    for _ in range(30):
        _, proxy, terminated, truncated, info = envs.step(np.array([0, 1, 1, 0]))
        trace, report = info["reward_trace"], info["regime_info"]["intrinsic"]
        assert list(trace) == ["env", "scale", "intrinsic", "noisy"]
        np.testing.assert_array_equal(info["gold_reward"], trace["env"])  # gold untouched
        np.testing.assert_array_equal(report["extrinsic"], trace["scale"])  # kept separate
        np.testing.assert_allclose(
            trace["intrinsic"][~previous_done],
            (trace["scale"] + report["coef"] * report["bonus_normalized"])[~previous_done],
            rtol=1e-6,
        )
        # Normalized by the RMS of the raw bonuses of the earlier valid (training) steps.
        rms = np.sqrt(np.mean(np.square(raw))) if raw else 1.0
        np.testing.assert_allclose(report["bonus_normalized"], report["bonus"] / rms, rtol=1e-5)
        raw.extend(report["bonus"][~previous_done])
        previous_done = terminated | truncated
        np.testing.assert_array_equal(proxy, trace["noisy"])


def test_single_env_by_id_with_the_default_kind():
    env = gym.make("rewardgym/CartPole-v0", reward="intrinsic(kind='rnd')")
    env.reset(seed=0)
    for _ in range(40):
        _, proxy, terminated, truncated, info = env.step(1)
        report = info["regime_info"]["intrinsic"]
        assert isinstance(proxy, float) and isinstance(report["bonus"], float)
        assert proxy == pytest.approx(1.0 + report["coef"] * report["bonus_normalized"], rel=1e-6)
        assert info["gold_reward"] == 1.0
        if terminated or truncated:
            env.reset()
    assert type(intrinsic()) is RND


def test_the_coefficient_decays_per_valid_transition_and_autoreset_steps_pass_through():
    beta, kappa = 0.5, 0.01
    envs = gym.make_vec(
        "rewardgym/CartPole-v0",
        num_envs=3,
        max_episode_steps=4,
        reward=f"intrinsic(kind='count', beta={beta}, kappa={kappa})",
    )
    envs.reset(seed=0)
    trained, previous_done, autoreset_seen = 0, np.zeros(3, bool), False
    for _ in range(15):
        _, proxy, terminated, truncated, info = envs.step(np.array([0, 1, 0]))
        report = info["regime_info"]["intrinsic"]
        assert report["coef"] == pytest.approx(beta * (1 - kappa) ** trained, rel=1e-9)
        # NEXT_STEP autoreset: the step after an episode's end is no transition; it passes through.
        np.testing.assert_array_equal(proxy[previous_done], info["reward_trace"]["env"][previous_done])
        autoreset_seen |= bool(previous_done.any())
        trained += int((~previous_done).sum())
        previous_done = terminated | truncated
    assert autoreset_seen


def test_not_training_freezes_counts_normalizer_and_coefficient():
    regime = bound(Count(beta=1.0, kappa=0.5, seed=0), 2).train(False)
    state = [[0.0] * 4, [1.0] * 4]
    first = step(regime, batch_of(state))[1]
    second = step(regime, batch_of(state))[1]
    for key in ("bonus", "bonus_normalized"):
        np.testing.assert_array_equal(first[key], second[key])
    assert first["coef"] == second["coef"] == 1.0


# ----------------------------------------------------------------------------------------------
# numpy and torch, CPU and (simulated) GPU; seeds.


@pytest.mark.parametrize("kind", VECTOR_KINDS)
def test_torch_batches_give_the_numpy_rewards_as_tensors(kind):
    rng = np.random.default_rng(0)
    batches = [
        batch_of(
            rng.normal(size=(8, 4)),
            obs=rng.normal(size=(8, 4)),
            action=rng.integers(0, 2, 8),
            reward=np.ones(8),
            valid=np.arange(8) != t % 8,
        )
        for t in range(12)
    ]
    params = {"seed": 3} if kind == "count" else {"seed": 3, "train_every": 16}
    numpy_regime = bound(intrinsic(kind, **params), 8)
    torch_regime = copy.deepcopy(numpy_regime)
    for batch in batches:
        expected, expected_report = step(numpy_regime, batch)
        got, got_report = step(torch_regime, as_torch(batch))
        assert isinstance(expected, np.ndarray) and isinstance(got, torch.Tensor)
        assert expected.dtype == np.float32 and got.dtype == torch.float32
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)
        np.testing.assert_allclose(got_report["bonus"].numpy(), expected_report["bonus"], rtol=1e-5)


def test_a_numpy_batch_is_not_copied_on_its_way_into_torch():
    from rewardgym.core.nets import to_torch as _tensor  # the family's way into torch

    x = np.zeros((4, 3), np.float32)
    assert np.shares_memory(_tensor(x).numpy(), x)
    t = torch.zeros(4, 3)
    assert _tensor(t) is t


@pytest.mark.skipif(not cuda_simulated(), reason="runs under numba's CUDA simulator")
def test_a_cuda_vector_env_hands_torch_tensors_and_gets_the_cpu_rewards():
    spec = "intrinsic(kind='rnd', seed=0, train_every=4)"
    cuda = gym.make_vec("rewardgym/CartPole-v0", num_envs=4, device="cuda", reward=spec)
    cpu = gym.make_vec("rewardgym/CartPole-v0", num_envs=4, device="cpu", reward=spec)
    cuda.reset(seed=1)
    cpu.reset(seed=1)
    for t in range(8):
        actions = np.array([t % 2, 1, 0, 1])
        _, proxy_gpu, _, _, info_gpu = cuda.step(torch.as_tensor(actions))
        _, proxy_cpu, _, _, _ = cpu.step(actions)
        assert isinstance(proxy_gpu, torch.Tensor)
        assert isinstance(info_gpu["regime_info"]["intrinsic"]["bonus"], torch.Tensor)
        np.testing.assert_allclose(proxy_gpu.numpy(), proxy_cpu, rtol=1e-5)


def run(spec, seed, steps=40, reseed_after=None):
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=3, reward=spec)
    envs.reset(seed=seed)
    rewards = []
    for t in range(steps):
        if t == reseed_after:
            envs.reset(seed=seed)
        rewards.append(envs.step(np.array([t % 2, 1, 0]))[1])
    return np.array(rewards)


@pytest.mark.parametrize("kind", VECTOR_KINDS)
def test_the_same_seed_gives_the_same_rewards(kind):
    spec = f"intrinsic(kind={kind!r}, train_every=8)" if kind != "count" else "intrinsic(kind='count')"
    first = run(spec, seed=5)
    np.testing.assert_array_equal(run(spec, seed=5), first)
    if kind != "count":  # a count's bonus only depends on its seed through hash collisions
        assert not np.array_equal(run(spec, seed=6), first)


def test_a_seeded_reset_restarts_the_layer_unless_its_own_seed_is_fixed():
    spec = "intrinsic(kind='count', beta=1.0, normalize=False)"
    restarted = run(spec, seed=5, steps=20, reseed_after=10)
    np.testing.assert_array_equal(restarted[10:], restarted[:10])  # counts start afresh
    kept = run(spec.replace(")", ", seed=1)"), seed=5, steps=20, reseed_after=10)
    assert kept[10:].sum() < kept[:10].sum()  # the same states again: counted, lower bonuses


# ----------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"kind": "curiosity"}, r"unknown kind 'curiosity' of regime 'intrinsic'.*kinds: count, rnd, icm, e3b"),
        ({"kind": "e3b", "variant": "lifelong"}, r"unknown variant 'lifelong'; valid variants: episodic, global"),
        ({"kind": "rnd", "beta": -0.1}, r"beta \(the bonus coefficient\) must be a finite number >= 0, got -0.1"),
        ({"kind": "count", "kappa": 1.0}, r"kappa .* must be in \[0, 1\), got 1.0"),
        ({"kind": "count", "kappa": -0.01}, r"kappa .* must be in \[0, 1\), got -0.01"),
        ({"kind": "count", "buckets": 1000}, r"buckets must be a power of two .* got 1000"),
        ({"kind": "count", "resolution": [0.1, -1.0]}, r"resolution must be a number > 0 or a non-empty list"),
        ({"kind": "rnd", "features": 0}, r"intrinsic\(kind='rnd'\): features must be an integer >= 1, got 0"),
        ({"kind": "icm", "lr": 0.0}, r"lr must be a finite number > 0, got 0.0"),
        ({"kind": "icm", "forward_weight": 1.5}, r"forward_weight must be in \[0, 1\], got 1.5"),
        ({"kind": "e3b", "ridge": 0}, r"ridge must be a finite number > 0, got 0"),
        ({"kind": "e3b", "train_every": 2.5}, r"train_every must be an integer >= 1, got 2.5"),
        ({"kind": "rnd", "normalize": "yes"}, r"normalize must be True or False, got 'yes'"),
        ({"kind": "rnd", "seed": -1}, r"seed must be None or an integer >= 0, got -1"),
        ({"kind": "count", "variant": "episodic"}, r"intrinsic\(kind='count'\) has no parameter 'variant'"),
    ],
)
def test_bad_parameters_are_refused_by_name(params, message):
    with pytest.raises(ValueError, match=message):
        intrinsic(**params)


def test_bad_spaces_and_unbound_use_are_refused_by_name():
    with pytest.raises(ValueError, match="resolution has 3 bin widths, but the observation has 4 dimensions"):
        gym.make("rewardgym/CartPole-v0", reward="intrinsic(kind='count', resolution=[0.1, 0.1, 0.1])")
    multi = EnvContext(1, gym.spaces.Box(-1, 1, (2,)), gym.spaces.MultiDiscrete([2, 3]))
    with pytest.raises(TypeError, match="needs a Discrete or Box action space, got MultiDiscrete"):
        ICM().bind(multi)
    text = EnvContext(1, gym.spaces.Text(5), gym.spaces.Discrete(2))
    with pytest.raises(TypeError, match="needs a Box, Discrete, MultiBinary or MultiDiscrete observation"):
        RND().bind(text)
    with pytest.raises(RuntimeError, match="builds its networks from the env's spaces"):
        RND().reward(batch_of(np.zeros((1, 4))))
    regime = bound(RND(seed=0), 1)
    regime.reward(batch_of(np.zeros((1, 4))))
    with pytest.raises(ValueError, match="holds its state on numpy, but got a batch on cpu"):
        regime.reward(as_torch(batch_of(np.zeros((1, 4)))))
