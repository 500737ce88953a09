"""What a sandbox costs per notebook: `python -m grader.devtools.sandbox_cost [N]`.

Starts N kernels each way, one at a time, and reports per kernel the wall time from launch to
the kernel's first reply (kernel_info) and the CPU time its processes used by then:

* forked: forked by the unsandboxed fork server (--unsafe-no-sandbox grading);
* forked in sandbox: forked by the fork server inside the sandbox, each kernel isolated by it
  (pid + mount namespace, uid, rlimits): what grading does by default;
* plain: a fresh `python -m ipykernel_launcher` (no sandbox);
* sandboxed: the same command in a sandbox of its own (bwrap + setpriv + prlimit: one bwrap
  per kernel, the fallback when the sandboxed fork server cannot start);
* bwrap alone: `true` in the sandbox, the sandbox's own overhead.

Plain and sandboxed kernels import numpy as they boot (as KernelPool has kernels do); forked
ones have it from the server.

CPU is read from /proc just before the kernel is killed: utime + stime of the kernel and of
whatever else starting it took (bwrap and its namespace's init; the kernel namespace's init),
plus what the fork server spent forking it. So it is the cost of starting, not of grading.
"""

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from grader.grading.kernel.pool import ForkedProvisioner, ForkServer, grading_kernel_arguments, shutdown
from grader.grading.kernel.sandbox import ForkedSandboxProcess, Sandbox, SandboxedProcess, new_kernel_manager

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except (OSError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK     # utime, stime


def _plain(directory: Path, server=None) -> AsyncKernelManager:
    km = AsyncKernelManager(kernel_name="python3", transport="ipc",
                            connection_file=str(directory / f"kernel-{uuid.uuid4().hex}.json"))
    if server is not None:
        km.kernel_id = str(uuid.uuid4())
        km.provisioner = ForkedProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km)
        km.provisioner.server = server
    return km


def _forked_in_sandbox(server: ForkServer) -> AsyncKernelManager:
    """As KernelPool makes them when grading sandboxed."""
    km = new_kernel_manager(server.sandbox, directory=server.shared)
    km.provisioner = ForkedProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km)
    km.provisioner.server = server
    return km


def _pids(process) -> list:
    """The processes a kernel's start ran in (their CPU is its cost)."""
    if isinstance(process, SandboxedProcess):
        return [process.pid, process.init_pid, process.command_pid()]
    if isinstance(process, ForkedSandboxProcess):
        return [process.pid, process.command_pid()]
    return [process.pid]


async def _start(km, server=None) -> tuple[float, float]:
    server_pid = _server_pid(server)
    server_before = cpu_seconds(server_pid)
    started = time.monotonic()
    await km.start_kernel(extra_arguments=grading_kernel_arguments())
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=60)
    wall = time.monotonic() - started
    cpu = sum(cpu_seconds(pid) for pid in _pids(km.provisioner.process))
    cpu += cpu_seconds(server_pid) - server_before
    kc.stop_channels()
    return wall, cpu


def _server_pid(server) -> int | None:
    """The fork server's host pid (a sandboxed one is the child of its bwrap namespace's init)."""
    if server is None:
        return None
    init = getattr(server.process, "init_pid", None)
    if init is None:
        return server.process.pid
    children = Path(f"/proc/{init}/task/{init}/children").read_text().split()
    return int(children[0]) if children else None


def measure(n: int) -> dict[str, list[tuple[float, float]]]:
    directory = Path(tempfile.mkdtemp(prefix="grader-sandbox-cost-"))
    server = ForkServer()
    sandbox = Sandbox()
    sandboxed_server = ForkServer(sandbox=sandbox)
    ways = {"forked": (lambda: _plain(directory, server), server),
            "forked in sandbox": (lambda: _forked_in_sandbox(sandboxed_server), sandboxed_server),
            "plain": (lambda: _plain(directory), None), "sandboxed": (lambda: new_kernel_manager(sandbox), None)}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    try:
        for _ in range(n):
            for name, (make, forker) in ways.items():
                km = make()
                results[name].append(asyncio.run(_start(km, forker)))
                shutdown(km)
        results["bwrap alone"] = []
        for _ in range(n):
            started = time.monotonic()
            before = os.times()
            with sandbox.start(["true"], env={}) as process:
                process.wait()
            after = os.times()
            results["bwrap alone"].append((time.monotonic() - started,
                                           after.children_user + after.children_system
                                           - before.children_user - before.children_system))
    finally:
        server.close()
        sandboxed_server.close()
    return results


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else 10
    results = measure(n)
    print(f"{n} kernels each, one at a time, on {os.cpu_count()} cores; median (min-max)")
    print(f"{'':18} {'wall to first reply (s)':>28} {'CPU to first reply (s)':>28}")
    for name, rows in results.items():
        cells = []
        for column in zip(*rows):
            cells.append(f"{statistics.median(column):.3f} ({min(column):.3f}-{max(column):.3f})")
        print(f"{name:18} {cells[0]:>28} {cells[1]:>28}")


if __name__ == "__main__":
    main()
