"""Per-student notebooks from release to the student: the roster, release-students/, hub homes, a zip.

The roster is nbgrader's students table (`nbgrader db student import roster.csv`). For an
assignment keyed per student, `python -m grader release A --per-student` writes

    release-students/<student>/<assignment>/<assignment>.ipynb

for every roster student (grader.personalize) and records what each was given
(release-records/<assignment>.students.json). From there:

* JupyterHub: `python -m grader distribute A --homes '/home/{student}'` copies each notebook to
  /home/<student>/<assignment>/<assignment>.ipynb, where `nbgrader fetch_assignment` would have
  put it, so the student opens it and runs `nbgrader submit <assignment>` as usual;
* no hub: `--zip FILE` (or `--folder DIR`) writes one notebook per student, with a manifest.csv
  of student, name, e-mail and file for an LMS upload or a mail merge.

Grading never trusts the notebook: the student is the submission's folder name, and their
variant is redrawn from it (grader.variants.variant_key_for).
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader.bank import Bank
from grader.course import course_config, open_gradebook
from grader.errors import GraderError
from grader.files import write_atomic
from grader.spreadsheet_csv import csv_text

STUDENTS_DIR = "release-students"
ZIP_TIMESTAMP = (2020, 1, 1, 0, 0, 0)     # fixed: the same notebooks give the same zip bytes


# --- the roster -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RosterEntry:
    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""


def roster_entries(course: str | Path) -> list[RosterEntry]:
    """nbgrader's students table of the course's gradebook, sorted by id."""
    from grader.release import python_scripts_on_path

    with python_scripts_on_path(), open_gradebook(course_config(course)) as gb:
        return sorted((RosterEntry(s.id, s.first_name or "", s.last_name or "", s.email or "") for s in gb.students),
                      key=lambda entry: entry.id)


def roster(course: str | Path) -> list[str]:
    return [entry.id for entry in roster_entries(course)]


def roster_status(course: str | Path, assignment: str, students: list[str],
                  on_roster: set[str] | None = None) -> dict[str, str | None]:
    """{student: why a TA should look at it, or None}. A student not on the roster is still graded
    on their own id; a student who got no personal notebook of a per-student release is graded on
    their own values all the same (and may have worked on someone else's numbers)."""
    from grader.release_record import read_students_record, students_record_path

    on_roster = set(roster(course)) if on_roster is None else on_roster
    given = read_students_record(Path(course), assignment)
    status: dict[str, str | None] = {}
    for student in students:
        if student not in on_roster:
            status[student] = ("not on the roster (nbgrader's students table); graded on their own id "
                               "as the submission's folder names it")
        elif given and student not in given:
            status[student] = (f"no personal notebook was released to them (not in "
                               f"{students_record_path(Path(course), assignment).name}); graded on their own values")
        else:
            status[student] = None
    return status


def students_to_release(course: str | Path, requested: list[str] | None) -> list[str]:
    if requested:
        return sorted(set(requested))
    students = roster(course)
    if not students:
        raise GraderError(f"{course}: the roster (nbgrader's students table) is empty; import it with "
                          f"`nbgrader db student import roster.csv` or name students with --student")
    return students


# --- release-students/ ------------------------------------------------------------------------------

def personal_path(course: str | Path, student: str, assignment: str) -> Path:
    return Path(course) / STUDENTS_DIR / student / assignment / f"{assignment}.ipynb"


def check_student_id(student: str) -> None:
    if not student or student in (".", "..") or "/" in student or "\\" in student or student != student.strip():
        raise GraderError(f"student id {student!r}: not usable as a folder name")


@dataclass
class PerStudentRelease:
    written: list[Path]
    unchanged: list[Path]
    forced: list[str]              # descriptions of released variants a --force replaced


def release_per_student(course: str | Path, bank: Bank, assignment: str, students: list[str],
                        force: bool = False) -> PerStudentRelease:
    """Personalize, check, then write every student's notebook and record what they were given.
    Refused (nothing written) when a student's earlier notebook or recorded variant would change,
    unless `force`."""
    from grader.personalize import personalize_class
    from grader.release_record import read_students_record, record_students, variant_changes

    course = Path(course)
    for student in students:
        check_student_id(student)
    made = personalize_class(course, bank, assignment, students)
    changes = variant_changes(read_students_record(course, assignment), {m.student: m.digests for m in made})
    paths = {m.student: personal_path(course, m.student, assignment) for m in made}
    different = [paths[m.student] for m in made
                 if paths[m.student].is_file() and paths[m.student].read_bytes() != m.text.encode("utf-8")]
    if (changes or different) and not force:
        lines = [change.describe(assignment) for change in changes[:20]]
        lines += [f"{path.relative_to(course)}: exists and differs" for path in different[:20]]
        raise GraderError("per-student release would change what students were given; nothing was written:\n  "
                          + "\n  ".join(lines) + "\nPass --force to replace them (and regrade those students "
                          "on the new values).")
    result = PerStudentRelease([], [], [change.describe(assignment) for change in changes])
    for item in made:
        path = paths[item.student]
        if path.is_file() and path.read_bytes() == item.text.encode("utf-8"):
            result.unchanged.append(path)
        else:
            write_atomic(path, item.text)
            result.written.append(path)
    record_students(course, assignment, {m.student: m.digests for m in made})
    return result


def check_per_student_release(course: str | Path, bank: Bank, assignment: str) -> list[str]:
    """What `release --check` finds wrong under release-students/ for `assignment` (nothing is
    written): each student's notebook there is regenerated (with the per-student leak check) and
    compared byte for byte, and each recorded variant with the one the bank draws now."""
    from grader.personalize import personalize_class
    from grader.release_record import read_students_record, variant_changes

    course = Path(course)
    students = sorted(path.parent.parent.name
                      for path in (course / STUDENTS_DIR).glob(f"*/{assignment}/{assignment}.ipynb"))
    if not students:
        return []
    made = personalize_class(course, bank, assignment, students)
    found = [f"{personal_path(course, m.student, assignment).relative_to(course)}: out of date"
             for m in made if personal_path(course, m.student, assignment).read_bytes() != m.text.encode("utf-8")]
    changes = variant_changes(read_students_record(course, assignment), {m.student: m.digests for m in made})
    return found + [change.describe(assignment) for change in changes]


def released_notebooks(course: str | Path, assignment: str, students: list[str]) -> dict[str, Path]:
    """{student: their notebook under release-students/}; GraderError naming those without one."""
    paths = {student: personal_path(course, student, assignment) for student in students}
    missing = [student for student, path in paths.items() if not path.is_file()]
    if missing:
        raise GraderError(f"no personal notebook of {assignment!r} for {', '.join(missing[:10])}"
                          f"{' ...' if len(missing) > 10 else ''} under {Path(course) / STUDENTS_DIR}; run "
                          f"`python -m grader release --assignment {assignment} --per-student` first")
    return paths


# --- delivery -----------------------------------------------------------------------------------------

def home_target(pattern: str, student: str, assignment: str) -> Path:
    """Where `nbgrader fetch_assignment` run in the student's folder puts the notebook."""
    if "{student}" not in pattern:
        raise GraderError(f"--homes {pattern!r}: the pattern needs {{student}} (e.g. '/home/{{student}}')")
    return Path(pattern.format(student=student)) / assignment / f"{assignment}.ipynb"


def _give_to_owner_of(home: Path, paths: list[Path]) -> None:
    """Run as root, hand new files and folders to the owner of the student's home folder."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    owner = home.stat()
    for path in paths:
        os.chown(path, owner.st_uid, owner.st_gid)


@dataclass
class Delivery:
    delivered: list[Path]
    unchanged: list[Path]
    skipped: list[str]            # why a student got nothing


def deliver_to_homes(course: str | Path, assignment: str, students: list[str], pattern: str,
                     force: bool = False) -> Delivery:
    """Copy each student's notebook into their home folder (the pattern with {student}). A home
    that does not exist is skipped and listed; a notebook already there that differs (the student
    may have started) is refused for everyone unless `force`."""
    sources = released_notebooks(course, assignment, students)
    result = Delivery([], [], [])
    plan = []
    for student, source in sources.items():
        target = home_target(pattern, student, assignment)
        home = Path(pattern.format(student=student))
        if not home.is_dir():
            result.skipped.append(f"{student}: no folder {home}")
            continue
        plan.append((source.read_bytes(), target, home))
    started = [str(target) for data, target, _ in plan if target.is_file() and target.read_bytes() != data]
    if started and not force:
        raise GraderError(f"{len(started)} student(s) already have a different {assignment}.ipynb (their work?); "
                          f"nothing was delivered: {', '.join(started[:5])}{' ...' if len(started) > 5 else ''}. "
                          f"Pass --force to replace them.")
    for data, target, home in plan:
        if target.is_file() and target.read_bytes() == data:
            result.unchanged.append(target)
            continue
        new_folder = not target.parent.exists()
        write_atomic(target, data)
        _give_to_owner_of(home, [target.parent, target] if new_folder else [target])
        result.delivered.append(target)
    return result


def manifest_csv(course: str | Path, assignment: str, students: list[str]) -> str:
    names = {entry.id: entry for entry in roster_entries(course)}
    entries = [names.get(student, RosterEntry(student)) for student in students]
    return csv_text(["student", "first_name", "last_name", "email", "file"],
                    [[entry.id, entry.first_name, entry.last_name, entry.email, f"{entry.id}/{assignment}.ipynb"]
                     for entry in entries])


def export_zip(course: str | Path, assignment: str, students: list[str], target: Path) -> Path:
    """One zip: <student>/<assignment>.ipynb per student and manifest.csv; deterministic bytes."""
    sources = released_notebooks(course, assignment, students)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for student, source in sorted(sources.items()):
            archive.writestr(zipfile.ZipInfo(f"{student}/{assignment}.ipynb", ZIP_TIMESTAMP), source.read_bytes(),
                             compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr(zipfile.ZipInfo("manifest.csv", ZIP_TIMESTAMP), manifest_csv(course, assignment, sorted(sources)),
                         compress_type=zipfile.ZIP_DEFLATED)
    write_atomic(target, buffer.getvalue())
    return target


def export_folder(course: str | Path, assignment: str, students: list[str], target: Path) -> list[Path]:
    """<target>/<student>/<assignment>.ipynb per student and <target>/manifest.csv."""
    sources = released_notebooks(course, assignment, students)
    written = []
    for student, source in sorted(sources.items()):
        path = Path(target) / student / f"{assignment}.ipynb"
        write_atomic(path, source.read_bytes())
        written.append(path)
    write_atomic(Path(target) / "manifest.csv", manifest_csv(course, assignment, sorted(sources)))
    return written
