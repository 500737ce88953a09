"""Forked kernels: each notebook gets a fresh process that behaves like a freshly launched kernel."""

import asyncio
import json
import os
import re
import signal
import time

import pytest
from kernel_kit import interrupt_a_loop

from grader.grading.kernel.pool import ForkServer, KernelPool, shutdown

pytestmark = pytest.mark.xdist_group("kernels")


def run_code(km, code, timeout=30):
    """Run `code` in the kernel; return its stdout and the error name (or None)."""
    async def go():
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=timeout)
            out, errors = [], []

            def hook(msg):
                if msg["msg_type"] == "stream":
                    out.append(msg["content"]["text"])
                elif msg["msg_type"] == "error":
                    errors.append(msg["content"]["ename"])
            await kc.execute_interactive(code, output_hook=hook, timeout=timeout)
            return "".join(out), (errors[0] if errors else None)
        finally:
            kc.stop_channels()
    return asyncio.run(go())


PROBE = ("import os, sys, json, random, numpy; print(json.dumps({'pid': os.getpid(), 'ppid': os.getppid(), "
         "'cwd': os.getcwd(), 'path': sys.path, 'env': os.environ.get('PROBE_VAR'), "
         "'rand': random.random(), 'np': float(numpy.random.random()), "
         "'leftover': 'student_answer' in globals(), 'sigchld': str(__import__('signal').getsignal(17))}))")


@pytest.fixture
def server(tmp_path):
    server = ForkServer(env=dict(os.environ, PROBE_VAR="server"))
    yield server
    server.close()


def gone_within(pid, seconds) -> bool:
    """The process exits (or is killed and waits for its reaper) within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if open(f"/proc/{pid}/stat").read().split(") ")[1].startswith("Z"):
            return True
        time.sleep(0.05)
    return False


def probe(km):
    out, error = run_code(km, PROBE)
    assert error is None
    return json.loads(out)


def test_forked_kernels_are_fresh_processes_with_the_requested_env_and_cwd(server, tmp_path):
    pool = KernelPool(env=dict(os.environ, PROBE_VAR="kernel"), server=server)
    try:
        first = pool.take("python3")
        assert run_code(first, "student_answer = 42") == ("", None)
        seen_first = probe(first)
        shutdown(first)
        second = pool.take("python3", prestart_next=False)
        seen_second = probe(second)
        shutdown(second)
    finally:
        pool.close()
    assert seen_first["ppid"] == server.pid and seen_second["ppid"] == server.pid
    assert seen_first["pid"] != seen_second["pid"]
    assert seen_first["leftover"] is True and seen_second["leftover"] is False   # nothing carried over
    assert seen_second["env"] == "kernel"
    assert seen_second["cwd"] == str(pool._dir)
    assert os.getcwd() not in seen_second["path"][:1]
    assert seen_first["rand"] != seen_second["rand"] and seen_first["np"] != seen_second["np"]
    assert seen_second["sigchld"] == str(signal.SIG_DFL)


def test_a_kernel_that_exits_is_seen_dead_and_an_interrupt_reaches_it(server):
    pool = KernelPool(server=server)
    try:
        km = pool.take("python3", prestart_next=False)
        run_code(km, "1")

        reply = asyncio.run(interrupt_a_loop(km))
        assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
        assert asyncio.run(km.is_alive())
        pid = km.provisioner.pid
        try:
            run_code(km, "import os; os._exit(3)", timeout=5)
        except Exception:
            pass
        deadline = time.monotonic() + 10
        while asyncio.run(km.is_alive()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not asyncio.run(km.is_alive())
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)                       # reaped by the server: no zombie left behind
        shutdown(km)
    finally:
        pool.close()


def test_forked_kernels_have_no_debugger(server):
    """A grading kernel never debugs: no debugpy (0.15 s of CPU to import, a port a notebook could reach)."""
    pool = KernelPool(server=server)
    try:
        km = pool.take("python3", prestart_next=False)

        async def info():
            kc = km.client()
            kc.start_channels()
            try:
                await kc.wait_for_ready(timeout=30)
                kc.kernel_info()
                while True:
                    reply = await kc.get_shell_msg(timeout=30)
                    if reply["msg_type"] == "kernel_info_reply":
                        return reply["content"]
            finally:
                kc.stop_channels()
        content = asyncio.run(info())
        out, error = run_code(km, "import sys; print(sys.modules.get('debugpy', 'absent'))")
        shutdown(km)
    finally:
        pool.close()
    assert "debugger" not in content["supported_features"]
    assert error is None and out.strip() in ("None", "absent")


@pytest.mark.parametrize("forked", [True, False])
def test_grading_kernels_print_python_s_plain_traceback(server, forked):
    """IPython's default tracebacks cost ~35 ms of kernel CPU per error; a grading kernel prints plain
    ones, which still name the student's cell, line and exception."""
    pool = KernelPool(server=server if forked else None)
    try:
        km = pool.take("python3", prestart_next=False)

        async def traceback_of(code):
            kc = km.client()
            kc.start_channels()
            try:
                await kc.wait_for_ready(timeout=30)
                errors = []
                await kc.execute_interactive(code, timeout=30, output_hook=lambda msg: errors.extend(
                    [msg["content"]["traceback"]] if msg["msg_type"] == "error" else []))
                return errors[0]
            finally:
                kc.stop_channels()
        lines = asyncio.run(traceback_of("def area(box):\n    return box[2] / 0\n\narea([1, 2, 3])"))
        shutdown(km)
    finally:
        pool.close()
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(lines))
    assert "Traceback (most recent call last)" in text
    assert "return box[2] / 0" in text and text.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "-" * 40 not in text                   # IPython's Context tracebacks open with a rule


@pytest.mark.parametrize("forked", [True, False])
def test_nothing_a_student_started_outlives_the_kernel(server, forked):
    pool = KernelPool(server=server if forked else None)
    try:
        km = pool.take("python3", prestart_next=False)
        out, error = run_code(km, "import subprocess; print(subprocess.Popen(['sleep', '600']).pid)")
        assert error is None
        child = int(out)
        os.kill(child, 0)                         # running
        shutdown(km)
    finally:
        pool.close()
    if not gone_within(child, 5):
        pytest.fail(f"the student's process {child} outlived the kernel")


def test_forked_kernels_flush_only_what_is_pending_and_lose_no_output(server):
    """A forked kernel's stdout skips ipykernel's flushes that have nothing to send (a quarter of a short
    cell's CPU); every line a cell prints still arrives with its cell, in order (a hidden test's report
    is the last line its cell prints)."""
    pool = KernelPool(server=server)
    try:
        km = pool.take("python3", prestart_next=False)
        name, error = run_code(km, "import sys; print(type(sys.stdout).__name__)")
        outputs = [run_code(km, f"print('line {i}'); import sys; sys.stdout.flush(); print('after {i}', end='')")
                   for i in range(20)]
        errors = run_code(km, "import sys; print('out'); print('err', file=sys.stderr); print('last')")
        shutdown(km)
    finally:
        pool.close()
    assert error is None and name.strip() == "PendingOnlyOutStream"
    assert outputs == [(f"line {i}\nafter {i}", None) for i in range(20)]
    assert sorted(errors[0].splitlines()) == ["err", "last", "out"] and errors[1] is None


def test_a_forked_kernel_exits_when_its_fork_server_dies(server):
    """A worker killed mid-notebook takes its fork server with it; the kernel it was using must not
    live on (unsandboxed there is no namespace to take it down: ipykernel's parent poller does)."""
    pool = KernelPool(server=server)
    km = pool.take("python3", prestart_next=False)
    run_code(km, "1")
    pid = km.provisioner.pid
    os.kill(server.pid, signal.SIGKILL)
    try:
        if not gone_within(pid, 10):
            pytest.fail(f"the kernel {pid} outlived its fork server")
    finally:
        shutdown(km)
        pool.close()


def test_kernels_still_start_when_the_fork_server_is_gone(server):
    pool = KernelPool(server=server)
    try:
        server.process.kill()
        server.process.wait()
        km = pool.take("python3", prestart_next=False)
        seen = probe(km)
        shutdown(km)
    finally:
        pool.close()
    assert seen["ppid"] != server.process.pid and seen["ppid"] == os.getpid()   # launched, not forked


def test_the_server_exits_when_its_client_closes(server):
    process = server.process
    server.close()
    assert process.poll() is not None


def test_commands_other_than_ipykernel_are_not_forked(server):
    assert server.serves([os.path.realpath(os.sys.executable), "-m", "ipykernel_launcher", "-f", "x.json"])
    assert not server.serves(["/usr/bin/python2", "-m", "ipykernel_launcher", "-f", "x.json"])
    assert not server.serves([os.sys.executable, "-m", "some_other_kernel", "-f", "x.json"])
