"""The text regimes on rewardgym/Code-v0: format, length, flips, perturbations that keep what the
program does, and the text reward model trained on (problem, completion) pairs labelled by gold."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from rewardgym.envs.code.code_env import register_code_env
from rewardgym.envs.code.rewards import CodeReward, grade_completions, well_formed_code
from rewardgym.envs.code.scripted import CODE_AGENTS, oracle
from rewardgym.envs.code.tasks import CodeTaskDataset, extract_code
from rewardgym.rewardmodels.text import (
    CODE_POOL_KINDS,
    TextLabeler,
    TextRewardModel,
    load_text_reward_model,
    make_code_pairs,
    sample_code_completions,
    save_text_reward_model,
    train_code_reward_model,
)
from rewardgym.wrappers.adversarial.text import CODE_PERTURBATIONS, code_perturbation_sensitivity, perturb_code
from rewardgym.wrappers.learned.text import TextModelReward

CODE = register_code_env()
AGENTS = sorted(CODE_AGENTS)


def _step(spec, agents=AGENTS, seed=0, task="rotate", **kwargs):
    envs = gym.make_vec(CODE, num_envs=len(agents), task=task, reward=spec, **kwargs)
    problems, _ = envs.reset(seed=seed)
    completions = [CODE_AGENTS[a](p) if a in CODE_AGENTS else a for a, p in zip(agents, problems)]
    _, reward, _, _, info = envs.step(completions)
    return problems, completions, reward, info


# -- shaped -----------------------------------------------------------------------------------


def test_format_pays_one_fenced_python_block_that_compiles():
    good = "```python\ndef rotate(xs, k):\n    return xs\n```"
    cases = {
        good: True,
        "Here it is.\n" + good + "\nDone.": True,  # prose around the block
        "```py\nx = 1\n```": True,
        "def rotate(xs, k):\n    return xs": False,  # no fence: run whole, but not the asked format
        "```\nx = 1\n```": False,  # untagged
        good + "\n```python\nx = 2\n```": False,  # two blocks
        "```python\ndef rotate(xs, k):\n    return (\n```": False,  # does not compile
        "```python\nx = 1\n": False,  # never closed
    }
    assert well_formed_code(list(cases)).tolist() == list(cases.values())
    assert well_formed_code([good, None, 3]).tolist() == [True, False, False]
    assert not well_formed_code([good], max_chars=10)[0]
    # On the env: the bonus comes on top of the grader's score, and gold is untouched.
    problems, _, reward, info = _step("shaped(kind='format', weight=0.25)", AGENTS + [good, "x = ("])
    plain = _step("none", AGENTS + [good, "x = ("])[2]
    assert (reward - plain).tolist() == [0.25] * (len(AGENTS) + 1) + [0.0]
    assert info["reward_trace"]["env"].tolist() == plain.tolist()
    # A single env, and the adapters' scorer, pay the same.
    env = gym.make(CODE, task="rotate", reward="shaped(kind='format')")
    problem, _ = env.reset(seed=0)
    assert env.step(oracle(problem))[1] == 1.5
    item = CodeTaskDataset("rotate", size=1)[0]
    assert CodeReward("shaped(kind='format')")([item] * 2, [oracle(item["prompt"]), "x"]).proxy.tolist() == [1.5, 0.0]


def test_length_penalty_charges_code_completions_by_the_character():
    _, completions, reward, info = _step("shaped(kind='length', coef=0.01, free=40)")
    plain = info["reward_trace"]["env"]
    expected = plain - 0.01 * np.maximum(np.array([len(c) for c in completions]) - 40, 0)
    np.testing.assert_allclose(reward, expected, rtol=1e-6)
    assert (reward < plain).all()


# -- noisy --------------------------------------------------------------------------------------


def test_flips_flip_the_binary_grader_score_at_their_rates_and_never_gold():
    # A batch of oracles (proxy 1) and early exits under the hardened grader (proxy 0).
    agents = ["oracle", "exit_zero"] * 40
    spec = "noisy(kind='flip', e_plus=0.25, e_minus=0.25)"
    _, _, reward, info = _step(spec, agents, task="digit_sum", grader="hardened")
    clean = info["reward_trace"]["env"]
    assert set(clean.tolist()) == {0.0, 1.0} and set(reward.tolist()) <= {0.0, 1.0}
    flipped = reward != clean
    assert 0.1 < flipped[clean == 1.0].mean() < 0.45 and 0.1 < flipped[clean == 0.0].mean() < 0.45
    assert info["gold_reward"].tolist() == [1.0, 0.0] * 40
    # The same seed flips the same envs: the draws are the env's, per env.
    assert _step(spec, agents, task="digit_sum", grader="hardened")[2].tolist() == reward.tolist()


def test_a_partial_visible_score_needs_confusion_levels_not_flips():
    """Flips need a binary reward; a solution passing some visible tests gets a share k/3, refused
    by name, and ``confusion`` over the four levels takes it."""
    item = CodeTaskDataset("digit_sum", seed=0, size=1)[0]
    partial = "```python\ndef digit_sum(n):\n    return n % 10 + n // 10 if n < 50 else 0\n```"  # a bug above 49
    score = grade_completions([item], [partial], "hardened")[0][0]
    assert 0.0 < score < 1.0
    with pytest.raises(ValueError, match="flip noise needs a binary reward"):
        CodeReward("noisy(kind='flip')", grader="hardened")([item], [partial])
    third, two_thirds = repr(1 / 3), repr(2 / 3)
    identity = "[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]"
    levels = f"noisy(kind='confusion', levels=[0, {third}, {two_thirds}, 1], matrix={identity})"
    assert CodeReward(levels, grader="hardened")([item], [partial]).proxy.tolist() == pytest.approx([score])


# -- adversarial ----------------------------------------------------------------------------------


def _pool(n=12, seed=0):
    tasks = ["rotate", "caesar", "two_sum", "balanced", "running_sum", "gcd_list"]
    items = [CodeTaskDataset(tasks[i % len(tasks)], difficulty=2, seed=seed, size=n)[i] for i in range(n)]
    kinds = [CODE_POOL_KINDS[i % len(CODE_POOL_KINDS)] for i in range(n)]
    return items, sample_code_completions(items, kinds, seed=seed)


@pytest.mark.parametrize("kind", CODE_PERTURBATIONS)
def test_code_perturbations_keep_the_program_and_its_gold(kind):
    items, completions = _pool(18)
    completions = completions + ["x = 1", None]  # unfenced (run whole) and not a str: left alone
    out, applied, pick = perturb_code(completions, np.random.default_rng(0), [kind])
    assert applied[:18].all() and not applied[18:].any() and (pick == 0).all()
    assert out[18] == "x = 1" and out[19] is None
    for before, after in zip(completions[:18], out[:18]):
        assert after != before
        code, new = extract_code(before), extract_code(after)
        if kind in ("comment", "blank_lines"):
            assert [line for line in new.splitlines() if line.strip() and not line.startswith("#")] == [
                line for line in code.splitlines() if line.strip()
            ]
        else:
            assert new == code
    _, gold_before, details = grade_completions(items, completions[:18], "gold")
    _, gold_after, _ = grade_completions(items, list(out[:18]), "gold")
    assert gold_after.tolist() == gold_before.tolist()
    assert {0.0, 1.0} <= set(gold_before.tolist())  # right and wrong programs alike
    assert not [r for r in details["reason"] if r]  # every completion ran


def test_perturbation_regime_on_code_pays_the_inner_reward_of_the_perturbed_completion():
    spec = "adversarial(kind='text', reward=\"shaped(kind='length', coef=0.01, free=0)\", perturbations=['suffix'])"
    problems, completions, reward, info = _step(spec)
    plain = info["reward_trace"]["env"]
    length_only = plain - 0.01 * np.array([len(c) for c in completions])
    assert (reward < length_only).all()  # paid on the longer, perturbed text
    assert info["regime_info"]["adversarial"]["applied"].all()
    assert info["gold_reward"].tolist() == _step("none")[3]["gold_reward"].tolist()
    # A format bonus is robust to every code perturbation: the program and its block are kept.
    robust = _step("adversarial(kind='text', reward=\"shaped(kind='format')\")")[2]
    assert robust.tolist() == _step("shaped(kind='format')")[2].tolist()
    # The env's perturbation names are checked at bind, by name.
    with pytest.raises(ValueError, match="unknown code perturbation 'case'; valid perturbations: distractor"):
        gym.make(CODE, reward="adversarial(kind='text', reward='scale(factor=1)', perturbations=['case'])")
    with pytest.raises(ValueError, match="unknown text perturbation 'comment'"):
        gym.make(
            "rewardgym/TextCompletionAdd-v0",
            reward="adversarial(kind='text', reward='none', perturbations=['comment'])",
        )


def test_code_perturbation_sensitivity_separates_robust_and_surface_rewards():
    robust = code_perturbation_sensitivity("shaped(kind='format')+scale(factor=2)", num=24)
    surface = code_perturbation_sensitivity("shaped(kind='length', coef=0.01, free=0)", num=24)
    assert robust["perturbed"] == surface["perturbed"] == 24
    assert robust["share_changed"] == 0.0 and robust["gold_changed"] == surface["gold_changed"] == 0.0
    assert surface["share_changed"] == 1.0 and set(surface["by_perturbation"]) == set(CODE_PERTURBATIONS)
    with pytest.raises(ValueError, match="unknown code perturbation 'case'"):
        code_perturbation_sensitivity("none", perturbations=["case"])


# -- learned ----------------------------------------------------------------------------------------


def test_code_pairs_are_labelled_by_gold_with_the_labelers_biases():
    pairs = make_code_pairs(30, TextLabeler(length_bias=0.0, temperature=0.01, seed=0), task="mixed", seed=0)
    assert len(pairs) == 30 and pairs.first_gold is not None and pairs.second_gold is not None
    differ = np.abs(pairs.first_gold - pairs.second_gold) > 0.5
    assert differ.sum() >= 10
    assert (pairs.label[differ] == (pairs.first_gold[differ] > pairs.second_gold[differ])).all()
    gold_of = dict(zip(pairs.first_kind + pairs.second_kind, np.concatenate([pairs.first_gold, pairs.second_gold])))
    for exploit in ("exit_zero", "eq_override", "tamperer", "forger", "stub"):
        assert gold_of.get(exploit, 0.0) == 0.0
    assert gold_of.get("oracle", 1.0) == 1.0
    segments = pairs.preference_pairs(64)
    assert segments.first.gold[:, 0].tolist() == pytest.approx(pairs.first_gold.tolist())


def test_text_model_kind_serves_a_code_reward_model_on_the_env(tmp_path):
    model = train_code_reward_model(
        "mixed", num_pairs=40, d_model=8, layers=1, heads=1, max_tokens=64, epochs=1, batch_size=16, seed=0
    )
    assert model.card["env_id"] == CODE and model.card["labeler"]["reads"] == "gold"
    path = save_text_reward_model(model, tmp_path / "code_rm")
    loaded = load_text_reward_model(path)
    spec = f"learned(kind='text_model', path={str(path)!r})"
    problems, completions, reward, info = _step(spec)
    np.testing.assert_allclose(reward, loaded.reward(list(problems), completions), rtol=1e-5, atol=1e-6)
    assert info["gold_reward"].tolist() == _step("none")[3]["gold_reward"].tolist()
    env = gym.make(CODE, task="rotate", reward=spec)
    problem, _ = env.reset(seed=0)
    answer = oracle(problem)
    assert env.step(answer)[1] == pytest.approx(float(loaded.reward([problem], [answer])[0]), abs=1e-6)
    # The adapters' scorer serves it too, and a perturbation attack on it keeps gold.
    item = CodeTaskDataset("rotate", size=1)[0]
    untrained = TextRewardModel(d_model=8, layers=1, heads=1, max_tokens=64)
    out = CodeReward(TextModelReward(model=untrained))([item], [oracle(item["prompt"])])
    assert out.proxy[0] == pytest.approx(float(untrained.reward([item["prompt"]], [oracle(item["prompt"])])[0]))
    attacked = f"adversarial(kind='text', reward=\"{spec}\")"
    _, _, _, info = _step(attacked)
    assert info["gold_reward"].tolist() == _step("none")[3]["gold_reward"].tolist()
