"""Grades that no longer say what grading would say now, found before anything shows them.

`feedback` and `report` show grades; they refuse (naming the students and the command to run)
when a grade they would show is stale:

* the autograded notebook of a submitted notebook is missing (deleted by hand, or by a tool);
* a problem was graded on an older spec than the bank holds now (`release --force` after a
  tolerance fix: every hidden test carries the spec digest it was rendered from);
* the student handed in again after grading (`nbgrader collect --update` brought a newer
  timestamp.txt than the one the gradebook recorded).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.coursedir import CourseDirectory

from grader.bank import Bank
from grader.course import open_gradebook
from grader.grading.coordinator.submission import submission_time
from grader.protocol import Role, problem_of, reported_spec

SHOWN = 10        # students named in a refusal


def stale_grades(config, bank: Bank | None, assignment: str, students: list[str] | None = None) -> dict[str, str]:
    """{student: why their grade of `assignment` is stale} (nothing: every grade is current)."""
    coursedir = CourseDirectory(config=config)
    found: dict[str, str] = {}
    with open_gradebook(config) as gb:
        try:
            submissions = gb.find_assignment(assignment).submissions
        except Exception:       # nbgrader's MissingEntry: nothing graded, nothing stale
            return {}
        recorded = {s.student.id: (s.timestamp, {n.name: _failed(n) for n in s.notebooks}) for s in submissions}
    for student, (timestamp, notebooks) in sorted(recorded.items()):
        if students and student not in students:
            continue
        reason = _stale(coursedir, bank, assignment, student, timestamp, notebooks)
        if reason:
            found[student] = reason
    return found


def _stale(coursedir, bank, assignment, student, timestamp, notebooks) -> str | None:
    submitted = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment))
    autograded = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))
    for notebook in notebooks:
        handed_in = submitted / f"{notebook}.ipynb"
        graded = autograded / f"{notebook}.ipynb"
        if handed_in.is_file() and not handed_in.is_symlink() and not graded.is_file() and not notebooks[notebook]:
            return f"{graded.relative_to(coursedir.root)} is missing"
        if bank is not None and graded.is_file():
            changed = _older_specs(graded, bank)
            if changed:
                return f"graded on an older spec of {', '.join(changed)} than questions.yaml holds now"
    handed = submission_time(Path(coursedir.root) / coursedir.submitted_directory, student, assignment)
    if handed is not None and (timestamp is None or handed.replace(tzinfo=None) > timestamp.replace(tzinfo=None)):
        graded = f"{timestamp:%Y-%m-%d %H:%M}" if timestamp is not None else "no time"
        return f"handed in again at {handed:%Y-%m-%d %H:%M} after the graded submission ({graded})"
    return None


def _failed(notebook) -> bool:
    """Whether grading recorded this notebook as one it could not run (gradebook.record_zero with
    needs_review: every grade 0 and flagged), which leaves no autograded copy to look for."""
    return bool(notebook.grades) and all(grade.needs_manual_grade and not grade.auto_score for grade in notebook.grades)


def _older_specs(path: Path, bank: Bank) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    changed = []
    for cell in nb.cells:
        grade_id = str(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", ""))
        if cell.cell_type != "code" or problem_of(grade_id, Role.TEST) is None:
            continue
        spec = reported_spec(cell.source)
        if spec and spec[0] in bank.problems and bank.problems[spec[0]].digest != spec[1]:
            changed.append(spec[0])
    return changed


def refusal(stale: dict[str, str], assignment: str, what: str) -> str:
    """The message of a command that refuses to show stale grades."""
    lines = [f"  {student}: {reason}" for student, reason in list(stale.items())[:SHOWN]]
    more = f"\n  ... and {len(stale) - SHOWN} more" if len(stale) > SHOWN else ""
    students = " ".join(f"--student {s}" for s in list(stale)[:SHOWN]) if len(stale) <= SHOWN else ""
    return (f"{what} would show stale grades of {assignment} for {len(stale)} student(s); nothing was written:\n"
            + "\n".join(lines) + more + f"\nGrade them again first: `python -m grader grade {assignment}"
            + (f" {students}" if students else "") + "`")
