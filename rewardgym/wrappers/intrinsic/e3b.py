"""``intrinsic(kind='e3b')``: elliptical bonuses over an inverse-dynamics embedding.

Example:
    >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.intrinsic
    >>> env = gym.make("rewardgym/CartPole-v0", reward="intrinsic(kind='e3b', variant='product', seed=0)")
    >>> _ = env.reset(seed=0)
    >>> sorted(env.step(1)[4]["regime_info"]["intrinsic"])
    ['bonus', 'bonus_normalized', 'coef', 'episodic_bonus', 'extrinsic', 'global_bonus']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from rewardgym.core.arrays import Array, mask_like, select_rows
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number
from rewardgym.wrappers.intrinsic.networks import InverseDynamics, NetworkStep

__all__ = ["E3B", "E3BStep"]

_VARIANTS = ("episodic", "global", "product")


@dataclass(frozen=True, kw_only=True)
class E3BStep(NetworkStep):
    """An e3b step: the embedding of each ``s'``, which the covariances take in.

    Attributes:
        phi: ``phi(s')``, ``(num_envs, features)``.
        u: ``C^-1 phi(s')`` of each env's episode (its Sherman-Morrison update's vector); None
            for ``variant='global'``.
    """

    phi: torch.Tensor
    u: torch.Tensor | None


class E3B(InverseDynamics[E3BStep]):
    """Elliptical bonuses over an inverse-dynamics embedding: E3B and its global counterpart.

    ``phi`` is an encoder trained by inverse dynamics (as in :class:`~rewardgym.wrappers.intrinsic.ICM`).
    With ``C = ridge * I + sum of phi(x) phi(x)^T`` over a set of earlier states, the bonus of
    ``s'`` is ``phi(s')^T C^-1 phi(s')``: large in directions of the embedding the set has not
    covered. ``variant`` picks the set, following Henaff, Jiang & Raileanu, "A Study of Global and
    Episodic Bonuses for Exploration in Contextual MDPs" (ICML 2023):

    - ``"episodic"``: the states of the env's current episode, as in E3B (Henaff et al. 2022).
      ``C^-1`` is kept per env, updated by Sherman-Morrison on every valid step (also while not
      training: it is the episode's memory, not learning), and reset to ``I / ridge`` at each
      episode's start, through :meth:`reset` with the envs whose episode ended.
    - ``"global"``: every valid transition the layer has trained on, over all envs and episodes.
    - ``"product"``: the episodic bonus times the global one, the paper's multiplicative
      combination of an episodic and a global bonus (``info`` reports both factors).

    Args:
        variant: ``"episodic"``, ``"global"`` or ``"product"``.
        ridge: the ridge ``lambda > 0`` of ``C`` (0.1 in E3B).
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
        >>> env = gym.make("rewardgym/CartPole-v0",
        ...                reward="intrinsic(kind='e3b', normalize=False, seed=0)")
        >>> bonuses = []
        >>> for _ in range(2):
        ...     _ = env.reset()
        ...     bonuses.append([env.step(1)[4]["regime_info"]["intrinsic"]["bonus"] for _ in range(3)])
        >>> bonuses[0][0] > bonuses[0][2], round(bonuses[1][0] / bonuses[0][0], 1)  # reset: high again
        (True, 1.0)
    """

    kind = "e3b"

    def __init__(
        self,
        variant: str = "episodic",
        ridge: float = 0.1,
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
        if variant not in _VARIANTS:
            raise ValueError(
                f"intrinsic(kind='e3b'): unknown variant {variant!r}; valid variants: {', '.join(_VARIANTS)}"
            )
        self.variant = variant
        self.ridge = check_number(ridge, f"intrinsic(kind={self.kind!r}): ridge", low=0.0, low_open=True)
        super().__init__(features, hidden, lr, train_every, beta, kappa, normalize, extrinsic, seed)

    def _make_modules(self) -> nn.ModuleDict:
        return nn.ModuleDict(self._inverse_modules())

    def _built_on(self, device: torch.device) -> None:
        eye = torch.eye(self.features, dtype=torch.float64, device=device)
        self._identity = (eye / self.ridge).to(torch.float32)  # C^-1 of an empty set
        self._episodic_inverse: Any = None  # (num_envs, f, f), made on the first batch
        self._global_cov = self.ridge * eye
        self._global_inverse = self._identity.clone()

    def _moved_to(self, device: torch.device) -> None:
        self._identity = self._identity.to(device)
        self._global_cov, self._global_inverse = self._global_cov.to(device), self._global_inverse.to(device)
        self._episodic_inverse = None  # the episodes' memory, made again on the next batch

    def _compute(self, batch: Transition) -> E3BStep:
        z, next_z, next_raw, a = self._encode(batch)
        phi = self.modules["encoder"](next_z)
        parts = {}
        u = None
        if self.variant != "global":
            n = int(batch.next_obs.shape[0])
            if self._episodic_inverse is None or self._episodic_inverse.shape[0] != n:
                self._episodic_inverse = self._identity.expand(n, -1, -1).clone()
            u = torch.bmm(self._episodic_inverse, phi.unsqueeze(2)).squeeze(2)
            parts["episodic_bonus"] = (phi * u).sum(1)
        if self.variant != "episodic":
            parts["global_bonus"] = (phi * (phi @ self._global_inverse)).sum(1)
        if self.variant == "product":
            bonus = parts["episodic_bonus"] * parts["global_bonus"]
        else:
            bonus, parts = next(iter(parts.values())), {}
        return E3BStep(batch=batch, bonus=bonus, parts=parts, next_raw=next_raw, inputs=(z, next_z, a), phi=phi, u=u)

    def _remember(self, step: E3BStep) -> None:
        u = step.u
        if u is None:  # variant="global" keeps no episodic memory
            return
        # Sherman-Morrison: (C + phi phi^T)^-1 = C^-1 - (C^-1 phi)(C^-1 phi)^T / (1 + phi^T C^-1 phi).
        b = (step.phi * u).sum(1)
        updated = self._episodic_inverse - u.unsqueeze(2) * u.unsqueeze(1) / (1.0 + b)[:, None, None]
        valid = mask_like(step.batch.valid, u)
        self._episodic_inverse = select_rows(valid, updated, self._episodic_inverse)

    def _reset_episodes(self, mask: Array | None) -> None:
        if self._episodic_inverse is None:
            return
        if mask is None:  # made again, for the next batch's envs, as C^-1 of an empty episode
            self._episodic_inverse = None
            return
        mask = mask_like(mask, self._episodic_inverse)
        identity = self._identity.expand_as(self._episodic_inverse)
        self._episodic_inverse = select_rows(mask, identity, self._episodic_inverse)

    def _learn_more(self, step: E3BStep, weight: torch.Tensor) -> None:
        if self.variant == "episodic":
            return
        phi = step.phi.to(torch.float64)
        self._global_cov = self._global_cov + (weight.to(torch.float64)[:, None] * phi).T @ phi
        # inv_ex rather than inv: C is positive definite (ridge > 0), and inv's error check would
        # cost a device sync per step.
        self._global_inverse = torch.linalg.inv_ex(self._global_cov)[0].to(torch.float32)

    def _loss(self, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        z, next_z, a = inputs
        encoder = self.modules["encoder"]
        return self._inverse_loss(encoder(z), encoder(next_z), a)
