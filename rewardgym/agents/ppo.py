"""A compact PPO that steps rewardgym vector envs as whole batches, on the CPU or the GPU.

One file, read top to bottom in the manner of CleanRL's ``ppo.py`` and
``ppo_continuous_action.py``: a frozen :class:`PPOConfig`, an :class:`ActorCritic` (categorical
for ``Discrete`` actions, diagonal Gaussian for ``Box`` actions), :func:`compute_gae`, and
:func:`learn`, the training loop.

What differs from CleanRL, and why:

- **Whole batches, no copies.** A rewardgym vector env on ``device="cpu"`` returns numpy arrays,
  which reach torch through ``torch.from_numpy`` (a view, no copy); on ``device="cuda"`` it returns
  torch tensors on the GPU, which feed the networks as they are. Nothing leaves the device during
  a rollout: the only host syncs are one per update (collecting finished episodes, and choosing
  the valid samples in NEXT_STEP mode).
- **Exact episode ends.** A terminated episode's last step is worth its reward alone; a truncated
  one is bootstrapped from the value of its *real* final observation, never from the reset
  observation the env returns in its place. Both autoreset modes are handled (see
  :func:`learn`); :func:`compute_gae` takes the value of each step's real next observation
  explicitly, so the same function serves both.
- **Values after the rollout.** The policy does not change during a rollout, so the critic runs
  once on the whole ``(num_steps * num_envs)`` batch at the end instead of once a step: the
  per-step Python and torch overhead is the actor's alone.
- **Observation and reward normalization** (``normalize_obs``, ``normalize_reward``) live in the
  agent and the loop rather than in wrappers, as torch ops on the env's device; the observation
  statistics are buffers of the agent, so :meth:`ActorCritic.predict` uses them after training.
- **Seeded.** One ``torch.Generator`` drives the weight init, action sampling and minibatch
  shuffles, and the envs are reset with the same seed: equal seeds give equal parameters.
- **Images and Dict observations.** A ``uint8`` ``Box(0, 255, (height, width, channels))`` (an
  ``obs_mode="pixels"`` env) goes through a CNN (:class:`rewardgym.core.nets.ImageEncoder`: the
  Nature CNN from 64 pixels a side, a stack of 3x3 convolutions below), and a ``Dict`` gets one
  encoder per key (:class:`ObservationEncoder`: the CNN for images, a token embedding for
  ``MultiDiscrete`` ids, floats as they are), their features concatenated into the actor's and
  critic's MLPs, which share the encoder (as CleanRL's Atari PPO and SB3's CNN policies do). The
  rollout keeps such observations as they came, ``uint8`` where they fit, not as float32.
- **Multi-agent games** (``rewardgym.make_parallel_vec``: a vector env with one row per agent,
  row ``r`` being agent ``r % num_agents`` of game ``r // num_agents``). ``learners="shared"``
  (the default) trains one network on every row: parameter sharing, the single-agent loop as it
  is. ``learners="independent"`` trains an :class:`IndependentActorCritic`, one
  :class:`ActorCritic` per agent, each with its own optimizer, observation and reward
  statistics, advantage normalization and minibatches, updated on its own agent's rows only
  (independent PPO); the rollout is still one batched loop over every row.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> from rewardgym.agents.ppo import PPOConfig, learn
    >>> envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=8, reward=[])
    >>> config = PPOConfig(num_envs=8, num_steps=16)
    >>> agent = learn(envs, total_steps=256, config=config, seed=0)
    >>> agent.predict(envs.reset(seed=1)[0]).shape
    (8,)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from torch import nn

from rewardgym.core import nets
from rewardgym.core.arrays import is_torch
from rewardgym.core.info import EPISODE_RETURNS, FINAL_OBS, mask_key
from rewardgym.core.validation import check_flag, check_integer, check_number, is_integer

LEARNERS = ("shared", "independent")
"""How PPO maps networks to the agents of a multi-agent env (``PPOConfig.learners``): one network
for every agent (parameter sharing), or one network per agent (independent learners)."""

MAX_ONE_HOT_INPUTS = 2**16
"""The widest one-hot input the native PPO builds: a gridworld's grid (hundreds of inputs) or a
token window (about 1,600) is far below it; an image's 256 levels per channel and pixel (a 16x16
RGB image: 196,608) is far above, and would silently build a network of millions of weights (an
image goes to a CNN instead, when it is a ``uint8`` ``Box(0, 255)``: :class:`ObservationEncoder`)."""

ACTIVATIONS: dict[str, type[nn.Module]] = {name: nets.ACTIVATIONS[name] for name in ("tanh", "relu")}
"""The hidden activations PPO takes, of :data:`rewardgym.core.nets.ACTIVATIONS`: the two that its
reference settings (CleanRL's, rl-baselines3-zoo's) use, tanh and relu."""


# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PPOConfig:
    """PPO's settings, named and defaulted as in CleanRL (``ppo.py``) except where noted.

    One update collects ``num_steps`` steps from each of ``num_envs`` envs (a batch of
    ``num_envs * num_steps`` samples) and then takes ``update_epochs`` passes over it in
    ``num_minibatches`` shuffled minibatches.

    The defaults are general-purpose and differ from CleanRL's in the batch shape (64 envs x 32
    steps, not 4 x 128: batched envs make many envs cheap), the learning rate (1e-3, not 2.5e-4)
    and ``ent_coef`` (0, as CleanRL's continuous version and SB3). Per-env reference settings
    ship in ``rewardgym/agents/hyperparams/ppo.yaml``; CartPole's is rl-baselines3-zoo's shape
    (8 envs x 32 steps, one minibatch, 20 epochs), which needed the fewest updates there: on a
    small network an update costs about the same whatever the batch, so the number of updates,
    not of env steps, sets the wall-clock time.

    Example:
        >>> PPOConfig.from_dict({"num_envs": 16, "hidden_sizes": [32, 32]}).hidden_sizes
        (32, 32)
        >>> PPOConfig.from_dict({"lr": 0.1})
        Traceback (most recent call last):
        ...
        ValueError: unknown PPO setting(s) ['lr']; valid settings: num_envs, num_steps, ...
    """

    num_envs: int = 64
    """Envs stepped in parallel; :func:`learn` checks that the envs it gets have this many."""
    num_steps: int = 32
    """Steps per env per rollout."""
    learning_rate: float = 1e-3
    anneal_lr: bool = True
    """Decay the learning rate linearly to 0 over the run (CleanRL's default)."""
    gamma: float = 0.99
    gae_lambda: float = 0.95
    num_minibatches: int = 4
    update_epochs: int = 4
    norm_adv: bool = True
    """Normalize advantages within each minibatch."""
    clip_coef: float = 0.2
    clip_vloss: bool = True
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    target_kl: float | None = None
    """Stop an update's epochs early once the approximate KL exceeds this (None: never)."""
    hidden_sizes: tuple[int, ...] = (64, 64)
    """Hidden layer widths of the actor and of the critic (two separate networks, as CleanRL)."""
    activation: str = "tanh"
    log_std_init: float = 0.0
    """Box actions: initial log standard deviation of the Gaussian (state-independent)."""
    normalize_obs: bool = False
    """Normalize observations by running mean and variance (CleanRL's continuous version: on)."""
    normalize_reward: bool = False
    """Scale rewards by the running std of the discounted return (CleanRL's continuous: on)."""
    clip_obs: float = 10.0
    clip_reward: float = 10.0
    learners: str = "shared"
    """Multi-agent envs (a row per agent): ``"shared"``, one network for every agent (parameter
    sharing; also what a single-agent env gets); ``"independent"``, one network per agent, each
    with its own optimizer and statistics, trained on its own rows (:class:`IndependentActorCritic`).
    ``num_envs`` counts rows (games times agents) either way."""

    def __post_init__(self) -> None:
        for name in ("num_envs", "num_steps", "num_minibatches"):
            check_integer(getattr(self, name), f"PPOConfig.{name}", low=1)
        check_integer(self.update_epochs, "PPOConfig.update_epochs", low=0)
        for name, low, high in (
            ("learning_rate", 0.0, None),
            ("gamma", 0.0, 1.0),
            ("gae_lambda", 0.0, 1.0),
            ("clip_coef", 0.0, None),
            ("ent_coef", None, None),
            ("vf_coef", 0.0, None),
            ("max_grad_norm", 0.0, None),
            ("log_std_init", None, None),
            ("clip_obs", 0.0, None),
            ("clip_reward", 0.0, None),
        ):
            check_number(getattr(self, name), f"PPOConfig.{name}", low=low, high=high)
        if self.target_kl is not None:
            check_number(self.target_kl, "PPOConfig.target_kl", low=0.0, low_open=True, valid="a number > 0 or None")
        for name in ("anneal_lr", "norm_adv", "clip_vloss", "normalize_obs", "normalize_reward"):
            check_flag(getattr(self, name), f"PPOConfig.{name}")
        sizes = self.hidden_sizes
        if isinstance(sizes, (list, tuple)) and all(is_integer(s) and s >= 1 for s in sizes):
            object.__setattr__(self, "hidden_sizes", tuple(int(s) for s in sizes))
        else:
            raise ValueError(f"PPOConfig.hidden_sizes must be a list of positive integers, got {sizes!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"PPOConfig.activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        if self.learners not in LEARNERS:
            raise ValueError(f"PPOConfig.learners must be one of {', '.join(LEARNERS)}, got {self.learners!r}")
        if self.num_minibatches > self.num_envs * self.num_steps:
            raise ValueError(
                f"PPOConfig.num_minibatches ({self.num_minibatches}) exceeds the batch size "
                f"num_envs * num_steps = {self.num_envs * self.num_steps}"
            )

    @property
    def batch_size(self) -> int:
        """Samples per update: ``num_envs * num_steps``."""
        return self.num_envs * self.num_steps

    @classmethod
    def from_dict(cls, settings: dict[str, Any]) -> PPOConfig:
        """A config from a dict (e.g. a YAML entry); an unknown key raises ``ValueError``."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(settings) - set(names))
        if unknown:
            raise ValueError(f"unknown PPO setting(s) {unknown}; valid settings: {', '.join(names)}")
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain Python values (``hidden_sizes`` as a list), e.g. for a run config."""
        settings = dataclasses.asdict(self)
        settings["hidden_sizes"] = list(self.hidden_sizes)
        return settings


# ---------------------------------------------------------------------------------------------
# The agent
# ---------------------------------------------------------------------------------------------


def _orthogonal(net: nn.Sequential, out_gain: float, generator: torch.Generator) -> nn.Sequential:
    """CleanRL's ``layer_init`` on every linear layer of ``net``, in order: orthogonal weights
    (gain sqrt(2), ``out_gain`` on the output layer) and zero biases, drawn from ``generator``
    (for seeding) over torch's default init."""
    linears = [layer for layer in net if isinstance(layer, nn.Linear)]
    for i, layer in enumerate(linears):
        nn.init.orthogonal_(layer.weight, out_gain if i == len(linears) - 1 else math.sqrt(2), generator=generator)
        nn.init.zeros_(layer.bias)
    return net


def _orthogonal_encoder(encoder: nn.Module, generator: torch.Generator) -> nn.Module:
    """CleanRL's ``layer_init`` on an encoder's convolutions and linear layers (gain sqrt(2), zero
    biases; its Atari PPO does so on the Nature CNN), and unit-normal token embeddings, in order,
    from ``generator``."""
    for layer in encoder.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.orthogonal_(layer.weight, math.sqrt(2), generator=generator)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.Embedding):
            nn.init.normal_(layer.weight, generator=generator)
    return encoder


@dataclass(frozen=True)
class ObservationPart:
    """One key of an observation as :class:`ObservationEncoder` stores and encodes it: columns
    ``start:stop`` of a stored row, holding an ``"image"`` (``shape`` (height, width, channels)),
    ``"tokens"`` (ids minus the space's low) or ``"float"`` values; ``shape`` is the key's own."""

    key: str | None
    """The Dict key, or None for a whole (image) observation."""
    kind: str
    shape: tuple[int, ...]
    start: int
    stop: int


class ObservationEncoder(nn.Module):
    """How the native PPO takes image and ``Dict`` observations: one encoder per key, features
    concatenated.

    - an image, ``uint8`` ``Box(0, 255, (height, width, channels))`` with 1, 3 or 4 channels and
      sides of 8 pixels or more: :class:`rewardgym.core.nets.ImageEncoder` (scaled by 1/255,
      channels-first, :func:`rewardgym.core.nets.cnn`); any other ``uint8`` image shape is refused;
    - token ids, ``MultiDiscrete`` (any integer dtype), ``Discrete`` or an integer ``Box`` bounded
      both ways: :class:`rewardgym.core.nets.TokenEncoder`, an embedding table as large as the
      largest slot's number of values (shared by the slots), the slots' embeddings concatenated;
    - other ``Box`` values: flattened as they are (normalized first when the agent's
      ``normalize_obs`` is on), into the MLPs.

    The rollout stores each observation packed, as one flat row of :attr:`width` values (the keys
    side by side) in :attr:`storage_dtype`: ``uint8`` when every value fits (images, token ids
    below 256), a wider integer for larger vocabularies, float32 once a key holds floats.
    :meth:`pack` makes such rows from raw observations (a tensor, or a dict of tensors), the
    module's ``forward`` makes features from them.

    Example:
        >>> import numpy as np
        >>> from gymnasium import spaces
        >>> space = spaces.Dict({"image": spaces.Box(0, 255, (48, 48, 3), np.uint8),
        ...                      "instruction": spaces.MultiDiscrete(np.full(10, 25), dtype=np.uint8)})
        >>> encoder = ObservationEncoder(space, torch.Generator().manual_seed(0))
        >>> rows = encoder.pack({"image": torch.zeros(2, 48, 48, 3, dtype=torch.uint8),
        ...                      "instruction": torch.ones(2, 10, dtype=torch.uint8)})
        >>> rows.shape, rows.dtype, encoder(rows).shape
        (torch.Size([2, 6922]), torch.uint8, torch.Size([2, 416]))
    """

    token_low: torch.Tensor

    def __init__(self, space: spaces.Space, generator: torch.Generator) -> None:
        super().__init__()
        named = list(space.spaces.items()) if isinstance(space, spaces.Dict) else [(None, space)]
        self.parts: list[ObservationPart] = []
        encoders: list[nn.Module] = []
        dims: list[int] = []  # each part's features
        lows: list[torch.Tensor] = []
        self._shifted: list[bool] = []  # per token part: whether its low is not 0
        largest, floats, start = 0, False, 0
        for key, sub in named:
            where = "" if key is None else f"key {key!r}: "
            if nets.is_image_space(sub):
                try:
                    shape: tuple[int, ...] = nets.check_image_shape(cast(spaces.Box, sub).shape)
                except ValueError as error:
                    raise ValueError(f"{where}{error} (observation space {sub})") from None
                kind, largest = "image", max(largest, 255)
                image = nets.ImageEncoder(shape)
                encoders.append(image)
                dims.append(image.features_dim)
            elif _is_token_space(sub):
                low, nvec = _categories(sub)
                shape, kind = tuple(cast(tuple[int, ...], sub.shape)), "tokens"
                largest = max(largest, int(nvec.max()) - 1)
                tokens = nets.TokenEncoder(int(nvec.max()), len(nvec))
                encoders.append(tokens)
                dims.append(tokens.features_dim)
                lows.append(torch.as_tensor(low))
                self._shifted.append(bool(low.any()))
            elif isinstance(sub, (spaces.Box, spaces.MultiBinary)):
                shape, kind, floats = tuple(cast(tuple[int, ...], sub.shape)), "float", True
                encoders.append(nn.Identity())
                dims.append(math.prod(shape))
            else:
                raise TypeError(
                    f"the native PPO takes Dict observations whose keys are uint8 images, token ids "
                    f"(MultiDiscrete, Discrete, bounded integer Box) or float Box values; {where}got {sub}"
                )
            width = math.prod(shape)
            self.parts.append(ObservationPart(key, kind, shape, start, start + width))
            start += width
        self.encoders = nn.ModuleList(encoders)
        # Each token slot's low, subtracted before storage (ids from 0), all token keys in a row.
        self.register_buffer("token_low", torch.cat(lows) if lows else torch.zeros(0, dtype=torch.int64))
        self.width = start
        """The width of a stored row: every key's values, flattened, side by side."""
        self.float_width = sum(p.stop - p.start for p in self.parts if p.kind == "float")
        """The float values of a row (those the agent's ``normalize_obs`` normalizes)."""
        self.features_dim = sum(dims)
        """The width of the features handed to the actor's and critic's MLPs."""
        if floats:
            self.storage_dtype = torch.float32
        else:
            self.storage_dtype = next(
                d for d in (torch.uint8, torch.int16, torch.int32, torch.int64) if largest <= torch.iinfo(d).max
            )
        _orthogonal_encoder(self, generator)

    def _raw(self, obs: Any, part: ObservationPart) -> torch.Tensor:
        """A part's raw values, flattened to ``(batch, width)``."""
        x = obs if part.key is None else obs[part.key]
        return x.reshape(*x.shape[: x.ndim - len(part.shape)], part.stop - part.start)

    def float_columns(self, obs: Any) -> torch.Tensor:
        """The float keys' raw values of a batch, flattened side by side: ``(batch, float_width)``."""
        return torch.cat([self._raw(obs, p).to(torch.float32) for p in self.parts if p.kind == "float"], -1)

    def pack(self, obs: Any, normalize: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """Raw observations (a tensor, or a dict of tensors, batch first) as stored rows,
        ``(batch, width)`` in :attr:`storage_dtype`; ``normalize`` maps the float columns."""
        floats = None
        if self.float_width and normalize is not None:
            widths = [p.stop - p.start for p in self.parts if p.kind == "float"]
            floats = iter(normalize(self.float_columns(obs)).split(widths, -1))
        columns, token, shifted = [], 0, iter(self._shifted)
        for part in self.parts:
            x = self._raw(obs, part)
            if part.kind == "tokens":
                if next(shifted):
                    x = x.to(torch.int64) - self.token_low[token : token + x.shape[-1]]
                token += x.shape[-1]
            elif part.kind == "float" and floats is not None:
                x = next(floats)
            columns.append(x)
        if len(columns) == 1:
            return columns[0].to(self.storage_dtype)
        return torch.cat([c.to(self.storage_dtype) for c in columns], -1)

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        """Features of stored rows ``(batch, width)``: ``(batch, features_dim)``."""
        features = []
        for part, encoder in zip(self.parts, self.encoders):
            x = rows[:, part.start : part.stop]
            if part.kind == "image":
                features.append(encoder(x.reshape(-1, *part.shape)))
            elif part.kind == "tokens":
                features.append(encoder(x))
            else:
                features.append(x.to(torch.float32))
        return features[0] if len(features) == 1 else torch.cat(features, -1)


class ActorCritic(nn.Module):
    """Separate actor and critic MLPs; a categorical policy for ``Discrete`` actions and a diagonal
    Gaussian with a state-independent log std for ``Box`` actions (clipped to the bounds when
    handed to the env, as CleanRL's ``ClipAction`` does).

    The MLPs are :func:`rewardgym.core.nets.mlp`'s, then initialized as CleanRL's ``layer_init``
    does (orthogonal weights, zero biases) from ``generator``, or from ``seed`` without one.
    Image and ``Dict`` observations first go through an :class:`ObservationEncoder` (initialized
    first, from the same generator), which both MLPs share; its features are their input.

    Public methods take *raw* observations (they normalize inside when ``normalize_obs``); the
    ``_``-prefixed ones used by :func:`learn` take normalized ones (for images and ``Dict``
    observations, the encoder's packed rows).

    Example:
        >>> import numpy as np
        >>> from gymnasium import spaces
        >>> agent = ActorCritic(spaces.Box(-1, 1, (3,)), spaces.Box(-2, 2, (1,)), seed=0)
        >>> agent.predict(np.zeros((5, 3), np.float32)).shape
        (5, 1)
        >>> pixels = ActorCritic(spaces.Box(0, 255, (48, 48, 3), np.uint8), spaces.Discrete(2), seed=0)
        >>> pixels.predict(np.zeros((5, 48, 48, 3), np.uint8)).shape, pixels.storage_dtype
        ((5,), torch.uint8)
    """

    # Buffers, registered in __init__ (the one-hot offsets for MultiDiscrete observations only,
    # the action start for Discrete actions only, the bounds for Box actions only).
    one_hot_offsets: torch.Tensor
    action_start: torch.Tensor
    action_low: torch.Tensor
    action_high: torch.Tensor
    obs_mean: torch.Tensor
    obs_var: torch.Tensor
    obs_count: torch.Tensor

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        *,
        hidden_sizes: tuple[int, ...] = (64, 64),
        activation: str = "tanh",
        log_std_init: float = 0.0,
        normalize_obs: bool = False,
        clip_obs: float = 10.0,
        seed: int = 0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        # Images and Dict observations go through an encoder (a CNN, token embeddings).
        encoded = isinstance(observation_space, spaces.Dict) or nets.is_image_space(observation_space)
        # Categorical observations are one-hot encoded, slot by slot, as SB3 does for
        # MultiDiscrete: a token id (rewardgym/Text*) or a gridworld's object code is a category,
        # not a magnitude. Categorical means a flat MultiDiscrete, or an integer Box of any shape
        # (a grid of codes), whose slots are its cells in C order.
        self.one_hot = not encoded and _is_categorical(observation_space)
        flat = isinstance(observation_space, spaces.Box) and len(observation_space.shape) == 1
        if not (encoded or self.one_hot or flat):
            raise TypeError(
                "the native PPO takes flat float Box observations (shape (n,)), flat MultiDiscrete ones "
                "or integer Box ones of any shape (both one-hot encoded), uint8 images Box(0, 255, "
                "(height, width, channels)) (a CNN) and Dict ones of these (an encoder per key), got "
                f"{observation_space}"
            )
        if self.one_hot and normalize_obs:
            raise ValueError(
                f"normalize_obs=True does not apply to categorical observations ({observation_space}), "
                "which are one-hot encoded; use normalize_obs=False"
            )
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        if isinstance(action_space, spaces.Discrete):
            self.discrete = True
            action_dim = int(action_space.n)
            self.action_shape: tuple[int, ...] = ()
            self._action_shift = int(action_space.start)
            action_buffers = {"action_start": torch.tensor(self._action_shift)}
        elif isinstance(action_space, spaces.Box) and len(action_space.shape) == 1:
            self.discrete = False
            action_dim = int(action_space.shape[0])
            self.action_shape = (action_dim,)
            action_buffers = {
                "action_low": torch.as_tensor(action_space.low, dtype=torch.float32),
                "action_high": torch.as_tensor(action_space.high, dtype=torch.float32),
            }
        else:
            raise TypeError(
                f"the native PPO takes Discrete or flat Box actions, got {action_space}; "
                "valid: Discrete(n), Box of shape (n,)"
            )
        if generator is None:
            generator = torch.Generator().manual_seed(seed)
        self.observation_space, self.action_space = observation_space, action_space
        self.normalize_obs, self.clip_obs = bool(normalize_obs), float(clip_obs)
        self.encoder: ObservationEncoder | None = None
        self.storage_dtype = torch.float32
        """The dtype of the rollout's stored observations: float32, or the encoder's (uint8 for images)."""
        # A Box's or MultiDiscrete's shape; () for a Dict, whose keys' shapes the encoder knows.
        self.obs_shape: tuple[int, ...] = tuple(cast(tuple[int, ...], observation_space.shape or ()))
        # obs_dim: the width of the running observation statistics; input_dim: of a stored
        # observation (the rollout's); head_dim: of the MLPs' input.
        if encoded:
            self.encoder = ObservationEncoder(observation_space, generator)
            self.storage_dtype = self.encoder.storage_dtype
            # Statistics of the float keys only: pixels and token ids are never normalized.
            self.obs_dim = obs_dim = self.encoder.float_width
            self.input_dim, head_dim = self.encoder.width, self.encoder.features_dim
        elif self.one_hot:
            self.obs_dim = obs_dim = math.prod(self.obs_shape)  # one category per slot
            low, nvec = (torch.as_tensor(a) for a in _categories(observation_space))
            # Slot j's category k (its value minus the space's low) is input column offsets[j] + k.
            self.register_buffer("one_hot_offsets", torch.cumsum(nvec, 0) - nvec - low)
            self.input_dim = int(nvec.sum())
            if self.input_dim > MAX_ONE_HOT_INPUTS:
                raise TypeError(
                    f"the native PPO one-hot encodes integer observations, and {observation_space} would "
                    f"take {self.input_dim:,} inputs (more than {MAX_ONE_HOT_INPUTS:,}); an image must be "
                    "a uint8 Box(0, 255, (height, width, channels)), which goes to a CNN instead"
                )
            head_dim = self.input_dim
        else:
            self.obs_dim = obs_dim = math.prod(self.obs_shape)  # one value per slot
            self.input_dim = head_dim = obs_dim
        self.critic = _orthogonal(nets.mlp([head_dim, *hidden_sizes, 1], activation), 1.0, generator)
        self.actor = _orthogonal(nets.mlp([head_dim, *hidden_sizes, action_dim], activation), 0.01, generator)
        if not self.discrete:
            self.log_std = nn.Parameter(torch.full((action_dim,), float(log_std_init)))
        for name, buffer in action_buffers.items():
            self.register_buffer(name, buffer)
        # Running statistics of the observations (gymnasium's RunningMeanStd, in torch).
        self.register_buffer("obs_mean", torch.zeros(obs_dim, dtype=torch.float64))
        self.register_buffer("obs_var", torch.ones(obs_dim, dtype=torch.float64))
        self.register_buffer("obs_count", torch.tensor(1e-4, dtype=torch.float64))

    @property
    def device(self) -> torch.device:
        return next(self.critic.parameters()).device  # the first layer's weight

    # -- observations ----------------------------------------------------------------------

    def update_obs_stats(self, obs: torch.Tensor | dict[str, torch.Tensor]) -> None:
        """Fold a batch of raw observations into the running mean and variance (no-op when off;
        for images and Dict observations, of the float keys alone, no-op without any)."""
        if not self.normalize_obs or self.obs_dim == 0:
            return
        raw = cast(torch.Tensor, obs) if self.encoder is None else self.encoder.float_columns(obs)
        batch = raw.to(torch.float64)
        batch_mean, batch_var, batch_count = batch.mean(0), batch.var(0, unbiased=False), batch.shape[0]
        delta = batch_mean - self.obs_mean
        total = self.obs_count + batch_count
        self.obs_mean += delta * (batch_count / total)
        m2 = self.obs_var * self.obs_count + batch_var * batch_count + delta**2 * self.obs_count * batch_count / total
        self.obs_var.copy_(m2 / total)
        self.obs_count.copy_(total)

    def normalize(self, obs: torch.Tensor | dict[str, torch.Tensor]) -> torch.Tensor:
        """Raw observations as the networks take them (float32; normalized and clipped when on;
        one-hot for categorical observations; for images and Dict observations, the encoder's
        packed rows, uint8 where they fit, with the float keys normalized when on)."""
        if self.encoder is not None:
            return self.encoder.pack(obs, self._scale if self.normalize_obs else None)
        obs = cast(torch.Tensor, obs)
        if self.one_hot:
            batch = obs.shape[: obs.ndim - len(self.obs_shape)]
            index = obs.reshape(*batch, -1).to(torch.int64) + self.one_hot_offsets
            encoded = torch.zeros((*batch, self.input_dim), dtype=torch.float32, device=obs.device)
            return encoded.scatter_(-1, index, 1.0)
        obs = obs.to(torch.float32)
        if not self.normalize_obs:
            return obs
        return self._scale(obs)

    def _scale(self, obs: torch.Tensor) -> torch.Tensor:
        """Float observations normalized by the running statistics, and clipped."""
        scaled = (obs - self.obs_mean.float()) / torch.sqrt(self.obs_var.float() + 1e-8)
        return scaled.clamp(-self.clip_obs, self.clip_obs)

    # -- on normalized observations (learn's side) ---------------------------------------

    def _features(self, obs: torch.Tensor) -> torch.Tensor:
        """The MLPs' input: the observations themselves, or the encoder's features of them."""
        return obs if self.encoder is None else self.encoder(obs)

    def _value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(self._features(obs)).squeeze(-1)

    def _sample(self, obs: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        """A sampled action (as the policy knows it: an index, or an unclipped vector) and its log-prob."""
        out = self.actor(self._features(obs))
        if self.discrete:
            # Gumbel-max with exponential noise (how torch samples a Categorical), without the
            # overhead of torch.distributions on every step.
            logp_all = torch.log_softmax(out, -1)
            noise = torch.empty_like(out).exponential_(generator=generator)
            action = (logp_all - noise.log()).argmax(-1)
            return action, logp_all.gather(-1, action.unsqueeze(-1)).squeeze(-1)
        std = self.log_std.exp()
        action = out + std * torch.randn(out.shape, generator=generator, device=out.device)
        return action, _gaussian_log_prob(action, out, self.log_std)

    def _log_prob_entropy(self, obs: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._log_prob_entropy_of(self.actor(self._features(obs)), action)

    def _evaluate(self, obs: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The log-prob and entropy of ``action`` and the value, with one pass of the encoder."""
        features = self._features(obs)
        logp, entropy = self._log_prob_entropy_of(self.actor(features), action)
        return logp, entropy, self.critic(features).squeeze(-1)

    def _log_prob_entropy_of(self, out: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The log-prob of ``action`` and the entropy under the actor's output ``out``."""
        if self.discrete:
            logp_all = torch.log_softmax(out, -1)
            entropy = -(logp_all.exp() * logp_all).sum(-1)
            return logp_all.gather(-1, action.unsqueeze(-1)).squeeze(-1), entropy
        entropy = (0.5 + 0.5 * math.log(2 * math.pi) + self.log_std).sum().expand(out.shape[0])
        return _gaussian_log_prob(action, out, self.log_std), entropy

    def _mode(self, obs: torch.Tensor) -> torch.Tensor:
        out = self.actor(self._features(obs))
        return out.argmax(-1) if self.discrete else out

    def _env_action(self, action: torch.Tensor) -> torch.Tensor:
        """A policy action as the env takes it: shifted by ``Discrete.start``, or clipped to the Box."""
        if self.discrete:
            return action + self.action_start if self._action_shift else action
        return torch.clamp(action, self.action_low, self.action_high)

    # -- public ------------------------------------------------------------------------------

    def value(self, obs: torch.Tensor | dict[str, torch.Tensor]) -> torch.Tensor:
        """The critic's value of a batch of raw observations, ``(n,)``."""
        return self._value(self.normalize(obs))

    @torch.no_grad()
    def act(self, obs: torch.Tensor | dict[str, torch.Tensor], deterministic: bool = False) -> torch.Tensor:
        """Actions for a batch of raw observations (a dict of batches for a Dict space), ready for
        the env (same device as the network): int64 indices, or float32 vectors clipped to the
        action bounds. Sampling uses torch's global generator; :func:`learn` uses its own, seeded one."""
        rows = self.normalize(_map_obs(lambda x: torch.as_tensor(x, device=self.device), obs))
        action = self._mode(rows) if deterministic else self._sample(rows, None)[0]
        return self._env_action(action)

    def predict(self, obs: np.ndarray | dict[str, np.ndarray], deterministic: bool = True) -> np.ndarray:
        """Actions for a numpy batch of observations ``(n, *obs_shape)`` as numpy ``(n, ...)``
        (one observation ``obs_shape`` gives one action); for a Dict space, a dict of such batches.
        Images and token ids keep their dtype."""
        if self.encoder is not None:
            return self._predict_encoded(obs, deterministic)
        array = np.asarray(obs, dtype=np.float32)
        obs_t = torch.as_tensor(array, device=self.device)
        shape = self.obs_shape
        single = tuple(obs_t.shape) == shape
        if single:
            obs_t = obs_t.unsqueeze(0)
        if tuple(obs_t.shape[1:]) != shape:
            raise ValueError(
                f"predict takes observations of shape (n, {', '.join(map(str, shape))}) or {shape}, got "
                f"shape {array.shape}"
            )
        actions = self.act(obs_t, deterministic).cpu().numpy()
        return actions[0] if single else actions

    def _predict_encoded(self, obs: Any, deterministic: bool) -> np.ndarray:
        """:meth:`predict` for images and Dict observations: each key checked against its shape."""
        encoder = cast(ObservationEncoder, self.encoder)
        if isinstance(obs, np.ndarray) and obs.dtype == object and obs.ndim == 0:
            obs = obs.item()  # np.asarray of a dict batch
        if encoder.parts[0].key is not None and not isinstance(obs, dict):
            raise ValueError(
                f"predict takes a dict of batches, one per key of {self.observation_space}, got {type(obs).__name__}"
            )
        arrays = _map_obs(np.asarray, obs)
        singles = set()
        for part in encoder.parts:
            array = arrays if part.key is None else arrays.get(part.key)
            shape = tuple(getattr(array, "shape", ()))
            if array is None or (shape != part.shape and shape[1:] != part.shape):
                where = "" if part.key is None else f"{part.key!r} "
                raise ValueError(
                    f"predict takes {where}observations of shape (n, {', '.join(map(str, part.shape))}) or "
                    f"{part.shape}, got {'none' if array is None else f'shape {shape}'}"
                )
            singles.add(shape == part.shape)
        if len(singles) > 1:
            raise ValueError("predict takes one observation or a batch of them, not a mix of the two across keys")
        single = singles.pop()
        batch = _map_obs(lambda x: torch.as_tensor(x[None] if single else x, device=self.device), arrays)
        actions = self.act(batch, deterministic).cpu().numpy()
        return actions[0] if single else actions


class IndependentActorCritic(nn.Module):
    """One :class:`ActorCritic` per agent of a multi-agent env, for independent learners.

    It takes the batches of a vector env with a row per agent (``rewardgym.make_parallel_vec``),
    in which row ``r`` is agent ``r % num_agents``: every batch must be whole games (a length
    that is a multiple of ``num_agents``), and agent ``k``'s rows ``k, k + num_agents, ...`` go
    to network ``agents[k]``, with that network's own observation statistics. The networks are
    initialized one after the other from ``generator`` (or from ``seed``), so they start apart.

    It has :class:`ActorCritic`'s interface (``predict``, ``act``, ``value`` and the
    ``_``-prefixed methods of :func:`learn`'s rollout), routing rows to agents and interleaving
    the results back in row order; :func:`learn` updates each network on its own rows.

    Example:
        >>> import numpy as np
        >>> from gymnasium import spaces
        >>> agent = IndependentActorCritic(spaces.Box(-1, 1, (3,)), spaces.Discrete(2), num_agents=2, seed=0)
        >>> agent.predict(np.zeros((6, 3), np.float32)).shape  # 3 games of 2 agents
        (6,)
        >>> bool((agent.agents[0].actor[0].weight != agent.agents[1].actor[0].weight).any())
        True
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        num_agents: int,
        *,
        seed: int = 0,
        generator: torch.Generator | None = None,
        **settings: Any,
    ) -> None:
        super().__init__()
        self.num_agents = check_integer(num_agents, "num_agents", low=1)
        if generator is None:
            generator = torch.Generator().manual_seed(seed)
        nets = [
            ActorCritic(observation_space, action_space, generator=generator, **settings) for _ in range(num_agents)
        ]
        self.agents = nn.ModuleList(nets)
        first = nets[0]
        self.observation_space, self.action_space = observation_space, action_space
        self.obs_shape, self.input_dim = first.obs_shape, first.input_dim
        self.discrete, self.action_shape = first.discrete, first.action_shape
        self.storage_dtype = first.storage_dtype

    @property
    def networks(self) -> list[ActorCritic]:
        """The agents' networks, ``networks[k]`` agent ``k``'s (``agents`` as a typed list)."""
        return [cast(ActorCritic, net) for net in self.agents]

    @property
    def device(self) -> torch.device:
        return self.networks[0].device

    def rows(self, agent: int) -> slice:
        """Agent ``agent``'s rows of a batch: ``agent``, ``agent + num_agents``, ..."""
        return slice(agent, None, self.num_agents)

    def _split(self, batch: Any) -> list[Any]:
        """A row batch (numpy or torch, or a dict of them) as one batch per agent."""
        if isinstance(batch, dict):
            per_key = {key: self._split(value) for key, value in batch.items()}
            return [{key: parts[k] for key, parts in per_key.items()} for k in range(self.num_agents)]
        if len(batch) % self.num_agents:
            raise ValueError(
                f"independent learners take whole games: a batch of {len(batch)} rows is not a multiple "
                f"of num_agents={self.num_agents} (row r is agent r % {self.num_agents})"
            )
        return [batch[self.rows(k)] for k in range(self.num_agents)]

    # -- the rollout's side (normalized observations), routed by row -----------------------

    def update_obs_stats(self, obs: torch.Tensor) -> None:
        for net, part in zip(self.networks, self._split(obs)):
            net.update_obs_stats(part)

    def normalize(self, obs: torch.Tensor) -> torch.Tensor:
        return _interleave([net.normalize(part) for net, part in zip(self.networks, self._split(obs))])

    def _value(self, obs: torch.Tensor) -> torch.Tensor:
        return _interleave([net._value(part) for net, part in zip(self.networks, self._split(obs))])

    def _sample(self, obs: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        actions, logps = zip(*(net._sample(part, generator) for net, part in zip(self.networks, self._split(obs))))
        return _interleave(actions), _interleave(logps)

    def _log_prob_entropy(self, obs: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        parts = zip(self.networks, self._split(obs), self._split(action))
        logps, entropies = zip(*(net._log_prob_entropy(o, a) for net, o, a in parts))
        return _interleave(logps), _interleave(entropies)

    def _mode(self, obs: torch.Tensor) -> torch.Tensor:
        return _interleave([net._mode(part) for net, part in zip(self.networks, self._split(obs))])

    def _env_action(self, action: torch.Tensor) -> torch.Tensor:
        return self.networks[0]._env_action(action)  # every agent has the same action space

    # -- public ------------------------------------------------------------------------------

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """Each row's value by its agent's critic, from raw observations, ``(n,)``."""
        return _interleave([net.value(part) for net, part in zip(self.networks, self._split(obs))])

    @torch.no_grad()
    def act(self, obs: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        """Each row's action by its agent's network (see :meth:`ActorCritic.act`)."""
        return _interleave([net.act(part, deterministic) for net, part in zip(self.networks, self._split(obs))])

    def predict(self, obs: np.ndarray | dict[str, np.ndarray], deterministic: bool = True) -> np.ndarray:
        """Actions for a numpy row batch ``(n, *obs_shape)`` (a dict of them for a Dict space),
        ``n`` a multiple of ``num_agents``, each row by its agent's network."""
        if self.networks[0].encoder is not None:
            parts = [net.predict(part, deterministic) for net, part in zip(self.networks, self._split(obs))]
            return np.stack(parts, 1).reshape(-1, *parts[0].shape[1:])
        obs = np.asarray(obs, dtype=np.float32)
        if obs.shape[1:] != self.obs_shape:
            raise ValueError(
                f"predict takes a row batch of shape (n, {', '.join(map(str, self.obs_shape))}) with a row per "
                f"agent, got shape {obs.shape}"
            )
        parts = [net.predict(part, deterministic) for net, part in zip(self.networks, self._split(obs))]
        return np.stack(parts, 1).reshape(len(obs), *parts[0].shape[1:])


def _interleave(parts: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per-agent batches back in row order: row ``i * len(parts) + k`` is ``parts[k][i]``."""
    return torch.stack(list(parts), 1).flatten(0, 1)


def _is_categorical(space: spaces.Space) -> bool:
    """Whether PPO one-hot encodes ``space``: a flat MultiDiscrete, or a bounded integer Box."""
    if isinstance(space, spaces.MultiDiscrete):
        return len(space.shape) == 1
    return isinstance(space, spaces.Box) and space.dtype.kind in "iu" and space.is_bounded("both")


def _is_token_space(space: spaces.Space) -> bool:
    """Whether an :class:`ObservationEncoder` embeds ``space``'s values as token ids: a
    ``MultiDiscrete`` (any shape), a ``Discrete`` or a bounded integer Box (not an image)."""
    return isinstance(space, (spaces.MultiDiscrete, spaces.Discrete)) or _is_categorical(space)


def _map_obs(function: Callable[[Any], Any], obs: Any) -> Any:
    """``function`` on an observation batch, or on each key's batch of a Dict observation."""
    if isinstance(obs, dict):
        return {key: function(value) for key, value in obs.items()}
    return function(obs)


def _categories(space: spaces.Space) -> tuple[np.ndarray, np.ndarray]:
    """Each slot's lowest value and number of categories, flat, as int64: ``(low, nvec)``."""
    if isinstance(space, spaces.Discrete):
        return np.array([int(space.start)], np.int64), np.array([int(space.n)], np.int64)
    if isinstance(space, spaces.MultiDiscrete):
        return np.asarray(space.start, np.int64).reshape(-1), np.asarray(space.nvec, np.int64).reshape(-1)
    box = cast(spaces.Box, space)
    low = np.asarray(box.low, np.int64).reshape(-1)
    return low, np.asarray(box.high, np.int64).reshape(-1) - low + 1


def _gaussian_log_prob(action: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    z = (action - mean) * torch.exp(-log_std)
    return (-0.5 * z * z - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


class Adam:
    """Adam (Kingma & Ba), as ``torch.optim.Adam(params, lr, eps=eps)`` computes it.

    Why not ``torch.optim.Adam``: building any ``torch.optim`` optimizer imports ``torch._dynamo``
    (and sympy), which takes 3-7 s on a 2-core machine: longer than PPO needs to solve CartPole.
    The update is torch's own multi-tensor one, step for step (the tests check it against
    ``torch.optim.Adam``).

    Example:
        >>> w = torch.nn.Parameter(torch.tensor([1.0]))
        >>> opt = Adam([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step(); w.data
        tensor([0.9000])
    """

    def __init__(self, params: Any, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.betas, self.eps = lr, betas, eps
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.steps = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        beta1, beta2 = self.betas
        self.steps += 1
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        torch._foreach_lerp_(self.exp_avg, grads, 1 - beta1)
        torch._foreach_mul_(self.exp_avg_sq, beta2)
        torch._foreach_addcmul_(self.exp_avg_sq, grads, grads, 1 - beta2)
        bias_correction1 = 1 - beta1**self.steps
        bias_correction2_sqrt = math.sqrt(1 - beta2**self.steps)
        denom = torch._foreach_sqrt(self.exp_avg_sq)
        torch._foreach_div_(denom, bias_correction2_sqrt)
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(self.params, self.exp_avg, denom, -self.lr / bias_correction1)


# ---------------------------------------------------------------------------------------------
# Advantages
# ---------------------------------------------------------------------------------------------


def compute_gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    next_values: torch.Tensor,
    terminated: torch.Tensor,
    dones: torch.Tensor,
    gamma: float,
    gae_lambda: float,
) -> torch.Tensor:
    """Generalized advantage estimates of a ``(num_steps, num_envs)`` rollout.

    ``next_values[t]`` is the value of step ``t``'s *real* next observation: at an episode's end
    the final observation, not the reset one. ``terminated[t]`` drops that value (the episode
    is over: nothing follows); a truncated episode keeps it, which is the bootstrap.
    ``dones[t]`` (terminated or truncated) stops the advantage of the next episode flowing back
    into this one. Both flags are bool or 0/1 tensors.

    Example (one env, an episode truncated after step 0, a new one starting at step 1):
        >>> import torch
        >>> one = lambda *x: torch.tensor(x).reshape(-1, 1)
        >>> compute_gae(rewards=one(1.0, 1.0), values=one(0.0, 0.0), next_values=one(10.0, 5.0),
        ...             terminated=one(False, False), dones=one(True, False), gamma=0.5, gae_lambda=1.0)
        tensor([[6.0000],
                [3.5000]])
    """
    not_terminal = 1.0 - terminated.to(values.dtype)
    continues = 1.0 - dones.to(values.dtype)
    deltas = rewards + gamma * next_values * not_terminal - values
    advantages = torch.empty_like(values)
    last = torch.zeros_like(values[0])
    for t in range(values.shape[0] - 1, -1, -1):
        last = deltas[t] + gamma * gae_lambda * continues[t] * last
        advantages[t] = last
    return advantages


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


Agent = ActorCritic | IndependentActorCritic
"""What :func:`learn` trains: one network (``learners="shared"``) or one per agent (``"independent"``)."""

Callback = Callable[[int, Agent, dict[str, np.ndarray]], Any]


def learn(
    envs: gym.vector.VectorEnv,
    total_steps: int,
    config: PPOConfig = PPOConfig(),
    *,
    seed: int = 0,
    device: str = "cpu",
    callback: Callback | None = None,
    agent_index: Any = None,
) -> Agent:
    """Train a PPO agent on a vector env for at least ``total_steps`` env steps; return it.

    ``envs`` is a rewardgym vector env, normally inside a reward shell (``reward=...``, ``[]``
    for the env's own reward) so that ``info["episode_returns"]`` reports each finished
    episode's proxy and gold returns. It runs ``ceil(total_steps / batch_size)`` updates.

    Episode ends, by the env's ``autoreset_mode``:

    - ``SAME_STEP``: the returned observation of a finished env is already the next episode's
      first; the real final one is in the dense ``info["final_obs"]`` (valid where
      ``info["_final_obs"]``), which is what a truncated episode bootstraps from. Every sample is
      valid. This is the cheaper mode (no wasted steps), hence the one to make envs in.
    - ``NEXT_STEP``: the returned observation *is* the real final one, so it serves both as the
      next observation of the finished step and as the input of the following, autoreset, step;
      that autoreset step (whose action the env ignores) is masked out of the loss.

    ``callback(global_step, agent, episodes)`` runs after every update with the training
    episodes that finished during it: ``episodes = {"proxy": ..., "gold": ..., "length": ...}``,
    float64 numpy arrays (empty if none finished, or if the envs have no reward shell). If it
    returns a false value other than None (``False``, ``numpy.False_``), training stops there (as
    in SB3); returning nothing carries on.

    ``device`` is where the networks live. With a ``device="cuda"`` env and ``device="cuda"``
    here, the env's tensors feed the networks without a copy; mixing devices works, by copying.

    With ``config.learners="independent"`` the env's rows must be agents, row ``r`` being agent
    ``r % num_agents`` (``rewardgym.make_parallel_vec``'s layout): ``agent_index``, each row's
    agent, defaults to the env's own (``envs.unwrapped.agent_index``), and an env without one is
    refused. Each agent's network is then updated on its rows alone, ``num_steps * num_envs /
    num_agents`` samples per update in ``num_minibatches`` minibatches, with its own optimizer,
    observation and reward statistics. It returns an :class:`IndependentActorCritic`.

    Example (independent learners on a public-goods game: 2 games of 4 agents):
        >>> import rewardgym
        >>> envs = rewardgym.make_parallel_vec("rewardgym/PublicGoods-v0", num_envs=2, autoreset_mode="same_step")
        >>> config = PPOConfig(num_envs=8, num_steps=16, learners="independent")
        >>> agent = learn(envs, total_steps=128, config=config, seed=0)
        >>> len(agent.agents), agent.predict(envs.reset(seed=1)[0]).shape
        (4, (8,))
    """
    check_integer(total_steps, "total_steps", low=0)
    if not isinstance(config, PPOConfig):
        raise TypeError(f"config must be a PPOConfig (PPOConfig.from_dict(d) builds one), got {type(config).__name__}")
    if envs.num_envs != config.num_envs:
        raise ValueError(
            f"the envs have num_envs={envs.num_envs} but config.num_envs={config.num_envs}; make "
            "the envs with config.num_envs or pass dataclasses.replace(config, num_envs=envs.num_envs)"
        )
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {callback!r}")
    if not isinstance(device, (str, torch.device)) or str(device).split(":")[0] not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}; valid devices: cpu, cuda")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' was requested but torch sees no CUDA GPU; use device='cpu'")
    mode = envs.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
    if mode not in (AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP):
        raise ValueError(f"the native PPO needs autoreset_mode SAME_STEP or NEXT_STEP, got {mode}")
    same_step = mode is AutoresetMode.SAME_STEP
    num_agents = _num_agents(envs, config, agent_index) if config.learners == "independent" else 1

    generator = torch.Generator(device=dev).manual_seed(seed)
    init_generator = torch.Generator().manual_seed(seed)  # weights are built on the CPU, then moved
    settings: dict[str, Any] = dict(
        hidden_sizes=config.hidden_sizes,
        activation=config.activation,
        log_std_init=config.log_std_init,
        normalize_obs=config.normalize_obs,
        clip_obs=config.clip_obs,
        generator=init_generator,
    )
    agent: Agent
    learners: list[tuple[ActorCritic, slice]]
    # A learner is a network and the rows it acts on and learns from: every row for a shared
    # network, agent k's rows (k, k + num_agents, ...) for independent ones.
    if config.learners == "independent":
        agent = IndependentActorCritic(envs.single_observation_space, envs.single_action_space, num_agents, **settings)
        learners = [(net, agent.rows(k)) for k, net in enumerate(agent.networks)]
    else:
        agent = ActorCritic(envs.single_observation_space, envs.single_action_space, **settings)
        learners = [(agent, slice(None))]
    agent.to(dev)
    optimizers = [Adam(net.parameters(), lr=config.learning_rate, eps=1e-5) for net, _ in learners]

    n, steps = config.num_envs, config.num_steps
    obs_dim = agent.input_dim  # the width of the stored (normalized or one-hot) observations
    num_updates = math.ceil(total_steps / config.batch_size)

    # Rollout storage, (num_steps, num_envs, ...), on the networks' device.
    def buffer(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.zeros((steps, n, *shape), dtype=dtype, device=dev)

    # Images and token ids are stored as they came (uint8 where they fit), not as float32.
    obs_buf = buffer(agent.input_dim, dtype=agent.storage_dtype)
    next_obs_buf = buffer(agent.input_dim, dtype=agent.storage_dtype)
    action_buf = buffer(dtype=torch.int64) if agent.discrete else buffer(*agent.action_shape)
    logp_buf, reward_buf = buffer(), buffer()
    terminated_buf, done_buf = buffer(dtype=torch.bool), buffer(dtype=torch.bool)
    valid_buf = buffer(dtype=torch.bool)

    def to_device(x: Any) -> Any:
        # numpy -> a torch view (no copy); a torch tensor already on ``dev`` -> itself; a Dict
        # observation key by key.
        if isinstance(x, dict):
            return {key: to_device(value) for key, value in x.items()}
        return torch.from_numpy(x).to(dev) if isinstance(x, np.ndarray) else torch.as_tensor(x, device=dev)

    def with_final(done: torch.Tensor, final: Any, obs_t: Any) -> Any:
        # The real next observations: obs_t, with the final observation where an episode ended.
        if isinstance(final, np.ndarray) and final.dtype == object:
            # gymnasium's own vector envs: each ended env's final observation, None elsewhere.
            real = _map_obs(torch.clone, obs_t)
            for i, row in enumerate(final):
                if row is not None:
                    for key in real if isinstance(real, dict) else (None,):
                        value = row if key is None else row[key]
                        (real if key is None else real[key])[i] = torch.as_tensor(np.asarray(value), device=dev)
            return real
        if isinstance(obs_t, dict):
            return {key: with_final(done, final[key], value) for key, value in obs_t.items()}
        return torch.where(done.reshape(-1, *[1] * (obs_t.ndim - 1)), to_device(final), obs_t)

    raw_obs, _ = envs.reset(seed=seed)
    first_obs = next(iter(raw_obs.values())) if isinstance(raw_obs, dict) else raw_obs
    torch_env = is_torch(first_obs)
    env_device = first_obs.device if torch_env else None
    obs_t = to_device(raw_obs)
    agent.update_obs_stats(obs_t)
    obs = agent.normalize(obs_t)
    prev_done = torch.zeros(n, dtype=torch.bool, device=dev)  # NEXT_STEP: the next step autoresets
    # Reward scaling (gymnasium's NormalizeReward): the running variance of the discounted return,
    # one (mean, variance, count) per learner, over its rows.
    discounted = torch.zeros(n, dtype=torch.float64, device=dev)
    return_moments = [
        (
            torch.zeros((), dtype=torch.float64, device=dev),
            torch.ones((), dtype=torch.float64, device=dev),
            torch.tensor(1e-4, dtype=torch.float64, device=dev),
        )
        for _ in learners
    ]

    global_step = 0
    for update in range(num_updates):
        if config.anneal_lr:
            for optimizer in optimizers:
                optimizer.lr = config.learning_rate * (1.0 - update / num_updates)
        finished: list[tuple[Any, Any, Any, Any]] = []

        # -- rollout --------------------------------------------------------------------------
        with torch.no_grad():
            for t in range(steps):
                obs_buf[t] = obs
                valid_buf[t] = ~prev_done
                action, logp = agent._sample(obs, generator)
                action_buf[t], logp_buf[t] = action, logp
                env_action = agent._env_action(action)
                raw_obs, reward, terminated, truncated, info = envs.step(
                    env_action.to(env_device) if torch_env else env_action.cpu().numpy()
                )
                global_step += n

                obs_t, reward = to_device(raw_obs), to_device(reward)
                terminated, truncated = to_device(terminated), to_device(truncated)
                done = terminated | truncated
                real_next = obs_t
                if same_step and FINAL_OBS in info:
                    real_next = with_final(done, info[FINAL_OBS], obs_t)
                agent.update_obs_stats(obs_t)
                obs = agent.normalize(obs_t)
                next_obs_buf[t] = obs if real_next is obs_t else agent.normalize(real_next)

                if config.normalize_reward:
                    discounted = discounted * config.gamma + reward
                    for k, (_, rows) in enumerate(learners):
                        return_moments[k] = _fold_moments(discounted[rows], *return_moments[k])
                        scale = torch.sqrt(return_moments[k][1] + 1e-8)
                        reward_buf[t, rows] = (reward[rows] / scale).clamp(-config.clip_reward, config.clip_reward)
                    discounted = discounted.masked_fill(done, 0.0)
                else:
                    reward_buf[t] = reward
                terminated_buf[t], done_buf[t] = terminated, done
                if not same_step:
                    prev_done = done
                if EPISODE_RETURNS in info:
                    report = info[EPISODE_RETURNS]
                    mask = info[mask_key(EPISODE_RETURNS)]
                    finished.append((mask, report["proxy"], report["gold"], report["length"]))

            # -- advantages: the critic once over the whole rollout ------------------------------
            values = agent._value(obs_buf.reshape(-1, obs_dim)).reshape(steps, n)
            next_values = agent._value(next_obs_buf.reshape(-1, obs_dim)).reshape(steps, n)
            advantages = compute_gae(
                reward_buf, values, next_values, terminated_buf, done_buf, config.gamma, config.gae_lambda
            )
            returns = advantages + values

        # -- each learner's batch: its rows, flattened, keeping the valid samples (NEXT_STEP's
        #    autoreset steps are not) -----------------------------------------------------------
        for (net, rows), optimizer in zip(learners, optimizers):
            b_obs = obs_buf[:, rows].reshape(-1, obs_dim)
            b_actions = action_buf[:, rows].reshape(-1, *agent.action_shape)
            b_logp, b_adv = logp_buf[:, rows].reshape(-1), advantages[:, rows].reshape(-1)
            b_returns, b_values = returns[:, rows].reshape(-1), values[:, rows].reshape(-1)
            if not same_step:
                keep = valid_buf[:, rows].reshape(-1).nonzero().squeeze(-1)
                b_obs, b_actions, b_logp = b_obs[keep], b_actions[keep], b_logp[keep]
                b_adv, b_returns, b_values = b_adv[keep], b_returns[keep], b_values[keep]
            _optimize(net, optimizer, config, generator, b_obs, b_actions, b_logp, b_adv, b_returns, b_values)

        if callback is not None:
            keep_going = callback(global_step, agent, _episodes(finished))
            # Any false value but None stops: numpy's False too (``gold.mean() < target``).
            if keep_going is not None and not keep_going:
                break
    return agent


def _optimize(
    net: ActorCritic,
    optimizer: Adam,
    config: PPOConfig,
    generator: torch.Generator,
    b_obs: torch.Tensor,
    b_actions: torch.Tensor,
    b_logp: torch.Tensor,
    b_adv: torch.Tensor,
    b_returns: torch.Tensor,
    b_values: torch.Tensor,
) -> None:
    """PPO's update of one network on its batch: ``update_epochs`` passes in ``num_minibatches``
    shuffled minibatches of the clipped surrogate, value and entropy losses."""
    batch = b_obs.shape[0]
    whole = slice(None)  # one minibatch: the full-batch gradient needs no shuffle
    for _epoch in range(config.update_epochs):
        if config.num_minibatches == 1:
            minibatches: Any = (whole,)
        else:
            order = torch.randperm(batch, generator=generator, device=b_obs.device)
            minibatches = order.tensor_split(config.num_minibatches)
        for mb in minibatches:
            new_logp, entropy, new_value = net._evaluate(b_obs[mb], b_actions[mb])
            log_ratio = new_logp - b_logp[mb]
            ratio = log_ratio.exp()
            mb_adv = b_adv[mb]
            if config.norm_adv and mb_adv.numel() > 1:
                mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
            pg_loss = torch.max(
                -mb_adv * ratio, -mb_adv * ratio.clamp(1 - config.clip_coef, 1 + config.clip_coef)
            ).mean()
            if config.clip_vloss:
                v_clipped = b_values[mb] + (new_value - b_values[mb]).clamp(-config.clip_coef, config.clip_coef)
                v_loss = 0.5 * torch.max((new_value - b_returns[mb]) ** 2, (v_clipped - b_returns[mb]) ** 2).mean()
            else:
                v_loss = 0.5 * ((new_value - b_returns[mb]) ** 2).mean()
            loss = pg_loss - config.ent_coef * entropy.mean() + config.vf_coef * v_loss
            optimizer.zero_grad()
            loss.backward()
            _clip_grad_norm(optimizer.params, config.max_grad_norm)
            optimizer.step()
        if config.target_kl is not None:
            with torch.no_grad():
                approx_kl = ((ratio - 1) - log_ratio).mean()
            if float(approx_kl) > config.target_kl:  # a host sync, only when asked for
                break


def _num_agents(envs: gym.vector.VectorEnv, config: PPOConfig, agent_index: Any) -> int:
    """The agents of an env whose rows are agents (row ``r`` is agent ``r % num_agents``), for
    independent learners; anything else is refused."""
    if agent_index is None:
        agent_index = getattr(envs.unwrapped, "agent_index", None)
    if agent_index is None:
        raise ValueError(
            "learners='independent' needs a multi-agent env with a row per agent (rewardgym.make_parallel_vec, "
            f"whose agent_index gives each row's agent); {envs.unwrapped!r} has no agent_index. Valid learners "
            "here: shared"
        )
    index = np.asarray(agent_index).reshape(-1)
    num_agents = int(index.max()) + 1 if index.size else 1
    rows = envs.num_envs
    if index.size != rows or rows % num_agents or not np.array_equal(index, np.arange(rows) % num_agents):
        shown = index.tolist()[:12] + (["..."] if index.size > 12 else [])
        raise ValueError(
            f"learners='independent' needs agent_index to give row r agent r % num_agents over all {rows} "
            f"rows, whole games (rewardgym.make_parallel_vec's layout), got {shown}"
        )
    per_agent = config.batch_size // num_agents
    if config.num_minibatches > per_agent:
        raise ValueError(
            f"PPOConfig.num_minibatches ({config.num_minibatches}) exceeds each independent learner's batch, "
            f"num_envs * num_steps / num_agents = {per_agent}"
        )
    return num_agents


def _clip_grad_norm(params: Sequence[torch.Tensor], max_norm: float) -> None:
    """``nn.utils.clip_grad_norm_`` without its per-call Python checks (run per minibatch)."""
    grads = [p.grad for p in params if p.grad is not None]
    norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    torch._foreach_mul_(grads, torch.clamp(max_norm / (norm + 1e-6), max=1.0))


def _fold_moments(
    x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor, count: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Running mean and variance updated with a batch (the parallel algorithm of RunningMeanStd)."""
    batch_mean, batch_var, batch_count = x.mean(), x.var(unbiased=False), x.numel()
    delta = batch_mean - mean
    total = count + batch_count
    new_mean = mean + delta * batch_count / total
    m2 = var * count + batch_var * batch_count + delta**2 * count * batch_count / total
    return new_mean, m2 / total, total


def _episodes(finished: list[tuple[Any, Any, Any, Any]]) -> dict[str, np.ndarray]:
    """The finished episodes' proxy, gold and length as numpy, in one host transfer per column."""
    if not finished:
        empty = np.zeros(0, dtype=np.float64)
        return {"proxy": empty, "gold": empty.copy(), "length": empty.copy()}
    columns = list(zip(*finished))
    if is_torch(columns[0][0]):
        mask, proxy, gold, length = (torch.stack(c).cpu().numpy() for c in columns)
    else:
        mask, proxy, gold, length = (np.stack(c) for c in columns)
    mask = mask.astype(bool)
    return {
        name: np.asarray(c, dtype=np.float64)[mask]
        for name, c in (("proxy", proxy), ("gold", gold), ("length", length))
    }
