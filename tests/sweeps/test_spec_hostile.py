"""Hostile sweep specs (issue 19): everything that would fail in every trial is refused at load,
by field; YAML that repeats a key or expands aliases without bound is refused before it is built;
seeds and counts outside what numpy, torch and the store hold are refused with the valid range."""

import re
import time

import gymnasium as gym
import pytest
import yaml
from gymnasium import spaces
from rewardgym.rewardmodels.model import RewardModel, save_reward_model
from rewardgym.sweeps.spec import MAX_YAML_VALUES, SweepSpec, SweepSpecError, load_spec

BASE = {
    "name": "hostile",
    "envs": ["rewardgym/CartPole-v0"],
    "rewards": ["none"],
    "agents": {"ppo": {"algo": "ppo", "hyperparams": {"num_envs": 8}}},
    "seeds": [0],
    "steps": 1000,
}
CARTPOLE = "overrides.rewardgym/CartPole-v0"


def spec_with(**changes):
    return {**BASE, **changes}


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"agents": {"ppo": {"algo": "ppo", "hyperparams": {"learning_rat": 0.1}}}},
         r"field 'agents.ppo.hyperparams': unknown PPO setting\(s\) \['learning_rat'\]; valid settings: .*learning_rate"),
        ({"agents": {"ppo": {"algo": "ppo", "hyperparams": {"num_envs": "many"}}}},
         r"field 'agents.ppo.hyperparams': .*num_envs.*'many'"),
        ({"agents": {"ppo": {"algo": "ppo", "hyperparams": {"gamma": 2.0}}}}, r"field 'agents.ppo.hyperparams': .*gamma"),
        ({"overrides": {"rewardgym/CartPole-v0": {"hyperparams": {"ppo": {"ent_cof": 0.01}}}}},
         rf"field '{CARTPOLE}.hyperparams.ppo': unknown PPO setting\(s\) \['ent_cof'\]"),
        ({"agents": {"rand": {"algo": "random", "hyperparams": {"lr": 1}}}},
         r"field 'agents.rand.hyperparams': the scripted policy 'random' takes no hyperparameters"),
        ({"agents": {"sb": {"algo": "sb3-ppo", "hyperparams": {"n_step": 64}}}},
         r"field 'agents.sb.hyperparams': unknown sb3-ppo hyperparameter\(s\) \['n_step'\]"),
        ({"agents": {"sb": {"algo": "sb3-ppo", "hyperparams": {"n_envs": "many"}}}},
         r"field 'agents.sb.hyperparams': .*n_envs"),
        ({"overrides": {"rewardgym/CartPole-v0": {"env_kwargs": {"gravty": 9.0}}}},
         rf"field '{CARTPOLE}.env_kwargs': rewardgym/CartPole-v0 cannot be made with env_kwargs .*gravty.*did you mean|"
         rf"field '{CARTPOLE}.env_kwargs': .*'gravty'.*valid parameters: gravity"),
        ({"rewards": ["none", "learned(path='/no/such/model')"]},
         r"field 'rewards\[1\]': \"learned\(path='/no/such/model'\)\" cannot be put on rewardgym/CartPole-v0: .*/no/such/model"),
        ({"seeds": [18446744073709551616]}, r"field 'seeds\[0\]': expected a seed in \[0, 4294967295\]"),
        ({"seeds": [0, 2**32]}, r"field 'seeds\[1\]': expected a seed in \[0, 4294967295\]"),
        ({"steps": 2**63}, r"field 'steps': expected an int <= 9223372036854775807"),
        ({"eval_episodes": 2**64}, r"field 'eval_episodes': expected an int <= 9223372036854775807"),
    ],
)  # fmt: skip
def test_what_would_fail_every_trial_is_refused_at_load_by_field(changes, message):
    with pytest.raises(SweepSpecError, match=message):
        SweepSpec.from_dict(spec_with(**changes))


def test_the_largest_seed_and_a_saved_model_for_the_env_load(tmp_path):
    env = gym.make("rewardgym/CartPole-v0")
    model = save_reward_model(RewardModel(env.observation_space, env.action_space, hidden=(4,)), tmp_path / "rm")
    spec = SweepSpec.from_dict(spec_with(seeds=[0, 2**32 - 1], rewards=["none", f"learned(path={str(model)!r})"]))
    assert spec.seeds == (0, 2**32 - 1)


def test_a_saved_model_for_other_spaces_is_refused_by_reward_field(tmp_path):
    model = save_reward_model(RewardModel(spaces.Box(-1, 1, (3,)), spaces.Discrete(2), hidden=(4,)), tmp_path / "rm")
    with pytest.raises(SweepSpecError, match=r"field 'rewards\[0\]': .*was made for .*Box\(3,\)"):
        SweepSpec.from_dict(spec_with(rewards=[f"learned(path={str(model)!r})"]))


def bomb(levels: int = 9) -> str:
    """The "billion laughs" as one flow list: each item lists the one before it nine times."""
    items = ["&a0 [0, 0, 0, 0, 0, 0, 0, 0, 0]"]
    items += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "[" + ", ".join(items) + "]"


@pytest.mark.parametrize(
    "field, where",
    [
        ("seeds[5]", "seeds: {bomb}"),
        (
            "agents.ppo.hyperparams.hidden_sizes[5]",
            "agents: {{ppo: {{algo: ppo, hyperparams: {{hidden_sizes: {bomb}}}}}}}",
        ),
        (
            "overrides.rewardgym/CartPole-v0.env_kwargs.x[5]",
            "overrides: {{rewardgym/CartPole-v0: {{env_kwargs: {{x: {bomb}}}}}}}",
        ),
    ],
)
def test_a_yaml_alias_bomb_is_refused_by_field_before_it_expands(field, where):
    lines = ["name: bomb", "envs: [rewardgym/CartPole-v0]", "rewards: [none]", "steps: 100", where.format(bomb=bomb())]
    if not field.startswith("seeds"):
        lines.append("seeds: [0]")
    if not field.startswith("agents"):
        lines.append("agents: {ppo: {algo: ppo}}")
    text = "\n".join(lines)
    assert len(text.encode()) < 700  # 9**9 (387 million) values once expanded
    start = time.perf_counter()
    # 9**6 > 100,000: the sixth item, a5, is the first value over the bound.
    message = rf"field '{re.escape(field)}' \(line \d+\) holds more than {MAX_YAML_VALUES:,} values once its aliases"
    with pytest.raises(SweepSpecError, match=message):
        SweepSpec.from_yaml(text)
    assert time.perf_counter() - start < 5


def test_aliases_within_the_bound_still_work_and_a_recursive_alias_is_refused():
    small = "anchors: &s [0, 1]\n" + yaml.safe_dump({k: v for k, v in BASE.items() if k != "seeds"}) + "seeds: *s\n"
    with pytest.raises(SweepSpecError, match="unknown field 'anchors'"):  # parsed fine; the field is refused
        SweepSpec.from_yaml(small)
    with pytest.raises(
        SweepSpecError, match=r"field 'seeds\[1\]' \(line 1\) an alias refers to a value that contains it"
    ):
        SweepSpec.from_yaml("seeds: &r [0, *r]")


@pytest.mark.parametrize(
    "text, key",
    [
        ("seeds: [0]\nseeds: [1]\n", "seeds"),
        ("agents:\n  ppo: {algo: ppo}\n  ppo: {algo: random}\n", "ppo"),
        ("agents: {ppo: {algo: ppo, algo: random}}\n", "algo"),
    ],
)
def test_a_repeated_yaml_key_is_refused_with_both_lines(text, key):
    with pytest.raises(SweepSpecError, match=rf"key '{key}' appears twice in one mapping \(line \d+ and line \d+\)"):
        SweepSpec.from_yaml(text)


def test_merge_keys_may_still_override_a_merged_key():
    base = {k: v for k, v in BASE.items() if k != "agents"}
    text = yaml.safe_dump(base) + "x: &d {algo: ppo, device: cpu}\nagents: {ppo: {<<: *d, device: cpu}}\n"
    with pytest.raises(SweepSpecError, match="unknown field 'x'"):  # merge accepted; the extra field is not
        SweepSpec.from_yaml(text)


def test_a_spec_file_that_is_not_utf8_text_is_refused_by_path(tmp_path):
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage\x80")
    with pytest.raises(SweepSpecError, match=rf"sweep spec {path} cannot be read as a UTF-8 text file"):
        load_spec(path)
