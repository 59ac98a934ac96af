"""The ``noisy`` family: noise statistics match the parameters, the surrogate is unbiased, noise is
seeded and independent across envs, delays shift exactly within episodes, persistent noise is
fixed per state, and bad input is refused by name.

Statistical checks draw N samples and allow 5 standard errors (computed from N), so a correct
implementation fails them with probability below 1e-6, while a wrong parameter (say, sigma off by
10%) fails them for sure. All seeds are fixed, so every run draws the same numbers.
"""

import math

import gymnasium as gym
import numpy as np
import pytest
import rewardgym
import rewardgym.wrappers.noisy  # registers "noisy" before the package imports it itself
import torch
from gymnasium.vector import AutoresetMode
from rewardgym.core.arrays import to_numpy
from rewardgym.core.hashing import hash_normal, hash_rows
from rewardgym.core.transition import Transition
from rewardgym.envs.batched.device import cuda_simulated
from rewardgym.wrappers.noisy import (
    KINDS,
    Confusion,
    Delay,
    Flip,
    Persistent,
    noisy,
)

N = 200_000  # draws per statistical check
Z = 5.0  # allowed standard errors


def batch_of(reward, obs=None, next_obs=None, action=None, valid=None, terminated=None, truncated=None):
    """A hand-made numpy transition batch (the envs' own path is tested with real envs below)."""
    reward = np.asarray(reward, dtype=np.float32)
    n = reward.shape[0]
    obs = np.zeros((n, 1), np.float32) if obs is None else np.asarray(obs)
    return Transition(
        obs=obs,
        action=np.zeros(n, np.int64) if action is None else np.asarray(action),
        next_obs=obs if next_obs is None else np.asarray(next_obs),
        reward=reward,
        terminated=np.zeros(n, bool) if terminated is None else np.asarray(terminated, bool),
        truncated=np.zeros(n, bool) if truncated is None else np.asarray(truncated, bool),
        valid=np.ones(n, bool) if valid is None else np.asarray(valid, bool),
    )


def as_torch(batch):
    """The same batch as torch tensors: what a device="cuda" vector env hands its regimes."""
    return Transition(*(None if x is None else torch.as_tensor(np.asarray(x)) for x in batch))


def draw(regime, batch, seed=0, steps=1):
    """``steps`` rewards of a freshly seeded regime, as a numpy array ``(steps, num_envs)``."""
    regime.reset(None, seed=seed)
    out = []
    for _ in range(steps):
        out.append(np.asarray(to_numpy(regime.reward(batch)), np.float64))
        regime.update(batch)
    return np.stack(out)


both_backends = pytest.mark.parametrize("backend", ["numpy", "torch"])


def on(backend, batch):
    return as_torch(batch) if backend == "torch" else batch


# ----------------------------------------------------------------------------------------------
# The family: spec strings, kinds, the trace


def test_spec_strings_build_every_kind_and_name_the_layer_noisy():
    env = gym.make("rewardgym/CartPole-v0", reward="noisy(sigma=0.5)")
    env.reset(seed=0)
    _, proxy, _, _, info = env.step(1)
    assert info["gold_reward"] == 1.0 and proxy != 1.0
    assert list(info["reward_trace"]) == ["env", "noisy"] and info["reward_trace"]["noisy"] == proxy
    assert isinstance(noisy(), KINDS["gaussian"])
    for kind, cls in KINDS.items():
        params = {"levels": [0, 1], "matrix": [[1, 0], [0, 1]]} if kind == "confusion" else {}
        regime = rewardgym.make_regime("noisy", kind=kind, **params)
        assert type(regime) is cls and regime.name == "noisy"


# ----------------------------------------------------------------------------------------------
# Additive noise: gaussian, laplace, student_t


@both_backends
def test_gaussian_noise_has_mean_zero_and_std_sigma(backend):
    sigma = 0.7
    noise = draw(noisy("gaussian", sigma=sigma), on(backend, batch_of(np.full(N, 2.0))))[0] - 2.0
    assert abs(noise.mean()) < Z * sigma / math.sqrt(N)
    assert abs(noise.std() - sigma) < Z * sigma / math.sqrt(2 * N)


@both_backends
def test_laplace_noise_has_scale_b_by_its_median_absolute_value(backend):
    # |X| is exponential with mean b: its median is b ln 2, with standard error b / sqrt(N).
    b = 0.5
    noise = draw(noisy("laplace", scale=b), on(backend, batch_of(np.zeros(N))))[0]
    assert abs(np.median(np.abs(noise)) - b * math.log(2)) < Z * b / math.sqrt(N)
    assert abs(np.median(noise)) < Z * b / math.sqrt(N)
    assert abs(noise.std() - math.sqrt(2) * b) < 0.02 * b  # and its tails are Laplace's


@both_backends
@pytest.mark.parametrize(
    "df, quartile, density",
    [
        (1.0, 1.0, 1 / (2 * math.pi)),  # Cauchy: upper quartile 1, density there 1/(2 pi)
        (2.0, math.sqrt(2 / 3), (8 / 3) ** -1.5),  # t_2: F(t) = 1/2 + t / (2 sqrt(2 + t^2))
    ],
)
def test_student_t_noise_has_scale_by_its_quartiles_and_heavy_tails(backend, df, quartile, density):
    scale = 0.3
    noise = draw(noisy("student_t", df=df, scale=scale), on(backend, batch_of(np.zeros(N))))[0]
    # median |T| is the upper quartile q; its standard error is 1 / (2 f_|T|(q) sqrt(N)).
    standard_error = scale / (2 * (2 * density) * math.sqrt(N))
    assert abs(np.median(np.abs(noise)) - scale * quartile) < Z * standard_error
    if df == 1.0:  # Cauchy's tail: P(|T| > 10) = 1 - 2 atan(10) / pi, far above a normal's
        tail = 1 - 2 * math.atan(10) / math.pi
        share = np.mean(np.abs(noise) > 10 * scale)
        assert abs(share - tail) < Z * math.sqrt(tail * (1 - tail) / N)


# ----------------------------------------------------------------------------------------------
# Flip and confusion noise, and the surrogate


def binary_rewards(low, high, n=N):
    return np.where(np.arange(n) % 2 == 0, low, high).astype(np.float32)


@both_backends
def test_flip_rates_match_e_plus_and_e_minus(backend):
    e_plus, e_minus, low, high = 0.3, 0.1, -1.0, 2.0
    true = binary_rewards(low, high)
    regime = noisy("flip", e_plus=e_plus, e_minus=e_minus, low=low, high=high)
    seen = draw(regime, on(backend, batch_of(true)))[0]
    assert set(np.unique(seen)) == {low, high}
    for level, rate in [(high, e_plus), (low, e_minus)]:
        flipped = np.mean(seen[true == level] != level)
        assert abs(flipped - rate) < Z * math.sqrt(rate * (1 - rate) / (N / 2))
    perturbed = to_numpy(regime.info()["perturbed"])
    np.testing.assert_array_equal(perturbed, seen != true)


@both_backends
def test_confusion_frequencies_match_the_matrix_and_rewards_snap_to_the_nearest_level(backend):
    levels = [-1.0, 0.0, 1.0]
    matrix = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.0, 0.25, 0.75]])
    # Rewards off the levels are mapped to the nearest one: -0.8 -> -1, 0.3 -> 0, 2.5 -> 1.
    raw = np.resize(np.array([-0.8, 0.3, 2.5], np.float32), N)
    true_index = np.resize(np.array([0, 1, 2]), N)
    seen = draw(Confusion(levels=levels, matrix=matrix.tolist()), on(backend, batch_of(raw)))[0]
    seen_index = np.searchsorted(levels, seen)
    np.testing.assert_array_equal(np.asarray(levels)[seen_index], seen)
    for i in range(3):
        rows = seen_index[true_index == i]
        for j in range(3):
            p = matrix[i, j]
            assert abs(np.mean(rows == j) - p) < Z * math.sqrt(p * (1 - p) / rows.size) + 1e-12
    identity = Confusion(levels=levels, matrix=np.eye(3).tolist())
    np.testing.assert_array_equal(draw(identity, batch_of(raw[:6]))[0], [-1, 0, 1, -1, 0, 1])


def test_the_surrogate_is_exactly_unbiased_from_c():
    rng = np.random.default_rng(0)
    for n_levels in (2, 3, 5):
        matrix = 0.6 * np.eye(n_levels) + 0.4 * rng.dirichlet(np.ones(n_levels), size=n_levels)
        levels = np.sort(rng.normal(size=n_levels))
        regime = Confusion(levels=levels.tolist(), matrix=matrix.tolist(), correct=True)
        # E[r_hat | true level i] = sum_j C[i, j] r_hat[j] = levels[i], for every i.
        np.testing.assert_allclose(matrix @ regime.surrogate, levels, atol=1e-12)
    # The binary case is the paper's Lemma 1, in closed form.
    e_plus, e_minus, low, high = 0.2, 0.1, -1.0, 1.0
    flip = Flip(e_plus=e_plus, e_minus=e_minus, low=low, high=high, correct=True)
    denominator = 1 - e_plus - e_minus
    np.testing.assert_allclose(
        flip.surrogate,
        [((1 - e_plus) * low - e_minus * high) / denominator, ((1 - e_minus) * high - e_plus * low) / denominator],
    )


@both_backends
@pytest.mark.parametrize("kind", ["flip", "confusion"])
def test_the_surrogate_is_unbiased_by_monte_carlo(backend, kind):
    if kind == "flip":
        levels = [0.0, 1.0]
        regime = noisy("flip", e_plus=0.35, e_minus=0.2, correct=True)
    else:
        levels = [-2.0, 0.0, 1.0]
        matrix = [[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7]]
        regime = noisy("confusion", levels=levels, matrix=matrix, correct=True)
    true = np.resize(np.asarray(levels, np.float32), N)
    paid = draw(regime, on(backend, batch_of(true)))[0]
    for level in levels:
        sample = paid[true == level]
        assert abs(sample.mean() - level) < Z * sample.std() / math.sqrt(sample.size)
    # The observed reward alone is biased: its mean given the true level is C @ levels.
    assert not np.allclose(regime.matrix @ np.asarray(levels), levels, atol=0.05)


@both_backends
def test_estimated_confusion_matrix_converges_by_majority_voting(backend):
    # A tabular task: 40 states, each with a fixed true level; 500 envs visit random states.
    levels = [-1.0, 0.0, 1.0]
    matrix = np.array([[0.7, 0.2, 0.1], [0.15, 0.7, 0.15], [0.1, 0.1, 0.8]])
    regime = Confusion(
        levels=levels,
        matrix=matrix.tolist(),
        correct=True,
        estimate=True,
        resolution=1.0,
        warmup=5000,
        estimate_every=20,
    )
    regime.reset(None, seed=0)
    state_level = np.arange(40) % 3
    rng = np.random.default_rng(1)
    paid, truth = [], []
    for step in range(240):
        state = rng.integers(0, 40, size=500)
        true = np.asarray(levels, np.float32)[state_level[state]]
        batch = on(backend, batch_of(true, obs=state[:, None].astype(np.float32)))
        out = to_numpy(regime.reward(batch))
        if step < 10:  # before the warmup's 5000 votes, the observed level is paid
            assert set(np.unique(out)) <= set(levels)
        regime.update(batch)
        if step >= 200:
            paid.append(out)
            truth.append(true)
    # 240 steps x 500 envs = 120000 votes over 40 pairs: every majority is right.
    np.testing.assert_allclose(regime.confusion_estimate, matrix, atol=0.012)
    paid, truth = np.concatenate(paid), np.concatenate(truth)
    for level in levels:
        sample = paid[truth == level]
        assert abs(sample.mean() - level) < Z * sample.std() / math.sqrt(sample.size) + 0.03


def test_estimated_flip_rates_on_cartpole_correct_the_bias():
    # CartPole pays 1 ("high") every step; binned coarsely its states vote as few pairs.
    envs = gym.make_vec(
        "rewardgym/CartPole-v0",
        num_envs=64,
        reward="noisy(kind='flip', e_plus=0.3, e_minus=0.1, correct=True, "
        "estimate=True, resolution=10.0, warmup=2000, estimate_every=10)",
    )
    envs.reset(seed=0)
    regime = envs.pipeline.regimes[0]
    actions = np.random.default_rng(0).integers(0, 2, size=(400, 64))
    paid = []
    for step in range(400):
        _, proxy, *_, info = envs.step(actions[step])
        if step >= 100:
            paid.append(proxy[info["reward_trace"]["env"] == 1.0])
    paid = np.concatenate(paid)
    # The high row is estimated from the votes; low, never a true reward, keeps an identity row.
    np.testing.assert_allclose(regime.confusion_estimate[1], [0.3, 0.7], atol=0.015)
    np.testing.assert_allclose(regime.confusion_estimate[0], [1.0, 0.0])
    assert abs(paid.mean() - 1.0) < Z * paid.std() / math.sqrt(paid.size) + 0.01


def test_a_flip_reward_that_is_not_a_level_is_refused_by_value():
    regime = noisy("flip", low=0.0, high=1.0)
    with pytest.raises(ValueError, match=r"got reward 0\.5, which is neither low=0 nor high=1"):
        regime.reward(batch_of([1.0, 0.5, 0.0]))
    with pytest.raises(ValueError, match="got reward nan"):
        noisy("confusion", levels=[0, 1], matrix=[[1, 0], [0, 1]]).reward(batch_of([np.nan]))
    # Autoreset steps pass through untouched, so their reward (whatever it is) is not checked.
    regime.reward(batch_of([1.0, 0.5], valid=[True, False]))


# ----------------------------------------------------------------------------------------------
# Dropout


@both_backends
def test_dropout_withholds_rewards_at_rate_p(backend):
    p, fill = 0.3, -5.0
    regime = noisy("dropout", p=p, fill=fill)
    reward = np.linspace(1.0, 2.0, N).astype(np.float32)
    paid = draw(regime, on(backend, batch_of(reward)))[0]
    dropped = to_numpy(regime.info()["dropped"])
    assert abs(dropped.mean() - p) < Z * math.sqrt(p * (1 - p) / N)
    np.testing.assert_array_equal(paid[dropped], fill)
    np.testing.assert_array_equal(paid[~dropped], reward[~dropped])
    assert draw(noisy("dropout", p=0.0), batch_of(reward))[0].tolist() == reward.tolist()
    assert set(draw(noisy("dropout", p=1.0), batch_of(reward))[0]) == {0.0}


# ----------------------------------------------------------------------------------------------
# Seeds: reproducible, independent across envs


def noise_of(envs, seed, steps, actions):
    envs.reset(seed=seed)
    noise = []
    for step in range(steps):
        _, proxy, *_, info = envs.step(actions[step])
        noise.append(to_numpy(proxy) - to_numpy(info["reward_trace"]["env"]))
    return np.array(noise, dtype=np.float64)


@pytest.mark.parametrize("kind", ["gaussian", "laplace", "student_t", "dropout"])
def test_noise_is_reproducible_under_a_seed_and_independent_across_envs(kind):
    envs = gym.make_vec(
        "rewardgym/CartPole-v0",
        num_envs=16,
        reward=f"noisy(kind={kind!r}, p=0.5)" if kind == "dropout" else f"noisy(kind={kind!r})",
    )
    actions = np.random.default_rng(0).integers(0, 2, size=(400, 16))
    first, again, other = (noise_of(envs, s, 400, actions) for s in (7, 7, 8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    # Autoreset steps pass the env's reward through; everywhere else the noise is independent.
    correlation = np.corrcoef(first.T)
    off_diagonal = correlation[~np.eye(16, dtype=bool)]
    assert np.abs(off_diagonal).max() < Z / math.sqrt(400)
    assert len({col.tobytes() for col in first.T}) == 16


def test_a_single_env_reproduces_its_noise_under_a_seed():
    env = gym.make("rewardgym/CartPole-v0", reward="noisy(sigma=1.0)")
    runs = []
    for _ in range(2):
        env.reset(seed=3)
        runs.append([env.step(0)[1] for _ in range(5)])
    assert runs[0] == runs[1] and len(set(runs[0])) == 5


@pytest.mark.skipif(not cuda_simulated(), reason="device='cuda' runs under numba's CUDA simulator")
def test_cuda_batches_are_torch_seeded_and_independent():
    envs = gym.make_vec(
        "rewardgym/CartPole-v0",
        num_envs=8,
        device="cuda",
        reward="noisy(kind='gaussian', sigma=2.0)+noisy(kind='dropout', p=0.25)",
    )
    actions = torch.ones((6, 8), dtype=torch.int64)
    envs.reset(seed=5)
    _, proxy, *_, info = envs.step(actions[0])
    assert isinstance(proxy, torch.Tensor) and proxy.dtype == torch.float32
    assert isinstance(info["regime_info"]["noisy#2"]["dropped"], torch.Tensor)
    first, again = noise_of(envs, 5, 6, actions), noise_of(envs, 5, 6, actions)
    np.testing.assert_array_equal(first, again)
    assert len({col.tobytes() for col in first.T}) == 8


# ----------------------------------------------------------------------------------------------
# Delay


def expected_delay(stream, k, flush):
    """The delayed stream of one episode's rewards."""
    out = np.zeros(len(stream))
    if k == "episode":
        out[-1] = sum(stream)
        return out
    for t in range(k, len(stream)):
        out[t] = stream[t - k]
    if flush:
        out[-1] += sum(stream[max(0, len(stream) - k) :])
    return out


def check_delayed(inputs, paid, dones, valid, k, flush):
    """Per env: split the real steps into episodes and compare with the reference."""
    for env in range(inputs.shape[1]):
        start = None
        for t in range(inputs.shape[0]):
            if not valid[t, env]:  # an autoreset step: passed through untouched
                assert paid[t, env] == inputs[t, env]
                continue
            start = t if start is None else start
            if dones[t, env]:
                real = [s for s in range(start, t + 1) if valid[s, env]]
                want = expected_delay(inputs[real, env], k, flush)
                np.testing.assert_allclose(paid[real, env], want, rtol=1e-5, atol=1e-5)
                start = None


def run_stack(envs, steps, seed=0, torch_actions=False):
    """Step a vector env under [cart position, delay]; collect the delay's input and output."""
    envs.reset(seed=seed)
    rng = np.random.default_rng(seed)
    inputs, paid, dones, valid = [], [], [], []
    prev_done = np.zeros(envs.num_envs, bool)
    mode = envs.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
    for _ in range(steps):
        action = rng.integers(0, 2, size=envs.num_envs)
        _, proxy, terminated, truncated, info = envs.step(torch.as_tensor(action) if torch_actions else action)
        inputs.append(to_numpy(info["reward_trace"]["cart_position"]))
        paid.append(to_numpy(proxy))
        done = to_numpy(terminated) | to_numpy(truncated)
        dones.append(done)
        valid.append(~prev_done if mode is AutoresetMode.NEXT_STEP else np.ones_like(done))
        prev_done = done
    return (np.array(x) for x in (inputs, paid, dones, valid))


def cart_position(batch):
    return batch.next_obs[:, 0] + 1.0  # varies every step, so a shift is visible


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
@pytest.mark.parametrize("k, flush", [(1, True), (3, True), (3, False), ("episode", True)])
def test_delay_shifts_the_stream_by_k_within_each_episode(mode, k, flush):
    envs = rewardgym.wrap(
        gym.make_vec("rewardgym/CartPole-v0", num_envs=6, autoreset_mode=mode, max_episode_steps=12),
        [cart_position, noisy("delay", k=k, flush=flush)],
    )
    inputs, paid, dones, valid = run_stack(envs, 80)
    assert dones.sum() > 20  # many episodes, ended by termination and by truncation
    check_delayed(inputs, paid, dones, valid, k, flush)
    if flush:  # the total is kept: only its timing moves
        real = valid & np.cumsum(dones[::-1], 0)[::-1].astype(bool)  # finished episodes only
        assert np.allclose((paid * real).sum(), (inputs * real).sum(), rtol=1e-5)


def test_episode_sum_is_paid_at_the_end_on_a_single_env():
    env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), [cart_position, "noisy(kind='delay', k='episode')"])
    for seed in range(3):
        env.reset(seed=seed)
        inputs, paid, done = [], [], False
        while not done:
            _, proxy, terminated, truncated, info = env.step(seed % 2)
            inputs.append(info["reward_trace"]["cart_position"])
            paid.append(proxy)
            done = terminated or truncated
        assert paid[:-1] == [0.0] * (len(paid) - 1)
        assert paid[-1] == pytest.approx(sum(inputs), rel=1e-5)


@pytest.mark.skipif(not cuda_simulated(), reason="device='cuda' runs under numba's CUDA simulator")
def test_delay_works_on_torch_batches():
    envs = rewardgym.wrap(
        gym.make_vec("rewardgym/CartPole-v0", num_envs=4, device="cuda", max_episode_steps=6),
        [cart_position, noisy("delay", k=2)],
    )
    inputs, paid, dones, valid = run_stack(envs, 16, torch_actions=True)
    assert dones.sum() >= 4
    check_delayed(inputs, paid, dones, valid, 2, True)


@pytest.mark.parametrize("k", [2, "episode"])
def test_delay_ignores_autoreset_steps(k):
    # rewardgym's envs pay 0 on an autoreset step; a foreign env may not, and it must not count.
    regime = Delay(k=k)
    regime.reset(None, seed=0)
    paid = [
        regime.reward(batch_of([reward], valid=[valid], terminated=[end]))[0]
        for reward, valid, end in [
            (1.0, True, False),
            (100.0, False, False),
            (2.0, True, False),
            (3.0, True, False),
            (4.0, True, True),
        ]
    ]
    real = [paid[0]] + paid[2:]
    assert real == ([0.0, 0.0, 1.0, 2.0 + 3.0 + 4.0] if k == 2 else [0.0, 0.0, 0.0, 10.0])


def test_delay_reset_clears_only_the_masked_envs():
    regime = Delay(k=2)
    regime.reset(None, seed=0)
    for value in (1.0, 2.0):
        regime.reward(batch_of([value, value]))
    regime.reset(np.array([True, False]))
    paid = regime.reward(batch_of([5.0, 5.0]))
    assert paid.tolist() == [0.0, 1.0]  # env 0's pending rewards are gone, env 1's are due
    assert regime.info()["pending"].tolist() == [5.0, 7.0]


# ----------------------------------------------------------------------------------------------
# Persistent noise


def test_persistent_noise_is_fixed_per_discretized_state_and_seed():
    regime = Persistent(sigma=1.0, resolution=0.5)
    regime.reset(None, seed=0)
    obs = np.array([[0.1, 0.2], [0.4, 0.01], [0.6, 0.2], [0.1, 0.2]], np.float32)
    noise = regime.reward(batch_of(np.zeros(4), next_obs=obs))
    assert noise[0] == noise[1] == noise[3] != noise[2]  # bins (0, 0), (0, 0), (1, 0), (0, 0)
    again = draw(regime, batch_of(np.zeros(4), next_obs=obs), seed=0)[0]
    other = draw(regime, batch_of(np.zeros(4), next_obs=obs), seed=1)[0]
    np.testing.assert_array_equal(again, noise)
    assert other[0] != noise[0]
    # The torch path hashes the same bits: the same table on every device.
    torch_noise = draw(regime, as_torch(batch_of(np.zeros(4), next_obs=obs)), seed=0)[0]
    np.testing.assert_allclose(torch_noise, noise, rtol=1e-6)


@both_backends
def test_persistent_noise_is_gaussian_across_states(backend):
    sigma = 0.4
    states = np.stack([np.arange(N), np.arange(N) % 7], 1).astype(np.float64)  # N distinct bins
    noise = draw(Persistent(sigma=sigma, resolution=1.0), on(backend, batch_of(np.zeros(N), next_obs=states)))[0]
    assert abs(noise.mean()) < Z * sigma / math.sqrt(N)
    assert abs(noise.std() - sigma) < Z * sigma / math.sqrt(2 * N)
    bits = hash_rows(np.array([[0, 0], [1, 0], [0, 1]], np.int64), 0)
    assert len(set(bits.tolist())) == 3 and np.all(np.isfinite(hash_normal(bits)))


def test_persistent_noise_does_not_average_out_with_repeats():
    # FrozenLake without slipping: every episode walks the same states, and gets the same noise.
    spec = "noisy(kind='persistent', sigma=1.0, resolution=1)"
    gaussian = "noisy(kind='gaussian', sigma=1.0)"
    persistent_env = rewardgym.wrap(gym.make("FrozenLake-v1", is_slippery=False), spec)
    gaussian_env = rewardgym.wrap(gym.make("FrozenLake-v1", is_slippery=False), gaussian)
    path = [2, 2, 1, 1, 1, 2]  # right, right, down, down, down, right: the goal
    means = {}
    for name, env in (("persistent", persistent_env), ("gaussian", gaussian_env)):
        env.reset(seed=0)
        returns = []
        for _ in range(400):
            env.reset()
            returns.append([env.step(a)[1] for a in path])
        means[name] = np.mean(returns, axis=0) - np.array([0, 0, 0, 0, 0, 1])
        if name == "persistent":
            assert np.all(np.array(returns) == np.array(returns)[0])  # identical every episode
    # The persistent noise of each state stays at its value; the Gaussian mean shrinks as 1/sqrt(n).
    assert np.abs(means["persistent"]).mean() > 0.3
    assert np.abs(means["gaussian"]).max() < Z / math.sqrt(400)


def test_persistent_checks_its_bin_widths_against_the_observation():
    with pytest.raises(ValueError, match="resolution has 3 bin widths, but the observation has 4"):
        rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), Persistent(resolution=[0.1, 0.1, 0.1]))
    env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), Persistent(resolution=[0.1, 0.1, 0.1, 0.1]))
    env.reset(seed=0)
    env.step(0)


# ----------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    "params, match",
    [
        ({"sigma": -0.1}, r"noisy\(kind='gaussian'\): sigma must be a finite number >= 0, got -0\.1"),
        ({"sigma": float("nan")}, "sigma must be a finite number >= 0"),
        ({"kind": "student_t", "df": 0}, r"df must be a finite number > 0, got 0"),
        ({"kind": "student_t", "scale": -1}, r"scale must be a finite number >= 0, got -1"),
        ({"kind": "laplace", "scale": -2.0}, r"noisy\(kind='laplace'\): scale must be"),
        ({"kind": "flip", "e_plus": 0.5}, r"e_plus must be in \[0, 0\.5\), got 0\.5"),
        ({"kind": "flip", "e_minus": -0.01}, r"e_minus must be in \[0, 0\.5\), got -0\.01"),
        ({"kind": "flip", "low": 1, "high": 0}, "high must be greater than low"),
        ({"kind": "flip", "estimate": True}, "estimate=True .* needs correct=True"),
        ({"kind": "confusion", "levels": [0, 1], "matrix": [[0.5, 0.5], [0.5, 0.5]]}, "matrix is singular"),
        (
            {"kind": "confusion", "levels": [0, 1], "matrix": [[0.9, 0.2], [0.1, 0.9]]},
            "row-stochastic .* row 0 sums to 1.1, not 1",
        ),
        ({"kind": "confusion", "levels": [0, 1], "matrix": [[1.5, -0.5], [0, 1]]}, r"probabilities in \[0, 1\]"),
        ({"kind": "confusion", "levels": [0, 1], "matrix": [[1, 0, 0], [0, 1, 0]]}, "matrix must be 2x2"),
        ({"kind": "confusion", "levels": [1, 0], "matrix": [[1, 0], [0, 1]]}, "levels must be a strictly increasing"),
        ({"kind": "dropout", "p": 1.5}, r"p must be in \[0, 1\], got 1\.5"),
        ({"kind": "dropout", "p": -0.1}, r"p must be in \[0, 1\], got -0\.1"),
        ({"kind": "delay", "k": 0}, "k must be an integer >= 1 or 'episode', got 0"),
        ({"kind": "delay", "k": "forever"}, "k must be an integer >= 1 or 'episode', got 'forever'"),
        ({"kind": "persistent", "resolution": 0}, r"resolution must be a finite number > 0, got 0"),
        ({"kind": "persistent", "resolution": [0.1, -1]}, "resolution must be a number > 0 or a non-empty list"),
        ({"kind": "gaussian", "p": 0.5}, "noisy\\(kind='gaussian'\\) has no parameter 'p'; its parameters: sigma"),
        ({"kind": "flip", "sigma": 0.5}, "has no parameter 'sigma'"),
        ({"kind": "gausian"}, "unknown kind 'gausian' of regime 'noisy' \\(did you mean 'gaussian'\\?\\)"),
    ],
)
def test_bad_input_is_refused_by_name(params, match):
    with pytest.raises(ValueError, match=match):
        rewardgym.make_regime("noisy", **params)


def test_bad_input_in_a_spec_string_is_refused():
    with pytest.raises(ValueError, match="unknown kind 'loud'.*valid kinds: gaussian, student_t"):
        gym.make("rewardgym/CartPole-v0", reward="noisy(kind='loud')")
    with pytest.raises(ValueError, match="flip noise needs a binary reward"):
        env = gym.make("rewardgym/MountainCarContinuous-v0", reward="noisy(kind='flip')")
        env.reset(seed=0)
        env.step(np.array([1.0], np.float32))


# ----------------------------------------------------------------------------------------------
# The compiled Gaussian draws of numpy batches (BatchRandom.add_normal)


def test_numpy_gaussian_draws_are_standard_normal_in_the_tails_too():
    from rewardgym.core.batch_random import PARALLEL_FROM, BatchRandom
    from scipy import stats

    rng = BatchRandom(seed=11)
    z = rng.add_normal(np.zeros(N, np.float64), 1.0)  # above PARALLEL_FROM: the threaded kernel
    assert N >= PARALLEL_FROM
    assert stats.kstest(z, "norm").pvalue > 1e-4
    # The ziggurat's tail (|z| > 3.654) and wedges are separate code: check their mass.
    for cut in (1.0, 2.5, 3.6541528853610088, 4.0):
        p = 2 * stats.norm.sf(cut)
        assert abs(np.mean(np.abs(z) > cut) - p) < Z * math.sqrt(p * (1 - p) / N) + 1e-6


def test_numpy_gaussian_draws_follow_each_env_and_the_seed():
    from rewardgym.core.batch_random import BatchRandom

    small, large = BatchRandom(seed=4), BatchRandom(seed=4)
    a = [small.add_normal(np.zeros(8, np.float32), 1.0) for _ in range(3)]
    b = [large.add_normal(np.zeros(5000, np.float32), 1.0) for _ in range(3)]  # serial vs threaded
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y[:8])  # env i's draws do not depend on the batch size
    assert len({x.tobytes() for x in a}) == 3  # a new draw at each call
    other = BatchRandom(seed=5).add_normal(np.zeros(8, np.float32), 1.0)
    assert not np.array_equal(other, a[0])
    small.seed(4)
    np.testing.assert_array_equal(small.add_normal(np.zeros(8, np.float32), 1.0), a[0])


def test_persistent_noise_refuses_an_observation_space_it_cannot_bin_by_name():
    class TupleObs(gym.Env):
        observation_space = gym.spaces.Tuple((gym.spaces.Discrete(3), gym.spaces.Discrete(2)))
        action_space = gym.spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            return (0, 0), {}

        def step(self, action):
            return (1, 1), 1.0, False, False, {}

    # It used to fail at the first step: "'tuple' object has no attribute 'shape'".
    with pytest.raises(ValueError, match=r"persistent'\) bins array observations .* space is Tuple"):
        rewardgym.wrap(TupleObs(), "noisy(kind='persistent')")
