"""feedback and report never show a stale grade (issue #19): a missing autograded notebook, a
problem graded on an older spec, a submission handed in again after grading."""

import subprocess
import sys

import course_kit as kit
import nbformat
import pytest

from grader import cli
from grader.grading import grade_assignment
from grader.grading.kernel.sandbox import support
from grader.grading.notebook.config import effective_config

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("nbgrader")]


def _grade(root, *students):
    grade_assignment(root, kit.ASSIGNMENT, students=list(students) or None, config=effective_config(root),
                     unsafe=not support().available)


def _shown(root, command, capsys):
    code = cli.main(["--course", str(root), command, kit.ASSIGNMENT])
    return code, capsys.readouterr().err


@pytest.fixture
def course(tmp_path):
    root = kit.make_course(tmp_path, timeout=10)
    kit.submit(root, "ann", kit.RIGHT)
    kit.submit(root, "ben", kit.RIGHT)
    for student in ("ann", "ben"):          # as nbgrader's collect leaves them
        (root / "submitted" / student / kit.ASSIGNMENT / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    _grade(root)
    return root


@pytest.mark.parametrize("command", ["feedback", "report"])
def test_a_missing_autograded_notebook_is_refused_until_graded_again(course, command, capsys):
    (course / "autograded" / "ann" / kit.ASSIGNMENT / f"{kit.ASSIGNMENT}.ipynb").unlink()
    code, err = _shown(course, command, capsys)
    assert code == 2
    assert f"ann: autograded/ann/{kit.ASSIGNMENT}/{kit.ASSIGNMENT}.ipynb is missing" in err
    assert f"python -m grader grade {kit.ASSIGNMENT} --student ann" in err and "ben" not in err
    _grade(course, "ann")
    assert _shown(course, command, capsys)[0] == 0


def test_a_problem_graded_on_an_older_spec_is_refused(course, capsys):
    bank = (course / "questions.yaml").read_text()
    (course / "questions.yaml").write_text(bank.replace("rtol: 0.001", "rtol: 0.01"))
    nbformat.write(kit.source_notebook(course), course / "source" / kit.ASSIGNMENT / f"{kit.ASSIGNMENT}.ipynb")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", kit.ASSIGNMENT, "--force"],
                   cwd=course, check=True, capture_output=True, env=kit.venv_env())
    code, err = _shown(course, "feedback", capsys)
    assert code == 2 and "graded on an older spec of p2" in err
    _grade(course)
    assert _shown(course, "feedback", capsys)[0] == 0


def test_a_submission_handed_in_again_after_grading_is_refused(course, capsys):
    folder = course / "submitted" / "ben" / kit.ASSIGNMENT
    (folder / "timestamp.txt").write_text("2030-01-02 03:04:05.000000 UTC")
    code, err = _shown(course, "report", capsys)
    assert code == 2 and "ben: handed in again at 2030-01-02 03:04" in err
    _grade(course, "ben")
    assert _shown(course, "report", capsys)[0] == 0
