"""`python -m grader doctor`: which mode grading will use here, what is missing, and a real
sandboxed kernel started the way `grade` starts one (forked by a sandboxed fork server), asked
what it can see."""

import json
import os
import shutil
import time
from pathlib import Path

COURSE_FILES = ("questions.yaml", "nbgrader_config.py", "gradebook.db", "source", "release", "submitted",
                "autograded", "feedback")
HELP = "which sandbox mode grading uses here, what is missing, and a real sandboxed kernel start"
# Run in the sandboxed kernel: what a student's code would see.
PROBE = """
import importlib.util, json, os, socket
print(json.dumps({
    "uid": os.getuid(), "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "course": [name for name in COURSE_FILES if os.path.exists(os.path.join(COURSE, name))],
    "grader": importlib.util.find_spec("grader") is not None, "network": [name for _, name in socket.if_nameindex()]}))
"""


def add_arguments(parser):
    parser.add_argument("--no-kernel", action="store_true", help="skip starting a real sandboxed kernel")


def _user_namespaces() -> str:
    """What the machine says about unprivileged user namespaces (rootless mode needs them)."""
    facts = []
    for setting in ("/proc/sys/user/max_user_namespaces", "/proc/sys/kernel/unprivileged_userns_clone",
                    "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"):
        try:
            facts.append(f"{setting.rsplit('/', 1)[1]}={Path(setting).read_text().strip()}")
        except OSError:
            pass
    return ", ".join(facts) or "no setting readable"


def _kernel_probe(course: Path) -> tuple[bool, str]:
    """Start one kernel exactly as a grading worker does and run PROBE in it."""
    from jupyter_core.utils import run_sync

    from grader.grading.kernel.pool import ForkServer, KernelPool, shutdown
    from grader.grading.kernel.sandbox import ForkedSandboxProcess, Sandbox

    sandbox = Sandbox(forbid=[course])
    started = time.monotonic()
    server = ForkServer(env=dict(os.environ), sandbox=sandbox)
    pool = KernelPool(env=dict(os.environ), server=server, sandbox=sandbox)
    km = None
    try:
        km = pool.take("python3", prestart_next=False)
        client = km.client()
        client.start_channels()
        try:
            run_sync(client.wait_for_ready)(timeout=60)
            outputs = []
            reply = run_sync(client.execute_interactive)(
                f"COURSE, COURSE_FILES = {str(course)!r}, {COURSE_FILES!r}\n{PROBE}", timeout=60,
                output_hook=lambda msg: outputs.append(msg["content"].get("text", "")))
        finally:
            client.stop_channels()
        seconds = time.monotonic() - started
        forked = isinstance(km.provisioner.process, ForkedSandboxProcess)
        if reply["content"]["status"] != "ok":
            return False, f"the kernel started but the probe failed: {reply['content'].get('evalue')}"
        seen = json.loads("".join(outputs))
    finally:
        if km is not None:
            shutdown(km)
        pool.close()
    problems = [what for what, bad in ((f"it sees the course's {', '.join(seen['course'])}", seen["course"]),
                                       ("it can import the grader package", seen["grader"]),
                                       ("it sees processes other than its own", len(seen["pids"]) > 3),
                                       ("it has a network interface besides lo", set(seen["network"]) - {"lo"}))
                if bad]
    if problems:
        return False, "the sandboxed kernel is not isolated: " + "; ".join(problems)
    how = "forked by the fork server" if forked else "in a bubblewrap of its own (the fork server failed)"
    return True, (f"a sandboxed kernel started and ran code in {seconds:.1f} s, {how}: "
                  f"uid {seen['uid']}, {len(seen['pids'])} processes visible, no course, no grader package, "
                  f"network {', '.join(seen['network']) or 'none'}")


def run(args) -> int:
    from grader.grading.kernel.sandbox import BWRAP, PRLIMIT, SETPRIV, Limits, find_kernel_cgroups, support

    rootless = os.geteuid() != 0
    mode = "not root: rootless mode, a user namespace per kernel" if rootless else "root: a uid per kernel"
    print(f"user: uid {os.getuid()} ({mode})")
    for tool in (BWRAP, SETPRIV, PRLIMIT):
        print(f"  {tool}: {shutil.which(tool) or 'MISSING (Debian: apt-get install bubblewrap util-linux)'}")
    if rootless:
        print(f"  user namespaces: {_user_namespaces()}")
    cgroups, why_not = find_kernel_cgroups()
    print(f"  cgroup per kernel: "
          f"{cgroups.describe(Limits()) if cgroups else f'no ({why_not}): memory bounded per process only'}")
    status = support()
    print(f"grading mode: {'sandboxed' if status.available else 'NONE: grade refuses without --unsafe-no-sandbox'}")
    print(f"  {status.message}")
    if not status.available:
        return 1
    if args.no_kernel:
        return 0
    ok, message = _kernel_probe(args.course)
    print(f"kernel: {'ok' if ok else 'FAILED'}: {message}")
    return 0 if ok else 1
