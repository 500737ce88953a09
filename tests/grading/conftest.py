"""Servers the cluster tests start themselves: a Dask scheduler with two workers, each a separate OS
process on loopback (the private PostgreSQL server is tests/conftest.py's `postgres`)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from grader.devtools.pgserver import free_port


class DaskProcesses:
    """`dask scheduler` and `dask worker` processes, each in its own process group."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.processes = []

    def _start(self, *arguments, log):
        dask = Path(sys.executable).parent / "dask"
        process = subprocess.Popen([str(dask), *arguments], stdout=subprocess.DEVNULL,
                                   stderr=open(self.directory / log, "w"), start_new_session=True,
                                   cwd=self.directory)
        self.processes.append(process)
        return process

    def start(self, workers: int):
        host, port = self.address.removeprefix("tcp://").split(":")
        self._start("scheduler", "--host", host, "--port", port, "--no-dashboard", log="scheduler.log")
        for index in range(workers):
            self._start("worker", self.address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                        "--name", f"w{index}", "--local-directory", str(self.directory / f"w{index}"),
                        log=f"worker-{index}.log")
        return self

    def client(self, workers: int):
        from distributed import Client
        client = Client(self.address, timeout="60s")
        client.wait_for_workers(workers, timeout=180)
        return client

    def stop(self):
        for process in reversed(self.processes):
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for process in reversed(self.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="module")
def dask_processes(tmp_path_factory):
    """A real scheduler and two workers (with their nannies), started as `dask` commands on loopback."""
    processes = DaskProcesses(tmp_path_factory.mktemp("dask")).start(workers=2)
    try:
        with processes.client(2):
            pass
        yield processes
    finally:
        processes.stop()
