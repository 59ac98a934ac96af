"""The ``online`` kind of ``learned``: a reward model trained while the agent runs, from a
simulated labeler's preferences between segments of what the env did (Christiano et al. 2017).

Example:
    >>> from rewardgym.wrappers.learned import OnlinePreferenceReward
    >>> OnlinePreferenceReward(ensemble=3, query_every=100)
    OnlinePreferenceReward(kind='online', ensemble=3, labels=0, refreshes=0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from rewardgym.core.arrays import Array
from rewardgym.core.regime import EnvContext
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_integer, check_number
from rewardgym.rewardmodels import (
    PreferencePairs,
    RewardEnsemble,
    RewardModel,
    SegmentBuffer,
    SyntheticLabeler,
    fit,
    label_pairs,
    save_reward_model,
)
from rewardgym.wrappers.learned.base import RewardModelRegime

__all__ = ["OnlinePreferenceReward"]


class OnlinePreferenceReward(RewardModelRegime):
    """A reward model trained while the agent runs, from a simulated labeler's preferences.

    On every step the layer pays the current model's reward and records the batch (obs, action,
    real next obs, episode ends, and gold for the labeler) in a :class:`SegmentBuffer` of the last
    ``buffer_steps`` vector steps. Every ``query_every`` vector steps it *refreshes*: it samples
    pairs of ``segment_length``-step segments from the buffer, has the
    :class:`~rewardgym.rewardmodels.SyntheticLabeler` label them, and refits the model for
    ``epochs`` epochs on every label so far (at most ``max_pairs``, oldest dropped). Refresh ``j``
    (from 0) asks ``max(min_queries, round(queries * query_decay ** j))`` queries, and no more
    than the ``budget`` left; once the budget is spent the model stays as it is.

    **The labeler reads gold**: it simulates a human, the one reader of ``Transition.gold``
    that the reward contract (docs/design.md) allows. The paid reward never reads it. Segments
    that run past a termination count the steps after it as 0 gold, which is what makes
    CartPole's preferences informative (see :mod:`rewardgym.rewardmodels.segments`).

    The model's output layer starts at zero, so until the first refresh the layer pays 0
    everywhere rather than a random network's noise. Learning happens only while the layer is
    training (``regime.train(False)`` freezes it) and only from real steps (``valid``).

    Args:
        ensemble: members of the reward model, ``>= 1`` (1: a single :class:`RewardModel`).
        aggregation: how an ensemble's members combine: ``"mean"``, ``"wco"`` or ``"uwo"``.
        uwo_lambda: the variance weight of ``"uwo"``, ``>= 0``.
        hidden: the MLP's hidden widths.
        inputs: what the model sees: any of ``"obs"``, ``"action"``, ``"next_obs"``.
        segment_length: steps per compared segment.
        buffer_steps: vector steps kept for sampling segments (``>= segment_length``).
        query_every: vector steps between refreshes (``>= segment_length``).
        queries: pairs labeled at the first refresh.
        query_decay: factor on the number of queries per refresh, in ``(0, 1]``.
        min_queries: the fewest queries of a refresh.
        budget: the most labels in all, or None for no limit.
        max_pairs: labeled pairs kept for refitting.
        epochs, batch_size, lr: the refit's Adam settings.
        temperature, epsilon, bias, bias_weight: the labeler's (see
            :class:`~rewardgym.rewardmodels.SyntheticLabeler`; ``bias`` here is an observation
            dimension index, since a spec string cannot hold a function).
        seed: seeds the model, the labeler and the segment draws; None takes the env's first
            reset seed (0 if it was never seeded). Later seeded resets do not restart learning.

    Example:
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.learned
        >>> env = gym.make("rewardgym/CartPole-v0", reward="learned(kind='online', query_every=20, "
        ...                "segment_length=10, queries=50)")
        >>> _ = env.reset(seed=0)
        >>> first = env.step(0)[1]   # before any label the model pays 0
        >>> for _ in range(30):
        ...     _, _, terminated, truncated, info = env.step(env.action_space.sample())
        ...     if terminated or truncated:
        ...         _ = env.reset()
        >>> first, info["regime_info"]["learned"]["refreshes"]
        (0.0, 1)
    """

    kind = "online"

    def __init__(
        self,
        ensemble: int = 1,
        aggregation: str = "mean",
        uwo_lambda: float = 1.0,
        hidden: Sequence[int] = (64, 64),
        inputs: Sequence[str] = ("obs", "action", "next_obs"),
        segment_length: int = 25,
        buffer_steps: int = 1000,
        query_every: int = 500,
        queries: int = 100,
        query_decay: float = 1.0,
        min_queries: int = 10,
        budget: int | None = None,
        max_pairs: int = 10_000,
        epochs: int = 5,
        batch_size: int = 64,
        lr: float = 1e-3,
        temperature: float = 1.0,
        epsilon: float = 0.0,
        bias: int | None = None,
        bias_weight: float = 0.0,
        seed: int | None = None,
    ) -> None:
        subject = f"learned(kind={self.kind!r})"
        super().__init__(aggregation, uwo_lambda)
        self.ensemble = check_integer(ensemble, f"{subject}: ensemble size", low=1)
        self.hidden = tuple(int(w) for w in hidden)
        self.inputs = tuple(inputs)
        self.segment_length = check_integer(segment_length, f"{subject}: segment_length", low=1)
        self.buffer_steps = check_integer(buffer_steps, f"{subject}: buffer_steps", low=self.segment_length)
        self.query_every = check_integer(query_every, f"{subject}: query_every", low=self.segment_length)
        self.queries = check_integer(queries, f"{subject}: queries", low=1)
        self.query_decay = check_number(query_decay, f"{subject}: query_decay", low=0.0, high=1.0, low_open=True)
        self.min_queries = check_integer(min_queries, f"{subject}: min_queries", low=1)
        self.budget = None if budget is None else check_integer(budget, f"{subject}: budget", low=0)
        self.max_pairs = check_integer(max_pairs, f"{subject}: max_pairs", low=1)
        self.epochs = check_integer(epochs, f"{subject}: epochs", low=1)
        self.batch_size = check_integer(batch_size, f"{subject}: batch_size", low=1)
        self.lr = check_number(lr, f"{subject}: lr", low=0.0, low_open=True)
        if seed is not None:
            seed = check_integer(seed, f"{subject}: seed", low=0)
        self.seed = seed
        # Built now so bad labeler settings (temperature <= 0, ...) fail at construction.
        self.labeler = SyntheticLabeler(temperature, epsilon, bias, bias_weight, seed=0)
        self.labeler_settings = (temperature, epsilon, bias, bias_weight)
        self.buffer = SegmentBuffer(self.buffer_steps, self.segment_length)
        self.pairs: PreferencePairs | None = None
        self.steps = 0
        self.refreshes = 0
        self.labels = 0
        self.last_fit: dict[str, float] = {}
        self._generator: torch.Generator | None = None

    def bind(self, context: EnvContext) -> None:
        self.context = context
        self.buffer.observation_space = context.observation_space
        self.buffer.action_space = context.action_space
        # A probe build now, so spaces the default features cannot handle fail at make time.
        self._build(0 if self.seed is None else self.seed)
        # The labeler reads its bias from flattened observations only at the first query, a
        # refit in; an index past them is refused now, when the env is made.
        bias = self.labeler.bias
        shape = getattr(context.observation_space, "shape", None)
        if isinstance(bias, int) and shape is not None and bias >= math.prod(shape):
            raise ValueError(
                f"learned(kind='online'): bias={bias} names observation dimension {bias}, but the "
                f"env's observations have {math.prod(shape)} dimensions (0 to {math.prod(shape) - 1})"
            )

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        # A frozen copy keeps its model even if it never learned: the seed dealt it its weights.
        if self.seed is None and seed is not None and self.steps == 0 and not self.frozen:
            self._build(seed)
            self.seed = int(seed)

    def _build(self, seed: int) -> None:
        context = self.context
        assert context is not None
        obs_space, act_space = context.observation_space, context.action_space
        if self.ensemble == 1:
            model: RewardModel | RewardEnsemble = RewardModel(
                obs_space, act_space, hidden=self.hidden, inputs=self.inputs, seed=seed
            )
        else:
            model = RewardEnsemble(
                obs_space,
                act_space,
                size=self.ensemble,
                aggregation=self.aggregation or "mean",
                uwo_lambda=1.0 if self.uwo_lambda is None else self.uwo_lambda,
                hidden=self.hidden,
                inputs=self.inputs,
                seed=seed,
            )
        members = model.members if isinstance(model, RewardEnsemble) else [model]
        for member in members:
            # Zero output layer: an untrained model pays 0, not a random network's noise. (The
            # network is the default MLP, whose last module is its output Linear.)
            last = cast(nn.Linear, cast(nn.Sequential, member.network)[-1])
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        model.eval()
        self.model = model
        temperature, epsilon, bias, bias_weight = self.labeler_settings
        self.labeler = SyntheticLabeler(temperature, epsilon, bias, bias_weight, seed=seed)
        self._generator = None

    def _frozen_parts(self) -> dict[str, Any]:
        # What only refreshes use: the recorded steps, the labels so far and the segment draws.
        # The copy keeps the model, the labeler's settings and the counts (labels, refreshes).
        buffer = SegmentBuffer(self.buffer_steps, self.segment_length)
        buffer.observation_space, buffer.action_space = self.buffer.observation_space, self.buffer.action_space
        return {**super()._frozen_parts(), "buffer": buffer, "pairs": None, "_generator": None}

    def update(self, batch: Transition) -> dict[str, float]:
        if batch.gold is None:
            raise ValueError(
                "learned(kind='online') needs info['gold_reward'] for its simulated labeler, but the "
                "shell passed gold=None"
            )
        self.buffer.add(batch)
        self.steps += 1
        if self.steps % self.query_every:
            return {}
        return self.refresh()

    def _queries_now(self) -> int:
        wanted = max(self.min_queries, round(self.queries * self.query_decay**self.refreshes))
        if self.budget is not None:
            wanted = min(wanted, self.budget - self.labels)
        return int(wanted)

    def refresh(self) -> dict[str, float]:
        """Label new pairs from the buffer and refit the model (the schedule calls it)."""
        count = self._queries_now()
        if count <= 0:
            return {}
        seed = 0 if self.seed is None else self.seed
        device = self.buffer.device
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device).manual_seed(seed)
        assert self.model is not None
        segments = self.buffer.sample(2 * count, self._generator)
        new = label_pairs(segments.to(self.model.device), self.labeler)
        pairs = new if self.pairs is None else PreferencePairs.concatenate([self.pairs, new])
        if len(pairs) > self.max_pairs:
            # The newest max_pairs (a PreferencePairs slices its pairs, not its fields as a tuple).
            pairs = cast(PreferencePairs, pairs[len(pairs) - self.max_pairs :])
        self.pairs = pairs
        self.labels += len(new)
        self.last_fit = fit(
            self.model, pairs, epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=seed + self.refreshes
        )
        self.model.requires_grad_(False)
        self.refreshes += 1
        return {"queries": float(len(new)), "labels": float(self.labels), **self.last_fit}

    def info(self) -> dict[str, Any]:
        report: dict[str, Any] = {"labels": self.labels, "refreshes": self.refreshes}
        if self._std is not None:
            report["std"] = self._std
        return report

    def save(self, path: str | Path, **card: Any) -> Path:
        """Save the current model with its card (env, labeler, training so far), for kind='model'."""
        assert self.model is not None and self.context is not None
        return save_reward_model(
            self.model,
            path,
            env_id=self.context.env_id,
            labeler=self.labeler.settings(),
            online={
                "labels": self.labels,
                "refreshes": self.refreshes,
                "steps": self.steps,
                "query_every": self.query_every,
                "queries": self.queries,
                "query_decay": self.query_decay,
                "segment_length": self.segment_length,
            },
            heldout_pair_accuracy=card.pop("heldout_pair_accuracy", None),
            **card,
        )

    def __repr__(self) -> str:
        return (
            f"OnlinePreferenceReward(kind='online', ensemble={self.ensemble}, "
            f"labels={self.labels}, refreshes={self.refreshes})"
        )
