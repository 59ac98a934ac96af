"""``intrinsic(kind='rnd')``: random network distillation, the family's default kind.

Example:
    >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.intrinsic
    >>> env = gym.make("rewardgym/CartPole-v0", reward="intrinsic(kind='rnd', seed=0)")
    >>> _ = env.reset(seed=0)
    >>> env.step(1)[4]["regime_info"]["intrinsic"]["bonus"] > 0.0
    True
"""

from __future__ import annotations

import torch
from torch import nn

from rewardgym.core.transition import Transition
from rewardgym.wrappers.intrinsic.networks import NetworkBonus, NetworkStep

__all__ = ["RND"]


class RND(NetworkBonus[NetworkStep]):
    """Random network distillation (Burda et al. 2019): the bonus is a predictor's error.

    A target network with fixed random weights maps the normalized ``s'`` to ``features``
    outputs; a predictor of the same shape is trained to match it on the states seen. The bonus is
    their mean squared difference at ``s'``: large on states unlike those trained on, falling on
    states visited often.

    Args:
        features: the networks' output width.
        hidden: the width of their two hidden layers.
        lr: the predictor's Adam learning rate.
        train_every: train once this many transitions are buffered (see
            :mod:`rewardgym.wrappers.intrinsic`).
        beta: the bonus coefficient ``>= 0``.
        kappa: the coefficient's decay per training transition, in ``[0, 1)``.
        normalize: divide the bonus by the running RMS of earlier bonuses.
        extrinsic: add the bonus to the reward entering the layer (else pay the bonus alone).
        seed: the networks' seed; None: the env's reset seed.

    Example:
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.intrinsic
        >>> env = gym.make("rewardgym/CartPole-v0", reward="intrinsic(kind='rnd', beta=0.5)")
        >>> _ = env.reset(seed=0)
        >>> _, proxy, _, _, info = env.step(1)
        >>> info["reward_trace"]["env"], proxy > 1.0, info["regime_info"]["intrinsic"]["coef"]
        (1.0, True, 0.5)
    """

    kind = "rnd"

    def __init__(
        self,
        features: int = 32,
        hidden: int = 64,
        lr: float = 1e-3,
        train_every: int = 32,
        beta: float = 0.1,
        kappa: float = 0.0,
        normalize: bool = True,
        extrinsic: bool = True,
        seed: int | None = None,
    ) -> None:
        super().__init__(features, hidden, lr, train_every, beta, kappa, normalize, extrinsic, seed)

    def _make_modules(self) -> nn.ModuleDict:
        target = self._net(self._obs_width, self.features).requires_grad_(False)
        predictor = self._net(self._obs_width, self.features)
        return nn.ModuleDict({"target": target, "predictor": predictor})

    def _error(self, next_z: torch.Tensor) -> torch.Tensor:
        return ((self.modules["predictor"](next_z) - self.modules["target"](next_z)) ** 2).mean(1)

    def _compute(self, batch: Transition) -> NetworkStep:
        next_raw, next_z = self._observe(batch.next_obs)
        return NetworkStep(batch=batch, bonus=self._error(next_z), next_raw=next_raw, inputs=(next_z,))

    def _loss(self, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        (next_z,) = inputs
        return self._error(next_z)
