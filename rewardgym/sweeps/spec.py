"""Sweep specs: the grid of envs x reward specs x agents x seeds that a sweep runs, read from YAML.

A spec is a YAML mapping. Every field is checked when the spec is loaded, and a bad one raises a
:class:`SweepSpecError` that names the field, the value and what is valid, so a typo fails at once
rather than an hour into a sweep::

    name: quick                     # the run folder's name (default: the file's stem)
    envs: [rewardgym/CartPole-v0, rewardgym/MountainCar-v0]
    rewards: [none, shaped, "noisy(sigma=0.5)"]   # reward specs; "none" = the env's own reward
    agents:                         # name -> algo, its hyperparameters and device
      ppo: {algo: ppo, hyperparams: {num_envs: 8}, device: cpu}
    seeds: [0, 1, 2]
    reward_modes: [private, cooperative]  # optional: for multi-agent games, how payoffs are paid
    steps: 50000                    # environment steps per trial
    eval_every: 10000               # evaluate every this many steps (null: only at the end)
    eval_episodes: 10               # episodes per evaluation, on fixed eval seeds
    overrides:                      # optional, per env: steps, eval_every, eval_episodes,
      rewardgym/MountainCar-v0:     # hyperparams merged over each named agent's, and
        steps: 100000               # env_kwargs for the env's make_vec (e.g. a text task's
        hyperparams: {ppo: {ent_coef: 0.01}}        # difficulty or max_new_tokens)

Checked at load, beyond each field's own form: every agent's hyperparameters on every env, by the
trainer's own parser (the native PPO's ``PPOConfig``; SB3's constructor arguments); every env,
made once with its ``env_kwargs``; every reward spec, put on every env (so a
``learned(path=...)`` model must exist and fit the env's spaces); seeds within
:data:`SEED_RANGE`. The YAML itself may not repeat a key in a mapping, and its aliases may not
expand beyond :data:`MAX_YAML_VALUES` values.

The spec expands to one :class:`Trial` per (env, reward, agent, seed), in that nesting order.
Each trial has a stable id, a hash of everything that determines its result, so a rerun of the
same spec finds the trials it already finished.

**Multi-agent games** (``rewardgym/PublicGoods-v0``, ...; :data:`rewardgym.MULTIAGENT_IDS`) are
envs like any other here, and ``reward_modes`` is one more dimension for them: how each agent is
paid from the round's payoffs (``private``, ``integrated``, ``cooperative``; see
:data:`rewardgym.envs.multiagent.REWARD_MODES`). Each multi-agent env expands into one set of
trials per mode, between env and reward, with the mode passed as ``env_kwargs={"reward_mode":
mode}``; single-agent envs in the same spec run once. Without ``reward_modes`` a game runs with
its own default (``private``), or with the ``reward_mode`` of its ``overrides.<env>.env_kwargs``.
A spec that lists ``reward_modes`` without a multi-agent env, or an unknown mode, is refused.
A spec without the field expands to exactly the trials (and ids) it did before the field existed.

Example:
    >>> spec = SweepSpec.from_dict({
    ...     "name": "tiny", "envs": ["rewardgym/CartPole-v0"], "rewards": ["none", "shaped"],
    ...     "agents": {"rand": {"algo": "random"}}, "seeds": [0, 1], "steps": 1000})
    >>> [(t.reward, t.seed) for t in spec.trials()]
    [('none', 0), ('none', 1), ('shaped', 0), ('shaped', 1)]
    >>> SweepSpec.from_dict({**spec.to_dict(), "seeds": "abc"})
    Traceback (most recent call last):
    ...
    rewardgym.sweeps.spec.SweepSpecError: sweep spec field 'seeds': expected a list of ints, got 'abc'
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import importlib.util
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import gymnasium as gym
import yaml

import rewardgym  # noqa: F401  (registers the envs and regimes that specs name)
from rewardgym.core.spec import NO_REGIME, resolve_reward_spec
from rewardgym.envs.multiagent import MULTIAGENT_IDS, REWARD_MODES, game_of, is_multiagent, make_parallel_vec

__all__ = ["PRESETS", "AgentSpec", "SweepSpec", "SweepSpecError", "Trial", "load_spec"]

FIELDS = (
    "name", "envs", "rewards", "agents", "seeds", "steps", "eval_every", "eval_episodes", "overrides", "reward_modes",
)  # fmt: skip
AGENT_FIELDS = ("algo", "hyperparams", "device")
OVERRIDE_FIELDS = ("steps", "eval_every", "eval_episodes", "hyperparams", "env_kwargs")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # safe as a folder name and a table label
SEED_RANGE = (0, 2**32 - 1)
"""Seeds a trial may have: numpy's and torch's seeding take them, and the store's INTEGER holds them."""
MAX_INT = 2**63 - 1  # SQLite's INTEGER: steps and counts are stored as one
MAX_YAML_VALUES = 100_000
"""A spec's YAML may hold at most this many values once its aliases are expanded (a sweep spec
holds hundreds): a few hundred bytes of nested aliases ("billion laughs") would expand to billions."""


def _preset_dir() -> Path:
    return Path(str(resources.files("rewardgym.sweeps") / "presets"))


PRESETS: tuple[str, ...] = tuple(
    sorted((p.stem for p in _preset_dir().glob("*.yaml")), key=lambda n: (n != "quick", n))
)
"""The shipped presets, by name: ``rewardgym sweep quick`` loads ``presets/quick.yaml``. The main
job, ``quick``, comes first (in help texts and errors), then the others by name."""


class SweepSpecError(ValueError):
    """A sweep spec that is corrupt or inconsistent; the message names the field."""


def _fail(where: str, message: str) -> SweepSpecError:
    return SweepSpecError(f"sweep spec field {where!r}: {message}")


@dataclass(frozen=True)
class AgentSpec:
    """One agent of a sweep: a training algorithm, its hyperparameters and the device it trains on."""

    name: str
    algo: str
    hyperparams: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"


@dataclass(frozen=True)
class Trial:
    """One training run of a sweep: everything :func:`rewardgym.agents.train.train` needs.

    Example:
        >>> t = Trial("rewardgym/CartPole-v0", "none", "ppo", "ppo", 0, 1000)
        >>> t.trial_id == Trial("rewardgym/CartPole-v0", "none", "ppo", "ppo", 0, 1000).trial_id
        True
        >>> t.trial_id == Trial("rewardgym/CartPole-v0", "none", "ppo", "ppo", 1, 1000).trial_id
        False
    """

    env: str
    reward: str
    agent: str
    algo: str
    seed: int
    total_steps: int
    hyperparams: dict[str, Any] = field(default_factory=dict, hash=False)
    device: str = "cpu"
    eval_every: int | None = None
    eval_episodes: int = 10
    env_kwargs: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def trial_id(self) -> str:
        """A hash of every field that determines the trial's result: stable across runs and machines."""
        identity = json.dumps(["trial-v1", self.to_dict()], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(identity.encode()).hexdigest()[:16]

    @property
    def reward_mode(self) -> str | None:
        """The reward mode a multi-agent game is played under (``env_kwargs["reward_mode"]``), else None."""
        mode = self.env_kwargs.get("reward_mode")
        return None if mode is None else str(mode)

    @property
    def label(self) -> str:
        """A short human-readable name, for progress lines and error messages.

        Example:
            >>> Trial("rewardgym/PublicGoods-v0", "none", "ppo", "ppo", 0, 100,
            ...       env_kwargs={"reward_mode": "private"}).label
            'rewardgym/PublicGoods-v0 (private) | none | ppo | seed 0'
        """
        env = self.env if self.reward_mode is None else f"{self.env} ({self.reward_mode})"
        return f"{env} | {self.reward} | {self.agent} | seed {self.seed}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "reward": self.reward,
            "agent": self.agent,
            "algo": self.algo,
            "seed": self.seed,
            "total_steps": self.total_steps,
            "hyperparams": copy.deepcopy(self.hyperparams),
            "device": self.device,
            "eval_every": self.eval_every,
            "eval_episodes": self.eval_episodes,
            # Only when set: trials without env kwargs keep the ids they had before the field.
            **({"env_kwargs": copy.deepcopy(self.env_kwargs)} if self.env_kwargs else {}),
        }

    def train_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of :func:`rewardgym.agents.train.train` for this trial."""
        return {
            "env_id": self.env,
            "reward": self.reward,
            "algo": self.algo,
            "seed": self.seed,
            "total_steps": self.total_steps,
            "hyperparams": copy.deepcopy(self.hyperparams),
            "eval_every": self.eval_every,
            "eval_episodes": self.eval_episodes,
            "device": self.device,
            "env_kwargs": copy.deepcopy(self.env_kwargs),
        }


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: build it with :meth:`from_dict`, :meth:`from_yaml` or :func:`load_spec`."""

    name: str
    envs: tuple[str, ...]
    rewards: tuple[str, ...]
    agents: tuple[AgentSpec, ...]
    seeds: tuple[int, ...]
    steps: int
    eval_every: int | None = None
    eval_episodes: int = 10
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict, hash=False)
    reward_modes: tuple[str, ...] = ()
    """The reward modes each multi-agent env is swept over; empty: each game's own (one set of trials)."""

    @classmethod
    def from_dict(cls, data: Any, *, default_name: str | None = None) -> SweepSpec:
        """Validate a spec mapping (as read from YAML), naming the first bad field."""
        if not isinstance(data, Mapping):
            raise SweepSpecError(f"a sweep spec must be a mapping of fields, got {_show(data)}")
        for key in data:
            if key not in FIELDS:
                raise SweepSpecError(
                    f"sweep spec has unknown field {key!r}{_suggest(str(key), FIELDS)}; "
                    f"valid fields: {', '.join(FIELDS)}"
                )
        for key in ("envs", "rewards", "agents", "seeds", "steps"):
            if key not in data:
                raise _fail(key, "is required")
        name = data.get("name", default_name)
        if not isinstance(name, str) or not _NAME.match(name):
            raise _fail("name", f"expected a name of letters, digits, '_', '-' or '.', got {_show(name)}")
        envs = tuple(_env(f"envs[{i}]", e) for i, e in enumerate(_list("envs", data["envs"], str, "strings")))
        rewards = tuple(
            _reward(f"rewards[{i}]", r) for i, r in enumerate(_list("rewards", data["rewards"], str, "strings"))
        )
        agents = _agents(data["agents"])
        seeds = _list("seeds", data["seeds"], int, "ints")
        for i, seed in enumerate(seeds):
            if not SEED_RANGE[0] <= seed <= SEED_RANGE[1]:
                raise _fail(
                    f"seeds[{i}]", f"expected a seed in [{SEED_RANGE[0]}, {SEED_RANGE[1]}] (2**32 - 1), got {seed}"
                )
        steps = _positive_int("steps", data["steps"])
        eval_every = _eval_every("eval_every", data.get("eval_every"), steps)
        eval_episodes = _positive_int("eval_episodes", data.get("eval_episodes", 10))
        overrides = _overrides(data.get("overrides"), envs, agents, steps, eval_every)
        reward_modes = _reward_modes(data.get("reward_modes"), envs, overrides)
        for what, values in (("envs", envs), ("rewards", rewards), ("seeds", seeds), ("reward_modes", reward_modes)):
            seen: set[Any] = set()
            for i, value in enumerate(values):
                if value in seen:
                    raise _fail(f"{what}[{i}]", f"{value!r} is listed twice")
                seen.add(value)
        spec = cls(
            name, envs, rewards, agents, tuple(seeds), steps, eval_every, eval_episodes, overrides, tuple(reward_modes)
        )
        _check_runnable(spec)
        return spec

    @classmethod
    def from_yaml(cls, text: str, *, default_name: str | None = None, source: str = "<string>") -> SweepSpec:
        """Parse and validate a YAML spec; ``source`` names it in a YAML error.

        Safe YAML only, each mapping key once, and aliases that expand to at most
        :data:`MAX_YAML_VALUES` values.

        Example:
            >>> SweepSpec.from_yaml("seeds: [0]\\nseeds: [1]")
            Traceback (most recent call last):
            ...
            rewardgym.sweeps.spec.SweepSpecError: sweep spec <string>: key 'seeds' appears twice in one mapping (line 1 and line 2); keep one
        """
        loader = _SpecLoader(text, source)
        try:
            data = loader.get_single_data()
        except yaml.YAMLError as exc:
            raise SweepSpecError(f"sweep spec {source} is not valid YAML: {_yaml_problem(exc)}") from None
        except RecursionError:
            raise SweepSpecError(f"sweep spec {source}: its YAML is nested too deeply") from None
        finally:
            loader.dispose()
        return cls.from_dict(data, default_name=default_name)

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data; ``SweepSpec.from_dict(spec.to_dict()) == spec``."""
        data: dict[str, Any] = {
            "name": self.name,
            "envs": list(self.envs),
            "rewards": list(self.rewards),
            "agents": {
                a.name: {"algo": a.algo, "hyperparams": copy.deepcopy(a.hyperparams), "device": a.device}
                for a in self.agents
            },
            "seeds": list(self.seeds),
            "steps": self.steps,
            "eval_every": self.eval_every,
            "eval_episodes": self.eval_episodes,
        }
        if self.overrides:
            data["overrides"] = copy.deepcopy(self.overrides)
        if self.reward_modes:  # only when set: older specs keep their exact YAML
            data["reward_modes"] = list(self.reward_modes)
        return data

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def env_kwargs_sets(self, env: str) -> list[dict[str, Any]]:
        """The ``env_kwargs`` of each set of trials that ``env`` expands into: one per reward mode
        for a multi-agent game when the spec sets ``reward_modes``, else just its override's.

        Example:
            >>> spec = SweepSpec.from_dict({"envs": ["rewardgym/PublicGoods-v0"], "rewards": ["none"],
            ...     "agents": {"ppo": {"algo": "ppo"}}, "seeds": [0], "steps": 100, "name": "pg",
            ...     "reward_modes": ["private", "cooperative"]})
            >>> spec.env_kwargs_sets("rewardgym/PublicGoods-v0")
            [{'reward_mode': 'private'}, {'reward_mode': 'cooperative'}]
        """
        own = self.overrides.get(env, {}).get("env_kwargs", {})
        if not self.reward_modes or not is_multiagent(env):
            return [copy.deepcopy(own)]
        return [{**copy.deepcopy(own), "reward_mode": mode} for mode in self.reward_modes]

    def trials(self) -> list[Trial]:
        """Every trial of the grid, env-major, then reward mode (multi-agent games), reward, agent
        and seed; per-env overrides applied."""
        trials = []
        for env in self.envs:
            override = self.overrides.get(env, {})
            steps = override.get("steps", self.steps)
            eval_every = override.get("eval_every", self.eval_every)
            eval_episodes = override.get("eval_episodes", self.eval_episodes)
            for env_kwargs in self.env_kwargs_sets(env):
                for reward in self.rewards:
                    for agent in self.agents:
                        hyperparams = {**agent.hyperparams, **override.get("hyperparams", {}).get(agent.name, {})}
                        for seed in self.seeds:
                            trials.append(
                                Trial(
                                    env=env,
                                    reward=reward,
                                    agent=agent.name,
                                    algo=agent.algo,
                                    seed=seed,
                                    total_steps=steps,
                                    hyperparams=copy.deepcopy(hyperparams),
                                    device=agent.device,
                                    eval_every=eval_every,
                                    eval_episodes=eval_episodes,
                                    env_kwargs=copy.deepcopy(env_kwargs),
                                )
                            )
        return trials


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's error on one line, with where it is: a CLI prints a user error as one line."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        context = f"{exc.context}, " if exc.context else ""
        return f"{context}{exc.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(exc).split())


class _SpecLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a repeated mapping key and aliases that expand without bound.

    PyYAML keeps the last of two equal keys silently, and builds an alias as a shared reference:
    the expansion comes later, when the spec is hashed, copied or stored. Both are checked on the
    node graph, before any Python value is built.
    """

    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self.source = source

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        self._check_expansion(node)
        return self.construct_document(node)

    def _check_expansion(self, root: yaml.Node) -> None:
        """Count the values the document holds with every alias expanded, naming where it explodes.

        Each node is counted once (memoized), so the count itself costs the size of the text.
        """
        sizes: dict[int, int] = {}
        open_nodes: set[int] = set()

        def size(node: yaml.Node, where: str) -> int:
            key = id(node)
            if key in sizes:
                return sizes[key]
            if key in open_nodes:
                raise self._error(node, where, "an alias refers to a value that contains it (a recursive alias)")
            open_nodes.add(key)
            if isinstance(node, yaml.SequenceNode):
                total = 1 + sum(size(child, f"{where}[{i}]") for i, child in enumerate(node.value))
            elif isinstance(node, yaml.MappingNode):
                total = 1
                for k, v in node.value:
                    name = str(k.value) if isinstance(k, yaml.ScalarNode) else "?"
                    total += size(k, where) + size(v, f"{where}.{name}" if where else name)
            else:
                total = 1
            open_nodes.discard(key)
            sizes[key] = total
            if total > MAX_YAML_VALUES:
                message = f"holds more than {MAX_YAML_VALUES:,} values once its aliases are expanded"
                raise self._error(node, where, message)
            return total

        size(root, "")

    def _error(self, node: yaml.Node, where: str, message: str) -> SweepSpecError:
        field = f"field {where!r} " if where else ""
        line = node.start_mark.line + 1
        return SweepSpecError(f"sweep spec {self.source}: {field}(line {line}) {message}")

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # "<<: *defaults" may be overridden key by key: that is its purpose
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the constructor below says so
                continue
            if first is not None:
                raise SweepSpecError(
                    f"sweep spec {self.source}: key {key!r} appears twice in one mapping "
                    f"(line {first} and line {line}); keep one"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_spec(preset_or_file: str | Path) -> SweepSpec:
    """A shipped preset by name (``"quick"``, ``"multiagent"``, ``"standard"``) or a YAML spec file by path.

    Example:
        >>> load_spec("quik")
        Traceback (most recent call last):
        ...
        rewardgym.sweeps.spec.SweepSpecError: no sweep preset or spec file 'quik'; presets: quick, multiagent, standard (or the path of a YAML spec file)
    """
    path = Path(preset_or_file)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SweepSpecError(f"sweep spec {path} cannot be read as a UTF-8 text file: {exc}") from None
        return SweepSpec.from_yaml(text, default_name=path.stem, source=str(path))
    if str(preset_or_file) in PRESETS:
        path = _preset_dir() / f"{preset_or_file}.yaml"
        return SweepSpec.from_yaml(path.read_text(), default_name=path.stem, source=str(path))
    raise SweepSpecError(
        f"no sweep preset or spec file {str(preset_or_file)!r}; presets: {', '.join(PRESETS)} "
        "(or the path of a YAML spec file)"
    )


# ----------------------------------------------------------------------------------------------
# Field checks. Each one names the field (with its index or key) and says what it expected.


def _show(value: Any) -> str:
    return repr(value) if not isinstance(value, (dict, list)) else f"{type(value).__name__} {value!r}"


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_int(value: Any) -> Any:
    # YAML reads 1.0e+5 as a float; an integral float is the int the user meant.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _list(where: str, value: Any, kind: type, kind_name: str) -> list[Any]:
    if kind is int and isinstance(value, list):
        value = [_as_int(v) for v in value]
    check = _is_int if kind is int else (lambda v: isinstance(v, kind))
    if not isinstance(value, list) or not value or not all(check(v) for v in value):
        raise _fail(where, f"expected a list of {kind_name}, got {_show(value)}")
    return value


def _positive_int(where: str, value: Any) -> int:
    value = _as_int(value)
    if not _is_int(value) or value < 1:
        raise _fail(where, f"expected an int >= 1, got {_show(value)}")
    if value > MAX_INT:
        raise _fail(where, f"expected an int <= {MAX_INT} (2**63 - 1, what the results store holds), got {value}")
    return value


def _eval_every(where: str, value: Any, steps: int) -> int | None:
    if value is None:
        return None
    value = _positive_int(where, value)
    if value > steps:
        raise _fail(where, f"{value} exceeds steps ({steps}); no evaluation would run before the end")
    return value


def _env(where: str, env_id: str) -> str:
    # Multi-agent games keep a registry of their own (gym.make cannot make one), by their full ids.
    if env_id not in gym.registry and env_id not in MULTIAGENT_IDS:
        ours = sorted([k for k in gym.registry if k.startswith("rewardgym/")] + list(MULTIAGENT_IDS))
        valid = f"{_suggest(env_id, ours)}; rewardgym envs: {', '.join(ours)}"
        raise _fail(where, f"unknown env {env_id!r}{valid}")
    return env_id


def _reward(where: str, spec: str) -> str:
    spec = spec.strip()
    if spec != NO_REGIME:
        try:
            resolve_reward_spec(spec)
        except (ValueError, TypeError) as exc:
            raise _fail(where, f"{exc} ('{NO_REGIME}' means the env's own reward)") from None
    return spec


def _known_algos() -> tuple[str, ...] | None:
    # The trainer is a sibling package; read its algorithm list when it is installed.
    if importlib.util.find_spec("rewardgym.agents.train") is None:
        return None
    from rewardgym.agents.train import ALGOS, MULTIAGENT_ALGOS

    # Multi-agent games' scripted policies too; which env each algorithm plays is checked later.
    return (*ALGOS, *MULTIAGENT_ALGOS)


def _mapping(where: str, value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _fail(where, f"expected a mapping of {what}, got {_show(value)}")
    return value


def _known_fields(where: str, settings: Mapping[str, Any], valid: tuple[str, ...], what: str) -> None:
    for key in settings:
        if key not in valid:
            message = f"unknown {what} field{_suggest(key, valid)}; valid: {', '.join(valid)}"
            raise _fail(f"{where}.{key}", message)


def _hyperparams(where: str, value: Any) -> dict[str, Any]:
    value = dict(_mapping(where, value, "name -> value"))
    # Hyperparameters are hashed into the trial id and stored as JSON: they must be plain data.
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _fail(where, f"expected plain YAML data (numbers, strings, lists, mappings): {exc}") from None
    return value


def _agents(value: Any) -> tuple[AgentSpec, ...]:
    if not isinstance(value, Mapping) or not value:
        what = f"agent name -> {{{', '.join(AGENT_FIELDS)}}}"
        raise _fail("agents", f"expected a mapping of {what}, got {_show(value)}")
    algos = _known_algos()
    agents = []
    for name, settings in value.items():
        where = f"agents.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise _fail(where, "expected an agent name of letters, digits, '_', '-' or '.'")
        settings = _mapping(where, settings, f"fields ({', '.join(AGENT_FIELDS)})")
        _known_fields(where, settings, AGENT_FIELDS, "agent")
        algo = settings.get("algo")
        if not isinstance(algo, str) or (algos is not None and algo not in algos):
            valid = f"{_suggest(str(algo), algos)}; valid algos: {', '.join(algos)}" if algos else ""
            raise _fail(f"{where}.algo", f"expected an algorithm name, got {_show(algo)}{valid}")
        hyperparams = _hyperparams(f"{where}.hyperparams", settings.get("hyperparams") or {})
        device = settings.get("device", "cpu")
        if not isinstance(device, str) or not re.match(r"^(cpu|cuda(:\d+)?)$", device):
            raise _fail(f"{where}.device", f"expected 'cpu', 'cuda' or 'cuda:N', got {_show(device)}")
        agents.append(AgentSpec(name, algo, hyperparams, device))
    return tuple(agents)


def _overrides(
    value: Any, envs: tuple[str, ...], agents: tuple[AgentSpec, ...], steps: int, eval_every: int | None
) -> dict[str, dict[str, Any]]:
    if value is None:
        return {}
    value = _mapping("overrides", value, "env id -> settings")
    agent_names = [a.name for a in agents]
    overrides: dict[str, dict[str, Any]] = {}
    for env, settings in value.items():
        where = f"overrides.{env}"
        if env not in envs:
            raise _fail(where, f"env {env!r} is not in envs ({', '.join(envs)}){_suggest(env, envs)}")
        settings = _mapping(where, settings, f"fields ({', '.join(OVERRIDE_FIELDS)})")
        _known_fields(where, settings, OVERRIDE_FIELDS, "override")
        out: dict[str, Any] = {}
        for key in ("steps", "eval_episodes"):
            if key in settings:
                out[key] = _positive_int(f"{where}.{key}", settings[key])
        if "hyperparams" in settings:
            out["hyperparams"] = {}
            per_agent = _mapping(f"{where}.hyperparams", settings["hyperparams"], "agent -> hyperparams")
            for agent, params in per_agent.items():
                if agent not in agent_names:
                    valid = f"{_suggest(agent, agent_names)}; agents: {', '.join(agent_names)}"
                    raise _fail(f"{where}.hyperparams.{agent}", f"no agent {agent!r}{valid}")
                out["hyperparams"][agent] = _hyperparams(f"{where}.hyperparams.{agent}", params)
        if "env_kwargs" in settings:
            from rewardgym.agents.train import TRAIN_SETS

            out["env_kwargs"] = _hyperparams(f"{where}.env_kwargs", settings["env_kwargs"])
            taken = sorted(set(out["env_kwargs"]) & set(TRAIN_SETS))
            if taken:
                raise _fail(f"{where}.env_kwargs", f"{', '.join(taken)} is the sweep's to set, not the env's")
        env_steps = out.get("steps", steps)
        if "eval_every" in settings:
            out["eval_every"] = _eval_every(f"{where}.eval_every", settings["eval_every"], env_steps)
        elif eval_every is not None and eval_every > env_steps:
            message = f"{env_steps} is below eval_every ({eval_every}); override eval_every too"
            raise _fail(f"{where}.steps", message)
        overrides[env] = out
    return overrides


def _reward_modes(value: Any, envs: tuple[str, ...], overrides: dict[str, dict[str, Any]]) -> list[str]:
    """The ``reward_modes`` field: known modes, for a spec that has a multi-agent env to apply them to.

    Example:
        >>> _reward_modes(["privat"], ("rewardgym/PublicGoods-v0",), {})
        Traceback (most recent call last):
        ...
        rewardgym.sweeps.spec.SweepSpecError: sweep spec field 'reward_modes[0]': unknown reward mode 'privat' (did you mean 'private'?); valid modes: private, integrated, cooperative
    """
    if value is None:
        return []
    modes = _list("reward_modes", value, str, "strings")
    for i, mode in enumerate(modes):
        if mode not in REWARD_MODES:
            valid = f"{_suggest(mode, REWARD_MODES)}; valid modes: {', '.join(REWARD_MODES)}"
            raise _fail(f"reward_modes[{i}]", f"unknown reward mode {mode!r}{valid}")
    games = [env for env in envs if is_multiagent(env)]
    if not games:
        raise _fail(
            "reward_modes",
            "applies to multi-agent envs, and envs lists none; multi-agent envs: "
            f"{', '.join(MULTIAGENT_IDS)} (or drop reward_modes)",
        )
    for env in games:
        if "reward_mode" in overrides.get(env, {}).get("env_kwargs", {}):
            raise _fail(
                f"overrides.{env}.env_kwargs.reward_mode",
                "is set by reward_modes for every multi-agent env; set one or the other",
            )
    return modes


# ----------------------------------------------------------------------------------------------
# Checks of the whole spec against the trainer and the envs: what would otherwise fail in every
# trial, an hour in, is refused before the first one.


def _check_runnable(spec: SweepSpec) -> None:
    """Check each agent's hyperparameters, env's kwargs and reward spec as the trials will use them.

    The hyperparameters go through the trainer's own parser (the native PPO's
    ``PPOConfig.from_dict``, SB3's constructor signature); each env is made once with its
    ``env_kwargs``, and once under each reward spec, which binds the regimes to it (a
    ``learned(path=...)`` model is read and checked against the env's spaces).
    """
    for env in spec.envs:
        override = spec.overrides.get(env, {})
        env_kwargs = override.get("env_kwargs", {})
        for agent in spec.agents:
            _check_algo_plays(f"agents.{agent.name}.algo", agent.algo, env)
            own = f"agents.{agent.name}.hyperparams"
            extra = override.get("hyperparams", {}).get(agent.name)
            # How PPO's rows fit the game's players is checked on the settings the trials get.
            _check_hyperparams(own, agent.algo, env, agent.hyperparams, None if extra is not None else env_kwargs)
            if extra is not None:
                where = f"overrides.{env}.hyperparams.{agent.name}"
                _check_hyperparams(where, agent.algo, env, {**agent.hyperparams, **extra}, env_kwargs)
        for env_kwargs in spec.env_kwargs_sets(env):
            where = f"overrides.{env}.env_kwargs" if env_kwargs else f"envs[{spec.envs.index(env)}]"
            if "reward_mode" in env_kwargs and spec.reward_modes:
                where = f"reward_modes[{spec.reward_modes.index(env_kwargs['reward_mode'])}]"
            _make_once(where, env, None, env_kwargs, f"{env} cannot be made")
            for i, reward in enumerate(spec.rewards):
                if reward != NO_REGIME:
                    _make_once(f"rewards[{i}]", env, reward, env_kwargs, f"{reward!r} cannot be put on {env}")


def _make_once(where: str, env: str, reward: str | None, env_kwargs: dict[str, Any], what: str) -> None:
    try:
        if is_multiagent(env):  # one game, a row per agent: what the trainer makes
            envs = make_parallel_vec(env, num_envs=1, reward=reward, **env_kwargs)
        else:
            envs = gym.make_vec(env, num_envs=1, reward=reward, **env_kwargs)
    except Exception as exc:  # any env's or regime's refusal: the message is theirs
        kwargs = f" with env_kwargs {env_kwargs}" if env_kwargs else ""
        raise _fail(where, f"{what}{kwargs}: {exc}") from None
    envs.close()


def _check_algo_plays(where: str, algo: str, env: str) -> None:
    """Refuse an algorithm that does not play ``env``: SB3 on a multi-agent game, a game's
    scripted policy on another env (the trainer's own rule, :func:`~rewardgym.agents.train.algos_for`)."""
    from rewardgym.agents.train import algos_for

    valid = algos_for(env)
    if algo not in valid:
        what = "a multi-agent game" if is_multiagent(env) else "a single-agent env"
        raise _fail(where, f"{algo!r} does not play {env} ({what}); valid algos for it: {', '.join(valid)}")


def _check_hyperparams(
    where: str, algo: str, env: str, hyperparams: dict[str, Any], env_kwargs: dict[str, Any] | None = None
) -> None:
    """Check ``hyperparams`` by the trainer's own parser; with ``env_kwargs`` (the env's, as the
    trials make it) also how PPO's rows and learners fit the env (:func:`_check_learners`)."""
    from rewardgym.agents.train import MULTIAGENT_ALGOS, SB3_ALGOS, SCRIPTED_ALGOS, reference_hyperparams

    if algo in SCRIPTED_ALGOS or algo in MULTIAGENT_ALGOS:
        if hyperparams:
            raise _fail(where, f"the scripted policy {algo!r} takes no hyperparameters, got {sorted(hyperparams)}")
        return
    settings = {**reference_hyperparams(algo, env), **hyperparams}
    try:
        if algo == "ppo":
            from rewardgym.agents.ppo import PPOConfig

            config = PPOConfig.from_dict(settings)
            if env_kwargs is not None:
                _check_learners(config, env, env_kwargs)
        elif algo in SB3_ALGOS and importlib.util.find_spec("stable_baselines3") is not None:
            _check_sb3(algo, settings)
    except (ValueError, TypeError) as exc:
        raise _fail(where, f"{exc} (for {env})") from None


def _check_learners(config: Any, env: str, env_kwargs: dict[str, Any]) -> None:
    """PPO on a multi-agent game: ``num_envs`` counts rows, whole games of its players; and
    ``learners="independent"`` (a network per player) is for games only."""
    learners = getattr(config, "learners", "shared")
    if not is_multiagent(env):
        if learners != "shared":
            raise ValueError(
                f"learners={learners!r} trains one network per player of a multi-agent game, not of a "
                "single-agent env; use learners='shared' (the default), or a multi-agent env"
            )
        return
    game = game_of(env)
    players = int(env_kwargs.get("num_agents", len(game.agents(game.params))))
    if config.num_envs % players:
        below = max(config.num_envs // players, 1) * players
        raise ValueError(
            f"num_envs={config.num_envs} counts rows on a multi-agent game, a row per player: it is not a whole "
            f"number of games of {players} players; valid: a multiple of {players}, e.g. {below} or {below + players}"
        )


def _check_sb3(algo: str, settings: dict[str, Any]) -> None:
    """SB3's settings as far as they can be checked without building a model: names and n_envs."""
    import stable_baselines3

    from rewardgym.agents.sb3 import sb3_arguments
    from rewardgym.agents.train import SB3_ALGOS
    from rewardgym.core.validation import check_integer

    kwargs = dict(settings)
    check_integer(kwargs.pop("n_envs", 1), f"{algo} hyperparameter n_envs", low=1)
    kwargs.pop("normalize", None)
    kwargs.pop("policy", None)
    sb3_arguments(algo, getattr(stable_baselines3, SB3_ALGOS[algo]), kwargs)
