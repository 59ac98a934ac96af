"""train() and the native PPO on the multi-agent games: shared and independent learners, the
welfare and per-agent curves, the scripted floors and ceilings, the CLI, bad input."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json

import gymnasium as gym
import numpy as np
import pytest
import rewardgym
import torch
from rewardgym.agents.cli import configure_parser, run_from_args
from rewardgym.agents.curves import CURVE_COLUMNS
from rewardgym.agents.multiagent import MULTIAGENT_POLICIES
from rewardgym.agents.ppo import ActorCritic, IndependentActorCritic, PPOConfig, learn
from rewardgym.agents.train import MULTIAGENT_ALGOS, algos_for, train

GAME = "rewardgym/PublicGoods-v0"
AGENTS = [f"player_{k}" for k in range(4)]
COLUMNS = (*CURVE_COLUMNS, "eval_welfare", *(f"eval_proxy/{agent}" for agent in AGENTS))
# Two games of four agents, short rollouts, small networks: these check the plumbing, not the learning.
FAST = {"num_envs": 8, "num_steps": 16, "num_minibatches": 2, "update_epochs": 2, "hidden_sizes": [16]}


def parameters(module: torch.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


# -- train() on a game, both kinds of learners, every reward mode ---------------------------------


@pytest.mark.parametrize("learners", ["shared", "independent"])
@pytest.mark.parametrize("mode", ["private", "integrated", "cooperative"])
def test_learners_train_on_public_goods_and_report_welfare_and_each_agents_proxy(learners, mode):
    result = train(
        GAME,
        algo="ppo",
        seed=1,
        total_steps=256,
        hyperparams={**FAST, "learners": learners},
        eval_every=128,
        eval_episodes=2,
        env_kwargs={"reward_mode": mode, "max_cycles": 8},
    )
    assert isinstance(result.model, IndependentActorCritic if learners == "independent" else ActorCritic)
    assert result.config["hyperparams"]["learners"] == learners
    assert result.config["env_kwargs"] == {"reward_mode": mode, "max_cycles": 8}
    # What each agent is paid, as a multiple of its gold (its share of the welfare), when every
    # agent of a game plays the same number of rounds: its payoff averages W / 4.
    paid = {"private": 1.0, "integrated": 1 + 0.5 * 3, "cooperative": 4.0}[mode]
    assert [row["step"] for row in result.curves] == [128, 256]
    for row in result.curves:
        assert tuple(row) == COLUMNS
        proxies = np.array([row[f"eval_proxy/{agent}"] for agent in AGENTS])
        welfare = row["eval_welfare"]
        # Gold is each agent's equal share of the welfare; the proxy is the mode's mix of payoffs.
        assert row["eval_gold"] == pytest.approx(welfare / 4)
        assert row["eval_proxy"] == pytest.approx(proxies.mean())
        assert proxies.sum() == pytest.approx(paid * welfare, rel=1e-5)
        assert row["train_proxy"] == pytest.approx(paid * row["train_gold"], rel=1e-5)
        assert 8 * 4.0 - 1e-3 <= welfare <= 8 * 6.4 + 1e-3  # between everyone defecting and everyone contributing
    last = result.curves[-1]
    assert result.final_welfare == last["eval_welfare"]
    assert result.final_agent_proxy == {agent: last[f"eval_proxy/{agent}"] for agent in AGENTS}
    assert [row["episodes"] for row in result.curves] == [16, 16]  # two 8-round episodes on each of 8 rows


def test_independent_learners_same_seed_same_curves_and_parameters():
    def run(seed):
        hyperparams = {**FAST, "learners": "independent", "normalize_obs": True, "normalize_reward": True}
        return train(GAME, seed=seed, total_steps=256, hyperparams=hyperparams, eval_episodes=2)

    a, b, other = run(0), run(0), run(1)
    strip = [{k: v for k, v in row.items() if k != "wall_s"} for row in a.curves]
    assert strip == [{k: v for k, v in row.items() if k != "wall_s"} for row in b.curves]
    first, again, third = (parameters(r.model) for r in (a, b, other))
    assert all(np.array_equal(first[name], again[name]) for name in first)
    assert any(not np.array_equal(first[name], third[name]) for name in first)


# -- independent learners: separate networks, each trained on its own rows --------------------------


def test_independent_networks_start_apart_and_keep_their_own_statistics():
    envs = rewardgym.make_parallel_vec(GAME, num_envs=2, autoreset_mode="same_step")
    config = PPOConfig(**FAST, learners="independent", normalize_obs=True)
    agent = learn(envs, 2 * config.batch_size, config, seed=0)
    assert isinstance(agent, IndependentActorCritic) and len(agent.networks) == 4
    nets = [parameters(net) for net in agent.networks]
    single = ActorCritic(envs.single_observation_space, envs.single_action_space, hidden_sizes=(16,))
    assert nets[0].keys() == parameters(single).keys()
    for k in range(1, 4):
        assert not np.array_equal(nets[0]["actor.0.weight"], nets[k]["actor.0.weight"])
    # Each network's observation statistics count its own rows only: 2 games' rows, per step.
    counts = [net.obs_count.item() for net in agent.networks]
    assert counts == pytest.approx([2 * (2 * config.num_steps + 1)] * 4, abs=1e-3)
    assert set(parameters(agent)) == {f"agents.{k}.{name}" for k in range(4) for name in nets[0]}


def flip_odd_rows(batch):
    """A reward that pays the odd rows (agent 1 of two) the opposite of the env's reward."""
    reward = np.array(batch.reward, dtype=np.float32, copy=True)
    reward[1::2] *= -1.0
    return reward


def test_each_independent_learner_learns_from_its_own_rows_only():
    # CartPole's envs do not interact, so rows 0, 2, ... (agent 0 of a pretend two-agent layout)
    # play the same whatever happens on rows 1, 3, ...: paying agent 1 differently must leave
    # agent 0's network bit for bit as it was, its reward and observation statistics included.
    config = PPOConfig(**FAST, learners="independent", normalize_obs=True, normalize_reward=True)
    index = np.arange(8) % 2

    def run(reward):
        envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=8, reward=reward, autoreset_mode="same_step")
        return learn(envs, 4 * config.batch_size, config, seed=0, agent_index=index)

    plain, flipped = run([]), run(flip_odd_rows)
    agent_0 = [parameters(a.networks[0]) for a in (plain, flipped)]
    agent_1 = [parameters(a.networks[1]) for a in (plain, flipped)]
    assert all(np.array_equal(agent_0[0][name], agent_0[1][name]) for name in agent_0[0])
    assert any(not np.array_equal(agent_1[0][name], agent_1[1][name]) for name in agent_1[0])


def test_shared_learners_are_one_network_for_every_row():
    envs = rewardgym.make_parallel_vec(GAME, num_envs=2, autoreset_mode="next_step")
    config = PPOConfig(**FAST)
    agent = learn(envs, config.batch_size, config, seed=0)
    assert isinstance(agent, ActorCritic)
    assert agent.predict(envs.reset(seed=0)[0]).shape == (8,)


def test_independent_learners_in_next_step_mode_and_on_torch_batches():
    envs = rewardgym.make_parallel_vec(GAME, num_envs=2, autoreset_mode="next_step", max_cycles=5)
    config = PPOConfig(**FAST, learners="independent")
    episodes = []
    agent = learn(envs, 2 * config.batch_size, config, seed=0, callback=lambda s, a, e: episodes.append(e))
    lengths = np.concatenate([e["length"] for e in episodes])
    assert len(lengths) and (lengths == 5).all()
    obs = torch.as_tensor(envs.reset(seed=0)[0])
    assert agent.act(obs).shape == (8,) and agent.value(obs).shape == (8,)


def test_independent_predict_routes_rows_to_their_agents_and_takes_whole_games():
    envs = rewardgym.make_parallel_vec(GAME, num_envs=3)
    agent = IndependentActorCritic(envs.single_observation_space, envs.single_action_space, 4, seed=0)
    obs = np.random.default_rng(0).uniform(0, 1, (12, 9)).astype(np.float32)
    actions = agent.predict(obs)
    assert actions.shape == (12,) and actions.dtype == np.int64
    for k, net in enumerate(agent.networks):
        np.testing.assert_array_equal(actions[k::4], net.predict(obs[k::4]))
    with pytest.raises(ValueError, match="not a multiple of num_agents=4"):
        agent.predict(obs[:6])
    with pytest.raises(ValueError, match="row batch of shape"):
        agent.predict(obs[0])


# -- scripted floors and ceilings -------------------------------------------------------------------

# Welfare over an episode (default params: 4 agents for 50 rounds; 4 for 100; 2 for 50).
SCRIPTED_WELFARE = {
    ("rewardgym/PublicGoods-v0", "cooperate"): 320.0,
    ("rewardgym/PublicGoods-v0", "defect"): 200.0,
    ("rewardgym/PublicGoods-v0", "tit_for_tat"): 320.0,
    ("rewardgym/CommonsHarvest-v0", "sustainable"): 1000.0,
    ("rewardgym/Coopetition-v0", "compete"): 900.0,
    ("rewardgym/Coopetition-v0", "collude"): 1354.0,
}


@pytest.mark.parametrize("env_id, algo", [(env, name) for env, names in MULTIAGENT_POLICIES.items() for name in names])
def test_scripted_policies_play_their_game_once(env_id, algo):
    result = train(env_id, algo=algo, eval_episodes=2)
    assert [row["step"] for row in result.curves] == [0] and result.model is not None
    if (env_id, algo) in SCRIPTED_WELFARE:
        assert result.final_welfare == pytest.approx(SCRIPTED_WELFARE[env_id, algo], rel=1e-6)
    if algo == "greedy":  # the commons collapses within a few rounds
        assert result.final_welfare < 0.2 * SCRIPTED_WELFARE[env_id, "sustainable"]


def test_the_random_floor_plays_a_game_and_algos_for_lists_what_each_env_takes():
    result = train("rewardgym/Coopetition-v0", algo="random", seed=3, eval_episodes=2)
    assert set(result.final_agent_proxy) == {"player_0", "player_1"} and result.final_welfare > 0
    assert algos_for("CommonsHarvest-v0") == ("ppo", "random", "greedy", "sustainable")
    assert set(MULTIAGENT_ALGOS) == {name for names in MULTIAGENT_POLICIES.values() for name in names}


# -- the command line -------------------------------------------------------------------------------


def cli(argv):
    parser = argparse.ArgumentParser(prog="rewardgym train")
    configure_parser(parser)
    return run_from_args(parser.parse_args(argv))


def test_cli_trains_independent_learners_on_a_game(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["PublicGoods-v0", "--steps", "128", "--eval-episodes", "2", "--out", str(out), "--no-progress"]
    argv += ["--set", "num_envs=8", "--set", "num_steps=16", "--set", "learners=independent"]
    assert cli([*argv, "--env-kwarg", "reward_mode=cooperative"]) == 0, capsys.readouterr().err
    line = capsys.readouterr().out.strip().splitlines()[-1]
    config = json.loads((out / "config.json").read_text())
    assert f"welfare {config['final_welfare']:.2f}" in line and "player_3" in line
    assert config["env_kwargs"] == {"reward_mode": "cooperative"} and set(config["final_agent_proxy"]) == set(AGENTS)
    with open(out / "curves.csv") as handle:
        assert tuple(csv.DictReader(handle).fieldnames or ()) == COLUMNS
    from safetensors.numpy import load_file

    assert {key.split(".")[1] for key in load_file(str(out / "model.safetensors"))} == {"0", "1", "2", "3"}


def test_cli_runs_a_games_scripted_policy_and_refuses_another_games(tmp_path, capsys):
    assert cli(["PublicGoods-v0", "--algo", "tit_for_tat", "--eval-episodes", "1", "--out", str(tmp_path)]) == 0
    assert "welfare 320.00" in capsys.readouterr().out
    assert cli(["PublicGoods-v0", "--algo", "greedy", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "'greedy' plays rewardgym/CommonsHarvest-v0 only" in err and "cooperate, defect, tit_for_tat" in err


# -- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (
            dict(env_id="rewardgym/CartPole-v0", hyperparams={"learners": "independent"}),
            ["learners='independent'", "single-agent", "learners='shared'", GAME],
        ),
        (dict(env_id=GAME, hyperparams={"learners": "solo"}), ["learners must be one of shared, independent", "solo"]),
        (dict(env_id=GAME, algo="greedy"), ["'greedy' plays rewardgym/CommonsHarvest-v0 only", "tit_for_tat"]),
        (dict(env_id="rewardgym/CartPole-v0", algo="cooperate"), ["'cooperate' plays", "sb3-ppo"]),
        (dict(env_id=GAME, algo="sb3-ppo"), ["'sb3-ppo' does not train on the multi-agent game", "ppo, random"]),
        (dict(env_id=GAME, algo="oracle"), ["'oracle' does not train", "cooperate"]),
        (dict(env_id=GAME, hyperparams={"num_envs": 10}), ["num_envs=10", "multiple of 4", "8 or 12"]),
        (dict(env_id=GAME, algo="defect", hyperparams={"num_envs": 8}), ["'defect' takes no hyperparameters"]),
        (dict(env_id=GAME, env_kwargs={"reward_mode": "selfish"}), ["selfish", "private, integrated, cooperative"]),
        (dict(env_id="rewardgym/Nope-v0"), ["unknown env", GAME]),
    ],
)
def test_bad_input_is_refused_by_name(kwargs, words):
    with pytest.raises(ValueError) as info:
        train(total_steps=16, eval_episodes=1, **kwargs)
    for word in words:
        assert word in str(info.value)


def test_learn_refuses_independent_learners_without_agents():
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=8, reward=[], autoreset_mode="same_step")
    config = PPOConfig(**FAST, learners="independent")
    with pytest.raises(ValueError, match="needs a multi-agent env with a row per agent"):
        learn(envs, 16, config)
    with pytest.raises(ValueError, match="row r agent r % num_agents"):
        learn(envs, 16, config, agent_index=np.array([0, 0, 1, 1, 0, 0, 1, 1]))
    with pytest.raises(ValueError, match="num_minibatches .9. exceeds each independent learner's batch"):
        learn(
            envs,
            16,
            dataclasses.replace(config, num_envs=8, num_steps=2, num_minibatches=9),
            agent_index=np.arange(8) % 2,
        )
