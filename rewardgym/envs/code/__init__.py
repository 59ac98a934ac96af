"""Code environments: untrusted programs graded by tests, in a sandbox.

- :mod:`~rewardgym.envs.code.sandbox`: runs a program in an isolated child process;
- :mod:`~rewardgym.envs.code.pool`: many programs at once, through pre-started workers;
- :mod:`~rewardgym.envs.code.tasks`: the procedural problems, a problem-set loader, the hardened grader;
- :mod:`~rewardgym.envs.code.graders`: the flawed graders a typical pipeline has, by flaw;
- :mod:`~rewardgym.envs.code.exploits`: the exploit detectors behind ``info["exploits"]``;
- :mod:`~rewardgym.envs.code.scripted`: the oracle and the scripted exploits;
- :mod:`~rewardgym.envs.code.scoring`: a batch of completions graded (proxy, gold, exploits);
- :mod:`~rewardgym.envs.code.code_env`: ``rewardgym/Code-v0``;
- :mod:`~rewardgym.envs.code.rewards` and :mod:`~rewardgym.envs.code.adapters`: the same scores
  under any reward spec, and as TRL/verl/OpenRLHF reward functions;
- :mod:`~rewardgym.envs.code.dsl`: ``rewardgym/CodeDSL-v0``, a token-level list-processing DSL.
"""

from rewardgym.envs.code.code_env import CodeEnv, CodeVectorEnv, register_code_env
from rewardgym.envs.code.dsl import CODE_DSL, register_code_dsl_env
from rewardgym.envs.code.exploits import EXPLOITS, detect_exploits
from rewardgym.envs.code.graders import FLAWS, parse_grader, visible_score
from rewardgym.envs.code.pool import Program, SandboxPool, pool_isolation, run_many
from rewardgym.envs.code.sandbox import RunResult, SandboxUnavailableError, interpreter, isolation, run_python
from rewardgym.envs.code.scoring import grade_completions
from rewardgym.envs.code.scripted import CODE_AGENTS
from rewardgym.envs.code.tasks import (
    CodeTaskDataset,
    Grading,
    ProblemFileError,
    extract_code,
    grade,
    load_problems,
    make_prompt,
    run_tests,
)

__all__ = [
    "CODE_AGENTS",
    "CODE_DSL",
    "EXPLOITS",
    "FLAWS",
    "CodeEnv",
    "CodeTaskDataset",
    "CodeVectorEnv",
    "Grading",
    "Program",
    "ProblemFileError",
    "RunResult",
    "SandboxPool",
    "SandboxUnavailableError",
    "detect_exploits",
    "extract_code",
    "grade",
    "grade_completions",
    "interpreter",
    "isolation",
    "load_problems",
    "make_prompt",
    "parse_grader",
    "pool_isolation",
    "register_code_dsl_env",
    "register_code_env",
    "run_many",
    "run_python",
    "run_tests",
    "visible_score",
]
