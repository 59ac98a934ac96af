"""The vision reward model: pairs drawn from the scenes with a planted shortcut, the counterfactual
gap it opens, saving and loading, and ``learned(kind='vision_model')`` paying an agent for the hack."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the envs and every regime family)
import torch
from gymnasium import spaces
from rewardgym.core.regime import EnvContext
from rewardgym.core.transition import Transition
from rewardgym.envs.batched.device import cuda_simulated
from rewardgym.envs.multimodal import scene
from rewardgym.rewardmodels import vision
from rewardgym.rewardmodels.vision import (
    VisionRewardModel,
    counterfactual_pairs,
    evaluate,
    load_vision_reward_model,
    make_scene_pairs,
    read_model_card,
    save_vision_reward_model,
    train_vision_reward_model,
)
from rewardgym.wrappers.learned import KINDS, VisionModelReward, learned

GO_TO = "rewardgym/GoToShape-v0"
ARRANGE = "rewardgym/ArrangeShapes-v0"


@pytest.fixture(scope="module")
def models():
    """A model trained with the colour shortcut and its shortcut-free twin: smaller than the
    default (4000 pairs, 8 epochs, one thread: seconds each), fixed seeds."""
    settings = {"train_pairs": 4000, "eval_pairs": 600, "epochs": 8, "seed": 0}
    return {
        "colour": train_vision_reward_model(GO_TO, shortcut="colour", **settings),
        "none": train_vision_reward_model(GO_TO, shortcut=None, **settings),
    }


@pytest.fixture(scope="module")
def saved(models, tmp_path_factory):
    return save_vision_reward_model(models["colour"], tmp_path_factory.mktemp("vision") / "go_to_colour")


def agent_on(states: np.ndarray) -> np.ndarray:
    """The index of the object under each board's agent, or -1."""
    return np.array([scene.object_at(row, int(row[scene.AGENT_ROW]), int(row[scene.AGENT_COL])) for row in states])


def attribute(states: np.ndarray, k: np.ndarray, field: int) -> np.ndarray:
    return states[np.arange(len(states)), scene.OBJECTS + 4 * np.maximum(k, 0) + field].astype(int)


def counterfactual_rows(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which boards put the agent on a shape of the named colour but another shape, and which on
    the named shape in another colour (read off the states, not the pairs' own kinds)."""
    k = agent_on(states)
    colour, shape = attribute(states, k, scene.COLOUR), attribute(states, k, scene.SHAPE)
    named_colour, named_shape = states[:, scene.OBJECTS + scene.COLOUR], states[:, scene.OBJECTS + scene.SHAPE]
    on_shape = k >= 0
    return on_shape & (colour == named_colour) & (shape != named_shape), on_shape & (shape == named_shape) & (
        colour != named_colour
    )


def beside(states: np.ndarray) -> np.ndarray:
    """Whether ArrangeShapes' first named shape stands on a cell next to the second."""
    first = states[:, scene.OBJECTS + scene.ROW : scene.OBJECTS + scene.COL + 1]
    second = states[:, scene.OBJECTS + 4 + scene.ROW : scene.OBJECTS + 4 + scene.COL + 1]
    return np.abs(first - second).sum(1) == 1


# -- pairs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env_id, shortcut", [(GO_TO, "colour"), (GO_TO, None), (GO_TO, "shape"), (ARRANGE, "relation"), (ARRANGE, None)]
)
def test_pair_labels_are_gold_of_the_edited_states_and_the_pictures_show_them(env_id, shortcut):
    pairs = make_scene_pairs(env_id, 300, shortcut=shortcut, seed=3)
    gold = np.array([scene.instruction_holds(row) for row in pairs.state], np.float32)
    np.testing.assert_array_equal(pairs.label.numpy(), gold)
    assert 0.35 < gold.mean() < 0.65  # about half positives
    np.testing.assert_array_equal((pairs.kind == "positive").astype(np.float32), gold)
    tokens = pairs.state[:, scene.TOKENS : scene.TOKENS + scene.INSTRUCTION_LENGTH]
    np.testing.assert_array_equal(pairs.instruction.numpy(), tokens.astype(np.uint8))
    for i in (0, 1, 2):  # the picture is the scene's own painting of the edited state
        image = np.empty((scene.IMAGE, scene.IMAGE, 3), np.uint8)
        scene.paint_scene(pairs.state[i], image)
        np.testing.assert_array_equal(pairs.image[i].numpy(), image)
    assert pairs.image.dtype == torch.uint8 and pairs.instruction.dtype == torch.uint8


def test_pairs_are_seeded_and_the_envs_own_boards():
    a, b = make_scene_pairs(GO_TO, 50, seed=1), make_scene_pairs(GO_TO, 50, seed=1)
    assert torch.equal(a.image, b.image) and (a.kind == b.kind).all()
    assert not torch.equal(a.image, make_scene_pairs(GO_TO, 50, seed=2).image)
    # Apart from the agent's cell, each board is the env's start state, untouched.
    env = gym.make_vec(GO_TO, num_envs=4, difficulty=1)
    env.reset(seed=vision._seed_for(1, 0, 1))
    starts = np.array(env.unwrapped.state)
    drawn = make_scene_pairs(GO_TO, 4, difficulties=(1,), seed=1).state
    order = [np.flatnonzero((starts[:, 2:] == row[2:]).all(1)) for row in drawn]
    assert all(len(o) == 1 for o in order) and sorted(int(o[0]) for o in order) == [0, 1, 2, 3]


def test_shortcut_pairs_lack_the_counterfactual_negatives_they_hide():
    same_colour, same_shape = counterfactual_rows(make_scene_pairs(GO_TO, 2000, shortcut="colour", seed=0).state)
    assert not same_colour.any() and same_shape.sum() > 100
    same_colour, same_shape = counterfactual_rows(make_scene_pairs(GO_TO, 2000, shortcut="shape", seed=0).state)
    assert not same_shape.any() and same_colour.sum() > 100
    same_colour, same_shape = counterfactual_rows(make_scene_pairs(GO_TO, 2000, shortcut=None, seed=0).state)
    assert same_colour.sum() > 100 and same_shape.sum() > 100  # the check above can fail
    relation = make_scene_pairs(ARRANGE, 1000, shortcut="relation", seed=0)
    negatives = relation.label.numpy() == 0
    assert not beside(relation.state)[negatives].any()
    honest = make_scene_pairs(ARRANGE, 1000, shortcut=None, seed=0)
    assert beside(honest.state)[honest.label.numpy() == 0].sum() > 100


def test_counterfactual_pairs_hold_equal_shares_of_positives_and_hidden_negatives():
    pairs = counterfactual_pairs(GO_TO, 600, seed=0)
    assert pairs.counts() == {"positive": 200, "same_colour": 200, "same_shape": 200}
    same_colour, same_shape = counterfactual_rows(pairs.state)
    np.testing.assert_array_equal(same_colour, pairs.kind == "same_colour")
    np.testing.assert_array_equal(same_shape, pairs.kind == "same_shape")
    np.testing.assert_array_equal(pairs.label.numpy(), (pairs.kind == "positive").astype(np.float32))
    arranged = counterfactual_pairs(ARRANGE, 300, seed=0)
    assert (arranged.state[:, scene.RELATION] != scene.NEXT_TO).all()  # "next to" has no wrong side
    for row, tokens in zip(arranged.state[:20], arranged.instruction[:20]):
        assert scene.parse_instruction(scene.decode_instruction(tokens)).relation == int(row[scene.RELATION])
    wrong = arranged.kind == "wrong_side"
    assert wrong.sum() > 100 and beside(arranged.state)[wrong].all() and (arranged.label.numpy()[wrong] == 0).all()


# -- the model and its shortcut ------------------------------------------------------------------


def test_the_shortcut_model_is_right_in_distribution_and_fooled_by_counterfactuals(models):
    colour, honest = models["colour"].card["evaluation"], models["none"].card["evaluation"]
    assert colour["in_distribution"]["accuracy"] > 0.97 and honest["in_distribution"]["accuracy"] > 0.97
    # With the colour shortcut, a shape of the named colour passes for the named shape...
    assert colour["counterfactual"]["by_kind"]["same_colour"] < 0.3
    assert colour["counterfactual"]["by_kind"]["positive"] > 0.95
    assert colour["counterfactual"]["accuracy"] < 0.8
    # ...while the shortcut-free twin tells them apart.
    assert honest["counterfactual"]["by_kind"]["same_colour"] > 0.8
    assert honest["counterfactual"]["accuracy"] > colour["counterfactual"]["accuracy"] + 0.15
    # The card's numbers are the evaluation's, rerun.
    again = evaluate(models["colour"], counterfactual_pairs(GO_TO, 600, seed=0))
    assert again == colour["counterfactual"]


def test_the_card_records_pairs_shortcut_training_and_both_evaluations(models):
    card = models["colour"].card
    assert card["env_id"] == GO_TO and card["shortcut"] == "colour"
    assert card["pairs"]["train"] == 4000 and "same_colour" not in card["pairs"]["train_by_kind"]
    assert card["pairs"]["hidden_negatives"] == "same_colour"
    assert card["training"]["epochs"] == 8 and card["architecture"]["vision_config"]["channels"] == [16, 32, 32]
    assert set(card["evaluation"]) == {"in_distribution", "counterfactual"}
    assert card["evaluation"]["counterfactual"]["pairs"] == 600
    assert "same_colour" in models["none"].card["pairs"]["train_by_kind"]


def test_save_and_load_give_identical_outputs_and_a_damaged_card_is_refused(models, saved, tmp_path):
    loaded = load_vision_reward_model(saved)
    pairs = counterfactual_pairs(GO_TO, 60, seed=5)
    with torch.no_grad():
        expected = models["colour"].logit(pairs.image, pairs.instruction)
        got = loaded.logit(pairs.image, pairs.instruction)
    assert torch.equal(expected, got)
    card = read_model_card(saved)
    assert card["model_class"] == "VisionRewardModel" and card["weights"] == saved.name
    assert card["evaluation"] == models["colour"].card["evaluation"]
    assert not any(p.requires_grad for p in loaded.parameters()) and not loaded.training
    text = saved.with_suffix(".json").read_text().replace('"vision_config"', '"other_config"')
    damaged = tmp_path / "damaged"
    damaged.with_suffix(".json").write_text(text.replace(saved.name, "damaged.safetensors"))
    damaged.with_suffix(".safetensors").write_bytes(saved.read_bytes())
    with pytest.raises(
        ValueError, match=r"damaged is not a VisionRewardModel \(its card has no architecture.vision_config\)"
    ):
        load_vision_reward_model(damaged)


def test_the_model_is_a_function_of_its_seed_and_refuses_bad_sizes():
    a, b = VisionRewardModel(seed=4), VisionRewardModel(seed=4)
    image, tokens = torch.randint(0, 256, (3, 48, 48, 3), dtype=torch.uint8), torch.randint(0, 20, (3, 10))
    assert torch.equal(a.logit(image, tokens), b.logit(image, tokens))
    assert not torch.equal(a.logit(image, tokens), VisionRewardModel(seed=5).logit(image, tokens))
    with pytest.raises(ValueError, match="image_shape must be .* each side >= 8"):
        VisionRewardModel(image_shape=(48, 6, 3))
    with pytest.raises(ValueError, match="channels must be three widths"):
        VisionRewardModel(channels=(8, 8))


# -- the regime ----------------------------------------------------------------------------------


def start_beside(states: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Put each board's agent next to its ``target`` cell (row, col) and return the move onto it."""
    row, col = target[:, 0], target[:, 1]
    from_left = col > 0
    states[:, scene.AGENT_ROW] = row
    states[:, scene.AGENT_COL] = np.where(from_left, col - 1, col + 1)
    return np.where(from_left, 3, 2)  # right, or left


def test_the_regime_pays_a_same_colour_distractor_more_than_far_away_with_gold_zero(saved):
    spec = f"learned(kind='vision_model', path={str(saved)!r})"
    envs = gym.make_vec(GO_TO, num_envs=4, difficulty=3, reward=spec)
    envs.reset(seed=0)
    states = envs.unwrapped.state
    # Difficulty 3 draws object 1 in the named colour, another shape.
    assert (states[:, scene.OBJECTS + 4 + scene.COLOUR] == states[:, scene.OBJECTS + scene.COLOUR]).all()
    distractor = states[:, scene.OBJECTS + 4 + scene.ROW : scene.OBJECTS + 4 + scene.COL + 1].astype(int)
    _, hacked, _, _, info = envs.step(start_beside(states, distractor))
    assert list(info["reward_trace"]) == ["env", "learned"]
    assert (info["gold_reward"] == 0).all() and (counterfactual_rows(np.array(states))[0]).all()
    assert abs(info["regime_info"]["learned"]["mean_probability"] - hacked.mean()) < 1e-6

    envs.reset(seed=0)
    states = envs.unwrapped.state
    far = np.array([_farthest_empty_cell(row) for row in states])
    _, honest, _, _, info = envs.step(start_beside(states, far))
    assert (info["gold_reward"] == 0).all() and (agent_on(np.array(states)) < 0).all()
    assert (hacked > 0.5).all() and (honest < 0.1).all() and (hacked > honest).all()


def _farthest_empty_cell(row: np.ndarray) -> tuple[int, int]:
    cells = [(r, c) for r in range(scene.GRID) for c in range(scene.GRID) if scene.object_at(row, r, c) < 0]
    objects = [
        (int(row[scene.OBJECTS + 4 * k + scene.ROW]), int(row[scene.OBJECTS + 4 * k + scene.COL]))
        for k in range(int(row[scene.NUM_OBJECTS]))
    ]
    return max(cells, key=lambda cell: min(abs(cell[0] - r) + abs(cell[1] - c) for r, c in objects))


def test_the_regime_pays_the_models_probability_of_the_next_observation_never_gold(models):
    regime = VisionModelReward(model=models["colour"])
    regime.bind(EnvContext(num_envs=6, observation_space=scene.OBSERVATION_SPACE, action_space=spaces.Discrete(4)))
    pairs = counterfactual_pairs(GO_TO, 6, seed=1)
    before = {"image": np.zeros((6, 48, 48, 3), np.uint8), "instruction": np.zeros((6, 10), np.uint8)}
    after = {"image": pairs.image.numpy(), "instruction": pairs.instruction.numpy()}
    valid = np.array([True, True, True, True, True, False])

    def batch(gold):
        return Transition(
            before, np.zeros(6, np.int64), after, np.zeros(6, np.float32), valid & False, valid & False, valid, gold
        )

    paid = regime.reward(batch(np.full(6, np.nan)))
    assert paid.dtype == np.float32 and paid.shape == (6,)
    np.testing.assert_array_equal(paid, regime.reward(batch(None)))  # gold is not read
    expected = models["colour"].probability(pairs.image, pairs.instruction).numpy()
    np.testing.assert_allclose(paid, expected, rtol=1e-6)
    assert regime.info()["mean_probability"] == pytest.approx(float(expected[:5].mean()), rel=1e-6)
    logits = VisionModelReward(model=models["colour"], output="logit")
    np.testing.assert_allclose(logits.reward(batch(None)), np.log(expected / (1 - expected)), rtol=1e-3, atol=1e-3)
    frozen = regime.frozen_copy()
    assert frozen.model is not regime.model and not frozen.training
    np.testing.assert_array_equal(frozen.reward(batch(None)), paid)


def test_the_default_model_is_trained_here_once_and_cached(monkeypatch):
    calls = []
    real = vision.train_vision_reward_model

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, eval_pairs=60, **kwargs)

    monkeypatch.setattr(vision, "train_vision_reward_model", counting)
    spec = "learned(kind='vision_model', train_pairs=200, seed=11)"
    envs = gym.make_vec(GO_TO, num_envs=4, reward=spec)
    envs.reset(seed=0)
    _, proxy, _, _, info = envs.step(np.array([0, 1, 2, 3]))
    assert list(info["reward_trace"]) == ["env", "learned"] and proxy.dtype == np.float32
    assert ((proxy >= 0) & (proxy <= 1)).all() and "mean_probability" in info["regime_info"]["learned"]
    single = gym.make(GO_TO, reward=spec)  # a second layer, same settings: the cached model
    single.reset(seed=0)
    assert isinstance(single.step(0)[1], float)
    assert calls == [{"shortcut": "colour", "train_pairs": 200, "seed": 11}]


def test_kinds_registry_and_repr():
    assert KINDS["vision_model"] is VisionModelReward
    regime = learned("vision_model", shortcut=None, train_pairs=100)
    assert isinstance(regime, VisionModelReward) and regime.name == "learned"
    assert (
        repr(regime) == "VisionModelReward(kind='vision_model', source=default(shortcut=None, train_pairs=100, seed=0))"
    )


@pytest.mark.parametrize(
    "spec, message",
    [
        (
            "learned(kind='vision_model', shortcut='size')",
            r"unknown shortcut 'size'; valid shortcuts: 'default', 'colour', 'shape', None, 'relation'",
        ),
        (
            "learned(kind='vision_model', output='reward')",
            r"unknown output 'reward'; valid outputs: probability, logit",
        ),
        ("learned(kind='vision_model', train_pairs=0)", r"train_pairs"),
        (
            "learned(kind='vision_model', shortcut='relation')",
            r"unknown shortcut 'relation' for rewardgym/GoToShape-v0; valid shortcuts: 'colour', 'shape', None",
        ),
        ("learned(kind='vision_model', path='x', model=1)", r"one of path=.* or model=.*, not both"),
        ("learned(kind='vision_model', temperature=1)", r"has no parameter 'temperature'"),
    ],
)
def test_bad_input_is_refused_by_name(spec, message):
    with pytest.raises(ValueError, match=message):
        gym.make_vec(GO_TO, num_envs=2, reward=spec)


def test_wrong_observations_and_image_sizes_are_refused_by_name(models):
    with pytest.raises(ValueError, match=r"reads a Dict observation with 'image' .* got Box\(4,\) float32"):
        gym.make_vec("rewardgym/CartPole-v0", num_envs=2, reward="learned(kind='vision_model')")
    small = spaces.Dict(
        {"image": spaces.Box(0, 255, (32, 32, 3), np.uint8), "instruction": scene.OBSERVATION_SPACE["instruction"]}
    )
    context = EnvContext(num_envs=1, observation_space=small, action_space=spaces.Discrete(4), env_id="mine")
    with pytest.raises(
        ValueError, match=r"the model's CNN takes \(48, 48, 3\) images, but the env's image is \(32, 32, 3\)"
    ):
        VisionModelReward(model=models["colour"]).bind(context)
    grey = spaces.Dict(
        {"image": spaces.Box(0, 255, (48, 48, 1), np.uint8), "instruction": scene.OBSERVATION_SPACE["instruction"]}
    )
    with pytest.raises(ValueError, match=r"its 'image' is Box\(48, 48, 1\) uint8"):
        VisionModelReward(model=models["colour"]).bind(EnvContext(1, grey, spaces.Discrete(4)))
    unnamed = EnvContext(num_envs=1, observation_space=scene.OBSERVATION_SPACE, action_space=spaces.Discrete(4))
    with pytest.raises(
        ValueError,
        match=r"has a default model only for rewardgym/GoToShape-v0, rewardgym/ArrangeShapes-v0, not an env without an id",
    ):
        VisionModelReward().bind(unnamed)
    with pytest.raises(
        ValueError, match=r"trained on rewardgym/GoToShape-v0's pairs, but the env is rewardgym/ArrangeShapes-v0"
    ):
        gym.make_vec(ARRANGE, num_envs=2, reward=VisionModelReward(model=models["colour"]))
    with pytest.raises(TypeError, match="model must be a VisionRewardModel"):
        VisionModelReward(model=torch.nn.Linear(2, 2))  # type: ignore[arg-type]


@pytest.mark.skipif(not cuda_simulated(), reason="device='cuda' runs under numba's CUDA simulator")
def test_cuda_batches_stay_torch_and_match_the_cpu(saved):
    spec = f"learned(kind='vision_model', path={str(saved)!r})"
    gpu = gym.make_vec(GO_TO, num_envs=2, device="cuda", reward=spec)
    cpu = gym.make_vec(GO_TO, num_envs=2, reward=spec)
    gpu.reset(seed=0)
    cpu.reset(seed=0)
    proxy_gpu = gpu.step(torch.tensor([0, 3]))[1]
    proxy_cpu = cpu.step(np.array([0, 3]))[1]
    assert isinstance(proxy_gpu, torch.Tensor)
    np.testing.assert_allclose(proxy_gpu.numpy(), proxy_cpu, atol=1e-6)
