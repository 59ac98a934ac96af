"""Pixels of the control envs: ``render_mode="rgb_array"`` single and batched, against gymnasium.

The renderers are written fresh (``envs/control/raster.py``), not copied from pygame, so frames
are compared with gymnasium's by how well they agree, not byte for byte:

- ``iou``: the intersection over union of the *drawn* pixels (those darker than white by more than
  a quarter in some channel; antialiased fringes fainter than that are left out of both masks). It
  is the measure that matters, since every object is small against the white background: a cart
  drawn 5 px off, or a pole at the wrong angle, costs far more than the 1 - IoU allowed, while
  pygame's antialiasing, which we do not reproduce, shifts an edge by about a pixel;
- ``near``: the share of either frame's drawn pixels that have a drawn pixel of the other within
  one pixel (a one-pixel shift of an antialiased edge is invisible, a misplaced object is not);
- ``mad``: the mean absolute difference over all pixels and channels, in 0-255 units, which also
  catches a wrong colour.

The thresholds sit a margin below what was measured when the renderers were written:
IoU 0.95-1.0, ``near`` 1.0 and ``mad`` under 0.1 on every env and state below.
"""

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the rewardgym/ envs)
from rewardgym.envs.batched.device import cuda_simulated

# (rewardgym's id, gymnasium's id, gymnasium's render_fps, frame (height, width), states to draw)
CONTROL = [
    ("rewardgym/CartPole-v0", "CartPole-v1", 50, (400, 600), [[0, 0, 0, 0], [1.0, 0, 0.2, 0], [-2.0, 0, -0.2, 0]]),
    ("rewardgym/MountainCar-v0", "MountainCar-v0", 30, (400, 600), [[-0.5, 0], [-1.1, 0.01], [0.59, 0]]),
    (
        "rewardgym/MountainCarContinuous-v0",
        "MountainCarContinuous-v0",
        30,
        (400, 600),
        [[-0.5, 0], [0.3, -0.02]],
    ),
    ("rewardgym/Pendulum-v0", "Pendulum-v1", 30, (500, 500), [[0, 0], [np.pi, 0], [1.0, 0], [-2.5, 1]]),
    (
        "rewardgym/Acrobot-v0",
        "Acrobot-v1",
        15,
        (500, 500),
        [[0, 0, 0, 0], [1.0, -0.5, 0, 0], [2.5, 1.2, 0, 0], [-3, -2, 0, 0]],
    ),
]
IDS = [c[0] for c in CONTROL]

MIN_IOU = 0.93
MIN_NEAR = 0.99
MAX_MAD = 0.25


def drawn(frame: np.ndarray) -> np.ndarray:
    """Pixels darker than white by more than a quarter in some channel."""
    return (255 - frame.astype(np.int16)).max(axis=-1) > 64


def within_one_pixel(mask: np.ndarray) -> np.ndarray:
    """``mask`` grown by one pixel in every direction (a 3 x 3 dilation)."""
    padded = np.pad(mask, 1)
    grown = np.zeros_like(mask)
    for dy in range(3):
        for dx in range(3):
            grown |= padded[dy : dy + mask.shape[0], dx : dx + mask.shape[1]]
    return grown


def agreement(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float, float]:
    """``(iou, near, mad)`` of two frames, as the module docstring defines them."""
    a, b = drawn(ours), drawn(theirs)
    iou = (a & b).sum() / (a | b).sum()
    near = min((a & within_one_pixel(b)).sum() / a.sum(), (b & within_one_pixel(a)).sum() / b.sum())
    mad = np.abs(ours.astype(np.int16) - theirs.astype(np.int16)).mean()
    return float(iou), float(near), float(mad)


def gymnasium_frame(gym_id: str, state: np.ndarray) -> np.ndarray:
    env = gym.make(gym_id, render_mode="rgb_array")
    env.reset(seed=0)
    env.unwrapped.state = state.copy()
    if gym_id == "Pendulum-v1":
        env.unwrapped.last_u = None  # no torque arrow: our state does not hold the torque
    frame = env.render()
    env.close()
    return frame


@pytest.mark.parametrize("env_id, gym_id, fps, shape, states", CONTROL, ids=IDS)
def test_frames_agree_with_gymnasiums_from_the_same_state(env_id, gym_id, fps, shape, states):
    pytest.importorskip("pygame")
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    for state in states:
        state = np.asarray(state, np.float64)
        env.unwrapped.state[:] = state
        ours, theirs = env.render(), gymnasium_frame(gym_id, state)
        assert ours.shape == theirs.shape == (*shape, 3) and ours.dtype == np.uint8
        iou, near, mad = agreement(ours, theirs)
        assert iou >= MIN_IOU and near >= MIN_NEAR and mad <= MAX_MAD, (state.tolist(), iou, near, mad)


@pytest.mark.parametrize("env_id, gym_id, fps, shape, states", CONTROL, ids=IDS)
def test_rgb_array_single_and_vector(env_id, gym_id, fps, shape, states):
    single = gym.make(env_id, render_mode="rgb_array")
    assert single.metadata["render_modes"] == ["rgb_array"] and single.metadata["render_fps"] == fps
    single.reset(seed=7)
    frame = single.render()
    assert frame.shape == (*shape, 3) and frame.dtype == np.uint8
    envs = gym.make_vec(env_id, num_envs=3, render_mode="rgb_array")
    assert envs.metadata["render_fps"] == fps
    envs.reset(seed=6)
    frames = envs.render()
    assert isinstance(frames, tuple) and len(frames) == 3
    # Env i of a vector env seeded s is a single env seeded s + i, pixels included.
    np.testing.assert_array_equal(frames[1], frame)
    unrendered = gym.make(env_id)
    unrendered.reset(seed=0)
    assert unrendered.render() is None  # no render_mode, no frame


@pytest.mark.parametrize("env_id", IDS)
def test_frames_move_with_the_state(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    before = env.render()
    np.testing.assert_array_equal(env.render(), before)  # rendering is a pure function of state
    env.unwrapped.state[0] += 0.3  # the cart, car, pendulum or first link moves
    after = env.render()
    assert (before != after).any(axis=-1).sum() > 50


def test_gridworlds_keep_their_frame_rate():
    assert gym.make("rewardgym/BoatRace-v0", render_mode="rgb_array").metadata["render_fps"] == 4


@pytest.mark.skipif(not cuda_simulated(), reason="runs under numba's CUDA simulator")
@pytest.mark.parametrize("env_id", IDS)
def test_cuda_frames_equal_cpu_frames_byte_for_byte(env_id):
    # Two envs: the simulator runs the kernel in Python, about half a second a frame.
    cuda = gym.make_vec(env_id, num_envs=2, device="cuda", render_mode="rgb_array")
    cpu = gym.make_vec(env_id, num_envs=2, device="cpu", render_mode="rgb_array")
    cuda.reset(seed=3)
    cpu.reset(seed=3)
    for gpu_frame, cpu_frame in zip(cuda.render(), cpu.render(), strict=True):
        np.testing.assert_array_equal(gpu_frame, cpu_frame)


def test_record_video_writes_a_cartpole_video(tmp_path):
    pytest.importorskip("moviepy")
    env = gym.wrappers.RecordVideo(
        gym.make("rewardgym/CartPole-v0", render_mode="rgb_array"),
        video_folder=str(tmp_path / "videos"),
        episode_trigger=lambda episode: True,
        disable_logger=True,
    )
    env.reset(seed=0)
    for t in range(10):
        env.step(t % 2)  # left, right: the pole stays up
    env.close()  # writes the video of the unfinished episode
    videos = list((tmp_path / "videos").glob("*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 0
