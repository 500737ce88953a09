"""Release through nbgrader: nothing leaks, --check catches drift, and the committed notebooks are in sync."""

import copy
from pathlib import Path

import nbformat
import numpy as np
import pytest
from render_kit import ASSIGNMENT, FIXTURE_BANK, REPO_ROOT, make_course

from grader import release as rel
from grader import render
from grader.bank import load_bank
from grader.cli import main
from grader.variants import draw


def release_notebook(course, assignment=ASSIGNMENT):
    return nbformat.read(render.notebook_path(course, assignment, rel.RELEASE_DIR), as_version=4)


def cell(notebook, grade_id):
    return next(c for c in notebook.cells if c.metadata.nbgrader.grade_id == grade_id)


@pytest.fixture
def released(course):
    assert main(["--course", str(course), "render"]) == 0
    assert main(["--course", str(course), "release"]) == 0
    return course


def snapshot(directory):
    return {p: p.read_bytes() for p in sorted(Path(directory).rglob("*")) if p.is_file()}


# --- what the release holds ------------------------------------------------------------------------

def test_release_has_stubs_and_format_checks_but_no_solutions_or_hidden_tests(released, fixture_bank):
    notebook = release_notebook(released)
    text = nbformat.writes(notebook)
    for marker in rel.LEAK_MARKERS:
        assert marker not in text
    for problem in fixture_bank.problems.values():
        assert problem.digest not in text
    assert cell(notebook, "conv-out-answer").source == "# YOUR CODE HERE\nraise NotImplementedError()"
    assert cell(notebook, "conv-out-test").source.startswith("# Format checks.")
    assert rel.find_leaks(notebook, fixture_bank, ASSIGNMENT) == []
    assert (released / "gradebook.db").is_file()   # autograde restores the hidden tests from it


def test_release_is_idempotent(released, capsys):
    before = snapshot(released / "release")
    capsys.readouterr()
    assert main(["--course", str(released), "release"]) == 0
    assert "0 file(s) changed" in capsys.readouterr().out
    assert snapshot(released / "release") == before


# --- the leak detector can see leaks -----------------------------------------------------------------

def expected_conv(bank):
    v = draw(bank, bank.problems["conv-out"], ASSIGNMENT)
    return (v["W"] - v["K"] + 2 * v["P"]) // v["S"] + 1   # the sheet's formula, written out


def leaks_after(released, bank, edit):
    notebook = copy.deepcopy(release_notebook(released))
    edit(notebook)
    return rel.find_leaks(notebook, bank, ASSIGNMENT)


def test_an_expected_integer_in_a_test_cell_is_a_leak(released, fixture_bank):
    answer = expected_conv(fixture_bank)

    def edit(nb):
        cell(nb, "conv-out-test").source += f"\n# hint: {answer}"

    assert leaks_after(released, fixture_bank, edit) == [
        f"conv-out cell conv-out-test: shows {answer}, an expected value"]


def test_an_expected_float_with_four_digits_in_a_prompt_is_a_leak(released, fixture_bank):
    z = draw(fixture_bank, fixture_bank.problems["softmax-rows"], ASSIGNMENT)["z"]
    p = np.exp(z[1]) / np.exp(z[1]).sum()                 # softmax of the second row, by hand
    shown = f"{p[2]:.4f}"

    def edit(nb):
        cell(nb, "softmax-rows-prompt").source += f"\n\nFor instance, one entry is {shown}."

    found = leaks_after(released, fixture_bank, edit)
    assert found == [f"softmax-rows cell softmax-rows-prompt: shows {shown}, an expected value"]


def test_two_significant_digits_are_too_few_to_count(released, fixture_bank):
    z = draw(fixture_bank, fixture_bank.problems["softmax-rows"], ASSIGNMENT)["z"]
    p = np.exp(z[1]) / np.exp(z[1]).sum()
    two_digits = f"{p[2]:.2g}"

    def edit(nb):
        cell(nb, "softmax-rows-prompt").source += f"\n\nRoughly {two_digits}."

    assert leaks_after(released, fixture_bank, edit) == []


def test_the_choice_key_in_code_is_a_leak_but_in_the_option_list_is_not(released, fixture_bank):
    def edit(nb):
        cell(nb, "relu-init-test").source += '\nassert q3 in {"B"}'

    assert leaks_after(released, fixture_bank, edit) == [
        "relu-init cell relu-init-test: code holds the string 'B', an expected value"]
    assert "- **B.** He" in cell(release_notebook(released), "relu-init-prompt").source


@pytest.mark.parametrize("text, expected", [
    ("### BEGIN SOLUTION", "cell conv-out-test: contains 'BEGIN SOLUTION'"),
    ('_grader_report("conv-out", q1, spec="x")', "cell conv-out-test: contains '_grader_report'"),
])
def test_markers_are_leaks(released, fixture_bank, text, expected):
    def edit(nb):
        cell(nb, "conv-out-test").source += "\n" + text

    assert expected in leaks_after(released, fixture_bank, edit)


def test_a_digest_is_a_leak(released, fixture_bank):
    digest = fixture_bank.problems["net-table"].digest

    def edit(nb):
        cell(nb, "title").source += f"\n{digest}"

    assert leaks_after(released, fixture_bank, edit) == [f"cell title: contains the digest {digest}"]


def test_a_prompt_showing_a_parameter_that_is_the_answer_is_refused(tmp_path, capsys):
    text = FIXTURE_BANK.read_text().replace(
        "      S: {choice: [1, 2]}\n",
        "      S: {choice: [1, 2]}\n      O: {expr: 'conv_output_size(W, K, P, S)'}\n", 1).replace(
        "What is the output's spatial size $O$?", "(It is $O = {{ O }}$.)", 1)
    course = make_course(tmp_path / "course", text)
    answer = expected_conv(load_bank(course / "questions.yaml"))
    assert main(["--course", str(course), "render"]) == 0
    assert main(["--course", str(course), "release"]) == 2
    err = capsys.readouterr().err
    assert f"conv-out cell conv-out-prompt: shows {answer}, an expected value" in err
    assert not (course / rel.RELEASE_DIR).exists()     # nothing released


# --- --check -------------------------------------------------------------------------------------

def test_release_check_passes_when_in_sync(released, capsys):
    assert main(["--course", str(released), "release", "--check"]) == 0


def test_release_check_needs_no_gradebook_and_makes_none(released, capsys):
    (released / "gradebook.db").unlink()    # a fresh clone has release/ committed but no gradebook
    assert main(["--course", str(released), "release", "--check"]) == 0, capsys.readouterr()
    assert not (released / "gradebook.db").exists()


def test_release_check_catches_hand_edits_and_extra_files_and_writes_nothing(released, capsys):
    path = render.notebook_path(released, ASSIGNMENT, rel.RELEASE_DIR)
    path.write_text(path.read_text().replace("Every kind of problem", "Edited by hand"))
    (path.parent / "stray.txt").write_text("x")
    before = snapshot(released / "release")
    capsys.readouterr()
    assert main(["--course", str(released), "release", "--check"]) == 1
    out = capsys.readouterr().out
    assert f"out of date: release/{ASSIGNMENT}/{ASSIGNMENT}.ipynb (differs)" in out
    assert f"out of date: release/{ASSIGNMENT}/stray.txt (not generated from source/)" in out
    assert snapshot(released / "release") == before
    assert main(["--course", str(released), "release"]) == 0
    assert main(["--course", str(released), "release", "--check"]) == 0
    assert not (path.parent / "stray.txt").exists()


def test_release_check_catches_a_rerendered_source(released, capsys):
    bank = released / "questions.yaml"
    bank.write_text(bank.read_text().replace("Which initialisation", "Which weight initialisation"))
    assert main(["--course", str(released), "render"]) == 0
    assert main(["--course", str(released), "release", "--check"]) == 1
    assert main(["--course", str(released), "release"]) == 0
    assert main(["--course", str(released), "release", "--check"]) == 0


def test_release_without_source_is_a_clear_error(course, capsys):
    assert main(["--course", str(course), "release"]) == 2
    assert "run `python -m grader render` first" in capsys.readouterr().err


# --- the committed notebooks ---------------------------------------------------------------------------

committed_bank = REPO_ROOT / "questions.yaml"
needs_bank = pytest.mark.skipif(not committed_bank.is_file(), reason="no questions.yaml in the repository")


@needs_bank
def test_committed_source_and_release_are_in_sync_with_questions_yaml(capsys):
    assert main(["--course", str(REPO_ROOT), "render", "--check"]) == 0, capsys.readouterr().out
    assert main(["--course", str(REPO_ROOT), "release", "--check"]) == 0, capsys.readouterr().out


@needs_bank
def test_committed_release_notebooks_leak_nothing():
    bank = load_bank(committed_bank)
    for assignment_id in bank.assignments:
        path = render.notebook_path(REPO_ROOT, assignment_id, rel.RELEASE_DIR)
        assert path.is_file(), f"{path} is missing: run `python -m grader release`"
        notebook = nbformat.read(path, as_version=4)
        assert rel.find_leaks(notebook, bank, assignment_id) == []


@pytest.mark.parametrize("text, number, shown", [
    (r"$O = 50$", 50, True),
    (r"$50\times50$", 50, True),          # a LaTeX command does not hide a number
    ("q50 = 3", 50, False),                # a name is not a number
    ("0.7311", 0.73105858, True),          # rounded
    ("0.7310", 0.73105858, True),          # truncated
    ("7.311e-1", 0.73105858, True),
    ("0.73", 0.73105858, False),           # two significant digits: too few to pass the rule
    ("-0.7311", -0.73105858, True),
    ("12346", 12345.678, True),
    ("0.7312", 0.73105858, False),
])
def test_number_matching(text, number, shown):
    assert any(rel.token_shows(token, number) for token in rel.number_tokens(text)) is shown


def test_an_assignment_dropped_from_the_bank_is_flagged_then_removed(released, capsys):
    bank = released / "questions.yaml"
    bank.write_text(bank.read_text().replace(
        "  - id: fixture-b\n    title: One problem\n    problems: [conv-out]\n", ""))
    hand_made = released / "source" / "notes" / "notes.ipynb"
    hand_made.parent.mkdir()
    hand_made.write_text("{}")                  # not rendered by grader: left alone
    capsys.readouterr()
    assert main(["--course", str(released), "render", "--check"]) == 1
    assert main(["--course", str(released), "release", "--check"]) == 1
    out = capsys.readouterr().out
    assert "not in the bank: source/fixture-b/fixture-b.ipynb" in out
    assert "not in the bank: release/fixture-b/" in out
    assert "notes" not in out
    assert main(["--course", str(released), "render"]) == 0
    assert main(["--course", str(released), "release"]) == 0
    assert not (released / "source" / "fixture-b").exists() and not (released / "release" / "fixture-b").exists()
    assert hand_made.is_file()
    assert main(["--course", str(released), "render", "--check"]) == 0


# --- public checks in the committed release (issue #12) -------------------------------------------

def run_released_test_cell(assignment, problem_id, answer_source):
    """Setup, the inputs cell, `answer_source` and the visible test cell of the committed release
    notebook, in a fresh Python where `import grader` fails (the student's kernel has numpy only)."""
    import subprocess
    import sys

    notebook = nbformat.read(REPO_ROOT / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    sources = {c.metadata.nbgrader.grade_id: c.source for c in notebook.cells}
    parts = [sources["setup"], sources.get(f"{problem_id}-inputs", ""), answer_source, sources[f"{problem_id}-test"]]
    program = "import sys\nsys.modules['grader'] = None\n" + "\n".join(parts)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_released_public_checks_run_with_numpy_only_and_tell_a_wrong_answer():
    right = ("def iou(box_a, box_b):\n"
             "    w = max(0, min(box_a[2], box_b[2]) - max(box_a[0], box_b[0]))\n"
             "    h = max(0, min(box_a[3], box_b[3]) - max(box_a[1], box_b[1]))\n"
             "    area = lambda b: (b[2] - b[0]) * (b[3] - b[1])\n"
             "    return w * h / (area(box_a) + area(box_b) - w * h)")
    # the shipped homework may be checked before the deadline: without a check service the test cell says
    # so after its public checks (grader/render.py, the Check button's helper)
    unavailable = ("Checking before the deadline is not available here: this answer is checked when the "
                   "assignment is graded.\n")
    assert run_released_test_cell("cnn-detection", "iou-function", right) == \
        "public check passed: iou(a, b) lies in [0, 1]\n" + unavailable
    wrong = right.replace("w * h / (area(box_a) + area(box_b) - w * h)", "area(box_a) + area(box_b)")
    assert run_released_test_cell("cnn-detection", "iou-function", wrong) == \
        "PUBLIC CHECK FAILED: iou(a, b) lies in [0, 1]\n" + unavailable
    out = run_released_test_cell("embeddings-rnn-attention", "noise-distribution",
                                 "q5 = counts ** 0.75")     # the not-normalized misconception
    assert "PUBLIC CHECK FAILED: the entries of q5 along its last axis (each row) sum to 1" in out, out
