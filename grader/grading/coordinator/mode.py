"""Which mode graded: kernels sandboxed (sandbox.py) or not (--unsafe-no-sandbox), chosen once per
run in the grading process, and remembered per student in the course so `report` can say it.

The record lives in COURSE/.grader/grading-modes.json: a hidden folder at the course's top, which
nbgrader never takes for a student's (students live under submitted/ and autograded/).
"""

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from grader.errors import GraderError
from grader.files import write_atomic

SANDBOXED, UNSANDBOXED = "sandboxed", "UNSANDBOXED"
UNSAFE_FLAG = "--unsafe-no-sandbox"
RECORD = Path(".grader") / "grading-modes.json"


@dataclass(frozen=True)
class Mode:
    sandboxed: bool
    detail: str           # what sandboxes, or why nothing does

    @property
    def name(self) -> str:
        return SANDBOXED if self.sandboxed else UNSANDBOXED

    def describe(self) -> str:
        return f"kernels {self.name}: {self.detail}"


def choose_mode(unsafe: bool) -> Mode:
    """Sandboxed unless the TA asked for no sandbox. Where kernels cannot be sandboxed, refuse (a
    kernel could read the answer key and write the gradebook) and say what is missing and the flag."""
    if unsafe:
        return Mode(False, f"{UNSAFE_FLAG}: kernels run as the grader's user and can read the course, "
                           "the answer key and the gradebook")
    from grader.grading.kernel.sandbox import support
    status = support()
    if not status.available:
        raise GraderError(f"refusing to grade: student kernels cannot be sandboxed on this machine ({status.message}). "
                          f"Install bubblewrap and util-linux (Debian: apt-get install bubblewrap util-linux); "
                          f"as any user but root they need unprivileged user namespaces. `python -m grader "
                          f"doctor` says what is missing. Or pass {UNSAFE_FLAG} to grade with kernels that can "
                          f"read the answer key and write the gradebook.")
    return Mode(True, status.message)


def record_mode(course: Path, assignment: str, students, mode: Mode) -> None:
    """Remember, per student, the mode that graded them last."""
    path = Path(course) / RECORD
    record = read_record(course)
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for student in students:
        record.setdefault(assignment, {})[student] = {"mode": mode.name, "detail": mode.detail, "graded": when}
    write_atomic(path, json.dumps(record, indent=1, sort_keys=True) + "\n")


def read_record(course: Path) -> dict:
    path = Path(course) / RECORD
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise GraderError(f"{path}: not readable JSON ({exc}); delete it and grade again") from None


def describe_modes(course: Path, assignment: str) -> str:
    """One line for the report: how the students of `assignment` were last graded."""
    graded = read_record(course).get(assignment, {})
    if not graded:
        return f"grading mode: unknown (no record in {Path(course) / RECORD})"
    counts: dict[str, list[str]] = {}
    for student, entry in sorted(graded.items()):
        counts.setdefault(entry["mode"], []).append(student)
    if set(counts) == {SANDBOXED}:
        return f"grading mode: every kernel sandboxed ({len(counts[SANDBOXED])} students)"
    parts = [f"{mode} {len(students)} ({', '.join(students[:5])}{', ...' if len(students) > 5 else ''})"
             for mode, students in sorted(counts.items())]
    return "grading mode: " + "; ".join(parts) + f" ({UNSANDBOXED}: graded with {UNSAFE_FLAG})"
