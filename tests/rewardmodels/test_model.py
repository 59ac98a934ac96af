"""Reward models and ensembles: features, seeding, aggregation, plug-in networks, save and load."""

import json

import numpy as np
import pytest
import torch
from gymnasium import spaces
from rewardgym.rewardmodels import (
    RewardEnsemble,
    RewardModel,
    TransitionFeatures,
    aggregate,
    check_spaces,
    load_reward_model,
    read_model_card,
    save_reward_model,
    space_to_dict,
)

CARTPOLE_OBS = spaces.Box(
    np.array([-4.8, -np.inf, -0.42, -np.inf], np.float32), np.array([4.8, np.inf, 0.42, np.inf], np.float32)
)
DISCRETE2 = spaces.Discrete(2)


def inputs(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 4, generator=g), torch.randint(2, (n,), generator=g), torch.randn(n, 4, generator=g)


def test_default_features_flatten_boxes_and_one_hot_discrete_values():
    f = TransitionFeatures(spaces.Box(-1, 1, (2, 2)), spaces.Discrete(3, start=1))
    out = f(torch.ones(2, 2, 2), torch.tensor([1, 3]), torch.zeros(2, 2, 2))
    assert f.dim == 4 + 3 + 4 and out.shape == (2, 11)
    assert out[:, 4:7].tolist() == [[1, 0, 0], [0, 0, 1]]
    state_only = TransitionFeatures(CARTPOLE_OBS, DISCRETE2, inputs=("next_obs",))
    assert state_only.dim == 4
    assert torch.equal(state_only(*inputs(3)), inputs(3)[2])


@pytest.mark.parametrize("bad", [(), ("obs", "obs"), ("state",)])
def test_bad_feature_inputs_are_refused_by_name(bad):
    with pytest.raises(ValueError, match="inputs must be distinct names among obs, action, next_obs"):
        TransitionFeatures(CARTPOLE_OBS, DISCRETE2, inputs=bad)


def test_unsupported_space_asks_for_a_custom_extractor():
    with pytest.raises(TypeError, match="pass features="):
        RewardModel(spaces.Dict({"a": DISCRETE2}), DISCRETE2)


def test_model_is_a_function_of_its_seed():
    x = inputs()
    same = [RewardModel(CARTPOLE_OBS, DISCRETE2, seed=3)(*x) for _ in range(2)]
    other = RewardModel(CARTPOLE_OBS, DISCRETE2, seed=4)(*x)
    assert torch.equal(same[0], same[1])
    assert not torch.equal(same[0], other)
    assert same[0].shape == (32,)


def test_any_torch_module_plugs_in_as_network_and_features():
    class Quadratic(torch.nn.Module):
        """(N, 10) features -> (N,) rewards, with no output axis: also accepted."""

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(10))

        def forward(self, x):
            return -(x**2) @ self.w

    class PoleAngle(torch.nn.Module):
        dim = 1

        def forward(self, obs, action, next_obs):
            return next_obs[:, 2:3]

    quad = RewardModel(CARTPOLE_OBS, DISCRETE2, network=Quadratic())
    x = inputs(5)
    expected = -(x[0] ** 2).sum(1) - 1.0 - (x[2] ** 2).sum(1)  # the one-hot action adds 1
    assert torch.allclose(quad(*x), expected)
    angle = RewardModel(CARTPOLE_OBS, DISCRETE2, features=PoleAngle(), hidden=(4,))
    assert angle(*x).shape == (5,)
    assert quad.card["architecture"]["network"] == "custom"
    assert angle.card["architecture"]["features"] == "custom"
    with pytest.raises(TypeError, match="network must be a torch.nn.Module"):
        RewardModel(CARTPOLE_OBS, DISCRETE2, network=lambda x: x)


@pytest.mark.parametrize("size", [0, -1, 1.5, True, "3"])
def test_ensemble_size_below_one_or_not_an_integer_is_refused(size):
    with pytest.raises(ValueError, match=f"ensemble size must be an integer >= 1, got {size!r}"):
        RewardEnsemble(CARTPOLE_OBS, DISCRETE2, size=size)


def test_unknown_aggregation_is_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match="unknown aggregation 'max'; valid aggregations: mean, wco, uwo"):
        RewardEnsemble(CARTPOLE_OBS, DISCRETE2, size=2, aggregation="max")
    with pytest.raises(ValueError, match="uwo_lambda must be a finite number >= 0, got -1"):
        RewardEnsemble(CARTPOLE_OBS, DISCRETE2, size=2, aggregation="uwo", uwo_lambda=-1)


def test_wco_is_never_above_the_mean_and_uwo_subtracts_the_variance():
    ens = RewardEnsemble(CARTPOLE_OBS, DISCRETE2, size=5, seed=0, hidden=(16,))
    x = inputs(10_000)
    members = ens.member_rewards(*x)
    mean, wco = aggregate(members, "mean"), aggregate(members, "wco")
    assert bool((wco <= mean).all())
    assert bool((wco < mean).any())  # the members do differ
    uwo = aggregate(members, "uwo", 2.0)
    assert torch.allclose(uwo, mean - 2.0 * members.var(0, unbiased=False))
    assert torch.equal(ens(*x), mean)  # the default aggregation


def test_ensemble_is_a_function_of_its_seed_and_members_differ():
    x = inputs()
    a = RewardEnsemble(CARTPOLE_OBS, DISCRETE2, size=3, seed=7).member_rewards(*x)
    b = RewardEnsemble(CARTPOLE_OBS, DISCRETE2, size=3, seed=7).member_rewards(*x)
    c = RewardEnsemble(CARTPOLE_OBS, DISCRETE2, size=3, seed=8).member_rewards(*x)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(a[0], a[1])


@pytest.mark.parametrize("ensemble", [False, True])
def test_save_and_load_give_identical_rewards_and_keep_the_card(tmp_path, ensemble):
    if ensemble:
        model = RewardEnsemble(
            CARTPOLE_OBS, DISCRETE2, size=3, aggregation="uwo", uwo_lambda=0.5, seed=1, hidden=(8, 8)
        )
    else:
        model = RewardModel(CARTPOLE_OBS, DISCRETE2, hidden=(8, 8), activation="tanh", seed=1)
    model.card["heldout_pair_accuracy"] = 0.93
    model.card["labeler"] = {"temperature": 1.0, "epsilon": 0.1}
    path = save_reward_model(model, tmp_path / "rm", env_id="rewardgym/CartPole-v0")
    assert path == tmp_path / "rm.safetensors" and (tmp_path / "rm.json").exists()
    loaded = load_reward_model(tmp_path / "rm.safetensors", observation_space=CARTPOLE_OBS, action_space=DISCRETE2)
    x = inputs(256)
    assert type(loaded) is type(model)
    assert torch.equal(loaded(*x), model(*x))
    card = read_model_card(tmp_path / "rm")
    assert card["env_id"] == "rewardgym/CartPole-v0"
    assert card["heldout_pair_accuracy"] == 0.93 and card["labeler"]["epsilon"] == 0.1
    assert card["observation_space"] == space_to_dict(CARTPOLE_OBS)
    assert json.loads((tmp_path / "rm.json").read_text())["observation_space"]["high"][1] == "inf"
    assert not any(p.requires_grad for p in loaded.parameters())  # loaded frozen
    if ensemble:
        assert (loaded.aggregation, loaded.uwo_lambda, len(loaded)) == ("uwo", 0.5, 3)


def test_loading_for_other_spaces_names_both_envs_spaces(tmp_path):
    save_reward_model(
        RewardModel(CARTPOLE_OBS, DISCRETE2, hidden=(4,)), tmp_path / "rm", env_id="rewardgym/CartPole-v0"
    )
    with pytest.raises(ValueError) as error:
        load_reward_model(
            tmp_path / "rm",
            observation_space=spaces.Box(-1, 1, (3,)),
            action_space=spaces.Box(-2, 2, (1,)),
            env_id="rewardgym/Pendulum-v0",
        )
    message = str(error.value)
    assert "made for rewardgym/CartPole-v0" in message
    assert "observation space Box(4,) float32, action space Discrete(2)" in message
    assert "rewardgym/Pendulum-v0 has observation space Box(3,) float32 and action space Box(1,) float32" in message
    # Same shapes but another action count is another env too.
    with pytest.raises(ValueError, match="Discrete\\(3\\)"):
        check_spaces(read_model_card(tmp_path / "rm"), CARTPOLE_OBS, spaces.Discrete(3))


def test_a_custom_network_loads_into_a_model_of_the_same_architecture(tmp_path):
    def build(seed):
        return RewardModel(
            CARTPOLE_OBS,
            DISCRETE2,
            network=torch.nn.Sequential(torch.nn.Linear(10, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1)),
        )

    torch.manual_seed(0)
    model = build(0)
    save_reward_model(model, tmp_path / "custom")
    with pytest.raises(ValueError, match="custom network or features.*into=model"):
        load_reward_model(tmp_path / "custom")
    torch.manual_seed(1)
    loaded = load_reward_model(tmp_path / "custom", into=build(1))
    x = inputs()
    assert torch.equal(loaded(*x), model(*x))
    with pytest.raises(ValueError, match="do not fit the model"):
        load_reward_model(tmp_path / "custom", into=RewardModel(CARTPOLE_OBS, DISCRETE2, hidden=(5,)))


def test_missing_card_is_reported_with_the_expected_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no reward model card at .*nothing.json"):
        load_reward_model(tmp_path / "nothing")


def saved_ensemble(tmp_path):
    model = RewardEnsemble(CARTPOLE_OBS, DISCRETE2, size=2, hidden=(4,), seed=0)
    save_reward_model(model, tmp_path / "rm", env_id="rewardgym/CartPole-v0")
    return tmp_path / "rm.safetensors", tmp_path / "rm.json"


def files(tmp_path):
    return {p.name: p.read_bytes() for p in sorted(tmp_path.iterdir())}


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda w, c: w.write_bytes(b"\x01"), r"reward model weights .*rm.safetensors cannot be read as safetensors \(.*header too small"),
        (lambda w, c: w.write_bytes(w.read_bytes()[:40]), r"reward model weights .*rm.safetensors cannot be read as safetensors"),
        (lambda w, c: w.write_bytes(b"\xff" * 64), r"reward model weights .*rm.safetensors cannot be read as safetensors"),
        (lambda w, c: c.write_text(c.read_text()[:50]), r"reward model card .*rm.json is not valid JSON"),
        (lambda w, c: c.write_bytes(b"\xff\xfe"), r"reward model card .*rm.json is not valid JSON"),
        (lambda w, c: c.write_text("[1, 2]"), r"reward model card .*rm.json holds \[1, 2\], not a JSON object"),
        (lambda w, c: edit(c, ensemble=None), r"rm.json: field 'ensemble' should be a mapping of size, aggregation"),
        (lambda w, c: edit(c, ensemble={"size": 0, "aggregation": "mean", "uwo_lambda": 1.0}), r"field 'ensemble.size' should be an integer >= 1, got 0"),
        (lambda w, c: edit(c, ensemble={"size": 2, "aggregation": "max", "uwo_lambda": 1.0}), r"field 'ensemble.aggregation' should be one of mean, wco, uwo"),
        (lambda w, c: edit(c, observation_space="Box"), r"field 'observation_space' should be a space description"),
        (lambda w, c: edit(c, action_space={"type": "Discrete"}), r"field 'action_space' should be a Discrete space"),
        (lambda w, c: edit(c, observation_space={**space_to_dict(CARTPOLE_OBS), "low": [0, "x", 0, 0]}), r"field 'observation_space.low' should be a list of 4 numbers"),
        (lambda w, c: edit(c, architecture="mlp"), r"field 'architecture' should be a mapping"),
        (lambda w, c: edit(c, architecture={"network": "mlp", "features": "transition", "hidden": [4], "activation": "relu", "inputs": "obs"}), r"field 'architecture.inputs' should be a list"),
    ],
)  # fmt: skip
def test_a_damaged_weights_file_or_card_is_refused_by_path_and_field_and_left_as_it_was(tmp_path, damage, message):
    weights, card = saved_ensemble(tmp_path)
    damage(weights, card)
    before = files(tmp_path)
    with pytest.raises(ValueError, match=message) as error:
        load_reward_model(weights, observation_space=CARTPOLE_OBS, action_space=DISCRETE2)
    assert "save_reward_model" in str(error.value)  # what to do
    assert files(tmp_path) == before


def edit(card_path, **fields):
    card = json.loads(card_path.read_text())
    card.update(fields)
    card_path.write_text(json.dumps(card))
