"""The student's feedback page, as nbgrader's own feedback file.

nbgrader_config.py sets `GenerateFeedback.exporter_class` to `FeedbackPage`, so
`nbgrader generate_feedback` writes this page as feedback/<student>/<assignment>/<notebook>.html
(nbgrader's place, which its `--force` rewrites rather than deletes) and `nbgrader release_feedback`
delivers it; `python -m grader feedback` runs the same converter through nbgrader's API.

Built only from what is safe to show: the gradebook's scores (nbgrader's GetGrades), the
GRADER_RESULT lines the hidden tests printed (which never hold expected values, nor error sizes of
secret problems), the student's own answer cells, the names of errors in test cells, and the
bank's titles, hints and misconception feedback. Never a test cell's code or output as a whole,
so hidden test code cannot reach a student (unlike nbgrader's default feedback HTML).

The bank's own text (the statement, hints, misconception feedback) is typeset when the page is
built: Markdown and LaTeX as HTML with MathML (grader.math_markup), so the page needs no script
and no network. Everything else (answers, messages, labels, the rule) is escaped text.
"""

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader
from nbconvert.exporters import Exporter
from traitlets import Any, default

from grader.course import CoursePaths, open_gradebook
from grader.errors import GraderError, suggestion
from grader.files import write_atomic
from grader.grading.notebook.answers import share_reason
from grader.kinds.rules import band_words
from grader.math_markup import markdown_math, markdown_math_inline
from grader.protocol import KERNEL_DIED, OUT_OF_TIME, Role, cell_grade_id, notebook_results, problem_of

TEMPLATES = Path(__file__).parent / "templates"
TIMEOUT_ERRORS = ("CellTimeoutError", "TimeoutError", OUT_OF_TIME)
ANSWER_SHOWN_LINES = 40


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
    answer: str = ""             # the student's own answer cell (theirs; not shown for secret problems)
    statement: str = ""          # the problem as the student's own prompt cell states it (their numbers)
    inputs: str = ""             # the student's own inputs cell (their arrays), when the problem has one
    share_reason: str = ""       # why the points are a share of what the answer earns (checks, lateness)
    checks: str = ""             # "2 of 3 checks used": an assignment with checks before the deadline


def _cell_errors(nb, role: str) -> dict[str, str]:
    errors = {}
    for cell in nb.cells:
        problem = problem_of(cell_grade_id(cell), role)
        if problem is not None:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    errors[problem] = output.get("ename", "error")
    return errors


def test_cell_errors(nb) -> dict[str, str]:
    """{problem id: exception name} for test cells that stopped with an error (no details: they
    could come from hidden code)."""
    return _cell_errors(nb, Role.TEST)


def role_cells(nb, role: str) -> dict[str, str]:
    """{problem id: the source of the problem's cell of this role}."""
    return {problem: cell.source for cell in nb.cells
            if (problem := problem_of(cell_grade_id(cell), role)) is not None}


def answer_cells(nb) -> dict[str, str]:
    """{problem id: the source of the student's answer cell}."""
    return role_cells(nb, Role.ANSWER)


def problem_statement(prompt: str) -> str:
    """The statement of a rendered prompt cell, with the student's numbers: without its heading
    and the hints, answer and checking paragraphs the page shows on its own."""
    from grader.render import PROMPT_TAIL_MARKS

    paragraphs = prompt.strip().split("\n\n")
    if paragraphs and paragraphs[0].startswith("#"):
        paragraphs = paragraphs[1:]
    kept = []
    for paragraph in paragraphs:
        if paragraph.startswith(PROMPT_TAIL_MARKS):
            break
        kept.append(paragraph)
    return "\n\n".join(kept).strip()


# Messages that only restate the verdict ("Right." / "Partly right." / "Not right."): never printed after it.
RESTATES_VERDICT = ("correct", "right", "partly right", "not the expected value")


def _restates_verdict(message: str) -> bool:
    return message.strip().rstrip(".").casefold() in RESTATES_VERDICT or message.startswith("Correct:")


def _format_part(part: dict, said: str = "") -> str:
    """One table cell or function case: its label, right or not, and its message unless the page
    already says it (`said`: the misconception's feedback)."""
    label = " / ".join(str(part[k]) for k in ("row", "column", "label", "case") if part.get(k) not in (None, ""))
    verdict = "right" if part.get("correct") else "not right"
    message = str(part.get("message") or "")
    if _restates_verdict(message) or (said and message.strip() == said.strip()):
        message = ""
    return " ".join(x for x in (f"{label}:" if label else "", verdict + ".", message) if x)


def score_text(value: float) -> str:
    """A score as people read it: at most two decimals ('28.33', '2', '0.5')."""
    return f"{round(float(value), 2):g}"


def no_result_message(answer_error: str | None, test_error: str | None, answered: bool) -> str:
    """Why a problem has no grader result, in words a student can act on."""
    if not answered or answer_error == "NotImplementedError":
        return "No answer was given: the answer cell still holds the placeholder."
    if KERNEL_DIED in (answer_error, test_error):
        return ("The kernel died while your notebook ran (the process exited or ran out of memory), "
                "so this problem could not be checked.")
    if answer_error in TIMEOUT_ERRORS or test_error in TIMEOUT_ERRORS:
        return "Your code ran past the time limit (an endless loop?), so this problem could not be checked."
    if answer_error:
        return f"Your answer cell stopped with {answer_error}, so the answer was never defined."
    if test_error == "NameError":
        return "Your answer cell ran but did not define the answer variable the problem asks for."
    if test_error == "AssertionError":
        return "The format check under your answer failed; run that cell in your notebook to see why."
    if test_error:
        return f"The checks stopped with {test_error} before your answer could be graded."
    return "No result was recorded for this problem; ask the course staff."


def _shown_answer(source: str) -> str:
    lines = [line for line in source.strip().splitlines() if line.strip()]
    if len(lines) > ANSWER_SHOWN_LINES:
        lines = lines[:ANSWER_SHOWN_LINES] + ["..."]
    return "\n".join(lines)


def problem_feedback(problem_id, score, max_score, result, error_name, spec, *,
                     answer: str | None = None, answer_error: str | None = None,
                     answered: bool = True) -> ProblemFeedback:
    """What the page says about one problem. `error_name`: the error of its test cell, if any."""
    secret = bool(getattr(spec, "secret", False))
    status = "right" if score >= max_score > 0 else ("partial" if score > 0 else "wrong")
    item = ProblemFeedback(problem_id, getattr(spec, "title", problem_id), score, max_score, status,
                           hints=list(getattr(spec, "hints", []) or []),
                           answer=_shown_answer(answer) if answer and answered and not secret else "")
    if result is None:
        item.message = no_result_message(answer_error, error_name, answered)
        return item
    item.rule = result.get("rule") or ""
    message, item.share_reason = share_reason(result)
    if item.share_reason:            # the points are a share of what the answer earns: its verdict is the answer's
        fraction = float(result.get("fraction") or 0)
        item.status = status = "right" if result.get("correct") else ("partial" if fraction > 0 else "wrong")
    misconception = result.get("misconception")
    parts = [p for p in result.get("parts") or [] if isinstance(p, dict)]
    if misconception:
        item.misconception = misconception
        for known in getattr(spec, "misconceptions", []) or []:
            if known.id == misconception:
                item.misconception_feedback = known.feedback
    message = message.strip()
    item.parts = [_format_part(p, item.misconception_feedback) for p in parts] if status != "right" else []
    if item.parts and message:        # each cell is listed below: the summary keeps its count ("7 of 8 cells are right")
        message = message.split("; ", 1)[0].rstrip(".") + "."
    # said once: the verdict already says right / partly right, the misconception line its feedback
    if not _restates_verdict(message) and message != item.misconception_feedback:
        item.message = message
    if not secret and status != "right" and not misconception:
        item.error = band_words(result.get("error"))
    return item


def notebook_feedback(nb, bank=None) -> list[ProblemFeedback]:
    """Per graded problem of an autograded notebook (in order), after nbgrader's GetGrades put each
    test cell's score and points in its metadata."""
    results, errors = notebook_results(nb), test_cell_errors(nb)
    answers, answer_errors = answer_cells(nb), _cell_errors(nb, Role.ANSWER)
    prompts, inputs = role_cells(nb, Role.PROMPT), role_cells(nb, Role.INPUTS)
    problems = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        problem_id = problem_of(cell_grade_id(cell), Role.TEST)
        if not meta.get("grade") or problem_id is None:
            continue
        spec = bank.problems.get(problem_id) if bank is not None else None
        source = answers.get(problem_id)
        answered = source is not None and "raise NotImplementedError()" not in source
        item = problem_feedback(problem_id, float(meta.get("score") or 0), float(meta.get("points") or 0),
                                results.get(problem_id), errors.get(problem_id), spec, answer=source,
                                answer_error=answer_errors.get(problem_id), answered=answered)
        # the student's own numbers, from the locked cells their notebook was graded with
        item.statement = problem_statement(prompts.get(problem_id, ""))
        item.inputs = inputs.get(problem_id, "").strip()
        problems.append(item)
    return problems


def _environment():
    # every value is escaped, whatever the template's name: student ids, answers and messages that echo them
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["score"] = score_text
    # the bank's Markdown and LaTeX (markdown-it without raw HTML, checked MathML): never a student's text
    env.filters["markdown"] = markdown_math
    env.filters["markdown_inline"] = markdown_math_inline
    return env


def render_page(student, assignment, title, problems, late_penalty: float = 0.0, times: dict | None = None,
                review: list | None = None) -> str:
    """`times`: when the notebook was handed in and due, and how late (submission_times); `review`: the
    formula-sheet sections that cost the student points over every graded assignment (review_list)."""
    score = sum(p.score for p in problems) - (late_penalty or 0.0)
    max_score = sum(p.max_score for p in problems)
    return _environment().get_template("feedback.html.j2").render(
        student=student, assignment=assignment, title=title, problems=problems,
        score=max(0.0, score), max_score=max_score, late_penalty=late_penalty or 0.0, times=times or {},
        review=review or [])


def _with_db_url(config, db_url: str | None):
    """`config` with `db_url` (the one nbgrader's GetGrades read) when the configuration leaves the
    gradebook to nbgrader's default; `config` itself otherwise."""
    import copy

    if db_url and not config.CourseDirectory.get("db_url"):
        config = copy.deepcopy(config)
        config.CourseDirectory.db_url = db_url
    return config


@dataclass(frozen=True)
class Submission:
    """What nbgrader's gradebook holds of a student's submission, as the page uses it."""

    handed_in: datetime | None   # naive UTC, as nbgrader keeps it; None when unknown
    due: datetime | None         # the due date with the student's extension; None without one
    seconds_late: float


def submission_of(config, assignment: str, student: str, db_url: str | None = None) -> Submission | None:
    """The student's submission from the course's gradebook (`db_url`: the one nbgrader's GetGrades read,
    when the configuration leaves it to nbgrader's default); None when unknown. Read once per page."""
    from nbgrader.api import MissingEntry

    config = _with_db_url(config, db_url)
    if not config.CourseDirectory.get("db_url"):
        return None
    try:
        with open_gradebook(config) as gb:
            found = gb.find_submission(assignment, student)
            return Submission(found.timestamp, found.duedate, found.total_seconds_late)
    except (MissingEntry, OSError, ValueError):
        return None


def submission_times(submission: Submission | None) -> dict:
    """{"handed_in", "due", "late"} as the page says them: the submission's time, the due date with the
    student's extension, how late ("" when on time); {} when unknown."""
    from grader.grading.coordinator.gradebook import lateness_text

    if submission is None:
        return {}
    handed_in, due, late = submission.handed_in, submission.due, submission.seconds_late
    return {"handed_in": f"{handed_in:%Y-%m-%d %H:%M} UTC" if handed_in else "",
            "due": f"{due:%Y-%m-%d %H:%M} UTC" if due else "", "late": lateness_text(late) if late > 0 else ""}


def checks_used(config, bank, assignment: str, student: str, handed_in, db_url: str | None = None) -> dict[str, str]:
    """{problem: "2 of 3 checks used"} for the problems of an assignment with checks before the deadline:
    the student's counted checks made by the time they handed in (`handed_in`, None when unknown), as
    grading counted them (grader.grading.coordinator.checks.counted_tries); {} without checks, a bank or
    a gradebook."""
    from grader.attempts.store import Store
    from grader.grading.coordinator.checks import counted_tries

    if bank is None or assignment not in bank.assignments or not student:
        return {}
    found = bank.assignments[assignment]
    if not found.checkable():
        return {}
    config = _with_db_url(config, db_url)
    if not config.CourseDirectory.get("db_url"):
        return {}
    tries = {one.problem: one for one in counted_tries(Store.of_course(config).attempts(assignment, student),
                                                        handed_in)}
    used = {}
    for problem in found.problems:
        allowed = found.rules.policy_for(problem).checks
        if allowed > 0:
            made = tries[problem].checks if problem in tries else 0
            used[problem] = f"{made} of {allowed} check{'s' if allowed != 1 else ''} used before handing in"
    return used


def review_list(config, student: str, bank, db_url: str | None = None) -> list:
    """The "what to review" list (grader.fairness.review_sections): the sheet's sections whose problems cost
    `student` points, over every assignment the gradebook has graded for them; section names and points
    only, never a value. [] without a bank or a gradebook."""
    from grader.fairness import review_sections

    if bank is None or not student:
        return []
    config = _with_db_url(config, db_url)
    if not config.CourseDirectory.get("db_url"):
        return []
    scores = []
    try:
        with open_gradebook(config) as gb:
            for submission in gb.find_student(student).submissions:
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        problem = problem_of(grade.name, Role.TEST)
                        if problem is not None and grade.max_score:
                            scores.append((problem, float(grade.score or 0), float(grade.max_score)))
    except Exception:  # noqa: BLE001 (the page still shows the grades without the list)
        return []
    return review_sections(bank, scores)


def _course_bank(root: str | None):
    if not root:
        return None
    from grader.grading.notebook.config import load_bank_if_any
    return load_bank_if_any(Path(root) / "questions.yaml")


class FeedbackPage(Exporter):
    """nbgrader's feedback exporter (GenerateFeedback.exporter_class): our page for one notebook."""

    output_mimetype = "text/html"
    bank = Any(None, help="the question bank (titles, hints, misconception feedback); "
                          "default: questions.yaml in the course root").tag(config=True)

    @default("file_extension")
    def _file_extension_default(self):
        return ".html"

    def from_notebook_node(self, nb, resources=None, **kw):
        nb, resources = super().from_notebook_node(nb, resources, **kw)
        info = resources.get("nbgrader", {})
        bank = self.bank if self.bank is not None else _course_bank(self.config.CourseDirectory.get("root"))
        assignment = info.get("assignment", "")
        title = bank.assignments[assignment].title if bank is not None and assignment in bank.assignments \
            else assignment
        student, db_url = info.get("student", ""), info.get("db_url")
        problems = notebook_feedback(nb, bank)
        submission = submission_of(self.config, assignment, student, db_url)
        used = checks_used(self.config, bank, assignment, student,
                           submission.handed_in if submission is not None else None, db_url)
        for item in problems:
            item.checks = used.get(item.problem, "")
        page = render_page(student, assignment, title, problems, info.get("late_penalty", 0.0),
                           submission_times(submission), review_list(self.config, student, bank, db_url))
        return page, resources


def feedback_config(config, bank=None):
    """`config` with FeedbackPage as nbgrader's feedback exporter (and `bank`, when given)."""
    import copy

    config = copy.deepcopy(config)
    config.GenerateFeedback.exporter_class = FeedbackPage
    if bank is not None:
        config.FeedbackPage.bank = bank
    return config


NOT_RUN = ("Your submitted notebook could not be run at all (it is not a valid notebook, or it could not be "
           "opened), so nothing in it was graded; ask the course staff.")


def not_run_pages(gb, paths: CoursePaths, assignment: str, student: str, bank=None) -> dict[Path, str]:
    """Pages for the notebooks grading could not run (no autograded notebook; nbgrader's
    generate_feedback has nothing to convert): every problem 0, with the reason."""
    pages = {}
    title = bank.assignments[assignment].title if bank is not None and assignment in bank.assignments else assignment
    for notebook in gb.find_submission(assignment, student).notebooks:
        if (paths.autograded(student, assignment) / f"{notebook.name}.ipynb").is_file():
            continue
        problems = []
        order = {cell.name: index for index, cell in enumerate(notebook.notebook.source_cells)}
        for grade in sorted(notebook.grades, key=lambda grade: order.get(grade.name, 0)):
            problem_id = problem_of(grade.name, Role.TEST)
            if problem_id is not None:
                spec = bank.problems.get(problem_id) if bank is not None else None
                item = problem_feedback(problem_id, 0.0, float(grade.max_score), None, None, spec)
                item.message, item.hints = NOT_RUN, []
                problems.append(item)
        pages[paths.feedback(student, assignment) / f"{notebook.name}.html"] = render_page(student, assignment, title,
                                                                                         problems)
    return pages


def write_feedback(config, assignment: str, bank=None, students=None) -> list[Path]:
    """Run nbgrader's generate_feedback with FeedbackPage for every graded student (or `students`);
    return the pages, feedback/<student>/<assignment>/<notebook>.html."""
    from nbgrader.api import MissingEntry
    from nbgrader.apps import NbGraderAPI

    from grader.release import python_scripts_on_path

    with open_gradebook(config) as gb:
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
        notebooks = sorted(nb.name for nb in gb.find_assignment(assignment).notebooks)
        config = feedback_config(config, bank)
        paths = CoursePaths(config)
        unrun = {student: not_run_pages(gb, paths, assignment, student, bank) for student in students or graded}
    api = NbGraderAPI(coursedir=paths.coursedir, config=config)
    written = []
    for student in students or graded:
        for path, page in unrun[student].items():
            write_atomic(path, page)
            written.append(path)
        if len(unrun[student]) == len(notebooks):
            continue
        with python_scripts_on_path():
            result = api.generate_feedback(assignment, student, force=True)
        if not result["success"]:
            details = (result.get("error") or result.get("log") or "").strip().splitlines()
            raise GraderError(f"nbgrader generate_feedback {assignment} {student} failed: "
                              f"{details[-1] if details else 'no details'}")
        folder = paths.feedback(student, assignment)
        written += [folder / f"{notebook}.html" for notebook in notebooks if (folder / f"{notebook}.html").is_file()]
    return written
