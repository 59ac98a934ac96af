"""Where a sweep's trials run: a local process pool (the default) or a Ray cluster.

Both backends run the same function, :func:`run_trial`, on each :class:`Trial` and hand its
:class:`TrialRecord` back to the parent process, which alone writes the results store. A trial
that raises is returned as a ``'failed'`` record carrying its traceback; the sweep goes on.

Trials are deterministic functions of their spec, whichever backend runs them: every trial trains
with one torch thread (a different thread count can change the order of float reductions), and
numba's per-instance env kernels give the same numbers at any thread count.

Ray is imported only inside :class:`RayBackend`, so it stays an optional dependency.

Example:
    >>> backend = make_backend("local", workers=2)
    >>> backend.name, backend.workers
    ('local', 2)
    >>> make_backend("dask")
    Traceback (most recent call last):
    ...
    ValueError: unknown backend 'dask'; valid backends: local, ray
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from rewardgym.sweeps.spec import Trial
from rewardgym.sweeps.store import TrialRecord

__all__ = ["BACKENDS", "Backend", "LocalBackend", "RayBackend", "die_with_parent", "make_backend", "run_trial"]

BACKENDS = ("local", "ray")

TrialFn = Callable[[Trial, int], TrialRecord]
"""What a worker runs: ``fn(trial, threads) -> TrialRecord``; :func:`run_trial` is the default."""


def available_cpus() -> int:
    """CPU cores this process may use (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def run_trial(trial: Trial, threads: int = 1) -> TrialRecord:
    """Train one trial with :func:`rewardgym.agents.train.train` and return its record.

    Never raises for a failure of the trial itself: the traceback goes into the record, so one
    broken trial cannot stop a sweep. ``threads`` caps numba's env kernels (the pool gives each
    worker its share of the cores); torch always uses one thread, for reproducible results.
    """
    start = time.perf_counter()
    try:
        _limit_threads(threads)
        from rewardgym.agents.train import train

        result = train(**trial.train_kwargs())
        return _record(
            trial,
            "done",
            final_proxy=float(result.final_proxy),
            final_gold=float(result.final_gold),
            wall_s=float(result.wall_s),
            config={"trial": trial.to_dict(), "train": result.config},
            curves=[dict(row) for row in result.curves],
        )
    except Exception:
        return failed_record(trial, traceback.format_exc(), wall_s=time.perf_counter() - start)


def failed_record(trial: Trial, error: str, *, wall_s: float = float("nan")) -> TrialRecord:
    """The record of a trial that could not finish, with the error text (a traceback) that says why."""
    config = {"trial": trial.to_dict(), "train": None}
    return _record(trial, "failed", error=error, wall_s=wall_s, config=config)


_DIED = "a worker process died abruptly (killed, out of memory or crashed) while running this trial alone"


def _record(trial: Trial, status: str, **fields: Any) -> TrialRecord:
    return TrialRecord(
        trial_id=trial.trial_id,
        env=trial.env,
        reward=trial.reward,
        agent=trial.agent,
        algo=trial.algo,
        seed=trial.seed,
        total_steps=trial.total_steps,
        status=status,
        **fields,
    )


def _limit_threads(threads: int) -> None:
    import numba
    import torch

    torch.set_num_threads(1)
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent_pid: int) -> None:
    """Make this process end when ``parent_pid``, its parent, ends, however it ends (``kill -9``).

    The local pool runs it first in each worker. A worker otherwise outlives a killed sweep,
    idle and holding its memory (hundreds of MB with torch loaded) forever, and keeps
    multiprocessing's resource tracker alive with it. On Linux the kernel sends the worker
    SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``); elsewhere a daemon thread polls
    the parent's pid every second. Either way the parent may already be gone by the time this
    runs (a worker spends seconds importing): then the worker ends at once.

    Example (in a child process, which it arms; a parent that is not ours ends the child at once):
        >>> import subprocess, sys
        >>> code = ("import os; from rewardgym.sweeps.backends import die_with_parent; "
        ...         "die_with_parent(os.getppid()); print('armed', flush=True); die_with_parent(-1); print('alive')")
        >>> done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        >>> done.stdout, done.returncode
        ('armed\\n', 1)
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    else:
        armed = False
    if os.getppid() != parent_pid:  # orphaned before the signal was armed: nobody waits for us
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent_pid,), name="watch-parent", daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(1)  # the store is the parent's alone: a worker has nothing to save


class Backend(Protocol):
    """Runs trials and yields their records as they finish (in any order)."""

    name: str
    workers: int

    def run(self, trials: Sequence[Trial], fn: TrialFn = run_trial) -> Iterator[TrialRecord]: ...

    def close(self) -> None: ...


class LocalBackend:
    """A pool of ``workers`` processes on this machine, started with ``spawn``.

    ``spawn``, not ``fork`` or ``forkserver``: a worker forked from a process that has imported
    torch and numba ran numba's OpenMP threading layer several times slower (measured: 4-6x the
    CPU time for the same trial), while a spawned worker pays a few seconds of imports, once.

    Workers die with the sweep's process, even one killed with ``kill -9``
    (:func:`die_with_parent`): a killed sweep leaves no idle worker behind, and the resource
    tracker that multiprocessing started for the pool exits once they are gone.

    At most ``workers`` trials are in the pool at a time, so a worker that dies abruptly (killed,
    out of memory, a segfault) takes down only the trials in flight: the pool is rebuilt for the
    rest, and each trial that was in flight runs again alone at the end, where a second death is
    its own and it is recorded as failed.
    """

    name = "local"

    def __init__(self, workers: int | None = None, *, context: str = "spawn") -> None:
        self.workers = _check_workers(workers) if workers is not None else available_cpus()
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise ValueError(f"start method {context!r} is not available here; valid: {', '.join(methods)}")
        self._context = multiprocessing.get_context(context)
        self._pool: ProcessPoolExecutor | None = None

    def run(self, trials: Sequence[Trial], fn: TrialFn = run_trial) -> Iterator[TrialRecord]:
        threads = max(1, available_cpus() // self.workers)
        suspects: list[Trial] = []
        for trial, record in self._pool_run(list(trials), fn, threads, self.workers):
            if record is None:
                suspects.append(trial)
            else:
                yield record
        for suspect in suspects:
            for trial, record in self._pool_run([suspect], fn, threads, 1):
                yield record if record is not None else failed_record(trial, _DIED)

    def _pool_run(
        self, queue: list[Trial], fn: TrialFn, threads: int, workers: int
    ) -> Iterator[tuple[Trial, TrialRecord | None]]:
        """``(trial, record)`` as trials finish; ``record`` None for a trial whose pool broke."""
        queue.reverse()  # popped from the end: trials start in the order given
        in_flight: dict[Future, Trial] = {}
        try:
            while queue or in_flight:
                if self._pool is None:
                    self._pool = ProcessPoolExecutor(
                        max_workers=workers,
                        mp_context=self._context,
                        initializer=die_with_parent,
                        initargs=(os.getpid(),),
                    )
                while queue and len(in_flight) < workers:
                    trial = queue.pop()
                    in_flight[self._pool.submit(fn, trial, threads)] = trial
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    trial = in_flight.pop(future)
                    try:
                        yield trial, future.result()
                    except BrokenProcessPool:
                        # Every trial in flight fails with the pool: all are suspects; the queue
                        # goes on in a new pool.
                        suspects = [trial, *in_flight.values()]
                        in_flight.clear()
                        self.close()
                        for suspect in suspects:
                            yield suspect, None
                        break
                    except Exception:  # fn itself raised, or its result did not unpickle
                        yield trial, failed_record(trial, traceback.format_exc())
        finally:
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class RayBackend:
    """Ray core tasks, one CPU each (and one GPU for a ``cuda`` agent).

    ``address`` joins an existing cluster (its nodes need rewardgym installed); without it a
    local Ray instance with ``workers`` CPUs is started, and stopped by :meth:`close`.
    """

    name = "ray"

    def __init__(self, workers: int | None = None, *, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise ImportError("the Ray backend needs ray: pip install 'rewardgym[ray]'") from None
        self._started = False
        if not ray.is_initialized():
            if address is not None:
                ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
            else:
                ray.init(
                    num_cpus=_check_workers(workers) if workers is not None else available_cpus(),
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level=logging.WARNING,
                )
            self._started = True
        self.workers = int(ray.cluster_resources().get("CPU", 1))
        if workers is not None:
            self.workers = min(self.workers, _check_workers(workers))

    def run(self, trials: Sequence[Trial], fn: TrialFn = run_trial) -> Iterator[TrialRecord]:
        import ray

        task = ray.remote(fn)
        pending = {}
        for trial in trials:
            gpus = 1 if trial.device.startswith("cuda") else 0
            # max_retries: a worker that died (not a trial that raised) gets one more try.
            ref = task.options(num_cpus=1, num_gpus=gpus, max_retries=1).remote(trial, 1)
            pending[ref] = trial
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    trial = pending.pop(ref)
                    try:
                        yield ray.get(ref)
                    except Exception:  # the worker died twice, or fn raised
                        yield failed_record(trial, traceback.format_exc())
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False


def make_backend(name: str, workers: int | None = None, *, address: str | None = None) -> Backend:
    """A backend by name: ``"local"`` or ``"ray"`` (``address`` only for Ray)."""
    if name == "local":
        if address is not None:
            raise ValueError("--address is for the Ray backend; the local backend runs on this machine")
        return LocalBackend(workers)
    if name == "ray":
        return RayBackend(workers, address=address)
    raise ValueError(f"unknown backend {name!r}; valid backends: {', '.join(BACKENDS)}")


def _check_workers(workers: Any) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    return workers
