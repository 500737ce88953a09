"""Grade what the kernel reported, outside the kernel, and write nbgrader's grade outputs.

A hidden test cell only reports the student's answer (grader/grading/kernel/in_kernel.py). After the
notebook ran, `GradeReportedAnswers` (an nbgrader preprocessor, right after Execute) reads each
test cell's report lines, decodes them strictly, draws the student's variant (the student id is
the submission's folder, never anything the kernel says), grades with the problem's kind, and
REPLACES every output of the test cell with its own: the GRADER_RESULT line, the student's
summary line and an execute_result holding the points, which nbgrader's SaveAutoGrades reads as
partial credit. Nothing the student's code printed, displayed or raised in a test cell survives,
so it can neither change a grade nor another problem's feedback.

Exactly one report of the cell's own problem is graded. None (the answer was not defined, a
visible check failed, the cell timed out, the output was suppressed) or more than one is 0 with
a reason, kept as one error output of ours.

An assignment with checks or dates (grader.bank.policy): the points earned are multiplied by the
problem's share (grader.attempts.rules.problem_share: the credit of the try the answer was first
checked right at, the late timeline moved by the student's extension), and the reason is the last
line of the result's message (`with_share`; `share_reason` reads it back for the feedback page), so
the gradebook, the student's summary line, the feedback page and report all carry the same points.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbconvert.preprocessors import Preprocessor
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from traitlets import Bool

from grader.attempts.rules import ProblemTries, Share, problem_share
from grader.bank import Bank, load_bank
from grader.errors import GraderError
from grader.grading.kernel import in_kernel
from grader.kinds import grade_own_answer, kind_of
from grader.protocol import REPORT_FUNCTION, Calls, Result, Role, Unsupported, problem_of, reported_spec, result_line
from grader.variants import ClassVariants, draw_for, is_per_student

MAX_REPORT_CHARS = 4_000_000        # of one test cell's stdout; more is not an answer
NO_REPORT = "NoAnswerReported"      # error names of the outputs written here
REPORTED_TWICE = "AnswerReportedTwice"
BAD_REPORT = "UnreadableAnswer"


@functools.lru_cache(maxsize=4)
def _kernel_source() -> str:
    return Path(in_kernel.__file__).read_text(encoding="utf-8")


def prelude(cases: dict[str, list]) -> str:
    """Code run silently in a fresh kernel before the notebook: defines `_grader_report` (and
    nothing else in the student's namespace), with the function problems' cases loaded."""
    cases_json = json.dumps({problem: in_kernel.encode(args) for problem, args in cases.items()},
                            allow_nan=False)
    return (f"def _grader_setup(source, cases):\n"
            f"    namespace = {{'__name__': 'grader_in_kernel'}}\n"
            f"    exec(compile(source, 'grader_in_kernel.py', 'exec'), namespace)\n"
            f"    return namespace['install'](cases)\n"
            f"{REPORT_FUNCTION} = _grader_setup({_kernel_source()!r}, {cases_json!r})\n"
            f"del _grader_setup\n")


def run_prelude(execute, code: str) -> None:
    """Run `code` silently in `execute`'s kernel (an nbgrader Execute between cells): no output,
    no execution count, no history."""
    if code:
        execute.wait_for_reply(execute.kc.execute(code, silent=True, store_history=False))


def course_bank(path: Path) -> Bank:
    """The bank at `path`, loaded once per version of the file in this process (the loader's
    cache: the one cache of banks)."""
    return load_bank(path)


@dataclass
class StudentKey:
    """The key for one student's notebook of one assignment: drawn here, in the grading process."""

    bank: Bank
    assignment: str
    student: str
    classmates: ClassVariants | None = None    # whose numbers a copied answer may be
    tries: tuple[ProblemTries, ...] = ()       # the student's counted checks (GradeTask.tries)
    submitted_at: dt.datetime | None = None    # when the notebook was handed in (GradeTask.submitted_at)
    extension: float = 0.0                     # the student's extension in seconds (GradeTask.extension)
    _values: dict[str, dict] = field(default_factory=dict)
    _locked_specs: list | None = None      # the student's locked cells, rendered once

    def problem(self, problem_id: str):
        if problem_id not in self.bank.assignments[self.assignment].problems:
            raise GraderError(f"{self.bank.path}: assignment {self.assignment!r} has no problem {problem_id!r}")
        return self.bank.problems[problem_id]

    def values(self, problem_id: str) -> dict:
        if problem_id not in self._values:
            self._values[problem_id] = draw_for(self.bank, self.problem(problem_id), self.assignment, self.student)
        return self._values[problem_id]

    def classmates_values(self, problem_id: str):
        """The values of this problem that the student's classmates were given (lazily)."""
        return self.classmates.others(problem_id, self.student) if self.classmates is not None else ()

    def share(self, problem_id: str, correct: bool) -> Share:
        """What the problem's points are multiplied by under the assignment's checks and dates, and why."""
        tries = next((one for one in self.tries if one.problem == problem_id), None)
        return problem_share(self.bank.assignments[self.assignment].rules, problem_id, tries, correct,
                             self.submitted_at, self.extension)

    @property
    def per_student(self) -> bool:
        return is_per_student(self.bank, self.assignment)

    def locked_sources(self, hidden_tests: bool) -> dict[str, str]:
        """{grade id: source} of the locked cells of this student's own notebook."""
        from grader.personalize import locked_cell_specs, locked_sources_of
        if self._locked_specs is None:
            self._locked_specs = locked_cell_specs(self.bank, self.assignment, self.student)
        return locked_sources_of(self._locked_specs, hidden_tests)

    def cases(self) -> dict[str, list]:
        """{problem id: argument lists} of the function problems, for the kernel to call."""
        found = {}
        for problem_id in self.bank.assignments[self.assignment].problems:
            cases = kind_of(self.bank.problems[problem_id]).report_cases(self.bank.problems[problem_id],
                                                                         self.values(problem_id))
            if cases is not None:
                found[problem_id] = cases
        return found


def class_of(course: Path, assignment: str, students) -> list[str]:
    """The class a copied answer may come from: `students` and everyone given a per-student
    notebook of the assignment (grader.release_record)."""
    from grader.release_record import read_students_record
    return sorted(set(students) | set(read_students_record(course, assignment)))


def check_specs(bank: Bank, assignment: str, cells: list, where: str) -> None:
    """GraderError when one of `cells` (test cells the gradebook restores) was rendered from a
    different spec of its problem than the bank holds now."""
    changed = []
    for cell in cells:
        found = reported_spec(cell.source) if cell.cell_type == "code" else None
        if found and found[0] in bank.problems and bank.problems[found[0]].digest != found[1]:
            changed.append(found[0])
    if changed:
        raise GraderError(f"{where}: problem(s) {', '.join(changed)} of '{assignment}' changed in {bank.path} "
                          f"since this notebook was rendered: render and release the assignment again "
                          f"(`python -m grader render --force`, `python -m grader release --assignment {assignment} "
                          f"--force`: a change to numbers or grading needs --force), then grade")


# --- reading the reports ------------------------------------------------------------------------

def _stdout(cell) -> str:
    text = "".join(output.get("text", "") for output in cell.get("outputs", [])
                   if output.get("output_type") == "stream" and output.get("name") == "stdout")
    return text[:MAX_REPORT_CHARS]


def read_reports(cell, problem_id: str) -> list[str]:
    """The JSON of every report line of `problem_id` in the cell's stdout (others are ignored)."""
    found = []
    for line in _stdout(cell).splitlines():
        if not line.startswith(in_kernel.ANSWER_PREFIX):
            continue
        body = line[len(in_kernel.ANSWER_PREFIX):]
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            found.append(body)       # unreadable: still a report, graded as unreadable
            continue
        if isinstance(data, dict) and data.get("problem") == problem_id:
            found.append(body)
    return found


def decode_answer(body: str) -> Any:
    """The student's answer from one report line's JSON; in_kernel.CodecError when malformed."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise in_kernel.CodecError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or set(data) != {"problem", "answer"}:
        raise in_kernel.CodecError("a report holds exactly problem and answer")
    return decode_plain(data["answer"])


def decode_plain(encoded: Any) -> Any:
    """The answer from its plain data (a report's "answer", a check's); in_kernel.CodecError when malformed."""
    try:
        return _typed(in_kernel.decode(encoded))
    except RecursionError:
        raise in_kernel.CodecError("nested too deeply") from None


def _typed(value: Any) -> Any:
    """Tagged dicts the codec leaves (a function's outcomes, an unsupported object) as protocol types."""
    if isinstance(value, dict) and set(value) == {"$calls"}:
        return Calls(tuple((True, o["value"]) if "value" in o else (False, o["raised"]) for o in value["$calls"]))
    if isinstance(value, dict) and set(value) == {"$unsupported"}:
        return Unsupported(value["$unsupported"])
    return value


# --- the test cell's new outputs -----------------------------------------------------------------

def error_output(name: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


def _first_error(cell) -> NotebookNode | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            name, value = str(output.get("ename", ""))[:100], str(output.get("evalue", ""))[:300]
            return NotebookNode(output_type="error", ename=name, evalue=value, traceback=[f"{name}: {value}"])
    return None


def graded_outputs(result: Result, summary: str, execution_count: int | None) -> list[NotebookNode]:
    return [NotebookNode(output_type="stream", name="stdout", text=f"{result_line(result)}\n{summary}\n"),
            NotebookNode(output_type="execute_result", execution_count=execution_count, metadata={},
                         data={"text/plain": repr(float(result.points))})]


SHARE_SEPARATOR = "\n"      # the share's reason is the message's last line (a reason has no newline)


def with_share(result: Result, share: Share) -> Result:
    """`result` with its points multiplied by `share` and the reason as the message's last line; as
    it is when the share takes nothing (1) or there are no points to take."""
    if share.share >= 1 or result.points <= 0:
        return result
    reason = share.reason[:1].upper() + share.reason[1:] + "."
    return dataclasses.replace(result, points=round(result.points * share.share, 6),
                               message=f"{result.message}{SHARE_SEPARATOR}{reason}")


def share_reason(result: dict) -> tuple[str, str]:
    """(the kind's message, the share's reason or "") of a GRADER_RESULT's JSON, as with_share wrote
    it: a reason is there only when the points are below what the fraction earns."""
    message = str(result.get("message") or "")
    try:
        earned = round(float(result.get("fraction") or 0) * float(result.get("max_points") or 0), 6)
        reduced = float(result.get("points") or 0) < earned - 1e-9
    except (TypeError, ValueError):
        reduced = False
    if not reduced or SHARE_SEPARATOR not in message:
        return message, ""
    kind_message, _, reason = message.rpartition(SHARE_SEPARATOR)
    return kind_message, reason


def summary_line(problem, result: Result) -> str:
    """The line the student reads under the test cell (never the expected value)."""
    return f"{problem.id}: {result.points:g}/{float(problem.points):g} points. {result.message}".rstrip()


def grade_test_cell(cell, key: StudentKey) -> list[NotebookNode]:
    """The test cell's outputs after grading what its kernel run reported."""
    problem_id = problem_of(str(cell.metadata.get("nbgrader", {}).get("grade_id", "")), Role.TEST)
    assert problem_id is not None
    problem = key.problem(problem_id)
    spec = reported_spec(cell.source)
    if spec is not None and spec[1] != problem.digest:
        raise GraderError(f"problem {problem_id!r} changed in {key.bank.path} since this notebook was "
                          f"rendered: render and release '{key.assignment}' again")
    reports = read_reports(cell, problem_id)
    error = _first_error(cell)
    if len(reports) > 1:
        return [error_output(REPORTED_TWICE, f"{len(reports)} answers were reported for {problem_id}; "
                                             f"only the hidden check may report one")]
    if not reports:
        if error is not None:
            return [error]
        return [error_output(NO_REPORT, f"no answer reached the grader for {problem_id} "
                                        f"(was the test cell's output suppressed?)")]
    try:
        answer = decode_answer(reports[0])
    except in_kernel.CodecError as exc:
        return [error_output(BAD_REPORT, f"the answer to {problem_id} could not be read: {exc}"[:300])]
    result = grade_own_answer(problem, answer, key.values(problem_id), key.classmates_values(problem_id))
    result = with_share(result, key.share(problem_id, result.correct))
    return graded_outputs(result, summary_line(problem, result), cell.get("execution_count"))


def personalize_locked_cells(nb, key: StudentKey) -> None:
    """Put the student's own locked cells (their prompts, inputs and format checks, with the
    hidden tests) where nbgrader's OverwriteCells restored the instructor's copy: a per-student
    notebook runs on the numbers its owner was given, whatever the submitted file holds."""
    if not key.per_student:
        return
    sources = key.locked_sources(hidden_tests=True)
    for cell in nb.cells:
        grade_id = str(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", ""))
        if grade_id in sources and cell.metadata.nbgrader.get("locked"):
            cell.source = sources[grade_id]


class GradeReportedAnswers(Preprocessor):
    """nbgrader preprocessor: every test cell's outputs from the grading process's own verdict.
    `key` (a StudentKey) is set for each notebook by the pipeline."""

    enabled = Bool(True)       # nbconvert's preprocessors are off unless enabled
    key: StudentKey | None = None

    def preprocess(self, nb, resources):
        if self.key is None:
            raise GraderError("GradeReportedAnswers needs the student's key")
        for cell in nb.cells:
            if cell.cell_type == "code" and utils.is_grade(cell) and \
                    problem_of(str(cell.metadata.nbgrader.get("grade_id", "")), Role.TEST) is not None:
                cell.outputs = grade_test_cell(cell, self.key)
        return nb, resources
