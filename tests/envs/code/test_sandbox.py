"""The sandbox that runs untrusted programs: limits, timeouts, isolation, bad input.

Every program here is bounded by itself (capped forks, capped allocation, loops that end after a
few seconds), so that a broken sandbox fails a test instead of taking the machine down.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import tempfile
import time

import pytest
from rewardgym.envs.code import sandbox
from rewardgym.envs.code.sandbox import RunResult, SandboxUnavailableError, isolation, run_python


def _gone(pid: int, within_s: float = 2.0) -> bool:
    """Whether process ``pid`` has ended (gone or a zombie) within ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.02)
    return False


def test_a_normal_program_returns_its_output_and_exit_code_and_its_directory_is_removed():
    program = "import os, sys\nprint(os.getcwd())\nprint(open('data.txt').read())\nsys.exit(3)"
    result = run_python(program, files={"data.txt": "hello", "pkg/mod.py": "X = 1"})
    assert isinstance(result, RunResult)
    assert result.exit_code == 3 and result.signal is None and not result.ok
    workdir, text = result.stdout.splitlines()
    assert text == "hello"
    assert workdir.startswith("/") and not os.path.exists(workdir)
    assert not (result.timed_out or result.cpu_exceeded or result.memory_exceeded)
    ok = run_python("from pkg.mod import X\nprint(X + 1)", files={"pkg/mod.py": "X = 1"})
    assert ok.ok and ok.stdout == "2\n"


def test_a_program_that_is_not_valid_python_fails_in_the_child_not_in_the_caller():
    for source in ("def (:", "print('\ud800')"):  # a syntax error; a lone surrogate, not UTF-8 encodable
        result = run_python(source)
        assert result.exit_code == 1 and "Error" in result.stderr


def test_the_fork_bomb_is_stopped_well_below_its_cap():
    program = """
import os, time
forks = 0
for _ in range(200):  # capped: at most 200 children, each sleeping 1 s
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(1.0)
        os._exit(0)
    forks += 1
print(forks, flush=True)
"""
    start = time.monotonic()
    result = run_python(program, max_processes=8, timeout_s=5.0)
    assert result.exit_code == 0, result.stderr
    assert int(result.stdout) < 8
    assert time.monotonic() - start < 5.0


def test_the_memory_bomb_is_stopped_at_the_memory_limit():
    program = """
chunks = []
for step in range(64):  # capped: 64 steps of 16 MiB, 1 GiB at most
    chunks.append(bytearray(16 << 20))
    print((step + 1) * 16, flush=True)
"""
    result = run_python(program, memory_mb=256, timeout_s=10.0, cpu_s=5.0)
    assert result.memory_exceeded and result.exit_code == 1
    reached = int(result.stdout.split()[-1]) if result.stdout else 0
    assert reached < 256


def test_an_infinite_loop_is_killed_at_the_timeout_with_its_sleeping_child():
    program = """
import os, time
pid = os.fork()
if pid == 0:
    time.sleep(30)  # capped: the child ends by itself after 30 s
    os._exit(0)
print(pid, flush=True)
end = time.monotonic() + 30
while time.monotonic() < end:  # capped busy loop
    pass
"""
    start = time.monotonic()
    result = run_python(program, timeout_s=0.5, cpu_s=10.0)
    assert result.timed_out and result.signal == "SIGKILL" and result.exit_code is None
    assert not result.cpu_exceeded
    assert time.monotonic() - start < 1.5
    assert _gone(int(result.stdout))


def test_a_child_left_sleeping_after_the_program_exits_is_killed():
    program = """
import os, time
pid = os.fork()
if pid == 0:
    os.close(1)
    time.sleep(30)  # capped
    os._exit(0)
print(pid)
"""
    start = time.monotonic()
    result = run_python(program, timeout_s=5.0)
    assert result.ok and time.monotonic() - start < 1.0
    assert _gone(int(result.stdout))


def test_a_busy_loop_is_stopped_by_the_cpu_limit_before_the_wall_timeout():
    program = "import time\nend = time.monotonic() + 20\nwhile time.monotonic() < end:\n    pass"
    result = run_python(program, cpu_s=1.0, timeout_s=10.0)
    assert result.cpu_exceeded and not result.timed_out
    assert result.signal in ("SIGXCPU", "SIGKILL")
    assert result.wall_s < 3.0


def test_writing_past_the_file_size_limit_fails():
    program = """
try:
    with open('big.bin', 'wb') as handle:
        handle.write(b'x' * (2 << 20))
except OSError as error:
    print(error.errno)
else:
    print('written')
"""
    result = run_python(program, file_mb=1)
    assert result.stdout.strip() == str(errno.EFBIG)


def test_the_program_cannot_reach_a_server_the_parent_can():
    if not isolation()["network_namespace"]:
        pytest.skip("the kernel refuses network namespaces here")
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            pass
        program = f"""
import shutil
import socket
import tempfile
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=1.0).close()
    print("connected")
except OSError as error:
    print("refused", type(error).__name__)
"""
        result = run_python(program, timeout_s=5.0)
    assert result.stdout.startswith("refused"), result.stdout + result.stderr


def test_the_program_runs_unprivileged_with_a_scrubbed_environment_and_no_stdin(monkeypatch):
    monkeypatch.setenv("REWARDGYM_SANDBOX_MARKER", "secret")
    program = "import os, sys\nprint(os.getuid())\nprint(os.environ.get('REWARDGYM_SANDBOX_MARKER'))\nprint(repr(sys.stdin.read()))"
    result = run_python(program)
    uid, marker, stdin = result.stdout.splitlines()
    assert int(uid) != 0
    assert marker == "None"
    assert stdin == "''"
    assert isolation()["unprivileged_user"]


def test_output_past_the_cap_is_cut_and_flagged():
    result = run_python("import sys\nsys.stdout.write('x' * 100000)\nsys.stderr.write('e' * 10)", output_bytes=1000)
    assert result.stdout == "x" * 1000 and result.stdout_truncated
    assert result.stderr == "e" * 10 and not result.stderr_truncated


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"source": b"print(1)"}, TypeError, "source must be a str"),
        ({"source": "", "timeout_s": -1.0}, ValueError, "timeout_s"),
        ({"source": "", "cpu_s": 0}, ValueError, "cpu_s"),
        ({"source": "", "memory_mb": 1}, ValueError, "memory_mb"),
        ({"source": "", "max_processes": 0}, ValueError, "max_processes"),
        ({"source": "", "files": {"../x": ""}}, ValueError, "'../x'"),
        ({"source": "", "files": {"/etc/x": ""}}, ValueError, "'/etc/x'"),
        ({"source": "", "files": {"a//b": ""}}, ValueError, "'a//b'"),
        ({"source": "", "files": {"main.py": ""}}, ValueError, "'main.py'"),
        ({"source": "", "files": {"x.py": 1}}, TypeError, r"files\['x.py'\]"),
        ({"source": "", "files": ["x.py"]}, TypeError, "files must be a dict"),
        ({"source": "", "allow_weaker": 1}, ValueError, "allow_weaker"),
    ],
)
def test_bad_input_is_refused_by_name(kwargs, error, match):
    with pytest.raises(error, match=match):
        run_python(**kwargs)


def test_running_as_root_without_isolation_is_refused_unless_allowed(monkeypatch):
    plan, layers = sandbox._detect()
    weak = sandbox._Plan(False, False, False, plan.interpreter)
    monkeypatch.setattr(sandbox, "_detected", (weak, {**layers, "unprivileged_user": False}))
    with pytest.raises(SandboxUnavailableError, match="unprivileged user"):
        run_python("print(1)")
    assert run_python("print(1)", allow_weaker=True).stdout == "1\n"


def _needs_private_tmp() -> None:
    if not isolation()["private_tmp"]:
        pytest.skip("the kernel refuses mount namespaces here")


def test_files_the_program_writes_to_tmp_and_dev_shm_stay_out_of_the_hosts(tmp_path):
    _needs_private_tmp()
    name = f"rewardgym-sandbox-test-{os.getpid()}-{time.monotonic_ns()}"
    targets = [os.path.join(d, name) for d in ("/tmp", "/var/tmp", "/dev/shm") if os.path.isdir(d)]
    program = f"""
for path in {targets!r}:
    with open(path, "w") as handle:
        handle.write("planted")
    print(open(path).read())
"""
    try:
        result = run_python(program, timeout_s=5.0)
        assert result.ok, result.stderr
        assert result.stdout.split() == ["planted"] * len(targets)  # the writes succeeded inside
        leaked = [path for path in targets if os.path.lexists(path)]
        assert leaked == []
    finally:
        for path in targets:
            if os.path.lexists(path):
                os.unlink(path)


def test_the_program_cannot_connect_to_a_unix_socket_in_the_hosts_tmp():
    _needs_private_tmp()
    directory = tempfile.mkdtemp(prefix="rewardgym-sandbox-socket-", dir="/tmp")
    try:
        os.chmod(directory, 0o777)
        path = os.path.join(directory, "server.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(path)
            os.chmod(path, 0o777)
            server.listen(1)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.settimeout(1.0)
                client.connect(path)  # the parent can
            program = f"""
import shutil
import socket
import tempfile
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(1.0)
try:
    s.connect({path!r})
    print("connected")
except OSError as error:
    print("refused", type(error).__name__)
"""
            result = run_python(program, timeout_s=5.0)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    assert result.stdout.startswith("refused"), result.stdout + result.stderr


def test_the_working_directory_works_under_the_private_tmp():
    _needs_private_tmp()
    program = """
import os
from pkg.mod import X
print(open("data.txt").read(), X)
with open("out.txt", "w") as handle:
    handle.write("y" * 1000)
print(os.path.getsize(os.path.join(os.getcwd(), "out.txt")), os.environ["HOME"] == os.getcwd())
try:
    with open("big.bin", "wb") as handle:
        handle.write(b"x" * (2 << 20))
except OSError as error:
    print(error.errno)
"""
    result = run_python(program, files={"data.txt": "hello", "pkg/mod.py": "X = 7"}, file_mb=1)
    assert result.ok, result.stderr
    assert result.stdout.splitlines() == ["hello 7", "1000 True", str(errno.EFBIG)]


def test_isolation_reports_the_private_tmp_layer():
    layers = isolation()
    assert isinstance(layers["private_tmp"], bool)
    if os.geteuid() == 0 and layers["network_namespace"]:
        # Where root may make a network namespace it may make a mount namespace too.
        assert layers["private_tmp"]
