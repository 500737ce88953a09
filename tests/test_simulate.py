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
    from grader.grading.config import effective_config

    bank = load_bank(course / "questions.yaml")
    shutil.rmtree(course / "submitted", ignore_errors=True)
    plan = simulate_class(bank, course, ASSIGNMENT, len(PROFILES))
    config = effective_config(course)
    config.Execute.timeout = 3
    run = grade_assignment(course, ASSIGNMENT, config=config)
    assert {s.student: pytest.approx(s.expected_score) for s in plan} == \
        {s: o.score for s, o in run.outcomes.items()}
