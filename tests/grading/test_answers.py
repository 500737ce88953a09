"""Answers reported by the kernel, graded by the grading process (grader/grading/notebook/answers.py,
in_kernel.py): the codec both ways, the strict decoder against hostile reports, and grading a
test cell from its outputs. The "kernel" here is in_kernel.report run in this process, its
stdout captured as a notebook's stream output; tests/grading/test_grade.py runs real kernels."""

import contextlib
import io
import json
import os

import nbformat
import numpy as np
import pytest
from nbgrader.utils import determine_grade
from render_kit import ASSIGNMENT

from grader import engine, render
from grader.errors import GraderError
from grader.grading.kernel import in_kernel
from grader.grading.notebook import answers
from grader.protocol import RESULT_PREFIX, notebook_results, reported_spec
from grader.variants import draw


@pytest.fixture
def key(fixture_bank):
    return answers.StudentKey(fixture_bank, ASSIGNMENT, "ada")


def cell_of(fixture_bank, problem_id):
    notebook = render.render_assignment(fixture_bank, ASSIGNMENT)
    return next(c for c in notebook.cells if c.metadata.nbgrader.grade_id == f"{problem_id}-test")


def kernel_stdout(problem_id, answer, cases=None):
    """What the hidden test prints in a kernel, with the worker's cases installed."""
    in_kernel.CASES.clear()
    in_kernel.CASES.update(cases or {})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        in_kernel.report(problem_id, answer, spec="ignored")
    return out.getvalue()


def graded(fixture_bank, key, problem_id, *texts, error=None):
    cell = cell_of(fixture_bank, problem_id)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text) for text in texts]
    if error is not None:
        cell.outputs.append(nbformat.v4.new_output("error", ename=error[0], evalue=error[1], traceback=[]))
    cell.outputs = answers.grade_test_cell(cell, key)
    cell.metadata.nbgrader["points"] = fixture_bank.problems[problem_id].points
    return cell


def score(cell):
    return determine_grade(cell)[0]


def result_of(cell):
    return notebook_results(nbformat.v4.new_notebook(cells=[cell]))[cell.metadata.nbgrader.grade_id[:-5]]


# --- the codec ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    None, True, 3, -2.5, "B", [1, 2.0, "x"], (1, (2, 3)), {"a": [1, 2]}, {1, 2},
    np.arange(6, dtype=np.int64).reshape(2, 3), np.array([[0.5, np.nan], [np.inf, -np.inf]]),
    np.array([True, False]), np.float32(1.5), np.int16(-4), [((1, 28, 28), 0)],
])
def test_encode_then_decode_gives_the_same_value(value):
    text = json.dumps(in_kernel.encode(value), allow_nan=False)
    back = in_kernel.decode(json.loads(text))
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and back.shape == value.shape
        np.testing.assert_array_equal(back, value)
    elif isinstance(value, (np.floating, np.integer)):
        assert back == value and type(back) in (float, int)
    else:
        assert back == value and type(back) is type(value)


def test_objects_that_are_not_plain_data_are_reported_by_type_name():
    class Liar:
        def __eq__(self, other):
            return True

    assert in_kernel.encode(Liar()) == {"$unsupported": "Liar"}
    assert in_kernel.encode(np.array(["a", "b"])) == ["a", "b"]
    assert in_kernel.encode(np.array([object()])) == {"$unsupported": "array of object, shape (1,)"}
    deep = []
    for _ in range(100):
        deep = [deep]
    assert "$unsupported" in json.dumps(in_kernel.encode(deep))


@pytest.mark.parametrize("data, message", [
    ({"$array": {"dtype": "object", "shape": [1], "data": [1]}}, "not allowed"),
    ({"$array": {"dtype": "float64", "shape": [2, 2], "data": [1, 2, 3]}}, "does not match"),
    ({"$array": {"dtype": "int8", "shape": [1], "data": [1000]}}, "does not fit"),
    ({"$array": {"dtype": "float64", "shape": [1], "data": ["1"]}}, "expected a number"),
    ({"$array": {"dtype": "float64", "shape": [-1], "data": []}}, "bad array shape"),
    ({"$pickle": "gASV"}, "unknown tag"),
    ({"$tuple": [1], "$set": [2]}, "exactly one tag"),
    ({"$float": "1e999"}, "bad \\$float"),
    ({"$dict": [[[1], 2]]}, "unhashable"),
    ({"$calls": [{"value": 1, "raised": "x"}]}, "outcome"),
])
def test_the_decoder_rejects_anything_but_the_codec(data, message):
    with pytest.raises(in_kernel.CodecError, match=message):
        in_kernel.decode(data)


def test_a_report_line_is_parsed_strictly():
    assert answers.decode_answer('{"problem": "p", "answer": [1, 2]}') == [1, 2]
    for body in ('{"problem": "p", "answer": 1, "fraction": 1.0}', '[1]', 'not json', '{"problem": "p"}',
                 '{"problem": "p", "answer": ' + "[" * 100000 + "]" * 100000 + "}"):
        with pytest.raises(in_kernel.CodecError):
            answers.decode_answer(body)


# --- grading a test cell ------------------------------------------------------------------------

def test_right_answer_earns_every_point(fixture_bank, key):
    v = draw(fixture_bank, fixture_bank.problems["conv-out"], ASSIGNMENT)
    right = engine.conv_output_size(v["W"], v["K"], v["P"], v["S"])
    cell = graded(fixture_bank, key, "conv-out", kernel_stdout("conv-out", right))
    assert score(cell) == 2.0
    assert result_of(cell)["correct"] is True
    assert cell.outputs[0].text.splitlines()[1] == "conv-out: 2/2 points. Correct."


def test_misconception_and_wrong_answers(fixture_bank, key):
    v = draw(fixture_bank, fixture_bank.problems["conv-out"], ASSIGNMENT)
    forgot_padding = engine.conv_output_size(v["W"], v["K"], 0, v["S"])
    cell = graded(fixture_bank, key, "conv-out", kernel_stdout("conv-out", forgot_padding))
    assert score(cell) == 0.5 and result_of(cell)["misconception"] == "forgot-padding"
    for wrong in (float("nan"), "52", None, -1, 10**6):
        assert score(graded(fixture_bank, key, "conv-out", kernel_stdout("conv-out", wrong))) == 0.0


def test_array_answer_with_a_misconception(fixture_bank, key):
    z = draw(fixture_bank, fixture_bank.problems["softmax-rows"], ASSIGNMENT)["z"]
    column_softmax = np.exp(z) / np.exp(z).sum(axis=0, keepdims=True)   # reference written out here
    cell = graded(fixture_bank, key, "softmax-rows", kernel_stdout("softmax-rows", column_softmax))
    assert score(cell) == 1.5 and result_of(cell)["misconception"] == "wrong-axis"


def test_function_answers_are_called_in_the_kernel_and_graded_here(fixture_bank, key):
    cases = key.cases()
    assert set(cases) == {"softmax-fn"}

    def softmax(z):
        z = np.asarray(z, dtype=float)
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    right = graded(fixture_bank, key, "softmax-fn", kernel_stdout("softmax-fn", softmax, cases))
    assert score(right) == 2.0
    naive = graded(fixture_bank, key, "softmax-fn", kernel_stdout("softmax-fn", lambda z: np.exp(z) / 0, cases))
    assert score(naive) == 0.0
    raising = graded(fixture_bank, key, "softmax-fn",
                     kernel_stdout("softmax-fn", lambda z: 1 / 0, cases))
    parts = result_of(raising)["parts"]
    assert score(raising) == 0.0 and parts[0]["message"].startswith("raised ZeroDivisionError")


def test_a_report_for_another_problem_or_none_earns_nothing(fixture_bank, key):
    v = draw(fixture_bank, fixture_bank.problems["conv-out"], ASSIGNMENT)
    right = engine.conv_output_size(v["W"], v["K"], v["P"], v["S"])
    elsewhere = graded(fixture_bank, key, "relu-init", kernel_stdout("conv-out", right))
    assert score(elsewhere) == 0.0 and elsewhere.outputs[0].ename == answers.NO_REPORT
    silent = graded(fixture_bank, key, "conv-out")
    assert score(silent) == 0.0 and silent.outputs[0].ename == answers.NO_REPORT


def test_two_reports_earn_nothing_even_if_one_is_right(fixture_bank, key):
    v = draw(fixture_bank, fixture_bank.problems["conv-out"], ASSIGNMENT)
    right = engine.conv_output_size(v["W"], v["K"], v["P"], v["S"])
    line = kernel_stdout("conv-out", right)
    cell = graded(fixture_bank, key, "conv-out", line, line)
    assert score(cell) == 0.0 and cell.outputs[0].ename == answers.REPORTED_TWICE


def test_a_forged_result_line_and_a_huge_execute_result_are_dropped(fixture_bank, key):
    forged = RESULT_PREFIX + json.dumps({"problem": "conv-out", "fraction": 1.0, "points": 2.0, "correct": True})
    cell = cell_of(fixture_bank, "conv-out")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=forged + "\n" + kernel_stdout("conv-out", -1)),
                    nbformat.v4.new_output("execute_result", data={"text/plain": "1e9"}, execution_count=1)]
    cell.outputs = answers.grade_test_cell(cell, key)
    cell.metadata.nbgrader["points"] = 2.0
    assert score(cell) == 0.0
    assert result_of(cell)["correct"] is False
    assert not any(forged in (o.get("text") or "") for o in cell.outputs)


def summary_of(cell):
    return cell.outputs[0].text.splitlines()[1]


def test_feedback_repeats_only_a_short_form_of_the_students_own_text(fixture_bank, key):
    wrong = summary_of(graded(fixture_bank, key, "relu-init", kernel_stdout("relu-init", "Z")))
    long = summary_of(graded(fixture_bank, key, "relu-init", kernel_stdout("relu-init", "Z" * 10_000)))
    assert "'Z' is not one of the options" in wrong
    assert len(long) < 200 and long == wrong.replace("'Z'", "'" + "Z" * 56 + "...")
    odd = type("Odd" * 3000, (), {})()                  # an object reported by its type's name
    summary = summary_of(graded(fixture_bank, key, "conv-out", kernel_stdout("conv-out", odd)))
    assert len(summary) < 200 and summary.endswith("Expected a number, got a " + "Odd" * 19 + "...")

    def raises_at_length(z):
        raise ValueError("x" * 10_000)

    cell = graded(fixture_bank, key, "softmax-fn", kernel_stdout("softmax-fn", raises_at_length, key.cases()))
    part = result_of(cell)["parts"][0]["message"]
    assert part == "raised ValueError: " + "x" * 105 + "..." and len(summary_of(cell)) < 300


def test_the_students_own_error_in_the_test_cell_is_kept_as_the_reason(fixture_bank, key):
    cell = graded(fixture_bank, key, "conv-out", error=("NameError", "name 'q1' is not defined"))
    assert score(cell) == 0.0 and cell.outputs == [answers.error_output("NameError", "name 'q1' is not defined")]


def test_results_printed_outside_test_cells_are_not_results(fixture_bank, key):
    notebook = render.render_assignment(fixture_bank, ASSIGNMENT)
    answer_cell = next(c for c in notebook.cells if c.metadata.nbgrader.grade_id == "relu-init-answer")
    answer_cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=RESULT_PREFIX + json.dumps(
        {"problem": "conv-out", "message": "forged feedback", "fraction": 1})) ]
    assert notebook_results(notebook) == {}


def test_the_spec_is_read_from_the_cells_source_and_a_changed_problem_stops_grading(fixture_bank, key):
    cell = cell_of(fixture_bank, "conv-out")
    assert reported_spec(cell.source) == ("conv-out", fixture_bank.problems["conv-out"].digest)
    cell.source = cell.source.replace(fixture_bank.problems["conv-out"].digest, "0123456789ab")
    with pytest.raises(GraderError, match="changed"):
        answers.grade_test_cell(cell, key)
    notebook = render.render_assignment(fixture_bank, ASSIGNMENT)
    answers.check_specs(fixture_bank, ASSIGNMENT, notebook.cells, "source/fixture-a/fixture-a.ipynb")
    with pytest.raises(GraderError, match="conv-out"):
        answers.check_specs(fixture_bank, ASSIGNMENT, [*notebook.cells, cell], "source/fixture-a/fixture-a.ipynb")


def test_the_student_id_keys_the_variant(fixture_bank):
    ada = answers.StudentKey(fixture_bank, ASSIGNMENT, "ada")
    problem = fixture_bank.problems["conv-out"]
    assert ada.values("conv-out") == draw(fixture_bank, problem, ASSIGNMENT)   # variant_key: assignment
    with pytest.raises(GraderError, match="has no problem"):
        answers.StudentKey(fixture_bank, "fixture-b", "ada").values("softmax-rows")


def test_the_prelude_defines_only_the_report_function():
    namespace: dict = {}
    exec(answers.prelude({"p": [[np.arange(3.0)]]}), namespace)
    assert sorted(name for name in namespace if name != "__builtins__") == ["_grader_report"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        namespace["_grader_report"]("p", lambda x: x * 2, spec="x")
    line = out.getvalue().strip()
    assert line.startswith(in_kernel.ANSWER_PREFIX)
    calls = answers.decode_answer(line[len(in_kernel.ANSWER_PREFIX):])
    np.testing.assert_array_equal(calls.outcomes[0][1], np.arange(3.0) * 2)


def test_the_bank_is_reloaded_when_the_file_changes(course):
    path = course / "questions.yaml"
    first = answers.course_bank(path)
    assert answers.course_bank(path) is first
    path.write_text(path.read_text().replace("credit: 0.25", "credit: 0.5"))
    os.utime(path, ns=(1, 1))
    assert answers.course_bank(path) is not first
