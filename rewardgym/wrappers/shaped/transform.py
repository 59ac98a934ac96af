"""The bounded reward transforms of ``shaped``: ``clip``, ``par`` and ``log_sigmoid`` bound each
reward, ``delta_cap`` each episode's sum; on numpy and torch batches alike.

Example:
    >>> import numpy as np
    >>> from rewardgym.core.transition import Transition
    >>> batch = Transition(np.zeros((2, 1)), np.zeros(2), np.zeros((2, 1)), np.array([-3.0, 0.0], np.float32),
    ...                    np.zeros(2, bool), np.zeros(2, bool), np.ones(2, bool))
    >>> ClipReward().reward(batch).tolist(), PreferenceAsReward().reward(batch).tolist()
    ([-1.0, 0.0], [0.04742587357759476, 0.5])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rewardgym.core.arrays import Array, is_torch, log_sigmoid, mask_like, minimum, sigmoid, where, zeros
from rewardgym.core.regime import Regime
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number, is_real


class ClipReward(Regime):
    """``r' = clip(r, low, high)``, as DQN clips Atari rewards to ``[-1, 1]`` (Mnih et al. 2015).

    Args:
        low: the lower bound (``-inf`` for none); the default is DQN's, so set it when giving
            only ``high``.
        high: the upper bound (``inf`` for none); ``low < high``.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> import rewardgym.wrappers.shaped
        >>> env = gym.make("rewardgym/CartPole-v0", reward="shaped(kind='clip', low=-0.5, high=0.5)")
        >>> _ = env.reset(seed=0)
        >>> env.step(1)[1]
        0.5
    """

    name = "shaped"

    def __init__(self, low: float = -1.0, high: float = 1.0) -> None:
        for key, value in (("low", low), ("high", high)):
            check_number(value, f"shaped(kind='clip') parameter {key}={value!r}", allow_inf=True)
        if not low < high:
            raise ValueError(f"shaped(kind='clip') needs low < high, got low={low!r}, high={high!r}")
        self.low, self.high = float(low), float(high)

    def reward(self, batch: Transition) -> Array:
        return batch.reward.clip(self.low, self.high)


def _references(r_ref: Any) -> tuple[float, ...]:
    values = r_ref if isinstance(r_ref, (list, tuple)) else [r_ref]
    if not values or not all(is_real(v) and math.isfinite(v) for v in values):
        raise ValueError(
            f"shaped(kind='par') parameter r_ref={r_ref!r} must be a finite number or a non-empty list of them"
        )
    return tuple(float(v) for v in values)


class PreferenceAsReward(Regime):
    """PAR, Preference As Reward (Fu et al. 2025, "Reward Shaping to Mitigate Reward Hacking in
    RLHF", arXiv:2502.18770): ``r' = (1/M) sum_m sigmoid(r - r_ref_m)``.

    Under a Bradley-Terry reward model, ``sigmoid(r - r_ref)`` is the modelled probability that
    this outcome is preferred to a reference one, so the reward is bounded in ``(0, 1)``, centred
    (``0.5`` at ``r = r_ref``), grows fastest near the reference and saturates above it: the
    properties the paper finds curb reward hacking. With several reference rewards PAR averages
    the preferences (as the paper's code does); the paper finds one reference enough.

    Args:
        r_ref: the reference (centring) reward: the reward of a reference outcome, e.g. a
            baseline policy's typical step reward; a number, or a list of numbers to average over.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> import rewardgym.wrappers.shaped
        >>> env = gym.make("rewardgym/CartPole-v0", reward="shaped(kind='par', r_ref=1.0)")
        >>> _ = env.reset(seed=0)
        >>> env.step(1)[1]
        0.5
    """

    name = "shaped"

    def __init__(self, r_ref: float | Sequence[float] = 0.0) -> None:
        self.r_ref = _references(r_ref)

    def reward(self, batch: Transition) -> Array:
        # A loop over the few references, not over envs: each pass is one batched sigmoid.
        total = sigmoid(batch.reward - self.r_ref[0])
        for ref in self.r_ref[1:]:
            total = total + sigmoid(batch.reward - ref)
        return total / len(self.r_ref)


class LogSigmoidReward(Regime):
    """The LSC transform of Wang et al. 2024 ("Transforming and Combining Rewards for Aligning
    Large Language Models", ICML): ``r' = log sigmoid(r - r_ref)``.

    For a Bradley-Terry reward, ``log sigmoid(r - r_ref)`` is the log-probability that the outcome
    beats the reference ``r_ref``: at most 0, with diminishing returns above the reference (less
    to gain from pushing an already good reward higher, so less to gain from hacking it) and close
    to ``r - r_ref`` below it. Sums of these transformed rewards are log-probabilities that every
    property is "good", which is how the paper combines rewards (see ``weighted_sum``).

    Args:
        r_ref: the reference (centring) reward, the paper's ``r_ref(x)``, e.g. a high quantile of
            a baseline's rewards; a finite number.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> import rewardgym.wrappers.shaped
        >>> env = gym.make("rewardgym/CartPole-v0", reward="shaped(kind='log_sigmoid', r_ref=1.0)")
        >>> _ = env.reset(seed=0)
        >>> round(env.step(1)[1], 6)  # log(1/2)
        -0.693147
    """

    name = "shaped"

    def __init__(self, r_ref: float = 0.0) -> None:
        self.r_ref = check_number(r_ref, f"shaped(kind='log_sigmoid') parameter r_ref={r_ref!r}")

    def reward(self, batch: Transition) -> Array:
        return log_sigmoid(batch.reward - self.r_ref)


class DeltaCap(Regime):
    """Caps an episode's cumulative reward at ``cap``: ``r'_t = min(r_t, cap - sum_{k<t} r'_k)``.

    Gao et al. 2024 ("On Designing Effective RL Reward at Training Time for LLM Reasoning",
    arXiv:2410.15115) found agents hacking a process reward by repeating rewarded steps, and bound
    every trajectory's accumulated reward from above with two mechanisms: **Clip**,
    ``min(r_t - eta, 0)``, and **Delta**, ``r_t - r_{t+1}`` (the last step keeps ``r_T``), whose sum
    telescopes to the first step's reward. Delta needs the next step's reward, which an online env
    does not have yet, so this layer bounds the sum causally instead: it passes each reward
    through while the episode's running sum of what it emitted stays at or below ``cap``, and emits
    only what is left (``cap - sum``) otherwise. Negative rewards pass unchanged and make room
    again. The episode's sum then never exceeds ``cap`` after any step (by induction: the sum
    plus ``min(r, cap - sum)`` is at most ``cap``), so a hacker who repeats a rewarded step gains
    nothing past the cap. The paper's Clip bounds each step instead (every reward at most 0).

    The running sum is per env, kept where the batch lives, cleared by ``reset(mask)`` at each
    episode's start, and never counts an autoreset step (``valid=False``).

    Args:
        cap: the most an episode's emitted rewards may sum to; a finite number.

    :meth:`info` reports ``episode_sum`` (the running sum after this step) and ``removed``
    (``r - r'``, what the cap took).

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> import rewardgym.wrappers.shaped
        >>> env = gym.make("rewardgym/CartPole-v0", reward="shaped(kind='delta_cap', cap=2.5)")
        >>> _ = env.reset(seed=0)
        >>> [env.step(i % 2)[1] for i in range(4)]
        [1.0, 1.0, 0.5, 0.0]
    """

    name = "shaped"

    def __init__(self, cap: float = 1.0) -> None:
        self.cap = check_number(cap, f"shaped(kind='delta_cap') parameter cap={cap!r}")
        self._sum: Array | None = None
        self._removed: Array | None = None

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        if mask is None or self._sum is None:
            self._sum = None  # made again, in the batch's kind and device, on the next step
            return
        self._sum = where(mask_like(mask, self._sum), zeros(self._sum), self._sum)

    def reward(self, batch: Transition) -> Array:
        reward = batch.reward
        if self._sum is None or is_torch(self._sum) != is_torch(reward):
            self._sum = zeros(reward)
        emitted = minimum(reward, self.cap - self._sum)
        self._sum = self._sum + where(batch.valid, emitted, zeros(emitted))
        self._removed = reward - emitted
        return emitted

    def info(self) -> dict[str, Any]:
        return {"episode_sum": self._sum, "removed": self._removed}
