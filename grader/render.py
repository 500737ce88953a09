"""Bank -> nbgrader source notebooks: source/<assignment>/<assignment>.ipynb.

One notebook per assignment (nbformat 4.5, nbgrader cell metadata schema 3). Per problem:
a locked prompt (Markdown), a locked cell defining the problem's array inputs, the answer
cell (solution: the problem's answer expression turned into code that calls the engine),
and the test cell (visible format checks, the problem's public checks (grader.kinds.checks), then
the hidden call that reports the answer to the grading process: grader/grading/notebook/answers.py).
The public checks' helper is defined once, in the notebook's locked setup cell (`setup_source`).

Checks before the deadline (#21): a problem whose policy allows checks (the bank's `attempts:`,
`policy_for(problem).checks > 0`) says so in its prompt's "How it is checked." paragraph, and its test
cell ends with `_check_button("<problem>", lambda: <answer variable>)`, after the hidden tests: the
setup cell of such a notebook defines `_check_button` (CHECK_BUTTON_SOURCE), which shows a Check
button when a check service is configured (a click, never running the cell, sends a check; the
button's code comes from the service: grader/service/client.py says why) and otherwise prints one
line. A notebook without checkable problems is rendered exactly as before.

Rendering is deterministic: cell ids derive from grade ids, JSON keys are sorted and
nothing depends on the clock, so re-rendering an unchanged bank gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from grader import protocol
from grader.bank import Bank
from grader.bank.policy import CheckPolicy
from grader.bank.templates import prompt_symbols, python_literal, render_prompt, symbol_is_name
from grader.course import CONFIG_FILE, CoursePaths, paths_of
from grader.errors import GraderError
from grader.files import write_atomic
from grader.kinds import ProblemVariant, kind_of
from grader.kinds.checks import check_lines, setup_lines
from grader.protocol import REPORT_FUNCTION, Role, report_call
from grader.variants import draw, variant_key_for

SOURCE_DIR = "source"
RENDERED_MARK = REPORT_FUNCTION   # in every notebook this module writes (the hidden tests' call)
NBGRADER_SCHEMA_VERSION = 3
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}
CELL_ID_MAX = 64
SETUP_SOURCE = "import numpy as np"
# The paragraphs of a prompt cell after the problem's statement (grader.feedback leaves them out).
HINTS_MARK, ANSWER_MARK, CHECKED_MARK = "**Hints**", "**Your answer.**", "**How it is checked.**"
INPUTS_LINE = "The cell below defines"        # then each variable of the inputs cell
PROMPT_TAIL_MARKS = (HINTS_MARK, ANSWER_MARK, CHECKED_MARK)
CHECK_BUTTON = "_check_button"           # the setup cell's helper a checkable problem's test cell calls
# The setup cell's helper of a notebook with checkable problems. Plain Python: it finds the course's
# check service (grader/service/client.py's docstring: where, and why the client is fetched from it),
# fetches the button's code once per kernel (a failure is retried after 30 s, not at every cell of a
# top-to-bottom run) and shows the button; without a service or ipywidgets it prints one line. Like
# `_public_check`, it never stops the cell. Nothing here sends a check: only a click on the button does.
CHECK_BUTTON_SOURCE = """\
# Check my answer: problems that may be checked before the deadline get a Check button under their
# test cell when the course runs a check service. Running a cell never sends a check: only a click
# does. Without a service, the answer is checked when the assignment is graded.
def {helper}(problem_id, read_answer):
    import json, os, time, urllib.request
    url = os.environ.get("GRADER_CHECKS_URL")
    token = os.environ.get("GRADER_CHECKS_TOKEN") or os.environ.get("JUPYTERHUB_API_TOKEN")
    try:
        if not url and os.path.isfile(".grader-checks.json"):
            with open(".grader-checks.json", encoding="utf-8") as file:
                found = json.load(file)
            url, token = found.get("url"), found.get("token")
        import ipywidgets
    except Exception:
        url = None
    if not url or not token:
        print({unavailable})
        return
    state = {helper}.__dict__
    if "client" not in state and time.time() >= state.get("retry_at", 0):
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/client.py", timeout=5) as reply:
                client = {{"__name__": "grader_check_client"}}
                exec(compile(reply.read().decode("utf-8"), "grader_check_client.py", "exec"), client)
            state["client"] = client
        except Exception as exc:
            state["retry_at"], state["why"] = time.time() + 30, exc
    if "client" not in state:
        print(f"The check service cannot be reached now ({{state.get('why')}}): run this cell again later "
              f"for the Check button. This answer is checked when the assignment is graded in any case.")
        return
    try:
        state["client"]["show_button"](url, token, {assignment}, problem_id, read_answer)
    except Exception as exc:
        print(f"The Check button cannot be shown ({{type(exc).__name__}}: {{exc}}). This answer is checked "
              f"when the assignment is graded in any case.")"""
UNAVAILABLE = ("Checking before the deadline is not available here: this answer is checked when the "
               "assignment is graded.")


# --- notebook cells -------------------------------------------------------------------------

def cell_id(grade_id: str) -> str:
    """A valid nbformat cell id (1-64 chars of [A-Za-z0-9_-]) that depends only on the grade id."""
    if len(grade_id) <= CELL_ID_MAX:
        return grade_id
    digest = hashlib.sha256(grade_id.encode("utf-8")).hexdigest()[:12]
    return f"{grade_id[:CELL_ID_MAX - 13]}-{digest}"


def nbgrader_metadata(grade_id: str, *, locked: bool = False, solution: bool = False, grade: bool = False,
                      points: float | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": NBGRADER_SCHEMA_VERSION,
        "solution": solution,
        "task": False,
    }
    if grade:
        metadata["points"] = points
    return {"nbgrader": metadata}


def markdown_cell(grade_id: str, source: str) -> Any:
    return nbformat.v4.new_markdown_cell(
        source=source, id=cell_id(grade_id), metadata=nbgrader_metadata(grade_id, locked=True))


def code_cell(grade_id: str, source: str, **flags: Any) -> Any:
    return nbformat.v4.new_code_cell(
        source=source, id=cell_id(grade_id), metadata=nbgrader_metadata(grade_id, **flags))


def plural(count: float, word: str) -> str:
    return f"{count:g} {word}" + ("" if count == 1 else "s")


def points_text(points: float) -> str:
    return plural(float(points), "point")


def prompt_markdown(variant: ProblemVariant, policy: CheckPolicy | None = None) -> str:
    """The problem's locked prompt cell; with a `policy` that allows checks, "How it is checked." also
    says how many checks it allows before the deadline and what they cost (CheckPolicy.describe)."""
    problem = variant.problem
    parts = [f"## Problem {variant.number}: {problem.title} ({points_text(problem.points)})",
             render_prompt(problem, variant.values).strip(), *variant.kind.prompt_parts(variant)]
    if variant.input_names:
        parts.append(f"{INPUTS_LINE} {defined_names(problem.prompt, variant.input_names)}.")
    if problem.hints:
        parts.append(f"{HINTS_MARK}\n\n" + "\n".join(f"- {hint}" for hint in problem.hints))
    parts.append(f"{ANSWER_MARK} {variant.kind.answer_instructions(variant)}")
    statement = variant.kind.rule_statement(variant)
    checks = f" {policy.describe()}" if policy is not None and policy.checks > 0 else ""
    parts.append(f"{CHECKED_MARK} {statement[0].upper()}{statement[1:]}.{checks}")
    return "\n\n".join(parts)


def defined_names(prompt: str, names: list[str]) -> str:
    """`x` ($a$), `mask` ($m$), `W`: each variable of the inputs cell with the symbol the prompt
    gives it (bank.templates.prompt_symbols), when that symbol is not the variable's own name."""
    symbols = prompt_symbols(prompt)
    words = []
    for name in names:
        given = [symbol for symbol in symbols.get(name, []) if not symbol_is_name(symbol, name)]
        words.append(f"`{name}` (${', '.join(given)}$)" if given else f"`{name}`")
    return ", ".join(words)


def inputs_source(variant: ProblemVariant) -> str:
    return "\n".join(f"{name} = {python_literal(variant.values[name])}" for name in variant.input_names)


def test_source(variant: ProblemVariant, assignment_id: str, checkable: bool = False) -> str:
    """The test cell; a `checkable` problem's ends with the Check button's line (after the hidden
    tests: it runs once the format checks passed, and nbgrader's release keeps it)."""
    problem = variant.problem
    return "\n".join([
        "# Format checks. The values are checked when the assignment is graded.",
        *variant.kind.format_checks(variant),
        *check_lines(variant),
        "### BEGIN HIDDEN TESTS",
        report_call(problem.id, variant.variable, problem.digest),
        "### END HIDDEN TESTS",
        *([check_button_call(problem.id, variant.variable)] if checkable else []),
    ])


def check_button_call(problem_id: str, variable: str) -> str:
    """The test cell's last line for a problem that may be checked before the deadline: the answer
    is read when the button is clicked (`lambda`), not when the cell runs."""
    return f"{CHECK_BUTTON}({json.dumps(problem_id)}, lambda: {variable})"


@dataclass(frozen=True)
class CellSpec:
    """One cell of a rendered notebook, before it becomes an nbformat cell: what it says and
    its nbgrader flags. The source notebook and a student's locked cells both come from these."""

    grade_id: str
    cell_type: str                 # "markdown" | "code"
    source: str
    locked: bool = False
    solution: bool = False
    grade: bool = False
    points: float | None = None


def problem_cell_specs(variant: ProblemVariant, assignment_id: str, locked_only: bool = False,
                       policy: CheckPolicy | None = None) -> list[CellSpec]:
    """Prompt, inputs (when the problem has some), answer (unless `locked_only`) and test cell of one
    problem; `policy`: its checks before the deadline (the assignment's rules), None for none."""
    pid = variant.problem.id
    checkable = policy is not None and policy.checks > 0
    cells = [CellSpec(protocol.grade_id(pid, Role.PROMPT), "markdown", prompt_markdown(variant, policy), locked=True)]
    if variant.input_names:
        cells.append(CellSpec(protocol.grade_id(pid, Role.INPUTS), "code", inputs_source(variant), locked=True))
    if not locked_only:
        solution = "\n".join(["### BEGIN SOLUTION", *variant.kind.solution_lines(variant), "### END SOLUTION"])
        cells.append(CellSpec(protocol.grade_id(pid, Role.ANSWER), "code", solution, solution=True))
    cells.append(CellSpec(protocol.grade_id(pid, Role.TEST), "code", test_source(variant, assignment_id, checkable),
                          locked=True, grade=True, points=variant.problem.points))
    return cells


def to_cell(spec: CellSpec) -> Any:
    if spec.cell_type == "markdown":
        return markdown_cell(spec.grade_id, spec.source)
    return code_cell(spec.grade_id, spec.source, locked=spec.locked, solution=spec.solution, grade=spec.grade,
                     points=spec.points)


def problem_cells(variant: ProblemVariant, assignment_id: str) -> list[Any]:
    return [to_cell(spec) for spec in problem_cell_specs(variant, assignment_id)]


# --- notebooks -------------------------------------------------------------------------------

def check_assignment(bank: Bank, assignment_id: str) -> None:
    if assignment_id not in bank.assignments:
        known = ", ".join(bank.assignments) or "none"
        raise GraderError(f"{bank.path}: no assignment {assignment_id!r} (assignments: {known})")


def problem_variants(bank: Bank, assignment_id: str, student: str | None = None) -> list[ProblemVariant]:
    """The assignment's problems with the values `student` gets (None: the instructor's copy,
    source/); each problem's key comes from grader.variants.variant_key_for."""
    check_assignment(bank, assignment_id)
    variants = []
    for number, problem_id in enumerate(bank.assignments[assignment_id].problems, start=1):
        problem = bank.problems[problem_id]
        values = draw(bank, problem, assignment_id, variant_key_for(bank, assignment_id, student, problem))
        variants.append(ProblemVariant(number, problem, values, kind_of(problem).expected(problem, values)))
    return variants


def title_markdown(bank: Bank, assignment_id: str) -> str:
    """The title cell; with `dates:`, the due date and late credit (Dates.describe), and with checkable
    problems, a sentence on the Check button."""
    assignment = bank.assignments[assignment_id]
    problems = [bank.problems[problem_id] for problem_id in assignment.problems]
    total = sum(float(problem.points) for problem in problems)
    checks = ("it checks the answer's format and, where a problem has them, prints public checks "
              "(properties every right answer has, never its value)"
              if any(problem.checks for problem in problems) else "it checks the answer's format only")
    text = (f"# {bank.course}: {assignment.title}\n\n"
            f"{plural(len(problems), 'problem')}, {points_text(total)}. Write each answer in the cell marked "
            f"for it, then run the test cell below it: {checks}. "
            f"The values are checked when the assignment is graded: nbgrader's Validate runs every cell "
            f"and lists the ones that raise an error, and never checks a value.")
    checkable = len(assignment.checkable())
    if checkable:
        which = "Every problem" if checkable == len(problems) else f"{plural(checkable, 'problem')} of {len(problems)}"
        text += (f" {which} may also be checked before the deadline, where the course runs a check service: "
                 f"its test cell then shows a Check button, and only a click on it sends a check (its prompt "
                 f"says how many it allows).")
    if assignment.rules.dates is not None:
        text += f"\n\n{assignment.rules.dates.describe(checks=bool(checkable))}"
    return text


def setup_source(bank: Bank, assignment_id: str) -> str:
    """The locked setup cell: numpy, the public checks' helper when a problem has public checks, and
    the Check button's helper when a problem may be checked before the deadline (each defined once
    here, not in every test cell; plain Python and numpy: grading kernels have no grader)."""
    problems = [bank.problems[problem_id] for problem_id in bank.assignments[assignment_id].problems]
    parts = [SETUP_SOURCE, *(["\n".join(setup_lines(problems))] if setup_lines(problems) else [])]
    if bank.assignments[assignment_id].checkable():
        parts.append(CHECK_BUTTON_SOURCE.format(helper=CHECK_BUTTON, unavailable=json.dumps(UNAVAILABLE),
                                                  assignment=json.dumps(assignment_id)))
    return "\n\n".join(parts)


def assignment_cell_specs(bank: Bank, assignment_id: str, student: str | None = None,
                          variants: list[ProblemVariant] | None = None, locked_only: bool = False) -> list[CellSpec]:
    """Every cell of the assignment's notebook for `student` (None: the instructor's copy), or
    with `locked_only` its locked cells; `variants`: that student's problem_variants, when drawn."""
    if variants is None:
        variants = problem_variants(bank, assignment_id, student)
    rules = bank.assignments[assignment_id].rules
    cells = [CellSpec("title", "markdown", title_markdown(bank, assignment_id), locked=True),
             CellSpec("setup", "code", setup_source(bank, assignment_id), locked=True)]
    for variant in variants:
        cells.extend(problem_cell_specs(variant, assignment_id, locked_only, rules.policy_for(variant.problem.id)))
    return cells


def render_assignment(bank: Bank, assignment_id: str, student: str | None = None) -> Any:
    """The source notebook of one assignment (a NotebookNode): the instructor's copy, or with
    `student` the same notebook with that student's values."""
    check_assignment(bank, assignment_id)
    cells = [to_cell(spec) for spec in assignment_cell_specs(bank, assignment_id, student)]
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)})
    notebook.nbformat_minor = 5
    return notebook


def notebook_text(notebook: Any) -> str:
    """The notebook as the exact text written to disk (validated; sorted keys; final newline)."""
    captured: dict[str, Any] = {}
    text = nbformat.writes(notebook, capture_validation_error=captured)
    if "ValidationError" in captured:
        raise GraderError(f"rendered notebook is not valid nbformat: {captured['ValidationError']}")
    return text if text.endswith("\n") else text + "\n"


def notebook_path(course: str | Path, assignment_id: str, directory: str = SOURCE_DIR) -> Path:
    """DIRECTORY/<a>/<a>.ipynb under `course` in nbgrader's default layout (a scratch course the grader
    configures; the course's own folders come from its configuration: `source_notebook`)."""
    return Path(course) / directory / assignment_id / f"{assignment_id}.ipynb"


def course_paths(course: str | Path) -> CoursePaths:
    """The course's paths from its nbgrader_config.py (CourseDirectory's source_directory,
    release_directory, ...); a directory without that file has nbgrader's default layout, as
    nbgrader itself would give it."""
    if (Path(course) / CONFIG_FILE).is_file():
        return paths_of(course)
    from traitlets.config import Config
    config = Config()
    config.CourseDirectory.root = str(Path(course).resolve())
    return CoursePaths(config)


def in_course(course: str | Path, path: Path, paths: CoursePaths) -> Path:
    """`path` (under the resolved course root) spelled under `course` as the caller gave it."""
    try:
        return Path(course) / path.relative_to(paths.root)
    except ValueError:         # a folder the configuration puts outside the course
        return path


def matching(course: str | Path, pattern: Path, paths: CoursePaths) -> list[Path]:
    """The paths matching `pattern` (a CoursePaths path with '*' for a name), each under `course`;
    only the part below the course root is a glob pattern (hidden names match too, as in pathlib)."""
    try:
        relative = pattern.relative_to(paths.root)
    except ValueError:
        return sorted(Path(pattern.anchor).glob(str(pattern.relative_to(pattern.anchor))))
    return sorted(Path(course).glob(str(relative)))


def source_notebook(course: str | Path, assignment_id: str, paths: CoursePaths | None = None) -> Path:
    """The assignment's source notebook, in the course's source folder (its nbgrader configuration)."""
    paths = paths or course_paths(course)
    return in_course(course, paths.source(assignment_id) / f"{assignment_id}.ipynb", paths)


def release_notebook(course: str | Path, assignment_id: str, paths: CoursePaths | None = None) -> Path:
    """The assignment's release notebook, in the course's release folder (its nbgrader configuration)."""
    paths = paths or course_paths(course)
    return in_course(course, paths.release(assignment_id) / f"{assignment_id}.ipynb", paths)


def render_bank(bank: Bank, course: str | Path, assignment_ids: list[str] | None = None) -> dict[Path, str]:
    """{path: text} for every requested assignment, all rendered in memory (nothing written)."""
    assignment_ids = list(bank.assignments) if assignment_ids is None else list(assignment_ids)
    paths = course_paths(course)
    return {source_notebook(course, assignment_id, paths): notebook_text(render_assignment(bank, assignment_id))
            for assignment_id in assignment_ids}


def out_of_date(rendered: dict[Path, str]) -> list[Path]:
    """Paths whose file on disk is missing or differs from the rendered text."""
    return [path for path, text in rendered.items()
            if not path.is_file() or path.read_bytes() != text.encode("utf-8")]


def orphaned(bank: Bank, course: str | Path) -> list[Path]:
    """Notebooks this renderer wrote for assignments the bank no longer has."""
    paths = course_paths(course)
    return [path for path in matching(course, paths.source("*") / "*.ipynb", paths)
            if path.stem == path.parent.name and path.stem not in bank.assignments
            and RENDERED_MARK in path.read_text(encoding="utf-8")]


def remove_orphans(paths: list[Path]) -> None:
    for path in paths:
        path.unlink()
        if not any(path.parent.iterdir()):
            path.parent.rmdir()


def write_rendered(rendered: dict[Path, str]) -> list[Path]:
    """Write the notebooks that changed; return their paths."""
    changed = out_of_date(rendered)
    for path in changed:
        write_atomic(path, rendered[path].encode("utf-8"))
    return changed
