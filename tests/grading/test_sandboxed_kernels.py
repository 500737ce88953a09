"""Kernels forked by a fork server inside the sandbox (the grading default): each property of
issue #8 item 2 checked on real forked kernels, through the KernelPool grading uses, each against
a control that shows the same action succeeds where it is allowed."""

import asyncio
import json
import os
import time
from pathlib import Path

import pytest
from kernel_kit import interrupt_a_loop
from test_kernels import run_code
from test_sandbox import COURSE_FILES, PACKAGE_DIR, ROOTLESS, SITE_PACKAGES, identity, processes_of

from grader.grading.kernel import sandbox as sb
from grader.grading.kernel.pool import ForkServer, KernelPool, shutdown
from grader.grading.kernel.sandbox import ForkedSandboxProcess, Limits, Sandbox, SandboxedProcess

pytestmark = [pytest.mark.xdist_group("sandbox"), pytest.mark.nbgrader, pytest.mark.sandbox]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    for name, text in COURSE_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture(scope="module")
def pool(course):
    """One worker's pool: a sandboxed fork server, as GradingSession makes it."""
    sandbox = Sandbox(Limits(address_space=2048 * sb.MiB, processes=32), forbid=[course])
    server = ForkServer(env=dict(os.environ), sandbox=sandbox)
    pool = KernelPool(env=dict(os.environ), server=server, sandbox=sandbox)
    yield pool
    pool.close()


@pytest.fixture
def kernel(pool):
    km = pool.take("python3", prestart_next=False)
    yield km
    shutdown(km)


def out_json(km, code):
    out, error = run_code(km, code)
    assert error is None, (out, error)
    return json.loads(out)


ATTEMPT = """
import json
def attempt(action, *args):
    try:
        action(*args)
        return "ok"
    except BaseException as exc:
        return type(exc).__name__
"""


def test_the_kernel_is_forked_in_the_sandbox_under_a_uid_of_its_own(pool, kernel):
    process = kernel.provisioner.process
    assert isinstance(process, ForkedSandboxProcess)           # forked, not one bwrap per kernel
    seen = out_json(kernel, "import os, json; status = open('/proc/self/status').read()\n"
                            "print(json.dumps([os.getuid(), os.getgid(), os.getgroups(), os.getpid(), os.getcwd(), "
                            "sorted(int(p) for p in os.listdir('/proc') if p.isdigit()), status, os.listdir('.'), "
                            "os.environ['HOME'], os.environ['TMPDIR'], os.environ.get('JPY_PARENT_PID')]))")
    uid, gid, groups, pid, cwd, pids, status, listing, home, tmpdir, parent = seen
    assert uid == process.uid and gid == process.gid
    if ROOTLESS:     # the grader's ids, in a user namespace of the kernel's own
        assert (uid, gid) == (os.getuid(), os.getgid()) and set(groups) <= {gid}
    else:
        assert uid == gid and groups == [] and uid not in (0, os.getuid())
    assert pid == 2 and pids[:2] == [1, 2]                     # pid 2 under its own init; /proc is its own
    assert cwd == str(process.scratch) and listing == [] and home == tmpdir == "/tmp" and parent is None
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert fields["CapEff"].strip() == fields["CapPrm"].strip() == "0" * 16
    assert fields["NoNewPrivs"].strip() == "1"
    assert processes_of(identity(process))                     # control: the host sees it as such


def test_the_course_and_the_grader_package_cannot_be_read_or_imported(kernel, course):
    paths = [str(course / name) for name in COURSE_FILES] + [str(course), str(PACKAGE_DIR / "engine" / "__init__.py")]
    assert all(os.path.exists(p) for p in paths)               # control: all there on the host
    seen = out_json(kernel, ATTEMPT + f"""
import os
def read(path):
    os.listdir(path) if os.path.isdir(path) else open(path, 'rb').read()
print(json.dumps({{"files": {{p: attempt(read, p) for p in {paths!r}}}, "import": attempt(__import__, 'grader'),
                   "runtime": attempt(__import__, 'grader.runtime')}}))
""")
    assert seen["files"] == {p: "FileNotFoundError" for p in paths}
    assert seen["import"] == seen["runtime"] == "ModuleNotFoundError"


def test_nothing_outside_the_scratch_directory_is_writable(pool, kernel, course):
    other = pool.take("python3", prestart_next=False)          # a classmate's kernel, alive at once
    try:
        classmate = other.provisioner.process.scratch
        targets = {"course": str(course / "questions.yaml"), "course-new": str(course / "cheat.txt"),
                   "site-packages": str(SITE_PACKAGES / "injected.py"), "package": str(PACKAGE_DIR / "runtime.py"),
                   "classmate": str(classmate / "planted.py"), "shared": str(pool.server.shared / "planted.py"),
                   "usr": "/usr/cheat.txt", "root": "/cheat.txt", "scratch": "answer.txt", "tmp": "/tmp/x"}
        seen = out_json(kernel, ATTEMPT + f"""
def write(path):
    with open(path, 'a') as f:
        f.write('pwned')
print(json.dumps({{name: attempt(write, path) for name, path in {targets!r}.items()}}))
""")
        assert seen.pop("scratch") == "ok" and seen.pop("tmp") == "ok"
        assert all(error in ("FileNotFoundError", "PermissionError", "OSError") for error in seen.values()), seen
        process = kernel.provisioner.process
        assert (process.inside(process.scratch) / "answer.txt").read_text() == "pwned"
        assert not (other.provisioner.process.inside(classmate) / "planted.py").exists()
        assert not (classmate / "planted.py").exists() and not (course / "cheat.txt").exists()
        out, _ = run_code(other, "import os; print(os.listdir('/tmp'))")    # /tmp is each kernel's own
        in_tmp = sorted({Path(tree).parts[2] for tree in pool.sandbox.trees_in_tmp()})   # a venv under /tmp
        assert sorted(eval(out)) == sorted([".ipython", *in_tmp])           # its IPYTHONDIR; no 'x'
        out, _ = run_code(kernel, "import os; print(os.listdir('/tmp'))")
        assert sorted(eval(out)) == sorted([".ipython", "x", *in_tmp])
    finally:
        shutdown(other)


DETACH = """
import os, subprocess, time
subprocess.Popen(['sleep', '611'], start_new_session=True)          # setsid'd
if os.fork() == 0:                                                  # double fork, setsid, detached
    os.setsid()
    if os.fork() == 0:
        os.execvp('sleep', ['sleep', '612'])
    os._exit(0)
time.sleep(0.3)
print('started')
"""


def test_detached_processes_die_with_the_kernel_and_its_directories_go(pool):
    km = pool.take("python3", prestart_next=False)
    process = km.provisioner.process
    try:
        assert run_code(km, DETACH) == ("started\n", None)
        who = identity(process)
        before = processes_of(who)
    finally:
        shutdown(km)
    assert [c for c in before if c.startswith("sleep")] == ["sleep 611", "sleep 612"]
    assert processes_of(who) == []                      # at once: shutdown waits for the namespace
    assert not process.scratch.exists() and not process.sockets.exists()


def test_a_kernel_that_kills_itself_or_exits_is_seen_dead(pool):
    for code in ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "import os; os._exit(3)"):
        km = pool.take("python3", prestart_next=False)
        try:
            with pytest.raises(Exception):
                run_code(km, code, timeout=5)
            deadline = time.monotonic() + 10
            while asyncio.run(km.is_alive()) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not asyncio.run(km.is_alive()), code
        finally:
            shutdown(km)


def test_an_interrupt_on_timeout_reaches_the_kernel(kernel):
    assert asyncio.run(interrupt_a_loop(kernel))["ename"] == "KeyboardInterrupt"
    assert run_code(kernel, "print(1 + 1)") == ("2\n", None)    # the kernel survived it


STILL_STARTS_THREADS_AND_PROCESSES = (   # a classmate's kernel, while a fork bomb runs beside it
    "import threading, subprocess\n"
    "ts = [threading.Thread(target=lambda: None) for _ in range(8)]\n"
    "[t.start() for t in ts]; [t.join() for t in ts]\n"
    "print(subprocess.run(['echo', 'fine'], capture_output=True, text=True).stdout)")

FORK_BOMB = """
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
"""


def test_a_fork_bomb_and_a_memory_hog_are_capped_without_hurting_a_classmate(pool):
    bomber = pool.take("python3", prestart_next=False)
    classmate = pool.take("python3", prestart_next=False)
    try:
        out, error = run_code(bomber, FORK_BOMB)
        children, errno = map(int, out.split())
        assert error is None and errno == 11 and 0 < children < 32           # EAGAIN at RLIMIT_NPROC
        assert run_code(bomber, "x = bytearray(3 << 30)")[1] == "MemoryError"
        assert run_code(bomber, "y = bytearray(50 << 20); print(len(y))") == (f"{50 << 20}\n", None)
        # the classmate, started before the bomb went off, still starts threads and processes
        assert run_code(classmate, STILL_STARTS_THREADS_AND_PROCESSES) == ("fine\n\n", None)
    finally:
        shutdown(bomber)
        shutdown(classmate)


def test_the_submissions_files_are_copied_in_for_the_kernel_only(kernel, tmp_path):
    workdir = tmp_path / "autograded" / "s001" / "a1"
    (workdir / "data").mkdir(parents=True)
    (workdir / "data" / "x.csv").write_text("1,2,3\n")
    (workdir / "a1.ipynb").write_text("{}")                    # last run's autograded notebook: not copied
    kernel.provisioner.process.copy_in(workdir)
    out, error = run_code(kernel, "import os, numpy as np\nv = np.loadtxt('data/x.csv', delimiter=',')\n"
                                  "open('data/x.csv', 'a').write('4,5,6\\n')\nprint(v.sum(), sorted(os.listdir('.')))")
    assert (out, error) == ("6.0 ['data']\n", None)
    assert (workdir / "data" / "x.csv").read_text() == "1,2,3\n"   # the original is untouched


def test_without_its_fork_server_every_kernel_still_gets_a_sandbox(course):
    sandbox = Sandbox(forbid=[course])
    server = ForkServer(env=dict(os.environ), sandbox=sandbox)
    pool = KernelPool(env=dict(os.environ), server=server, sandbox=sandbox)
    try:
        server.process.kill()
        server.process.wait()
        km = pool.take("python3", prestart_next=False)
        try:
            assert isinstance(km.provisioner.process, SandboxedProcess)    # one bwrap for this kernel
            out, error = run_code(km, "import os; print(os.getuid() != 0)\nimport grader")
            assert (out, error) == ("True\n", "ModuleNotFoundError")
        finally:
            shutdown(km)
    finally:
        pool.close()


def test_closing_the_pool_ends_every_kernel_of_the_server(course):
    sandbox = Sandbox(forbid=[course])
    server = ForkServer(env=dict(os.environ), sandbox=sandbox)
    pool = KernelPool(env=dict(os.environ), server=server, sandbox=sandbox)
    km = pool.take("python3", prestart_next=True)                # and one started ahead
    run_code(km, "import subprocess; subprocess.Popen(['sleep', '613'], start_new_session=True)")
    kernels = [identity(km.provisioner.process), identity(pool._next.provisioner.process)]
    assert "sleep 613" in processes_of(kernels[0])              # control
    pool.close()                                                 # a worker closing without shutting km down
    deadline = time.monotonic() + 5
    while any(processes_of(who) for who in kernels) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [processes_of(who) for who in kernels] == [[], []]
    assert not server.shared.exists()
