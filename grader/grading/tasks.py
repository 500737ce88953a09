"""What the parent sends a grading worker and what comes back (plain data: it is pickled)."""

from __future__ import annotations

from typing import TypedDict


class GradeTask(TypedDict, total=False):
    student: str
    assignment: str
    notebook: str             # the notebook's name, without .ipynb
    submitted: str            # the submitted notebook's path
    workdir: str              # autograded/<student>/<assignment>/: the kernel's working directory
    release: str              # the released notebook (to spot edited locked cells)
    earlier: dict[str, list[str]]  # locked cells' texts of earlier releases, as hashes (grader.release_record)
    prestart_next: bool       # start the next kernel while this notebook runs
    started: str              # a file the worker creates when it starts this task (runner._run_parallel)
    classmates: list[str]     # the class: a copied answer is the answer to one of their numbers


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


def failed_result(task: GradeTask, exc: BaseException) -> GradeResult:
    """The result of a task whose grading raised (in a worker, or on the way back): its zero and why."""
    return GradeResult(student=task["student"], notebook=task["notebook"], notebook_json=None,
                       error=f"grading failed ({type(exc).__name__}: {str(exc)[:160]})")
