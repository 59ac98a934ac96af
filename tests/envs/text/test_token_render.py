"""Pixels of the token-level text envs: the window drawn as text in a 5x7 font, from the env's
own token buffer, single and batched, on the CPU and (under the simulator) the GPU."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from rewardgym.envs.batched.device import cuda_simulated
from rewardgym.envs.text import register_text_envs, text_env_ids, vocab
from rewardgym.envs.text.font import GLYPH_HEIGHT, GLYPH_WIDTH, GLYPHS, SCALE, cell_origin, frame_size
from rewardgym.envs.text.token_env import (
    BACKGROUND,
    BOS_COLOUR,
    EOS_COLOUR,
    GENERATED,
    PROMPT_COLOUR,
    PROMPT_LEN,
    WINDOW,
    WRITTEN_COLOUR,
    token_task,
)
from rewardgym.envs.text.vocab import EOS, VOCAB_SIZE

register_text_envs()
ADD = "rewardgym/TextAdd-v0"
TOKEN_IDS = [token for token, _ in text_env_ids().values()]


def cell(frame: np.ndarray, slot: int, window: int) -> np.ndarray:
    """The glyph area of cell ``slot``, at font resolution: ``(7, 5, 3)``."""
    top, left = cell_origin(slot, window)
    block = frame[top : top + GLYPH_HEIGHT * SCALE, left : left + GLYPH_WIDTH * SCALE]
    return block[::SCALE, ::SCALE]


def ink(frame: np.ndarray, slot: int, window: int, colour: tuple[int, int, int]) -> np.ndarray:
    """Where cell ``slot``'s glyph is drawn in ``colour`` (0/1, as the font table holds it)."""
    return (cell(frame, slot, window) == colour).all(axis=-1).astype(np.uint8)


def test_every_vocabulary_token_has_its_own_glyph():
    assert GLYPHS.shape == (VOCAB_SIZE, GLYPH_HEIGHT, GLYPH_WIDTH) and GLYPHS.dtype == np.uint8
    flat = GLYPHS.reshape(VOCAB_SIZE, -1)
    assert len({row.tobytes() for row in flat}) == VOCAB_SIZE
    assert flat.sum(axis=1).min() > 0  # every glyph, PAD's included, is visible
    assert not GLYPHS.flags.writeable  # a constant of the compiled kernels


@pytest.mark.parametrize("env_id", TOKEN_IDS)
def test_rgb_array_single_and_vector(env_id):
    single = gym.make(env_id, render_mode="rgb_array")
    assert single.metadata["render_modes"] == ["rgb_array"] and single.metadata["render_fps"] == 4
    single.reset(seed=7)
    frame = single.render()
    window = single.unwrapped.task.params.window
    assert frame.shape == (*frame_size(window), 3) and frame.dtype == np.uint8
    envs = gym.make_vec(env_id, num_envs=3, render_mode="rgb_array")
    envs.reset(seed=6)
    frames = envs.render()
    assert isinstance(frames, tuple) and len(frames) == 3
    # Env i of a vector env seeded s is a single env seeded s + i, pixels included.
    np.testing.assert_array_equal(frames[1], frame)
    unrendered = gym.make(env_id)
    unrendered.reset(seed=0)
    assert unrendered.render() is None  # no render_mode, no frame


def test_frame_size_follows_the_window_and_long_windows_wrap():
    assert token_task("add").frame_shape == (36, 112)  # window 8: one line of 8 cells
    long = token_task("copy", difficulty=5)  # window 35: 32 cells, then 3 on a second line
    assert long.frame_shape == frame_size(35) == (56, 400)
    envs = gym.make_vec("rewardgym/TextCopy-v0", num_envs=1, difficulty=5, render_mode="rgb_array")
    envs.reset(seed=0)
    assert envs.render()[0].shape == (56, 400, 3)


def test_a_known_prompt_and_answer_are_drawn_glyph_by_glyph():
    env = gym.make(ADD, render_mode="rgb_array")
    obs, _ = env.reset(seed=3)
    assert vocab.decode(obs) == "7+5="
    window = env.unwrapped.task.params.window
    frame = env.render()
    assert (frame[0, 0] == BACKGROUND).all()
    np.testing.assert_array_equal(ink(frame, 0, window, BOS_COLOUR), GLYPHS[vocab.BOS])
    for slot, char in enumerate("7+5=", start=1):
        np.testing.assert_array_equal(ink(frame, slot, window, PROMPT_COLOUR), GLYPHS[vocab.encode(char)[0]])
    for token in vocab.encode("12", eos=True):
        env.step(token)
    frame = env.render()
    for slot, char in enumerate("12", start=5):
        np.testing.assert_array_equal(ink(frame, slot, window, WRITTEN_COLOUR), GLYPHS[vocab.encode(char)[0]])
    np.testing.assert_array_equal(ink(frame, 7, window, EOS_COLOUR), GLYPHS[EOS])


def test_the_frame_changes_as_tokens_are_written_and_is_a_function_of_state():
    env = gym.make(ADD, render_mode="rgb_array")
    env.reset(seed=0)
    window = env.unwrapped.task.params.window
    prompt_len = int(env.unwrapped.state[PROMPT_LEN])
    frames = [env.render()]
    np.testing.assert_array_equal(env.render(), frames[0])
    for token in vocab.encode("9", eos=True):
        env.step(token)
        frames.append(env.render())
        assert (frames[-1] != frames[-2]).any(axis=-1).sum() > 10
    # Before writing, the answer's slots are blank but for the budget's underlines.
    assert (cell(frames[0], prompt_len, window) == BACKGROUND).all()
    np.testing.assert_array_equal(ink(frames[1], prompt_len, window, WRITTEN_COLOUR), GLYPHS[vocab.encode("9")[0]])
    np.testing.assert_array_equal(ink(frames[2], prompt_len + 1, window, EOS_COLOUR), GLYPHS[EOS])


def test_render_reads_the_state_not_the_observation():
    env = gym.make(ADD, render_mode="rgb_array")
    env.reset(seed=0)
    state = env.unwrapped.state
    window = env.unwrapped.task.params.window
    state[WINDOW : WINDOW + 8] = vocab.encode("9*9=", bos=True).tolist() + [vocab.PAD, vocab.BOS, vocab.PAD]
    state[PROMPT_LEN], state[GENERATED] = 5, 2
    frame = env.render()
    np.testing.assert_array_equal(ink(frame, 2, window, PROMPT_COLOUR), GLYPHS[vocab.TIMES])
    np.testing.assert_array_equal(ink(frame, 4, window, PROMPT_COLOUR), GLYPHS[vocab.EQUALS])
    # A written PAD and BOS are the agent's tokens and show as such.
    np.testing.assert_array_equal(ink(frame, 5, window, WRITTEN_COLOUR), GLYPHS[vocab.PAD])
    np.testing.assert_array_equal(ink(frame, 6, window, WRITTEN_COLOUR), GLYPHS[vocab.BOS])
    assert (cell(frame, 7, window) == BACKGROUND).all()  # not written yet


@pytest.mark.skipif(not cuda_simulated(), reason="runs under numba's CUDA simulator")
def test_cuda_frames_equal_cpu_frames_byte_for_byte():
    cuda = gym.make_vec(ADD, num_envs=2, device="cuda", render_mode="rgb_array")
    cpu = gym.make_vec(ADD, num_envs=2, device="cpu", render_mode="rgb_array")
    cuda.reset(seed=3)
    cpu.reset(seed=3)
    actions = np.array([vocab.DIGIT0 + 1, EOS])
    cuda.step(torch.as_tensor(actions))
    cpu.step(actions)
    for gpu_frame, cpu_frame in zip(cuda.render(), cpu.render(), strict=True):
        np.testing.assert_array_equal(gpu_frame, cpu_frame)


def test_check_env_passes_with_rgb_array():
    env = gym.make(ADD, render_mode="rgb_array")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gymnasium's advice on the like of float bounds
        check_env(env)


def test_record_video_writes_a_text_add_video(tmp_path):
    pytest.importorskip("moviepy")
    env = gym.wrappers.RecordVideo(
        gym.make(ADD, render_mode="rgb_array"),
        video_folder=str(tmp_path / "videos"),
        episode_trigger=lambda episode: True,
        disable_logger=True,
    )
    env.reset(seed=3)
    for token in vocab.encode("12", eos=True):
        env.step(token)
    env.close()
    videos = list((tmp_path / "videos").glob("*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 0
