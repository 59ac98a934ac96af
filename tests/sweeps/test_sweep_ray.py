"""A tiny sweep on a real local Ray instance (2 CPUs) gives the same results as the local pool."""

import gymnasium as gym
import pandas as pd
import pytest
from rewardgym.rewardmodels.model import RewardModel, save_reward_model
from rewardgym.sweeps.runner import run_sweep
from rewardgym.sweeps.spec import SweepSpec
from rewardgym.sweeps.store import ResultsStore

pytest.importorskip("ray")

TINY = {
    "name": "tiny",
    "envs": ["rewardgym/CartPole-v0"],
    "rewards": ["none", "noisy(sigma=0.5)"],
    "agents": {"ppo": {"algo": "ppo", "hyperparams": {"num_envs": 8, "num_steps": 16}}},
    "seeds": [0],
    "steps": 256,
    "eval_every": 128,
    "eval_episodes": 2,
}  # fmt: skip

SAME = ["trial_id", "env", "reward", "agent", "algo", "seed", "total_steps", "status", "final_proxy", "final_gold"]


# Starting Ray and its workers costs about 40 CPU seconds before the first trial; the issue asks
# for this check on a real instance, so it runs by default all the same.
def test_ray_backend_runs_the_sweep_and_matches_the_local_backend(tmp_path):
    import ray

    # A saved reward model that is gone by the time the trials run: the spec loaded (and checked
    # it), so only the trials under it fail, with the error in the store, on either backend.
    env = gym.make("rewardgym/CartPole-v0")
    model = save_reward_model(RewardModel(env.observation_space, env.action_space, hidden=(4,)), tmp_path / "rm")
    spec = SweepSpec.from_dict({**TINY, "rewards": [*TINY["rewards"], f"learned(path={str(model)!r})"]})
    model.unlink()
    on_ray = run_sweep(spec, tmp_path / "ray", backend="ray", workers=2, progress=False, report=False)
    assert not ray.is_initialized()  # the instance it started is shut down
    on_pool = run_sweep(spec, tmp_path / "local", backend="local", workers=1, progress=False, report=False)

    with ResultsStore(on_ray) as a, ResultsStore(on_pool) as b:
        ray_trials, pool_trials = a.trials(), b.trials()
        ray_curves, pool_curves = a.curves(), b.curves()
    assert sorted(ray_trials.status) == ["done", "done", "failed"]
    assert ray_trials[ray_trials.status == "failed"].error.str.contains("no weights at .*rm.safetensors").all()
    order = ["trial_id"]
    pd.testing.assert_frame_equal(
        ray_trials[SAME].sort_values(order).reset_index(drop=True),
        pool_trials[SAME].sort_values(order).reset_index(drop=True),
    )
    assert len(ray_curves) == 4
    pd.testing.assert_frame_equal(ray_curves.drop(columns="wall_s"), pool_curves.drop(columns="wall_s"))
