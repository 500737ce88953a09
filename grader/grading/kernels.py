"""Kernels started ahead of need: while one notebook runs, the next kernel boots.

Every submission still gets a fresh kernel process of its own; nothing is shared between
students. Kernels are forked from a fork server that has done their imports already
(forkserver.py), talk over ipc sockets in a private directory, so parallel workers never race
for TCP ports, and the kernel's working directory is set when a notebook takes it.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from jupyter_core.utils import run_sync

HISTORY_IN_MEMORY = "--HistoryManager.hist_file=:memory:"
# Imported while the kernel boots (ahead of need), so notebooks do not pay for them. `and None`:
# nothing is displayed and no name is bound in the student's namespace.
PRELOAD = ("numpy",)


def preload_arguments(modules=PRELOAD) -> list[str]:
    return [f"--IPKernelApp.exec_lines=__import__({name!r}) and None" for name in modules]


class ForkServer:
    """The client of one `python -m grader.grading.forkserver` process."""

    def __init__(self, env: dict | None = None):
        command = [sys.executable, "-m", "grader.grading.forkserver"]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        env=env)
        self.pid = self._reply().get("ready")

    def _reply(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the kernel fork server exited (status {self.process.wait()})")
        return json.loads(line)

    def fork(self, argv: list[str], env: dict, cwd: str) -> int:
        self.process.stdin.write(json.dumps({"argv": argv, "env": env, "cwd": cwd}) + "\n")
        self.process.stdin.flush()
        reply = self._reply()
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply["pid"]

    def serves(self, cmd: list[str]) -> bool:
        """True when `cmd` starts an ipykernel under this server's Python."""
        return (len(cmd) > 2 and cmd[1:3] == ["-m", "ipykernel_launcher"]
                and os.path.realpath(cmd[0]) == os.path.realpath(sys.executable))

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class ForkedProcess:
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

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.002)
        return self.returncode

    def send_signal(self, signum):
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


class ForkedProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, launching the kernel through a ForkServer."""

    server = None

    async def launch_kernel(self, cmd, **kwargs):
        if self.server is None or not self.server.serves(cmd):
            return await super().launch_kernel(cmd, **kwargs)
        try:
            pid = self.server.fork(cmd[3:], kwargs.get("env") or dict(os.environ),
                                   str(kwargs.get("cwd") or os.getcwd()))
        except (OSError, RuntimeError, ValueError):   # the server is gone: a plain kernel, slower
            return await super().launch_kernel(cmd, **kwargs)
        self.process = ForkedProcess(pid)
        self.pid = self.pgid = pid          # the kernel leads its own session
        self.cwd = kwargs.get("cwd")
        return self.connection_info


class KernelPool:
    """Launch kernels one ahead. `take()` returns a started AsyncKernelManager (not yet ready).
    With a fork server, kernels are forked from it; without, each is a fresh `python -m ipykernel`."""

    def __init__(self, kernel_name: str = "python3", env: dict | None = None, server: ForkServer | None = None):
        self.kernel_name = kernel_name
        self.env = dict(os.environ if env is None else env)
        self.server = server
        self._dir = Path(tempfile.mkdtemp(prefix="grader-kernels-"))
        self._next = None

    def _launch(self, kernel_name: str) -> AsyncKernelManager:
        connection_file = self._dir / f"kernel-{uuid.uuid4().hex}.json"
        km = AsyncKernelManager(kernel_name=kernel_name, transport="ipc",
                                connection_file=str(connection_file))
        if self.server is not None:
            km.kernel_id = str(uuid.uuid4())
            km.provisioner = ForkedProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km)
            km.provisioner.server = self.server
        run_sync(km.start_kernel)(extra_arguments=[HISTORY_IN_MEMORY, *preload_arguments()], env=self.env,
                                  cwd=str(self._dir))
        return km

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
        for path in self._dir.glob("*"):
            path.unlink(missing_ok=True)
        try:
            self._dir.rmdir()
        except OSError:
            pass


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
