"""Reward models: a torch network from features of a transition to a reward, and ensembles of them.

A :class:`RewardModel` is two plug-in parts:

- a *feature extractor*, any callable ``(obs, action, next_obs) -> features`` (a torch module, so
  it moves with the model); the default, :class:`TransitionFeatures`, flattens vector
  observations and one-hot encodes discrete actions;
- a *network*, any ``torch.nn.Module`` mapping a features tensor of ``N`` items to ``N`` rewards
  (shape ``(N,)`` or ``(N, 1)``); the default is an MLP.

So a reward model for another modality (a small transformer over token ids, say) is the same
class with another extractor and network, and trains, ensembles, saves and loads the same way.

A :class:`RewardEnsemble` holds ``k`` members with different seeds and aggregates their per-step
rewards as ``"mean"``, ``"wco"`` (worst case: the minimum over members) or ``"uwo"``
(uncertainty-weighted: ``mean - uwo_lambda * variance``), following Coste et al., "Reward Model
Ensembles Help Mitigate Overoptimization" (ICLR 2024).

:func:`save_reward_model` writes the weights as safetensors and a JSON model card next to them
(the env, its spaces, the labeler, the training settings and the held-out pair accuracy);
:func:`load_reward_model` reads both back and refuses a model made for other spaces.

Example:
    >>> import torch
    >>> from gymnasium import spaces
    >>> obs_space = spaces.Box(-1.0, 1.0, (4,))
    >>> model = RewardModel(obs_space, spaces.Discrete(2), hidden=(16,), seed=0)
    >>> model(torch.zeros(3, 4), torch.tensor([0, 1, 1]), torch.zeros(3, 4)).shape
    torch.Size([3])
    >>> # Any torch module plugs in as the network: it maps (N, features) to N rewards.
    >>> linear = RewardModel(obs_space, spaces.Discrete(2), network=torch.nn.Linear(10, 1))
    >>> linear.features.dim
    10
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from rewardgym.core import nets
from rewardgym.core.validation import check_integer, check_number

__all__ = [
    "AGGREGATIONS",
    "RewardEnsemble",
    "RewardModel",
    "TransitionFeatures",
    "aggregate",
    "check_spaces",
    "load_reward_model",
    "mlp",
    "read_model_card",
    "save_reward_model",
    "space_to_dict",
]

AGGREGATIONS = ("mean", "wco", "uwo")
"""How a :class:`RewardEnsemble` combines its members' rewards."""

INPUTS = ("obs", "action", "next_obs")
"""What the default features may be built from."""

CARD_FORMAT = "rewardgym.reward_model"
CARD_VERSION = 1


# ----------------------------------------------------------------------------------------------
# Spaces: described in JSON for the model card, and compared when a saved model is bound.


def _jsonable_bounds(values: np.ndarray) -> list[Any]:
    # JSON has no infinity: unbounded Box sides are written as the strings "inf" and "-inf".
    return [v if math.isfinite(v) else ("inf" if v > 0 else "-inf") for v in values.astype(float).ravel().tolist()]


def space_to_dict(space: gym.Space) -> dict[str, Any]:
    """A JSON-ready dict describing a space, enough to compare two envs' spaces (and, for Box and
    Discrete, to rebuild it): what a model card records.

    Example:
        >>> space_to_dict(spaces.Discrete(3))
        {'type': 'Discrete', 'n': 3, 'start': 0}
    """
    if isinstance(space, spaces.Box):
        return {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": str(space.dtype),
            "low": _jsonable_bounds(space.low),
            "high": _jsonable_bounds(space.high),
        }
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": space.nvec.tolist()}
    if isinstance(space, spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.asarray(space.n).tolist()}
    return {"type": type(space).__name__, "repr": str(space)}


def _space_text(description: dict[str, Any]) -> str:
    kind = description.get("type")
    if kind == "Box":
        return f"Box{tuple(description['shape'])} {description['dtype']}"
    if kind == "Discrete":
        return f"Discrete({description['n']})"
    if kind == "MultiDiscrete":
        return f"MultiDiscrete({description['nvec']})"
    return str(description.get("repr", description))


def _same_space(saved: dict[str, Any], current: dict[str, Any]) -> bool:
    if saved.get("type") != current.get("type"):
        return False
    if saved["type"] == "Box":
        if saved["shape"] != current["shape"]:
            return False
        lo_a, lo_b = np.asarray(saved["low"], float), np.asarray(current["low"], float)
        hi_a, hi_b = np.asarray(saved["high"], float), np.asarray(current["high"], float)
        return bool(np.allclose(lo_a, lo_b, equal_nan=True) and np.allclose(hi_a, hi_b, equal_nan=True))
    return saved == current


def check_spaces(
    card: dict[str, Any],
    observation_space: gym.Space,
    action_space: gym.Space,
    *,
    env_id: str | None = None,
    source: str = "the reward model",
) -> None:
    """Refuse, by name, a model whose card records other spaces than the env's.

    Raises:
        ValueError: naming the env the model was made for, its spaces, and the env's spaces.

    Example:
        >>> card = {"env_id": "rewardgym/CartPole-v0",
        ...         "observation_space": space_to_dict(spaces.Box(-1, 1, (4,))),
        ...         "action_space": space_to_dict(spaces.Discrete(2))}
        >>> check_spaces(card, spaces.Box(-1, 1, (2,)), spaces.Discrete(3), env_id="MountainCar")
        Traceback (most recent call last):
        ...
        ValueError: the reward model was made for rewardgym/CartPole-v0 (observation space Box(4,) float32, action space Discrete(2)), but MountainCar has observation space Box(2,) float32 and action space Discrete(3); a reward model only serves an env with the spaces it was trained on
    """
    saved_obs, saved_act = card.get("observation_space"), card.get("action_space")
    obs, act = space_to_dict(observation_space), space_to_dict(action_space)
    if saved_obs is None or saved_act is None:
        raise ValueError(f"{source} has a model card without observation_space/action_space")
    if _same_space(saved_obs, obs) and _same_space(saved_act, act):
        return
    raise ValueError(
        f"{source} was made for {card.get('env_id') or 'an unnamed env'} (observation space "
        f"{_space_text(saved_obs)}, action space {_space_text(saved_act)}), but "
        f"{env_id or 'this env'} has observation space {_space_text(obs)} and action space "
        f"{_space_text(act)}; a reward model only serves an env with the spaces it was trained on"
    )


# ----------------------------------------------------------------------------------------------
# Features and networks.


def _flat_dim(space: gym.Space, role: str) -> int:
    if isinstance(space, spaces.Box):
        return int(np.prod(space.shape))
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    raise TypeError(
        f"the default reward-model features handle Box and Discrete spaces, but the {role} space is "
        f"{space}; pass features=<a torch module (obs, action, next_obs) -> features> and a network"
    )


class TransitionFeatures(nn.Module):
    """The default features: flattened Box values and one-hot Discrete values, concatenated.

    Args:
        observation_space: one env's observation space (Box or Discrete).
        action_space: one env's action space (Box or Discrete).
        inputs: which of ``"obs"``, ``"action"``, ``"next_obs"`` to use, in that order; e.g.
            ``("next_obs",)`` for a state-only reward.

    Attributes:
        dim: the number of features per item.

    Example:
        >>> f = TransitionFeatures(spaces.Box(-1, 1, (2,)), spaces.Discrete(3))
        >>> f(torch.zeros(1, 2), torch.tensor([2]), torch.ones(1, 2)).tolist()
        [[0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]]
    """

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, inputs: Sequence[str] = INPUTS) -> None:
        super().__init__()
        inputs = tuple(inputs)
        unknown = [name for name in inputs if name not in INPUTS]
        if unknown or not inputs or len(set(inputs)) != len(inputs):
            raise ValueError(f"reward-model inputs must be distinct names among {', '.join(INPUTS)}, got {inputs!r}")
        self.inputs = tuple(name for name in INPUTS if name in inputs)
        self.observation_space = observation_space
        self.action_space = action_space
        spaces_by_input = {"obs": observation_space, "action": action_space, "next_obs": observation_space}
        self.dim = sum(_flat_dim(spaces_by_input[name], name) for name in self.inputs)

    @staticmethod
    def _encode(x: torch.Tensor, space: gym.Space) -> torch.Tensor:
        if isinstance(space, spaces.Discrete):
            return nn.functional.one_hot((x.reshape(-1) - int(space.start)).long(), int(space.n)).float()
        return x.reshape(x.shape[0], -1).float()

    def forward(self, obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        values = {"obs": obs, "action": action, "next_obs": next_obs}
        spaces_by_input = {
            "obs": self.observation_space,
            "action": self.action_space,
            "next_obs": self.observation_space,
        }
        parts = [self._encode(values[name], spaces_by_input[name]) for name in self.inputs]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


def mlp(in_features: int, hidden: Sequence[int] = (64, 64), activation: str = "relu") -> nn.Sequential:
    """An MLP from ``in_features`` to one output, with ``hidden`` layer widths: the default network.

    :func:`rewardgym.core.nets.mlp` builds it, so it is the same network as any other learned
    part's of the same sizes; this form only says a reward model's shape (one reward out).

    Example:
        >>> mlp(4, (8,))
        Sequential(
          (0): Linear(in_features=4, out_features=8, bias=True)
          (1): ReLU()
          (2): Linear(in_features=8, out_features=1, bias=True)
        )
    """
    # The activation is checked before the widths, as it always was; the widths' error names
    # the hidden layers, which nets.mlp (for any MLP) cannot.
    if activation not in nets.ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; valid activations: {', '.join(nets.ACTIVATIONS)}")
    widths = [int(w) for w in hidden]
    if any(w < 1 for w in widths):
        raise ValueError(f"hidden layer widths must be integers >= 1, got {tuple(hidden)!r}")
    return nets.mlp([in_features, *widths, 1], activation)


class RewardModel(nn.Module):
    """A learned reward ``r(obs, action, next_obs) = network(features(obs, action, next_obs))``.

    Plugging in your own parts: ``features`` is any callable (preferably an ``nn.Module``, so it
    moves with the model) taking ``(obs, action, next_obs)`` batches of ``N`` items and returning
    a tensor of ``N`` items; ``network`` is any ``nn.Module`` mapping that tensor to ``N`` rewards
    (``(N,)`` or ``(N, 1)``). Everything else (training, ensembles, the regimes, saving) only
    calls :meth:`forward` or :meth:`score`. Give a custom extractor a ``dim`` attribute to let the
    default MLP size its input.

    Args:
        observation_space: one env's observation space (recorded in the model card).
        action_space: one env's action space.
        hidden: the default MLP's hidden widths (ignored with ``network``).
        activation: the default MLP's activation: ``"relu"``, ``"tanh"`` or ``"gelu"``.
        inputs: what the default features use (see :class:`TransitionFeatures`).
        network: your own network instead of the MLP.
        features: your own feature extractor instead of :class:`TransitionFeatures`.
        seed: seeds the initial weights of the parts this class builds.

    Attributes:
        card: the model card, a JSON-ready dict that training and saving fill in.

    Example:
        >>> import torch
        >>> from gymnasium import spaces
        >>> m = RewardModel(spaces.Box(-1, 1, (3,)), spaces.Box(-2, 2, (1,)), hidden=(8,), seed=1)
        >>> n = RewardModel(spaces.Box(-1, 1, (3,)), spaces.Box(-2, 2, (1,)), hidden=(8,), seed=1)
        >>> x, a = torch.ones(2, 3), torch.zeros(2, 1)
        >>> bool(torch.equal(m(x, a, x), n(x, a, x)))   # same seed, same model
        True
    """

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        *,
        hidden: Sequence[int] = (64, 64),
        activation: str = "relu",
        inputs: Sequence[str] = INPUTS,
        network: nn.Module | None = None,
        features: Callable[..., torch.Tensor] | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.observation_space = observation_space
        self.action_space = action_space
        self.features = (
            features if features is not None else TransitionFeatures(observation_space, action_space, inputs)
        )
        built_network = network is None
        if network is None:
            dim = getattr(self.features, "dim", None)
            if not isinstance(dim, int):
                raise TypeError("a custom feature extractor without an integer .dim needs network=<your module>")
            network = nets.seeded(seed, lambda: mlp(dim, hidden, activation))
        elif not isinstance(network, nn.Module):
            raise TypeError(f"network must be a torch.nn.Module, got {type(network).__name__}")
        self.network = network
        self.card: dict[str, Any] = {
            "observation_space": space_to_dict(observation_space),
            "action_space": space_to_dict(action_space),
            "architecture": {
                "network": "mlp" if built_network else "custom",
                "hidden": [int(w) for w in hidden],
                "activation": activation,
                "inputs": list(getattr(self.features, "inputs", inputs)),
                "features": "transition" if features is None else "custom",
            },
            "seed": int(seed),
        }

    def score(self, features: torch.Tensor) -> torch.Tensor:
        """The network's reward of each item of a features tensor, shape ``(N,)``."""
        out = self.network(features)
        return out.reshape(out.shape[0]) if out.ndim == 2 and out.shape[1] == 1 else out

    def forward(self, obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        """The reward of each of ``N`` transitions, shape ``(N,)``."""
        return self.score(self.features(obs, action, next_obs))

    def member_rewards(self, obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        """The rewards as an ensemble of one, shape ``(1, N)``: the interface ensembles share."""
        return self(obs, action, next_obs)[None]

    @property
    def device(self) -> torch.device:
        """Where the model's parameters live."""
        return next(self.parameters()).device


def check_aggregation(aggregation: str, uwo_lambda: float, subject: str = "reward ensemble") -> tuple[str, float]:
    """Validate an aggregation name and the UWO weight, naming the valid choices."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(
            f"{subject}: unknown aggregation {aggregation!r}; valid aggregations: {', '.join(AGGREGATIONS)}"
        )
    return aggregation, check_number(uwo_lambda, f"{subject}: uwo_lambda", low=0.0)


def check_ensemble_size(size: Any, subject: str = "reward ensemble") -> int:
    """Validate an ensemble size (an integer >= 1)."""
    return check_integer(size, f"{subject}: ensemble size", low=1)


class RewardEnsemble(nn.Module):
    """``size`` reward models with different seeds, their per-step rewards aggregated.

    Aggregations (per transition, over the members' rewards ``r_1..r_k``):

    - ``"mean"``: ``mean_i r_i``;
    - ``"wco"``: worst-case optimization, ``min_i r_i`` (never above the mean);
    - ``"uwo"``: uncertainty-weighted optimization, ``mean_i r_i - uwo_lambda * var_i r_i``
      (population variance).

    Member ``i`` is built by ``member(seed_i)`` with ``seed_i`` derived from ``seed`` and ``i``,
    so an ensemble is a function of its seed. The default member is a :class:`RewardModel`
    with ``member_kwargs``; pass ``member`` to ensemble your own models.

    Args:
        observation_space: one env's observation space.
        action_space: one env's action space.
        size: the number of members, ``>= 1``.
        aggregation: ``"mean"``, ``"wco"`` or ``"uwo"``.
        uwo_lambda: the variance penalty of ``"uwo"``, ``>= 0``.
        seed: seeds every member.
        member: ``seed -> RewardModel``, to build members yourself.
        **member_kwargs: passed to :class:`RewardModel` (``hidden``, ``inputs``, ...).

    Example:
        >>> import torch
        >>> from gymnasium import spaces
        >>> ens = RewardEnsemble(spaces.Box(-1, 1, (2,)), spaces.Discrete(2), size=3,
        ...                      aggregation="wco", hidden=(8,), seed=0)
        >>> x, a = torch.randn(5, 2), torch.tensor([0, 1, 0, 1, 1])
        >>> k = ens.member_rewards(x, a, x)
        >>> k.shape, bool((ens(x, a, x) <= k.mean(0)).all())
        (torch.Size([3, 5]), True)
    """

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        *,
        size: int = 5,
        aggregation: str = "mean",
        uwo_lambda: float = 1.0,
        seed: int = 0,
        member: Callable[[int], RewardModel] | None = None,
        **member_kwargs: Any,
    ) -> None:
        super().__init__()
        size = check_ensemble_size(size)
        self.aggregation, self.uwo_lambda = check_aggregation(aggregation, uwo_lambda)
        self.observation_space = observation_space
        self.action_space = action_space
        seeds = [int(s) for s in np.random.SeedSequence(int(seed)).generate_state(size)]
        if member is None:
            members = [RewardModel(observation_space, action_space, seed=s, **member_kwargs) for s in seeds]
        else:
            members = [member(s) for s in seeds]
            if not all(isinstance(m, RewardModel) for m in members):
                raise TypeError("member(seed) must return a RewardModel")
        self.members = nn.ModuleList(members)
        self.card: dict[str, Any] = {
            **{k: v for k, v in members[0].card.items() if k != "seed"},
            "seed": int(seed),
            "ensemble": {"size": size, "aggregation": self.aggregation, "uwo_lambda": self.uwo_lambda},
        }

    def __len__(self) -> int:
        return len(self.members)

    def member_rewards(self, obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        """Every member's reward of each transition, shape ``(size, N)``."""
        # A loop over members (a handful), never over envs: each member sees the whole batch.
        return torch.stack([m(obs, action, next_obs) for m in self.members])

    def aggregate(self, member_rewards: torch.Tensor) -> torch.Tensor:
        """Combine ``(size, ...)`` member rewards into one reward per item, by :attr:`aggregation`."""
        return aggregate(member_rewards, self.aggregation, self.uwo_lambda)

    def forward(self, obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        """The aggregated reward of each of ``N`` transitions, shape ``(N,)``."""
        return self.aggregate(self.member_rewards(obs, action, next_obs))

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device


def aggregate(member_rewards: torch.Tensor, aggregation: str, uwo_lambda: float = 1.0) -> torch.Tensor:
    """Combine member rewards ``(k, ...)`` over the first axis: ``"mean"``, ``"wco"`` or ``"uwo"``.

    Example:
        >>> r = torch.tensor([[1.0, 0.0], [3.0, 0.0]])
        >>> aggregate(r, "mean").tolist(), aggregate(r, "wco").tolist(), aggregate(r, "uwo", 0.5).tolist()
        ([2.0, 0.0], [1.0, 0.0], [1.5, 0.0])
    """
    if aggregation == "mean":
        return member_rewards.mean(0)
    if aggregation == "wco":
        return member_rewards.min(0).values
    if aggregation == "uwo":
        return member_rewards.mean(0) - uwo_lambda * member_rewards.var(0, unbiased=False)
    raise ValueError(f"unknown aggregation {aggregation!r}; valid aggregations: {', '.join(AGGREGATIONS)}")


# ----------------------------------------------------------------------------------------------
# Saving and loading: safetensors weights plus a JSON model card.


def _paths(path: str | Path) -> tuple[Path, Path]:
    path = Path(path)
    if path.suffix in (".safetensors", ".json"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".safetensors"), path.with_name(path.name + ".json")


def save_reward_model(
    model: RewardModel | RewardEnsemble, path: str | Path, *, env_id: str | None = None, **card: Any
) -> Path:
    """Write ``model`` as ``<path>.safetensors`` and its card as ``<path>.json``; return the former.

    The card holds everything in ``model.card`` (spaces, architecture, and what training put
    there: the labeler's settings, the training settings and the held-out pair accuracy), plus
    ``env_id`` and any extra ``card`` entries given here.

    Example:
        >>> import tempfile, os
        >>> from gymnasium import spaces
        >>> m = RewardModel(spaces.Box(-1, 1, (2,)), spaces.Discrete(2), hidden=(4,))
        >>> path = save_reward_model(m, os.path.join(tempfile.mkdtemp(), "rm"), env_id="demo")
        >>> path.name, path.with_suffix(".json").exists()
        ('rm.safetensors', True)
    """
    weights_path, card_path = _paths(path)
    full_card = dict(model.card)
    full_card.update(card)
    if env_id is not None:
        full_card["env_id"] = env_id
    full_card.setdefault("env_id", None)
    full_card.update(
        format=CARD_FORMAT,
        version=CARD_VERSION,
        model_class=type(model).__name__,
        weights=weights_path.name,
    )
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(weights_path), metadata={"format": CARD_FORMAT})
    card_path.write_text(json.dumps(full_card, indent=2, sort_keys=True) + "\n")
    model.card = full_card
    return weights_path


def read_model_card(path: str | Path) -> dict[str, Any]:
    """The JSON model card saved next to a reward model's weights, its fields checked.

    Raises:
        FileNotFoundError: no card at ``path``.
        ValueError: a card that is not JSON, not a rewardgym card, or has a field that loading
            cannot use; the message names the file and the field.

    Example:
        >>> import tempfile, pathlib
        >>> card = pathlib.Path(tempfile.mkdtemp()) / "rm.json"
        >>> _ = card.write_text('{"format": "rewardgym.reward_model"')
        >>> read_model_card(card)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: reward model card .../rm.json is not valid JSON (...); restore it ...
    """
    weights_path, card_path = _paths(path)
    if not card_path.exists():
        raise FileNotFoundError(
            f"no reward model card at {card_path} (a saved reward model is {weights_path.name} "
            f"plus {card_path.name}, written by save_reward_model)"
        )
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"reward model card {card_path} is not valid JSON ({error}); {_REPAIR}") from None
    if not isinstance(card, dict):
        raise ValueError(f"reward model card {card_path} holds {_short(card)}, not a JSON object; {_REPAIR}")
    if card.get("format") != CARD_FORMAT:
        raise ValueError(f"{card_path} is not a rewardgym reward model card (format {card.get('format')!r})")
    _check_card(card, card_path)
    return card


_REPAIR = (
    "restore it from where it was saved, or save the model again with save_reward_model "
    "(a saved reward model is <name>.safetensors plus the card <name>.json)"
)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_card(card: dict[str, Any], card_path: Path) -> None:
    """Refuse a card whose fields cannot serve loading, naming the first bad field.

    Checked: the spaces (a ``type``; a Box's shape, dtype and bounds; a Discrete's ``n``), the
    architecture (a mapping; the default MLP's widths, activation and inputs) and, for an
    ensemble, its size, aggregation and UWO weight. Other fields are the card's own business.
    """

    def bad(field: str, expected: str, value: Any) -> ValueError:
        return ValueError(
            f"reward model card {card_path}: field {field!r} should be {expected}, got {_short(value)}; {_REPAIR}"
        )

    def integer(value: Any, low: int) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= low

    def number(value: Any) -> bool:
        if value in ("inf", "-inf"):
            return True
        return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)

    for name in ("observation_space", "action_space"):
        space = card.get(name)
        if not isinstance(space, dict) or not isinstance(space.get("type"), str):
            raise bad(name, "a space description with a 'type' (as space_to_dict writes it)", space)
        if space["type"] == "Box":
            shape = space.get("shape")
            if not isinstance(shape, list) or not all(integer(d, 0) for d in shape):
                raise bad(f"{name}.shape", "a list of sizes", shape)
            try:
                np.dtype(space.get("dtype"))
            except TypeError:
                raise bad(f"{name}.dtype", "a numpy dtype name", space.get("dtype")) from None
            for side in ("low", "high"):
                values = space.get(side)
                if not isinstance(values, list) or len(values) != math.prod(shape) or not all(map(number, values)):
                    raise bad(f"{name}.{side}", f"a list of {math.prod(shape)} numbers ('inf'/'-inf' allowed)", values)
        elif space["type"] == "Discrete":
            if not integer(space.get("n"), 1) or not integer(space.get("start", 0), -(2**63)):
                raise bad(name, "a Discrete space with an integer n >= 1 and an integer start", space)
    arch = card.get("architecture", {})
    if not isinstance(arch, dict):
        raise bad("architecture", "a mapping", arch)
    if arch.get("network") == "mlp" and arch.get("features") == "transition":
        hidden = arch.get("hidden")
        if not isinstance(hidden, list) or not all(integer(w, 1) for w in hidden):
            raise bad("architecture.hidden", "a list of layer widths >= 1", hidden)
        if arch.get("activation") not in nets.ACTIVATIONS:
            raise bad("architecture.activation", f"one of {', '.join(nets.ACTIVATIONS)}", arch.get("activation"))
        inputs = arch.get("inputs")
        if not isinstance(inputs, list) or not inputs or not all(i in INPUTS for i in inputs):
            raise bad("architecture.inputs", f"a list of names among {', '.join(INPUTS)}", inputs)
    if card.get("model_class") == "RewardEnsemble":
        ens = card.get("ensemble")
        if not isinstance(ens, dict):
            raise bad("ensemble", "a mapping of size, aggregation and uwo_lambda (the card of a RewardEnsemble)", ens)
        if not integer(ens.get("size"), 1):
            raise bad("ensemble.size", "an integer >= 1", ens.get("size"))
        if ens.get("aggregation") not in AGGREGATIONS:
            raise bad("ensemble.aggregation", f"one of {', '.join(AGGREGATIONS)}", ens.get("aggregation"))
        uwo: Any = ens.get("uwo_lambda")
        if not number(uwo) or isinstance(uwo, str) or not 0 <= uwo < math.inf:
            raise bad("ensemble.uwo_lambda", "a finite number >= 0", uwo)


def _space_from_dict(description: dict[str, Any]) -> gym.Space:
    kind = description["type"]
    if kind == "Box":
        dtype = np.dtype(description["dtype"])
        low = np.asarray([float(v) for v in description["low"]], dtype).reshape(description["shape"])
        high = np.asarray([float(v) for v in description["high"]], dtype).reshape(description["shape"])
        return spaces.Box(low, high, dtype=dtype)
    if kind == "Discrete":
        return spaces.Discrete(description["n"], start=description.get("start", 0))
    raise ValueError(
        f"a saved reward model with a {kind} space cannot be rebuilt from its card; load it into "
        "your own model with load_reward_model(path, into=model)"
    )


def load_reward_model(
    path: str | Path,
    *,
    into: RewardModel | RewardEnsemble | None = None,
    observation_space: gym.Space | None = None,
    action_space: gym.Space | None = None,
    env_id: str | None = None,
    device: str | torch.device = "cpu",
) -> RewardModel | RewardEnsemble:
    """Read a model saved by :func:`save_reward_model`, frozen (eval mode, no gradients).

    A default-MLP model is rebuilt from its card. A model with a custom network or features is
    loaded ``into`` a freshly built model of the same architecture. Given the spaces of the env
    it will serve, the card is checked against them first (see :func:`check_spaces`).

    Raises:
        ValueError: the card's spaces are not the env's, the weights do not fit the model, or the
            card or the weights are damaged (the message names the file and its bad field).
        FileNotFoundError: no card or weights at ``path``.

    Example:
        >>> import tempfile, os
        >>> path = save_reward_model(RewardModel(spaces.Discrete(3), spaces.Discrete(2)), os.path.join(tempfile.mkdtemp(), "rm"))
        >>> _ = path.write_bytes(b"oops")
        >>> load_reward_model(path)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: reward model weights .../rm.safetensors cannot be read as safetensors (...); the file is damaged ...
    """
    weights_path, _ = _paths(path)
    card = read_model_card(path)
    if observation_space is not None and action_space is not None:
        check_spaces(card, observation_space, action_space, env_id=env_id, source=f"reward model {str(weights_path)!r}")
    if not weights_path.exists():
        raise FileNotFoundError(f"reward model card found but no weights at {weights_path}")
    model = into if into is not None else _rebuild(card, weights_path)
    try:
        weights = load_file(str(weights_path))
    except (SafetensorError, OSError) as error:
        raise ValueError(
            f"reward model weights {weights_path} cannot be read as safetensors ({error}); the file is "
            f"damaged or not a saved reward model: {_REPAIR}"
        ) from None
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        raise ValueError(f"the weights in {weights_path} do not fit the model they are loaded into: {error}") from None
    model.card = card
    model.eval().requires_grad_(False)
    return model.to(device)


def _rebuild(card: dict[str, Any], weights_path: Path) -> RewardModel | RewardEnsemble:
    arch = card.get("architecture", {})
    if arch.get("network") != "mlp" or arch.get("features") != "transition":
        raise ValueError(
            f"{weights_path} holds a reward model with a custom network or features, which its card "
            "cannot rebuild; build one of the same architecture and pass it: "
            "load_reward_model(path, into=model)"
        )
    obs_space, act_space = _space_from_dict(card["observation_space"]), _space_from_dict(card["action_space"])
    kwargs = {"hidden": arch["hidden"], "activation": arch["activation"], "inputs": arch["inputs"]}
    if card.get("model_class") == "RewardEnsemble":
        ens = card["ensemble"]
        return RewardEnsemble(
            obs_space,
            act_space,
            size=ens["size"],
            aggregation=ens["aggregation"],
            uwo_lambda=ens["uwo_lambda"],
            **kwargs,
        )
    return RewardModel(obs_space, act_space, **kwargs)
