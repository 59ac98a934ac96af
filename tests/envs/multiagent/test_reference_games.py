"""The plain-Python reference games alone: PettingZoo's own tests, the rules of the shared spec on
hand-worked rounds, episode ends, reward modes, bad parameters, and the social dilemma each game
is built to pose (the numbers below are worked out from the rules at the default parameters)."""

import itertools
import math

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test
from pettingzoo.utils.conversions import parallel_to_aec
from rewardgym.envs.multiagent.reference import (
    CommonsHarvestReference,
    CoopetitionReference,
    PublicGoodsReference,
)

GAMES = {
    "PublicGoods": PublicGoodsReference,
    "CommonsHarvest": CommonsHarvestReference,
    "Coopetition": CoopetitionReference,
}
VARIANTS = [
    ("PublicGoods", {}),
    ("PublicGoods", {"punishment": True, "num_agents": 3, "reward_mode": "integrated"}),
    ("CommonsHarvest", {}),
    ("CommonsHarvest", {"num_agents": 2, "reward_mode": "cooperative"}),
    ("Coopetition", {}),
    ("Coopetition", {"num_agents": 3, "reward_mode": "integrated", "weight": 0.3}),
]
VARIANT_IDS = [f"{game}-{i}" for i, (game, _) in enumerate(VARIANTS)]


def play(env, policy, seed=0):
    """One episode with ``policy(round) -> {agent: action}``; returns per-round outputs."""
    env.reset(seed=seed)
    rounds = []
    while env.agents:
        rounds.append(env.step(policy(len(rounds))))
    return rounds


def constant(env, action):
    return lambda t: dict.fromkeys(env.possible_agents, action)


def episode_welfare(rounds):
    return sum(next(iter(infos.values()))["welfare"] for *_, infos in rounds)


def one_round(env, actions):
    """The payoffs of one round from the start state, as a list in agent order."""
    env.reset(seed=0)
    _, _, _, _, infos = env.step(dict(zip(env.possible_agents, actions)))
    return [infos[agent]["payoff"] for agent in env.possible_agents]


# -- PettingZoo's own tests ----------------------------------------------------------------------

# The first observation is all zeros by design in PublicGoods and Coopetition (no history yet).
pettingzoo_tests = pytest.mark.filterwarnings("ignore:Observation numpy array is all zeros")


@pettingzoo_tests
@pytest.mark.parametrize(("game", "kwargs"), VARIANTS, ids=VARIANT_IDS)
def test_pettingzoo_api_and_seed_tests_pass(game, kwargs):
    parallel_api_test(GAMES[game](**kwargs), num_cycles=150)
    parallel_seed_test(lambda: GAMES[game](**kwargs), num_cycles=60)
    api_test(parallel_to_aec(GAMES[game](**kwargs)), num_cycles=60)


@pytest.mark.parametrize(("game", "kwargs"), VARIANTS, ids=VARIANT_IDS)
def test_random_play_keeps_observations_in_their_space_and_pays_by_reward_mode(game, kwargs):
    env = GAMES[game](max_cycles=40, **kwargs)
    n = len(env.possible_agents)
    rng = np.random.default_rng(1)
    space = env.action_space("player_0")
    assert all(env.action_space(agent) is space for agent in env.possible_agents)
    observations, infos = env.reset(seed=3)
    for _ in range(3):  # several episodes: reset must start afresh
        assert set(observations) == set(infos) == set(env.possible_agents)
        while env.agents:
            for agent, obs in observations.items():
                assert obs.dtype == np.float32
                assert env.observation_space(agent).contains(obs), (agent, obs)
            actions = {agent: int(rng.integers(space.n)) for agent in env.agents}
            observations, rewards, _, _, infos = env.step(actions)
            payoffs = [infos[a]["payoff"] for a in env.possible_agents]
            welfare = sum(payoffs)
            for i, agent in enumerate(env.possible_agents):
                assert infos[agent]["welfare"] == pytest.approx(welfare)
                assert infos[agent]["gold_reward"] == pytest.approx(welfare / n)
                mode = env.reward_mode
                expected = {
                    "private": payoffs[i],
                    "integrated": payoffs[i] + env.weight * (welfare - payoffs[i]),
                    "cooperative": welfare,
                }[mode]
                assert rewards[agent] == pytest.approx(expected)
        observations, infos = env.reset()


# -- Episode ends ----------------------------------------------------------------------------------


@pytest.mark.parametrize("game", ["PublicGoods", "Coopetition"])
def test_games_that_never_terminate_truncate_every_agent_after_max_cycles(game):
    env = GAMES[game](max_cycles=7)
    rounds = play(env, constant(env, 1))
    assert len(rounds) == 7
    for t, (obs, _, terminations, truncations, _) in enumerate(rounds, start=1):
        assert not any(terminations.values())
        assert all(truncations.values()) == (t == 7)
        assert all(o[-1 if game == "PublicGoods" else 1] == pytest.approx(t / 7) for o in obs.values())
    assert env.agents == []
    with pytest.raises(RuntimeError, match="reset"):
        env.step(constant(env, 1)(0))


def test_commons_collapse_terminates_and_is_not_truncated_even_on_the_last_round():
    env = CommonsHarvestReference(max_cycles=1)
    env.reset(seed=0)
    env.stock = 30.0  # asked 40 > 30: rationed, nothing left, collapsed on round 1 = max_cycles
    _, rewards, terminations, truncations, infos = env.step(dict.fromkeys(env.possible_agents, 4))
    assert all(terminations.values()) and not any(truncations.values())
    assert list(rewards.values()) == pytest.approx([7.5] * 4)  # 30 shared pro rata to 10 each asked
    assert env.stock == 0.0 and env.agents == []


# -- The rules, worked by hand --------------------------------------------------------------------


def test_public_goods_round_and_rotated_observations():
    env = PublicGoodsReference(num_agents=3, punishment=True, max_cycles=4)
    env.reset()
    # player_0 defects, player_1 contributes, player_2 punishes: pot = 1.6 * 2 / 3.
    obs, _, _, _, infos = env.step({"player_0": 0, "player_1": 1, "player_2": 2})
    pot = 1.6 * 2 / 3
    payoffs = [infos[a]["payoff"] for a in env.possible_agents]
    assert payoffs == pytest.approx([1 + pot - 0.6 * 1, pot, pot - 0.2 * 1])
    # contributed flags (own first), punished flags (own first), time 1/4.
    assert obs["player_0"].tolist() == [0, 1, 1, 0, 0, 1, 0.25]
    assert obs["player_1"].tolist() == [1, 1, 0, 0, 1, 0, 0.25]
    assert obs["player_2"].tolist() == [1, 0, 1, 1, 0, 0, 0.25]


def test_commons_round_regrowth_and_seeded_start_stock():
    env = CommonsHarvestReference(num_agents=2)
    obs, _ = env.reset(seed=5)
    start = env.stock
    assert 60.0 <= start <= 100.0
    assert start == 100.0 * np.random.default_rng(5).uniform(0.6, 1.0)
    assert obs["player_0"].tolist() == pytest.approx([start / 100.0, 0.0, 0.0, 0.0])
    env.stock = 50.0  # a start state copied in
    obs, rewards, *_ = env.step({"player_0": 3, "player_1": 1})  # asks 7.5 and 2.5 of 50
    left = 40.0
    assert env.stock == pytest.approx(left + 0.5 * left * (1 - left / 100))  # 52
    assert list(rewards.values()) == [7.5, 2.5]
    assert obs["player_1"].tolist() == pytest.approx([0.52, 0.01, 2.5 / 10, 7.5 / 10])
    # A seeded reset starts over; an unseeded one continues the generator.
    env.reset(seed=5)
    assert env.stock == start
    env.reset()
    assert env.stock != start


def test_commons_stock_regrows_towards_capacity_and_no_further():
    env = CommonsHarvestReference()
    env.reset(seed=0)
    env.stock = 99.0
    env.step(dict.fromkeys(env.possible_agents, 0))
    assert env.stock == pytest.approx(99.0 + 0.5 * 99.0 * 0.01)
    env.stock = 100.0
    env.step(dict.fromkeys(env.possible_agents, 0))
    assert env.stock == 100.0


def test_coopetition_round_and_market_boost():
    env = CoopetitionReference()
    env.reset()
    # player_0 sells 4 and invests (action 7), player_1 sells 1 (action 0): price 10 - 5 = 5.
    obs, _, _, _, infos = env.step({"player_0": 7, "player_1": 0})
    assert [infos[a]["payoff"] for a in env.possible_agents] == pytest.approx([4 * 4 - 7, 4 * 1])
    assert env.boost == 1.0
    assert obs["player_1"].tolist() == pytest.approx([0.1, 0.02, 0.25, 1.0, 0.0, 1.0])
    # Next round the boost raises demand to 11, then decays by half plus new investment.
    _, _, _, _, infos = env.step({"player_0": 7, "player_1": 7})
    assert infos["player_1"]["payoff"] == pytest.approx((11 - 8 - 1) * 4 - 7)
    assert env.boost == pytest.approx(0.5 * 1 + 2)
    # The price never goes below zero: a glut costs the marginal cost of every unit.
    env = CoopetitionReference(base_demand=5.0)
    assert one_round(env, [6, 6]) == pytest.approx([-4.0, -4.0])


@pytest.mark.parametrize(
    ("game", "kwargs", "match"),
    [
        ("PublicGoods", {"reward_mode": "selfish"}, "unknown reward_mode 'selfish'; valid modes: private, integrated"),
        ("CommonsHarvest", {"weight": 1.5}, r"weight must be a number in \[0, 1\], got 1.5"),
        ("Coopetition", {"weight": -0.1}, r"weight must be a number in \[0, 1\]"),
        ("PublicGoods", {"num_agents": 1}, "num_agents must be an integer >= 2, got 1"),
        ("Coopetition", {"num_agents": 2.0}, "num_agents must be an integer >= 2"),
        ("CommonsHarvest", {"max_cycles": 0}, "max_cycles must be an integer >= 1"),
        ("CommonsHarvest", {"levels": 1}, "levels must be an integer >= 2"),
        ("Coopetition", {"market_decay": 1.0}, r"market_decay must be in \[0, 1\)"),
        ("PublicGoods", {"multiplier": 0.0}, "multiplier must be > 0"),
    ],
)
def test_bad_parameters_are_refused_by_name(game, kwargs, match):
    with pytest.raises(ValueError, match=f"{game}: {match}"):
        GAMES[game](**kwargs)


def test_bad_actions_are_refused_by_name():
    env = PublicGoodsReference(num_agents=2)
    env.reset()
    with pytest.raises(ValueError, match="no action for 'player_1'"):
        env.step({"player_0": 1})
    with pytest.raises(ValueError, match="invalid action 2 for 'player_0'; valid actions are the integers 0 to 1"):
        env.step({"player_0": 2, "player_1": 1})


# -- The social dilemmas ---------------------------------------------------------------------------


def test_public_goods_defecting_always_pays_yet_all_defect_is_worse_for_the_group():
    env = PublicGoodsReference()
    # Whatever the other three do, player_0 earns more by keeping its endowment.
    for others in itertools.product([0, 1], repeat=3):
        defect, contribute = one_round(env, [0, *others])[0], one_round(env, [1, *others])[0]
        assert defect == pytest.approx(contribute + 1 - 1.6 / 4)
    # A lone defector among contributors earns more than each of them: 1 + 1.2 against 1.2.
    assert one_round(env, [0, 1, 1, 1]) == pytest.approx([2.2, 1.2, 1.2, 1.2])
    # Yet over an episode everyone contributing gives the group 1.6x what everyone defecting does.
    cooperate, defect = episode_welfare(play(env, constant(env, 1))), episode_welfare(play(env, constant(env, 0)))
    assert cooperate == pytest.approx(50 * 6.4) and defect == pytest.approx(50 * 4.0)


def test_public_goods_punishment_makes_defecting_cost_more_than_it_saves():
    env = PublicGoodsReference(punishment=True)
    # Three punishers fine the defector 3 x 0.6; each pays 0.2 for the one defector.
    assert one_round(env, [0, 2, 2, 2]) == pytest.approx([2.2 - 1.8, 1.2 - 0.2, 1.2 - 0.2, 1.2 - 0.2])
    assert one_round(env, [1, 2, 2, 2])[0] > one_round(env, [0, 2, 2, 2])[0]


@pytest.mark.parametrize("seed", range(5))
def test_commons_greedy_harvest_collapses_early_and_sustainable_lasts_with_more_welfare(seed):
    env = CommonsHarvestReference()
    greedy = play(env, constant(env, 4), seed=seed)  # 40 asked a round, far above the 12.5 MSY
    assert len(greedy) <= 4  # from a full stock: 100 -> 72 -> 42.9 -> 4.3 -> collapsed
    assert all(greedy[-1][2].values()) and not any(greedy[-1][3].values())
    sustainable = play(env, constant(env, 1), seed=seed)  # 10 a round, below the MSY
    assert len(sustainable) == 100
    assert all(sustainable[-1][3].values()) and not any(sustainable[-1][2].values())
    assert episode_welfare(sustainable) == pytest.approx(1000.0)
    assert episode_welfare(greedy) < 0.2 * episode_welfare(sustainable)
    # The stock settles where regrowth replaces the harvest: 72.4 left after harvesting, which
    # regrows to 82.4 (the root of 0.5 L (1 - L / 100) = 10).
    left = 50 + math.sqrt(50**2 - 2000)
    assert env.stock == pytest.approx(left + 10, abs=0.01)
    # Yet in any one round an agent that grabs more gets more.
    greedy_one = one_round(env, [4, 1, 1, 1])
    assert greedy_one[0] == 10.0 and greedy_one[1] == 2.5


def test_coopetition_quantity_dilemma_collude_cournot_compete():
    env = CoopetitionReference()
    # Per round, no investment: colluding (2 each, half the joint optimum) pays each 10, the
    # Cournot equilibrium (3 each) 9, flooding the market (4 each) 4.
    assert one_round(env, [2, 2]) == pytest.approx([10.0, 10.0])
    assert one_round(env, [4, 4]) == pytest.approx([9.0, 9.0])
    assert one_round(env, [6, 6]) == pytest.approx([4.0, 4.0])
    # Colluding maximizes the joint profit over all quantity pairs...
    quantities = [0, 2, 4, 6]
    best = max(sum(one_round(env, [a, b])) for a in quantities for b in quantities)
    assert best == pytest.approx(20.0)
    # ...yet selling more against a colluder pays (12 > 10), and 3 each is the best reply to 3.
    assert one_round(env, [4, 2]) == pytest.approx([12.0, 8.0])
    assert max(quantities, key=lambda a: one_round(env, [a, 4])[0]) == 4
    welfare = {a: episode_welfare(play(env, constant(env, a))) for a in (2, 4, 6)}
    assert welfare[2] > welfare[4] > welfare[6]


def test_coopetition_investment_is_a_public_good():
    env = CoopetitionReference()
    # Both selling 3: investing every round (action 5) beats never investing (action 4) for both...
    both = play(env, constant(env, 5))
    neither = play(env, constant(env, 4))
    assert episode_welfare(both) > episode_welfare(neither)
    # ...yet a firm that stops investing while the other keeps on earns more than by investing.
    free_ride = play(env, lambda t: {"player_0": 4, "player_1": 5})
    own = sum(r["player_0"] for _, r, *_ in free_ride)
    assert own > sum(r["player_0"] for _, r, *_ in both)
    # Steady state: both investing, m -> 4, price 8, 3 * 7 - 7 = 14 each; one, m -> 2, the
    # free rider 3 * 5 = 15 and the investor 15 - 7 = 8; neither, 9 each.
    assert both[-1][1]["player_0"] == pytest.approx(14.0, abs=1e-6)
    assert free_ride[-1][1] == pytest.approx({"player_0": 15.0, "player_1": 8.0}, abs=1e-6)
