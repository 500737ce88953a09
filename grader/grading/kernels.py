"""Kernels started ahead of need: while one notebook runs, the next kernel boots.

Every submission still gets a fresh kernel of its own; nothing is shared between students.
Kernels talk over ipc sockets in a private directory, so parallel workers never race for
TCP ports, and the kernel's working directory is set when a notebook takes it.
"""

import os
import tempfile
import uuid
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync

HISTORY_IN_MEMORY = "--HistoryManager.hist_file=:memory:"
# Imported while the kernel boots (ahead of need), so notebooks do not pay for them. `and None`:
# nothing is displayed and no name is bound in the student's namespace.
PRELOAD = ("numpy", "grader.runtime")


def preload_arguments(modules=PRELOAD) -> list[str]:
    return [f"--IPKernelApp.exec_lines=__import__({name!r}) and None" for name in modules]


class KernelPool:
    """Launch kernels one ahead. `take()` returns a started AsyncKernelManager (not yet ready)."""

    def __init__(self, kernel_name: str = "python3", env: dict | None = None):
        self.kernel_name = kernel_name
        self.env = dict(os.environ if env is None else env)
        self._dir = Path(tempfile.mkdtemp(prefix="grader-kernels-"))
        self._next = None

    def _launch(self, kernel_name: str) -> AsyncKernelManager:
        connection_file = self._dir / f"kernel-{uuid.uuid4().hex}.json"
        km = AsyncKernelManager(kernel_name=kernel_name, transport="ipc",
                                connection_file=str(connection_file))
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
        for path in self._dir.glob("*"):
            path.unlink(missing_ok=True)
        try:
            self._dir.rmdir()
        except OSError:
            pass


def shutdown(km: AsyncKernelManager) -> None:
    """Kill the kernel without waiting for a polite shutdown: its notebook is done."""
    process = getattr(km.provisioner, "process", None)
    if process is not None:
        process.kill()      # SIGKILL, then reap at once (jupyter_client polls every 0.1 s)
        process.wait()
    km.provisioner = None
    try:
        km.cleanup_connection_file()
        km.cleanup_ipc_files()
    except Exception:
        pass
