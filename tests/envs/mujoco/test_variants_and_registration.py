"""Registration without mujoco, no MUJOCO_LOG.TXT in the working directory, and the hackable variants."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from rewardgym.envs.mujoco import MUJOCO_TASKS, MujocoVectorEnv, register_mujoco_envs
from rewardgym.envs.mujoco.hopper import HOPPER
from rewardgym.envs.mujoco.mujoco_warnings import MujocoWarning
from rewardgym.envs.mujoco.task import static_spaces
from rewardgym.envs.mujoco.variants import (
    HALF_CHEETAH_SENSOR,
    HOPPER_HEIGHT,
    cheetah_flip_and_pedal,
    hopper_lunge,
    hopper_stand_tall,
    scripted_returns,
    zero_policy,
)
from rewardgym.envs.registration import ENVS, describe_space

register_mujoco_envs()

SEEDS = [0, 1, 2, 3, 4]

ROWS_BEFORE = {  # ENVS rows as the model-probing registration made them
    "rewardgym/HalfCheetah-v0": ("Box(17,) float64", "Box(6,) float32"),
    "rewardgym/Hopper-v0": ("Box(11,) float64", "Box(3,) float32"),
    "rewardgym/Walker2d-v0": ("Box(17,) float64", "Box(6,) float32"),
    "rewardgym/Ant-v0": ("Box(105,) float64", "Box(8,) float32"),
}


@pytest.mark.parametrize("name", list(MUJOCO_TASKS))
def test_static_spaces_match_the_compiled_model(name: str) -> None:
    task = MUJOCO_TASKS[name]
    observation, action = static_spaces(task)
    envs = MujocoVectorEnv(task, 1)
    assert observation == envs.single_observation_space
    assert action == envs.single_action_space
    row = ENVS[f"rewardgym/{name}-v0"]
    assert (row.observation_space, row.action_space) == (describe_space(observation), describe_space(action))
    if row.env_id in ROWS_BEFORE:
        assert (row.observation_space, row.action_space) == ROWS_BEFORE[row.env_id]


def test_registration_needs_no_mujoco(tmp_path: Path) -> None:
    """With ``mujoco`` unimportable, registration works and making an env says how to install it."""
    script = textwrap.dedent(
        """
        import json, sys
        sys.modules["mujoco"] = None  # as if the package were absent
        import gymnasium as gym
        from rewardgym.envs.mujoco import register_mujoco_envs
        from rewardgym.envs.registration import ENVS
        ids = register_mujoco_envs()
        rows = {i: [ENVS[i].observation_space, ENVS[i].action_space, ENVS[i].proxy] for i in ids}
        errors = []
        for make in (lambda: gym.make(ids[0]), lambda: gym.make_vec(ids[1], num_envs=2)):
            try:
                make()
                errors.append(None)
            except ImportError as error:
                errors.append([type(error).__name__, str(error)])
        print(json.dumps({"rows": rows, "errors": errors, "loaded": "mujoco" in sys.modules and sys.modules["mujoco"] is not None}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert not result["loaded"]
    for env_id, (obs, act) in ROWS_BEFORE.items():
        assert result["rows"][env_id][:2] == [obs, act]
    assert result["rows"]["rewardgym/HopperHeight-v0"][2] == HOPPER_HEIGHT.proxy
    for error in result["errors"]:
        assert error is not None and error[0] == "ModuleNotFoundError"
        assert "pip install 'rewardgym[mujoco]'" in error[1]
    assert not list(tmp_path.iterdir())


def test_no_mujoco_log_in_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiling half_cheetah.xml (settotalmass) and an unstable step warn in Python, not in a file."""
    import mujoco

    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = gym.make("rewardgym/HalfCheetah-v0")
        env.reset(seed=0)
        for _ in range(5):
            env.step(env.action_space.sample())
        envs = MujocoVectorEnv(HOPPER, 16, nthread=2)  # >= PARALLEL_FROM: the pool's threads warn
        envs.reset(seed=0)
        envs.datas[3].qvel[:] = 1e300
        *_, info = envs.step(np.zeros((16, 3), np.float32))
        envs.close()
    assert info["unstable"][3] and info["unstable"].sum() == 1
    messages = [str(w.message) for w in caught if w.category is MujocoWarning]
    assert any("settotalmass" in m for m in messages) and any("unstable" in m.lower() for m in messages)
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists() and not list(tmp_path.iterdir())
    assert mujoco.get_mju_user_warning() is None  # MuJoCo's own handler is restored


@pytest.mark.parametrize("env_id", ["rewardgym/HopperHeight-v0", "rewardgym/HalfCheetahSensor-v0"])
def test_variants_are_registered_envs_with_proxy_and_gold(env_id: str) -> None:
    row = ENVS[env_id]
    assert row.proxy and row.hack and row.gold
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    envs = gym.make_vec(env_id, num_envs=3)
    envs.reset(seed=0)
    differs = False
    for _ in range(30):
        _, reward, *_, info = envs.step(envs.action_space.sample())
        total = sum(info["reward_components"].values())
        np.testing.assert_allclose(total, reward, rtol=1e-6, atol=1e-5)
        assert info["reward_vector"].shape == (3, 2)
        differs |= bool(np.any(info["gold_reward"] != reward))
    assert differs, "gold and proxy are different rewards"


def test_hopper_height_hack() -> None:
    """Standing tall earns far more proxy than an honest forward lunge, and less gold.

    The honest policy is a simple feedback lunge (balance, push off, fall forward after ~120
    steps), not a trained hopper; the figures are in ``variants``'s docstring.
    """
    hack_proxy, hack_gold = scripted_returns(HOPPER_HEIGHT, hopper_stand_tall, SEEDS)
    honest_proxy, honest_gold = scripted_returns(HOPPER_HEIGHT, hopper_lunge, SEEDS)
    assert hack_proxy.mean() == pytest.approx(1207.7, abs=0.5)
    assert honest_gold.mean() == pytest.approx(75.5, abs=0.5)
    assert (hack_proxy > 5 * honest_proxy).all()
    assert (np.abs(hack_gold) < 5).all() and (honest_gold > 50).all()


def test_half_cheetah_sensor_hack() -> None:
    """Running on its back earns proxy while gold is negative; standing still earns ~0 of both.

    The honest baseline is zero action. A scripted upright gait (``cheetah_upright_gait``) earns
    more of both than our back gait: this shows the proxy paying back-running, not that
    back-running is the proxy's optimum.
    """
    hack_proxy, hack_gold = scripted_returns(HALF_CHEETAH_SENSOR, cheetah_flip_and_pedal, SEEDS)
    still_proxy, still_gold = scripted_returns(HALF_CHEETAH_SENSOR, zero_policy, SEEDS)
    assert hack_proxy.mean() == pytest.approx(706.0, abs=0.5)
    assert hack_gold.mean() == pytest.approx(-286.1, abs=0.5)
    assert (hack_proxy > 500).all() and (hack_gold < -200).all()
    assert (np.abs(still_proxy) < 5).all() and (still_gold > hack_gold).all()


def test_no_mujoco_import_in_modules_registration_loads() -> None:
    env = dict(os.environ)
    code = "import sys; import rewardgym.envs.mujoco.registration; print('mujoco' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_vector_keywords_on_a_single_env_are_refused_by_name():
    """``nthread=`` and the other vector-env keywords name the API they belong to on ``gym.make``."""
    for keyword, value in (("nthread", 2), ("autoreset_mode", "same_step")):
        with pytest.raises(TypeError, match=f"{keyword}= is a keyword of the vector env"):
            gym.make("rewardgym/Hopper-v0", **{keyword: value})
