"""Released problems are frozen: what each problem of an assignment was when it was released.

`python -m grader release` writes release-records/<assignment>.json (in the course, beside
questions.yaml; never under source/ or release/, which nbgrader copies to students). A later
change to a released problem is then found by `validate`, `render` and `release`:

* a wording change (title, prompt, hints, misconception feedback, contract ids, which values the
  inputs cell spells out, public checks) changes no one's numbers or grade: allowed, and the record takes the
  new wording's digest;
* anything that decides numbers or grades (parameters, constraints, answer, rule, points,
  misconception values or credit, options, cases, columns, the bank's seed or variant keying),
  or a problem added to or removed from the assignment, is refused with the assignment, the
  problem and the number of submissions it would affect, unless the instructor passes --force
  (regrade everyone on the new spec) or gives the changed problem a new id.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from grader.errors import GraderError
from grader.files import write_atomic

RECORDS_DIR = "release-records"
# Fields that only change what a student reads (and which values the inputs cell spells out),
# never a number or a grade. Public checks (`checks`) print in the test cell and never stop it
# (grader.kinds.checks): they change no grade either.
PROSE_FIELDS = ("title", "section", "prompt", "hints", "formula", "inputs", "checks")
# Fields whose effect on the numbers is recorded another way: `shared` through the problem's keying.
KEYING_FIELDS = ("shared",)
# Fields only `qa` reads: `ties` (keep the variants at a threshold, or the margin qa checks) changes no
# number and no grade; a constraint that keeps variants away from a threshold does, and is frozen.
QA_FIELDS = ("ties",)
MISCONCEPTION_PROSE_FIELDS = ("feedback",)


def grading_spec(problem) -> dict:
    """The problem's spec without its prose: everything that decides numbers and grades."""
    spec = {key: value for key, value in problem.spec.items() if key not in PROSE_FIELDS + KEYING_FIELDS + QA_FIELDS}
    if "misconceptions" in spec:
        spec["misconceptions"] = [
            {key: value for key, value in item.items() if key not in MISCONCEPTION_PROSE_FIELDS}
            for item in spec["misconceptions"]]
    return spec


def problem_keying(bank, problem, assignment_id: str) -> str:
    """'student' when the problem's values differ per student in this assignment, else 'assignment'."""
    from grader.variants import is_per_student
    return "student" if is_per_student(bank, assignment_id, problem) else "assignment"


def grading_digest(bank, problem, assignment_id: str) -> str:
    """SHA-256 (first 16 hex) of the grading spec, the bank's seed and the problem's variant keying
    in the assignment (the assignment's `variant_key` and the problem's `shared`)."""
    canonical = json.dumps({"seed": bank.seed, "variant_key": problem_keying(bank, problem, assignment_id),
                            "assignment": assignment_id,
                            "problem": grading_spec(problem)},
                           sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def record_of(bank, assignment_id: str) -> dict:
    """The record `release` writes for an assignment of `bank`."""
    problems = {}
    for problem_id in bank.assignments[assignment_id].problems:
        problem = bank.problems[problem_id]
        problems[problem_id] = {"digest": problem.digest, "grading_digest": grading_digest(bank, problem, assignment_id),
                                "points": problem.points}
    from grader.variants import assignment_variant_key
    return {"assignment": assignment_id, "seed": bank.seed, "variant_key": assignment_variant_key(bank, assignment_id),
            "problems": problems}


def record_path(course: Path, assignment_id: str) -> Path:
    return Path(course) / RECORDS_DIR / f"{assignment_id}.json"


def read_record(course: Path, assignment_id: str) -> dict | None:
    path = record_path(course, assignment_id)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise GraderError(f"{path}: cannot read the release record: {exc}") from exc
    if not isinstance(record, dict) or not isinstance(record.get("problems"), dict):
        raise GraderError(f"{path}: not a release record (no 'problems' table)")
    return record


def locked_cell_hashes(course: Path, assignment_id: str) -> dict[str, str]:
    """{grade id: SHA-256 of the text} of every locked cell of the released notebooks (the course's
    release folder, where its nbgrader configuration puts it)."""
    import nbformat

    from grader.render import course_paths

    hashes = {}
    for path in sorted(course_paths(course).release(assignment_id).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("locked"):
                hashes[meta["grade_id"]] = hashlib.sha256(cell.source.encode("utf-8")).hexdigest()[:16]
    return hashes


def write_record(course: Path, bank, assignment_id: str) -> Path:
    """Record the assignment as released now; the locked cells' earlier texts are kept (as hashes),
    so that grading can tell a notebook handed out before a forced re-release from an edited one."""
    path = record_path(course, assignment_id)
    record = record_of(bank, assignment_id)
    old = read_record(course, assignment_id) or {}
    record["locked_cells"] = locked_cell_hashes(course, assignment_id)
    earlier = {grade_id: set(hashes) for grade_id, hashes in old.get("earlier_locked_cells", {}).items()}
    for grade_id, digest in old.get("locked_cells", {}).items():
        if record["locked_cells"].get(grade_id) != digest:
            earlier.setdefault(grade_id, set()).add(digest)
    record["earlier_locked_cells"] = {grade_id: sorted(hashes) for grade_id, hashes in sorted(earlier.items())}
    text = json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        write_atomic(path, text)
    return path


@dataclass(frozen=True)
class Change:
    assignment: str
    problem: str
    what: str              # "wording" | "grading" | "added" | "removed"
    submissions: int

    @property
    def wording_only(self) -> bool:
        return self.what == "wording"

    def describe(self) -> str:
        affected = f"{self.submissions} submission{'s' if self.submissions != 1 else ''}"
        if self.wording_only:
            return f"{self.assignment}/{self.problem}: wording changed since release; numbers and grades unchanged"
        what = {"grading": "its parameters, answer, rule or points changed since release",
                "added": "added to the assignment after release",
                "removed": "removed from the assignment after release"}[self.what]
        return f"{self.assignment}/{self.problem}: {what}; {affected} would be graded on the new spec"


def earlier_locked_cells(course: Path, assignment_id: str) -> dict[str, list[str]]:
    """{grade id: hashes of texts the cell had in earlier releases} (empty without a record)."""
    record = read_record(course, assignment_id) or {}
    return record.get("earlier_locked_cells", {})


def count_submissions(course: Path, assignment_id: str, paths=None) -> int:
    """Students with a submitted folder of the assignment (where the course's nbgrader configuration puts it)."""
    from grader.render import course_paths, matching

    paths = paths or course_paths(course)
    return sum(1 for path in matching(course, paths.submitted("*", assignment_id), paths) if path.is_dir())


def changes_since_release(course: Path, bank, assignment_ids) -> list[Change]:
    """Every difference between the bank and the release records of `assignment_ids`."""
    changes, paths = [], None
    for assignment_id in assignment_ids:
        record = read_record(course, assignment_id)
        if record is None or assignment_id not in bank.assignments:
            continue
        now = record_of(bank, assignment_id)
        if paths is None:
            from grader.render import course_paths
            paths = course_paths(course)
        submissions = count_submissions(course, assignment_id, paths)
        then_problems, now_problems = record["problems"], now["problems"]
        for problem_id, entry in now_problems.items():
            before = then_problems.get(problem_id)
            if before is None:
                changes.append(Change(assignment_id, problem_id, "added", submissions))
            elif before.get("grading_digest") != entry["grading_digest"] or before.get("points") != entry["points"]:
                changes.append(Change(assignment_id, problem_id, "grading", submissions))
            elif before.get("digest") != entry["digest"]:
                changes.append(Change(assignment_id, problem_id, "wording", submissions))
        for problem_id in then_problems:
            if problem_id not in now_problems:
                changes.append(Change(assignment_id, problem_id, "removed", submissions))
    return changes


def refuse_regrades(changes: list[Change], command: str) -> None:
    """Raise a GraderError listing every change that would regrade submitted work. A change to an
    assignment no one has handed in yet regrades nothing: it is allowed (the caller says so)."""
    regrades = [change for change in changes if not change.wording_only and change.submissions]
    if regrades:
        lines = "\n  ".join(change.describe() for change in regrades)
        steps = ("`python -m grader render --force`, then `python -m grader release --force`" if command != "render"
                 else "`python -m grader render --force` (then `release --force`)")
        raise GraderError(
            f"released problems changed; nothing was written:\n  {lines}\n"
            f"Run {steps} to release on the new spec, then `python -m grader grade` to regrade those "
            f"submissions, or give each changed problem a new id (the released one stays as it was).")


# --- what each student was given (per-student assignments) ---------------------------------------

def students_record_path(course: Path, assignment_id: str) -> Path:
    return Path(course) / RECORDS_DIR / f"{assignment_id}.students.json"


def read_students_record(course: Path, assignment_id: str) -> dict[str, dict[str, str]]:
    """{student: {problem id: digest of the values they were given}} (empty before any per-student release)."""
    path = students_record_path(course, assignment_id)
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise GraderError(f"{path}: cannot read the record of what each student was given: {exc}") from exc
    if not isinstance(record, dict) or not isinstance(record.get("students"), dict):
        raise GraderError(f"{path}: not a per-student release record (no 'students' table)")
    return record["students"]


def students_record_text(assignment_id: str, students: dict[str, dict[str, str]]) -> str:
    record = {"assignment": assignment_id,
              "about": "per student, per problem: SHA-256 (16 hex) of the values the student was given "
                       "(grader.personalize.values_digest); written by `python -m grader release --per-student`",
              "students": {student: dict(sorted(digests.items())) for student, digests in sorted(students.items())}}
    return json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def record_students(course: Path, assignment_id: str, given: dict[str, dict[str, str]]) -> Path:
    """Add (or replace, after a forced re-release) the digests of the students in `given`; every
    other student's record stays as it was. Deterministic: same record, same bytes."""
    path = students_record_path(course, assignment_id)
    students = read_students_record(course, assignment_id)
    students.update(given)
    text = students_record_text(assignment_id, students)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        write_atomic(path, text)
    return path


@dataclass(frozen=True)
class VariantChange:
    student: str
    problem: str
    what: str             # "changed" | "removed"

    def describe(self, assignment_id: str) -> str:
        if self.what == "removed":
            return f"{assignment_id}: student {self.student!r}, problem {self.problem!r}: no longer in the assignment"
        return (f"{assignment_id}: student {self.student!r}, problem {self.problem!r}: the bank now draws "
                f"different values than the student was given")


def variant_changes(given: dict[str, dict[str, str]], now: dict[str, dict[str, str]]) -> list[VariantChange]:
    """Where the digests drawn now differ from those recorded (students in both tables)."""
    changes = []
    for student in sorted(set(given) & set(now)):
        for problem_id, digest in sorted(given[student].items()):
            if problem_id not in now[student]:
                changes.append(VariantChange(student, problem_id, "removed"))
            elif now[student][problem_id] != digest:
                changes.append(VariantChange(student, problem_id, "changed"))
    return changes


def values_digest(values: dict) -> str:
    """SHA-256 (first 16 hex) of drawn values, each written as the renderer writes Python literals."""
    from grader.bank.templates import python_literal

    canonical = json.dumps({name: python_literal(value) for name, value in values.items()},
                           sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:16]


def drawn_digests(bank, assignment_id: str, students) -> dict[str, dict[str, str]]:
    """{student: {problem id: digest}} of what the current bank draws for each student."""
    from grader.variants import draw_for

    problems = [bank.problems[problem_id] for problem_id in bank.assignments[assignment_id].problems]
    return {student: {problem.id: values_digest(draw_for(bank, problem, assignment_id, student))
                      for problem in problems} for student in students}


def check_student_variants(course: Path, bank, assignment_id: str, students, force: bool = False) -> list[VariantChange]:
    """Check that the current bank gives each student the values recorded at their per-student
    release. Raises GraderError naming every (student, problem) that would change, unless `force`
    (then returns them). Students without a record are not checked."""
    given = read_students_record(course, assignment_id)
    recorded = [student for student in students if student in given]
    if not recorded or assignment_id not in bank.assignments:
        return []
    changes = variant_changes(given, drawn_digests(bank, assignment_id, recorded))
    if changes and not force:
        lines = "\n  ".join(change.describe(assignment_id) for change in changes[:20])
        more = f"\n  ... and {len(changes) - 20} more" if len(changes) > 20 else ""
        raise GraderError(f"released variants would change ({students_record_path(course, assignment_id)}):\n"
                          f"  {lines}{more}\nRestore the bank; or give these students the new values with "
                          f"`python -m grader release {assignment_id} --per-student --force` (it replaces their "
                          f"personal notebooks and this record), then grade again.")
    return changes
