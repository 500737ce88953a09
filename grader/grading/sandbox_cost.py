"""What a sandbox costs per notebook: `python -m grader.grading.sandbox_cost [N]`.

Starts N kernels each way, one at a time, and reports per kernel the wall time from launch to
the kernel's first reply (kernel_info) and the CPU time the kernel's processes used by then:

* forked: forked from today's fork server (imports done once per worker);
* plain: a fresh `python -m ipykernel_launcher` (no sandbox);
* sandboxed: the same command in the sandbox (bwrap + setpriv + prlimit, grading.sandbox);
* bwrap alone: `true` in the sandbox, the sandbox's own overhead.

Plain and sandboxed kernels import numpy as they boot (as KernelPool has kernels do); the forked
one has it from the server.

CPU is read from /proc just before the kernel is killed (utime + stime of the kernel and, for
the sandbox, bwrap and the namespace's init), so it is the cost of starting, not of grading.
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

from grader.grading.kernels import HISTORY_IN_MEMORY, ForkedProvisioner, ForkServer, preload_arguments, shutdown
from grader.grading.sandbox import Sandbox, new_kernel_manager

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


async def _start(km) -> tuple[float, float]:
    started = time.monotonic()
    await km.start_kernel(extra_arguments=[HISTORY_IN_MEMORY, *preload_arguments(("numpy",))])
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=60)
    wall = time.monotonic() - started
    process = km.provisioner.process
    pids = [process.pid]
    if hasattr(process, "command_pid"):
        pids += [process.init_pid, process.command_pid()]
    cpu = sum(cpu_seconds(pid) for pid in pids)
    kc.stop_channels()
    return wall, cpu


def measure(n: int) -> dict[str, list[tuple[float, float]]]:
    directory = Path(tempfile.mkdtemp(prefix="grader-sandbox-cost-"))
    server = ForkServer()
    sandbox = Sandbox()
    ways = {"forked": lambda: _plain(directory, server), "plain": lambda: _plain(directory),
            "sandboxed": lambda: new_kernel_manager(sandbox)}
    results = {name: [] for name in ways}
    try:
        for _ in range(n):
            for name, make in ways.items():
                km = make()
                results[name].append(asyncio.run(_start(km)))
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
    return results


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else 10
    results = measure(n)
    print(f"{n} kernels each, one at a time, on {os.cpu_count()} cores; median (min-max)")
    print(f"{'':12} {'wall to first reply (s)':>28} {'CPU to first reply (s)':>28}")
    for name, rows in results.items():
        cells = []
        for column in zip(*rows):
            cells.append(f"{statistics.median(column):.3f} ({min(column):.3f}-{max(column):.3f})")
        print(f"{name:12} {cells[0]:>28} {cells[1]:>28}")


if __name__ == "__main__":
    main()
