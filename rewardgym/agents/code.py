"""Scripted code agents as batched policies, where users of ``rewardgym.agents`` look for them.

The agents themselves (functions from a problem's text to a completion: ``oracle``,
``hardcoder``, ``exit_zero``, ``eq_override``, ``tamperer``, ``forger``) live with the code env, in
:mod:`rewardgym.envs.code.scripted`, beside the graders whose flaws they target.
:class:`CodePolicy` gives one the batched ``predict`` every rewardgym policy has, so that
:func:`~rewardgym.agents.evaluation.evaluate` and ``rewardgym.agents.scripted.SCRIPTED``
(``"oracle"``, and ``"hacker"``: the hardcoder, which every grader of the visible tests pays)
run it on ``rewardgym/Code-v0``.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> from rewardgym.agents.evaluation import evaluate
    >>> envs = gym.make_vec("rewardgym/Code-v0", num_envs=4, grader="hardened", reward="none")
    >>> returns = evaluate(CodePolicy("hardcoder").predict, envs)
    >>> returns["proxy"].tolist(), returns["gold"].tolist()
    ([1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rewardgym.envs.code.scripted import CODE_AGENTS, EXPLOIT_TARGETS

ROLES = {"oracle": "oracle", "hacker": "hardcoder"}
"""The scripted roles every hackable env offers, and the code agent that plays each."""


class CodePolicy:
    """A scripted code agent (:data:`CODE_AGENTS`) applied to a batch of problems.

    Example:
        >>> CodePolicy("exit_zero").predict(["def f(x):"])[0].splitlines()[1:3]
        ['import sys', 'sys.exit(0)']
    """

    def __init__(self, agent: str) -> None:
        if agent not in CODE_AGENTS:
            raise ValueError(f"unknown code agent {agent!r}; valid agents: {', '.join(CODE_AGENTS)}")
        self.agent = agent
        self._write = CODE_AGENTS[agent]

    def predict(self, obs: np.ndarray | Sequence[Any], deterministic: bool = True) -> np.ndarray:
        """One completion per problem text, as an object array (the agents are deterministic)."""
        completions = np.empty(len(obs), dtype=object)
        completions[:] = [self._write(str(problem)) for problem in obs]
        return completions


def code_policy(role: str) -> CodePolicy:
    """The policy of a scripted role (``"oracle"``, ``"hacker"``) or of a code agent by name.

    Example:
        >>> code_policy("hacker").agent
        'hardcoder'
    """
    return CodePolicy(ROLES.get(role, role))


__all__ = ["CODE_AGENTS", "EXPLOIT_TARGETS", "ROLES", "CodePolicy", "code_policy"]
