"""The real question bank (questions.yaml) and its misconception helpers (grader/bank/helpers.py).

The bank must load, cover every contract id of the engine, use every kind, name its
assignments so nbgrader accepts them, and give each misconception a value the grader
can tell from the right answer. Each helper is checked against an independent
reference (a direct numpy formula or torch), not against the engine call it makes.
"""

import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from grader import engine
from grader.bank import helpers, load_bank
from grader.kinds import KINDS, grade_answer
from grader.variants import draw

BANK_PATH = Path(__file__).resolve().parents[2] / "questions.yaml"
ASSIGNMENTS = ("losses-activations-backprop", "regularization-init-batchnorm", "cnn-detection",
               "embeddings-rnn-attention", "vae-gan-style-architectures", "mixed-quiz")
HELPER_NAMES = sorted(name for name, obj in vars(helpers).items()
                      if not name.startswith("_") and inspect.isfunction(obj) and obj.__module__ == helpers.__name__)


@pytest.fixture(scope="module")
def bank():
    return load_bank(BANK_PATH)


def _uses(bank):
    """(assignment id, problem) for every problem of every assignment."""
    return [(assignment.id, bank.problems[pid]) for assignment in bank.assignments.values()
            for pid in assignment.problems]


# --- the bank as a whole -------------------------------------------------------------------

def test_covers_every_contract_id(bank):
    covered = {formula for problem in bank.problems.values() for formula in problem.formula}
    assert len(engine.CONTRACTS) == 62
    assert set(engine.CONTRACTS) - covered == set()


def test_every_kind_is_used(bank):
    kinds = {problem.kind for problem in bank.problems.values()}
    assert kinds == set(KINDS)


def test_has_the_course_assignments_with_a_sensible_size(bank):
    assert tuple(bank.assignments) == ASSIGNMENTS
    for assignment_id in ASSIGNMENTS[:-1]:
        assert 9 <= len(bank.assignments[assignment_id].problems) <= 14, assignment_id
    assert 6 <= len(bank.assignments["mixed-quiz"].problems) <= 10


def test_every_problem_is_in_an_assignment(bank):
    used = {pid for assignment in bank.assignments.values() for pid in assignment.problems}
    assert set(bank.problems) - used == set()


def test_mixed_quiz_draws_from_several_sections_and_has_secret_problems(bank):
    quiz = [bank.problems[pid] for pid in bank.assignments["mixed-quiz"].problems]
    assert len({problem.section for problem in quiz}) >= 6
    assert sum(problem.secret for problem in quiz) >= 3


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_assignment_ids_are_valid_nbgrader_names(assignment_id):
    from nbgrader.coursedir import CourseDirectory

    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", assignment_id)
    assert CourseDirectory(assignment_id=assignment_id).assignment_id == assignment_id


def test_most_problems_have_hints(bank):
    with_hints = sum(1 for problem in bank.problems.values() if problem.hints)
    assert with_hints >= 0.6 * len(bank.problems)


def test_every_helper_is_used_by_some_misconception_or_carried_forward_row(bank):
    names = set()
    for problem in bank.problems.values():
        for misconception in problem.misconceptions:
            if misconception.answer is not None:
                names |= set(misconception.answer.names)
        if problem.table is not None and problem.table.carry_forward is not None:
            names |= set(problem.table.carry_forward.row.names)
    assert set(HELPER_NAMES) - names == set()


# --- every misconception, on each assignment's own variant -----------------------------------

def _misconception_differs(problem, misconception, values):
    if problem.kind == "choice":
        expected = problem.answer.evaluate(values)
        expected = {expected} if isinstance(expected, str) else set(expected)
        picked = {misconception.option} if isinstance(misconception.option, str) else set(misconception.option)
        return picked != expected
    wrong = misconception.answer.evaluate(values)
    result = grade_answer(problem, wrong, values)
    if result.correct:
        return False
    if problem.kind in ("numeric", "array"):
        # the grader must also recognize it, so the student sees this misconception's feedback
        return result.misconception == misconception.id
    return True


def test_misconceptions_differ_from_the_answer_on_each_assignments_variant(bank):
    checked, failures = 0, []
    for assignment_id, problem in _uses(bank):
        values = draw(bank, problem, assignment_id)
        if problem.kind != "choice":
            assert grade_answer(problem, problem.answer.evaluate(values), values).correct, problem.id
        for misconception in problem.misconceptions:
            checked += 1
            if not _misconception_differs(problem, misconception, values):
                failures.append(f"{assignment_id}/{problem.id}/{misconception.id}")
    assert checked > 100
    assert failures == []


def test_right_answer_earns_full_marks_and_misconception_its_credit(bank):
    problem = bank.problems["conv-params"]
    values = draw(bank, problem, "cnn-detection")
    assert grade_answer(problem, engine.conv_param_count(values["K"], values["C_in"], values["C_out"]), values).correct
    forgot_bias = values["K"] ** 2 * values["C_in"] * values["C_out"]   # independent: K²·C_in·C_out
    result = grade_answer(problem, forgot_bias, values)
    assert (result.misconception, result.fraction) == ("forgot-bias", 0.5)


# --- the helpers, against independent references --------------------------------------------

def _softmax_rows(z):
    import scipy.special

    return scipy.special.softmax(z, axis=-1)


def test_naive_softmax_matches_softmax_on_small_logits_and_breaks_on_large_ones():
    z = np.array([[0.5, -1.0, 2.0], [3.0, 0.0, -2.0]])
    np.testing.assert_allclose(helpers.naive_softmax(z), _softmax_rows(z), rtol=1e-12)
    assert np.isnan(helpers.naive_softmax(np.array([1000.0, 0.0]))).any()
    underflow = helpers.naive_softmax(np.array([-745.0, -746.0]))
    assert abs(underflow[1] - _softmax_rows(np.array([-745.0, -746.0]))[1]) > 0.1


def test_batchnorm_unbiased_uses_the_n_minus_1_variance():
    torch = pytest.importorskip("torch")
    x = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 4.0], [2.0, 0.0]])
    gamma, beta, eps = np.array([1.5, 0.5]), np.array([0.1, -0.2]), 1e-5
    t = torch.tensor(x)
    reference = (t - t.mean(0)) / torch.sqrt(t.var(0, unbiased=True) + eps) * torch.tensor(gamma) + torch.tensor(beta)
    np.testing.assert_allclose(helpers.batchnorm_unbiased(x, gamma, beta, eps), reference.numpy(), rtol=1e-10)
    assert np.isnan(helpers.batchnorm_unbiased(x[:1], gamma, beta)).all()


def test_iou_union_as_sum_is_intersection_over_the_summed_areas():
    a, b = (0, 0, 4, 3), (2, 1, 7, 5)
    intersection = 2 * 2
    assert helpers.iou_union_as_sum(a, b) == pytest.approx(intersection / (12 + 20))
    assert helpers.iou_union_as_sum(a, (4, 0, 6, 3)) == 0


def test_sdpa_without_scaling_skips_the_square_root_of_d_k():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    Q, K, V = rng.normal(size=(2, 4)), rng.normal(size=(3, 4)), rng.normal(size=(3, 2))
    reference = torch.softmax(torch.tensor(Q) @ torch.tensor(K).T, dim=-1) @ torch.tensor(V)
    np.testing.assert_allclose(helpers.sdpa_without_scaling(Q, K, V), reference.numpy(), rtol=1e-10)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_lstm_step_x_first_concatenates_x_before_h():
    rng = np.random.default_rng(1)
    D, H = 3, 2
    x, h, c = rng.normal(size=D), rng.normal(size=H), rng.normal(size=H)
    W = {g: rng.normal(size=(H, H + D)) for g in "fico"}
    b = {g: rng.normal(size=H) for g in "fico"}
    xh = np.concatenate([x, h])                       # the student's (wrong) order
    f, i, o = (_sigmoid(W[g] @ xh + b[g]) for g in "fio")
    c_tilde = np.tanh(W["c"] @ xh + b["c"])
    c_new = f * c + i * c_tilde
    got = helpers.lstm_step_x_first(x, h, c, W["f"], b["f"], W["i"], b["i"], W["c"], b["c"], W["o"], b["o"])
    for name, value in {"f": f, "i": i, "c_tilde": c_tilde, "c": c_new, "o": o, "h": o * np.tanh(c_new)}.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-12, err_msg=name)


LAYERS = [{"type": "conv", "out_channels": 8, "kernel": 3, "padding": 1},
          {"type": "maxpool", "size": 2},
          {"type": "depthwise", "kernel": 3, "padding": 1},
          {"type": "flatten"},
          {"type": "dense", "units": 10}]


def test_without_bias_drops_the_bias_counts():
    params = [row["params"] for row in engine.network_summary((3, 8, 8), helpers.without_bias(LAYERS))]
    assert params == [3 * 3 * 3 * 8, 0, 3 * 3 * 8, 0, 8 * 4 * 4 * 10]
    assert "bias" not in LAYERS[0]  # the input list is left alone


def test_maxpool_as_conv_counts_the_pool_as_a_same_channel_conv():
    rows = engine.network_summary((3, 8, 8), helpers.maxpool_as_conv((3, 8, 8), LAYERS))
    assert rows[1]["params"] == 2 * 2 * 8 * 8 + 8
    assert [row["output_shape"] for row in rows] == [row["output_shape"] for row in engine.network_summary((3, 8, 8), LAYERS)]


def test_depthwise_as_full_conv_counts_k_k_c_c():
    rows = engine.network_summary((3, 8, 8), helpers.depthwise_as_full_conv((3, 8, 8), LAYERS))
    assert rows[2]["params"] == 3 * 3 * 8 * 8 + 8
    assert rows[2]["output_shape"] == (8, 4, 4)


def test_gates_by_unit_makes_one_row_per_unit():
    state = {"f": np.array([0.1, 0.2]), "h": np.array([-0.5, 0.7])}
    assert helpers.gates_by_unit(state) == [{"f": 0.1, "h": -0.5}, {"f": 0.2, "h": 0.7}]
