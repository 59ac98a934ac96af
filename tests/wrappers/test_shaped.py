"""The ``shaped`` family: potential-based shaping keeps optimal policies, naive shaping does not, and
every kind computes its formula on numpy and torch batches, single and vector envs."""

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
import rewardgym
import rewardgym.wrappers.shaped  # noqa: F401  (registers "shaped" before the package does)
import torch
from rewardgym.core.regime import EnvContext, Regime
from rewardgym.core.transition import Transition
from rewardgym.wrappers.shaped import BUILTIN_POTENTIALS, shaped

CONTROL_IDS = [
    "rewardgym/CartPole-v0",
    "rewardgym/MountainCar-v0",
    "rewardgym/MountainCarContinuous-v0",
    "rewardgym/Pendulum-v0",
    "rewardgym/Acrobot-v0",
]


def transition(obs, next_obs, reward, terminated=None, truncated=None, valid=None):
    """A numpy Transition batch with float32 rewards; flags default to False (valid to True)."""
    reward = np.asarray(reward, np.float32)
    n = reward.shape[0]
    flags = lambda x, default: np.full(n, default) if x is None else np.asarray(x, bool)  # noqa: E731
    return Transition(
        obs=np.asarray(obs, np.float32),
        action=np.zeros(n, np.int64),
        next_obs=np.asarray(next_obs, np.float32),
        reward=reward,
        terminated=flags(terminated, False),
        truncated=flags(truncated, False),
        valid=flags(valid, True),
    )


# ---------------------------------------------------------------------------------------------
# The proof: random tabular MDPs, solved exactly, shaped through the regime itself.
# ---------------------------------------------------------------------------------------------

S, A, GAMMA = 6, 3, 0.9


def random_mdp(seed):
    """Transition kernel P[s, a, s'], rewards R[s, a, s'], terminal states and a random potential."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(S, 0.5), size=(S, A))
    R = rng.uniform(-1.0, 1.0, size=(S, A, S))
    terminal = np.zeros(S, bool)
    terminal[rng.choice(S, size=rng.integers(1, 3), replace=False)] = True
    phi = rng.uniform(-5.0, 5.0, size=S)  # nonzero on terminal states too: the regime must zero it
    return P, R, terminal, phi


def shaped_rewards(regime, R, terminal):
    """R'[s, a, s'] from the regime's reward on one batch holding every (s, a, s'), one-hot obs."""
    s, a, s2 = (x.ravel() for x in np.meshgrid(np.arange(S), np.arange(A), np.arange(S), indexing="ij"))
    eye = np.eye(S, dtype=np.float32)
    batch = Transition(
        obs=eye[s],
        action=a,
        next_obs=eye[s2],
        reward=R[s, a, s2].astype(np.float32),
        terminated=terminal[s2],
        truncated=np.zeros(s.size, bool),
        valid=np.ones(s.size, bool),
    )
    out = regime.reward(batch)
    assert isinstance(out, np.ndarray) and out.shape == (S * A * S,)
    return out.astype(np.float64).reshape(S, A, S)


def optimal_q(P, R, terminal, gamma=GAMMA):
    """Exact optimal action values by value iteration; terminal states are absorbing with value 0."""
    V = np.zeros(S)
    for _ in range(10_000):
        Q = (P * (R + gamma * np.where(terminal, 0.0, V))).sum(axis=2)
        V_new = np.where(terminal, 0.0, Q.max(axis=1))
        if np.abs(V_new - V).max() < 1e-12:
            return Q
        V = V_new
    raise AssertionError("value iteration did not converge")


def table_potential_of(phi):
    def table_potential(obs):
        return phi[np.argmax(obs, axis=1)]

    return table_potential


def greedy(Q, terminal):
    return Q.argmax(axis=1)[~terminal]


def test_potential_shaping_with_the_agents_gamma_keeps_every_optimal_policy():
    for seed in range(20):
        P, R, terminal, phi = random_mdp(seed)
        regime = shaped(kind="potential", potential=table_potential_of(phi), gamma=GAMMA)
        R_shaped = shaped_rewards(regime, R, terminal)
        assert np.abs(R_shaped - R).max() > 0.1  # the shaping really changes the rewards
        Q, Q_shaped = optimal_q(P, R, terminal), optimal_q(P, R_shaped, terminal)
        top2 = np.sort(Q[~terminal], axis=1)[:, -2:]
        assert (top2[:, 1] - top2[:, 0]).min() > 1e-3, "near-tie: the comparison would be fragile"
        np.testing.assert_array_equal(greedy(Q_shaped, terminal), greedy(Q, terminal))
        # Ng et al.'s exact statement: Q'(s, a) = Q(s, a) - Phi(s).
        np.testing.assert_allclose(Q_shaped[~terminal], (Q - phi[:, None])[~terminal], atol=1e-4)


def first_mdp_whose_policy_changes(make_regime, seeds=range(50), mark_terminals=True):
    for seed in seeds:
        P, R, terminal, phi = random_mdp(seed)
        shown = terminal if mark_terminals else np.zeros(S, bool)
        R_shaped = shaped_rewards(make_regime(table_potential_of(phi)), R, shown)
        if (greedy(optimal_q(P, R_shaped, terminal), terminal) != greedy(optimal_q(P, R, terminal), terminal)).any():
            return seed
    return None


def test_naive_shaping_changes_an_optimal_policy():
    seed = first_mdp_whose_policy_changes(lambda p: shaped(kind="naive", potential=p))
    assert seed == 0  # found deterministically; any seed would do, none would fail the test


def test_potential_shaping_with_another_gamma_changes_an_optimal_policy():
    seed = first_mdp_whose_policy_changes(lambda p: shaped(kind="potential", potential=p, gamma=0.5))
    assert seed is not None


def test_keeping_phi_of_terminal_states_would_change_an_optimal_policy():
    # The regime only knows a state is terminal from ``terminated``: without it (a truncation),
    # Phi(s') stays, and on these MDPs that breaks invariance. This is why the flag matters.
    seed = first_mdp_whose_policy_changes(
        lambda p: shaped(kind="potential", potential=p, gamma=GAMMA), mark_terminals=False
    )
    assert seed is not None


# ---------------------------------------------------------------------------------------------
# Each kind's formula, on hand-computed values.
# ---------------------------------------------------------------------------------------------


def double_first(obs):
    return 2.0 * obs[:, 0]


FORMULA_BATCH = dict(
    obs=[[1.0], [2.0], [3.0]],
    next_obs=[[2.0], [5.0], [4.0]],
    reward=[1.0, 0.0, -1.0],
    terminated=[False, True, False],
    truncated=[False, False, True],
)


def test_potential_formula_zeroes_phi_on_termination_only():
    regime = shaped(kind="potential", potential=double_first, gamma=0.9, scale=0.5)
    out = regime.reward(transition(**FORMULA_BATCH))
    # 1 + 0.5 (0.9 * 4 - 2); terminated: 0 + 0.5 (0 - 4); truncated: -1 + 0.5 (0.9 * 8 - 6)
    np.testing.assert_allclose(out, [1.8, -2.0, -0.4], rtol=1e-6)
    np.testing.assert_allclose(regime.info()["shaping"], [0.8, -2.0, 0.6], rtol=1e-6)
    assert out.dtype == np.float32


def test_naive_formula_adds_phi_of_the_next_obs():
    out = shaped(kind="naive", potential=double_first, scale=0.5).reward(transition(**FORMULA_BATCH))
    np.testing.assert_allclose(out, [3.0, 5.0, 3.0])


def test_clip_formula():
    batch = transition(np.zeros((4, 1)), np.zeros((4, 1)), [-3, -0.2, 0.7, 5])
    out = shaped(kind="clip", low=-0.5, high=0.5).reward(batch)
    np.testing.assert_allclose(out, [-0.5, -0.2, 0.5, 0.5])
    one_sided = shaped(kind="clip", low=float("-inf"), high=0.0)
    np.testing.assert_allclose(one_sided.reward(transition(np.zeros((2, 1)), np.zeros((2, 1)), [-7, 2])), [-7, 0])


def test_par_is_the_centred_sigmoid_averaged_over_references():
    r = [1.0, 1.0 + math.log(3.0), 1.0 - math.log(3.0)]
    out = shaped(kind="par", r_ref=1.0).reward(transition(np.zeros((3, 1)), np.zeros((3, 1)), r))
    np.testing.assert_allclose(out, [0.5, 0.75, 0.25], rtol=1e-6)
    two = shaped(kind="par", r_ref=[0.0, 2.0]).reward(transition(np.zeros((2, 1)), np.zeros((2, 1)), [1.0, 0.0]))
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    np.testing.assert_allclose(two, [0.5, (sig(0.0) + sig(-2.0)) / 2], rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow in the tails
        tails = shaped(kind="par").reward(transition(np.zeros((3, 1)), np.zeros((3, 1)), [-1e4, -20.0, 1e4]))
    assert tails[0] == 0.0 and tails[1] == pytest.approx(math.exp(-20.0), rel=1e-5) and tails[2] == 1.0


def test_log_sigmoid_formula():
    r = [1.0, 1.0 + math.log(3.0), -1000.0, 1000.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = shaped(kind="log_sigmoid", r_ref=1.0).reward(transition(np.zeros((4, 1)), np.zeros((4, 1)), r))
    np.testing.assert_allclose(out, [math.log(0.5), math.log(0.75), -1001.0, 0.0], rtol=1e-6, atol=1e-7)


def test_delta_cap_caps_each_episode_sum_and_resets_per_env():
    regime = shaped(kind="delta_cap", cap=2.0)
    regime.reset(None, seed=0)
    steps = [  # rewards of env 0, env 1; valid
        ([1.0, 3.0], [True, True]),
        ([1.0, -2.0], [True, True]),
        ([1.0, 0.5], [True, True]),
        ([-1.0, 2.0], [True, True]),
        ([1.0, -3.0], [True, False]),  # env 1: an autoreset step, not counted
        ([1.0, 0.25], [True, True]),
    ]
    emitted, sums = [], []
    for reward, valid in steps:
        emitted.append(regime.reward(transition(np.zeros((2, 1)), np.zeros((2, 1)), reward, valid=valid)).tolist())
        sums.append(regime.info()["episode_sum"].tolist())
    assert emitted == [[1.0, 2.0], [1.0, -2.0], [0.0, 0.5], [-1.0, 1.5], [1.0, -3.0], [0.0, 0.0]]
    assert sums == [[1.0, 2.0], [2.0, 0.0], [2.0, 0.5], [1.0, 2.0], [2.0, 2.0], [2.0, 2.0]]
    np.testing.assert_array_equal(regime.info()["removed"], [1.0, 0.25])
    regime.reset(np.array([False, True]))  # env 1's episode ended: only its sum clears
    out = regime.reward(transition(np.zeros((2, 1)), np.zeros((2, 1)), [1.0, 1.5]))
    np.testing.assert_array_equal(out, [0.0, 1.5])


class Recorder(Regime):
    """A term that doubles the reward and records what the weighted sum forwards to it."""

    name = "recorder"

    def __init__(self):
        self.context, self.resets, self.updates = None, [], 0

    def bind(self, context):
        self.context = context

    def reset(self, mask=None, *, seed=None):
        self.resets.append(seed)

    def reward(self, batch):
        return 2.0 * batch.reward

    def update(self, batch):
        self.updates += 1
        return {"seen": float(batch.num_envs)}


def test_weighted_sum_formula_chains_and_forwarding():
    regime = shaped(
        kind="weighted_sum",
        terms=[
            lambda b: b.next_obs[:, 0],
            "scale(factor=2)",
            "shaped(kind='clip', low=0, high=1)",
            "scale(factor=2)+shaped(kind='clip', low=-5, high=1)",
        ],
        weights=[1.0, 0.5, -2.0, 10.0],
        include_input=True,
    )
    batch = transition([[0.0], [0.0]], [[3.0], [4.0]], [2.0, -1.0])
    out = regime.reward(batch)
    # r + next_obs + 0.5 * 2r - 2 * clip(r, 0, 1) + 10 * clip(2r, -5, 1)
    np.testing.assert_allclose(out, [2 + 3 + 2 - 2 + 10, -1 + 4 - 1 - 0 - 20])
    info = regime.info()
    assert list(info) == ["custom", "scale", "shaped", "scale+shaped"]
    np.testing.assert_allclose(info["scale+shaped"], [1.0, -2.0])
    without_input = shaped(kind="weighted_sum", terms=["scale(factor=3)"])
    np.testing.assert_allclose(without_input.reward(batch), [6.0, -3.0])

    recorder = Recorder()
    regime = shaped(kind="weighted_sum", terms=[recorder, recorder.__class__()], weights=[1.0, 1.0])
    context = EnvContext(num_envs=2, observation_space=gym.spaces.Box(-1, 1, (1,)), action_space=gym.spaces.Discrete(2))
    regime.bind(context)
    regime.reset(None, seed=7)
    regime.reset(None, seed=7)
    assert recorder.context is context and recorder.resets[0] == recorder.resets[1] is not None
    assert regime.terms[1][0].resets[0] != recorder.resets[0]  # each term its own stream
    regime.reward(batch)
    assert regime.update(batch) == {"recorder/seen": 2.0, "recorder#2/seen": 2.0}
    regime.train(False)
    assert not recorder.training


# ---------------------------------------------------------------------------------------------
# Built-in potentials on the real envs.
# ---------------------------------------------------------------------------------------------


def expected_potential(env_id, obs):
    """The documented potentials, written here from the env's physics rather than the module."""
    obs = np.asarray(obs, np.float64)
    if "CartPole" in env_id:
        return 1.0 - 0.5 * (np.abs(obs[:, 2]) / (12 * 2 * math.pi / 360) + np.abs(obs[:, 0]) / 2.4)
    if "MountainCar" in env_id:
        goal = 0.45 if "Continuous" in env_id else 0.5
        height = lambda p: np.sin(3 * p) / 3  # noqa: E731  (its slope is the env's cos(3p) pull)
        energy = 0.0025 * height(obs[:, 0]) + obs[:, 1] ** 2 / 2
        return (energy - 0.0025 * height(-math.pi / 6)) / (0.0025 * (height(goal) - height(-math.pi / 6)))
    if "Pendulum" in env_id:
        return np.cos(np.arctan2(obs[:, 1], obs[:, 0]))
    if "Acrobot" in env_id:
        t1, t2 = np.arctan2(obs[:, 1], obs[:, 0]), np.arctan2(obs[:, 3], obs[:, 2])
        return -np.cos(t1) - np.cos(t1 + t2)
    raise KeyError(env_id)


def test_builtin_potentials_measure_progress():
    phi = lambda env_id, obs: BUILTIN_POTENTIALS[env_id].function(np.asarray(obs, np.float64))  # noqa: E731
    np.testing.assert_allclose(
        phi("rewardgym/CartPole-v0", [[0, 0, 0, 0], [0, 0, 0.2, 0], [2.4, 0, 0.2094395, 0]]),
        [1.0, 1 - 0.5 * 0.2 / 0.2094395, 0.0],
        atol=1e-6,
    )
    mc = phi("rewardgym/MountainCar-v0", [[-math.pi / 6, 0], [-math.pi / 6, 0.03], [0.0, 0], [0.5, 0]])
    assert mc[0] == pytest.approx(0.0, abs=1e-9) and mc[3] == pytest.approx(1.0)
    assert mc[0] < mc[1] and mc[0] < mc[2] < mc[3]  # speed and height are both progress
    assert phi("rewardgym/MountainCarContinuous-v0", [[0.45, 0]])[0] == pytest.approx(1.0)
    np.testing.assert_allclose(phi("rewardgym/Pendulum-v0", [[1, 0, 5], [0, 1, 0], [-1, 0, 0]]), [1, 0, -1], atol=1e-12)
    rng = np.random.default_rng(0)
    t1, t2 = rng.uniform(-np.pi, np.pi, 50), rng.uniform(-np.pi, np.pi, 50)
    obs = np.stack([np.cos(t1), np.sin(t1), np.cos(t2), np.sin(t2), 0 * t1, 0 * t1], axis=1)
    np.testing.assert_allclose(phi("rewardgym/Acrobot-v0", obs), -np.cos(t1) - np.cos(t1 + t2), atol=1e-12)
    for env_id in CONTROL_IDS:
        assert BUILTIN_POTENTIALS[env_id].obs_shape == gym.spec(env_id).make().observation_space.shape
    # Only env ids: a task's reference that describes a paper, not a gymnasium env, is not listed.
    assert all(env_id in gym.registry for env_id in BUILTIN_POTENTIALS)


def check_potential_step(env_id, gamma, obs, next_obs, reward, proxy, terminated, valid=None):
    phi_next = np.where(terminated, 0.0, expected_potential(env_id, next_obs))
    expected = reward + gamma * phi_next - expected_potential(env_id, obs)
    if valid is not None:
        expected = np.where(valid, expected, reward)
    np.testing.assert_allclose(proxy, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("env_id", CONTROL_IDS)
def test_builtin_potential_on_every_control_env_single_and_vector(env_id):
    gamma, steps = 0.97, 40
    shaped_env = gym.make(env_id, reward="shaped(gamma=0.97)")
    plain = gym.make(env_id)
    shaped_env.action_space.seed(1)
    obs, _ = shaped_env.reset(seed=3)
    plain.reset(seed=3)
    for _ in range(steps):
        action = shaped_env.action_space.sample()
        next_obs, proxy, terminated, truncated, info = shaped_env.step(action)
        _, reward, *_, plain_info = plain.step(action)
        assert list(info["reward_trace"]) == ["env", "shaped"]
        assert info["gold_reward"] == plain_info["gold_reward"] and info["reward_trace"]["env"] == reward
        check_potential_step(env_id, gamma, obs[None], next_obs[None], reward, proxy, terminated)
        obs = next_obs
        if terminated or truncated:
            obs, _ = shaped_env.reset()
            plain.reset()

    envs = gym.make_vec(env_id, num_envs=3, reward="shaped(gamma=0.97)", max_episode_steps=25)
    plain_envs = gym.make_vec(env_id, num_envs=3, max_episode_steps=25)
    envs.action_space.seed(2)
    obs, _ = envs.reset(seed=5)
    plain_envs.reset(seed=5)
    valid = np.ones(3, bool)
    for _ in range(steps):
        actions = envs.action_space.sample()
        next_obs, proxy, terminated, truncated, info = envs.step(actions)
        _, reward, *_, plain_info = plain_envs.step(actions)
        assert list(info["reward_trace"]) == ["env", "shaped"]
        np.testing.assert_array_equal(info["gold_reward"], plain_info["gold_reward"])
        np.testing.assert_array_equal(info["reward_trace"]["env"], reward)
        check_potential_step(env_id, gamma, obs, next_obs, reward, proxy, terminated, valid)
        valid = ~(terminated | truncated)
        obs = next_obs


def test_built_in_potentials_serve_gymnasiums_own_envs_too():
    env = rewardgym.wrap(gym.make("CartPole-v1"), "shaped(gamma=1.0)")
    obs, _ = env.reset(seed=0)
    next_obs, proxy, terminated, *_ = env.step(0)
    check_potential_step("CartPole-v1", 1.0, obs[None], next_obs[None], 1.0, proxy, terminated)


def test_a_user_potential_serves_a_tabular_env():
    table = np.linspace(0.0, 1.0, 16)

    def by_cell(obs):
        return table[obs]

    env = rewardgym.wrap(gym.make("FrozenLake-v1", is_slippery=False), shaped(potential=by_cell, gamma=0.9))
    obs, _ = env.reset(seed=0)
    next_obs, proxy, terminated, *_ = env.step(2)  # right: cell 0 -> cell 1
    assert (obs, next_obs) == (0, 1)
    assert proxy == pytest.approx(0.0 + 0.9 * table[1] - table[0])


# ---------------------------------------------------------------------------------------------
# Episode ends: termination zeroes Phi(s'), truncation keeps it, with the real final obs,
# and autoreset steps pass the reward through, in both autoreset modes.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_truncation_keeps_phi_of_the_real_final_obs(mode):
    gamma = 0.9
    envs = gym.make_vec(
        "rewardgym/Pendulum-v0", num_envs=3, autoreset_mode=mode, max_episode_steps=5, reward=f"shaped(gamma={gamma})"
    )
    obs, _ = envs.reset(seed=0)
    actions = np.full((3, 1), 2.0, np.float32)
    truncations = passthroughs = 0
    prev_done = np.zeros(3, bool)
    for _ in range(12):
        next_obs, proxy, terminated, truncated, info = envs.step(actions)
        reward = info["reward_trace"]["env"]
        assert not terminated.any()
        final = info["final_obs"] if mode == "same_step" and truncated.any() else next_obs
        real_next = np.where(truncated[:, None], final, next_obs)
        expected = reward + gamma * real_next[:, 0] - obs[:, 0]
        if mode == "next_step":
            np.testing.assert_array_equal(proxy[prev_done], reward[prev_done])  # autoreset steps
            passthroughs += prev_done.sum()
            expected = np.where(prev_done, reward, expected)
        np.testing.assert_allclose(proxy, expected, rtol=1e-5, atol=1e-5)
        if truncated.any():
            truncations += truncated.sum()
            # Phi(s') was not zeroed: the truncated proxy is not r - Phi(s).
            assert np.all(np.abs(proxy - (reward - obs[:, 0]))[truncated] > 0.1)
            if mode == "same_step":  # and it came from the final obs, not the reset obs
                assert np.all(np.abs(final - next_obs)[truncated].max(axis=1) > 1e-3)
        prev_done = terminated | truncated
        obs = next_obs
    assert truncations == 6 and (mode == "same_step" or passthroughs == 6)


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_termination_zeroes_phi_of_the_final_obs(mode):
    gamma = 0.99
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=4, autoreset_mode=mode, reward=f"shaped(gamma={gamma})")
    obs, _ = envs.reset(seed=0)
    phi = lambda o: expected_potential("rewardgym/CartPole-v0", o)  # noqa: E731
    terminations = 0
    prev_done = np.zeros(4, bool)
    for _ in range(40):
        next_obs, proxy, terminated, truncated, info = envs.step(np.ones(4, np.int64))  # push until it falls
        real_next = info["final_obs"] if mode == "same_step" and terminated.any() else next_obs
        live = ~terminated & ~prev_done
        np.testing.assert_allclose(proxy[live], (1.0 + gamma * phi(real_next) - phi(obs))[live], rtol=1e-5)
        ended = terminated & ~prev_done
        np.testing.assert_allclose(proxy[ended], (1.0 - phi(obs))[ended], rtol=1e-5)
        assert np.all(np.abs(gamma * phi(real_next))[ended] > 1e-3)  # zeroing it mattered
        np.testing.assert_array_equal(proxy[prev_done], info["reward_trace"]["env"][prev_done])
        terminations += ended.sum()
        prev_done = (terminated | truncated) if mode == "next_step" else np.zeros(4, bool)
        obs = next_obs
    assert terminations >= 4


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_delta_cap_bounds_every_episode_of_a_vector_env(mode):
    cap = 6.5
    envs = gym.make_vec(
        "rewardgym/CartPole-v0", num_envs=4, autoreset_mode=mode, reward=f"shaped(kind='delta_cap', cap={cap})"
    )
    envs.reset(seed=1)
    rng = np.random.default_rng(0)
    episode_sum, episode_len = np.zeros(4), np.zeros(4)
    prev_done, episodes = np.zeros(4, bool), 0
    for _ in range(80):
        _, proxy, terminated, truncated, info = envs.step(rng.integers(0, 2, 4))
        real = ~prev_done if mode == "next_step" else np.ones(4, bool)
        episode_sum += np.where(real, proxy, 0.0)
        episode_len += real
        assert np.all(episode_sum <= cap + 1e-6)
        # CartPole pays +1 a step, so the capped sum is exactly min(steps, cap).
        np.testing.assert_allclose(episode_sum, np.minimum(episode_len, cap))
        np.testing.assert_allclose(info["regime_info"]["shaped"]["episode_sum"][real], episode_sum[real])
        done = terminated | truncated
        episodes += done.sum()
        episode_sum[done], episode_len[done] = 0.0, 0.0
        prev_done = done
    assert episodes >= 4


# ---------------------------------------------------------------------------------------------
# Torch batches (device="cuda", under numba's CUDA simulator) equal numpy ones.
# ---------------------------------------------------------------------------------------------


def next_x(batch):
    return batch.next_obs[:, 0]


TORCH_SPECS = [
    ("rewardgym/CartPole-v0", "shaped(gamma=0.9, scale=2.0)"),
    ("rewardgym/Acrobot-v0", "shaped(kind='potential')"),
    ("rewardgym/MountainCar-v0", "shaped(kind='naive', scale=0.5)"),
    ("rewardgym/Pendulum-v0", "shaped(kind='clip', low=-2.0, high=-0.5)"),
    ("rewardgym/Pendulum-v0", "shaped(kind='par', r_ref=[-1.0, -3.0])"),
    ("rewardgym/Pendulum-v0", "shaped(kind='log_sigmoid', r_ref=-2.0)"),
    ("rewardgym/CartPole-v0", "shaped(kind='delta_cap', cap=4.5)"),
    (
        "rewardgym/CartPole-v0",
        "shaped(kind='weighted_sum', terms=[\"shaped(kind='par')\", 'scale(factor=2)'], "
        "weights=[3.0, -1.0], include_input=True)",
    ),
    ("rewardgym/Pendulum-v0", "weighted_sum_with_a_callable"),
]


def make_spec(spec):
    if spec == "weighted_sum_with_a_callable":  # a fresh regime per env: regimes keep state
        return shaped(kind="weighted_sum", terms=[next_x, "shaped(kind='naive')"], weights=[3.0, -1.0])
    return spec


@pytest.mark.parametrize("env_id, spec", TORCH_SPECS)
def test_torch_batches_equal_numpy_batches(env_id, spec):
    cpu = gym.make_vec(env_id, num_envs=3, device="cpu", max_episode_steps=6, reward=make_spec(spec))
    gpu = gym.make_vec(env_id, num_envs=3, device="cuda", max_episode_steps=6, reward=make_spec(spec))
    cpu.action_space.seed(0)
    cpu.reset(seed=2)
    gpu.reset(seed=2)
    for _ in range(10):
        actions = cpu.action_space.sample()
        _, proxy_cpu, *_, info_cpu = cpu.step(actions)
        _, proxy_gpu, *_, info_gpu = gpu.step(torch.as_tensor(actions))
        assert isinstance(proxy_gpu, torch.Tensor) and proxy_gpu.dtype == torch.float32
        np.testing.assert_allclose(proxy_gpu.numpy(), proxy_cpu, rtol=1e-5, atol=1e-6)
        for key, value in info_cpu.get("regime_info", {}).get("shaped", {}).items():
            np.testing.assert_allclose(info_gpu["regime_info"]["shaped"][key].numpy(), value, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Specs, kinds and bad input.
# ---------------------------------------------------------------------------------------------


def test_every_kind_is_made_from_a_spec_string_with_the_family_name():
    env = gym.make("rewardgym/CartPole-v0", reward="shaped(kind='clip', low=0.0, high=0.25)+scale(factor=2)")
    env.reset(seed=0)
    _, proxy, _, _, info = env.step(0)
    assert proxy == 0.5 and info["reward_trace"] == {"env": 1.0, "shaped": 0.25, "scale": 0.5}
    for kind in rewardgym.wrappers.shaped.KINDS:
        params = {"terms": ["scale"]} if kind == "weighted_sum" else {}
        assert shaped(kind=kind, **params).name == "shaped"
    assert isinstance(rewardgym.make_regime("shaped"), rewardgym.wrappers.shaped.PotentialShaping)


@pytest.mark.parametrize("gamma", [0.0, -0.5, 1.01, float("nan"), True, "0.9"])
def test_gamma_outside_0_1_is_refused(gamma):
    with pytest.raises(ValueError, match=r"gamma=.* must be in \(0, 1\]"):
        shaped(gamma=gamma)


def test_a_potential_of_the_wrong_shape_is_refused_by_name():
    def flat_potential(obs):
        return obs  # (n, 1), not (n,)

    regime = shaped(potential=flat_potential)
    with pytest.raises(ValueError, match=r"potential 'flat_potential' returned shape \(3, 1\) .* shape \(3,\)"):
        regime.reward(transition(**FORMULA_BATCH))
    with pytest.raises(
        ValueError, match=r"potential '<lambda>' returned shape \(1, 1\) for observations of shape \(1, 3\)"
    ):
        env = gym.make("rewardgym/Pendulum-v0", reward=shaped(kind="naive", potential=lambda o: o[:, :1]))
        env.reset(seed=0)
        env.step([0.0])
    with pytest.raises(ValueError, match="parameter potential=3"):
        shaped(potential=3)


def test_an_env_without_a_builtin_potential_is_refused_at_bind():
    with pytest.raises(
        ValueError, match=r"no built-in potential for env 'FrozenLake-v1'; envs with one: rewardgym/CartPole-v0"
    ):
        rewardgym.wrap(gym.make("FrozenLake-v1"), "shaped")
    with pytest.raises(ValueError, match="no built-in potential for env None"):
        rewardgym.wrap(gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1")]), "shaped(kind='naive')")
    # An env without an id can name the built-in potential it should use.
    envs = rewardgym.wrap(gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1")]), shaped(potential="CartPole-v1"))
    obs, _ = envs.reset(seed=0)
    next_obs, proxy, terminated, *_ = envs.step(np.array([1]))
    check_potential_step("CartPole-v1", 0.99, obs, next_obs, 1.0, proxy, terminated)
    with pytest.raises(
        ValueError, match=r"built-in potential of 'CartPole-v1' reads observations of shape \(4,\), but .* \(2, 4\)"
    ):
        rewardgym.wrap(gym.wrappers.FrameStackObservation(gym.make("CartPole-v1"), 2), "shaped")
    with pytest.raises(RuntimeError, match="not bound to an env"):
        shaped().reward(transition(**FORMULA_BATCH))


def test_bad_parameters_are_refused_by_name():
    with pytest.raises(ValueError, match=r"needs low < high, got low=1.0, high=1.0"):
        shaped(kind="clip", low=1.0, high=1.0)
    with pytest.raises(ValueError, match=r"needs low < high"):
        gym.make("rewardgym/CartPole-v0", reward="shaped(kind='clip', low=2, high=-2)")
    with pytest.raises(
        ValueError, match=r"unknown kind 'clipp' of regime 'shaped' \(did you mean 'clip'\?\); valid kinds: potential"
    ):
        shaped(kind="clipp")
    with pytest.raises(ValueError, match=r"shaped\(kind='par'\) has no parameter 'gamma'; its parameters: r_ref"):
        gym.make("rewardgym/CartPole-v0", reward="shaped(kind='par', gamma=0.9)")
    with pytest.raises(ValueError, match=r"has no parameter 'sigma'"):
        shaped(sigma=1.0)
    with pytest.raises(ValueError, match=r"scale=inf must be a finite number"):
        shaped(kind="naive", scale=float("inf"))
    with pytest.raises(ValueError, match=r"r_ref=\[\] must be a finite number or a non-empty list"):
        shaped(kind="par", r_ref=[])
    with pytest.raises(ValueError, match=r"r_ref=\[1.0\] must be a finite number"):
        shaped(kind="log_sigmoid", r_ref=[1.0])
    with pytest.raises(ValueError, match=r"cap=nan must be a finite number"):
        shaped(kind="delta_cap", cap=float("nan"))
    with pytest.raises(ValueError, match=r"terms='scale' must be a non-empty list"):
        shaped(kind="weighted_sum", terms="scale")
    with pytest.raises(ValueError, match=r"weights=\[1.0\] must be a list of 2 numbers, one per term"):
        shaped(kind="weighted_sum", terms=["scale", "scale"], weights=[1.0])
    with pytest.raises(ValueError, match=r"include_input=1 must be True or False"):
        shaped(kind="weighted_sum", terms=["scale"], include_input=1)
    with pytest.raises(ValueError, match=r"unknown reward regime 'nope'"):
        shaped(kind="weighted_sum", terms=["nope"])
    with pytest.raises(ValueError, match=r"term 'custom' returned shape \(1,\) for a batch of 3 envs"):
        shaped(kind="weighted_sum", terms=[lambda b: b.reward[:1]]).reward(transition(**FORMULA_BATCH))


def test_the_docstring_examples_run():
    import doctest
    import importlib
    import pkgutil

    # The family is a package: its examples live in each kind's module.
    package = rewardgym.wrappers.shaped
    modules = [package] + [
        importlib.import_module(m.name) for m in pkgutil.iter_modules(package.__path__, "rewardgym.wrappers.shaped.")
    ]
    runs = [doctest.testmod(module, optionflags=doctest.ELLIPSIS) for module in modules]
    results = doctest.TestResults(sum(r.failed for r in runs), sum(r.attempted for r in runs))
    assert results.attempted >= 40 and results.failed == 0


# ----------------------------------------------------------------------------------------------
# The compiled path (built-in potentials on numpy batches) against the numpy/torch path


@pytest.mark.parametrize(
    "env_id",
    [
        "rewardgym/CartPole-v0",
        "rewardgym/MountainCar-v0",
        "rewardgym/MountainCarContinuous-v0",
        "rewardgym/Pendulum-v0",
        "rewardgym/Acrobot-v0",
    ],
)
@pytest.mark.parametrize("kind", ["potential", "naive"])
def test_compiled_shaping_equals_the_python_potentials(env_id, kind):
    builtin = BUILTIN_POTENTIALS[env_id]
    rng = np.random.default_rng(0)
    n = 257
    # Observations in the env's own ranges (MountainCar's potential divides by a small energy).
    spread = np.array([0.6, 0.05]) if "MountainCar" in env_id else 1.0
    obs = (rng.normal(size=(n, *builtin.obs_shape)) * spread).astype(np.float32)
    next_obs = (rng.normal(size=(n, *builtin.obs_shape)) * spread).astype(np.float32)
    terminated = rng.random(n) < 0.3
    batch = Transition(
        obs,
        np.zeros(n, np.int64),
        next_obs,
        rng.normal(size=n).astype(np.float32),
        terminated,
        np.zeros(n, bool),
        np.ones(n, bool),
    )
    params = {"gamma": 0.9, "scale": 2.0} if kind == "potential" else {"scale": 2.0}
    compiled = shaped(kind=kind, potential=env_id, **params)
    python = shaped(kind=kind, potential=builtin.function, **params)  # a callable: the numpy path
    assert compiled._compiled is not None and python._compiled is None
    # The reference sees the same observations in float64: numpy's float32 sin is less exact.
    fast = compiled.reward(batch)
    slow = python.reward(batch._replace(obs=obs.astype(np.float64), next_obs=next_obs.astype(np.float64)))
    assert fast.dtype == slow.dtype == np.float32
    np.testing.assert_allclose(fast, slow, rtol=1e-6, atol=1e-6)
    key = "shaping" if kind == "potential" else "bonus"
    np.testing.assert_allclose(compiled.info()[key], python.info()[key], rtol=1e-6, atol=1e-6)
    if kind == "potential":  # Phi(s') is 0 exactly where the step terminated
        phi = builtin.function(obs.astype(np.float64))
        np.testing.assert_allclose(compiled.info()[key][terminated], -2.0 * phi[terminated], rtol=1e-5, atol=1e-6)
