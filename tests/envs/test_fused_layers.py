"""Reward layers fused into the engine's step kernel give what the pipeline gives, bit for bit.

``gym.make_vec(id, reward=spec)`` runs a stack's leading layers that have a ``FusedLayer``
(scale, shaped with a built-in potential, gaussian noise, the untargeted flip) inside the step
kernel; ``fuse=False`` runs them in the pipeline, one pass each. Every step's proxy, trace,
reports, gold and episode returns must agree exactly, through autoresets in both modes, partial
and seeded resets, on one thread and on the threaded loop, on ``device="cuda"`` (numba's CUDA
simulator) and on the multi-agent games' engine, and the layers after a fused prefix (a user's
function, a learning regime) must still compose.
"""

import gymnasium as gym
import numpy as np
import pytest
import rewardgym
import torch
from rewardgym.core.pipeline import NonFiniteRewardError
from rewardgym.envs.batched.device import cuda_simulated
from rewardgym.envs.batched.kernels import fused_step_kernel
from rewardgym.envs.batched.vector_env import SERIAL_BELOW

STACK = "shaped+noisy(sigma=0.5)+adversarial(budget=0.2)"

CASES = [
    # env, spec, num_envs, autoreset mode
    ("rewardgym/CartPole-v0", STACK, 16, "next_step"),
    ("rewardgym/CartPole-v0", STACK, SERIAL_BELOW + 40, "same_step"),  # the threaded kernel too
    (
        "rewardgym/Acrobot-v0",
        "shaped(kind='naive', scale=2)+scale(factor=0.3)+adversarial(rate=0.7, delta_max=0.5, budget=3)",
        9,
        "same_step",
    ),
    ("rewardgym/Pendulum-v0", "shaped(gamma=0.9)+noisy(sigma=2)+adversarial(rate=0.5)", 8, "next_step"),
    ("rewardgym/BoatRace-v0", STACK, 8, "next_step"),  # uint8 grid observations
    ("rewardgym/TextAdd-v0", "scale(factor=0.1)+noisy(sigma=0.5)+adversarial(rate=0.5, budget=2)", 8, "same_step"),
]


def pair(env_id, spec, num_envs, mode):
    """The same env and spec, fused and not."""
    make = lambda fuse: gym.make_vec(  # noqa: E731
        env_id, num_envs=num_envs, reward=spec, fuse=fuse, autoreset_mode=mode, max_episode_steps=25
    )
    return make(True), make(False)


def assert_same_step(fused_out, plain_out, episodes=True):
    for f, p in zip(fused_out[:4], plain_out[:4]):
        np.testing.assert_array_equal(f, p)
    f_info, p_info = fused_out[4], plain_out[4]
    np.testing.assert_array_equal(f_info["gold_reward"], p_info["gold_reward"])
    assert list(f_info["reward_trace"]) == list(p_info["reward_trace"])
    for key in p_info["reward_trace"]:
        np.testing.assert_array_equal(f_info["reward_trace"][key], p_info["reward_trace"][key], err_msg=key)
    assert f_info.get("regime_info", {}).keys() == p_info.get("regime_info", {}).keys()
    for layer, report in p_info.get("regime_info", {}).items():
        assert f_info["regime_info"][layer].keys() == report.keys()
        for key, value in report.items():
            np.testing.assert_array_equal(f_info["regime_info"][layer][key], value, err_msg=f"{layer}.{key}")
    if not episodes:  # the GPU's monitor reports every step (no sync to ask whether one ended)
        return
    assert ("episode_returns" in f_info) == ("episode_returns" in p_info)
    if "episode_returns" in p_info:
        for key, value in p_info["episode_returns"].items():
            np.testing.assert_array_equal(f_info["episode_returns"][key], value)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0].split('/')[1]}-{c[2]}-{c[3]}")
def test_fused_layers_equal_the_pipeline_bit_for_bit(case):
    fused, plain = pair(*case)
    assert len(fused._fusable_layers()) == len(fused.pipeline.regimes)  # the whole stack is fused
    assert plain._fusable_layers() == []
    space = plain.action_space
    space.seed(0)
    for envs in (fused, plain):
        envs.reset(seed=3)
    ended = 0
    for t in range(60):
        actions = space.sample()
        outs = fused.step(actions), plain.step(actions)
        assert_same_step(*outs)
        ended += int((outs[1][2] | outs[1][3]).sum())
        if t == 20:  # a partial reset mid-episode, then a reseeded one
            options = {"reset_mask": np.arange(plain.num_envs) % 3 == 0}
            np.testing.assert_array_equal(fused.reset(options=options)[0], plain.reset(options=options)[0])
        if t == 40:
            np.testing.assert_array_equal(fused.reset(seed=11)[0], plain.reset(seed=11)[0])
    assert ended > 0  # autoresets happened
    attack = outs[0][4].get("regime_info", {}).get("adversarial")
    if attack is not None:  # the body's writes reached the books (the same body runs unfused too)
        assert (attack["spent"] > 0).any() and attack["attacked"].dtype == bool


def test_layers_after_the_fused_prefix_still_compose():
    def bonus(batch):
        return batch.reward + 1.0

    spec = ["scale(factor=2)", bonus, "noisy(sigma=0.5)", "intrinsic(kind='count')"]
    fused, plain = pair("rewardgym/CartPole-v0", spec, 6, "next_step")
    assert len(fused._fusable_layers()) == 1  # scale; the user's function stops the prefix
    for envs in (fused, plain):
        envs.reset(seed=0)
    for _ in range(30):
        actions = np.ones(6, np.int64)
        outs = fused.step(actions), plain.step(actions)
        assert_same_step(*outs)
    assert list(outs[0][4]["reward_trace"]) == ["env", "scale", "bonus", "noisy", "intrinsic"]


def test_what_is_not_fused():
    # A potential given as a callable, a targeted attack and student_t noise run in the pipeline.
    envs = gym.make_vec(
        "rewardgym/CartPole-v0",
        num_envs=2,
        reward=["shaped(potential='CartPole-v1')", "adversarial(kind='untargeted', center='mean')"],
    )
    assert len(envs._fusable_layers()) == 1
    from rewardgym.wrappers.shaped import shaped

    for spec in [
        shaped(potential=lambda obs: obs[:, 0]),
        "noisy(kind='student_t')",
        "adversarial(kind='targeted', target='always:0')",
    ]:
        envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=2, reward=spec)
        assert envs._fusable_layers() == [], spec
    # gymnasium's own vector env has no fused kernel; rewardgym's under another wrapper neither.
    foreign = rewardgym.wrap(gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync"), "scale(factor=2)")
    assert foreign._fusable_layers() == []
    inner = gym.wrappers.vector.RecordEpisodeStatistics(gym.make_vec("rewardgym/CartPole-v0", num_envs=2).unwrapped)
    assert rewardgym.wrap(inner, "scale(factor=2)")._fusable_layers() == []


def test_a_nan_from_a_fused_layer_is_refused_by_name():
    spec = "scale(factor=1e38)+scale(factor=1e38)+scale(factor=0)"  # inf * 0 in the third layer
    for fuse in (True, False):
        envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=3, reward=spec, fuse=fuse)
        envs.reset(seed=0)
        with pytest.raises(NonFiniteRewardError, match="'scale#3' produced NaN"):
            envs.step(np.zeros(3, np.int64))


def test_cuda_fused_kernel_matches_the_serial_one():
    """The fused kernel compiled for CUDA (numba's simulator in CI) from the same bodies."""
    n, spec = 5, STACK
    shell = gym.make_vec("rewardgym/CartPole-v0", num_envs=n, reward=spec, autoreset_mode="same_step")
    env = shell.unwrapped
    shell.reset(seed=1)
    results = {}
    for target in ("serial", "cuda"):
        shell.reset(seed=1)
        layers = shell._fusable_layers()
        outputs = []
        for t in range(12):
            arguments = [layer.arguments(np.zeros(n, np.float32)) for layer in layers]
            kernel = fused_step_kernel(
                env._observed, target, env.params, tuple(x.body for x in layers), tuple(map(len, arguments))
            )
            obs = np.empty((n, 4), np.float32)
            final_obs, reward, gold = np.empty((n, 4), np.float32), np.empty(n, np.float32), np.empty(n, np.float32)
            terminated, truncated, trace = np.empty(n, bool), np.empty(n, bool), np.empty((len(layers), n), np.float32)
            actions = np.arange(n) % 2 if t % 3 else np.zeros(n, np.int64)
            kernel(*env._buffers, actions, 500, 1, obs, final_obs, reward, gold, terminated, truncated, trace,
                   env._last_obs, np.empty(n, bool), *(x for group in arguments for x in group))  # fmt: skip
            env._last_obs = obs
            outputs.append((obs, reward, trace, arguments[2][-1]))  # the attack's deltas
        results[target] = outputs
    for serial, cuda in zip(results["serial"], results["cuda"]):
        for s, c in zip(serial, cuda):
            np.testing.assert_array_equal(s, c)


@pytest.mark.skipif(not cuda_simulated(), reason="device='cuda' runs under numba's CUDA simulator")
def test_the_gpu_fuses_the_same_layers_and_draws_what_the_cpu_draws():
    """On device="cuda" the layers run in the CUDA step kernel (fused) or one CUDA loop each (not):
    both equal the CPU's results, noise included (the same counter-based streams on every device)."""
    make = lambda device, fuse: gym.make_vec(  # noqa: E731
        "rewardgym/CartPole-v0", num_envs=5, device=device, reward=STACK, fuse=fuse, max_episode_steps=12
    )
    gpu_fused, gpu_plain, cpu = make("cuda", True), make("cuda", False), make("cpu", True)
    assert len(gpu_fused._fusable_layers()) == 3
    for envs in (gpu_fused, gpu_plain, cpu):
        envs.reset(seed=2)
    for t in range(30):
        actions = np.arange(5) % 2 if t % 4 else np.zeros(5, np.int64)
        outs = [envs.step(torch.as_tensor(actions) if envs is not cpu else actions) for envs in (gpu_fused, gpu_plain)]
        expected = cpu.step(actions)
        for out in outs:
            assert isinstance(out[1], torch.Tensor) and isinstance(
                out[4]["regime_info"]["adversarial"]["spent"], torch.Tensor
            )
            assert_same_step(as_numpy(out), expected, episodes=False)


def as_numpy(step):
    """A step's results with every torch tensor (info's too) as numpy."""
    if isinstance(step, torch.Tensor):
        return step.numpy()
    if isinstance(step, dict):
        return {key: as_numpy(value) for key, value in step.items()}
    if isinstance(step, tuple):
        return tuple(as_numpy(value) for value in step)
    return step


def test_a_fused_kind_that_learns_runs_in_the_pipeline():
    from rewardgym.wrappers.scale import Scale

    class LearningScale(Scale):
        def update(self, batch):
            self.factor += 1.0
            return {}

    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=2, reward=[LearningScale(2.0)])
    assert envs._fusable_layers() == []
    envs.reset(seed=0)
    rewards = [envs.step(np.zeros(2, np.int64))[1].tolist() for _ in range(2)]
    assert rewards == [[2.0, 2.0], [3.0, 3.0]]  # it learned between the steps


@pytest.mark.parametrize(
    ("env_id", "num_games", "mode"),
    [("rewardgym/Coopetition-v0", 5, "next_step"), ("rewardgym/PublicGoods-v0", SERIAL_BELOW // 4 + 3, "same_step")],
)
def test_multiagent_games_run_the_layers_in_one_kernel_with_the_same_results(env_id, num_games, mode):
    """The games' engine runs the fused layers over its agent rows in one kernel after its step."""
    spec = "scale(factor=0.5)+noisy(sigma=0.3)+adversarial(rate=0.5, budget=2)"
    fused, plain = (
        rewardgym.make_parallel_vec(
            env_id, num_envs=num_games, reward=spec, fuse=fuse, autoreset_mode=mode, max_cycles=9
        )
        for fuse in (True, False)
    )
    assert len(fused._fusable_layers()) == 3 and plain._fusable_layers() == []
    space = plain.action_space
    space.seed(1)
    for envs in (fused, plain):
        envs.reset(seed=5)
    for _ in range(25):
        actions = space.sample()
        assert_same_step(fused.step(actions), plain.step(actions))


def test_fuse_must_be_a_bool():
    # A string would have been taken as True; refused by name on every way in.
    with pytest.raises(ValueError, match="fuse must be True or False, got 'no'"):
        gym.make_vec("rewardgym/CartPole-v0", num_envs=2, reward="scale(factor=2)", fuse="no")
    with pytest.raises(ValueError, match="fuse must be True or False, got 0"):
        rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), "scale(factor=2)", fuse=0)
