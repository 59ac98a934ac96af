"""What the kinds with networks (``rnd``, ``icm``, ``e3b``) share: online training, inputs.

:class:`NetworkBonus` builds a kind's torch networks from the env's spaces and a seed, normalizes
observations by their running moments before they enter them, and trains them online from a
buffer of transitions (see :mod:`rewardgym.wrappers.intrinsic`). :class:`InverseDynamics` adds an
observation encoder trained by predicting the action, which ``icm`` and ``e3b`` share.

Example:
    >>> import gymnasium as gym
    >>> from rewardgym.core.regime import EnvContext
    >>> from rewardgym.wrappers.intrinsic.rnd import RND
    >>> regime = RND(seed=0)
    >>> regime.bind(EnvContext(1, gym.spaces.Box(-1, 1, (3,)), gym.spaces.Discrete(2)))
    >>> isinstance(regime, NetworkBonus), sorted(regime.modules)
    (True, ['predictor', 'target'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import torch
from torch import nn

from rewardgym.core.arrays import Array
from rewardgym.core.nets import mlp, seeded, to_torch
from rewardgym.core.regime import EnvContext
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_integer, check_number
from rewardgym.wrappers.intrinsic.base import IntrinsicBonus, Step
from rewardgym.wrappers.intrinsic.encoding import ActionCoding, encode_observation, space_width

__all__ = ["Encoded", "InverseDynamics", "NetworkBonus", "NetworkStep", "RunningMoments"]

_OBS_CLIP = 5.0  # normalized observations are clipped here, as in RND
_OBS_WARMUP = 64  # valid transitions seen before observations are normalized by their statistics


class RunningMoments:
    """Running mean and variance of weighted samples, on the batch's device, without a sync.

    Batches are merged with Chan et al.'s parallel update; a weight of 0 (an invalid entry)
    leaves the statistics unchanged.

    Example:
        >>> moments = RunningMoments((1,), "cpu")
        >>> moments.update(torch.tensor([[1.0], [3.0], [100.0]]), torch.tensor([1.0, 1.0, 0.0]))
        >>> moments.mean.tolist(), moments.std().tolist()
        ([2.0], [1.0])
    """

    def __init__(self, shape: tuple[int, ...], device: torch.device | str) -> None:
        self.count = torch.zeros((), dtype=torch.float64, device=device)
        self.mean = torch.zeros(shape, dtype=torch.float64, device=device)
        self.m2 = torch.zeros(shape, dtype=torch.float64, device=device)

    def update(self, x: torch.Tensor, weight: torch.Tensor) -> None:
        """Merge the batch ``x`` ``(n, *shape)``, each row weighted by ``weight`` ``(n,)``."""
        x = x.to(self.mean.dtype).reshape(x.shape[0], *self.mean.shape)
        w = weight.to(self.mean.dtype).reshape(-1, *([1] * self.mean.dim()))
        batch_count = w.sum()
        total = self.count + batch_count
        batch_mean = (w * x).sum(0) / batch_count.clamp_min(1e-12)
        batch_m2 = (w * (x - batch_mean) ** 2).sum(0)
        delta = batch_mean - self.mean
        share = batch_count / total.clamp_min(1e-12)
        self.mean = self.mean + delta * share
        self.m2 = self.m2 + batch_m2 + delta**2 * self.count * share
        self.count = total

    def to(self, device: torch.device | str) -> RunningMoments:
        """The statistics moved to ``device`` (in place); returns self."""
        self.count, self.mean, self.m2 = (x.to(device) for x in (self.count, self.mean, self.m2))
        return self

    def std(self) -> torch.Tensor:
        """The standard deviation; 1 until two samples are in."""
        var = self.m2 / self.count.clamp_min(1.0)
        return torch.where(self.count > 1, var, torch.ones_like(var)).sqrt()


@dataclass(frozen=True, kw_only=True)
class NetworkStep(Step):
    """A step of a kind with networks: its networks' inputs, buffered until the next training.

    Attributes:
        next_raw: ``s'`` encoded ``(num_envs, width)`` but not normalized: what the observation
            statistics learn from.
        inputs: the tensors the kind's ``_loss`` takes (in its order), one row per transition.
    """

    next_raw: torch.Tensor
    inputs: tuple[torch.Tensor, ...]


NetworkStepT = TypeVar("NetworkStepT", bound=NetworkStep)


class NetworkBonus(IntrinsicBonus[NetworkStepT]):
    """A kind with torch networks trained online from a buffer of transitions.

    A kind implements :meth:`_make_modules` (its networks, built from a seed), :meth:`_compute`
    (whose step holds the inputs :meth:`_loss` takes) and :meth:`_loss` (the per-row loss).
    """

    def __init__(
        self,
        features: int,
        hidden: int,
        lr: float,
        train_every: int,
        beta: float,
        kappa: float,
        normalize: bool,
        extrinsic: bool,
        seed: int | None,
    ) -> None:
        subject = f"intrinsic(kind={self.kind!r})"
        self.features = check_integer(features, f"{subject}: features", low=1)
        self.hidden = check_integer(hidden, f"{subject}: hidden", low=1)
        self.lr = check_number(lr, f"{subject}: lr", low=0.0, low_open=True)
        self.train_every = check_integer(train_every, f"{subject}: train_every", low=1)
        self.modules: Any = None
        """The kind's networks (a ``torch.nn.ModuleDict``), built in ``bind``."""
        super().__init__(beta, kappa, normalize, extrinsic, seed)

    def _build(self, seed: int) -> None:
        self.modules = None
        # Made on the first batch's device (_to_device).
        self.optimizer: Any = None
        self._obs_stats: Any = None
        self._buffer: list[tuple[tuple[torch.Tensor, ...], torch.Tensor]] = []  # (inputs, weight)
        self._buffered = 0
        if self.context is None:
            return  # built in bind(), once the spaces are known
        self._obs_space = self.context.observation_space
        self._obs_width = space_width(self._obs_space, "observation", self.kind)
        self.modules = seeded(seed, self._make_modules)

    def _to_device(self, device: torch.device | None) -> None:
        if self.modules is None:
            raise RuntimeError(
                f"intrinsic(kind={self.kind!r}) builds its networks from the env's spaces: apply it "
                "to an env (gym.make(..., reward=...), rewardgym.wrap) or call bind(EnvContext(...)) "
                "before reward()"
            )
        device = torch.device("cpu") if device is None else device
        self.modules.to(device)
        self._obs_stats = RunningMoments((self._obs_width,), device)
        self._obs_mean = torch.zeros(self._obs_width, device=device)
        self._obs_std = torch.ones(self._obs_width, device=device)
        trainable = [p for p in self.modules.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(trainable, lr=self.lr)
        self._built_on(device)

    def _built_on(self, device: torch.device) -> None:
        """Kind-specific state on the device (e3b's covariances); none by default."""

    def _frozen_parts(self) -> dict[str, Any]:
        # Only learning uses the optimizer (twice the networks' size) and the rows buffered for it.
        return {**super()._frozen_parts(), "optimizer": None, "_buffer": [], "_buffered": 0}

    def _move_state(self, device: torch.device | None) -> None:
        device = torch.device("cpu") if device is None else device
        self.modules.to(device)
        self._obs_stats.to(device)
        self._obs_mean, self._obs_std = self._obs_mean.to(device), self._obs_std.to(device)
        self._moved_to(device)

    def _moved_to(self, device: torch.device) -> None:
        """Move the kind-specific state of :meth:`_built_on`; none by default."""

    def _net(self, inputs: int, outputs: int) -> nn.Sequential:
        """An MLP of the family's shape: two hidden layers of width ``hidden``."""
        return mlp([inputs, self.hidden, self.hidden, outputs])

    def _observe(self, x: Array) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoded observation batch ``x`` raw ``(n, width)`` and normalized for the networks."""
        x = to_torch(x)
        raw = encode_observation(self._obs_space, x, int(x.shape[0]))
        return raw, ((raw - self._obs_mean) / self._obs_std).clamp(-_OBS_CLIP, _OBS_CLIP)

    def _learn(self, step: NetworkStepT, weight: Array) -> dict[str, float]:
        weight = to_torch(weight)
        self._obs_stats.update(step.next_raw, weight)
        # Statistics of a handful of states (the first steps of one episode) are far narrower
        # than the state space, and would blow every later state out to the clip; so, as RND
        # gathers its statistics before training, observations enter raw until enough are in.
        ready = self._obs_stats.count >= _OBS_WARMUP
        self._obs_mean = torch.where(ready, self._obs_stats.mean, 0.0).to(torch.float32)
        self._obs_std = torch.where(ready, self._obs_stats.std() + 1e-8, 1.0).to(torch.float32)
        self._learn_more(step, weight)
        self._buffer.append((step.inputs, weight))
        self._buffered += int(weight.shape[0])
        if self._buffered < self.train_every:
            return {}
        inputs = tuple(torch.cat(rows) for rows in zip(*(inputs for inputs, _ in self._buffer)))
        w = torch.cat([w for _, w in self._buffer])
        self._buffer, self._buffered = [], 0
        with torch.enable_grad():  # the caller may be collecting rollouts under no_grad
            loss = (w * self._loss(inputs)).sum() / w.sum().clamp_min(1.0)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        return {"loss": float(loss.detach())}  # one device sync per training round, not per step

    def _learn_more(self, step: NetworkStepT, weight: torch.Tensor) -> None:
        """Kind-specific online statistics (e3b's global covariance); none by default."""

    def _make_modules(self) -> nn.ModuleDict:
        raise NotImplementedError

    def _loss(self, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The per-row training loss ``(m,)`` over the buffered rows of each step's ``inputs``."""
        raise NotImplementedError


class Encoded(NamedTuple):
    """A transition batch as the inverse-dynamics networks take it, ``n`` rows each."""

    z: torch.Tensor
    """``s``, encoded and normalized."""
    next_z: torch.Tensor
    """``s'``, encoded and normalized."""
    next_raw: torch.Tensor
    """``s'``, encoded but not normalized (for the observation statistics)."""
    a: torch.Tensor
    """The actions, encoded (:class:`~rewardgym.wrappers.intrinsic.encoding.ActionCoding`)."""


class InverseDynamics(NetworkBonus[NetworkStepT]):
    """An encoder of observations trained by predicting the action from ``(phi(s), phi(s'))``."""

    def _check_spaces(self, context: EnvContext) -> None:
        super()._check_spaces(context)
        ActionCoding(context.action_space, self.kind)

    def _build(self, seed: int) -> None:
        if self.context is not None:
            self._actions = ActionCoding(self.context.action_space, self.kind)
        super()._build(seed)

    def _inverse_modules(self) -> dict[str, nn.Module]:
        return {
            "encoder": self._net(self._obs_width, self.features),
            "inverse": self._net(2 * self.features, self._actions.width),
        }

    def _encode(self, batch: Transition) -> Encoded:
        """``s``, ``a`` and ``s'`` of the batch, encoded for the networks."""
        _, z = self._observe(batch.obs)
        next_raw, next_z = self._observe(batch.next_obs)
        a = self._actions.encode(to_torch(batch.action).to(next_z.device), int(batch.next_obs.shape[0]))
        return Encoded(z=z, next_z=next_z, next_raw=next_raw, a=a)

    def _inverse_loss(self, phi: torch.Tensor, next_phi: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        predicted = self.modules["inverse"](torch.cat((phi, next_phi), dim=1))
        return self._actions.inverse_loss(predicted, a)
