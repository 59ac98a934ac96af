"""Sandboxed runs in bulk: a pool of pre-started zygote interpreters, one fork per program.

:func:`~rewardgym.envs.code.sandbox.run_python` spends most of its ~12 ms starting a fresh
interpreter. A :class:`SandboxPool` starts ``workers`` interpreters ("zygotes") once, with the
same flags and scrubbed environment as ``run_python`` (``python -E -s -S -B``), and each zygote
forks per program instead. Every run keeps ``run_python``'s isolation and :class:`RunResult`
semantics, and gains a PID namespace:

- the zygote (root, holding nothing secret) enters a network namespace of its own at its start
  (its runs use it one after another, never two at once; see ``_zygote_serve`` for why that is
  safe), then reads only a fixed header per run (limits, the run's uid, the payload's length) and
  the write ends of two pipes whose read ends stay in the host; it makes the run's temporary
  directory and removes it after the run;
- its child reads the program and its files straight from the socket (so neither the zygote nor
  any later run ever holds them: the zygote's memory, which every run inherits, never sees a
  program, a file or an output), writes them, starts a new session and unshares the mount
  namespace and a **PID namespace**;
- PID 1 of that namespace (trusted, root) mounts the private ``tmpfs`` and a fresh ``/proc``,
  forks the program, reaps orphans, kills every process of the namespace at the deadline and
  reports the program's wait status and CPU time; when it exits the kernel kills whatever is left
  in the namespace, so a grandchild that escapes the process group with ``setsid`` dies too;
- the program (PID 2) gets stdio on the pipes (stdin ``/dev/null``), every other descriptor
  closed, its own random uid, the rlimits, the seccomp filter (built by the host and passed to
  the zygote at its start as BPF), ``HOME`` = its directory, ``sys.argv = ['main.py']``,
  ``sys.path[0]`` = its directory and a fresh ``__main__``, and runs ``main.py`` as the
  interpreter runs a script (``PyRun_SimpleFileExFlags``: the same traceback, exit status,
  ``atexit`` and flushing).

Differences a program can see: ``os.getpid()`` is 2 and ``os.getppid()`` 1; modules the zygote
imported are already in ``sys.modules``; string hashing uses one seed per zygote rather than one
per run. The pool checks its layers once per process by a probe run (uid, network, mount and PID
namespaces, the private ``/tmp``, the seccomp filter, see :meth:`SandboxPool.isolation`); where a
layer cannot be had (or a zygote cannot start) it runs every program through ``run_python``
instead, one after the other. A zygote that dies is replaced, and the program it was running is
run again through ``run_python``; its runs' directories live in a directory of its own in the
host's ``/tmp``, removed with it, so a run cut short leaves no files behind.

Example:
    >>> from rewardgym.envs.code.pool import Program, run_many
    >>> results = run_many([Program("print(6 * 7)"), Program("import sys; sys.exit(3)")], timeout_s=5.0)
    >>> [(r.exit_code, r.stdout) for r in results]
    [(0, '42\\n'), (3, '')]
"""

from __future__ import annotations

import atexit
import marshal
import os
import selectors
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rewardgym.envs.code import sandbox
from rewardgym.envs.code.sandbox import RunResult, SandboxUnavailableError, run_python

__all__ = ["Program", "SandboxPool", "SandboxUnavailableError", "pool_isolation", "run_many"]

_BOOT_TIMEOUT_S = 20.0
_HOST_GRACE_S = 5.0
"""How long past a run's timeout the host waits for its zygote before it takes the zygote for stuck."""


@dataclass(frozen=True)
class Program:
    """A program to run: its source (``main.py``) and the files written next to it.

    Example:
        >>> Program("import data; print(data.X)", files={"data.py": "X = 1"}).files["data.py"]
        'X = 1'
    """

    source: str
    files: Mapping[str, str] = field(default_factory=dict)


class _Zygote:
    """The host's end of one zygote: its process, socket and what it is running."""

    def __init__(self, plan: Any) -> None:
        host_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # The zygote's runs make their directories in here; removed with the zygote, so that a run
        # cut short by the zygote's death leaves no untrusted files in the host's /tmp.
        self.runs_dir = tempfile.mkdtemp(prefix="rewardgym-pool-")
        os.chmod(self.runs_dir, 0o711)  # the runs' uids pass through to their own directories
        try:
            self.process = subprocess.Popen(
                [
                    plan.interpreter,
                    *sandbox._INTERPRETER_FLAGS,
                    "-c",
                    sandbox.ZYGOTE_BOOT,
                    os.path.abspath(sandbox.__file__),
                    str(zygote_end.fileno()),
                    sandbox._plan_arg(plan),
                    sandbox._seccomp_arg(plan),
                    self.runs_dir,
                ],
                cwd="/",
                env=sandbox._scrubbed_env("/"),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=[zygote_end.fileno()],
                start_new_session=True,
            )
        except BaseException:
            shutil.rmtree(self.runs_dir, ignore_errors=True)
            raise
        finally:
            zygote_end.close()
        self.sock = host_end
        self.ready = False
        self.buffer = bytearray()

    def wait_ready(self, timeout_s: float) -> bool:
        if self.ready:
            return True
        self.sock.settimeout(timeout_s)
        try:
            self.ready = self.sock.recv(1) == b"Y"
        except OSError:
            self.ready = False
        finally:
            self.sock.settimeout(None)
        return self.ready

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, kill: bool = False) -> None:
        """Close the socket (the zygote exits on EOF after its run), or kill it at once."""
        if kill and self.process.poll() is None:
            sandbox._kill_group(self.process.pid)
        self.sock.close()
        try:
            self.process.wait(timeout=None if kill else 5.0)
        except subprocess.TimeoutExpired:
            sandbox._kill_group(self.process.pid)
            self.process.wait()
        shutil.rmtree(self.runs_dir, ignore_errors=True)


@dataclass
class _Job:
    index: int
    zygote: _Zygote
    started: float
    deadline: float
    cpu_soft: int
    out: sandbox._Capture
    err: sandbox._Capture
    fds: dict[int, sandbox._Capture]
    group: int | None = None
    reply: tuple[int, int, float, float, bool] | None = None
    replied_at: float = 0.0


_probed: dict[str, bool] | None = None
_probe_lock = threading.Lock()

_PROBE = sandbox._SECCOMP_PROBE + (
    "import os\n"
    "print(os.getuid(), os.getpid(), os.getppid(), os.readlink('/proc/self/ns/net'), "
    "os.readlink('/proc/self/ns/mnt'), os.readlink('/proc/self/ns/pid'), os.getcwd(), os.environ['HOME'], "
    "filtered)\n"
    "try:\n"
    "    open({marker!r}, 'w').close()\n"
    "except OSError:\n"
    "    pass\n"
)


class SandboxPool:
    """A pool of ``workers`` pre-started sandbox zygotes (default: the CPU count); see the module doc.

    Use it as a context manager or call :meth:`close`. :meth:`run_many` is safe to call from
    several threads (the calls take turns). A pool made in a process that then forks is not used
    by the child (its :meth:`run_many` refuses); the module-level :func:`run_many` makes the
    child a pool of its own.

    Example:
        >>> with SandboxPool(workers=2) as pool:
        ...     results = pool.run_many([Program(f"print({i} ** 2)") for i in range(4)])
        >>> [r.stdout for r in results]
        ['0\\n', '1\\n', '4\\n', '9\\n']
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = _check_workers(workers, "SandboxPool")
        self._lock = threading.Lock()
        self._zygotes: list[_Zygote] = []
        self._pid = os.getpid()
        self._closed = False
        self._fallback: bool | None = None  # decided on the first run
        self._plan, layers = sandbox._detect()
        if not layers["unprivileged_user"]:
            self._fallback = True  # run_python raises SandboxUnavailableError naming what is missing
        else:
            for _ in range(self.workers):
                self._start_zygote()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the zygotes (each ends after the run it may be in); the pool cannot be used after.

        Example:
            >>> pool = SandboxPool(workers=1)
            >>> pool.close()
            >>> pool.close()  # closing twice is fine
        """
        with self._lock:
            self._closed = True
            if os.getpid() != self._pid:
                for zygote in self._zygotes:
                    zygote.sock.close()  # the parent's zygotes are the parent's
                self._zygotes = []
                return
            for zygote in self._zygotes:
                zygote.stop()
            self._zygotes = []

    def isolation(self) -> dict[str, bool]:
        """The layers the pool's runs have here, as :func:`~rewardgym.envs.code.sandbox.isolation`
        reports them for ``run_python``, with ``pid_namespace`` probed (all False but
        ``separate_process`` and ``resource_limits`` means the pool runs ``run_python`` instead:
        then it reports ``run_python``'s layers).

        Example:
            >>> with SandboxPool(workers=1) as pool:
            ...     pool.isolation()["separate_process"]
            True
        """
        with self._lock:
            self._decide()
            if self._fallback:
                return sandbox.isolation()
            assert _probed is not None
            return dict(_probed)

    def run_many(
        self,
        programs: Sequence[Program],
        *,
        workers: int | None = None,
        timeout_s: float = 2.0,
        cpu_s: float = 1.0,
        memory_mb: int = 256,
        file_mb: int = 1,
        max_processes: int = 8,
        output_bytes: int = 1 << 20,
    ) -> list[RunResult]:
        """Run every program sandboxed, ``workers`` at a time (default: the pool's size), in any
        order; the results come back in the programs' order. The limits are ``run_python``'s and
        apply to each program alike.

        Example:
            >>> with SandboxPool(workers=1) as pool:
            ...     [r.ok for r in pool.run_many([Program("pass"), Program("1 / 0")], timeout_s=5.0)]
            [True, False]
        """
        checked = _check_programs(programs)
        limits = sandbox._check_limits(
            "run_many",
            timeout_s=timeout_s,
            cpu_s=cpu_s,
            memory_mb=memory_mb,
            file_mb=file_mb,
            max_processes=max_processes,
            output_bytes=output_bytes,
        )
        concurrency = _check_workers(workers, "run_many") if workers is not None else self.workers
        with self._lock:
            if self._closed:
                raise RuntimeError("SandboxPool: the pool is closed")
            if os.getpid() != self._pid:
                raise RuntimeError("SandboxPool: this pool belongs to the process that made it, not to a forked child")
            if not checked:
                return []
            self._decide()
            if self._fallback:
                return [run_python(source, files=files, **limits) for source, files in checked]
            concurrency = min(concurrency, len(checked))
            while len(self._zygotes) < concurrency:
                self._start_zygote()
            # Zygotes started since the last batch (more workers asked for, or replacements for
            # lost ones) must have sent their ready byte before their first request.
            for zygote in list(self._zygotes[:concurrency]):
                if not zygote.wait_ready(_BOOT_TIMEOUT_S):
                    zygote.stop(kill=True)
                    self._zygotes.remove(zygote)
            ready = self._zygotes[:concurrency]
            if not ready:
                return [run_python(source, files=files, **limits) for source, files in checked]
            return self._dispatch(checked, ready, limits)

    # -- inside -------------------------------------------------------------------------------

    def _start_zygote(self) -> _Zygote:
        zygote = _Zygote(self._plan)
        self._zygotes.append(zygote)
        return zygote

    def _replace(self, zygote: _Zygote) -> _Zygote:
        zygote.stop(kill=True)
        fresh = _Zygote(self._plan)
        self._zygotes[self._zygotes.index(zygote)] = fresh
        return fresh

    def _decide(self) -> None:
        """On the first run: wait for the zygotes and probe the layers; else use run_python."""
        global _probed
        if self._fallback is not None:
            return
        ready = all(z.wait_ready(_BOOT_TIMEOUT_S) for z in self._zygotes)
        if ready:
            with _probe_lock:
                if _probed is None:
                    _probed = self._probe()
            self._fallback = not _probed.get("pool", False)
        else:
            self._fallback = True
        if self._fallback:
            for zygote in self._zygotes:
                zygote.stop(kill=True)
            self._zygotes = []

    def _probe(self) -> dict[str, bool]:
        """Run a probe program through a zygote and check from inside that each layer took effect."""
        expected = sandbox.isolation()
        marker = os.path.join("/tmp", f"rewardgym-pool-probe-{os.getpid()}-{time.monotonic_ns()}")
        limits = {"timeout_s": 10.0, "cpu_s": 5.0, "memory_mb": 256, "file_mb": 1, "max_processes": 8}
        try:
            [result] = self._dispatch(
                [(_PROBE.format(marker=marker), {})], self._zygotes[:1], {**limits, "output_bytes": 4096}, probing=True
            )
        except _ProbeFailed:
            return {"pool": False}
        finally:
            leaked = os.path.lexists(marker)
            if leaked:
                os.unlink(marker)
        try:
            uid, pid, ppid, net, mnt, pid_ns, cwd, home, filtered = result.stdout.split()
        except ValueError:
            return {"pool": False}
        layers = {
            "separate_process": True,
            "resource_limits": True,
            "unprivileged_user": int(uid) != 0 or self._plan.user_namespace,
            "user_namespace": self._plan.user_namespace,
            "network_namespace": net != os.readlink("/proc/self/ns/net"),
            "pid_namespace": pid_ns != os.readlink("/proc/self/ns/pid") and int(pid) == 2 and int(ppid) == 1,
            "private_tmp": mnt != os.readlink("/proc/self/ns/mnt") and not leaked,
            "seccomp": self._plan.seccomp and filtered == "1",
            "subreaper": True,
        }
        # Every layer run_python has here, the pool must have too, and its own PID namespace.
        at_least = all(
            layers[k] or not expected[k] for k in ("unprivileged_user", "network_namespace", "private_tmp", "seccomp")
        )
        layers["pool"] = result.ok and at_least and layers["pid_namespace"] and cwd == home
        return layers

    def _dispatch(
        self,
        programs: list[tuple[str, dict[str, str]]],
        zygotes: list[_Zygote],
        limits: dict[str, Any],
        probing: bool = False,
    ) -> list[RunResult]:
        results: list[RunResult | None] = [None] * len(programs)
        pending = deque(range(len(programs)))
        idle = deque(zygotes)
        active: dict[_Zygote, _Job] = {}
        selector = selectors.DefaultSelector()
        timeout_s, output_bytes = limits["timeout_s"], limits["output_bytes"]
        header_limits = (
            sandbox._cpu_soft(limits["cpu_s"]),
            limits["memory_mb"],
            limits["file_mb"],
            limits["max_processes"],
        )
        rerun: list[int] = []

        def lost(job: _Job) -> None:
            """The zygote died or got stuck: replace it, and run the program through run_python."""
            selector.unregister(job.zygote.sock)
            for fd in list(job.fds):
                selector.unregister(fd)
                os.close(fd)
            del active[job.zygote]
            if job.group is not None:
                sandbox._kill_group(job.group)
                sandbox._reap_group(job.group, within_s=0.2)
            fresh = self._replace(job.zygote)
            if probing:
                raise _ProbeFailed
            if fresh.wait_ready(_BOOT_TIMEOUT_S):
                idle.append(fresh)
            rerun.append(job.index)

        def start(zygote: _Zygote, index: int) -> None:
            source, files = programs[index]
            payload = marshal.dumps((source, files))
            header = sandbox._REQUEST.pack(timeout_s, *header_limits, sandbox._draw_uid(), len(payload))
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            now = time.monotonic()
            out, err = sandbox._Capture(output_bytes), sandbox._Capture(output_bytes)
            job = _Job(
                index,
                zygote,
                now,
                now + timeout_s + _HOST_GRACE_S,
                header_limits[0],
                out,
                err,
                {out_r: out, err_r: err},
            )
            active[zygote] = job
            selector.register(zygote.sock, selectors.EVENT_READ, job)
            for fd in (out_r, err_r):
                os.set_blocking(fd, False)
                selector.register(fd, selectors.EVENT_READ, job)
            try:
                sent = socket.send_fds(zygote.sock, [header], [out_w, err_w])
                zygote.sock.sendall(header[sent:] + payload)
            except OSError:
                lost(job)
            finally:
                os.close(out_w)
                os.close(err_w)

        def finish(job: _Job) -> None:
            assert job.reply is not None
            _, status, utime, stime, timed_out = job.reply
            for fd in list(job.fds):
                selector.unregister(fd)
                os.close(fd)
            selector.unregister(job.zygote.sock)
            del active[job.zygote]
            idle.append(job.zygote)
            if job.reply[0] != 0:
                if probing:
                    raise _ProbeFailed
                rerun.append(job.index)  # a layer failed in the child: run_python decides
                return
            wall = time.monotonic() - job.started
            results[job.index] = sandbox._finish(status, utime + stime, job.cpu_soft, timed_out, job.out, job.err, wall)

        try:
            while pending or active:
                while pending and idle:
                    start(idle.popleft(), pending.popleft())
                if not active:
                    if pending and not idle:  # every zygote was lost and none could be restarted
                        rerun.extend(pending)
                        pending.clear()
                    continue
                now = time.monotonic()
                wake = min(j.deadline if j.reply is None else j.replied_at + 0.2 for j in active.values())
                for key, _ in selector.select(timeout=max(0.0, wake - now)):
                    job = key.data
                    if job.zygote not in active or active[job.zygote] is not job:
                        continue
                    if key.fileobj is job.zygote.sock:
                        try:
                            chunk = job.zygote.sock.recv(4096)
                        except OSError:
                            chunk = b""
                        if not chunk:
                            lost(job)
                            continue
                        job.zygote.buffer += chunk
                        self._parse(job)
                    else:
                        fd = key.fd
                        try:
                            data = os.read(fd, 65536)
                        except BlockingIOError:
                            continue
                        if data:
                            job.fds[fd].feed(data)
                        else:
                            selector.unregister(fd)
                            os.close(fd)
                            del job.fds[fd]
                now = time.monotonic()
                for job in list(active.values()):
                    if job.reply is not None and (not job.fds or now - job.replied_at > 0.2):
                        finish(job)
                    elif job.reply is None and now > job.deadline:
                        lost(job)  # the zygote did not answer in time: take it for stuck
        finally:
            for job in list(active.values()):
                for fd in job.fds:
                    os.close(fd)
                self._replace(job.zygote)  # interrupted mid-run: its stream is out of step
            selector.close()
        for index in rerun:
            source, files = programs[index]
            results[index] = run_python(source, files=files, **limits)
        return [r for r in results if r is not None]

    @staticmethod
    def _parse(job: _Job) -> None:
        buffer = job.zygote.buffer
        while buffer:
            if buffer[:1] == b"P" and len(buffer) >= sandbox._STARTED.size:
                job.group = sandbox._STARTED.unpack(bytes(buffer[: sandbox._STARTED.size]))[1]
                del buffer[: sandbox._STARTED.size]
            elif buffer[:1] == b"R" and len(buffer) >= sandbox._REPLY.size:
                _, kind, status, utime, stime, timed_out = sandbox._REPLY.unpack(bytes(buffer[: sandbox._REPLY.size]))
                del buffer[: sandbox._REPLY.size]
                job.reply = (kind, status, utime, stime, bool(timed_out))
                job.replied_at = time.monotonic()
            else:
                return


class _ProbeFailed(Exception):
    pass


def _check_workers(workers: object, caller: str) -> int:
    if workers is None:
        return max(1, os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"{caller}: workers must be a positive int or None, got {workers!r}")
    return workers


def _check_programs(programs: object) -> list[tuple[str, dict[str, str]]]:
    if isinstance(programs, (str, bytes)) or not isinstance(programs, Sequence):
        raise TypeError(f"run_many: programs must be a sequence of Program, got {type(programs).__name__}")
    checked = []
    for i, program in enumerate(programs):
        if not isinstance(program, Program):
            raise TypeError(f"run_many: programs[{i}] must be a Program, got {type(program).__name__}")
        if not isinstance(program.source, str):
            raise TypeError(f"run_many: programs[{i}].source must be a str, got {type(program.source).__name__}")
        checked.append((program.source, sandbox._check_files(program.files, f"run_many: programs[{i}]")))
    return checked


_default: SandboxPool | None = None
_default_lock = threading.Lock()


def _default_pool(workers: int | None) -> SandboxPool:
    global _default
    with _default_lock:
        if _default is not None and _default._pid != os.getpid():
            _default.close()  # a forked child's copy: leave the parent's zygotes alone
            _default = None
        if _default is None:
            _default = SandboxPool(workers)
        return _default


@atexit.register
def _close_default() -> None:
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
            _default = None


def run_many(
    programs: Sequence[Program],
    *,
    workers: int | None = None,
    timeout_s: float = 2.0,
    cpu_s: float = 1.0,
    memory_mb: int = 256,
    file_mb: int = 1,
    max_processes: int = 8,
    output_bytes: int = 1 << 20,
) -> list[RunResult]:
    """Run every program sandboxed through the module's default :class:`SandboxPool`, made on the
    first call (with ``workers`` zygotes, default the CPU count; a later call that asks for more
    starts more) and closed at exit. Results in the programs' order; the limits are
    :func:`~rewardgym.envs.code.sandbox.run_python`'s, for each program. Raises
    :class:`~rewardgym.envs.code.sandbox.SandboxUnavailableError` where ``run_python`` would.

    Example:
        >>> [r.stdout for r in run_many([Program("print(open('x.txt').read())", files={"x.txt": "hi"})])]
        ['hi\\n']
    """
    pool = _default_pool(workers)
    return pool.run_many(
        programs,
        workers=workers,
        timeout_s=timeout_s,
        cpu_s=cpu_s,
        memory_mb=memory_mb,
        file_mb=file_mb,
        max_processes=max_processes,
        output_bytes=output_bytes,
    )


def pool_isolation() -> dict[str, bool]:
    """The isolation layers the code envs' runs have here: those of the default pool, which
    grades every ``rewardgym/Code-v0`` step (:meth:`SandboxPool.isolation`).

    Example:
        >>> layers = pool_isolation()
        >>> layers["separate_process"], layers["resource_limits"]
        (True, True)
    """
    return _default_pool(None).isolation()
