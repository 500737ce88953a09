"""grader.protocol: the GRADER_RESULT line round trip, reason codes of real answers, grade ids."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from grader import protocol
from grader.kinds import grade_answer
from grader.protocol import Code, Role


def test_result_line_round_trip_and_garbage_is_ignored():
    result = protocol.Result("p", 0.5, 1.0, 2.0, False, None, "Half.", "exact", code=Code.PARTIAL,
                             parts=[{"row": "r", "column": "c", "correct": True, "code": Code.CORRECT}])
    line = protocol.result_line(result)
    assert line.startswith("GRADER_RESULT {") and "\n" not in line
    parsed = protocol.parse_result_line(line)
    assert parsed["code"] == "partial" and parsed["parts"][0]["row"] == "r" and parsed["fraction"] == 0.5
    assert protocol.parse_result_line("GRADER_RESULT {not json") is None
    assert protocol.parse_result_line("GRADER_RESULT [1, 2]") is None
    assert protocol.parse_result_line("hello") is None
    text = "noise\n" + line + "\nGRADER_RESULT " + json.dumps({"problem": "q", "fraction": 1.0})
    assert set(protocol.read_results([text])) == {"p", "q"}


def test_notebook_results_read_only_the_stdout_of_test_cells():
    line = protocol.result_line(protocol.Result("p", 1.0, 1.0, 1.0, True, None, "Correct.", "exact"))
    test = {"metadata": {"nbgrader": {"grade_id": "p-test"}}}
    nb = SimpleNamespace(cells=[
        {**test, "outputs": [{"output_type": "stream", "name": "stdout", "text": line + "\n"}]},
        {**test, "outputs": [{"output_type": "stream", "name": "stderr", "text": line.replace('"p"', '"x"')}]},
        {"metadata": {"nbgrader": {"grade_id": "p-answer"}},     # printed by the student's own code
         "outputs": [{"output_type": "stream", "name": "stdout", "text": line.replace('"p"', '"y"')}]},
    ])
    assert list(protocol.notebook_results(nb)) == ["p"]


@pytest.mark.parametrize("name, parts", [
    ("conv-out-test", ("conv-out", Role.TEST)), ("a-b-c-answer", ("a-b-c", Role.ANSWER)),
    ("p-prompt", ("p", Role.PROMPT)), ("title", None), ("setup", None), ("p-notes", None), ("-test", None),
])
def test_grade_ids_are_split_in_one_place(name, parts):
    assert protocol.split_grade_id(name) == parts
    if parts:
        assert protocol.grade_id(*parts) == name
        assert protocol.problem_of(name, parts[1]) == parts[0]
        assert protocol.problem_of(name, "other") is None


def test_reason_codes_of_real_answers(mini_bank):
    from grader.variants import draw

    problem = mini_bank.problems["conv-size"]
    values = draw(mini_bank, problem, "mini-one")
    expected = problem.answer.evaluate(values)
    codes = {repr(answer): grade_answer(problem, answer, values).code
             for answer in (None, "14", float("nan"), float("inf"), [1, 2], expected, expected + 7)}
    assert codes == {"None": Code.WRONG_TYPE, "'14'": Code.WRONG_TYPE, "nan": Code.NOT_FINITE,
                     "inf": Code.NOT_FINITE, "[1, 2]": Code.WRONG_TYPE, repr(expected): Code.CORRECT,
                     repr(expected + 7): Code.WRONG_VALUE}
    assert {Code.WRONG_TYPE, Code.NOT_FINITE, Code.WRONG_SHAPE} == protocol.UNUSABLE
    softmax = mini_bank.problems["softmax-rows"]
    values = draw(mini_bank, softmax, "mini-one")
    assert grade_answer(softmax, np.zeros((9, 9)), values).code == Code.WRONG_SHAPE
