"""The console script, run as a user would: a real subprocess."""

import os
import shutil
import subprocess
import sys

import gymnasium as gym
import pytest
import rewardgym
from rewardgym.cli import demo_returns
from rewardgym.envs import ENVS


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
