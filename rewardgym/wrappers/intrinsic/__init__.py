"""``intrinsic``: the agent is paid an exploration bonus on top of the reward entering the layer.

One family, four kinds, chosen with ``kind=...`` (default ``"rnd"``):

=======  =====================================================================================
kind     the bonus of a transition ``(s, a, s')``
=======  =====================================================================================
count    ``1 / sqrt(n(s'))``: visits of ``s'``'s bin, counted under a seeded hash
rnd      the error of a predictor trained to match a fixed random network at ``s'`` (RND)
icm      the error of a forward model predicting ``s'``'s learned features from ``s``, ``a`` (ICM)
e3b      an elliptical bonus ``phi(s')^T C^-1 phi(s')``: episodic (E3B), global, or their product
=======  =====================================================================================

Every kind pays ``r + coef * bonus``, where ``r`` is the reward entering the layer (the
*extrinsic* reward, kept separate: it is the previous entry of ``info["reward_trace"]``) and

- ``coef = beta * (1 - kappa) ** t`` decays with ``t``, the number of valid transitions the layer
  has trained on (transitions, not vector steps, so the schedule does not depend on
  ``num_envs``);
- ``bonus`` is the raw bonus divided by the running root mean square of the raw bonuses of the
  earlier training steps (``normalize=True``, the default). The RMS rather than the standard
  deviation: bonuses are non-negative, and a standard deviation near zero (every early bonus
  alike, as the first visits of a count bonus are) would blow the bonus up.

``info["regime_info"]["intrinsic"]`` reports ``extrinsic``, the raw ``bonus``, the
``bonus_normalized`` and the ``coef`` of each step (plus ``episodic_bonus`` and ``global_bonus``
for ``e3b(variant='product')``), so the proxy can always be explained. ``extrinsic=False`` pays
the bonus alone (pure exploration).

**Learning online.** Learning happens in :meth:`~rewardgym.core.regime.Regime.update`, which the
shells call on every step while the layer is ``training``; entries with ``valid=False`` (the
autoreset step of a NEXT_STEP vector env) are weighted 0, never used. Counts, the normalizers
and the decay clock update on every training step. The networks of ``rnd``, ``icm`` and ``e3b`` are
trained from a buffer: each step's rows are appended, and once ``train_every`` rows are in, one
Adam step is taken on all of them and the buffer is emptied. A vector env with at least
``train_every`` envs thus trains on every step; a single env every ``train_every`` steps (one
optimizer step per 32 transitions by default keeps the per-step cost of a single env low).
Observations are normalized by running mean and standard deviation (clipped to ``[-5, 5]``, as
in RND) before they enter a network, once 64 valid transitions are in (raw until then).

**Torch, batched, CPU or GPU.** Every kind computes over the whole batch at once, never per env.
The networks run in torch: a numpy batch (``device="cpu"``) is viewed with ``torch.from_numpy``
(no copy) and the reward is returned as numpy; a torch batch (``device="cuda"``) is used where it
lives, without copies, and the reward stays a tensor on its device. ``count`` hashes and counts
in the batch's own kind (numpy or torch, the same bits either way). Networks are built in ``bind`` from the observation and action
spaces, on the CPU from a seed (so every device starts from the same weights), and move to the
batch's device on the first step.

**Seeds.** ``seed=None`` (the default) lets a seeded reset of the env restart the layer: its
networks, counts, normalizers, decay clock and buffers start afresh from that seed, so the same
env seed gives the same bonuses. ``seed=<int>`` fixes the layer's initialization instead, and
seeded resets then leave its learning in place.

Example:
    >>> import gymnasium as gym, numpy as np, rewardgym, rewardgym.wrappers.intrinsic
    >>> envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=4, reward="intrinsic(kind='rnd')")
    >>> _ = envs.reset(seed=0)
    >>> _, proxy, _, _, info = envs.step(np.array([0, 1, 0, 1]))
    >>> report = info["regime_info"]["intrinsic"]
    >>> sorted(report)
    ['bonus', 'bonus_normalized', 'coef', 'extrinsic']
    >>> bool(np.allclose(proxy, report["extrinsic"] + report["coef"] * report["bonus_normalized"]))
    True
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from rewardgym.core.arrays import Array, is_torch, mask_like
from rewardgym.core.hashing import bin_indices, check_bin_widths, hash_rows
from rewardgym.core.regime import EnvContext, Regime
from rewardgym.core.registry import make_kind, register_regime
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number
from rewardgym.wrappers.intrinsic.text import NgramNovelty

__all__ = ["KINDS", "Count", "E3B", "ICM", "RND", "intrinsic"]

_OBS_CLIP = 5.0  # normalized observations are clipped here, as in RND
_OBS_WARMUP = 64  # valid transitions seen before observations are normalized by their statistics
_VARIANTS = ("episodic", "global", "product")


# ----------------------------------------------------------------------------------------------
# Parameter checks: every refusal names the kind, the parameter, the value and the valid range.


def _integer(kind: str, name: str, value: Any, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"intrinsic(kind={kind!r}): {name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _flag(kind: str, name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"intrinsic(kind={kind!r}): {name} must be True or False, got {value!r}")
    return bool(value)


def _seed(kind: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"intrinsic(kind={kind!r}): seed must be None or an integer >= 0, got {value!r}")
    return int(value)


# ----------------------------------------------------------------------------------------------
# Torch helpers: batches in, running statistics, encodings of spaces, networks.


def _tensor(x: Any) -> Any:
    """``x`` as a torch tensor: a torch batch as it is, a numpy batch viewed without a copy."""
    import torch

    if is_torch(x):
        return x
    array = np.asarray(x)
    # torch.from_numpy shares memory; it warns on read-only arrays and refuses negative strides,
    # which only a foreign env would hand over, so those (only) are copied.
    if not array.flags.writeable or any(s < 0 for s in array.strides):
        array = np.array(array)
    return torch.from_numpy(array)


class _RunningMoments:
    """Running mean and variance of weighted samples, on the batch's device, without a sync.

    Batches are merged with Chan et al.'s parallel update; a weight of 0 (an invalid entry)
    leaves the statistics unchanged.
    """

    def __init__(self, shape: tuple[int, ...], device: Any) -> None:
        import torch

        self.count = torch.zeros((), dtype=torch.float64, device=device)
        self.mean = torch.zeros(shape, dtype=torch.float64, device=device)
        self.m2 = torch.zeros(shape, dtype=torch.float64, device=device)

    def update(self, x: Any, weight: Any) -> None:
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

    def std(self) -> Any:
        """The standard deviation; 1 until two samples are in."""
        import torch

        var = self.m2 / self.count.clamp_min(1.0)
        return torch.where(self.count > 1, var, torch.ones_like(var)).sqrt()


def _space_width(space: gym.Space, role: str, kind: str) -> int:
    """How many inputs the encoding of one element of ``space`` takes."""
    if isinstance(space, gym.spaces.Discrete):
        return int(space.n)
    if isinstance(space, (gym.spaces.Box, gym.spaces.MultiBinary, gym.spaces.MultiDiscrete)):
        return int(np.prod(space.shape)) if space.shape else 1
    raise TypeError(
        f"intrinsic(kind={kind!r}) needs a Box, Discrete, MultiBinary or MultiDiscrete {role} space, got {space}"
    )


def _encode_observation(space: gym.Space, x: Any, n: int) -> Any:
    """A float32 ``(n, width)`` encoding of an observation batch: Discrete one-hot, else flat."""
    import torch

    if isinstance(space, gym.spaces.Discrete):
        index = (x.reshape(n).to(torch.int64) - int(space.start)).clamp(0, int(space.n) - 1)
        return torch.nn.functional.one_hot(index, int(space.n)).to(torch.float32)
    return x.reshape(n, -1).to(torch.float32)


class _ActionCoding:
    """How ``icm`` and ``e3b`` feed actions to their models and score their inverse model.

    Discrete actions enter as one-hot vectors and the inverse model is scored by cross-entropy;
    Box actions enter scaled to ``[-1, 1]`` where their bounds are finite, and the inverse model
    is scored by squared error.
    """

    def __init__(self, space: gym.Space, kind: str) -> None:
        if isinstance(space, gym.spaces.Discrete):
            self.discrete = True
            self.n = int(space.n)
            self.start = int(space.start)
            self.width = self.n
        elif isinstance(space, gym.spaces.Box):
            self.discrete = False
            self.width = int(np.prod(space.shape)) if space.shape else 1
            low = np.asarray(space.low, np.float64).reshape(-1)
            high = np.asarray(space.high, np.float64).reshape(-1)
            finite = np.isfinite(low) & np.isfinite(high) & (high > low)
            self.middle = np.where(finite, (low + high) / 2, 0.0).astype(np.float32)
            self.half = np.where(finite, (high - low) / 2, 1.0).astype(np.float32)
            self._constants: dict[str, Any] = {}
        else:
            raise TypeError(f"intrinsic(kind={kind!r}) needs a Discrete or Box action space, got {space}")

    def encode(self, action: Any, n: int) -> Any:
        """The model input of each action, float32 ``(n, width)``, a fresh tensor."""
        import torch

        if self.discrete:
            index = (action.reshape(n).to(torch.int64) - self.start).clamp(0, self.n - 1)
            return torch.nn.functional.one_hot(index, self.n).to(torch.float32)
        key = str(action.device)
        if key not in self._constants:
            self._constants[key] = (
                torch.as_tensor(self.middle, device=action.device),
                torch.as_tensor(self.half, device=action.device),
            )
        middle, half = self._constants[key]
        return (action.reshape(n, -1).to(torch.float32) - middle) / half

    def inverse_loss(self, predicted: Any, encoded: Any) -> Any:
        """The inverse model's per-row loss, ``(n,)``."""
        import torch

        if self.discrete:
            return torch.nn.functional.cross_entropy(predicted, encoded.argmax(1), reduction="none")
        return ((predicted - encoded) ** 2).mean(1)


def _mlp(inputs: int, hidden: int, outputs: int) -> Any:
    import torch

    return torch.nn.Sequential(
        torch.nn.Linear(inputs, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, outputs),
    )


# ----------------------------------------------------------------------------------------------
# What every kind shares: coefficient, normalization, the extrinsic reward, seeding, device.


class _Intrinsic(Regime):
    """The family's common layer: ``r + beta * (1 - kappa)^t * normalized bonus``.

    A kind implements :meth:`_build` (its state, from a seed), :meth:`_compute` (its raw bonus
    and what training needs, without side effects) and, if it learns, :meth:`_learn`.
    """

    name = "intrinsic"
    kind = "intrinsic"

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
        self.normalize = _flag(self.kind, "normalize", normalize)
        self.extrinsic = _flag(self.kind, "extrinsic", extrinsic)
        self.seed = _seed(self.kind, seed)
        self.context: EnvContext | None = None
        self._device: Any = None
        self._report: dict[str, Any] = {}
        self._pending: tuple[Transition, dict[str, Any]] | None = None
        self._start(self.seed if self.seed is not None else _fresh_seed())

    # -- the Regime protocol ---------------------------------------------------------------------

    def bind(self, context: EnvContext) -> None:
        self.context = context
        self._check_spaces(context)
        self._start(self._layer_seed)

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        if seed is not None and self.seed is None:
            self._start(int(seed))
        elif self._device is not None:
            self._reset_episodes(mask)

    def reward(self, batch: Transition) -> Array:
        import torch

        step = self._prepare(batch)
        with torch.no_grad():
            raw = self._episodic(step, self._compute(step))
        torch_batch = is_torch(batch.reward)
        raw = _like(raw, torch_batch)
        step["raw"] = raw
        normalized = raw / self._rms if self.normalize else raw
        paid = self._coef * normalized
        out = batch.reward + paid if self.extrinsic else paid
        self._pending = (batch, step)
        report = {
            "extrinsic": batch.reward,
            "bonus": raw,
            "bonus_normalized": normalized,
            "coef": self._coef,
        }
        report.update({k: _like(v, torch_batch) for k, v in step.get("parts", {}).items()})
        self._report = report
        return out

    def update(self, batch: Transition) -> dict[str, float]:
        import torch

        if self._pending is not None and self._pending[0] is batch:
            step = self._pending[1]
        else:  # a batch reward() did not see (a user calling update directly)
            step = self._prepare(batch)
            with torch.no_grad():
                step["raw"] = _like(self._compute(step), is_torch(batch.reward))
        self._pending = None
        valid, raw = step["valid"], step["raw"]
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

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r})"

    # -- shared machinery ------------------------------------------------------------------------

    def _start(self, seed: int) -> None:
        """(Re)initialize every piece of state from ``seed``: the layer starts afresh."""
        self._layer_seed = int(seed)
        self._device: Any = None  # state is (re)made on the next batch's device
        self._pending = None
        self._report = {}
        # Python numbers until a torch batch turns them into tensors on its device.
        self._t: Any = 0
        self._bonus_sq_sum: Any = 0.0
        self._bonus_weight: Any = 0
        self._rms: Any = 1.0  # the running RMS of the raw bonuses trained on (1 before any)
        self._coef: Any = self.beta
        self._build(self._layer_seed)

    def _prepare(self, batch: Transition) -> dict[str, Any]:
        """The batch's fields by name; on the first batch, the layer's state is made where it lives."""
        device = batch.next_obs.device if is_torch(batch.next_obs) else "numpy"
        if self._device is None:
            self._device = device
            self._to_device(None if device == "numpy" else device)
        elif device != self._device:
            raise ValueError(
                f"intrinsic(kind={self.kind!r}) holds its state on {self._device}, but got a batch "
                f"on {device}; a layer serves envs on one device"
            )
        return {
            "n": int(batch.next_obs.shape[0]),
            "obs": batch.obs,
            "action": batch.action,
            "next_obs": batch.next_obs,
            "valid": batch.valid,
        }

    def _check_spaces(self, context: EnvContext) -> None:
        _space_width(context.observation_space, "observation", self.kind)

    def _episodic(self, step: dict[str, Any], raw: Any) -> Any:
        """Per-episode state that reward() keeps (e3b's episodic covariance); none by default."""
        return raw

    def _reset_episodes(self, mask: Array | None) -> None:
        """Forget the episodes of the envs in ``mask`` (all if None); nothing by default."""

    # -- what a kind provides ---------------------------------------------------------------------

    def _build(self, seed: int) -> None:
        raise NotImplementedError

    def _to_device(self, device: Any) -> None:
        """Make the state where batches live: ``device`` is a torch device, None for numpy."""
        raise NotImplementedError

    def _compute(self, step: dict[str, Any]) -> Any:
        """The raw bonus ``(n,)`` float32, numpy or torch; puts what training needs in ``step``."""
        raise NotImplementedError

    def _learn(self, step: dict[str, Any], weight: Any) -> dict[str, float]:
        return {}


def _like(x: Any, torch_batch: bool) -> Any:
    """A torch result as numpy for a numpy batch (a view: CPU tensors share their memory)."""
    return x.numpy() if is_torch(x) and not torch_batch else x


def _fresh_seed() -> int:
    return int(np.random.SeedSequence().generate_state(1)[0])


def _seeded_modules(seed: int, make: Any) -> Any:
    """``make()``'s torch modules, initialized from ``seed`` without touching torch's global RNG."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make()


# ----------------------------------------------------------------------------------------------
# count


class Count(_Intrinsic):
    """Count-based bonus ``1 / sqrt(n(s'))`` over a seeded hash of the discretized observation.

    ``s'`` is cut into bins of width ``resolution`` (one width, or one per observation dimension),
    the bin indices are hashed with SplitMix64 under the layer's seed
    (:mod:`rewardgym.core.hashing`, the same bits on numpy and torch), and the hash picks one of
    ``buckets`` counters (distinct bins share a counter with probability about
    ``bins / buckets``). ``n(s')`` counts the valid training visits before this step plus this
    one, so a first visit pays 1 and the bonus falls as ``1/sqrt(n)`` with visits (Strehl &
    Littman 2008; with a hash, Tang et al. 2017, "#Exploration"). Two envs reaching the same bin
    in one step both get the count before the step.

    Args:
        resolution: the bin width, a number ``> 0`` or one width per observation dimension.
        buckets: the number of counters, a power of two ``>= 2``.
        beta: the bonus coefficient ``>= 0``.
        kappa: the coefficient's decay per training transition, in ``[0, 1)``.
        normalize: divide the bonus by the running RMS of earlier bonuses.
        extrinsic: add the bonus to the reward entering the layer (else pay the bonus alone).
        seed: the hash's seed; None: the env's reset seed.

    Example:
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.intrinsic
        >>> env = gym.make("rewardgym/CartPole-v0",
        ...                reward="intrinsic(kind='count', beta=1.0, normalize=False)")
        >>> _ = env.reset(seed=0)
        >>> env.step(1)[4]["regime_info"]["intrinsic"]["bonus"]  # a first visit
        1.0
    """

    kind = "count"

    def __init__(
        self,
        resolution: float | list[float] = 0.1,
        buckets: int = 2**20,
        beta: float = 0.1,
        kappa: float = 0.0,
        normalize: bool = True,
        extrinsic: bool = True,
        seed: int | None = None,
    ) -> None:
        self.resolution = check_bin_widths(resolution, f"intrinsic(kind={self.kind!r}): resolution")
        self.buckets = _integer(self.kind, "buckets", buckets, low=2)
        if self.buckets & (self.buckets - 1):
            raise ValueError(
                f"intrinsic(kind='count'): buckets must be a power of two (2, 4, ..., 2**20), got {buckets!r}"
            )
        super().__init__(beta, kappa, normalize, extrinsic, seed)

    def _check_spaces(self, context: EnvContext) -> None:
        width = np.size(self.resolution)
        dims = _space_width(context.observation_space, "observation", self.kind)
        if isinstance(context.observation_space, gym.spaces.Discrete):
            dims = 1  # counted by index, not one-hot
        if width > 1 and width != dims:
            raise ValueError(
                f"intrinsic(kind='count'): resolution has {width} bin widths, but the observation "
                f"has {dims} dimensions; give one width per dimension or one number"
            )

    def _build(self, seed: int) -> None:
        self._counts: Any = None  # made on the first batch's device

    def _to_device(self, device: Any) -> None:
        # float64 counts are exact up to 2**53 visits, and index_add_ supports them everywhere.
        if device is None:
            self._counts = np.zeros(self.buckets, dtype=np.float64)
        else:
            import torch

            self._counts = torch.zeros(self.buckets, dtype=torch.float64, device=device)

    def counts(self, obs: Array) -> Array:
        """The valid training visits counted so far for each observation of a batch, float64.

        A batch of the layer's kind (numpy, or torch on its device) before the first step, too.
        """
        n = int(obs.shape[0])
        if self._counts is None:
            import torch

            return torch.zeros(n, dtype=torch.float64, device=obs.device) if is_torch(obs) else np.zeros(n)
        return _gather(self._counts, self._slots(obs, n))

    def _slots(self, next_obs: Array, n: int) -> Array:
        keys = hash_rows(bin_indices(next_obs, self.resolution, n), self._layer_seed)
        if is_torch(keys):
            return keys & (self.buckets - 1)  # int64, non-negative: the mask clears the sign bit
        return (keys & np.uint64(self.buckets - 1)).astype(np.int64)

    def _compute(self, step: dict[str, Any]) -> Any:
        slots = self._slots(step["next_obs"], step["n"])
        step["slots"] = slots
        visits = _gather(self._counts, slots) + 1.0
        if is_torch(visits):
            import torch

            return visits.rsqrt().to(torch.float32)
        return (1.0 / np.sqrt(visits)).astype(np.float32)

    def _learn(self, step: dict[str, Any], weight: Any) -> dict[str, float]:
        if is_torch(self._counts):
            self._counts.index_add_(0, step["slots"], weight.to(self._counts.dtype))
        else:
            np.add.at(self._counts, step["slots"], weight)
        return {}


def _gather(table: Array, index: Array) -> Array:
    """``table[index]`` (torch's index_select beats its fancy indexing)."""
    return table.index_select(0, index) if is_torch(table) else table[index]


# ----------------------------------------------------------------------------------------------
# The kinds with networks: what they share.


class _Learned(_Intrinsic):
    """A kind with torch networks trained online from a buffer of transitions."""

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
        self.features = _integer(self.kind, "features", features, low=1)
        self.hidden = _integer(self.kind, "hidden", hidden, low=1)
        self.lr = check_number(lr, f"intrinsic(kind={self.kind!r}): lr", low=0.0, low_open=True)
        self.train_every = _integer(self.kind, "train_every", train_every, low=1)
        self.modules: Any = None
        """The kind's networks (a ``torch.nn.ModuleDict``), built in ``bind``."""
        super().__init__(beta, kappa, normalize, extrinsic, seed)

    def _build(self, seed: int) -> None:
        self.modules = None
        self.optimizer: Any = None
        self._obs_stats: Any = None
        self._buffer: list[dict[str, Any]] = []
        self._buffered = 0
        if self.context is None:
            return  # built in bind(), once the spaces are known
        self._obs_space = self.context.observation_space
        self._obs_width = _space_width(self._obs_space, "observation", self.kind)
        self.modules = _seeded_modules(seed, self._make_modules)

    def _to_device(self, device: Any) -> None:
        import torch

        if self.modules is None:
            raise RuntimeError(
                f"intrinsic(kind={self.kind!r}) builds its networks from the env's spaces: apply it "
                "to an env (gym.make(..., reward=...), rewardgym.wrap) or call bind(EnvContext(...)) "
                "before reward()"
            )
        device = torch.device("cpu") if device is None else device
        self.modules.to(device)
        self._obs_stats = _RunningMoments((self._obs_width,), device)
        self._obs_mean = torch.zeros(self._obs_width, device=device)
        self._obs_std = torch.ones(self._obs_width, device=device)
        trainable = [p for p in self.modules.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(trainable, lr=self.lr)
        self._built_on(device)

    def _built_on(self, device: Any) -> None:
        """Kind-specific state on the device (e3b's covariances); none by default."""

    def _observe(self, x: Any) -> tuple[Any, Any]:
        """The encoded observation batch ``x`` raw ``(n, width)`` and normalized for the networks."""
        x = _tensor(x)
        raw = _encode_observation(self._obs_space, x, int(x.shape[0]))
        return raw, ((raw - self._obs_mean) / self._obs_std).clamp(-_OBS_CLIP, _OBS_CLIP)

    def _learn(self, step: dict[str, Any], weight: Any) -> dict[str, float]:
        import torch

        weight = _tensor(weight)
        self._obs_stats.update(step["next_raw"], weight)
        # Statistics of a handful of states (the first steps of one episode) are far narrower
        # than the state space, and would blow every later state out to the clip; so, as RND
        # gathers its statistics before training, observations enter raw until enough are in.
        ready = self._obs_stats.count >= _OBS_WARMUP
        self._obs_mean = torch.where(ready, self._obs_stats.mean, 0.0).to(torch.float32)
        self._obs_std = torch.where(ready, self._obs_stats.std() + 1e-8, 1.0).to(torch.float32)
        self._learn_more(step, weight)
        self._buffer.append({**{k: step[k] for k in self._train_keys}, "weight": weight})
        self._buffered += step["n"]
        if self._buffered < self.train_every:
            return {}
        data = {k: torch.cat([row[k] for row in self._buffer]) for k in self._buffer[0]}
        self._buffer, self._buffered = [], 0
        with torch.enable_grad():  # the caller may be collecting rollouts under no_grad
            w = data["weight"]
            loss = (w * self._loss(data)).sum() / w.sum().clamp_min(1.0)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        return {"loss": float(loss.detach())}  # one device sync per training round, not per step

    def _learn_more(self, step: dict[str, Any], weight: Any) -> None:
        """Kind-specific online statistics (e3b's global covariance); none by default."""

    _train_keys: tuple[str, ...] = ()

    def _make_modules(self) -> Any:
        raise NotImplementedError

    def _loss(self, data: dict[str, Any]) -> Any:
        """The per-row training loss ``(m,)`` over buffered rows."""
        raise NotImplementedError


# ----------------------------------------------------------------------------------------------
# rnd


class RND(_Learned):
    """Random network distillation (Burda et al. 2019): the bonus is a predictor's error.

    A target network with fixed random weights maps the normalized ``s'`` to ``features``
    outputs; a predictor of the same shape is trained to match it on the states seen. The bonus is
    their mean squared difference at ``s'``: large on states unlike those trained on, falling on
    states visited often.

    Args:
        features: the networks' output width.
        hidden: the width of their two hidden layers.
        lr: the predictor's Adam learning rate.
        train_every: train once this many transitions are buffered (see the module's docstring).
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
    _train_keys = ("next_z",)

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

    def _make_modules(self) -> Any:
        import torch

        target = _mlp(self._obs_width, self.hidden, self.features).requires_grad_(False)
        predictor = _mlp(self._obs_width, self.hidden, self.features)
        return torch.nn.ModuleDict({"target": target, "predictor": predictor})

    def _error(self, z: Any) -> Any:
        return ((self.modules["predictor"](z) - self.modules["target"](z)) ** 2).mean(1)

    def _compute(self, step: dict[str, Any]) -> Any:
        step["next_raw"], step["next_z"] = self._observe(step["next_obs"])
        return self._error(step["next_z"])

    def _loss(self, data: dict[str, Any]) -> Any:
        return self._error(data["next_z"])


# ----------------------------------------------------------------------------------------------
# icm


class _InverseDynamics(_Learned):
    """An encoder of observations trained by predicting the action from ``(phi(s), phi(s'))``."""

    def _check_spaces(self, context: EnvContext) -> None:
        super()._check_spaces(context)
        _ActionCoding(context.action_space, self.kind)

    def _build(self, seed: int) -> None:
        if self.context is not None:
            self._actions = _ActionCoding(self.context.action_space, self.kind)
        super()._build(seed)

    def _inverse_modules(self) -> dict[str, Any]:
        return {
            "encoder": _mlp(self._obs_width, self.hidden, self.features),
            "inverse": _mlp(2 * self.features, self.hidden, self._actions.width),
        }

    def _transition(self, step: dict[str, Any]) -> None:
        """Encode ``s``, ``a`` and ``s'`` of the step for the networks."""
        _, step["z"] = self._observe(step["obs"])
        step["next_raw"], step["next_z"] = self._observe(step["next_obs"])
        step["a"] = self._actions.encode(_tensor(step["action"]).to(step["next_z"].device), step["n"])

    def _inverse_loss(self, phi: Any, next_phi: Any, a: Any) -> Any:
        predicted = self.modules["inverse"](_cat(phi, next_phi))
        return self._actions.inverse_loss(predicted, a)


def _cat(*parts: Any) -> Any:
    import torch

    return torch.cat(parts, dim=1)


class ICM(_InverseDynamics):
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
    _train_keys = ("z", "next_z", "a")

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

    def _make_modules(self) -> Any:
        import torch

        forward = _mlp(self.features + self._actions.width, self.hidden, self.features)
        return torch.nn.ModuleDict({**self._inverse_modules(), "forward_model": forward})

    def _forward_error(self, phi: Any, next_phi: Any, a: Any) -> Any:
        return ((self.modules["forward_model"](_cat(phi, a)) - next_phi) ** 2).mean(1)

    def _compute(self, step: dict[str, Any]) -> Any:
        self._transition(step)
        encoder = self.modules["encoder"]
        return self._forward_error(encoder(step["z"]), encoder(step["next_z"]), step["a"])

    def _loss(self, data: dict[str, Any]) -> Any:
        encoder = self.modules["encoder"]
        phi, next_phi = encoder(data["z"]), encoder(data["next_z"])
        inverse = self._inverse_loss(phi, next_phi, data["a"])
        forward = self._forward_error(phi, next_phi.detach(), data["a"])
        return (1.0 - self.forward_weight) * inverse + self.forward_weight * forward


# ----------------------------------------------------------------------------------------------
# e3b


class E3B(_InverseDynamics):
    """Elliptical bonuses over an inverse-dynamics embedding: E3B and its global counterpart.

    ``phi`` is an encoder trained by inverse dynamics (as in :class:`ICM`). With
    ``C = ridge * I + sum of phi(x) phi(x)^T`` over a set of earlier states, the bonus of ``s'``
    is ``phi(s')^T C^-1 phi(s')``: large in directions of the embedding the set has not covered.
    ``variant`` picks the set, following Henaff, Jiang & Raileanu, "A Study of Global and
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
    _train_keys = ("z", "next_z", "a")

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

    def _make_modules(self) -> Any:
        import torch

        return torch.nn.ModuleDict(self._inverse_modules())

    def _built_on(self, device: Any) -> None:
        import torch

        eye = torch.eye(self.features, dtype=torch.float64, device=device)
        self._identity = (eye / self.ridge).to(torch.float32)  # C^-1 of an empty set
        self._episodic_inverse: Any = None  # (num_envs, f, f), made on the first batch
        self._global_cov = self.ridge * eye
        self._global_inverse = self._identity.clone()

    def _compute(self, step: dict[str, Any]) -> Any:
        import torch

        self._transition(step)
        phi = self.modules["encoder"](step["next_z"])
        step["phi"] = phi
        parts = {}
        if self.variant != "global":
            n = step["n"]
            if self._episodic_inverse is None or self._episodic_inverse.shape[0] != n:
                self._episodic_inverse = self._identity.expand(n, -1, -1).clone()
            u = torch.bmm(self._episodic_inverse, phi.unsqueeze(2)).squeeze(2)
            step["u"] = u
            parts["episodic_bonus"] = (phi * u).sum(1)
        if self.variant != "episodic":
            parts["global_bonus"] = (phi * (phi @ self._global_inverse)).sum(1)
        if self.variant == "product":
            step["parts"] = parts
            return parts["episodic_bonus"] * parts["global_bonus"]
        return next(iter(parts.values()))

    def _episodic(self, step: dict[str, Any], raw: Any) -> Any:
        import torch

        if self.variant == "global":
            return raw
        # Sherman-Morrison: (C + phi phi^T)^-1 = C^-1 - (C^-1 phi)(C^-1 phi)^T / (1 + phi^T C^-1 phi).
        u = step["u"]
        b = (step["phi"] * u).sum(1)
        updated = self._episodic_inverse - u.unsqueeze(2) * u.unsqueeze(1) / (1.0 + b)[:, None, None]
        valid = _tensor(step["valid"]).to(device=u.device, dtype=torch.bool)
        self._episodic_inverse = _where_rows(valid, updated, self._episodic_inverse)
        return raw

    def _reset_episodes(self, mask: Array | None) -> None:
        if self._episodic_inverse is None:
            return
        if mask is None:
            self._episodic_inverse = self._identity.expand_as(self._episodic_inverse).clone()
            return
        mask = mask_like(mask, self._episodic_inverse)
        self._episodic_inverse = _where_rows(mask, self._identity, self._episodic_inverse)

    def _learn_more(self, step: dict[str, Any], weight: Any) -> None:
        import torch

        if self.variant == "episodic":
            return
        phi = step["phi"].to(torch.float64)
        self._global_cov = self._global_cov + (weight.to(torch.float64)[:, None] * phi).T @ phi
        # inv_ex rather than inv: C is positive definite (ridge > 0), and inv's error check would
        # cost a device sync per step.
        self._global_inverse = torch.linalg.inv_ex(self._global_cov)[0].to(torch.float32)

    def _loss(self, data: dict[str, Any]) -> Any:
        encoder = self.modules["encoder"]
        return self._inverse_loss(encoder(data["z"]), encoder(data["next_z"]), data["a"])


def _where_rows(mask: Any, a: Any, b: Any) -> Any:
    """Matrix ``i`` of ``a`` where ``mask[i]``, else matrix ``i`` of ``b`` (no device sync)."""
    import torch

    return torch.where(mask.reshape(-1, 1, 1), a, b)


KINDS: dict[str, type[Regime]] = {
    "count": Count,
    "rnd": RND,
    "icm": ICM,
    "e3b": E3B,
    "ngram": NgramNovelty,
}
"""The kinds of the ``intrinsic`` family, by name."""


def intrinsic(kind: str = "rnd", **params: Any) -> Regime:
    """The ``intrinsic`` family: the ``kind`` variant with its parameters (see :data:`KINDS`).

    Unknown kinds and parameters are refused with the valid choices.

    Example:
        >>> import gymnasium as gym, numpy as np, rewardgym, rewardgym.wrappers.intrinsic
        >>> envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=3,
        ...                     reward="intrinsic(kind='count', resolution=[0.1, 0.1, 0.05, 0.1])")
        >>> _ = envs.reset(seed=0)
        >>> _, proxy, _, _, info = envs.step(np.array([0, 1, 0]))
        >>> info["gold_reward"].tolist(), bool((proxy > 1.0).all())
        ([1.0, 1.0, 1.0], True)
        >>> intrinsic("curiosity")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unknown kind 'curiosity' of regime 'intrinsic'; valid kinds: count, rnd, icm, e3b, ...
    """
    return make_kind("intrinsic", KINDS, kind, params)


register_regime("intrinsic", intrinsic, override=True)
