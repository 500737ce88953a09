"""`nbgrader validate`, run as a student or TA runs it, never says a notebook of wrong answers
"passes all the tests": test cells never raise for a wrong value (the values are graded later), so
nbgrader's hard-coded success line would be false. The course's nbgrader_config.py makes it say
what it checked (grader/validate_message.py)."""

import random
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader import protocol, render
from grader.bank import load_bank
from grader.kinds import grade_answer
from grader.protocol import Role
from grader.simulate import answer_for
from grader.validate_message import NOTHING_FAILED

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "mixed-quiz"          # keyed by the assignment: release/ holds everyone's numbers
NBGRADER_SUCCESS = "passes all the tests"

pytestmark = pytest.mark.nbgrader


def _answered(tmp_path):
    """release/mixed-quiz.ipynb with every answer cell filled with a well-formed wrong answer (a
    misconception's value, else a wrong one, as the simulator writes them); {problem id: fraction
    grading gives it}."""
    bank = load_bank(ROOT / "questions.yaml")
    notebook = nbformat.read(render.notebook_path(ROOT, ASSIGNMENT, "release"), as_version=4)
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in notebook.cells}
    fractions = {}
    rng = random.Random(521)
    for variant in render.problem_variants(bank, ASSIGNMENT):
        source, _ = answer_for(variant, "misconception", rng)
        assert source is not None, variant.problem.id
        cells[protocol.grade_id(variant.problem.id, Role.ANSWER)].source = source
        namespace = {"np": __import__("numpy")}
        exec(source, namespace)  # noqa: S102 (the simulator's own literal)
        fractions[variant.problem.id] = grade_answer(variant.problem, namespace[variant.variable],
                                                     variant.values).fraction
    path = tmp_path / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(notebook, path)
    return path, fractions


def _nbgrader_validate(path, cwd):
    nbgrader = shutil.which("nbgrader", path=str(Path(sys.executable).parent)) or "nbgrader"
    return subprocess.run([nbgrader, "validate", str(path)], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_nbgrader_validate_of_wrong_answers_says_what_it_checked(tmp_path):
    path, fractions = _answered(tmp_path)
    assert all(fraction < 1 for fraction in fractions.values()), fractions     # every answer is wrong
    # as nbgrader itself says it (no course config): the false claim this file is about
    bare = _nbgrader_validate(path, tmp_path)
    assert bare.returncode == 0 and NBGRADER_SUCCESS in bare.stdout, bare.stdout + bare.stderr
    # in the course (its nbgrader_config.py): what it checked, and that values are graded later
    course = _nbgrader_validate(path, ROOT)
    assert course.returncode == 0, course.stdout + course.stderr
    assert NBGRADER_SUCCESS not in course.stdout and NOTHING_FAILED in course.stdout, course.stdout


def test_nbgrader_validate_still_fails_an_unanswered_notebook_in_the_course(tmp_path):
    path = tmp_path / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    path.parent.mkdir(parents=True)
    shutil.copy(render.notebook_path(ROOT, ASSIGNMENT, "release"), path)
    result = _nbgrader_validate(path, ROOT)
    assert "VALIDATION FAILED ON" in result.stdout and NOTHING_FAILED not in result.stdout, result.stdout
