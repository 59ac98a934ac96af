"""Preferences over trajectory segments: collect them, label them, and fit a reward model to them.

The pieces, in the order a preference-based pipeline uses them (Christiano et al., "Deep
Reinforcement Learning from Human Preferences", 2017):

1. :class:`SegmentBuffer` records a vector env's transition batches (torch, on the batch's device,
   no per-env loop) and samples fixed-length windows of one env's steps as :class:`Segments`;
   :func:`collect_segments` runs a rewardgym vector env under a policy (random by default) to fill
   one.
2. :class:`SyntheticLabeler` simulates a human comparing two segments. **It reads gold**: it
   compares the segments' sums of ``Transition.gold``, the one thing DESIGN.md lets only such a
   labeler see, through a Boltzmann choice with a temperature, label-flip noise and an optional
   systematic bias.
3. :func:`fit` trains a :class:`~rewardgym.rewardmodels.model.RewardModel` or
   :class:`~rewardgym.rewardmodels.model.RewardEnsemble` offline on labeled
   :class:`PreferencePairs` with the Bradley-Terry loss (:func:`bradley_terry_loss`), and
   :func:`pair_accuracy` scores it on held-out pairs against the gold preference.
   :func:`train_reward_model` does all of it for an env id and fills the model card.

How segments stay informative. A segment is a window of ``segment_length`` consecutive steps of
one env, starting at a real (``valid``) step. When the episode *terminates* inside the window,
the steps after the termination are masked out and count 0 gold: the episode has entered an
absorbing state where nothing more is earned. When it is *truncated* (time limit) before the
window's last step, the window is discarded, since what would have followed is unknown. This
matters for envs whose gold is constant per step, such as CartPole (+1 per step): two windows of
one episode always tie, and only the step where an episode terminates separates them. Under a
random policy CartPole's episodes last about 22 steps, so windows of 25 to 50 steps usually
contain a termination at a random point, and their gold sums spread over the whole range.
Pairs whose gold sums tie carry no preference: the labeler answers them by a coin flip (the
Boltzmann choice at equal utility), and :func:`pair_accuracy` leaves them out.

Example:
    >>> from rewardgym.rewardmodels import RewardModel, SyntheticLabeler, collect_pairs, fit, pair_accuracy
    >>> labeler = SyntheticLabeler(temperature=1.0, seed=0)
    >>> train = collect_pairs("rewardgym/CartPole-v0", 100, labeler, segment_length=25, num_envs=16, seed=0)
    >>> test = collect_pairs("rewardgym/CartPole-v0", 100, labeler, segment_length=25, num_envs=16, seed=1)
    >>> model = RewardModel(train.first.observation_space, train.first.action_space, hidden=(16,), seed=0)
    >>> _ = fit(model, train, epochs=5, lr=1e-2)
    >>> pair_accuracy(model, test) > 0.8
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rewardgym.core.arrays import Array, is_torch
from rewardgym.core.regime import Regime
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number
from rewardgym.rewardmodels.model import (
    RewardEnsemble,
    RewardModel,
    check_aggregation,
    check_ensemble_size,
)
from rewardgym.shells import wrap

__all__ = [
    "PreferencePairs",
    "SegmentBuffer",
    "Segments",
    "SyntheticLabeler",
    "bradley_terry_loss",
    "collect_pairs",
    "collect_segments",
    "fit",
    "label_pairs",
    "pair_accuracy",
    "segment_returns",
    "to_torch",
    "train_reward_model",
]

AnyRewardModel = RewardModel | RewardEnsemble


def to_torch(x: Array, device: torch.device | str | None = None) -> torch.Tensor:
    """A torch view of a numpy batch (no copy when it is writable), or the tensor itself."""
    if is_torch(x):
        return x if device is None else x.to(device)
    x = np.asarray(x)
    # torch.from_numpy shares memory, but refuses (warns about) read-only arrays: copy those.
    tensor = torch.from_numpy(x if x.flags.writeable else x.copy())
    return tensor if device is None else tensor.to(device)


# ----------------------------------------------------------------------------------------------
# Segments and where they come from.


@dataclass(frozen=True)
class Segments:
    """``N`` windows of ``L`` consecutive steps of one env each, as torch tensors.

    Attributes:
        obs: ``(N, L, *obs_shape)`` observations before each step.
        action: ``(N, L, *action_shape)`` actions.
        next_obs: ``(N, L, *obs_shape)`` real observations after each step.
        mask: ``(N, L)`` bool, False for steps after a termination (the absorbing state).
        gold: ``(N, L)`` float32 gold reward of each step, 0 where ``mask`` is False. Only a
            labeler simulating a human may read it.
        observation_space, action_space: one env's spaces, for building a model.
    """

    obs: torch.Tensor
    action: torch.Tensor
    next_obs: torch.Tensor
    mask: torch.Tensor
    gold: torch.Tensor
    observation_space: gym.Space | None = None
    action_space: gym.Space | None = None

    def __len__(self) -> int:
        return int(self.mask.shape[0])

    @property
    def length(self) -> int:
        """Steps per segment, ``L``."""
        return int(self.mask.shape[1])

    @property
    def gold_return(self) -> torch.Tensor:
        """Each segment's gold sum, ``(N,)`` (read only by labelers and evaluation)."""
        return self.gold.sum(1)

    def __getitem__(self, index: Any) -> Segments:
        """The segments at ``index`` (a slice, index tensor or bool mask)."""
        return Segments(
            self.obs[index],
            self.action[index],
            self.next_obs[index],
            self.mask[index],
            self.gold[index],
            self.observation_space,
            self.action_space,
        )

    def to(self, device: torch.device | str) -> Segments:
        return Segments(
            self.obs.to(device),
            self.action.to(device),
            self.next_obs.to(device),
            self.mask.to(device),
            self.gold.to(device),
            self.observation_space,
            self.action_space,
        )

    @staticmethod
    def concatenate(parts: list[Segments]) -> Segments:
        """One set of segments from several (same length and spaces)."""
        first = parts[0]
        return Segments(
            *(torch.cat([getattr(p, f) for p in parts]) for f in ("obs", "action", "next_obs", "mask", "gold")),
            first.observation_space,
            first.action_space,
        )


class SegmentBuffer:
    """A ring buffer of a vector env's last ``capacity`` steps, sampled as :class:`Segments`.

    :meth:`add` stores a whole :class:`Transition` batch as one row (numpy batches through
    ``torch.from_numpy``, torch batches on their device as they are), with each env's episode
    number, so :meth:`sample` can cut windows at episode ends as the module docstring describes.
    Autoreset steps (``valid=False``) are stored but never inside a segment.

    Args:
        capacity: rows (vector steps) kept; older rows are overwritten.
        segment_length: steps per segment, ``>= 1``.

    Example:
        >>> import numpy as np
        >>> from rewardgym.core.transition import Transition
        >>> buffer = SegmentBuffer(capacity=10, segment_length=3)
        >>> for t in range(5):
        ...     buffer.add(Transition(np.full((2, 1), t, np.float32), np.zeros(2, np.int64),
        ...                           np.full((2, 1), t + 1, np.float32), np.ones(2, np.float32),
        ...                           np.array([t == 1, False]), np.zeros(2, bool), np.ones(2, bool),
        ...                           gold=np.ones(2, np.float32)))
        >>> seg = buffer.sample(50, torch.Generator().manual_seed(0))
        >>> sorted(set(seg.gold_return.tolist()))   # env 0 terminated at t=1: windows of 1 or 2 steps
        [1.0, 2.0, 3.0]
    """

    def __init__(self, capacity: int, segment_length: int) -> None:
        if isinstance(segment_length, bool) or not isinstance(segment_length, (int, np.integer)) or segment_length < 1:
            raise ValueError(f"segment_length must be an integer >= 1, got {segment_length!r}")
        if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)) or capacity < segment_length:
            raise ValueError(
                f"buffer capacity must be an integer >= segment_length ({segment_length}), got {capacity!r}"
            )
        self.capacity = int(capacity)
        self.segment_length = int(segment_length)
        self.rows = 0
        """Rows added so far (the newest is ``rows - 1``)."""
        self._store: dict[str, torch.Tensor] = {}
        self._episode: torch.Tensor | None = None
        self.observation_space: gym.Space | None = None
        self.action_space: gym.Space | None = None

    @property
    def device(self) -> torch.device | None:
        return self._episode.device if self._episode is not None else None

    def add(self, batch: Transition) -> None:
        """Store one step of every env. Needs ``batch.gold`` (the labeler will read it)."""
        if batch.gold is None:
            raise ValueError(
                "a preference buffer needs the gold reward of each step for its simulated labeler, "
                "but the transition batch has gold=None"
            )
        fields = {
            "obs": to_torch(batch.obs),
            "action": to_torch(batch.action),
            "next_obs": to_torch(batch.next_obs),
            "gold": to_torch(batch.gold).float(),
            "valid": to_torch(batch.valid).bool(),
            "terminated": to_torch(batch.terminated).bool(),
            "truncated": to_torch(batch.truncated).bool(),
        }
        n = fields["valid"].shape[0]
        if not self._store:
            device = fields["valid"].device
            for name, value in fields.items():
                self._store[name] = torch.zeros((self.capacity, *value.shape), dtype=value.dtype, device=device)
            self._store["episode"] = torch.zeros((self.capacity, n), dtype=torch.int64, device=device)
            self._episode = torch.zeros(n, dtype=torch.int64, device=device)
        elif self._episode is not None and self._episode.shape[0] != n:
            raise ValueError(f"this buffer holds batches of {self._episode.shape[0]} envs, got {n}")
        row = self.rows % self.capacity
        for name, value in fields.items():
            self._store[name][row] = value.to(self._store[name].device)
        self._store["episode"][row] = self._episode
        ended = fields["valid"] & (fields["terminated"] | fields["truncated"])
        self._episode += ended.to(self._episode.device)
        self.rows += 1

    def sample(self, n: int, generator: torch.Generator, *, max_tries: int = 50) -> Segments:
        """``n`` random windows, drawn uniformly among the admissible ones (with replacement).

        Raises:
            ValueError: the buffer holds fewer than ``segment_length`` rows, or no admissible window
                turned up (every window crosses a truncation, say).
        """
        length = self.segment_length
        if self.rows < length:
            raise ValueError(f"the buffer holds {self.rows} steps, fewer than segment_length={length}")
        store = self._store
        num_envs = store["valid"].shape[1]
        oldest = max(0, self.rows - self.capacity)
        starts_available = self.rows - length + 1 - oldest
        device = store["valid"].device
        offsets = torch.arange(length, device=device)
        picked: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        found = 0
        for _ in range(max_tries):
            draws = max(2 * (n - found), 64)
            start = oldest + torch.randint(starts_available, (draws,), generator=generator, device=device)
            env = torch.randint(num_envs, (draws,), generator=generator, device=device)
            rows = (start[:, None] + offsets) % self.capacity
            cols = env[:, None].expand(-1, length)
            episode = store["episode"][rows, cols]
            valid = store["valid"][rows, cols]
            same = (episode == episode[:, :1]) & valid
            cut = store["truncated"][rows, cols] & ~store["terminated"][rows, cols] & same
            ok = valid[:, 0] & ~cut[:, :-1].any(1)
            take = torch.nonzero(ok).reshape(-1)[: n - found]
            picked.append((rows[take], cols[take], same[take]))
            found += int(take.shape[0])
            if found >= n:
                break
        if found < n:
            raise ValueError(
                f"found only {found} of {n} admissible segments of {length} steps in the buffer "
                "(windows must start at a real step and not be truncated before their end); "
                "collect more steps or use shorter segments"
            )
        rows = torch.cat([p[0] for p in picked])
        cols = torch.cat([p[1] for p in picked])
        mask = torch.cat([p[2] for p in picked])
        gold = torch.where(mask, store["gold"][rows, cols], torch.zeros((), device=device))
        return Segments(
            obs=store["obs"][rows, cols],
            action=store["action"][rows, cols],
            next_obs=store["next_obs"][rows, cols],
            mask=mask,
            gold=gold,
            observation_space=self.observation_space,
            action_space=self.action_space,
        )


class _Recorder(Regime):
    """Passes the reward through and feeds every batch to a :class:`SegmentBuffer`."""

    name = "recorder"

    def __init__(self, buffer: SegmentBuffer) -> None:
        self.buffer = buffer

    def bind(self, context: Any) -> None:
        self.buffer.observation_space = context.observation_space
        self.buffer.action_space = context.action_space

    def reward(self, batch: Transition) -> Array:
        return batch.reward

    def update(self, batch: Transition) -> dict[str, float]:
        self.buffer.add(batch)
        return {}


Policy = Callable[[Array], Array]
"""A batched policy: observations ``(num_envs, *obs_shape)`` -> actions ``(num_envs, ...)``."""


def collect_segments(
    env: str | gym.vector.VectorEnv,
    num_segments: int,
    *,
    segment_length: int = 50,
    policy: Policy | None = None,
    num_envs: int = 64,
    steps: int | None = None,
    seed: int = 0,
    device: str = "cpu",
) -> Segments:
    """Run a vector env under ``policy`` and cut ``num_segments`` segments from what it did.

    Args:
        env: an env id (made with ``gym.make_vec(env, num_envs=num_envs, device=device)``) or a
            vector env (rewardgym's, or any with ``info["gold_reward"]``; wrapped here to record).
        num_segments: how many segments.
        segment_length: steps per segment.
        policy: ``obs -> actions`` for the whole batch; uniformly random actions by default.
        num_envs: envs to run when ``env`` is an id.
        steps: vector steps to run; by default ``segment_length + ceil(2 * num_segments / num_envs)``,
            so windows overlap little.
        seed: seeds the env, the random policy and the choice of windows.
        device: ``"cpu"`` or ``"cuda"`` when ``env`` is an id.

    Example:
        >>> seg = collect_segments("rewardgym/CartPole-v0", 8, segment_length=10, num_envs=4, seed=0)
        >>> tuple(seg.obs.shape), tuple(seg.action.shape), seg.gold.dtype
        ((8, 10, 4), (8, 10), torch.float32)
    """
    if isinstance(num_segments, bool) or not isinstance(num_segments, (int, np.integer)) or num_segments < 1:
        raise ValueError(f"num_segments must be an integer >= 1, got {num_segments!r}")
    if isinstance(env, str):
        env = gym.make_vec(env, num_envs=num_envs, device=device)
    if not isinstance(env, gym.vector.VectorEnv):
        raise TypeError(f"collect_segments takes an env id or a gymnasium VectorEnv, got {type(env).__name__}")
    n = env.num_envs
    if steps is None:
        steps = segment_length + math.ceil(2 * num_segments / n)
    buffer = SegmentBuffer(capacity=max(int(steps), segment_length), segment_length=segment_length)
    recording = wrap(env, _Recorder(buffer))
    obs, _ = recording.reset(seed=seed)
    if policy is None:
        recording.action_space.seed(seed)
    for _ in range(int(steps)):
        actions = recording.action_space.sample() if policy is None else policy(obs)
        obs, *_ = recording.step(actions)
    return buffer.sample(num_segments, torch.Generator(device=buffer.device).manual_seed(seed))


# ----------------------------------------------------------------------------------------------
# The simulated human.


BiasFeature = Callable[[Segments], torch.Tensor]


class SyntheticLabeler:
    """A simulated human who prefers the segment with more gold. **It reads gold.**

    It is the one component DESIGN.md allows to read the gold reward (``Transition.gold``, here
    the segments' ``gold`` sums), because it stands in for the person whose judgement gold is.
    For segments ``a`` and ``b`` with utilities ``U = gold_return + bias_weight * bias(segment)``
    it prefers ``a`` with the Boltzmann (Bradley-Terry) probability
    ``sigmoid((U_a - U_b) / temperature)``, then flips its answer with probability ``epsilon``
    (so ``P(a) = (1 - epsilon) * sigmoid(...) + epsilon * (1 - sigmoid(...))``). Equal utilities
    give a coin flip; ``epsilon = 0.5`` makes every label a coin flip.

    Args:
        temperature: the Boltzmann temperature, ``> 0``, in units of gold: near 0 the labeler
            always picks the better segment; large, it answers nearly at random.
        epsilon: the probability of flipping a label, in ``[0, 1]`` (0.25 in Coste et al.).
        bias: a systematic preference gold ignores: a function of :class:`Segments` returning one
            number per segment, or an integer ``k``, meaning the mean of observation dimension
            ``k`` (flattened ``next_obs``) over the segment's steps.
        bias_weight: how much gold the bias is worth per unit of the feature.
        seed: seeds the labels' randomness.

    Example:
        >>> import torch
        >>> from rewardgym.rewardmodels import collect_segments
        >>> seg = collect_segments("rewardgym/CartPole-v0", 400, segment_length=30, seed=0)
        >>> a, b = seg[:200], seg[200:]
        >>> exact = SyntheticLabeler(temperature=0.01, seed=0).label(a, b)
        >>> decided = a.gold_return != b.gold_return
        >>> bool((exact[decided] == (a.gold_return > b.gold_return)[decided].float()).all())
        True
        >>> SyntheticLabeler(temperature=0)
        Traceback (most recent call last):
        ...
        ValueError: SyntheticLabeler: temperature must be a finite number > 0, got 0.0
    """

    def __init__(
        self,
        temperature: float = 1.0,
        epsilon: float = 0.0,
        bias: BiasFeature | int | None = None,
        bias_weight: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.temperature = check_number(temperature, "SyntheticLabeler: temperature", low=0.0, low_open=True)
        self.epsilon = check_number(epsilon, "SyntheticLabeler: epsilon", low=0.0, high=1.0)
        self.bias_weight = check_number(bias_weight, "SyntheticLabeler: bias_weight")
        if bias is not None and not callable(bias):
            if isinstance(bias, bool) or not isinstance(bias, (int, np.integer)) or bias < 0:
                raise ValueError(
                    "SyntheticLabeler: bias must be a function of the segments or the index (an "
                    f"integer >= 0) of an observation dimension, got {bias!r}"
                )
            bias = int(bias)
        self.bias = bias
        self.seed = int(seed)
        self._generators: dict[str, torch.Generator] = {}

    def bias_value(self, segments: Segments) -> torch.Tensor:
        """The bias feature of each segment, ``(N,)`` (zeros without a bias)."""
        if self.bias is None:
            return torch.zeros(len(segments), device=segments.mask.device)
        if callable(self.bias):
            return torch.as_tensor(self.bias(segments), dtype=torch.float32, device=segments.mask.device).reshape(-1)
        flat = segments.next_obs.reshape(len(segments), segments.length, -1).float()
        if self.bias >= flat.shape[2]:
            raise ValueError(
                f"SyntheticLabeler: bias={self.bias} names observation dimension {self.bias}, but "
                f"observations have {flat.shape[2]} dimensions (0 to {flat.shape[2] - 1})"
            )
        mask = segments.mask.float()
        return (flat[:, :, self.bias] * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def utility(self, segments: Segments) -> torch.Tensor:
        """What the labeler values in each segment: gold sum plus the weighted bias, ``(N,)``."""
        value = segments.gold_return.float()
        if self.bias is not None and self.bias_weight != 0.0:
            value = value + self.bias_weight * self.bias_value(segments)
        return value

    def probability(self, first: Segments, second: Segments) -> torch.Tensor:
        """The probability of labeling ``first`` preferred, per pair, ``(N,)``."""
        p = torch.sigmoid((self.utility(first) - self.utility(second)) / self.temperature)
        return (1.0 - self.epsilon) * p + self.epsilon * (1.0 - p)

    def label(self, first: Segments, second: Segments) -> torch.Tensor:
        """Sampled labels, float ``(N,)``: 1.0 where ``first`` is preferred, else 0.0."""
        if len(first) != len(second):
            raise ValueError(f"cannot compare {len(first)} segments with {len(second)}")
        p = self.probability(first, second)
        u = torch.rand(p.shape, generator=self._generator(p.device), device=p.device)
        return (u < p).float()

    def settings(self) -> dict[str, Any]:
        """The labeler's settings, for a model card."""
        bias = (
            self.bias
            if self.bias is None or isinstance(self.bias, int)
            else getattr(self.bias, "__name__", repr(self.bias))
        )
        return {
            "kind": "synthetic",
            "reads": "gold",
            "temperature": self.temperature,
            "epsilon": self.epsilon,
            "bias": bias,
            "bias_weight": self.bias_weight,
            "seed": self.seed,
        }

    def _generator(self, device: torch.device) -> torch.Generator:
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[key]

    def __repr__(self) -> str:
        return (
            f"SyntheticLabeler(temperature={self.temperature:g}, epsilon={self.epsilon:g}, "
            f"bias={self.settings()['bias']!r}, bias_weight={self.bias_weight:g})"
        )


# ----------------------------------------------------------------------------------------------
# Pairs, the loss, training and evaluation.


class PreferencePairs(NamedTuple):
    """``P`` labeled comparisons: ``label[i] = 1.0`` where ``first[i]`` was preferred."""

    first: Segments
    second: Segments
    label: torch.Tensor

    def __len__(self) -> int:
        return int(self.label.shape[0])

    def __getitem__(self, index: Any) -> PreferencePairs:  # type: ignore[override]
        if isinstance(index, int):
            index = slice(index, index + 1)
        return PreferencePairs(self.first[index], self.second[index], self.label[index])

    @staticmethod
    def concatenate(parts: list[PreferencePairs]) -> PreferencePairs:
        return PreferencePairs(
            Segments.concatenate([p.first for p in parts]),
            Segments.concatenate([p.second for p in parts]),
            torch.cat([p.label for p in parts]),
        )


def label_pairs(segments: Segments, labeler: SyntheticLabeler) -> PreferencePairs:
    """Pair segments ``2i`` and ``2i + 1`` and label each pair."""
    first, second = segments[0::2], segments[1::2]
    size = min(len(first), len(second))
    first, second = first[:size], second[:size]
    return PreferencePairs(first, second, labeler.label(first, second))


def collect_pairs(
    env: str | gym.vector.VectorEnv, num_pairs: int, labeler: SyntheticLabeler, **collect: Any
) -> PreferencePairs:
    """:func:`collect_segments` for ``2 * num_pairs`` segments, paired and labeled."""
    return label_pairs(collect_segments(env, 2 * num_pairs, **collect), labeler)


def bradley_terry_loss(return_first: torch.Tensor, return_second: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """The Bradley-Terry cross-entropy: ``-[y log P + (1 - y) log(1 - P)]`` averaged over pairs,
    with ``P = sigmoid(R_first - R_second)`` the model's probability that ``first`` is preferred.

    Returns may carry leading axes (ensemble members): the mean runs over the last axis, and the
    result keeps the leading ones.

    Example:
        >>> round(float(bradley_terry_loss(torch.tensor([0.0]), torch.tensor([0.0]), torch.tensor([1.0]))), 4)
        0.6931
    """
    logits = return_first - return_second
    loss = nn.functional.binary_cross_entropy_with_logits(logits, label.expand_as(logits), reduction="none")
    return loss.mean(-1)


def _members(model: AnyRewardModel) -> list[RewardModel]:
    if isinstance(model, RewardEnsemble):
        return list(model.members)
    if isinstance(model, RewardModel):
        return [model]
    raise TypeError(f"expected a RewardModel or RewardEnsemble, got {type(model).__name__}")


def _step_features(member: RewardModel, segments: Segments) -> torch.Tensor:
    """The member's features of every step of every segment, ``(N, L, ...)``."""
    n, length = segments.mask.shape
    device = member.device
    flat = [x.to(device).reshape(n * length, *x.shape[2:]) for x in (segments.obs, segments.action, segments.next_obs)]
    features = member.features(*flat)
    return features.reshape(n, length, *features.shape[1:])


def _returns(member: RewardModel, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    n, length = mask.shape
    rewards = member.score(features.reshape(n * length, *features.shape[2:])).reshape(n, length)
    return (rewards * mask).sum(1)


def segment_returns(model: AnyRewardModel, segments: Segments, *, per_member: bool = False) -> torch.Tensor:
    """The model's return of each segment (its rewards summed over the segment's real steps).

    An ensemble's rewards are aggregated per step, then summed: ``(N,)``; with ``per_member``,
    each member's returns ``(k, N)``.
    """
    with torch.no_grad():
        members = _members(model)
        mask = segments.mask.to(members[0].device).float()
        n, length = mask.shape
        flat = [
            x.to(members[0].device).reshape(n * length, *x.shape[2:])
            for x in (segments.obs, segments.action, segments.next_obs)
        ]
        rewards = model.member_rewards(*flat).reshape(len(members), n, length)
        if per_member:
            return (rewards * mask).sum(-1)
        aggregated = model.aggregate(rewards) if isinstance(model, RewardEnsemble) else rewards[0]
        return (aggregated * mask).sum(-1)


def fit(
    model: AnyRewardModel,
    pairs: PreferencePairs,
    *,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
) -> dict[str, float]:
    """Train ``model`` on labeled pairs with the Bradley-Terry loss (Adam, shuffled minibatches).

    Every member of an ensemble sees the same minibatches and minimizes its own loss, so members
    differ by their seeded initial weights (as in Coste et al.). Features are computed once, so a
    feature extractor must be a fixed transform: put learnable parts in the network.
    The training settings are written to ``model.card["training"]``.

    Returns:
        ``{"loss": ..., "train_accuracy": ...}`` of the last epoch (accuracy against the labels).
    """
    members = _members(model)
    if len(pairs) < 1:
        raise ValueError("fit needs at least one labeled pair")
    epochs = int(check_number(epochs, "fit: epochs", low=1))
    batch_size = int(check_number(batch_size, "fit: batch_size", low=1))
    device = members[0].device
    mask_first = pairs.first.mask.to(device).float()
    mask_second = pairs.second.mask.to(device).float()
    label = pairs.label.to(device).float()
    with torch.no_grad():
        features = [(_step_features(m, pairs.first), _step_features(m, pairs.second)) for m in members]
    model.train().requires_grad_(True)  # a loaded or online model is frozen between fits
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(int(seed))
    total = len(pairs)
    # An online refit runs inside the agent's rollout, which is often under torch.no_grad().
    with torch.enable_grad():
        for _ in range(epochs):
            order = torch.randperm(total, generator=generator).to(device)
            # Running sums stay on the device: no host sync per minibatch.
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), device=device)
            for start in range(0, total, batch_size):
                idx = order[start : start + batch_size]
                y = label[idx]
                loss = torch.zeros((), device=device)
                for member, (f1, f2) in zip(members, features, strict=True):
                    r1 = _returns(member, f1[idx], mask_first[idx])
                    r2 = _returns(member, f2[idx], mask_second[idx])
                    loss = loss + bradley_terry_loss(r1, r2, y)
                    correct = correct + ((r1 > r2).float() == y).float().sum().detach() / len(members)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_sum = loss_sum + loss.detach() * idx.shape[0] / len(members)
    model.eval()
    model.card["training"] = {
        "pairs": total,
        "segment_length": pairs.first.length,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "weight_decay": weight_decay,
        "seed": int(seed),
        "loss": "bradley_terry",
        "optimizer": "adam",
    }
    return {"loss": float(loss_sum) / total, "train_accuracy": float(correct) / total}


def pair_accuracy(model: AnyRewardModel, pairs: PreferencePairs, *, target: str = "gold") -> float:
    """How often the model ranks a pair's segments as the target does.

    ``target="gold"`` (the default) compares with the gold preference: the segment with the larger
    gold sum, over the pairs whose gold sums differ (ties carry no preference and are left out).
    ``target="labels"`` compares with the pairs' labels, noise and bias included. A model that
    ranks a pair as a tie gets half a point.

    Raises:
        ValueError: no pair has differing gold sums, or ``target`` is unknown.
    """
    returns_first = segment_returns(model, pairs.first)
    returns_second = segment_returns(model, pairs.second)
    model_sign = torch.sign(returns_first - returns_second).cpu()
    if target == "gold":
        difference = (pairs.first.gold_return - pairs.second.gold_return).cpu()
        decided = difference.abs() > 1e-6
        if not bool(decided.any()):
            raise ValueError(
                f"none of the {len(pairs)} pairs has differing gold sums, so the gold preference is "
                "undefined; collect segments that can differ (longer ones, or another policy)"
            )
        truth = torch.sign(difference[decided])
        agree = (model_sign[decided] == truth).float() + 0.5 * (model_sign[decided] == 0).float()
        return float(agree.mean())
    if target == "labels":
        truth = pairs.label.cpu() * 2.0 - 1.0
        agree = (model_sign == truth).float() + 0.5 * (model_sign == 0).float()
        return float(agree.mean())
    raise ValueError(f"unknown pair_accuracy target {target!r}; valid targets: gold, labels")


def train_reward_model(
    env: str,
    *,
    num_pairs: int = 2000,
    heldout_pairs: int = 500,
    segment_length: int = 50,
    labeler: SyntheticLabeler | None = None,
    ensemble: int = 1,
    aggregation: str = "mean",
    uwo_lambda: float = 1.0,
    hidden: tuple[int, ...] = (64, 64),
    policy: Policy | None = None,
    num_envs: int = 64,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
) -> AnyRewardModel:
    """Collect, label and fit: a reward model for ``env`` from ``num_pairs`` synthetic preferences.

    Training and held-out pairs come from different env seeds (``seed`` and ``seed + 1``), so
    they share no episode. The model card records the env id and spaces, the labeler, the
    training settings and ``heldout_pair_accuracy`` (against gold, see :func:`pair_accuracy`).
    ``ensemble > 1`` trains a :class:`RewardEnsemble` with that many members.

    Example:
        >>> from rewardgym.rewardmodels import train_reward_model
        >>> model = train_reward_model("rewardgym/CartPole-v0", num_pairs=100, heldout_pairs=100,
        ...                            segment_length=25, num_envs=16, hidden=(16,), epochs=5, lr=1e-2)
        >>> model.card["heldout_pair_accuracy"] > 0.8, model.card["env_id"]
        (True, 'rewardgym/CartPole-v0')
    """
    ensemble = check_ensemble_size(ensemble, "train_reward_model")
    check_aggregation(aggregation, uwo_lambda, "train_reward_model")
    labeler = labeler if labeler is not None else SyntheticLabeler(seed=seed)
    collect = {"segment_length": segment_length, "policy": policy, "num_envs": num_envs}
    train = collect_pairs(env, num_pairs, labeler, seed=seed, **collect)
    test = collect_pairs(env, heldout_pairs, labeler, seed=seed + 1, **collect)
    obs_space, act_space = train.first.observation_space, train.first.action_space
    model: AnyRewardModel
    if ensemble == 1:
        model = RewardModel(obs_space, act_space, hidden=hidden, seed=seed)
    else:
        model = RewardEnsemble(
            obs_space,
            act_space,
            size=ensemble,
            aggregation=aggregation,
            uwo_lambda=uwo_lambda,
            hidden=hidden,
            seed=seed,
        )
    fit(model, train, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
    model.card.update(
        env_id=env,
        labeler=labeler.settings(),
        heldout_pair_accuracy=pair_accuracy(model, test),
        heldout_pairs=len(test),
        collection={
            "policy": "random" if policy is None else getattr(policy, "__name__", "custom"),
            "num_envs": num_envs,
            "segment_length": segment_length,
            "seed": seed,
        },
    )
    return model
