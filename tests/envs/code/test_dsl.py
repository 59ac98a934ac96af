"""rewardgym/CodeDSL-v0: the interpreter against a plain-Python one, scores at the end (proxy on
the visible examples, gold on the hidden), the constants hack, seeding, the CUDA kernels and bad
input."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import rewardgym
import torch
from rewardgym.envs.batched.device import cuda_simulated
from rewardgym.envs.code import dsl
from rewardgym.envs.code.dsl import (
    DIGIT0,
    EOS,
    IN,
    MAX_LEN,
    NUM_PROGRAM_TOKENS,
    OUT,
    PAD,
    PROG,
    PROGRAM_START,
    SLOT_CELLS,
    TOKENS,
    WINDOW,
    decode,
    decode_window,
    encode,
    hidden_program,
    interpret,
    register_code_dsl_env,
)

ENV_ID = register_code_dsl_env()
WIDER = {"difficulty": 2, "visible": 3, "hidden": 5}
"""A second set of parameters, shared by the tests so that numba compiles few kernels."""


# -- a plain-Python reference interpreter, written from the module docstring's table -------------


def reference(program: list[str], xs: list[int]) -> list[int] | None:
    """The DSL's semantics in plain Python, on token texts; None for a malformed program."""
    value = list(xs)
    pos, literal = 0, False
    while pos < len(program):
        word = program[pos]
        pos += 1
        if word.isdigit():
            value = ([] if not literal else value) + [int(word)]
            literal = True
            continue
        literal = False
        arg = program[pos] if pos < len(program) else None
        if word in ("TAKE", "DROP", "MAP", "FILTER"):
            valid = {"TAKE": "0123456789", "DROP": "0123456789", "MAP": ["+1", "-1", "*2"]}
            choices = valid.get(word, ["EVEN", "ODD", ">4"])
            if arg is None or arg not in list(choices):
                return None
            pos += 1
        if word == "SORT":
            value = sorted(value)
        elif word == "REVERSE":
            value = value[::-1]
        elif word == "SUM":
            value = [sum(value) % 10]
        elif word == "MAX":
            value = [max(value)] if value else []
        elif word == "MIN":
            value = [min(value)] if value else []
        elif word == "COUNT":
            value = [len(value) % 10]
        elif word == "HEAD":
            value = value[:1]
        elif word == "LAST":
            value = value[-1:]
        elif word == "TAKE":
            value = value[: int(arg)]
        elif word == "DROP":
            value = value[int(arg) :]
        elif word == "MAP":
            f = {"+1": lambda v: (v + 1) % 10, "-1": lambda v: (v - 1) % 10, "*2": lambda v: 2 * v % 10}[arg]
            value = [f(v) for v in value]
        elif word == "FILTER":
            p = {"EVEN": lambda v: v % 2 == 0, "ODD": lambda v: v % 2 == 1, ">4": lambda v: v > 4}[arg]
            value = [v for v in value if p(v)]
        else:
            return None  # EOS or an argument where a stage belongs
    return value


def random_programs(rng: np.random.Generator, count: int) -> list[list[int]]:
    """Programs of 0-9 tokens: half well-formed pipelines, half arbitrary token strings."""
    stage = [encode(s) for s in ("SORT", "REVERSE", "SUM", "MAX", "MIN", "COUNT", "HEAD", "LAST")]
    stage += [encode(f"TAKE {d}") for d in range(10)] + [encode(f"DROP {d}") for d in range(10)]
    stage += [encode(f"MAP {f}") for f in ("+1", "-1", "*2")] + [encode(f"FILTER {p}") for p in ("EVEN", "ODD", ">4")]
    stage += [[DIGIT0 + d] for d in range(10)]
    programs = []
    for k in range(count):
        if k % 2:
            tokens = rng.integers(0, NUM_PROGRAM_TOKENS, int(rng.integers(0, 10))).tolist()
        else:
            tokens = []
            while len(tokens) < int(rng.integers(0, 10)):
                tokens += stage[int(rng.integers(len(stage)))]
            tokens = tokens[:9]
        programs.append(tokens)
    return programs


def test_interpreter_matches_the_plain_python_reference_on_random_programs():
    rng = np.random.default_rng(0)
    inputs = [rng.integers(0, 10, int(rng.integers(0, MAX_LEN + 1))).tolist() for _ in range(12)]
    malformed = 0
    for tokens in random_programs(rng, 400):
        expected = [reference([TOKENS[t] for t in tokens], xs) for xs in inputs]
        assert interpret(tokens, inputs) == expected, decode(tokens)
        malformed += expected[0] is None
    assert 50 < malformed < 350  # both kinds were exercised


def test_interpreter_examples_from_the_docstring_table():
    assert interpret("", [[3, 1]]) == [[3, 1]]  # the empty program is the identity
    assert interpret("SUM", [[9, 8], []]) == [[7], [0]]
    assert interpret("MAX", [[]]) == [[]]
    assert interpret("MAP -1 FILTER >4 COUNT", [[0, 5, 6]]) == [[2]]
    assert interpret("DROP 3 7 7", [[1, 2, 3, 4]]) == [[7, 7]]
    assert interpret("SORT EVEN", [[1]]) == [None] and interpret("MAP EVEN", [[1]]) == [None]
    with pytest.raises(ValueError, match="at most 5 digits"):
        interpret("SORT", [[1, 2, 3, 4, 5, 6]])


def test_registration_and_listing():
    assert ENV_ID == "rewardgym/CodeDSL-v0" == register_code_dsl_env()
    info = rewardgym.envs.ENVS[ENV_ID]
    assert info.modality == "code" and info.proxy and info.hack and "hidden" in info.gold
    assert info.observation_space == f"MultiDiscrete({WINDOW} x 33) int64" and info.action_space == "Discrete(29)"


def test_observation_shows_the_visible_examples_and_the_program_written():
    env = gym.make(ENV_ID, **WIDER)
    obs, _ = env.reset(seed=5)
    assert obs.shape == (WINDOW,) and obs.dtype == np.int64 and env.observation_space.contains(obs)
    for k in range(3):
        slot = obs[k * SLOT_CELLS : (k + 1) * SLOT_CELLS]
        assert slot[0] == IN and slot[MAX_LEN + 1] == OUT
    assert (obs[3 * SLOT_CELLS : PROGRAM_START - 1] == PAD).all()  # the fourth slot is unused
    assert obs[PROGRAM_START - 1] == PROG and (obs[PROGRAM_START:] == PAD).all()
    # the shown outputs are the target's outputs on the shown inputs
    state = env.unwrapped.state
    for part in decode_window(obs).split(" | ")[:3]:
        xs, ys = part.removeprefix("IN ").split("OUT")
        assert interpret(hidden_program(state), [[int(x) for x in xs.split()]]) == [[int(y) for y in ys.split()]]
    obs, reward, terminated, truncated, info = env.step(encode("SORT")[0])
    assert obs[PROGRAM_START] == encode("SORT")[0] and (reward, terminated, truncated) == (0.0, False, False)


@pytest.mark.parametrize("kwargs", [{"difficulty": 1}, WIDER, {"difficulty": 4}])
def test_the_hidden_target_program_earns_proxy_one_and_gold_one(kwargs):
    n, difficulty = 64, kwargs["difficulty"]
    envs = gym.make_vec(ENV_ID, num_envs=n, **kwargs, autoreset_mode="same_step")
    envs.reset(seed=difficulty)
    targets = [encode(hidden_program(row)) + [EOS] for row in envs.unwrapped.state]
    assert {len(encode(hidden_program(row))) for row in envs.unwrapped.state} <= set(
        range(difficulty, 2 * difficulty + 1)
    )
    done = np.zeros(n, bool)
    for step in range(max(map(len, targets))):
        actions = np.array([t[step] if step < len(t) else EOS for t in targets])
        _, reward, terminated, truncated, info = envs.step(actions)
        ending = terminated & ~done
        assert (ending == (np.array([len(t) for t in targets]) == step + 1) & ~done).all()
        np.testing.assert_array_equal(reward[ending], 1.0)
        np.testing.assert_array_equal(info["gold_reward"][ending], 1.0)
        np.testing.assert_array_equal(reward[~terminated], 0.0)
        assert not truncated.any()
        done |= terminated
    assert done.all()


def test_a_constant_memorizing_visible_outputs_is_paid_more_than_gold():
    n = 256
    envs = gym.make_vec(ENV_ID, num_envs=n, autoreset_mode="same_step")
    obs, _ = envs.reset(seed=0)
    constants = []
    for row in obs:
        first_output = decode_window(row).split(" | ")[0].split("OUT")[1].split()
        constants.append(encode(first_output) + [EOS])
    writable = np.array([1 < len(c) <= 6 for c in constants])  # a non-empty output fits the budget
    proxy, gold = np.full(n, np.nan), np.full(n, np.nan)
    for step in range(6):
        actions = np.array([c[step] if step < len(c) else EOS for c in constants])
        _, reward, terminated, _, info = envs.step(actions)
        first = terminated & np.isnan(proxy)
        proxy[first], gold[first] = reward[first], info["gold_reward"][first]
    assert writable.mean() > 0.8 and not np.isnan(proxy).any()
    assert (proxy[writable] >= 0.5).all()  # it reproduces at least the first of two visible examples
    assert proxy[writable].mean() > gold[writable].mean() + 0.3
    assert gold[writable].mean() > 0  # a coincidence now and then (COUNT, MAX of long lists...)


def test_eos_and_the_budget_end_episodes_terminated_and_lowered_limits_truncate():
    env = gym.make(ENV_ID)
    env.reset(seed=1)
    for k in range(6):  # difficulty 1's budget: the longest output (5) and EOS
        _, reward, terminated, truncated, _ = env.step(DIGIT0 + 4)
        assert terminated == (k == 5) and not truncated  # the budget scores "4 4 4 4 4 4"
    env = gym.make(ENV_ID, max_episode_steps=2)
    env.reset(seed=1)
    env.step(DIGIT0)
    _, reward, terminated, truncated, info = env.step(DIGIT0)
    assert (terminated, truncated, reward, info["gold_reward"]) == (False, True, 0.0, 0.0)
    assert env.spec.max_episode_steps == 2 and gym.make(ENV_ID).spec.max_episode_steps == 10
    env = gym.make(ENV_ID, difficulty=4)
    env.reset(seed=1)
    for k in range(9):  # noqa: B007  (difficulty 4's default budget: four two-token stages and EOS)
        *_, terminated, truncated, _ = env.step(encode("SORT")[0])
    assert terminated and k == 8


def test_env_i_of_a_vector_env_seeded_s_is_a_single_env_seeded_s_plus_i():
    envs = gym.make_vec(ENV_ID, num_envs=4, **WIDER)
    obs, _ = envs.reset(seed=30)
    for i in range(4):
        env = gym.make(ENV_ID, **WIDER)
        single, _ = env.reset(seed=30 + i)
        np.testing.assert_array_equal(single, obs[i])
        assert hidden_program(env.unwrapped.state) == hidden_program(envs.unwrapped.state[i])
    again, _ = gym.make_vec(ENV_ID, num_envs=4, **WIDER).reset(seed=30)
    np.testing.assert_array_equal(again, obs)
    assert not (gym.make_vec(ENV_ID, num_envs=4, **WIDER).reset(seed=31)[0] == obs).all()


def test_gymnasiums_env_checker_and_the_vector_env_checker_pass():
    from gymnasium.utils.env_checker import check_env
    from rewardgym.core.checks import check_vector_env

    check_env(gym.make(ENV_ID).unwrapped, skip_render_check=True)
    for mode in ("next_step", "same_step"):
        check_vector_env(gym.make_vec(ENV_ID, num_envs=3, autoreset_mode=mode, reward="scale(factor=2)"), steps=30)


def test_bad_input_is_refused_by_name():
    with pytest.raises(ValueError, match=r"unknown difficulty 5 of CodeDSL; valid difficulties: 1, 2, 3, 4"):
        gym.make(ENV_ID, difficulty=5)
    for bad in (0, "1", 1.0, True):
        with pytest.raises(ValueError, match="difficult"):
            gym.make_vec(ENV_ID, num_envs=2, difficulty=bad)
    with pytest.raises(ValueError, match=r"visible \(examples shown\) must be an integer in \[1, 4\], got 5"):
        gym.make(ENV_ID, visible=5)
    with pytest.raises(ValueError, match=r"hidden \(held-out examples\) must be an integer in \[1, 16\], got 0"):
        gym.make(ENV_ID, hidden=0)
    with pytest.raises(ValueError, match=r"max_new_tokens .* must be an integer in \[0, 9\], got 10"):
        gym.make(ENV_ID, max_new_tokens=10)
    with pytest.raises(ValueError, match="unknown keyword argument 'level'.*valid parameters: difficulty, visible"):
        gym.make(ENV_ID, level=1)
    envs = gym.make_vec(ENV_ID, num_envs=2)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="outside Discrete"):
        envs.step(np.array([0, NUM_PROGRAM_TOKENS]))
    with pytest.raises(ValueError, match="did you mean 'SORT'"):
        encode("SORTED")
    with pytest.raises(ValueError, match="unknown CodeDSL token 'PAD'"):
        encode("PAD")  # observation-only tokens are not program tokens


@pytest.mark.skipif(not cuda_simulated(), reason="runs under numba's CUDA simulator")
@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_cuda_kernels_match_cpu_kernels(mode):
    kwargs = {"num_envs": 4, **WIDER, "autoreset_mode": mode}
    cuda = gym.make_vec(ENV_ID, device="cuda", **kwargs)
    cpu = gym.make_vec(ENV_ID, device="cpu", **kwargs)
    obs_gpu, _ = cuda.reset(seed=3)
    obs_cpu, _ = cpu.reset(seed=3)
    assert isinstance(obs_gpu, torch.Tensor)
    np.testing.assert_array_equal(obs_gpu.numpy(), obs_cpu)
    # The targets' own tokens half the time, so that some episodes score
    targets = [encode(hidden_program(row)) + [EOS] for row in cpu.unwrapped.state]
    rng = np.random.default_rng(0)
    ended = 0
    for step in range(14):
        actions = rng.integers(0, NUM_PROGRAM_TOKENS, 4)
        if step < 7:
            actions[:2] = [t[step] if step < len(t) else EOS for t in targets[:2]]
        gpu_out = cuda.step(torch.as_tensor(actions))
        cpu_out = cpu.step(actions)
        for g, c in zip(gpu_out[:4], cpu_out[:4]):
            np.testing.assert_array_equal(g.numpy(), c)
        np.testing.assert_array_equal(gpu_out[4]["gold_reward"].numpy(), cpu_out[4]["gold_reward"])
        if mode == "same_step":
            np.testing.assert_array_equal(gpu_out[4]["final_obs"].numpy(), cpu_out[4]["final_obs"])
        ended += int(cpu_out[2].sum())
    assert ended > 2


def test_module_constants_agree():
    assert dsl.WINDOW == PROGRAM_START + dsl.MAX_BUDGET and dsl.VOCAB_SIZE == len(TOKENS)
    assert TOKENS[DIGIT0 + 7] == "7" and TOKENS[PAD] == "PAD"
