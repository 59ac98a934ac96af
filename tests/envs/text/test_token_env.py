"""Token-level text envs: batched numba stepping, episode ends on EOS or the token budget, the
verifier's reward only at the end, seeding shared with the datasets, and bad input."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import rewardgym
import torch
from rewardgym.envs.batched.device import cuda_simulated
from rewardgym.envs.text import register_text_envs, vocab
from rewardgym.envs.text.tasks import TaskDataset
from rewardgym.envs.text.token_env import token_task
from rewardgym.envs.text.vocab import BOS, DIGIT0, EOS, PAD

register_text_envs()
ADD = "rewardgym/TextAdd-v0"


def answer_tokens(answers: list[str], step: int) -> np.ndarray:
    """Token ``step`` of each answer, EOS once an answer is written."""
    return np.array([vocab.encode(a, eos=True)[step] if step <= len(a) else EOS for a in answers])


def test_registration_lists_every_task_at_both_levels_and_is_idempotent():
    ids = register_text_envs()
    assert ids == register_text_envs() and len(ids) == 18
    assert {"rewardgym/TextSortDigits-v0", "rewardgym/TextCompletionChain-v0"} <= set(ids)
    info = rewardgym.envs.ENVS[ADD]
    assert info.modality == "text" and "MultiDiscrete" in info.observation_space


def test_observation_is_a_window_of_int_token_ids_starting_with_bos_and_the_prompt():
    envs = gym.make_vec(ADD, num_envs=6, difficulty=2)
    obs, _ = envs.reset(seed=9)
    assert obs.dtype == np.int64 and obs.shape == (6, 1 + 6 + 4)  # BOS, "ab+cd=", budget 3 + EOS
    assert envs.observation_space.contains(obs)
    assert (obs[:, 0] == BOS).all() and (obs[:, 7:] == PAD).all()
    data = TaskDataset("add", difficulty=2, seed=9, size=6)
    # env i seeded s starts with item i of the dataset seeded s
    assert [vocab.decode(row) for row in obs] == [item["metadata"]["prompt"] for item in data]


def test_oracle_tokens_earn_one_at_the_end_and_nothing_before():
    n = 32
    envs = gym.make_vec(ADD, num_envs=n, autoreset_mode="same_step")
    obs, _ = envs.reset(seed=0)
    answers = [item["answer"] for item in TaskDataset("add", seed=0, size=n)]
    done = np.zeros(n, bool)
    for step in range(3):
        actions = answer_tokens(answers, step)
        obs, reward, terminated, truncated, info = envs.step(actions)
        live = ~done
        ending = live & terminated
        np.testing.assert_array_equal(reward[live & ~terminated], 0.0)
        np.testing.assert_array_equal(reward[ending], 1.0)
        np.testing.assert_array_equal(info["gold_reward"], reward)
        assert not truncated.any()
        for i in np.flatnonzero(ending):
            assert vocab.split_window(info["final_obs"][i])[1] == answers[i]
        done |= terminated
    assert done.all()


def test_eos_ends_the_episode_and_an_empty_or_wrong_answer_scores_zero():
    env = gym.make(ADD)
    obs, _ = env.reset(seed=1)
    obs, reward, terminated, truncated, info = env.step(EOS)
    assert (terminated, truncated, reward, info["gold_reward"]) == (True, False, 0.0, 0.0)
    assert obs[len(vocab.split_window(obs)[0]) + 1] == EOS
    with pytest.raises(RuntimeError, match="episode has ended"):
        env.step(EOS)
    env.reset(seed=1)
    prompt = vocab.split_window(obs)[0]
    a, b = prompt[:-1].split("+")
    wrong = str(int(a) + int(b) + 1)
    for token in vocab.encode(wrong, eos=True):
        _, reward, terminated, *_ = env.step(token)
    assert terminated and reward == 0.0


def test_the_token_budget_ends_the_episode_as_terminated_with_the_verifier_score():
    envs = gym.make_vec(ADD, num_envs=4, max_new_tokens=6, autoreset_mode="same_step")
    obs, _ = envs.reset(seed=2)
    assert obs.shape == (4, 1 + 4 + 6)
    for step in range(6):
        obs, reward, terminated, truncated, info = envs.step(np.full(4, DIGIT0 + 1))
        assert not truncated.any()
        assert terminated.all() == (step == 5)
    np.testing.assert_array_equal(reward, 0.0)  # "111111" is never a 1-digit sum
    assert [vocab.split_window(w)[1] for w in info["final_obs"]] == ["111111"] * 4


def test_a_lowered_time_limit_truncates_without_reward():
    envs = gym.make_vec(ADD, num_envs=2, max_episode_steps=1, autoreset_mode="same_step")
    envs.reset(seed=0)
    _, reward, terminated, truncated, _ = envs.step(np.full(2, DIGIT0))
    assert truncated.all() and not terminated.any() and (reward == 0).all()


def test_next_step_autoreset_restarts_with_a_fresh_prompt_and_zero_reward():
    envs = gym.make_vec(ADD, num_envs=3)
    first, _ = envs.reset(seed=4)
    _, _, terminated, _, _ = envs.step(np.full(3, EOS))
    assert terminated.all()
    obs, reward, terminated, truncated, info = envs.step(np.full(3, DIGIT0))  # ignored
    assert (reward == 0).all() and not terminated.any() and not truncated.any()
    assert (obs[:, 0] == BOS).all() and not np.array_equal(obs, first)
    assert (obs == PAD).sum() == (first == PAD).sum()  # nothing written yet


def test_single_env_follows_env_zero_of_the_vector_env_and_seeds_reproduce():
    single = gym.make(ADD)
    envs = gym.make_vec(ADD, num_envs=2)
    rng = np.random.default_rng(0)
    actions = rng.integers(0, vocab.VOCAB_SIZE, size=(12, 2))
    runs = []
    for _ in range(2):
        obs_s, _ = single.reset(seed=7)
        obs_v, _ = envs.reset(seed=7)
        trace = [obs_v.copy()]
        for a in actions:
            np.testing.assert_array_equal(obs_s, obs_v[0])
            obs_v, reward_v, term_v, _, _ = envs.step(a)
            if single.unwrapped._batch.episode_over[0]:
                obs_s, _ = single.reset()
                # a single env's reset draws its next item from the same stream as NEXT_STEP
            else:
                obs_s, reward_s, term_s, *_ = single.step(a[0])
                assert (reward_s, term_s) == (reward_v[0], term_v[0])
            trace.append(obs_v.copy())
        runs.append(np.stack(trace))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_reward_specs_apply_through_the_shell_and_gold_is_untouched():
    envs = gym.make_vec(ADD, num_envs=8, reward="scale(factor=3)", autoreset_mode="same_step")
    envs.reset(seed=0)
    answers = [item["answer"] for item in TaskDataset("add", seed=0, size=8)]
    returns = np.full(8, np.nan)
    for step in range(3):
        _, proxy, terminated, _, info = envs.step(answer_tokens(answers, step))
        np.testing.assert_array_equal(proxy, 3 * info["gold_reward"])
        assert list(info["reward_trace"]) == ["env", "scale"]
        first_end = info.get("_episode_returns", np.zeros(8, bool)) & np.isnan(returns)
        for key, factor in (("gold", 1), ("proxy", 3)):
            assert (info.get("episode_returns", {}).get(key, np.zeros(8))[first_end] == factor).all()
        returns[first_end] = 1.0
    assert not np.isnan(returns).any()  # every env finished its first episode


def test_spaces_pass_gymnasiums_and_sb3s_env_checkers():
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    check_env(gym.make(ADD).unwrapped, skip_render_check=True)
    sb3_check_env(gym.make(ADD).unwrapped, warn=False)


def test_bad_input_is_refused_by_name():
    envs = gym.make_vec(ADD, num_envs=2)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="outside Discrete"):
        envs.step(np.array([0, vocab.VOCAB_SIZE]))
    with pytest.raises(TypeError, match="must be integers"):
        envs.step(np.zeros(2))
    with pytest.raises(ValueError, match="valid difficulties"):
        gym.make(ADD, difficulty=9)
    with pytest.raises(ValueError, match="max_new_tokens must be a positive integer"):
        gym.make(ADD, max_new_tokens=0)
    with pytest.raises(ValueError, match="valid tasks"):
        token_task("addition")


@pytest.mark.skipif(not cuda_simulated(), reason="runs under numba's CUDA simulator")
def test_cuda_kernels_match_cpu_kernels():
    cuda = gym.make_vec("rewardgym/TextCount-v0", num_envs=3, device="cuda", autoreset_mode="same_step")
    cpu = gym.make_vec("rewardgym/TextCount-v0", num_envs=3, device="cpu", autoreset_mode="same_step")
    obs_gpu, _ = cuda.reset(seed=3)
    obs_cpu, _ = cpu.reset(seed=3)
    assert isinstance(obs_gpu, torch.Tensor) and obs_gpu.dtype == torch.int64
    np.testing.assert_array_equal(obs_gpu.numpy(), obs_cpu)
    rng = np.random.default_rng(1)
    for _ in range(6):
        actions = rng.choice([EOS, DIGIT0, DIGIT0 + 1, DIGIT0 + 2], size=3)
        out_gpu = cuda.step(torch.as_tensor(actions))
        out_cpu = cpu.step(actions)
        for g, c in zip(out_gpu[:4], out_cpu[:4]):
            np.testing.assert_array_equal(g.numpy(), c)
        np.testing.assert_array_equal(out_gpu[4]["final_obs"].numpy(), out_cpu[4]["final_obs"])
