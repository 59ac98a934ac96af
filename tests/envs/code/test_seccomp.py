"""The sandbox's seccomp layer, through both runners (``run_python`` and a ``SandboxPool``).

Real sandboxed runs throughout (no mocks): a program that makes a denied system call gets
``EPERM`` from the kernel, and ordinary programs (the standard library, threads, a grading
harness on a reference solution) run as before. Skipped, with the reason, where the layer cannot be
had here (``isolation()["seccomp"]`` is False: no pyseccomp or libseccomp, or a kernel that
refuses the filter).
"""

from __future__ import annotations

import errno
import platform
from collections.abc import Callable, Iterator, Mapping

import pytest
from rewardgym.envs.code import sandbox
from rewardgym.envs.code.pool import Program, SandboxPool
from rewardgym.envs.code.sandbox import RunResult, isolation, run_python
from rewardgym.envs.code.tasks import TASKS, CodeTaskDataset, grade, grading_limits, grading_run, read_grading

Runner = Callable[..., RunResult]  # runner(source, files=None): one sandboxed run

# The numbers of the calls the C library has no wrapper for (clone with flags, bpf), per machine.
SYSCALL_NUMBERS = {"x86_64": {"clone": 56, "bpf": 321}, "aarch64": {"clone": 220, "bpf": 280}}
NUMBERS = SYSCALL_NUMBERS.get(platform.machine(), {})

# Each prints the errno of one denied call (0 where it succeeded), via ctypes where the os module
# has no wrapper; the calls are ones the program's other layers would let it make, or that fail
# harmlessly without the filter.
DENIED_PROGRAMS = {
    # PTRACE_TRACEME succeeds without the filter (any process may ask its parent to trace it).
    "ptrace": """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print(0 if libc.ptrace(0, 0, None, None) == 0 else ctypes.get_errno())
""",
    # A new user namespace needs no privilege where the kernel allows unprivileged ones.
    "unshare": """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print(0 if libc.unshare(0x10000000) == 0 else ctypes.get_errno())
""",
    # The same namespace through clone (fork with CLONE_NEWUSER), which the filter refuses too.
    "clone_newuser": """
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
pid = libc.syscall(CLONE, ctypes.c_ulong(0x10000000 | signal.SIGCHLD), None, None, None, None)
if pid == 0:
    os._exit(0)
if pid > 0:
    os.waitpid(pid, 0)
print(0 if pid >= 0 else ctypes.get_errno())
""",
    "mount": """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print(0 if libc.mount(b"none", b".", b"tmpfs", 0, None) == 0 else ctypes.get_errno())
""",
    # The network namespace lets the socket be made (it only has nowhere to connect): the filter
    # refuses to make it at all.
    "socket_inet": """
import socket
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
    print(0)
except OSError as error:
    print(error.errno)
""",
    "socket_inet6_udp": """
import socket
try:
    socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).close()
    print(0)
except OSError as error:
    print(error.errno)
""",
    "socket_netlink": """
import socket
try:
    socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).close()
    print(0)
except OSError as error:
    print(error.errno)
""",
    "bpf": """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print(0 if libc.syscall(BPF, 0, None, 0) >= 0 else ctypes.get_errno())
""",
}

ALLOWED_PROGRAM = """
import json, math, re, socket, threading, os, asyncio

results = []
def work(n):
    results.append(sum(math.isqrt(i) for i in range(n)))
threads = [threading.Thread(target=work, args=(2000,)) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert len(results) == 4 and len(set(results)) == 1

a, b = socket.socketpair()
a.sendall(b"ping")
assert b.recv(4) == b"ping"
with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
    unix.bind("sock")
    unix.listen(1)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect("sock")

async def main():
    await asyncio.sleep(0)
    return 7
assert asyncio.run(main()) == 7

pid = os.fork()
if pid == 0:
    os._exit(3)
assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 3

print(json.dumps({"match": re.match(r"(\\d+)-(\\d+)", "12-34").groups(), "pi": round(math.pi, 3)}))
"""


def _require_seccomp(layers: dict[str, bool], runner: str) -> None:
    if not layers.get("seccomp"):
        pytest.skip(
            f"{runner}: the seccomp layer is not in effect here (no pyseccomp or libseccomp.so.2, or the "
            "kernel refuses the filter): isolation()['seccomp'] is False"
        )


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(workers=2) as made:
        yield made


@pytest.fixture(params=["run_python", "pool"])
def runner(request: pytest.FixtureRequest) -> Runner:
    limits = grading_limits(10.0)
    if request.param == "run_python":
        _require_seccomp(isolation(), "run_python")

        def run_one(source: str, files: Mapping[str, str] | None = None) -> RunResult:
            return run_python(source, files=files, **limits)

        return run_one
    made: SandboxPool = request.getfixturevalue("pool")
    layers = made.isolation()
    if not layers.get("pool"):
        pytest.skip("the pool's own layers cannot be had here: it runs every program through run_python")
    _require_seccomp(layers, "SandboxPool")

    def run_in_pool(source: str, files: Mapping[str, str] | None = None) -> RunResult:
        return made.run_many([Program(source, dict(files or {}))], **limits)[0]

    return run_in_pool


def test_isolation_reports_the_seccomp_layer_in_both_runners(pool):
    layers = isolation()
    assert isinstance(layers["seccomp"], bool)
    if sandbox._seccomp_filter() is None:
        pytest.skip("pyseccomp or libseccomp.so.2 is missing here: no filter to install")
    # pyseccomp and libseccomp are installed on these machines and the kernel takes the filter.
    assert layers["seccomp"] is True
    pool_layers = pool.isolation()
    if pool_layers.get("pool"):
        assert pool_layers["seccomp"] is True


def test_the_filter_is_raw_bpf_built_from_the_denied_list():
    program = sandbox._seccomp_filter()
    if program is None:
        pytest.skip("pyseccomp or libseccomp.so.2 is missing here: no filter to install")
    assert len(program) % 8 == 0 and 8 < len(program) // 8 < 1000  # struct sock_filter, 8 bytes each
    assert len(set(sandbox.SECCOMP_DENIED)) == len(sandbox.SECCOMP_DENIED)


@pytest.mark.parametrize("name", sorted(DENIED_PROGRAMS))
def test_a_denied_system_call_fails_with_eperm(runner, name):
    source = DENIED_PROGRAMS[name]
    for call in ("CLONE", "BPF"):
        if call in source:
            if call.lower() not in NUMBERS:
                pytest.skip(f"no {call.lower()} system call number known for {platform.machine()}")
            source = source.replace(call, str(NUMBERS[call.lower()]))
    result = runner(source)
    assert result.ok, result.stderr
    assert result.stdout.strip() == str(errno.EPERM), (name, result.stdout, result.stderr)


def test_the_program_sees_itself_filtered(runner):
    result = runner("print(open('/proc/self/status').read().split('Seccomp:')[1].split()[0])")
    assert result.ok, result.stderr
    assert result.stdout.strip() == "2"


def test_the_filter_is_inherited_by_the_programs_children(runner):
    program = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
pid = os.fork()
if pid == 0:
    os._exit(0 if libc.ptrace(0, 0, None, None) == 0 else ctypes.get_errno())
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""
    result = runner(program)
    assert result.ok, result.stderr
    assert result.stdout.strip() == str(errno.EPERM)


def test_ordinary_programs_still_run(runner):
    result = runner(ALLOWED_PROGRAM)
    assert result.ok, result.stderr
    assert result.stdout.strip() == '{"match": ["12", "34"], "pi": 3.142}'


@pytest.mark.parametrize("task", TASKS)
def test_a_grading_harness_passes_the_reference_solution(runner, task):
    item = CodeTaskDataset(task, difficulty=3, seed=2, size=1)[0]
    run = grading_run(item["reference"], item, hidden=True)
    result = runner(run.source, run.files)
    grading = read_grading(run, result, item)
    assert grading.loaded and grading.finished, result.stderr
    assert all(grading.passed), (grading.errors, result.stderr)


def test_grade_passes_the_reference_solution_under_the_filter():
    _require_seccomp(isolation(), "run_python")
    item = CodeTaskDataset(TASKS[0], difficulty=5, seed=7, size=1)[0]
    grading = grade(item["reference"], item, hidden=True, timeout_s=10.0)
    assert grading.loaded and grading.finished and grading.events == frozenset()
    assert all(grading.passed), (grading.errors, grading.result.stderr)
