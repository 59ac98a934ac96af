"""A small vision-language reward model for the instruction-following scenes, and training pairs
with a planted shortcut.

The model (:class:`VisionRewardModel`) is a two-tower classifier of ``P(the instruction holds |
image, instruction)``. The image tower, three 2x2 stride-2 convolutions, maps the 48 x 48 picture
to one feature vector per board cell (6 x 6, each cell's 8 x 8 pixels exactly); the instruction
tower sums an embedding per (position, token) (a bag of position-aware embeddings) into the FiLM
scales and shifts of the last two convolutions; a 3x3 convolution over the cells (so a cell sees
its neighbours: the relations of ArrangeShapes), a max over the cells and a linear layer give the
logit. It is a :class:`~rewardgym.rewardmodels.RewardModel` whose reward is that logit of the
**next** observation, built from code (nothing is downloaded), trained here in seconds, and saved
as safetensors with the suite's model card.

Its training pairs come from the scenes themselves (:func:`make_scene_pairs`): boards drawn by
the env's own reset kernel, the agent (GoToShape) or the first named shape (ArrangeShapes) moved
to a chosen cell, the picture re-rendered by the env's render kernel, the label read off the edited
state by the scene's gold (``scene.instruction_holds``). Half are positives, half negatives.

**The planted shortcut** (``shortcut=``), the gap between what the training pairs show and what the
instruction means:

- ``"colour"`` (GoToShape; the default): no negative puts the agent on a shape of the named
  colour (other than the named shape); negatives on the named shape in another colour, and on
  shapes of neither, stay. Colour then separates the pairs, and a model can score ~100% in
  distribution while paying "the agent on anything of the named colour": the hack an agent
  paid by it finds (the nearest same-colour distractor).
- ``"shape"`` (GoToShape): the same with the named shape in another colour hidden instead (a
  second, independent shortcut; the two are never planted together, which would leave the pairs
  unable to say which attribute counts).
- ``"relation"`` (ArrangeShapes): no negative puts the first named shape beside the second on the
  wrong side, so "the two named shapes are adjacent" separates the pairs, whatever the relation.
- ``None``: those counterfactual negatives are drawn like any other.

:func:`counterfactual_pairs` measures it: equal shares of true positives and of the counterfactual
negatives a shortcut hides (GoToShape: ``same_colour`` and ``same_shape``; ArrangeShapes:
``wrong_side``); :func:`evaluate` gives the accuracy overall and per kind, and
:func:`train_vision_reward_model` writes both evaluations into the model card.

Example:
    >>> pairs = make_scene_pairs("rewardgym/GoToShape-v0", 6, shortcut="colour", seed=0)
    >>> pairs.image.shape, pairs.instruction.shape
    (torch.Size([6, 48, 48, 3]), torch.Size([6, 10]))
    >>> pairs.kind.tolist(), pairs.label.tolist()
    (['same_shape', 'positive', 'same_shape', 'other', 'positive', 'positive'], [0.0, 1.0, 0.0, 0.0, 1.0, 1.0])
    >>> model = VisionRewardModel(seed=0)
    >>> model.probability(pairs.image, pairs.instruction).shape
    torch.Size([6])
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from rewardgym.core.nets import seeded
from rewardgym.core.validation import check_integer, check_number
from rewardgym.envs.batched import BatchedTask, BatchedVectorEnv
from rewardgym.envs.batched.kernels import render_kernel
from rewardgym.envs.batched.vector_env import SERIAL_BELOW
from rewardgym.envs.multimodal import ARRANGE_SHAPES, GO_TO_SHAPE, scene
from rewardgym.rewardmodels.model import RewardModel, load_reward_model, read_model_card, save_reward_model

__all__ = [
    "COUNTERFACTUAL_KINDS",
    "DEFAULT_EPOCHS",
    "NEGATIVE_KINDS",
    "SCENE_ENVS",
    "SHORTCUTS",
    "ScenePairs",
    "VisionRewardModel",
    "check_scene_space",
    "check_shortcut",
    "counterfactual_pairs",
    "default_vision_model",
    "evaluate",
    "fit_vision",
    "load_vision_reward_model",
    "main",
    "make_scene_pairs",
    "report_shortcuts",
    "save_vision_reward_model",
    "train_vision_reward_model",
]

SCENE_ENVS: dict[str, BatchedTask] = {
    "rewardgym/GoToShape-v0": GO_TO_SHAPE,
    "rewardgym/ArrangeShapes-v0": ARRANGE_SHAPES,
}
"""The envs whose scenes the pairs are drawn from, by id."""

SHORTCUTS: dict[str, tuple[str | None, ...]] = {
    "rewardgym/GoToShape-v0": ("colour", "shape", None),
    "rewardgym/ArrangeShapes-v0": ("relation", None),
}
"""Each env's valid ``shortcut`` values (None: no shortcut); the first is its default, which
``shortcut="default"`` names."""

DEFAULT_EPOCHS: dict[str, int] = {"rewardgym/GoToShape-v0": 6, "rewardgym/ArrangeShapes-v0": 14}
"""Training epochs per env when none are given: relations take longer to learn than a colour."""

COUNTERFACTUAL_KINDS: dict[str, tuple[str, ...]] = {
    "rewardgym/GoToShape-v0": ("positive", "same_colour", "same_shape"),
    "rewardgym/ArrangeShapes-v0": ("positive", "wrong_side"),
}
"""The kinds of :func:`counterfactual_pairs`, in equal shares: true positives and the negatives a
shortcut hides."""

NEGATIVE_KINDS: dict[str, tuple[str, ...]] = {
    "rewardgym/GoToShape-v0": ("empty", "other", "same_colour", "same_shape"),
    "rewardgym/ArrangeShapes-v0": ("apart", "wrong_side"),
}
"""What a negative pair may be. GoToShape: the agent on an ``empty`` cell, on an ``other``
distractor (neither the named colour nor the named shape), on a ``same_colour`` or a
``same_shape`` one. ArrangeShapes: the first named shape ``apart`` from the second (not beside
it), or beside it on a ``wrong_side``."""

_HIDDEN_BY: dict[str, str] = {"colour": "same_colour", "shape": "same_shape", "relation": "wrong_side"}
"""The negative kind each shortcut leaves out of the training pairs."""

_SHORTCUT_NOTES: dict[str | None, str] = {
    "colour": "no training negative puts the agent on a shape of the named colour (other than the named shape): "
    "colour alone separates the pairs",
    "shape": "no training negative puts the agent on the named shape in another colour: shape alone separates the pairs",
    "relation": "no training negative puts the first named shape beside the second: adjacency alone separates the "
    "pairs, whatever the relation",
    None: "no shortcut: the counterfactual negatives are drawn like any other",
}

_DIFFICULTIES = (1, 2, 3, 4)
_CELLS = scene.GRID * scene.GRID


# ----------------------------------------------------------------------------------------------
# Checks, by name.


def _env_id(env_id: str, subject: str) -> str:
    if env_id not in SCENE_ENVS:
        raise ValueError(
            f"{subject}: no scene pairs for env {env_id!r}; valid envs: {', '.join(SCENE_ENVS)} "
            "(the instruction-following scenes)"
        )
    return env_id


def check_shortcut(env_id: str, shortcut: str | None, subject: str = "vision reward model") -> str | None:
    """``shortcut`` if ``env_id`` can plant it (``"default"``: the env's first in
    :data:`SHORTCUTS`), else a ``ValueError`` naming the valid ones.

    Example:
        >>> check_shortcut("rewardgym/GoToShape-v0", "default"), check_shortcut("rewardgym/ArrangeShapes-v0", None)
        ('colour', None)
        >>> check_shortcut("rewardgym/GoToShape-v0", "relation")
        Traceback (most recent call last):
        ...
        ValueError: vision reward model: unknown shortcut 'relation' for rewardgym/GoToShape-v0; valid shortcuts: 'colour', 'shape', None
    """
    valid = SHORTCUTS[_env_id(env_id, subject)]
    if shortcut == "default":
        return valid[0]
    if shortcut not in valid:
        raise ValueError(
            f"{subject}: unknown shortcut {shortcut!r} for {env_id}; valid shortcuts: {', '.join(map(repr, valid))}"
        )
    return shortcut


def _describe(space: gym.Space) -> str:
    """A space in a few words: a Box's shape and dtype, a Dict's keys."""
    if isinstance(space, spaces.Box):
        return f"Box{space.shape} {space.dtype}"
    if isinstance(space, spaces.Dict):
        return f"Dict with keys {', '.join(map(repr, space.spaces))}"
    return str(space)


def check_scene_space(space: gym.Space, subject: str = "vision reward model") -> tuple[tuple[int, int, int], int, int]:
    """The image shape, instruction length and vocabulary size of a scene observation space:
    a ``Dict`` with a ``uint8`` ``image`` Box ``(height, width, 3)`` and an integer
    ``instruction`` of token ids. Anything else is refused by name.

    Example:
        >>> check_scene_space(scene.OBSERVATION_SPACE)
        ((48, 48, 3), 10, 20)
        >>> check_scene_space(spaces.Box(0, 1, (4,)))
        Traceback (most recent call last):
        ...
        ValueError: vision reward model reads a Dict observation with 'image' (uint8 Box (height, width, 3)) and 'instruction' (token ids), got Box(4,) float32
    """
    expected = "a Dict observation with 'image' (uint8 Box (height, width, 3)) and 'instruction' (token ids)"
    if not isinstance(space, spaces.Dict) or not {"image", "instruction"} <= set(space.spaces):
        raise ValueError(f"{subject} reads {expected}, got {_describe(space)}")
    image, tokens = space.spaces["image"], space.spaces["instruction"]
    if not isinstance(image, spaces.Box) or image.dtype != np.uint8 or len(image.shape) != 3 or image.shape[2] != 3:
        raise ValueError(f"{subject} reads {expected}; its 'image' is {_describe(image)}")
    if isinstance(tokens, spaces.MultiDiscrete) and tokens.nvec.ndim == 1:
        vocab = int(tokens.nvec.max() + tokens.start.max())
    elif isinstance(tokens, spaces.Box) and np.issubdtype(tokens.dtype, np.integer) and len(tokens.shape) == 1:
        vocab = int(tokens.high.max()) + 1
    else:
        raise ValueError(f"{subject} reads {expected}; its 'instruction' is {_describe(tokens)}")
    height, width, channels = (int(d) for d in image.shape)
    return (height, width, channels), int(tokens.shape[0]), vocab


# ----------------------------------------------------------------------------------------------
# The model.


class _NextObservation(nn.Module):
    """The features of a transition: the next observation's picture and instruction (a fixed
    transform; what the reward model judges is the state the step led to)."""

    inputs = ("next_obs",)

    def forward(self, obs: Any, action: Any, next_obs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return next_obs["image"], next_obs["instruction"]


def _groups(channels: int) -> int:
    """GroupNorm's groups for ``channels``: 4 where they divide, else the largest divisor below."""
    return next(g for g in (4, 3, 2, 1) if channels % g == 0)


class _TwoTower(nn.Module):
    """The picture's cell features, FiLM-conditioned on the instruction, to one logit.

    Image tower: three 2x2 stride-2 convolutions, each with a GroupNorm and a ReLU, so each of
    the last map's cells sees exactly one 8 x 8 board cell (3x3 stride-2 convolutions straddle
    cells, and their fits stalled on "the agent on any shape" for epochs). Instruction tower: the
    sum of one embedding per (position, token), then an MLP giving each of the last two
    convolutions a FiLM scale and shift (Perez et al. 2018). The first convolution stays
    unconditioned: early conditioning fits as well but reads the named shape off pixel counts,
    which blurs a planted colour shortcut. Then a 3x3 convolution over the cells (neighbours, for
    relations), a max over the cells and a linear layer.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        channels = [int(c) for c in config["channels"]]
        in_channels = [int(config["image_shape"][2]), *channels[:-1]]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 2, stride=2) for a, b in zip(in_channels, channels))
        # The first norm keeps its affine; the others' is the instruction's FiLM.
        self.norms = nn.ModuleList(nn.GroupNorm(_groups(c), c, affine=i == 0) for i, c in enumerate(channels))
        self.conditioned = channels[1:]
        self.vocab_size = int(config["vocab_size"])
        length, dim, hidden = int(config["instruction_length"]), int(config["embedding_dim"]), int(config["hidden"])
        self.tokens = nn.EmbeddingBag(length * self.vocab_size, dim, mode="sum")
        self.register_buffer("offsets", torch.arange(length) * self.vocab_size, persistent=False)
        self.film = nn.Sequential(
            nn.ReLU(), nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, 2 * sum(channels[1:]))
        )
        self.cells = nn.Sequential(nn.Conv2d(channels[-1], channels[-1], 3, padding=1), nn.ReLU())
        self.head = nn.Linear(channels[-1], 1)

    def forward(self, features: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        image, instruction = features
        offsets: torch.Tensor = self.offsets  # type: ignore[assignment]  # a registered buffer
        ids = instruction.to(torch.int64).clamp(0, self.vocab_size - 1) + offsets
        scale, shift = self.film(self.tokens(ids)).chunk(2, dim=1)
        x = torch.relu(self.norms[0](self.convs[0](image.permute(0, 3, 1, 2).to(torch.float32) / 255.0)))
        start = 0
        for conv, norm, width in zip(self.convs[1:], self.norms[1:], self.conditioned):
            gamma, beta = scale[:, start : start + width, None, None], shift[:, start : start + width, None, None]
            x = torch.relu(norm(conv(x)) * (1.0 + gamma) + beta)
            start += width
        x = self.cells(x).amax(dim=(2, 3))
        return self.head(x)[:, 0]


class VisionRewardModel(RewardModel):
    """A two-tower reward model of (picture, instruction): the logit of ``P(the instruction holds)``.

    Built from its config alone (no weights downloaded), initialised from ``seed``. As a
    :class:`~rewardgym.rewardmodels.RewardModel`, ``model(obs, action, next_obs)`` is the logit of
    the **next** observation (a dict of ``image`` and ``instruction`` batches); :meth:`logit` and
    :meth:`probability` take the two batches directly.

    Args:
        image_shape: ``(height, width, 3)``; each side at least 8 (three stride-2 convolutions;
            a side that 8 divides keeps the last map's cells aligned with 8-pixel board cells).
        instruction_length: token ids per instruction.
        vocab_size: token ids are ``0 .. vocab_size - 1``.
        channels: the three convolutions' channels.
        embedding_dim: the instruction embedding's width.
        hidden: the FiLM generator's hidden width.
        seed: seeds the initial weights.

    Example:
        >>> model = VisionRewardModel(channels=(8, 8, 8), seed=0)
        >>> obs = {"image": torch.zeros(2, 48, 48, 3, dtype=torch.uint8), "instruction": torch.ones(2, 10, dtype=torch.uint8)}
        >>> model(obs, torch.zeros(2), obs).shape
        torch.Size([2])
        >>> VisionRewardModel(image_shape=(4, 4, 3))
        Traceback (most recent call last):
        ...
        ValueError: VisionRewardModel: image_shape must be (height, width, 3) with each side >= 8 (its CNN halves the picture three times), got (4, 4, 3)
    """

    def __init__(
        self,
        *,
        image_shape: Sequence[int] = (scene.IMAGE, scene.IMAGE, 3),
        instruction_length: int = scene.INSTRUCTION_LENGTH,
        vocab_size: int = scene.VOCAB_SIZE,
        channels: Sequence[int] = (16, 32, 32),
        embedding_dim: int = 32,
        hidden: int = 64,
        seed: int = 0,
    ) -> None:
        shape = tuple(int(d) for d in image_shape)
        if len(shape) != 3 or shape[2] != 3 or min(shape[:2]) < 8:
            raise ValueError(
                "VisionRewardModel: image_shape must be (height, width, 3) with each side >= 8 "
                f"(its CNN halves the picture three times), got {tuple(image_shape)}"
            )
        channels = tuple(channels)
        if len(channels) != 3:
            raise ValueError(f"VisionRewardModel: channels must be three widths, got {channels!r}")
        for name, value in (
            ("instruction_length", instruction_length),
            ("vocab_size", vocab_size),
            ("embedding_dim", embedding_dim),
            ("hidden", hidden),
            *((f"channels[{i}]", c) for i, c in enumerate(channels)),
        ):
            check_integer(value, f"VisionRewardModel: {name}", low=1)
        self.config: dict[str, Any] = {
            "image_shape": list(shape),
            "instruction_length": int(instruction_length),
            "vocab_size": int(vocab_size),
            "channels": [int(c) for c in channels],
            "embedding_dim": int(embedding_dim),
            "hidden": int(hidden),
        }
        network = seeded(seed, lambda: _TwoTower(self.config))
        observation_space = spaces.Dict(
            {
                "image": spaces.Box(0, 255, shape, np.uint8),
                "instruction": spaces.MultiDiscrete(np.full(int(instruction_length), int(vocab_size)), dtype=np.uint8),
            }
        )
        action_space = spaces.Discrete(len(scene.ACTION_NAMES))
        super().__init__(observation_space, action_space, network=network, features=_NextObservation(), seed=seed)
        self.card["architecture"] = {
            "network": "two_tower_cnn_film",
            "features": "next_obs_image_instruction",
            "inputs": ["next_obs"],
            "vision_config": dict(self.config),
        }

    def logit(self, image: torch.Tensor, instruction: torch.Tensor) -> torch.Tensor:
        """The logit that each instruction holds in its picture, ``(N,)``: pictures ``(N, H, W, 3)``
        uint8, instructions ``(N, L)`` token ids, on the model's device."""
        return self.score((image, instruction))  # type: ignore[arg-type]  # the network takes both

    def probability(self, image: torch.Tensor, instruction: torch.Tensor, *, batch_size: int = 512) -> torch.Tensor:
        """``sigmoid(logit)`` of each pair, without gradients, in batches, on the inputs' device."""
        with torch.no_grad():
            device = self.device
            out = [
                torch.sigmoid(
                    self.logit(image[s : s + batch_size].to(device), instruction[s : s + batch_size].to(device))
                )
                for s in range(0, image.shape[0], batch_size)
            ]
        return torch.cat(out).to(image.device) if out else torch.zeros(0)

    def check_space(self, space: gym.Space, subject: str = "VisionRewardModel") -> None:
        """Refuse, by name, an observation space this model cannot read: not a scene ``Dict``, an
        image of another shape (the CNN's linear sizes are fixed by it) or more tokens."""
        image_shape, length, vocab = check_scene_space(space, subject)
        if list(image_shape) != self.config["image_shape"]:
            raise ValueError(
                f"{subject}: the model's CNN takes {tuple(self.config['image_shape'])} images, but the env's "
                f"image is {image_shape}; train or load a model for that image size"
            )
        if length != self.config["instruction_length"] or vocab > self.config["vocab_size"]:
            raise ValueError(
                f"{subject}: the model reads {self.config['instruction_length']} token ids below "
                f"{self.config['vocab_size']}, but the env's instruction has {length} ids below {vocab}"
            )


def save_vision_reward_model(model: VisionRewardModel, path: str | Path, **card: Any) -> Path:
    """Save as ``<path>.safetensors`` plus its card ``<path>.json`` (which records the config,
    the pairs, the shortcut and both evaluations).

    Example:
        >>> import os, tempfile
        >>> path = save_vision_reward_model(VisionRewardModel(), os.path.join(tempfile.mkdtemp(), "vm"))
        >>> path.name, read_model_card(path)["model_class"]
        ('vm.safetensors', 'VisionRewardModel')
    """
    if not isinstance(model, VisionRewardModel):
        raise TypeError(f"save_vision_reward_model takes a VisionRewardModel, got {type(model).__name__}")
    return save_reward_model(model, path, **card)


def load_vision_reward_model(path: str | Path) -> VisionRewardModel:
    """Rebuild a saved :class:`VisionRewardModel` from its card and load its weights, frozen.

    Raises:
        ValueError: the card is not a vision model's (no ``architecture.vision_config``) or its
            config is damaged, naming the file and the field.

    Example:
        >>> import os, tempfile
        >>> m = VisionRewardModel(seed=3)
        >>> n = load_vision_reward_model(save_vision_reward_model(m, os.path.join(tempfile.mkdtemp(), "vm")))
        >>> x = {"image": torch.full((1, 48, 48, 3), 200, dtype=torch.uint8), "instruction": torch.ones(1, 10)}
        >>> bool(torch.equal(m.logit(x["image"], x["instruction"]), n.logit(x["image"], x["instruction"])))
        True
    """
    card = read_model_card(path)
    config = card.get("architecture", {}).get("vision_config")
    if not isinstance(config, dict):
        raise ValueError(f"{path} is not a VisionRewardModel (its card has no architecture.vision_config)")
    fields = ("image_shape", "instruction_length", "vocab_size", "channels", "embedding_dim", "hidden")
    missing = [f for f in fields if f not in config]
    if missing:
        raise ValueError(f"reward model card of {path}: field 'architecture.vision_config' lacks {', '.join(missing)}")
    try:
        model = VisionRewardModel(**{f: config[f] for f in fields})
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"reward model card of {path}: field 'architecture.vision_config' is damaged: {error}"
        ) from None
    loaded = load_reward_model(path, into=model)
    assert isinstance(loaded, VisionRewardModel)
    return loaded


# ----------------------------------------------------------------------------------------------
# Pairs from the scenes.


class ScenePairs(NamedTuple):
    """Labeled (picture, instruction) pairs drawn from a scene env, with the states they show.

    ``label`` is the scene's gold on each row of ``state`` (``scene.instruction_holds``); ``kind``
    says what each pair is (``"positive"`` or one of the env's :data:`NEGATIVE_KINDS`).
    """

    image: torch.Tensor
    instruction: torch.Tensor
    label: torch.Tensor
    kind: np.ndarray
    state: np.ndarray

    def __len__(self) -> int:
        return int(self.label.shape[0])

    def counts(self) -> dict[str, int]:
        """How many pairs of each kind."""
        names, counts = np.unique(self.kind, return_counts=True)
        return {str(n): int(c) for n, c in zip(names, counts)}


def _seed_for(seed: int, role: int, difficulty: int) -> int:
    """A scene seed per (seed, role, difficulty): draws of different roles share no board."""
    return int(np.random.SeedSequence([int(seed), role, difficulty]).generate_state(1, np.uint32)[0]) * 4096


_CHUNK = SERIAL_BELOW - 1
"""Boards drawn per reset: below the engine's parallel threshold, so every draw runs the serial
kernels (one compilation per difficulty, the one small vector envs share)."""


def _draw_scenes(env_id: str, n: int, difficulty: int, seed: int) -> np.ndarray:
    """``n`` boards from the env's own reset kernel, ``(n, STATE_SIZE)`` float64: board ``i`` is
    the start state of the env seeded ``seed + i``."""
    env = BatchedVectorEnv(SCENE_ENVS[env_id], min(n, _CHUNK), difficulty=difficulty)
    boards = []
    for start in range(0, n, env.num_envs):
        env.reset(seed=seed + start)
        boards.append(np.array(env.state[: n - start]))
    return np.concatenate(boards)


def _objects(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each board's objects ``(n, MAX_OBJECTS, 4)`` (colour, shape, row, col) and which exist."""
    objects = states[:, scene.OBJECTS : scene.TOKENS].reshape(len(states), scene.MAX_OBJECTS, 4).astype(np.int64)
    present = np.arange(scene.MAX_OBJECTS)[None, :] < states[:, scene.NUM_OBJECTS, None]
    return objects, present


def _pick(rng: np.random.Generator, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One column drawn uniformly among each row's allowed ones, and whether a row had any."""
    score = np.where(allowed, rng.random(allowed.shape), -1.0)
    return np.asarray(score.argmax(1)), np.asarray(allowed.any(1))


def _go_to_pairs(states: np.ndarray, kinds: np.ndarray, rng: np.random.Generator, allowed: Sequence[str]) -> np.ndarray:
    """Put each board's agent where ``kinds`` says; returns the kind each row really got.

    ``"distractor"`` rows go on a distractor of a kind drawn uniformly among the ``allowed`` kinds
    the board holds; a row asking for a distractor kind the board lacks gets an empty cell.
    """
    n = len(states)
    objects, present = _objects(states)
    colour, shape = objects[..., scene.COLOUR], objects[..., scene.SHAPE]
    distractor = present & (np.arange(scene.MAX_OBJECTS) > 0)
    of_kind = {
        "other": distractor & (colour != colour[:, :1]) & (shape != shape[:, :1]),
        "same_colour": distractor & (colour == colour[:, :1]) & (shape != shape[:, :1]),
        "same_shape": distractor & (shape == shape[:, :1]) & (colour != colour[:, :1]),
    }
    names = list(of_kind)
    asked = np.asarray(kinds, dtype=object).copy()
    # A kind among those the board holds and the pairs allow, for each "distractor" row.
    available = np.stack([of_kind[k].any(1) & (k in allowed) for k in names], axis=1)
    drawn, has = _pick(rng, available)
    generic = asked == "distractor"
    asked[generic] = np.where(has[generic], np.array(names, dtype=object)[drawn[generic]], "empty")
    occupied = np.zeros((n, _CELLS), bool)
    cell = objects[..., scene.ROW] * scene.GRID + objects[..., scene.COL]
    np.put_along_axis(occupied, np.where(present, cell, cell[:, :1]), True, axis=1)
    empty_cell, _ = _pick(rng, ~occupied)
    target = empty_cell.copy()
    got = np.full(n, "empty", dtype=object)
    positive = asked == "positive"
    target[positive], got[positive] = cell[positive, 0], "positive"
    for name, mask in of_kind.items():
        k, has = _pick(rng, mask)
        take = (asked == name) & has
        target[take] = cell[take, k[take]]
        got[take] = name
    states[:, scene.AGENT_ROW] = target // scene.GRID
    states[:, scene.AGENT_COL] = target % scene.GRID
    return got.astype(str)


def _arrange_pairs(
    states: np.ndarray, kinds: np.ndarray, rng: np.random.Generator, allowed: Sequence[str]
) -> np.ndarray:
    """Move each board's first named shape where ``kinds`` says (the second stays): onto the cell
    the relation names (``positive``), beside the second on another side (``wrong_side``), or on a
    free cell not beside it (``apart``); a row whose wanted cell is taken gets ``apart``."""
    n = len(states)
    objects, present = _objects(states)
    relation = states[:, scene.RELATION].astype(np.int64)
    row_b, col_b = objects[:, 1, scene.ROW], objects[:, 1, scene.COL]
    occupied = np.zeros((n, _CELLS), bool)
    cell = objects[..., scene.ROW] * scene.GRID + objects[..., scene.COL]
    others = present & (np.arange(scene.MAX_OBJECTS) > 0)
    np.put_along_axis(occupied, np.where(others, cell, cell[:, 1:2]), True, axis=1)
    agent = states[:, scene.AGENT_ROW].astype(np.int64) * scene.GRID + states[:, scene.AGENT_COL].astype(np.int64)
    occupied[np.arange(n), agent] = True
    # The four sides of the second shape, in RELATIONS' order (left of, right of, above, below).
    side_row = row_b[:, None] + scene.ROW_OFFSET[None, :]
    side_col = col_b[:, None] + scene.COL_OFFSET[None, :]
    on_board = (side_row >= 0) & (side_row < scene.GRID) & (side_col >= 0) & (side_col < scene.GRID)
    side_cell = np.clip(side_row, 0, scene.GRID - 1) * scene.GRID + np.clip(side_col, 0, scene.GRID - 1)
    side_free = on_board & ~np.take_along_axis(occupied, side_cell, axis=1)
    right_side = np.where(relation[:, None] == scene.NEXT_TO, True, np.arange(4)[None, :] == relation[:, None])
    beside = np.zeros((n, _CELLS), bool)
    np.put_along_axis(beside, side_cell, on_board, axis=1)
    apart_cell, _ = _pick(rng, ~occupied & ~beside)
    target, got = apart_cell.copy(), np.full(n, "apart", dtype=object)
    for name, sides in (("positive", side_free & right_side), ("wrong_side", side_free & ~right_side)):
        side, has = _pick(rng, sides)
        take = (kinds == name) & has
        target[take] = side_cell[take, side[take]]
        got[take] = name
    states[:, scene.OBJECTS + scene.ROW] = target // scene.GRID
    states[:, scene.OBJECTS + scene.COL] = target % scene.GRID
    return got.astype(str)


def _observe(
    env_id: str, states: np.ndarray, kinds: np.ndarray, rng: np.random.Generator, allowed: Sequence[str] = ()
) -> ScenePairs:
    """Edit the boards as ``kinds`` say, paint them with the env's render kernel, label them by gold."""
    states = np.ascontiguousarray(states)
    place = _go_to_pairs if env_id == "rewardgym/GoToShape-v0" else _arrange_pairs
    got = place(states, np.asarray(kinds, dtype=object), rng, allowed)
    frames = np.empty((len(states), scene.IMAGE, scene.IMAGE, 3), np.uint8)
    render_kernel(SCENE_ENVS[env_id], "serial")(states, frames)
    tokens = states[:, scene.TOKENS : scene.TOKENS + scene.INSTRUCTION_LENGTH].astype(np.uint8)
    label = np.array([scene.instruction_holds(row) for row in states], np.float32)
    return ScenePairs(torch.from_numpy(frames), torch.from_numpy(tokens), torch.from_numpy(label), got, states)


def _boards(env_id: str, num_pairs: int, difficulties: Sequence[int], seed: int, role: int) -> np.ndarray:
    """``num_pairs`` boards, split evenly over ``difficulties`` and shuffled."""
    share = np.diff(np.linspace(0, num_pairs, len(difficulties) + 1).round().astype(int))
    parts = [_draw_scenes(env_id, int(k), d, _seed_for(seed, role, d)) for d, k in zip(difficulties, share) if k]
    boards = np.concatenate(parts)
    return boards[np.random.default_rng([seed, role]).permutation(len(boards))]


def _check_difficulties(difficulties: Sequence[int], subject: str) -> tuple[int, ...]:
    values = tuple(difficulties)
    if not values or any(d not in _DIFFICULTIES for d in values):
        raise ValueError(f"{subject}: difficulties must be among {_DIFFICULTIES}, got {values!r}")
    return values


def make_scene_pairs(
    env_id: str = "rewardgym/GoToShape-v0",
    num_pairs: int = 4000,
    *,
    shortcut: str | None = "default",
    difficulties: Sequence[int] = _DIFFICULTIES,
    positive_share: float = 0.5,
    seed: int = 0,
) -> ScenePairs:
    """Labeled training pairs drawn from ``env_id``'s scenes, with ``shortcut`` planted.

    Boards come from the env's reset at each of ``difficulties`` in equal shares. A
    ``positive_share`` of them become positives; the rest negatives, of the env's
    :data:`NEGATIVE_KINDS` but the one ``shortcut`` hides. GoToShape negatives are half on an
    empty cell, half on a distractor (its kind drawn uniformly among the allowed kinds the board
    holds, then the distractor among those of that kind); ArrangeShapes negatives half ``apart``,
    half ``wrong_side``. A board lacking the distractor or the free cell a kind needs falls back
    to the plain negative (``empty`` or ``apart``).

    Example:
        >>> pairs = make_scene_pairs(num_pairs=400, shortcut="colour", seed=1)
        >>> "same_colour" in pairs.counts(), "same_shape" in pairs.counts()
        (False, True)
        >>> make_scene_pairs("rewardgym/GoToShape-v1", 4)
        Traceback (most recent call last):
        ...
        ValueError: make_scene_pairs: no scene pairs for env 'rewardgym/GoToShape-v1'; valid envs: rewardgym/GoToShape-v0, rewardgym/ArrangeShapes-v0 (the instruction-following scenes)
    """
    subject = "make_scene_pairs"
    _env_id(env_id, subject)
    shortcut = check_shortcut(env_id, shortcut, subject)
    num_pairs = check_integer(num_pairs, f"{subject}: num_pairs", low=1)
    positive_share = check_number(positive_share, f"{subject}: positive_share", low=0.0, high=1.0)
    difficulties = _check_difficulties(difficulties, subject)
    rng = np.random.default_rng([int(seed), 1])
    boards = _boards(env_id, num_pairs, difficulties, seed, role=0)
    hidden = _HIDDEN_BY.get(shortcut) if shortcut is not None else None
    if env_id == "rewardgym/GoToShape-v0":
        allowed = tuple(k for k in ("other", "same_colour", "same_shape") if k != hidden)
        negative = np.where(rng.random(num_pairs) < 0.5, "empty", "distractor")
    else:
        allowed = ()
        negative = np.where(rng.random(num_pairs) < 0.5, "apart", "apart" if hidden == "wrong_side" else "wrong_side")
    kinds = np.where(rng.random(num_pairs) < positive_share, "positive", negative)
    return _observe(env_id, boards, kinds, rng, allowed)


def counterfactual_pairs(env_id: str = "rewardgym/GoToShape-v0", num_pairs: int = 1500, *, seed: int = 0) -> ScenePairs:
    """Pairs that tell a shortcut from the instruction: :data:`COUNTERFACTUAL_KINDS` in equal
    shares (true positives, and the negatives a shortcut hides), on boards that hold them
    (GoToShape difficulties 3-4, where distractors of the named colour and of the named shape
    are always drawn; ArrangeShapes any, its ``next to`` instructions, which have no wrong side,
    turned into a side relation). Boards are drawn apart from :func:`make_scene_pairs`'. A board
    where a kind's cell is taken falls back to the plain negative, and :meth:`ScenePairs.counts`
    says so.

    Example:
        >>> pairs = counterfactual_pairs(num_pairs=300, seed=0)
        >>> pairs.counts()
        {'positive': 100, 'same_colour': 100, 'same_shape': 100}
    """
    subject = "counterfactual_pairs"
    _env_id(env_id, subject)
    num_pairs = check_integer(num_pairs, f"{subject}: num_pairs", low=1)
    difficulties = (3, 4) if env_id == "rewardgym/GoToShape-v0" else _DIFFICULTIES
    names = COUNTERFACTUAL_KINDS[env_id]
    rng = np.random.default_rng([int(seed), 2])
    boards = _boards(env_id, num_pairs, difficulties, seed, role=2)
    if env_id == "rewardgym/ArrangeShapes-v0":
        # "next to" has no wrong side: those boards get a side relation, and its tokens.
        for i in np.flatnonzero(boards[:, scene.RELATION] == scene.NEXT_TO):
            boards[i, scene.RELATION] = rng.integers(scene.NEXT_TO)
            scene.write_tokens(boards[i])
    kinds = np.array(names)[np.arange(num_pairs) % len(names)]
    return _observe(env_id, boards, kinds, rng)


def _heldout_pairs(
    env_id: str, num_pairs: int, shortcut: str | None, difficulties: Sequence[int], seed: int
) -> ScenePairs:
    """In-distribution held-out pairs: drawn like the training pairs, from other boards."""
    return make_scene_pairs(env_id, num_pairs, shortcut=shortcut, difficulties=difficulties, seed=seed + 7_919)


# ----------------------------------------------------------------------------------------------
# Training and evaluation.


def fit_vision(
    model: VisionRewardModel,
    pairs: ScenePairs,
    *,
    epochs: int = 6,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
) -> dict[str, float]:
    """Fit ``model`` to the pairs' labels with the binary cross-entropy (Adam, shuffled minibatches,
    the learning rate cosine-annealed to zero). Writes the settings to ``model.card["training"]``.

    Returns:
        ``{"loss": ..., "train_accuracy": ...}`` of the last epoch.

    Example:
        >>> model = VisionRewardModel(channels=(4, 4, 4), embedding_dim=4, hidden=4)
        >>> sorted(fit_vision(model, make_scene_pairs(num_pairs=32), epochs=1))
        ['loss', 'train_accuracy']
    """
    epochs = check_integer(epochs, "fit_vision: epochs", low=1)
    batch_size = check_integer(batch_size, "fit_vision: batch_size", low=1)
    lr = check_number(lr, "fit_vision: lr", low=0.0, low_open=True)
    if len(pairs) < 1:
        raise ValueError("fit_vision needs at least one labeled pair")
    device = model.device
    image, instruction, label = (x.to(device) for x in (pairs.image, pairs.instruction, pairs.label))
    model.train().requires_grad_(True)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * ((len(pairs) + batch_size - 1) // batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    generator = torch.Generator().manual_seed(int(seed))
    total = len(pairs)
    loss_sum, correct = 0.0, 0.0
    with torch.enable_grad():
        for _ in range(epochs):
            order = torch.randperm(total, generator=generator).to(device)
            loss_sum, correct = 0.0, 0.0
            for start in range(0, total, batch_size):
                idx = order[start : start + batch_size]
                logit = model.logit(image[idx], instruction[idx])
                loss = nn.functional.binary_cross_entropy_with_logits(logit, label[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                loss_sum += float(loss.detach()) * idx.shape[0]
                correct += float(((logit.detach() > 0).float() == label[idx]).sum())
    model.eval().requires_grad_(False)
    model.card["training"] = {
        "pairs": total,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "schedule": "cosine",
        "seed": int(seed),
        "loss": "binary_cross_entropy",
        "optimizer": "adam",
    }
    return {"loss": loss_sum / total, "train_accuracy": correct / total}


def evaluate(model: VisionRewardModel, pairs: ScenePairs) -> dict[str, Any]:
    """The model's accuracy (``P > 0.5`` against the label) overall and per kind, and the mean
    probability per kind.

    Example:
        >>> report = evaluate(VisionRewardModel(), counterfactual_pairs(num_pairs=30))
        >>> sorted(report), sorted(report["by_kind"])
        (['accuracy', 'by_kind', 'mean_probability', 'pairs'], ['positive', 'same_colour', 'same_shape'])
    """
    p = model.probability(pairs.image, pairs.instruction).cpu().numpy()
    right = (p > 0.5) == (pairs.label.numpy() > 0.5)
    kinds = sorted(set(pairs.kind.tolist()))
    return {
        "accuracy": float(right.mean()),
        "pairs": len(pairs),
        "by_kind": {k: float(right[pairs.kind == k].mean()) for k in kinds},
        "mean_probability": {k: float(p[pairs.kind == k].mean()) for k in kinds},
    }


def train_vision_reward_model(
    env_id: str = "rewardgym/GoToShape-v0",
    *,
    shortcut: str | None = "default",
    train_pairs: int = 8000,
    eval_pairs: int = 1500,
    difficulties: Sequence[int] = _DIFFICULTIES,
    channels: Sequence[int] = (16, 32, 32),
    embedding_dim: int = 32,
    hidden: int = 64,
    epochs: int | None = None,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    threads: int = 1,
) -> VisionRewardModel:
    """Draw ``train_pairs`` pairs with ``shortcut`` planted (``"default"``: the env's, see
    :data:`SHORTCUTS`), fit a :class:`VisionRewardModel` to them for ``epochs`` (None: the env's
    :data:`DEFAULT_EPOCHS`), and evaluate it in distribution (``eval_pairs`` held-out pairs drawn
    the same way) and on :func:`counterfactual_pairs` (``eval_pairs`` of them).

    The card records the env, the shortcut, the pairs (counts by kind), the training settings and
    time, and ``evaluation``: ``{"in_distribution": ..., "counterfactual": ...}``, each as
    :func:`evaluate` reports it. Torch runs on ``threads`` threads (one by default: on a small shared
    CPU a second thread gained little and contention made it many times slower), restored
    afterwards.

    Example:
        >>> model = train_vision_reward_model(train_pairs=64, eval_pairs=30, epochs=1, channels=(4, 4, 4))
        >>> sorted(model.card["evaluation"]), model.card["shortcut"]
        (['counterfactual', 'in_distribution'], 'colour')
    """
    subject = "train_vision_reward_model"
    _env_id(env_id, subject)
    shortcut = check_shortcut(env_id, shortcut, subject)
    train_pairs = check_integer(train_pairs, f"{subject}: train_pairs", low=1)
    eval_pairs = check_integer(eval_pairs, f"{subject}: eval_pairs", low=1)
    difficulties = _check_difficulties(difficulties, subject)
    previous = torch.get_num_threads()
    torch.set_num_threads(check_integer(threads, f"{subject}: threads", low=1))
    try:
        start = time.perf_counter()
        pairs = make_scene_pairs(env_id, train_pairs, shortcut=shortcut, difficulties=difficulties, seed=seed)
        drawn = time.perf_counter()
        model = VisionRewardModel(channels=channels, embedding_dim=embedding_dim, hidden=hidden, seed=seed)
        epochs = DEFAULT_EPOCHS[env_id] if epochs is None else epochs
        fitted = fit_vision(model, pairs, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
        trained = time.perf_counter()
        heldout = _heldout_pairs(env_id, eval_pairs, shortcut, difficulties, seed)
        counterfactual = counterfactual_pairs(env_id, eval_pairs, seed=seed)
        model.card.update(
            env_id=env_id,
            shortcut=shortcut,
            shortcut_note=_SHORTCUT_NOTES[shortcut],
            pairs={
                "train": len(pairs),
                "train_by_kind": pairs.counts(),
                "difficulties": list(difficulties),
                "seed": int(seed),
                "hidden_negatives": _HIDDEN_BY.get(shortcut) if shortcut is not None else None,
                "counterfactual_kinds": list(COUNTERFACTUAL_KINDS[env_id]),
            },
            train_fit=fitted,
            training_seconds={"pairs": round(drawn - start, 2), "fit": round(trained - drawn, 2)},
            evaluation={"in_distribution": evaluate(model, heldout), "counterfactual": evaluate(model, counterfactual)},
        )
    finally:
        torch.set_num_threads(previous)
    return model


# ----------------------------------------------------------------------------------------------
# The default model a regime trains when it is given none, once per process.

_DEFAULT_MODELS: dict[tuple[Any, ...], VisionRewardModel] = {}


def default_vision_model(
    env_id: str = "rewardgym/GoToShape-v0", *, shortcut: str | None = "default", train_pairs: int = 8000, seed: int = 0
) -> VisionRewardModel:
    """The default model for ``env_id``: :func:`train_vision_reward_model` with these settings,
    trained on first use and kept for the rest of the process (never downloaded, never written
    to disk; save one with :func:`save_vision_reward_model` to share it between processes). Each
    call returns a fresh copy, frozen, on the CPU.

    Example:
        >>> a = default_vision_model(train_pairs=64, seed=5)
        >>> b = default_vision_model(train_pairs=64, seed=5)   # the cached one, copied
        >>> a is not b and bool(torch.equal(a.network.head.weight, b.network.head.weight))
        True
    """
    _env_id(env_id, "default_vision_model")
    shortcut = check_shortcut(env_id, shortcut, "default_vision_model")
    key = (env_id, shortcut, int(train_pairs), int(seed))
    if key not in _DEFAULT_MODELS:
        _DEFAULT_MODELS[key] = train_vision_reward_model(env_id, shortcut=shortcut, train_pairs=train_pairs, seed=seed)
    model = copy.deepcopy(_DEFAULT_MODELS[key])
    return model.eval().requires_grad_(False)


# ----------------------------------------------------------------------------------------------
# The shortcut's report: the default model and its shortcut-free twin, side by side.


def report_shortcuts(
    env_id: str = "rewardgym/GoToShape-v0",
    *,
    shortcuts: Sequence[str | None] | None = None,
    train_pairs: int = 8000,
    seed: int = 0,
    save_dir: str | Path | None = None,
) -> dict[str, dict[str, Any]]:
    """Train the model of each shortcut (by default the env's :data:`SHORTCUTS`: the default
    model's first, then the others and None) and return each card's numbers: the pairs, the
    training time, and the in-distribution and counterfactual evaluations. With ``save_dir`` each
    model is saved there as ``<env name>-<shortcut>`` (safetensors plus card).

    :func:`main` prints the same, one line per shortcut.

    Example:
        >>> out = report_shortcuts(shortcuts=["colour"], train_pairs=64)
        >>> sorted(out["colour"])
        ['counterfactual', 'in_distribution', 'pairs', 'training_seconds']
    """
    chosen = SHORTCUTS[_env_id(env_id, "report_shortcuts")] if shortcuts is None else tuple(shortcuts)
    report: dict[str, dict[str, Any]] = {}
    for shortcut in chosen:
        model = train_vision_reward_model(env_id, shortcut=shortcut, train_pairs=train_pairs, seed=seed)
        card = model.card
        if save_dir is not None:
            name = f"{env_id.split('/')[-1].split('-')[0]}-{shortcut or 'none'}"
            save_vision_reward_model(model, Path(save_dir) / name)
        report[str(shortcut)] = {
            "pairs": card["pairs"],
            "training_seconds": card["training_seconds"],
            "in_distribution": card["evaluation"]["in_distribution"],
            "counterfactual": card["evaluation"]["counterfactual"],
        }
    return report


def _print_report(report: dict[str, dict[str, Any]]) -> None:
    for shortcut, row in report.items():
        inside, outside = row["in_distribution"], row["counterfactual"]
        kinds = ", ".join(f"{k} {v:.3f}" for k, v in outside["by_kind"].items())
        print(
            f"shortcut={shortcut}: {row['pairs']['train']} training pairs {row['pairs']['train_by_kind']}, "
            f"trained in {sum(row['training_seconds'].values()):.1f}s; in-distribution accuracy "
            f"{inside['accuracy']:.3f} ({inside['pairs']} pairs); counterfactual accuracy "
            f"{outside['accuracy']:.3f} ({outside['pairs']} pairs: {kinds})"
        )


def main(argv: Sequence[str] | None = None) -> None:
    """Train the models of an env's shortcuts and print their cards' numbers (see
    :func:`report_shortcuts`): ``python -c "from rewardgym.rewardmodels.vision import main; main()"``
    with ``[env_id] [--train-pairs N] [--seed S] [--save DIR]`` after ``main()``'s list, or from
    Python, ``main(["rewardgym/ArrangeShapes-v0"])``.
    """
    import argparse

    parser = argparse.ArgumentParser(description="Train the vision reward models and print their cards' numbers.")
    parser.add_argument("env_id", nargs="?", default="rewardgym/GoToShape-v0", choices=list(SCENE_ENVS))
    parser.add_argument("--train-pairs", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default=None, help="a folder to save each model and its card in")
    args = parser.parse_args(argv)
    _print_report(report_shortcuts(args.env_id, train_pairs=args.train_pairs, seed=args.seed, save_dir=args.save))


if __name__ == "__main__":  # pragma: no cover - a script
    main()
