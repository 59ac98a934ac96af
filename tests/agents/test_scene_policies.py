"""GoToShape's scripted policies: the oracle reaches the named shape by a shortest path, the hacker
stands on a shape of the named colour that is not the named shape; both read only the pixels and
tokens, and ``SCRIPTED`` offers them by name."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the envs)
import torch
from rewardgym.agents.evaluation import evaluate
from rewardgym.agents.gridworld import GridPolicy
from rewardgym.agents.scenes import (
    GoToShapeHacker,
    GoToShapeOracle,
    nearest,
    read_scene,
    scene_policy,
    step_toward,
)
from rewardgym.agents.scripted import SCRIPTED
from rewardgym.agents.train import train
from rewardgym.envs.multimodal.scene import (
    AGENT_COL,
    AGENT_ROW,
    COL,
    COLOUR,
    GRID,
    MAX_OBJECTS,
    NUM_OBJECTS,
    OBJECTS,
    ROW,
    SHAPE,
)

ENV_ID = "rewardgym/GoToShape-v0"
N = 64


def make(difficulty: int, num_envs: int = N) -> gym.vector.VectorEnv:
    return gym.make_vec(ENV_ID, num_envs=num_envs, reward="none", difficulty=difficulty)


def board(state: np.ndarray) -> dict[str, np.ndarray]:
    """The scene as the env's state has it (the truth the pixels are checked against)."""
    n = len(state)
    objects = state[:, OBJECTS : OBJECTS + 4 * MAX_OBJECTS].reshape(n, MAX_OBJECTS, 4).astype(np.int64)
    present = np.arange(MAX_OBJECTS) < state[:, NUM_OBJECTS, None]
    colour, shape = np.full((n, GRID, GRID), -1), np.full((n, GRID, GRID), -1)
    for i, k in zip(*np.nonzero(present)):
        colour[i, objects[i, k, ROW], objects[i, k, COL]] = objects[i, k, COLOUR]
        shape[i, objects[i, k, ROW], objects[i, k, COL]] = objects[i, k, SHAPE]
    named_colour, named_shape = objects[:, 0, COLOUR], objects[:, 0, SHAPE]
    decoys = (colour == named_colour[:, None, None]) & (shape >= 0) & (shape != named_shape[:, None, None])
    return {
        "agent": state[:, [AGENT_ROW, AGENT_COL]].astype(np.int64),
        "target": objects[:, 0, [ROW, COL]],
        "colour": colour,
        "shape": shape,
        "named_colour": named_colour,
        "named_shape": named_shape,
        "decoys": decoys,
    }


@pytest.mark.parametrize("difficulty", [1, 2, 3, 4])
def test_the_oracle_reaches_the_named_shape_in_exactly_the_manhattan_distance(difficulty):
    envs = make(difficulty)
    policy = SCRIPTED["oracle"](envs)
    assert isinstance(policy, GoToShapeOracle)
    obs, _ = envs.reset(seed=0)
    truth = board(envs.unwrapped.state)
    distance = np.abs(truth["agent"] - truth["target"]).sum(1)
    arrived = np.full(N, -1)
    for t in range(1, 2 * GRID + 1):
        obs, reward, terminated, truncated, info = envs.step(policy.predict(obs))
        first = terminated & (arrived < 0)
        assert (reward[first] == 1).all() and (info["gold_reward"][first] == 1).all()
        arrived[first] = t
    np.testing.assert_array_equal(arrived, distance)

    returns = evaluate(policy.predict, envs)
    np.testing.assert_array_equal(returns["gold"], np.ones(N))
    np.testing.assert_array_equal(returns["proxy"], np.ones(N))


@pytest.mark.parametrize("difficulty", [3, 4])
def test_the_hacker_stands_on_a_shape_of_the_named_colour_that_is_not_the_named_shape(difficulty):
    envs = make(difficulty)
    policy = SCRIPTED["hacker"](envs)
    assert isinstance(policy, GoToShapeHacker)
    obs, _ = envs.reset(seed=0)
    truth = board(envs.unwrapped.state)
    assert truth["decoys"].any((1, 2)).all()  # from difficulty 3 on, every board has one
    rows = np.arange(N)
    on_decoy = []
    for _ in range(48):  # within the 64-step episodes: no truncation, no reset
        obs, reward, terminated, truncated, info = envs.step(policy.predict(obs))
        assert not terminated.any() and not truncated.any()  # it never steps on the named shape
        assert (reward == 0).all() and (info["gold_reward"] == 0).all()
        agent = envs.unwrapped.state[:, [AGENT_ROW, AGENT_COL]].astype(np.int64)
        on_decoy.append(truth["decoys"][rows, agent[:, 0], agent[:, 1]])
    on_decoy = np.array(on_decoy)
    # Any decoy is within 12 moves (10 across the board, 2 round the named shape); from then on it is
    # on one every step (at the edge) or every other step (inside, stepping off and back on).
    settled = on_decoy[12:]
    assert (settled[1:] | settled[:-1]).all()
    assert settled.all(0).any() and not settled.all()  # both kinds of decoy occur in 64 boards

    returns = evaluate(policy.predict, envs)
    np.testing.assert_array_equal(returns["gold"], np.zeros(N))
    np.testing.assert_array_equal(returns["proxy"], np.zeros(N))


def test_the_hacker_earns_less_than_the_oracle_where_a_decoy_can_be_drawn():
    envs = make(1)
    oracle = evaluate(scene_policy("oracle", envs).predict, envs)
    hacker = evaluate(scene_policy("hacker", envs).predict, envs)
    assert hacker["gold"].mean() < oracle["gold"].mean() == 1.0
    assert hacker["proxy"].mean() < oracle["proxy"].mean()
    # Without a decoy on the board it falls back on the oracle: the gap is the boards with one.
    envs.reset(seed=10_000)
    has_decoy = board(envs.unwrapped.state)["decoys"].any((1, 2))
    assert 0 < has_decoy.sum() < N
    np.testing.assert_array_equal(hacker["gold"], (~has_decoy).astype(float))


@pytest.mark.parametrize("difficulty", [1, 4])
def test_parsing_reads_the_pixels_and_tokens_only(difficulty):
    envs = make(difficulty)
    obs, _ = envs.reset(seed=3)
    for _ in range(2):  # after a couple of steps too, the agent standing anywhere
        obs, *_ = envs.step(GoToShapeOracle().predict(obs))
    truth = board(envs.unwrapped.state)
    # A recorded batch: copies of the arrays, no env behind them.
    recorded = {key: np.array(value, copy=True) for key, value in obs.items()}
    view = read_scene(recorded)
    for field in ("agent", "target", "colour", "shape", "named_colour", "named_shape"):
        np.testing.assert_array_equal(getattr(view, field), truth[field], err_msg=field)

    # Each policy's choices on the batch are those computed from the state.
    np.testing.assert_array_equal(GoToShapeOracle().predict(recorded), step_toward(truth["agent"], truth["target"]))
    hacker = GoToShapeHacker().predict(recorded)
    decoy, found = nearest(truth["agent"], truth["decoys"])
    from_state = step_toward(truth["agent"], decoy, avoid=truth["target"])
    away = found & ~(truth["agent"] == decoy).all(1)
    np.testing.assert_array_equal(hacker[away], from_state[away])
    np.testing.assert_array_equal(hacker[~found], step_toward(truth["agent"], truth["target"])[~found])

    # The same from torch batches (a device="cuda" env's, here on the CPU) and one observation.
    as_torch = {key: torch.from_numpy(value) for key, value in recorded.items()}
    answer = GoToShapeOracle().predict(as_torch)
    assert torch.is_tensor(answer) and answer.dtype == torch.int64
    np.testing.assert_array_equal(answer.numpy(), GoToShapeOracle().predict(recorded))
    one = GoToShapeHacker().predict({key: value[5] for key, value in recorded.items()})
    assert isinstance(one, np.int64) and one == hacker[5]


def test_parsing_refuses_what_is_not_a_go_to_shape_observation():
    envs = make(2, num_envs=4)
    obs, _ = envs.reset(seed=0)
    no_agent = {"image": np.zeros_like(obs["image"]), "instruction": obs["instruction"]}
    with pytest.raises(ValueError, match="observation 0 of the batch shows 0 agents, not 1"):
        read_scene(no_agent)
    wrong = {"image": obs["image"], "instruction": np.zeros_like(obs["instruction"])}
    with pytest.raises(ValueError, match="not 'go to the <colour> <shape>'"):
        read_scene(wrong)
    arrange = gym.make_vec("rewardgym/ArrangeShapes-v0", num_envs=2, reward="none")
    with pytest.raises(ValueError, match="reads 'put the"):
        read_scene(arrange.reset(seed=0)[0])
    with pytest.raises(TypeError, match="Dict observations"):
        GoToShapeOracle().predict(np.zeros((4, 3)))


def test_scripted_offers_them_by_name_and_names_go_to_shape_when_refusing():
    for source in (ENV_ID, make(1, num_envs=2), gym.make(ENV_ID)):
        assert isinstance(SCRIPTED["oracle"](source), GoToShapeOracle)
        assert isinstance(SCRIPTED["hacker"](source), GoToShapeHacker)
    assert isinstance(SCRIPTED["oracle"]("rewardgym/BoatRace-v0"), GridPolicy)  # the gridworlds' still
    for env_id in ("rewardgym/CartPole-v0", "rewardgym/ArrangeShapes-v0"):
        with pytest.raises(
            ValueError, match="'hacker' scripted policy exists for the gridworlds, GoToShape and Code only"
        ) as e:
            SCRIPTED["hacker"](env_id)
        assert "rewardgym/GoToShape-v0" in str(e.value) and "rewardgym/BoatRace-v0" in str(e.value)
    with pytest.raises(ValueError, match="unknown scripted scene role 'cheater'"):
        scene_policy("cheater", ENV_ID)


def test_train_runs_the_scripted_go_to_shape_policies():
    oracle = train(ENV_ID, algo="oracle", total_steps=0, eval_episodes=4, env_kwargs={"difficulty": 4})
    hacker = train(ENV_ID, algo="hacker", total_steps=0, eval_episodes=4, env_kwargs={"difficulty": 4})
    assert (oracle.final_proxy, oracle.final_gold) == (1.0, 1.0)
    assert (hacker.final_proxy, hacker.final_gold) == (0.0, 0.0)
