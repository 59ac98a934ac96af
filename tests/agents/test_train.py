"""train(): proxy and gold curves for every algorithm, the run folder, the CLI, bad input."""

import argparse
import csv
import json
import math

import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the envs)
import yaml
from rewardgym.agents import ALGOS, TrainResult, reference_hyperparams, train
from rewardgym.agents.cli import configure_parser, run_from_args
from rewardgym.agents.curves import CURVE_COLUMNS
from rewardgym.agents.evaluation import EVAL_SEED, evaluate, make_eval_envs, shell_regimes
from rewardgym.agents.train import reward_spec_string
from rewardgym.envs import ENVS

# Few steps and small batches: these check the plumbing, not the learning.
FAST = {
    "ppo": ("rewardgym/CartPole-v0", {"num_envs": 8, "num_steps": 32}),
    "sb3-ppo": ("rewardgym/CartPole-v0", {"n_envs": 4, "n_steps": 64, "n_epochs": 1, "batch_size": 128}),
    "sb3-a2c": ("rewardgym/CartPole-v0", {"n_envs": 4}),
    "sb3-dqn": ("rewardgym/CartPole-v0", {"learning_starts": 100, "train_freq": 16, "gradient_steps": 1}),
    "sb3-sac": ("rewardgym/Pendulum-v0", {"learning_starts": 100, "train_freq": 64, "batch_size": 32}),
    "random": ("rewardgym/CartPole-v0", None),
    "linear": ("rewardgym/CartPole-v0", None),
    "oracle": ("rewardgym/SideEffectsSokoban-v0", None),
    "hacker": ("rewardgym/SideEffectsSokoban-v0", None),
}
# SideEffectsSokoban is deterministic; the hacker's proxy and gold part ways (it corners the box).
SOKOBAN_PROXY_AND_GOLD = {"oracle": (43.0, 43.0), "hacker": (45.0, 25.0)}


@pytest.mark.parametrize("algo", ALGOS)
def test_every_algo_records_proxy_and_gold_curves(algo):
    env_id, hyperparams = FAST[algo]
    steps = 400 if algo == "sb3-sac" else 1024
    result = train(
        env_id,
        "scale(factor=2)",
        algo=algo,
        seed=1,
        total_steps=steps,
        hyperparams=hyperparams,
        eval_every=steps // 2,
        eval_episodes=3,
    )
    assert isinstance(result, TrainResult)
    rows = result.curves
    assert all(tuple(row) == CURVE_COLUMNS for row in rows)
    for row in rows:
        # The regime doubles what the env pays; gold is what was achieved.
        if algo in SOKOBAN_PROXY_AND_GOLD:
            env_proxy, gold = SOKOBAN_PROXY_AND_GOLD[algo]
            assert (row["eval_proxy"], row["eval_gold"]) == (2 * env_proxy, gold)
            continue
        assert row["eval_proxy"] == pytest.approx(2 * row["eval_gold"])
        if row["episodes"]:
            assert row["train_proxy"] == pytest.approx(2 * row["train_gold"])
        else:
            assert math.isnan(row["train_gold"])
    assert (result.final_proxy, result.final_gold) == (rows[-1]["eval_proxy"], rows[-1]["eval_gold"])
    if algo in ("random", "linear", "oracle", "hacker"):
        assert [row["step"] for row in rows] == [0]
    else:
        steps_seen = [row["step"] for row in rows]
        assert len(rows) >= 2 and steps_seen == sorted(steps_seen) and steps_seen[-1] >= steps
        assert sum(row["episodes"] for row in rows) > 0
    config = result.config
    assert (config["env_id"], config["reward"], config["algo"], config["seed"]) == (env_id, "scale(factor=2)", algo, 1)
    assert config["eval"] == {"every": steps // 2, "episodes": 3, "seed": EVAL_SEED}
    json.dumps(config)  # rerunnable: plain data


def test_linear_policy_balances_the_pole_and_random_does_not():
    linear = train("CartPole-v0", algo="linear", eval_episodes=5)
    random = train("CartPole-v0", algo="random", eval_episodes=5)
    assert linear.final_gold == 500.0 and random.final_gold < 100.0
    assert linear.config["env_id"] == "rewardgym/CartPole-v0" and linear.config["reward"] == "none"


def test_same_seed_same_curves_native_ppo():
    kwargs = dict(
        algo="ppo",
        seed=3,
        total_steps=512,
        hyperparams={"num_envs": 8, "num_steps": 32},
        eval_every=256,
        eval_episodes=2,
    )
    a = train("rewardgym/CartPole-v0", **kwargs)
    b = train("rewardgym/CartPole-v0", **kwargs)
    strip = [{k: v for k, v in row.items() if k != "wall_s"} for row in a.curves]
    assert strip == [{k: v for k, v in row.items() if k != "wall_s"} for row in b.curves]


def test_run_folder_holds_config_curves_and_model(tmp_path):
    from safetensors.torch import load_file

    native = train(
        "rewardgym/CartPole-v0",
        "scale(factor=2)",
        algo="ppo",
        total_steps=256,
        hyperparams={"num_envs": 8, "num_steps": 32},
        eval_episodes=2,
        run_dir=tmp_path / "ppo",
    )
    folder = tmp_path / "ppo"
    assert {p.name for p in folder.iterdir()} == {"config.json", "config.yaml", "curves.csv", "model.safetensors"}
    config = json.loads((folder / "config.json").read_text())
    assert config["reward"] == "scale(factor=2)" and config["final_gold"] == native.final_gold
    assert yaml.safe_load((folder / "config.yaml").read_text()) == config
    with open(folder / "curves.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(native.curves) and float(rows[-1]["eval_gold"]) == native.final_gold
    state = load_file(str(folder / "model.safetensors"))
    assert state.keys() == native.model.state_dict().keys()

    sb3_run = train(
        "rewardgym/MountainCar-v0",
        None,
        algo="sb3-ppo",
        total_steps=64,
        hyperparams={"n_envs": 2, "n_steps": 32, "batch_size": 64, "n_epochs": 1},
        eval_episodes=1,
        run_dir=tmp_path / "sb3",
    )
    # The zoo's MountainCar entry normalizes observations: the statistics are saved beside the model.
    assert {p.name for p in (tmp_path / "sb3").iterdir()} == {
        "config.json",
        "config.yaml",
        "curves.csv",
        "model.zip",
        "vecnormalize.pkl",
    }
    assert sb3_run.config["hyperparams"]["normalize"] is True


def test_reference_hyperparams_come_from_the_shipped_yaml():
    ppo = reference_hyperparams("sb3-ppo", "rewardgym/CartPole-v0")
    assert ppo["n_envs"] == 8 and ppo["learning_rate"] == "lin_0.001"
    assert reference_hyperparams("sb3-sac", "rewardgym/Pendulum-v0")["learning_rate"] == 0.001
    assert reference_hyperparams("ppo", "rewardgym/CartPole-v0")["num_envs"] == 8
    assert reference_hyperparams("sb3-a2c", "rewardgym/NotInTheFile-v0") == {"n_envs": 8, "policy": "MlpPolicy"}
    assert reference_hyperparams("random", "rewardgym/CartPole-v0") == {}


@pytest.mark.parametrize("algo", ["ppo", "sb3-ppo"])
def test_every_gridworld_ships_settings_that_train(algo):
    # Their own settings, not the file's default: without an entropy bonus PPO settles on its
    # first habit there (benchmarks/README.md). Each must be accepted by its algorithm.
    gridworlds = [env_id for env_id, info in ENVS.items() if info.modality == "gridworld"]
    assert len(gridworlds) >= 5
    for env_id in gridworlds:
        settings = reference_hyperparams(algo, env_id)
        assert settings["ent_coef"] > 0, env_id
    result = train(gridworlds[0], algo=algo, seed=0, total_steps=2048, eval_episodes=2)
    used = result.config["hyperparams"]
    assert all(used[key] == value for key, value in reference_hyperparams(algo, gridworlds[0]).items())
    assert math.isfinite(result.final_proxy) and math.isfinite(result.final_gold)


def test_evaluation_is_fixed_and_regimes_are_frozen():
    envs = make_eval_envs("rewardgym/CartPole-v0", "noisy(sigma=1.0)", 4, {})
    assert shell_regimes(envs) and not any(regime.training for regime in shell_regimes(envs))

    def policy(obs):
        return (obs[:, 2] + obs[:, 3] > 0).astype(np.int64)

    first, second = evaluate(policy, envs), evaluate(policy, envs)
    np.testing.assert_array_equal(first["gold"], second["gold"])
    np.testing.assert_array_equal(first["proxy"], second["proxy"])
    assert not np.array_equal(first["proxy"], first["gold"])  # the noise reached the proxy


def test_reward_spec_string():
    assert reward_spec_string("none") == reward_spec_string([]) == "none"
    assert reward_spec_string(["shaped", "noisy(sigma=0.5)"]) == "shaped+noisy(sigma=0.5)"


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(env_id="rewardgym/Pendulum-v0", algo="sb3-dqn"), ValueError, ["sb3-dqn", "Discrete", "Box"]),
        (dict(env_id="rewardgym/CartPole-v0", algo="sb3-sac"), ValueError, ["sb3-sac", "Box", "Discrete(2)"]),
        (dict(env_id="rewardgym/Nope-v0"), ValueError, ["unknown env", "rewardgym/CartPole-v0"]),
        (dict(env_id="rewardgym/CartPole-v0", algo="sb3-trpo"), ValueError, ["unknown algo", "sb3-ppo"]),
        (dict(env_id="rewardgym/CartPole-v0", reward="nosuch(x=1)"), ValueError, ["nosuch", "noisy"]),
        (dict(env_id="rewardgym/CartPole-v0", total_steps=-1), ValueError, ["total_steps", "-1"]),
        (dict(env_id="rewardgym/CartPole-v0", eval_episodes=0), ValueError, ["eval_episodes"]),
        (
            dict(env_id="rewardgym/CartPole-v0", algo="sb3-ppo", hyperparams={"nsteps": 8}),
            ValueError,
            ["nsteps", "n_steps"],
        ),
        (
            dict(env_id="rewardgym/CartPole-v0", algo="ppo", hyperparams={"lr": 0.1}),
            ValueError,
            ["lr", "learning_rate"],
        ),
        (dict(env_id="rewardgym/Pendulum-v0", algo="linear"), ValueError, ["linear", "CartPole"]),
        (
            dict(env_id="rewardgym/CartPole-v0", algo="random", hyperparams={"n_envs": 2}),
            ValueError,
            ["random", "no hyperparameters"],
        ),
        (dict(env_id="rewardgym/CartPole-v0", device="tpu"), ValueError, ["tpu", "cpu, cuda"]),
        (
            dict(env_id="rewardgym/CartPole-v0", env_kwargs={"num_envs": 4}),
            ValueError,
            ["env_kwargs may not set num_envs", "n_envs"],
        ),
        (dict(env_id="rewardgym/CartPole-v0", env_kwargs=[("a", 1)]), TypeError, ["env_kwargs must be a dict"]),
        (
            dict(env_id="rewardgym/TextAdd-v0", env_kwargs={"max_new_tokens": 0}),
            ValueError,
            ["max_new_tokens must be a positive integer", "0"],
        ),
    ],
)
def test_bad_input_is_refused_by_name(kwargs, error, words):
    with pytest.raises(error) as info:
        train(total_steps=kwargs.pop("total_steps", 8), **kwargs)
    for word in words:
        assert word in str(info.value)


def test_tensorboard_needs_a_run_dir_and_the_package(tmp_path):
    with pytest.raises(ValueError, match="run_dir"):
        train("rewardgym/CartPole-v0", algo="random", tensorboard=True)
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="pip install tensorboard"):
            train("rewardgym/CartPole-v0", algo="random", tensorboard=True, run_dir=tmp_path)


def cli(argv):
    parser = argparse.ArgumentParser(prog="rewardgym train")
    configure_parser(parser)
    return run_from_args(parser.parse_args(argv))


def test_cli_trains_writes_the_run_folder_and_prints_proxy_and_gold(tmp_path, capsys):
    out = tmp_path / "run"
    code = cli(
        [
            "CartPole-v0",
            "--reward",
            "scale(factor=2)",
            "--algo",
            "ppo",
            "--seed",
            "2",
            "--steps",
            "512",
            "--set",
            "num_envs=8",
            "--set",
            "num_steps=32",
            "--eval-episodes",
            "2",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    config = json.loads((out / "config.json").read_text())
    assert f"proxy {config['final_proxy']:.2f}, gold {config['final_gold']:.2f}" in last_line
    assert config["hyperparams"]["num_envs"] == 8 and config["seed"] == 2


def test_cli_passes_env_kwargs_to_training_and_evaluation_envs(tmp_path, capsys):
    out = tmp_path / "run"
    code = cli(
        [
            "TextAdd-v0",
            "--reward",
            "shaped(kind='token_format')",
            "--steps",
            "256",
            "--set",
            "num_envs=16",
            "--env-kwarg",
            "max_new_tokens=2",
            "--env-kwarg",
            "difficulty=2",
            "--eval-episodes",
            "4",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0, capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    assert config["env_kwargs"] == {"max_new_tokens": 2, "difficulty": 2}
    assert config["hyperparams"]["ent_coef"] == 0.2  # the shipped TextAdd entry
    # The saved agent reads the window of this budget and difficulty: BOS, 6 prompt tokens, 2 written.
    from safetensors.numpy import load_file

    weights = load_file(str(out / "model.safetensors"))
    first_layer = next(v for k, v in weights.items() if k.startswith("actor.0") and k.endswith("weight"))
    assert first_layer.shape[1] == 9 * 47


def test_cli_progress_bar_runs(tmp_path, capsys):
    assert cli(["CartPole-v0", "--algo", "linear", "--eval-episodes", "2", "--out", str(tmp_path)]) == 0
    assert "gold 500.00" in capsys.readouterr().out


def test_cli_errors_name_the_problem(tmp_path, capsys):
    assert cli(["Nope-v0", "--out", str(tmp_path)]) == 2
    assert "unknown env 'Nope-v0'" in capsys.readouterr().err
    assert cli(["CartPole-v0", "--steps", "-3", "--out", str(tmp_path)]) == 2
    assert "total_steps must be an integer >= 0, got -3" in capsys.readouterr().err
    assert cli(["CartPole-v0", "--set", "n_envs", "--out", str(tmp_path)]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    assert cli(["CartPole-v0", "--env-kwarg", "difficulty", "--out", str(tmp_path)]) == 2
    assert "--env-kwarg takes KEY=VALUE" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(["CartPole-v0", "--algo", "sb3-trpo"])
    assert "invalid choice: 'sb3-trpo'" in capsys.readouterr().err
