"""The torch building blocks that every learned part shares: tensors from batches, MLPs, CNNs
for images, token embeddings, seeding.

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
from typing import TypeVar, cast

import numpy as np
import torch
from torch import nn

from rewardgym.core.arrays import Array, is_torch

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}
"""The hidden-layer activations an :func:`mlp` may use, by name."""

IMAGE_CHANNELS = (1, 3, 4)
"""The channel counts an image encoder takes: grey, RGB, RGBD (or RGBA), as SB3's ``is_image_space``."""

MIN_IMAGE_SIDE = 8
"""The smallest image side the CNNs take: below it even one stride-2 layer leaves under 4 x 4
cells, and an integer grid that small is a grid of codes (one-hot it), not a picture."""

NATURE_MIN_SIDE = 64
"""Images whose smaller side is at least this get the Nature CNN (Mnih et al. 2015); it takes 36
and up, but on 36-63 pixels its 8x8/4 and 4x4/2 strides leave a 1x1 to 3x3 map, which loses where
things are. Smaller images get :func:`cnn_layers`' stack of 3x3 convolutions."""

MAX_FEATURE_MAP = 7
"""The largest side of the last feature map (the Nature CNN's on 84 x 84); a larger map (an image
over 84 pixels a side) is average-pooled down to it, so the linear layer stays small."""

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


def is_image_space(space: object) -> bool:
    """Whether ``space`` is an image as the CNNs take it: a ``uint8`` ``Box(0, 255)`` of 3 dimensions,
    ``(height, width, channels)`` (SB3's ``is_image_space`` test, without the channel check:
    :func:`check_image_shape` makes it, by name).

    Example:
        >>> from gymnasium import spaces
        >>> is_image_space(spaces.Box(0, 255, (48, 48, 3), np.uint8)), is_image_space(spaces.Box(0, 9, (5, 5, 3), np.uint8))
        (True, False)
    """
    from gymnasium import spaces

    return (
        isinstance(space, spaces.Box)
        and len(space.shape) == 3
        and space.dtype == np.uint8
        and bool(np.all(space.low == 0))
        and bool(np.all(space.high == 255))
    )


def check_image_shape(shape: Sequence[int]) -> tuple[int, int, int]:
    """An image shape ``(height, width, channels)`` that the CNNs take, as ints; else ``ValueError``.

    Example:
        >>> check_image_shape((48, 48, 3))
        (48, 48, 3)
        >>> check_image_shape((4, 4, 3))
        Traceback (most recent call last):
        ...
        ValueError: the CNN encoder takes uint8 images of shape (height, width, channels) with 1, 3 or 4 channels and each side >= 8 pixels, got shape (4, 4, 3)
    """
    dims = tuple(int(d) for d in shape)
    if len(dims) != 3 or dims[2] not in IMAGE_CHANNELS or min(dims[:2]) < MIN_IMAGE_SIDE:
        raise ValueError(
            "the CNN encoder takes uint8 images of shape (height, width, channels) with "
            f"{', '.join(map(str, IMAGE_CHANNELS[:-1]))} or {IMAGE_CHANNELS[-1]} channels and each side "
            f">= {MIN_IMAGE_SIDE} pixels, got shape {dims}"
        )
    return dims[0], dims[1], dims[2]


def cnn_layers(height: int, width: int) -> list[tuple[int, int, int, int]]:
    """The convolutions a :func:`cnn` uses on ``height`` x ``width`` images, as ``(out_channels,
    kernel, stride, padding)``.

    - Smaller side >= :data:`NATURE_MIN_SIDE` (64; 84 is the Atari size): the Nature CNN, 32 8x8/4,
      64 4x4/2, 64 3x3/1, unpadded.
    - Smaller (8 to 63, e.g. 48 x 48): 16, 32 and 32 channels of padded 3x3 convolutions (the
      IMPALA and MiniGrid encoders' kernels), each stride 2 while the map stays at least 4 cells a
      side, stride 1 after: 48 -> 24 -> 12 -> 6, 32 -> 16 -> 8 -> 4, 16 -> 8 -> 4 -> 4. On 48 x 48 a
      6 x 6 map keeps each object's place, and a 256-image minibatch's forward and backward take
      about as long as the Nature CNN's (whose 48 x 48 map is 2 x 2).

    Example:
        >>> cnn_layers(84, 84)
        [(32, 8, 4, 0), (64, 4, 2, 0), (64, 3, 1, 0)]
        >>> cnn_layers(48, 48)
        [(16, 3, 2, 1), (32, 3, 2, 1), (32, 3, 2, 1)]
        >>> cnn_layers(16, 16)
        [(16, 3, 2, 1), (32, 3, 2, 1), (32, 3, 1, 1)]
    """
    side = min(int(height), int(width))
    if side >= NATURE_MIN_SIDE:
        return [(32, 8, 4, 0), (64, 4, 2, 0), (64, 3, 1, 0)]
    layers = []
    for channels in (16, 32, 32):
        stride = 2 if side >= 2 * 4 else 1
        side = (side - 1) // stride + 1
        layers.append((channels, 3, stride, 1))
    return layers


def cnn(channels: int, height: int, width: int, features_dim: int | None = None) -> nn.Sequential:
    """A CNN from float images ``(batch, channels, height, width)`` (scaled to [0, 1]) to
    ``(batch, features_dim)`` features: :func:`cnn_layers`' convolutions with ReLUs, an average
    pool to at most :data:`MAX_FEATURE_MAP` cells a side, a linear layer and a ReLU.

    ``features_dim`` defaults to 512 for the Nature CNN (as Mnih et al.) and 256 for the small
    stack. Layers are built in order with torch's default initialization, as :func:`mlp`'s.

    Example:
        >>> net = cnn(3, 48, 48)
        >>> net(torch.zeros(2, 3, 48, 48)).shape
        torch.Size([2, 256])
        >>> [tuple(layer.stride) for layer in net if isinstance(layer, nn.Conv2d)]
        [(2, 2), (2, 2), (2, 2)]
    """
    height, width, channels = check_image_shape((height, width, channels))
    specs = cnn_layers(height, width)
    nature = specs[0][1] == 8
    layers: list[nn.Module] = []
    in_channels, h, w = channels, height, width
    for out_channels, kernel, stride, padding in specs:
        layers += [nn.Conv2d(in_channels, out_channels, kernel, stride, padding), nn.ReLU()]
        in_channels = out_channels
        h, w = (h + 2 * padding - kernel) // stride + 1, (w + 2 * padding - kernel) // stride + 1
    if max(h, w) > MAX_FEATURE_MAP:
        h, w = min(h, MAX_FEATURE_MAP), min(w, MAX_FEATURE_MAP)
        layers.append(nn.AdaptiveAvgPool2d((h, w)))
    out = int(features_dim) if features_dim is not None else (512 if nature else 256)
    layers += [nn.Flatten(), nn.Linear(in_channels * h * w, out), nn.ReLU()]
    return nn.Sequential(*layers)


class ImageEncoder(nn.Module):
    """Images as an env gives them, ``uint8`` ``(batch, height, width, channels)``, to features: scaled
    by 1/255, moved channels-first, then a :func:`cnn`.

    Example:
        >>> encoder = ImageEncoder((48, 48, 3))
        >>> encoder(torch.zeros(5, 48, 48, 3, dtype=torch.uint8)).shape, encoder.features_dim
        (torch.Size([5, 256]), 256)
    """

    def __init__(self, shape: Sequence[int], features_dim: int | None = None) -> None:
        super().__init__()
        height, width, channels = self.shape = check_image_shape(shape)
        self.net = cnn(channels, height, width, features_dim)
        self.features_dim = int(cast(nn.Linear, self.net[-2]).out_features)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Features of a batch of channels-last images (``uint8``, or floats in 0-255)."""
        return self.net(images.permute(0, 3, 1, 2).to(torch.float32) / 255.0)


class TokenEncoder(nn.Module):
    """Token ids ``(batch, length)`` to features: one shared embedding table of ``vocab_size`` rows,
    each slot's embedding concatenated in order (``length * embedding_dim`` features), so the same
    word in another slot reads differently; fixed-length instructions need no recurrent layer.

    Example:
        >>> encoder = TokenEncoder(vocab_size=25, length=10)
        >>> encoder(torch.zeros(3, 10, dtype=torch.uint8)).shape, encoder.features_dim
        (torch.Size([3, 160]), 160)
    """

    def __init__(self, vocab_size: int, length: int, embedding_dim: int = 16) -> None:
        super().__init__()
        self.embedding = nn.Embedding(int(vocab_size), int(embedding_dim))
        self.features_dim = int(length) * int(embedding_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Features of a batch of token ids (any integer dtype, ids from 0)."""
        return self.embedding(tokens.to(torch.int64)).flatten(1)


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
