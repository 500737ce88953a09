"""The synthetic class: deterministic, every profile covered, and graded scores equal its plan."""

import shutil
import subprocess
import sys
from pathlib import Path

import course_kit as kit
import pytest

from grader.bank import load_bank
from grader.simulate import BROKEN, PROFILES, simulate_class

FIXTURE_BANK = Path(__file__).parent / "fixtures" / "render" / "bank.yaml"
CONFIG = Path(__file__).parents[1] / "nbgrader_config.py"
ASSIGNMENT = "fixture-a"

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("grading")]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("simulate")
    shutil.copy(FIXTURE_BANK, root / "questions.yaml")
    shutil.copy(CONFIG, root / "nbgrader_config.py")
    for command in ("render", "release"):
        subprocess.run([sys.executable, "-m", "grader", "--course", str(root), command, "--assignment", ASSIGNMENT],
                       check=True, capture_output=True, env=kit.venv_env())
    return root


def _tree(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted((root / "submitted").rglob("*.ipynb"))}


def test_same_seed_same_class_byte_for_byte(course, tmp_path):
    bank = load_bank(course / "questions.yaml")
    first = simulate_class(bank, course, ASSIGNMENT, len(PROFILES) + 3)
    files = _tree(course)
    second = simulate_class(bank, course, ASSIGNMENT, len(PROFILES) + 3)
    assert _tree(course) == files and first == second
    assert {s.profile for s in first} == set(PROFILES)
    assert all(s.expected_score < sum(a.points for a in s.answers) for s in first
               if s.profile in BROKEN - {"deleted-cells", "added-cells", "edited-locked", "skip-tag"})


def test_graded_scores_equal_the_plan(course):
    from grader.grading import grade_assignment
    from grader.grading.notebook.config import effective_config

    bank = load_bank(course / "questions.yaml")
    shutil.rmtree(course / "submitted", ignore_errors=True)
    plan = simulate_class(bank, course, ASSIGNMENT, len(PROFILES))
    config = effective_config(course)
    config.Execute.timeout = 3
    run = grade_assignment(course, ASSIGNMENT, config=config)
    assert {s.student: pytest.approx(s.expected_score) for s in plan} == \
        {s: o.score for s, o in run.outcomes.items()}


PER_STUDENT_TEXT = FIXTURE_BANK.read_text(encoding="utf-8").replace("variant_key: assignment", "variant_key: student")


@pytest.fixture(scope="module")
def per_student_course(tmp_path_factory):
    root = tmp_path_factory.mktemp("simulate-per-student")
    (root / "questions.yaml").write_text(PER_STUDENT_TEXT, encoding="utf-8")
    shutil.copy(CONFIG, root / "nbgrader_config.py")
    for command in ("render", "release"):
        subprocess.run([sys.executable, "-m", "grader", "--course", str(root), command, "--assignment", ASSIGNMENT],
                       check=True, capture_output=True, env=kit.venv_env())
    return root


def test_a_per_student_class_hands_in_each_students_own_notebook_and_numbers(per_student_course):
    import nbformat

    from grader.personalize import locked_sources
    from grader.protocol import cell_grade_id

    bank = load_bank(per_student_course / "questions.yaml")
    plan = simulate_class(bank, per_student_course, ASSIGNMENT, 3)
    for student in plan:
        path = per_student_course / "submitted" / student.student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        notebook = nbformat.read(path, as_version=4)
        own = locked_sources(bank, ASSIGNMENT, student.student, hidden_tests=False)
        assert {cell_grade_id(c): c.source for c in notebook.cells if cell_grade_id(c) in own} == own
    prompts = {s.student: locked_sources(bank, ASSIGNMENT, s.student, False)["conv-out-prompt"] for s in plan}
    assert len(set(prompts.values())) == 3


def with_shared(text, problem_ids):
    for problem_id in problem_ids:
        text = text.replace(f"  - id: {problem_id}\n", f"  - id: {problem_id}\n    shared: true\n")
    return text


def test_a_copied_student_is_planned_zero_on_per_student_problems_and_full_on_shared_ones(per_student_course):
    from grader.bank import load_bank_text

    shared = ["relu-init", "softmax-fn", "net-table"]
    bank = load_bank_text(with_shared(PER_STUDENT_TEXT, shared), FIXTURE_BANK)
    assert all(bank.problems[p].shared for p in shared)
    plan = simulate_class(bank, per_student_course, ASSIGNMENT, len(PROFILES))
    copied = next(s for s in plan if s.profile == "copied")
    assert {a.problem: a.fraction for a in copied.answers} == {
        "conv-out": 0.0, "softmax-rows": 0.0, "relu-init": 1.0, "softmax-fn": 1.0, "net-table": 1.0}


def test_per_student_scores_equal_the_plan_and_a_copied_student_scores_nothing(per_student_course):
    from grader.grading import grade_assignment
    from grader.grading.notebook.config import effective_config

    bank = load_bank(per_student_course / "questions.yaml")
    shutil.rmtree(per_student_course / "submitted", ignore_errors=True)
    plan = simulate_class(bank, per_student_course, ASSIGNMENT, len(PROFILES))
    copied = next(s for s in plan if s.profile == "copied")
    planned = {a.problem: a.fraction for a in copied.answers}
    assert planned["conv-out"] == planned["softmax-rows"] == 0.0       # a neighbour's numbers are wrong here
    config = effective_config(per_student_course)
    config.Execute.timeout = 3
    run = grade_assignment(per_student_course, ASSIGNMENT, config=config)
    assert {s.student: pytest.approx(s.expected_score) for s in plan} == \
        {s: o.score for s, o in run.outcomes.items()}
    # the neighbour's table is right in its rows that are the same for everyone, yet worth nothing
    assert planned["net-table"] == 0.0
    assert any("net-table: These are the answers to another student's numbers" in reason
               for reason in run.outcomes[copied.student].reasons)
