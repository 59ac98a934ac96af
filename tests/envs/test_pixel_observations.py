"""``obs_mode="pixels"``: the control envs observed as small RGB images painted by the step kernel.

The observation is the task's own ``render`` drawn straight at ``pixel_size x pixel_size`` (the
renderers scale gymnasium's coordinates to the frame), so it must equal, byte for byte, a frame of
that size painted by the renderer directly; the default ``obs_mode="state"`` must not change.
"""

import hashlib

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the rewardgym/ envs)
import torch
from gymnasium.utils.env_checker import check_env
from rewardgym.core.checks import check_vector_env
from rewardgym.envs.batched.device import cuda_simulated
from rewardgym.envs.batched.task import DEFAULT_PIXEL_SIZE
from rewardgym.envs.control import CONTROL_TASKS
from rewardgym.envs.registration import ENV_IDS

IDS = [ENV_IDS[task.name] for task in CONTROL_TASKS]
TASK_OF = {ENV_IDS[task.name]: task for task in CONTROL_TASKS}


def painted(env_id: str, state: np.ndarray, size: int) -> np.ndarray:
    """The renderer's own ``size x size`` frame of ``state`` (default parameters)."""
    task = TASK_OF[env_id]
    frame = np.zeros((size, size, 3), np.uint8)
    task.render(np.asarray(state, np.float64), frame, task.params)
    return frame


@pytest.mark.parametrize("env_id", IDS)
def test_shapes_and_dtypes_single_and_vector(env_id):
    env = gym.make(env_id, obs_mode="pixels")
    assert env.observation_space == gym.spaces.Box(0, 255, (DEFAULT_PIXEL_SIZE, DEFAULT_PIXEL_SIZE, 3), np.uint8)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (84, 84, 3) and obs.dtype == np.uint8 and obs in env.observation_space
    obs, *_ = env.step(env.action_space.sample())
    assert obs.shape == (84, 84, 3) and obs.dtype == np.uint8
    envs = gym.make_vec(env_id, num_envs=3, obs_mode="pixels", pixel_size=16)
    assert envs.single_observation_space == gym.spaces.Box(0, 255, (16, 16, 3), np.uint8)
    assert envs.observation_space.shape == (3, 16, 16, 3)
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (3, 16, 16, 3) and obs.dtype == np.uint8
    obs, *_ = envs.step(envs.action_space.sample())
    assert obs.shape == (3, 16, 16, 3) and obs.dtype == np.uint8


@pytest.mark.parametrize("size", [16, 84])
@pytest.mark.parametrize("env_id", IDS)
def test_pixel_observation_is_the_rendered_frame_at_that_size(env_id, size):
    envs = gym.make_vec(env_id, num_envs=4, obs_mode="pixels", pixel_size=size, max_episode_steps=8)
    envs.action_space.seed(0)
    obs, _ = envs.reset(seed=1)
    for t in range(12):  # through an autoreset
        for i in range(4):
            np.testing.assert_array_equal(obs[i], painted(env_id, envs.unwrapped.state[i], size), err_msg=f"{t} {i}")
        obs, *_ = envs.step(envs.action_space.sample())
    assert (obs != 255).any(axis=-1).sum() > 4 * size // 4  # something is drawn in every image


@pytest.mark.parametrize("env_id", IDS)
def test_single_env_is_env_0_of_the_vector_env_in_pixels(env_id):
    single = gym.make(env_id, obs_mode="pixels", pixel_size=16)
    envs = gym.make_vec(env_id, num_envs=2, obs_mode="pixels", pixel_size=16)
    obs, _ = single.reset(seed=5)
    batch, _ = envs.reset(seed=5)
    np.testing.assert_array_equal(obs, batch[0])
    action = single.action_space.sample()
    obs, *_ = single.step(action)
    batch, *_ = envs.step(np.stack([action, action]))
    np.testing.assert_array_equal(obs, batch[0])


@pytest.mark.parametrize("env_id", IDS)
def test_pixels_leave_dynamics_rewards_and_frames_alone(env_id):
    """A pixel env runs the same trajectory as the state env (states, rewards, flags), its
    ``rgb_array`` frames stay full size, and the state env's observations are its state rows."""
    state_env = gym.make_vec(env_id, num_envs=3, autoreset_mode="same_step", max_episode_steps=10)
    pixel_env = gym.make_vec(
        env_id, num_envs=3, autoreset_mode="same_step", max_episode_steps=10, obs_mode="pixels", render_mode="rgb_array"
    )
    state_env.action_space.seed(2)
    obs, _ = state_env.reset(seed=9)
    pixel_env.reset(seed=9)
    task = TASK_OF[env_id]
    for _ in range(15):
        np.testing.assert_array_equal(pixel_env.unwrapped.state, state_env.unwrapped.state)
        expected = np.empty_like(obs)
        for i in range(3):
            task.observe(state_env.unwrapped.state[i], expected[i])
        np.testing.assert_array_equal(obs, expected)
        assert obs.dtype == np.float32 and obs.shape == (3, *task.observation_space.shape)
        actions = state_env.action_space.sample()
        obs, reward, terminated, truncated, info = state_env.step(actions)
        _, p_reward, p_terminated, p_truncated, p_info = pixel_env.step(actions)
        np.testing.assert_array_equal(p_reward, reward)
        np.testing.assert_array_equal(p_terminated, terminated)
        np.testing.assert_array_equal(p_truncated, truncated)
        np.testing.assert_array_equal(p_info["gold_reward"], info["gold_reward"])
        assert p_info["final_obs"].shape == (3, 84, 84, 3)
    frames = pixel_env.render()
    assert frames[0].shape == (*task.frame_shape, 3)


# sha256 (first 16 hex digits) of gymnasium-size frames as the renderers drew them before they
# learnt to scale: painting small images must leave the full-size picture unchanged to the byte.
FULL_SIZE_FRAMES = {
    "rewardgym/CartPole-v0": ([1.0, 0, 0.2, 0], "8458879279cd3d7a"),
    "rewardgym/MountainCar-v0": ([-1.1, 0.01], "db64e0ebe2d25638"),
    "rewardgym/MountainCarContinuous-v0": ([0.3, -0.02], "aad4119372ef45a0"),
    "rewardgym/Pendulum-v0": ([1.0, 0], "e951d9534f96b866"),
    "rewardgym/Acrobot-v0": ([2.5, 1.2, 0, 0], "543c82967b147121"),
}


@pytest.mark.parametrize("env_id", IDS)
def test_full_size_frames_are_unchanged(env_id):
    state, digest = FULL_SIZE_FRAMES[env_id]
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    env.unwrapped.state[:] = state
    assert hashlib.sha256(env.render().tobytes()).hexdigest()[:16] == digest


@pytest.mark.parametrize("env_id", IDS)
def test_checkers_pass_in_pixel_mode(env_id):
    for mode in ("next_step", "same_step", "disabled"):
        envs = gym.make_vec(
            env_id, num_envs=3, obs_mode="pixels", pixel_size=16, autoreset_mode=mode, max_episode_steps=20
        )
        check_vector_env(envs, steps=60)
    env = gym.make(env_id, obs_mode="pixels", pixel_size=16)
    check_env(env.unwrapped, skip_render_check=True)
    # Recreated from its spec (as check_env does for the shell), it keeps its pixels.
    assert gym.make(env.spec).observation_space.shape == (16, 16, 3)


@pytest.mark.skipif(not cuda_simulated(), reason="runs under numba's CUDA simulator")
@pytest.mark.parametrize("env_id", IDS)
def test_cuda_pixel_observations_equal_cpu_byte_for_byte(env_id):
    # Small images and few envs: the simulator paints every pixel in Python.
    kwargs = dict(num_envs=2, obs_mode="pixels", pixel_size=16, autoreset_mode="same_step", max_episode_steps=4)
    cuda = gym.make_vec(env_id, device="cuda", **kwargs)
    cpu = gym.make_vec(env_id, device="cpu", **kwargs)
    cpu.action_space.seed(0)
    gpu_obs, _ = cuda.reset(seed=3)
    cpu_obs, _ = cpu.reset(seed=3)
    assert isinstance(gpu_obs, torch.Tensor) and gpu_obs.dtype == torch.uint8
    np.testing.assert_array_equal(gpu_obs.numpy(), cpu_obs)
    for _ in range(6):
        actions = cpu.action_space.sample()
        gpu_out = cuda.step(torch.as_tensor(actions))
        cpu_out = cpu.step(actions)
        np.testing.assert_array_equal(gpu_out[0].numpy(), cpu_out[0])
        np.testing.assert_array_equal(gpu_out[4]["final_obs"].numpy(), cpu_out[4]["final_obs"])


def test_bad_obs_mode_and_pixel_size_are_refused_by_name():
    with pytest.raises(ValueError, match=r"unknown obs_mode 'rgb' for CartPole; valid modes: 'state', 'pixels'"):
        gym.make("rewardgym/CartPole-v0", obs_mode="rgb")
    with pytest.raises(ValueError, match="unknown obs_mode 'image'"):
        gym.make_vec("rewardgym/CartPole-v0", num_envs=2, obs_mode="image")
    for size in (15, 513, 0, 84.0, True, "84"):
        with pytest.raises(ValueError, match=r"pixel_size must be an integer in \[16, 512\]"):
            gym.make_vec("rewardgym/Pendulum-v0", num_envs=2, obs_mode="pixels", pixel_size=size)
    with pytest.raises(ValueError, match="pixel_size=16 .* obs_mode='pixels'"):
        gym.make("rewardgym/CartPole-v0", pixel_size=16)
    # A gridworld paints fixed-size cells, no picture it can scale: no pixel observations.
    with pytest.raises(ValueError, match=r"obs_mode='pixels' is not supported by BoatRace.*valid obs_mode: 'state'"):
        gym.make("rewardgym/BoatRace-v0", obs_mode="pixels")
    with pytest.raises(ValueError, match=r"obs_mode='pixels' is not supported by BoatRace"):
        gym.make_vec("rewardgym/BoatRace-v0", num_envs=2, obs_mode="pixels")
    # The text envs have their own entry points, which take no obs_mode at all.
    with pytest.raises(TypeError, match="obs_mode"):
        gym.make("rewardgym/TextAdd-v0", obs_mode="pixels")


def test_builtin_potential_is_refused_on_pixels_but_works_on_state():
    with pytest.raises(ValueError, match=r"reads observations of shape \(4,\).*\(84, 84, 3\).*potential=<a callable>"):
        gym.make("rewardgym/CartPole-v0", obs_mode="pixels", reward="shaped(kind='potential')")
    env = gym.make("rewardgym/CartPole-v0", reward="shaped(kind='potential', gamma=0.99)")
    env.reset(seed=0)
    _, reward, *_ = env.step(1)
    assert reward != 1.0  # shaped
    # A potential of images is the user's to give.
    pixels = gym.make(
        "rewardgym/CartPole-v0",
        obs_mode="pixels",
        pixel_size=16,
        reward=rewardgym.wrappers.shaped.PotentialShaping(potential=lambda obs: (obs < 128).mean(axis=(1, 2, 3))),
    )
    pixels.reset(seed=0)
    _, reward, *_ = pixels.step(1)
    assert np.isfinite(reward)


def test_native_ppo_reads_pixel_observations_with_a_cnn():
    # One-hot encoding each channel of each pixel would take 196,608 inputs at 16x16; the native
    # PPO picks a CNN for uint8 images instead (rewardgym.core.nets.cnn).
    from rewardgym.agents.ppo import ActorCritic

    space = gym.make("rewardgym/CartPole-v0", obs_mode="pixels", pixel_size=16).observation_space
    agent = ActorCritic(space, gym.spaces.Discrete(2))
    assert any(isinstance(m, torch.nn.Conv2d) for m in agent.modules())
