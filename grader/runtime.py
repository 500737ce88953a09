"""What hidden tests call: `check(problem_id, answer, assignment=, digest=)`.

A test cell of a rendered notebook ends with

    from grader.runtime import check
    check("conv-output-size", q3, assignment="cnn-detection", digest="3f2a9c1b0d4e")

`check` finds the bank, recomputes the variant's values, grades the answer with the
problem's rule, prints `GRADER_RESULT {json}` and a short line for the student, and
returns the points earned as a plain float. nbgrader 0.9 reads a test cell's
execute_result as partial credit (nbgrader.utils.determine_grade): a float in
[0, points] is the grade (0.0 included), a value above the points is an error, anything
it cannot turn into a float or a negative number is FULL credit, and any stderr output
or error in the cell is 0. Hence: a plain float, clamped, and nothing on stderr.
"""

import contextlib
import functools
import os
import sys
import warnings
from pathlib import Path, PurePath

from grader.bank import load_bank
from grader.errors import GraderError
from grader.kinds import grade_answer
from grader.protocol import result_line
from grader.variants import draw, variant_key_for

BANK_ENV = "GRADER_BANK"
BANK_FILENAME = "questions.yaml"
AUTOGRADED_DIR = "autograded"   # nbgrader's CourseDirectory.autograded_directory default


class BankChangedError(GraderError):
    """The problem's spec in the bank differs from the one the notebook was rendered from."""


def find_bank(start=None, environ=None):
    """$GRADER_BANK if set, else questions.yaml in `start` (default: cwd) or its nearest parent."""
    environ = os.environ if environ is None else environ
    if environ.get(BANK_ENV):
        path = Path(environ[BANK_ENV]).expanduser()
        if not path.is_file():
            raise GraderError(f"${BANK_ENV} points to {path}, which is not a file")
        return path.resolve()
    start = Path.cwd() if start is None else Path(start)
    start = start.resolve()
    for directory in (start, *start.parents):
        candidate = directory / BANK_FILENAME
        if candidate.is_file():
            return candidate
    raise GraderError(f"no {BANK_FILENAME} in {start} or any parent directory, and ${BANK_ENV} is not set")


def load_bank_cached(path):
    """The bank at `path`, loaded once per (path, modification time, size) in this process."""
    path = Path(path).resolve()
    stat = path.stat()
    return _load_bank(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _load_bank(path, mtime_ns, size):
    # The notebook's digests already pin each problem's spec, so the slow variant
    # sweep of a full validation is skipped here.
    return load_bank(Path(path))


def student_from_path(cwd, assignment):
    """The student id in .../autograded/<student>/<assignment>/ (where nbgrader grades), else None."""
    parts = PurePath(cwd).parts
    for index in range(len(parts) - 2, 0, -1):
        if parts[index - 1] == AUTOGRADED_DIR and parts[index + 1] == assignment:
            return parts[index]
    return None


def variant_key(bank, assignment, cwd=None):
    """What the variant's values are drawn with: the assignment id, or (variant_key: student)
    the student id read from the working directory; instructor copies use the assignment."""
    student = None
    if bank.variant_key == "student":
        student = student_from_path(Path.cwd() if cwd is None else cwd, assignment)
    return variant_key_for(bank, assignment, student)


def find_problem(bank, problem_id, assignment, digest):
    """The bank's problem, after checking it belongs to the assignment and its spec is unchanged."""
    if assignment not in bank.assignments:
        raise GraderError(f"{bank.path}: no assignment {assignment!r} (problem {problem_id!r})")
    if problem_id not in bank.assignments[assignment].problems:
        raise GraderError(f"{bank.path}: assignment {assignment!r} has no problem {problem_id!r}")
    problem = bank.problems[problem_id]
    if problem.digest != digest:
        raise BankChangedError(
            f"{bank.path}: problem {problem_id!r} changed since this notebook was rendered "
            f"(digest {digest}, bank now {problem.digest}); re-render and re-release the assignment")
    return problem


def points_earned(problem, result):
    """The result as a plain Python float in [0, points]: nbgrader's partial-credit value."""
    points = float(problem.points)
    return float(min(points, max(0.0, float(result.fraction) * points)))


def summary_line(problem, earned, result):
    """The line the student reads under the test cell (never the expected value)."""
    return f"{problem.id}: {earned:g}/{float(problem.points):g} points. {result.message}".rstrip()


def grade(problem_id, answer, assignment, digest, bank_path=None, cwd=None):
    """(problem, result, points earned) for one answer; raises GraderError on a bad notebook or bank."""
    bank = load_bank_cached(bank_path if bank_path is not None else find_bank(cwd))
    problem = find_problem(bank, problem_id, assignment, digest)
    values = draw(bank, problem, assignment, variant_key(bank, assignment, cwd))
    # Anything the student's code writes to stderr (a numpy warning, a print) would make
    # nbgrader zero the cell, whatever the rule says: keep it on stdout, keep warnings quiet.
    with contextlib.redirect_stderr(sys.stdout), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = grade_answer(problem, answer, values)
    return problem, result, points_earned(problem, result)


def check(problem_id, answer, assignment, digest):
    """Grade `answer`, print GRADER_RESULT and a summary, return the points earned (a float)."""
    problem, result, earned = grade(problem_id, answer, assignment, digest)
    print(result_line(result))
    print(summary_line(problem, earned, result))
    return earned
