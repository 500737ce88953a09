"""Kernels started ahead of need: while one notebook runs, the next kernel boots.

Every submission still gets a fresh kernel process of its own; nothing is shared between
students. Kernels are forked from a fork server that has done their imports already
(forkserver.py) and talk over ipc sockets in a private directory, so parallel workers never race
for TCP ports.

Sandboxed (the default; sandbox.py): the fork server runs in a bubblewrap sandbox of its own and
isolates every kernel it forks (a uid, pid, mount and network namespace, rlimits and, where the
grader can make one, a cgroup of its own); the kernel starts in a fresh scratch tmpfs of its own,
into which the notebook's files are copied when a notebook takes it. If that server cannot start,
every kernel gets a bubblewrap sandbox of its own (slower, as safe). Unsandboxed
(--unsafe-no-sandbox): kernels are forked as the grader's user and the working directory is set
when a notebook takes the kernel.
"""

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from jupyter_core.utils import run_sync

from grader.grading.kernel.sandbox import (
    SHARED_ROOT,
    ForkedSandboxProcess,
    MiB,
    PollsUntilGone,
    Sandbox,
    SandboxedProvisioner,
    SandboxedServer,
    SandboxError,
    kernel_environment,
    new_kernel_manager,
)

HISTORY_IN_MEMORY = "--HistoryManager.hist_file=:memory:"
# IPython's default ("Context") tracebacks cost 30-40 ms of kernel CPU per error (inspect.getmodule
# over every loaded module, pygments styles, stack_data), twice: shown and stored in history.
# Plain ones are Python's own traceback, at about 2 ms; a class's notebooks raise several each.
PLAIN_TRACEBACKS = "--InteractiveShell.xmode=Plain"
# Imported while the kernel boots (ahead of need), so notebooks do not pay for them. `and None`:
# nothing is displayed and no name is bound in the student's namespace.
PRELOAD = ("numpy",)      # never grader: a sandboxed kernel cannot import it, and no kernel needs it


def grading_kernel_arguments() -> list[str]:
    """ipykernel's arguments for a grading kernel: history in memory, plain tracebacks, PRELOAD imported."""
    return [HISTORY_IN_MEMORY, PLAIN_TRACEBACKS,
            *(f"--IPKernelApp.exec_lines=__import__({name!r}) and None" for name in PRELOAD)]


class ForkServer:
    """The client of one fork server process: `python -m grader.grading.kernel.forkserver` as the grader's
    user, or, given a `sandbox`, forkserver.py --sandboxed inside it (kernels isolated one by one).
    A sandboxed server makes its kernels' directories in `shared`, a directory of this server
    alone bound into its sandbox (mode 0711: each kernel can reach its own directories only)."""

    def __init__(self, env: dict | None = None, sandbox: Sandbox | None = None):
        self.sandbox = sandbox
        self.shared: Path | None = None
        if sandbox is None:
            command = [sys.executable, "-m", "grader.grading.kernel.forkserver"]
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                            env=env)
        else:
            SHARED_ROOT.mkdir(parents=True, exist_ok=True)
            self.shared = Path(tempfile.mkdtemp(prefix="grader-kernels-", dir=SHARED_ROOT)).resolve()
            self.shared.chmod(0o711)
            self.process = SandboxedServer(sandbox, Path(__file__).with_name("forkserver.py"), shared=self.shared,
                                           env=dict(os.environ if env is None else env),
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._pid: int | None = None
        self._kernels: list[ForkedSandboxProcess] = []     # forked in the sandbox, not yet seen to end

    @property
    def pid(self) -> int:
        """The server's pid, once it has imported what kernels need: the first request waits for its
        "ready", so the caller's own start-up overlaps with the server's."""
        self._wait_ready()
        assert self._pid is not None
        return self._pid

    def _wait_ready(self) -> None:
        if self._pid is None:
            try:
                self._pid = self._reply()["ready"]
            except BaseException:
                self.close()
                raise

    def _reply(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the kernel fork server exited (status {self.process.wait()})")
        return json.loads(line)

    def fork(self, argv: list[str], env: dict, cwd: str) -> int:
        return self._request({"argv": argv, "env": env, "cwd": cwd})

    def _request(self, request: dict) -> int:
        self._wait_ready()
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        reply = self._reply()
        if "error" in reply:
            raise RuntimeError(f"the kernel fork server: {reply['error']}")
        return reply["pid"]

    def fork_sandboxed(self, argv: list[str], env: dict, sockets: Path) -> ForkedSandboxProcess:
        """A kernel forked in the server's sandbox, isolated under a leased uid, in a network
        namespace and a fresh scratch tmpfs of its own (its cwd, mounted in its mount namespace
        on a mount point made here), in a cgroup of its own where the sandbox has cgroups.
        `sockets`: the kernel's own directory (connection file, ipc sockets) inside `shared`; it is
        handed to the kernel's uid."""
        sandbox, limits = self.sandbox, self.sandbox.limits
        lease = sandbox.lease()
        scratch = cgroup = None
        try:
            scratch = sandbox.make_dir("scratch-", root=self.shared)
            for path in [sockets, *sockets.iterdir()]:
                os.chown(path, lease.uid, lease.gid)
            sockets.chmod(0o700)
            if sandbox.cgroups is not None:
                cgroup = sandbox.cgroups.make(f"grader-kernel-{lease.uid}", limits)
            ns_pid = self._request({"argv": argv, "env": kernel_environment(env), "cwd": str(scratch),
                                    "uid": lease.uid, "gid": lease.gid, "userns": sandbox.rootless,
                                    "shared": str(self.shared), "sockets": str(sockets),
                                    "rlimits": limits.rlimits(),
                                    "tmp_options": limits.tmpfs_options(limits.tmp_size, mode="1777"),
                                    "scratch_options": limits.tmpfs_options(limits.scratch_size, mode="0700",
                                                                            uid=lease.uid, gid=lease.gid),
                                    "shared_options": limits.tmpfs_options(MiB, mode="0711"),
                                    "keep_in_tmp": sandbox.trees_in_tmp(), "hold": cgroup is not None})
            kernel = ForkedSandboxProcess(self.process.init_pid, ns_pid, lease=lease, scratch=scratch,
                                          sockets=sockets, cgroup=cgroup)
            self._kernels = [k for k in self._kernels if k.returncode is None] + [kernel]
            return kernel
        except BaseException:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
            if cgroup is not None:
                cgroup.remove()
            lease.release()
            raise

    def alive(self) -> bool:
        return self.process.poll() is None

    def serves(self, cmd: list[str]) -> bool:
        """True when `cmd` starts an ipykernel under this server's Python."""
        return (len(cmd) > 2 and cmd[1:3] == ["-m", "ipykernel_launcher"]
                and os.path.realpath(cmd[0]) == os.path.realpath(sys.executable))

    def close(self):
        """The server exits when its stdin closes; a sandboxed one takes every kernel it forked
        with it (its pid namespace ends)."""
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for kernel in self._kernels:     # gone with the server: their cgroups and uids go too
            try:
                kernel.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if self.shared is not None:
            shutil.rmtree(self.shared, ignore_errors=True)


class ForkedProcess(PollsUntilGone):
    """The Popen methods jupyter_client uses, for a kernel forked by the server (not our child).
    The server reaps its kernels at once, so a pid that is gone means the kernel exited."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = -signal.SIGKILL   # unknown: the server reaped it
        return self.returncode

    def send_signal(self, signum):
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


class ForkedProvisioner(SandboxedProvisioner):
    """jupyter_client's local provisioner, launching the kernel through a ForkServer.
    With a sandboxed server, a kernel the server cannot fork gets a bubblewrap sandbox of its
    own (SandboxedProvisioner), never an unsandboxed launch."""

    server = None

    async def launch_kernel(self, cmd, **kwargs):
        if self.server is not None and self.server.sandbox is not None:
            return await self._launch_sandboxed(cmd, **kwargs)
        if self.server is None or not self.server.serves(cmd):
            return await LocalProvisioner.launch_kernel(self, cmd, **kwargs)
        try:
            pid = self.server.fork(cmd[3:], kwargs.get("env") or dict(os.environ),
                                   str(kwargs.get("cwd") or os.getcwd()))
        except (OSError, RuntimeError, ValueError):   # the server is gone: a plain kernel, slower
            return await LocalProvisioner.launch_kernel(self, cmd, **kwargs)
        self.process = ForkedProcess(pid)
        self.pid = self.pgid = pid          # the kernel leads its own session
        self.cwd = kwargs.get("cwd")
        return self.connection_info

    async def _launch_sandboxed(self, cmd, **kwargs):
        self.sandbox = self.server.sandbox
        if not (self.server.alive() and self.server.serves(cmd)):
            return await super().launch_kernel(cmd, **kwargs)
        try:
            self.process = self.server.fork_sandboxed(cmd[3:], kwargs.get("env") or dict(os.environ),
                                                      Path(self.parent.connection_file).parent)
        except (OSError, RuntimeError, ValueError, SandboxError) as exc:  # one bwrap for this kernel, slower
            logging.getLogger("grader").warning("a kernel starts in a sandbox of its own: %s", exc)
            return await super().launch_kernel(cmd, **kwargs)
        self.pid = self.process.pid
        self.pgid = None                    # signals go through the process: the kernel, or its namespace
        self.cwd = str(self.process.scratch)
        return self.connection_info


class KernelPool:
    """Launch kernels one ahead. `take()` returns a started AsyncKernelManager (not yet ready).
    With a fork server, kernels are forked from it; without, each is a fresh `python -m ipykernel`.
    With a `sandbox`, every kernel is sandboxed: forked by the server if it is a sandboxed one,
    else in a bubblewrap sandbox of its own; its working directory is its scratch directory."""

    def __init__(self, kernel_name: str = "python3", env: dict | None = None, server: ForkServer | None = None,
                 sandbox: Sandbox | None = None):
        if server is not None and server.sandbox is not sandbox:
            raise ValueError("a KernelPool's fork server must run in the pool's sandbox (or neither has one)")
        self.kernel_name = kernel_name
        self.env = dict(os.environ if env is None else env)
        self.server = server
        self.sandbox = sandbox
        self._dir = Path(tempfile.mkdtemp(prefix="grader-kernels-"))
        self._next = None

    def _launch(self, kernel_name: str) -> AsyncKernelManager:
        if self.sandbox is not None:
            return self._launch_sandboxed(kernel_name)
        connection_file = self._dir / f"kernel-{uuid.uuid4().hex}.json"
        km = AsyncKernelManager(kernel_name=kernel_name, transport="ipc",
                                connection_file=str(connection_file))
        if self.server is not None:
            km.kernel_id = str(uuid.uuid4())
            km.provisioner = ForkedProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km)
            km.provisioner.server = self.server
        run_sync(km.start_kernel)(extra_arguments=grading_kernel_arguments(), env=self.env,
                                  cwd=str(self._dir))
        return km

    def _launch_sandboxed(self, kernel_name: str) -> AsyncKernelManager:
        """Each kernel has a socket directory of its own (handed to its uid), in the server's shared
        directory when it has one. Must run on the worker's main thread: bwrap's --die-with-parent
        is tied to the thread that starts it."""
        directory = self.server.shared if self.server is not None else self._dir
        km = new_kernel_manager(self.sandbox, kernel_name, directory=directory)
        if self.server is not None:
            provisioner = ForkedProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km)
            provisioner.server = self.server
            km.provisioner = provisioner
        run_sync(km.start_kernel)(extra_arguments=grading_kernel_arguments(),
                                  env=self.env)
        return km

    def prestart(self, kernel_name: str = "python3") -> None:
        """Start the kernel the next take() returns, now."""
        if self._next is None:
            self._next = self._launch(kernel_name)

    def take(self, kernel_name: str, prestart_next: bool = True) -> AsyncKernelManager:
        km = self._next if self._next is not None and self._next.kernel_name == kernel_name else None
        if km is None:
            self._discard_next()
            km = self._launch(kernel_name)
        self._next = self._launch(kernel_name) if prestart_next else None
        return km

    def _discard_next(self):
        if self._next is not None:
            shutdown(self._next)
            self._next = None

    def close(self):
        self._discard_next()
        if self.server is not None:
            self.server.close()
        shutil.rmtree(self._dir, ignore_errors=True)


def shutdown(km: AsyncKernelManager) -> None:
    """Kill the kernel without waiting for a polite shutdown: its notebook is done. The whole
    process group goes (the kernel leads its own), so nothing a student started outlives it."""
    process = getattr(km.provisioner, "process", None)
    if process is not None:
        group = getattr(km.provisioner, "pgid", None)
        try:
            if group:
                os.killpg(group, signal.SIGKILL)
            else:
                process.kill()
        except ProcessLookupError:
            pass
        process.wait()      # reap at once (jupyter_client would poll every 0.1 s)
    km.provisioner = None
    try:
        km.cleanup_connection_file()
        km.cleanup_ipc_files()
    except Exception:
        pass
