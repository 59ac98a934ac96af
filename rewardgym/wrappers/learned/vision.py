"""The ``vision_model`` kind of ``learned``: a vision-language reward model pays the agent, frozen.

Each step pays the model's probability that the instruction holds in the **next** observation
(its picture and its instruction), never gold. The default model, trained on pairs with a planted
colour shortcut, pays the agent for standing on anything of the named colour: the hack to watch
for (:mod:`rewardgym.rewardmodels.vision`).

Example:
    >>> import gymnasium as gym, rewardgym
    >>> from rewardgym.rewardmodels.vision import VisionRewardModel
    >>> env = rewardgym.wrap(gym.make("rewardgym/GoToShape-v0"), VisionModelReward(model=VisionRewardModel(seed=0)))
    >>> _ = env.reset(seed=0)
    >>> _, proxy, _, _, info = env.step(0)
    >>> 0.0 < proxy < 1.0, list(info["reward_trace"]), sorted(info["regime_info"]["learned"])
    (True, ['env', 'learned'], ['mean_probability'])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from rewardgym.core.arrays import Array, first_leaf, is_torch
from rewardgym.core.nets import to_torch
from rewardgym.core.regime import EnvContext, Regime
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_integer
from rewardgym.rewardmodels.vision import (
    SCENE_ENVS,
    SHORTCUTS,
    VisionRewardModel,
    check_scene_space,
    check_shortcut,
    default_vision_model,
    load_vision_reward_model,
)

__all__ = ["OUTPUTS", "VisionModelReward"]

OUTPUTS = ("probability", "logit")
"""What the layer pays: the model's probability that the instruction holds (in [0, 1]), or its logit."""

_ALL_SHORTCUTS = ("default", *dict.fromkeys(s for env in SHORTCUTS.values() for s in env))

VisionRegimeT = TypeVar("VisionRegimeT", bound="VisionModelReward")


class VisionModelReward(Regime):
    """A :class:`~rewardgym.rewardmodels.vision.VisionRewardModel` pays the agent, frozen: each
    step, ``P(the instruction holds | next picture, next instruction)`` (or its logit, with
    ``output="logit"``), computed in one batch on the batch's device. It reads ``next_obs`` only,
    never gold.

    The model is, in order: ``path`` (saved by
    :func:`~rewardgym.rewardmodels.vision.save_vision_reward_model`: safetensors plus card),
    ``model`` (an object), or, given neither, the default model of the env it is bound to, trained
    here on first use from pairs with ``shortcut`` planted (``train_pairs`` of them, ``seed``) and
    kept for the rest of the process
    (:func:`~rewardgym.rewardmodels.vision.default_vision_model`: about ten seconds of one CPU
    thread for GoToShape, never downloaded, never written to disk). ``shortcut``,
    ``train_pairs`` and ``seed`` only choose that default model.

    ``info["regime_info"]["learned"]["mean_probability"]`` is the mean probability over the
    step's real transitions.

    Args:
        path: a saved vision reward model (``<path>.safetensors`` with ``<path>.json`` beside it).
        model: a model object instead of a path.
        shortcut: the default model's planted shortcut: ``"default"`` (the env's own: ``"colour"``
            for GoToShape, ``"relation"`` for ArrangeShapes), ``"colour"``, ``"shape"``,
            ``"relation"`` or None (no shortcut).
        train_pairs: the default model's training pairs.
        seed: the default model's seed (pairs and weights).
        output: ``"probability"`` (the default) or ``"logit"``.

    Raises:
        ValueError: at construction, for an unknown shortcut or output, or both ``path`` and
            ``model``; at bind, for an observation that is not a ``Dict`` of ``image`` and
            ``instruction``, an image the model's CNN was not built for, a model trained on
            another scene env, a shortcut the env cannot plant, or no model for an env that has
            no default.

    Example:
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.learned
        >>> gym.make("rewardgym/CartPole-v0", reward="learned(kind='vision_model')")
        Traceback (most recent call last):
        ...
        ValueError: learned(kind='vision_model') reads a Dict observation with 'image' (uint8 Box (height, width, 3)) and 'instruction' (token ids), got Box(4,) float32
        >>> VisionModelReward(shortcut="size")
        Traceback (most recent call last):
        ...
        ValueError: learned(kind='vision_model'): unknown shortcut 'size'; valid shortcuts: 'default', 'colour', 'shape', None, 'relation'
    """

    name = "learned"
    kind = "vision_model"
    training = False

    def __init__(
        self,
        path: str | None = None,
        model: VisionRewardModel | None = None,
        shortcut: str | None = "default",
        train_pairs: int = 8000,
        seed: int = 0,
        output: str = "probability",
    ) -> None:
        subject = f"learned(kind={self.kind!r})"
        if path is not None and model is not None:
            raise ValueError(f"{subject} takes one of path='<saved model>' or model=<VisionRewardModel>, not both")
        if path is not None and not isinstance(path, (str, Path)):
            raise TypeError(f"{subject}: path must be a string, got {type(path).__name__}")
        if model is not None and not isinstance(model, VisionRewardModel):
            raise TypeError(f"{subject}: model must be a VisionRewardModel, got {type(model).__name__}")
        if shortcut not in _ALL_SHORTCUTS:
            raise ValueError(
                f"{subject}: unknown shortcut {shortcut!r}; valid shortcuts: {', '.join(map(repr, _ALL_SHORTCUTS))}"
            )
        if output not in OUTPUTS:
            raise ValueError(f"{subject}: unknown output {output!r}; valid outputs: {', '.join(OUTPUTS)}")
        self.path = path
        self.model = model.eval().requires_grad_(False) if model is not None else None
        self.shortcut = shortcut
        self.train_pairs = check_integer(train_pairs, f"{subject}: train_pairs", low=1)
        self.seed = check_integer(seed, f"{subject}: seed", low=0)
        self.output = output
        self._mean: float | None = None

    def bind(self, context: EnvContext) -> None:
        subject = f"learned(kind={self.kind!r})"
        check_scene_space(context.observation_space, subject)  # refused before any training
        if self.model is None and self.path is not None:
            self.model = load_vision_reward_model(self.path)
        elif self.model is None:
            if context.env_id not in SCENE_ENVS:
                raise ValueError(
                    f"{subject} has a default model only for {', '.join(SCENE_ENVS)}, not "
                    f"{context.env_id or 'an env without an id'}; pass path='<saved model>' or model=<VisionRewardModel>"
                )
            shortcut = check_shortcut(context.env_id, self.shortcut, subject)
            self.model = default_vision_model(
                context.env_id, shortcut=shortcut, train_pairs=self.train_pairs, seed=self.seed
            )
        self.model.check_space(context.observation_space, subject)
        trained_on = self.model.card.get("env_id")
        if trained_on in SCENE_ENVS and context.env_id in SCENE_ENVS and trained_on != context.env_id:
            # The scenes share one observation space, but not one grammar: refuse the mix-up.
            raise ValueError(
                f"{subject}: the model was trained on {trained_on}'s pairs, but the env is {context.env_id}; "
                f"train one for it (train_vision_reward_model({context.env_id!r})) or leave out path= and model="
            )

    def reward(self, batch: Transition) -> Array:
        if self.model is None:
            raise RuntimeError("learned(kind='vision_model'): the layer has no model yet; bind it to an env first")
        next_obs: dict[str, Array] = batch.next_obs  # type: ignore[assignment]  # a Dict observation
        device = first_leaf(next_obs).device if is_torch(first_leaf(next_obs)) else torch.device("cpu")
        if self.model.device != device:
            self.model.to(device)
        image, instruction = (to_torch(next_obs[key], device) for key in ("image", "instruction"))
        with torch.no_grad():
            logit = self.model.logit(image, instruction)
            probability = torch.sigmoid(logit)
            valid = to_torch(batch.valid, device)
            real = probability[valid]
            # One number per step; on a GPU batch it waits for the step's model call to finish.
            self._mean = float(real.mean()) if real.numel() else None
            paid = probability if self.output == "probability" else logit
        if is_torch(batch.reward):
            return paid.to(batch.reward.dtype)
        return paid.numpy().astype(np.float32, copy=False)

    def info(self) -> dict[str, Any]:
        return {} if self._mean is None else {"mean_probability": self._mean}

    def train(self, mode: bool = True) -> Regime:
        self.training = False  # frozen by design: the shells never call update on it
        return self

    def frozen_copy(self: VisionRegimeT) -> VisionRegimeT:
        """The layer as it stands (its model, on the CPU; it moves to its batches' device on the
        first step), frozen (see :meth:`Regime.frozen_copy`)."""
        twin = super().frozen_copy()
        if twin.model is not None:
            twin.model.to(torch.device("cpu"))
        return twin

    def _frozen_parts(self) -> dict[str, Any]:
        return {"_mean": None}

    def __repr__(self) -> str:
        if self.path is not None:
            source = repr(str(self.path))
        elif self.model is not None:
            source = type(self.model).__name__
        else:
            source = f"default(shortcut={self.shortcut!r}, train_pairs={self.train_pairs}, seed={self.seed})"
        return f"VisionModelReward(kind='vision_model', source={source})"
