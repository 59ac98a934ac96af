"""Train a reference agent under a reward spec and record what it was paid (proxy) and achieved (gold).

:func:`train` runs one algorithm on one env under one reward spec, and every ``eval_every`` steps
evaluates the agent on a fixed set of evaluation seeds, recording both the proxy return (what
the reward regime paid) and the **gold** return (what the agent really achieved), next to the
returns of the training episodes. It returns the learning curves, the final model and the run's
config; with ``run_dir`` it also writes them to a folder.

Algorithms (:data:`ALGOS`):

- ``"ppo"``: rewardgym's native batched PPO (:mod:`rewardgym.agents.ppo`);
- ``"sb3-ppo"``, ``"sb3-a2c"``, ``"sb3-dqn"`` (discrete actions), ``"sb3-sac"`` (continuous):
  stable-baselines3's, through the :class:`~rewardgym.agents.sb3.SB3VecEnv` adapter;
- ``"random"``, ``"linear"``: scripted policies (:mod:`rewardgym.agents.scripted`), evaluated
  once, without learning: the floor and (on CartPole) the ceiling of a sweep.

Reference hyperparameters ship in ``rewardgym/agents/hyperparams/<algo>.yaml``, keyed by env id
(:func:`reference_hyperparams`); SB3's come from rl-baselines3-zoo, as each file says. The
``hyperparams`` argument overrides them key by key.

The command line ``rewardgym train ENV --reward SPEC --algo ALGO --seed N --steps N`` is
:func:`configure_parser` + :func:`run_from_args`.

Example:
    >>> from rewardgym.agents.train import train
    >>> result = train("rewardgym/CartPole-v0", "scale(factor=2)", algo="random", eval_episodes=4)
    >>> row = result.curves[-1]
    >>> row["eval_proxy"] == 2 * row["eval_gold"]
    True
"""

from __future__ import annotations

import argparse
import ast
import copy
import csv
import datetime
import inspect
import json
import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from rewardgym.core.info import EPISODE_RETURNS
from rewardgym.core.spec import NO_REGIME, RewardSpec

ALGOS = ("ppo", "sb3-ppo", "sb3-a2c", "sb3-dqn", "sb3-sac", "random", "linear")
"""Every algorithm :func:`train` takes; ``"ppo"`` is the native batched PPO."""

SB3_ALGOS = {"sb3-ppo": "PPO", "sb3-a2c": "A2C", "sb3-dqn": "DQN", "sb3-sac": "SAC"}
"""stable-baselines3's algorithms, by the name :func:`train` knows them under."""

SCRIPTED_ALGOS = ("random", "linear")

EVAL_SEED = 10_000
"""Evaluation episode ``i`` starts from seed ``EVAL_SEED + i``, whatever the training seed: every
run of a sweep is scored on the same starts (training seeds, small ints, stay below them)."""

CURVE_COLUMNS = ("step", "eval_proxy", "eval_gold", "train_proxy", "train_gold", "episodes", "wall_s")
"""The columns of :attr:`TrainResult.curves` and of ``curves.csv``."""

_DISCRETE_ONLY = {"sb3-dqn": "DQN"}
_CONTINUOUS_ONLY = {"sb3-sac": "SAC"}


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        curves: one row per evaluation, with the keys of :data:`CURVE_COLUMNS`: ``step`` (env
            steps so far), ``eval_proxy`` / ``eval_gold`` (mean over the evaluation episodes,
            deterministic actions, fixed seeds), ``train_proxy`` / ``train_gold`` (mean over the
            training episodes that finished since the previous row, NaN if none did),
            ``episodes`` (how many those were) and ``wall_s`` (seconds since training began).
        model: the trained agent: a native ``ActorCritic``, an SB3 model, or a scripted policy.
        config: everything needed to rerun it: env id, reward spec string, algo, seed, total
            steps, resolved hyperparameters, evaluation settings, library versions.
        final_proxy: ``eval_proxy`` of the last row.
        final_gold: ``eval_gold`` of the last row.
        wall_s: seconds the whole run took.
    """

    curves: list[dict] = field(default_factory=list)
    model: Any = None
    config: dict = field(default_factory=dict)
    final_proxy: float = math.nan
    final_gold: float = math.nan
    wall_s: float = 0.0


def reference_hyperparams(algo: str, env_id: str) -> dict[str, Any]:
    """The shipped hyperparameters of ``algo`` on ``env_id`` (the file's ``default`` entry if the
    env has none of its own).

    Example:
        >>> reference_hyperparams("sb3-ppo", "rewardgym/CartPole-v0")["n_steps"]
        32
    """
    _check_algo(algo)
    if algo in SCRIPTED_ALGOS:
        return {}
    import yaml

    text = resources.files("rewardgym.agents").joinpath("hyperparams", f"{algo}.yaml").read_text()
    table = yaml.safe_load(text) or {}
    entry = table.get(env_id, table.get("default", {}))
    return copy.deepcopy(dict(entry or {}))


def train(
    env_id: str,
    reward: RewardSpec | None = None,
    algo: str = "ppo",
    seed: int = 0,
    total_steps: int = 100_000,
    *,
    hyperparams: dict | None = None,
    eval_every: int | None = None,
    eval_episodes: int = 10,
    device: str = "cpu",
    run_dir: str | Path | None = None,
    progress: bool = False,
    tensorboard: bool = False,
    env_kwargs: dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``algo`` on ``env_id`` under ``reward`` for ``total_steps`` env steps.

    Args:
        env_id: a rewardgym env id (``"rewardgym/CartPole-v0"``; ``"CartPole-v0"`` is accepted).
        reward: a reward spec (string, regime, callable or list); None or ``"none"`` for the
            env's own reward.
        algo: one of :data:`ALGOS`.
        seed: seeds the envs (env ``i`` gets ``seed + i``), the networks and the sampling.
        total_steps: env steps to train for (summed over the vector env's envs); on-policy
            algorithms round up to whole rollouts.
        hyperparams: overrides of the reference hyperparameters (:func:`reference_hyperparams`),
            key by key. SB3: ``n_envs``, ``normalize`` (VecNormalize), ``policy``,
            ``policy_kwargs`` and the algorithm's own arguments (``"lin_X"`` is a linear
            schedule from X). Native PPO: the fields of ``PPOConfig``.
        eval_every: env steps between evaluations (default: a tenth of ``total_steps``); a last
            evaluation always follows training.
        eval_episodes: evaluation episodes, one per env of a separate vector env, started from
            seeds ``EVAL_SEED + i``, under the same reward spec with its regimes frozen
            (``train(False)``), with deterministic actions.
        device: ``"cpu"`` or ``"cuda"``: the networks' device, and for ``"ppo"`` the training
            envs' (evaluation runs on the CPU).
        run_dir: a folder to write ``config.json``, ``config.yaml``, ``curves.csv`` and the model
            to (``model.zip`` for SB3, plus ``vecnormalize.pkl`` if used; ``model.safetensors``
            for the native PPO; none for scripted policies).
        progress: show a progress bar (steps/s, proxy and gold returns) on the terminal.
        tensorboard: also write TensorBoard logs to ``run_dir/tensorboard`` (needs ``run_dir``
            and the ``tensorboard`` package).
        env_kwargs: keyword arguments of the env's ``gym.make_vec`` for training and evaluation
            envs alike, e.g. ``{"difficulty": 2, "max_new_tokens": 2}`` for a token text env.
            ``num_envs``, ``reward``, ``device`` and ``autoreset_mode`` are train's to set.

    Raises:
        ValueError: an unknown env, algorithm or regime; an algorithm that does not fit the
            action space; a negative step count; an unknown hyperparameter.
    """
    start = time.perf_counter()
    env_id = _check_env(env_id)
    _check_algo(algo)
    seed = _check_int(seed, "seed", low=0)
    total_steps = _check_int(total_steps, "total_steps", low=0)
    eval_episodes = _check_int(eval_episodes, "eval_episodes", low=1)
    if eval_every is None:
        eval_every = max(total_steps // 10, 1)
    eval_every = _check_int(eval_every, "eval_every", low=1)
    if device not in ("cpu", "cuda") and not str(device).startswith("cuda:"):
        raise ValueError(f"unknown device {device!r}; valid devices: cpu, cuda")
    if hyperparams is not None and not isinstance(hyperparams, dict):
        raise TypeError(f"hyperparams must be a dict or None, got {type(hyperparams).__name__}")
    env_kwargs = _check_env_kwargs(env_kwargs)
    if tensorboard:
        _check_tensorboard(run_dir)
    run_path = None if run_dir is None else Path(run_dir)

    spec = reward_spec_string(reward)
    # The evaluation env comes first: it checks the reward spec and tells the action space
    # before anything costly is built.
    eval_envs = _make_eval_envs(env_id, reward, eval_episodes, env_kwargs)
    _check_fit(algo, env_id, eval_envs.single_action_space)
    settings = {**reference_hyperparams(algo, env_id), **(hyperparams or {})}
    if algo in SCRIPTED_ALGOS and hyperparams:
        raise ValueError(f"the scripted policy {algo!r} takes no hyperparameters, got {sorted(hyperparams)}")

    config: dict[str, Any] = {
        "env_id": env_id,
        "env_kwargs": env_kwargs,
        "reward": spec,
        "algo": algo,
        "seed": seed,
        "total_steps": total_steps,
        "hyperparams": settings,
        "eval": {"every": eval_every, "episodes": eval_episodes, "seed": EVAL_SEED},
        "device": str(device),
        "versions": _versions(algo),
    }
    recorder = _Recorder(eval_envs, eval_every, start, progress, total_steps, algo)
    writer = _TensorBoard(run_path / "tensorboard") if tensorboard and algo == "ppo" else None
    recorder.writer = writer
    try:
        with recorder:
            if algo in SB3_ALGOS:
                model, extras = _train_sb3(
                    algo,
                    env_id,
                    reward,
                    seed,
                    total_steps,
                    settings,
                    device,
                    recorder,
                    None if not tensorboard else run_path / "tensorboard",
                    env_kwargs,
                )
                config["hyperparams"] = settings
            elif algo == "ppo":
                model, config["hyperparams"] = _train_native(
                    env_id, reward, seed, total_steps, settings, device, recorder, env_kwargs
                )
                extras = {}
            else:
                model, extras = _run_scripted(algo, env_id, seed, recorder), {}
    finally:
        if writer is not None:
            writer.close()
        eval_envs.close()

    last = recorder.curves[-1]
    result = TrainResult(
        curves=recorder.curves,
        model=model,
        config=config,
        final_proxy=float(last["eval_proxy"]),
        final_gold=float(last["eval_gold"]),
        wall_s=time.perf_counter() - start,
    )
    if run_path is not None:
        save_run(result, run_path, extras)
    return result


# -- evaluation ------------------------------------------------------------------------------


def evaluate(
    predict: Callable[[np.ndarray], np.ndarray], envs: gym.vector.VectorEnv, seed: int = EVAL_SEED
) -> dict[str, np.ndarray]:
    """Run one episode in each env of ``envs`` (env ``i`` from seed ``seed + i``) with the batched
    policy ``predict(obs) -> actions``; return each episode's proxy and gold returns.

    ``envs`` must report ``info["episode_returns"]`` (be inside a reward shell). Box actions are
    clipped to the action space's bounds.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=3, reward="none")
        >>> returns = evaluate(lambda obs: (obs[:, 2] > 0).astype("int64"), envs)
        >>> returns["gold"].shape, bool((returns["gold"] > 20).all())
        ((3,), True)
    """
    space = envs.single_action_space
    bounds = (space.low, space.high) if isinstance(space, gym.spaces.Box) else None
    n = envs.num_envs
    proxy, gold = np.full(n, np.nan), np.full(n, np.nan)
    finished = np.zeros(n, dtype=bool)
    obs, _ = envs.reset(seed=seed)
    limit = getattr(envs.unwrapped, "max_episode_steps", None) or 1_000_000
    for _ in range(int(limit) + 2):  # an autoreset (NEXT_STEP) step may come before an end
        actions = np.asarray(predict(np.asarray(obs)))
        if bounds is not None:
            actions = np.clip(actions, *bounds).astype(space.dtype, copy=False)
        obs, _, terminated, truncated, info = envs.step(actions)
        ended = (np.asarray(terminated) | np.asarray(truncated)) & ~finished
        if ended.any():
            episode = info[EPISODE_RETURNS]
            proxy[ended] = np.asarray(episode["proxy"])[ended]
            gold[ended] = np.asarray(episode["gold"])[ended]
            finished |= ended
            if finished.all():
                return {"proxy": proxy, "gold": gold}
    raise RuntimeError(f"evaluation episodes did not end within {limit} steps")


TRAIN_SETS = ("num_envs", "reward", "device", "autoreset_mode")
"""The make_vec arguments that train() chooses itself."""


def _check_env_kwargs(env_kwargs: Any) -> dict[str, Any]:
    if env_kwargs is None:
        return {}
    if not isinstance(env_kwargs, dict) or not all(isinstance(k, str) for k in env_kwargs):
        raise TypeError(f"env_kwargs must be a dict of str keys or None, got {env_kwargs!r}")
    taken = sorted(set(env_kwargs) & set(TRAIN_SETS))
    if taken:
        raise ValueError(
            f"env_kwargs may not set {', '.join(taken)}: train() sets {', '.join(TRAIN_SETS)} "
            "itself (the number of envs is a hyperparameter: n_envs for SB3, num_envs for ppo)"
        )
    return dict(env_kwargs)


def _make_eval_envs(
    env_id: str, reward: RewardSpec | None, num_envs: int, env_kwargs: dict[str, Any]
) -> gym.vector.VectorEnv:
    # Regime objects and callables are copied: the evaluation env must not share (or train) the
    # training env's regimes.
    eval_reward = [] if reward is None else (reward if isinstance(reward, str) else copy.deepcopy(reward))
    envs = gym.make_vec(
        env_id,
        num_envs=num_envs,
        reward=eval_reward,
        device="cpu",
        autoreset_mode=AutoresetMode.SAME_STEP,
        **env_kwargs,
    )
    for regime in _regimes(envs):
        regime.train(False)
    return envs


def _regimes(envs: Any) -> list[Any]:
    from rewardgym.shells.vector_shell import VectorRewardShell

    regimes = []
    while envs is not None:
        if isinstance(envs, VectorRewardShell):
            regimes += envs.pipeline.regimes
        envs = getattr(envs, "env", None)
    return regimes


class _Recorder:
    """Collects training episodes, runs the evaluations, draws the progress bar."""

    def __init__(
        self, eval_envs: gym.vector.VectorEnv, every: int, start: float, progress: bool, total: int, title: str
    ) -> None:
        self.eval_envs = eval_envs
        self.every = every
        self.next_eval = every
        self.start = start
        self.curves: list[dict] = []
        self.writer: Any = None
        self._pending: list[dict[str, np.ndarray]] = []
        self._progress = _ProgressBar(total, title) if progress else None
        self._last_draw = 0.0
        self._last_step = 0

    def __enter__(self) -> _Recorder:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()

    def add_episodes(self, episodes: dict[str, np.ndarray]) -> None:
        if len(episodes["gold"]):
            self._pending.append(episodes)

    def due(self, step: int) -> bool:
        return step >= self.next_eval

    def evaluate(self, step: int, predict: Callable[[np.ndarray], np.ndarray]) -> dict:
        """Evaluate now and append a row; the next evaluation is ``every`` steps on."""
        returns = evaluate(predict, self.eval_envs)
        train_proxy = np.concatenate([e["proxy"] for e in self._pending]) if self._pending else np.zeros(0)
        train_gold = np.concatenate([e["gold"] for e in self._pending]) if self._pending else np.zeros(0)
        self._pending = []
        row = {
            "step": int(step),
            "eval_proxy": float(returns["proxy"].mean()),
            "eval_gold": float(returns["gold"].mean()),
            "train_proxy": float(train_proxy.mean()) if train_proxy.size else math.nan,
            "train_gold": float(train_gold.mean()) if train_gold.size else math.nan,
            "episodes": int(train_gold.size),
            "wall_s": time.perf_counter() - self.start,
        }
        self.curves.append(row)
        while self.next_eval <= step:
            self.next_eval += self.every
        if self.writer is not None:
            self.writer.row(row)
        self.tick(step, force=True)
        return row

    def tick(self, step: int, force: bool = False) -> None:
        """Move the progress bar (at most ten times a second)."""
        self._last_step = step
        if self._progress is None:
            return
        now = time.perf_counter()
        if force or now - self._last_draw > 0.1:
            self._last_draw = now
            last = self.curves[-1] if self.curves else None
            self._progress.update(step, last)


class _ProgressBar:
    """rich's progress bar: steps, steps/s, and the last evaluation's proxy and gold returns."""

    def __init__(self, total: int, title: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TextColumn(
                "{task.fields[rate]} steps/s  eval proxy {task.fields[proxy]} gold {task.fields[gold]}"
                "  train gold {task.fields[train_gold]}"
            ),
            TimeElapsedColumn(),
        )
        self._task = self._progress.add_task(title, total=max(total, 1), rate="-", proxy="-", gold="-", train_gold="-")
        self._start = time.perf_counter()

    def start(self) -> None:
        self._start = time.perf_counter()
        self._progress.start()

    def stop(self) -> None:
        self._progress.stop()

    def update(self, step: int, last: dict | None) -> None:
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        fields = {"rate": f"{step / elapsed:,.0f}"}
        if last is not None:
            fields.update(
                proxy=f"{last['eval_proxy']:.1f}",
                gold=f"{last['eval_gold']:.1f}",
                train_gold="-" if math.isnan(last["train_gold"]) else f"{last['train_gold']:.1f}",
            )
        self._progress.update(self._task, completed=step, **fields)


class _TensorBoard:
    """The curves as TensorBoard scalars (the native PPO; SB3 writes its own logs)."""

    def __init__(self, folder: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self._writer = SummaryWriter(str(folder))

    def row(self, row: dict) -> None:
        for key in ("eval_proxy", "eval_gold", "train_proxy", "train_gold"):
            if not math.isnan(row[key]):
                self._writer.add_scalar(key.replace("_", "/", 1), row[key], row["step"])

    def close(self) -> None:
        self._writer.close()


# -- the algorithms --------------------------------------------------------------------------


def _train_sb3(
    algo: str,
    env_id: str,
    reward: RewardSpec | None,
    seed: int,
    total_steps: int,
    settings: dict[str, Any],
    device: str,
    recorder: _Recorder,
    tensorboard_dir: Path | None,
    env_kwargs: dict[str, Any],
) -> tuple[Any, dict[str, Any]]:
    import stable_baselines3
    from stable_baselines3.common.callbacks import BaseCallback, CallbackList
    from stable_baselines3.common.vec_env import VecNormalize

    from rewardgym.agents.sb3 import EpisodeReturnsLogger, find_adapter, make_sb3_env

    algorithm = getattr(stable_baselines3, SB3_ALGOS[algo])
    kwargs = dict(settings)
    n_envs = _check_int(kwargs.pop("n_envs", 1), f"{algo} hyperparameter n_envs", low=1)
    normalize = kwargs.pop("normalize", False)
    policy = kwargs.pop("policy", "MlpPolicy")
    kwargs = _sb3_arguments(algo, algorithm, kwargs)

    venv: Any = make_sb3_env(env_id, n_envs, reward, device="cpu", **env_kwargs)
    if normalize:
        options = normalize if isinstance(normalize, dict) else {}
        venv = VecNormalize(venv, gamma=kwargs.get("gamma", 0.99), **options)
    normalizer = venv if isinstance(venv, VecNormalize) else None
    model = algorithm(
        policy,
        venv,
        seed=seed,
        device=device,
        verbose=0,
        tensorboard_log=None if tensorboard_dir is None else str(tensorboard_dir),
        **kwargs,
    )

    def predict(obs: np.ndarray) -> np.ndarray:
        if normalizer is not None:
            obs = normalizer.normalize_obs(obs)
        return model.predict(obs, deterministic=True)[0]

    class Recorder(BaseCallback):
        def _on_training_start(self) -> None:
            self.adapter = find_adapter(self.training_env)
            self.cursor = self.adapter.episodes.total

        def _collect(self) -> None:
            episodes, self.cursor = self.adapter.episodes.since(self.cursor)
            recorder.add_episodes(episodes)

        def _on_step(self) -> bool:
            step = self.num_timesteps
            if recorder.due(step):
                self._collect()
                row = recorder.evaluate(step, predict)
                self.logger.record("eval/proxy", row["eval_proxy"])
                self.logger.record("eval/gold", row["eval_gold"])
            else:
                recorder.tick(step)
            return True

    callback = Recorder()
    model.learn(total_steps, callback=CallbackList([callback, EpisodeReturnsLogger()]))
    if not recorder.curves or recorder.curves[-1]["step"] != model.num_timesteps:
        if hasattr(callback, "adapter"):
            callback._collect()
        recorder.evaluate(model.num_timesteps, predict)
    extras = {"vecnormalize": normalizer}
    return model, extras


def _sb3_arguments(algo: str, algorithm: type, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The YAML settings as the SB3 algorithm's constructor arguments (schedules, activations)."""
    valid = set(inspect.signature(algorithm.__init__).parameters) - {
        "self",
        "policy",
        "env",
        "seed",
        "device",
        "verbose",
        "tensorboard_log",
        "_init_setup_model",
    }
    unknown = sorted(set(kwargs) - valid)
    if unknown:
        raise ValueError(
            f"unknown {algo} hyperparameter(s) {unknown}; valid: n_envs, normalize, policy, {', '.join(sorted(valid))}"
        )
    out = dict(kwargs)
    for key, value in kwargs.items():
        if isinstance(value, str) and value.startswith("lin_"):
            out[key] = _linear_schedule(float(value[len("lin_") :]))
    policy_kwargs = dict(out.get("policy_kwargs") or {})
    if isinstance(policy_kwargs.get("activation_fn"), str):
        import torch

        name = policy_kwargs["activation_fn"]
        activations = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "elu": torch.nn.ELU, "gelu": torch.nn.GELU}
        if name.lower() not in activations:
            raise ValueError(f"unknown activation_fn {name!r}; valid: {', '.join(activations)}")
        policy_kwargs["activation_fn"] = activations[name.lower()]
    if policy_kwargs:
        out["policy_kwargs"] = policy_kwargs
    return out


def _linear_schedule(initial: float) -> Callable[[float], float]:
    """rl-baselines3-zoo's ``lin_X``: X at the start, falling linearly to 0 (SB3 passes the
    remaining progress, 1 -> 0)."""

    def schedule(progress_remaining: float) -> float:
        return progress_remaining * initial

    return schedule


def _train_native(
    env_id: str,
    reward: RewardSpec | None,
    seed: int,
    total_steps: int,
    settings: dict[str, Any],
    device: str,
    recorder: _Recorder,
    env_kwargs: dict[str, Any],
) -> tuple[Any, dict[str, Any]]:
    try:
        from rewardgym.agents import ppo
    except ImportError as exc:  # pragma: no cover - the module ships with the package
        raise RuntimeError(f"algo 'ppo' needs rewardgym.agents.ppo, which failed to import: {exc}") from exc

    config = ppo.PPOConfig.from_dict(settings)
    envs = gym.make_vec(
        env_id,
        num_envs=config.num_envs,
        reward=[] if reward is None else reward,
        device=device,
        autoreset_mode=AutoresetMode.SAME_STEP,
        **env_kwargs,
    )
    last = {"step": 0}

    def callback(step: int, agent: Any, episodes: dict[str, np.ndarray]) -> bool:
        last["step"] = step
        recorder.add_episodes(episodes)
        if recorder.due(step):
            recorder.evaluate(step, agent.predict)
        else:
            recorder.tick(step)
        return True

    try:
        agent = ppo.learn(envs, total_steps, config, seed=seed, device=device, callback=callback)
    finally:
        envs.close()
    if not recorder.curves or recorder.curves[-1]["step"] != last["step"]:
        recorder.evaluate(last["step"], agent.predict)
    return agent, config.to_dict()


def _run_scripted(algo: str, env_id: str, seed: int, recorder: _Recorder) -> Any:
    try:
        from rewardgym.agents.scripted import SCRIPTED
    except ImportError as exc:
        raise RuntimeError(f"algo {algo!r} needs rewardgym.agents.scripted, which failed to import: {exc}") from exc
    policy = SCRIPTED[algo](env_id, seed=seed)
    recorder.evaluate(0, lambda obs: policy.predict(obs, deterministic=True))
    return policy


# -- the run folder --------------------------------------------------------------------------


def save_run(result: TrainResult, run_dir: str | Path, extras: dict[str, Any] | None = None) -> Path:
    """Write a run's ``config.json``, ``config.yaml``, ``curves.csv`` and model to ``run_dir``."""
    import yaml

    folder = Path(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    config = json.loads(json.dumps(result.config, default=str))
    summary = {**config, "final_proxy": result.final_proxy, "final_gold": result.final_gold, "wall_s": result.wall_s}
    (folder / "config.json").write_text(json.dumps(summary, indent=2) + "\n")
    (folder / "config.yaml").write_text(yaml.safe_dump(summary, sort_keys=False))
    with open(folder / "curves.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CURVE_COLUMNS)
        writer.writeheader()
        writer.writerows(result.curves)
    model = result.model
    if hasattr(model, "save") and hasattr(model, "policy"):  # an SB3 model
        model.save(folder / "model.zip")
        normalizer = (extras or {}).get("vecnormalize")
        if normalizer is not None:
            normalizer.save(str(folder / "vecnormalize.pkl"))
    elif hasattr(model, "state_dict"):  # the native PPO's torch module
        from safetensors.torch import save_file

        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(folder / "model.safetensors"), metadata={"config": json.dumps(config)})
    return folder


# -- input checks ----------------------------------------------------------------------------


def _check_env(env_id: str) -> str:
    from rewardgym.envs import ENVS

    if isinstance(env_id, str):
        if env_id in ENVS:
            return env_id
        if f"rewardgym/{env_id}" in ENVS:
            return f"rewardgym/{env_id}"
    raise ValueError(f"unknown env {env_id!r}; registered envs: {', '.join(sorted(ENVS))}")


def _check_algo(algo: str) -> None:
    if algo not in ALGOS:
        raise ValueError(f"unknown algo {algo!r}; valid algos: {', '.join(ALGOS)}")


def _check_int(value: Any, name: str, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_fit(algo: str, env_id: str, space: gym.Space) -> None:
    """Refuse an algorithm that cannot act in the env's action space."""
    discrete = isinstance(space, gym.spaces.Discrete)
    if algo in _DISCRETE_ONLY and not discrete:
        fits = [a for a in ALGOS if a not in _DISCRETE_ONLY and a != "linear"]
        raise ValueError(
            f"{algo} needs a Discrete action space, but {env_id} has {space}; algos for continuous "
            f"actions: {', '.join(fits)}"
        )
    if algo in _CONTINUOUS_ONLY and not isinstance(space, gym.spaces.Box):
        fits = [a for a in ALGOS if a not in _CONTINUOUS_ONLY]
        raise ValueError(
            f"{algo} needs a continuous (Box) action space, but {env_id} has {space}; algos for "
            f"discrete actions: {', '.join(fits)}"
        )


def _check_tensorboard(run_dir: Any) -> None:
    if run_dir is None:
        raise ValueError("tensorboard=True writes to run_dir/tensorboard: pass run_dir too")
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise ValueError(
            "tensorboard=True needs the tensorboard package, which is not installed "
            "(pip install tensorboard); the curves are in curves.csv without it"
        ) from None


def reward_spec_string(reward: RewardSpec | None) -> str:
    """A reward spec as the string a config records: ``"none"`` for the env's own reward.

    Regime objects and callables are recorded by name (``repr``): a run under them can only be
    rerun with the same objects.

    Example:
        >>> reward_spec_string(["shaped", "noisy(sigma=0.5)"]), reward_spec_string(None)
        ('shaped+noisy(sigma=0.5)', 'none')
    """
    if reward is None:
        return NO_REGIME
    if isinstance(reward, str):
        return reward
    if isinstance(reward, (list, tuple)):
        return "+".join(reward_spec_string(r) for r in reward) if reward else NO_REGIME
    return getattr(reward, "__name__", None) or repr(reward)


def _versions(algo: str) -> dict[str, str]:
    import torch

    import rewardgym

    versions = {
        "rewardgym": rewardgym.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "gymnasium": gym.__version__,
        "torch": torch.__version__,
    }
    if algo in SB3_ALGOS:
        import stable_baselines3

        versions["stable_baselines3"] = stable_baselines3.__version__
    return versions


# -- the command line ------------------------------------------------------------------------


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``rewardgym train``."""
    parser.add_argument("env", help="env id, e.g. rewardgym/CartPole-v0 (the 'rewardgym/' may be left out)")
    parser.add_argument(
        "--reward",
        default=NO_REGIME,
        help="reward spec, e.g. 'shaped+noisy(sigma=0.5)'; 'none' (default) for the env's own reward",
    )
    parser.add_argument("--algo", default="ppo", choices=ALGOS, help="algorithm (default: ppo, the native PPO)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=100_000, help="env steps to train for (default 100000)")
    parser.add_argument("--out", default=None, help="run folder (default: runs/<env>-<algo>-s<seed>-<time>)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument(
        "--eval-every", type=int, default=None, help="env steps between evaluations (default: a tenth of --steps)"
    )
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a reference hyperparameter (repeatable), e.g. --set n_envs=16",
    )
    parser.add_argument(
        "--env-kwarg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a keyword argument of the env (repeatable), e.g. --env-kwarg max_new_tokens=2",
    )
    parser.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs to the run folder")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="torch's intra-op threads (default 1: "
        "the reference networks are small, and more threads mostly contend for the CPU)",
    )


def run_from_args(args: argparse.Namespace) -> int:
    """Run ``rewardgym train`` from parsed arguments; print the final proxy and gold returns."""
    try:
        if args.torch_threads < 1:
            raise ValueError(f"--torch-threads must be >= 1, got {args.torch_threads}")
        import torch

        torch.set_num_threads(args.torch_threads)
        hyperparams = _parse_overrides(args.set, "--set")
        env_kwargs = _parse_overrides(args.env_kwarg, "--env-kwarg")
        env_id = _check_env(args.env)
        out = args.out or _default_run_dir(env_id, args.algo, args.seed)
        result = train(
            env_id,
            None if args.reward == NO_REGIME else args.reward,
            algo=args.algo,
            seed=args.seed,
            total_steps=args.steps,
            hyperparams=hyperparams or None,
            eval_every=args.eval_every,
            eval_episodes=args.eval_episodes,
            device=args.device,
            run_dir=out,
            progress=not args.no_progress,
            tensorboard=args.tensorboard,
            env_kwargs=env_kwargs,
        )
    except (ValueError, TypeError, RuntimeError) as exc:
        print(f"rewardgym train: error: {exc}", file=sys.stderr)
        return 2
    last = result.curves[-1]
    print(
        f"{env_id} {args.algo} seed {args.seed}, reward {result.config['reward']}, {last['step']} steps: "
        f"proxy {result.final_proxy:.2f}, gold {result.final_gold:.2f} "
        f"(mean of {args.eval_episodes} evaluation episodes); {result.wall_s:.1f} s; run folder {out}"
    )
    return 0


def _parse_overrides(items: list[str], flag: str) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{flag} takes KEY=VALUE, got {item!r}")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text  # a bare word: a string such as lin_0.001 or MlpPolicy
        overrides[key.strip()] = value
    return overrides


def _default_run_dir(env_id: str, algo: str, seed: int) -> str:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return str(Path("runs") / f"{env_id.split('/')[-1]}-{algo}-s{seed}-{stamp}")
