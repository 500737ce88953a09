"""What runs inside each worker process: one NotebookGrader, one KernelPool, for the process's life."""

import atexit
import logging
import multiprocessing.util
import os
import shutil
import tempfile
from pathlib import Path

from grader.grading.notebook.tasks import GradeResult, GradeTask

_state: dict = {}


class _WarningCollector(logging.Handler):
    """nbgrader's preprocessors log what they repair (a missing cell, an edited locked cell)."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


class GradingSession:
    """One NotebookGrader and one KernelPool (with its fork server) over a private copy of the
    gradebook snapshot; `grade(task) -> result` (tasks.py). A local worker process has one
    for its life; a Dask worker has one per grading run (cluster.py).

    `sandboxed`: every kernel runs in the sandbox (sandbox.py), forked by a fork server inside it;
    the course directory and this worker's files are hidden from it. Must be made on the
    worker's main thread (kernels are launched from the thread that made the pool)."""

    def __init__(self, config, snapshot_path: str, kernel_env: dict, sandboxed: bool = True, bank=None):
        from grader.grading.kernel.pool import KernelPool

        self.private = Path(tempfile.mkdtemp(prefix="grader-worker-"))
        # The fork server boots (imports numpy and ipykernel) while this process imports nbgrader.
        if sandboxed:
            from grader.grading.kernel.sandbox import Sandbox
            sandbox = Sandbox(forbid=[config.CourseDirectory.root or os.getcwd(), self.private,
                                      Path(snapshot_path).parent])
            self.pool = KernelPool(env=kernel_env, server=_sandboxed_fork_server(sandbox, kernel_env),
                                   sandbox=sandbox)
        else:
            self.pool = KernelPool(env=kernel_env, server=_fork_server(config, kernel_env))
        from grader.grading.notebook.pipeline import NotebookGrader

        self.collector = _collector()
        db_copy = self.private / "gradebook.db"
        shutil.copyfile(snapshot_path, db_copy)
        self.grader = NotebookGrader(config, f"sqlite:///{db_copy}", self.pool, bank)
        self.pool.prestart()

    def grade(self, task: GradeTask) -> GradeResult:
        self.collector.messages = []
        result = self.grader.grade(task)
        warnings = [m for m in self.collector.messages if _worth_reporting(m)]
        key = self.grader.key
        personal = key.locked_sources(hidden_tests=False) if key is not None and key.per_student else None
        if personal is not None:      # nbgrader compares with the instructor's copy: not the student's
            warnings = [m for m in warnings if "Attribute 'source'" not in m]
        result["warnings"] = warnings
        if task.release:
            from grader.grading.notebook.reasons import edited_locked_cells
            try:
                result["edited"] = edited_locked_cells(task.submitted, task.release, task.earlier_hashes(),
                                                       original=personal)
            except Exception as exc:  # noqa: BLE001 (a malformed submission: its reason, never the run's end)
                result["edited"] = [f"its locked cells could not be compared with the release ({type(exc).__name__})"]
        return result

    def close(self):
        self.pool.close()
        shutil.rmtree(self.private, ignore_errors=True)


def _collector() -> "_WarningCollector":
    """The process's one collector of nbgrader's repair log; also quiets what a TA cannot act on."""
    logger = logging.getLogger("traitlets")
    for handler in logger.handlers:
        if isinstance(handler, _WarningCollector):
            return handler
    collector = _WarningCollector()
    logger.addHandler(collector)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    # A notebook saved by an older Jupyter has cells without ids; nbformat adds them as it reads
    # and warns once per notebook. The student cannot act on it and the grade does not change.
    import warnings

    from nbformat.warnings import MissingIDFieldWarning
    warnings.filterwarnings("ignore", category=MissingIDFieldWarning)
    return collector


def init_worker(config, snapshot_path: str, kernel_env: dict, sandboxed: bool = True,
                parent: tuple[str, dict] | None = None, bank=None) -> None:
    """A pool worker's initializer. `parent`: the parent's working directory and environment now
    (a worker forked by multiprocessing's forkserver starts with the server's, from its start).
    `bank`: the parent's loaded bank (pickled: 4 ms, where loading the file again takes 0.3 s)."""
    if parent is not None:
        cwd, environ = parent
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(environ)
    _state["session"] = GradingSession(config, snapshot_path, kernel_env, sandboxed, bank)
    # multiprocessing ends a forked worker with os._exit, past atexit; its finalizers still run
    multiprocessing.util.Finalize(None, _close, exitpriority=10)
    atexit.register(_close)


def _sandboxed_fork_server(sandbox, kernel_env):
    """A fork server inside the sandbox; None (a bubblewrap sandbox per kernel, slower) if it fails."""
    from grader.grading.kernel.pool import ForkServer
    try:
        return ForkServer(env=kernel_env, sandbox=sandbox)
    except Exception as exc:
        logging.getLogger("grader").warning("sandboxed kernels start without the fork server: %s", exc)
        return None


def _fork_server(config, kernel_env):
    """A kernel fork server; None (plain kernel launches) if it fails."""
    from grader.grading.kernel.pool import ForkServer
    try:
        return ForkServer(env=kernel_env)
    except Exception as exc:
        logging.getLogger("grader").warning("kernels start without the fork server: %s", exc)
        return None


def _close():
    session = _state.pop("session", None)
    if session is not None:
        session.close()


def grade_task(task: GradeTask, started: str | None = None) -> GradeResult:
    """A pool worker's job: `started`, a file created first, so that a worker's death is blamed on
    the task it was running (runner._run_parallel)."""
    if started:
        Path(started).touch()
    return _state["session"].grade(task)


def _worth_reporting(message: str) -> bool:
    return "has changed" in message or "Missing grade cell" in message or "does not exist in the database" in message
