"""What a grading worker is given, and what comes back (plain data: both are pickled).

A `GradeTask` is built in one place only, the coordinator's `runner.plan_tasks` (a test checks that
no other module calls `GradeTask(...)`), and it is frozen: every backend grades the object the
coordinator planned. A local worker process is sent the task itself; a Dask worker is sent the same
task inside a `cluster.ShippedTask`, beside the notebook's bytes, and grades
`task.relocated(...)`: the task with its three paths pointed into the worker's scratch course and
every other field as planned. (The Dask path once rebuilt tasks by hand and dropped the class and
the earlier releases: a copied table kept its points there, #20.)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TypedDict

from grader.attempts.rules import ProblemTries


@dataclass(frozen=True)
class GradeTask:
    student: str
    assignment: str
    notebook: str                 # the notebook's name, without .ipynb
    submitted: str                # the submitted notebook's path (staged in the run's own folder)
    workdir: str                  # autograded/<student>/<assignment>/: the kernel's working directory
    release: str | None           # the released notebook (to spot edited locked cells); None: not released
    # locked cells' texts of earlier releases, as hashes (grader.release_record): ((grade id, hashes), ...)
    earlier: tuple[tuple[str, tuple[str, ...]], ...]
    classmates: tuple[str, ...]   # the class: a copied answer is the answer to one of their numbers
    prestart_next: bool           # start the next kernel while this notebook runs
    # The assignment's checks and dates (grader.attempts.rules; empty for an assignment without them):
    tries: tuple[ProblemTries, ...] = ()        # the student's counted checks, per problem checked
    submitted_at: dt.datetime | None = None     # when the notebook was handed in (UTC); None: unknown
    extension: float = 0.0                      # seconds the student's due date is moved by

    def earlier_hashes(self) -> dict[str, tuple[str, ...]]:
        """`earlier` as reasons.edited_locked_cells reads it: {grade id: hashes}."""
        return dict(self.earlier)

    def relocated(self, *, submitted: str, workdir: str, release: str | None) -> GradeTask:
        """This task with its paths on another machine (a Dask worker's scratch course); every other
        field is carried as it is."""
        return dataclasses.replace(self, submitted=submitted, workdir=workdir, release=release)


class GradeResult(TypedDict, total=False):
    student: str
    notebook: str
    notebook_json: str | None  # the autograded notebook; None when nothing could be run
    error: str | None          # why nothing could be run
    traceback: str
    dead_cells: list[int]      # cells whose kernel died (run again without them)
    seconds: float
    warnings: list[str]        # what nbgrader repaired (a missing cell, an edited locked cell)
    edited: list[str]          # locked cells the student edited
    worker: str                # the Dask worker that graded it (cluster.py)


def failed_result(task: GradeTask, exc: BaseException | str) -> GradeResult:
    """The result of a task whose grading raised (in a worker, or on the way back), or that no
    worker could finish (`exc` the reason): its zero and why."""
    error = exc if isinstance(exc, str) else f"grading failed ({type(exc).__name__}: {str(exc)[:160]})"
    return GradeResult(student=task.student, notebook=task.notebook, notebook_json=None, error=error)
