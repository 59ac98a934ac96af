"""The results store of a sweep: one SQLite file in the run folder, safe to kill at any moment.

Two tables. ``trials`` holds one row per finished trial (``status`` ``'done'`` or ``'failed'``,
with the traceback in ``error``); ``curves`` holds its evaluation rows, keyed by
``(trial_id, step)``. A trial and its curves are written in one transaction, so a sweep killed
with ``kill -9`` leaves either the whole trial or nothing of it, and the rerun trains exactly the
missing ones. Only the sweep's parent process writes; workers return their records to it.

A curve row may carry more numbers than :data:`CURVE_COLUMNS`: a multi-agent game's trainer
reports the group's welfare (``eval_welfare``) and each agent's proxy (``eval_proxy/player_0``,
...). Those go, in the same transaction, into a third table, ``curve_metrics`` (one row per
``(trial_id, step, name)``), made the first time such a row is recorded: a store of single-agent
trials keeps exactly its two tables, so stores written before the table existed open and resume
unchanged. :meth:`ResultsStore.curves` returns them as extra columns after the fixed ones.

The file runs in WAL mode: readers (a report, a notebook) can open it while a sweep writes.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "results.sqlite"
    >>> with ResultsStore(path) as store:
    ...     store.record(TrialRecord(
    ...         trial_id="t0", env="rewardgym/CartPole-v0", reward="none", agent="ppo", algo="ppo",
    ...         seed=0, total_steps=100, status="done", final_proxy=20.0, final_gold=20.0,
    ...         curves=[{"step": 100, "eval_proxy": 20.0, "eval_gold": 20.0}]))
    ...     store.finished_ids(), len(store.curves())
    ({'t0'}, 1)
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CURVE_COLUMNS", "METRIC_COLUMNS", "TRIAL_COLUMNS", "ResultsStore", "StoreError", "TrialRecord"]

STORE_FILE = "results.sqlite"
"""The store's file name inside a run folder."""

TRIAL_COLUMNS = (
    "trial_id", "env", "reward", "agent", "algo", "seed", "total_steps", "status", "error",
    "final_proxy", "final_gold", "wall_s", "config", "finished_at",
)  # fmt: skip
CURVE_COLUMNS = (
    "trial_id", "step", "eval_proxy", "eval_gold", "train_proxy", "train_gold", "episodes", "wall_s",
)  # fmt: skip
METRIC_COLUMNS = ("trial_id", "step", "name", "value")
"""The ``curve_metrics`` table: a curve row's numbers beyond :data:`CURVE_COLUMNS`, one per row."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
    trial_id TEXT PRIMARY KEY, env TEXT NOT NULL, reward TEXT NOT NULL, agent TEXT NOT NULL,
    algo TEXT NOT NULL, seed INTEGER NOT NULL, total_steps INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')), error TEXT,
    final_proxy REAL, final_gold REAL, wall_s REAL, config TEXT, finished_at TEXT
);
CREATE TABLE IF NOT EXISTS curves (
    trial_id TEXT NOT NULL, step INTEGER NOT NULL, eval_proxy REAL, eval_gold REAL,
    train_proxy REAL, train_gold REAL, episodes INTEGER, wall_s REAL,
    PRIMARY KEY (trial_id, step)
);
"""
_METRICS_SCHEMA = """
CREATE TABLE IF NOT EXISTS curve_metrics (
    trial_id TEXT NOT NULL, step INTEGER NOT NULL, name TEXT NOT NULL, value REAL,
    PRIMARY KEY (trial_id, step, name)
)
"""

# Column dtypes of the DataFrames: SQLite hands back NULL for NaN, pandas would then guess object.
_TRIAL_DTYPES = {"seed": "int64", "total_steps": "int64", "final_proxy": "float64", "final_gold": "float64",
                 "wall_s": "float64"}  # fmt: skip
_CURVE_DTYPES = {"step": "int64", "eval_proxy": "float64", "eval_gold": "float64", "train_proxy": "float64",
                 "train_gold": "float64", "episodes": "Int64", "wall_s": "float64"}  # fmt: skip


class StoreError(ValueError):
    """A results store that cannot be used: corrupt, not SQLite, or another program's database.

    The message names the file and what to do; the file itself is left exactly as it was.
    """


@dataclass
class TrialRecord:
    """A finished trial as the store keeps it: a ``trials`` row plus its ``curves`` rows."""

    trial_id: str
    env: str
    reward: str
    agent: str
    algo: str
    seed: int
    total_steps: int
    status: str
    error: str | None = None
    final_proxy: float = math.nan
    final_gold: float = math.nan
    wall_s: float = math.nan
    config: dict[str, Any] = field(default_factory=dict)
    finished_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    curves: list[dict[str, Any]] = field(default_factory=list)


class ResultsStore:
    """A sweep's SQLite results; pass the file or the run folder (``results.sqlite`` inside it)."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        self.path = path / STORE_FILE if path.is_dir() else path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Checked read-only first: opening it for writing would already change the file (WAL mode
        # rewrites its header, the schema adds tables), and a corrupt store must stay as it is.
        _check_existing(self.path)
        # isolation_level=None: transactions are opened explicitly, so one trial is one transaction.
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def finished_ids(self) -> set[str]:
        """Ids of the trials recorded as done; a rerun skips these (failed ones are tried again)."""
        return {row[0] for row in self._db.execute("SELECT trial_id FROM trials WHERE status = 'done'")}

    def counts(self) -> dict[str, int]:
        """Number of trials by status, e.g. ``{'done': 34, 'failed': 2}``."""
        return dict(self._db.execute("SELECT status, COUNT(*) FROM trials GROUP BY status").fetchall())

    def record(self, record: TrialRecord) -> None:
        """Write a trial and its curves in one transaction, replacing an earlier failed attempt.

        Raises:
            ValueError: for a bad status, or a trial already recorded as done (a sweep never
                trains the same trial twice, so this would be a bug worth hearing about).
        """
        if record.status not in ("done", "failed"):
            raise ValueError(f"trial status must be 'done' or 'failed', got {record.status!r}")
        row = (
            record.trial_id, record.env, record.reward, record.agent, record.algo, int(record.seed),
            int(record.total_steps), record.status, record.error, _real(record.final_proxy),
            _real(record.final_gold), _real(record.wall_s), json.dumps(record.config, default=_jsonable),
            record.finished_at,
        )  # fmt: skip
        curves = [_curve_row(record.trial_id, c) for c in record.curves]
        steps = [c[1] for c in curves]
        if len(set(steps)) != len(steps):
            raise ValueError(f"trial {record.trial_id}: curve steps repeat: {steps}")
        metrics = [m for c in record.curves for m in _metric_rows(record.trial_id, c)]
        # BEGIN IMMEDIATE takes the write lock up front: the status check and the writes are one unit.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            existing = self._db.execute("SELECT status FROM trials WHERE trial_id = ?", (record.trial_id,)).fetchone()
            if existing is not None and existing[0] == "done":
                raise ValueError(f"trial {record.trial_id} is already recorded as done")
            self._db.execute("DELETE FROM curves WHERE trial_id = ?", (record.trial_id,))
            if metrics:  # SQLite's DDL is transactional: the table comes with the first such trial
                self._db.execute(_METRICS_SCHEMA)
            if self._has_metrics():
                self._db.execute("DELETE FROM curve_metrics WHERE trial_id = ?", (record.trial_id,))
            self._db.execute(f"INSERT OR REPLACE INTO trials VALUES ({_slots(TRIAL_COLUMNS)})", row)
            self._db.executemany(f"INSERT INTO curves VALUES ({_slots(CURVE_COLUMNS)})", curves)
            if metrics:
                self._db.executemany(f"INSERT INTO curve_metrics VALUES ({_slots(METRIC_COLUMNS)})", metrics)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def trials(self) -> pd.DataFrame:
        """Every recorded trial, one row each, columns :data:`TRIAL_COLUMNS` (``config`` as JSON text)."""
        frame = pd.read_sql_query(f"SELECT {', '.join(TRIAL_COLUMNS)} FROM trials ORDER BY rowid", self._db)
        return frame.astype(_TRIAL_DTYPES)

    def curves(self) -> pd.DataFrame:
        """Every evaluation row of every recorded trial: columns :data:`CURVE_COLUMNS`, then one
        float column per extra metric that any trial reported (``eval_welfare``,
        ``eval_proxy/player_0``, ...), in the order they first appeared; NaN where a row has none.

        Example:
            >>> import tempfile
            >>> with ResultsStore(tempfile.mkdtemp()) as store:
            ...     store.record(TrialRecord(trial_id="g0", env="rewardgym/PublicGoods-v0", reward="none",
            ...         agent="ppo", algo="ppo", seed=0, total_steps=100, status="done",
            ...         curves=[{"step": 100, "eval_proxy": 60.0, "eval_gold": 60.0, "eval_welfare": 240.0,
            ...                  "eval_proxy/player_0": 70.0, "eval_proxy/player_1": 50.0}]))
            ...     store.curves().columns.tolist()[-3:]
            ['eval_welfare', 'eval_proxy/player_0', 'eval_proxy/player_1']
        """
        frame = pd.read_sql_query(f"SELECT {', '.join(CURVE_COLUMNS)} FROM curves ORDER BY trial_id, step", self._db)
        frame = frame.astype(_CURVE_DTYPES)
        if not self._has_metrics():
            return frame
        long = pd.read_sql_query("SELECT rowid, * FROM curve_metrics", self._db)
        if long.empty:
            return frame
        names = long.groupby("name", sort=False)["rowid"].min().sort_values().index.tolist()
        wide = long.pivot(index=["trial_id", "step"], columns="name", values="value")
        wide = wide.reindex(columns=names).astype("float64").reset_index()
        wide.columns.name = None
        merged = frame.merge(wide, on=["trial_id", "step"], how="left")
        return merged.astype({name: "float64" for name in names})

    def _has_metrics(self) -> bool:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'curve_metrics'"
        return self._db.execute(query).fetchone() is not None

    def export(self, directory: str | Path, formats: Iterable[str] = ("csv", "parquet")) -> list[Path]:
        """Write ``trials`` and ``curves`` as ``trials.csv``, ``curves.parquet``, ...; returns the paths."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for fmt in formats:
            if fmt not in ("csv", "parquet"):
                raise ValueError(f"unknown export format {fmt!r}; valid formats: csv, parquet")
            for name, frame in (("trials", self.trials()), ("curves", self.curves())):
                path = directory / f"{name}.{fmt}"
                if fmt == "csv":
                    frame.to_csv(path, index=False)
                else:
                    frame.to_parquet(path, index=False)
                written.append(path)
        return written


def _check_existing(path: Path) -> None:
    """Refuse, without writing to it, a file that is not a readable store of this schema.

    Example:
        >>> import tempfile, pathlib
        >>> bad = pathlib.Path(tempfile.mkdtemp()) / "results.sqlite"
        >>> _ = bad.write_bytes(b"not a database" * 100)
        >>> ResultsStore(bad)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        rewardgym.sweeps.store.StoreError: results store ... is not a readable SQLite database (file is not a database); ...
    """
    if not path.is_file() or path.stat().st_size == 0:
        return  # absent or empty: SQLite starts a new database in it
    what_to_do = (
        "it was left untouched: restore it from a backup, or move it aside and rerun the sweep "
        "(which then trains every trial again), or pass another --out folder"
    )
    # Without a write-ahead log beside it the file is the whole database: opened immutable, SQLite
    # creates no -wal or -shm file next to it. With one (a sweep running, or killed), the log holds
    # committed trials that must be read, and its -shm index is SQLite's own to make.
    wal = path.with_name(path.name + "-wal").exists()
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?{'mode=ro' if wal else 'immutable=1'}", uri=True)
        try:
            check = [row[0] for row in db.execute("PRAGMA quick_check").fetchall()]
            tables = {
                name: tuple(col[1] for col in db.execute(f"PRAGMA table_info({name!r})"))
                for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"results store {path} is not a readable SQLite database ({exc}); {what_to_do}") from None
    if check != ["ok"]:
        raise StoreError(f"results store {path} is corrupt (SQLite quick_check: {check[0]}); {what_to_do}")
    # curve_metrics is optional: stores without a multi-agent trial (every older one) lack it.
    expected = {"trials": TRIAL_COLUMNS, "curves": CURVE_COLUMNS, "curve_metrics": METRIC_COLUMNS}
    foreign = sorted(set(tables) - set(expected))
    if foreign:
        raise StoreError(
            f"{path} is a SQLite database with tables that a rewardgym results store does not have "
            f"({', '.join(foreign)}): another program's file, not a sweep's results; {what_to_do}"
        )
    for name, columns in tables.items():
        if columns != expected[name]:
            raise StoreError(
                f"results store {path}: table {name!r} has columns ({', '.join(columns)}), expected "
                f"({', '.join(expected[name])}); written by another program or version; {what_to_do}"
            )


def _slots(columns: tuple[str, ...]) -> str:
    return ", ".join("?" * len(columns))


def _real(value: Any) -> float | None:
    # SQLite turns NaN into NULL anyway; saying so keeps inf and NaN from surprising a reader.
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _curve_row(trial_id: str, curve: Mapping[str, Any]) -> tuple[Any, ...]:
    if "step" not in curve:
        raise ValueError(f"trial {trial_id}: a curve row has no 'step': {dict(curve)!r}")
    episodes = curve.get("episodes")
    return (
        trial_id, int(curve["step"]), _real(curve.get("eval_proxy")), _real(curve.get("eval_gold")),
        _real(curve.get("train_proxy")), _real(curve.get("train_gold")),
        None if episodes is None else int(episodes), _real(curve.get("wall_s")),
    )  # fmt: skip


def _metric_rows(trial_id: str, curve: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """A curve row's numbers beyond :data:`CURVE_COLUMNS`, as ``curve_metrics`` rows.

    Only numbers are kept: a trainer's row may carry other things (a note, a list), and a value
    the store cannot hold must not fail the record of a finished trial in the sweep's process.

    Example:
        >>> _metric_rows("t", {"step": 5, "eval_gold": 1.0, "eval_welfare": 4.0, "note": "x"})
        [('t', 5, 'eval_welfare', 4.0)]
    """
    step = int(curve["step"])
    return [
        (trial_id, step, str(name), _real(value))
        for name, value in curve.items()
        if name not in CURVE_COLUMNS and isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    ]


def _jsonable(value: Any) -> Any:
    """JSON for what a trainer's config may hold: numpy scalars and arrays, paths, tuples, types."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
