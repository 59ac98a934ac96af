"""``learned``: the agent is paid by a reward model learned from pairwise preferences.

One family, two kinds, chosen with ``kind=...`` (default ``"model"``):

=========  =====================================================================================
kind       what the agent is paid
=========  =====================================================================================
model      a trained reward model's reward, frozen: a saved model (``path=...``) or a
           :class:`~rewardgym.rewardmodels.RewardModel` / ``RewardEnsemble`` object (``model=...``)
online     a reward model trained while the agent runs, as in preference-based RL: the layer
           records the batches it sees, asks a simulated labeler for preferences between segments
           on a query schedule, and refits the model (Christiano et al. 2017)
=========  =====================================================================================

Ensembles aggregate their members per step as ``"mean"``, ``"wco"`` (min) or ``"uwo"``
(``mean - uwo_lambda * variance``); an ensemble's layer reports the members' standard deviation
in ``info["regime_info"]["learned"]["std"]``.

Only the ``online`` kind's labeler reads gold (``Transition.gold``): it simulates the human
whose preferences the model learns (:class:`~rewardgym.rewardmodels.SyntheticLabeler`). The
reward the agent is paid never reads it. Models run in torch on the batch's device: numpy
batches enter through ``torch.from_numpy`` and leave as numpy; GPU batches stay on the GPU.

To study overoptimization, pay the agent with a learned reward and watch the proxy return rise
while the gold return (``info["episode_returns"]["gold"]``) stalls or falls.

Example:
    >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.learned
    >>> envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=4,
    ...                     reward="learned(kind='online', query_every=30, segment_length=10)")
    >>> _ = envs.reset(seed=0)
    >>> for _ in range(31):   # the layer refreshes after step 30; step 31 reports it
    ...     _, proxy, _, _, info = envs.step(envs.action_space.sample())
    >>> list(info["reward_trace"]), info["regime_info"]["learned"]["labels"]
    (['env', 'learned'], 100)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rewardgym.core.arrays import Array, is_torch
from rewardgym.core.regime import EnvContext, Regime
from rewardgym.core.registry import make_kind, register_regime
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number
from rewardgym.rewardmodels.model import (
    RewardEnsemble,
    RewardModel,
    aggregate,
    check_aggregation,
    check_ensemble_size,
    check_spaces,
    load_reward_model,
    save_reward_model,
)
from rewardgym.rewardmodels.preferences import (
    PreferencePairs,
    SegmentBuffer,
    SyntheticLabeler,
    fit,
    label_pairs,
    to_torch,
)
from rewardgym.wrappers.learned.text import TextModelReward

__all__ = ["KINDS", "ModelReward", "OnlinePreferenceReward", "learned"]


def _integer(kind: str, name: str, value: Any, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"learned(kind={kind!r}): {name} must be an integer >= {low}, got {value!r}")
    return int(value)


class _Learned(Regime):
    """What both kinds share: a reward model evaluated on the batch's device, without gradients."""

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


class ModelReward(_Learned):
    """A trained reward model pays the agent, frozen (it never learns here).

    Give exactly one of ``path`` (a model saved by
    :func:`~rewardgym.rewardmodels.save_reward_model`; its card must record the env's spaces)
    or ``model`` (a :class:`~rewardgym.rewardmodels.RewardModel` or ``RewardEnsemble``).

    Args:
        path: the saved model (``<path>.safetensors`` with ``<path>.json`` beside it).
        model: a model object instead of a path.
        aggregation: override an ensemble's aggregation: ``"mean"``, ``"wco"`` or ``"uwo"``.
        uwo_lambda: override an ensemble's UWO variance weight, ``>= 0``.

    Raises:
        ValueError: at bind, when the model was made for other observation or action spaces.

    Example:
        >>> import gymnasium as gym, os, tempfile, rewardgym, rewardgym.wrappers.learned
        >>> from rewardgym.rewardmodels import RewardModel, save_reward_model
        >>> env = gym.make("rewardgym/CartPole-v0")
        >>> model = RewardModel(env.observation_space, env.action_space, hidden=(8,))
        >>> path = save_reward_model(model, os.path.join(tempfile.mkdtemp(), "rm"))
        >>> env = gym.make("rewardgym/CartPole-v0", reward=f"learned(path={str(path)!r})")
        >>> _ = env.reset(seed=0)
        >>> list(env.step(1)[4]["reward_trace"])
        ['env', 'learned']
        >>> gym.make("rewardgym/Pendulum-v0", reward=f"learned(path={str(path)!r})")
        Traceback (most recent call last):
        ...
        ValueError: reward model ... was made for an unnamed env (observation space Box(4,) float32, action space Discrete(2)), but rewardgym/Pendulum-v0 has observation space Box(3,) float32 and action space Box(1,) float32; a reward model only serves an env with the spaces it was trained on
    """

    kind = "model"
    training = False

    def __init__(
        self,
        path: str | None = None,
        model: RewardModel | RewardEnsemble | None = None,
        aggregation: str | None = None,
        uwo_lambda: float | None = None,
    ) -> None:
        super().__init__(aggregation, uwo_lambda)
        if (path is None) == (model is None):
            raise ValueError(
                "learned(kind='model') needs exactly one of path='<saved model>' or "
                f"model=<RewardModel or RewardEnsemble>, got path={path!r} and model={model!r}; "
                "for a model trained while the agent runs use learned(kind='online')"
            )
        if path is not None and not isinstance(path, (str, Path)):
            raise TypeError(f"learned(kind='model'): path must be a string, got {type(path).__name__}")
        if model is not None and not isinstance(model, (RewardModel, RewardEnsemble)):
            raise TypeError(
                f"learned(kind='model'): model must be a RewardModel or RewardEnsemble, got {type(model).__name__}"
            )
        self.path = path
        self.model = model
        if model is not None:
            model.eval().requires_grad_(False)

    def bind(self, context: EnvContext) -> None:
        self.context = context
        if self.path is not None:
            self.model = load_reward_model(
                self.path,
                observation_space=context.observation_space,
                action_space=context.action_space,
                env_id=context.env_id,
            )
        else:
            assert self.model is not None
            check_spaces(
                self.model.card,
                context.observation_space,
                context.action_space,
                env_id=context.env_id,
                source="the given reward model",
            )

    def train(self, mode: bool = True) -> Regime:
        # Frozen by design: the shells never call update on it, whatever the caller asks.
        self.training = False
        return self

    def info(self) -> dict[str, Any]:
        return {} if self._std is None else {"std": self._std}

    def __repr__(self) -> str:
        source = repr(str(self.path)) if self.path is not None else type(self.model).__name__
        return f"ModelReward(kind='model', source={source})"


class OnlinePreferenceReward(_Learned):
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
    that DESIGN.md allows. The paid reward never reads it. Segments that run past a termination
    count the steps after it as 0 gold, which is what makes CartPole's preferences informative
    (see :mod:`rewardgym.rewardmodels.preferences`).

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
        kind = self.kind
        super().__init__(aggregation, uwo_lambda)
        self.ensemble = check_ensemble_size(ensemble, f"learned(kind={kind!r})")
        self.hidden = tuple(int(w) for w in hidden)
        self.inputs = tuple(inputs)
        self.segment_length = _integer(kind, "segment_length", segment_length, low=1)
        self.buffer_steps = _integer(kind, "buffer_steps", buffer_steps, low=self.segment_length)
        self.query_every = _integer(kind, "query_every", query_every, low=self.segment_length)
        self.queries = _integer(kind, "queries", queries, low=1)
        self.query_decay = check_number(
            query_decay, f"learned(kind={kind!r}): query_decay", low=0.0, high=1.0, low_open=True
        )
        self.min_queries = _integer(kind, "min_queries", min_queries, low=1)
        self.budget = None if budget is None else _integer(kind, "budget", budget, low=0)
        self.max_pairs = _integer(kind, "max_pairs", max_pairs, low=1)
        self.epochs = _integer(kind, "epochs", epochs, low=1)
        self.batch_size = _integer(kind, "batch_size", batch_size, low=1)
        self.lr = check_number(lr, f"learned(kind={kind!r}): lr", low=0.0, low_open=True)
        if seed is not None:
            seed = _integer(kind, "seed", seed, low=0)
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

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        if self.seed is None and seed is not None and self.steps == 0:
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
            # Zero output layer: an untrained model pays 0, not a random network's noise.
            last = member.network[-1]
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        model.eval()
        self.model = model
        temperature, epsilon, bias, bias_weight = self.labeler_settings
        self.labeler = SyntheticLabeler(temperature, epsilon, bias, bias_weight, seed=seed)
        self._generator = None

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
            pairs = pairs[len(pairs) - self.max_pairs :]
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


KINDS: dict[str, type[Regime]] = {
    "model": ModelReward,
    "online": OnlinePreferenceReward,
    "text_model": TextModelReward,
}
"""The kinds of the ``learned`` family, by name."""


def learned(kind: str = "model", **params: Any) -> Regime:
    """The ``learned`` family: the ``kind`` variant with its parameters (see :data:`KINDS`).

    Unknown kinds and parameters are refused with the valid choices.

    Example:
        >>> learned("online", ensemble=0)
        Traceback (most recent call last):
        ...
        ValueError: learned(kind='online'): ensemble size must be an integer >= 1, got 0
        >>> learned("online", aggregation="max")
        Traceback (most recent call last):
        ...
        ValueError: learned(kind='online'): unknown aggregation 'max'; valid aggregations: mean, wco, uwo
    """
    return make_kind("learned", KINDS, kind, params)


register_regime("learned", learned, override=True)
