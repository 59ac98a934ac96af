"""The batched games against the plain-Python reference games, step for step.

Both sides start from the same state and play the same seeded random actions over several
episodes, in every reward mode; observations, rewards, gold, welfare, payoffs, ``terminated`` and
``truncated`` must agree on every step, the steps that end an episode and (for the vector env)
the autoreset steps that begin the next included. PublicGoods and Coopetition reset
deterministically; CommonsHarvest draws its start stock from the engine's random stream, which
the reference does not share, so each start stock is copied from the batched game's state into
the reference (``stock``).

Half the games play only the two lowest actions: in CommonsHarvest those are sustainable
harvests, so that its episodes both run to ``max_cycles`` (truncated) and collapse (terminated).

Tolerances: the engine hands out rewards, gold, welfare and payoffs as float32 and the reference
as Python floats, so those agree to float32 precision (``1e-5`` at these magnitudes);
observations are float32 on both sides, computed from float64 states (``1e-6``).
"""

import numpy as np
import pytest
import rewardgym
from gymnasium.vector import AutoresetMode
from rewardgym.envs.multiagent.commons_harvest import STOCK
from rewardgym.envs.multiagent.reference import (
    CommonsHarvestReference,
    CoopetitionReference,
    PublicGoodsReference,
)

OBS_TOL = {"rtol": 0.0, "atol": 1e-6}
REWARD_TOL = {"rtol": 0.0, "atol": 1e-5}
SEED = 7
NUM_GAMES = 6
STEPS = 60

GAMES = [
    ("rewardgym/PublicGoods-v0", PublicGoodsReference, {"max_cycles": 8}),
    ("rewardgym/PublicGoods-v0", PublicGoodsReference, {"max_cycles": 8, "punishment": True, "num_agents": 3}),
    ("rewardgym/CommonsHarvest-v0", CommonsHarvestReference, {"max_cycles": 25}),
    ("rewardgym/Coopetition-v0", CoopetitionReference, {"max_cycles": 8}),
    ("rewardgym/Coopetition-v0", CoopetitionReference, {"max_cycles": 8, "num_agents": 3, "invest_cost": 2.0}),
]
GAME_IDS = ["PublicGoods", "PublicGoods-punishment", "CommonsHarvest", "Coopetition", "Coopetition-3"]
MODES = [("private", 0.5), ("integrated", 0.3), ("cooperative", 0.5)]


def start_like(reference, game_state):
    """Reset ``reference`` and copy in the batched game's start state; its first observations."""
    reference.reset()
    if isinstance(reference, CommonsHarvestReference):
        reference.stock = float(game_state[STOCK])
    return {agent: reference.observe(agent) for agent in reference.possible_agents}


def random_actions(rng, space, num_games, num_agents):
    """One round's actions, ``(num_games, num_agents)``: even games use only actions 0 and 1."""
    highs = np.where(np.arange(num_games) % 2 == 0, 2, space.n)[:, None]
    return rng.integers(0, highs, size=(num_games, num_agents))


def assert_round_equal(reference_out, batched_out, where):
    """Compares one round, ``(obs, rewards, terminations, truncations, infos)`` dicts by agent."""
    ref_obs, ref_rewards, ref_term, ref_trunc, ref_infos = reference_out
    obs, rewards, term, trunc, infos = batched_out
    for agent in ref_obs:
        np.testing.assert_allclose(obs[agent], ref_obs[agent], **OBS_TOL, err_msg=f"obs of {agent} {where}")
        np.testing.assert_allclose(rewards[agent], ref_rewards[agent], **REWARD_TOL, err_msg=f"reward {where}")
        assert term[agent] == ref_term[agent], f"terminated of {agent} {where}"
        assert trunc[agent] == ref_trunc[agent], f"truncated of {agent} {where}"
        for key in ("gold_reward", "welfare", "payoff"):
            np.testing.assert_allclose(
                infos[agent][key], ref_infos[agent][key], **REWARD_TOL, err_msg=f"{key} of {agent} {where}"
            )


@pytest.mark.parametrize(("mode", "weight"), MODES, ids=[mode for mode, _ in MODES])
@pytest.mark.parametrize(("env_id", "reference", "kwargs"), GAMES, ids=GAME_IDS)
@pytest.mark.parametrize("autoreset_mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP], ids=str)
def test_vector_env_plays_as_the_reference(env_id, reference, kwargs, mode, weight, autoreset_mode):
    envs = rewardgym.make_parallel_vec(
        env_id, num_envs=NUM_GAMES, reward_mode=mode, weight=weight, autoreset_mode=autoreset_mode, **kwargs
    )
    game = envs.unwrapped
    n = game.num_agents
    agents = game.possible_agents
    references = [reference(reward_mode=mode, weight=weight, **kwargs) for _ in range(NUM_GAMES)]

    def by_agent(rows):
        return [dict(zip(agents, game_rows)) for game_rows in game.by_game(rows)]

    obs, _ = envs.reset(seed=SEED)
    for k, ref in enumerate(references):
        ref_obs = start_like(ref, game.state[k])
        for agent, row in by_agent(obs)[k].items():
            np.testing.assert_allclose(row, ref_obs[agent], **OBS_TOL, err_msg=f"reset obs of game {k}")

    rng = np.random.default_rng(SEED)
    ends = {"terminated": 0, "truncated": 0}
    for t in range(STEPS):
        actions = random_actions(rng, envs.single_action_space, NUM_GAMES, n)
        obs, reward, terminated, truncated, info = envs.step(actions.reshape(-1))
        final_obs = info.get("final_obs", obs)  # SAME_STEP: the real last observations
        batched = [
            by_agent(x)
            for x in (final_obs, reward, terminated, truncated, info["gold_reward"], info["welfare"], info["payoff"])
        ]
        for k, ref in enumerate(references):
            where = f"in game {k} at step {t}"
            if not ref.agents:  # NEXT_STEP: this step only begins the game's next episode
                ref_obs = start_like(ref, game.state[k])
                zeros = dict.fromkeys(agents, 0.0)
                no_info = {agent: {"gold_reward": 0.0, "welfare": 0.0, "payoff": 0.0} for agent in agents}
                expected = (ref_obs, zeros, dict.fromkeys(agents, False), dict.fromkeys(agents, False), no_info)
            else:
                expected = ref.step(dict(zip(agents, actions[k].tolist())))
            gold, welfare, payoff = batched[4][k], batched[5][k], batched[6][k]
            infos = {a: {"gold_reward": gold[a], "welfare": welfare[a], "payoff": payoff[a]} for a in agents}
            assert_round_equal(expected, (*(x[k] for x in batched[:4]), infos), where)
            ended = not ref.agents
            ends["terminated"] += ended and expected[2][agents[0]]
            ends["truncated"] += ended and expected[3][agents[0]]
            if ended and autoreset_mode is AutoresetMode.SAME_STEP:
                # SAME_STEP starts the next episode at once: obs is already its first observation.
                ref_obs = start_like(ref, game.state[k])
                for agent, row in by_agent(obs)[k].items():
                    np.testing.assert_allclose(row, ref_obs[agent], **OBS_TOL, err_msg=f"reset obs {where}")
    # The drive covers both ends where the game has them (only CommonsHarvest terminates).
    assert ends["truncated"] > 0
    assert (ends["terminated"] > 0) == (reference is CommonsHarvestReference)


@pytest.mark.parametrize(("mode", "weight"), MODES, ids=[mode for mode, _ in MODES])
@pytest.mark.parametrize(("env_id", "reference", "kwargs"), GAMES, ids=GAME_IDS)
def test_parallel_env_plays_as_the_reference(env_id, reference, kwargs, mode, weight):
    env = rewardgym.make_parallel(env_id, reward_mode=mode, weight=weight, **kwargs)
    ref = reference(reward_mode=mode, weight=weight, **kwargs)
    episodes = 4
    # A ParallelEnv seeded s plays as game k of a vector env seeded s - k: one vector reset gives
    # every episode's start state in float64 (the ParallelEnv's own state() is float32).
    starts = rewardgym.make_parallel_vec(env_id, num_envs=episodes, reward_mode=mode, weight=weight, **kwargs)
    starts.reset(seed=SEED)
    start_states = np.array(starts.unwrapped.state)
    rng = np.random.default_rng(SEED)
    space = env.action_space("player_0")
    ends = {"terminated": 0, "truncated": 0}
    for episode in range(episodes):
        obs, _ = env.reset(seed=SEED + episode)
        np.testing.assert_allclose(env.state(), start_states[episode].astype(np.float32), rtol=0, atol=0)
        ref_obs = start_like(ref, start_states[episode])
        for agent in ref.possible_agents:
            np.testing.assert_allclose(obs[agent], ref_obs[agent], **OBS_TOL, err_msg=f"reset obs of {agent}")
        high = 2 if episode % 2 == 0 else space.n
        t = 0
        while ref.agents:
            actions = {agent: int(rng.integers(high)) for agent in ref.agents}
            expected = ref.step(actions)
            assert_round_equal(expected, env.step(actions), f"in episode {episode} at step {t}")
            t += 1
        assert env.agents == []
        ends["terminated"] += expected[2]["player_0"]
        ends["truncated"] += expected[3]["player_0"]
    assert ends["truncated"] > 0
    assert (ends["terminated"] > 0) == (reference is CommonsHarvestReference)
