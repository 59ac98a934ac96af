"""``scale``: multiply the reward by a constant. The smallest regime, and a template for others."""

from __future__ import annotations

from rewardgym.core.arrays import Array
from rewardgym.core.regime import Regime
from rewardgym.core.registry import register_regime
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number


class Scale(Regime):
    """``r' = factor * r``.

    Args:
        factor: a finite number; 0 silences the reward, a negative factor inverts it.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> env = gym.make("rewardgym/CartPole-v0", reward="scale(factor=0.5)")
        >>> _ = env.reset(seed=0)
        >>> _, proxy, _, _, info = env.step(0)
        >>> proxy, info["gold_reward"], info["reward_trace"]
        (0.5, 1.0, {'env': 1.0, 'scale': 0.5})
    """

    name = "scale"

    def __init__(self, factor: float = 1.0) -> None:
        self.factor = check_number(factor, "scale(factor=...)")

    def reward(self, batch: Transition) -> Array:
        return batch.reward * self.factor


register_regime("scale", Scale, override=True)
