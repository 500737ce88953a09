"""What runs inside each worker process: one NotebookGrader, one KernelPool, for the process's life."""

import atexit
import logging
import os
import shutil
import tempfile
from pathlib import Path

from grader.grading.tasks import GradeResult, GradeTask

_state: dict = {}


class _WarningCollector(logging.Handler):
    """nbgrader's preprocessors log what they repair (a missing cell, an edited locked cell)."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def init_worker(config, snapshot_path: str, kernel_env: dict) -> None:
    from grader.grading.kernels import KernelPool
    from grader.grading.pipeline import NotebookGrader

    private = Path(tempfile.mkdtemp(prefix="grader-worker-"))
    db_copy = private / "gradebook.db"
    shutil.copyfile(snapshot_path, db_copy)
    pool = KernelPool(env=kernel_env, server=_fork_server(config, kernel_env))
    collector = _WarningCollector()
    logger = logging.getLogger("traitlets")
    logger.addHandler(collector)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    # A notebook saved by an older Jupyter has cells without ids; nbformat adds them as it reads
    # and warns once per notebook. The student cannot act on it and the grade does not change.
    import warnings

    from nbformat.warnings import MissingIDFieldWarning
    warnings.filterwarnings("ignore", category=MissingIDFieldWarning)
    _state.update(grader=NotebookGrader(config, f"sqlite:///{db_copy}", pool), pool=pool,
                  collector=collector, private=private)
    atexit.register(_close)


def _fork_server(config, kernel_env):
    """A kernel fork server with the course's bank loaded; None (plain kernel launches) if it fails."""
    from grader.grading.kernels import ForkServer
    from grader.runtime import find_bank
    try:
        bank = find_bank(config.CourseDirectory.root, environ=kernel_env)
    except Exception:
        bank = None
    try:
        return ForkServer(bank, env=kernel_env)
    except Exception as exc:
        logging.getLogger("grader").warning("kernels start without the fork server: %s", exc)
        return None


def _close():
    pool = _state.pop("pool", None)
    if pool is not None:
        pool.close()
    private = _state.pop("private", None)
    if private is not None:
        shutil.rmtree(private, ignore_errors=True)


def grade_task(task: GradeTask) -> GradeResult:
    collector = _state["collector"]
    collector.messages = []
    result = _state["grader"].grade(task)
    result["warnings"] = [m for m in collector.messages if _worth_reporting(m)]
    if task.get("release"):
        from grader.grading.reasons import edited_locked_cells
        result["edited"] = edited_locked_cells(task["submitted"], task["release"], task.get("earlier"))
    return result


def _worth_reporting(message: str) -> bool:
    return "has changed" in message or "Missing grade cell" in message or "does not exist in the database" in message
