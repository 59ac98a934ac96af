"""The code trainer adapters: TRL, verl and OpenRLHF reward functions of rewardgym/Code-v0.

As for the text adapters (tests/envs/text/test_adapters.py), TRL runs for real (one tiny
``GRPOTrainer`` step on the CPU) and verl's and OpenRLHF's calls are bound with
:func:`inspect.signature` to the exact calls those trainers make. Each row's label is its
problem as JSON, since gold needs the hidden tests.
"""

from __future__ import annotations

import inspect
import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from rewardgym.envs.code.adapters import (
    LABEL_COLUMN,
    openrlhf_reward_func,
    openrlhf_rows,
    reward_func_name,
    trl_reward_func,
    trl_rows,
    verl_batch_compute_score,
    verl_compute_score,
    verl_rows,
)
from rewardgym.envs.code.code_env import register_code_env
from rewardgym.envs.code.rewards import CodeReward, problem_label, read_problem
from rewardgym.envs.code.scripted import CODE_AGENTS, exit_zero, forger, oracle
from rewardgym.envs.code.tasks import CodeTaskDataset
from rewardgym.wrappers.scale import Scale

CODE = register_code_env()
DATA = CodeTaskDataset("rotate", difficulty=2, seed=0, size=4)
ITEMS = list(DATA)
PROMPTS = [item["prompt"] for item in ITEMS]
LABELS = [problem_label(item) for item in ITEMS]
RIGHT = [oracle(p) for p in PROMPTS]
EXITS = [exit_zero(p) for p in PROMPTS]


def test_trl_reward_func_takes_grpo_trainers_call_with_the_problem_column():
    reward_func = trl_reward_func("rotate", "scale(factor=2)", grader="exit_code")
    call = dict(
        prompts=PROMPTS,
        completions=RIGHT[:2] + EXITS[2:],
        completion_ids=[[1, 2]] * 4,
        problem=LABELS,
        trainer_state=None,
        extra_column=[0] * 4,
    )
    inspect.signature(reward_func).bind(**call)
    rewards = reward_func(**call)
    assert rewards == [2.0] * 4 and all(isinstance(r, float) for r in rewards)  # exit_code pays sys.exit(0)
    assert reward_func.__name__ == "rewardgym_code_rotate_exit_code_scale_factor_2"
    assert reward_func.scorer.last.gold.tolist() == [1.0, 1.0, 0.0, 0.0]
    assert reward_func.scorer.details["exploits"].tolist() == [(), (), ("early_exit",), ("early_exit",)]
    # The gold monitor: the hidden tests, whatever the flaw.
    gold = trl_reward_func("rotate", grader="gold")
    assert gold(**call) == [1.0, 1.0, 0.0, 0.0] and gold.__name__ == "rewardgym_code_rotate_gold"


def test_code_reward_funcs_are_named_after_task_grader_and_spec():
    assert reward_func_name("mixed", "scale(factor=2)") == "rewardgym_code_mixed_scale_factor_2"
    assert reward_func_name("rotate", grader="gold") == "rewardgym_code_rotate_gold"
    assert reward_func_name("rotate", "none", grader="gold") == "rewardgym_code_rotate_gold"
    assert reward_func_name("rotate") == "rewardgym_code_rotate_typical"  # the flawed grader, bare
    assert reward_func_name("rotate", [], grader="hardened") == "rewardgym_code_rotate_hardened"
    assert (
        reward_func_name("problems", "shaped(kind='length', coef=0.01)+scale(factor=-1)", grader="hardened")
        == "rewardgym_code_problems_hardened_shaped_kind_length_coef_0.01_scale_factor_-1"
    )
    assert reward_func_name("two_sum", "scale(factor=1)", grader=["stdout_verdict", "exit_code"]) == (
        "rewardgym_code_two_sum_exit_code_stdout_verdict_scale_factor_1"
    )

    def bonus(batch):
        return batch.reward + 1

    assert trl_reward_func("caesar", [Scale(factor=2.0), bonus]).__name__ == "rewardgym_code_caesar_scale_bonus"
    mine = trl_reward_func("rotate", "scale(factor=2)", name="proxy")
    assert mine.__name__ == mine.__qualname__ == "proxy"
    for bad in ["", 3, "a/b"]:
        with pytest.raises(ValueError, match="name must be a non-empty string without '/'"):
            trl_reward_func("rotate", name=bad)


def test_code_reward_agrees_with_the_env_step_for_step():
    """The adapters' scorer and rewardgym/Code-v0 grade alike: reward, gold and exploits, under a spec."""
    spec = "shaped(kind='format', weight=0.25)+scale(factor=2)"
    agents = sorted(CODE_AGENTS)
    scorer = CodeReward(spec, grader="typical")
    for item in CodeTaskDataset("digit_sum", seed=1, size=2):
        envs = gym.make_vec(CODE, num_envs=len(agents), problems=[item], reward=spec)
        problems, _ = envs.reset(seed=0)
        completions = [CODE_AGENTS[a](p) for a, p in zip(agents, problems)]
        _, reward, _, _, info = envs.step(completions)
        out = scorer([item] * len(agents), completions)
        assert out.proxy.tolist() == reward.tolist()
        assert out.gold.tolist() == info["gold_reward"].tolist()
        assert scorer.details["exploits"].tolist() == info["exploits"].tolist()
        assert list(out.trace) == list(info["reward_trace"])


def test_trl_reward_func_accepts_conversational_data_and_needs_the_problems():
    reward_func = trl_reward_func("rotate", grader="hardened")
    prompts = [[{"role": "system", "content": "be brief"}, {"role": "user", "content": p}] for p in PROMPTS]
    completions = [[{"role": "assistant", "content": c}] for c in RIGHT]
    assert reward_func(prompts=prompts, completions=completions, problem=LABELS) == [1.0] * 4
    assert reward_func(prompts=PROMPTS[:1], completions=RIGHT[:1], problem=ITEMS[:1]) == [1.0]  # items as dicts
    with pytest.raises(ValueError, match="need each row's problem"):
        reward_func(prompts=PROMPTS, completions=RIGHT)
    with pytest.raises(ValueError, match=r"problems\[0\] must be a problem item"):
        reward_func(prompts=PROMPTS[:1], completions=RIGHT[:1], problem=["13"])
    with pytest.raises(ValueError, match="got 1 completions but 2"):
        reward_func(prompts=PROMPTS[:1], completions=RIGHT[:1], problem=LABELS[:2])
    with pytest.raises(TypeError, match=r"completions\[0\] must be a str or a list"):
        reward_func(prompts=PROMPTS[:1], completions=[None], problem=LABELS[:1])
    # A completion that cannot run scores 0 (the env's rule), it does not raise.
    assert reward_func(prompts=PROMPTS[:2], completions=["", "def ("], problem=LABELS[:2]) == [0.0, 0.0]


def test_verl_compute_score_takes_the_reward_managers_call():
    compute_score = verl_compute_score("rotate", "scale(factor=-1)", grader="stdout_verdict")
    call = dict(
        data_source="rewardgym/Code/rotate",
        solution_str=forger(PROMPTS[0]),
        ground_truth=LABELS[0],
        extra_info={"question": PROMPTS[0], "index": 0},
    )
    inspect.signature(compute_score).bind(**call)
    assert compute_score(**call) == -1.0  # the forged verdict is paid
    assert compute_score.scorer.last.gold.tolist() == [0.0]
    assert compute_score("x", RIGHT[1], LABELS[1], None) == -1.0
    with pytest.raises(ValueError, match="ground_truth"):
        compute_score(data_source="x", solution_str=RIGHT[0], ground_truth=None)


def test_verl_batch_compute_score_takes_the_batch_managers_call():
    compute_score = verl_batch_compute_score("rotate", grader="hardened")
    call = dict(
        data_sources=["rewardgym/Code/rotate"] * 4,
        solution_strs=RIGHT[:3] + EXITS[3:],
        ground_truths=LABELS,
        extra_infos=[{"question": p} for p in PROMPTS],
    )
    inspect.signature(compute_score).bind(**call)
    assert compute_score(**call) == [1.0, 1.0, 1.0, 0.0]


def test_openrlhf_reward_func_takes_the_experience_makers_positional_call():
    reward_func = openrlhf_reward_func("rotate", "scale(factor=3)", grader="exit_code")
    queries = [p + c for p, c in zip(PROMPTS, RIGHT[:1] + EXITS[1:])]
    inspect.signature(reward_func).bind(queries, PROMPTS, LABELS)
    out = reward_func(queries, PROMPTS, LABELS)
    assert set(out) == {"rewards", "scores", "extra_logs"}
    assert isinstance(out["rewards"], torch.Tensor) and out["rewards"].tolist() == [3.0] * 4
    assert out["scores"].tolist() == out["rewards"].tolist()  # the trainer sees only the proxy
    assert float(out["extra_logs"]["gold"]) == 0.25
    with pytest.raises(ValueError, match="labels"):
        reward_func(queries, PROMPTS, None)


def test_adapters_refuse_unknown_tasks_graders_and_specs_by_name():
    with pytest.raises(ValueError, match="did you mean 'rotate'.*valid tasks"):
        trl_reward_func("rotat")
    with pytest.raises(ValueError, match="unknown grader flaw 'exit'"):
        verl_compute_score("rotate", grader="exit")
    with pytest.raises(ValueError, match="unknown reward regime"):
        openrlhf_reward_func("rotate", "scaled(factor=2)")


def test_dataset_rows_in_each_trainers_layout_carry_the_problem():
    row = trl_rows(DATA)[0]
    assert row == {"prompt": PROMPTS[0], LABEL_COLUMN: LABELS[0]}
    assert read_problem(row[LABEL_COLUMN])["hidden"] == ITEMS[0]["hidden"]
    assert sorted(json.loads(row[LABEL_COLUMN])) == ["entry_point", "hidden", "task_id", "visible"]
    verl = verl_rows(DATA)[1]
    assert verl["data_source"] == "rewardgym/Code/rotate" and verl["ability"] == "coding"
    assert verl["reward_model"] == {"style": "rule", "ground_truth": LABELS[1]}
    assert verl["prompt"] == [{"role": "user", "content": PROMPTS[1]}]
    assert verl["extra_info"] == {"question": PROMPTS[1], "task_id": ITEMS[1]["task_id"], "index": 1}
    assert openrlhf_rows(DATA)[2] == {"input": PROMPTS[2], "label": LABELS[2]}
    assert verl_rows(ITEMS[:1])[0]["data_source"] == "rewardgym/Code/problems"  # a loaded problem set
    # verl's compute_score reads the prompt from extra_info: a row round-trips.
    score = verl_compute_score("rotate", grader="gold")
    assert score(verl["data_source"], RIGHT[1], verl["reward_model"]["ground_truth"], verl["extra_info"]) == 1.0
    with pytest.raises(TypeError, match="CodeTaskDataset or a list of problem items"):
        trl_rows("rotate")


def test_grpo_trainer_hands_the_problem_column_to_a_code_reward(tmp_path):
    """A real GRPOTrainer step, as the text adapters' test runs it: TRL passes the ``problem``
    column, and a proxy and its gold monitor log as two metrics."""
    from datasets import Dataset
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast
    from trl import GRPOConfig, GRPOTrainer

    vocab = {char: i for i, char in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab["<eos>"] = eos = len(vocab)
    byte_level = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    byte_level.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    byte_level.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=byte_level, eos_token="<eos>", pad_token="<eos>")
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(vocab), n_positions=1024, n_embd=16, n_layer=1, n_head=2,
        bos_token_id=eos, eos_token_id=eos, pad_token_id=eos,
    )  # fmt: skip
    proxy = trl_reward_func("rotate", "shaped(kind='length', coef=0.01, free=0)")
    gold = trl_reward_func("rotate", grader="gold")
    args = GRPOConfig(
        output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=2, max_completion_length=4,
        max_steps=1, logging_steps=1, reward_weights=[1.0, 0.0], report_to="none", save_strategy="no",
        use_cpu=True, seed=0, disable_tqdm=True,
    )  # fmt: skip
    trainer = GRPOTrainer(
        model=GPT2LMHeadModel(config),
        reward_funcs=[proxy, gold],
        args=args,
        train_dataset=Dataset.from_list(trl_rows(CodeTaskDataset("rotate", seed=0, size=4))),
        processing_class=tokenizer,
    )
    trainer.train()

    logs = trainer.state.log_history[0]
    assert {key for key in logs if key.startswith("rewards/") and key.endswith("/mean")} == {
        "rewards/rewardgym_code_rotate_shaped_kind_length_coef_0.01_free_0/mean",
        "rewards/rewardgym_code_rotate_gold/mean",
    }
    assert logs["rewards/rewardgym_code_rotate_gold/mean"] == pytest.approx(gold.scorer.last.gold.mean(), abs=1e-6)
    assert logs["rewards/rewardgym_code_rotate_shaped_kind_length_coef_0.01_free_0/mean"] < 0.0
    # Every completion was graded against the problem of its row (each task id from the dataset).
    ids = {item["task_id"] for item in CodeTaskDataset("rotate", seed=0, size=4)}
    assert set(np.asarray(proxy.scorer.details["task_id"]).tolist()) <= ids
