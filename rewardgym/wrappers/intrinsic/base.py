"""What every kind of ``intrinsic`` shares: ``r + beta * (1 - kappa)^t * normalized bonus``.

:class:`IntrinsicBonus` holds the coefficient and its decay, the bonus's running RMS, the
extrinsic reward, the seed (its own, or each seeded reset's) and the device the state lives on. A
kind supplies its raw bonus through a few hooks, and passes what it computed from
:meth:`~IntrinsicBonus.reward` to :meth:`~IntrinsicBonus.update` in a :class:`Step`, so each
step's bonus is computed once.

Example:
    >>> import numpy as np
    >>> from rewardgym.wrappers.intrinsic.count import Count
    >>> regime = Count(beta=0.5, normalize=False, seed=0)
    >>> isinstance(regime, IntrinsicBonus), regime.beta, regime.seed
    (True, 0.5, 0)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np
import torch
from gymnasium import spaces

from rewardgym.core.arrays import Array, is_torch
from rewardgym.core.observations import flat_batch, flat_space
from rewardgym.core.regime import EnvContext, Regime
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_flag, check_number, is_integer
from rewardgym.wrappers.intrinsic.encoding import space_width

__all__ = ["IntrinsicBonus", "Step"]


@dataclass(frozen=True, kw_only=True)
class Step:
    """One transition batch and the raw bonus a kind computed for it.

    :meth:`IntrinsicBonus.reward` makes it and :meth:`IntrinsicBonus.update` learns from the same
    one, so that a step's bonus (and any network pass) is computed once. A kind whose learning
    reuses more of its work subclasses it with those fields.

    Attributes:
        batch: the transition batch.
        bonus: the raw bonus ``(num_envs,)`` float32: numpy or torch, as the kind computed it.
        parts: the factors of a product bonus, reported beside it in ``info``
            (``e3b(variant='product')``); empty for the other kinds.

    Example:
        >>> import numpy as np
        >>> from rewardgym.core.transition import Transition
        >>> batch = Transition(*[np.zeros(2)] * 7)
        >>> Step(batch=batch, bonus=np.ones(2, np.float32)).parts
        {}
    """

    batch: Transition
    bonus: Array
    parts: Mapping[str, Array] = field(default_factory=dict)


StepT = TypeVar("StepT", bound=Step)
BonusT = TypeVar("BonusT", bound="IntrinsicBonus[Any]")


class IntrinsicBonus(Regime, Generic[StepT]):
    """The family's common layer: ``r + beta * (1 - kappa)^t * normalized bonus``.

    A kind implements :meth:`_build` (its state, from a seed), :meth:`_to_device` (that state on
    the batches' device), :meth:`_compute` (its raw bonus and what learning needs, as a
    :class:`Step`, without side effects) and, if it learns, :meth:`_learn`; a kind with a memory
    of each episode also :meth:`_remember` and :meth:`_reset_episodes`. ``StepT`` is the type of
    the kind's steps.
    """

    name = "intrinsic"
    kind = "intrinsic"

    _device: torch.device | str | None  # where the state lives; None: made on the next batch's
    _pending: StepT | None  # the step reward() computed, until update() learns from it
    _report: dict[str, Any]
    # The decay clock, the bonuses' running sums and what they give: Python numbers until a torch
    # batch turns them into tensors on its device.
    _t: Any
    _bonus_sq_sum: Any
    _bonus_weight: Any
    _rms: Any  # the running RMS of the raw bonuses trained on (1 before any)
    _coef: Any

    def __init__(self, beta: float, kappa: float, normalize: bool, extrinsic: bool, seed: int | None) -> None:
        subject = f"intrinsic(kind={self.kind!r})"
        self.beta = check_number(beta, f"{subject}: beta (the bonus coefficient)", low=0.0)
        self.kappa = check_number(
            kappa,
            f"{subject}: kappa (the coefficient's decay per transition)",
            low=0.0,
            high=1.0,
            high_open=True,
        )
        self.normalize = check_flag(normalize, f"{subject}: normalize")
        self.extrinsic = check_flag(extrinsic, f"{subject}: extrinsic")
        self.seed = _check_seed(seed, subject)
        self.context: EnvContext | None = None
        self._flatten = False  # a Dict observation, read as flat rows (see bind)
        self._flattened: tuple[Transition, Transition] | None = None
        self._start(self.seed if self.seed is not None else _fresh_seed())

    # -- the Regime protocol ---------------------------------------------------------------------

    def bind(self, context: EnvContext) -> None:
        # A Dict observation (an image and an instruction) is read as its keys' values side by
        # side: the bonuses' networks and counts take one vector per env.
        space = context.observation_space
        self._flatten = isinstance(space, spaces.Dict)
        if isinstance(space, spaces.Dict):
            context = dataclasses.replace(context, observation_space=flat_space(space))
        self.context = context
        self._check_spaces(context)
        self._start(self._layer_seed)

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        # A frozen copy keeps what it learned: a seeded reset only forgets episodes.
        if seed is not None and self.seed is None and not self.frozen:
            self._start(int(seed))
        elif self._device is not None:
            self._reset_episodes(mask)

    def reward(self, batch: Transition) -> Array:
        batch = self._flat(batch)
        self._place(batch)
        with torch.no_grad():
            step = self._compute(batch)
            self._remember(step)
        torch_batch = is_torch(batch.reward)
        raw = _like(step.bonus, torch_batch)
        normalized = raw / self._rms if self.normalize else raw
        paid = self._coef * normalized
        out = batch.reward + paid if self.extrinsic else paid
        self._pending = step
        report = {
            "extrinsic": batch.reward,
            "bonus": raw,
            "bonus_normalized": normalized,
            "coef": self._coef,
        }
        report.update({k: _like(v, torch_batch) for k, v in step.parts.items()})
        self._report = report
        return out

    def update(self, batch: Transition) -> dict[str, float]:
        batch = self._flat(batch)
        if self._pending is not None and self._pending.batch is batch:
            step = self._pending
        else:  # a batch reward() did not see (a user calling update directly)
            self._place(batch)
            with torch.no_grad():
                step = self._compute(batch)
        self._pending = None
        valid = batch.valid
        raw: Any = _like(step.bonus, is_torch(batch.reward))  # of valid's kind, numpy or torch
        weight: Array
        if is_torch(valid):
            weight = valid.to(torch.float64)
            raw = raw.to(torch.float64)
            # Running sums stay on the device: no sync per step on the GPU.
            self._t = self._t + weight.sum()
            self._bonus_sq_sum = self._bonus_sq_sum + (weight * raw * raw).sum()
            self._bonus_weight = self._bonus_weight + weight.sum()
            mean_sq = self._bonus_sq_sum / self._bonus_weight.clamp_min(1e-12)
            rms = torch.where(self._bonus_weight > 0, mean_sq.sqrt(), 1.0)
            self._rms = rms.clamp_min(1e-8).to(torch.float32)
            if self.kappa > 0.0:
                decay = torch.exp(self._t * math.log1p(-self.kappa))
                self._coef = (self.beta * decay).to(torch.float32)
            weight = weight.to(torch.float32)
        else:
            valid = np.asarray(valid, dtype=bool)
            kept = np.asarray(raw, dtype=np.float64)[valid]
            self._t += int(kept.size)
            self._bonus_sq_sum += float(kept @ kept)
            self._bonus_weight += int(kept.size)
            if self._bonus_weight > 0:
                self._rms = max(math.sqrt(self._bonus_sq_sum / self._bonus_weight), 1e-8)
            self._coef = self.beta * (1.0 - self.kappa) ** self._t
            weight = valid.astype(np.float32)
        return self._learn(step, weight)

    def info(self) -> dict[str, Any]:
        return self._report

    def frozen_copy(self: BonusT) -> BonusT:
        """The layer as it stands, learning no more (see :meth:`Regime.frozen_copy`): its networks,
        counts, normalizers and decay clock, on the CPU; a seeded reset no longer restarts it (even
        with ``seed=None``), and it moves to another device's batches on the first one.

        Example:
            >>> import numpy as np
            >>> from rewardgym.core.transition import Transition
            >>> from rewardgym.wrappers.intrinsic.count import Count
            >>> live = Count(beta=1.0, normalize=False, seed=0)
            >>> obs = np.zeros((1, 4), np.float32)
            >>> batch = Transition(obs, np.zeros(1, np.int64), obs, np.zeros(1, np.float32),
            ...                    np.zeros(1, bool), np.zeros(1, bool), np.ones(1, bool))
            >>> for _ in range(3):
            ...     _ = live.reward(batch); _ = live.update(batch)
            >>> frozen = live.frozen_copy()
            >>> frozen.reset(seed=1)  # would restart a fresh layer; the copy keeps its counts
            >>> frozen.counts(obs).tolist(), frozen.reward(batch).tolist()  # 1 / sqrt(3 + 1)
            ([3.0], [0.5])
        """
        twin = super().frozen_copy()
        if twin._device is not None and twin._device != "numpy":
            twin._move_to(None)
        return twin

    def _frozen_parts(self) -> dict[str, Any]:
        # The last step's batch and report hold the training envs' arrays (on their device).
        return {"_pending": None, "_report": {}, "_flattened": None}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r})"

    # -- shared machinery ------------------------------------------------------------------------

    def _start(self, seed: int) -> None:
        """(Re)initialize every piece of state from ``seed``: the layer starts afresh."""
        self._layer_seed = int(seed)
        self._device = None
        self._pending = None
        self._report = {}
        self._t = 0
        self._bonus_sq_sum = 0.0
        self._bonus_weight = 0
        self._rms = 1.0
        self._coef = self.beta
        self._build(self._layer_seed)

    def _flat(self, batch: Transition) -> Transition:
        """``batch`` with Dict observations as flat rows; the same flattened batch for the same
        batch, so :meth:`update` finds the step :meth:`reward` computed."""
        if not self._flatten:
            return batch
        if self._flattened is not None and self._flattened[0] is batch:
            return self._flattened[1]
        flat = batch._replace(obs=flat_batch(batch.obs), next_obs=flat_batch(batch.next_obs))
        self._flattened = (batch, flat)
        return flat

    def _place(self, batch: Transition) -> None:
        """On the first batch, make the layer's state where it lives; refuse a batch elsewhere."""
        device = batch.next_obs.device if is_torch(batch.next_obs) else "numpy"
        if self._device is None:
            self._device = device
            self._to_device(None if isinstance(device, str) else device)
        elif device != self._device and self.frozen:
            self._move_to(None if isinstance(device, str) else device)
        elif device != self._device:
            raise ValueError(
                f"intrinsic(kind={self.kind!r}) holds its state on {self._device}, but got a batch "
                f"on {device}; a layer serves envs on one device"
            )

    def _move_to(self, device: torch.device | None) -> None:
        """Move the learned state to ``device`` (None: numpy batches, torch on the CPU).

        Only a frozen copy moves: its clock and normalizer never change again, so plain numbers
        serve numpy and torch batches alike.
        """
        self._t, self._bonus_weight = int(_number(self._t)), int(_number(self._bonus_weight))
        self._bonus_sq_sum, self._rms, self._coef = (
            float(_number(x)) for x in (self._bonus_sq_sum, self._rms, self._coef)
        )
        self._move_state(device)
        self._device = "numpy" if device is None else device

    def _check_spaces(self, context: EnvContext) -> None:
        space_width(context.observation_space, "observation", self.kind)

    def _remember(self, step: StepT) -> None:
        """Per-episode state that reward() keeps (e3b's episodic covariance); none by default."""

    def _reset_episodes(self, mask: Array | None) -> None:
        """Forget the episodes of the envs in ``mask`` (all if None); nothing by default."""

    # -- what a kind provides ---------------------------------------------------------------------

    def _build(self, seed: int) -> None:
        raise NotImplementedError

    def _to_device(self, device: torch.device | None) -> None:
        """Make the state where batches live: ``device`` is a torch device, None for numpy."""
        raise NotImplementedError

    def _move_state(self, device: torch.device | None) -> None:
        """Move the state :meth:`_to_device` made, as learned so far, to ``device`` (None: numpy)."""
        raise NotImplementedError

    def _compute(self, batch: Transition) -> StepT:
        """The step: its raw bonus ``(n,)`` float32, numpy or torch, and what learning needs."""
        raise NotImplementedError

    def _learn(self, step: StepT, weight: Array) -> dict[str, float]:
        """Learn from a step, each entry weighted (0 for the invalid ones); returns metrics."""
        return {}


def _like(x: Array, torch_batch: bool) -> Array:
    """A torch result as numpy for a numpy batch (a view: CPU tensors share their memory)."""
    return x.numpy() if is_torch(x) and not torch_batch else x


def _number(x: Any) -> float:
    """A Python number from a number or a one-element tensor."""
    return x.item() if is_torch(x) else x


def _fresh_seed() -> int:
    return int(np.random.SeedSequence().generate_state(1)[0])


def _check_seed(value: object, subject: str) -> int | None:
    # Not check_integer: None is valid here too, and the refusal says so.
    if value is None:
        return None
    if not is_integer(value) or value < 0:  # type: ignore[operator]
        raise ValueError(f"{subject}: seed must be None or an integer >= 0, got {value!r}")
    return int(value)  # type: ignore[call-overload]
