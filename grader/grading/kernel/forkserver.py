"""A kernel fork server: one process per grading worker that has already imported ipykernel and
numpy (never grader, never the bank: the kernel only reports answers), and forks a fresh kernel
for every notebook.

A kernel started from scratch spends about 0.45 s of CPU importing before it runs one cell;
a forked one starts with all of that done. Each student still gets a process of their own
(fresh namespace, fresh IPython shell, its own sockets); nothing a notebook does reaches the
server or another student's kernel.

Two modes:

* plain (`python -m grader.grading.kernel.forkserver`, grading with --unsafe-no-sandbox): kernels are
  forked as the grader's user.
* sandboxed (`python /opt/grader-forkserver.py --sandboxed`, run by bubblewrap, see
  sandbox.Sandbox.server_command): the server lives in a sandbox of its own (no course, no
  grader package, no network) keeping only CAP_SETUID, CAP_SETGID, CAP_SYS_ADMIN and
  CAP_NET_ADMIN as root (rootless none: each kernel unshares a user namespace of its own), and
  this file is the only part of the project it sees: it imports nothing of
  `grader`. Each kernel is isolated before any student code runs (`_isolate`): a pid namespace of
  its own whose init is a reaper (so killing that init kills everything the student started,
  setsid'd or not), a mount namespace with a private /tmp, a working directory on a tmpfs of its
  own and a /proc that shows only its own processes, an ipc namespace (no System V shared memory
  with the next kernel), a network namespace (its own loopback: no port or abstract socket of a
  classmate's kernel), the kernel's leased uid with no groups and no capabilities, no_new_privs,
  and rlimits; held, its init waits until the grader has put it in the kernel's cgroup. Python
  3.11 has no os.unshare or mount, hence the three libc calls through ctypes.

Protocol: one JSON request per line on stdin ({"argv", "env", "cwd"}, plus {"uid", "gid", "userns",
"shared", "sockets", "rlimits", "tmp_options", "scratch_options", "shared_options", "keep_in_tmp",
"hold"} when sandboxed), one JSON reply per line
on the original stdout ({"pid"} or {"error"}; sandboxed, "pid" is the kernel namespace's init in
the server's pid namespace). The server exits when stdin closes. With SIGCHLD ignored, the
operating system reaps forked children itself.
"""

import ctypes
import json
import os
import random
import resource
import signal
import sys
import threading

PRELOAD = ("numpy",)
# What every kernel imported as it started or ran its first cells (sys.modules of a kernel after a
# notebook, less the server's): 26 ms of CPU per kernel, paid once here instead.
KERNEL_IMPORTS = ("numpy.random", "sqlite3", "IPython.core.debugger", "IPython.core.oinspect",
                  "IPython.core.completerlib", "IPython.core.logger", "IPython.extensions.storemagic",
                  "tornado.platform.asyncio", "pygments.formatters.terminal256")
LAUNCH_DIRS = {os.getcwd(), os.path.dirname(os.path.abspath(__file__))}

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = \
    0x00020000, 0x10000000, 0x08000000, 0x20000000, 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP, IFREQ = 0x8913, 0x8914, 1, "16sh22x"    # struct ifreq: name, flags
HOLD_SECONDS = 60             # a held init the grader never releases gives up
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = \
    1, 2, 4, 8, 32, 4096, 1 << 14, 1 << 18
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 24, 47, 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522


def preload():
    import importlib

    for module in PRELOAD:
        importlib.import_module(module)
    # No debugger in a grading kernel: ipykernel makes one per kernel when debugpy imports (0.15 s of
    # CPU to import it, and a debug port a student's code could reach). None makes the import fail.
    sys.modules["debugpy"] = None  # type: ignore[assignment]
    import ipykernel.kernelapp  # noqa: F401  (the kernel's own imports: IPython, zmq, tornado)
    for module in KERNEL_IMPORTS:
        importlib.import_module(module)
    global PendingOnlyOutStream
    PendingOnlyOutStream = _pending_only_out_stream()


PendingOnlyOutStream = None      # made by preload(), once ipykernel is imported
OUTSTREAM = "--IPKernelApp.outstream_class=__main__.PendingOnlyOutStream"


def _pending_only_out_stream():
    """ipykernel's OutStream whose flush() does nothing when nothing was written since the last one.
    ipykernel flushes stdout and stderr six times per cell, each a round trip to its IO thread, which
    sends whatever was written: 2 ms of a kernel's CPU per cell, a quarter of a short cell's. A write
    marks a flush pending (`_schedule_flush`), so a flush without one has nothing to send, and every
    message goes out through that one thread in order, so nothing is reordered either."""
    from ipykernel.iostream import OutStream

    class PendingOnlyOutStream(OutStream):
        def flush(self):
            if getattr(self, "_flush_pending", True) or getattr(self, "_subprocess_flush_pending", True):
                super().flush()
    return PendingOnlyOutStream


def run_kernel(request, devnull, parent_pid=True):
    """In the forked child: become the kernel that `argv` (ipykernel_launcher's arguments) describes."""
    os.setsid()                                   # its own process group, as jupyter_client does
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()
    os.environ.update(request["env"])
    argv = [*request["argv"], OUTSTREAM]
    if parent_pid:   # exit with the server (ipykernel read JPY_PARENT_PID when the server imported it)
        argv.append(f"--IPKernelApp.parent_handle={os.getppid()}")
    os.chdir(request["cwd"])
    random.seed()                                 # a fresh process draws fresh seeds
    sys.modules["numpy"].random.seed()
    sys.argv = [sys.executable, *argv]
    while sys.path and sys.path[0] in LAUNCH_DIRS:   # as ipykernel_launcher does; IPython adds '' back
        del sys.path[0]
    from ipykernel.kernelapp import IPKernelApp
    IPKernelApp.launch_instance(argv=argv)


def _libc(name, *args):
    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{name}{args!r}: {os.strerror(errno)}")


def _isolate(request):
    """In the kernel namespace's init, still privileged: private mounts, then drop everything.
    Order matters: mounts need CAP_SYS_ADMIN, rlimits are set while we may still raise them,
    groups and gid before uid (after setresuid no capability is left). Rootless ("userns"), the
    uid is the grader's own, so every capability is dropped explicitly instead."""
    _libc("mount", b"none", b"/", None, MS_REC | MS_PRIVATE, None)
    _hide_classmates(request)
    kept = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in request.get("keep_in_tmp", [])}
    _libc("mount", b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, request["tmp_options"].encode())
    for path, fd in kept.items():          # read-only trees under /tmp (a venv there) stay visible
        os.makedirs(path, mode=0o755, exist_ok=True)
        _libc("mount", f"/proc/self/fd/{fd}".encode(), path.encode(), None, MS_BIND | MS_REC, None)
        _libc("mount", None, path.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, None)
        os.close(fd)
    # the kernel's working directory: a tmpfs of the kernel's uid, mode 0700, of a bounded size and
    # number of files, over the empty mount point the grader made on the host's disk
    _libc("mount", b"tmpfs", request["cwd"].encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
          request["scratch_options"].encode())
    _libc("mount", b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    _loopback_up()
    for name, (soft, hard) in request["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (soft, hard))
    uid, gid = int(request["uid"]), int(request.get("gid", request["uid"]))
    if request.get("userns"):
        _drop_capabilities()
    else:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    _libc("prctl", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    if os.getuid() != uid or os.geteuid() != uid or os.getgid() != gid or \
            (os.getgroups() and not request.get("userns")) or _capabilities() != {0}:
        raise OSError(f"could not become uid {uid} without capabilities")


def _hide_classmates(request):
    """Cover the server's shared directory (every kernel's scratch mount point and socket
    directory) with an empty, read-only tmpfs holding this kernel's two alone: no other kernel's
    connection file or sockets can be reached, even under the same uid (rootless)."""
    shared, sockets, cwd = (request[name] for name in ("shared", "sockets", "cwd"))
    own = os.open(sockets, os.O_PATH | os.O_DIRECTORY)
    _libc("mount", b"tmpfs", shared.encode(), b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
          request["shared_options"].encode())
    os.mkdir(sockets, 0o700)
    os.mkdir(cwd, 0o700)
    _libc("mount", f"/proc/self/fd/{own}".encode(), sockets.encode(), None, MS_BIND, None)
    os.close(own)
    _libc("mount", None, shared.encode(), None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
          request["shared_options"].encode())


def _drop_capabilities():
    """Rootless: no ambient, bounding, permitted or effective capability is left."""
    _libc("prctl", PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    with open("/proc/sys/kernel/cap_last_cap") as last:
        for cap in range(int(last.read()) + 1):
            _libc("prctl", PR_CAPBSET_DROP, cap, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    _libc("capset", header, (ctypes.c_uint32 * 6)())


def _capabilities():
    """The values of the capability sets this process could use (all 0 once dropped)."""
    with open("/proc/self/status") as status:
        return {int(line.split()[1], 16) for line in status if line.split(":")[0] in ("CapPrm", "CapEff", "CapAmb")}


def _loopback_up():
    """A new network namespace's loopback is down: up, it is the kernel's own 127.0.0.1."""
    import fcntl
    import socket
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        flags = struct.unpack(IFREQ, fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack(IFREQ, b"lo", 0)))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack(IFREQ, b"lo", flags | IFF_UP))


def _namespace_init(request, report, devnull):
    """Pid 1 of the kernel's namespace: isolate, fork the kernel (pid 2), reap until it exits.
    When this process exits, the Linux kernel kills every other process of the namespace.
    Held (request "hold"), it waits after "ready" for SIGUSR1: the grader sends it once it has
    moved this process into the kernel's cgroup, so the kernel and all it forks start inside."""
    hold = request.get("hold")
    try:
        _isolate(request)
        if hold:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    except Exception as exc:
        os.write(report, f"error {type(exc).__name__}: {exc}\n".encode())
        os._exit(1)
    os.write(report, b"ready\n")
    os.close(report)
    if hold:
        if signal.sigtimedwait({signal.SIGUSR1}, HOLD_SECONDS) is None:
            os._exit(1)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
    kernel = os.fork()
    if kernel == 0:
        status = 1
        try:
            run_kernel(request, devnull, parent_pid=False)
            status = 0
        finally:
            os._exit(status)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        if pid == kernel:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _user_namespace():
    """Rootless: a user namespace of the kernel's own, mapping only the grader's uid and gid (the
    pid, mount, ipc and network namespaces made next belong to it). Besides isolating it, it
    gives the kernel a process count of its own: RLIMIT_NPROC counts per user namespace."""
    uid, gid = os.getuid(), os.getgid()
    _libc("unshare", CLONE_NEWUSER)
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as file:
            file.write(text)


def fork_sandboxed(request, devnull, close):
    """Fork a kernel in a pid, mount, ipc and network namespace of its own; return its init's pid
    (our namespace).
    A forks, unshares and forks B (pid 1 of the new namespace) and exits; B reports on a pipe."""
    read_end, write_end = os.pipe()
    helper = os.fork()
    if helper == 0:
        status = 1
        try:
            close()
            os.close(read_end)
            namespaces = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET
            if request.get("userns"):
                _user_namespace()
            _libc("unshare", namespaces)
            init = os.fork()
            if init == 0:
                _namespace_init(request, write_end, devnull)
            os.write(write_end, f"pid {init}\n".encode())
            status = 0
        except BaseException as exc:
            os.write(write_end, f"error {type(exc).__name__}: {exc}\n".encode())
        finally:
            os._exit(status)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 4096):      # EOF: the helper exited and the init set up
        chunks.append(chunk)
    os.close(read_end)
    lines = dict(line.split(" ", 1) for line in b"".join(chunks).decode().splitlines() if " " in line)
    if "error" in lines:
        return {"error": lines["error"]}
    if "pid" not in lines or "ready" not in b"".join(chunks).decode().split():
        return {"error": f"the kernel's sandbox did not start: {b''.join(chunks).decode()!r}"}
    return {"pid": int(lines["pid"])}


def serve(requests, replies, sandboxed=False):
    devnull = os.open(os.devnull, os.O_RDWR)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)   # no zombies: the OS reaps every exited child

    def close():
        requests.close()
        replies.close()
    for line in requests:
        request = json.loads(line)
        if threading.active_count() != 1:
            reply = {"error": "the fork server has threads; it cannot fork safely"}
        elif sandboxed:
            reply = fork_sandboxed(request, devnull, close)
        else:
            pid = os.fork()
            if pid == 0:
                status = 1
                try:
                    close()
                    run_kernel(request, devnull)
                    status = 0
                finally:
                    os._exit(status)
            reply = {"pid": pid}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    sandboxed = "--sandboxed" in argv
    replies = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)                           # imports may print; the reply channel stays clean
    os.close(devnull)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the grader; it closes our stdin
    preload()
    try:
        replies.write(json.dumps({"ready": os.getpid()}) + "\n")
        replies.flush()
        serve(sys.stdin, replies, sandboxed)
    except BrokenPipeError:     # the worker is gone (it failed to start, or was killed): nothing to serve
        os._exit(0)


if __name__ == "__main__":
    main()
