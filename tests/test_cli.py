"""The console script, run as a user would: a real subprocess."""

import os
import shutil
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import rewardgym
import rewardgym.envs.multiagent
from rewardgym.agents.cli import is_user_error
from rewardgym.cli import demo_returns
from rewardgym.envs import ENVS
from rewardgym.envs.code import pool_isolation


def run_cli(*args):
    exe = shutil.which("rewardgym") or os.path.join(os.path.dirname(sys.executable), "rewardgym")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=300)


def test_registration_covers_import_and_register_envs():
    gym.register_envs(rewardgym)
    assert {
        "rewardgym/CartPole-v0",
        "rewardgym/MountainCar-v0",
        "rewardgym/MountainCarContinuous-v0",
        "rewardgym/Pendulum-v0",
        "rewardgym/Acrobot-v0",
    } <= set(gym.registry)


def test_list_prints_every_env_with_modality_spaces_and_gold():
    result = run_cli("list")
    assert result.returncode == 0, result.stderr
    for info in ENVS.values():
        line = next(line for line in result.stdout.splitlines() if line.startswith(info.env_id + " "))
        for field in (info.modality, info.observation_space, info.action_space, info.gold):
            assert field in line
    for env_id, game in rewardgym.envs.multiagent.GAMES.items():
        line = next(line for line in result.stdout.splitlines() if line.startswith(env_id + " "))
        assert game.gold in line and game.dilemma in line
    sandbox = next(line for line in result.stdout.splitlines() if line.startswith("Code envs' sandbox"))
    layers = pool_isolation()
    assert all(name in sandbox.split("not here:")[layers[name] is False] for name in layers)


def test_demo_prints_proxy_and_gold_per_regime():
    result = run_cli(
        "demo",
        "--env",
        "rewardgym/CartPole-v0",
        "--reward",
        "none",
        "--reward",
        "scale(factor=-1)",
        "--num-envs",
        "16",
        "--episodes",
        "32",
    )
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("rewardgym/")]
    (_, _, proxy_plain, gold_plain, _), (_, _, proxy_neg, gold_neg, _) = rows
    assert proxy_plain == gold_plain == gold_neg
    assert float(proxy_neg) == -float(gold_neg)


def test_demo_refuses_unknown_envs_and_regimes():
    result = run_cli("demo", "--env", "rewardgym/Nope-v0")
    assert result.returncode != 0 and "unknown env 'rewardgym/Nope-v0'" in result.stderr
    with pytest.raises(ValueError, match="unknown reward regime"):
        demo_returns("rewardgym/CartPole-v0", "bogus", num_envs=2, episodes=1)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--reward", "bogus"], "unknown reward regime 'bogus'"),
        (["--reward", "shaped(gamma=0.9, gamma=0.8)"], "parameter 'gamma' of regime 'shaped' is given twice"),
        (["--num-envs", "0"], "num_envs must be"),
        (["--episodes", "-1"], "episodes must be an integer >= 1, got -1"),
        (["--seed", "-1"], "seed must be an integer >= 0, got -1"),
    ],
)
def test_demo_user_errors_print_one_line_and_exit_2(args, message):
    result = run_cli("demo", "--env", "rewardgym/CartPole-v0", *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and "Traceback" not in result.stderr
    assert result.stderr.startswith("rewardgym demo: error: ") and message in result.stderr


def test_train_user_errors_print_one_line_and_exit_2(tmp_path):
    (tmp_path / "a_file").write_text("")
    for args, message in [
        (["--reward", "shaped(kind=['potential'])"], "the kind of regime 'shaped' must be a string"),
        (["--out", str(tmp_path / "a_file" / "run")], "Not a directory"),
    ]:
        result = run_cli("train", "CartPole-v0", "--algo", "random", "--steps", "8", "--no-progress", *args)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
        assert result.stderr.startswith("rewardgym train: error: ") and message in result.stderr


def test_only_errors_that_refuse_an_input_count_as_user_errors():
    def caught(action):
        try:
            action()
        except Exception as exc:  # the exception itself is under test
            return exc
        raise AssertionError("did not raise")

    # rewardgym's own checks refuse inputs by name: user errors.
    assert is_user_error(caught(lambda: demo_returns("rewardgym/CartPole-v0", "none", num_envs=2, episodes=0)))
    assert is_user_error(caught(lambda: rewardgym.make_regime("scale", factor="x")))
    assert is_user_error(caught(lambda: open("/nonexistent/rewardgym/file")))  # a path: the user's
    # The same types out of numpy or Python, or a RuntimeError, are bugs: they keep their traceback,
    # even when rewardgym's code makes the failing call itself (code compiled as a package file).
    in_package = os.path.join(os.path.dirname(rewardgym.__file__), "cli.py")
    for source, user in [
        ("raise ValueError('episodes must be >= 1')", True),
        ("np.concatenate([])", False),  # the demo's old failure with --episodes -1
        ("np.zeros(2) + np.zeros(3)", False),
        ("int('x')", False),
    ]:
        code = compile(source, in_package, "exec")
        assert is_user_error(caught(lambda code=code: exec(code, {"np": np}))) is user, source
    assert not is_user_error(caught(lambda: np.concatenate([])))
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=2)
    assert not is_user_error(caught(lambda: envs.step(np.zeros(2, dtype=np.int64))))  # step before reset
