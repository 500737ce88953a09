"""Public checks (grader.kinds.checks, issue #12): loaded with file:line errors, rendered above the hidden
tests as numpy-only code that prints, run by validate and qa against the right answer, and read by the
release leak check like any other cell."""

import subprocess
import sys
import textwrap

import nbformat
import numpy as np
import pytest

from grader import release as rel
from grader.bank import BankError, load_bank_text
from grader.bank.loader import parse_bank
from grader.kinds.checks import FAILED, PASSED, failures
from grader.qa import run_qa
from grader.render import render_assignment
from grader.validation import check_bank_text

HEAD = """\
course: T
seed: 3
assignments: [{id: a, title: A, problems: [IDS]}]
problems:
"""

PROBS = """\
  - id: probs
    title: Softmax of a batch
    section: activations
    formula: [act.softmax]
    points: 2
    kind: array
    prompt: |
      Give the softmax of each row of $z = {{ z | latex }}$ (each row sums to 1, every entry in [0, 1]).
    params:
      z: {array: {shape: [2, 4], std: 2}}
    answer: softmax(z)
    checks:
      - rows_sum_to_one
      - {within: [0, 1], says: "softmax outputs are probabilities: every entry lies in [0, 1]"}
"""

SOFT = """\
  - id: soft
    title: Write softmax
    section: activations
    formula: [act.softmax]
    points: 3
    kind: function
    prompt: |
      Write `softmax(z)` along the last axis; one test input is $z = {{ z | latex }}$ (rows sum to 1).
    params:
      z: {array: {shape: [3, 4], std: 3}}
    function:
      name: softmax
      signature: softmax(z)
      cases: [[z], ["np.array([[1000.0, -1000.0, 0.0]])"]]
    answer: softmax
    checks:
      - {rows_sum_to_one: true, args: [z]}
      - {finite: true, args: ["np.array([[1000.0, -1000.0, 0.0]])"], says: "softmax(z) is finite for logits of ±1000"}
"""

BOX = """\
  - id: box
    title: IoU
    section: detection
    formula: [det.iou]
    points: 1
    kind: numeric
    prompt: |
      The IoU (it lies in [0, 1]) of $a = {{ a | py }}$ and $b = {{ b | py }}$?
    params:
      a: {box: {size: 20}}
      b: {box: {size: 20}}
    constraints: ["iou(a, b) > 0.05"]
    answer: iou(a, b)
    checks:
      - {within: [0, 1]}
"""


def bank_text(*problems):
    """A bank of these problems, all in assignment `a`."""
    ids = [problem.split("- id: ", 1)[1].split()[0] for problem in problems]
    return HEAD.replace("IDS", ", ".join(ids)) + "".join(problems)


def bank_of(*problems):
    return load_bank_text(bank_text(*problems))


@pytest.fixture(scope="module")
def bank():
    return bank_of(PROBS, SOFT, BOX)


def cells_of(notebook, problem_id):
    return {cell.metadata.nbgrader.grade_id.rpartition("-")[2]: cell for cell in notebook.cells
            if cell.metadata.nbgrader.grade_id.startswith(problem_id + "-")}


def student_copy(notebook):
    """What nbgrader hands out: solutions replaced, hidden tests removed (enough for these tests)."""
    notebook = nbformat.reads(nbformat.writes(notebook), as_version=4)
    for cell in notebook.cells:
        if cell.metadata.nbgrader.get("solution"):
            cell.source = "# YOUR CODE HERE\nraise NotImplementedError()"
        if "### BEGIN HIDDEN TESTS" in cell.source:
            cell.source = cell.source.partition("### BEGIN HIDDEN TESTS")[0].rstrip("\n")
    return notebook


def run_visible(notebook, problem_id, answer_source):
    """Run setup, the inputs cell, `answer_source` and the visible test cell in a fresh Python in
    which `import grader` fails (the grading kernel will not have it); (stdout, exit code)."""
    cells = cells_of(notebook, problem_id)
    setup = next(cell.source for cell in notebook.cells if cell.metadata.nbgrader.grade_id == "setup")
    parts = [setup, cells["inputs"].source if "inputs" in cells else "", answer_source, cells["test"].source]
    program = "import sys\nsys.modules['grader'] = None\n" + "\n".join(parts)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr, done.returncode


# --- the notebook ------------------------------------------------------------------------------

def test_the_checks_are_visible_lines_above_the_hidden_tests(bank):
    test = cells_of(render_assignment(bank, "a"), "probs")["test"].source
    visible, _, hidden = test.partition("### BEGIN HIDDEN TESTS")
    assert "_public_check(lambda: np.all(np.abs(np.sum(np.asarray(q1, dtype=float), axis=-1) - 1) <= 1e-2)" in visible
    assert '"softmax outputs are probabilities: every entry lies in [0, 1]"' in visible
    assert "_public_check" not in hidden and "grader" not in visible


def test_a_right_answer_passes_and_a_wrong_one_is_told_without_stopping_the_cell(bank):
    notebook = student_copy(render_assignment(bank, "a"))
    out, code = run_visible(notebook, "probs", "q1 = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)")
    assert code == 0 and FAILED not in out
    assert out.count(PASSED) == 2
    out, code = run_visible(notebook, "probs", "q1 = np.exp(z)")       # forgot to normalise
    assert code == 0, out                                               # prints; never stops the cell
    assert f"{FAILED}the entries of q1 along its last axis (each row) sum to 1" in out
    assert f"{FAILED}softmax outputs are probabilities: every entry lies in [0, 1]" in out
    out, code = run_visible(notebook, "probs", "q1 = np.full((2, 4), 0.25)")   # rows sum to 1, but wrong
    assert code == 0 and FAILED not in out                             # a check is a property, not the answer


def test_function_checks_call_the_students_function_on_the_prompts_example(bank):
    notebook = student_copy(render_assignment(bank, "a"))
    stable = ("def softmax(z):\n    e = np.exp(z - z.max(axis=-1, keepdims=True))\n"
              "    return e / e.sum(axis=-1, keepdims=True)")
    out, code = run_visible(notebook, "soft", stable)
    assert code == 0 and out.count(PASSED) == 2 and FAILED not in out
    naive = "def softmax(z):\n    print('debug', z)\n    return np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)"
    out, code = run_visible(notebook, "soft", naive)
    assert code == 0
    # exactly the verdicts: the function's own prints and numpy's overflow warnings are swallowed
    assert out == (f"{PASSED}the entries of softmax(z) along its last axis (each row) sum to 1\n"
                   f"{FAILED}softmax(z) is finite for logits of ±1000\n")
    out, code = run_visible(notebook, "soft", "def softmax(z):\n    raise ValueError('todo')")
    assert code == 0 and out.count(FAILED) == 2                        # the student's error is a failed check


def test_the_right_answer_at_the_edge_of_the_tolerance_passes(bank):
    from grader.render import problem_variants

    for variant in problem_variants(bank, "a"):
        labels = [label for label, _ in variant.kind.right_answers(variant)]
        assert any("edge" in label for label in labels), variant.problem.id
        assert failures(variant) == [], variant.problem.id


# --- validate and qa -----------------------------------------------------------------------------

def test_validate_and_qa_catch_a_check_the_right_answer_fails():
    text = bank_text(PROBS.replace("{within: [0, 1], says:", "{within: [0, 0.5], says:"))
    with pytest.raises(BankError) as caught:
        check_bank_text(text)
    line = text.splitlines().index(
        '      - {within: [0, 0.5], says: "softmax outputs are probabilities: every entry lies in [0, 1]"}') + 1
    assert str(caught.value).startswith(f"questions.yaml:{line}: problem 'probs': checks[1]: the public check "
                                        f"'within [0, 0.5]' fails the right answer")
    bank, issues = parse_bank(text)
    assert not issues.items                                           # the loader alone cannot know
    report = run_qa(bank, 30)[0]
    assert report.failures["public check"] > 0
    assert f"checks[1] (line {line}, 'within [0, 0.5]') fails the right answer" in report.examples["public check"]


def test_a_check_that_fails_only_at_the_edge_of_the_tolerance_is_caught():
    """An integer check on a float answer: the exact value is whole, the tolerance's edge is not."""
    text = bank_text("""\
  - id: half
    title: Half
    section: losses
    formula: [loss.mse]
    points: 1
    kind: numeric
    prompt: "Half of {{ n }}"
    params:
      n: {int: [2, 40], step: 2}
    answer: n / 2
    compare: {rule: close, rtol: 0.01}
    checks: [integer]
""")
    report = run_qa(load_bank_text(text), 5)[0]
    assert "fails the right answer moved to the edge of the tolerance" in report.examples["public check"]


def test_qa_notes_checks_no_wrong_answer_fails(bank):
    reports = {report.problem_id: report for report in run_qa(bank, 10)}
    assert not any(report.failed for report in reports.values())
    assert reports["probs"].idle_checks == []
    assert reports["soft"].idle_checks == [f"checks[1] (line {bank.problems['soft'].checks[1].line}, 'finite')"]


# --- the loader ----------------------------------------------------------------------------------

def bad(problem_text, old, new):
    text = bank_text(problem_text.replace(old, new))
    with pytest.raises(BankError) as caught:
        load_bank_text(text)
    last = new.splitlines()[-1].strip()
    line = next(number for number, row in enumerate(text.splitlines(), 1) if last in row)
    return str(caught.value), line


@pytest.mark.parametrize("problem, old, new, message", [
    (PROBS, "- rows_sum_to_one", "- rows_sum_to_zero", "checks[0]: unknown word 'rows_sum_to_zero' (one of "),
    (PROBS, "- rows_sum_to_one", "- {integer: true, finite: true}",
     "checks[0]: needs exactly one of rows_sum_to_one, within, at_least, at_most, integer, finite "
     "(found integer, finite)"),
    (PROBS, "- rows_sum_to_one", "- {says: nothing to check}", "checks[0]: needs exactly one of"),
    (PROBS, "- rows_sum_to_one", "- {within: [1, 0]}", "checks[0]: within: [1, 0] is empty or a single value"),
    (PROBS, "- rows_sum_to_one", "- {at_least: .inf}", "checks[0]: at_least: bounds must be finite numbers"),
    (PROBS, '- {within: [0, 1], says: "softmax outputs are probabilities: every entry lies in [0, 1]"}',
     "- {within: [0.7, 1]}", "checks[1]: the ranges together allow only [0.7, 1]: that narrows in on the answer"),
    (BOX, "- {within: [0, 1]}", "- {at_least: 0.4}\n      - {at_most: 0.45}",
     "checks[1]: the ranges together allow only [0.4, 0.45]"),
    (PROBS, "- rows_sum_to_one", "- {rows_sum_to_one: true, args: [z]}",
     "checks[0]: args: only function problems call the answer with arguments"),
    (SOFT, "- {rows_sum_to_one: true, args: [z]}", "- rows_sum_to_one",
     "checks[0]: a function problem's check needs `args:`"),
    (SOFT, "args: [z]}", "args: [softmax(z)]}",
     "checks[0].args: 'softmax' is not available in the student's notebook (public checks run with numpy only)"),
    (SOFT, "args: [z]}", "args: [y]}", "checks[0].args: unknown name 'y'"),
])
def test_malformed_checks_are_errors_at_their_line(problem, old, new, message):
    text, line = bad(problem, old, new)
    assert f"questions.yaml:{line}: problem '" in text and message in text, text


def test_a_choice_problem_takes_no_checks():
    text = bank_text(textwrap.indent(textwrap.dedent("""\
        - id: c
          title: C
          section: cnn
          formula: [cnn.out_size]
          points: 1
          kind: choice
          prompt: Pick
          options: {A: one, B: two}
          answer: A
          checks: [finite]
        """), "  "))
    with pytest.raises(BankError) as caught:
        load_bank_text(text)
    assert "questions.yaml:14: problem 'c': checks: a choice problem takes no public checks" in str(caught.value)


# --- the leak check ------------------------------------------------------------------------------

def test_the_release_leak_check_passes_the_checks_and_rejects_one_that_embeds_the_answer(bank):
    assert rel.find_leaks(student_copy(render_assignment(bank, "a")), bank, "a") == []
    from grader.render import problem_variants
    expected = next(v for v in problem_variants(bank, "a") if v.problem.id == "box").expected
    assert 0 < expected < 1
    leaky = bank_of(PROBS, SOFT, BOX.replace("- {within: [0, 1]}",
                                             f"- {{within: [0, 1], says: 'IoU is {expected:.4f}'}}"))
    found = rel.find_leaks(student_copy(render_assignment(leaky, "a")), leaky, "a")
    assert found == [f"box cell box-test: shows {expected:.4f}, an expected value"]


def test_a_bound_the_prompt_does_not_show_is_a_leak_when_it_is_an_expected_value():
    """Rows of a one-hot softmax are exactly 0 and 1: `within: [0, 1]` may say so only when the prompt does."""
    logits = [[1000.0, -1000.0, 0.0], [0.0, 1000.0, -1000.0]]
    quiet = PROBS.replace(" (each row sums to 1, every entry in [0, 1])", "").replace(
        "z: {array: {shape: [2, 4], std: 2}}", f"z: {{value: {logits}}}")
    quiet = quiet.replace("$z = {{ z | latex }}$", "the logits")
    bank = bank_of(BOX, quiet)     # problem 2: "Problem 1" would make 1 a number the prompt shows
    assert np.all(np.isin(bank.problems["probs"].answer.evaluate({"z": np.array(logits)}), [0, 1]))
    found = rel.find_leaks(student_copy(render_assignment(bank, "a")), bank, "a")
    assert "probs cell probs-test: shows 1, an expected value" in found, found
    assert all("probs-test" in leak for leak in found), found
