"""Per-student notebooks from release to the student: the roster, release-students/, hub homes, a zip.

The roster is the students staff put in nbgrader's students table (`python -m grader roster import
roster.csv`, which runs nbgrader's `db student import`), not those `grade` added to it because
they submitted (is_on_roster says how they are told apart). For an assignment keyed per student,
`python -m grader release A --per-student` writes

    release-students/<student>/<assignment>/<assignment>.ipynb

for every roster student (grader.personalize) and records what each was given
(release-records/<assignment>.students.json). From there:

* JupyterHub: `python -m grader distribute A --homes '/home/{student}'` copies each notebook to
  /home/<student>/<assignment>/<assignment>.ipynb, where `nbgrader fetch_assignment` would have
  put it, so the student opens it and runs `nbgrader submit <assignment>` as usual;
* no hub: `--zip FILE` (or `--folder DIR`) writes one notebook per student, with a manifest.csv
  of student, name, e-mail and file for an LMS upload or a mail merge.

Checks without a hub (`--checks-url URL`, when the assignment allows checks): each student also
gets `.grader-checks.json` {"url", "token"} beside their notebook (mode 0600), the course token the
check service (`grader serve-checks --no-hub`) knows them by. A token is the student's for the
whole course, and only its SHA-256 is kept (grader.attempts.store), so it cannot be handed out
twice: a student who already holds one keeps it (--homes finds it in their home folder and writes
it again), and only --force issues new ones (the old stop working). manifest.csv never holds a
token: it is the file staff mail-merge or upload, so it names each student's token file instead.

Grading never trusts the notebook: the student is the submission's folder name, and their
variant is redrawn from it (grader.variants.variant_key_for).
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from grader.bank import Bank
from grader.course import course_config, open_gradebook
from grader.errors import GraderError
from grader.files import write_atomic
from grader.spreadsheet_csv import csv_text

STUDENTS_DIR = "release-students"
ZIP_TIMESTAMP = (2020, 1, 1, 0, 0, 0)     # fixed: the same notebooks give the same zip bytes


# --- the roster -----------------------------------------------------------------------------------

# The students `grade` added to nbgrader's students table itself, because they submitted: a hidden
# file at the course's top, beside grading-modes.json (grader/grading/coordinator/mode.py).
ADDED_BY_GRADE = Path(".grader") / "students-added-by-grade.json"
IMPORT_COMMAND = "python -m grader roster import roster.csv"


@dataclass(frozen=True)
class RosterEntry:
    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    on_roster: bool = True         # False: in nbgrader's students table only because `grade` added them
    added_by_grade_for: str = ""   # then the assignment whose submission made `grade` add them


def _added_by_grade_records(course: str | Path) -> dict[str, dict]:
    path = Path(course) / ADDED_BY_GRADE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise GraderError(f"{path}: not readable JSON ({exc}); it lists the students `grade` added to the "
                          f"gradebook because they submitted") from None
    students = record.get("students") if isinstance(record, dict) else None
    if not isinstance(students, dict) or not all(isinstance(entry, dict) for entry in students.values()):
        raise GraderError(f"{path}: not a record of students added by `grade` (no 'students' table)")
    return students


def _write_added_by_grade(course: Path, students: dict[str, dict]) -> None:
    write_atomic(Path(course) / ADDED_BY_GRADE, json.dumps({"students": students}, indent=1, sort_keys=True) + "\n")


def added_by_grade(course: str | Path) -> dict[str, str]:
    """{student: the assignment whose submission made `grade` add them to nbgrader's students table}."""
    return {student: str(entry.get("assignment", "")) for student, entry in _added_by_grade_records(course).items()}


def is_on_roster(student, added: dict[str, str]) -> bool:
    """THE roster rule, for one row of nbgrader's students table (`added`: added_by_grade()).

    The roster is the students a person put in the table: imported (`python -m grader roster
    import`, `nbgrader db student import`), added (`nbgrader db student add`, formgrader's Manage
    Students), with or without a name. nbgrader's table also gets every student `grade` grades
    (prepare_submissions; nbgrader's own autograde would too, and in this course it runs `grade`),
    and those rows hold an id only. So `grade` records which students it adds (before it adds them:
    whoever is not in the table yet), and a recorded student is off the roster, unless the row
    has since been given a name, an e-mail or an LMS id, which only a person does. Importing them
    with `python -m grader roster import` removes them from the record. Not told apart: a student
    `grade` added whom staff later add again by id only with nbgrader's own commands (they stay off
    the roster until imported with `roster import`), and students graded before `grade` kept this
    record (they count as on the roster, as every row did before)."""
    if student.id not in added:
        return True
    return bool(student.first_name or student.last_name or student.email or getattr(student, "lms_user_id", None))


def students_table(gb, course: str | Path) -> list[RosterEntry]:
    """Every row of nbgrader's students table in the open gradebook `gb`, sorted by id, each
    marked on the roster or not (is_on_roster)."""
    added = added_by_grade(course)
    entries = []
    for student in gb.students:
        on_roster = is_on_roster(student, added)
        entries.append(RosterEntry(student.id, student.first_name or "", student.last_name or "", student.email or "",
                                   on_roster, "" if on_roster else added[student.id]))
    return sorted(entries, key=lambda entry: entry.id)


def roster_of(gb, course: str | Path) -> list[RosterEntry]:
    """The roster (is_on_roster) of the open gradebook `gb`, sorted by id."""
    return [entry for entry in students_table(gb, course) if entry.on_roster]


def all_students(course: str | Path) -> list[RosterEntry]:
    """students_table() of the course's gradebook."""
    from grader.course import python_scripts_on_path

    with python_scripts_on_path(), open_gradebook(course_config(course)) as gb:
        return students_table(gb, course)


def roster_entries(course: str | Path) -> list[RosterEntry]:
    """The roster of the course's gradebook (is_on_roster), sorted by id."""
    return [entry for entry in all_students(course) if entry.on_roster]


def roster(course: str | Path) -> list[str]:
    return [entry.id for entry in roster_entries(course)]


def grading_roster(gb, course: str | Path, assignment: str, students: list[str]) -> set[str]:
    """For `grade`, before it adds `students` to nbgrader's students table (the caller holds the
    gradebook's setup lock): record those not in the table yet as added by `grade`, and return
    the roster's ids, or all of `students` when the course has no roster (then no one is listed
    as off the roster)."""
    in_table = {student.id for student in gb.students}
    new = sorted(set(students) - in_table)
    if new:
        record = _added_by_grade_records(course)
        when = datetime.now(timezone.utc).isoformat(timespec="seconds")
        for student in new:
            record[student] = {"assignment": assignment, "added": when}
        _write_added_by_grade(Path(course), record)
    return {entry.id for entry in roster_of(gb, course)} or set(students)


def forget_added_by_grade(course: str | Path, students) -> None:
    """Staff imported `students`: they are on the roster, whoever added their row first."""
    record = _added_by_grade_records(course)
    if any(student in record for student in students):
        _write_added_by_grade(Path(course), {s: entry for s, entry in record.items() if s not in set(students)})


# --- importing the roster ---------------------------------------------------------------------------

STUDENT_COLUMNS = ("id", "first_name", "last_name", "email", "lms_user_id")   # nbgrader's students table


@dataclass
class RosterImport:
    students: list[str]
    ignored_columns: list[str]


def read_roster_csv(path: str | Path) -> tuple[list[dict[str, str]], list[str]]:
    """The rows of a roster CSV ({column: value}, nbgrader's columns only) and the columns left
    out; GraderError naming the file and line of the first problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")       # a spreadsheet's byte-order mark is no column name
    except FileNotFoundError:
        raise GraderError(f"{path}: no such file (the roster: a CSV with an id column; first_name, last_name, "
                          f"email optional)") from None
    except UnicodeDecodeError as exc:
        raise GraderError(f"{path}: not UTF-8 text ({exc}); save it as CSV UTF-8") from None
    except OSError as exc:
        raise GraderError(f"{path}: cannot read it ({exc.strerror})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [column.strip() for column in next(reader, [])]
        if "id" not in header:
            raise GraderError(f"{path} line 1: no 'id' column (found: {', '.join(map(repr, header)) or 'nothing'}); "
                              f"the roster needs id, and may have {', '.join(STUDENT_COLUMNS[1:])}")
        repeated = sorted({column for column in header if header.count(column) > 1 and column})
        if repeated:
            raise GraderError(f"{path} line 1: column {repeated[0]!r} appears twice")
        rows: list[dict[str, str]] = []
        lines: dict[str, int] = {}
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                raise GraderError(f"{path} line {line}: {len(row)} fields, the header has {len(header)}")
            values = dict(zip(header, row))
            student = values.get("id", "")
            if not student:
                raise GraderError(f"{path} line {line}: no student id")
            try:
                check_student_id(student)
            except GraderError as exc:
                raise GraderError(f"{path} line {line}: {exc}") from None
            if student in lines:
                raise GraderError(f"{path} line {line}: student {student!r} again (first on line {lines[student]})")
            lines[student] = line
            rows.append({column: values.get(column, "") for column in STUDENT_COLUMNS if column in header})
    except csv.Error as exc:
        raise GraderError(f"{path} line {reader.line_num}: not CSV ({exc})") from None
    if not rows:
        raise GraderError(f"{path}: no students (only a header)")
    return rows, [column for column in header if column not in STUDENT_COLUMNS]


def import_roster(course: str | Path, path: str | Path) -> RosterImport:
    """nbgrader's `db student import` of the CSV at `path` into the course's gradebook, run with this
    environment's scripts on PATH (nbgrader runs `alembic` by name when it makes the gradebook).
    The file is checked first (read_roster_csv: nothing is imported when a row is wrong); nbgrader
    is given its rows with nbgrader's columns only. The imported students are on the roster from
    then on, even those `grade` added before (forget_added_by_grade)."""
    import subprocess
    import sys
    import tempfile

    from grader.course import setup_lock, with_venv_on_path

    course = Path(course)
    rows, ignored = read_roster_csv(path)
    course_config(course)                      # GraderError when the course has no nbgrader_config.py
    columns = [column for column in STUDENT_COLUMNS if column in rows[0]]
    with tempfile.TemporaryDirectory(prefix="grader-roster-") as scratch:
        clean = Path(scratch) / "roster.csv"
        with clean.open("w", encoding="utf-8", newline="") as stream:     # the values as given (not csv_text's)
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows([row[column] for column in columns] for row in rows)
        done = subprocess.run([sys.executable, "-m", "nbgrader", "db", "student", "import", str(clean)],
                              cwd=course, env=with_venv_on_path(), capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise GraderError(f"`nbgrader db student import {path}` failed in {course} (exit {done.returncode}): "
                          + " / ".join(last))
    students = [row["id"] for row in rows]
    with setup_lock(course_config(course).CourseDirectory.db_url):    # grade writes the record under it
        forget_added_by_grade(course, students)
    return RosterImport(students, ignored)


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
            status[student] = ("not on the roster (no one imported or added them); graded on their own id "
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
        raise GraderError(f"{course}: the roster is empty (no student imported or added by staff; see "
                          f"`python -m grader roster`); import it with `{IMPORT_COMMAND}` or name "
                          f"students with --student")
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
    # A notebook that differs while the student's numbers do not is a wording fix: rewritten freely.
    renumbered = {change.student for change in changes}
    different = [paths[m.student] for m in made if m.student in renumbered
                 and paths[m.student].is_file() and paths[m.student].read_bytes() != m.text.encode("utf-8")]
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

# --- no-hub check tokens ------------------------------------------------------------------------------

CHECKS_FILE = ".grader-checks.json"     # beside the notebook: the notebook reads it when GRADER_CHECKS_* are unset
MAX_CHECKS_FILE = 4096                  # bytes of a token file read back from a student's home


def checks_service_url(url: str) -> str:
    """The service's base URL as the notebook joins 'api/check' to it (ending in '/')."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise GraderError(f"--checks-url {url!r}: not the check service's base URL (e.g. "
                          f"'https://checks.example.edu/' or 'http://10.0.0.5:8765/'; no query)")
    return url if url.endswith("/") else url + "/"


def checks_request(bank: Bank, assignment: str, url: str) -> str:
    """The base URL of a --checks-url that can be honoured; GraderError (before anything is written
    or issued) when it is no base URL or the assignment has no problem with checks."""
    url = checks_service_url(url)
    if not bank.assignments[assignment].checkable():
        raise GraderError(f"--checks-url: {assignment!r} has no problem with checks (attempts.checks in "
                          f"{bank.path.name if bank.path else 'the bank'}): nothing to check; nothing written, "
                          f"no token issued")
    return url


def checks_file_text(url: str, token: str) -> str:
    return json.dumps({"url": url, "token": token}, indent=1) + "\n"


@dataclass
class CheckTokens:
    url: str
    tokens: dict[str, str]          # student -> the token their file holds
    issued: list[str]               # students given a new token now
    not_given: list[str]            # why a student got no file (holds a token not found again; no --force)


def check_tokens(course: str | Path, bank: Bank, assignment: str, students: list[str], url: str,
                 force: bool = False, found: dict[str, str] | None = None, whole: bool = False) -> CheckTokens:
    """The token each of `students` gets: `found[student]` (their token read back, e.g. from their
    home) when it is still theirs, else a new one for a student who holds none; a student who holds
    one that was not found gets none (listed in not_given), unless `force`, which issues new tokens
    to all of them (the old stop working). GraderError, nothing issued, when the assignment has no
    checks, the URL is no base URL, or (`whole`: a zip or folder, made whole or not at all) a
    student would get none."""
    from grader.attempts.store import Store

    url = checks_request(bank, assignment, url)
    store = Store.of_course(course_config(course))
    holding = store.students_with_tokens()
    kept = {student: token for student, token in (found or {}).items()
            if not force and student in students and store.student_of_token(token) == student}
    to_issue = [student for student in students if student not in kept and (force or student not in holding)]
    not_given = [student for student in students if student not in kept and student not in to_issue]
    if whole and not_given:
        names = ", ".join(not_given[:10]) + (" ..." if len(not_given) > 10 else "")
        raise GraderError(f"{len(not_given)} student(s) already hold a check token from an earlier distribution "
                          f"({names}); only its digest is kept, so it cannot be written again. Their earlier "
                          f"{CHECKS_FILE} still works (for every assignment: it goes beside the new notebook), or "
                          f"pass --force to issue everyone new tokens (the old stop working). Nothing was written.")
    tokens = dict(kept)
    tokens.update({student: store.issue_token(student) for student in to_issue})
    return CheckTokens(url, tokens, to_issue, not_given)


def _token_in_home(home: Path) -> str | None:
    """A token file the student has from an earlier distribution (any assignment's folder)."""
    for path in sorted(home.glob(f"*/{CHECKS_FILE}")):
        try:
            if path.is_symlink() or path.stat().st_size > MAX_CHECKS_FILE:
                continue
            token = json.loads(path.read_text(encoding="utf-8")).get("token")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(token, str) and token:
            return token
    return None


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
    skipped: list[str]            # why a student got nothing (or no token file)
    check_files: list[Path] = field(default_factory=list)   # CHECKS_FILE written (--checks-url)
    tokens_issued: int = 0


def deliver_to_homes(course: str | Path, assignment: str, students: list[str], pattern: str,
                     force: bool = False, checks_url: str | None = None, bank: Bank | None = None) -> Delivery:
    """Copy each student's notebook into their home folder (the pattern with {student}). A home
    that does not exist is skipped and listed; a notebook already there that differs (the student
    has started, or it has an earlier wording) is kept and listed, unless `force` replaces it; the
    other students get theirs all the same. With `checks_url` (and the bank), each student with a
    home also gets CHECKS_FILE beside the notebook (check_tokens: their token found in their home
    is written again; `force` issues new ones)."""
    sources = released_notebooks(course, assignment, students)
    if checks_url is not None:
        if bank is None:
            raise GraderError("deliver_to_homes: checks_url needs the bank (which problems have checks)")
        checks_request(bank, assignment, checks_url)
    result = Delivery([], [], [])
    plan = []
    for student, source in sources.items():
        target = home_target(pattern, student, assignment)
        home = Path(pattern.format(student=student))
        if not home.is_dir():
            result.skipped.append(f"{student}: no folder {home}")
            continue
        plan.append((source.read_bytes(), target, home))
    for data, target, home in plan:
        if target.is_file() and target.read_bytes() == data:
            result.unchanged.append(target)
            continue
        if target.is_file() and not force:
            result.skipped.append(f"{home.name}: kept their {target} (it differs: their work, or an earlier "
                                  f"wording of the same numbers); --force replaces it")
            continue
        new_folder = not target.parent.exists()
        write_atomic(target, data)
        _give_to_owner_of(home, [target.parent, target] if new_folder else [target])
        result.delivered.append(target)
    if checks_url is not None and bank is not None:
        homes = {Path(pattern.format(student=student)): student for student in sources}
        with_home = [student for home, student in homes.items() if home.is_dir()]
        found = {student: token for home, student in homes.items() if home.is_dir()
                 for token in [_token_in_home(home)] if token}
        tokens = check_tokens(course, bank, assignment, with_home, checks_url, force, found)
        for student in tokens.not_given:
            result.skipped.append(f"{student}: holds a check token but no {CHECKS_FILE} of it was found in their "
                                  f"home; --force issues them a new one")
        for student, token in tokens.tokens.items():
            home = Path(pattern.format(student=student))
            target = home_target(pattern, student, assignment).parent / CHECKS_FILE
            new_folder = not target.parent.exists()
            write_atomic(target, checks_file_text(tokens.url, token), mode=0o600)
            _give_to_owner_of(home, [target.parent, target] if new_folder else [target])
            result.check_files.append(target)
        result.tokens_issued = len(tokens.issued)
    return result


def manifest_csv(course: str | Path, assignment: str, students: list[str], with_checks: bool = False) -> str:
    """The mail-merge / LMS list: never a token (with checks, the name of each student's token file)."""
    names = {entry.id: entry for entry in roster_entries(course)}
    entries = [names.get(student, RosterEntry(student)) for student in students]
    header = ["student", "first_name", "last_name", "email", "file"] + (["checks_file"] if with_checks else [])
    return csv_text(header, [[entry.id, entry.first_name, entry.last_name, entry.email, f"{entry.id}/{assignment}.ipynb"]
                             + ([f"{entry.id}/{CHECKS_FILE}"] if with_checks else []) for entry in entries])


def export_zip(course: str | Path, assignment: str, students: list[str], target: Path,
               checks: CheckTokens | None = None) -> Path:
    """One zip: <student>/<assignment>.ipynb per student and manifest.csv; deterministic bytes.
    With `checks`, <student>/.grader-checks.json too (mode 0600 when unzipped)."""
    sources = released_notebooks(course, assignment, students)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for student, source in sorted(sources.items()):
            archive.writestr(zipfile.ZipInfo(f"{student}/{assignment}.ipynb", ZIP_TIMESTAMP), source.read_bytes(),
                             compress_type=zipfile.ZIP_DEFLATED)
            if checks is not None:
                info = zipfile.ZipInfo(f"{student}/{CHECKS_FILE}", ZIP_TIMESTAMP)
                info.external_attr = 0o100600 << 16
                archive.writestr(info, checks_file_text(checks.url, checks.tokens[student]),
                                 compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr(zipfile.ZipInfo("manifest.csv", ZIP_TIMESTAMP),
                         manifest_csv(course, assignment, sorted(sources), with_checks=checks is not None),
                         compress_type=zipfile.ZIP_DEFLATED)
    write_atomic(target, buffer.getvalue(), mode=0o600 if checks is not None else 0o644)
    return target


def export_folder(course: str | Path, assignment: str, students: list[str], target: Path,
                  checks: CheckTokens | None = None) -> list[Path]:
    """<target>/<student>/<assignment>.ipynb per student and <target>/manifest.csv (with `checks`,
    <target>/<student>/.grader-checks.json, mode 0600)."""
    sources = released_notebooks(course, assignment, students)
    written = []
    for student, source in sorted(sources.items()):
        path = Path(target) / student / f"{assignment}.ipynb"
        write_atomic(path, source.read_bytes())
        written.append(path)
        if checks is not None:
            write_atomic(path.parent / CHECKS_FILE, checks_file_text(checks.url, checks.tokens[student]), mode=0o600)
    write_atomic(Path(target) / "manifest.csv",
                 manifest_csv(course, assignment, sorted(sources), with_checks=checks is not None))
    return written
