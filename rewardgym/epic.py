"""EPIC: a distance between two rewards of the same env that ignores potential shaping and scale.

EPIC (Equivalent-Policy Invariant Comparison; Gleave et al. 2021, "Quantifying Differences in
Reward Functions", ICLR) compares two rewards without training a policy on either:

1. **Canonicalize** each reward over a distribution ``D`` of ``(A, S')`` pairs, which removes any
   potential shaping: ``C(R)(s, a, s') = R(s, a, s') + gamma * E[R(s', A, S')] - E[R(s, A, S')]
   - gamma * E[R(S, A, S')]``, with ``S`` and ``S'`` drawn from the same state samples.
2. **Compare** the canonical rewards on a coverage distribution of transitions with the Pearson
   distance ``sqrt((1 - rho) / 2)``, which ignores positive rescaling and constant offsets.

The distance is 0 for rewards that differ only by potential shaping and positive scale (so they
induce the same optimal policies in every MDP with these states and actions), 1 for a reward
against its negation, and about 0.7 for unrelated rewards.

How the expectations are estimated follows the reference implementation's sample-based
canonicalization (``sample_canon_shaping`` in HumanCompatibleAI/evaluating-rewards):

- the **coverage** transitions ``(s, a, s')`` are what a uniformly random policy meets in the env
  (:func:`sample_transitions`), or any :class:`TransitionSamples` of your own, e.g. a trained
  policy's rollouts;
- ``D`` holds ``n_mean_samples`` pairs ``(A, S')``: ``S'`` drawn from the coverage next
  observations and ``A``, independently, from the coverage actions, so ``D`` is the product of
  the coverage marginals. ``E[R(x, A, S')]`` is the mean over ``D`` of ``R(x, A_j, S'_j)``, for
  every distinct ``x`` among the coverage ``s``, ``s'`` and ``D``'s ``S'``; ``E[R(S, A, S')]``
  averages those means over ``D``'s ``S'``. The same ``D`` serves both rewards (common random
  numbers), and because the three means share it, ``C(R + gamma Phi(s') - Phi(s)) = C(R)``
  exactly, not only in expectation;
- EPIC is defined for infinite horizons, so transitions are scored as never terminating
  (``terminated=False``; the reference does the same), which is also where potential shaping
  keeps ``Phi(s')``.

**Any reward of a rewardgym env.** A reward is anything :func:`rewardgym.resolve_reward_spec`
takes (a spec string such as ``"shaped"``, a :class:`~rewardgym.Regime`, a callable of the
:class:`~rewardgym.Transition` batch, a list of these) or ``"none"``, the env's own reward.
Regimes are copied, bound to the evaluation batch (``EnvContext(num_envs=batch_size, ...)``,
with the env's id, so built-in potentials are found), reset with ``seed``, switched to
evaluation (no ``update``), and called on ``Transition`` batches whose ``reward`` is the env's
own reward of each transition, as in an env. Batches are numpy arrays (``device="cpu"``); a
reward may compute in torch and return a tensor.

**The env's own reward at transitions no one sampled.** Canonicalization needs ``R(s', A, S')``
for pairs that never occurred. rewardgym's control tasks have deterministic dynamics and a
reward computed by the task's step from ``(s, a)``, so this module evaluates the env's reward as
``R(s, a, s') := step(s, a).reward``: it writes the states of the observations into a batched
vector env's :attr:`~rewardgym.envs.batched.BatchedVectorEnv.state` and steps it with the
actions (SAME_STEP autoreset, so a terminal step is never followed by a reward-free reset step).
For the true successor ``s' = f(s, a)`` this is exactly the env's reward; for impossible
combinations it extends the reward as a function of ``(s, a)``, which is how these envs define
it. States come from observations by :data:`STATE_FROM_OBS` (the identity where the observation
is the state; angles from their cosines and sines for Pendulum and Acrobot).

A reward whose canonical form is constant over the coverage (CartPole's and MountainCar's own
+1/-1 per step, or a potential shaping of a constant) makes every policy optimal and has no
correlation with anything: EPIC is undefined there, and :func:`epic_distance` raises rather than
return NaN.

Example:
    >>> import rewardgym
    >>> from rewardgym.epic import epic_distance
    >>> sizes = dict(n_samples=256, n_mean_samples=32, batch_size=256)
    >>> env = "rewardgym/Pendulum-v0"
    >>> round(epic_distance("none", "shaped(gamma=0.9)+scale(factor=3)", env, gamma=0.9, **sizes), 4)
    0.0
    >>> round(epic_distance("none", "scale(factor=-1)", env, gamma=0.9, **sizes), 4)
    1.0
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rewardgym.core.arrays import to_numpy
from rewardgym.core.pipeline import RewardPipeline
from rewardgym.core.regime import EnvContext, Regime
from rewardgym.core.spec import RewardSpec, resolve_reward_spec
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number
from rewardgym.envs.batched import BatchedTask, BatchedVectorEnv
from rewardgym.envs.batched.task import observe_state
from rewardgym.envs.batched.vector_env import SERIAL_BELOW
from rewardgym.envs.registration import ENV_IDS, TASKS

DEFAULT_GAMMA = 0.99
"""The default discount: the ``shaped`` family's default, so ``"shaped"`` is removed exactly."""

CONSTANT_TOLERANCE = 1e-5
"""A canonical reward whose spread is below this fraction of the rewards' magnitude is constant.

Rewards are float32 (the reward contract's dtype), so a reward that is a potential shaping of a
constant canonicalizes to float32 round-off (about 1e-7 of its magnitude), not to exact zeros.
"""


# ---------------------------------------------------------------------------------------------
# Transitions: the coverage distribution.
# ---------------------------------------------------------------------------------------------


class TransitionSamples(NamedTuple):
    """Transitions ``(s, a, s')`` of one env: EPIC's coverage distribution.

    Attributes:
        obs: observations before each step, ``(n, *obs_shape)`` float32.
        action: the actions, ``(n, *action_shape)`` (int64 for ``Discrete``, float32 for ``Box``).
        next_obs: the real observations after each step (the final one at an episode's end).
        env_id: the rewardgym env id they come from, e.g. ``"rewardgym/Pendulum-v0"``.
    """

    obs: np.ndarray
    action: np.ndarray
    next_obs: np.ndarray
    env_id: str

    @property
    def num_samples(self) -> int:
        """How many transitions there are."""
        return int(self.obs.shape[0])


def sample_transitions(env_id: str, n_samples: int = 4096, *, seed: int = 0, num_envs: int = 16) -> TransitionSamples:
    """``n_samples`` transitions that a uniformly random policy meets in a rewardgym env.

    ``num_envs`` envs (more if ``n_samples`` needs them) run for one whole time limit
    (``max_episode_steps``) from their first reset, so every phase of an episode shows up as often
    as the random policy visits it; ``n_samples`` of the recorded transitions are then drawn
    without replacement. The loop is over steps, each a batched step of every env.

    Example:
        >>> samples = sample_transitions("rewardgym/CartPole-v0", 100, seed=0)
        >>> samples.obs.shape, samples.action.shape, samples.next_obs.shape, samples.env_id
        ((100, 4), (100,), (100, 4), 'rewardgym/CartPole-v0')
    """
    task = _task_of(env_id)
    n_samples = _check_count(n_samples, "sample_transitions: n_samples", low=1)
    num_envs = _check_count(num_envs, "sample_transitions: num_envs", low=1)
    seed = _check_seed(seed, "sample_transitions")
    steps = task.max_episode_steps
    num_envs = max(num_envs, math.ceil(n_samples / steps))
    env = BatchedVectorEnv(task, num_envs, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    rng = np.random.default_rng(seed)
    obs_shape: tuple[int, ...] = task.observation_space.shape or ()
    action_shape: tuple[int, ...] = task.action_space.shape or ()
    all_obs = np.empty((steps, num_envs, *obs_shape), np.float32)
    all_next = np.empty_like(all_obs)
    all_actions: np.ndarray = np.empty((steps, num_envs, *action_shape), task.action_dtype)
    obs, _ = env.reset(seed=seed)
    for t in range(steps):
        actions = _random_actions(task.action_space, num_envs, rng)
        next_obs, _, _, _, info = env.step(actions)
        all_obs[t], all_actions[t] = obs, actions
        # SAME_STEP mode's final_obs holds every env's real next observation, also at an end.
        all_next[t] = info["final_obs"]
        obs = next_obs
    chosen = rng.choice(steps * num_envs, size=n_samples, replace=False)
    return TransitionSamples(
        obs=all_obs.reshape(-1, *obs_shape)[chosen],
        action=all_actions.reshape(-1, *action_shape)[chosen],
        next_obs=all_next.reshape(-1, *obs_shape)[chosen],
        env_id=ENV_IDS[task.name],
    )


def _random_actions(space: gym.Space, n: int, rng: np.random.Generator) -> np.ndarray:
    if isinstance(space, spaces.Discrete):
        return rng.integers(space.start, space.start + space.n, size=n, dtype=np.int64)
    assert isinstance(space, spaces.Box), "a batched task acts in a Discrete or Box space"
    low = np.broadcast_to(space.low, space.shape)
    high = np.broadcast_to(space.high, space.shape)
    return rng.uniform(low, high, size=(n, *space.shape)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Evaluating a reward at arbitrary transitions.
# ---------------------------------------------------------------------------------------------


def _angles_state(angle_pairs: int) -> Callable[[np.ndarray], np.ndarray]:
    # Observations (cos t_1, sin t_1, ..., cos t_k, sin t_k, speeds...) -> (t_1..t_k, speeds...).
    def state_from_obs(obs: np.ndarray) -> np.ndarray:
        obs = obs.astype(np.float64)
        angles = np.arctan2(obs[:, 1 : 2 * angle_pairs : 2], obs[:, 0 : 2 * angle_pairs : 2])
        return np.concatenate([angles, obs[:, 2 * angle_pairs :]], axis=1)

    return state_from_obs


STATE_FROM_OBS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "Pendulum": _angles_state(1),  # (cos th, sin th, thdot) -> (th, thdot)
    "Acrobot": _angles_state(2),  # (cos t1, sin t1, cos t2, sin t2, dt1, dt2) -> (t1, t2, dt1, dt2)
}
"""How to recover a task's simulator state from an observation batch, by task name.

Tasks whose observation is their state (``observe=observe_state``: CartPole, MountainCar,
MountainCarContinuous) need no entry. A task with neither cannot have its own reward evaluated
at arbitrary observations; rewards that ignore ``batch.reward`` still need the entry, since the
env's reward is what a regime's batch carries.
"""


def _state_from_obs(task: BatchedTask) -> Callable[[np.ndarray], np.ndarray]:
    if task.name in STATE_FROM_OBS:
        return STATE_FROM_OBS[task.name]
    if task.observe is observe_state:
        return lambda obs: obs.astype(np.float64)
    raise ValueError(
        f"EPIC cannot evaluate the own reward of {ENV_IDS.get(task.name, task.name)!r} at arbitrary "
        "observations: its simulator state cannot be read back from an observation. Tasks it "
        f"can: those whose observation is their state and {', '.join(sorted(STATE_FROM_OBS))}; "
        "add an entry to rewardgym.epic.STATE_FROM_OBS for another"
    )


class _EnvReward:
    """The env's own reward (and gold) of arbitrary ``(s, a)``, for batches of ``batch_size``.

    The task's step runs on a vector env of at most ``SERIAL_BELOW - 1`` envs, so the engine
    picks its one-thread kernel, stepped over the batch in slices of that size. EPIC makes
    thousands of such calls; a thread pool's wake-up on each one cost 5-10x more than the serial
    kernel's whole work on a loaded 2-core machine (as in a sweep, whose workers share the
    cores), and on many idle cores the serial kernel is still a small part of the time.
    """

    def __init__(self, task: BatchedTask, batch_size: int) -> None:
        self.slice = min(batch_size, SERIAL_BELOW - 1)
        self.state_from_obs = _state_from_obs(task)
        # SAME_STEP: an episode that ends is reset within the step, so no later slice meets a
        # NEXT_STEP reset step (reward 0, action ignored).
        self.env = BatchedVectorEnv(task, self.slice, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
        self.env.reset(seed=0)

    def __call__(self, obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = obs.shape[0]
        reward, gold = np.empty(n, np.float32), np.empty(n, np.float32)
        state = self.state_from_obs(obs)
        for start in range(0, n, self.slice):
            used = min(self.slice, n - start)
            rows = slice(start, start + used)
            if used < self.slice:
                # The last slice is padded with the batch's final row, and the padding dropped.
                rows = np.minimum(np.arange(start, start + self.slice), n - 1)
            self.env.state[...] = state[rows]
            _, step_reward, _, _, info = self.env.step(action[rows])
            reward[start : start + used] = step_reward[:used]
            gold[start : start + used] = info["gold_reward"][:used]
        return reward, gold


class _RewardFunction:
    """One reward spec as a function of transition batches of exactly ``batch_size`` rows."""

    def __init__(self, spec: RewardSpec, env_id: str, batch_size: int, seed: int) -> None:
        task = _task_of(env_id)
        regimes = [_private_copy(regime) for regime in resolve_reward_spec(spec)]
        for regime in regimes:
            # EPIC compares rewards as fixed functions: nothing learns from its made-up batches.
            regime.train(False)
        self.pipeline = RewardPipeline(regimes)
        self.pipeline.bind(
            EnvContext(
                num_envs=batch_size,
                observation_space=task.observation_space,
                action_space=task.action_space,
                device="cpu",
                env_id=env_id,
            )
        )
        self.pipeline.reset(seed=seed)
        self.never = np.zeros(batch_size, bool)
        self.always = np.ones(batch_size, bool)

    def __call__(
        self,
        obs: np.ndarray,
        action: np.ndarray,
        next_obs: np.ndarray,
        env_reward: np.ndarray,
        gold: np.ndarray,
    ) -> np.ndarray:
        batch = Transition(
            obs=obs,
            action=action,
            next_obs=next_obs,
            reward=env_reward,
            terminated=self.never,
            truncated=self.never,
            valid=self.always,
            gold=gold,
        )
        value, _, _ = self.pipeline.apply(batch, {"env": env_reward})
        return to_numpy(value).astype(np.float64)


def _private_copy(regime: Regime) -> Regime:
    # A regime may be in use in an env: binding it to EPIC's batch size and switching off its
    # training must not change that env's regime.
    try:
        return copy.deepcopy(regime)
    except Exception as exc:  # noqa: BLE001 (any failure to copy means the same thing)
        raise TypeError(
            f"EPIC copies each regime before binding it to its evaluation batch, and "
            f"{regime!r} cannot be copied ({exc}); pass a fresh regime or a spec string"
        ) from exc


class _Evaluator:
    """Evaluates several rewards on the same transitions, ``batch_size`` rows at a time.

    The env's own reward of each batch is computed once and handed to every reward.
    """

    def __init__(self, env_reward: _EnvReward, fns: list[_RewardFunction], batch_size: int) -> None:
        self.env_reward = env_reward
        self.fns = fns
        self.batch_size = batch_size

    def _evaluate(self, obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray) -> list[np.ndarray]:
        env_reward, gold = self.env_reward(obs, action)
        return [fn(obs, action, next_obs, env_reward, gold) for fn in self.fns]

    def rows(self, obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray) -> list[np.ndarray]:
        """Each reward at the rows ``(obs[i], action[i], next_obs[i])``."""
        n = obs.shape[0]
        out = [np.empty(n, np.float64) for _ in self.fns]
        for start in range(0, n, self.batch_size):
            index = self._index(start, n)
            used = min(self.batch_size, n - start)
            for result, value in zip(out, self._evaluate(obs[index], action[index], next_obs[index])):
                result[start : start + used] = value[:used]
        return out

    def means(self, points: np.ndarray, pair_action: np.ndarray, pair_next_obs: np.ndarray) -> list[np.ndarray]:
        """Each reward's mean over pairs ``j`` of ``R(points[i], pair_action[j], pair_next_obs[j])``.

        The ``len(points) * len(pairs)`` combinations are walked in flat batches: row ``k`` is
        point ``k // m`` with pair ``k % m``, and ``bincount`` sums each point's rows.
        """
        u, m = points.shape[0], pair_action.shape[0]
        total = u * m
        sums = [np.zeros(u, np.float64) for _ in self.fns]
        for start in range(0, total, self.batch_size):
            flat = self._index(start, total)
            point, pair = flat // m, flat % m
            used = min(self.batch_size, total - start)
            values = self._evaluate(points[point], pair_action[pair], pair_next_obs[pair])
            for result, value in zip(sums, values):
                result += np.bincount(point[:used], weights=value[:used], minlength=u)
        return [s / m for s in sums]

    def _index(self, start: int, n: int) -> np.ndarray:
        # Every call gets exactly batch_size rows (regimes are bound to that many envs); the last
        # batch repeats its final row, and the padding's rewards are dropped.
        return np.minimum(np.arange(start, start + self.batch_size), n - 1)


# ---------------------------------------------------------------------------------------------
# Canonicalization and the distance.
# ---------------------------------------------------------------------------------------------


class _Canonical(NamedTuple):
    reward: np.ndarray
    magnitude: float  # the largest |reward| that entered, the scale of float32 round-off


def _canonicalize_all(
    rewards: list[RewardSpec],
    samples: TransitionSamples,
    gamma: float,
    n_mean_samples: int,
    seed: int,
    batch_size: int,
) -> list[_Canonical]:
    task = _task_of(samples.env_id)
    n = samples.num_samples
    # No batch larger than all the evaluations needed: regimes are bound to this many envs.
    batch_size = min(batch_size, max(n, (n_mean_samples + 2 * n) * n_mean_samples))
    fns = [_RewardFunction(spec, samples.env_id, batch_size, seed) for spec in rewards]
    evaluator = _Evaluator(_EnvReward(task, batch_size), fns, batch_size)

    # D: pairs (A, S') from the coverage marginals, drawn independently of each other.
    rng = np.random.default_rng([seed, 1])
    replace = n_mean_samples > n
    pair_next_obs = samples.next_obs[rng.choice(n, n_mean_samples, replace=replace)]
    pair_action = samples.action[rng.choice(n, n_mean_samples, replace=replace)]

    raw = evaluator.rows(samples.obs, samples.action, samples.next_obs)
    # Means are needed from D's S' (for E[R(S, A, S')]) and from every coverage s and s'. An
    # observation often appears more than once (D's S' are coverage s'; one step's s' is the
    # next step's s), so each distinct one is computed once.
    every_obs = np.concatenate([pair_next_obs, samples.obs, samples.next_obs], axis=0)
    points, which = np.unique(every_obs, axis=0, return_inverse=True)
    which = which.reshape(-1)
    means = evaluator.means(points, pair_action, pair_next_obs)

    out = []
    for raw_reward, point_mean in zip(raw, means):
        per_obs = point_mean[which]
        total_mean = per_obs[:n_mean_samples].mean()
        mean_obs = per_obs[n_mean_samples : n_mean_samples + n]
        mean_next_obs = per_obs[n_mean_samples + n :]
        canonical = raw_reward + gamma * mean_next_obs - mean_obs - gamma * total_mean
        magnitude = float(max(np.abs(raw_reward).max(), np.abs(point_mean).max()))
        out.append(_Canonical(canonical, magnitude))
    return out


def evaluate_reward(
    reward: RewardSpec, samples: TransitionSamples, *, seed: int = 0, batch_size: int = 4096
) -> np.ndarray:
    """A reward at each of the given transitions, float64 ``(n,)``, as EPIC evaluates it.

    The env's own reward is that of stepping from each ``obs`` with its ``action`` (see the
    module docstring); regimes see it in ``batch.reward``, and no transition terminates.

    Example:
        >>> samples = sample_transitions("rewardgym/CartPole-v0", 3, seed=0)
        >>> evaluate_reward("none", samples).tolist(), evaluate_reward("scale(factor=-2)", samples).tolist()
        ([1.0, 1.0, 1.0], [-2.0, -2.0, -2.0])
    """
    samples = _check_samples("evaluate_reward", samples, minimum=1)
    seed = _check_seed(seed, "evaluate_reward")
    batch_size = min(_check_count(batch_size, "evaluate_reward: batch_size", low=1), samples.num_samples)
    fn = _RewardFunction(reward, samples.env_id, batch_size, seed)
    evaluator = _Evaluator(_EnvReward(_task_of(samples.env_id), batch_size), [fn], batch_size)
    [values] = evaluator.rows(samples.obs, samples.action, samples.next_obs)
    return values


def canonicalize(
    reward: RewardSpec,
    env_or_samples: str | TransitionSamples,
    *,
    gamma: float = DEFAULT_GAMMA,
    n_samples: int | None = None,
    n_mean_samples: int = 512,
    seed: int = 0,
    batch_size: int = 4096,
) -> np.ndarray:
    """EPIC's canonical form ``C(R)`` of a reward at the coverage transitions, float64 ``(n,)``.

    ``C(R)(s, a, s') = R(s, a, s') + gamma E[R(s', A, S')] - E[R(s, A, S')] - gamma E[R(S, A, S')]``
    (see the module docstring for how the expectations are estimated). Rewards that differ by
    potential shaping with this ``gamma`` have the same canonical form.

    Args: as for :func:`epic_distance`, with one reward.

    Example:
        >>> import numpy as np
        >>> samples = sample_transitions("rewardgym/Pendulum-v0", 64, seed=0)
        >>> plain = canonicalize("none", samples, gamma=0.9, n_mean_samples=16, batch_size=64)
        >>> shaped = canonicalize("shaped(gamma=0.9)", samples, gamma=0.9, n_mean_samples=16,
        ...                       batch_size=64)
        >>> plain.shape, bool(np.abs(plain - shaped).max() < 1e-4)
        ((64,), True)
    """
    gamma, samples, n_mean_samples, seed, batch_size = _check_arguments(
        "canonicalize", env_or_samples, gamma, n_samples, n_mean_samples, seed, batch_size
    )
    [result] = _canonicalize_all([reward], samples, gamma, n_mean_samples, seed, batch_size)
    return result.reward


def epic_distance(
    reward_a: RewardSpec,
    reward_b: RewardSpec,
    env_or_samples: str | TransitionSamples,
    *,
    gamma: float = DEFAULT_GAMMA,
    n_samples: int | None = None,
    n_mean_samples: int = 512,
    seed: int = 0,
    batch_size: int = 4096,
) -> float:
    """The EPIC distance between two rewards of one env, in ``[0, 1]``.

    ``sqrt((1 - rho) / 2)``, where ``rho`` is the Pearson correlation of the two canonical
    rewards (:func:`canonicalize`) over the coverage transitions. 0 when the rewards differ only
    by potential shaping (with this ``gamma``) and positive scale, 1 for opposite rewards.

    Args:
        reward_a, reward_b: anything :func:`rewardgym.resolve_reward_spec` takes (a spec string,
            a regime, a callable of the transition batch, a list of these), or ``"none"`` for
            the env's own reward. Regimes are copied, never changed.
        env_or_samples: a rewardgym env id, whose coverage is ``n_samples`` transitions of a
            random policy (:func:`sample_transitions`, seeded ``seed``), or your own
            :class:`TransitionSamples`.
        gamma: the discount of the shaping to remove, in ``(0, 1]``; match the agent's (and a
            ``shaped`` regime's) discount.
        n_samples: how many coverage transitions to sample from an env id; at least 2 (default
            4096). Not for given samples, which are used whole.
        n_mean_samples: the size of ``D``, the ``(A, S')`` pairs each expectation averages over;
            at least 1. The cost is about ``(2 n_samples + n_mean_samples) * n_mean_samples``
            reward evaluations per reward.
        seed: seeds the coverage samples, ``D`` and the regimes' noise.
        batch_size: how many transitions each reward evaluation takes at once (regimes are bound
            to this many envs).

    Raises:
        ValueError: for a bad argument, naming it and what is valid, and where a reward's
            canonical form is constant over the coverage, for which the correlation, and so
            EPIC, is undefined.

    Example:
        >>> import numpy as np
        >>> def upright(batch):  # a reward of a user's own
        ...     return batch.next_obs[:, 0]
        >>> d = epic_distance("none", upright, "rewardgym/Pendulum-v0", gamma=0.9, n_samples=256,
        ...                   n_mean_samples=32, batch_size=256)
        >>> 0.0 < d < 1.0
        True
    """
    gamma, samples, n_mean_samples, seed, batch_size = _check_arguments(
        "epic_distance", env_or_samples, gamma, n_samples, n_mean_samples, seed, batch_size
    )
    canonical = _canonicalize_all([reward_a, reward_b], samples, gamma, n_mean_samples, seed, batch_size)
    for name, spec, result in zip(("reward_a", "reward_b"), (reward_a, reward_b), canonical):
        spread = float(result.reward.std())
        if not spread > CONSTANT_TOLERANCE * result.magnitude:
            raise ValueError(
                f"epic_distance: {name}={_describe(spec)} is constant on {samples.env_id} after "
                f"canonicalization (spread {spread:.3g} against rewards of magnitude "
                f"{result.magnitude:.3g}): it is a constant reward or a potential shaping of "
                "one, under which every policy is optimal, and its correlation with any reward, "
                "so EPIC, is undefined"
            )
    a, b = canonical[0].reward, canonical[1].reward
    if np.array_equal(a, b):
        return 0.0
    rho = float(np.corrcoef(a, b)[0, 1])
    # Round-off can put rho a hair outside [-1, 1].
    return math.sqrt(min(max((1.0 - rho) / 2.0, 0.0), 1.0))


# ---------------------------------------------------------------------------------------------
# Argument checks.
# ---------------------------------------------------------------------------------------------


def _check_arguments(
    caller: str,
    env_or_samples: str | TransitionSamples,
    gamma: float,
    n_samples: int | None,
    n_mean_samples: int,
    seed: int,
    batch_size: int,
) -> tuple[float, TransitionSamples, int, int, int]:
    gamma = check_number(
        gamma,
        f"{caller}: gamma",
        low=0.0,
        high=1.0,
        low_open=True,
        valid="in (0, 1] (the discount of the potential shaping to remove)",
    )
    n_mean_samples = _check_count(n_mean_samples, f"{caller}: n_mean_samples", low=1)
    batch_size = _check_count(batch_size, f"{caller}: batch_size", low=1)
    seed = _check_seed(seed, caller)
    if isinstance(env_or_samples, TransitionSamples):
        if n_samples is not None:
            raise ValueError(
                f"{caller}: n_samples={n_samples!r} is for an env id; the given TransitionSamples "
                f"are used whole ({env_or_samples.num_samples} transitions)"
            )
        samples = _check_samples(caller, env_or_samples)
    elif isinstance(env_or_samples, str):
        n_samples = _check_count(4096 if n_samples is None else n_samples, f"{caller}: n_samples", low=2)
        samples = sample_transitions(env_or_samples, n_samples, seed=seed)
    else:
        raise TypeError(
            f"{caller}: env_or_samples must be a rewardgym env id (str) or TransitionSamples, got "
            f"{type(env_or_samples).__name__}"
        )
    return gamma, samples, n_mean_samples, seed, batch_size


def _check_samples(caller: str, samples: object, minimum: int = 2) -> TransitionSamples:
    if not isinstance(samples, TransitionSamples):
        raise TypeError(
            f"{caller}: samples must be TransitionSamples (see sample_transitions), got {type(samples).__name__}"
        )
    task = _task_of(samples.env_id)
    obs, action, next_obs = (np.asarray(x) for x in samples[:3])
    n = obs.shape[0] if obs.ndim else 0
    obs_shape: tuple[int, ...] = task.observation_space.shape or ()
    action_shape: tuple[int, ...] = task.action_space.shape or ()
    expected = {
        "obs": (obs, (n, *obs_shape)),
        "action": (action, (n, *action_shape)),
        "next_obs": (next_obs, (n, *obs_shape)),
    }
    for field, (array, shape) in expected.items():
        if array.shape != shape:
            raise ValueError(
                f"{caller}: samples.{field} must have shape {shape} (n transitions of "
                f"{samples.env_id}), got {array.shape}"
            )
    if n < minimum:
        raise ValueError(f"{caller}: samples must hold at least {minimum} transitions, got {n}")
    return TransitionSamples(
        obs.astype(np.float32),
        action.astype(task.action_dtype),
        next_obs.astype(np.float32),
        samples.env_id,
    )


def _check_count(value: object, subject: str, *, low: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{subject} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_seed(seed: object, caller: str) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{caller}: seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def _task_of(env_id: object) -> BatchedTask:
    names = {env: name for name, env in ENV_IDS.items()}
    if isinstance(env_id, str) and env_id in names:
        task = TASKS[names[env_id]]
        if task.observation_space.shape is None:
            # A Dict observation (the multimodal scenes) has no single array to sample into.
            raise ValueError(f"EPIC needs an env with array observations; {env_id} observes a {task.observation_space}")
        return task
    raise ValueError(f"unknown env {env_id!r} for EPIC; rewardgym envs: {', '.join(sorted(names))}")


def _describe(spec: RewardSpec) -> str:
    if isinstance(spec, str):
        return repr(spec)
    return getattr(spec, "__name__", None) or repr(spec)


__all__ = [
    "CONSTANT_TOLERANCE",
    "DEFAULT_GAMMA",
    "STATE_FROM_OBS",
    "TransitionSamples",
    "canonicalize",
    "epic_distance",
    "evaluate_reward",
    "sample_transitions",
]
