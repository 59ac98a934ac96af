"""How an env's spaces enter the ``intrinsic`` bonuses: input widths, observations, actions.

A Discrete element enters as a one-hot vector; a Box, MultiBinary or MultiDiscrete element as its
flattened values. Box actions are scaled to ``[-1, 1]`` where their bounds are finite.

Example:
    >>> import gymnasium as gym, torch
    >>> from rewardgym.wrappers.intrinsic.encoding import encode_observation, space_width
    >>> space = gym.spaces.Discrete(3)
    >>> space_width(space, "observation", "rnd")
    3
    >>> encode_observation(space, torch.tensor([2, 0]), 2).tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

__all__ = ["ActionCoding", "encode_observation", "space_width"]


def space_width(space: gym.Space, role: str, kind: str) -> int:
    """How many inputs the encoding of one element of ``space`` (the env's ``role`` space) takes.

    Example:
        >>> space_width(gym.spaces.Box(-1, 1, (2, 3)), "observation", "rnd")
        6
        >>> space_width(gym.spaces.Text(5), "observation", "rnd")
        Traceback (most recent call last):
        ...
        TypeError: intrinsic(kind='rnd') needs a Box, Discrete, MultiBinary or MultiDiscrete observation space, got Text(1, 5, charset=...)
    """
    if isinstance(space, gym.spaces.Discrete):
        return int(space.n)
    if isinstance(space, (gym.spaces.Box, gym.spaces.MultiBinary, gym.spaces.MultiDiscrete)):
        return int(np.prod(space.shape)) if space.shape else 1
    raise TypeError(
        f"intrinsic(kind={kind!r}) needs a Box, Discrete, MultiBinary or MultiDiscrete {role} space, got {space}"
    )


def encode_observation(space: gym.Space, x: torch.Tensor, n: int) -> torch.Tensor:
    """A float32 ``(n, width)`` encoding of an observation batch: Discrete one-hot, else flat.

    Example:
        >>> encode_observation(gym.spaces.Box(-1, 1, (2,)), torch.ones(3, 2, dtype=torch.float64), 3).dtype
        torch.float32
    """
    if isinstance(space, gym.spaces.Discrete):
        index = (x.reshape(n).to(torch.int64) - int(space.start)).clamp(0, int(space.n) - 1)
        return torch.nn.functional.one_hot(index, int(space.n)).to(torch.float32)
    return x.reshape(n, -1).to(torch.float32)


class ActionCoding:
    """How ``icm`` and ``e3b`` feed actions to their models and score their inverse model.

    Discrete actions enter as one-hot vectors and the inverse model is scored by cross-entropy;
    Box actions enter scaled to ``[-1, 1]`` where their bounds are finite, and the inverse model
    is scored by squared error.

    Example:
        >>> coding = ActionCoding(gym.spaces.Box(0.0, 4.0, (1,)), "icm")
        >>> coding.encode(torch.tensor([[0.0], [3.0]]), 2).tolist()
        [[-1.0], [0.5]]
        >>> ActionCoding(gym.spaces.MultiDiscrete([2, 3]), "icm")
        Traceback (most recent call last):
        ...
        TypeError: intrinsic(kind='icm') needs a Discrete or Box action space, got MultiDiscrete([2 3])
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
            # The scaling constants, made once per device rather than on every step.
            self._constants: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        else:
            raise TypeError(f"intrinsic(kind={kind!r}) needs a Discrete or Box action space, got {space}")

    def encode(self, action: torch.Tensor, n: int) -> torch.Tensor:
        """The model input of each action, float32 ``(n, width)``, a fresh tensor."""
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

    def inverse_loss(self, predicted: torch.Tensor, encoded: torch.Tensor) -> torch.Tensor:
        """The inverse model's per-row loss ``(n,)``, given its prediction and the encoded actions."""
        if self.discrete:
            return torch.nn.functional.cross_entropy(predicted, encoded.argmax(1), reduction="none")
        return ((predicted - encoded) ** 2).mean(1)
