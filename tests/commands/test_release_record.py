"""Released problems are frozen: a wording fix passes, a change that regrades is refused by name."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE_BANK = Path(__file__).parents[1] / "fixtures" / "render" / "bank.yaml"
CONFIG = Path(__file__).parents[2] / "nbgrader_config.py"
ASSIGNMENT = "fixture-a"

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("release-record")]


def _grader(course, *args):
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args), "--course", str(course)],
                          capture_output=True, text=True)


def _edit_bank(course, old, new):
    bank = course / "questions.yaml"
    text = bank.read_text()
    assert text.count(old) == 1, old
    bank.write_text(text.replace(old, new))


def _tree(course):
    return {str(p.relative_to(course)): p.read_bytes() for p in sorted(course.rglob("*"))
            if p.is_file() and p.name != ".nbgrader.log"}


def _hand_in(course, student, notebook, edit_prompt=False):
    """`notebook` as `student`'s submission; `edit_prompt`: with a line added to a locked prompt."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    if edit_prompt:
        prompt = next(c for c in nb.cells if c.metadata.nbgrader.get("grade_id") == "softmax-rows-prompt")
        prompt.source += "\nI edited this."
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    course = tmp_path_factory.mktemp("released")
    shutil.copy(FIXTURE_BANK, course / "questions.yaml")
    shutil.copy(CONFIG, course / "nbgrader_config.py")
    for command in ("render", "release"):
        done = _grader(course, command, "--assignment", ASSIGNMENT)
        assert done.returncode == 0, done.stderr
    for student in ("s1", "s2"):
        (course / "submitted" / student / ASSIGNMENT).mkdir(parents=True)
    return course


@pytest.fixture
def course(released, tmp_path):
    copy = tmp_path / "course"
    shutil.copytree(released, copy)     # nbgrader_config.py roots the course at its own folder
    return copy


def test_release_writes_a_record_of_every_problem(course):
    record = json.loads((course / "release-records" / f"{ASSIGNMENT}.json").read_text())
    assert sorted(record["problems"]) == sorted(["conv-out", "softmax-rows", "relu-init", "softmax-fn", "net-table"])
    assert record["problems"]["conv-out"]["points"] == 2
    assert not (course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.json").exists()


def test_a_parameter_change_is_refused_with_the_affected_count(course):
    _edit_bank(course, "W: {int: [40, 64]}", "W: {int: [40, 80]}")
    before = _tree(course)
    for command in ("render", "release"):
        done = _grader(course, command, "--assignment", ASSIGNMENT)
        assert done.returncode == 2, done.stdout
        assert "fixture-a/conv-out: its parameters, answer, rule or points changed since release" in done.stderr
        assert "2 submissions would be graded on the new spec" in done.stderr
        assert "`python -m grader render --force`" in done.stderr and "`python -m grader grade`" in done.stderr
    assert _tree(course) == before
    validate = _grader(course, "validate")
    assert validate.returncode == 1 and "fixture-a/conv-out" in validate.stderr


def test_a_forced_release_is_explicit_and_becomes_the_new_record(course):
    _edit_bank(course, "credit: 0.25", "credit: 0.5")
    assert _grader(course, "render", "--assignment", ASSIGNMENT).returncode == 2
    assert _grader(course, "render", "--assignment", ASSIGNMENT, "--force").returncode == 0
    forced = _grader(course, "release", "--assignment", ASSIGNMENT, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "forced: fixture-a/conv-out" in forced.stdout
    again = _grader(course, "release", "--assignment", ASSIGNMENT)
    assert again.returncode == 0 and "forced" not in again.stdout


def test_a_forced_release_of_a_bank_not_yet_rendered_is_refused_and_says_to_render(course):
    _edit_bank(course, "credit: 0.25", "credit: 0.5")
    before = _tree(course)
    forced = _grader(course, "release", "--assignment", ASSIGNMENT, "--force")
    assert forced.returncode == 2
    assert "source/ was rendered from an older questions.yaml" in forced.stderr
    assert "`python -m grader render --force` first" in forced.stderr
    assert _tree(course) == before


def test_a_numbers_fix_before_anyone_handed_in_passes_with_a_notice(course):
    for student in ("s1", "s2"):
        shutil.rmtree(course / "submitted" / student)
    _edit_bank(course, "W: {int: [40, 64]}", "W: {int: [40, 80]}")
    assert _grader(course, "render", "--assignment", ASSIGNMENT).returncode == 0
    done = _grader(course, "release", "--assignment", ASSIGNMENT)
    assert done.returncode == 0, done.stderr
    assert "notice: fixture-a/conv-out: its parameters, answer, rule or points changed since release; " \
           "0 submissions would be graded on the new spec" in done.stdout


def test_a_wording_fix_changes_no_numbers_and_passes(course):
    record = json.loads((course / "release-records" / f"{ASSIGNMENT}.json").read_text())
    _edit_bank(course, "What is the output's spatial size $O$?", "What is the spatial size $O$ of the output?")
    _edit_bank(course, "The padding adds 2P to the input size", "Padding adds 2P to the input size")
    for command in ("validate", "render", "release"):
        done = _grader(course, command, *(["--assignment", ASSIGNMENT] if command != "validate" else []))
        assert done.returncode == 0, done.stderr
    assert "fixture-a/conv-out: wording changed since release" in done.stdout
    new = json.loads((course / "release-records" / f"{ASSIGNMENT}.json").read_text())
    assert new["problems"]["conv-out"]["digest"] != record["problems"]["conv-out"]["digest"]
    assert new["problems"]["conv-out"]["grading_digest"] == record["problems"]["conv-out"]["grading_digest"]


def test_removing_a_released_problem_is_refused(course):
    _edit_bank(course, "problems: [conv-out, softmax-rows, relu-init, softmax-fn, net-table]",
               "problems: [conv-out, softmax-rows, relu-init, softmax-fn]")
    done = _grader(course, "release", "--assignment", ASSIGNMENT)
    assert done.returncode == 2 and "fixture-a/net-table: removed from the assignment after release" in done.stderr


def test_a_notebook_from_before_a_forced_release_is_told_apart_from_an_edited_one(course):
    """Grading names the instructor's change, not 'locked cell edited', for a notebook handed out
    before a forced re-release; a student who edits a locked cell is still reported as such."""

    from grader.grading import grade_assignment
    from grader.grading.notebook.config import effective_config

    released = course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    for student, edit in (("early", False), ("editor", True)):
        _hand_in(course, student, released, edit_prompt=edit)
    _edit_bank(course, "W: {int: [40, 64]}", "W: {int: [40, 80]}")
    for command in ("render", "release"):
        assert _grader(course, command, "--assignment", ASSIGNMENT, "--force").returncode == 0
    run = grade_assignment(course, ASSIGNMENT, students=["early", "editor"], config=effective_config(course))
    early, editor = run.outcomes["early"].reasons, run.outcomes["editor"].reasons
    assert "conv-out-prompt: changed after this notebook was handed out (the problem was released again); " \
           "graded on the current spec" in early
    assert not [reason for reason in early if "conv-out-prompt" in reason and "restored" in reason]
    assert "softmax-rows-prompt: locked cell edited; restored from the source" in editor
    record = json.loads((course / "release-records" / f"{ASSIGNMENT}.json").read_text())
    assert list(record["earlier_locked_cells"]) == ["conv-out-prompt"]


def test_per_student_notebooks_from_before_a_wording_fix_or_the_common_notebook_are_not_called_edited(course):
    """Per student, the locked cells a student was handed (nbgrader's checksum still holds) are told
    apart from a student's edit: after a wording fix (the same numbers in other words: not listed at
    all, #19) and for the assignment's common notebook handed in instead of the student's own."""

    from grader.grading import grade_assignment
    from grader.grading.notebook.config import effective_config

    _edit_bank(course, "  - id: fixture-a\n", "  - id: fixture-a\n    variant_key: student\n")
    students = ["early", "editor", "common"]
    for command in ("render", "release"):
        assert _grader(course, command, "--assignment", ASSIGNMENT, "--force").returncode == 0
    done = _grader(course, "release", "--assignment", ASSIGNMENT, "--per-student",
                   *[arg for student in students for arg in ("--student", student)])
    assert done.returncode == 0, done.stderr
    for student in students:
        own = course / "release-students" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        _hand_in(course, student, course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb" if student == "common"
                 else own, edit_prompt=student == "editor")
    _edit_bank(course, "title: Softmax of a batch of logits", "title: Softmax of each row of a batch of logits")
    for command in ("render", "release"):
        done = _grader(course, command, "--assignment", ASSIGNMENT)
        assert done.returncode == 0, done.stderr
    handed_out = (course / "release-students" / "early" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    done = _grader(course, "release", "--assignment", ASSIGNMENT, "--per-student",      # no --force for a wording fix
                   *[arg for student in students for arg in ("--student", student)])
    assert done.returncode == 0, done.stderr
    reworded = (course / "release-students" / "early" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert "Softmax of each row" in reworded and "Softmax of each row" not in handed_out
    run = grade_assignment(course, ASSIGNMENT, students=students, config=effective_config(course))
    reasons = {student: run.outcomes[student].reasons for student in students}
    assert not [r for r in reasons["early"] if "edited" in r or "restored" in r], reasons["early"]
    assert not [r for r in reasons["early"] if "softmax-rows" in r], reasons["early"]   # the same numbers, reworded
    assert not [r for r in reasons["common"] if "edited" in r or "restored" in r], reasons["common"]
    assert "conv-out-prompt: from the assignment's common notebook, not the student's own; graded on the " \
           "student's own numbers" in reasons["common"]
    assert "softmax-rows-prompt: locked cell edited; restored from the source" in reasons["editor"]


def test_keying_an_assignment_per_student_is_a_grading_change_and_sharing_a_problem_there_too(course):
    _edit_bank(course, "  - id: fixture-a\n", "  - id: fixture-a\n    variant_key: student\n")
    done = _grader(course, "render", "--assignment", ASSIGNMENT)
    assert done.returncode == 2
    for problem in ("conv-out", "softmax-rows", "relu-init", "softmax-fn", "net-table"):
        assert f"fixture-a/{problem}: its parameters, answer, rule or points changed" in done.stderr
    assert _grader(course, "render", "--assignment", ASSIGNMENT, "--force").returncode == 0
    assert _grader(course, "release", "--assignment", ASSIGNMENT, "--force").returncode == 0
    _edit_bank(course, "  - id: relu-init\n", "  - id: relu-init\n    shared: true\n")
    done = _grader(course, "render", "--assignment", ASSIGNMENT)
    assert done.returncode == 2 and "fixture-a/relu-init: its parameters" in done.stderr
    assert "conv-out" not in done.stderr


def test_sharing_a_problem_of_an_assignment_keyed_by_the_assignment_changes_no_numbers(course):
    _edit_bank(course, "  - id: relu-init\n", "  - id: relu-init\n    shared: true\n")
    done = _grader(course, "render", "--assignment", ASSIGNMENT)
    assert done.returncode == 0, done.stderr
