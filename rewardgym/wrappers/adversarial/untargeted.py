"""The ``untargeted`` kind of ``adversarial``: flip the reward around a centre, within the bound.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> env = gym.make("rewardgym/CartPole-v0", reward="adversarial(kind='untargeted', delta_max=2)")
    >>> _ = env.reset(seed=0)
    >>> env.step(0)[1]  # +1 flipped to -1
    -1.0
"""

from __future__ import annotations

from typing import Any

from rewardgym.core.arrays import Array, clip, float64, where, zeros
from rewardgym.core.transition import Transition
from rewardgym.wrappers.adversarial.poisoning import RewardPoisoning

__all__ = ["Untargeted"]


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
        self._mean: Any = None  # the running mean of each env's rewards, float64
        self._count: Any = None

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
            mean = self._mean + where(batch.valid, (reward - self._mean) / clip(count, 1.0), 0.0)
            self._mean, self._count = mean, count
            reward = reward - mean
        return clip(-2.0 * reward, -self.delta_max, self.delta_max)
