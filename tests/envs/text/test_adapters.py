"""The trainer adapters, checked against each trainer's documented call.

TRL is a dev dependency: one test runs a real ``GRPOTrainer`` step on the CPU. verl and OpenRLHF
are not installed (each pulls in a CUDA build of torch), so each adapter is bound with
:func:`inspect.signature` to the exact call the trainer makes (keyword names and positions as in
its source) and then called that way.

- TRL ``GRPOTrainer._calculate_rewards``: ``reward_func(prompts=prompts, completions=completions,
  completion_ids=completion_ids_list, **reward_kwargs)`` where ``reward_kwargs`` are the other
  dataset columns (and ``trainer_state`` in recent versions); it logs ``reward_func.__name__``.
- verl ``NaiveRewardManager``: ``compute_score(data_source=..., solution_str=...,
  ground_truth=..., extra_info=...)``; ``BatchRewardManager``: ``compute_score(data_sources=...,
  solution_strs=..., ground_truths=..., extra_infos=...)``.
- OpenRLHF experience maker: ``custom_reward_func(queries, prompts, labels)`` positionally,
  returning a tensor or a dict with ``rewards``, ``scores`` and ``extra_logs``.
"""

from __future__ import annotations

import inspect

import pytest
import torch
from rewardgym.envs.text.adapters import (
    openrlhf_reward_func,
    openrlhf_rows,
    trl_reward_func,
    trl_rows,
    verl_batch_compute_score,
    verl_compute_score,
    verl_rows,
)
from rewardgym.envs.text.tasks import TaskDataset
from rewardgym.wrappers.scale import Scale

DATA = TaskDataset("add", difficulty=2, seed=0, size=4)
QUESTIONS = [item["question"] for item in DATA]
ANSWERS = [item["answer"] for item in DATA]
RIGHT = [f"I add them. <answer>{a}</answer>" for a in ANSWERS]
WRONG = ["<answer>0</answer>"] * 4


def test_trl_reward_func_takes_grpo_trainers_call():
    reward_func = trl_reward_func("add", "scale(factor=2)")
    call = dict(
        prompts=QUESTIONS,
        completions=RIGHT[:2] + WRONG[2:],
        completion_ids=[[1, 2]] * 4,
        answer=ANSWERS,
        trainer_state=None,
        extra_column=[0] * 4,
    )
    inspect.signature(reward_func).bind(**call)
    rewards = reward_func(**call)
    assert rewards == [2.0, 2.0, 0.0, 0.0] and all(isinstance(r, float) for r in rewards)
    assert reward_func.__name__ == "rewardgym_add_scale_factor_2"
    assert reward_func.scorer.last.gold.tolist() == [1.0, 1.0, 0.0, 0.0]


def test_trl_reward_funcs_are_named_after_their_task_and_spec():
    # TRL logs each reward function under its __name__: a proxy and its gold monitor must differ.
    assert trl_reward_func("add").__name__ == "rewardgym_add_gold"
    assert trl_reward_func("add", "none").__name__ == "rewardgym_add_gold"
    assert trl_reward_func("add", []).__name__ == "rewardgym_add_gold"
    named = trl_reward_func("add", "shaped(kind='length', coef=0.01)+scale(factor=-1)")
    assert named.__name__ == "rewardgym_add_shaped_kind_length_coef_0.01_scale_factor_-1"
    assert named.__name__ != trl_reward_func("add", "shaped(kind='length', coef=0.01)+scale(factor=1)").__name__

    def bonus(batch):
        return batch.reward + 1

    assert trl_reward_func("sort_digits", [Scale(factor=2.0), bonus]).__name__ == "rewardgym_sort_digits_scale_bonus"
    mine = trl_reward_func("add", "scale(factor=2)", name="proxy")
    assert mine.__name__ == mine.__qualname__ == "proxy"
    for bad in ["", 3, "a/b"]:
        with pytest.raises(ValueError, match="name must be a non-empty string without '/'"):
            trl_reward_func("add", name=bad)


def test_grpo_trainer_logs_a_proxy_and_its_gold_monitor_as_two_metrics(tmp_path):
    """A real GRPOTrainer step on a tiny GPT-2 built from a config, with a byte-level tokenizer
    built here: nothing is downloaded. The proxy trains (weight 1), gold only logs (weight 0)."""
    from datasets import Dataset
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast
    from trl import GRPOConfig, GRPOTrainer

    vocab = {char: i for i, char in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab["<eos>"] = eos = len(vocab)
    byte_level = Tokenizer(models.BPE(vocab=vocab, merges=[]))  # no merges: one token per byte
    byte_level.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    byte_level.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=byte_level, eos_token="<eos>", pad_token="<eos>")
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(vocab), n_positions=128, n_embd=16, n_layer=2, n_head=2,
        bos_token_id=eos, eos_token_id=eos, pad_token_id=eos,
    )  # fmt: skip
    proxy = trl_reward_func("add", "shaped(kind='length', coef=0.01, free=0)")  # pays -0.01 per character
    gold = trl_reward_func("add")
    args = GRPOConfig(
        output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=2, max_completion_length=4,
        max_steps=1, logging_steps=1, reward_weights=[1.0, 0.0], report_to="none", save_strategy="no",
        use_cpu=True, seed=0, disable_tqdm=True,
    )  # fmt: skip
    trainer = GRPOTrainer(
        model=GPT2LMHeadModel(config),
        reward_funcs=[proxy, gold],
        args=args,
        train_dataset=Dataset.from_list(trl_rows(TaskDataset("add", difficulty=1, seed=0, size=4))),
        processing_class=tokenizer,
    )
    trainer.train()

    logs = trainer.state.log_history[0]
    assert {key for key in logs if key.startswith("rewards/") and key.endswith("/mean")} == {
        "rewards/rewardgym_add_shaped_kind_length_coef_0.01_free_0/mean",
        "rewards/rewardgym_add_gold/mean",
    }
    # Each metric is its own function's scores (one generation batch, one call each).
    assert logs["rewards/rewardgym_add_shaped_kind_length_coef_0.01_free_0/mean"] == pytest.approx(
        proxy.scorer.last.proxy.mean(), abs=1e-6
    )
    assert logs["rewards/rewardgym_add_gold/mean"] == pytest.approx(gold.scorer.last.gold.mean(), abs=1e-6)
    assert logs["rewards/rewardgym_add_shaped_kind_length_coef_0.01_free_0/mean"] < 0.0  # the length penalty


def test_trl_reward_func_accepts_conversational_data_and_solves_missing_answers():
    reward_func = trl_reward_func("add")
    prompts = [[{"role": "system", "content": "be brief"}, {"role": "user", "content": q}] for q in QUESTIONS]
    completions = [[{"role": "assistant", "content": c}] for c in RIGHT]
    assert reward_func(prompts=prompts, completions=completions) == [1.0] * 4
    with pytest.raises(ValueError, match=r"prompts\[0\] holds no 'add' prompt"):
        reward_func(prompts=["hello"], completions=["<answer>1</answer>"])
    with pytest.raises(TypeError, match=r"completions\[0\] must be a str or a list"):
        reward_func(prompts=QUESTIONS[:1], completions=[None])


def test_verl_compute_score_takes_the_reward_managers_call():
    compute_score = verl_compute_score("add", "scale(factor=-1)")
    call = dict(
        data_source="rewardgym/add",
        solution_str=RIGHT[0],
        ground_truth=ANSWERS[0],
        extra_info={"question": QUESTIONS[0], "index": 0},
    )
    inspect.signature(compute_score).bind(**call)
    assert compute_score(**call) == -1.0
    assert compute_score(data_source="x", solution_str=WRONG[0], ground_truth=ANSWERS[0]) == 0.0
    assert compute_score("x", RIGHT[0], int(ANSWERS[0]), None) == -1.0  # numeric labels
    with pytest.raises(TypeError, match="must be a str"):
        compute_score(data_source="x", solution_str=None, ground_truth="1")


def test_verl_batch_compute_score_takes_the_batch_managers_call():
    compute_score = verl_batch_compute_score("add")
    call = dict(
        data_sources=["rewardgym/add"] * 4,
        solution_strs=RIGHT[:3] + WRONG[3:],
        ground_truths=ANSWERS,
        extra_infos=[{"question": q} for q in QUESTIONS],
    )
    inspect.signature(compute_score).bind(**call)
    assert compute_score(**call) == [1.0, 1.0, 1.0, 0.0]


def test_openrlhf_reward_func_takes_the_experience_makers_positional_call():
    reward_func = openrlhf_reward_func("add", "scale(factor=3)")
    queries = [q + c for q, c in zip(QUESTIONS, RIGHT[:1] + WRONG[1:])]
    inspect.signature(reward_func).bind(queries, QUESTIONS, ANSWERS)
    out = reward_func(queries, QUESTIONS, ANSWERS)
    assert set(out) == {"rewards", "scores", "extra_logs"}
    assert isinstance(out["rewards"], torch.Tensor) and out["rewards"].tolist() == [3.0, 0.0, 0.0, 0.0]
    assert out["scores"].tolist() == out["rewards"].tolist()  # the trainer sees only the proxy
    assert float(out["extra_logs"]["gold"]) == 0.25
    # No labels: the gold answers are solved from the prompts.
    assert reward_func(queries, QUESTIONS, None)["rewards"].tolist() == [3.0, 0.0, 0.0, 0.0]


def test_adapters_refuse_unknown_tasks_and_specs_by_name():
    with pytest.raises(ValueError, match="valid tasks"):
        trl_reward_func("sum")
    with pytest.raises(ValueError, match="unknown reward regime"):
        verl_compute_score("add", "scaled(factor=2)")


def test_dataset_rows_in_each_trainers_layout():
    assert trl_rows(DATA)[0] == {"prompt": QUESTIONS[0], "answer": ANSWERS[0]}
    row = verl_rows(DATA)[1]
    assert row["reward_model"] == {"style": "rule", "ground_truth": ANSWERS[1]}
    assert row["prompt"] == [{"role": "user", "content": QUESTIONS[1]}] and row["extra_info"]["index"] == 1
    assert openrlhf_rows(DATA)[2] == {"input": QUESTIONS[2], "label": ANSWERS[2]}
    # verl's compute_score reads the prompt from extra_info: a row round-trips.
    score = verl_compute_score("add")
    assert score(row["data_source"], RIGHT[1], row["reward_model"]["ground_truth"], row["extra_info"]) == 1.0
