"""Run untrusted Python source in a sandboxed child process and report what happened.

Every grader of the code envs, hardened or flawed, runs programs through :func:`run_python`. Each
run gets:

- a separate process: the interpreter in isolated mode (``python -E -s -S -B``, which is ``-I``
  but for ``-P``: no ``PYTHON*`` variables, no user site, no ``site`` packages, no bytecode
  written; the program's directory stays on ``sys.path`` so that it imports the files given), in
  a session and process group of its own;
- a fresh temporary directory as its working directory, holding the program (``main.py``) and the
  ``files`` given, removed afterwards whatever happens;
- resource limits set in the child before ``exec``: ``RLIMIT_CPU`` (soft at ``cpu_s``, hard one
  second later), ``RLIMIT_AS`` (``memory_mb``), ``RLIMIT_FSIZE`` (``file_mb``), ``RLIMIT_NPROC``
  (``max_processes``) and ``RLIMIT_CORE`` = 0;
- a wall-clock timeout after which the whole process group is killed (``SIGKILL``); the group is
  killed after every run anyway, so a child that sleeps on after the program exits dies too;
- a scrubbed environment (``PATH``, ``LANG``, ``LC_ALL``, ``PYTHONHASHSEED``,
  ``PYTHONIOENCODING``, ``HOME`` = the working directory), no stdin (``/dev/null``), stdout and
  stderr captured up to ``output_bytes`` each (the rest is read and dropped, and the result says so);
- an unprivileged user, no network and private ``/tmp``, ``/var/tmp`` and ``/dev/shm``, as far as
  the kernel allows (see :func:`isolation`).

The isolation layers, in the child between ``fork`` and ``exec`` (``preexec_fn``):

- **run as root** (these machines and CI): ``unshare(CLONE_NEWNET)`` through libc (a network
  namespace created by root needs no user namespace; its only interface, loopback, is down, so no
  address is reachable), then ``setgroups([])``, ``setgid`` and ``setuid`` to a uid and gid of
  the run's own, drawn at random from ``RUN_IDS`` (ids no account uses). ``RLIMIT_NPROC`` counts
  the processes of the real uid and does not bind root, so dropping the uid is what makes the
  process limit hold; a uid per run keeps concurrent runs (other processes' included) and the
  not-yet-reaped zombies of earlier runs from counting against it.
- **private temporary directories** (root, or inside the user namespace): the same ``unshare`` also
  takes ``CLONE_NEWNS``, a mount namespace of the run's own; the child makes the whole mount tree
  private (``mount(NULL, "/", NULL, MS_REC | MS_PRIVATE)``, so nothing propagates back to the
  host) and mounts a fresh ``tmpfs`` (``nosuid,nodev``, mode 1777, ``file_mb`` in size, at least
  1 MiB) over each of :data:`PRIVATE_DIRS` that exists. The program then writes nothing that
  outlives it or that another process sees there, and cannot reach the Unix sockets other
  programs keep in them (``/tmp/ray/...``, X11, database sockets); abstract Unix sockets belong to
  the network namespace and are cut off with it. The run's working directory is made by the
  parent under the host's ``/tmp`` (``tempfile.mkdtemp``), which the new ``tmpfs`` hides; since
  ``Popen`` changes into it before ``preexec_fn``, the child's current directory still points at
  it, and the child bind-mounts it (``/proc/self/cwd``) back at its own path inside the new
  ``tmpfs`` and changes into it again. So the path, ``HOME``, ``sys.path[0]`` and the files given
  are as without the layer, the directory stays writable by the run's uid, and the parent removes
  it afterwards as before (the namespace, with its mounts, goes with the run's last process). The
  root file system is not remounted read-only: the run's uid can already write only where any
  user may, and the world-writable places that matter are these three.
- **run as another user**: the uid is already unprivileged; ``unshare(CLONE_NEWUSER |
  CLONE_NEWNET)`` gives a network namespace where unprivileged user namespaces are allowed.
- **seccomp** (the last step, after the uid and the limits): ``prctl(PR_SET_NO_NEW_PRIVS)`` and a
  seccomp-BPF filter that makes the system calls a test program has no business making fail with
  ``EPERM`` (:data:`SECCOMP_DENIED`): debugging other processes (``ptrace``,
  ``process_vm_readv``/``writev``, ...), mounts and ``chroot``, new namespaces (``unshare``,
  ``setns``, ``clone`` with a namespace flag), the kernel keyring, ``bpf``, ``perf_event_open``,
  ``userfaultfd``, ``io_uring``, kernel modules, ``kexec``, ``reboot``, swap, accounting, the
  system clock, I/O ports, ``personality``, and ``socket`` for any family but ``AF_UNIX``. The
  other layers already make most of these fail for want of privilege; the filter keeps the
  kernel code behind them out of the program's reach altogether (where most kernel privilege
  escalations start), and still holds where a layer is missing (``allow_weaker=True`` as root, a
  kernel that allows unprivileged user namespaces). The filter is built once in this process with
  ``pyseccomp`` (libseccomp's binding) and handed to the child as raw BPF, installed with plain
  ``prctl``; without ``pyseccomp`` or where the kernel refuses it, runs go without it
  (``isolation()["seccomp"]`` is False).

A layer the kernel refuses is left out and reported by :func:`isolation`, which finds out once per
process by running a probe program through the sandbox and reading, from inside, its uid and its
network namespace. The minimum is a separate process with its limits under a uid other than 0 (or
in a user namespace); where that cannot be had, :func:`run_python` raises
:class:`SandboxUnavailableError` naming what is missing, unless the caller passes
``allow_weaker=True``. No network namespace does not stop a run: it is reported as
``isolation()["network_namespace"] = False``, so that the docs and ``rewardgym list`` can say so.

The process that calls :func:`run_python` makes itself the child subreaper
(``prctl(PR_SET_CHILD_SUBREAPER)``) so that the killed group's orphans are reaped at once. The
interpreter is this one where the run's user may execute it, else the system's of the same version
(:func:`interpreter`).

After every run the process group is killed, and then (where the uid was dropped) every process
left with the run's uid: a grandchild that left the group with ``setsid`` dies too. The worker
pool (:mod:`~rewardgym.envs.code.pool`) adds a PID namespace per run, and starts no interpreter
per run. Not here: a seccomp allow-list (the filter denies the calls listed and allows every
other, so a kernel bug behind an allowed call stays in reach); a root file system of its own: the
program still reads what any user may read, and writes to any other world-writable place outside
:data:`PRIVATE_DIRS` (``/run/lock`` where it is so, for instance); where the kernel refuses the
mount namespace (``isolation()["private_tmp"]`` is False) it writes to the host's ``/tmp`` and
``/dev/shm`` and can connect to the Unix sockets there. Run as a user other than root,
``RLIMIT_NPROC`` counts that user's other processes too.

Example:
    >>> from rewardgym.envs.code.sandbox import run_python
    >>> result = run_python("import data; print(data.X * 2)", files={"data.py": "X = 21"})
    >>> result.exit_code, result.stdout
    (0, '42\\n')
    >>> run_python("while True: pass", timeout_s=0.5, cpu_s=5.0).timed_out
    True
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import errno
import gc
import marshal
import os
import resource
import secrets
import select
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

# Only the standard library is imported here at the top: the pool's zygote (rewardgym.envs.code.pool)
# loads this file by path into a bare interpreter (-E -s -S), where rewardgym's dependencies are not.

__all__ = ["RunResult", "SandboxUnavailableError", "interpreter", "isolation", "run_python"]

RUN_IDS = range(1 << 30, (1 << 30) + (1 << 20))
"""The uids (and equal gids) a run drops to when the sandbox runs as root, one drawn per run."""

SCRIPT_NAME = "main.py"
"""The name the program gets in its working directory."""

_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNS = 0x00020000
_MS_NOSUID = 0x2
_MS_NODEV = 0x4
_MS_BIND = 0x1000
_MS_REC = 0x4000
_MS_PRIVATE = 0x40000

PRIVATE_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
"""The world-writable directories each run sees as fresh, empty ``tmpfs`` of its own."""

# -I without its -P: the program's directory stays first on sys.path, so it imports the files given.
_INTERPRETER_FLAGS = ("-E", "-s", "-S", "-B")


class SandboxUnavailableError(RuntimeError):
    """The minimum isolation (a separate process under an unprivileged uid) cannot be had here."""


@dataclass(frozen=True)
class RunResult:
    """What one sandboxed run did.

    ``exit_code`` is the program's exit status, or ``None`` when a signal ended it (then ``signal``
    names it: ``"SIGKILL"``, ``"SIGXCPU"``, ...). ``timed_out`` says the wall-clock timeout killed it;
    ``cpu_exceeded`` that it used up its CPU time (``SIGXCPU``, or killed with its CPU time at the
    limit); ``memory_exceeded`` that it failed on the memory limit as far as can be told (a
    ``MemoryError`` in its stderr, since ``RLIMIT_AS`` makes allocations fail rather than sending a
    signal). ``stdout`` and ``stderr`` are decoded as UTF-8 (bad bytes replaced) and cut at the
    byte cap, ``stdout_truncated``/``stderr_truncated`` saying so. ``wall_s`` is the time from start
    to the end of the run, ``cpu_s`` the program's own user and system time (its children's not
    included).
    """

    exit_code: int | None
    signal: str | None
    timed_out: bool
    cpu_exceeded: bool
    memory_exceeded: bool
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    wall_s: float
    cpu_s: float

    @property
    def ok(self) -> bool:
        """Whether the program ran to completion with exit status 0."""
        return self.exit_code == 0 and not self.timed_out


@dataclass(frozen=True)
class _Plan:
    """Which isolation layers the child sets up before ``exec``."""

    network_namespace: bool
    user_namespace: bool
    drop_uid: bool
    interpreter: str = sys.executable
    private_tmp: bool = False
    seccomp: bool = False


# Loaded once in the parent: the child between fork and exec must not load libraries (the loader's
# lock may have been held by another thread at the fork).
_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_UNSHARE = _LIBC.unshare
_PRCTL = _LIBC.prctl
_MOUNT = _LIBC.mount
_MOUNT.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_MOUNT.restype = ctypes.c_int


# --- seccomp ------------------------------------------------------------------------------------
# The filter is built once, in the host, with pyseccomp (libseccomp's binding); the child only hands
# the exported BPF program to the kernel with prctl, so neither a preexec_fn nor the zygote (which
# cannot import pyseccomp) loads anything for it.

SECCOMP_DENIED = (
    # Other processes' memory and state (what a debugger does): ptrace attaches, the rest read,
    # write or compare another process's memory and descriptors.
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    # The mount table and the root directory, by the old and the new (file descriptor) mount API.
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    # New namespaces and joining others (clone's namespace flags are refused too, see below): a user
    # namespace would give the program root's capabilities over a part of the kernel's code.
    "unshare",
    "setns",
    # The kernel keyring (not namespaced: shared with the host's processes of the same uid).
    "keyctl",
    "add_key",
    "request_key",
    # Large kernel surfaces with a record of privilege escalations. io_uring also performs
    # operations (IORING_OP_SOCKET, ...) that no system call of the program's goes through, so it
    # would get past this filter's own rules.
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    # The machine itself: kernels, modules, reboot, swap, process accounting, quotas, the kernel
    # log, and open_by_handle_at (the call behind the "shocker" container escape).
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "syslog",
    "open_by_handle_at",
    # The system clock (not namespaced).
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    # Hardware I/O ports (x86), and the execution domain (personality can switch off address space
    # randomisation for the program's children).
    "iopl",
    "ioperm",
    "personality",
)
"""The system calls the seccomp filter fails with ``EPERM`` (those an architecture lacks are skipped).

Besides these, ``socket`` fails with ``EPERM`` for every address family but ``AF_UNIX`` (a test
program has no business with the network, netlink or raw packets; ``socketpair`` and Unix sockets,
which ``multiprocessing`` and ``asyncio`` use, stay), ``clone`` with any namespace flag fails with
``EPERM`` like ``unshare``, and ``clone3``, whose flags a seccomp filter cannot read, fails with
``ENOSYS``, on which the C library falls back to ``clone``. Every other call is allowed. Docker's
default profile refuses the same calls (it allows rather than denies, and refuses more)."""

_CLONE_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
"""CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET (NEWTIME is unshare's and clone3's only)."""

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2


class _SockFprog(ctypes.Structure):
    """The kernel's ``struct sock_fprog``: the number of BPF instructions and where they are."""

    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_seccomp_bpf: list[bytes | None] = []  # built on first use, in the host (None: not to be had here)
_seccomp_program: list[Any] = []  # this process's copy of it, ready for prctl: fprog, buffer, args


def _build_seccomp_filter() -> bytes | None:
    """The seccomp filter as raw BPF, built with pyseccomp; None where pyseccomp or libseccomp is
    missing or refuses (the runs then go without the layer)."""
    try:
        import pyseccomp
    except Exception:  # noqa: BLE001 - no binding, or no libseccomp.so.2 for it to load
        return None
    try:
        deny = pyseccomp.ERRNO(errno.EPERM)
        bpf = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
        # A system call of another ABI (i386's int 0x80, x32) would get past rules written for the
        # native numbers: the whole process is killed instead.
        bpf.set_attr(pyseccomp.Attr.ACT_BADARCH, pyseccomp.KILL_PROCESS)
        for name in SECCOMP_DENIED:
            if pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name) < 0:
                continue  # not on this architecture (iopl on arm64, say)
            bpf.add_rule(deny, name)
        bpf.add_rule(deny, "socket", pyseccomp.Arg(0, pyseccomp.NE, socket.AF_UNIX))
        flags_arg = 1 if pyseccomp.system_arch() in (pyseccomp.Arch.S390, pyseccomp.Arch.S390X) else 0
        for flag in _CLONE_NAMESPACE_FLAGS:
            bpf.add_rule(deny, "clone", pyseccomp.Arg(flags_arg, pyseccomp.MASKED_EQ, flag, flag))
        bpf.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
        with tempfile.TemporaryFile() as handle:
            bpf.export_bpf(handle)
            handle.seek(0)
            program = handle.read()
    except (OSError, ValueError, AttributeError):
        return None
    return program if program and len(program) % 8 == 0 else None


def _seccomp_filter() -> bytes | None:
    """The filter's BPF for this host, built once (see :data:`SECCOMP_DENIED`)."""
    if not _seccomp_bpf:
        program = _build_seccomp_filter()
        _seccomp_bpf.append(program)
        if program is not None:
            _load_seccomp(program)
    return _seccomp_bpf[0]


def _load_seccomp(program: bytes) -> None:
    """Make ready (before any fork) the ``sock_fprog`` that :func:`_install_seccomp` hands to the kernel."""
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    zero = ctypes.c_ulong(0)
    no_new_privs = (ctypes.c_int(_PR_SET_NO_NEW_PRIVS), ctypes.c_ulong(1), zero, zero, zero)
    set_filter = (ctypes.c_int(_PR_SET_SECCOMP), ctypes.c_ulong(_SECCOMP_MODE_FILTER), ctypes.byref(fprog), zero, zero)
    _seccomp_program[:] = [fprog, buffer, no_new_privs, set_filter]


def _install_seccomp() -> None:
    """In the program's process, as the last step before it runs: no new privileges (which an
    unprivileged process needs to install a filter; it also makes set-user-ID files run with
    the program's own uid), then the filter, for this process and all it starts."""
    _, _, no_new_privs, set_filter = _seccomp_program
    for args, what in ((no_new_privs, "PR_SET_NO_NEW_PRIVS"), (set_filter, "PR_SET_SECCOMP")):
        if _PRCTL(*args) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"prctl({what}): {os.strerror(error)}")


def _libc_unshare(flags: int) -> None:
    if _UNSHARE(ctypes.c_int(flags)) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"unshare({flags:#x}): {os.strerror(errno)}")


def _libc_mount(source: bytes | None, target: bytes, fstype: bytes | None, flags: int, data: bytes | None) -> None:
    if _MOUNT(source, target, fstype, ctypes.c_ulong(flags), data) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount({source!r}, {target!r}, {fstype!r}, {flags:#x}): {os.strerror(errno)}")


def _private_tmp_steps(workdir: str, size_mb: int) -> Callable[[], None]:
    """Mount fresh ``tmpfs`` over :data:`PRIVATE_DIRS` and bind the working directory back in.

    Everything is computed here, in the parent; the returned function, run in the child inside its
    new mount namespace and still as root, only calls ``mount``, ``makedirs`` and ``chdir``.
    """
    real_workdir = os.path.realpath(workdir)
    masked = [os.path.realpath(d) for d in PRIVATE_DIRS if os.path.isdir(d)]
    masked = list(dict.fromkeys(masked))
    covering = [d for d in masked if real_workdir.startswith(d.rstrip("/") + "/")]
    data = f"size={max(1, size_mb)}m,mode=1777".encode()
    targets = [d.encode() for d in masked]
    work_b = real_workdir.encode()

    def mount_private() -> None:
        # Mounts made here must not propagate back to the host's namespace.
        _libc_mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None)
        for target in targets:
            _libc_mount(b"tmpfs", target, b"tmpfs", _MS_NOSUID | _MS_NODEV, data)
        if covering:
            # Popen changed into the working directory before this ran, so the cwd still points at
            # it under the new tmpfs: bind it back at its own path (the tmpfs is this run's alone).
            os.makedirs(real_workdir, mode=0o755, exist_ok=True)
            _libc_mount(b"/proc/self/cwd", work_b, None, _MS_BIND, None)
            os.chdir(real_workdir)

    return mount_private


def _enter_namespaces(plan: _Plan, mount_ns: bool, extra: int = 0) -> None:
    """Unshare the plan's namespaces (and ``extra`` ones, the pool's PID namespace) in this process."""
    flags = (_CLONE_NEWNET if plan.network_namespace else 0) | (_CLONE_NEWNS if mount_ns else 0) | extra
    if plan.user_namespace:
        _libc_unshare(_CLONE_NEWUSER | flags)
    elif flags:
        _libc_unshare(flags)


def _drop_privileges(plan: _Plan, uid: int, limits: Mapping[int, tuple[int, int]]) -> None:
    """Become the run's own uid and gid (as root) and set the run's resource limits."""
    if plan.drop_uid:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    for limit, (soft, hard) in limits.items():
        resource.setrlimit(limit, (soft, hard))


def _preexec(
    plan: _Plan, uid: int, limits: Mapping[int, tuple[int, int]], mount_private: Callable[[], None] | None = None
) -> Callable[[], None]:
    """The function the child runs between fork and exec; any exception aborts the run."""

    def setup() -> None:
        mount_ns = plan.private_tmp and mount_private is not None
        _enter_namespaces(plan, mount_ns)
        if mount_ns and mount_private is not None:
            mount_private()
        _drop_privileges(plan, uid, limits)
        if plan.seccomp:
            _install_seccomp()

    return setup


def _limits(cpu_s: float, memory_mb: int, file_mb: int, max_processes: int) -> dict[int, tuple[int, int]]:
    """The rlimits of a run: CPU (soft at ``cpu_s`` rounded up, hard a second later), AS, FSIZE, NPROC, CORE."""
    cpu_soft = _cpu_soft(cpu_s)
    return {
        resource.RLIMIT_CPU: (cpu_soft, cpu_soft + 1),
        resource.RLIMIT_AS: (memory_mb << 20, memory_mb << 20),
        resource.RLIMIT_FSIZE: (file_mb << 20, file_mb << 20),
        resource.RLIMIT_NPROC: (max_processes, max_processes),
        resource.RLIMIT_CORE: (0, 0),
    }


def _cpu_soft(cpu_s: float) -> int:
    return max(1, int(-(-cpu_s // 1)))  # RLIMIT_CPU counts whole seconds


def _draw_uid() -> int:
    return RUN_IDS.start + secrets.randbelow(len(RUN_IDS))


def _write_program(workdir: str, source: str, files: Mapping[str, str]) -> None:
    """Write the files given and the program (``main.py``) into the run's directory."""
    for name, text in {**files, SCRIPT_NAME: source}.items():
        path = os.path.join(workdir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", errors="surrogatepass") as handle:
            handle.write(text)


def _open_workdir(workdir: str, plan: _Plan, uid: int) -> None:
    """Let the run's uid write in its directory (the files in it stay root's, readable)."""
    if plan.drop_uid:
        os.chown(workdir, uid, uid)
    os.chmod(workdir, 0o755)


def _scrubbed_env(home: str) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONIOENCODING": "utf-8",
        "HOME": home,
    }


def _check_files(files: object, caller: str = "run_python") -> dict[str, str]:
    if files is None:
        return {}
    if not isinstance(files, Mapping):
        raise TypeError(f"{caller}: files must be a dict of relative path -> text, got {type(files).__name__}")
    checked = {}
    for name, text in files.items():
        if not isinstance(name, str) or not name or "\x00" in name or "\\" in name:
            raise ValueError(f"{caller}: file name must be a non-empty relative path, got {name!r}")
        path = PurePosixPath(name)
        if path.is_absolute() or any(part in ("..", ".", "") for part in name.split("/")):
            raise ValueError(f"{caller}: file name must be a relative path inside the run's directory, got {name!r}")
        if name == SCRIPT_NAME:
            raise ValueError(f"{caller}: file name {SCRIPT_NAME!r} is the program's own, choose another")
        if not isinstance(text, str):
            raise TypeError(f"{caller}: files[{name!r}] must be a str, got {type(text).__name__}")
        checked[name] = text
    return checked


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class _Capture:
    """One output stream of a run: the first ``cap`` bytes kept, the rest read and dropped."""

    __slots__ = ("cap", "data", "truncated")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.truncated = False

    def feed(self, chunk: bytes) -> None:
        room = self.cap - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        if len(chunk) > room:
            self.truncated = True


def _finish(
    status: int, used_cpu: float, cpu_soft: int, timed_out: bool, out: _Capture, err: _Capture, wall: float
) -> RunResult:
    """The :class:`RunResult` of a run from its wait status, CPU time and captured output."""
    exit_code = os.waitstatus_to_exitcode(status)
    killed_by = _signal_name(-exit_code) if exit_code < 0 else None
    stderr = bytes(err.data).decode("utf-8", errors="replace")
    cpu_exceeded = killed_by == "SIGXCPU" or (killed_by == "SIGKILL" and not timed_out and used_cpu >= cpu_soft - 0.05)
    return RunResult(
        exit_code=None if killed_by else exit_code,
        signal=killed_by,
        timed_out=timed_out,
        cpu_exceeded=cpu_exceeded,
        memory_exceeded=exit_code != 0 and "MemoryError" in stderr,
        stdout=bytes(out.data).decode("utf-8", errors="replace"),
        stderr=stderr,
        stdout_truncated=out.truncated,
        stderr_truncated=err.truncated,
        wall_s=wall,
        cpu_s=used_cpu,
    )


def _run(
    source: str,
    files: Mapping[str, str],
    plan: _Plan,
    *,
    timeout_s: float,
    cpu_s: float,
    memory_mb: int,
    file_mb: int,
    max_processes: int,
    output_bytes: int,
) -> RunResult:
    limits = _limits(cpu_s, memory_mb, file_mb, max_processes)
    workdir = tempfile.mkdtemp(prefix="rewardgym-sandbox-")
    process: subprocess.Popen[bytes] | None = None
    start = time.monotonic()
    uid = _draw_uid()
    try:
        _write_program(workdir, source, files)
        _open_workdir(workdir, plan, uid)
        process = subprocess.Popen(
            [plan.interpreter, *_INTERPRETER_FLAGS, SCRIPT_NAME],
            cwd=workdir,
            env=_scrubbed_env(workdir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
            preexec_fn=_preexec(plan, uid, limits, _private_tmp_steps(workdir, file_mb) if plan.private_tmp else None),
        )
        outcome = _supervise(process, start + timeout_s, output_bytes)
    finally:
        if process is not None:
            _kill_group(process.pid)
            _reap_group(process.pid)
            if plan.drop_uid:
                _kill_uid(uid)
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
        shutil.rmtree(workdir, ignore_errors=True)
    status, usage, timed_out, out, err = outcome
    return _finish(
        status, usage.ru_utime + usage.ru_stime, _cpu_soft(cpu_s), timed_out, out, err, time.monotonic() - start
    )


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _reap_group(pgid: int, within_s: float = 1.0) -> None:
    """Reap the killed group's orphans, which come to this process as their subreaper.

    Left to a slow init, their zombies would count against the next run's ``RLIMIT_NPROC``.
    """
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-pgid, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            time.sleep(0.001)


def _kill_uid(uid: int) -> None:
    """Kill every process left with the run's uid (one that left the group with ``setsid``).

    A helper forked as that uid sends ``kill(-1, SIGKILL)``, which reaches exactly the processes
    of the uid (the run's own: no other process uses it); its exit status says whether there were
    any, and only then are the killed orphans (which came to this process, the subreaper) reaped.
    """
    helper = os.fork()
    if helper == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            os._exit(0)  # none left
        except BaseException:  # noqa: BLE001
            os._exit(2)
        os._exit(1)
    _, status = os.waitpid(helper, 0)
    if os.waitstatus_to_exitcode(status) != 1:
        return
    me = str(os.getpid())
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        left = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/status") as handle:
                    fields = dict(line.split(":", 1) for line in handle if line[:4] in ("PPid", "Uid:"))
            except (OSError, ValueError):
                continue
            if fields.get("PPid", "").strip() == me and int(fields.get("Uid", "0").split()[0]) == uid:
                left += 1
                try:
                    os.waitpid(int(entry), os.WNOHANG)
                except ChildProcessError:
                    pass
        if not left:
            return
        time.sleep(0.005)


_PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> bool:
    return bool(_PRCTL(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)


def _supervise(
    process: subprocess.Popen[bytes], deadline: float, cap: int
) -> tuple[int, resource.struct_rusage, bool, _Capture, _Capture]:
    """Read both pipes up to ``cap`` bytes each until the program ends or the deadline passes.

    Reaps the program with ``wait4`` (for its CPU time) and marks the ``Popen`` as reaped.
    """
    assert process.stdout is not None and process.stderr is not None
    out_fd, err_fd = process.stdout.fileno(), process.stderr.fileno()
    captures = {out_fd: _Capture(cap), err_fd: _Capture(cap)}
    selector = selectors.DefaultSelector()
    for fd in captures:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    status: tuple[int, resource.struct_rusage] | None = None
    timed_out = False
    exited_at: float | None = None
    pause = 0.0005
    try:
        while True:
            if status is None:
                pid, raw, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    status = (raw, usage)
                    exited_at = time.monotonic()
                    # Children left behind in the group die with the program.
                    _kill_group(process.pid)
            now = time.monotonic()
            if status is None and now >= deadline:
                timed_out = True
                _kill_group(process.pid)
                _, raw, usage = os.wait4(process.pid, 0)
                status = (raw, usage)
                exited_at = now
            if not selector.get_map():
                if status is not None:
                    break
                # Both pipes closed but the program still runs: wait for it, a little longer each time.
                time.sleep(min(pause, max(0.0, deadline - now)))
                pause = min(pause * 2, 0.02)
                continue
            if status is not None and exited_at is not None and now - exited_at > 0.2:
                break  # a process outside the group holds the pipes: stop reading
            wait = 0.2 if status is not None else min(max(0.0, deadline - now), 0.05)
            for key, _ in selector.select(timeout=wait):
                try:
                    chunk = os.read(key.fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    selector.unregister(key.fd)
                    continue
                captures[key.fd].feed(chunk)
    finally:
        selector.close()
        if status is None:
            _kill_group(process.pid)
            _, raw, usage = os.wait4(process.pid, 0)
            status = (raw, usage)
        process.returncode = os.waitstatus_to_exitcode(status[0])
    return status[0], status[1], timed_out, captures[out_fd], captures[err_fd]


def _interpreters() -> list[str]:
    """Interpreters to try, this one first, then the system's of the same version.

    The run's user may not be able to run ``sys.executable`` (a pyenv under ``/root``, mode 0700); the
    system's interpreter of the same minor version then runs the programs.
    """
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    found = [sys.executable]
    for directory in ("/usr/local/bin", "/usr/bin", "/bin"):
        path = os.path.join(directory, version)
        if os.path.isfile(path) and os.path.realpath(path) not in map(os.path.realpath, found):
            found.append(path)
    return found


# Sets `filtered`: creating an AF_INET socket fails with EPERM (the network namespace alone lets it
# be made) and the kernel says the process runs under a seccomp filter.
_SECCOMP_PROBE = (
    "import socket\n"
    "try:\n"
    "    socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()\n"
    "    filtered = 0\n"
    "except PermissionError:\n"
    "    with open('/proc/self/status') as status:\n"
    "        filtered = int('Seccomp:\\t2' in status.read())\n"
)

_PROBE = _SECCOMP_PROBE + (
    "import os\n"
    "print(os.getuid(), os.readlink('/proc/self/ns/net'), os.readlink('/proc/self/ns/mnt'), filtered)\n"
    "try:\n"
    "    open({marker!r}, 'w').close()\n"
    "except OSError:\n"
    "    pass\n"
)

_detected: tuple[_Plan, dict[str, bool]] | None = None


def _detect() -> tuple[_Plan, dict[str, bool]]:
    """Try the strongest plan first, then weaker ones, and check from inside what took effect."""
    global _detected
    if _detected is not None:
        return _detected
    root = os.geteuid() == 0
    if root:
        base = [_Plan(True, False, True), _Plan(False, False, True), _Plan(False, False, False)]
    else:
        base = [_Plan(True, True, False), _Plan(False, True, False), _Plan(False, False, False)]
    # The seccomp filter where it can be had, else the same plan without it.
    filters = (True, False) if _seccomp_filter() is not None else (False,)
    candidates = [
        dataclasses.replace(p, private_tmp=private, seccomp=seccomp)
        for p in base
        for private in (True, False)
        for seccomp in filters
    ]
    own_net = os.readlink("/proc/self/ns/net")
    own_mnt = os.readlink("/proc/self/ns/mnt")
    subreaper = _become_subreaper()
    interpreters = _interpreters()
    for plan in (dataclasses.replace(p, interpreter=i) for p in candidates for i in interpreters):
        # A file the probe writes in /tmp must not show up here when /tmp is private.
        marker = os.path.join("/tmp", f"rewardgym-sandbox-probe-{secrets.token_hex(8)}")
        try:
            probe = _run(
                _PROBE.format(marker=marker),
                {},
                plan,
                timeout_s=10.0,
                cpu_s=5.0,
                memory_mb=256,
                file_mb=1,
                max_processes=64,
                output_bytes=4096,
            )
        except (subprocess.SubprocessError, PermissionError):
            continue  # the kernel refused a layer in the child, or its user cannot run this interpreter
        finally:
            leaked = os.path.lexists(marker)
            if leaked:
                os.unlink(marker)
        if probe.exit_code != 0:
            continue
        uid, net, mnt, filtered = probe.stdout.split()
        if plan.private_tmp and (leaked or mnt == own_mnt):
            continue  # the mounts did not take effect: try the plan without them
        if plan.seccomp and filtered != "1":
            continue  # the filter did not take effect: try the plan without it
        layers = {
            "separate_process": True,
            "resource_limits": True,
            "unprivileged_user": int(uid) != 0 or plan.user_namespace,
            "user_namespace": plan.user_namespace,
            "network_namespace": net != own_net,
            "pid_namespace": False,
            "private_tmp": plan.private_tmp and not leaked and mnt != own_mnt,
            "seccomp": plan.seccomp and filtered == "1",
            "subreaper": subreaper,
        }
        _detected = (plan, layers)
        _interpreter_in_use[0] = plan.interpreter
        return _detected
    raise SandboxUnavailableError("run_python: could not start a sandboxed Python process at all")


# ----------------------------------------------------------------------------------------------
# The pool's zygote (rewardgym.envs.code.pool starts it; it runs this code, not the host).
#
# A zygote is a bare interpreter (-E -s -S -B, the scrubbed environment) started once per pool
# worker, running as the host's user. It holds nothing secret: per run it reads only a fixed
# header (limits, uid, the payload's length) and two pipe ends (the program's stdout and stderr,
# whose read ends stay with the host), and forks:
#
#   C1 (host PID namespace): new session; reads the payload (source and files) straight from the
#       socket, so that neither the zygote nor later runs ever hold it; writes the files; unshares
#       the plan's mount namespace and a new PID namespace (the network namespace is the zygote's,
#       entered once at its start); forks
#   C2 (PID 1 of the new namespace, root): private tmpfs and a fresh /proc; forks the program,
#       reaps orphans, kills everything in the namespace at the deadline, reports the program's wait
#       status and CPU time, and exits, which kills whatever is left in the namespace;
#   C3 (PID 2): stdio onto the pipes, every other descriptor closed, the run's uid and limits, the
#       seccomp filter (whose BPF the host passed at the zygote's start), then runs main.py as the
#       interpreter runs a script (PyRun_SimpleFileExFlags in a fresh __main__).

_REQUEST = struct.Struct("=dqqqqqQ")  # timeout_s, cpu_soft, memory_mb, file_mb, max_processes, uid, payload bytes
_STARTED = struct.Struct("=ci")  # b"P", C1's pid (its process group)
_REPLY = struct.Struct("=cbiddb")  # b"R", kind (0 ran, 1 setup failed), wait status, utime, stime, timed out
_STATUS = struct.Struct("=cidd?")  # C2 to the zygote: b"S", wait status, utime, stime, timed out
_CLONE_NEWPID = 0x20000000
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_MS_NOEXEC = 0x8
_GRACE_S = 0.5


def _plan_arg(plan: _Plan) -> str:
    return "".join(
        "1" if flag else "0" for flag in (plan.network_namespace, plan.user_namespace, plan.drop_uid, plan.private_tmp)
    )


def _seccomp_arg(plan: _Plan) -> str:
    """The zygote's last argument: the seccomp filter's BPF in hex where the plan has it, else ``""``."""
    program = _seccomp_filter() if plan.seccomp else None
    return program.hex() if program is not None else ""


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError("the host closed the zygote's socket")
        data += chunk
    return bytes(data)


def _zygote_serve(sock_fd: int, plan_arg: str, seccomp_hex: str = "", runs_dir: str | None = None) -> str:
    """The zygote's loop; returns only in a run's program process (C3), with its working directory.

    Each run's directory is made in ``runs_dir`` (the host's, which it removes with the zygote, so
    that a run the zygote could not clean up after, because it died, leaves nothing behind).

    ``seccomp_hex`` is the seccomp filter's BPF (built by the host, :func:`_seccomp_arg`), which
    each program process installs; ``""`` for none."""
    net, user, drop, private = (c == "1" for c in plan_arg)
    if seccomp_hex:
        _load_seccomp(bytes.fromhex(seccomp_hex))
    plan = _Plan(net, user, drop, sys.executable, private, bool(seccomp_hex))
    _become_subreaper()
    if plan.network_namespace and not plan.user_namespace:
        # One network namespace for the zygote and its runs, made here once, rather than one per
        # run: creating and tearing one down per run cost about 7% of the pool's throughput. Runs
        # share it only one after another (a zygote runs one program at a time, and the end of a
        # run's PID namespace kills all of it, with its sockets, before the next starts); its
        # loopback stays down, the runs' uids hold no capability in it, and seccomp refuses them
        # any socket but AF_UNIX, so nothing a run does there outlives it.
        try:
            _libc_unshare(_CLONE_NEWNET)
            plan = dataclasses.replace(plan, network_namespace=False)
        except OSError:
            pass  # then each run unshares its own, as run_python's children do
    sock = socket.socket(fileno=sock_fd)
    # Pre-fork server practice: no collection in the zygote and its trusted children, and what it
    # holds frozen out of the program's collections, so that no run touches (copies) its pages.
    gc.disable()
    gc.freeze()
    own_pid_ns: int | None = None
    if not plan.user_namespace:
        own_pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY)
        if not _try_unshare_pid():
            os.close(own_pid_ns)
            own_pid_ns = None
        else:
            try:
                _setns(own_pid_ns, _CLONE_NEWPID)
            except OSError:
                os._exit(3)  # cannot come back: this zygote's children would all share one namespace
    sock.sendall(b"Y")
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, _REQUEST.size, 2)
            if not data:
                os._exit(0)
            if len(data) < _REQUEST.size:
                data += _recv_exactly(sock, _REQUEST.size - len(data))
        except (OSError, EOFError):
            os._exit(0)
        timeout_s, cpu_soft, memory_mb, file_mb, max_processes, uid, size = _REQUEST.unpack(data)
        out_w, err_w = fds
        deadline = time.monotonic() + timeout_s
        workdir = tempfile.mkdtemp(prefix="rewardgym-sandbox-", dir=runs_dir)
        _open_workdir(workdir, plan, uid)
        status_r, status_w = os.pipe()
        # As root the zygote puts its next child into a new PID namespace itself (and comes back to
        # its own at once): the child is PID 1 there, one fork fewer than through C1.
        direct = own_pid_ns is not None and _try_unshare_pid()
        pid = os.fork()
        if pid and direct:
            _setns(own_pid_ns, _CLONE_NEWPID)  # type: ignore[arg-type]
        if pid == 0:
            limits = {
                resource.RLIMIT_CPU: (cpu_soft, cpu_soft + 1),
                resource.RLIMIT_AS: (memory_mb << 20, memory_mb << 20),
                resource.RLIMIT_FSIZE: (file_mb << 20, file_mb << 20),
                resource.RLIMIT_NPROC: (max_processes, max_processes),
                resource.RLIMIT_CORE: (0, 0),
            }
            return _zygote_child(
                sock, plan, size, uid, limits, file_mb, workdir, deadline, (out_w, err_w, status_r, status_w), direct
            )
        for fd in (out_w, err_w, status_w):
            os.close(fd)
        sock.sendall(_STARTED.pack(b"P", pid))
        kind, status, utime, stime, timed_out = _zygote_await(pid, status_r, deadline + _GRACE_S)
        os.close(status_r)
        shutil.rmtree(workdir, ignore_errors=True)
        try:
            sock.sendall(_REPLY.pack(b"R", kind, status, utime, stime, timed_out))
        except OSError:
            os._exit(0)


def _try_unshare_pid() -> bool:
    return bool(_UNSHARE(ctypes.c_int(_CLONE_NEWPID)) == 0)


def _setns(fd: int, nstype: int) -> None:
    if _LIBC.setns(ctypes.c_int(fd), ctypes.c_int(nstype)) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns({fd}, {nstype:#x}): {os.strerror(errno)}")


def _zygote_await(pid: int, status_r: int, hard_deadline: float) -> tuple[int, int, float, float, bool]:
    """Wait for the run's report (or kill it at the hard deadline), then kill and reap all of it."""
    report = bytearray()
    poller = select.poll()
    poller.register(status_r, select.POLLIN)
    killed = False
    while True:
        left = hard_deadline - time.monotonic()
        if left <= 0:
            killed = True
            break
        if not poller.poll(left * 1000):
            continue
        chunk = os.read(status_r, 4096)
        if not chunk:
            break
        report += chunk
    _kill_group(pid)
    while True:  # C1, and C2 if C1 went first (this process is their subreaper): all SIGKILLed
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    if report[:1] == b"S" and len(report) >= _STATUS.size:
        _, status, utime, stime, timed_out = _STATUS.unpack(bytes(report[: _STATUS.size]))
        return 0, status, utime, stime, timed_out
    if killed:
        return 0, signal.SIGKILL, 0.0, 0.0, True
    return 1, 0, 0.0, 0.0, False  # a layer failed (b"E..."): the host runs the program with run_python


def _zygote_child(
    sock: socket.socket,
    plan: _Plan,
    size: int,
    uid: int,
    limits: Mapping[int, tuple[int, int]],
    file_mb: int,
    workdir: str,
    deadline: float,
    fds: tuple[int, int, int, int],
    in_pid_ns: bool,
) -> str:
    """C1 (or, ``in_pid_ns``, C1 and C2 in one), C2 and C3 of a run (see above); returns only in
    C3, the others end with ``os._exit``."""
    out_w, err_w, status_r, status_w = fds
    try:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        os.setsid()
        os.close(status_r)
        payload = _recv_exactly(sock, size)
        os.close(sock.detach())
        source, files = marshal.loads(payload)
        del payload
        _write_program(workdir, source, files)
        del source, files
        os.chdir(workdir)
        _enter_namespaces(plan, plan.private_tmp, 0 if in_pid_ns else _CLONE_NEWPID)
        mount_private = _private_tmp_steps(workdir, file_mb) if plan.private_tmp else None
        if in_pid_ns:
            return _zygote_init(plan, uid, limits, mount_private, workdir, deadline, out_w, err_w, status_w)
        init = os.fork()
        if init == 0:
            return _zygote_init(plan, uid, limits, mount_private, workdir, deadline, out_w, err_w, status_w)
        os.close(out_w)
        os.close(err_w)
        os.waitpid(init, 0)
        os._exit(0)
    except BaseException as error:  # noqa: BLE001 - any failure here is reported, never raised
        _report_failure(status_w, error)
    raise AssertionError("unreachable")


def _report_failure(status_w: int, error: BaseException) -> None:
    try:
        os.write(status_w, b"E" + f"{type(error).__name__}: {error}".encode(errors="replace")[:1000])
    finally:
        os._exit(1)


def _zygote_init(
    plan: _Plan,
    uid: int,
    limits: Mapping[int, tuple[int, int]],
    mount_private: Callable[[], None] | None,
    workdir: str,
    deadline: float,
    out_w: int,
    err_w: int,
    status_w: int,
) -> str:
    """C2, PID 1 of the run's PID namespace; returns only in C3 (the program)."""
    try:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if mount_private is not None:
            mount_private()
            try:  # a /proc of this PID namespace: the program sees only its own processes
                _libc_mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None)
            except OSError:
                pass
        program = os.fork()
        if program == 0:
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            _drop_privileges(plan, uid, limits)
            _PRCTL(_PR_SET_DUMPABLE, 1, 0, 0, 0)  # as after exec: its /proc/self is its own
            if plan.seccomp:
                _install_seccomp()  # a failure is reported on status_w: the host runs it with run_python
            os.closerange(3, status_w)
            os.closerange(status_w + 1, 1 << 16)
            os.environ["HOME"] = workdir
            os.close(status_w)
            gc.enable()
            return workdir
        os.close(out_w)
        os.close(err_w)
        timed_out = [False]

        def on_deadline(signum: int, frame: object) -> None:
            timed_out[0] = True
            os.kill(-1, signal.SIGKILL)  # every process of this namespace but this one

        signal.signal(signal.SIGALRM, on_deadline)
        left = deadline - time.monotonic()
        if left <= 0:
            on_deadline(signal.SIGALRM, None)
        else:
            signal.setitimer(signal.ITIMER_REAL, left)
        while True:
            pid, status, usage = os.wait4(-1, 0)
            if pid == program:
                break
        signal.setitimer(signal.ITIMER_REAL, 0)
        os.write(status_w, _STATUS.pack(b"S", status, usage.ru_utime, usage.ru_stime, timed_out[0]))
        os._exit(0)
    except BaseException as error:  # noqa: BLE001
        _report_failure(status_w, error)
    raise AssertionError("unreachable")


def _zygote_run_main(workdir: str) -> None:
    """In C3: run ``main.py`` in a fresh ``__main__`` as ``python main.py`` would, and exit.

    The end is the interpreter's: an uncaught exception is printed by ``sys.excepthook`` (exit
    status 1), ``SystemExit`` gives its status, then non-daemon threads are joined, ``atexit``
    callbacks run and stdout and stderr are flushed (status 120 if that fails); but the process
    then ends with ``os._exit``, skipping the interpreter's teardown, whose copy-on-write faults
    over the whole inherited heap cost more than the rest of a run. (So an object's ``__del__``
    still pending at the end does not run, and a file the program left open unflushed stays so.)
    """
    import atexit
    import builtins
    import importlib.machinery
    import threading
    import types

    path = os.path.join(workdir, SCRIPT_NAME)
    main = types.ModuleType("__main__")
    main.__dict__.update(
        __builtins__=builtins,
        __file__=path,
        __cached__=None,
        __loader__=importlib.machinery.SourceFileLoader("__main__", path),
    )
    sys.modules["__main__"] = main
    sys.modules.pop("_rewardgym_sandbox", None)
    sys.argv[:] = [SCRIPT_NAME]
    sys.path[0] = workdir
    sys.path_importer_cache.clear()
    status = 0
    try:
        with open(path, "rb") as handle:
            code = compile(handle.read(), path, "exec")
        exec(code, main.__dict__)
    except SystemExit as stop:
        status = _exit_status(stop)
    except BaseException as error:  # noqa: BLE001 - printed as the interpreter prints it
        status = 1
        tb = error.__traceback__.tb_next if error.__traceback__ is not None else None
        try:
            sys.excepthook(type(error), error.with_traceback(tb), tb)
        except SystemExit as stop:
            status = _exit_status(stop)
        except BaseException:  # noqa: BLE001
            pass
    try:
        threading._shutdown()  # type: ignore[attr-defined]
    except BaseException:  # noqa: BLE001
        pass
    try:
        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except BaseException:  # noqa: BLE001
            status = 120 if status == 0 else status
    os._exit(status & 0xFF)


def _exit_status(stop: SystemExit) -> int:
    """The exit status of an uncaught ``SystemExit``, as the interpreter computes it."""
    code = stop.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    try:
        print(code, file=sys.stderr)
    except BaseException:  # noqa: BLE001
        pass
    return 1


ZYGOTE_BOOT = """\
import importlib.util as _u, sys as _s
_spec = _u.spec_from_file_location("_rewardgym_sandbox", _s.argv[1])
_m = _u.module_from_spec(_spec)
_s.modules[_spec.name] = _m
_spec.loader.exec_module(_m)
import json
_m._zygote_run_main(_m._zygote_serve(int(_s.argv[2]), _s.argv[3], _s.argv[4], _s.argv[5]))
"""
"""The zygote's program (``python -E -s -S -B -c ZYGOTE_BOOT sandbox.py FD PLAN SECCOMP RUNS``,
SECCOMP the filter's BPF in hex or empty, RUNS the directory its runs' directories go in): loads this file, serves runs, and in each run's program process
runs ``main.py`` and exits with its status."""


_interpreter_in_use = [""]


def interpreter() -> str:
    """The Python interpreter that runs the programs (found with :func:`isolation`'s probe).

    Example:
        >>> import os
        >>> os.path.basename(interpreter()).startswith("python")
        True
    """
    _detect()
    return _interpreter_in_use[0]


def isolation() -> dict[str, bool]:
    """Which isolation layers the sandbox has in effect here (found out once, by a probe run).

    Keys: ``separate_process``, ``resource_limits``, ``unprivileged_user`` (the program's uid is
    not 0, or it runs in a user namespace), ``user_namespace``, ``network_namespace`` (the program
    sees a network namespace of its own, with no reachable address), ``pid_namespace`` (always
    False here: ``run_python`` has none; the pool's runs have one, see
    :meth:`~rewardgym.envs.code.pool.SandboxPool.isolation`), ``private_tmp`` (the program runs in a mount namespace of its own with
    fresh ``tmpfs`` over ``/tmp``, ``/var/tmp`` and ``/dev/shm``: checked from inside by a file
    the probe writes to ``/tmp`` not showing up in this process's ``/tmp``), ``subreaper`` (this
    process is made the child subreaper with ``prctl(PR_SET_CHILD_SUBREAPER)``, so that a run's
    orphans come to it and are reaped as soon as the run's group is killed; otherwise their
    zombies wait for init and, while they wait, count against the next run's process limit),
    ``seccomp`` (the program runs under the seccomp filter of :data:`SECCOMP_DENIED`: checked from
    inside by ``socket(AF_INET)`` failing with ``EPERM``, which the network namespace alone lets
    it make, and ``Seccomp: 2`` in its ``/proc/self/status``).

    Example:
        >>> layers = isolation()
        >>> layers["separate_process"], layers["resource_limits"]
        (True, True)
    """
    return dict(_detect()[1])


def run_python(
    source: str,
    *,
    files: Mapping[str, str] | None = None,
    timeout_s: float = 2.0,
    cpu_s: float = 1.0,
    memory_mb: int = 256,
    file_mb: int = 1,
    max_processes: int = 8,
    output_bytes: int = 1 << 20,
    allow_weaker: bool = False,
) -> RunResult:
    """Run ``source`` as ``main.py`` in a sandboxed Python process and return what happened.

    ``files`` maps relative paths to text written next to the program before it starts (a test
    file, a module it imports); they are readable by the program but owned by the sandbox's user.
    ``timeout_s`` is the wall-clock limit (the process group is killed at it), ``cpu_s`` the CPU
    time limit (rounded up to whole seconds, as the kernel counts it), ``memory_mb`` the address
    space, ``file_mb`` the largest file the program may write, ``max_processes`` the process limit
    of the run's uid, ``output_bytes`` how much of stdout and of stderr is kept.

    Raises :class:`SandboxUnavailableError` naming what is missing when the program would run
    with uid 0 outside a user namespace, unless ``allow_weaker=True`` (then it runs with the layers
    :func:`isolation` reports: still a separate process with its limits, but root ignores
    ``RLIMIT_NPROC`` and may do what root may). Bad arguments raise ``TypeError``/``ValueError``
    naming the parameter.

    Example:
        >>> result = run_python("import sys; print('out'); sys.exit(3)")
        >>> result.exit_code, result.stdout, result.ok
        (3, 'out\\n', False)
        >>> run_python("x = bytearray(10**9)", memory_mb=128).memory_exceeded
        True
    """
    if not isinstance(source, str):
        raise TypeError(f"run_python: source must be a str, got {type(source).__name__}")
    checked_files = _check_files(files)
    limits = _check_limits(
        "run_python",
        timeout_s=timeout_s,
        cpu_s=cpu_s,
        memory_mb=memory_mb,
        file_mb=file_mb,
        max_processes=max_processes,
        output_bytes=output_bytes,
    )
    from rewardgym.core.validation import check_flag

    allow_weaker = check_flag(allow_weaker, "run_python: allow_weaker")
    plan, layers = _detect()
    if not layers["unprivileged_user"] and not allow_weaker:
        raise SandboxUnavailableError(
            "run_python: cannot run the program as an unprivileged user (setuid and user "
            "namespaces both refused here), so RLIMIT_NPROC would not bind and the program would run "
            "as root; pass allow_weaker=True to run it with a separate process and resource limits only"
        )
    return _run(source, checked_files, plan, **limits)


def _check_limits(caller: str, **limits: Any) -> dict[str, Any]:
    """The run limits checked and converted, refusing a bad one by name (``caller: parameter``)."""
    # Imported here, not at the top: the zygote loads this file where rewardgym is not importable.
    from rewardgym.core.validation import check_integer, check_number

    return {
        "timeout_s": check_number(limits["timeout_s"], f"{caller}: timeout_s", low=0.0, low_open=True),
        "cpu_s": check_number(limits["cpu_s"], f"{caller}: cpu_s", low=0.0, low_open=True),
        "memory_mb": check_integer(limits["memory_mb"], f"{caller}: memory_mb", low=32),
        "file_mb": check_integer(limits["file_mb"], f"{caller}: file_mb", low=0),
        "max_processes": check_integer(limits["max_processes"], f"{caller}: max_processes", low=1),
        "output_bytes": check_integer(limits["output_bytes"], f"{caller}: output_bytes", low=0),
    }
