"""The multi-agent games: PettingZoo's own API tests, the reward contract per agent, the engine's
episode ends and seeding, the social dilemmas with scripted policies, and bad input."""

import importlib
import re

import numpy as np
import pytest
import rewardgym
import torch
from gymnasium.vector import AutoresetMode
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test
from rewardgym.agents.evaluation import evaluate
from rewardgym.agents.multiagent import MULTIAGENT_POLICIES, multiagent_policy
from rewardgym.core.checks import check_vector_env
from rewardgym.envs.batched.device import cuda_simulated
from rewardgym.envs.multiagent import (
    GAMES,
    MULTIAGENT_IDS,
    REWARD_MODES,
    BatchedParallelEnv,
    MultiAgentVectorEnv,
    commons_harvest_v0,
    public_goods_v0,
)
from rewardgym.envs.multiagent.commons_harvest import STOCK

# Every game at its defaults, and variants that change its spaces or reward mode.
VARIANTS = [(env_id, {}) for env_id in MULTIAGENT_IDS] + [
    ("rewardgym/PublicGoods-v0", {"punishment": True, "num_agents": 3}),
    ("rewardgym/CommonsHarvest-v0", {"reward_mode": "integrated", "weight": 0.3}),
    ("rewardgym/Coopetition-v0", {"reward_mode": "cooperative", "num_agents": 3}),
]


def module_of(env_id):
    """The game's PettingZoo module, ``<snake_case name>_v0``."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", GAMES[env_id].name).lower()
    return importlib.import_module(f"rewardgym.envs.multiagent.{snake}_v0")


# -- PettingZoo's own tests ------------------------------------------------------------------

# PettingZoo's API test warns when an observation is all zeros, which the first round's is by
# design in PublicGoods and Coopetition (no history yet, no time played).
pettingzoo_tests = pytest.mark.filterwarnings("ignore:Observation numpy array is all zeros")


@pettingzoo_tests
@pytest.mark.parametrize(("env_id", "kwargs"), VARIANTS)
def test_pettingzoo_parallel_api_test_passes(env_id, kwargs):
    module = module_of(env_id)
    parallel_api_test(module.raw_env(**kwargs), num_cycles=120)
    parallel_api_test(module.parallel_env(**kwargs), num_cycles=120)
    parallel_api_test(module.parallel_env(reward="noisy+scale(factor=2)", **kwargs), num_cycles=120)


@pettingzoo_tests
@pytest.mark.parametrize(("env_id", "kwargs"), VARIANTS)
def test_pettingzoo_aec_api_test_and_seed_tests_pass(env_id, kwargs):
    module = module_of(env_id)
    api_test(module.env(**kwargs), num_cycles=120)
    seed_test(lambda: module.env(**kwargs), num_cycles=60)
    parallel_seed_test(lambda: module.parallel_env(**kwargs))


# -- the reward contract, per agent -----------------------------------------------------------


@pytest.mark.parametrize("mode", ["next_step", "same_step", "disabled"])
@pytest.mark.parametrize("env_id", MULTIAGENT_IDS)
def test_the_vector_env_passes_the_projects_vector_env_checks(env_id, mode):
    # Spaces, autoreset semantics, gold and trace keys, seeding and bad actions, on agent rows.
    envs = rewardgym.make_parallel_vec(env_id, num_envs=3, autoreset_mode=mode, max_cycles=7)
    check_vector_env(envs.unwrapped, steps=40)
    envs = rewardgym.make_parallel_vec(env_id, num_envs=3, autoreset_mode=mode, max_cycles=7, reward="noisy")
    check_vector_env(envs, steps=40)


@pytest.mark.parametrize("mode", REWARD_MODES)
@pytest.mark.parametrize("env_id", MULTIAGENT_IDS)
def test_rewards_follow_the_reward_mode_and_gold_is_the_welfare_share(env_id, mode):
    envs = rewardgym.make_parallel_vec(env_id, num_envs=5, reward_mode=mode, weight=0.25)
    game = envs.unwrapped
    envs.action_space.seed(1)
    envs.reset(seed=3)
    for _ in range(30):
        _, reward, _, _, info = envs.step(envs.action_space.sample())
        payoff, welfare = game.by_game(info["payoff"]), game.by_game(info["welfare"])
        total = payoff.sum(axis=1, keepdims=True, dtype=np.float64)
        np.testing.assert_allclose(welfare, np.broadcast_to(total, welfare.shape), rtol=1e-6, atol=1e-5)
        np.testing.assert_allclose(info["gold_reward"], info["welfare"] / game.num_agents, rtol=1e-6)
        expected = {
            "private": payoff,
            "integrated": payoff + 0.25 * (welfare - payoff),
            "cooperative": welfare,
        }[mode]
        np.testing.assert_allclose(game.by_game(reward), expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(info["reward_trace"]["env"], reward)


def test_regimes_apply_per_agent_row_and_episode_returns_are_per_agent():
    envs = rewardgym.make_parallel_vec(
        "rewardgym/CommonsHarvest-v0", num_envs=3, reward="scale(factor=2)", autoreset_mode="same_step", max_cycles=4
    )
    envs.reset(seed=0)
    proxy_sum, gold_sum = np.zeros(envs.num_envs), np.zeros(envs.num_envs)
    for _ in range(4):
        _, reward, terminated, truncated, info = envs.step(np.ones(envs.num_envs, np.int64))
        np.testing.assert_allclose(reward, 2 * info["reward_trace"]["env"])
        proxy_sum += reward
        gold_sum += info["gold_reward"]
    assert truncated.all() and not terminated.any()
    returns = info["episode_returns"]
    assert info["_episode_returns"].all()
    np.testing.assert_allclose(returns["proxy"], proxy_sum, rtol=1e-6)
    np.testing.assert_allclose(returns["gold"], gold_sum, rtol=1e-6)
    np.testing.assert_array_equal(returns["length"], 4)


def test_game_k_of_a_vector_env_seeded_s_plays_as_a_parallel_env_seeded_s_plus_k():
    envs = rewardgym.make_parallel_vec("rewardgym/CommonsHarvest-v0", num_envs=3, autoreset_mode="disabled")
    obs, _ = envs.reset(seed=10)
    single = commons_harvest_v0.raw_env()
    rng = np.random.default_rng(0)
    for k in range(3):
        single_obs, _ = single.reset(seed=10 + k)
        rows = envs.unwrapped.by_game(obs)[k]
        np.testing.assert_array_equal(np.stack([single_obs[a] for a in single.agents]), rows)
    actions = rng.integers(0, 3, size=(10, envs.num_envs))
    for t in range(10):
        obs, reward, *_ = envs.step(actions[t])
    for k in range(3):
        single.reset(seed=10 + k)
        for t in range(10):
            step_actions = dict(zip(single.possible_agents, envs.unwrapped.by_game(actions[t])[k].tolist()))
            single_obs, single_reward, *_ = single.step(step_actions)
        np.testing.assert_array_equal(
            np.stack([single_obs[a] for a in single.possible_agents]), envs.unwrapped.by_game(obs)[k]
        )


def test_seeds_set_the_start_and_unseeded_resets_differ():
    envs = rewardgym.make_parallel_vec("rewardgym/CommonsHarvest-v0", num_envs=4)
    first, _ = envs.reset(seed=5)
    again, _ = envs.reset(seed=5)
    np.testing.assert_array_equal(first, again)
    stocks = envs.unwrapped.state[:, STOCK]
    assert len(set(stocks.tolist())) == 4 and ((60 <= stocks) & (stocks <= 100)).all()
    other, _ = envs.reset()
    assert not np.array_equal(other, first)


# -- episode ends -----------------------------------------------------------------------------


def test_next_step_autoreset_masks_the_reset_step():
    envs = MultiAgentVectorEnv(GAMES["rewardgym/PublicGoods-v0"], 2, max_cycles=2)
    assert envs.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    envs.reset(seed=0)
    ones = np.ones(envs.num_envs, np.int64)
    envs.step(ones)
    obs, reward, terminated, truncated, _ = envs.step(ones)
    assert truncated.all() and not terminated.any()
    assert (obs[:, -1] == 1.0).all()  # the real last observation: the whole episode played
    obs, reward, terminated, truncated, info = envs.step(ones)  # the autoreset step
    assert (reward == 0).all() and (info["gold_reward"] == 0).all() and not truncated.any()
    assert (obs == 0).all()


def test_same_step_autoreset_reports_final_obs_and_a_collapse_terminates():
    envs = MultiAgentVectorEnv(GAMES["rewardgym/CommonsHarvest-v0"], 2, autoreset_mode="same_step")
    envs.reset(seed=0)
    greedy = np.full(envs.num_envs, 4, np.int64)
    for _ in range(20):
        obs, _, terminated, truncated, info = envs.step(greedy)
        if terminated.any():
            break
    assert terminated.any() and not truncated.any()
    ended = info["_final_obs"]
    np.testing.assert_array_equal(ended, terminated)
    assert (info["final_obs"][ended, 0] < 0.01).all()  # the collapsed stock
    assert (obs[ended, 0] >= 0.6).all()  # the next episode's start stock


def test_disabled_autoreset_resets_whole_games_only():
    envs = MultiAgentVectorEnv(GAMES["rewardgym/PublicGoods-v0"], 2, autoreset_mode="disabled", max_cycles=1)
    envs.reset(seed=0)
    envs.step(np.ones(envs.num_envs, np.int64))
    with pytest.raises(RuntimeError, match="DISABLED"):
        envs.step(np.ones(envs.num_envs, np.int64))
    with pytest.raises(ValueError, match="whole games"):
        envs.reset(options={"reset_mask": np.array([True, False, False, False, False, False, False, False])})
    envs.reset(options={"reset_mask": np.array([True] * 4 + [False] * 4)})
    with pytest.raises(RuntimeError, match="DISABLED"):
        envs.step(np.ones(envs.num_envs, np.int64))


# -- the social dilemmas ----------------------------------------------------------------------


def scripted_returns(env_id, actions_by_agent=None, policy=None, num_games=2, **kwargs):
    """Per-agent proxy returns and per-game welfare over one episode."""
    envs = rewardgym.make_parallel_vec(env_id, num_envs=num_games, **kwargs)
    if policy is not None:
        predict = multiagent_policy(policy, envs).predict
    else:
        row_actions = np.tile(np.asarray(actions_by_agent, np.int64), num_games)

        def predict(obs):
            return row_actions

    returns = evaluate(predict, envs)
    game = envs.unwrapped
    return game.by_game(returns["proxy"]), game.by_game(returns["gold"]).sum(axis=1)


def test_public_goods_defecting_pays_the_defector_and_costs_the_group():
    lone_proxy, lone_welfare = scripted_returns("rewardgym/PublicGoods-v0", [0, 1, 1, 1])
    assert (lone_proxy[:, 0] > lone_proxy[:, 1:].max(axis=1)).all()  # the defector earns the most
    _, all_cooperate = scripted_returns("rewardgym/PublicGoods-v0", policy="cooperate")
    defect_proxy, all_defect = scripted_returns("rewardgym/PublicGoods-v0", policy="defect")
    cooperate_proxy, _ = scripted_returns("rewardgym/PublicGoods-v0", policy="cooperate")
    assert (all_defect < lone_welfare).all() and (lone_welfare < all_cooperate).all()
    # Against cooperators, defecting beats cooperating for the one who switches.
    assert (lone_proxy[:, 0] > cooperate_proxy[:, 0]).all()
    np.testing.assert_allclose(all_cooperate, 50 * 1.6 * 4)
    np.testing.assert_allclose(all_defect, 50 * 4)
    _, tit_for_tat = scripted_returns("rewardgym/PublicGoods-v0", policy="tit_for_tat")
    np.testing.assert_allclose(tit_for_tat, all_cooperate)


def test_public_goods_punishment_makes_defection_costly():
    punished, _ = scripted_returns("rewardgym/PublicGoods-v0", [0, 2, 2, 2], punishment=True)
    spared, _ = scripted_returns("rewardgym/PublicGoods-v0", [0, 1, 1, 1], punishment=True)
    assert (punished[:, 0] < spared[:, 0]).all()
    assert (punished[:, 0] < punished[:, 1]).all()  # three punishers make defecting a loss


def test_commons_greedy_harvesting_collapses_the_stock_and_sustainable_harvesting_keeps_welfare():
    envs = rewardgym.make_parallel_vec("rewardgym/CommonsHarvest-v0", num_envs=4)
    greedy = evaluate(multiagent_policy("greedy", envs).predict, envs)
    sustainable = evaluate(multiagent_policy("sustainable", envs).predict, envs)
    game = envs.unwrapped
    greedy_welfare = game.by_game(greedy["gold"]).sum(axis=1)
    sustainable_welfare = game.by_game(sustainable["gold"]).sum(axis=1)
    assert (sustainable_welfare > 5 * greedy_welfare).all()
    # Greedy ends the episode by collapse: its episodes are short.
    envs.reset(seed=0)
    lengths = []
    for t in range(1, 101):
        _, _, terminated, _, _ = envs.step(np.full(envs.num_envs, 4, np.int64))
        if terminated.all():
            lengths.append(t)
            break
    assert lengths and lengths[0] < 10
    # One greedy agent among sustainable ones out-earns them (the private incentive).
    mixed = rewardgym.make_parallel_vec("rewardgym/CommonsHarvest-v0", num_envs=4)
    sustainable_policy = multiagent_policy("sustainable", mixed)

    def one_greedy(obs):
        actions = sustainable_policy.predict(obs)
        actions[mixed.unwrapped.agent_index == 0] = 4
        return actions

    mixed_proxy = mixed.unwrapped.by_game(evaluate(one_greedy, mixed)["proxy"])
    assert (mixed_proxy[:, 0] > mixed_proxy[:, 1:].max(axis=1)).all()


def test_coopetition_collusion_beats_competition_for_the_group():
    compete_proxy, compete = scripted_returns("rewardgym/Coopetition-v0", policy="compete")
    collude_proxy, collude = scripted_returns("rewardgym/Coopetition-v0", policy="collude")
    assert (collude > compete).all()
    # A firm that stops investing while its rival invests earns more than it (free-riding).
    free_rider, _ = scripted_returns("rewardgym/Coopetition-v0", [4, 5])
    assert (free_rider[:, 0] > free_rider[:, 1]).all()


@pytest.mark.parametrize("env_id", MULTIAGENT_IDS)
def test_every_game_has_scripted_policies(env_id):
    assert len(MULTIAGENT_POLICIES[env_id]) >= 2
    envs = rewardgym.make_parallel_vec(env_id, num_envs=2)
    with pytest.raises(ValueError, match="valid:"):
        multiagent_policy("no-such-policy", envs)


# -- bad input --------------------------------------------------------------------------------


def test_parallel_env_refuses_bad_actions_by_agent():
    env = public_goods_v0.raw_env(num_agents=2)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="unknown agent 'player_7'"):
        env.step({"player_0": 1, "player_1": 1, "player_7": 0})
    with pytest.raises(ValueError, match="no action for agent 'player_1'"):
        env.step({"player_0": 1})
    with pytest.raises(ValueError, match="action 2 of agent 'player_1' is outside Discrete"):
        env.step({"player_0": 1, "player_1": 2})
    with pytest.raises(ValueError, match="outside Discrete"):
        env.step({"player_0": 1, "player_1": 0.5})
    with pytest.raises(KeyError, match="unknown agent"):
        env.observation_space("nobody")


def test_parallel_env_refuses_a_step_after_the_episode_ended():
    env = public_goods_v0.raw_env(num_agents=2, max_cycles=1)
    env.reset(seed=0)
    env.step({"player_0": 1, "player_1": 1})
    assert env.agents == []
    with pytest.raises(RuntimeError, match="call reset"):
        env.step({"player_0": 1, "player_1": 1})


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"reward_mode": "selfish"}, ValueError, "unknown reward_mode 'selfish'; valid modes: private"),
        ({"weight": 1.5}, ValueError, r"weight .* must be in \[0, 1\]"),
        ({"weight": "half"}, ValueError, "weight"),
        ({"num_agents": 1}, ValueError, "num_agents must be an integer in"),
        ({"multiplier": -1.0}, ValueError, "multiplier"),
        ({"multiplier": float("nan")}, ValueError, "multiplier"),
        ({"punishment": 1}, ValueError, "punishment"),
        ({"gravity": 1.0}, ValueError, "unknown keyword argument 'gravity' for PublicGoods"),
        ({"max_cycles": 0}, ValueError, "max_cycles"),
    ],
)
def test_bad_parameters_are_refused_by_name(kwargs, error, match):
    with pytest.raises(error, match=match):
        rewardgym.make_parallel_vec("rewardgym/PublicGoods-v0", num_envs=1, **kwargs)
    with pytest.raises(error, match=match):
        public_goods_v0.raw_env(**kwargs)


def test_vector_env_refuses_bad_actions_and_unknown_ids():
    envs = rewardgym.make_parallel_vec("rewardgym/PublicGoods-v0", num_envs=2)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=r"actions must have shape \(8,\)"):
        envs.step(np.ones(2, np.int64))
    with pytest.raises(ValueError, match="outside Discrete"):
        envs.step(np.full(8, 5))
    with pytest.raises(ValueError, match="unknown multi-agent env 'rewardgym/CartPole-v0'; valid ids"):
        rewardgym.make_parallel_vec("rewardgym/CartPole-v0", num_envs=2)


def test_is_multiagent_and_the_parallel_env_class():
    assert rewardgym.is_multiagent("PublicGoods-v0") and not rewardgym.is_multiagent("rewardgym/CartPole-v0")
    assert isinstance(public_goods_v0.raw_env(), BatchedParallelEnv)


# -- CUDA kernels under the simulator ---------------------------------------------------------


@pytest.mark.skipif(not cuda_simulated(), reason="runs under numba's CUDA simulator")
@pytest.mark.parametrize("mode", ["next_step", "same_step"])
@pytest.mark.parametrize("env_id", MULTIAGENT_IDS)
def test_cuda_kernels_match_cpu_kernels(env_id, mode):
    kwargs = {"autoreset_mode": mode, "max_cycles": 6, "reward_mode": "integrated"}
    cuda = rewardgym.make_parallel_vec(env_id, num_envs=3, device="cuda", **kwargs)
    cpu = rewardgym.make_parallel_vec(env_id, num_envs=3, device="cpu", **kwargs)
    cpu.action_space.seed(0)
    np.testing.assert_array_equal(cuda.reset(seed=4)[0].numpy(), cpu.reset(seed=4)[0])
    for _ in range(14):
        actions = cpu.action_space.sample()
        gpu_out = cuda.step(torch.as_tensor(actions))
        cpu_out = cpu.step(actions)
        for g, c in zip(gpu_out[:4], cpu_out[:4]):
            np.testing.assert_array_equal(g.numpy(), c)
        for key in ("gold_reward", "welfare", "payoff"):
            np.testing.assert_array_equal(gpu_out[4][key].numpy(), cpu_out[4][key])
