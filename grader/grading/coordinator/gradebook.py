"""Every gradebook write of a grading run, in the parent process only, one transaction per notebook.

`record_notebook` does what nbgrader's SaveAutoGrades and AssignLatePenalties do for one
executed notebook (same nbgrader functions: utils.determine_grade, compute_checksum, the late
submission plugin), but commits once instead of once per cell.

Any nbgrader `db_url` works (SQLite, the default, and PostgreSQL). Several runs may share one
gradebook (two TAs, a regrade racing a first grade): `setup_lock` serializes the part of a run
that creates rows (schema, assignment, students, submissions), and a notebook's transaction is
retried when the database aborts it to break a deadlock or a serialization conflict.
"""

import functools
import time
from datetime import timezone
from pathlib import Path

from nbgrader import utils
from nbgrader.api import Assignment, Base, Comment, Grade, Gradebook, MissingEntry, SubmittedAssignment, SubmittedNotebook
from nbgrader.preprocessors import AssignLatePenalties
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import joinedload, selectinload, undefer

from grader.course import open_gradebook, setup_lock  # noqa: F401 (setup_lock: grading's lock)
from grader.errors import GraderError

# PostgreSQL aborts one of two conflicting transactions with these; running it again succeeds.
_RETRY_SQLSTATES = {"40001", "40P01"}          # serialization_failure, deadlock_detected
TRANSACTION_ATTEMPTS = 5


def check_db_url(config, course) -> None:
    """nbgrader leaves the course row out when course_id is empty; SQLite does not enforce the foreign
    key that then dangles, PostgreSQL does (every assignment insert fails). Say so before grading."""
    db_url = config.CourseDirectory.db_url
    if make_url(db_url).get_backend_name() != "sqlite" and not config.CourseDirectory.get("course_id"):
        raise GraderError(f"{Path(course) / 'nbgrader_config.py'}: c.CourseDirectory.course_id is not set; "
                          f"a {make_url(db_url).get_backend_name()} gradebook needs one (e.g. \"elen521\")")


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


def source_cells(gb: Gradebook, assignment: str, notebook: str) -> dict[str, str]:
    """{cell name: source} of the locked and grade cells nbgrader restores before grading."""
    found = gb.find_notebook(notebook, assignment)
    return {cell.name: cell.source for cell in found.source_cells}


def prepare_submissions(gb: Gradebook, assignment: str, students: dict[str, str | None],
                        extensions: dict[str, float] | None = None) -> None:
    """Create or update each student and their submission ({student: timestamp or None}); a student
    of `extensions` ({student: seconds}, the course database's, given with `grader extend`) gets that
    extension on nbgrader's submission row too (nbgrader keeps extensions there), however the row came
    about: `grader extend` before the student handed in had no row to write it to."""
    for student, timestamp in students.items():
        gb.update_or_create_student(student)
        if timestamp:
            gb.update_or_create_submission(assignment, student, timestamp=timestamp)
        else:
            gb.update_or_create_submission(assignment, student)
        if student in (extensions or {}):
            grant_extension(gb, assignment, student, extensions[student])


def grant_extension(gb: Gradebook, assignment: str, student: str, seconds: float) -> None:
    """nbgrader's own extension of the student's submission (Gradebook.grant_extension: it replaces
    any earlier one; 0 removes it)."""
    if _extension_seconds(gb.find_submission(assignment, student)) != seconds:
        gb.grant_extension(assignment, student, minutes=seconds / 60)


def _extension_seconds(submission) -> float:
    return submission.extension.total_seconds() if submission.extension is not None else 0.0


def extensions(gb: Gradebook, assignment: str, students: list[str]) -> dict[str, float]:
    """{student: seconds} of the extensions nbgrader's submission rows of `students` hold."""
    found = {}
    for submission in gb.find_assignment(assignment).submissions:
        if submission.student_id in students and submission.extension is not None:
            found[submission.student_id] = _extension_seconds(submission)
    return found


def set_duedate(gb: Gradebook, assignment: str, due) -> None:
    """The assignment's due date in nbgrader (naive UTC, as nbgrader stores it): the bank's `dates.due`,
    so that nbgrader's lateness (total_seconds_late, its late penalty, the feedback page's "due")
    agrees with the bank's timeline."""
    naive = due.astimezone(timezone.utc).replace(tzinfo=None) if due.tzinfo is not None else due
    found = gb.find_assignment(assignment)
    if found.duedate != naive:
        gb.update_or_create_assignment(assignment, duedate=naive)


def retry_transient(write):
    """Run a one-transaction gradebook write again when the database aborted it for a conflict with
    another run (it rolled back, so running it again writes everything once)."""

    @functools.wraps(write)
    def retrying(*args, **kwargs):
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                return write(*args, **kwargs)
            except DBAPIError as exc:
                if attempt == TRANSACTION_ATTEMPTS - 1 or not _transient(exc):
                    raise
                time.sleep(0.05 * 2 ** attempt)
    return retrying


def _transient(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in _RETRY_SQLSTATES or "database is locked" in str(exc.orig)


@retry_transient
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


@retry_transient
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


def snapshot(gb: Gradebook, assignment: str, target: Path) -> str:
    """Copy the assignment as the gradebook holds it (notebooks, kernelspecs, grade, solution, task and
    source cells: what nbgrader's OverwriteCells and OverwriteKernelspec read) into a new SQLite
    gradebook at `target`, whatever database `gb` is; return the copy's URL. No student data."""
    url = f"sqlite:///{target}"
    found = gb.find_assignment(assignment)
    # The tables first: on an empty database nbgrader's Gradebook stamps the alembic version by
    # running `alembic heads` in a new process (4 s); a worker's read-only copy needs no stamp.
    engine = create_engine(url)
    Base.metadata.create_all(bind=engine)
    engine.dispose()
    with open_gradebook(db_url=url, course=gb.course_id) as copy:
        # nbgrader commits every cell it adds; a scratch copy needs no durability, so no fsync each time
        copy.db.execute(text("PRAGMA synchronous = OFF"))
        copy.db.execute(text("PRAGMA journal_mode = MEMORY"))
        copy.add_assignment(found.name, duedate=found.duedate)
        for notebook in found.notebooks:
            copy.add_notebook(notebook.name, found.name, kernelspec=notebook.kernelspec)
            ids = (notebook.name, found.name)
            for cell in notebook.grade_cells:
                copy.add_grade_cell(cell.name, *ids, max_score=cell.max_score, cell_type=cell.cell_type)
            for cell in notebook.solution_cells:
                copy.add_solution_cell(cell.name, *ids)
            for cell in notebook.task_cells:
                copy.add_task_cell(cell.name, *ids, max_score=cell.max_score, cell_type=cell.cell_type)
            for cell in notebook.source_cells:       # in the order the gradebook returns them, as nbgrader reads them
                copy.add_source_cell(cell.name, *ids, cell_type=cell.cell_type, locked=cell.locked,
                                     source=cell.source, checksum=cell.checksum)
    return url


def scores(gb: Gradebook, assignment: str, students) -> dict[str, dict]:
    """{student: {"score", "max_score", "grades": {grade_id: score}}} from the gradebook, for the
    `students` who have a submission: nbgrader's own score columns, read in four queries, not a
    few per student."""
    wanted = set(students)
    query = (gb.db.query(SubmittedAssignment)
             .join(SubmittedAssignment.assignment).filter(Assignment.name == assignment)
             .filter(SubmittedAssignment.student_id.in_(wanted))
             .options(undefer(SubmittedAssignment.score), undefer(SubmittedAssignment.max_score),
                      selectinload(SubmittedAssignment.notebooks).selectinload(SubmittedNotebook.grades)
                      .joinedload(Grade.cell)))
    return {submission.student_id: {"score": submission.score, "max_score": submission.max_score,
                                    "seconds_late": submission.total_seconds_late,
                                    "grades": {grade.name: grade.score for notebook in submission.notebooks
                                               for grade in notebook.grades}}
            for submission in query}


def seconds_late(gb: Gradebook, assignment: str) -> dict[str, float]:
    """{student: seconds after their due date (nbgrader's, with their extension)} of the late submissions."""
    return {submission.student.id: submission.total_seconds_late
            for submission in gb.find_assignment(assignment).submissions if submission.total_seconds_late > 0}


def lateness_text(seconds: float) -> str:
    """'2 d 3 h', '2 h 5 min', '45 s': how late, as people say it (to the minute, or the second under one)."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    days, hours, minutes = minutes // (24 * 60), minutes // 60 % 24, minutes % 60
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes and not days else ""]
    return " ".join(part for part in parts if part)
