"""``intrinsic(kind='icm')``: the intrinsic curiosity module, a forward model's surprise.

Example:
    >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.intrinsic
    >>> env = gym.make("rewardgym/MountainCarContinuous-v0", reward="intrinsic(kind='icm', seed=0)")
    >>> _ = env.reset(seed=0)
    >>> env.step([0.5])[4]["regime_info"]["intrinsic"]["bonus"] > 0.0
    True
"""

from __future__ import annotations

import torch
from torch import nn

from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number
from rewardgym.wrappers.intrinsic.networks import InverseDynamics, NetworkStep

__all__ = ["ICM"]


class ICM(InverseDynamics[NetworkStep]):
    """Intrinsic curiosity module (Pathak et al. 2017): the bonus is a forward model's error.

    An encoder ``phi`` is trained with an inverse-dynamics loss (predict ``a`` from
    ``phi(s), phi(s')``: cross-entropy for Discrete actions, squared error for Box actions scaled
    to ``[-1, 1]``), so its features keep what the agent can control. A forward model predicts
    ``phi(s')`` from ``phi(s)`` and ``a``; the bonus is its mean squared error. The training loss
    is ``(1 - forward_weight) * inverse + forward_weight * forward``, with the forward target
    ``phi(s')`` held fixed (no gradient) so that the forward loss cannot shrink the features it
    predicts.

    Args:
        forward_weight: the forward loss's weight in ``[0, 1]`` (0.2 in the paper).
        features: the width of ``phi``.
        hidden: the width of the networks' two hidden layers.
        lr: the Adam learning rate.
        train_every: train once this many transitions are buffered.
        beta: the bonus coefficient ``>= 0``.
        kappa: the coefficient's decay per training transition, in ``[0, 1)``.
        normalize: divide the bonus by the running RMS of earlier bonuses.
        extrinsic: add the bonus to the reward entering the layer (else pay the bonus alone).
        seed: the networks' seed; None: the env's reset seed.

    Example:
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.intrinsic
        >>> env = gym.make("rewardgym/CartPole-v0", reward="intrinsic(kind='icm')")
        >>> _ = env.reset(seed=0)
        >>> _, proxy, _, _, info = env.step(0)
        >>> info["regime_info"]["intrinsic"]["bonus"] > 0.0
        True
    """

    kind = "icm"

    def __init__(
        self,
        forward_weight: float = 0.2,
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
        self.forward_weight = check_number(
            forward_weight, f"intrinsic(kind={self.kind!r}): forward_weight", low=0.0, high=1.0
        )
        super().__init__(features, hidden, lr, train_every, beta, kappa, normalize, extrinsic, seed)

    def _make_modules(self) -> nn.ModuleDict:
        # The forward model first: the draws of its initialization come before the encoder's.
        forward = self._net(self.features + self._actions.width, self.features)
        return nn.ModuleDict({**self._inverse_modules(), "forward_model": forward})

    def _forward_error(self, phi: torch.Tensor, next_phi: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return ((self.modules["forward_model"](torch.cat((phi, a), dim=1)) - next_phi) ** 2).mean(1)

    def _compute(self, batch: Transition) -> NetworkStep:
        z, next_z, next_raw, a = self._encode(batch)
        encoder = self.modules["encoder"]
        bonus = self._forward_error(encoder(z), encoder(next_z), a)
        return NetworkStep(batch=batch, bonus=bonus, next_raw=next_raw, inputs=(z, next_z, a))

    def _loss(self, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        z, next_z, a = inputs
        encoder = self.modules["encoder"]
        phi, next_phi = encoder(z), encoder(next_z)
        inverse = self._inverse_loss(phi, next_phi, a)
        forward = self._forward_error(phi, next_phi.detach(), a)
        return (1.0 - self.forward_weight) * inverse + self.forward_weight * forward
