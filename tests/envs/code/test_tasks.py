"""Procedural code tasks, the problem-set loader and the plain grader (rewardgym.envs.code.tasks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rewardgym.envs.code.tasks import (
    DIFFICULTIES,
    TASKS,
    CodeTaskDataset,
    ProblemFileError,
    extract_code,
    load_problems,
    run_tests,
)

# One realistic bug per family: each agrees with the reference on some inputs, not all.
WRONG = {
    "evens_squared": "def evens_squared(xs):\n    return [x * x for x in xs if x % 2 == 1]\n",
    "rotate": "def rotate(xs, k):\n    return xs[k:] + xs[:k]\n",
    "running_sum": "def running_sum(xs):\n    return [sum(xs[:i]) for i in range(len(xs))]\n",
    "reverse_words": "def reverse_words(s):\n    return ' '.join(reversed(s.split(' ')))\n",
    "count_vowels": "def count_vowels(s):\n    return sum(c in 'aeiou' for c in s)\n",
    "caesar": "def caesar(s, k):\n    return ''.join(chr((ord(c) - 97 + k) % 26 + 97) if c.isalpha() else c for c in s)\n",
    "digit_sum": "def digit_sum(n):\n    return sum(int(c) for c in str(n) if c.isdigit()) % 10\n",
    "gcd_list": "import math\n\ndef gcd_list(xs):\n    return math.gcd(*xs[:2]) if xs else 1\n",
    "longest_run": "def longest_run(xs):\n    return len(xs)\n",
    "two_sum": "def two_sum(xs, target):\n    return [0, 1] if len(xs) > 1 else []\n",
    "balanced": "def balanced(s):\n    return s.count('(') == s.count(')')\n",
}


def hardcoder(item: dict) -> str:
    """A solution that returns the visible outputs for the visible inputs and None otherwise."""
    entry = item["entry_point"]
    table = {t["call"]: t["expected"] for t in item["visible"]}
    return (
        f"_TABLE = {table!r}\n"
        f"def {entry}(*args):\n"
        f"    return _TABLE.get('{entry}(' + ', '.join(repr(a) for a in args) + ')')\n"
    )


def test_same_seed_and_index_give_the_same_item_and_others_differ():
    a = CodeTaskDataset("rotate", difficulty=3, seed=5, size=10)
    b = CodeTaskDataset("rotate", difficulty=3, seed=5, size=10)
    assert a[4] == b[4] == b.items([4])[0]
    assert a[4] != a[5]
    assert a[4]["visible"] != CodeTaskDataset("rotate", difficulty=3, seed=6, size=10)[4]["visible"]
    assert json.loads(json.dumps(a[4])) == a[4]  # plain JSON values throughout


@pytest.mark.parametrize("task", TASKS)
def test_shape_and_difficulty_scaling(task):
    for d in DIFFICULTIES:
        item = CodeTaskDataset(task, difficulty=d, seed=0, size=1)[0]
        assert item["entry_point"] == task and item["signature"].startswith(f"def {task}(")
        assert len(item["visible"]) == 3 and len(item["hidden"]) == 8 + 3 * (d - 1)
        calls = [t["call"] for t in item["visible"] + item["hidden"]]
        assert len(set(calls)) == len(calls)
        assert len({json.dumps(t["expected"]) for t in item["hidden"]}) >= 2
        assert item["signature"] in item["prompt"] and item["prompt"].rstrip().endswith("code block.")
        for test in item["visible"]:
            assert test["call"] in item["prompt"]
        for test in item["hidden"]:
            assert test["call"] not in item["prompt"]
    sizes = [len(CodeTaskDataset(task, difficulty=d, seed=0, size=1)[0]["prompt"]) for d in (1, 5)]
    assert sizes[1] > sizes[0]


@pytest.mark.parametrize("task", TASKS)
def test_reference_passes_wrong_and_hardcoded_fail_hidden(task):
    for d in DIFFICULTIES:
        item = CodeTaskDataset(task, difficulty=d, seed=11, size=1)[0]
        assert all(run_tests(item["reference"], item, hidden=False))
        assert all(run_tests(item["reference"], item, hidden=True))
        assert not all(run_tests(WRONG[task], item, hidden=True)), (task, d)
        fake = hardcoder(item)
        assert run_tests(fake, item, hidden=False) == [True, True, True]
        assert not any(run_tests(fake, item, hidden=True))


def test_grader_compares_in_the_parent_and_ignores_forged_lines():
    item = CodeTaskDataset("digit_sum", difficulty=2, seed=0, size=1)[0]
    always_equal = (
        "class _Eq:\n    def __eq__(self, other):\n        return True\ndef digit_sum(n):\n    return _Eq()\n"
    )
    assert not any(run_tests(always_equal, item, hidden=True))
    exits = "import sys\nsys.exit(0)\ndef digit_sum(n):\n    return 0\n"
    assert not any(run_tests(exits, item, hidden=True))
    forged = "print('0 [0, {\"value\": 0}]')\nprint('PASSED')\ndef digit_sum(n):\n    return -1\n"
    assert not any(run_tests(forged, item, hidden=True))
    as_bool = "def digit_sum(n):\n    return True\n"  # True == 1 inside Python, not here
    one = {"entry_point": "digit_sum", "visible": [{"call": "digit_sum(10)", "expected": 1}]}
    assert run_tests(as_bool, one, hidden=False) == [False]
    assert run_tests("def digit_sum(n):\n    return 1\n", one, hidden=False) == [True]
    assert not any(run_tests("def digit_sum(n) return", item, hidden=False))
    assert not any(run_tests("def digit_sum(n):\n    while True: pass\n", item, hidden=False, timeout_s=1.0))


HUMANEVAL = [
    {
        "task_id": "Mini/0",
        "prompt": 'def add(a: int, b: int) -> int:\n    """Add a and b.\n    >>> add(1, 2)\n    3\n    >>> add(-1, 1)\n    0\n    """\n',
        "entry_point": "add",
        "canonical_solution": "    return a + b\n",
        "test": "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-4, -6) == -10\n",
    },
    {
        "task_id": "Mini/1",
        "prompt": 'def shout(s: str) -> str:\n    """Upper-case s with a bang.\n    >>> shout("hi")\n    \'HI!\'\n    """\n',
        "entry_point": "shout",
        "canonical_solution": "    return s.upper() + '!'\n",
        "test": "def check(candidate):\n    assert candidate('') == '!'\n    assert candidate('a b') == 'A B!'\n",
    },
]
MBPP = [
    {
        "task_id": 7,
        "text": "Write a function to find the maximum of a list.",
        "code": "def max_of(xs):\n    return max(xs)",
        "test_list": ["assert max_of([1, 3, 2]) == 3", "assert max_of([-5]) == -5", "assert max_of([2, 9]) == 9"],
    },
    {
        "task_id": 8,
        "text": "Write a function to sort a tuple's items.",
        "code": "def sort_items(t):\n    return tuple(sorted(t))",
        "test_list": ["assert sort_items((2, 1)) == (1, 2)", "assert sort_items(()) == ()"],
    },
]


def _write(tmp_path: Path, name: str, rows: list) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_humaneval_loader_maps_doctests_to_visible_and_check_to_hidden(tmp_path):
    problems = load_problems(_write(tmp_path, "he.jsonl", HUMANEVAL), format="humaneval")
    add, shout = problems
    assert add["task_id"] == "Mini/0" and add["entry_point"] == "add"
    assert add["signature"] == "def add(a: int, b: int) -> int:"
    assert add["visible"] == [{"call": "add(1, 2)", "expected": 3}, {"call": "add(-1, 1)", "expected": 0}]
    assert add["hidden"] == [{"check": HUMANEVAL[0]["test"]}]
    assert shout["visible"] == [{"call": 'shout("hi")', "expected": "HI!"}]
    for problem in problems:
        assert all(run_tests(problem["reference"], problem, hidden=False))
        assert run_tests(problem["reference"], problem, hidden=True) == [True]
    fake = "def add(a, b):\n    return {(1, 2): 3, (-1, 1): 0}.get((a, b))\n"
    assert run_tests(fake, add, hidden=False) == [True, True]
    assert run_tests(fake, add, hidden=True) == [False]
    assert load_problems(tmp_path / "he.jsonl") == problems  # auto-detected


def test_mbpp_loader_first_test_visible_rest_hidden(tmp_path):
    max_of, sort_items = load_problems(_write(tmp_path, "mbpp.jsonl", [MBPP[0], "", MBPP[1]]))
    assert max_of["task_id"] == "7" and max_of["entry_point"] == "max_of"
    assert max_of["visible"] == [{"call": "max_of([1, 3, 2])", "expected": 3}]
    assert max_of["hidden"] == [{"call": "max_of([-5])", "expected": -5}, {"call": "max_of([2, 9])", "expected": 9}]
    assert "assert max_of([1, 3, 2]) == 3" in max_of["prompt"] and "[-5]" not in max_of["prompt"]
    assert sort_items["visible"] == [{"assert": "assert sort_items((2, 1)) == (1, 2)"}]  # a tuple is no JSON value
    for problem in (max_of, sort_items):
        assert all(run_tests(problem["reference"], problem, hidden=False))
        assert all(run_tests(problem["reference"], problem, hidden=True))
    assert run_tests("def max_of(xs):\n    return xs[0]\n", max_of, hidden=True) == [True, False]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["{not json"], r"bad\.jsonl:1: not valid JSON"),
        ([MBPP[0], "[1, 2]"], r"bad\.jsonl:2: a line must be a JSON object"),
        ([{k: v for k, v in MBPP[0].items() if k != "code"}], r"bad\.jsonl:1: missing field 'code' of a mbpp problem"),
        ([{**MBPP[0], "test_list": []}], r"bad\.jsonl:1: field 'test_list' must be a non-empty list"),
        ([{**MBPP[0], "code": "def max_of(:"}], r"bad\.jsonl:1: field 'code' is not valid Python"),
        ([{**MBPP[0], "code": "def other(xs):\n    return 1"}], r"bad\.jsonl:1: no function of 'code'"),
        (
            [HUMANEVAL[0], {k: v for k, v in HUMANEVAL[1].items() if k != "test"}],
            r"bad\.jsonl:2: missing field 'test' of a humaneval problem",
        ),
        ([{**HUMANEVAL[0], "entry_point": ""}], r"bad\.jsonl:1: field 'entry_point' must be a non-empty str"),
    ],
)
def test_malformed_lines_are_refused_by_number_and_field(tmp_path, rows, message):
    with pytest.raises(ProblemFileError, match=message):
        load_problems(_write(tmp_path, "bad.jsonl", rows))


def test_refusals():
    with pytest.raises(
        ValueError, match=r"unknown code task 'rotat' \(did you mean 'rotate'\?\); valid tasks: evens_squared"
    ):
        CodeTaskDataset("rotat")
    for bad in (0, 6, 2.0, True, "3"):
        with pytest.raises(ValueError, match="valid difficulties: 1, 2, 3, 4, 5"):
            CodeTaskDataset("rotate", difficulty=bad)
    with pytest.raises(ValueError, match="size must be an integer >= 1"):
        CodeTaskDataset("rotate", size=0)
    with pytest.raises(ValueError, match="valid formats: auto, humaneval, mbpp"):
        load_problems("x.jsonl", format="apps")
    with pytest.raises(TypeError, match="solution must be a str"):
        run_tests(None, CodeTaskDataset("rotate", size=1)[0], hidden=True)  # type: ignore[arg-type]


def test_extract_code():
    assert extract_code("a\n```python\nx = 1\n```\nb\n```python\nx = 2\n```") == "x = 2\n"
    assert extract_code("```\ny = 3\n```") == "y = 3\n"
    assert extract_code("no code here") is None
