"""The adversarial family: bounded reward poisoning with a total budget, targeted and adaptive."""

import doctest

import gymnasium as gym
import numpy as np
import pytest
import rewardgym
import rewardgym.wrappers.adversarial as adversarial_module
import torch
from gymnasium import spaces
from rewardgym.core.regime import EnvContext
from rewardgym.core.transition import Transition
from rewardgym.wrappers.adversarial import Adaptive, Targeted, Untargeted, adversarial

TARGETED = "adversarial(kind='targeted', "


def report(info):
    return info["regime_info"]["adversarial"]


class Chain(gym.Env):
    """States 0..5 in a row; action 0 steps left (stays at 0), 1 steps right.

    Entering state 5 pays +1 and ends the episode; 20 steps truncate it. Episodes start in a
    uniformly drawn state 0..4, so every state is visited. The optimal policy is "always right".
    """

    observation_space = spaces.Discrete(6)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.state, self.t = int(self.np_random.integers(0, 5)), 0
        return self.state, {}

    def step(self, action):
        self.state = max(self.state - 1, 0) if action == 0 else self.state + 1
        self.t += 1
        goal = self.state == 5
        return self.state, float(goal), goal, self.t >= 20 and not goal, {}


def q_learning(reward, q, seed, steps=4000, alpha=0.1, gamma=0.9, epsilon=0.2):
    """Plain epsilon-greedy Q-learning on the proxy reward, filling ``q`` in place.

    Returns the greedy action of each non-terminal state and the attack's spent budget.
    """
    env = rewardgym.wrap(Chain(), reward)
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    spent = 0.0
    for _ in range(steps):
        action = int(rng.integers(2)) if rng.random() < epsilon else int(np.argmax(q[obs]))
        next_obs, proxy, terminated, truncated, info = env.step(action)
        assert info["gold_reward"] == info["reward_trace"]["env"]
        bootstrap = 0.0 if terminated else gamma * q[next_obs].max()
        q[obs, action] += alpha * (proxy + bootstrap - q[obs, action])
        spent = report(info)["spent"]
        obs = env.reset()[0] if terminated or truncated else next_obs
    return q[:5].argmax(1).tolist(), spent


PI_DAGGER = [0, 0, 0, 0, 0]  # "always left": the learner never reaches the goal
OPTIMUM = [1, 1, 1, 1, 1]


@pytest.mark.parametrize("seed", [0, 1])
def test_targeted_attack_teaches_a_q_learner_pi_dagger_only_with_enough_budget(seed):
    spec = "adversarial(kind='targeted', target='always:0', delta_max=0.5{})"
    policy, spent = q_learning(spec.format(""), np.zeros((6, 2)), seed)
    assert policy == PI_DAGGER and spent == 0.5 * 4000  # every step attacked, at full delta_max
    assert q_learning(spec.format(", budget=0"), np.zeros((6, 2)), seed) == (OPTIMUM, 0.0)
    # 400 lasts the first 800 steps; the true reward then wins the learner back.
    assert q_learning(spec.format(", budget=400"), np.zeros((6, 2)), seed) == (OPTIMUM, 400.0)
    # A per-state table works from a spec string too.
    table = spec.format("").replace("'always:0'", "[0, 0, 0, 0, 0, 0]")
    assert q_learning(table, np.zeros((6, 2)), seed)[0] == PI_DAGGER


@pytest.mark.parametrize("seed", [0, 1])
def test_adaptive_attack_reaches_pi_dagger_on_a_budget_the_non_adaptive_one_cannot(seed):
    q = np.zeros((6, 2))
    attack = adversarial("adaptive", target=0, learner_policy=lambda obs: q[obs], delta_max=0.5, margin=0.25)
    policy, spent = q_learning(attack, q, seed)
    assert policy == PI_DAGGER
    assert 0 < spent < 0.2 * (0.5 * 4000)  # under a fifth of what the non-adaptive attack spends
    q = np.zeros((6, 2))
    limited = adversarial(
        "adaptive", target=0, learner_policy=lambda obs: q[obs], delta_max=0.5, margin=0.25, budget=400
    )
    assert q_learning(limited, q, seed)[0] == PI_DAGGER


def test_adaptive_attack_spends_only_where_the_learner_is_off_target():
    preferred = np.array([0, 1, 0, 1])
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=4)
    attack = adversarial("adaptive", target=0, learner_policy=lambda obs: preferred, delta_max=0.3)
    envs = rewardgym.wrap(envs, attack)
    envs.reset(seed=0)
    info = envs.step(np.array([0, 0, 1, 1]))[4]
    # Envs 0 and 2 already prefer pi-dagger's action: nothing spent there, whatever was done.
    np.testing.assert_allclose(report(info)["delta"], [0.0, 0.3, 0.0, -0.3])
    # Scores: taught only where the target's score leads every other by more than the margin.
    scores = np.array([[0.5, 0.1], [0.5, 0.45], [0.1, 0.5], [0.3, 0.3]])
    attack = adversarial("adaptive", target=0, learner_policy=lambda obs: scores, delta_max=0.3, margin=0.1)
    envs = rewardgym.wrap(gym.make_vec("rewardgym/CartPole-v0", num_envs=4), attack)
    envs.reset(seed=0)
    np.testing.assert_allclose(report(envs.step(np.array([1, 1, 1, 0]))[4])["delta"], [0.0, -0.3, -0.3, 0.3])


@pytest.mark.parametrize(
    ("env_id", "spec"),
    [
        ("rewardgym/CartPole-v0", "adversarial(delta_max=0.7, budget=5, rate=0.5)"),
        ("rewardgym/Pendulum-v0", "adversarial(delta_max=3, budget=40, rate=0.7)"),
        ("rewardgym/Pendulum-v0", "adversarial(center='mean', delta_max=1.5, budget=20)"),
        ("rewardgym/CartPole-v0", TARGETED + "target=1, delta_max=.4, budget=7.3, rate=.9)"),
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_budget_is_never_exceeded_and_the_last_delta_is_clamped(env_id, spec, seed):
    envs = gym.make_vec(env_id, num_envs=8, reward=spec, max_episode_steps=30)
    regime = envs.pipeline.regimes[0]
    envs.reset(seed=seed)
    envs.action_space.seed(seed)
    total = np.zeros(8)
    partial = False
    prev_done = np.zeros(8, bool)
    for _ in range(300):
        _, proxy, terminated, truncated, info = envs.step(envs.action_space.sample())
        step = report(info)
        delta = step["delta"]
        assert np.all(np.abs(delta) <= regime.delta_max)
        assert np.all(delta[prev_done] == 0)  # autoreset steps are not transitions: no attack
        np.testing.assert_allclose(proxy, info["reward_trace"]["env"] + delta, atol=1e-5)
        np.testing.assert_array_equal(info["gold_reward"], info["reward_trace"]["env"])
        partial |= bool(np.any((np.abs(delta) > 0) & (np.abs(delta) < regime.delta_max - 1e-9) & (total > 0)))
        total += np.abs(delta)
        assert np.all(total <= regime.budget + 1e-9)
        np.testing.assert_allclose(step["spent"], total, rtol=0, atol=1e-9)
        np.testing.assert_allclose(step["remaining"], regime.budget - step["spent"], atol=1e-12)
        prev_done = terminated | truncated
    np.testing.assert_allclose(total, regime.budget, atol=1e-9)  # every env ran out ...
    assert partial  # ... and at least one last delta was cut to what was left


def test_budget_is_for_the_whole_run_not_refilled_by_episode_resets():
    env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), "adversarial(delta_max=1, budget=2.5)")
    env.reset(seed=0)
    for _ in range(2):
        info = env.step(0)[4]
    assert report(info)["spent"] == 2.0
    env.reset()  # a new episode of the same run
    assert env.step(0)[1] == 0.5 and env.step(0)[1] == 1.0
    env.pipeline.regimes[0].refill()
    assert env.step(0)[1] == 0.0


def test_a_seeded_reset_starts_a_new_run_with_the_whole_budget():
    env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), "adversarial(delta_max=1, budget=2.5)")
    env.reset(seed=0)
    first = [env.step(0)[1] for _ in range(4)]
    env.reset(seed=0)  # gymnasium's rule: the same seed and actions give the same rewards
    assert [env.step(0)[1] for _ in range(4)] == first == [0.0, 0.0, 0.5, 1.0]

    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=3, reward="adversarial(delta_max=1, budget=1.5)")
    envs.reset(seed=0)
    for _ in range(2):
        envs.step(np.zeros(3, np.int64))
    envs.reset(seed=1, options={"reset_mask": np.array([True, False, False])})  # env 0's run restarts
    info = envs.step(np.zeros(3, np.int64))[4]
    assert report(info)["spent"].tolist() == [1.0, 1.5, 1.5]


def test_only_steps_with_a_nonzero_delta_are_reported_attacked():
    env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), "adversarial(delta_max=1, budget=1.0)")
    env.reset(seed=0)
    assert report(env.step(0)[4])["attacked"] is True
    step = report(env.step(0)[4])  # the budget is spent
    assert step["attacked"] is False and step["delta"] == 0.0
    # The same on the numpy/torch path (a torch batch) as on the compiled one.
    attack = adversarial(budget=1.0)
    batch = Transition(
        *(
            torch.as_tensor(x)
            for x in (
                np.zeros((2, 1)),
                np.zeros(2),
                np.zeros((2, 1)),
                np.array([1.0, 0.0], np.float32),
                np.zeros(2, bool),
                np.zeros(2, bool),
                np.ones(2, bool),
            )
        )
    )
    attack.reward(batch)
    assert attack.info()["attacked"].tolist() == [True, False]  # nothing to flip in env 1
    attack.reward(batch)
    assert attack.info()["attacked"].tolist() == [False, False]


def test_untargeted_flips_the_reward_around_zero_or_its_running_mean():
    env = gym.make_vec("rewardgym/Pendulum-v0", num_envs=3, reward="adversarial(delta_max=2.5)")
    env.reset(seed=0)
    env.action_space.seed(0)
    clipped = 0
    for _ in range(50):
        info = env.step(env.action_space.sample())[4]
        r = info["reward_trace"]["env"].astype(np.float64)
        np.testing.assert_allclose(report(info)["delta"], np.clip(-2 * r, -2.5, 2.5), atol=1e-6)
        clipped += int(np.sum(np.abs(2 * r) > 2.5))
    assert clipped > 0  # the bound was exercised

    env = gym.make_vec("rewardgym/Pendulum-v0", num_envs=3, reward="adversarial(center='mean', delta_max=1)")
    env.reset(seed=1)
    env.action_space.seed(1)
    rewards = []
    for _ in range(40):
        info = env.step(env.action_space.sample())[4]
        rewards.append(info["reward_trace"]["env"].astype(np.float64))
        mean = np.mean(rewards, axis=0)
        expected = np.clip(-2 * (rewards[-1] - mean), -1, 1)
        np.testing.assert_allclose(report(info)["delta"], expected, atol=1e-5)

    # A constant reward deviates from nothing: nothing to flip, nothing spent.
    env = gym.make_vec("rewardgym/CartPole-v0", num_envs=2, reward="adversarial(center='mean')")
    env.reset(seed=0)
    for _ in range(5):
        info = env.step(np.zeros(2, np.int64))[4]
    assert report(info)["spent"].tolist() == [0.0, 0.0]


def test_targeted_rewards_pi_daggers_action_and_punishes_the_others():
    spec = "adversarial(kind='targeted', target='always:1', delta_max=0.25)"
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=6, reward=spec)
    envs.reset(seed=0)
    actions = np.array([0, 1, 1, 0, 1, 0])
    proxy, info = envs.step(actions)[1::3]
    np.testing.assert_allclose(report(info)["delta"], np.where(actions == 1, 0.25, -0.25))
    np.testing.assert_allclose(proxy, np.where(actions == 1, 1.25, 0.75))

    # A callable pi-dagger: push the cart back towards the centre.
    toward_centre = lambda obs: (obs[:, 0] < 0).astype(np.int64)  # noqa: E731
    attack = adversarial("targeted", target=toward_centre)
    envs = rewardgym.wrap(gym.make_vec("rewardgym/CartPole-v0", num_envs=6), attack)
    obs, _ = envs.reset(seed=3)
    info = envs.step(actions)[4]
    np.testing.assert_allclose(report(info)["delta"], np.where(actions == toward_centre(obs), 1.0, -1.0))

    # A per-state table on a tabular env, through a single gymnasium env.
    env = rewardgym.wrap(
        gym.make("FrozenLake-v1", is_slippery=False),
        "adversarial(kind='targeted', delta_max=0.5, target=[1, 2, 1, 0, 1, 0, 1, 0, 2, 1, 1, 0, 0, 2, 2, 0])",
    )
    env.reset(seed=0)
    assert [env.step(a)[1] for a in (2, 2, 1, 0)] == [-0.5, 0.5, 0.5, -0.5]


def test_attack_rate_matches_the_fraction_of_attacked_steps():
    for rate in (0.0, 0.3, 1.0):
        spec = f"adversarial(delta_max=0.5, rate={rate})"
        envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=64, reward=spec)
        envs.reset(seed=5)
        attacked, spent_steps, steps = 0, 0, 0
        per_env = np.zeros(64)
        prev_done = np.zeros(64, bool)
        for _ in range(200):
            _, _, terminated, truncated, info = envs.step(np.zeros(64, np.int64))
            step = report(info)
            real = ~prev_done
            assert not np.any(step["attacked"][prev_done])
            attacked += int(step["attacked"][real].sum())
            spent_steps += int((step["delta"][real] != 0).sum())
            per_env += step["attacked"]
            steps += int(real.sum())
            prev_done = terminated | truncated
        fraction = attacked / steps
        assert spent_steps == attacked  # CartPole's +1 is always worth flipping
        # 4 standard deviations of a binomial fraction over ~12,800 draws.
        assert abs(fraction - rate) <= 4 * np.sqrt(rate * (1 - rate) / steps) + 1e-12
        if rate == 0.3:
            assert len(set(per_env.tolist())) > 10  # envs draw independently


def test_same_seed_same_attack_different_seed_different_attack_and_gold_untouched():
    def run(seed):
        spec = "adversarial(delta_max=1, budget=30, rate=0.4)"
        envs = gym.make_vec("rewardgym/Pendulum-v0", num_envs=4, reward=spec)
        envs.reset(seed=seed)
        envs.action_space.seed(0)
        deltas = []
        for _ in range(60):
            _, proxy, _, _, info = envs.step(envs.action_space.sample())
            np.testing.assert_array_equal(info["gold_reward"], info["reward_trace"]["env"])
            assert np.all((proxy != info["gold_reward"]) == (report(info)["delta"] != 0))
            deltas.append(report(info)["delta"])
        return np.array(deltas)

    np.testing.assert_array_equal(run(7), run(7))
    assert not np.array_equal(run(7), run(8))


def test_the_designs_example_spec_works_with_the_defaults():
    env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), "adversarial(budget=0.2)")
    env.reset(seed=0)
    proxy, info = env.step(1)[1::3]
    assert proxy == pytest.approx(0.8)
    assert report(info) == {"spent": 0.2, "remaining": 0.0, "delta": pytest.approx(-0.2), "attacked": True}
    proxy, info = env.step(1)[1::3]  # the budget is gone: the reward passes through
    assert proxy == 1.0 and report(info) == {"spent": 0.2, "remaining": 0.0, "delta": 0.0, "attacked": False}
    assert list(info["reward_trace"]) == ["env", "adversarial"]
    assert isinstance(adversarial(), Untargeted)
    assert isinstance(adversarial("targeted", target=0), Targeted)
    assert isinstance(adversarial("adaptive", target=0, learner_policy=lambda obs: obs), Adaptive)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("adversarial(delta_max=-0.1)", r"delta_max=...\) must be a finite number >= 0, got -0.1"),
        ("adversarial(delta_max=True)", r"delta_max=...\) must be a finite number >= 0"),
        ("adversarial(budget=-1)", r"budget=...\) must be a number >= 0, or None \(or inf\) for no limit"),
        ("adversarial(rate=1.5)", r"rate=...\) must be a probability in \[0, 1\], got 1.5"),
        ("adversarial(rate=-0.01)", r"rate=...\) must be a probability in \[0, 1\]"),
        ("adversarial(center='median')", r"center=...\) must be 'zero' or 'mean', got 'median'"),
        (TARGETED + "target='sometimes:1')", r"target=...\) must be an action k, 'always:k'"),
        ("adversarial(kind='targeted')", r"target=...\) must be .* got None"),
        (TARGETED + "target=True)", r"target=...\) must be"),
        (TARGETED + "target=[])", r"target=...\) must be"),
        (TARGETED + "target=5)", r"names action 5, outside the env's action space Discrete\(2\)"),
        (TARGETED + "target=[0, 1])", r"a table needs Discrete\(2\)"),
        ("adversarial(kind='adaptive', target=0)", r"needs learner_policy: a callable"),
        ("adversarial(kind='sneaky')", r"unknown kind 'sneaky'.*; valid kinds: untargeted, targeted, adaptive"),
        ("adversarial(target=1)", r"adversarial\(kind='untargeted'\) has no parameter 'target'"),
        ("adversarial(delta=1)", r"has no parameter 'delta' \(did you mean 'delta_max'\?\)"),
        (TARGETED + "target=0, margin=0.1)", r"kind='targeted'\) has no parameter 'margin'"),
    ],
)
def test_bad_input_is_refused_by_name(spec, match):
    with pytest.raises(ValueError, match=match):
        gym.make("rewardgym/CartPole-v0", reward=spec)


def test_bad_policies_and_spaces_are_refused_by_name():
    with pytest.raises(ValueError, match="needs a Discrete action space"):
        gym.make("rewardgym/Pendulum-v0", reward="adversarial(kind='targeted', target=0)")
    with pytest.raises(ValueError, match="margin=...\\) must be a finite number >= 0"):
        adversarial("adaptive", target=0, learner_policy=lambda obs: obs, margin=-1)
    attack = adversarial("targeted", target=lambda obs: np.zeros(2))
    envs = rewardgym.wrap(gym.make_vec("rewardgym/CartPole-v0", num_envs=3), attack)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=r"returned shape \(2,\) for 3 observations; expected .* \(3,\)"):
        envs.step(np.zeros(3, np.int64))
    attack = adversarial("adaptive", target=0, learner_policy=lambda obs: np.zeros((3, 5)))
    envs = rewardgym.wrap(gym.make_vec("rewardgym/CartPole-v0", num_envs=3), attack)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(3, 5\); expected actions \(3,\) or scores \(3, 2\)"):
        envs.step(np.zeros(3, np.int64))


def test_torch_batches_from_a_cuda_env():
    envs = gym.make_vec(
        "rewardgym/CartPole-v0",
        num_envs=4,
        device="cuda",
        reward="adversarial(kind='targeted', target='always:1', delta_max=0.5, budget=1.2, rate=0.75)",
    )
    envs.reset(seed=0)
    actions = torch.tensor([1, 0, 1, 0])
    total = torch.zeros(4, dtype=torch.float64)
    for _ in range(6):
        _, proxy, _, _, info = envs.step(actions)
        step = report(info)
        assert all(isinstance(step[key], torch.Tensor) for key in ("spent", "remaining", "delta", "attacked"))
        assert isinstance(proxy, torch.Tensor) and proxy.dtype == torch.float32
        assert torch.all(step["delta"].abs() <= 0.5)
        assert torch.all(torch.sign(step["delta"]) * torch.where(actions == 1, 1, -1) >= 0)
        total += step["delta"].abs()
        torch.testing.assert_close(proxy, (info["reward_trace"]["env"] + step["delta"]).float())
        torch.testing.assert_close(info["gold_reward"], torch.ones(4))
    torch.testing.assert_close(step["spent"], total)
    assert torch.all(total <= 1.2 + 1e-9) and torch.any(total > 1.0)

    scores = lambda obs: torch.stack([obs[:, 0], -obs[:, 0]], dim=1)  # noqa: E731
    attack = adversarial("adaptive", target=1, learner_policy=scores, delta_max=0.5)
    envs = rewardgym.wrap(gym.make_vec("rewardgym/CartPole-v0", num_envs=4, device="cuda"), attack)
    obs, _ = envs.reset(seed=1)
    info = envs.step(actions)[4]
    off_target = -obs[:, 0] <= obs[:, 0]
    expected = torch.where(off_target, torch.where(actions == 1, 0.5, -0.5), 0.0).double()
    torch.testing.assert_close(report(info)["delta"], expected)

    # A table pi-dagger looks torch observations up on their own device.
    attack = adversarial("targeted", target=[2, 0, 1, 3], delta_max=0.5)
    attack.bind(EnvContext(num_envs=3, observation_space=spaces.Discrete(4), action_space=spaces.Discrete(4)))
    batch = Transition(
        obs=torch.tensor([0, 3, 1]),
        action=torch.tensor([2, 1, 0]),
        next_obs=torch.tensor([1, 2, 0]),
        reward=torch.zeros(3),
        terminated=torch.zeros(3, dtype=torch.bool),
        truncated=torch.zeros(3, dtype=torch.bool),
        valid=torch.ones(3, dtype=torch.bool),
    )
    torch.testing.assert_close(attack.reward(batch), torch.tensor([0.5, -0.5, 0.5]))


def test_docstring_examples_run():
    results = doctest.testmod(adversarial_module, optionflags=doctest.ELLIPSIS)
    assert results.attempted >= 6 and results.failed == 0


def test_a_target_table_is_indexed_from_the_observation_spaces_first_state():
    import gymnasium as gym
    from gymnasium import spaces

    class Shifted(gym.Env):
        observation_space = spaces.Discrete(3, start=1)
        action_space = spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            return 1, {}

        def step(self, action):
            return 3, 0.0, False, False, {}

    env = rewardgym.wrap(Shifted(), "adversarial(kind='targeted', target=[0, 1, 1], delta_max=0.5)")
    env.reset(seed=0)
    assert env.step(0)[1] == 0.5  # state 1 is the table's first entry, whose target is action 0
    assert env.step(1)[1] == 0.5  # state 3, the last entry: action 1


@pytest.mark.parametrize(
    "spec",
    [
        dict(kind="untargeted", delta_max=0.7, budget=2.5, rate=0.6),
        dict(kind="untargeted", center="mean", delta_max=0.4, budget=None),
        dict(kind="targeted", target=1, delta_max=0.5, budget=1.7),
    ],
)
def test_the_compiled_numpy_path_keeps_the_torch_paths_books(spec):
    """numpy batches take one compiled pass, torch ones the array path: same rewards and books."""
    rng = np.random.default_rng(0)
    n = 64
    attacks = [adversarial(**spec) for _ in range(2)]
    context = EnvContext(
        num_envs=n,
        observation_space=spaces.Box(-1, 1, (2,)),
        action_space=spaces.Discrete(2),
        device="cpu",
        env_id=None,
    )
    for attack in attacks:
        attack.bind(context)
        attack.reset(None, seed=3)
    for _ in range(6):
        reward = rng.normal(size=n).astype(np.float32)
        batch = Transition(
            np.zeros((n, 2), np.float32),
            rng.integers(0, 2, n),
            np.zeros((n, 2), np.float32),
            reward,
            np.zeros(n, bool),
            np.zeros(n, bool),
            rng.random(n) < 0.9,
        )
        # The rate's draws come from numpy's and torch's generators, so give both the same ones.
        if spec.get("rate", 1.0) < 1.0:
            attacks[0].rate = attacks[1].rate = 1.0
            batch = batch._replace(valid=batch.valid & (rng.random(n) < spec["rate"]))
        fast = attacks[0].reward(batch)
        slow = attacks[1].reward(Transition(*(torch.as_tensor(np.asarray(x)) for x in batch[:7])))
        np.testing.assert_allclose(fast, slow.numpy(), rtol=1e-6, atol=1e-7)
        for key in ("spent", "remaining", "delta", "attacked"):
            np.testing.assert_allclose(
                np.asarray(attacks[0].info()[key], np.float64),
                attacks[1].info()[key].numpy().astype(np.float64),
                rtol=1e-12,
            )
    budget = attacks[0].budget
    assert np.all(attacks[0].info()["spent"] <= budget)


def test_a_target_policy_answering_outside_the_action_space_is_refused_by_name():
    attack = rewardgym.make_regime("adversarial", kind="targeted", target=lambda obs: np.full(len(obs), 9))
    envs = rewardgym.wrap(gym.make_vec("rewardgym/CartPole-v0", num_envs=2), attack)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=r"returned action 9, outside the env's action space \(actions 0 to 1\)"):
        envs.step(np.zeros(2, np.int64))
