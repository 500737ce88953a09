"""grader.kinds.grade_answer: every rule and kind, odd answers, misconceptions, and a to_json without expected values."""

import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from grader.bank import load_bank, load_bank_text
from grader.kinds import grade_answer
from grader.kinds.rules import RELATIVE_BANDS, error_band, rule_for
from grader.variants import draw

MINI = Path(__file__).parents[1] / "bank" / "fixtures" / "mini.yaml"


def one_problem(body):
    """A bank with one problem `p` whose fields are `body` (YAML, problem level)."""
    text = textwrap.dedent("""\
        course: T
        seed: 3
        assignments: [{id: a, title: A, problems: [p]}]
        problems:
          - id: p
            title: P
            section: cnn
            formula: [cnn.out_size]
            points: 4
            prompt: x
        """) + textwrap.indent(textwrap.dedent(body), "    ")
    bank = load_bank_text(text)
    problem = bank.problems["p"]
    return problem, draw(bank, problem, "a", "a")


@pytest.fixture(scope="module")
def close_problem():
    return one_problem("""\
        kind: numeric
        params:
          e: {value: 123.456789}
        answer: e
        compare: {rule: close, rtol: 0.001, atol: 0}
        misconceptions:
          - {id: halved, answer: e / 2, feedback: Do not halve., credit: 0.25}
        """)


@pytest.mark.parametrize("answer, fraction, text", [
    (123.456789, 1.0, "Correct."),
    (123.456789 * 1.0009, 1.0, "Correct."),
    (123.456789 * 1.0011, 0.0, "Outside the tolerance."),
    (np.float64(123.4), 1.0, "Correct."),
    (np.array(123.4567), 1.0, "Correct."),
    (np.float32(123.4567), 1.0, "Correct."),
    (123.456789 / 2, 0.25, "Do not halve."),
    (float("nan"), 0.0, "The answer is nan, not a finite number."),
    (float("inf"), 0.0, "The answer is inf, not a finite number."),
    (None, 0.0, "Expected a number, got None."),
    ("123.456789", 0.0, "Expected a number, got a string."),
    (True, 0.0, "Expected a number, got a bool (True)."),
    ([123.456789], 0.0, "Expected one number, got a list."),
    (np.array([123.456789]), 0.0, "Expected one number, got an array of shape (1,)."),
    (123.456789 + 0j, 0.0, "Expected a real number, got a complex number."),
    (..., 0.0, "Expected a number, got a ellipsis."),
])
def test_close_rule_and_odd_answers(close_problem, answer, fraction, text):
    problem, values = close_problem
    result = grade_answer(problem, answer, values)
    assert (result.fraction, result.message) == (fraction, text)
    assert result.points == pytest.approx(4 * fraction) and result.max_points == 4
    assert result.correct == (fraction == 1.0)
    assert result.misconception == ("halved" if fraction == 0.25 else None)
    assert result.rule == "accepted within ±0.1 % of the expected value"


def test_close_tolerance_against_the_formula(close_problem):
    """|a − e| ≤ atol + rtol·|e| (an independent reference, on both sides of the boundary)."""
    problem, values = close_problem
    e = 123.456789
    for factor in np.linspace(0.998, 1.002, 41):
        answer = e * factor
        assert grade_answer(problem, answer, values).correct == (abs(answer - e) <= 1e-3 * abs(e))


def test_exact_integer_rule_and_default_rules():
    problem, values = one_problem("""\
        kind: numeric
        params:
          W: {int: [40, 40]}
        answer: W + 8
        """)
    assert problem.compare == {} and rule_for(problem.compare, 48) == {"rule": "exact"}
    assert grade_answer(problem, 48, values).correct
    assert grade_answer(problem, np.int64(48), values).correct
    assert grade_answer(problem, 48.0, values).correct
    wrong = grade_answer(problem, 47, values)
    assert not wrong.correct and wrong.message == "Not the expected value."
    assert wrong.rule == "must equal the expected integer exactly"
    assert wrong.error == {"relative_at_most": 0.1}            # |47 - 48| / 48, as a band only
    assert not grade_answer(problem, 48.5, values).correct
    assert not grade_answer(problem, "48", values).correct
    floating, float_values = one_problem("""\
        kind: numeric
        answer: "0.5"
        """)
    assert rule_for(floating.compare, 0.5) == {"rule": "close", "rtol": 1e-3, "atol": 1e-6}
    assert grade_answer(floating, 0.50049, float_values).correct


def test_sigfigs_rule():
    problem, values = one_problem("""\
        kind: numeric
        answer: "0.012345"
        compare: {rule: sigfigs, sigfigs: 3}
        """)
    assert grade_answer(problem, 0.01234, values).correct
    assert grade_answer(problem, 0.0123, values).correct
    assert not grade_answer(problem, 0.0124, values).correct
    assert grade_answer(problem, 0.0124, values).rule == "must match the expected value to 3 significant figures"


@pytest.fixture(scope="module")
def array_problem():
    return one_problem("""\
        kind: array
        params:
          z: {value: [[1.5, -2.25, 3.125], [0.0, 7.75, -1.0]]}
        answer: np.array(z) * 2
        misconceptions:
          - {id: not-doubled, answer: np.array(z), feedback: Double it., credit: 0.5}
        """)


@pytest.mark.parametrize("answer, fraction, message", [
    ([[3.0, -4.5, 6.25], [0.0, 15.5, -2.0]], 1.0, "Correct."),
    (np.array([[3.0, -4.5, 6.25], [0.0, 15.5, -2.0]], dtype=np.float32), 1.0, "Correct."),
    (np.array([[3.0, -4.5, 6.25], [0.0, 15.5, -2.1]]), 0.0, "1 of 6 entries are outside the tolerance."),
    (np.array([[1.5, -2.25, 3.125], [0.0, 7.75, -1.0]]), 0.5, "Double it."),
    (np.zeros((3, 2)), 0.0, "Shape (3, 2) is not the expected shape (2, 3)."),
    (np.array([[3.0, np.nan, 6.25], [0.0, np.inf, -2.0]]), 0.0, "2 of 6 entries are NaN or infinite."),
    ([[3.0, -4.5], [0.0]], 0.0, "Could not read the answer as an array of numbers (ragged or mixed lists?)."),
    (np.ones((2, 3), dtype=bool), 0.0, "Expected numbers, got booleans."),
    ("3.0", 0.0, "Expected an array of numbers, got a string."),
    (None, 0.0, "Expected an array of numbers, got None."),
    (5.0, 0.0, "Shape () is not the expected shape (2, 3)."),
])
def test_array_answers(array_problem, answer, fraction, message):
    problem, values = array_problem
    result = grade_answer(problem, answer, values)
    assert (result.fraction, result.message) == (fraction, message)


def test_array_accepts_a_torch_tensor(array_problem):
    torch = pytest.importorskip("torch")
    problem, values = array_problem
    tensor = torch.tensor([[3.0, -4.5, 6.25], [0.0, 15.5, -2.0]])
    assert grade_answer(problem, tensor, values).correct


@pytest.fixture(scope="module")
def mini():
    bank = load_bank(MINI)
    return {pid: (p, draw(bank, p, "mini-one", "mini-one")) for pid, p in bank.problems.items()}


@pytest.mark.parametrize("answer, fraction, misconception", [
    ("B", 1.0, None), (" b ", 1.0, None), ({"B"}, 1.0, None), (["B"], 1.0, None),
    ("C", 0.0, "zeros-symmetry"), ("A", 0.0, None), ({"A", "B"}, 0.0, None),
])
def test_single_choice(mini, answer, fraction, misconception):
    problem, values = mini["init-choice"]
    result = grade_answer(problem, answer, values)
    assert (result.fraction, result.misconception) == (fraction, misconception)


def test_choice_format_errors(mini):
    problem, values = mini["init-choice"]
    assert grade_answer(problem, "E", values).message == "'E' is not one of the options (A, B, C)."
    assert grade_answer(problem, 2, values).message == "Expected an option key such as 'A' (a string), got a int."
    assert grade_answer(problem, {"A", "B"}, values).message == "Pick exactly one option."


@pytest.mark.parametrize("answer, fraction", [
    ({"A", "B"}, 1.0), ({"A"}, 0.5), ({"B"}, 0.5), ({"A", "C"}, 0.0), ({"A", "B", "C"}, 0.5),
    ({"C", "D"}, 0.0), ("A", 0.5), (set(), 0.0),
])
def test_multiple_choice_with_partial_credit(mini, answer, fraction):
    """(right picks − wrong picks) / number correct, at least 0; correct = {A, B}."""
    problem, values = mini["activations-multi"]
    assert grade_answer(problem, answer, values).fraction == fraction


def test_function_kind_per_case(mini):
    problem, values = mini["write-tanh"]

    def right(z):
        z = np.asarray(z, dtype=float)
        return (1 - np.exp(-2 * z)) / (1 + np.exp(-2 * z)) if np.all(z >= 0) else np.tanh(z)

    assert grade_answer(problem, right, values).correct

    def naive(z):
        z = np.asarray(z, dtype=float)
        return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))   # inf/inf at ±1000

    result = grade_answer(problem, naive, values)
    assert result.fraction == pytest.approx(2 / 3)
    assert [part["correct"] for part in result.parts] == [True, False, True]
    assert result.parts[1]["message"] == "2 of 3 entries are NaN or infinite"

    def crashes_on_scalars(z):
        return np.tanh(z[...]) if isinstance(z, np.ndarray) else z.shape

    result = grade_answer(problem, crashes_on_scalars, values)
    assert result.parts[2]["message"] == "raised AttributeError: 'float' object has no attribute 'shape'"
    assert result.fraction == pytest.approx(2 / 3)
    assert result.message.startswith("2 of 3 cases pass; case 3 (0.5): raised AttributeError")

    def mutates(z):
        if isinstance(z, np.ndarray):
            out = np.tanh(z)
            z[...] = 0  # vandalizes its input: the next cases and the reference must not see it
            return out
        return np.tanh(z)

    assert grade_answer(problem, mutates, values).correct
    assert not np.all(values["z"] == 0)
    assert grade_answer(problem, "tanh", values).message == "Expected a function named tanh, got a string."


def test_table_kind_per_cell_with_misconception(mini):
    problem, values = mini["conv-table"]
    W, K, C, F = values["W"], values["K"], values["C"], values["F"]
    right = [{"output_size": W - K + 1, "params": K * K * C * F + F},
             {"output_size": W - 2 * K + 2, "params": K * K * F * F + F}]
    assert grade_answer(problem, right, values).correct
    as_tuples = [(row["output_size"], row["params"]) for row in right]
    assert grade_answer(problem, as_tuples, values).correct
    no_bias = [dict(right[0], params=K * K * C * F), dict(right[1], params=K * K * F * F)]
    result = grade_answer(problem, no_bias, values)
    assert result.fraction == pytest.approx((2 + 2 * 0.5) / 4) and result.misconception == "no-bias"
    assert [part["correct"] for part in result.parts] == [True, False, True, False]
    assert result.parts[1]["message"] == "Each filter also has a bias."
    missing = [{"output_size": W - K + 1}, right[1]]
    result = grade_answer(problem, missing, values)
    assert result.fraction == 0.75 and result.parts[1]["message"] == "no value for column 'params'"
    assert grade_answer(problem, right[:1], values).message == "Expected 2 rows, got 1."
    assert grade_answer(problem, "table", values).message == "Expected a list of 2 rows, got a string."
    assert grade_answer(problem, [None, right[1]], values).fraction == 0.5


def _assert_no_expected(text, expected_values):
    """No number of `expected_values` appears as a number in `text` (digits of other numbers don't count)."""
    for value in expected_values:
        for form in {repr(value), str(value), f"{value:g}", json.dumps(value)}:
            pattern = r"(?<![0-9.])" + re.escape(form) + r"(?![0-9])"
            assert not re.search(pattern, text), f"{form} leaked into {text}"


def test_to_json_has_the_fields_and_never_the_expected_value(close_problem, array_problem, mini):
    problem, values = close_problem
    line = grade_answer(problem, 200.0, values).to_json()
    assert "\n" not in line
    data = json.loads(line)
    assert set(data) == {"problem", "fraction", "points", "max_points", "correct", "misconception", "message",
                         "rule", "code", "error"}
    assert data["problem"] == "p" and data["error"] == {"relative_at_most": 1.0}   # 62 % off
    _assert_no_expected(line, [123.456789, 123.457, 123.46])
    for answer in (None, "x", float("nan"), 123.456789 / 2, 123.456789):
        _assert_no_expected(grade_answer(problem, answer, values).to_json(), [123.456789])

    problem, values = array_problem
    # (With an all-zero answer the absolute error would equal the expected value: that is
    # why `secret: true` exists. Here the answers are away from zero.)
    for answer in (np.full((2, 3), 1000.0), np.zeros(4), [[1]]):
        _assert_no_expected(grade_answer(problem, answer, values).to_json(), [3.125 * 2, 15.5, -4.5, 6.25])

    problem, values = mini["conv-table"]
    W, K, C, F = values["W"], values["K"], values["C"], values["F"]
    wrong = [{"output_size": 1, "params": 2}, {"output_size": 3, "params": 4}]
    _assert_no_expected(json.dumps(json.loads(grade_answer(problem, wrong, values).to_json())["parts"]),
                        [W - K + 1, K * K * C * F + F, K * K * F * F + F])


@pytest.mark.parametrize("absolute, relative, band", [
    (0.0, 0.0, None),
    (float("nan"), None, None),
    (1e-4, 0.01, {"relative_at_most": 0.01}),
    (1e-4, 0.0100001, {"relative_at_most": 0.1}),
    (5.0, 0.5, {"relative_at_most": 0.5}),
    (7.0, 0.7, {"relative_at_most": 1.0}),
    (30.0, 3.0, {"relative_above": 1.0}),
    (0.003, None, {"absolute_at_most": 0.01}),       # the expected value is 0
    (20.0, None, {"absolute_at_most": 100.0}),
])
def test_error_bands(absolute, relative, band):
    assert error_band(absolute, relative) == band


def test_a_band_never_pins_the_expected_value_within_the_tolerance():
    # Every expected value in [a/(1+b), a/(1-b)] fits the band b of answer a; at the finest band
    # that interval is 20 times wider than the default ±0.1 % tolerance.
    finest = min(RELATIVE_BANDS)
    assert (1 / (1 - finest) - 1 / (1 + finest)) > 20 * 1e-3 * 0.99


def test_secret_problems_omit_the_error():
    problem, values = one_problem("""\
        kind: numeric
        secret: true
        answer: "2.5"
        """)
    data = json.loads(grade_answer(problem, 3.0, values).to_json())
    assert "error" not in data and data["fraction"] == 0.0


def test_more_odd_answers_never_raise(close_problem, mini):
    problem, values = close_problem

    class Weird:
        def __eq__(self, other):
            raise RuntimeError("no")

        def __float__(self):
            raise RuntimeError("no")

    for answer in (10 ** 400, -(10 ** 400), Weird(), object(), {"a": 1}, {1.0}, b"1", np.array([]), [[]]):
        result = grade_answer(problem, answer, values)
        assert result.fraction == 0.0 and result.message
    assert grade_answer(problem, 10 ** 400, values).message == \
        "The answer is an integer too large for a float, not a finite number."
    choice, choice_values = mini["init-choice"]
    for answer in (None, Weird(), ["B", None], {"B": 1}):
        assert grade_answer(choice, answer, choice_values).fraction == 0.0


def test_numeric_accepts_a_zero_dim_torch_tensor(close_problem):
    torch = pytest.importorskip("torch")
    problem, values = close_problem
    assert grade_answer(problem, torch.tensor(123.4567, dtype=torch.float64), values).correct


def test_a_simulated_right_function_is_written_out_with_numpy_alone():
    """The simulator's right answer to a function problem runs in a kernel that cannot import
    grader (the sandbox): the engine's function and the engine modules it needs, written out."""
    from grader.bank import load_bank
    from grader.kinds import ProblemVariant, grade_answer, kind_of
    from grader.variants import draw

    bank = load_bank(Path(__file__).resolve().parents[2] / "questions.yaml")
    functions = [problem for problem in bank.problems.values() if kind_of(problem).name == "function"]
    assert len(functions) == 6
    for problem in functions:
        kind, values = kind_of(problem), draw(bank, problem, "a", "a")
        source = kind.correct_source(ProblemVariant(1, problem, values, kind.expected(problem, values)))
        assert "import grader" not in source and "from grader" not in source, problem.id
        namespace: dict = {}
        exec(source, namespace)
        assert grade_answer(problem, namespace[kind.variable(problem, 1)], values).fraction == 1.0, problem.id


def test_a_right_answer_has_no_error_band_in_its_result_line(close_problem, mini):
    """Issue #12: an answer inside the tolerance (here 0.09 % off, under rtol 0.1 %) is right: its
    GRADER_RESULT line has no error (not {"relative_at_most": 0.01}); a wrong one keeps its band."""
    from grader.protocol import parse_result_line, result_line

    problem, values = close_problem
    right = parse_result_line(result_line(grade_answer(problem, 123.456789 * 1.0009, values)))
    assert right is not None and right["correct"] and "error" not in right
    wrong = parse_result_line(result_line(grade_answer(problem, 123.456789 * 1.005, values)))
    assert wrong is not None and wrong["error"] == {"relative_at_most": 0.01}

    problem, values = mini["write-tanh"]
    result = grade_answer(problem, lambda z: np.tanh(z) * (1 + 1e-5), values)   # right within the tolerance
    assert result.correct and [part["error"] for part in result.parts] == [None, None, None]

    problem, values = mini["conv-table"]
    W, K, C, F = values["W"], values["K"], values["C"], values["F"]
    right = [{"output_size": W - K + 1, "params": K * K * C * F + F},
             {"output_size": W - 2 * K + 2, "params": K * K * F * F + F}]
    assert all(part["error"] is None for part in grade_answer(problem, right, values).parts)
    off = [dict(right[0], params=right[0]["params"] * 2), right[1]]
    assert grade_answer(problem, off, values).parts[1]["error"] == {"relative_at_most": 1.0}
