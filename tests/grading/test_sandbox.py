"""The grading sandbox: every property checked on real sandboxed processes and kernels, each
against a control that shows the same action succeeds outside (or inside, where allowed)."""

import asyncio
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from kernel_kit import interrupt_a_loop

from grader.grading.kernel import sandbox as sb
from grader.grading.kernel.pool import shutdown
from grader.grading.kernel.sandbox import Limits, Sandbox, SandboxError, new_kernel_manager, support

ROOTLESS = os.geteuid() != 0      # kernels in user namespaces of their own, under the grader's uid
pytestmark = [pytest.mark.xdist_group("sandbox"), pytest.mark.sandbox]

COURSE_FILES = {"questions.yaml": "seed: 1\n# the answer key\n", "gradebook.db": "SQLite format 3\x00 grades",
                "nbgrader_config.py": "c = get_config()\n", "source/a1/a1.ipynb": '{"cells": ["solution"]}',
                "release/a1/a1.ipynb": "{}", "submitted/s002/a1/a1.ipynb": '{"classmate": 1}',
                "autograded/s002/a1/a1.ipynb": '{"classmate": 1}'}
SITE_PACKAGES = Path(sb.site_dirs()[0])
PACKAGE_DIR = sb.project_package_dirs()[0]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    for name, text in COURSE_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture(scope="module")
def sandbox(course):
    return Sandbox(forbid=[course])


def run(sandbox, code, timeout=60):
    """Run Python `code` in the sandbox; return (exit status, stdout, stderr)."""
    process = sandbox.start([sys.executable, "-c", textwrap.dedent(code)], env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def run_json(sandbox, code):
    status, out, err = run(sandbox, code)
    assert status == 0, err
    return json.loads(out)


ATTEMPT = """
import json, sys
def attempt(action, *args):
    try:
        action(*args)
        return "ok"
    except BaseException as exc:
        return type(exc).__name__
"""


# --- files: the course and the project are not there; only the scratch directory is writable

def test_the_course_directory_cannot_be_read(sandbox, course):
    paths = [str(course / name) for name in COURSE_FILES] + [str(course)]
    for path in paths:                                        # control: all there on the host
        assert os.path.exists(path)
    seen = run_json(sandbox, ATTEMPT + f"""
import os
def read(path):
    os.listdir(path) if os.path.isdir(path) else open(path, 'rb').read()
print(json.dumps({{p: attempt(read, p) for p in {paths!r}}}))
""")
    assert seen == {path: "FileNotFoundError" for path in paths}


def test_the_project_package_and_its_editable_hook_are_hidden(sandbox):
    hooks = [p for p in sb.editable_hooks(sandbox.forbidden)]
    engine = PACKAGE_DIR / "engine" / "__init__.py"
    assert engine.read_text() and all(hook.read_text() for hook in hooks)   # control: the host sees them
    seen = run_json(sandbox, ATTEMPT + f"""
import importlib.util
def spec():
    assert importlib.util.find_spec('grader') is None, 'grader is importable'
def hook_text(path):
    assert open(path).read() == '', 'the hook is readable'
print(json.dumps({{"engine": attempt(open, {str(engine)!r}), "import": attempt(__import__, 'grader'),
                   "spec": attempt(spec), "hooks": [attempt(hook_text, h) for h in {[str(h) for h in hooks]!r}]}}))
""")
    assert seen["engine"] == "FileNotFoundError"
    assert seen["import"] == "ModuleNotFoundError" and seen["spec"] == "ok"
    assert seen["hooks"] == ["ok"] * len(hooks)


def test_nothing_but_the_scratch_directory_and_private_tmp_is_writable(sandbox, course, tmp_path):
    host_tmp = Path("/tmp") / f"grader-sandbox-test-{os.getpid()}"
    targets = {"course": str(course / "questions.yaml"), "course-new": str(course / "cheat.txt"),
               "site-packages": str(SITE_PACKAGES / "injected.py"),
               "installed-module": str(Path(json.__file__)),
               "numpy": str(Path(importlib.util.find_spec("numpy").origin)),
               "package": str(PACKAGE_DIR / "runtime.py"), "home": str(Path.home() / "cheat.txt"),
               "host-tmp-dir": str(tmp_path / "cheat.txt"), "usr": "/usr/cheat.txt", "etc": "/etc/cheat.txt",
               "root": "/cheat.txt", "scratch": "answer.txt", "private-tmp": str(host_tmp)}
    before = {name: Path(path).read_bytes() for name, path in targets.items() if Path(path).is_file()}
    seen = run_json(sandbox, ATTEMPT + f"""
def write(path):
    with open(path, 'a') as f:
        f.write('pwned')
result = {{name: attempt(write, path) for name, path in {targets!r}.items()}}
result["scratch-read-back"] = open('answer.txt').read()
print(json.dumps(result))
""")
    assert seen.pop("scratch") == "ok" and seen.pop("scratch-read-back") == "pwned"
    assert seen.pop("private-tmp") == "ok"
    assert not host_tmp.exists()                              # the sandbox's /tmp is its own
    assert all(error in ("FileNotFoundError", "PermissionError", "OSError") for error in seen.values()), seen
    assert {name: Path(path).read_bytes() for name, path in targets.items() if Path(path).is_file()} == before
    assert not (course / "cheat.txt").exists() and not (SITE_PACKAGES / "injected.py").exists()


def test_each_process_gets_a_fresh_scratch_directory_that_goes_afterwards(sandbox):
    first = run_json(sandbox, "import os, json; open('left.txt', 'w').write('x'); print(json.dumps(os.getcwd()))")
    second = run_json(sandbox, "import os, json; print(json.dumps([os.getcwd(), os.listdir('.')]))")
    assert first != second[0] and second[1] == []
    assert not Path(first).exists() and not Path(second[0]).exists()


# --- identity, network, processes

def host_processes() -> dict[int, tuple[int, str]]:
    """pid -> (uid, command line) of every live (not zombie) process in the host's process table."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
                if "\nState:\tZ" not in status:
                    command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                    found[int(entry.name)] = (int(status.split("Uid:\t")[1].split()[0]), command)
            except (OSError, IndexError):
                pass
    return found


def _user_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/user")
    except OSError:
        return None


def identity(process) -> tuple[str, object]:
    """What tells a sandboxed process's processes from every other on the host: its uid as root;
    rootless (every kernel has the grader's uid) the user namespace its command runs in."""
    if not ROOTLESS:
        return "uid", process.uid
    deadline = time.monotonic() + 10
    while (pid := process.command_pid()) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return "userns", _user_namespace(pid)


def processes_of(who: tuple[str, object]) -> list[str]:
    """The command lines of the live processes of `who` (identity())."""
    kind, value = who
    return sorted(command for pid, (uid, command) in host_processes().items()
                  if (uid if kind == "uid" else _user_namespace(pid)) == value)


def test_the_process_runs_as_a_uid_of_its_own_without_privileges(sandbox):
    process = sandbox.start([sys.executable, "-c", "import os, json; print(json.dumps([os.getuid(), os.geteuid(), "
                             "os.getgid(), os.getgroups(), open('/proc/self/status').read(), "
                             "os.readlink('/proc/self/ns/user')]))"],
                            env={}, stdout=subprocess.PIPE, text=True)
    with process:
        uid, euid, gid, groups, status, user_namespace = json.loads(process.communicate(timeout=30)[0])
    assert uid == euid == process.uid and gid == process.gid
    if ROOTLESS:     # the grader's own ids, in a user namespace of its own mapping nothing else
        assert (uid, gid) == (os.getuid(), os.getgid()) and set(groups) <= {gid}
        assert user_namespace != os.readlink("/proc/self/ns/user")
    else:
        assert uid == gid and groups == []
        assert uid not in (0, os.getuid()) and sb.UID_BASE <= uid < sb.UID_BASE + sb.UID_COUNT
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert fields["CapEff"].strip() == fields["CapPrm"].strip() == fields["CapBnd"].strip() == "0" * 16
    assert fields["CapAmb"].strip() == "0" * 16 and fields["NoNewPrivs"].strip() == "1"


def test_processes_alive_at_once_have_identities_of_their_own(sandbox):
    """As root, a uid each; rootless, a user namespace each (the same uid on the host)."""
    processes = [sandbox.start(["sleep", "31.5"], env={}) for _ in range(3)]
    try:
        uids = {p.uid for p in processes}
        deadline = time.monotonic() + 10
        while len(running := {pid: uid for pid, (uid, command) in host_processes().items()
                               if command == "sleep 31.5"}) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)                                  # setpriv and prlimit exec on the way to sleep
        host_uids = {running[p.command_pid()] for p in processes}
        namespaces = {os.readlink(f"/proc/{p.command_pid()}/ns/user") for p in processes}
    finally:
        for p in processes:
            p.kill()
            p.wait()
    assert host_uids == uids
    if ROOTLESS:
        assert uids == {os.getuid()} and len(namespaces) == 3 and os.readlink("/proc/self/ns/user") not in namespaces
    else:
        assert len(uids) == 3


def test_the_grader_environment_does_not_reach_the_process(sandbox, monkeypatch):
    monkeypatch.setenv("GRADER_DB_PASSWORD", "hunter2")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    seen = run_json(sandbox, "import os, json; print(json.dumps(dict(os.environ)))")
    assert "GRADER_DB_PASSWORD" not in seen and "hunter2" not in json.dumps(seen)
    assert seen["LC_ALL"] == "C.UTF-8" and seen["PATH"] == os.environ["PATH"] and seen["HOME"] == "/tmp"


def test_everything_dies_with_the_process_that_started_the_sandbox(sandbox):
    lease = sandbox.lease()
    scratch = sandbox.scratch_name()
    try:
        command = sandbox.command(["sleep", "603"], uid=lease.uid, gid=lease.gid, scratch=scratch, sockets=None, env={})
        worker = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time\n"
                                   "subprocess.Popen(sys.argv[1:]); time.sleep(60)", *command])
        deadline = time.monotonic() + 10
        own = _user_namespace(os.getpid())
        while not (sleeping := [pid for pid, (_, command) in host_processes().items() if command == "sleep 603"
                                and (not ROOTLESS or _user_namespace(pid) != own)]) and time.monotonic() < deadline:
            time.sleep(0.01)
        who = ("userns", _user_namespace(sleeping[0])) if ROOTLESS else ("uid", lease.uid)
        assert processes_of(who) == ["sleep 603"]                # control: the sandboxed process runs
        worker.kill()                                             # a worker killed by a student, say
        worker.wait()
        deadline = time.monotonic() + 5
        while processes_of(who) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert processes_of(who) == []
    finally:
        lease.release()


def test_no_network_but_its_own_loopback(sandbox):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    with socket.create_connection(("127.0.0.1", port), timeout=5):     # control: reachable on the host
        pass
    seen = run_json(sandbox, ATTEMPT + f"""
import socket
def connect(host, port):
    socket.create_connection((host, port), timeout=5).close()
def own_loopback():
    s = socket.create_server(('127.0.0.1', 0)); socket.create_connection(s.getsockname(), timeout=5).close()
print(json.dumps({{"host": attempt(connect, '127.0.0.1', {port}), "outside": attempt(connect, '1.1.1.1', 53),
                   "own": attempt(own_loopback), "interfaces": [n for _, n in socket.if_nameindex()]}}))
""")
    server.close()
    assert seen["host"] == "ConnectionRefusedError" and len(accepted) == 1
    assert seen["outside"] in ("OSError", "TimeoutError") and seen["own"] == "ok"
    assert seen["interfaces"] == ["lo"]


# --- limits

@pytest.fixture(scope="module")
def tight(course):
    return Sandbox(Limits(cpu_seconds=1, address_space=1024 * sb.MiB, processes=16, file_size=1 * sb.MiB),
                   forbid=[course])


def test_a_memory_hog_gets_memory_error(tight):
    seen = run_json(tight, ATTEMPT + """
print(json.dumps([attempt(bytearray, 20 << 20), attempt(bytearray, 2 << 30)]))
""")
    assert seen == ["ok", "MemoryError"]


def test_a_fork_bomb_is_capped(tight):
    status, out, err = run(tight, """
import os, time
children = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        children += 1
except OSError as exc:
    print(children, exc.errno)
""")
    children, errno = map(int, out.split())
    assert status == 0 and errno == 11 and 0 < children < 16       # EAGAIN at RLIMIT_NPROC


def test_a_huge_file_write_fails(tight):
    seen = run_json(tight, ATTEMPT + """
import os
def write(size):
    with open('big.bin', 'wb') as f:
        f.write(b'x' * size)
print(json.dumps([attempt(write, 512 << 10), attempt(write, 2 << 20), os.path.getsize('big.bin')]))
""")
    assert seen[:2] == ["ok", "OSError"] and seen[2] <= 1 << 20


def test_the_cpu_limit_kills_a_spinning_process(tight):
    assert run(tight, "sum(range(10**5))")[0] == 0                # control: a short computation ends well
    status, _, _ = run(tight, "while True: pass")
    assert status == 128 + signal.SIGXCPU


def test_the_private_tmp_is_size_limited(course):
    small = Sandbox(Limits(tmp_size=2 * sb.MiB, file_size=64 * sb.MiB), forbid=[course])
    seen = run_json(small, ATTEMPT + """
def fill(path, size):
    with open(path, 'wb') as f:
        f.write(b'x' * size)
print(json.dumps([attempt(fill, '/tmp/a', 1 << 20), attempt(fill, '/tmp/b', 4 << 20)]))
""")
    assert seen == ["ok", "OSError"]


# --- set-up errors and the platform check

def test_a_forbidden_tree_inside_a_mounted_one_is_covered(tmp_path):
    tree = tmp_path / "tree"
    (tree / "course").mkdir(parents=True)
    (tree / "course" / "questions.yaml").write_text("key")
    (tree / "tool.txt").write_text("shared")
    sandbox = Sandbox(readonly=[tree], forbid=[tree / "course"])
    seen = run_json(sandbox, ATTEMPT + f"""
print(json.dumps([open({str(tree / 'tool.txt')!r}).read(), attempt(open, {str(tree / 'course' / 'questions.yaml')!r})]))
""")
    assert seen == ["shared", "PermissionError"]
    with pytest.raises(SandboxError, match="inside"):
        Sandbox(readonly=[tree / "course"], forbid=[tree])


def test_support_says_what_is_missing(monkeypatch):
    assert support().available, support().message
    monkeypatch.setattr(sb, "BWRAP", "bwrap-not-installed")
    missing = support()
    assert not missing.available and "bwrap-not-installed" in missing.message and "unsafe" in missing.message


def test_support_says_which_mode_sandboxes():
    mode = support()
    assert mode.available, mode.message
    assert ("rootless" in mode.message) == (os.geteuid() != 0)
    assert ("a uid per kernel" in mode.message) == (os.geteuid() == 0)


@pytest.mark.parametrize("rootless", [False, True])
def test_support_reports_a_sandbox_that_cannot_start(monkeypatch, tmp_path, rootless):
    failing = tmp_path / "bwrap"
    failing.write_text("#!/bin/sh\necho 'bwrap: Creating new namespace failed: Operation not permitted' >&2\nexit 1\n")
    failing.chmod(0o755)
    monkeypatch.setattr(sb, "BWRAP", str(failing))
    monkeypatch.setattr(sb.os, "geteuid", lambda: 1000 if rootless else 0)
    monkeypatch.setattr(sb, "private_runtime_dir", lambda: tmp_path)
    monkeypatch.setattr(sb, "LEASES", tmp_path / "leases")
    result = support()
    assert not result.available and "Operation not permitted" in result.message
    assert ("user namespaces" in result.message and "grade as root" in result.message) == rootless


# --- real kernels through jupyter_client

def execute(km, code, timeout=30):
    """Run `code` in the kernel; return stdout, the text/plain result and the error name (or None)."""
    async def go():
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=timeout)
            seen = {"stdout": "", "result": None, "error": None}

            def hook(msg):
                content = msg["content"]
                if msg["msg_type"] == "stream":
                    seen["stdout"] += content["text"]
                elif msg["msg_type"] == "execute_result":
                    seen["result"] = content["data"]["text/plain"]
                elif msg["msg_type"] == "error":
                    seen["error"] = content["ename"]
            await kc.execute_interactive(code, output_hook=hook, timeout=timeout)
            return seen
        finally:
            kc.stop_channels()
    return asyncio.run(go())


@pytest.fixture
def kernel(sandbox):
    km = new_kernel_manager(sandbox)
    asyncio.run(km.start_kernel())
    yield km
    shutdown(km)


@pytest.mark.nbgrader
def test_a_numpy_cell_runs_and_its_output_reaches_the_grader(kernel):
    seen = execute(kernel, "import numpy as np\nx = np.arange(6.0).reshape(2, 3)\nprint(x.sum())\nx.mean(axis=0)")
    assert seen == {"stdout": "15.0\n", "result": "array([1.5, 2.5, 3.5])", "error": None}
    assert Path(kernel.connection_file).exists()              # ipc sockets beside it, shared with the sandbox
    assert any(p.is_socket() for p in Path(kernel.connection_file).parent.iterdir())


@pytest.mark.nbgrader
def test_a_submissions_files_copied_in_are_the_kernels_to_read_and_change(kernel, tmp_path):
    submission = tmp_path / "s001" / "a1"
    (submission / "data").mkdir(parents=True)
    (submission / "data" / "x.csv").write_text("1,2,3\n")
    kernel.provisioner.process.copy_in(submission)
    seen = execute(kernel, "import numpy as np\nv = np.loadtxt('data/x.csv', delimiter=',')\n"
                           "open('data/x.csv', 'a').write('4,5,6\\n')\nprint(v.sum())")
    assert seen["stdout"] == "6.0\n" and seen["error"] is None
    assert (submission / "data" / "x.csv").read_text() == "1,2,3\n"      # the original is untouched


@pytest.mark.nbgrader
def test_the_kernel_cannot_import_the_grader_or_read_the_course(kernel, course):
    seen = execute(kernel, f"import os\nprint(os.getuid(), os.getcwd(), os.path.exists({str(course)!r}))\n"
                           "import grader")
    uid, cwd, course_seen = seen["stdout"].split()
    process = kernel.provisioner.process
    assert seen["error"] == "ModuleNotFoundError" and course_seen == "False"
    assert int(uid) == process.uid and (ROOTLESS or process.uid != os.getuid()) and cwd == str(process.scratch)


DETACH = """
import os, subprocess, time
subprocess.Popen(['sleep', '601'], start_new_session=True)          # setsid'd
if os.fork() == 0:                                                  # double fork, setsid, detached
    os.setsid()
    if os.fork() == 0:
        os.execvp('sleep', ['sleep', '602'])
    os._exit(0)
time.sleep(0.3)
print('started')
"""


@pytest.mark.nbgrader
def test_detached_processes_die_with_the_kernel(sandbox):
    km = new_kernel_manager(sandbox)
    asyncio.run(km.start_kernel())
    try:
        assert execute(km, DETACH)["stdout"] == "started\n"
        who = identity(km.provisioner.process)
        before = processes_of(who)
    finally:
        shutdown(km)
    assert [command for command in before if command.startswith("sleep")] == ["sleep 601", "sleep 602"]
    assert processes_of(who) == []        # at once: bwrap exits only after every process of its namespace


@pytest.mark.nbgrader
def test_an_interrupt_reaches_the_kernel_and_not_the_sandbox(kernel):
    assert asyncio.run(interrupt_a_loop(kernel))["ename"] == "KeyboardInterrupt"
    assert execute(kernel, "1 + 1")["result"] == "2"


def test_python_named_through_a_parent_folder_still_starts_in_the_sandbox():
    """`../.venv/bin/python -m grader grade` run from tests/ named a folder the sandbox does not mount."""
    relative = os.path.relpath(sys.executable, Path(__file__).parent)
    assert ".." in relative
    done = subprocess.run([relative, "-c", "from grader.grading.kernel.sandbox import support; print(support().available)"],
                          cwd=Path(__file__).parent, capture_output=True, text=True)
    assert done.stdout.strip() == "True", done.stderr
