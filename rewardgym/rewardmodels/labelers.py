"""The simulated human who labels pairs of segments, and the labeled pairs.

:class:`SyntheticLabeler` simulates a human comparing two :class:`~rewardgym.rewardmodels.Segments`.
**It reads gold**: it compares the segments' sums of ``Transition.gold``, which the design doc
(docs/design.md) lets only such a labeler see, through a Boltzmann choice with a temperature,
label-flip noise and an optional systematic bias. :func:`label_pairs` pairs segments and labels
them as :class:`PreferencePairs`, what :func:`~rewardgym.rewardmodels.fit` trains on;
:func:`collect_pairs` collects the segments first.

Example:
    >>> pairs = collect_pairs("rewardgym/CartPole-v0", 50, SyntheticLabeler(temperature=0.01, seed=0),
    ...                       segment_length=25, num_envs=16, seed=0)
    >>> len(pairs), pairs.label.dtype
    (50, torch.float32)
    >>> decided = pairs.first.gold_return != pairs.second.gold_return
    >>> preferred = (pairs.first.gold_return > pairs.second.gold_return).float()
    >>> bool((pairs.label[decided] == preferred[decided]).all())   # a cold labeler picks the better one
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import gymnasium as gym
import torch

from rewardgym.core.validation import check_number, is_integer
from rewardgym.rewardmodels.segments import Segments, collect_segments

__all__ = ["BiasFeature", "PreferencePairs", "SyntheticLabeler", "collect_pairs", "label_pairs"]

BiasFeature = Callable[[Segments], torch.Tensor]
"""A systematic preference: one number per segment, ``(N,)``, that the labeler adds to gold."""


class SyntheticLabeler:
    """A simulated human who prefers the segment with more gold. **It reads gold.**

    It is the one component the design doc allows to read the gold reward (``Transition.gold``, here
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
            if not is_integer(bias) or bias < 0:
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
# Labeled pairs.


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
        """One set of pairs from several (the same segment length and spaces)."""
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
    """:func:`~rewardgym.rewardmodels.collect_segments` for ``2 * num_pairs`` segments, paired and
    labeled; ``collect`` takes its keyword arguments (``segment_length``, ``num_envs``, ``seed``...)."""
    return label_pairs(collect_segments(env, 2 * num_pairs, **collect), labeler)
