"""One HTML feedback page per student, from the autograded notebooks and the gradebook.

Built only from what is safe to show: the gradebook's scores, the GRADER_RESULT lines the hidden
tests printed (which never hold expected values, nor error sizes of secret problems), and the
bank's titles, hints and misconception feedback. Never from the notebook's code or outputs as a
whole, so hidden test code cannot reach a student (unlike nbgrader's own feedback HTML).
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jinja2 import Environment, FileSystemLoader, select_autoescape

from grader.errors import GraderError, suggestion
from grader.files import write_atomic

RESULT_PREFIX = "GRADER_RESULT "
TEMPLATES = Path(__file__).parent / "templates"
PAGE = "feedback.html"


@dataclass
class ProblemFeedback:
    problem: str
    title: str
    score: float
    max_score: float
    status: str                  # right | partial | wrong
    message: str = ""
    rule: str = ""
    error: str = ""
    misconception: str = ""
    misconception_feedback: str = ""
    hints: list = field(default_factory=list)
    parts: list = field(default_factory=list)


def grader_results(nb) -> dict[str, dict]:
    """{problem id: the GRADER_RESULT json} printed by the notebook's test cells."""
    found = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                for line in output.get("text", "").splitlines():
                    if line.startswith(RESULT_PREFIX):
                        try:
                            data = json.loads(line[len(RESULT_PREFIX):])
                        except json.JSONDecodeError:
                            continue
                        if isinstance(data, dict) and "problem" in data:
                            found[data["problem"]] = data
    return found


def test_cell_errors(nb) -> dict[str, str]:
    """{problem id: exception name} for test cells that stopped with an error (no details: they
    could come from hidden code)."""
    errors = {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id.endswith("-test"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    errors[grade_id[: -len("-test")]] = output.get("ename", "error")
    return errors


def _format_error(error: dict | None) -> str:
    """The error band of a result (grader.compare.error_band) as words."""
    if not error:
        return ""
    if error.get("relative_at_most") is not None:
        return f"within {100 * error['relative_at_most']:g} % of the expected value, but outside the tolerance"
    if error.get("relative_above") is not None:
        return f"more than {100 * error['relative_above']:g} % away from the expected value"
    if error.get("absolute_at_most") is not None:
        return f"off by at most {error['absolute_at_most']:g}"
    return ""


def _format_part(part: dict) -> str:
    label = " / ".join(str(part[k]) for k in ("row", "column", "label", "case") if part.get(k) not in (None, ""))
    verdict = "right" if part.get("correct") else "not right"
    message = part.get("message") if part.get("message") not in (None, "", "correct") else ""
    return " ".join(x for x in (f"{label}:" if label else "", verdict + ".", message) if x)


def problem_feedback(problem_id, score, max_score, result, error_name, spec) -> ProblemFeedback:
    secret = bool(getattr(spec, "secret", False))
    status = "right" if score >= max_score > 0 else ("partial" if score > 0 else "wrong")
    item = ProblemFeedback(problem_id, getattr(spec, "title", problem_id), score, max_score, status,
                           hints=list(getattr(spec, "hints", []) or []))
    if result is None:
        item.message = (f"The checks stopped with {error_name} before grading your answer; "
                        f"check that the answer cell runs and defines the right variable."
                        if error_name else "No result was recorded for this problem.")
        return item
    item.message = result.get("message") or ""
    item.rule = result.get("rule") or ""
    if not secret and status != "right":
        item.error = _format_error(result.get("error"))
    misconception = result.get("misconception")
    if misconception:
        item.misconception = misconception
        for known in getattr(spec, "misconceptions", []) or []:
            if known.id == misconception:
                item.misconception_feedback = known.feedback
    item.parts = [_format_part(p) for p in result.get("parts") or [] if isinstance(p, dict)]
    return item


def _environment():
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]),
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render_page(student, assignment, title, problems) -> str:
    score = sum(p.score for p in problems)
    max_score = sum(p.max_score for p in problems)
    return _environment().get_template("feedback.html.j2").render(
        student=student, assignment=assignment, title=title, problems=problems,
        score=score, max_score=max_score)


def student_feedback(gb, course: Path, assignment: str, student: str, bank=None) -> list[ProblemFeedback]:
    """Per problem (in notebook order), the score from the gradebook and the test's verdict."""
    submission = gb.find_submission(assignment, student)
    problems = []
    for notebook in sorted(submission.notebooks, key=lambda n: n.name):
        path = Path(course) / "autograded" / student / assignment / f"{notebook.name}.ipynb"
        nb = nbformat.read(path, as_version=4) if path.exists() else nbformat.v4.new_notebook()
        results, errors = grader_results(nb), test_cell_errors(nb)
        order = {cell.name: i for i, cell in enumerate(notebook.notebook.source_cells)}
        for grade in sorted(notebook.grades, key=lambda g: order.get(g.name, 0)):
            if not grade.name.endswith("-test"):
                continue
            problem_id = grade.name[: -len("-test")]
            spec = bank.problems.get(problem_id) if bank is not None else None
            problems.append(problem_feedback(problem_id, float(grade.score or 0), float(grade.max_score),
                                             results.get(problem_id), errors.get(problem_id), spec))
    return problems


def write_feedback(config, course: Path, assignment: str, bank=None, students=None) -> list[Path]:
    """Write feedback/<student>/<assignment>/feedback.html for every graded student; return the paths."""
    from nbgrader.api import Gradebook, MissingEntry

    title = assignment
    if bank is not None and assignment in bank.assignments:
        title = bank.assignments[assignment].title
    written = []
    with Gradebook(config.CourseDirectory.db_url, config.CourseDirectory.get("course_id", "default_course")) as gb:
        try:
            graded = sorted(s.student.id for s in gb.find_assignment(assignment).submissions)
        except MissingEntry:
            known = [a.name for a in gb.assignments]
            raise GraderError(f"{config.CourseDirectory.db_url}: no assignment {assignment!r} in the gradebook"
                              f"{suggestion(assignment, known)}") from None
        unknown = [student for student in students or [] if student not in graded]
        if unknown:
            raise GraderError(f"no graded submission of {assignment!r} by {unknown[0]!r}"
                              f"{suggestion(unknown[0], graded)}")
        if not graded:
            raise GraderError(f"{assignment!r} has no graded submission; run `python -m grader grade {assignment}` first")
        for student in students or graded:
            problems = student_feedback(gb, course, assignment, student, bank)
            path = Path(course) / "feedback" / student / assignment / PAGE
            write_atomic(path, render_page(student, assignment, title, problems))
            written.append(path)
    return written
