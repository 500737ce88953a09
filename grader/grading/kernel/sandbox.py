"""Grading kernels in an operating-system sandbox: bubblewrap namespaces, a uid per kernel (as root)
or a user namespace per kernel (any other user), rlimits, a scratch tmpfs and, as root, a cgroup
per kernel.

A sandboxed kernel is `bwrap ... -- python -c MOUNT_SCRATCH ... setpriv ... -- prlimit ... -- python -m
ipykernel_launcher ...`:

* bubblewrap (bwrap, Debian package `bubblewrap`, the sandbox under Flatpak) gives the kernel new
  mount, pid, network, ipc, uts and cgroup namespaces. Its file system is a fresh tmpfs holding
  read-only binds of /usr, /etc, the Python installation and the venv; the course directory and
  the project's own package are simply not there (and where they lie inside a bound tree, an
  empty read-only mount covers them, as it covers the venv's editable-install hooks), so
  `import grader`, questions.yaml, source/, submitted/, autograded/ and gradebook.db do not
  exist. Writable: a fresh per-kernel scratch directory (its working directory: a tmpfs of the
  kernel's uid, mode 0700, limited in size and files, mounted by MOUNT_SCRATCH still privileged inside),
  the kernel's own socket directory, and a private, size-limited /tmp. /proc is the kernel's own pid
  namespace's; /dev is bwrap's minimal one (null, zero, full, random, urandom, tty). The
  network namespace has only its own loopback, so no host or outside service is reachable.
* setpriv (util-linux) drops to a uid/gid of the kernel's own (UID_BASE + n, leased while the
  kernel lives), no supplementary groups, no capabilities (bounding set emptied), no_new_privs.
  Not `nobody`: every kernel alive at once would share one uid, and RLIMIT_NPROC counts per uid,
  so a fork bomb in one kernel would stop a classmate's kernel from starting threads; nor does
  a kernel share a uid with any daemon or any file on the host.
* prlimit (util-linux) sets hard and soft rlimits: CPU time, address space, processes (threads
  count), open files, file size (Python ignores SIGXFSZ, so an over-large write raises OSError).
* Everything the kernel starts, setsid'd and double-forked or not, lives in its pid namespace.
  Killing the namespace's init (bwrap's reaper, pid 1 inside) makes the kernel kill every other
  process in it; `--die-with-parent` does the same when the grader dies.
* Where the grader can make cgroups (root, cgroup v1 memory and pids hierarchies or cgroup v2:
  `find_kernel_cgroups`), the namespace's init is moved into a cgroup of the kernel's own before
  it forks anything (bwrap --block-fd), so the memory and tasks of all the kernel's processes
  together are bounded; elsewhere only the rlimits hold, and `support()` says so.

Why these tools: bubblewrap is packaged by Debian and maintained, needs no daemon (Docker's is
not allowed here), and takes the whole policy as arguments; nsjail and firejail are not packaged
for this use (nsjail not at all in Debian 12); Landlock and seccomp filters restrict a process
that already runs and would come as extras (bwrap takes a seccomp program with --seccomp).
As root (here and in CI), bwrap runs privileged without a user namespace and the kernel gets a
real, unprivileged host uid, visible as such in the host's process table; bind sources need no
permissions for that uid (the interpreter lives under /root/.pyenv here). Kernels talk
to the grader over ipc (unix socket files) in their socket directory, bound at the same path:
socket files cross network namespaces, TCP on loopback would not.

Not root (rootless, docs/sandbox.md): bwrap runs in a user namespace and the kernel keeps the
grader's uid inside a user namespace of its own (MOUNT_SCRATCH, or the fork server's
_user_namespace), which also gives it an RLIMIT_NPROC count of its own; there is no cgroup per
kernel. `support()` says which mode holds, or why neither does.
"""

import errno
import fcntl
import importlib.util
import json
import logging
import os
import random
import secrets
import shutil
import signal
import site
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

BWRAP, SETPRIV, PRLIMIT = "bwrap", "setpriv", "prlimit"
# Run by `python -I -S -c` still privileged in a kernel's bwrap (root, or rootless uid 0 of its user
# namespace): argv[1] the scratch directory, argv[2] and argv[3] the tmpfs options of the scratch and
# of /tmp, argv[4] "UID:GID" rootless (else empty); then it execs the rest of the command (setpriv ...)
# in the scratch tmpfs. Rootless, it first enters a user namespace of its own where it is UID:GID
# (the grader's ids, mapped to uid 0 of bwrap's): from there no capability reaches the mounts.
MOUNT_SCRATCH = """\
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
def mount(source, target, fstype, flags, options):
    if libc.mount(source, target.encode(), fstype, flags, options.encode()) != 0:
        sys.exit(f"mount {target}: {os.strerror(ctypes.get_errno())}")
scratch, scratch_options, tmp_options, ids = sys.argv[1:5]
mount(b"tmpfs", scratch, b"tmpfs", 2 | 4, scratch_options)        # MS_NOSUID | MS_NODEV
mount(None, "/tmp", None, 32 | 2 | 4, tmp_options)                # MS_REMOUNT | MS_NOSUID | MS_NODEV
if ids:
    if libc.unshare(0x10000000) != 0:                             # CLONE_NEWUSER
        sys.exit(f"a user namespace for the kernel: {os.strerror(ctypes.get_errno())}")
    uid, gid = ids.split(":")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} 0 1"), ("gid_map", f"{gid} 0 1")):
        with open(f"/proc/self/{name}", "w") as file:
            file.write(text)
    with open("/proc/sys/kernel/cap_last_cap") as last:     # while it may: setpriv will have no capability
        for cap in range(int(last.read()) + 1):
            libc.prctl(24, cap, 0, 0, 0)                          # PR_CAPBSET_DROP
os.chdir(scratch)
os.execvp(sys.argv[5], sys.argv[5:])
"""
UID_BASE = 2_000_000_000        # uids no account and no file owns; one per live kernel
UID_COUNT = 1000
LEASES = Path("/run/grader-sandbox")
SYSTEM_TREES = ("/usr", "/etc")
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
MiB = 1 << 20
SERVER_PATH = "/opt/grader-forkserver.py"     # where a sandboxed fork server sees its one file
SHARED_ROOT = Path("/var/tmp")                 # kernels' directories: not under /tmp, which each
                                               # forked kernel covers with a private tmpfs


ROOTLESS_FIX = ("; unprivileged user namespaces look disabled here: enable them (sysctl user.max_user_namespaces=15000; "
                "on Debian kernel.unprivileged_userns_clone=1; on Ubuntu an AppArmor profile allowing bwrap "
                "userns, or kernel.apparmor_restrict_unprivileged_userns=0), or grade as root")


class SandboxError(RuntimeError):
    """The sandbox cannot be set up: says which path or tool and why."""


@dataclass(frozen=True)
class Limits:
    """What one kernel may use. The rlimits hold per process (CPU, address space, open files, file
    size) or per uid, i.e. per kernel (processes). The kernel's cgroup, where the grader can make
    one (`find_kernel_cgroups`), bounds the memory and tasks of all its processes together. Its
    working directory and /tmp are tmpfs of its own (in memory, so they count in its cgroup)."""

    cpu_seconds: int = 300            # SIGXCPU at the soft limit, SIGKILL 2 s later
    address_space: int = 4096 * MiB   # RLIMIT_AS: a larger allocation raises MemoryError
    processes: int = 64               # RLIMIT_NPROC: processes and threads of the kernel's uid
    open_files: int = 256
    file_size: int = 64 * MiB         # RLIMIT_FSIZE: no file written may grow past it
    tmp_size: int = 64 * MiB          # the private /tmp (tmpfs)
    scratch_size: int = 64 * MiB      # the working directory (tmpfs): the notebook's files copied in, and its own
    files: int = 8192                 # files, directories and links per tmpfs (scratch, /tmp)
    kernel_memory: int = 2048 * MiB   # the kernel's cgroup: all its processes (and tmpfs pages) together
    kernel_processes: int = 64        # the kernel's cgroup: its processes and threads together (pids.max)

    def tmpfs_options(self, size: int, mode: str | None = None, uid: int | None = None, gid: int | None = None) -> str:
        """tmpfs mount options: `size` bytes, `files` inodes, and a root directory of `mode` owned by `uid`, `gid`."""
        options = f"size={size},nr_inodes={self.files}"
        options += f",mode={mode}" if mode else ""
        return options + (f",uid={uid},gid={uid if gid is None else gid}" if uid is not None else "")

    def rlimits(self) -> dict[str, tuple[int, int]]:
        """The same limits as setrlimit arguments (a fork server sets them in each kernel)."""
        return {"RLIMIT_CPU": (self.cpu_seconds, self.cpu_seconds + 2),
                "RLIMIT_AS": (self.address_space, self.address_space),
                "RLIMIT_NPROC": (self.processes, self.processes),
                "RLIMIT_NOFILE": (self.open_files, self.open_files),
                "RLIMIT_FSIZE": (self.file_size, self.file_size), "RLIMIT_CORE": (0, 0)}

    def prlimit_arguments(self) -> list[str]:
        return [f"--cpu={self.cpu_seconds}:{self.cpu_seconds + 2}", f"--as={self.address_space}",
                f"--nproc={self.processes}", f"--nofile={self.open_files}", f"--fsize={self.file_size}",
                "--core=0"]


@dataclass(frozen=True)
class Support:
    available: bool
    message: str


def support(sandbox: "Sandbox | None" = None) -> Support:
    """Whether kernels can be sandboxed here: tools present, and a sandboxed Python runs (as root,
    under a uid of its own; as any other user, in a user namespace)."""
    missing = [tool for tool in (BWRAP, SETPRIV, PRLIMIT) if shutil.which(tool) is None]
    if missing:
        return Support(False, f"kernel sandboxing needs {', '.join(missing)} (Debian: apt-get install "
                              f"bubblewrap util-linux); grade with the unsafe flag to run kernels unsandboxed")
    try:
        sandbox = sandbox or Sandbox()
        with sandbox.start([sys.executable, "-c", "import os; print(os.getuid())"],
                           env={}, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
            out, err = process.communicate(timeout=60)
    except (OSError, SandboxError, subprocess.TimeoutExpired) as exc:
        return Support(False, f"kernel sandboxing failed to start: {exc}")
    if process.returncode != 0 or out.strip() != str(process.uid).encode():
        detail = (err or out).decode(errors="replace").strip().splitlines()
        reason = detail[-1] if detail else f"exit status {process.returncode}"
        fix = ROOTLESS_FIX if sandbox.rootless else ""
        return Support(False, f"kernel sandboxing does not work here (bubblewrap: {reason}){fix}; "
                              "grade with the unsafe flag to run kernels unsandboxed")
    cgroups = sandbox.cgroups.describe(sandbox.limits) if sandbox.cgroups else \
        f"no cgroup per kernel ({sandbox.cgroups_unavailable}), so memory is bounded per process only"
    who = "a user namespace per kernel (rootless)" if sandbox.rootless else "a uid per kernel"
    return Support(True, f"kernels sandboxed with bubblewrap {_bwrap_version()}, {who}, rlimits, {cgroups}")


def _bwrap_version() -> str:
    try:
        return subprocess.run([BWRAP, "--version"], capture_output=True, text=True).stdout.split()[-1]
    except (OSError, IndexError):
        return "?"


def inside_path(program: str) -> str:
    """`program`'s path as the sandbox can follow it: `..` collapsed (python run as
    `../.venv/bin/python` from tests/ would name tests/, which the sandbox does not mount), links kept
    (a venv's python is a link whose own path marks the venv)."""
    return os.path.normpath(os.path.abspath(program)) if os.sep in program else program


def project_package_dirs(package: str = "grader") -> list[Path]:
    """Where `package` (the answer key: engine, bank, runtime) is imported from on this machine."""
    spec = importlib.util.find_spec(package)
    if spec is None:
        return []
    return [Path(p).resolve() for p in (spec.submodule_search_locations or [Path(spec.origin).parent])]


def python_trees() -> list[Path]:
    """The interpreter and the installed packages: the base installation and the venv."""
    trees = [Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).resolve().parent.parent]
    return _outermost(p.resolve() for p in trees if p.exists())


def site_dirs() -> list[Path]:
    dirs = list(site.getsitepackages()) + [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    return sorted({Path(d).resolve() for d in dirs if Path(d).is_dir()})


def editable_hooks(forbidden: list[Path]) -> list[Path]:
    """Files in site-packages that would point an import at a forbidden tree (editable installs)."""
    hooks = []
    for directory in site_dirs():
        for path in sorted(directory.iterdir()):
            if path.name.startswith("__editable__"):
                hooks.append(path)
            elif path.suffix == ".pth" and path.is_file():
                text = path.read_text(errors="replace")
                if any(str(f) in text for f in forbidden):
                    hooks.append(path)
    return hooks


def _outermost(paths) -> list[Path]:
    result = []
    for path in sorted(set(paths), key=lambda p: len(p.parts)):
        if not any(_within(path, kept) for kept in result):
            result.append(path)
    return result


def _within(path: Path, tree: Path) -> bool:
    return path == tree or tree in path.parents


class UidLease:
    """As root: a uid (and a gid of the same number) no other live kernel has, an exclusive flock
    on LEASES/<uid>, held until release()."""

    def __init__(self, base: int = UID_BASE, count: int = UID_COUNT, directory: Path = LEASES):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        start = random.randrange(count)
        for offset in range(count):
            uid = base + (start + offset) % count
            fd = os.open(directory / str(uid), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.uid, self.gid, self._fd = uid, uid, fd
            return
        raise SandboxError(f"all {count} sandbox uids from {base} are in use (lock files in {directory})")

    def release(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class OwnIds:
    """Rootless: every kernel runs as the grader's own uid and gid, each in a user namespace of
    its own (which also gives it RLIMIT_NPROC's count of its own: the Linux kernel counts processes
    per user namespace and uid, and checks each level)."""

    def __init__(self):
        self.uid, self.gid = os.getuid(), os.getgid()

    def release(self):
        pass


def private_runtime_dir() -> Path:
    """Rootless: a directory of this user alone for the sandbox's own files."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) if runtime and os.access(runtime, os.W_OK | os.X_OK) else Path(tempfile.gettempdir())
    path = base / f"grader-sandbox-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise SandboxError(f"{path} is not a private directory of this user (uid {os.getuid()}); remove it")
    return path


class KernelCgroup:
    """One kernel's cgroup: a directory in each hierarchy (memory and pids in cgroup v1, one in v2)."""

    def __init__(self, dirs: list[Path]):
        self.dirs = dirs

    def limit(self, limits: Limits) -> None:
        # memsw after memory: cgroup v1 refuses a memory+swap limit below the memory limit
        settings = [("memory.limit_in_bytes", limits.kernel_memory), ("memory.memsw.limit_in_bytes", limits.kernel_memory),
                    ("memory.max", limits.kernel_memory), ("memory.swap.max", 0), ("pids.max", limits.kernel_processes)]
        written = set()
        for directory in self.dirs:
            for name, value in settings:
                if (directory / name).exists():
                    (directory / name).write_text(str(value))
                    written.add(name)
        if not written & {"memory.limit_in_bytes", "memory.max"} or "pids.max" not in written:
            raise OSError(f"no memory or pids limit in {', '.join(map(str, self.dirs))}")

    def add(self, pid: int) -> None:
        """Move process `pid` in; the processes it forks from then on are in it too."""
        for directory in self.dirs:
            (directory / "cgroup.procs").write_text(str(pid))

    def remove(self) -> None:
        """Once its processes are gone (the Linux kernel may take a moment to let go of their last
        traces: EBUSY), the cgroup's directories go."""
        for directory in self.dirs:
            deadline = time.monotonic() + 2
            while True:
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if time.monotonic() > deadline:
                        logging.getLogger("grader").warning("a kernel's cgroup stays: %s", exc)
                        break
                    time.sleep(0.005)


class KernelCgroups:
    """Where kernels' cgroups are made: `parents`, one per hierarchy (v1: memory's and pids').
    In cgroup v1, under the grader's own cgroup (so its own limits still cover its kernels);
    in v2, beside it (its parent already enables both controllers for its children, and a cgroup
    with processes, like ours, can have no children with controllers)."""

    def __init__(self, version: int, parents: list[Path]):
        self.version, self.parents = version, parents

    def make(self, name: str, limits: Limits) -> KernelCgroup:
        cgroup = KernelCgroup([parent / name for parent in self.parents])
        try:
            for directory in cgroup.dirs:
                directory.mkdir(exist_ok=True)   # a kernel's uid is leased: a leftover of it is empty
            cgroup.limit(limits)
        except OSError:
            cgroup.remove()
            raise
        return cgroup

    def describe(self, limits: Limits) -> str:
        return (f"a cgroup per kernel (v{self.version}: {limits.kernel_memory // MiB} MiB, "
                f"{limits.kernel_processes} processes)")


def _cgroup_mounts() -> list[tuple[str, set[str], str, Path]]:
    """(type, super options, root within the hierarchy, mount point) of every cgroup mount."""
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        separator = fields.index("-")
        fstype, options = fields[separator + 1], set(fields[separator + 3].split(","))
        if fstype in ("cgroup", "cgroup2"):
            mounts.append((fstype, options, fields[3], Path(fields[4])))
    return mounts


def _cgroup_dir(mount_point: Path, root: str, path: str) -> Path | None:
    """Where cgroup `path` (as /proc/self/cgroup names it) is, under a mount of hierarchy `root`."""
    if not _within(Path(path), Path(root)):
        return None
    return mount_point / Path(path).relative_to(root)


def find_kernel_cgroups() -> tuple[KernelCgroups | None, str]:
    """Where this process can give each kernel a cgroup with memory and pids limits (cgroup v1
    memory and pids hierarchies, else cgroup v2), tried by making one; or None and why not."""
    if os.geteuid() != 0:
        return None, "not root"
    try:
        own = {}
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                own[controller] = path
        mounts = _cgroup_mounts()
    except (OSError, ValueError) as exc:
        return None, f"cannot read this process's cgroups: {exc}"
    v1 = {}
    for controller in ("memory", "pids"):
        for fstype, options, root, point in mounts:
            if fstype == "cgroup" and controller in options and controller in own:
                v1[controller] = _cgroup_dir(point, root, own[controller])
    if len(v1) == 2 and None not in v1.values():
        cgroups = KernelCgroups(1, sorted(set(v1.values())))
    else:
        unified = [(root, point) for fstype, _, root, point in mounts if fstype == "cgroup2"]
        own_dir = _cgroup_dir(unified[0][1], unified[0][0], own[""]) if unified and "" in own else None
        if own_dir is None:
            return None, "no cgroup v1 memory and pids hierarchies, nor cgroup v2, mounted"
        try:
            if {"memory", "pids"} - set((own_dir / "cgroup.controllers").read_text().split()):
                return None, f"cgroup v2 does not give memory and pids to {own_dir}"
        except OSError as exc:
            return None, f"cgroup v2: {exc}"
        parent = own_dir.parent if own_dir != unified[0][1] else own_dir
        try:
            (parent / "cgroup.subtree_control").write_text("+memory +pids")   # the root may not have them on
        except OSError:
            pass
        cgroups = KernelCgroups(2, [parent])
    try:
        cgroups.make(f"grader-probe-{os.getpid()}", Limits()).remove()
    except OSError as exc:
        return None, f"cannot make cgroups in {', '.join(map(str, cgroups.parents))}: {exc.strerror or exc}"
    return cgroups, ""


class Sandbox:
    """The policy: limits, what is mounted read-only, what is hidden. `start` runs one command in it.

    `forbid`: trees the kernel must never see (the course directory); the project's package is
    always forbidden. Any forbidden tree inside a mounted one is covered by an empty mount.
    """

    def __init__(self, limits: Limits = Limits(), forbid=(), readonly=(), uid_base: int = UID_BASE,
                 uid_count: int = UID_COUNT, leases: Path | None = None, scratch_root=None):
        self.limits = limits
        self.rootless = os.geteuid() != 0
        self.forbidden = _outermost([Path(p).resolve() for p in forbid] + project_package_dirs())
        readonly = [Path(p).resolve() for p in readonly]
        for tree in readonly:
            for forbidden in self.forbidden:
                if _within(tree, forbidden):
                    raise SandboxError(f"{tree} cannot be mounted in the sandbox: it is inside {forbidden}")
        self.trees = _outermost([Path(p) for p in SYSTEM_TREES if Path(p).is_dir()] + python_trees() + readonly)
        self.hidden = [f for f in self.forbidden if any(_within(f, t) for t in self.trees)]
        self.hidden += editable_hooks(self.forbidden)
        self.uid_base, self.uid_count = uid_base, uid_count
        self.leases = leases or (private_runtime_dir() if self.rootless else LEASES)
        self.scratch_root = scratch_root
        self.cgroups, self.cgroups_unavailable = find_kernel_cgroups()

    def command(self, argv: list[str], *, uid: int, gid: int, scratch: Path, sockets: Path | None, env: dict,
                info_fd: int | None = None, block_fd: int | None = None) -> list[str]:
        """The bwrap command line that runs `argv` as `uid` in `scratch` (see the module docstring):
        still privileged inside (root, or rootless CAP_SYS_ADMIN in its user namespace), Python
        mounts the scratch tmpfs (bwrap's own tmpfs could not be the uid's, nor limit its files)
        and caps /tmp's files, then setpriv and prlimit drop the rest. Rootless, the uid stays the
        grader's (the only one its user namespace maps) and setpriv drops every capability."""
        limits = self.limits
        argv = [inside_path(argv[0]), *argv[1:]]
        cmd = self._namespaces([sockets] if sockets else [], env, info_fd, chdir=scratch, block_fd=block_fd,
                               dirs=[scratch], as_root=True,
                               # rootless: mount, and map bwrap's uid 0 (Linux >= 5.12 asks CAP_SETFCAP)
                               caps=["CAP_SYS_ADMIN", "CAP_SETFCAP"] if self.rootless else [])
        if self.rootless:      # bwrap's uid 0 is the grader's uid: the scratch is the kernel's
            owner, ids, drop = (0, 0), f"{uid}:{gid}", ["--ambient-caps=-all"]
        else:
            owner, ids, drop = (uid, gid), "", [f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
        cmd += ["--", inside_path(sys.executable), "-I", "-S", "-c", MOUNT_SCRATCH, str(scratch),
                limits.tmpfs_options(limits.scratch_size, mode="0700", uid=owner[0], gid=owner[1]),
                limits.tmpfs_options(limits.tmp_size), ids,
                SETPRIV, *drop, "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--",
                PRLIMIT, *limits.prlimit_arguments(), "--", *argv]
        return cmd

    def server_command(self, server_file: Path, *, shared: Path, env: dict, info_fd: int | None = None) -> list[str]:
        """The bwrap command line of a kernel fork server (forkserver.py --sandboxed): the same file
        system, network and environment as a kernel's, plus `shared` (where kernels' scratch and
        socket directories are made, bound at the same path), the server file alone at
        SERVER_PATH, and the four capabilities it needs to isolate each kernel it forks
        (CAP_SYS_ADMIN: pid, mount and network namespaces, /tmp, the scratch tmpfs and /proc;
        CAP_NET_ADMIN: the kernel's loopback up; CAP_SETUID/CAP_SETGID: the kernel's uid). It stays
        root inside but sees nothing a kernel could not see."""
        caps = [] if self.rootless else ["CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SETUID", "CAP_SETGID"]
        cmd = self._namespaces([shared], env, info_fd, chdir=shared, caps=caps,
                               extra=["--ro-bind", str(server_file), SERVER_PATH])
        return cmd + ["--", inside_path(sys.executable), SERVER_PATH, "--sandboxed"]

    def trees_in_tmp(self) -> list[str]:
        """The read-only trees under /tmp (a project cloned there): each forked kernel covers /tmp
        with a private tmpfs and binds these again over it."""
        return [str(tree) for tree in self.trees if _within(tree, Path("/tmp"))]

    def _namespaces(self, binds: list[Path], env: dict, info_fd: int | None, chdir: Path,
                    extra: list[str] = (), block_fd: int | None = None, dirs: list[Path] = (),
                    caps: list[str] = (), as_root: bool = False) -> list[str]:
        cmd = [BWRAP, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
               "--die-with-parent", "--new-session", "--hostname", "sandbox"]
        if self.rootless:     # a user namespace of its own, mapping only the grader's uid and gid
            cmd += ["--unshare-user"] + (["--uid", "0", "--gid", "0"] if as_root else [])
        for cap in caps:
            cmd += ["--cap-add", cap]
        if info_fd is not None:
            cmd += ["--info-fd", str(info_fd)]
        if block_fd is not None:     # the namespace's init waits, before it forks, for a byte on it
            cmd += ["--block-fd", str(block_fd)]
        cmd += ["--proc", "/proc", "--dev", "/dev", "--size", str(self.limits.tmp_size), "--perms", "1777",
                "--tmpfs", "/tmp"]
        for link in SYSTEM_LINKS:
            if os.path.islink(link):
                cmd += ["--symlink", os.readlink(link), link]
            elif os.path.isdir(link):
                cmd += ["--ro-bind", link, link]
        made = {Path("/"), Path("/proc"), Path("/dev"), Path("/tmp")}
        mounted: list[Path] = []
        for tree in self.trees:
            cmd += self._parents(tree, made, mounted) + ["--ro-bind", str(tree), str(tree)]
            mounted.append(tree)
        for path in self.hidden:
            cmd += ["--perms", "0000", "--tmpfs", str(path), "--remount-ro", str(path)] if path.is_dir() \
                else ["--ro-bind", str(self._empty_file()), str(path)]
        for directory in binds:
            cmd += self._parents(directory, made, mounted) + ["--bind", str(directory), str(directory)]
        for directory in dirs:
            cmd += self._parents(directory, made, mounted) + ["--perms", "0700", "--dir", str(directory)]
        cmd += list(extra)
        # the root (bwrap's tmpfs, holding only mount points) read-only: rootless it is the kernel's uid's
        cmd += ["--remount-ro", "/", "--chdir", str(chdir), "--clearenv"]
        for name, value in sorted(kernel_environment(env).items()):
            cmd += ["--setenv", name, value]
        return cmd

    @staticmethod
    def _parents(path: Path, made: set, mounted: list) -> list[str]:
        """Directories bwrap must create (world-traversable) before it can mount at `path`."""
        args = []
        for parent in reversed(path.parents):
            if parent in made or any(_within(parent, m) for m in mounted):
                continue
            args += ["--perms", "0755", "--dir", str(parent)]
            made.add(parent)
        return args

    def _empty_file(self) -> Path:
        """What a hidden file reads as inside: an empty file (a bound /dev/null would not open: nodev)."""
        self.leases.mkdir(mode=0o700, parents=True, exist_ok=True)
        empty = self.leases / "empty"
        if not empty.exists() or empty.stat().st_size:
            empty.write_bytes(b"")
        return empty

    def lease(self) -> "UidLease | OwnIds":
        return OwnIds() if self.rootless else UidLease(self.uid_base, self.uid_count, self.leases)

    def make_dir(self, prefix: str, root=None) -> Path:
        """A fresh directory of root's alone (0700): a forked kernel mounts its scratch tmpfs on it."""
        return Path(tempfile.mkdtemp(prefix=prefix, dir=root or self.scratch_root)).resolve()

    def scratch_name(self) -> Path:
        """A fresh path for the scratch tmpfs of a kernel in a bwrap of its own: made inside only."""
        return Path(self.scratch_root or tempfile.gettempdir()).resolve() / f"grader-scratch-{secrets.token_hex(6)}"

    def start(self, argv: list[str], *, env: dict, sockets: Path | None = None, lease: "UidLease | OwnIds | None" = None,
              **popen_kwargs) -> "SandboxedProcess":
        """Run `argv` in the sandbox: a fresh scratch directory (its cwd), a leased uid. `sockets`, if
        given, is a directory of this process alone (e.g. a kernel's ipc sockets and connection file),
        handed to the uid and bound at the same path. Popen keyword arguments pass through."""
        lease = lease or self.lease()
        try:
            if sockets is not None:
                sockets = Path(sockets).resolve()
                for path in [sockets, *sockets.iterdir()]:
                    os.chown(path, lease.uid, lease.gid)
                sockets.chmod(0o700)
            return SandboxedProcess(self, argv, env=env, lease=lease, scratch=self.scratch_name(), sockets=sockets,
                                    **popen_kwargs)
        except BaseException:
            lease.release()
            raise


ENV_PASSED = ("PATH", "LANG", "LANGUAGE", "TZ", "TERM", "NBGRADER_EXECUTION", "MPLBACKEND", "JPY_SESSION_NAME",
              "PYDEVD_DISABLE_FILE_VALIDATION", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def kernel_environment(env: dict) -> dict:
    """The environment inside: only the launcher's variables in ENV_PASSED or LC_* (the grader's
    environment may hold credentials the student would print), a home and temp dir that exist and
    are private, one BLAS thread (RLIMIT_NPROC counts threads). No JPY_PARENT_PID: the kernel's
    parent is the namespace's init, and --die-with-parent already ends it with the grader."""
    inside = {k: v for k, v in env.items() if k in ENV_PASSED or k.startswith("LC_")}
    inside.update(HOME="/tmp", TMPDIR="/tmp", IPYTHONDIR="/tmp/.ipython", MPLCONFIGDIR="/tmp/.matplotlib")
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        inside.setdefault(name, "1")
    inside.setdefault("PATH", os.defpath)
    return inside


def copy_into(source: Path, pid: int, started: str | None, scratch: Path, uid: int, gid: int,
              wait: float = 10.0) -> None:
    """Put a submission's working files (the contents of `source` but its notebooks: the kernel
    needs none, and autograded/ may hold last run's) into a kernel's scratch directory, owned by
    the kernel's uid and gid. The scratch is a tmpfs in the kernel's own mount namespace, reached
    through /proc/<pid>/root (`pid` a process of that namespace, `started` its start time, against
    pid reuse); a kernel still starting may not have mounted it yet: up to `wait` seconds are
    given. Nothing is created through a symbolic link: each name is made relative to its
    directory's fd with O_NOFOLLOW (through an absolute link, root would write on the host's own
    tree). Links in `source` are copied as links, never followed."""
    deadline = time.monotonic() + wait
    while (target := _scratch_root(pid, started, scratch, uid)) is None:
        if time.monotonic() > deadline:
            raise SandboxError(f"{scratch} is not the kernel's own scratch filesystem")
        time.sleep(0.01)
    try:
        _copy_tree(source, target, uid, gid)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        raise SandboxError(f"the notebook's files do not fit in the kernel's scratch directory "
                           f"(sandbox.Limits: scratch_size, files): {exc}") from exc


def _scratch_root(pid: int, started: str | None, scratch: Path, uid: int) -> int | None:
    """An fd of the kernel's scratch tmpfs (opened without following links), or None while its
    mount point is still the bare directory beneath (owned by the grader's uid rootless: its
    device, not its owner, tells them apart)."""
    root = os.open(f"/proc/{pid}/root", os.O_PATH | os.O_DIRECTORY)
    target = parent = None
    try:
        if _start_time(pid) != started:
            raise SandboxError(f"the kernel's sandbox (pid {pid}) is gone: its files cannot be copied in")
        target = os.dup(root)
        for part in scratch.parts[1:]:
            if parent is not None:
                os.close(parent)
            parent, target = target, None
            target = os.open(part, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
        mounted = os.fstat(target).st_dev != os.fstat(parent).st_dev
        if mounted and os.fstat(target).st_uid != uid:
            raise SandboxError(f"{scratch} is not the kernel's own scratch filesystem")
        found, target = (target, None) if mounted else (None, target)
        return found
    finally:
        for fd in (root, parent, target):
            if fd is not None:
                os.close(fd)


def _copy_tree(source: Path, target: int, uid: int, gid: int) -> None:
    """Copy the contents of `source` into the directory open as fd `target` (closed when done)."""
    try:
        for entry in os.scandir(source):
            if entry.name.endswith(".ipynb"):
                continue
            mode = stat.S_IMODE(entry.stat(follow_symlinks=False).st_mode) & 0o777
            if entry.is_symlink():
                _replace(target, entry.name, os.symlink, os.readlink(entry.path), entry.name, dir_fd=target)
                os.chown(entry.name, uid, gid, dir_fd=target, follow_symlinks=False)
            elif entry.is_dir(follow_symlinks=False):
                try:
                    os.mkdir(entry.name, 0o700, dir_fd=target)
                except FileExistsError:
                    pass
                directory = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=target)
                try:
                    os.fchown(directory, uid, gid)
                    os.fchmod(directory, mode | 0o700)
                except BaseException:
                    os.close(directory)
                    raise
                _copy_tree(Path(entry.path), directory, uid, gid)
            elif entry.is_file(follow_symlinks=False):
                copy = _replace(target, entry.name, os.open, entry.name,
                                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=target)
                try:
                    os.fchown(copy, uid, gid)
                    original = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
                    try:
                        while os.sendfile(copy, original, None, 1 << 24):
                            pass
                    finally:
                        os.close(original)
                    os.fchmod(copy, mode)
                finally:
                    os.close(copy)
    finally:
        os.close(target)


def _replace(directory: int, name: str, make, *args, **kwargs):
    """make(*args, **kwargs) a new entry `name`; an existing file or link of that name is unlinked
    first (never followed)."""
    try:
        return make(*args, **kwargs)
    except FileExistsError:
        os.unlink(name, dir_fd=directory)
        return make(*args, **kwargs)


def _read_info_fd(read_end: int) -> int | None:
    """bwrap writes {"child-pid": N} (the namespace's init, host pid) once the namespace exists."""
    with os.fdopen(read_end, "rb") as info:
        text = info.read()
    try:
        return json.loads(text)["child-pid"]
    except (ValueError, KeyError):
        return None             # bwrap failed; its exit status and stderr say why


class SignalsTheKernel:
    """send_signal as jupyter_client expects of a sandboxed kernel's process: SIGKILL ends the
    whole namespace (kill()), any other signal (an interrupt on a cell timeout) reaches the
    kernel itself (command_pid()), not the sandbox around it."""

    def send_signal(self, sig):
        if sig == signal.SIGKILL:
            return self.kill()
        pid = self.command_pid()
        if pid is not None and self.poll() is None:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def terminate(self):
        self.send_signal(signal.SIGTERM)


class PollsUntilGone:
    """wait() for a process that is not our child (a fork server's): poll() until it is gone."""

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.002)
        return self.returncode


class SandboxedProcess(SignalsTheKernel, subprocess.Popen):
    """The Popen of `bwrap`, with what jupyter_client expects of a kernel's Popen:
    send_signal reaches the command (an interrupt reaches the kernel, not bwrap); kill ends the
    whole pid namespace; once it has exited, the socket directory and the kernel's cgroup go and
    the uid is free for another kernel. With cgroups, the namespace's init waits (--block-fd)
    until it is in the kernel's cgroup, before it forks the command."""

    def __init__(self, sandbox: Sandbox, argv, *, env, lease: "UidLease | OwnIds", scratch: Path, sockets, **kwargs):
        self.uid, self.gid, self.scratch, self.sockets, self._lease = lease.uid, lease.gid, scratch, sockets, lease
        self.cgroup = self.init_pid = self._init_started = None
        read_end, write_end = os.pipe()
        block_read = block_write = None
        try:
            if sandbox.cgroups is not None:
                self.cgroup = sandbox.cgroups.make(f"grader-kernel-{lease.uid}", sandbox.limits)
                block_read, block_write = os.pipe()
            command = sandbox.command(argv, uid=lease.uid, gid=lease.gid, scratch=scratch, sockets=sockets, env=env,
                                      info_fd=write_end, block_fd=block_read)
            kwargs["pass_fds"] = tuple(kwargs.get("pass_fds", ())) + (write_end,) + \
                ((block_read,) if block_read is not None else ())
            kwargs.setdefault("start_new_session", True)
            super().__init__(command, env={"PATH": os.environ.get("PATH", os.defpath)}, cwd="/", **kwargs)
        except BaseException:
            os.close(read_end)
            if block_write is not None:
                os.close(block_write)
            if self.cgroup is not None:
                self.cgroup.remove()
            raise
        finally:
            os.close(write_end)
            if block_read is not None:
                os.close(block_read)
        self.init_pid = _read_info_fd(read_end)
        self._init_started = _start_time(self.init_pid) if self.init_pid is not None else None
        if block_write is not None:
            try:
                if self.init_pid is not None:
                    self.cgroup.add(self.init_pid)
            except BaseException as exc:
                self.kill()             # before the init may go on: it must not run outside its cgroup
                self.wait()
                raise SandboxError(f"the kernel could not be put in its cgroup: {exc}") from exc
            finally:
                os.close(block_write)

    def copy_in(self, source: Path) -> None:
        copy_into(Path(source), self.init_pid, self._init_started, self.scratch, self.uid, self.gid)

    def inside(self, path: Path) -> Path:
        """Where the host (as root) reaches `path` as the sandbox sees it."""
        return Path(f"/proc/{self.init_pid}/root") / Path(path).relative_to("/")

    def command_pid(self, timeout: float = 5.0) -> int | None:
        """The host pid of the sandboxed command: the child of the namespace's init (which bwrap
        announces just before that child exists, hence the wait)."""
        deadline = time.monotonic() + timeout
        while self.init_pid is not None and self.returncode is None:
            try:
                children = Path(f"/proc/{self.init_pid}/task/{self.init_pid}/children").read_text().split()
            except OSError:
                return None
            if children:
                return int(children[0])
            if time.monotonic() > deadline:
                return None
            time.sleep(0.002)
        return None

    def kill(self):
        """SIGKILL the namespace's init: the kernel then kills everything in the namespace."""
        # Not bwrap itself as well: it would exit at once, while the namespace's processes are
        # still dying; killed alone, the init exits (and bwrap after it) only once they are gone.
        pid = self.init_pid if self.init_pid is not None else self.pid
        if self.returncode is None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def poll(self):
        status = super().poll()
        if status is not None:
            self._finished()
        return status

    def wait(self, timeout=None):
        status = super().wait(timeout)
        self._finished()
        return status

    def _finished(self):
        """bwrap exits only after the namespace's init, and init only after every process in the
        namespace: nothing of the kernel's uid is left (its scratch tmpfs went with its mount
        namespace), so its socket directory, cgroup and uid can go."""
        if self._lease is not None:
            if self.sockets is not None:
                shutil.rmtree(self.sockets, ignore_errors=True)
            if self.cgroup is not None:
                self.cgroup.remove()
            self._lease.release()
            self._lease = None


class SandboxedProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, launching the kernel inside `sandbox`.

    The connection file's directory is the kernel's socket directory: give every kernel a
    directory of its own (new_kernel_manager does). The kernel's working directory is its fresh
    scratch directory (`self.process.scratch`), whatever cwd the launcher asks for."""

    sandbox: Sandbox | None = None

    async def launch_kernel(self, cmd, **kwargs):
        connection_file = Path(self.parent.connection_file)
        env = kwargs.get("env") or dict(os.environ)
        streams = {name: kwargs.get(name, subprocess.DEVNULL) for name in ("stdin", "stdout", "stderr")}
        self.process = self.sandbox.start(cmd, env=env, sockets=connection_file.parent, **streams)
        self.pid = self.process.pid
        self.pgid = None        # signals go through the process (to the kernel, or the whole namespace)
        self.cwd = str(self.process.scratch)
        return self.connection_info

    @property
    def scratch(self) -> Path | None:
        return getattr(self.process, "scratch", None)


def new_kernel_manager(sandbox: Sandbox, kernel_name: str = "python3", directory=None) -> AsyncKernelManager:
    """An AsyncKernelManager whose kernel starts in `sandbox`, on ipc sockets in a directory of its own."""
    import uuid
    sockets = Path(tempfile.mkdtemp(prefix="grader-kernel-", dir=directory))
    km = AsyncKernelManager(kernel_name=kernel_name, transport="ipc", connection_file=str(sockets / "kernel.json"))
    km.kernel_id = str(uuid.uuid4())
    km.provisioner = SandboxedProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km)
    km.provisioner.sandbox = sandbox
    return km


class SandboxedServer(subprocess.Popen):
    """The Popen of a sandboxed fork server's bwrap; `init_pid` is its namespace's init (host pid),
    the root under which every kernel it forks is found."""

    def __init__(self, sandbox: Sandbox, server_file: Path, *, shared: Path, env: dict, **kwargs):
        read_end, write_end = os.pipe()
        try:
            command = sandbox.server_command(server_file, shared=shared, env=env, info_fd=write_end)
            kwargs["pass_fds"] = tuple(kwargs.get("pass_fds", ())) + (write_end,)
            super().__init__(command, env={"PATH": os.environ.get("PATH", os.defpath)}, cwd="/", **kwargs)
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        self.init_pid = _read_info_fd(read_end)


def _proc_status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def _descends_from(pid: int, root: int) -> bool:
    while pid > 1:
        if pid == root:
            return True
        pid = int(_proc_status(pid).get("PPid", "0"))
    return pid == root


def host_pid(ns_pid: int, root: int, depth: int) -> int | None:
    """The host pid of the descendant of host pid `root` that is `ns_pid` in the pid namespace
    `depth` levels below ours (/proc/PID/status NSpid lists a pid per level, ours first).
    Found through every process's PPid, not /proc/PID/task/*/children, which the Linux kernel
    documents as missing children created or reaped while it is read."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            nspid = _proc_status(int(entry.name)).get("NSpid", "").split()
            if len(nspid) > depth and int(nspid[depth]) == ns_pid and _descends_from(int(entry.name), root):
                return int(entry.name)
    return None


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat: tells a process from a later one that reuses its pid."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


class ForkedSandboxProcess(SignalsTheKernel, PollsUntilGone):
    """The Popen methods jupyter_client uses, for a kernel forked by a sandboxed fork server.

    `pid` is the host pid of the kernel namespace's init (the reaper the server forked, pid 1
    inside); the kernel itself is pid 2 inside. kill() SIGKILLs the init, and the Linux kernel then
    kills every process of the namespace; signals other than SIGKILL go to the kernel (an interrupt
    on a cell timeout). Once the init is gone, so is everything it held (its scratch tmpfs with
    its mount namespace): the scratch's mount point, the socket directory and the kernel's cgroup
    are removed and the uid is free again.

    With a `cgroup`, the init waits (the request's "hold") until it is moved into it, then gets
    SIGUSR1 and forks the kernel: every process of the kernel starts in its cgroup."""

    stdin = stdout = stderr = None

    def __init__(self, server_init: int, ns_pid: int, *, lease: "UidLease | OwnIds", scratch: Path, sockets: Path,
                 cgroup: KernelCgroup | None = None):
        self.uid, self.gid, self.scratch, self.sockets, self._lease = lease.uid, lease.gid, scratch, sockets, lease
        self.cgroup = cgroup
        self.returncode: int | None = None
        self.pid = host_pid(ns_pid, server_init, depth=1)
        self._started = _start_time(self.pid) if self.pid else None
        self._kernel: int | None = None
        if self.pid is None or self._started is None:
            raise SandboxError(f"the forked kernel (pid {ns_pid} in the fork server) exited as it started")
        if cgroup is not None:
            try:
                cgroup.add(self.pid)
            except OSError as exc:
                os.kill(self.pid, signal.SIGKILL)
                raise SandboxError(f"the kernel could not be put in its cgroup: {exc}") from exc
            os.kill(self.pid, signal.SIGUSR1)

    def copy_in(self, source: Path) -> None:
        copy_into(Path(source), self.pid, self._started, self.scratch, self.uid, self.gid)

    def inside(self, path: Path) -> Path:
        """Where the host (as root) reaches `path` as the kernel sees it."""
        return Path(f"/proc/{self.pid}/root") / Path(path).relative_to("/")

    def _alive(self) -> bool:
        return self.pid is not None and _start_time(self.pid) == self._started and \
            Path(f"/proc/{self.pid}/stat").read_text().rsplit(") ", 1)[1][0] not in "ZX"

    def command_pid(self) -> int | None:
        """The kernel's host pid (pid 2 of the namespace)."""
        if self._kernel is None and self.returncode is None:
            self._kernel = host_pid(2, self.pid, depth=2)
        return self._kernel

    def poll(self):
        if self.returncode is None:
            try:
                alive = self._alive()
            except (OSError, IndexError):
                alive = False
            if not alive:
                self.returncode = -signal.SIGKILL    # unknown: the server's namespace reaped it
                self._finished()
        return self.returncode

    def kill(self):
        if self.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _finished(self):
        """A namespace's init is gone (or a zombie) only after every other process of it is."""
        if self._lease is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            shutil.rmtree(self.sockets, ignore_errors=True)
            if self.cgroup is not None:
                self.cgroup.remove()
            self._lease.release()
            self._lease = None
