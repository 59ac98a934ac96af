"""Live views of a training run: a progress bar on the terminal and TensorBoard scalars.

Both show the rows of the learning curves (:mod:`rewardgym.agents.curves`) as they come;
neither keeps anything the curves do not.

Example:
    >>> import math
    >>> from rewardgym.agents.progress import TensorBoardLog
    >>> TensorBoardLog.scalars({"step": 64, "eval_proxy": 2.0, "eval_gold": 1.0,
    ...                         "train_proxy": math.nan, "train_gold": math.nan})
    {'eval/proxy': 2.0, 'eval/gold': 1.0}
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class ProgressBar:
    """rich's progress bar: steps, steps/s, and the last evaluation's proxy and gold returns.

    It draws between :meth:`start` and :meth:`stop`; :meth:`update` moves it at any time.

    Example:
        >>> bar = ProgressBar(total=1000, title="ppo")
        >>> bar.update(500, {"eval_proxy": 9.5, "eval_gold": 9.5, "train_gold": float("nan")})
    """

    def __init__(self, total: int, title: str) -> None:
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
        """Draw the bar on the terminal; steps/s count from now."""
        self._start = time.perf_counter()
        self._progress.start()

    def stop(self) -> None:
        """Stop drawing, leaving the last state on the terminal."""
        self._progress.stop()

    def update(self, step: int, last: dict[str, Any] | None) -> None:
        """Move to ``step``, showing the last curve row's returns (none yet: ``None``)."""
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        fields: dict[str, Any] = {"rate": f"{step / elapsed:,.0f}"}
        if last is not None:
            fields.update(
                proxy=f"{last['eval_proxy']:.1f}",
                gold=f"{last['eval_gold']:.1f}",
                train_gold="-" if math.isnan(last["train_gold"]) else f"{last['train_gold']:.1f}",
            )
        self._progress.update(self._task, completed=step, **fields)


class TensorBoardLog:
    """The curves' returns as TensorBoard scalars under ``folder`` (the native PPO's; SB3 writes
    its own logs). Needs the ``tensorboard`` package."""

    def __init__(self, folder: str | Path) -> None:
        from torch.utils.tensorboard import SummaryWriter  # needs tensorboard, an optional package

        self._writer = SummaryWriter(str(folder))

    @staticmethod
    def scalars(row: dict[str, Any]) -> dict[str, float]:
        """A curve row's returns by TensorBoard tag (``eval/proxy``...), leaving out NaNs."""
        keys = ("eval_proxy", "eval_gold", "train_proxy", "train_gold")
        return {key.replace("_", "/", 1): row[key] for key in keys if not math.isnan(row[key])}

    def row(self, row: dict[str, Any]) -> None:
        """Write a curve row's returns at its ``step``."""
        for tag, value in self.scalars(row).items():
            self._writer.add_scalar(tag, value, row["step"])

    def close(self) -> None:
        """Flush and close the event file."""
        self._writer.close()
