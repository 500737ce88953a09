"""A kernel fork server: one process per grading worker that has already imported ipykernel
and numpy (never grader, never the bank: the kernel only reports answers), and forks a fresh
kernel for every notebook.

A kernel started from scratch spends about 0.6 s of CPU importing before it runs one cell;
a forked one starts with all of that done. Each student still gets a process of their own
(fresh namespace, fresh IPython shell, its own sockets); nothing a notebook does reaches the
server or another student's kernel.

Run as `python -m grader.grading.forkserver`. Protocol: one JSON request per line on
stdin ({"argv", "env", "cwd"}), one JSON reply per line on the original stdout ({"pid"} or
{"error"}). The server exits when stdin closes. With SIGCHLD ignored, the operating system
reaps forked kernels itself, so a kernel's pid disappears as soon as it exits.
"""

import json
import os
import random
import signal
import sys
import threading

PRELOAD = ("numpy",)
LAUNCH_DIR = os.getcwd()


def preload():
    import importlib

    for module in PRELOAD:
        importlib.import_module(module)
    import ipykernel.kernelapp  # noqa: F401  (the kernel's own imports: IPython, zmq, tornado)


def run_kernel(request, devnull):
    """In the forked child: become the kernel that `argv` (ipykernel_launcher's arguments) describes."""
    os.setsid()                                   # its own process group, as jupyter_client does
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ["JPY_PARENT_PID"] = str(os.getppid())  # exit with the server, not its client
    os.chdir(request["cwd"])
    random.seed()                                 # a fresh process draws fresh seeds
    sys.modules["numpy"].random.seed()
    sys.argv = [sys.executable, *request["argv"]]
    if sys.path and sys.path[0] == LAUNCH_DIR:   # as ipykernel_launcher does; IPython adds '' back
        del sys.path[0]
    from ipykernel.kernelapp import IPKernelApp
    IPKernelApp.launch_instance(argv=request["argv"])


def serve(requests, replies):
    devnull = os.open(os.devnull, os.O_RDWR)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)   # no zombies: the OS reaps every exited kernel
    for line in requests:
        request = json.loads(line)
        if threading.active_count() != 1:
            reply = {"error": "the fork server has threads; it cannot fork safely"}
        else:
            pid = os.fork()
            if pid == 0:
                status = 1
                try:
                    requests.close()
                    replies.close()
                    run_kernel(request, devnull)
                    status = 0
                finally:
                    os._exit(status)
            reply = {"pid": pid}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    replies = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)                           # imports may print; the reply channel stays clean
    os.close(devnull)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the grader; it closes our stdin
    preload()
    replies.write(json.dumps({"ready": os.getpid()}) + "\n")
    replies.flush()
    serve(sys.stdin, replies)


if __name__ == "__main__":
    main()
