"""What the ``learned`` kinds share: a reward model paid per step, evaluated on the batch's device
without gradients, its ensemble's members aggregated as the layer says.

Example:
    >>> from rewardgym.wrappers.learned import ModelReward, OnlinePreferenceReward, RewardModelRegime
    >>> issubclass(ModelReward, RewardModelRegime), issubclass(OnlinePreferenceReward, RewardModelRegime)
    (True, True)
"""

from __future__ import annotations

from typing import Any, TypeVar

import torch

from rewardgym.core.arrays import Array, is_torch
from rewardgym.core.nets import to_torch
from rewardgym.core.regime import EnvContext, Regime
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number
from rewardgym.rewardmodels import RewardEnsemble, RewardModel, aggregate
from rewardgym.rewardmodels.model import check_aggregation

__all__ = ["RewardModelRegime"]

ModelRegimeT = TypeVar("ModelRegimeT", bound="RewardModelRegime")


class RewardModelRegime(Regime):
    """Base of the ``model`` and ``online`` kinds: pays ``self.model``'s reward (an ensemble's
    members aggregated), evaluated on the batch's device without gradients.

    A subclass provides the model, at bind or as it learns; ``aggregation`` and ``uwo_lambda``
    override an ensemble's own settings (None keeps them).
    """

    name = "learned"
    kind = "learned"

    def __init__(self, aggregation: str | None, uwo_lambda: float | None) -> None:
        subject = f"learned(kind={self.kind!r})"
        if aggregation is not None:
            check_aggregation(aggregation, 1.0 if uwo_lambda is None else uwo_lambda, subject)
        elif uwo_lambda is not None:
            check_number(uwo_lambda, f"{subject}: uwo_lambda", low=0.0)
        self.aggregation = aggregation
        self.uwo_lambda = uwo_lambda
        self.model: RewardModel | RewardEnsemble | None = None
        self.context: EnvContext | None = None
        self._std: Any = None

    def _aggregation(self) -> tuple[str, float]:
        model = self.model
        default = (model.aggregation, model.uwo_lambda) if isinstance(model, RewardEnsemble) else ("mean", 1.0)
        return (self.aggregation or default[0], default[1] if self.uwo_lambda is None else float(self.uwo_lambda))

    def frozen_copy(self: ModelRegimeT) -> ModelRegimeT:
        """The layer as it stands, learning no more (see :meth:`Regime.frozen_copy`): its model's
        current weights, on the CPU (it moves to its batches' device on the first step)."""
        twin = super().frozen_copy()
        if twin.model is not None:
            twin.model.to(torch.device("cpu"))
        return twin

    def _frozen_parts(self) -> dict[str, Any]:
        return {"_std": None}  # the last step's report, on the training envs' device

    def _on_device(self, batch: Transition) -> torch.device:
        """The torch device of the batch; the model moves there once (a GPU env's tensors stay put)."""
        device = batch.obs.device if is_torch(batch.obs) else torch.device("cpu")
        assert self.model is not None
        if self.model.device != device:
            self.model.to(device)
        return device

    def reward(self, batch: Transition) -> Array:
        if self.model is None:
            raise RuntimeError("learned: the layer has no model yet; bind it to an env first")
        device = self._on_device(batch)
        obs, action, next_obs = (to_torch(x, device) for x in (batch.obs, batch.action, batch.next_obs))
        with torch.no_grad():
            members = self.model.member_rewards(obs, action, next_obs)
            aggregation, uwo_lambda = self._aggregation()
            reward = aggregate(members, aggregation, uwo_lambda)
            std = members.std(0, unbiased=False) if members.shape[0] > 1 else None
        # Reported in the batch's own kind, like the reward.
        self._std = std if std is None or is_torch(batch.reward) else std.numpy()
        if is_torch(batch.reward):
            return reward.to(batch.reward.dtype)
        return reward.numpy()
