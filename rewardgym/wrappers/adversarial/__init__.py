"""``adversarial``: reward poisoning, ``r' = r + delta`` with ``|delta| <= delta_max`` and a budget.

An attacker stands between the env and the agent and perturbs each reward it passes on, as in
the reward-poisoning literature (Ma et al., NeurIPS 2019, "Policy Poisoning in Batch
Reinforcement Learning and Control"; Zhang, Ma, Singla and Zhu, ICML 2020, "Adaptive
Reward-Poisoning Attacks against Reinforcement Learning"). Every kind shares three limits:

- ``delta_max`` (the paper's Delta): the per-step bound, ``|delta_t| <= delta_max``.
- ``budget`` (B): the total ``sum_t |delta_t|`` the attacker may ever spend, **per env** (each env
  of a vector env is its own attacker, as a vector env seeded ``s`` runs env ``i`` like a single
  env seeded ``s + i``) and **for the whole run**, as the total budget over training of Zhang et
  al. and Ma et al.: resets, episode ends and reseeding never refill it (call
  :meth:`RewardPoisoning.refill` to start a new run). The budget is never exceeded: the last
  delta is clamped to what remains, and after that the reward passes through unchanged.
  ``None`` (the default) means no limit.
- ``rate``: the probability that a step is attacked at all, drawn per env and per step from a
  :class:`~rewardgym.core.batch_random.BatchRandom` reseeded by ``reset(seed=...)``.

The kinds differ in the delta they aim for before those limits apply:

========== =====================================================================================
kind       delta on an attacked step (then clamped to the budget left)
========== =====================================================================================
untargeted ``clip(-2 (r - c), -delta_max, delta_max)``: flip the reward around a centre ``c``
           as far as ``delta_max`` allows (``c = 0``, or the running mean of the env's rewards).
targeted   ``+delta_max`` where the action is the target policy's ``pi_dagger(obs)``,
           ``-delta_max`` elsewhere (non-adaptive: a function of ``(s, a)`` only).
adaptive   as ``targeted``, but only where the learner's current choice in ``s`` is not yet
           ``pi_dagger(s)``; nothing is spent where it already is (Zhang et al. 2020).
========== =====================================================================================

``info()`` reports, per env: ``spent`` (cumulative), ``remaining`` (``budget - spent``, ``inf``
without a limit), ``delta`` (this step's) and ``attacked`` (the rate draw chose this step). The
shells put it in ``info["regime_info"]["adversarial"]``. Gold is never read or changed.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> env = gym.make("rewardgym/CartPole-v0", reward="adversarial(delta_max=0.5, budget=1.2)")
    >>> _ = env.reset(seed=0)
    >>> [env.step(0)[1] for _ in range(4)]
    [0.5, 0.5, 0.800000011920929, 1.0]
    >>> info = env.step(0)[4]
    >>> info["gold_reward"], info["regime_info"]["adversarial"]["spent"]
    (1.0, 1.2)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Union

import numpy as np
from gymnasium import spaces
from numba import njit

from rewardgym.core.arrays import (
    Array,
    float64,
    is_torch,
    minimum,
    take_per_row,
    to_numpy,
    where,
    zeros,
)
from rewardgym.core.batch_random import BatchRandom
from rewardgym.core.regime import EnvContext, Regime
from rewardgym.core.registry import make_kind, register_regime
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number
from rewardgym.wrappers.adversarial.text import TextPerturbation

PolicyFn = Callable[[Array], Any]
"""A policy over a batch: ``obs_batch -> actions (num_envs,)`` (or, for a learner, scores)."""

TargetSpec = Union[int, str, Sequence[int], PolicyFn]
"""``k`` or ``"always:k"`` (always action ``k``), a table ``[a_0, a_1, ...]`` indexed by a
Discrete observation, or a callable ``obs_batch -> action_batch``."""


class RewardPoisoning(Regime):
    """Base of the ``adversarial`` kinds: per-step bound, total budget per env, attack rate.

    A subclass says which delta it aims for (:meth:`aimed_delta`, within ``[-delta_max,
    delta_max]``); this class draws which steps are attacked, clamps to the budget left, skips
    autoreset steps (``valid=False``), and keeps the books that :meth:`info` reports.

    Args:
        delta_max: the per-step bound Delta, a finite number >= 0.
        budget: the total ``sum |delta|`` per env over the whole run, >= 0; ``None`` or ``inf``
            for no limit.
        rate: the probability in ``[0, 1]`` that a step is attacked.

    Example:
        >>> import gymnasium as gym, numpy as np, rewardgym
        >>> envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=2,
        ...                     reward="adversarial(delta_max=2, budget=3)")
        >>> _ = envs.reset(seed=0)
        >>> [envs.step(np.zeros(2, np.int64))[1].tolist() for _ in range(3)]
        [[-1.0, -1.0], [0.0, 0.0], [1.0, 1.0]]
    """

    name = "adversarial"

    def __init__(self, delta_max: float = 1.0, budget: float | None = None, rate: float = 1.0) -> None:
        self.delta_max = check_number(delta_max, "adversarial(delta_max=...)", low=0.0)
        if budget is None:
            budget = math.inf
        self.budget = check_number(
            budget,
            "adversarial(budget=...)",
            low=0.0,
            allow_inf=True,
            valid="a number >= 0, or None (or inf) for no limit",
        )
        self.rate = check_number(rate, "adversarial(rate=...)", low=0.0, high=1.0, valid="a probability in [0, 1]")
        self.context: EnvContext | None = None
        self._rng = BatchRandom()
        self._spent: Array | None = None
        self._report: dict[str, Array] = {}

    def bind(self, context: EnvContext) -> None:
        self.context = context

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        # The budget is for the whole run, so a reset only reseeds the attack's draws.
        if seed is not None:
            self._rng.seed(seed)

    def refill(self) -> None:
        """Give every env its whole budget back, e.g. before a new training run.

        Example:
            >>> import gymnasium as gym, rewardgym
            >>> from rewardgym.wrappers.adversarial import adversarial
            >>> attack = adversarial(budget=1.0)
            >>> env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), attack)
            >>> _ = env.reset(seed=0)
            >>> env.step(0)[1], env.step(0)[1]
            (0.0, 1.0)
            >>> attack.refill()
            >>> env.step(0)[1]
            0.0
        """
        self._spent = None

    def aimed_delta(self, batch: Transition) -> Array:
        """The delta of each env before the rate and the budget apply: float64, in the batch's
        kind and device, within ``[-delta_max, delta_max]``."""
        raise NotImplementedError

    def reward(self, batch: Transition) -> Array:
        reward = batch.reward
        if self._spent is None or tuple(self._spent.shape) != tuple(reward.shape):
            self._spent = zeros(reward, dtype="float64")
        flip = self._flips_around_zero() and type(reward) is np.ndarray
        aimed = None if flip else self.aimed_delta(batch)
        attacked = batch.valid
        if self.rate < 1.0:  # a draw per env costs a pass over the batch; rate 1 needs none
            attacked = (self._rng.uniform(like=reward) < self.rate) & attacked
        if type(reward) is np.ndarray and type(self._spent) is np.ndarray and reward.ndim == 1:
            return self._compiled_reward(reward, aimed, np.asarray(attacked))
        remaining = _clip_low(self.budget - self._spent, 0.0)
        size = minimum(abs(aimed), remaining) * attacked
        delta = _sign(aimed) * size
        # The min keeps the books within the budget even where rounding would nudge them over.
        self._spent = minimum(self._spent + size, self.budget)
        self._report = {
            "spent": self._spent,
            "remaining": _clip_low(self.budget - self._spent, 0.0),
            "delta": delta,
            "attacked": attacked,
        }
        return reward + _cast_like(delta, reward)

    def info(self) -> dict[str, Any]:
        return dict(self._report)

    def _flips_around_zero(self) -> bool:
        """Whether the aimed delta is ``clip(-2 r, -delta_max, delta_max)``, which the compiled
        path computes itself (the untargeted kind's default)."""
        return False

    def _compiled_reward(self, reward: np.ndarray, aimed: np.ndarray | None, attacked: np.ndarray) -> np.ndarray:
        """The budget's books and the poisoned reward in one compiled pass, on a numpy batch.

        The same arithmetic as the numpy/torch path of :meth:`reward`, which took ~8 numpy
        passes (~50 us at 4096 envs). Every reported array is new, so a caller may keep them.
        """
        n = reward.shape[0]
        spent, remaining, delta = np.empty(n), np.empty(n), np.empty(n)
        out = np.empty(n, reward.dtype)
        flip = aimed is None
        _poison_kernel(
            reward,
            np.zeros(1) if flip else np.asarray(aimed, dtype=np.float64),
            flip,
            self.delta_max,
            attacked,
            self.budget,
            self._spent,
            spent,
            remaining,
            delta,
            out,
        )
        self._spent = spent
        self._report = {"spent": spent, "remaining": remaining, "delta": delta, "attacked": attacked}
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(delta_max={self.delta_max}, budget={self.budget}, rate={self.rate})"


@njit(nogil=True, cache=True, inline="always")
def _nan_min(a, b):  # pragma: no cover (compiled)
    """np.minimum's rule: NaN wins (Python's min would drop it, hiding a NaN in the books)."""
    return a if a < b or a != a else b


@njit(nogil=True, cache=True, inline="always")
def _nan_max(a, b):  # pragma: no cover (compiled)
    return a if a > b or a != a else b


@njit(nogil=True, cache=True)
def _poison_kernel(
    reward, aimed, flip, delta_max, attacked, budget, spent_before, spent, remaining, delta, out
):  # pragma: no cover
    """:meth:`RewardPoisoning.reward`'s arithmetic per env: the delta aimed for (``flip``:
    ``clip(-2 r, -delta_max, delta_max)``, else ``aimed[i]``), clamped to the budget left, and
    the books after it."""
    for i in range(reward.shape[0]):
        if flip:
            a = _nan_min(_nan_max(-2.0 * float(reward[i]), -delta_max), delta_max)
        else:
            a = aimed[i]
        left = _nan_max(budget - spent_before[i], 0.0)
        size = _nan_min(abs(a), left) * attacked[i]
        sign = 1.0 if a > 0.0 else (-1.0 if a < 0.0 else a)  # np.sign: 0 stays 0, NaN stays NaN
        d = sign * size
        after = _nan_min(spent_before[i] + size, budget)
        spent[i] = after
        remaining[i] = _nan_max(budget - after, 0.0)
        delta[i] = d
        out[i] = reward[i] + np.float32(d)


class Untargeted(RewardPoisoning):
    """Works against whatever the reward says: flips it around a centre, within ``delta_max``.

    ``delta = clip(-2 (r - c), -delta_max, delta_max)``, so ``r' = c - (r - c)`` where the bound
    allows and ``r`` pushed ``delta_max`` towards (and past) ``c`` elsewhere: what was rewarded
    looks less good or punished, what was punished looks less bad or rewarded. It never spends
    more than the flip needs, and nothing on a reward equal to ``c``.

    Args:
        delta_max, budget, rate: see :class:`RewardPoisoning`.
        center: ``"zero"`` (``c = 0``: flip the reward's sign, which for CartPole's +1 per step
            makes staying alive costly and for MountainCar's -1 per step makes it pay), or
            ``"mean"`` (``c`` = the running mean of the env's rewards over the run, this step
            included: flip each reward's deviation from the usual, which leaves a constant
            reward alone and inverts which steps look better than average).

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> env = gym.make("rewardgym/MountainCar-v0",
        ...                reward="adversarial(kind='untargeted', delta_max=3)")
        >>> _ = env.reset(seed=0)
        >>> env.step(1)[1]  # -1 flipped: every step away from the flag now pays
        1.0
    """

    def __init__(
        self, delta_max: float = 1.0, budget: float | None = None, rate: float = 1.0, center: str = "zero"
    ) -> None:
        super().__init__(delta_max=delta_max, budget=budget, rate=rate)
        if center not in ("zero", "mean"):
            raise ValueError(f"adversarial(center=...) must be 'zero' or 'mean', got {center!r}")
        self.center = center
        self._mean: Array | None = None
        self._count: Array | None = None

    def _flips_around_zero(self) -> bool:
        return self.center == "zero"

    def refill(self) -> None:
        super().refill()
        self._mean = self._count = None

    def aimed_delta(self, batch: Transition) -> Array:
        reward = float64(batch.reward)
        if self.center == "mean":
            if self._mean is None or tuple(self._mean.shape) != tuple(reward.shape):
                self._mean, self._count = zeros(reward), zeros(reward)  # float64, as reward
            # Autoreset steps carry no real reward, so they leave the mean alone.
            count = self._count + batch.valid
            mean = self._mean + where(batch.valid, (reward - self._mean) / _clip_low(count, 1.0), 0.0)
            self._mean, self._count = mean, count
            reward = reward - mean
        return _clip(-2.0 * reward, self.delta_max)


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
            others = where(_one_hot(column, n_actions, like=scores), -math.inf, scores).max(1)
            others = others.values if is_torch(others) else others
            return chosen - others > self.margin
        raise ValueError(
            f"adversarial(kind='adaptive'): learner_policy(obs) returned shape "
            f"{tuple(preference.shape)}; expected actions ({n},) or scores ({n}, {n_actions})"
        )

    def aimed_delta(self, batch: Transition) -> Array:
        aimed = super().aimed_delta(batch)
        return where(self.learner_follows_target(batch), 0.0, aimed)


KINDS: dict[str, type[Regime]] = {
    "untargeted": Untargeted,
    "targeted": Targeted,
    "adaptive": Adaptive,
    "text": TextPerturbation,
}


def adversarial(kind: str = "untargeted", **params: Any) -> Regime:
    """The ``adversarial`` family: reward poisoning within a per-step bound and a total budget.

    Args:
        kind: ``"untargeted"`` (default), ``"targeted"`` or ``"adaptive"``; see the module's
            docstring and each kind's class for its rule and parameters.
        **params: the kind's parameters; an unknown one is refused with the valid ones.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), "adversarial(budget=0.2)")
        >>> _ = env.reset(seed=0)
        >>> env.step(0)[1], env.step(0)[1]  # 0.2 spent on the first step; then no budget left
        (0.800000011920929, 1.0)
    """
    return make_kind("adversarial", KINDS, kind, params)


register_regime("adversarial", adversarial, override=True)


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
        if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
            self.always = int(spec)
        elif isinstance(spec, str) and spec.startswith("always:") and _is_int(spec[len("always:") :]):
            self.always = int(spec[len("always:") :])
        elif (
            isinstance(spec, (list, tuple))
            and spec
            and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in spec)
        ):
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
        actions = _as_kind(self.fn(obs), like=like)
        if tuple(actions.shape) != (n,):
            raise ValueError(
                f"adversarial(target=...): the target policy returned shape {tuple(actions.shape)} "
                f"for {n} observations; expected one action per env, ({n},)"
            )
        return _actions(actions)


def _is_int(text: str) -> bool:
    return text.strip().lstrip("-").isdigit()


def _cast_like(x: Array, like: Array) -> Array:
    return x.to(like.dtype) if is_torch(like) else x.astype(like.dtype)


def _actions(x: Array) -> Array:
    """A batch of discrete actions as int64, one per env."""
    if is_torch(x):
        import torch

        return x.reshape(x.shape[0]).to(torch.int64)
    return np.asarray(x).reshape(len(x)).astype(np.int64, copy=False)


def _as_kind(x: Any, like: Array) -> Array:
    """``x`` (numpy, torch or a list) as an array of the kind and device of ``like``."""
    if is_torch(like):
        import torch

        return torch.as_tensor(x, device=like.device)
    return to_numpy(x) if is_torch(x) else np.asarray(x)


def _clip_low(x: Array, low: float) -> Array:
    return x.clamp(min=low) if is_torch(x) else np.maximum(x, low)


def _clip(x: Array, bound: float) -> Array:
    return x.clamp(-bound, bound) if is_torch(x) else np.clip(x, -bound, bound)


def _sign(x: Array) -> Array:
    return x.sign() if is_torch(x) else np.sign(x)


def _one_hot(column: Array, n: int, like: Array) -> Array:
    if is_torch(like):
        import torch

        return column.reshape(-1, 1) == torch.arange(n, device=like.device).reshape(1, -1)
    return column.reshape(-1, 1) == np.arange(n).reshape(1, -1)
