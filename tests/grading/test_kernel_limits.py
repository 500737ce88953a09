"""Per-kernel limits that hold in aggregate (issue #18, item 5), in both sandboxed launch paths:
kernels forked by the sandboxed fork server ("forked", the grading default) and one bwrap per
kernel ("bwrap", the fallback). Each kernel has a network namespace, a scratch tmpfs of its uid
and a cgroup of its own; each limit is shown against a classmate's kernel or an allowed action."""

import os
import stat
import uuid

import pytest
from test_kernels import run_code
from test_sandboxed_kernels import ATTEMPT, FORK_BOMB, STILL_STARTS_THREADS_AND_PROCESSES, out_json

from grader.grading.kernel import sandbox as sb
from grader.grading.kernel.pool import ForkServer, KernelPool, shutdown
from grader.grading.kernel.sandbox import ForkedSandboxProcess, Limits, Sandbox, SandboxedProcess

CGROUPS, NO_CGROUPS = sb.find_kernel_cgroups()
pytestmark = [pytest.mark.xdist_group("sandbox"), pytest.mark.nbgrader, pytest.mark.sandbox]
needs_cgroups = pytest.mark.skipif(CGROUPS is None, reason=f"no cgroup per kernel here: {NO_CGROUPS}")
MODES = {"forked": ForkedSandboxProcess, "bwrap": SandboxedProcess}


def make_pool(mode: str, limits: Limits | None = None) -> KernelPool:
    sandbox = Sandbox(limits or Limits())
    server = ForkServer(env=dict(os.environ), sandbox=sandbox) if mode == "forked" else None
    return KernelPool(env=dict(os.environ), server=server, sandbox=sandbox)


@pytest.fixture(scope="module", params=list(MODES))
def pool(request):
    pool = make_pool(request.param)
    yield pool
    pool.close()


@pytest.fixture
def kernels(pool):
    """take(n): n kernels of the pool, alive at once (a student's and classmates'), shut down after."""
    taken = []

    def take(n=1):
        new = [pool.take("python3", prestart_next=False) for _ in range(n)]
        taken.extend(new)
        mode = "forked" if pool.server is not None else "bwrap"
        assert all(isinstance(km.provisioner.process, MODES[mode]) for km in new)
        return new
    yield take
    for km in taken:
        shutdown(km)




# --- network: a namespace per kernel

def test_a_kernel_cannot_reach_a_classmates_ports_or_abstract_sockets(kernels):
    listener, classmate = kernels(2)
    name = f"grader-test-{uuid.uuid4().hex}"
    port = out_json(listener, f"""
import json, socket
tcp = socket.create_server(('127.0.0.1', 0))
unix = socket.socket(socket.AF_UNIX)
unix.bind('\\0{name}')
unix.listen()
print(json.dumps(tcp.getsockname()[1]))
""")
    reach = ATTEMPT + f"""
import socket
def connect_unix():
    s = socket.socket(socket.AF_UNIX)
    s.connect('\\0{name}')
    s.close()
print(json.dumps([attempt(socket.create_connection, ('127.0.0.1', {port}), 5), attempt(connect_unix)]))
"""
    assert out_json(listener, reach) == ["ok", "ok"]           # control: both listen, in its own namespace
    assert out_json(classmate, reach) == ["ConnectionRefusedError", "ConnectionRefusedError"]


# --- the scratch directory: a tmpfs of the kernel's own

def test_the_scratch_directory_is_the_kernels_alone_and_holds_the_copied_files(kernels, tmp_path):
    km, = kernels()
    process = km.provisioner.process
    source = tmp_path / "autograded" / "s001" / "a1"
    (source / "data").mkdir(parents=True)
    (source / "data" / "x.csv").write_text("1,2,3\n")
    (source / "run.sh").write_text("echo hi\n")
    (source / "run.sh").chmod(0o755)
    (source / "link").symlink_to("data/x.csv")
    source.chmod(0o755)                                          # not what the scratch root may become
    process.copy_in(source)
    seen = out_json(km, """
import json, os
print(json.dumps({"root": [os.stat('.').st_mode, os.stat('.').st_uid], "csv": open('data/x.csv').read(),
                  "owners": sorted({os.lstat(p).st_uid for p in ['data', 'data/x.csv', 'run.sh', 'link']}),
                  "run.sh": os.stat('run.sh').st_mode & 0o777, "link": os.readlink('link'),
                  "write": open('data/new.txt', 'w').write('mine')}))
""")
    assert stat.S_IMODE(seen["root"][0]) == 0o700 and seen["root"][1] == process.uid
    assert seen["csv"] == "1,2,3\n" and seen["owners"] == [process.uid]
    assert seen["run.sh"] == 0o755 and seen["link"] == "data/x.csv" and seen["write"] == 4


def test_copying_in_never_follows_a_link_in_the_scratch_directory(kernels, tmp_path):
    km, = kernels()
    host_target = tmp_path / "host"                             # a host directory root could write to
    host_target.mkdir()
    out_json(km, f"import os, json; os.symlink({str(host_target)!r}, 'data'); print(json.dumps(1))")
    source = tmp_path / "submission"
    (source / "data").mkdir(parents=True)
    (source / "data" / "x.csv").write_text("planted\n")
    with pytest.raises(OSError):
        km.provisioner.process.copy_in(source)
    assert list(host_target.iterdir()) == []


FILL = """
import errno, json, os
def fill(count, size, prefix):
    written = 0
    try:
        for i in range(count):
            with open(f'{prefix}{i}', 'wb') as f:
                f.write(b'x' * size)
            written += 1
        return [written, None]
    except OSError as exc:
        return [written, errno.errorcode[exc.errno]]
"""


def free_bytes(path: str) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def test_a_kernel_cannot_fill_the_hosts_disk(kernels):
    big, many = kernels(2)
    before = {path: free_bytes(path) for path in ("/var/tmp", "/tmp")}
    one_file = out_json(big, FILL + """
def big():
    try:
        with open('big.bin', 'wb') as f:
            for _ in range(200):
                f.write(b'x' * (1 << 20))
    except OSError as exc:
        return errno.errorcode[exc.errno]
print(json.dumps([big(), fill(3, 1 << 20, 'after-')]))
""")
    small_files = out_json(many, FILL + "os.mkdir('many')\nprint(json.dumps(fill(10_000, 1024, 'many/')))")
    after = {path: free_bytes(path) for path in before}
    assert one_file[0] in ("ENOSPC", "EFBIG") and one_file[1][1] == "ENOSPC"    # the scratch is full
    assert small_files[0] < 10_000 and small_files[1] == "ENOSPC"
    for process in (big.provisioner.process, many.provisioner.process):
        assert not process.scratch.exists() or list(process.scratch.iterdir()) == []   # nothing on the host
    assert all(before[path] - after[path] < 32 * sb.MiB for path in before), (before, after)


# --- memory and processes: a cgroup per kernel

HOG = """
import json, os
pids, reports = [], []
release, hold = os.pipe()
for _ in range(3):                          # three processes, each under its own RLIMIT_AS
    report, done = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(hold)
        try:
            block = b'x' * (1 << 30)        # a GiB, every page touched
            os.write(done, b'held')
        except MemoryError:
            os.write(done, b'MemoryError')
        os.read(release, 1)                 # keep it until all three have tried
        os._exit(0)
    os.close(done)
    pids.append(pid)
    reports.append(report)
seen = [os.read(report, 20).decode() or 'killed' for report in reports]
os.close(hold)
print(json.dumps([seen, [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]]))
"""


@needs_cgroups
def test_a_kernels_processes_together_are_held_to_its_memory(kernels):
    hog, classmate = kernels(2)
    assert hog.provisioner.process.cgroup is not None
    seen, statuses = out_json(hog, HOG)
    held = [report == "held" and status == 0 for report, status in zip(seen, statuses)]
    assert held.count(True) < 3 and -9 in statuses, (seen, statuses)    # the kernel's OOM killer
    assert run_code(hog, "print('alive')") == ("alive\n", None)
    out = out_json(classmate, "import json; block = b'x' * (1 << 30); print(json.dumps(len(block)))")
    assert out == 1 << 30                                       # control: a GiB is fine for one process


@needs_cgroups
@pytest.mark.parametrize("mode", list(MODES))
def test_a_fork_bomb_is_held_to_the_kernels_process_limit(mode):
    pool = make_pool(mode, Limits(processes=256, kernel_processes=24))     # RLIMIT_NPROC would allow 256
    bomber = classmate = None
    try:
        bomber = pool.take("python3", prestart_next=False)
        classmate = pool.take("python3", prestart_next=False)
        out, error = run_code(bomber, FORK_BOMB)
        children, errno = map(int, out.split())
        assert error is None and errno == 11 and 0 < children < 24          # EAGAIN at pids.max
        assert run_code(classmate, STILL_STARTS_THREADS_AND_PROCESSES) == ("fine\n\n", None)
    finally:
        for km in (bomber, classmate):
            if km is not None:
                shutdown(km)
        pool.close()


@needs_cgroups
def test_each_kernel_and_all_it_starts_are_in_its_cgroup_which_goes_with_it(pool):
    km = pool.take("python3", prestart_next=False)
    process = km.provisioner.process
    try:
        out, error = run_code(km, "import subprocess; print(subprocess.run(['cat', '/proc/self/cgroup'], "
                                  "capture_output=True, text=True).stdout)")
        assert error is None and f"/grader-kernel-{process.uid}\n" in out
        members = {int(pid) for d in process.cgroup.dirs for pid in (d / "cgroup.procs").read_text().split()}
        assert process.command_pid() in members
    finally:
        shutdown(km)
    assert not any(d.exists() for d in process.cgroup.dirs)


def test_without_cgroups_kernels_keep_their_rlimits_and_support_says_so(monkeypatch):
    monkeypatch.setattr(sb, "find_kernel_cgroups", lambda: (None, "not writable"))
    assert "no cgroup per kernel (not writable)" in sb.support().message
    pool = make_pool("forked")
    try:
        km = pool.take("python3", prestart_next=False)
        try:
            assert km.provisioner.process.cgroup is None
            assert run_code(km, "print(open('/proc/self/cgroup').read().count('grader-kernel'))") == ("0\n", None)
        finally:
            shutdown(km)
    finally:
        pool.close()
    monkeypatch.undo()
    monkeypatch.setattr(sb.os, "geteuid", lambda: 1000)
    assert sb.find_kernel_cgroups() == (None, "not root")
