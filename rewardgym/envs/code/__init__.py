"""Code environments: untrusted programs graded by tests. The sandbox every grader uses, and the tasks."""

from rewardgym.envs.code.sandbox import RunResult, SandboxUnavailableError, interpreter, isolation, run_python
from rewardgym.envs.code.tasks import (
    CodeTaskDataset,
    ProblemFileError,
    extract_code,
    load_problems,
    make_prompt,
    run_tests,
)

__all__ = [
    "CodeTaskDataset",
    "ProblemFileError",
    "RunResult",
    "SandboxUnavailableError",
    "extract_code",
    "interpreter",
    "isolation",
    "load_problems",
    "make_prompt",
    "run_python",
    "run_tests",
]
