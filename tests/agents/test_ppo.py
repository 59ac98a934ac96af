"""The native batched PPO: settings, the agent, advantages, the training loop, seeding."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the envs)
import torch
from gymnasium import spaces
from rewardgym.agents.evaluation import evaluate as first_episode_returns
from rewardgym.agents.ppo import ActorCritic, Adam, PPOConfig, compute_gae, learn

SMALL = PPOConfig(num_envs=8, num_steps=16, num_minibatches=2, update_epochs=2, hidden_sizes=(16, 16))


def make_envs(env_id="rewardgym/CartPole-v0", config=SMALL, mode="same_step", **kwargs):
    return gym.make_vec(env_id, num_envs=config.num_envs, autoreset_mode=mode, **{"reward": [], **kwargs})


def parameters(agent: ActorCritic) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().copy() for k, v in agent.state_dict().items()}


# -- settings ---------------------------------------------------------------------------------


def test_config_from_dict_takes_known_keys_and_refuses_unknown_ones():
    config = PPOConfig.from_dict({"num_envs": 4, "hidden_sizes": [8], "target_kl": 0.02})
    assert (config.num_envs, config.hidden_sizes, config.target_kl) == (4, (8,), 0.02)
    assert PPOConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match=r"unknown PPO setting\(s\) \['epochs'\]; valid settings: num_envs"):
        PPOConfig.from_dict({"epochs": 3})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"num_envs": 0}, "num_envs must be an integer >= 1, got 0"),
        ({"num_steps": 2.5}, "num_steps must be an integer >= 1"),
        ({"gamma": 1.5}, r"gamma must be in \[0, 1\], got 1.5"),
        ({"learning_rate": -1.0}, "learning_rate must be a finite number >= 0"),
        ({"activation": "gelu"}, "activation must be one of tanh, relu, got 'gelu'"),
        ({"hidden_sizes": [64, 0]}, "hidden_sizes must be a list of positive integers"),
        ({"target_kl": 0.0}, "target_kl must be a number > 0 or None"),
        ({"anneal_lr": "yes"}, "anneal_lr must be True or False"),
        ({"num_envs": 2, "num_steps": 2, "num_minibatches": 5}, "num_minibatches .5. exceeds the batch size"),
    ],
)
def test_config_refuses_bad_values_by_name(settings, message):
    with pytest.raises(ValueError, match=message):
        PPOConfig(**settings)


# -- the agent --------------------------------------------------------------------------------


def test_discrete_agent_actions_are_int64_indices_shifted_by_the_space_start():
    agent = ActorCritic(spaces.Box(-1, 1, (3,)), spaces.Discrete(4, start=2), seed=0)
    actions = agent.predict(np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32), deterministic=False)
    assert actions.shape == (50,) and actions.dtype == np.int64
    assert set(actions.tolist()) <= {2, 3, 4, 5} and len(set(actions.tolist())) > 1
    assert agent.predict(np.zeros(3, np.float32)).shape == ()  # one observation, one action


def test_box_agent_actions_are_float32_clipped_to_the_bounds():
    action_space = spaces.Box(np.array([-1.0, 0.0], np.float32), np.array([1.0, 0.5], np.float32))
    agent = ActorCritic(spaces.Box(-1, 1, (3,)), action_space, log_std_init=2.0, seed=0)
    actions = agent.predict(np.zeros((200, 3), np.float32), deterministic=False)
    assert actions.shape == (200, 2) and actions.dtype == np.float32
    assert (actions >= action_space.low).all() and (actions <= action_space.high).all()
    assert ((actions == action_space.low) | (actions == action_space.high)).any()  # std e^2: some clip


def test_agent_refuses_spaces_it_cannot_handle():
    with pytest.raises(TypeError, match="Discrete or flat Box actions, got MultiDiscrete"):
        ActorCritic(spaces.Box(-1, 1, (3,)), spaces.MultiDiscrete([2, 2]))
    with pytest.raises(TypeError, match=r"flat float Box observations \(shape \(n,\)\)"):
        ActorCritic(spaces.Box(-1, 1, (3, 3)), spaces.Discrete(2))
    agent = ActorCritic(spaces.Box(-1, 1, (3,)), spaces.Discrete(2))
    with pytest.raises(ValueError, match=r"shape \(n, 3\) or \(3,\), got shape \(2, 4\)"):
        agent.predict(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="one-hot encoded; use normalize_obs=False"):
        ActorCritic(spaces.Box(0, 3, (2, 2), np.uint8), spaces.Discrete(2), normalize_obs=True)


def test_integer_grids_are_one_hot_encoded_cell_by_cell():
    # A gridworld's observation: a grid of object codes, each cell a category (codes 1..3 here).
    agent = ActorCritic(spaces.Box(1, 3, (2, 2), np.int64), spaces.Discrete(4), seed=0)
    assert agent.input_dim == 4 * 3
    grids = torch.tensor([[[1, 2], [3, 1]], [[3, 3], [2, 1]]])
    encoded = agent.normalize(grids)
    expected = torch.nn.functional.one_hot(grids.reshape(2, 4) - 1, 3).reshape(2, 12).float()
    assert torch.equal(encoded, expected)
    assert agent.predict(grids.numpy()).shape == (2,)
    assert agent.predict(grids[0].numpy()).shape == ()


def test_log_probs_and_entropy_match_torch_distributions():
    torch.manual_seed(0)
    obs = torch.randn(32, 3)
    discrete = ActorCritic(spaces.Box(-1, 1, (3,)), spaces.Discrete(3), seed=1)
    action, logp = discrete._sample(obs, torch.Generator().manual_seed(0))
    reference = torch.distributions.Categorical(logits=discrete.actor(obs))
    new_logp, entropy = discrete._log_prob_entropy(obs, action)
    torch.testing.assert_close(logp, reference.log_prob(action))
    torch.testing.assert_close(new_logp, reference.log_prob(action))
    torch.testing.assert_close(entropy, reference.entropy())

    gaussian = ActorCritic(spaces.Box(-1, 1, (3,)), spaces.Box(-1, 1, (2,)), log_std_init=-0.5, seed=1)
    action, logp = gaussian._sample(obs, torch.Generator().manual_seed(0))
    reference = torch.distributions.Normal(gaussian.actor(obs), gaussian.log_std.exp())
    new_logp, entropy = gaussian._log_prob_entropy(obs, action)
    torch.testing.assert_close(logp, reference.log_prob(action).sum(-1))
    torch.testing.assert_close(new_logp, reference.log_prob(action).sum(-1))
    torch.testing.assert_close(entropy, reference.entropy().sum(-1))


def test_observation_statistics_match_numpy_over_batches():
    agent = ActorCritic(spaces.Box(-10, 10, (2,)), spaces.Discrete(2), normalize_obs=True)
    batches = [np.random.default_rng(i).normal(3.0, 2.0, size=(64, 2)).astype(np.float32) for i in range(5)]
    for batch in batches:
        agent.update_obs_stats(torch.from_numpy(batch))
    everything = np.concatenate(batches).astype(np.float64)
    np.testing.assert_allclose(agent.obs_mean.numpy(), everything.mean(0), rtol=1e-5)
    np.testing.assert_allclose(agent.obs_var.numpy(), everything.var(0), rtol=1e-4)
    normalized = agent.normalize(torch.from_numpy(batches[0]))
    assert normalized.dtype == torch.float32 and float(normalized.abs().max()) <= agent.clip_obs


def test_adam_matches_torch_optim_adam():
    torch.manual_seed(0)
    ours = [torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(3))]
    theirs = [torch.nn.Parameter(p.detach().clone()) for p in ours]
    ours_opt = Adam(ours, lr=0.01, eps=1e-5)
    theirs_opt = torch.optim.Adam(theirs, lr=0.01, eps=1e-5)
    for step in range(5):
        target = torch.randn(5)
        for params, opt in ((ours, ours_opt), (theirs, theirs_opt)):
            opt.zero_grad()
            ((params[0] @ params[1] - target) ** 2).sum().backward()
            opt.step()
        ours_opt.lr = theirs_opt.param_groups[0]["lr"] = 0.01 / (step + 2)  # as anneal_lr does
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b)


# -- advantages -------------------------------------------------------------------------------


def test_gae_bootstraps_truncated_episodes_from_the_final_observation_and_not_terminated_ones():
    gamma, lam = 0.9, 0.8
    # Three envs, three steps; every step pays 1 and every value is 0 except where given.
    # env 0: truncated at t=1 (final obs worth 10), a new episode at t=2 (next value 4).
    # env 1: terminated at t=1; the "next value" there (the reset obs's, 7) must be ignored.
    # env 2: runs on; bootstraps from the value after the rollout (2).
    rewards = torch.ones(3, 3)
    values = torch.zeros(3, 3)
    next_values = torch.tensor([[0.0, 0.0, 0.0], [10.0, 7.0, 0.0], [4.0, 5.0, 2.0]])
    terminated = torch.tensor([[False, False, False], [False, True, False], [False, False, False]])
    truncated = torch.tensor([[False, False, False], [True, False, False], [False, False, False]])
    advantages = compute_gae(rewards, values, next_values, terminated, terminated | truncated, gamma, lam)

    def by_hand(rs, vs, next_v, terminal_last, cut_at=None):
        # Advantages of one episode segment: deltas, then the discounted lambda-sum backwards.
        deltas = [r + gamma * nv - v for r, v, nv in zip(rs, vs, next_v)]
        if terminal_last:
            deltas[-1] = rs[-1] - vs[-1]
        out, last = [], 0.0
        for d in reversed(deltas):
            last = d + gamma * lam * last
            out.append(last)
        return out[::-1]

    expected = torch.tensor(
        [
            [*by_hand([1, 1], [0, 0], [0, 10], False), *by_hand([1], [0], [4], False)],
            [*by_hand([1, 1], [0, 0], [0, 7], True), *by_hand([1], [0], [5], False)],
            by_hand([1, 1, 1], [0, 0, 0], [0, 0, 2], False),
        ]
    ).T
    torch.testing.assert_close(advantages, expected.float())
    assert advantages[1, 0] == pytest.approx(1 + gamma * 10)  # the truncation bootstrap
    assert advantages[1, 1] == pytest.approx(1.0)  # termination: the reward alone


# -- training ---------------------------------------------------------------------------------


def test_learn_on_cartpole_reports_episodes_and_returns_an_agent():
    calls = []
    envs = make_envs(reward="scale(factor=2)")
    agent = learn(
        envs,
        5 * SMALL.batch_size - 1,
        SMALL,
        seed=0,
        callback=lambda step, agent, episodes: calls.append((step, episodes)),
    )
    assert [step for step, _ in calls] == [k * SMALL.batch_size for k in range(1, 6)]
    episodes = {k: np.concatenate([e[k] for _, e in calls]) for k in ("proxy", "gold", "length")}
    assert set(calls[0][1]) == {"proxy", "gold", "length"}
    assert all(e.dtype == np.float64 for e in episodes.values())
    assert len(episodes["gold"]) > 5  # early CartPole episodes are short
    # CartPole pays 1 a step (gold), the scale regime doubles it (proxy).
    np.testing.assert_array_equal(episodes["gold"], episodes["length"])
    np.testing.assert_array_equal(episodes["proxy"], 2 * episodes["gold"])
    actions = agent.predict(envs.reset(seed=3)[0])
    assert actions.shape == (SMALL.num_envs,) and actions.dtype == np.int64


@pytest.mark.parametrize("mode", ["same_step", "next_step"])
def test_learn_on_a_continuous_env_with_normalization(mode):
    config = dataclasses.replace(SMALL, normalize_obs=True, normalize_reward=True, target_kl=0.05)
    envs = make_envs("rewardgym/Pendulum-v0", config, mode=mode)
    seen = []
    agent = learn(envs, 3 * config.batch_size, config, seed=0, callback=lambda s, a, e: seen.append(s))
    assert seen == [config.batch_size * k for k in (1, 2, 3)]
    assert agent.obs_count.item() > 3 * config.batch_size  # the stats saw every observation
    obs = envs.reset(seed=1)[0]
    actions = agent.predict(obs)
    assert actions.shape == (config.num_envs, 1) and actions.dtype == np.float32
    assert np.abs(actions).max() <= 2.0
    assert all(torch.isfinite(p).all() for p in agent.parameters())


def test_the_same_seed_gives_the_same_parameters_and_another_seed_does_not():
    def run(seed, mode="same_step"):
        return parameters(learn(make_envs(mode=mode), 3 * SMALL.batch_size, SMALL, seed=seed))

    first, again, other = run(0), run(0), run(1)
    assert first.keys() == again.keys()
    for name in first:
        np.testing.assert_array_equal(first[name], again[name], err_msg=name)
    assert any(not np.array_equal(first[name], other[name]) for name in first)
    np.testing.assert_array_equal(run(0, "next_step")["actor.0.weight"], run(0, "next_step")["actor.0.weight"])


def test_next_step_mode_learns_from_valid_steps_only():
    # In NEXT_STEP mode, the step after an episode's end is an autoreset step whose action the env
    # ignores: the callback sees the same episodes, and the agent trains, without error.
    episodes = []
    learn(
        make_envs(mode="next_step"),
        4 * SMALL.batch_size,
        SMALL,
        seed=0,
        callback=lambda s, a, e: episodes.append(e["length"]),
    )
    lengths = np.concatenate(episodes)
    assert len(lengths) > 5 and (lengths >= 8).all()  # CartPole cannot fall in fewer than 8 steps


@pytest.mark.parametrize("false", [False, np.False_], ids=["bool", "numpy-bool"])
def test_a_callback_returning_false_stops_training(false):
    seen = []

    def stop_after_two(step, agent, episodes):
        seen.append(step)
        return True if len(seen) < 2 else false

    learn(make_envs(), 10 * SMALL.batch_size, SMALL, callback=stop_after_two)
    assert seen == [SMALL.batch_size, 2 * SMALL.batch_size]


def test_learn_accepts_torch_envs():
    # A device="cuda" env returns torch tensors (on the CPU under numba's CUDA simulator, which
    # the test session enables): they feed the networks directly.
    envs = make_envs(device="cuda")
    episodes = []
    agent = learn(envs, 2 * SMALL.batch_size, SMALL, seed=0, callback=lambda s, a, e: episodes.append(e))
    assert all(isinstance(e["gold"], np.ndarray) for e in episodes)
    obs = envs.reset(seed=0)[0]
    assert torch.is_tensor(obs)
    assert agent.act(obs).dtype == torch.int64


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda envs: learn(envs, -1, SMALL), ValueError, "total_steps must be an integer >= 0, got -1"),
        (
            lambda envs: learn(envs, 10, dataclasses.replace(SMALL, num_envs=4)),
            ValueError,
            "the envs have num_envs=8 but config.num_envs=4",
        ),
        # A dict where a PPOConfig belongs: the wrong type is the point.
        (lambda envs: learn(envs, 10, {"num_envs": 8}), TypeError, "config must be a PPOConfig"),  # type: ignore[arg-type]
        (
            lambda envs: learn(envs, 10, SMALL, device="tpu"),
            ValueError,
            "unknown device 'tpu'; valid devices: cpu, cuda",
        ),
    ],
)
def test_learn_refuses_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call(make_envs())


def test_learn_refuses_envs_without_autoreset():
    envs = make_envs(mode="disabled")
    with pytest.raises(ValueError, match="SAME_STEP or NEXT_STEP"):
        learn(envs, 10, SMALL)


def test_zero_steps_returns_the_initial_agent():
    calls = []
    agent = learn(make_envs(), 0, SMALL, callback=lambda *a: calls.append(a))
    assert calls == [] and isinstance(agent, ActorCritic)


CARTPOLE_SETTINGS = {
    "num_envs": 8,
    "num_steps": 32,
    "num_minibatches": 1,
    "update_epochs": 20,
    "gamma": 0.98,
    "gae_lambda": 0.8,
    "learning_rate": 1e-3,
}
"""The settings reported for hyperparams/ppo.yaml's rewardgym/CartPole-v0 entry."""


def deterministic_gold(agent: ActorCritic, num_envs: int = 10, seed: int = 10_000) -> float:
    """Mean gold return of each env's first episode under the deterministic policy."""
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=num_envs, reward=[])
    return float(first_episode_returns(agent.predict, envs, seed=seed)["gold"].mean())


@pytest.mark.slow
def test_native_ppo_solves_cartpole():
    """The reference settings reach a deterministic gold return >= 475 on CartPole in 100k steps."""
    config = PPOConfig.from_dict(CARTPOLE_SETTINGS)
    best = [0.0]

    def evaluate(step, agent, episodes):
        if len(episodes["gold"]) and episodes["gold"].mean() >= 400:
            best[0] = max(best[0], deterministic_gold(agent))
        return best[0] < 475

    learn(make_envs(config=config), 100_000, config, seed=0, callback=evaluate)
    assert best[0] >= 475
