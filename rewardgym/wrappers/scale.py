"""``scale``: multiply the reward by a constant. The smallest regime, and a template for others."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba.extending import register_jitable

from rewardgym.core.arrays import Array
from rewardgym.core.regime import FusedLayer, Regime
from rewardgym.core.registry import register_regime
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number
from rewardgym.envs.batched.layers import apply_layer


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
        return apply_layer(self.fused_layer(), batch)

    def fused_layer(self) -> FusedLayer:
        return FusedLayer(_scale_one, self._arguments)

    def _arguments(self, like: Array) -> tuple[Any, ...]:
        return (np.float32(self.factor),)  # float32 arithmetic, as numpy and torch scale a float32 batch


@register_jitable  # never inline="always": numba then drops writes to the argument arrays
def _scale_one(i, reward, valid, obs, next_obs, terminated, args):  # pragma: no cover (compiled)
    (factor,) = args
    return reward * factor


register_regime("scale", Scale, override=True)
