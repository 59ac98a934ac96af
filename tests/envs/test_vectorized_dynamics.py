"""The vectorised CPU step (issue 18, SIMD across envs): the dynamics of every row in one loop,
the books in others, must change nothing but speed.

With libm's math (``exact_math=True``) the vectorised step equals the row-by-row step bit for bit
(observations, rewards, ends, final observations, states) through autoresets in both modes, at
chunk boundaries and on threads; with the fast math it stays within 1e-9 of it per step; and LLVM
does vectorise it. The comparison with gymnasium itself is in ``test_control_reference.py``.
"""

from __future__ import annotations

import dataclasses
import gc
import re

import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from numba import njit
from rewardgym.envs.batched.rows import row
from rewardgym.envs.batched.task import fast_math_task, pixel_task
from rewardgym.envs.batched.vector_env import BatchedVectorEnv
from rewardgym.envs.control import CARTPOLE, CONTROL_TASKS
from rewardgym.envs.text.token_env import token_task

VECTORISED = [task for task in CONTROL_TASKS if task.vectorize]


def _row_by_row(task):
    return dataclasses.replace(task, name=f"{task.name} (row by row)", vectorize=False)


def _run(task, num_envs, mode, steps, exact_math=True, seed=3):
    """Every step's outputs (and the states) of ``task`` driven by seeded random actions, with a
    partial reset and a reseed on the way."""
    envs = BatchedVectorEnv(task, num_envs, autoreset_mode=mode, max_episode_steps=40, exact_math=exact_math)
    envs.action_space.seed(seed)
    out = [envs.reset(seed=seed)[0].copy()]
    for t in range(steps):
        if t == steps // 3:
            out.append(envs.reset(options={"reset_mask": np.arange(num_envs) % 3 == 0})[0].copy())
        obs, reward, terminated, truncated, info = envs.step(envs.action_space.sample())
        out += [obs.copy(), reward.copy(), terminated.copy(), truncated.copy(), envs.state.copy()]
        if "final_obs" in info:
            out.append(np.array(info["final_obs"]).copy())
    return out


@pytest.mark.parametrize("task", VECTORISED, ids=lambda task: task.name)
@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_with_libm_the_vectorised_step_equals_the_row_by_row_step_bit_for_bit(task, mode):
    # 300 envs: two chunks, the second partial; episodes of at most 40 steps end both ways.
    ours, theirs = _run(task, 300, mode, 90), _run(_row_by_row(task), 300, mode, 90)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_the_threaded_vectorised_step_equals_the_serial_one():
    # 2,000 envs run numba's threads (FastestKernel tries both loops, which must agree).
    cartpole, mode = CONTROL_TASKS[0], AutoresetMode.NEXT_STEP
    for a, b in zip(_run(cartpole, 2000, mode, 30), _run(_row_by_row(cartpole), 2000, mode, 30)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("task", VECTORISED, ids=lambda task: task.name)
def test_one_fast_step_is_within_1e9_of_one_exact_step_from_the_same_states(task):
    exact = BatchedVectorEnv(task, 512, exact_math=True)
    fast = BatchedVectorEnv(task, 512)
    assert fast._observed is fast_math_task(task)
    exact.action_space.seed(0)
    exact.reset(seed=0)
    fast.reset(seed=0)
    worst = 0.0
    for _ in range(150):
        fast.state[:] = exact.state  # the same start for the step, every step
        fast._needs_reset[:] = exact._needs_reset
        fast._elapsed[:] = exact._elapsed
        actions = exact.action_space.sample()
        obs_e, reward_e, term_e, trunc_e, _ = exact.step(actions)
        obs_f, reward_f, term_f, trunc_f, _ = fast.step(actions)
        worst = max(worst, float(np.abs(fast.state - exact.state).max()))
        np.testing.assert_allclose(obs_f, obs_e, rtol=0, atol=1e-6)  # float32 observations
        np.testing.assert_allclose(reward_f, reward_e, rtol=0, atol=1e-6)
    assert worst <= 1e-9


def test_a_row_view_is_a_borrowed_reference_that_keeps_its_array_alive():
    # With reference counting on (outside the engine's kernels), each view is a new reference:
    # released a thousand times it must not free the array under it.
    @njit
    def view(array, index):
        return row(array, index, 3)

    array = np.arange(6.0).reshape(2, 3)
    views = [view(array, 1) for _ in range(1000)]
    del array
    gc.collect()
    assert views[-1].tolist() == [3.0, 4.0, 5.0] and views[0].base is not None


@pytest.mark.parametrize("task", VECTORISED[:3], ids=lambda task: task.name)
def test_llvm_vectorises_the_dynamics_loop(task):
    # A guard for whoever edits a vectorised task: an inner loop, a call (libm's sin), a division
    # checked for zero or a row indexed as state[i] leaves the loop scalar, with no error.
    # Arithmetic on vectors of doubles in the optimised IR is that loop: the row-by-row kernel
    # has none (Pendulum's float % keeps its dynamics scalar).
    envs = BatchedVectorEnv(task, 8)  # the serial kernel, compiled by its first step
    envs.reset(seed=0)
    envs.step(envs.action_space.sample())
    ir = "\n".join(envs._step_kernel.inspect_llvm().values())
    assert re.search(r"(fadd|fmul|fdiv) <\d+ x double>", ir), f"{task.name}'s dynamics loop was not vectorised"


def test_fast_math_tasks_are_kept_apart_by_task_not_by_name():
    # Tasks of one name may differ (a text task's difficulties, here), which a cache by name mixed up.
    easy, hard = token_task("add", 1), token_task("add", 2)
    assert easy.name == hard.name and fast_math_task(easy) is easy and fast_math_task(hard) is hard
    small, large = (pixel_task(CARTPOLE, size, CARTPOLE.params) for size in (32, 48))
    assert fast_math_task(small).observation_space.shape == (32, 32, 3)
    assert fast_math_task(large).observation_space.shape == (48, 48, 3)
    assert fast_math_task(CARTPOLE) is fast_math_task(CARTPOLE) is not CARTPOLE


def test_exact_math_must_be_a_bool():
    with pytest.raises(ValueError, match="exact_math must be True or False, got 'yes'"):
        BatchedVectorEnv(CARTPOLE, 2, exact_math="yes")
