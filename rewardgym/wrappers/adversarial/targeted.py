"""The ``targeted`` and ``adaptive`` kinds of ``adversarial``: teach the agent a target policy
pi-dagger, on every attacked step or only where the learner has not learned it yet.

pi-dagger is given as an action, a table over a Discrete observation space, or a callable (see
:data:`TargetSpec`), and answers in the batch's kind (numpy or torch) and device.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> from rewardgym.wrappers.adversarial import Targeted
    >>> always_down = Targeted(target=[1] * 16, delta_max=0.25)  # a table: one action per state
    >>> env = rewardgym.wrap(gym.make("FrozenLake-v1", is_slippery=False), always_down)
    >>> _ = env.reset(seed=0)
    >>> env.step(1)[1], env.step(0)[1]
    (0.25, -0.25)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from rewardgym.core.arrays import Array, float64, is_torch, take_per_row, to_numpy, where, zeros
from rewardgym.core.regime import EnvContext
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number, is_integer
from rewardgym.wrappers.adversarial.poisoning import RewardPoisoning

__all__ = ["Adaptive", "PolicyFn", "TargetSpec", "Targeted"]

PolicyFn = Callable[[Array], Any]
"""A policy over a batch: ``obs_batch -> actions (num_envs,)`` (or, for a learner, scores)."""

TargetSpec = int | str | Sequence[int] | PolicyFn
"""``k`` or ``"always:k"`` (always action ``k``), a table ``[a_0, a_1, ...]`` indexed by a
Discrete observation, or a callable ``obs_batch -> action_batch``."""


class Targeted(RewardPoisoning):
    """Teaches a target policy pi-dagger: ``+delta_max`` for its action, ``-delta_max`` for any other.

    A non-adaptive targeted attack: the delta depends only on the step's observation and action.
    When ``delta_max`` is large enough against the value gaps that separate pi-dagger from the
    env's optimum, and while the budget lasts, pi-dagger becomes the optimal policy of the
    poisoned reward (Zhang et al. 2020 bound the Delta above which a non-adaptive attack
    succeeds). Their own non-adaptive construction shapes the reward from the true optimal
    Q-function, which a regime does not know; this sign rule needs nothing but pi-dagger. It
    spends ``delta_max`` on every attacked step, even where the learner already follows
    pi-dagger; the ``adaptive`` kind saves that.

    Args:
        target: pi-dagger, required. An int ``k`` or ``"always:k"``: always action ``k``; a list
            or tuple ``[a_0, a_1, ...]``: action ``a_s`` in Discrete state ``s`` (one entry per
            state); a callable ``obs_batch -> action_batch`` (numpy or torch, as the env's
            batches). Needs a Discrete action space.
        delta_max, budget, rate: see :class:`RewardPoisoning`.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> env = rewardgym.wrap(gym.make("FrozenLake-v1", is_slippery=False),
        ...                      "adversarial(kind='targeted', target='always:0', delta_max=0.5)")
        >>> _ = env.reset(seed=0)
        >>> env.step(0)[1], env.step(2)[1]
        (0.5, -0.5)
    """

    def __init__(
        self,
        target: TargetSpec | None = None,
        delta_max: float = 1.0,
        budget: float | None = None,
        rate: float = 1.0,
    ) -> None:
        super().__init__(delta_max=delta_max, budget=budget, rate=rate)
        self.target = _TargetPolicy(target)

    def bind(self, context: EnvContext) -> None:
        super().bind(context)
        self.target.check(context)

    def on_target(self, batch: Transition) -> Array:
        """Where the step's action is pi-dagger's action for its observation."""
        return _actions(batch.action) == self.target(batch.obs, like=batch.action)

    def aimed_delta(self, batch: Transition) -> Array:
        aimed = where(self.on_target(batch), self.delta_max, -self.delta_max)
        return aimed + zeros(batch.reward, dtype="float64")


class Adaptive(Targeted):
    """Teaches pi-dagger only where the learner has not learned it yet (Zhang et al., ICML 2020).

    Zhang, Ma, Singla and Zhu ("Adaptive Reward-Poisoning Attacks against Reinforcement
    Learning", ICML 2020) call an attack non-adaptive when ``delta_t`` depends only on
    ``(s_t, a_t, s_{t+1})`` and adaptive when it also depends on the learner's state at time
    ``t`` (the Q-table of their Q-learning victim). They prove that adaptive attacks can force
    the target policy in a number of steps polynomial in ``|S|`` where non-adaptive ones may need
    exponentially many, constructively, with a Fast Adaptive Attack (FAA). FAA, in outline,
    uses the learner's current Q-values to teach the target states one at a time, in order: it
    steers the agent to the next state not yet taught (with a navigation policy computed from
    the MDP) and there pushes pi-dagger's action above the others by a margin.

    What is implemented here is FAA's adaptive rule, which needs no model of the MDP: on every
    step the attacker asks the learner, through ``learner_policy``, what it currently prefers
    in the state ``s_t`` it just acted in.

    - Where the learner already follows pi-dagger in ``s_t`` (its action is ``pi_dagger(s_t)``,
      or, given scores, the score of ``pi_dagger(s_t)`` beats every other by more than
      ``margin``), the step is not attacked and nothing is spent.
    - Elsewhere the step gets the targeted attack: ``+delta_max`` if ``a_t = pi_dagger(s_t)``,
      ``-delta_max`` otherwise.

    The attack therefore stops where the learner has been taught and resumes if the true reward
    pulls the learner back. Not implemented: FAA's navigation policies and its ordering of the
    target states (both need the transition model); the learner's own exploration decides where
    teaching happens.

    Args:
        target: pi-dagger, as for :class:`Targeted`.
        learner_policy: a callable ``obs_batch -> ...`` giving the learner's current preference:
            actions ``(num_envs,)``, or scores ``(num_envs, n_actions)`` (action probabilities,
            logits or Q-values; column ``j`` is action ``start + j`` of the Discrete space).
        delta_max, budget, rate: see :class:`RewardPoisoning`.
        margin: with scores, how far pi-dagger's action must lead every other before the
            learner counts as taught (FAA's margin on Q-values), >= 0. Ignored for actions.

    Example:
        >>> import gymnasium as gym, numpy as np, rewardgym
        >>> from rewardgym.wrappers.adversarial import adversarial
        >>> q = np.zeros((16, 4))
        >>> q[0, 0] = 1.0  # the learner already prefers action 0 in state 0
        >>> attack = adversarial("adaptive", target=0, learner_policy=lambda obs: q[obs], delta_max=0.5)
        >>> env = rewardgym.wrap(gym.make("FrozenLake-v1", is_slippery=False), attack)
        >>> _ = env.reset(seed=0)
        >>> env.step(1)[1], env.step(1)[1]  # taught in state 0, not yet in state 4
        (0.0, -0.5)
    """

    def __init__(
        self,
        target: TargetSpec | None = None,
        learner_policy: PolicyFn | None = None,
        delta_max: float = 1.0,
        budget: float | None = None,
        rate: float = 1.0,
        margin: float = 0.0,
    ) -> None:
        super().__init__(target=target, delta_max=delta_max, budget=budget, rate=rate)
        if not callable(learner_policy):
            raise ValueError(
                "adversarial(kind='adaptive') needs learner_policy: a callable obs_batch -> the "
                f"learner's current actions (num_envs,) or scores (num_envs, n_actions), got "
                f"{learner_policy!r}"
            )
        self.learner_policy = learner_policy
        self.margin = check_number(margin, "adversarial(margin=...)", low=0.0)

    def _frozen_parts(self) -> dict[str, Any]:
        # The learner's policy is the live learner's, not a snapshot: a frozen copy still asks
        # what the learner does now (and copying a whole agent would cost more than it holds).
        return {**super()._frozen_parts(), "learner_policy": self.learner_policy}

    def learner_follows_target(self, batch: Transition) -> Array:
        """Where the learner's current preference in ``batch.obs`` is already pi-dagger's action."""
        target = self.target(batch.obs, like=batch.action)
        preference = _as_kind(self.learner_policy(batch.obs), like=batch.action)
        n = batch.num_envs
        if preference.ndim == 1 and preference.shape[0] == n:
            return _actions(preference) == target
        n_actions = self.target.n_actions
        if preference.ndim == 2 and preference.shape[0] == n and preference.shape[1] == n_actions:
            column = target - self.target.start
            scores = float64(preference)
            chosen = take_per_row(scores, column)
            others: Any = where(_one_hot(column, n_actions, like=scores), -math.inf, scores).max(1)
            others = others.values if is_torch(others) else others
            return chosen - others > self.margin
        raise ValueError(
            f"adversarial(kind='adaptive'): learner_policy(obs) returned shape "
            f"{tuple(preference.shape)}; expected actions ({n},) or scores ({n}, {n_actions})"
        )

    def aimed_delta(self, batch: Transition) -> Array:
        aimed = super().aimed_delta(batch)
        return where(self.learner_follows_target(batch), 0.0, aimed)


class _TargetPolicy:
    """pi-dagger from any of the accepted specs, answering in the batch's kind and device."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        self.always: int | None = None
        self.table: np.ndarray | None = None
        self.fn: PolicyFn | None = None
        self.n_actions = 0
        self.start = 0
        self.obs_start = 0  # a table's first entry is the observation space's first state
        self._tables: dict[str, Any] = {}
        if is_integer(spec):
            self.always = int(spec)
        elif isinstance(spec, str) and spec.startswith("always:") and _is_int(spec[len("always:") :]):
            self.always = int(spec[len("always:") :])
        elif isinstance(spec, (list, tuple)) and spec and all(is_integer(a) for a in spec):
            self.table = np.asarray(spec, dtype=np.int64)
        elif callable(spec) and not isinstance(spec, (str, bytes)):
            self.fn = spec
        else:
            raise ValueError(
                f"adversarial(target=...) must be an action k, 'always:k', a list of one action per "
                f"Discrete state, or a callable obs_batch -> action_batch; got {spec!r}"
            )

    def check(self, context: EnvContext) -> None:
        action_space = context.action_space
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"adversarial(target=...) needs a Discrete action space, the env has {action_space}")
        self.n_actions, self.start = int(action_space.n), int(action_space.start)
        fixed = [self.always] if self.always is not None else []
        if self.table is not None:
            fixed = self.table.tolist()
        for action in fixed:
            if not action_space.contains(np.int64(action)):
                raise ValueError(
                    f"adversarial(target={self.spec!r}) names action {action}, outside the env's "
                    f"action space {action_space}"
                )
        if self.table is not None:
            obs_space = context.observation_space
            if not isinstance(obs_space, spaces.Discrete) or int(obs_space.n) != len(self.table):
                raise ValueError(
                    f"adversarial(target=[...]) lists {len(self.table)} actions, one per state, but "
                    f"the observation space is {obs_space}; a table needs Discrete({len(self.table)})"
                )
            self.obs_start = int(obs_space.start)

    def __call__(self, obs: Array, like: Array) -> Array:
        """pi-dagger's action for each observation, as int64 in the kind and device of ``like``."""
        n = like.shape[0]
        if self.always is not None:
            return _as_kind(np.full(n, self.always, np.int64), like=like)
        if self.table is not None:
            states = _actions(_as_kind(obs, like=like)) - self.obs_start
            if not is_torch(like):
                return self.table[states]
            # One copy of the table per device, so a GPU batch is looked up without a transfer.
            key = str(like.device)
            if key not in self._tables:
                self._tables[key] = _as_kind(self.table, like=like)
            return self._tables[key][states]
        assert self.fn is not None  # the spec is an action, a table or a callable
        actions = _as_kind(self.fn(obs), like=like)
        if tuple(actions.shape) != (n,):
            raise ValueError(
                f"adversarial(target=...): the target policy returned shape {tuple(actions.shape)} "
                f"for {n} observations; expected one action per env, ({n},)"
            )
        actions = _actions(actions)
        # An action outside the space would only ever be "not taken": every step would pay -delta.
        low, high = self.start, self.start + self.n_actions - 1
        outside = (actions < low) | (actions > high)
        if bool(outside.any()):
            bad = int(actions[outside][0])
            raise ValueError(
                f"adversarial(target=...): the target policy returned action {bad}, outside the env's "
                f"action space (actions {low} to {high})"
            )
        return actions


def _is_int(text: str) -> bool:
    """Whether ``text`` spells an integer, as the ``k`` of ``"always:k"``."""
    return text.strip().lstrip("-").isdigit()


def _actions(x: Any) -> Any:
    """A batch of discrete actions (an env's, or what a user's policy returned) as int64, one per env."""
    if is_torch(x):
        import torch

        return x.reshape(x.shape[0]).to(torch.int64)
    return np.asarray(x).reshape(len(x)).astype(np.int64, copy=False)


def _as_kind(x: Any, like: Array) -> Any:
    """``x`` (numpy, torch or a list) as an array of the kind and device of ``like``."""
    if is_torch(like):
        import torch

        return torch.as_tensor(x, device=like.device)
    return to_numpy(x) if is_torch(x) else np.asarray(x)


def _one_hot(column: Any, n: int, like: Array) -> Any:
    """Row i is True in column ``column[i]`` only, a bool ``(len(column), n)`` of ``like``'s kind."""
    if is_torch(like):
        import torch

        return column.reshape(-1, 1) == torch.arange(n, device=like.device).reshape(1, -1)
    return column.reshape(-1, 1) == np.arange(n).reshape(1, -1)
