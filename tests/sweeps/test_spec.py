"""Sweep specs: presets, expansion to trials, stable trial ids, and errors that name the field."""

import pytest
import rewardgym
import yaml
from rewardgym.sweeps.spec import PRESETS, SweepSpec, SweepSpecError, Trial, load_spec

FAMILIES = ("shaped", "noisy", "adversarial", "intrinsic", "learned")

BASE = {
    "name": "tiny",
    "envs": ["rewardgym/CartPole-v0", "rewardgym/MountainCar-v0"],
    "rewards": ["none", "noisy(sigma=0.5)"],
    "agents": {"ppo": {"algo": "ppo", "hyperparams": {"num_envs": 8}}, "rand": {"algo": "random"}},
    "seeds": [0, 1, 2],
    "steps": 1000,
    "eval_every": 500,
    "eval_episodes": 4,
}


def spec_with(**changes):
    data = {**BASE, **changes}
    return {k: v for k, v in data.items() if v is not ...}


def test_presets_load_and_quick_covers_a_control_env_a_hackable_gridworld_and_every_family():
    assert set(PRESETS) >= {"quick", "standard"}
    for preset in PRESETS:
        assert load_spec(preset).name == preset
    quick = load_spec("quick")
    assert set(quick.envs) == {"rewardgym/CartPole-v0", "rewardgym/RewardTampering-v0"}
    assert "none" in quick.rewards
    # The overoptimization demonstration: a learned reward whose labeler has a blind spot.
    assert any("bias_weight" in r for r in quick.rewards if r.startswith("learned"))
    registered = [f for f in FAMILIES if f in rewardgym.registered_regimes()]
    assert {"shaped", "noisy", "adversarial"} <= set(registered)
    for family in registered:
        assert any(r.split("(")[0].split("+")[0] == family for r in quick.rewards), family
    assert len(quick.seeds) == 3
    assert [a.algo for a in quick.agents] == ["ppo"]


def test_trials_expand_env_reward_agent_seed_in_order_with_unique_ids():
    trials = SweepSpec.from_dict(BASE).trials()
    assert len(trials) == 2 * 2 * 2 * 3
    assert [(t.env, t.reward, t.agent, t.seed) for t in trials[:4]] == [
        ("rewardgym/CartPole-v0", "none", "ppo", 0),
        ("rewardgym/CartPole-v0", "none", "ppo", 1),
        ("rewardgym/CartPole-v0", "none", "ppo", 2),
        ("rewardgym/CartPole-v0", "none", "rand", 0),
    ]
    assert len({t.trial_id for t in trials}) == len(trials)
    assert trials[0].train_kwargs() == {
        "env_id": "rewardgym/CartPole-v0", "reward": "none", "algo": "ppo", "seed": 0, "total_steps": 1000,
        "hyperparams": {"num_envs": 8}, "eval_every": 500, "eval_episodes": 4, "device": "cpu", "env_kwargs": {},
    }  # fmt: skip


def test_trial_ids_are_stable_across_versions_and_change_with_any_setting():
    # Resuming a sweep relies on this exact hash: changing it orphans every stored run.
    trial = Trial("rewardgym/CartPole-v0", "none", "ppo", "ppo", 0, 1000, {"num_envs": 8}, "cpu", 500, 4)
    assert trial.trial_id == "490e306834e80393"
    assert Trial(**{**trial.to_dict(), "hyperparams": {"num_envs": 8}}).trial_id == trial.trial_id
    for change in ({"seed": 1}, {"hyperparams": {"num_envs": 16}}, {"eval_episodes": 5}, {"reward": "shaped"}):
        assert Trial(**{**trial.to_dict(), **change}).trial_id != trial.trial_id


def test_overrides_change_steps_eval_and_merge_hyperparams_for_one_env():
    spec = SweepSpec.from_dict(
        spec_with(overrides={"rewardgym/MountainCar-v0": {"steps": 4000, "eval_every": 1000,
                                                          "hyperparams": {"ppo": {"ent_coef": 0.01}}}})
    )  # fmt: skip
    by_env = {(t.env, t.agent): t for t in spec.trials()}
    car = by_env["rewardgym/MountainCar-v0", "ppo"]
    assert (car.total_steps, car.eval_every, car.hyperparams) == (4000, 1000, {"num_envs": 8, "ent_coef": 0.01})
    pole = by_env["rewardgym/CartPole-v0", "ppo"]
    assert (pole.total_steps, pole.eval_every, pole.hyperparams) == (1000, 500, {"num_envs": 8})
    assert by_env["rewardgym/MountainCar-v0", "rand"].hyperparams == {}


def test_env_kwargs_reach_one_envs_trials_and_their_ids_only():
    before = {t.trial_id for t in SweepSpec.from_dict(spec_with()).trials()}
    spec = SweepSpec.from_dict(
        spec_with(overrides={"rewardgym/MountainCar-v0": {"env_kwargs": {"max_episode_steps": 300}}})
    )
    car, pole = [[t for t in spec.trials() if t.env == env] for env in BASE["envs"][::-1]]
    assert all(t.env_kwargs == {"max_episode_steps": 300} == t.train_kwargs()["env_kwargs"] for t in car)
    assert all(t.env_kwargs == {} for t in pole)
    assert {t.trial_id for t in pole} <= before  # unchanged where no env kwargs are set
    assert not {t.trial_id for t in car} & before  # the env kwargs are part of what a trial is
    assert SweepSpec.from_yaml(spec.to_yaml()) == spec


def test_round_trips_through_yaml_and_integral_floats_are_ints():
    spec = SweepSpec.from_dict(spec_with(steps=1.0e3))
    assert spec.steps == 1000 and isinstance(spec.steps, int)
    assert SweepSpec.from_yaml(spec.to_yaml()) == spec
    assert SweepSpec.from_dict(spec.to_dict()) == spec


def test_a_spec_file_is_loaded_by_path_and_named_after_it(tmp_path):
    path = tmp_path / "my-sweep.yaml"
    path.write_text(yaml.safe_dump(spec_with(name=...)))
    assert load_spec(path).name == "my-sweep"
    with pytest.raises(SweepSpecError, match=r"no sweep preset or spec file 'quik'; presets: quick"):
        load_spec("quik")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"seeds": "abc"}, r"field 'seeds': expected a list of ints, got 'abc'"),
        ({"seeds": []}, r"field 'seeds': expected a list of ints, got list \[\]"),
        ({"seeds": [0, True]}, r"field 'seeds': expected a list of ints"),
        ({"seeds": [0, -1]}, r"field 'seeds\[1\]': expected a seed in \[0, 4294967295\] \(2\*\*32 - 1\), got -1"),
        ({"seeds": [0, 0]}, r"field 'seeds\[1\]': 0 is listed twice"),
        ({"steps": 0}, r"field 'steps': expected an int >= 1, got 0"),
        ({"steps": "1e5"}, r"field 'steps': expected an int >= 1, got '1e5'"),
        ({"steps": ...}, r"field 'steps': is required"),
        ({"eval_every": 5000}, r"field 'eval_every': 5000 exceeds steps \(1000\)"),
        ({"eval_episodes": 0}, r"field 'eval_episodes': expected an int >= 1"),
        ({"envs": ["rewardgym/CartPole-v9"]}, r"field 'envs\[0\]': unknown env .*did you mean 'rewardgym/CartPole-v0'"),
        ({"envs": "rewardgym/CartPole-v0"}, r"field 'envs': expected a list of strings"),
        ({"rewards": ["none", "noisey"]}, r"field 'rewards\[1\]': unknown reward regime 'noisey'.*did you mean 'noisy'"),
        ({"rewards": ["noisy(sigma=-1)"]}, r"field 'rewards\[0\]': .*sigma must be"),
        ({"rewards": ["noisy("]}, r"field 'rewards\[0\]': cannot parse"),
        ({"rewards": [None]}, r"field 'rewards': expected a list of strings"),
        ({"agents": []}, r"field 'agents': expected a mapping of agent name"),
        ({"agents": {"ppo": {"hyperparams": {}}}}, r"field 'agents.ppo.algo': expected an algorithm name, got None"),
        ({"agents": {"ppo": {"algo": "ppo2"}}}, r"field 'agents.ppo.algo': .*did you mean 'ppo'.*valid algos: ppo"),
        ({"agents": {"ppo": {"algo": "ppo", "lr": 1}}}, r"field 'agents.ppo.lr': unknown agent field; valid: algo"),
        ({"agents": {"ppo": {"algo": "ppo", "hyperparams": [1]}}}, r"field 'agents.ppo.hyperparams': expected a mapping"),
        ({"agents": {"ppo": {"algo": "ppo", "device": "gpu"}}}, r"field 'agents.ppo.device': expected 'cpu', 'cuda'"),
        ({"agents": {"a b": {"algo": "ppo"}}}, r"field 'agents.a b': expected an agent name"),
        ({"name": "../up"}, r"field 'name': expected a name of letters"),
        ({"overrides": {"rewardgym/Pendulum-v0": {"steps": 10}}}, r"field 'overrides.rewardgym/Pendulum-v0': env .* is not in envs"),
        ({"overrides": {"rewardgym/CartPole-v0": {"seeds": [1]}}}, r"field 'overrides.rewardgym/CartPole-v0.seeds': unknown override field"),
        ({"overrides": {"rewardgym/CartPole-v0": {"steps": 100}}}, r"field 'overrides.rewardgym/CartPole-v0.steps': 100 is below eval_every \(500\)"),
        ({"overrides": {"rewardgym/CartPole-v0": {"hyperparams": {"dqn": {}}}}}, r"field 'overrides.rewardgym/CartPole-v0.hyperparams.dqn': no agent 'dqn'"),
        ({"overrides": {"rewardgym/CartPole-v0": {"env_kwargs": {"num_envs": 4}}}}, r"field 'overrides.rewardgym/CartPole-v0.env_kwargs': num_envs is the sweep's to set"),
        ({"overrides": {"rewardgym/CartPole-v0": {"env_kwargs": [1]}}}, r"field 'overrides.rewardgym/CartPole-v0.env_kwargs': expected a mapping"),
    ],
)  # fmt: skip
def test_a_bad_field_is_refused_by_name(changes, message):
    with pytest.raises(SweepSpecError, match=message):
        SweepSpec.from_dict(spec_with(**changes))


def test_unknown_fields_corrupt_yaml_and_non_mappings_are_refused():
    with pytest.raises(SweepSpecError, match=r"unknown field 'seed' \(did you mean 'seeds'\?\); valid fields: name"):
        SweepSpec.from_dict(spec_with(seed=[0]))
    with pytest.raises(SweepSpecError, match=r"sweep spec <string> is not valid YAML"):
        SweepSpec.from_yaml("envs: [a, b\nseeds: {")
    with pytest.raises(SweepSpecError, match=r"a sweep spec must be a mapping of fields, got 'just text'"):
        SweepSpec.from_yaml("just text")
