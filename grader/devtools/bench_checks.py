"""python -m grader.devtools bench-checks: simulated students checking answers against a running service.

A scratch course (a temporary directory) holds the course's questions.yaml with `attempts:` given
to the benchmark's assignment (--checks per problem, interval 0: the bench measures the service,
not its refusals) and a copy of that assignment with a real interval (--interval-run), a gradebook
(SQLite by default; --postgres: a private PostgreSQL server, grader.devtools.pgserver) and a course
token for each of --students simulated students (Store.issue_token, as `distribute` issues them).
The real service runs as a subprocess (`python -m grader serve-checks --no-hub`) and is ready once
/api/health answers 200.

The load generator is one asyncio loop in this process with --connections keep-alive connections,
writing HTTP/1.1 by hand (asyncio streams: no client library's overhead). Every body is a real
answer of a numeric or table problem of the assignment for the student's own numbers
(grader.render.problem_variants): the right answer, each misconception's value, and a wrong value,
encoded as the notebook encodes it (in_kernel.encode); the verdict the service sends back is
compared with the verdict grading gives the same answer in this process. With --pin (default on
2 cores or more) the service runs on CPU 0 and the load generator on CPU 1, so that neither
takes the other's core; the CPU each used is printed (from /proc and getrusage), so a saturated
client would show.

Phases, numeric answers and table answers apart: "as fast as N connections go" (a closed loop: each
connection sends its next check once the last is answered: the most checks/s the service gives;
its latency is then N / throughput, queueing, not what a student sees), and "R checks/s sent at a
steady pace" (an open loop at --rate: each check is due at its time whatever the replies, and its
latency counts from then: the latency the aim is about); then numeric checks one at a time (the
service's latency when idle), and the interval run (most refused with 429). Printed per phase:
checks, seconds, checks/s, p50/p90/p99/max latency in ms, replies by status, and the CPU the
service and the load generator used. Then the rows of the course database's grader_check_attempts,
counted directly: they must equal the checks answered 200. --sqlite-wal puts the scratch gradebook
in WAL mode first (the service unchanged): what that would give a course.

The comparison, --kernel-checks N: the same check done by running a kernel, what a student waits
for without the service: a Jupyter kernel (this venv's python3) is started and set up as grading
sets it up (the report function's prelude, the notebook's setup and inputs cells: "kernel start"),
then per check the answer cell (the value written as a literal) and the problem's test cell (format
checks and the hidden test's report) run in it, and the reported answer is graded in this process.

Exit status 1 only on errors (a valid check not answered 200 in the phases without an interval, a
verdict unlike grading's, row counts that differ, a kernel check not graded); never on speed: the
aims (AIM_RATE checks/s, p99 under AIM_P99_MS ms for numeric and table answers) are printed as met
or not.
"""

from __future__ import annotations

AIM_RATE = 500.0
AIM_P99_MS = 50.0
INTERVAL = "30s"            # the interval run's interval between two checks of one problem
INTERVAL_CHECKS = 3


def add_arguments(parser):
    parser.add_argument("--assignment", default="cnn-detection", help="the assignment whose problems are checked")
    parser.add_argument("--students", type=int, default=200, help="simulated students (default 200)")
    parser.add_argument("--connections", type=int, default=64, help="concurrent keep-alive connections (default 64)")
    parser.add_argument("--checks", type=int, default=6000, help="checks per phase, numeric and table (default 6000)")
    parser.add_argument("--rate", type=float, default=AIM_RATE,
                        help=f"checks per second sent at a steady pace in the latency phases (default {AIM_RATE:.0f})")
    parser.add_argument("--rate-seconds", type=float, default=6.0,
                        help="how long each steady-pace phase lasts (default 6 s)")
    parser.add_argument("--allowed", type=int, default=1000,
                        help="checks each problem allows in the scratch bank (default 1000: none is refused)")
    parser.add_argument("--kernel-checks", type=int, default=30,
                        help="checks done by running a kernel, for the comparison (default 30; 0: none)")
    parser.add_argument("--interval-run", type=int, default=3000,
                        help=f"checks of a copy of the assignment with {INTERVAL_CHECKS} checks {INTERVAL} apart: "
                             f"most are refused with 429 (default 3000; 0: no such run)")
    parser.add_argument("--postgres", action="store_true",
                        help="the gradebook on a private PostgreSQL server (grader.devtools.pgserver), not SQLite")
    parser.add_argument("--sqlite-wal", action="store_true",
                        help="put the scratch SQLite gradebook in WAL mode first (persistent in the file; the service "
                             "is unchanged): what WAL would give a course")
    parser.add_argument("--pin", dest="pin", action="store_true", default=None,
                        help="service on CPU 0, load generator on CPU 1 (default when there are 2 CPUs or more)")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="let the scheduler place both")
    parser.add_argument("--profile", metavar="FILE", default=None,
                        help="run the service under cProfile and write its stats to FILE (its main thread)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch course (its path is printed)")
    parser.add_argument("--seed", type=int, default=521)


# --- the scratch course ------------------------------------------------------------------------------

CONFIG = """\
c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = {db_url!r}
c.CourseDirectory.course_id = "bench-checks"
"""


def interval_assignment(assignment):
    return f"{assignment}-interval"


def scratch_bank_text(bank_path, assignment, allowed, with_interval):
    """The bank with generous checks on `assignment` (and a copy of it with a real interval)."""
    import yaml

    from grader.errors import GraderError

    data = yaml.safe_load(bank_path.read_text(encoding="utf-8"))
    found = next((one for one in data["assignments"] if one["id"] == assignment), None)
    if found is None:
        raise GraderError(f"bench-checks: no assignment {assignment!r} in {bank_path}")
    found.pop("dates", None)
    found["attempts"] = {"checks": allowed, "credit": [1.0], "interval": 0, "reveal": "misconception"}
    if with_interval:
        data["assignments"].append({"id": interval_assignment(assignment), "title": f"{found['title']} (interval)",
                                    "problems": list(found["problems"]),
                                    "attempts": {"checks": INTERVAL_CHECKS, "credit": [1.0, 0.8, 0.5],
                                                 "interval": INTERVAL, "reveal": "misconception"}})
    for problem in data["problems"]:        # a problem's own attempts would override the bench's
        problem.pop("attempts", None)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


def make_course(root, bank_text, db_url):
    root.mkdir(parents=True, exist_ok=True)
    (root / "questions.yaml").write_text(bank_text, encoding="utf-8")
    (root / "nbgrader_config.py").write_text(CONFIG.format(root=str(root), db_url=db_url))
    return root


# --- the checks students send ----------------------------------------------------------------------------

KINDS = ("numeric", "table")


def perturbed(value):
    """A wrong answer of the same shape: the last number of `value` moved (a bool flipped)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 1.5 + 0.25
    if isinstance(value, (list, tuple)) and value:
        items = list(value)
        for index in reversed(range(len(items))):
            moved = perturbed(items[index])
            if moved is not items[index]:
                items[index] = moved
                return type(value)(items)
        return value
    if isinstance(value, dict):
        for key in reversed(list(value)):
            moved = perturbed(value[key])
            if moved is not value[key]:
                return {**value, key: moved}
        return value
    try:
        import numpy as np
        if isinstance(value, np.ndarray) and value.size:
            moved = value.astype(float).copy()
            moved.flat[-1] = moved.flat[-1] * 1.5 + 0.25
            return moved
    except ImportError:     # pragma: no cover
        pass
    return value


def answers_of(variant):
    """[(label, value)]: the right answer, each misconception's value that can be computed, a wrong value."""
    import numpy as np

    found = [("right", variant.expected)]
    for misconception in variant.problem.misconceptions:
        try:
            with np.errstate(all="ignore"):
                found.append((f"misconception {misconception.id}",
                              variant.kind.misconception_answer(variant.problem, misconception, variant.values)))
        except Exception:  # noqa: BLE001 (a misconception that does not apply to this variant)
            continue
    found.append(("wrong", perturbed(variant.expected)))
    return found


def planned_checks(bank, assignment, students, tokens, port, seed):
    """{kind: [Request]} for every student, numeric and table problem of `assignment`, shuffled."""
    import json
    import random

    from grader.grading.kernel.in_kernel import encode
    from grader.kinds import grade_answer
    from grader.render import problem_variants

    plan = {kind: [] for kind in KINDS}
    for student in students:
        for variant in problem_variants(bank, assignment, student):
            if variant.problem.kind not in KINDS:
                continue
            for label, value in answers_of(variant):
                verdict = grade_answer(variant.problem, value, variant.values)
                body = json.dumps({"assignment": assignment, "problem": variant.problem.id,
                                   "answer": encode(value)}, separators=(",", ":")).encode()
                head = (f"POST /api/check HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                        f"Authorization: token {tokens[student]}\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n").encode()
                plan[variant.problem.kind].append(Request(head + body, student, variant.problem.id, label,
                                                          verdict.correct))
    generator = random.Random(seed)
    for requests in plan.values():
        generator.shuffle(requests)
    return plan


class Request:
    __slots__ = ("data", "student", "problem", "label", "right")

    def __init__(self, data, student, problem, label, right):
        self.data, self.student, self.problem, self.label, self.right = data, student, problem, label, right


# --- the load generator --------------------------------------------------------------------------------

class Phase:
    """What one phase measured."""

    def __init__(self, name):
        self.name = name
        self.latencies = []        # seconds, one per reply
        self.statuses = {}
        self.wrong_verdicts = []   # (request, reply body)
        self.errors = []           # connection failures
        self.seconds = 0.0
        self.client_cpu = 0.0
        self.service_cpu = 0.0

    @property
    def count(self):
        return len(self.latencies)

    def percentile(self, share):
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


async def _read_reply(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _run_phase(port, requests, total, connections, phase, check_verdicts):
    import asyncio
    import time

    next_index = 0

    async def one_connection():
        nonlocal next_index
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while next_index < total:
                request = requests[next_index % len(requests)]
                next_index += 1
                started = time.perf_counter()
                writer.write(request.data)
                status, body = await _read_reply(reader)
                _count(phase, request, time.perf_counter() - started, status, body, check_verdicts)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            phase.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            writer.close()

    await asyncio.gather(*(one_connection() for _ in range(connections)))


def _times(kernel: float, service: float) -> str:
    """'7.3× slower than' or '2.1× faster than': a kernel's check against the service's."""
    return f"{kernel / service:,.1f}× slower than" if kernel >= service else f"{service / kernel:,.1f}× faster than"


def _count(phase, request, latency, status, body, check_verdicts):
    """One reply in the phase's figures; a 200 whose verdict disagrees with grading's is kept aside."""
    import json

    phase.latencies.append(latency)
    phase.statuses[status] = phase.statuses.get(status, 0) + 1
    if status == 200 and check_verdicts and (json.loads(body).get("verdict") == "right") != request.right:
        phase.wrong_verdicts.append((request, body))


async def _run_paced(port, requests, total, connections, rate, phase, check_verdicts):
    """`total` checks sent at `rate` per second whatever the replies (an open loop: students do not wait
    for each other), each on a free connection of a pool; a check's latency counts from when it was
    due, so a check that waits for a free connection, or for the service, is not hidden."""
    import asyncio

    loop = asyncio.get_running_loop()
    pool = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))

    async def one(request, due):
        reader, writer = await pool.get()
        try:
            writer.write(request.data)
            status, body = await _read_reply(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            phase.errors.append(f"{type(exc).__name__}: {exc}")
            writer.close()
            pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
            return
        pool.put_nowait((reader, writer))
        _count(phase, request, loop.time() - due, status, body, check_verdicts)

    start = loop.time() + 0.05
    tasks, sent = [], 0
    while sent < total:
        now = loop.time()
        while sent < total and start + sent / rate <= now:
            tasks.append(asyncio.create_task(one(requests[sent % len(requests)], start + sent / rate)))
            sent += 1
        if sent < total:
            await asyncio.sleep(max(0.0, start + sent / rate - loop.time()))
    await asyncio.gather(*tasks)
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()


def run_phase(name, port, requests, total, connections, service_pid, check_verdicts=True, rate=None):
    import asyncio
    import resource
    import time

    phase = Phase(name)
    service_before = process_cpu(service_pid)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    client_before = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    if rate:
        asyncio.run(_run_paced(port, requests, total, connections, rate, phase, check_verdicts))
    else:
        asyncio.run(_run_phase(port, requests, total, connections, phase, check_verdicts))
    phase.seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    phase.client_cpu = usage.ru_utime + usage.ru_stime - client_before
    phase.service_cpu = process_cpu(service_pid) - service_before
    return phase


def process_cpu(pid):
    """User + system CPU seconds of process `pid` (all its threads), from /proc."""
    import os

    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def phase_lines(phase):
    ms = 1000.0
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(phase.statuses.items()))
    rate = phase.count / phase.seconds if phase.seconds else 0.0
    return [f"{phase.name}: {phase.count:,} checks in {phase.seconds:.2f} s = {rate:,.0f} checks/s; latency ms "
            f"p50 {phase.percentile(0.5) * ms:.1f}, p90 {phase.percentile(0.9) * ms:.1f}, "
            f"p99 {phase.percentile(0.99) * ms:.1f}, max {max(phase.latencies, default=0) * ms:.1f}; "
            f"replies {statuses or 'none'}",
            f"    CPU: service {phase.service_cpu / phase.seconds:.0%} of a core, "
            f"load generator {phase.client_cpu / phase.seconds:.0%} of a core"
            + (f"; {len(phase.errors)} connection errors: {phase.errors[0]}" if phase.errors else "")]


# --- the service ---------------------------------------------------------------------------------------

class ServiceProcess:
    def __init__(self, course, port, cpus=None, profile=None):
        self.course, self.port, self.cpus, self.profile = course, port, cpus, profile
        self.process = None
        self.output = []

    def start(self, timeout=60.0):
        import os
        import subprocess
        import sys
        import threading
        import time
        import urllib.request

        from grader.errors import GraderError

        env = {key: value for key, value in os.environ.items() if not key.startswith("JUPYTERHUB_")}
        profile = ["-m", "cProfile", "-o", str(self.profile)] if self.profile else []
        command = [sys.executable, *profile, "-m", "grader", "serve-checks", "--no-hub",
                   "--course", str(self.course), "--port", str(self.port)]
        cpus = self.cpus
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env=env, preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                time.sleep(0.2)
                raise GraderError(f"bench-checks: serve-checks exited {self.process.returncode}: "
                                  f"{''.join(self.output)[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/health", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise GraderError(f"bench-checks: serve-checks not healthy within {timeout:.0f} s: {''.join(self.output)[-2000:]}")

    def _read(self):
        for line in self.process.stdout:
            self.output.append(line)

    def stop(self):
        import signal

        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except Exception:  # noqa: BLE001
                self.process.kill()
                self.process.wait(10)


def count_rows(db_url):
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM grader_check_attempts")).scalar()
    finally:
        engine.dispose()


# --- the same check by running a kernel ----------------------------------------------------------------

class KernelChecks:
    """A Jupyter kernel set up as grading sets it up, and checks done by running cells in it."""

    def __init__(self, bank, assignment, student):
        self.bank, self.assignment, self.student = bank, assignment, student
        self.manager = self.client = None
        self.start_seconds = 0.0

    def start(self):
        import time

        from jupyter_client.manager import start_new_kernel

        from grader.grading.notebook.answers import StudentKey, prelude
        from grader.render import assignment_cell_specs

        started = time.perf_counter()
        self.manager, self.client = start_new_kernel(kernel_name="python3", startup_timeout=120)
        key = StudentKey(self.bank, self.assignment, self.student)
        self._execute(prelude(key.cases()))
        self.cells = {spec.grade_id: spec.source for spec in assignment_cell_specs(self.bank, self.assignment,
                                                                                    self.student)}
        self._execute(self.cells["setup"])
        for grade_id, source in self.cells.items():
            if grade_id.endswith("-inputs"):
                self._execute(source)
        self.start_seconds = time.perf_counter() - started
        return self

    def _execute(self, code):
        """Run `code`; its stdout and the error it raised, if any."""
        stdout, errors = [], []

        def hook(message):
            content = message["content"]
            if message["msg_type"] == "stream" and content.get("name") == "stdout":
                stdout.append(content["text"])
            elif message["msg_type"] == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")

        reply = self.client.execute_interactive(code, output_hook=hook, timeout=60, store_history=False)
        if reply["content"]["status"] != "ok" and not errors:
            errors.append(str(reply["content"].get("ename")))
        return "".join(stdout), errors

    def check(self, variant, value):
        """(seconds, Result or an error): the answer cell, the test cell, and grading what was reported."""
        import time

        from grader.bank.templates import python_literal
        from grader.grading.kernel.in_kernel import CodecError
        from grader.grading.notebook.answers import decode_answer, read_reports
        from grader.kinds import grade_own_answer

        problem = variant.problem
        started = time.perf_counter()
        _, errors = self._execute(f"{variant.variable} = {python_literal(value)}")
        stdout, test_errors = self._execute(self.cells[f"{problem.id}-test"])
        reports = read_reports({"outputs": [{"output_type": "stream", "name": "stdout", "text": stdout}]}, problem.id)
        try:
            if len(reports) != 1:
                raise CodecError(f"{len(reports)} reports ({'; '.join(errors + test_errors) or 'no error'})")
            result = grade_own_answer(problem, decode_answer(reports[0]), variant.values, ())
        except CodecError as exc:
            return time.perf_counter() - started, f"{problem.id}: {exc}"
        return time.perf_counter() - started, result

    def stop(self):
        if self.client is not None:
            self.client.stop_channels()
        if self.manager is not None:
            self.manager.shutdown_kernel(now=True)


def kernel_comparison(bank, assignment, student, count):
    """(start seconds, [check seconds], [errors])"""
    import itertools

    from grader.render import problem_variants

    checks = [(variant, label, value) for variant in problem_variants(bank, assignment, student)
              if variant.problem.kind in KINDS for label, value in answers_of(variant)]
    kernel = KernelChecks(bank, assignment, student)
    seconds, errors = [], []
    try:
        kernel.start()
        for variant, label, value in itertools.islice(itertools.cycle(checks), count):
            took, result = kernel.check(variant, value)
            seconds.append(took)
            if isinstance(result, str):
                errors.append(result)
            else:
                from grader.kinds import grade_answer
                if result.correct != grade_answer(variant.problem, value, variant.values).correct:
                    errors.append(f"{variant.problem.id} {label}: the kernel check's verdict differs")
    finally:
        kernel.stop()
    return kernel.start_seconds, seconds, errors


# --- the run -------------------------------------------------------------------------------------------

def run(args):
    import contextlib
    import os
    import shutil
    import tempfile
    import time
    from pathlib import Path

    from grader.attempts.store import Store
    from grader.bank import load_bank
    from grader.errors import GraderError

    bank_path = Path(args.bank) if args.bank else Path(args.course) / "questions.yaml"
    course_bank = load_bank(bank_path)
    if args.assignment not in course_bank.assignments:
        raise GraderError(f"bench-checks: no assignment {args.assignment!r} in {bank_path}")
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pin = (len(cpus) >= 2) if args.pin is None else args.pin
    if pin and len(cpus) < 2:
        raise GraderError("bench-checks: --pin needs 2 CPUs")
    service_cpus = {cpus[0]} if pin else None
    client_cpus = {cpus[1]} if pin else None

    scratch = Path(tempfile.mkdtemp(prefix="grader-bench-checks-"))
    failures = []
    with contextlib.ExitStack() as stack:
        if args.postgres:
            from grader.devtools.pgserver import PrivatePostgres
            postgres = stack.enter_context(PrivatePostgres(durable=True))
            db_url = postgres.create_database("bench_checks")
        else:
            db_url = f"sqlite:///{scratch}/gradebook.db"
        course = make_course(scratch, scratch_bank_text(bank_path, args.assignment, args.allowed,
                                                        bool(args.interval_run)), db_url)
        bank = load_bank(course / "questions.yaml")
        store = Store(db_url, "bench-checks")
        students = [f"bench{number:03d}" for number in range(1, args.students + 1)]
        started = time.perf_counter()
        tokens = {student: store.issue_token(student) for student in students}
        if args.sqlite_wal and not args.postgres:
            with store.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        store.engine.dispose()
        print(f"bench-checks: {args.assignment}, {len(students)} students (course tokens issued in "
              f"{time.perf_counter() - started:.1f} s), {args.connections} connections, "
              f"gradebook {'PostgreSQL (private server, fsync on)' if args.postgres else 'SQLite'}"
              f"{' in WAL mode' if args.sqlite_wal and not args.postgres else ''}; "
              f"{'service on CPU %d, load generator on CPU %d' % (cpus[0], cpus[1]) if pin else 'not pinned'}",
              flush=True)

        from grader.devtools.pgserver import free_port
        port = free_port()
        started = time.perf_counter()
        plan = planned_checks(bank, args.assignment, students, tokens, port, args.seed)
        interval_plan = planned_checks(bank, interval_assignment(args.assignment), students, tokens, port,
                                       args.seed) if args.interval_run else None
        problems = {kind: sorted({request.problem for request in requests}) for kind, requests in plan.items()}
        print(f"checks planned in {time.perf_counter() - started:.1f} s: "
              + "; ".join(f"{kind}: {len(plan[kind]):,} distinct ({', '.join(problems[kind])})" for kind in KINDS),
              flush=True)

        service = ServiceProcess(course, port, service_cpus, args.profile)
        stack.callback(service.stop)
        started = time.perf_counter()
        service.start()
        print(f"service healthy in {time.perf_counter() - started:.1f} s (pid {service.process.pid})", flush=True)

        if client_cpus:
            own = os.sched_getaffinity(0)
            os.sched_setaffinity(0, client_cpus)
            stack.callback(os.sched_setaffinity, 0, own)
        answered = 0
        warm = run_phase("warm-up", port, plan["numeric"] + plan["table"], min(1000, args.checks),
                         args.connections, service.process.pid)
        answered += warm.statuses.get(200, 0)
        phases, paced = [], []
        paced_total = max(1, int(args.rate * args.rate_seconds))
        for kind in KINDS:
            phase = run_phase(f"{kind} answers, as fast as {args.connections} connections go", port, plan[kind],
                              args.checks, args.connections, service.process.pid)
            phases.append(phase)
            steady = run_phase(f"{kind} answers, {args.rate:,.0f} checks/s sent at a steady pace", port, plan[kind],
                               paced_total, args.connections, service.process.pid, rate=args.rate)
            paced.append(steady)
            for one in (phase, steady):
                answered += one.statuses.get(200, 0)
                for line in phase_lines(one):
                    print(line, flush=True)
        alone = run_phase("numeric answers, one check at a time (1 connection)", port, plan["numeric"], 300, 1,
                          service.process.pid)
        answered += alone.statuses.get(200, 0)
        for line in phase_lines(alone):
            print(line, flush=True)
        counts = [(warm, min(1000, args.checks)), (alone, 300), *((phase, args.checks) for phase in phases),
                  *((phase, paced_total) for phase in paced)]
        for phase, expected in counts:
            refused = phase.count - phase.statuses.get(200, 0)
            if refused or phase.errors or phase.count != expected:
                failures.append(f"{phase.name}: {refused} valid checks not answered 200, {len(phase.errors)} "
                                f"connection errors, {phase.count} replies")
            for request, body in phase.wrong_verdicts[:3]:
                failures.append(f"{phase.name}: {request.student} {request.problem} ({request.label}): the service "
                                f"says {body[:200]!r}, grading says {'right' if request.right else 'not right'}")
        if interval_plan:
            phase = run_phase(f"numeric + table, {INTERVAL_CHECKS} checks {INTERVAL} apart", port,
                              interval_plan["numeric"] + interval_plan["table"], args.interval_run,
                              args.connections, service.process.pid)
            answered += phase.statuses.get(200, 0)
            for line in phase_lines(phase):
                print(line, flush=True)
            if set(phase.statuses) - {200, 429} or phase.errors:
                failures.append(f"{phase.name}: replies {phase.statuses}, {len(phase.errors)} connection errors")
            for request, body in phase.wrong_verdicts[:3]:
                failures.append(f"{phase.name}: {request.student} {request.problem} ({request.label}): the service "
                                f"says {body[:200]!r}, grading says {'right' if request.right else 'not right'}")
        if client_cpus:
            os.sched_setaffinity(0, own)
        service.stop()
        if service.process.returncode != 0:
            failures.append(f"serve-checks exited {service.process.returncode}: {''.join(service.output)[-1000:]}")
        rows = count_rows(db_url)
        print(f"database rows: {rows:,}; checks answered 200: {answered:,} "
              f"({'equal' if rows == answered else 'DIFFERENT'})", flush=True)
        if rows != answered:
            failures.append(f"{rows} rows in grader_check_attempts for {answered} checks answered 200")
        if args.profile:
            print(f"service profile: {args.profile} (python -m pstats {args.profile})")

        kernel = None
        if args.kernel_checks > 0:
            print(f"the same checks by running a kernel ({args.kernel_checks} checks) ...", flush=True)
            start_seconds, seconds, errors = kernel_comparison(course_bank, args.assignment, students[0],
                                                               args.kernel_checks)
            failures += [f"kernel check: {error}" for error in errors[:3]]
            kernel = Phase("kernel")
            kernel.latencies = seconds
            print(f"kernel: start and setup {start_seconds * 1000:.0f} ms (once per kernel); per check "
                  f"(answer cell, test cell, grading) p50 {kernel.percentile(0.5) * 1000:.1f} ms, "
                  f"p99 {kernel.percentile(0.99) * 1000:.1f} ms, max {max(seconds) * 1000:.1f} ms", flush=True)

        print()
        for kind, phase, steady in zip(KINDS, phases, paced):
            most = phase.count / phase.seconds
            p99 = steady.percentile(0.99) * 1000
            met = most >= AIM_RATE and args.rate >= AIM_RATE and p99 < AIM_P99_MS
            line = (f"aim, {kind} answers: at most {most:,.0f} checks/s (aim ≥ {AIM_RATE:.0f}); at {args.rate:,.0f} "
                    f"checks/s p50 {steady.percentile(0.5) * 1000:.1f} ms, p99 {p99:.1f} ms (aim < {AIM_P99_MS:.0f}): "
                    f"{'met' if met else 'NOT met'}")
            if kernel is not None:
                service = steady.percentile(0.5)
                warm, fresh = kernel.percentile(0.5), kernel.percentile(0.5) + start_seconds
                line += (f"; a warm kernel's check takes {warm * 1000:.1f} ms (p50): {_times(warm, service)} "
                         f"the service's p50 at this rate ({_times(fresh, service)} with a kernel started for it)")
            print(line)
        if kernel is not None:
            print(f"one check at a time: the service's p50 {alone.percentile(0.5) * 1000:.1f} ms (graded and on disk) "
                  f"vs a warm kernel's {kernel.percentile(0.5) * 1000:.1f} ms (graded, nothing recorded) and "
                  f"{(start_seconds + kernel.percentile(0.5)) * 1000:,.0f} ms with a kernel started for it")
    if args.keep:
        print(f"scratch course kept: {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    for failure in failures:
        print(f"ERROR: {failure}")
    return 1 if failures else 0
