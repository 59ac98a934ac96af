"""rewardgym/ShapesVQA-v0 and its dataset: answers checked against truth computed here from the
scene's objects, pictures checked pixel by pixel against those objects, items reproducible by
(seed, index), the env's reward contract and regimes, the trainer adapters' scores and rows, and
refusals of bad input by name."""

from __future__ import annotations

import inspect
import re
from collections import Counter

import gymnasium as gym
import numpy as np
import pytest
import rewardgym
import torch
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode
from rewardgym.core.checks import check_vector_env
from rewardgym.envs.multimodal.vqa import QUESTION_KINDS, ShapesVQADataset
from rewardgym.envs.registration import ENVS
from rewardgym.envs.text.adapters import (
    openrlhf_reward_func,
    openrlhf_rows,
    trl_reward_func,
    trl_rows,
    verl_batch_compute_score,
    verl_compute_score,
    verl_rows,
)

VQA = "rewardgym/ShapesVQA-v0"

# Written out here rather than imported, so that the checks do not share the code they check.
RGB = {
    "red": (255, 0, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "purple": (112, 39, 195),
    "yellow": (255, 255, 0),
    "grey": (100, 100, 100),
}
OFFSETS = {"left of": (0, -1), "right of": (0, 1), "above": (-1, 0), "below": (1, 0)}  # rows grow downwards
SHAPES_BY_LEVEL = {1: (2, 3), 2: (3, 5), 3: (5, 7), 4: (6, 8)}
RELATION = r"on the cell (left of|right of|above|below) the (\w+) (\w+)"


def expected_answer(question_line: str, objects: list[dict]) -> str:
    """The answer to a question, worked out from the scene's objects; fails if it is not unique."""
    pairs = [(o["colour"], o["shape"]) for o in objects]
    if m := re.fullmatch(r"How many (\w+) shapes are there\?", question_line):
        return str(sum(colour == m[1] for colour, _ in pairs))
    if m := re.fullmatch(r"How many (\w+)s are there\?", question_line):
        return str(sum(shape == m[1] for _, shape in pairs))
    if m := re.fullmatch(r"Is there a (\w+) (\w+)\?", question_line):
        return "yes" if (m[1], m[2]) in pairs else "no"
    m = re.fullmatch(rf"What colour is the (\w+) {RELATION}\?", question_line) or re.fullmatch(
        rf"What is {RELATION}\?", question_line
    )
    assert m, f"a question outside the grammar: {question_line!r}"
    *named_target, relation, colour, shape = m.groups()
    anchors = [o for o in objects if (o["colour"], o["shape"]) == (colour, shape)]
    assert len(anchors) == 1, f"{question_line!r}: the named shape is not unique in {objects}"
    d_row, d_col = OFFSETS[relation]
    cell = (anchors[0]["row"] + d_row, anchors[0]["col"] + d_col)
    found = [o for o in objects if (o["row"], o["col"]) == cell]
    assert len(found) == 1, f"{question_line!r}: no shape on the cell {relation} it in {objects}"
    if named_target:
        assert found[0]["shape"] == named_target[0], f"{question_line!r}: the shape there is {found[0]}"
        return found[0]["colour"]
    return f"{found[0]['colour']} {found[0]['shape']}"


def question_line(question: str) -> str:
    lines = question.splitlines()
    assert len(lines) == 3 and lines[0].startswith("Look at the picture.")
    assert lines[2] == "Give only the final answer, between <answer> and </answer>."
    return lines[1]


@pytest.mark.parametrize("difficulty", [1, 2, 3, 4])
def test_answers_are_the_truth_of_the_scene(difficulty):
    data = ShapesVQADataset(difficulty=difficulty, seed=11, size=300)
    kinds = Counter()
    low, high = SHAPES_BY_LEVEL[difficulty]
    for item in data:
        objects = item["metadata"]["objects"]
        assert low <= len(objects) <= high
        cells = [(o["row"], o["col"]) for o in objects]
        assert len(set(cells)) == len(cells) and all(0 <= r < 6 and 0 <= c < 6 for r, c in cells)
        assert item["answer"] == expected_answer(question_line(item["question"]), objects)
        kinds[item["metadata"]["kind"]] += 1
    expected_kinds = QUESTION_KINDS[:3] if difficulty == 1 else QUESTION_KINDS
    assert set(kinds) == set(expected_kinds)


def test_answers_are_balanced_so_no_constant_answer_pays():
    answers = Counter()
    for item in ShapesVQADataset(difficulty=3, seed=0, size=600, kinds=["exists", "count_colour"]):
        answers[(item["metadata"]["kind"], item["answer"])] += 1
    yes, no = answers[("exists", "yes")], answers[("exists", "no")]
    assert 0.35 < yes / (yes + no) < 0.65
    counts = Counter({answer: n for (kind, answer), n in answers.items() if kind == "count_colour"})
    assert set(counts) >= {"0", "1", "2", "3", "4", "5"}  # up to 7 shapes, the match count uniform on 0..n
    assert max(counts.values()) / sum(counts.values()) < 0.3


def test_the_picture_shows_each_shape_in_its_colour_on_its_cell_and_nothing_else():
    for item in ShapesVQADataset(difficulty=4, seed=3, size=40):
        image = item["image"]
        assert image.shape == (48, 48, 3) and image.dtype == np.uint8
        occupied = {(o["row"], o["col"]): o for o in item["metadata"]["objects"]}
        for row in range(6):
            for col in range(6):
                cell = image[row * 8 : row * 8 + 8, col * 8 : col * 8 + 8]
                centre = tuple(cell[4, 4].tolist())
                if (row, col) not in occupied:
                    assert centre == (0, 0, 0) and not cell[:7, :7].any()  # black floor, no agent frame
                    continue
                o = occupied[(row, col)]
                assert centre == RGB[o["colour"]]
                # The shape, from where it paints: a square fills the corner pixel, a triangle
                # its bottom left but not its top left, a circle neither.
                corner, bottom_left = tuple(cell[1, 1].tolist()), tuple(cell[6, 1].tolist())
                seen = "square" if corner != (0, 0, 0) else "triangle" if bottom_left != (0, 0, 0) else "circle"
                assert seen == o["shape"]
        assert not (image == 255).all(axis=-1).any()  # no white: the agent's frame is not drawn


def test_items_are_reproducible_by_seed_and_index_and_are_what_the_envs_show():
    data = ShapesVQADataset(difficulty=2, seed=40, size=6)
    again = ShapesVQADataset(difficulty=2, seed=40, size=6).items([4, 1])
    for index, item in zip([4, 1], again):
        assert item["question"] == data[index]["question"] and item["answer"] == data[index]["answer"]
        assert np.array_equal(item["image"], data[index]["image"]) and item["metadata"]["index"] == index
    # Item i of seed s is item 0 of seed s + i, and what env i of a vector env seeded s first shows.
    assert ShapesVQADataset(difficulty=2, seed=43, size=1)[0]["question"] == data[3]["question"]
    envs = gym.make_vec(VQA, num_envs=6, difficulty=2)
    obs, _ = envs.reset(seed=40)
    assert obs["question"] == tuple(item["question"] for item in data)
    assert np.array_equal(obs["image"], np.stack([item["image"] for item in data]))
    env = gym.make(VQA, difficulty=2)
    single, _ = env.reset(seed=45)
    assert single["question"] == data[5]["question"] and np.array_equal(single["image"], data[5]["image"])
    assert data[-1]["question"] == data[5]["question"]
    other = ShapesVQADataset(difficulty=2, seed=41, size=6)
    assert [i["question"] for i in other] != [i["question"] for i in data]


@pytest.mark.parametrize("kind", QUESTION_KINDS)
def test_the_env_pays_the_verifiers_score_and_keeps_the_answer_hidden(kind):
    env = gym.make(VQA, difficulty=3, kinds=kind)
    for seed in range(3):
        item = ShapesVQADataset(difficulty=3, seed=seed, size=1, kinds=kind)[0]
        obs, info = env.reset(seed=seed)
        assert set(obs) == {"image", "question"} and info == {} and obs["question"] == item["question"]
        assert env.observation_space.contains(obs)
        obs, reward, terminated, truncated, info = env.step(f"Looking closely: <answer>{item['answer']}</answer>")
        assert (reward, terminated, truncated, info["gold_reward"]) == (1.0, True, False, 1.0)
        assert info["reward_trace"] == {"env": 1.0} and item["answer"] not in info.values()
        with pytest.raises(RuntimeError, match="has ended"):
            env.step("<answer>1</answer>")
        env.reset(seed=seed)
        wrong = {"yes": "no", "no": "yes", "0": "1", "red": "blue"}.get(item["answer"], "red")
        assert env.step(f"<answer>{wrong}</answer>")[1:4] == (0.0, True, False)
        if item["answer"].isalpha():
            env.reset(seed=seed)
            assert env.step(f"<answer>{item['answer'].upper()}</answer>")[1] == 0.0  # exact match: lower case
        env.reset(seed=seed)
        # Without tags the fallback reads the last word: enough for one-word answers, not for the
        # two words of a relation_object answer (documented: those need the tags).
        assert env.step(f"It is {item['answer']}.")[1] == (0.0 if kind == "relation_object" else 1.0)


def test_the_vector_env_answers_a_batch_and_asks_the_next_questions():
    envs = gym.make_vec(VQA, num_envs=4, difficulty=2)
    assert envs.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    data = ShapesVQADataset(difficulty=2, seed=7, size=4)
    obs, _ = envs.reset(seed=7)
    completions = [f"<answer>{data[i]['answer']}</answer>" for i in range(2)] + ["<answer>9</answer>", ""]
    next_obs, reward, terminated, truncated, info = envs.step(completions)
    assert reward.tolist() == [1.0, 1.0, 0.0, 0.0] and info["gold_reward"].tolist() == reward.tolist()
    assert terminated.all() and not truncated.any() and info["_final_obs"].all()
    for i in range(4):
        assert info["final_obs"][i]["question"] == obs["question"][i]
        assert np.array_equal(info["final_obs"][i]["image"], obs["image"][i])
    assert next_obs["question"] != obs["question"]  # the streams move on
    assert info["episode_returns"]["gold"].tolist() == [1.0, 1.0, 0.0, 0.0]


def test_the_checkers_pass():
    check_env(gym.make(VQA, difficulty=4).unwrapped)
    check_env(gym.make(VQA, reward="noisy(sigma=0.1)").unwrapped)
    for mode in AutoresetMode:
        envs = gym.make_vec(VQA, num_envs=3, difficulty=3, autoreset_mode=mode, reward="noisy(sigma=0.1)")
        check_vector_env(envs, seed=0, steps=15)


def test_regimes_compose_on_the_env_as_on_the_text_completion_envs():
    data = ShapesVQADataset(difficulty=2, seed=0, size=3)
    right = [f"<answer>{item['answer']}</answer>" for item in data]
    envs = gym.make_vec(VQA, num_envs=3, difficulty=2, reward="noisy(sigma=0.1)")
    envs.reset(seed=0)
    _, proxy, _, _, info = envs.step(right)
    assert info["gold_reward"].tolist() == [1.0] * 3 and list(info["reward_trace"]) == ["env", "noisy"]
    assert not np.allclose(proxy, 1.0) and np.allclose(proxy, 1.0, atol=0.5)
    again = gym.make_vec(VQA, num_envs=3, difficulty=2, reward="noisy(sigma=0.1)")
    again.reset(seed=0)
    assert again.step(right)[1].tolist() == proxy.tolist()  # the same seed, the same noise
    env = gym.make(VQA, difficulty=2, reward="shaped(kind='format', weight=0.5)+scale(factor=2)")
    env.reset(seed=0)
    _, proxy, *_, info = env.step("<answer>nothing</answer>")
    assert (proxy, info["gold_reward"]) == (1.0, 0.0)  # (0 + 0.5 for the format) * 2
    wrapped = rewardgym.wrap(gym.make(VQA, difficulty=2), "scale(factor=-1)")
    wrapped.reset(seed=1)
    item = ShapesVQADataset(difficulty=2, seed=1, size=1)[0]
    assert wrapped.step(f"<answer>{item['answer']}</answer>")[1] == -1.0


def test_it_is_registered_as_multimodal():
    assert ENVS[VQA].modality == "multimodal" and ENVS[VQA].max_episode_steps == 1
    from rewardgym.cli import list_envs

    line = next(line for line in list_envs().splitlines() if line.startswith(VQA))
    assert "multimodal" in line


def test_bad_input_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown difficulty 5 of ShapesVQA; valid difficulties: 1, 2, 3, 4"):
        gym.make(VQA, difficulty=5)
    with pytest.raises(ValueError, match=r"unknown question kind 'count' .*did you mean 'count_shape'.*valid kinds"):
        gym.make_vec(VQA, num_envs=2, kinds=["exists", "count"])
    with pytest.raises(ValueError, match="non-empty sequence"):
        ShapesVQADataset(kinds=[])
    env = gym.make(VQA)
    env.reset(seed=0)
    with pytest.raises(TypeError, match="the action of rewardgym/ShapesVQA-v0 is a completion str, got int"):
        env.step(3)
    with pytest.raises(ValueError, match="unknown reset option 'level'"):
        env.reset(options={"level": 2})
    envs = gym.make_vec(VQA, num_envs=2)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="must hold 2 strings"):
        envs.step(["1"])
    with pytest.raises(TypeError, match=r"completions\[1\] must be a str, got NoneType"):
        envs.step(["1", None])
    with pytest.raises(ValueError, match="valid devices: cpu"):
        gym.make_vec(VQA, num_envs=2, device="cuda")
    with pytest.raises(ValueError, match="valid fallbacks"):
        gym.make(VQA, fallback="regex")
    with pytest.raises(ValueError, match="size must be an integer >= 1"):
        ShapesVQADataset(size=0)
    with pytest.raises(IndexError, match="out of range"):
        ShapesVQADataset(size=2)[2]


# -- the trainer adapters ------------------------------------------------------------------------

DATA = ShapesVQADataset(difficulty=3, seed=0, size=4)
QUESTIONS = [item["question"] for item in DATA]
ANSWERS = [item["answer"] for item in DATA]
RIGHT = [f"I see it. <answer>{a}</answer>" for a in ANSWERS]
WRONG = ["<answer>not that</answer>"] * 4


def test_trl_reward_func_scores_vqa_rows_as_grpo_trainer_passes_them():
    from trl.data_utils import prepare_multimodal_messages

    rows = trl_rows(DATA)
    # What GRPOTrainer hands reward functions for a vision-language model: the prompt messages
    # with the picture put in (prepare_multimodal_messages), the other columns as keywords.
    prompts = [prepare_multimodal_messages(row["prompt"], images=row["images"]) for row in rows]
    call = dict(
        prompts=prompts,
        completions=[[{"role": "assistant", "content": c}] for c in RIGHT[:2] + WRONG[2:]],
        completion_ids=[[1, 2]] * 4,
        answer=[row["answer"] for row in rows],
        images=[row["images"] for row in rows],
        trainer_state=None,
    )
    reward_func = trl_reward_func("ShapesVQA", "scale(factor=2)")
    inspect.signature(reward_func).bind(**call)
    assert reward_func(**call) == [2.0, 2.0, 0.0, 0.0]
    assert reward_func.__name__ == "rewardgym_ShapesVQA_scale_factor_2"
    assert reward_func.scorer.last.gold.tolist() == [1.0, 1.0, 0.0, 0.0]
    assert reward_func.scorer.env_id == VQA
    gold = trl_reward_func("ShapesVQA")
    assert gold.__name__ == "rewardgym_ShapesVQA_gold" and gold(**call) == [1.0, 1.0, 0.0, 0.0]
    noisy = trl_reward_func("ShapesVQA", "noisy(sigma=0.1)")
    proxy = noisy(**call)
    assert noisy.scorer.last.gold.tolist() == [1.0, 1.0, 0.0, 0.0] and proxy != [1.0, 1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="answers depend on the picture"):
        gold(prompts=prompts, completions=RIGHT)


def test_verl_compute_scores_score_vqa_rows():
    rows = verl_rows(DATA)
    score = verl_compute_score("ShapesVQA", "scale(factor=-1)")
    row = rows[1]
    call = dict(
        data_source=row["data_source"],
        solution_str=RIGHT[1],
        ground_truth=row["reward_model"]["ground_truth"],
        extra_info=row["extra_info"],
    )
    inspect.signature(score).bind(**call)
    assert score(**call) == -1.0
    assert score(row["data_source"], WRONG[1], row["reward_model"]["ground_truth"], row["extra_info"]) == 0.0
    batch = verl_batch_compute_score("ShapesVQA")
    call = dict(
        data_sources=[r["data_source"] for r in rows],
        solution_strs=RIGHT[:3] + WRONG[3:],
        ground_truths=[r["reward_model"]["ground_truth"] for r in rows],
        extra_infos=[r["extra_info"] for r in rows],
    )
    inspect.signature(batch).bind(**call)
    assert batch(**call) == [1.0, 1.0, 1.0, 0.0]


def test_openrlhf_reward_func_scores_vqa_rows():
    rows = openrlhf_rows(DATA)
    prompts = [row["input"] for row in rows]
    queries = [p + c for p, c in zip(prompts, RIGHT[:1] + WRONG[1:])]
    reward_func = openrlhf_reward_func("ShapesVQA", "scale(factor=3)")
    inspect.signature(reward_func).bind(queries, prompts, [row["label"] for row in rows])
    out = reward_func(queries, prompts, [row["label"] for row in rows])
    assert isinstance(out["rewards"], torch.Tensor) and out["rewards"].tolist() == [3.0, 0.0, 0.0, 0.0]
    assert out["scores"].tolist() == out["rewards"].tolist() and float(out["extra_logs"]["gold"]) == 0.25
    with pytest.raises(ValueError, match="answers depend on the picture"):
        reward_func(queries, prompts, None)


def test_vqa_rows_in_each_trainers_layout():
    item = DATA[2]
    trl = trl_rows(DATA)[2]
    assert trl["prompt"] == [{"role": "user", "content": item["question"]}] and trl["answer"] == item["answer"]
    assert len(trl["images"]) == 1 and np.array_equal(trl["images"][0], item["image"])
    verl = verl_rows(DATA)[2]
    assert verl["prompt"] == [{"role": "user", "content": "<image>" + item["question"]}]
    assert verl["data_source"] == "rewardgym/ShapesVQA" and np.array_equal(verl["images"][0], item["image"])
    assert verl["reward_model"] == {"style": "rule", "ground_truth": item["answer"]}
    assert verl["extra_info"]["question"] == item["question"] and verl["extra_info"]["index"] == 2
    openrlhf = openrlhf_rows(DATA)[2]
    assert openrlhf["input"] == item["question"] and openrlhf["label"] == item["answer"]
    assert np.array_equal(openrlhf["images"][0], item["image"])
    pil = trl_rows(DATA, image_format="pil")[2]["images"][0]
    assert pil.size == (48, 48) and np.array_equal(np.asarray(pil), item["image"])
    from datasets import Dataset, Image

    stored = Dataset.from_list(verl_rows(DATA, image_format="pil"))
    assert stored.features["images"].feature == Image()  # what verl's parquet holds
    assert np.array_equal(np.asarray(stored[2]["images"][0].convert("RGB")), item["image"])
    with pytest.raises(ValueError, match="unknown image_format 'png'; valid formats: numpy, pil"):
        trl_rows(DATA, image_format="png")
    with pytest.raises(ValueError, match=r"unknown task 'shapes_vqa' \(did you mean 'ShapesVQA'\?\); valid tasks"):
        trl_reward_func("shapes_vqa")
