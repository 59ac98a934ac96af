"""Code environments: untrusted programs graded by tests. For now, the sandbox every grader uses."""

from rewardgym.envs.code.sandbox import RunResult, SandboxUnavailableError, interpreter, isolation, run_python

__all__ = ["RunResult", "SandboxUnavailableError", "interpreter", "isolation", "run_python"]
