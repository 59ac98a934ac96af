"""Segments: windows of one env's consecutive steps, recorded from a vector env and sampled.

A preference compares two segments (Christiano et al., "Deep Reinforcement Learning from Human
Preferences", 2017). :class:`SegmentBuffer` records a vector env's transition batches (torch, on
the batch's device, no per-env loop) and samples fixed-length windows of one env's steps as
:class:`Segments`; :func:`collect_segments` runs a rewardgym vector env under a policy (random by
default) to fill one.

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
Boltzmann choice at equal utility), and :func:`~rewardgym.rewardmodels.pair_accuracy` leaves
them out.

Example:
    >>> seg = collect_segments("rewardgym/CartPole-v0", 64, segment_length=30, num_envs=16, seed=0)
    >>> len(seg), seg.length
    (64, 30)
    >>> bool((seg.gold_return <= 30).all()), bool((seg.gold_return < 30).any())   # some terminate
    (True, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import torch

from rewardgym.core.arrays import Array
from rewardgym.core.nets import to_torch
from rewardgym.core.regime import EnvContext, Regime
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_integer, is_integer
from rewardgym.shells import wrap

__all__ = ["Policy", "SegmentBuffer", "Segments", "collect_segments"]


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
        """The same segments on ``device``."""
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

        def joined(field: str) -> torch.Tensor:
            return torch.cat([getattr(p, field) for p in parts])

        first = parts[0]
        return Segments(
            joined("obs"),
            joined("action"),
            joined("next_obs"),
            joined("mask"),
            joined("gold"),
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
        segment_length = check_integer(segment_length, "segment_length", low=1)
        if not is_integer(capacity) or capacity < segment_length:
            raise ValueError(
                f"buffer capacity must be an integer >= segment_length ({segment_length}), got {capacity!r}"
            )
        self.capacity = int(capacity)
        self.segment_length = segment_length
        self.rows = 0
        """Rows added so far (the newest is ``rows - 1``)."""
        self._store: dict[str, torch.Tensor] = {}
        self._episode: torch.Tensor | None = None
        self.observation_space: gym.Space | None = None
        self.action_space: gym.Space | None = None

    @property
    def device(self) -> torch.device | None:
        """Where the buffer's tensors live (the first batch's device); None while it is empty."""
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
        if self._episode is None:
            device = fields["valid"].device
            for name, value in fields.items():
                self._store[name] = torch.zeros((self.capacity, *value.shape), dtype=value.dtype, device=device)
            self._store["episode"] = torch.zeros((self.capacity, n), dtype=torch.int64, device=device)
            self._episode = torch.zeros(n, dtype=torch.int64, device=device)
        elif self._episode.shape[0] != n:
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


class _BufferFeeder(Regime):
    """A pass-through layer that feeds every batch to a :class:`SegmentBuffer`: wrapped around a
    vector env, it records what the env does (gold included) without changing its reward."""

    name = "recorder"

    def __init__(self, buffer: SegmentBuffer) -> None:
        self.buffer = buffer

    def bind(self, context: EnvContext) -> None:
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
    num_segments = check_integer(num_segments, "num_segments", low=1)
    if isinstance(env, str):
        env = gym.make_vec(env, num_envs=num_envs, device=device)
    if not isinstance(env, gym.vector.VectorEnv):
        raise TypeError(f"collect_segments takes an env id or a gymnasium VectorEnv, got {type(env).__name__}")
    n = env.num_envs
    if steps is None:
        steps = segment_length + math.ceil(2 * num_segments / n)
    buffer = SegmentBuffer(capacity=max(int(steps), segment_length), segment_length=segment_length)
    recording = wrap(env, _BufferFeeder(buffer))
    obs, _ = recording.reset(seed=seed)
    if policy is None:
        recording.action_space.seed(seed)
    for _ in range(int(steps)):
        actions = recording.action_space.sample() if policy is None else policy(obs)
        obs, *_ = recording.step(actions)
    return buffer.sample(num_segments, torch.Generator(device=buffer.device).manual_seed(seed))
