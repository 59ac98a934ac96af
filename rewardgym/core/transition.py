"""The batched transition that every reward regime receives."""

from __future__ import annotations

from typing import NamedTuple

from rewardgym.core.arrays import Array


class Transition(NamedTuple):
    """One step of ``num_envs`` environments, as a reward regime sees it.

    Everything but ``gold`` is something an agent could see (docs/design.md, contract point 3).
    A single env is a batch of one. Arrays are numpy on the CPU and torch tensors on the GPU.

    Attributes:
        obs: observations before the step, shape ``(num_envs, *obs_shape)``.
        action: the actions taken, shape ``(num_envs, *action_shape)``.
        next_obs: the real observations after the step. At an episode's end this is the final
            observation, never the first observation of the next episode, in every autoreset mode.
        reward: the reward entering this layer (the env's reward for the first layer), ``(num_envs,)``.
        terminated: the episode reached a terminal state, ``(num_envs,)`` bool.
        truncated: the episode was cut short (time limit), ``(num_envs,)`` bool.
        valid: False where the step was not a real transition, namely the autoreset step of a
            NEXT_STEP vector env, whose action was ignored. Regimes must not learn from those
            entries; the shells pass the reward through unchanged there.
        gold: the step's gold reward ``(num_envs,)``. Only a labeler that simulates a human (the
            synthetic preference oracle of a learned reward) may read it, and it must say so in its
            docstring; every other regime must ignore it. None when the shell has none to give.

    Example:
        >>> import numpy as np
        >>> t = Transition(obs=np.zeros((2, 4)), action=np.array([0, 1]), next_obs=np.ones((2, 4)),
        ...                reward=np.ones(2, np.float32), terminated=np.array([False, True]),
        ...                truncated=np.zeros(2, bool), valid=np.ones(2, bool))
        >>> t.num_envs, t.done.tolist()
        (2, [False, True])
    """

    obs: Array
    action: Array
    next_obs: Array
    reward: Array
    terminated: Array
    truncated: Array
    valid: Array
    gold: Array | None = None

    @property
    def num_envs(self) -> int:
        """How many environments the batch holds."""
        return int(self.reward.shape[0])

    @property
    def done(self) -> Array:
        """Episodes that ended on this step, by termination or truncation."""
        return self.terminated | self.truncated

    def replace(self, **changes: Array) -> Transition:
        """A copy with some fields changed, e.g. the reward after an earlier layer."""
        # A NamedTuple rather than a frozen dataclass: its _replace costs a fraction of
        # dataclasses.replace, and the pipeline replaces the reward once per layer per step.
        return self._replace(**changes)
