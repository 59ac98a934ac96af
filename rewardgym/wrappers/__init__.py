"""Reward regimes: one package or module per family, each registered by name when imported.

- :mod:`~rewardgym.wrappers.shaped`, :mod:`~rewardgym.wrappers.noisy`,
  :mod:`~rewardgym.wrappers.adversarial`, :mod:`~rewardgym.wrappers.intrinsic`,
  :mod:`~rewardgym.wrappers.learned`: the five families, text kinds included;
- :mod:`~rewardgym.wrappers.scale`: the smallest regime, a template for new ones.

The shells that apply a regime to an env (and :func:`wrap`) live one layer down, in
:mod:`rewardgym.shells`; they are re-exported here, where users have always found them.
"""

from __future__ import annotations

# Importing a family registers it by name (e.g. "noisy(sigma=0.5)").
from rewardgym.shells import RewardShell, VectorRewardShell, wrap
from rewardgym.wrappers import adversarial, intrinsic, learned, noisy, scale, shaped  # noqa: F401
from rewardgym.wrappers.scale import Scale

__all__ = ["RewardShell", "Scale", "VectorRewardShell", "wrap"]
