"""What passes between the kernel, the grader and feedback/report: results, reason codes, grade ids.

Grading writes one line per problem into its test cell, `GRADER_RESULT {json}` (`result_line`,
grader/grading/notebook/answers.py, outside the student's kernel); feedback, report and the grader's list
of broken submissions read it back with `notebook_results`.
The line never holds an expected value, nor the error size of a secret problem.

Why an answer earned what it did is a reason code (`Code`), not English: the message is for
the student, the code is for programs. Grade ids are `<problem>-<role>`; `grade_id` writes
them and `split_grade_id` reads them, nothing else touches the suffix.

This module imports nothing from grader: every layer may use it.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

RESULT_PREFIX = "GRADER_RESULT "
REPORT_FUNCTION = "_grader_report"   # what a hidden test calls in the kernel (grader/grading/kernel/in_kernel.py)


class Code:
    """Reason codes of a result or of one part (a table cell, a function case)."""

    CORRECT = "correct"
    MISCONCEPTION = "misconception"
    CARRIED_FORWARD = "carried-forward"   # right for the student's own earlier answers
    PARTIAL = "partial"                   # some parts right
    WRONG_VALUE = "wrong-value"           # a usable answer, not the expected value
    WRONG_TYPE = "wrong-type"             # None, a string, a number where a list was due, ...
    WRONG_SHAPE = "wrong-shape"           # wrong shape, length, number of rows or a missing entry
    NOT_FINITE = "not-finite"             # NaN or infinity
    NOT_AN_OPTION = "not-an-option"
    WRONG_COUNT = "wrong-count"           # several options where one was due
    RAISED = "raised"                     # the student's function raised
    NO_VALUE = "no-value"                 # the variant has no finite answer: the bank's fault
    ANOTHER_VARIANT = "another-variant"   # wrong for the student's numbers, right for a classmate's


# The error name grading gives a cell whose kernel died while running it (os._exit, out of memory).
KERNEL_DIED = "KernelDied"
# ... and a cell that did not run because the notebook's wall-time budget was spent.
OUT_OF_TIME = "NotebookOutOfTime"

# Answers the checks could not use at all: worth a TA's look when they score nothing.
UNUSABLE = frozenset({Code.WRONG_TYPE, Code.WRONG_SHAPE, Code.NOT_FINITE})


@dataclass(frozen=True)
class Calls:
    """A function answer as the kernel reported it: per case, (True, output) or (False, "TypeError: ...")."""

    outcomes: tuple[tuple[bool, Any], ...]


@dataclass(frozen=True)
class Unsupported:
    """An answer the kernel could not report as plain data (an object of type `name`)."""

    name: str


# One graded piece of a table answer (row, column) or a function answer (case, input), with
# correct (bool), code, message, error (a band or None), misconception, carried_forward (bool).
Part = dict[str, Any]


@dataclass
class Result:
    """The verdict on one answer; `line()` is what the hidden test prints."""

    problem_id: str
    fraction: float
    points: float
    max_points: float
    correct: bool
    misconception: str | None
    message: str
    rule: str
    code: str = Code.WRONG_VALUE
    error: dict[str, float] | None = None
    parts: list[Part] = field(default_factory=list)
    secret: bool = False

    def to_json(self) -> str:
        """One line of JSON for the hidden test's output. Never holds the expected value."""
        data: dict[str, Any] = {
            "problem": self.problem_id,
            "fraction": _finite_or_none(self.fraction),
            "points": _finite_or_none(self.points),
            "max_points": _finite_or_none(self.max_points),
            "correct": self.correct,
            "misconception": self.misconception,
            "message": self.message,
            "rule": self.rule,
            "code": self.code,
        }
        if not self.secret and self.error is not None:
            data["error"] = {key: _finite_or_none(value) for key, value in self.error.items()}
        if self.parts:
            data["parts"] = [_public_part(part, self.secret) for part in self.parts]
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _finite_or_none(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    value = float(value)
    return value if math.isfinite(value) else None


def _public_part(part: Mapping[str, Any], secret: bool) -> dict[str, Any]:
    out = {key: value for key, value in part.items() if key != "error" or not secret}
    if "error" in out and out["error"] is not None:
        out["error"] = {key: _finite_or_none(value) for key, value in out["error"].items()}
    return out


def result_line(result: Result) -> str:
    return RESULT_PREFIX + result.to_json()


def parse_result_line(line: str) -> dict[str, Any] | None:
    """The JSON of a GRADER_RESULT line, or None for any other line (or a garbled one)."""
    if not line.startswith(RESULT_PREFIX):
        return None
    try:
        data = json.loads(line[len(RESULT_PREFIX):])
    except ValueError:
        return None
    return data if isinstance(data, dict) and "problem" in data else None


def read_results(texts: Iterable[str]) -> dict[str, dict[str, Any]]:
    """{problem id: result} from printed text (later lines win)."""
    found = {}
    for text in texts:
        for line in text.splitlines():
            data = parse_result_line(line)
            if data is not None:
                found[data["problem"]] = data
    return found


def notebook_results(nb: Any) -> dict[str, dict[str, Any]]:
    """{problem id: result} of an autograded notebook: the GRADER_RESULT lines grading wrote into
    each test cell (the only outputs of a test cell the grading process keeps). What other cells
    printed is the student's, and never read as a result."""
    return read_results(output.get("text", "") for cell in nb.cells
                        if problem_of(cell_grade_id(cell), Role.TEST) is not None
                        for output in cell.get("outputs", [])
                        if output.get("output_type") == "stream" and output.get("name") == "stdout")


# --- the hidden test's call -------------------------------------------------------------------

def report_call(problem_id: str, variable: str, digest: str) -> str:
    """The hidden test's one line. Grading defines the report function in the kernel; anywhere
    else (`nbgrader validate` of the instructor's copy) the line does nothing. `spec` is read back
    from the (trusted, restored) cell source, not from the kernel."""
    return (f"globals().get({json.dumps(REPORT_FUNCTION)}, lambda *answer, **spec: None)"
            f"({json.dumps(problem_id)}, {variable}, spec={json.dumps(digest)})")


def reported_spec(source: str) -> tuple[str, str] | None:
    """(problem id, spec digest) of the report call in a test cell's source, else None."""
    for line in source.splitlines():
        if REPORT_FUNCTION not in line:
            continue
        try:
            call = ast.parse(line.strip(), mode="eval").body
        except SyntaxError:
            return None
        if (isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.Constant)
                and len(call.keywords) == 1 and call.keywords[0].arg == "spec"
                and isinstance(call.keywords[0].value, ast.Constant)):
            return str(call.args[0].value), str(call.keywords[0].value.value)
    return None


# --- grade ids --------------------------------------------------------------------------------

class Role:
    """The cells of one problem in a notebook, by the suffix of their grade id."""

    PROMPT = "prompt"
    INPUTS = "inputs"
    ANSWER = "answer"
    TEST = "test"


ROLES = (Role.PROMPT, Role.INPUTS, Role.ANSWER, Role.TEST)


def grade_id(problem_id: str, role: str) -> str:
    return f"{problem_id}-{role}"


def split_grade_id(name: str) -> tuple[str, str] | None:
    """(problem id, role) of a problem cell's grade id; None for other cells ('title', 'setup')."""
    problem, dash, role = name.rpartition("-")
    return (problem, role) if dash and problem and role in ROLES else None


def problem_of(name: str, role: str) -> str | None:
    """The problem id when `name` is the grade id of that problem's `role` cell, else None."""
    parts = split_grade_id(name)
    return parts[0] if parts is not None and parts[1] == role else None


def cell_grade_id(cell: Any) -> str:
    return str(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", ""))
