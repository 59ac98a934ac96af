"""Run a sweep: expand the spec, skip what the store already holds, run the rest, write the report.

A run folder, ``OUT/<spec name>/``, holds everything a sweep produces:

=================  ==============================================================================
``spec.yaml``      the validated spec (a rerun with a different spec in the same folder is refused)
``results.sqlite`` the results store (:mod:`rewardgym.sweeps.store`)
``trials.csv``     the store exported, also as ``curves.csv``, ``trials.parquet``, ``curves.parquet``
``report.md``      the report, with its plots, when :mod:`rewardgym.sweeps.report` is installed
``sweep.lock``     locked while a sweep runs here, so that two sweeps never share a store
=================  ==============================================================================

Running the same spec into the same folder again resumes it: finished trials are skipped, failed
ones are tried again, and a sweep killed at any moment loses at most the trials that were running.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from rewardgym.sweeps.backends import Backend, TrialFn, make_backend, run_trial
from rewardgym.sweeps.spec import SweepSpec, SweepSpecError, Trial, load_spec
from rewardgym.sweeps.store import ResultsStore, TrialRecord

__all__ = ["RunFolderBusy", "run_sweep"]


class RunFolderBusy(RuntimeError):
    """Another sweep holds the run folder."""


SPEC_FILE = "spec.yaml"
LOCK_FILE = "sweep.lock"


def run_sweep(
    spec: SweepSpec | str | Path,
    out_dir: str | Path = "runs",
    backend: str = "local",
    workers: int | None = None,
    progress: bool = True,
    *,
    address: str | None = None,
    trial_fn: TrialFn = run_trial,
    report: bool = True,
    console: Console | None = None,
) -> Path:
    """Run every trial of ``spec`` not yet done in ``out_dir/<spec name>``; return that run folder.

    Args:
        spec: a :class:`SweepSpec`, a preset name (``"quick"``) or a YAML spec file.
        out_dir: the parent of the run folder.
        backend: ``"local"`` (a process pool) or ``"ray"``.
        workers: parallel trials; default: every available core (local) or the Ray CPUs.
        progress: show a progress bar with trials done, running and failed, and an ETA.
        address: an existing Ray cluster to run on (Ray backend only).
        trial_fn: what each worker runs, ``fn(trial, threads) -> TrialRecord``; a module-level
            function (workers import it). Default :func:`~rewardgym.sweeps.backends.run_trial`.
        report: write the report at the end, when the report module is installed.
        console: where progress and messages go (default: stderr).

    Raises:
        SweepSpecError: a bad spec, or a run folder that holds a different spec.
        RunFolderBusy: another sweep is running in the same run folder.
    """
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    console = console or Console(stderr=True)
    run_dir = Path(out_dir) / spec.name
    run_dir.mkdir(parents=True, exist_ok=True)
    trials = spec.trials()
    with _exclusive(run_dir):
        _claim_run_dir(run_dir, spec)
        with ResultsStore(run_dir) as store:
            finished = store.finished_ids()
            todo = [t for t in trials if t.trial_id not in finished]
            if todo:
                runner = make_backend(backend, workers, address=address)
                try:
                    _run_with_progress(runner, todo, trial_fn, store, spec.name, len(trials), console, progress)
                finally:
                    runner.close()
            elif progress:
                console.print(f"{run_dir}: all {len(trials)} trials already done")
            store.export(run_dir)
            counts = store.counts()
        console.print(
            f"sweep {spec.name}: {counts.get('done', 0)} done, {counts.get('failed', 0)} failed "
            f"of {len(trials)} trials; results in {run_dir}"
        )
        if report and importlib.util.find_spec("rewardgym.sweeps.report") is not None:
            path = importlib.import_module("rewardgym.sweeps.report").write_report(run_dir)
            console.print(f"report: {path}")
    return run_dir


def _run_with_progress(
    runner: Backend,
    todo: list[Trial],
    trial_fn: TrialFn,
    store: ResultsStore,
    name: str,
    total: int,
    console: Console,
    progress: bool,
) -> None:
    """Run ``todo`` on ``runner``, recording each trial as it finishes, under a progress bar."""
    skipped = total - len(todo)
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("running {task.fields[running]}  [red]failed {task.fields[failed]}[/]"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not progress,
    )
    failed, left = 0, len(todo)
    with bar:
        running = min(runner.workers, left)
        task = bar.add_task(f"sweep {name} ({runner.name})", total=total, completed=skipped, running=running, failed=0)
        if skipped:
            bar.console.print(f"resuming: {skipped} of {total} trials already done")
        for record in runner.run(todo, trial_fn):
            store.record(record)  # committed before the bar moves: what it shows is on disk
            left -= 1
            if record.status == "failed":
                failed += 1
                last = (record.error or "").strip().splitlines()[-1:] or ["(no message)"]
                bar.console.print(f"[red]failed[/] {_label(record)}: {last[0]}")
            bar.update(task, advance=1, running=min(runner.workers, left), failed=failed)


def _claim_run_dir(run_dir: Path, spec: SweepSpec) -> None:
    """Write the spec into the run folder, or check that the folder was made by this same spec."""
    path = run_dir / SPEC_FILE
    if path.exists():
        try:
            existing = load_spec(path)
        except SweepSpecError as exc:
            raise SweepSpecError(f"run folder {run_dir} holds a spec that no longer loads: {exc}") from None
        if existing != spec:
            raise SweepSpecError(
                f"run folder {run_dir} holds a different sweep spec ({path}); rerun that spec to resume "
                "it, or give this sweep another --out folder or name"
            )
        return
    # Written to a temporary file and renamed: a kill mid-write cannot leave half a spec behind.
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(spec.to_yaml())
    tmp.replace(path)


@contextlib.contextmanager
def _exclusive(run_dir: Path) -> Iterator[None]:
    """Hold the run folder's lock: two sweeps writing one store would train the same trials twice.

    An advisory ``flock``, which the OS releases when the process dies, even by ``kill -9``.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no flock; one sweep per folder is then the user's care
        yield
        return
    with open(run_dir / LOCK_FILE, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            message = f"run folder {run_dir} is in use by another sweep; wait for it or stop it"
            raise RunFolderBusy(message) from None
        yield


def _label(record: TrialRecord) -> str:
    # A multi-agent game's reward mode, as Trial.label shows it: two modes' failures must differ.
    trial = record.config.get("trial") if isinstance(record.config, dict) else None
    mode = (trial.get("env_kwargs") or {}).get("reward_mode") if isinstance(trial, dict) else None
    env = record.env if mode is None else f"{record.env} ({mode})"
    return f"{env} | {record.reward} | {record.agent} | seed {record.seed}"
