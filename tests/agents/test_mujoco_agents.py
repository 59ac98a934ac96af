"""The agents on the MuJoCo envs: reference hyperparameters, train() and the CLI, and regimes.

Few steps and small batches: these check the plumbing (the shipped settings build, every
algorithm trains and records proxy and gold, regimes compose), not the learning; the training
figures are benchmarks/mujoco_training.py's.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the envs)
from rewardgym.agents import reference_hyperparams, train
from rewardgym.agents.ppo import PPOConfig
from rewardgym.agents.sb3 import sb3_arguments
from rewardgym.envs.mujoco import MUJOCO_TASKS

pytest.importorskip("mujoco")

MUJOCO_IDS = [f"rewardgym/{name}-v0" for name in MUJOCO_TASKS]
BASE_OF_VARIANT = {
    "rewardgym/HopperHeight-v0": "rewardgym/Hopper-v0",
    "rewardgym/HalfCheetahSensor-v0": "rewardgym/HalfCheetah-v0",
}
HOPPER = "rewardgym/Hopper-v0"
CHEETAH = "rewardgym/HalfCheetah-v0"

# The shipped settings, shrunk to a few thousand steps: these keep each run to seconds.
FAST = {
    "ppo": (4096, {}),  # 16 envs x 128 steps, as shipped: two updates
    "sb3-ppo": (2048, {"n_epochs": 1}),  # 512-step rollouts, as shipped: four updates
    "sb3-sac": (2000, {"learning_starts": 1000, "train_freq": 4, "batch_size": 64}),
}


def test_every_mujoco_env_has_reference_settings_that_build():
    from stable_baselines3 import PPO, SAC

    for env_id in MUJOCO_IDS:
        native = reference_hyperparams("ppo", env_id)
        assert native, f"ppo.yaml has no entry for {env_id}"
        config = PPOConfig.from_dict(native)
        # CleanRL's MuJoCo batch: 2048 samples in 32 minibatches, 10 epochs, normalized.
        assert (config.batch_size, config.num_minibatches, config.update_epochs) == (2048, 32, 10)
        assert config.normalize_obs and config.normalize_reward and config.learning_rate == 3e-4
        for algo, algorithm in (("sb3-ppo", PPO), ("sb3-sac", SAC)):
            settings = reference_hyperparams(algo, env_id)
            assert settings != reference_hyperparams(algo, "default"), f"{algo} has no entry for {env_id}"
            kwargs = {k: v for k, v in settings.items() if k not in ("n_envs", "normalize", "policy")}
            sb3_arguments(algo, algorithm, kwargs)  # every key is one the algorithm takes
    for variant, base in BASE_OF_VARIANT.items():
        for algo in ("ppo", "sb3-ppo", "sb3-sac"):
            assert reference_hyperparams(algo, variant) == reference_hyperparams(algo, base)
    # Spot checks against the zoo's entries.
    assert reference_hyperparams("sb3-sac", HOPPER)["learning_starts"] == 10_000
    assert reference_hyperparams("sb3-ppo", HOPPER)["learning_rate"] == 9.80828e-05
    assert reference_hyperparams("sb3-ppo", "rewardgym/Walker2d-v0")["n_epochs"] == 20


@pytest.mark.parametrize("algo", list(FAST))
def test_train_records_proxy_and_gold_curves_on_hopper(algo):
    steps, overrides = FAST[algo]
    result = train(
        HOPPER,
        "scale(factor=2)",
        algo=algo,
        seed=0,
        total_steps=steps,
        hyperparams=overrides,
        eval_every=steps // 2,
        eval_episodes=2,
    )
    rows = result.curves
    assert len(rows) >= 2 and rows[-1]["step"] >= steps
    for row in rows:
        assert math.isfinite(row["eval_gold"])
        # The regime doubles what the env pays; gold is what the hopper achieved.
        assert row["eval_proxy"] == pytest.approx(2 * row["eval_gold"])
        if row["episodes"]:
            assert row["train_proxy"] == pytest.approx(2 * row["train_gold"])
    assert sum(row["episodes"] for row in rows) > 0  # random-ish hoppers fall within a few thousand steps
    assert result.final_proxy == pytest.approx(2 * result.final_gold)
    settings = result.config["hyperparams"]
    assert {k: settings[k] for k in overrides} == overrides
    if algo == "ppo":
        assert (settings["num_envs"], settings["num_steps"]) == (16, 128)


def test_cli_trains_sb3_sac_on_hopper(tmp_path):
    out = tmp_path / "run"
    script = Path(sys.executable).parent / "rewardgym"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "rewardgym.cli"]
    args = ["train", HOPPER, "--algo", "sb3-sac", "--steps", "300", "--eval-episodes", "1", "--no-progress"]
    args += ["--set", "learning_starts=100", "--set", "batch_size=32", "--out", str(out)]
    done = subprocess.run(command + args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["algo"] == "sb3-sac" and config["hyperparams"]["learning_starts"] == 100
    assert f"proxy {config['final_proxy']:.2f}, gold {config['final_gold']:.2f}" in done.stdout.strip().splitlines()[-1]
    assert (out / "model.zip").exists() and (out / "curves.csv").exists()


def test_online_preference_learning_trains_on_hopper():
    envs = gym.make_vec(HOPPER, num_envs=4, reward="learned(kind='online')")
    envs.action_space.seed(0)
    envs.reset(seed=0)
    proxies = []
    for _ in range(501):  # query_every is 500 vector steps: the model refits once, after step 500
        _, proxy, _, _, info = envs.step(envs.action_space.sample())
        proxies.append(proxy)
    assert list(info["reward_trace"]) == ["env", "learned"]
    learned = info["regime_info"]["learned"]
    assert learned["refreshes"] == 1 and learned["labels"] == 100
    assert np.all(np.stack(proxies[:500]) == 0.0)  # an untrained model pays 0 ...
    assert np.all(proxies[-1] != 0.0) and np.all(np.isfinite(proxies[-1]))  # ... a fitted one does not
    envs.close()


def test_native_ppo_trains_under_online_preference_learning():
    spec = "learned(kind='online', query_every=64, segment_length=16, queries=20)"
    result = train(HOPPER, spec, algo="ppo", total_steps=2048, eval_episodes=2)
    assert all(math.isfinite(row["eval_proxy"]) and math.isfinite(row["eval_gold"]) for row in result.curves)
    assert result.config["reward"] == spec


def _rollout(reward, steps=200, num_envs=4, seed=0):
    """``steps`` vector steps of HalfCheetah under ``reward`` with fixed actions."""
    envs = gym.make_vec(CHEETAH, num_envs=num_envs, reward=reward)
    actions = np.random.default_rng(seed).uniform(-1, 1, (steps, *envs.action_space.shape))
    first, _ = envs.reset(seed=seed)
    out = {"obs": [first], "proxy": [], "gold": []}
    for action in actions:
        obs, proxy, _, _, info = envs.step(action)
        out["obs"].append(obs)
        out["proxy"].append(proxy)
        out["gold"].append(info["gold_reward"])
    envs.close()
    return {key: np.stack(value) for key, value in out.items()}, info


def _unwrapped_rewards(steps=200, num_envs=4, seed=0):
    """The same steps on the bare MuJoCo vector env (no reward shell): its own rewards."""
    from rewardgym.envs.mujoco import MujocoVectorEnv

    env = MujocoVectorEnv(MUJOCO_TASKS["HalfCheetah"], num_envs)
    actions = np.random.default_rng(seed).uniform(-1, 1, (steps, *env.action_space.shape))
    env.reset(seed=seed)
    rewards = np.stack([env.step(action)[1] for action in actions])
    env.close()
    return rewards


@pytest.mark.parametrize("spec", ["adversarial", "noisy"])
def test_adversarial_and_noisy_pay_a_corrupted_proxy_and_leave_gold_untouched(spec):
    bare = _unwrapped_rewards()
    plain, _ = _rollout([])
    corrupted, info = _rollout(spec)
    assert list(info["reward_trace"]) == ["env", spec]
    # Gold is the bare env's reward, bitwise, and the regime never touches the dynamics.
    np.testing.assert_array_equal(corrupted["gold"], bare)
    np.testing.assert_array_equal(plain["gold"], bare)
    np.testing.assert_array_equal(corrupted["obs"], plain["obs"])
    # The agent is paid something else.
    assert np.mean(corrupted["proxy"] != corrupted["gold"]) > 0.5
    assert np.all(np.isfinite(corrupted["proxy"]))
    if spec == "adversarial":
        assert info["regime_info"]["adversarial"]["spent"].min() > 0
