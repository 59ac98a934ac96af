"""Text regimes on completion envs: format, length, PAR, flips, perturbations, n-gram novelty,
and the text reward model as a learned kind."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from rewardgym.agents.text_scripted import completion_agent
from rewardgym.core.regime import EnvContext
from rewardgym.core.transition import Transition
from rewardgym.envs.text import register_text_envs, vocab
from rewardgym.envs.text.answers import as_object_array, extract_answer
from rewardgym.envs.text.rewards import CompletionReward
from rewardgym.envs.text.tasks import TaskDataset
from rewardgym.rewardmodels.text import (
    POOL_KINDS,
    TextRewardModel,
    sample_completions,
    save_text_reward_model,
)
from rewardgym.wrappers.adversarial.text import (
    PERTURBATIONS,
    perturb,
    perturbation_sensitivity,
)
from rewardgym.wrappers.intrinsic import intrinsic
from rewardgym.wrappers.intrinsic.text import NgramNovelty
from rewardgym.wrappers.shaped.text import TokenFormatReward

register_text_envs()


def _items(n, seed=0, task="add"):
    items = TaskDataset(task, seed=seed, size=n).items(range(n))
    return [it["question"] for it in items], [it["answer"] for it in items]


# -- shaped -----------------------------------------------------------------------------------


def test_format_reward_pays_well_formed_tags_only():
    scorer = CompletionReward("add", "shaped(kind='format', weight=0.25)")
    completions = [
        "<answer>3</answer>",
        "<answer>4</answer>",
        "3",
        "<answer>3",
        "<answer></answer>",
        "<answer>3</answer><answer>3</answer>",
    ]
    out = scorer(["q"] * len(completions), completions, ["3"] * len(completions))
    assert out.proxy.tolist() == [1.25, 0.25, 1.0, 0.0, 0.0, 1.0]
    assert out.gold.tolist() == [1.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    assert list(out.trace) == ["env", "shaped"]


def test_length_penalty_charges_characters_beyond_free():
    scorer = CompletionReward("add", "shaped(kind='length', coef=0.1, free=18)")
    out = scorer(["q"] * 2, ["<answer>3</answer>", "<answer>3</answer>   "], ["3", "3"])
    np.testing.assert_allclose(out.proxy, [1.0, 1.0 - 0.1 * 3], rtol=1e-6)
    with pytest.raises(ValueError, match="coef"):
        CompletionReward("add", "shaped(kind='length', coef=-1)")


def test_par_transforms_the_verifier_score():
    out = CompletionReward("add", "shaped(kind='par', r_ref=0.5)")(["q"] * 2, ["<answer>3</answer>", "no"], ["3", "3"])
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    np.testing.assert_allclose(out.proxy, [sigmoid(0.5), sigmoid(-0.5)], rtol=1e-6)


def test_text_kinds_refuse_unknown_parameters_and_work_in_env_specs():
    with pytest.raises(ValueError, match="has no parameter 'sigma'.*weight"):
        CompletionReward("add", "shaped(kind='format', sigma=1)")
    envs = gym.make_vec(
        "rewardgym/TextCompletionAdd-v0",
        num_envs=2,
        reward="shaped(kind='format')+shaped(kind='length', coef=0.5, free=0)",
    )
    envs.reset(seed=0)
    _, proxy, terminated, _, info = envs.step(["<answer>1</answer>", "1"])
    assert terminated.all() and list(info["reward_trace"]) == ["env", "shaped", "shaped#2"]
    np.testing.assert_allclose(info["reward_trace"]["shaped"], info["gold_reward"] + [0.5, 0.0])
    np.testing.assert_allclose(proxy, info["reward_trace"]["shaped"] - 0.5 * np.array([18, 1]))


# -- shaped on token envs -----------------------------------------------------------------------


def _write(envs, texts, budget):
    """Step a token vector env through one episode per env, env i writing ``texts[i]`` (EOS
    after it unless it fills ``budget``); return the proxy and gold of each episode's last step."""
    proxy, gold = np.full(len(texts), np.nan), np.full(len(texts), np.nan)
    tokens = [vocab.encode(t, eos=len(t) < budget).tolist() for t in texts]
    for k in range(max(map(len, tokens))):
        actions = np.array([t[min(k, len(t) - 1)] for t in tokens])
        _, reward, terminated, _, info = envs.step(actions)
        ends = terminated & np.isnan(proxy)
        proxy[ends], gold[ends] = reward[ends], info["gold_reward"][ends]
    return proxy, gold


TOKEN_TEXTS = ["12", "99", "4", "", "1a", "123", "5=", "=5"]
"""Right for 7+5=; wrong but well formed x2; EOS at once; a letter; a full budget of digits; an
'=' the agent wrote (not an answer character, after a digit or first)."""
TOKEN_FORMAT = [0.25, 0.25, 0.25, 0.0, 0.0, 0.25, 0.0, 0.0]


def test_token_format_pays_answer_characters_then_eos_or_a_full_budget():
    n = len(TOKEN_TEXTS)
    envs = gym.make_vec(
        "rewardgym/TextAdd-v0",
        num_envs=n,
        reward="shaped(kind='token_format', weight=0.25)",
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    obs, _ = envs.reset(seed=[3] * n)  # every env gets 7+5= (the token env's docstring example)
    assert {vocab.decode(o) for o in obs} == {"7+5="}
    proxy, gold = _write(envs, TOKEN_TEXTS, budget=3)
    assert gold.tolist() == [1.0] + [0.0] * (n - 1)
    np.testing.assert_allclose(proxy - gold, TOKEN_FORMAT, rtol=1e-6)


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_token_format_gives_the_same_bonus_on_numpy_and_torch_windows(kind):
    torch = pytest.importorskip("torch")
    prompt = vocab.encode("7+5=", bos=True)
    windows = np.stack(
        [np.concatenate([prompt, vocab.encode(t, eos=len(t) < 3), np.zeros(3, np.int64)])[:8] for t in TOKEN_TEXTS]
    )
    regime = TokenFormatReward(weight=0.25)
    space = gym.spaces.MultiDiscrete(np.full(8, vocab.VOCAB_SIZE))
    n = len(TOKEN_TEXTS)
    regime.bind(EnvContext(n, space, gym.spaces.Discrete(vocab.VOCAB_SIZE), env_id="rewardgym/TextAdd-v0"))
    as_batch = torch.as_tensor if kind == "torch" else np.asarray
    ended = np.ones(n, bool)
    batch = Transition(
        as_batch(windows),
        as_batch(np.zeros(n, np.int64)),
        as_batch(windows),
        as_batch(np.zeros(n, np.float32)),
        as_batch(ended),
        as_batch(~ended),
        as_batch(ended),
    )
    np.testing.assert_allclose(np.asarray(regime.reward(batch)), TOKEN_FORMAT, rtol=1e-6)
    not_ended = batch._replace(terminated=as_batch(~ended))
    assert np.asarray(regime.reward(not_ended)).tolist() == [0.0] * n  # paid only when an episode ends


def test_token_format_reads_the_answer_characters_of_the_bound_task():
    envs = gym.make_vec(
        "rewardgym/TextCopy-v0",
        num_envs=2,
        reward="shaped(kind='token_format')",
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    envs.reset(seed=0)
    proxy, _ = _write(envs, ["abc", "12"], budget=4)
    np.testing.assert_allclose(proxy, [0.1, 0.0], rtol=1e-6)  # letters are Copy's answer characters


def test_token_format_refuses_bad_input_by_name():
    with pytest.raises(ValueError, match=r"chars='x\?'"):
        TokenFormatReward(chars="x?")
    with pytest.raises(ValueError, match="needs a token env"):
        gym.make_vec("rewardgym/CartPole-v0", num_envs=2, reward="shaped(kind='token_format')")
    with pytest.raises(ValueError, match="weight"):
        TokenFormatReward(weight=float("nan"))


# -- noisy ------------------------------------------------------------------------------------


def test_flip_noise_flips_the_binary_verifier_score_at_its_rates():
    questions, golds = _items(4000, seed=3)
    oracle = completion_agent("oracle", "add").act(questions)
    wrong = completion_agent("format_only", "add", seed=1).act(questions)
    completions = [o if i % 2 else w for i, (o, w) in enumerate(zip(oracle, wrong))]
    scorer = CompletionReward("add", "noisy(kind='flip', e_plus=0.3, e_minus=0.1)", seed=0)
    out = scorer(questions, completions, golds)
    high, low = out.gold == 1.0, out.gold == 0.0
    assert set(np.unique(out.proxy)) <= {0.0, 1.0}
    assert abs((out.proxy[high] == 0).mean() - 0.3) < 0.04  # e_plus: high read as low
    assert abs((out.proxy[low] == 1).mean() - 0.1) < 0.04  # e_minus: low read as high
    again = CompletionReward("add", "noisy(kind='flip', e_plus=0.3, e_minus=0.1)", seed=0)
    assert np.array_equal(again(questions, completions, golds).proxy, out.proxy)  # seeded


# -- adversarial ------------------------------------------------------------------------------


def _completions(n=300, seed=0):
    questions, golds = _items(n, seed=seed)
    rng = np.random.default_rng(seed)
    texts = sample_completions("add", golds, [POOL_KINDS[i] for i in rng.integers(0, len(POOL_KINDS), n)], seed=seed)
    for kind in ("oracle", "hacker", "random", "format_only"):
        texts += completion_agent(kind, "add", seed=seed).act(questions[:50])
    texts += [
        "",
        "   ",
        "<answer>1</answer> no, <answer>2</answer> hm",
        "<answer><answer>7</answer>",
        "7</answer>",
        "The answer is 46.",
        "<ANSWER>4</ANSWER> 5",
    ]
    return texts


@pytest.mark.parametrize("kind", PERTURBATIONS)
def test_perturbations_never_change_the_extracted_answer(kind):
    texts = _completions()
    out, applied, _ = perturb(texts, np.random.default_rng(1), [kind])
    out = out.tolist()
    assert [extract_answer(a) for a in out] == [extract_answer(b) for b in texts]
    assert applied.mean() > 0.5
    changed = np.array([a != b for a, b in zip(out, texts)])
    # Case changes only completions with letters outside the answer; the others always change.
    assert not changed[~applied].any() and changed[applied].mean() > (0.2 if kind == "case" else 0.9)


def test_perturbation_regime_pays_the_inner_reward_of_the_perturbed_text():
    spec = "adversarial(kind='text', reward=\"shaped(kind='length', coef=0.01, free=0)\", perturbations=['distractor'])"
    out = CompletionReward("add", spec, seed=0)(["q"] * 2, ["<answer>3</answer>", "3"], ["3", "3"])
    assert out.gold.tolist() == [1.0, 1.0]
    assert out.proxy[0] < 1.0 - 0.01 * (18 + len("A common mistake gives 0. "))  # longer after the attack
    assert out.proxy[1] == pytest.approx(1.0 - 0.01)  # an untagged completion is left alone
    with pytest.raises(ValueError, match="needs reward="):
        CompletionReward("add", "adversarial(kind='text')")
    with pytest.raises(ValueError, match="valid perturbations: distractor"):
        perturb(["x"], np.random.default_rng(0), ["emoji"])


def test_perturbation_sensitivity_separates_robust_and_surface_rewards():
    robust = perturbation_sensitivity("shaped(kind='format')", num=200)
    surface = perturbation_sensitivity("shaped(kind='length', coef=0.01, free=0)", num=200)
    assert robust["share_changed"] == 0.0 and robust["gold_changed"] == 0.0
    assert surface["by_perturbation"]["distractor"] == 1.0 and surface["by_perturbation"]["case"] == 0.0
    assert 0.5 < surface["share_changed"] < 1.0
    hacker = perturbation_sensitivity("shaped(kind='format')", completions="hacker", num=20)
    assert hacker["perturbed"] == 20


# -- intrinsic --------------------------------------------------------------------------------


def _reference_novelty(texts, n):
    seen, out = set(), []
    for batch in texts:
        grams = [[t[i : i + n] for i in range(len(t) - n + 1)] for t in batch]
        out.append([sum(g not in seen for g in gs) / len(gs) if gs else 0.0 for gs in grams])
        seen |= {g for gs in grams for g in gs}
    return out


def test_ngram_novelty_matches_a_set_based_reference():
    regime = intrinsic("ngram", n=3, beta=1.0, extrinsic=False)
    batches = [
        ["<answer>12</answer>", "hello world", "ab"],
        ["<answer>13</answer>", "hello there", "abc"],
        ["hello world", "<answer>12</answer>", "xyz xyz"],
    ]
    expected = _reference_novelty(batches, 3)
    for batch, want in zip(batches, expected):
        t = Transition(
            as_object_array(["q"] * 3),
            as_object_array(batch),
            as_object_array(["q"] * 3),
            np.zeros(3, np.float32),
            np.ones(3, bool),
            np.zeros(3, bool),
            np.ones(3, bool),
        )
        got = regime.reward(t)
        regime.update(t)
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_ngram_novelty_skips_invalid_rows_and_adds_to_the_reward():
    regime = NgramNovelty(n=2, beta=0.5)
    t = Transition(
        as_object_array(["q", "q"]),
        as_object_array(["abcd", "wxyz"]),
        as_object_array(["q", "q"]),
        np.ones(2, np.float32),
        np.ones(2, bool),
        np.zeros(2, bool),
        np.array([True, False]),
    )
    np.testing.assert_allclose(regime.reward(t), [1.5, 1.5])
    regime.update(t)
    np.testing.assert_allclose(regime.reward(t), [1.0, 1.5])  # "wxyz" was an autoreset row: not learned
    with pytest.raises(ValueError, match="n must be an integer"):
        NgramNovelty(n=0)


def test_a_seeded_reset_starts_the_ngram_table_afresh_and_a_frozen_copy_keeps_it():
    env = gym.make("rewardgym/TextCompletionAdd-v0", reward="intrinsic(kind='ngram', beta=1.0)")
    completion = "<answer>7</answer>"
    env.reset(seed=0)
    first = env.step(completion)[1]
    env.reset(seed=0)  # a new run: the same seed and action pay the same again
    assert env.step(completion)[1] == first
    env.reset()  # an episode of the same run: the n-grams are known by now
    assert env.step(completion)[1] < first
    live = NgramNovelty(n=3, beta=1.0, extrinsic=False)
    batch = Transition(
        as_object_array(["q"]),
        as_object_array([completion]),
        as_object_array(["q"]),
        np.zeros(1, np.float32),
        np.ones(1, bool),
        np.zeros(1, bool),
        np.ones(1, bool),
    )
    live.reward(batch)
    live.update(batch)
    frozen = live.frozen_copy()
    frozen.reset(seed=1)  # a frozen copy keeps what it learned
    assert frozen.reward(batch).tolist() == [0.0]


# -- learned ----------------------------------------------------------------------------------


def test_text_model_kind_pays_the_saved_model_reward(tmp_path):
    model = TextRewardModel(d_model=8, layers=1, heads=1, max_tokens=32, seed=3)
    path = save_text_reward_model(model, tmp_path / "rm")
    questions, golds = _items(5)
    completions = completion_agent("oracle", "add").act(questions)
    out = CompletionReward("add", f"learned(kind='text_model', path={str(path)!r})")(questions, completions, golds)
    np.testing.assert_allclose(out.proxy, model.reward(questions, completions), rtol=1e-5)
    assert out.gold.tolist() == [1.0] * 5
    with pytest.raises(ValueError, match="exactly one of path"):
        CompletionReward("add", "learned(kind='text_model')")
    with pytest.raises(ValueError, match="serves completion envs"):
        gym.make("rewardgym/CartPole-v0", reward=f"learned(kind='text_model', path={str(path)!r})")


@pytest.mark.parametrize(
    "spec",
    [
        "shaped(kind='format')",
        "shaped(kind='length', coef=0.1, free=2)",
        "intrinsic(kind='ngram')",
        "adversarial(kind='text', reward=\"shaped(kind='format')\")",
    ],
)
def test_text_regimes_score_a_lone_surrogate_as_one_replacement_character(spec):
    # A byte-level decoder can emit "\ud800", which has no UTF-8 form; gold reads it as one char.
    paid = []
    for text in ("<answer>1\ud800</answer>", "<answer>1\ufffd</answer>"):
        env = gym.make("rewardgym/TextCompletionAdd-v0", reward=spec)
        env.reset(seed=0)
        _, reward, _, _, info = env.step(text)
        paid.append((reward, info["gold_reward"]))
    assert paid[0] == paid[1]


def test_ngram_novelty_reads_no_completion_over_the_limit_and_its_memory_stays_bounded():
    import tracemalloc

    scorer = CompletionReward("add", "intrinsic(kind='ngram', n=3, beta=1.0)", max_chars=1000)
    huge = "<answer>3</answer>" + "x" * 2_000_000  # one over-long completion in a batch of 8
    completions = [huge] + ["<answer>3</answer>"] * 7
    tracemalloc.start()
    try:
        scores = scorer(["q"] * 8, completions, ["3"] * 8)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Hashed in full it would size every row of the batch by it: 8 x 2M x 8 bytes per array.
    assert peak < 40 * 2**20
    # Gold does not read it (0); nor does the bonus. The short ones are novel the first time.
    assert scores.gold[0] == 0.0 and scores.proxy[0] == 0.0
    assert scores.proxy[1] == 2.0
