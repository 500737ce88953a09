"""Reports of one assignment under reports/<assignment>/:

* grades.csv: nbgrader's CSV export (`nbgrader export`'s columns and rows) for this assignment
  only, one row per student of the roster (nbgrader's students table; a rostered student who did
  not submit has score 0), written as every CSV here is (grader/spreadsheet_csv.py): nbgrader's
  own export neither quotes a comma in a name nor stops a student id like `=HYPERLINK(...)` from
  running as a spreadsheet formula;
* canvas-grades.csv, moodle-grades.csv: the same scores in the LMS gradebook import formats;
* problems.csv (score per student and problem), item-analysis.csv (with how many variants
  were in play per problem) and two PNG plots;

and reports/gradebook-all-assignments.csv, nbgrader's export of the whole gradebook.

Item analysis per problem: mean score, % full marks, the upper-lower 27 % discrimination index
(mean fraction of the top 27 % of students by total minus that of the bottom 27 %), and the most
frequent misconception (from the GRADER_RESULT lines of the autograded notebooks).
"""

import csv
import io
from collections import Counter
from pathlib import Path

import numpy as np

from grader.course import BANK_FILENAME, CoursePaths, open_gradebook
from grader.errors import GraderError, suggestion
from grader.files import write_atomic
from grader.protocol import Role, notebook_results, problem_of
from grader.spreadsheet_csv import csv_text

GROUP = 0.27


def _csv_bytes(header, rows) -> bytes:
    return csv_text(header, rows).encode()


def discrimination_index(fractions: np.ndarray, totals: np.ndarray, group: float = GROUP) -> float:
    """Upper-lower index: mean item fraction of the top `group` by total minus the bottom `group`.
    Ties in the total are broken by student order (stable sort), so the result is deterministic."""
    n = len(totals)
    k = max(1, int(round(group * n)))
    order = np.argsort(totals, kind="stable")
    return float(fractions[order[-k:]].mean() - fractions[order[:k]].mean())


def collect(gb, paths: CoursePaths, assignment: str):
    """(students, problems, points[student][problem], max_points[problem], misconceptions[problem])."""
    submissions = sorted(gb.find_assignment(assignment).submissions, key=lambda s: s.student.id)
    students, table, max_points, misconceptions = [], {}, {}, {}
    for submission in submissions:
        student = submission.student.id
        students.append(student)
        table[student] = {}
        for notebook in submission.notebooks:
            path = paths.autograded(student, assignment) / f"{notebook.name}.ipynb"
            results = {}
            if path.exists():
                import nbformat
                try:
                    results = notebook_results(nbformat.read(path, as_version=4))
                except Exception:
                    results = {}
            for grade in notebook.grades:
                problem = problem_of(grade.name, Role.TEST)
                if problem is None:
                    continue
                table[student][problem] = float(grade.score or 0)
                max_points[problem] = float(grade.max_score)
                found = results.get(problem, {}).get("misconception")
                if found:
                    misconceptions.setdefault(problem, Counter())[found] += 1
    order = {}
    if submissions:
        for notebook in submissions[0].notebooks:
            for i, cell in enumerate(notebook.notebook.source_cells):
                problem = problem_of(cell.name, Role.TEST)
                if problem is not None:
                    order.setdefault(problem, i)
    problems = sorted(max_points, key=lambda p: (order.get(p, 0), p))
    return students, problems, table, max_points, misconceptions


def variants_in_play(config, assignment: str, students: list[str], problems: list[str]) -> dict[str, int]:
    """{problem: how many distinct variants the graded students had} (1 for a problem keyed by the
    assignment); {} when the course has no bank or the bank no longer has the assignment."""
    from grader.bank import load_bank
    from grader.personalize import values_digest
    from grader.variants import draw_for

    path = Path(config.CourseDirectory.root) / BANK_FILENAME
    try:
        bank = load_bank(path)
    except Exception:  # noqa: BLE001 (a report still has the grades without it)
        return {}
    if assignment not in bank.assignments:
        return {}
    return {problem: len({values_digest(draw_for(bank, bank.problems[problem], assignment, student))
                          for student in students})
            for problem in problems if problem in bank.problems}


def item_analysis(students, problems, table, max_points, misconceptions, variants=None):
    totals = np.array([sum(table[s].get(p, 0.0) for p in problems) for s in students])
    rows = []
    for problem in problems:
        fractions = np.array([table[s].get(problem, 0.0) / max_points[problem] for s in students])
        common = misconceptions.get(problem, Counter()).most_common()
        top = min(common, key=lambda kv: (-kv[1], kv[0])) if common else None
        rows.append({
            "problem": problem,
            "max_points": max_points[problem],
            "mean": float(np.mean(fractions * max_points[problem])),
            "full_marks_pct": float(100 * np.mean(np.isclose(fractions, 1.0))),
            "discrimination": discrimination_index(fractions, totals),
            "top_misconception": top[0] if top else "",
            "top_misconception_count": top[1] if top else 0,
            "variants": (variants or {}).get(problem, ""),
        })
    return rows


WHOLE_GRADEBOOK_CSV = "gradebook-all-assignments.csv"


# nbgrader's CSV export (nbgrader.plugins.export.CsvExportPlugin): its columns, in its order
GRADES_CSV_COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                      "raw_score", "late_submission_penalty", "score", "max_score")


def grade_export_rows(gb, assignment: str | None = None) -> list[list[str]]:
    """The rows `nbgrader export [--assignment A]` writes, value for value (CsvExportPlugin.export):
    per assignment, one per student of the roster, 0 for a student who did not submit; str() of
    every value, '' for None."""
    from nbgrader.api import MissingEntry

    rows = []
    for item in gb.assignments:
        if assignment and item.name != assignment:
            continue
        for student in gb.students:
            row = {"assignment": item.name, "duedate": item.duedate, "student_id": student.id,
                   "last_name": student.last_name, "first_name": student.first_name, "email": student.email,
                   "max_score": item.max_score}
            try:
                submission = gb.find_submission(item.name, student.id)
            except MissingEntry:
                row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0, score=0.0)
            else:
                penalty = submission.late_submission_penalty
                row.update(timestamp=submission.timestamp, raw_score=submission.score,
                           late_submission_penalty=penalty, score=max(0.0, submission.score - penalty))
            rows.append(["" if row[key] is None else str(row[key]) for key in GRADES_CSV_COLUMNS])
    return rows


def export_grades_csv(config, path: Path, assignment: str | None = None) -> int:
    """nbgrader's export of the gradebook (or of one assignment), through our CSV writer; returns its
    number of rows (one per student, or per student and assignment)."""
    with open_gradebook(config) as gb:
        rows = grade_export_rows(gb, assignment)
    write_atomic(path, _csv_bytes(GRADES_CSV_COLUMNS, rows))
    return len(rows)


def lms_score(value) -> str:
    """A score as people and gradebooks read it: at most two decimals, no trailing zeros."""
    return f"{round(float(value or 0.0), 2):g}"


def lms_grade_files(grades_csv: Path, title: str) -> dict[str, bytes]:
    """Canvas's and Moodle's gradebook CSV imports, from the assignment's nbgrader export.

    Canvas: Student, ID, SIS User ID, SIS Login ID, Section, then one column per assignment and a
    "Points Possible" row; students are matched on the SIS ids (the nbgrader student id), and a
    column name without a Canvas id makes a new assignment. Moodle ("Import grades from CSV"):
    the instructor maps "ID number" or "Email address" to the user and the assignment column to
    a grade item."""
    rows = list(csv.DictReader(grades_csv.open(newline="")))
    max_score = lms_score(rows[0]["max_score"]) if rows else ""

    def name(row):
        return ", ".join(part for part in (row["last_name"], row["first_name"]) if part) or row["student_id"]

    canvas = _csv_bytes(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", title],
                        [["Points Possible", "", "", "", "", max_score]] +
                        [[name(r), "", r["student_id"], r["student_id"], "", lms_score(r["score"])] for r in rows])
    moodle = _csv_bytes(["ID number", "Email address", "First name", "Last name", title],
                        [[r["student_id"], r["email"], r["first_name"], r["last_name"], lms_score(r["score"])]
                         for r in rows])
    return {"canvas-grades.csv": canvas, "moodle-grades.csv": moodle}


def _plots(folder: Path, assignment, students, problems, table, max_points, rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    totals = [sum(table[s].get(p, 0.0) for p in problems) for s in students]
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.hist(totals, bins=min(20, max(5, len(set(totals)))), range=(0, sum(max_points.values())), color="#3a6ea5")
    axes.set_xlabel("total score")
    axes.set_ylabel("students")
    axes.set_title(f"{assignment}: score histogram")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    write_atomic(folder / "score-histogram.png", buffer.getvalue())

    figure, axes = plt.subplots(figsize=(max(6, 0.8 * len(problems)), 4))
    means = [100 * r["mean"] / r["max_points"] for r in rows]
    axes.bar(range(len(problems)), means, color="#4a9d5b")
    axes.set_xticks(range(len(problems)), problems, rotation=45, ha="right")
    axes.set_ylabel("mean score (% of points)")
    axes.set_ylim(0, 100)
    axes.set_title(f"{assignment}: per problem")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    write_atomic(folder / "problems.png", buffer.getvalue())


def write_reports(config, assignment: str, title: str | None = None) -> dict:
    """Write every report; return {name: path} and the item analysis rows. Raises GraderError
    (writing nothing) when the gradebook has no such assignment or no submission of it."""
    from nbgrader.api import MissingEntry

    paths = CoursePaths(config)
    folder = paths.reports(assignment)
    with open_gradebook(config) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            known = [a.name for a in gb.assignments]
            raise GraderError(f"{config.CourseDirectory.db_url}: no assignment {assignment!r} in the gradebook"
                              f"{suggestion(assignment, known)}") from None
        students, problems, table, max_points, misconceptions = collect(gb, paths, assignment)
    if not students:
        raise GraderError(f"{assignment!r} has no graded submission in the gradebook; "
                          f"run `python -m grader grade {assignment}` first (no report written)")
    grade_rows = export_grades_csv(config, folder / "grades.csv", assignment)
    export_grades_csv(config, folder.parent / WHOLE_GRADEBOOK_CSV)
    for filename, data in lms_grade_files(folder / "grades.csv", title or assignment).items():
        write_atomic(folder / filename, data)
    write_atomic(folder / "problems.csv", _csv_bytes(
        ["student", *problems, "total"],
        [[s, *(f"{table[s].get(p, 0.0):g}" for p in problems), f"{sum(table[s].values()):g}"] for s in students]))
    rows = item_analysis(students, problems, table, max_points, misconceptions,
                         variants_in_play(config, assignment, students, problems))
    write_atomic(folder / "item-analysis.csv", _csv_bytes(
        ["problem", "max_points", "mean", "full_marks_pct", "discrimination", "top_misconception", "count",
         "variants"],
        [[r["problem"], f"{r['max_points']:g}", f"{r['mean']:.3f}", f"{r['full_marks_pct']:.1f}",
          f"{r['discrimination']:.3f}", r["top_misconception"], r["top_misconception_count"], r["variants"]]
         for r in rows]))
    _plots(folder, assignment, students, problems, table, max_points, rows)
    return {"folder": folder, "rows": rows, "students": len(students), "grade_rows": grade_rows}
