"""Learning curves: a row of proxy and gold returns every ``eval_every`` env steps of training.

A training loop hands a :class:`CurveRecorder` the training episodes that finish and asks it,
step by step, whether an evaluation is due; each evaluation (:func:`~rewardgym.agents.evaluation.evaluate`)
appends a row of :data:`CURVE_COLUMNS` and shows it on the live views of the run
(:mod:`rewardgym.agents.progress`). Given the training env's regimes (:meth:`CurveRecorder.follow`),
each evaluation scores the proxy with frozen copies of them as they stand then.

On a multi-agent game (evaluation envs with a row per agent) ``eval_proxy`` and ``eval_gold``
are means over agents as well as games, so ``eval_proxy - eval_gold`` is the gap per agent, and
each row has :data:`MULTIAGENT_COLUMNS` after :data:`CURVE_COLUMNS`: ``eval_welfare``, the mean
over games of the game's welfare return (its agents' gold returns summed), and one
``eval_proxy/<agent>`` column per agent (:func:`agent_proxy_column`), that agent's mean proxy.

Example:
    >>> from rewardgym.agents.curves import CurveRecorder
    >>> from rewardgym.agents.evaluation import make_eval_envs
    >>> recorder = CurveRecorder(make_eval_envs("rewardgym/CartPole-v0", "none", num_envs=2), every=100)
    >>> recorder.due(50), recorder.due(100)
    (False, True)
    >>> row = recorder.evaluate(100, lambda obs: (obs[:, 2] > 0).astype("int64"))
    >>> row["step"], row["episodes"], recorder.due(150)
    (100, 0, False)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from rewardgym.agents.evaluation import evaluate, load_frozen_regimes, welfare_and_agent_proxy
from rewardgym.agents.progress import ProgressBar, TensorBoardLog
from rewardgym.core.regime import Regime

CURVE_COLUMNS = ("step", "eval_proxy", "eval_gold", "train_proxy", "train_gold", "episodes", "wall_s")
"""The columns of :attr:`~rewardgym.agents.train.TrainResult.curves` and of ``curves.csv``."""

MULTIAGENT_COLUMNS = ("eval_welfare",)
"""The columns a multi-agent game's rows add after :data:`CURVE_COLUMNS`, before one
:func:`agent_proxy_column` per agent."""


def agent_proxy_column(agent: str) -> str:
    """The curve column of one agent's evaluation proxy return in a multi-agent game.

    Example:
        >>> agent_proxy_column("player_0")
        'eval_proxy/player_0'
    """
    return f"eval_proxy/{agent}"


def curve_columns(rows: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    """The columns of a run's curve rows: :data:`CURVE_COLUMNS`, then any a multi-agent game adds
    (:data:`MULTIAGENT_COLUMNS` and the per-agent proxies), in the rows' order.

    Example:
        >>> curve_columns([{"step": 0, "eval_welfare": 1.0}])[-2:]
        ('wall_s', 'eval_welfare')
    """
    extra = [key for key in (rows[0] if rows else {}) if key not in CURVE_COLUMNS]
    return (*CURVE_COLUMNS, *extra)


class CurveRecorder:
    """Collects the training episodes, runs the evaluations when due, and keeps the rows.

    Args:
        eval_envs: where to evaluate (:func:`~rewardgym.agents.evaluation.make_eval_envs`).
        every: env steps between evaluations; the first is due at ``every``.
        start: the run's start (``time.perf_counter()``), from which ``wall_s`` counts; default now.
        progress: a progress bar to draw, started and stopped by ``with recorder:``.
        tensorboard: a TensorBoard log to write each row to, closed by ``with recorder:``.

    Attributes:
        curves: the rows so far, one per evaluation, with the keys of :data:`CURVE_COLUMNS` (and on
            a multi-agent game those of :data:`MULTIAGENT_COLUMNS` and one
            :func:`agent_proxy_column` per agent).
    """

    def __init__(
        self,
        eval_envs: gym.vector.VectorEnv,
        every: int,
        start: float | None = None,
        progress: ProgressBar | None = None,
        tensorboard: TensorBoardLog | None = None,
    ) -> None:
        self.eval_envs = eval_envs
        self.every = every
        self.next_eval = every
        self.start = time.perf_counter() if start is None else start
        self.curves: list[dict[str, Any]] = []
        self._pending: list[dict[str, np.ndarray]] = []
        self._progress = progress
        self._tensorboard = tensorboard
        self._last_draw = 0.0
        self._training_regimes: list[Regime] | None = None

    def __enter__(self) -> CurveRecorder:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
        if self._tensorboard is not None:
            self._tensorboard.close()

    def follow(self, regimes: Sequence[Regime]) -> None:
        """Score every later evaluation's proxy with frozen copies of ``regimes`` (the training
        env's, :func:`~rewardgym.agents.evaluation.shell_regimes`) as they stand at that evaluation
        (:func:`~rewardgym.agents.evaluation.load_frozen_regimes`), rather than with the evaluation
        envs' own regimes, which never learn.

        Example:
            >>> import gymnasium as gym
            >>> from rewardgym.agents.evaluation import make_eval_envs, shell_regimes
            >>> spec = "learned(kind='online', query_every=20, segment_length=10)"
            >>> training = gym.make_vec("rewardgym/CartPole-v0", num_envs=2, reward=spec)
            >>> recorder = CurveRecorder(make_eval_envs("rewardgym/CartPole-v0", spec, num_envs=2), every=100)
            >>> recorder.follow(shell_regimes(training))
            >>> _ = recorder.evaluate(100, lambda obs: (obs[:, 2] > 0).astype("int64"))
            >>> shell_regimes(recorder.eval_envs)[0] is shell_regimes(training)[0]  # a frozen copy
            False
        """
        self._training_regimes = list(regimes)

    def add_episodes(self, episodes: dict[str, np.ndarray]) -> None:
        """Keep finished training episodes (``{"proxy": ..., "gold": ...}``) for the next row."""
        if len(episodes["gold"]):
            self._pending.append(episodes)

    def due(self, step: int) -> bool:
        """Whether an evaluation is due at env step ``step``."""
        return step >= self.next_eval

    def evaluate(self, step: int, predict: Callable[[np.ndarray], np.ndarray]) -> dict[str, Any]:
        """Evaluate now and append a row; the next evaluation is ``every`` steps on."""
        if self._training_regimes is not None:
            load_frozen_regimes(self.eval_envs, self._training_regimes)
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
        game = welfare_and_agent_proxy(returns, self.eval_envs)
        if game is not None:
            row["eval_welfare"] = game["welfare"]
            row.update({agent_proxy_column(agent): proxy for agent, proxy in game["agent_proxy"].items()})
        self.curves.append(row)
        while self.next_eval <= step:
            self.next_eval += self.every
        if self._tensorboard is not None:
            self._tensorboard.row(row)
        self.tick(step, force=True)
        return row

    def tick(self, step: int, force: bool = False) -> None:
        """Move the progress bar (at most ten times a second, unless ``force``)."""
        if self._progress is None:
            return
        now = time.perf_counter()
        if force or now - self._last_draw > 0.1:
            self._last_draw = now
            self._progress.update(step, self.curves[-1] if self.curves else None)
