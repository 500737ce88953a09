"""Grading on a Dask cluster: one task per submitted notebook; what a worker needs travels as bytes.

    grade_assignment(course, "a1", cluster="local:4")             # a LocalCluster of 4 worker processes
    grade_assignment(course, "a1", cluster="tcp://grader-1:8786")  # the workers of a running scheduler

The coordinator (runner.grade_assignment) prepares autograded/ and the tasks and records every
result in the gradebook, as it does with local worker processes. Workers need the project
installed and nothing else: no shared filesystem, no database. Once per run the coordinator
registers a `GraderPlugin` holding the course as bytes (nbgrader configuration, the bank, the
assignment's gradebook snapshot, the release notebooks); the scheduler hands it to every worker,
including one that joins or restarts mid-run. On a worker the plugin is the warm state of the run:
a scratch course directory and a `GradingSession` (kernel fork server with the bank loaded, kernel
pool, nbgrader's preprocessors). Each Dask task carries the coordinator's own `GradeTask` (tasks.py),
as planned, with one submitted notebook and the files beside it as bytes (a `ShippedTask`); the
worker writes them into its scratch course and grades the task relocated there (its paths changed,
every other field as planned). Its result is the same plain dict a local worker returns.

A worker that dies mid-task: the scheduler runs the task again on another worker (Dask's
`distributed.scheduler.allowed-failures`); a notebook that kills every worker that runs it is
recorded as failed, as with a crashed local worker. Results arrive once per task and the
coordinator records each (student, notebook) once, so no grade is lost or written twice.
"""

import contextlib
import logging
import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin

from grader.course import BANK_FILENAME
from grader.errors import GraderError
from grader.grading.coordinator.submission import read_tree, write_tree
from grader.grading.notebook.tasks import GradeResult, GradeTask, failed_result

PLUGIN_PREFIX = "elen521-grader-"
LOCAL_PREFIX = "local:"
CONNECT_TIMEOUT = "20s"


def describe_cluster(spec: str) -> tuple[str, int | str]:
    """("local", workers) for "local:N", ("scheduler", address) for a Dask scheduler address."""
    if spec.startswith(LOCAL_PREFIX):
        count = spec[len(LOCAL_PREFIX):]
        if not count.isdigit() or int(count) < 1:
            raise GraderError(f"--cluster {spec}: expected local:N with N a number of worker processes ≥ 1")
        return "local", int(count)
    if "://" not in spec:
        raise GraderError(f"--scheduler {spec}: expected a Dask scheduler address such as tcp://HOST:8786")
    return "scheduler", spec


@contextlib.contextmanager
def connect(spec: str):
    """A Dask client: of a LocalCluster started (and stopped) here, or of a running scheduler."""
    from distributed import Client, LocalCluster

    kind, target = describe_cluster(spec)
    if kind == "local":
        # one thread per worker process: a worker grades one notebook at a time with its own kernels
        with LocalCluster(n_workers=target, threads_per_worker=1, processes=True, dashboard_address=":0",
                          silence_logs=logging.ERROR) as local, Client(local) as client:
            yield client
        return
    try:
        client = Client(target, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise GraderError(f"--scheduler {target}: cannot reach the Dask scheduler: {exc}") from None
    with client:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except TimeoutError:
            raise GraderError(f"--scheduler {target}: the scheduler has no workers "
                              f"(start some with `dask worker {target} --nthreads 1`)") from None
        yield client


def shipped_course(config, snapshot: Path, tasks: list[GradeTask], sandboxed: bool = True) -> dict:
    """What every worker needs for the run, as plain data and bytes."""
    bank_path = Path(config.CourseDirectory.root) / BANK_FILENAME
    bank = bank_path.read_bytes() if bank_path.is_file() else None
    releases = {}
    for task in tasks:
        if task.release is not None and task.notebook not in releases and Path(task.release).is_file():
            releases[task.notebook] = Path(task.release).read_bytes()
    return {"config": _plain(config), "snapshot": Path(snapshot).read_bytes(), "bank": bank,
            "assignment": tasks[0].assignment if tasks else None, "release": releases,
            "sandboxed": sandboxed}


@dataclass(frozen=True)
class ShippedTask:
    """A task as it travels to a Dask worker: the coordinator's GradeTask itself, and the bytes its
    paths name here (the submitted notebook, and autograded/ as prepared here)."""
    task: GradeTask
    notebook: bytes
    files: dict[str, bytes]


def shipped_task(task: GradeTask) -> ShippedTask:
    """`task` with the submitted notebook as bytes and the files nbgrader puts beside it (read
    without following links)."""
    files, _ = read_tree(Path(task.workdir))
    return ShippedTask(task, Path(task.submitted).read_bytes(), files)


def _plain(config) -> dict:
    return {key: _plain(value) if isinstance(value, dict) else value for key, value in config.items()}


class GraderPlugin(WorkerPlugin):
    """A run's course on one worker, and the worker's warm grading state for that run."""

    def __init__(self, course: dict):
        self.course = course

    def setup(self, worker):
        self.address = worker.address
        self.root = Path(worker.local_directory) / f"grader-course-{uuid.uuid4().hex[:12]}"
        self.lock = threading.Lock()       # a worker with several threads grades one notebook at a time
        self.session = None
        self.root.mkdir(parents=True)
        (self.root / "gradebook.db").write_bytes(self.course["snapshot"])
        if self.course["bank"] is not None:
            (self.root / "questions.yaml").write_bytes(self.course["bank"])
        for notebook, content in self.course["release"].items():
            path = self._path("release", ".", notebook)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)

    def teardown(self, worker):
        with self.lock:
            if self.session is not None:
                self.session.close()
                self.session = None
            shutil.rmtree(self.root, ignore_errors=True)

    def _path(self, folder: str, student: str, notebook: str) -> Path:
        return self.root / folder / student / self.course["assignment"] / f"{notebook}.ipynb"

    def _session(self):
        from traitlets.config import Config

        from grader.grading.notebook.config import with_venv_on_path
        from grader.grading.notebook.session import GradingSession

        if self.session is None:
            config = Config(self.course["config"])
            config.CourseDirectory.root = str(self.root)
            config.CourseDirectory.db_url = f"sqlite:///{self.root / 'gradebook.db'}"
            env = with_venv_on_path()
            env["NBGRADER_EXECUTION"] = "autograde"
            self.session = GradingSession(config, str(self.root / "gradebook.db"), env,
                                          sandboxed=self.course.get("sandboxed", True))
        return self.session

    def grade(self, shipped: ShippedTask) -> GradeResult:
        """Write the shipped notebook and files into the scratch course, grade the task there, clean up."""
        student, notebook = shipped.task.student, shipped.task.notebook
        submitted = self._path("submitted", student, notebook)
        workdir = self._path("autograded", student, notebook).parent
        release = self._path("release", ".", notebook)
        with self.lock:
            try:
                submitted.parent.mkdir(parents=True, exist_ok=True)
                submitted.write_bytes(shipped.notebook)
                shutil.rmtree(workdir, ignore_errors=True)
                workdir.mkdir(parents=True)
                write_tree(shipped.files, workdir)
                task = shipped.task.relocated(submitted=str(submitted), workdir=str(workdir),
                                              release=str(release) if release.is_file() else None)
                result = self._session().grade(task)
            finally:
                for folder in ("submitted", "autograded"):
                    shutil.rmtree(self.root / folder / student, ignore_errors=True)
        result["worker"] = self.address
        return result


def grade_on_worker(plugin_name: str, shipped: ShippedTask) -> GradeResult:
    """The Dask task: a shipped task to a result (plain data), on this worker's plugin."""
    from distributed import get_worker

    return get_worker().plugins[plugin_name].grade(shipped)


def run_on_cluster(spec: str, tasks: list[GradeTask], config, snapshot: Path, record, sandboxed: bool = True) -> int:
    """Grade `tasks` on the Dask cluster `spec`, calling `record(result)` here, in this process, as
    results arrive; return the number of worker threads the run started with. `sandboxed`: the
    mode the coordinator chose; every worker grades in it."""
    if not tasks:
        return 0
    course = shipped_course(config, snapshot, tasks, sandboxed)
    run_id = uuid.uuid4().hex[:12]
    plugin_name = PLUGIN_PREFIX + run_id
    with connect(spec) as client:
        threads = sum(client.nthreads().values())
        client.register_plugin(GraderPlugin(course), name=plugin_name)
        try:
            _submit_and_record(client, plugin_name, run_id, tasks, record, window=max(8, 2 * threads))
        finally:
            with contextlib.suppress(Exception):     # a cluster shutting down has forgotten it already
                client.unregister_worker_plugin(plugin_name)
    return threads


def _submit_and_record(client, plugin_name, run_id, tasks, record, window):
    """At most `window` tasks in flight (the coordinator holds a few submissions in memory, not all)."""
    from distributed import KilledWorker, as_completed

    waiting = iter(tasks)
    in_flight = {}

    def submit_next():
        task = next(waiting, None)
        if task is None:
            return None
        future = client.submit(grade_on_worker, plugin_name, shipped_task(task), pure=False, retries=1,
                               key=f"grade-{task.student}-{task.notebook}-{run_id}")
        in_flight[future.key] = task
        return future

    first = [future for future in (submit_next() for _ in range(window)) if future is not None]
    arrivals = as_completed(first)
    for future in arrivals:
        task = in_flight.pop(future.key)
        try:
            result = future.result()
        except KilledWorker:
            result = failed_result(task, "every Dask worker that ran this notebook died")
        except Exception as exc:  # noqa: BLE001 (one notebook's failure, never the class's run)
            result = failed_result(task, exc)
        future.release()
        record(result)
        following = submit_next()
        if following is not None:
            arrivals.add(following)
