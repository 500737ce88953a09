"""Every gradebook write of a grading run, in the parent process only, one transaction per notebook.

`record_notebook` does what nbgrader's SaveAutoGrades and AssignLatePenalties do for one
executed notebook (same nbgrader functions: utils.determine_grade, compute_checksum, the late
submission plugin), but commits once instead of once per cell.
"""

import sqlite3
from pathlib import Path

from nbgrader import utils
from nbgrader.api import Comment, Grade, Gradebook, MissingEntry
from nbgrader.preprocessors import AssignLatePenalties
from sqlalchemy.orm import joinedload

from grader.course import open_gradebook
from grader.errors import GraderError


def has_assignment(config, assignment: str) -> bool:
    with open_gradebook(config) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            return False
    return True


def assignment_notebooks(gb: Gradebook, assignment: str, db_url: str) -> list[str]:
    try:
        found = gb.find_assignment(assignment)
    except MissingEntry:
        raise GraderError(f"{db_url}: no assignment '{assignment}' in the gradebook; "
                          f"run `python -m grader release` (nbgrader generate_assignment) first") from None
    names = sorted(nb.name for nb in found.notebooks)
    if not names:
        raise GraderError(f"{db_url}: assignment '{assignment}' has no notebooks; release it again")
    return names


def prepare_submissions(gb: Gradebook, assignment: str, students: dict[str, str | None]) -> None:
    """Create or update each student and their submission ({student: timestamp or None})."""
    for student, timestamp in students.items():
        gb.update_or_create_student(student)
        if timestamp:
            gb.update_or_create_submission(assignment, student, timestamp=timestamp)
        else:
            gb.update_or_create_submission(assignment, student)


def record_notebook(gb: Gradebook, config, assignment: str, student: str, notebook_id: str, nb) -> None:
    """Save the autograder scores and comments of one executed notebook, then the late penalty."""
    try:
        submitted = gb.find_submission_notebook(notebook_id, assignment, student)
        grades = _by_cell_name(gb, Grade, submitted)        # two queries, not two per cell
        comments = _by_cell_name(gb, Comment, submitted)
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if utils.is_grade(cell):
                _save_score(_entry(grades, grade_id, "grade", notebook_id), cell)
            if utils.is_solution(cell) or utils.is_task(cell):
                _save_comment(_entry(comments, grade_id, "comment", notebook_id), cell)
        _assign_late_penalty(gb, config, student, submitted)
        gb.db.commit()
    except Exception:
        gb.db.rollback()
        raise


def _by_cell_name(gb, model, submitted):
    rows = gb.db.query(model).filter(model.notebook == submitted).options(joinedload(model.cell))
    return {row.cell.name: row for row in rows}


def _entry(entries, grade_id, kind, notebook_id):
    if grade_id not in entries:
        raise MissingEntry(f"no {kind} for cell '{grade_id}' of notebook '{notebook_id}' in the gradebook")
    return entries[grade_id]


def record_zero(gb: Gradebook, assignment: str, student: str, notebook_id: str, *, needs_review: bool) -> None:
    """No notebook to grade: every grade 0. nbgrader does this for a missing notebook
    (needs_review False); for one that could not be run at all we flag it for review."""
    try:
        submission = gb.find_submission_notebook(notebook_id, assignment, student)
        for grade in submission.grades:
            grade.auto_score = 0
            grade.needs_manual_grade = needs_review
        gb.db.commit()
    except Exception:
        gb.db.rollback()
        raise


def _save_score(grade, cell):
    auto_score, _ = utils.determine_grade(cell)
    grade.auto_score = auto_score
    grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None


def _save_comment(comment, cell):
    unchanged = cell.metadata.nbgrader.get("checksum", None) == utils.compute_checksum(cell)
    comment.auto_comment = "No response." if unchanged and not utils.is_task(cell) else None


def _assign_late_penalty(gb, config, student, notebook):
    assigner = AssignLatePenalties(config=config)
    assigner.init_plugin()
    submission = notebook.assignment
    gb.db.flush()
    notebook.late_submission_penalty = None
    if submission.total_seconds_late > 0:
        penalty = assigner.plugin_inst.late_submission_penalty(
            student, notebook.score, submission.total_seconds_late)
        if penalty is not None:
            notebook.late_submission_penalty = assigner._check_late_penalty(notebook, penalty)


def snapshot(db_url: str, target: Path) -> str:
    """Copy the SQLite gradebook (consistently, with SQLite's backup API); return the copy's URL."""
    source_path = db_url.removeprefix("sqlite:///")
    if source_path == db_url:
        raise GraderError(f"{db_url}: grading runs on the embedded SQLite gradebook only (sqlite:///...)")
    with sqlite3.connect(source_path) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return f"sqlite:///{target}"


def scores(gb: Gradebook, assignment: str, students) -> dict[str, dict]:
    """{student: {"score", "max_score", "grades": {grade_id: score}}} from the gradebook."""
    found = {}
    for student in students:
        submission = gb.find_submission(assignment, student)
        grades = {}
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grades[grade.name] = grade.score
        found[student] = {"score": submission.score, "max_score": submission.max_score, "grades": grades}
    return found
