"""Reports of one assignment under reports/<assignment>/:

* grades.csv: nbgrader's CSV export (`nbgrader export`'s columns and rows) for this assignment
  only, one row per student of the roster (nbgrader's students table; a rostered student who did
  not submit has score 0), written as every CSV here is (grader/spreadsheet_csv.py): nbgrader's
  own export neither quotes a comma in a name nor stops a student id like `=HYPERLINK(...)` from
  running as a spreadsheet formula;
* canvas-grades.csv, moodle-grades.csv: the same scores in the LMS gradebook import formats;
* problems.csv (score per student and problem), item-analysis.csv (with how many variants
  were in play per problem) and two PNG plots;

* fairness.csv, reliability.csv, fairness.png (grader.fairness): per per-student problem, whether the
  score depends on the numbers drawn (a permutation test) and its hardest and easiest variants;
  Cronbach's alpha of the assignment; the item analysis carries both per problem;

and reports/gradebook-all-assignments.csv, nbgrader's export of the whole gradebook.

Item analysis per problem: mean score, % full marks, the upper-lower 27 % discrimination index
(mean fraction of the top 27 % of students by total minus that of the bottom 27 %), and the most
frequent misconception (from the GRADER_RESULT lines of the autograded notebooks); for an assignment
with checks before the deadline, the checks used (in all, and per graded student), the % of those who
checked whose first check was right, and the misconceptions the checks met (check_columns).
"""

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.course import BANK_FILENAME, CoursePaths, open_gradebook
from grader.errors import GraderError, suggestion
from grader.fairness import write_fairness_reports
from grader.files import write_atomic
from grader.grading.coordinator.gradebook import lateness_text, seconds_late
from grader.protocol import Role, notebook_results, problem_of, reported_spec
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


def graded_specs(gb, assignment: str) -> dict[str, str]:
    """{problem: the spec digest its hidden test carries} in the gradebook's copy of the release, which
    every autograded notebook was graded on (`report` refuses stale grades: grading.stale)."""
    found = {}
    for notebook in gb.find_assignment(assignment).notebooks:
        for cell in notebook.source_cells:
            spec = reported_spec(cell.source or "") if problem_of(cell.name, Role.TEST) else None
            if spec:
                found[spec[0]] = spec[1]
    return found


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


# --- Canvas' gradebook: its ids come from a gradebook export the instructor downloads once --------------
# Canvas' gradebook import (GradebookImporter) reads a header Student, ID, [SIS User ID,] SIS Login ID,
# [Integration ID,] [Root Account,] Section, then one column per assignment, "<title> (<Canvas id>)",
# and skips a row whose first cell holds "Points Possible" (the assignments' points) and a row of only
# "Muted" / "Manual Posting" cells. A student is found by ID (Canvas' user id), else by SIS User ID, else
# by SIS Login ID, else by name; an assignment by the id in its header, else by its exact title, else a
# new assignment is made with that title. Its export writes the same header, a Points Possible row, and
# read-only totals after the assignments (Current Score, Final Grade, ...).

CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_TOTALS = re.compile(r"Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade|"
                           r"Override Score|Override Grade|Override Status")
CANVAS_TITLE_AND_ID = re.compile(r"\A(.*)\s\((\d+)\)\Z", re.DOTALL)
CANVAS_EXPORT_HELP = "in Canvas: Grades > Export > Export Entire Gradebook"


@dataclass
class CanvasGradebook:
    """A gradebook CSV exported from Canvas: its students' ids and sections, and its assignment columns."""

    path: Path
    students: list[dict]        # {column of CANVAS_STUDENT_COLUMNS: value}
    assignments: list[tuple]    # [(header "<title> (<id>)", title, Canvas id, points possible or "")]


def _canvas_rows(path: Path) -> list[list[str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GraderError(f"--canvas-gradebook {path}: cannot read it ({exc})") from None
    first = text.splitlines()[0] if text.strip() else ""
    # Canvas writes ";" instead of "," for users who ask for it (and then decimal commas).
    delimiter = ";" if len(next(csv.reader([first], delimiter=";"))) > len(next(csv.reader([first]))) else ","
    return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(cell.strip() for cell in row)]


def read_canvas_gradebook(path: Path) -> CanvasGradebook:
    """The students and assignment columns of a Canvas gradebook export; GraderError if it is not one."""
    rows = _canvas_rows(path)
    header = rows[0] if rows else []
    if not header or "Student" not in header[0] or "ID" not in header[1] or "SIS Login ID" not in header \
            or "Section" not in header:
        raise GraderError(f"--canvas-gradebook {path}: not a Canvas gradebook export (its first line should start "
                          f"Student, ID, SIS User ID, SIS Login ID, ..., Section; {CANVAS_EXPORT_HELP})")
    column = {name: header.index(name) for name in CANVAS_STUDENT_COLUMNS if name in header}
    points = next((row for row in rows[1:] if "Points Possible" in row[0]), [])
    assignments = []
    for index in range(column["Section"] + 1, len(header)):
        found = CANVAS_TITLE_AND_ID.match(header[index].strip())
        if found and not CANVAS_TOTALS.search(header[index]):
            possible = points[index].strip().replace(",", ".") if index < len(points) else ""
            assignments.append((header[index].strip(), found.group(1).strip(), found.group(2), possible))
    students = []
    for row in rows[1:]:
        cells = [cell.strip() for cell in row]
        if "Points Possible" in cells[0] or all(re.fullmatch(r"(?i)(Muted|Manual Posting.*)?", c) for c in cells):
            continue
        students.append({name: cells[index] if index < len(cells) else "" for name, index in column.items()})
    return CanvasGradebook(path, students, assignments)


def _canvas_assignment(gradebook: CanvasGradebook, wanted: list[str], asked: bool):
    """The assignment column whose title, id or header is one of `wanted`, None if none is, and a
    GraderError when several are or when an asked-for one (--canvas-assignment) is not there."""
    keys = {key.strip().casefold() for key in wanted if key}
    found = [a for a in gradebook.assignments if {a[0].casefold(), a[1].casefold(), a[2]} & keys]
    listed = ", ".join(a[0] for a in gradebook.assignments) or "none"
    if len(found) > 1:
        raise GraderError(f"--canvas-gradebook {gradebook.path}: several assignments match "
                          f"{' or '.join(map(repr, wanted))}: {', '.join(a[0] for a in found)}; "
                          f"name one with --canvas-assignment ID")
    if not found and asked:
        raise GraderError(f"--canvas-assignment {wanted[0]!r}: no such assignment in {gradebook.path} "
                          f"(its assignments: {listed})")
    return found[0] if found else None


def lms_grade_files(grades_csv: Path, title: str, canvas: CanvasGradebook | None = None,
                    assignment: str | None = None, canvas_assignment: str | None = None,
                    late: dict[str, float] | None = None):
    """({file name: bytes}, [notes]): Canvas's and Moodle's gradebook CSV imports, from the
    assignment's nbgrader export.

    Canvas: Student, ID, SIS User ID, SIS Login ID, Section, then "<title> (<Canvas id>)" and a "Points
    Possible" row. The Canvas ids come from `canvas`, a gradebook the instructor exported from Canvas:
    each student is its row whose SIS Login ID (case aside), else SIS User ID, is the nbgrader student
    id, and the assignment is its column titled `canvas_assignment`, else `title` or the assignment id.
    Without it, only what holds is written: the name, SIS Login ID = the nbgrader student id (what
    Canvas tries after its own ID), no ID, SIS User ID or section, and the title without an id; the
    notes say what is missing and how to get it. Moodle ("Import grades from CSV"): the instructor maps
    "ID number" or "Email address" to the user, the assignment column to a grade item and "Lateness"
    (how late, from nbgrader's due date and the student's extension; `late`: {student: seconds}) to
    that item's feedback."""
    rows = list(csv.DictReader(grades_csv.open(newline="")))
    max_score = lms_score(rows[0]["max_score"]) if rows else ""
    notes = []

    def name(row):
        return ", ".join(part for part in (row["last_name"], row["first_name"]) if part) or row["student_id"]

    if canvas is None:
        column = title
        students = {r["student_id"]: [name(r), "", "", r["student_id"], ""] for r in rows}
        notes.append(f"no Canvas ids: Canvas will look each student up by SIS Login ID = the nbgrader student id "
                     f"(then by name) and the assignment by its exact title {title!r} (making a new assignment if "
                     f"none has it); to write Canvas' student ids, sections and the assignment's id, download the "
                     f"gradebook once ({CANVAS_EXPORT_HELP}) and pass it with --canvas-gradebook FILE")
    else:
        wanted = [canvas_assignment] if canvas_assignment else [title, assignment or ""]
        found = _canvas_assignment(canvas, wanted, bool(canvas_assignment))
        if found is None:
            column = title
            notes.append(f"{canvas.path} has no assignment titled {title!r} or {assignment!r} (its assignments: "
                         f"{', '.join(a[0] for a in canvas.assignments) or 'none'}): the column has no Canvas id, "
                         f"and importing it makes a new assignment unless one is titled exactly {title!r}; to "
                         f"update an existing one, name it with --canvas-assignment TITLE_OR_ID")
        else:
            column, possible = found[0], found[3]
            if possible and max_score and float(possible) != float(max_score):
                notes.append(f"Canvas' {column!r} has {possible} points possible, these scores are out of "
                             f"{max_score}: make them agree in Canvas before importing")
        by_login, by_sis = {}, {}
        for student in canvas.students:
            by_login.setdefault(student.get("SIS Login ID", "").casefold(), []).append(student)
            by_sis.setdefault(student.get("SIS User ID", ""), []).append(student)
        students, missing = {}, []
        for r in rows:
            matches = by_login.get(r["student_id"].casefold()) or by_sis.get(r["student_id"]) or []
            if len(matches) == 1:
                students[r["student_id"]] = [matches[0].get(key, "") for key in CANVAS_STUDENT_COLUMNS]
            else:
                students[r["student_id"]] = [name(r), "", "", "", ""]
                missing.append(r["student_id"])
        if missing:
            notes.append(f"{len(missing)} of {len(rows)} students have no row in {canvas.path} whose SIS Login ID or "
                         f"SIS User ID is their nbgrader id, so their rows have no Canvas ids (Canvas will ask whom "
                         f"they are): {', '.join(missing)}")
    canvas_csv = _csv_bytes([*CANVAS_STUDENT_COLUMNS, column],
                            [["Points Possible", "", "", "", "", max_score]] +
                            [[*students[r["student_id"]], lms_score(r["score"])] for r in rows])
    late = late or {}
    moodle = _csv_bytes(["ID number", "Email address", "First name", "Last name", title, "Lateness"],
                        [[r["student_id"], r["email"], r["first_name"], r["last_name"], lms_score(r["score"]),
                          f"handed in {lateness_text(late[r['student_id']])} late" if r["student_id"] in late else ""]
                         for r in rows])
    return {"canvas-grades.csv": canvas_csv, "moodle-grades.csv": moodle}, notes


def _plots(folder: Path, assignment, students, problems, table, max_points, rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    totals = [sum(table[s].get(p, 0.0) for p in problems) for s in students]
    figure, axes = plt.subplots(figsize=(6, 4))
    full = sum(max_points.values())
    bins = min(20, max(5, len(set(totals))))
    axes.hist(totals, bins=bins, range=(0, full), color="#3a6ea5", edgecolor="white", linewidth=1)  # bars apart
    axes.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))    # whole students
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


def write_reports(config, assignment: str, title: str | None = None, canvas_gradebook: Path | None = None,
                  canvas_assignment: str | None = None) -> dict:
    """Write every report; return {name: path}, the item analysis rows and the notes on the LMS files.
    Raises GraderError (writing nothing) when the gradebook has no such assignment or no submission of
    it, or when `canvas_gradebook` is not a Canvas gradebook export."""
    from nbgrader.api import MissingEntry

    canvas = read_canvas_gradebook(canvas_gradebook) if canvas_gradebook else None
    if canvas is not None:   # an unknown or ambiguous --canvas-assignment stops here, before any file is written
        _canvas_assignment(canvas, [canvas_assignment] if canvas_assignment else [title or assignment, assignment],
                           bool(canvas_assignment))
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
        late = seconds_late(gb, assignment)
        specs = graded_specs(gb, assignment)
    if not students:
        raise GraderError(f"{assignment!r} has no graded submission in the gradebook; "
                          f"run `python -m grader grade {assignment}` first (no report written)")
    grade_rows = export_grades_csv(config, folder / "grades.csv", assignment)
    export_grades_csv(config, folder.parent / WHOLE_GRADEBOOK_CSV)
    lms_files, lms_notes = lms_grade_files(folder / "grades.csv", title or assignment, canvas, assignment,
                                           canvas_assignment, late)
    for filename, data in lms_files.items():
        write_atomic(folder / filename, data)
    write_atomic(folder / "problems.csv", _csv_bytes(
        ["student", *problems, "total"],
        [[s, *(f"{table[s].get(p, 0.0):g}" for p in problems), f"{sum(table[s].values()):g}"] for s in students]))
    write_atomic(folder / "specs.csv", _csv_bytes(["problem", "points", "spec"],
                                                  [[p, f"{max_points.get(p, 0):g}", specs.get(p, "")] for p in problems]))
    rows = item_analysis(students, problems, table, max_points, misconceptions,
                         variants_in_play(config, assignment, students, problems))
    # fairness.csv, reliability.csv, fairness.png; per problem: its variants' difficulty (grader.fairness)
    bank = course_bank(config)
    fair = write_fairness_reports(folder, bank, assignment, students, problems, table, max_points)
    for r in rows:
        r.update(fair["columns"].get(r["problem"], dict.fromkeys(FAIRNESS_ITEM_COLUMNS, "")))
    checks = assignment_checks(config, bank, assignment, problems, students)
    check_header = CHECK_ITEM_COLUMNS if checks is not None else ()
    for r in rows:
        if checks is not None:
            r.update(checks.get(r["problem"], dict.fromkeys(CHECK_ITEM_COLUMNS, "")))
    write_atomic(folder / "item-analysis.csv", _csv_bytes(
        ["problem", "max_points", "mean", "full_marks_pct", "discrimination", "top_misconception", "count",
         "variants", *FAIRNESS_ITEM_COLUMNS, *check_header],
        [[r["problem"], f"{r['max_points']:g}", f"{r['mean']:.3f}", f"{r['full_marks_pct']:.1f}",
          f"{r['discrimination']:.3f}", r["top_misconception"], r["top_misconception_count"], r["variants"],
          *(r[column] for column in FAIRNESS_ITEM_COLUMNS), *(r[column] for column in check_header)]
         for r in rows]))
    _plots(folder, assignment, students, problems, table, max_points, rows)
    return {"folder": folder, "rows": rows, "students": len(students), "grade_rows": grade_rows, "lms_notes": lms_notes,
            "fairness": fair["fairness"], "reliability": fair["reliability"], "checks": checks is not None}


# the item analysis' columns from the checks students made before the deadline (an assignment with checks only)
CHECK_ITEM_COLUMNS = ("checks_used", "checks_per_student", "first_check_right_pct", "check_misconceptions")


def check_columns(attempts, problems: list[str], students: list[str]) -> dict[str, dict]:
    """{problem: CHECK_ITEM_COLUMNS} from the assignment's checks (grader.attempts.store.Attempt), the
    counted ones only (practice checks have no try number): how many checks were used, per graded
    student on average, the % of students whose first check was right among those who checked, and
    the misconceptions the checks met ("id: count", most met first)."""
    counted = [one for one in attempts if one.try_number is not None]
    columns = {}
    for problem in problems:
        mine = [one for one in counted if one.problem == problem]
        first = {}
        for one in sorted(mine, key=lambda one: one.try_number):
            first.setdefault(one.student, one.correct)
        met = Counter(one.misconception for one in mine if one.misconception)
        columns[problem] = {
            "checks_used": len(mine),
            "checks_per_student": f"{len(mine) / len(students):.2f}" if students else "",
            "first_check_right_pct": f"{100 * sum(first.values()) / len(first):.1f}" if first else "",
            "check_misconceptions": "; ".join(f"{name}: {count}" for name, count in
                                              sorted(met.items(), key=lambda kv: (-kv[1], kv[0]))),
        }
    return columns


def assignment_checks(config, bank, assignment: str, problems: list[str], students: list[str]) -> dict[str, dict] | None:
    """check_columns of an assignment whose problems may be checked before the deadline; None for one
    without checks (its report is as it was)."""
    from grader.attempts.store import Store

    if bank is None or assignment not in bank.assignments or not bank.assignments[assignment].checkable():
        return None
    return check_columns(Store.of_course(config).attempts(assignment), problems, students)


# the item analysis' columns from grader.fairness: the permutation test's p-value, the hardest and easiest
# variants, whether the problem is flagged, and Cronbach's alpha without the problem
FAIRNESS_ITEM_COLUMNS = ("variant_p", "hardest_variants", "easiest_variants", "variants_unfair", "alpha_if_deleted")


def course_bank(config):
    """The course's bank, None when it cannot be loaded (a report still has the grades without it)."""
    from grader.bank import load_bank

    try:
        return load_bank(Path(config.CourseDirectory.root) / BANK_FILENAME)
    except Exception:  # noqa: BLE001
        return None
