"""One HTML feedback page per student, from the autograded notebooks and the gradebook.

Built only from what is safe to show: the gradebook's scores, the GRADER_RESULT lines the hidden
tests printed (which never hold expected values, nor error sizes of secret problems), and the
bank's titles, hints and misconception feedback. Never from the notebook's code or outputs as a
whole, so hidden test code cannot reach a student (unlike nbgrader's own feedback HTML).
"""

from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jinja2 import Environment, FileSystemLoader, select_autoescape

from grader.course import FEEDBACK_PAGE, CoursePaths, open_gradebook
from grader.files import write_atomic
from grader.kinds.rules import band_words
from grader.protocol import Role, cell_grade_id, notebook_results, problem_of

TEMPLATES = Path(__file__).parent / "templates"


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


def test_cell_errors(nb) -> dict[str, str]:
    """{problem id: exception name} for test cells that stopped with an error (no details: they
    could come from hidden code)."""
    errors = {}
    for cell in nb.cells:
        problem = problem_of(cell_grade_id(cell), Role.TEST)
        if problem is not None:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    errors[problem] = output.get("ename", "error")
    return errors


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
        item.error = band_words(result.get("error"))
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


def student_feedback(gb, paths: CoursePaths, assignment: str, student: str, bank=None) -> list[ProblemFeedback]:
    """Per problem (in notebook order), the score from the gradebook and the test's verdict."""
    submission = gb.find_submission(assignment, student)
    problems = []
    for notebook in sorted(submission.notebooks, key=lambda n: n.name):
        path = paths.autograded(student, assignment) / f"{notebook.name}.ipynb"
        nb = nbformat.read(path, as_version=4) if path.exists() else nbformat.v4.new_notebook()
        results, errors = notebook_results(nb), test_cell_errors(nb)
        order = {cell.name: i for i, cell in enumerate(notebook.notebook.source_cells)}
        for grade in sorted(notebook.grades, key=lambda g: order.get(g.name, 0)):
            problem_id = problem_of(grade.name, Role.TEST)
            if problem_id is None:
                continue
            spec = bank.problems.get(problem_id) if bank is not None else None
            problems.append(problem_feedback(problem_id, float(grade.score or 0), float(grade.max_score),
                                             results.get(problem_id), errors.get(problem_id), spec))
    return problems


def write_feedback(config, assignment: str, bank=None, students=None) -> list[Path]:
    """Write feedback/<student>/<assignment>/feedback.html for every graded student; return the paths."""
    paths = CoursePaths(config)
    title = assignment
    if bank is not None and assignment in bank.assignments:
        title = bank.assignments[assignment].title
    written = []
    with open_gradebook(config) as gb:
        graded = sorted(s.student.id for s in gb.find_assignment(assignment).submissions)
        for student in students or graded:
            problems = student_feedback(gb, paths, assignment, student, bank)
            path = paths.feedback(student, assignment) / FEEDBACK_PAGE
            write_atomic(path, render_page(student, assignment, title, problems))
            written.append(path)
    return written
