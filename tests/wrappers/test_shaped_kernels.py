"""The shaping kernels: a task's built-in potential, compiled for every kind of batch.

Built-in potentials live with their envs (``BatchedTask.potential``); ``shaped`` finds them through
the env registry and compiles them. These tests check the paths beside the numpy one that
``test_shaped.py`` covers: torch batches (the CUDA loop under numba's simulator, the CPU loop on
numpy views otherwise), observations of other dtypes, empty and malformed batches, and a task
registered after import.
"""

import math
from typing import NamedTuple

import gymnasium as gym
import numpy as np
import pytest
import torch
from numba.extending import register_jitable
from rewardgym.core.transition import Transition
from rewardgym.envs import registration
from rewardgym.envs.batched.task import BatchedTask, observe_state
from rewardgym.envs.control import CONTROL_TASKS
from rewardgym.wrappers.shaped import BUILTIN_POTENTIALS, shaped
from rewardgym.wrappers.shaped.kernels import CompiledPotential


def batch_of(task, n=64, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    shape = (n, *task.observation_space.shape)
    spread = 0.3 if "MountainCar" in task.name else 1.0
    return Transition(
        obs=(rng.normal(size=shape) * spread).astype(dtype),
        action=np.zeros(n, np.int64),
        next_obs=(rng.normal(size=shape) * spread).astype(dtype),
        reward=rng.normal(size=n).astype(np.float32),
        terminated=rng.random(n) < 0.3,
        truncated=np.zeros(n, bool),
        valid=np.ones(n, bool),
    )


def as_torch(batch):
    return Transition(*(None if x is None else torch.as_tensor(x) for x in batch))


def test_every_control_task_names_its_potential_and_the_registry_finds_it():
    for task in CONTROL_TASKS:
        assert task.potential is not None and task.potential.__module__.startswith("rewardgym.envs.control.")
        for env_id in (registration.ENV_IDS[task.name], task.reference, *task.aliases):
            assert BUILTIN_POTENTIALS[env_id].obs_shape == task.observation_space.shape
    assert "CartPole-v0" in BUILTIN_POTENTIALS and "FrozenLake-v1" not in BUILTIN_POTENTIALS


def test_the_compiled_potential_equals_the_task_function_row_by_row():
    for task in CONTROL_TASKS:
        obs = batch_of(task).obs.astype(np.float64)
        expected = [task.potential(row, task.params) for row in obs]  # plain Python
        np.testing.assert_allclose(CompiledPotential(task).values(obs), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("task", CONTROL_TASKS, ids=lambda t: t.name)
@pytest.mark.parametrize("kind", ["potential", "naive"])
def test_torch_batches_equal_numpy_batches(task, kind):
    batch = batch_of(task)
    numpy_regime = shaped(kind=kind, potential=task.reference, scale=1.5)
    torch_regime = shaped(kind=kind, potential=task.reference, scale=1.5)
    expected = numpy_regime.reward(batch)
    out = torch_regime.reward(as_torch(batch))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6, atol=1e-6)
    key = "shaping" if kind == "potential" else "bonus"
    np.testing.assert_allclose(torch_regime.info()[key].numpy(), numpy_regime.info()[key], rtol=1e-6, atol=1e-6)


def test_observations_of_other_dtypes_are_read_as_float64():
    task = CONTROL_TASKS[0]
    batch = batch_of(task)
    ints = batch._replace(
        obs=np.round(batch.obs * 3).astype(np.int32), next_obs=np.round(batch.next_obs * 3).astype(np.int32)
    )
    floats = ints._replace(obs=ints.obs.astype(np.float64), next_obs=ints.next_obs.astype(np.float64))
    regime = shaped(potential=task.reference)
    np.testing.assert_array_equal(regime.reward(ints), regime.reward(floats))
    np.testing.assert_array_equal(regime.reward(as_torch(ints)).numpy(), regime.reward(floats))


def test_empty_and_malformed_batches():
    regime = shaped(potential="CartPole-v1")
    empty = batch_of(CONTROL_TASKS[0], n=0)
    assert regime.reward(empty).shape == (0,) and tuple(regime.reward(as_torch(empty)).shape) == (0,)
    wide = batch_of(CONTROL_TASKS[0], n=3)._replace(next_obs=np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match=r"potential of CartPole reads observations of shape \(4,\), .* \(3, 5\)"):
        regime.reward(wide)


class PointParams(NamedTuple):
    bound: float = 2.0


@register_jitable
def point_potential(obs, params):
    return 1.0 - abs(float(obs[0])) / params.bound


def test_a_task_registered_later_brings_its_potential(monkeypatch):
    point = BatchedTask(
        name="PointForShaping",
        state_size=1,
        observation_space=gym.spaces.Box(-2.0, 2.0, (1,), np.float32),
        action_space=gym.spaces.Discrete(3),
        params=PointParams(),
        step=CONTROL_TASKS[0].step,  # never stepped here
        reset=CONTROL_TASKS[0].reset,
        observe=observe_state,
        max_episode_steps=10,
        gold="none",
        potential=point_potential,
    )
    monkeypatch.setitem(registration.TASKS, point.name, point)
    monkeypatch.setitem(registration.ENV_IDS, point.name, "rewardgym/PointForShaping-v0")
    phi = BUILTIN_POTENTIALS["rewardgym/PointForShaping-v0"]
    assert phi.obs_shape == (1,)
    np.testing.assert_allclose(phi.function(np.array([[0.0], [1.0], [-2.0]])), [1.0, 0.5, 0.0])
    regime = shaped(potential="rewardgym/PointForShaping-v0", gamma=0.5)
    batch = batch_of(point, n=5)
    expected = (
        batch.reward + 0.5 * np.where(batch.terminated, 0.0, phi.function(batch.next_obs)) - phi.function(batch.obs)
    )
    np.testing.assert_allclose(regime.reward(batch), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(regime.reward(as_torch(batch)).numpy(), expected, rtol=1e-6, atol=1e-6)
    assert math.isclose(CompiledPotential(point).values(np.array([[1.0]]))[0], 0.5)
