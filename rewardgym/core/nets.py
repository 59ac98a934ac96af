"""The torch building blocks that every learned part shares: tensors from batches, MLPs, seeding.

Reward models (:mod:`rewardgym.rewardmodels`), the intrinsic bonuses' networks and the native
PPO's actor and critic all build their networks here, so a network of the same sizes is the
same network everywhere, and seeding one never disturbs the caller's random stream.

Example:
    >>> import torch
    >>> from rewardgym.core.nets import mlp, seeded
    >>> net = seeded(0, lambda: mlp([4, 8, 1]))
    >>> net
    Sequential(
      (0): Linear(in_features=4, out_features=8, bias=True)
      (1): ReLU()
      (2): Linear(in_features=8, out_features=1, bias=True)
    )
    >>> torch.equal(net[0].weight, seeded(0, lambda: mlp([4, 8, 1]))[0].weight)
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
import torch
from torch import nn

from rewardgym.core.arrays import Array, is_torch

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}
"""The hidden-layer activations an :func:`mlp` may use, by name."""

ModuleT = TypeVar("ModuleT", bound=nn.Module)


def to_torch(x: Array, device: torch.device | str | None = None) -> torch.Tensor:
    """A torch view of a numpy batch (no copy where torch can share its memory), or the tensor.

    ``torch.from_numpy`` shares memory, but warns on read-only arrays and refuses negative
    strides (which only a foreign env hands over): those, and only those, are copied.

    Example:
        >>> import numpy as np
        >>> x = np.zeros(3, np.float32)
        >>> to_torch(x).data_ptr() == x.ctypes.data
        True
    """
    if is_torch(x):
        return x if device is None else x.to(device)
    array = np.asarray(x)
    if not array.flags.writeable or any(s < 0 for s in array.strides):
        array = np.array(array)
    tensor = torch.from_numpy(array)
    return tensor if device is None else tensor.to(device)


def mlp(sizes: Sequence[int], activation: str = "relu") -> nn.Sequential:
    """Linear layers of ``sizes`` (input, hidden..., output) with ``activation`` between them.

    Layers are built in order with torch's default initialization, so a caller that seeds
    (:func:`seeded`) or re-initializes them (PPO's orthogonal init) gets the same draws each time.

    Example:
        >>> mlp([3, 5, 2], "tanh")
        Sequential(
          (0): Linear(in_features=3, out_features=5, bias=True)
          (1): Tanh()
          (2): Linear(in_features=5, out_features=2, bias=True)
        )
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; valid activations: {', '.join(ACTIVATIONS)}")
    widths = [int(w) for w in sizes]
    if len(widths) < 2 or any(w < 1 for w in widths):
        raise ValueError(f"an MLP needs at least two layer sizes, each an integer >= 1, got {tuple(sizes)!r}")
    layers: list[nn.Module] = []
    for i, (width_in, width_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(width_in, width_out))
        if i < len(widths) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def seeded(seed: int, build: Callable[[], ModuleT]) -> ModuleT:
    """``build()``'s modules, initialized from ``seed`` without touching torch's global stream.

    Example:
        >>> a = seeded(1, lambda: nn.Linear(2, 2))
        >>> b = seeded(1, lambda: nn.Linear(2, 2))
        >>> torch.equal(a.weight, b.weight)
        True
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return build()
