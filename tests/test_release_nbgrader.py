"""End to end through nbgrader itself: render -> generate_assignment -> submissions -> autograde.

A temporary course holds the fixture bank. Three students submit the release notebook:
alice with the source's solutions, bob with known misconceptions (scores worked out by
hand below from the formulas), carol the release notebook unchanged. nbgrader's autograde
runs each in a fresh kernel (the venv's, so `grader` imports) and its gradebook must hold
exactly the expected scores. nbgrader's validator must pass the source and fail the release.
"""

import json

import nbformat
import pytest
from render_kit import ASSIGNMENT, REPO_ROOT, make_course

from grader import render
from grader.course import course_config
from grader.grading.notebook.plain import nbgrader_grades_reports
from grader.release import python_scripts_on_path, release
from grader.variants import draw

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("nbgrader")]

PROBLEMS = ["conv-out", "softmax-rows", "relu-init", "softmax-fn", "net-table"]
POINTS = {"conv-out": 2, "softmax-rows": 3, "relu-init": 1, "softmax-fn": 2, "net-table": 4}


def solution_code(cell):
    lines = cell.source.splitlines()
    return "\n".join(lines[lines.index("### BEGIN SOLUTION") + 1:lines.index("### END SOLUTION")])


def submission(release_nb, answers):
    """The release notebook with the given answer cells' sources replaced."""
    notebook = nbformat.from_dict(json.loads(json.dumps(release_nb)))
    for cell in notebook.cells:
        grade_id = cell.metadata.nbgrader.grade_id
        if grade_id.endswith("-answer") and grade_id[:-len("-answer")] in answers:
            cell.source = answers[grade_id[:-len("-answer")]]
    return notebook


def misconception_answers(bank):
    """Bob's answers, written out from the sheet's formulas (not from the engine)."""
    conv = draw(bank, bank.problems["conv-out"], ASSIGNMENT)
    W, K, S = conv["W"], conv["K"], conv["S"]
    forgot_padding = (W - K) // S + 1                           # P taken as 0
    C = draw(bank, bank.problems["net-table"], ASSIGNMENT)["C"]
    no_bias_table = [
        {"output_shape": (C, 32, 32), "params": 3 * 3 * 3 * C},      # right: C*(27+1)
        {"output_shape": (C, 16, 16), "params": 0},
        {"output_shape": (C * 16 * 16,), "params": 0},
        {"output_shape": (10,), "params": C * 16 * 16 * 10},         # right: ... + 10
    ]
    return {
        "conv-out": f"q1 = {forgot_padding}",
        "softmax-rows": "q2 = np.exp(z) / np.exp(z).sum(axis=0, keepdims=True)",
        "relu-init": 'q3 = "A"',
        "softmax-fn": "def softmax(z):\n    e = np.exp(z)\n    return e / e.sum(axis=-1, keepdims=True)",
        "net-table": f"q5 = {no_bias_table!r}",
    }


# Bob: forgot-padding 25 % of 2; wrong-axis 50 % of 3; Xavier 0 of 1; the naive softmax
# passes 1 of 2 cases (nan at logits ±1000) -> 1 of 2; 6 of 8 table cells right and the
# two bias-free counts are the no-bias misconception at 50 % -> (6 + 2 * 0.5) / 8 of 4.
BOB_SCORES = {"conv-out": 0.5, "softmax-rows": 1.5, "relu-init": 0.0, "softmax-fn": 1.0, "net-table": 3.5}


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory, fixture_bank):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    patch = pytest.MonkeyPatch()
    patch.delenv("GRADER_BANK", raising=False)
    course = make_course(tmp_path_factory.mktemp("e2e") / "course")
    render.write_rendered(render.render_bank(fixture_bank, course, [ASSIGNMENT]))
    release(course, fixture_bank, [ASSIGNMENT])
    source_nb = nbformat.read(render.notebook_path(course, ASSIGNMENT), as_version=4)
    release_nb = nbformat.read(render.notebook_path(course, ASSIGNMENT, "release"), as_version=4)
    solutions = {cell.metadata.nbgrader.grade_id[:-len("-answer")]: solution_code(cell)
                 for cell in source_nb.cells if cell.metadata.nbgrader.grade_id.endswith("-answer")}
    submissions = {
        "alice": submission(release_nb, solutions),
        "bob": submission(release_nb, misconception_answers(fixture_bank)),
        "carol": release_nb,
    }
    for student, notebook in submissions.items():
        path = course / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(notebook, path)

    config = nbgrader_grades_reports(course_config(course))   # nbgrader's loop, grading the reports
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    with python_scripts_on_path():
        for student in submissions:
            result = api.autograde(ASSIGNMENT, student, force=True, create=True)
            assert result["success"], result.get("log", "") + result.get("error", "")
    yield course, config
    patch.undo()


def scores(course, config, student):
    from nbgrader.api import Gradebook

    with Gradebook(config.CourseDirectory.db_url, config.CourseDirectory.course_id) as gradebook:
        return {problem: gradebook.find_grade(f"{problem}-test", ASSIGNMENT, ASSIGNMENT, student).score
                for problem in PROBLEMS}


def test_solutions_earn_full_marks(graded_course):
    course, config = graded_course
    assert scores(course, config, "alice") == {problem: float(POINTS[problem]) for problem in PROBLEMS}


def test_misconceptions_earn_exactly_their_partial_credit(graded_course):
    course, config = graded_course
    assert scores(course, config, "bob") == BOB_SCORES


def test_the_release_notebook_unchanged_earns_zero(graded_course):
    course, config = graded_course
    assert scores(course, config, "carol") == {problem: 0.0 for problem in PROBLEMS}


def test_graded_notebook_carries_the_result_line_and_the_feedback(graded_course):
    course, _ = graded_course
    graded = nbformat.read(course / "autograded" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    cell = next(c for c in graded.cells if c.metadata.nbgrader.grade_id == "conv-out-test")
    text = "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")
    result_lines = [line for line in text.splitlines() if line.startswith("GRADER_RESULT ")]
    assert len(result_lines) == 1
    result = json.loads(result_lines[0][len("GRADER_RESULT "):])
    assert result["misconception"] == "forgot-padding" and result["fraction"] == 0.25
    assert "conv-out: 0.5/2 points. The padding adds 2P to the input size before the kernel slides." in text
    values = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert [v.data["text/plain"] for v in values] == ["0.5"]


def test_nbgrader_validate_passes_the_source_and_fails_the_release(graded_course):
    from nbgrader.validator import Validator

    course, config = graded_course
    validator = Validator(config=config)
    with python_scripts_on_path():
        assert validator.validate(str(render.notebook_path(course, ASSIGNMENT))) == {}
        failed = validator.validate(str(render.notebook_path(course, ASSIGNMENT, "release")))
    assert len(failed.get("failed", [])) == len(PROBLEMS)


@pytest.mark.skipif(not (REPO_ROOT / "questions.yaml").is_file(), reason="no questions.yaml in the repository")
def test_every_committed_source_notebook_passes_nbgrader_validate():
    """Each solution of the real bank earns its full points through its own hidden test."""
    from nbgrader.validator import Validator

    config = course_config(REPO_ROOT)
    validator = Validator(config=config)
    notebooks = sorted((REPO_ROOT / "source").glob("*/*.ipynb"))
    assert notebooks, "no committed source notebooks: run `python -m grader render`"
    patch = pytest.MonkeyPatch()
    patch.delenv("GRADER_BANK", raising=False)
    try:
        with python_scripts_on_path():
            failures = {path.name: validator.validate(str(path)) for path in notebooks}
    finally:
        patch.undo()
    assert {name: result for name, result in failures.items() if result} == {}
