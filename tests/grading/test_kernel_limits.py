"""Per-kernel limits that hold in aggregate (issue #18, item 5), in both sandboxed launch paths:
kernels forked by the sandboxed fork server ("forked", the grading default) and one bwrap per
kernel ("bwrap", the fallback). Each kernel has a network namespace of its own; each limit is
shown against a classmate's kernel or an allowed action."""

import json
import os
import shutil
import uuid

import pytest
from test_kernels import run_code

from grader.grading.kernels import ForkServer, KernelPool, shutdown
from grader.grading.sandbox import ForkedSandboxProcess, Limits, Sandbox, SandboxedProcess

CAN_SANDBOX = bool(shutil.which("bwrap")) and os.geteuid() == 0
pytestmark = [pytest.mark.xdist_group("sandbox"), pytest.mark.nbgrader,
              pytest.mark.skipif(not CAN_SANDBOX and not os.environ.get("CI"),
                                 reason="needs bubblewrap (apt-get install bubblewrap) and root")]
MODES = {"forked": ForkedSandboxProcess, "bwrap": SandboxedProcess}


def make_pool(mode: str) -> KernelPool:
    sandbox = Sandbox(Limits())
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


def out_json(km, code):
    out, error = run_code(km, code)
    assert error is None, (out, error)
    return json.loads(out)


ATTEMPT = """
import json, socket
def attempt(action, *args):
    try:
        action(*args)
        return "ok"
    except BaseException as exc:
        return type(exc).__name__
"""


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
def connect_unix():
    s = socket.socket(socket.AF_UNIX)
    s.connect('\\0{name}')
    s.close()
print(json.dumps([attempt(socket.create_connection, ('127.0.0.1', {port}), 5), attempt(connect_unix)]))
"""
    assert out_json(listener, reach) == ["ok", "ok"]           # control: both listen, in its own namespace
    assert out_json(classmate, reach) == ["ConnectionRefusedError", "ConnectionRefusedError"]
