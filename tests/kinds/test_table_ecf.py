"""Error carried forward on the CNN summary table of the shipped bank (grader.kinds.table).

A cell wrong against the true chain is graded again against the row the engine computes from the
student's own answer in the row before; the better score counts, the first wrong cell earns nothing.
"""

import copy
import textwrap
from pathlib import Path

import pytest

from grader import engine
from grader.bank import BankError, load_bank
from grader.feedback import problem_feedback
from grader.kinds import grade_answer
from grader.validation import check_bank_text
from grader.variants import draw

REPO = Path(__file__).resolve().parents[2]
ROWS = ["conv 1", "max-pool", "conv 2", "flatten", "dense"]


@pytest.fixture(scope="module")
def cnn():
    bank = load_bank(REPO / "questions.yaml")
    problem = bank.problems["cnn-summary"]
    values = draw(bank, problem, "cnn-detection")
    return problem, values


def rows(summary):
    return [{"output_shape": tuple(row["output_shape"]), "params": row["params"]} for row in summary]


def true_table(values):
    return rows(engine.network_summary(values["input_shape"], values["layers"]))


def wrong_pool_then(values, consistent_from):
    """The true conv 1 row, a max-pool output one pixel too tall and wide, then the later rows as the
    engine computes them from `consistent_from` (the student's own pool shape when consistent)."""
    table = true_table(values)
    channels, height, width = table[1]["output_shape"]
    table[1]["output_shape"] = (channels, height + 1, width + 1)
    later = engine.network_summary(consistent_from(channels, height, width), values["layers"][2:])
    return table[:2] + rows(later)


def carried(result):
    return [(part["row"], part["column"]) for part in result.parts if part.get("carried_forward")]


def test_the_bank_declares_the_chain(cnn):
    problem, _ = cnn
    chain = problem.table.carry_forward
    assert (chain.source, chain.into, chain.row.source) == (
        "output_shape", ["output_shape", "params"], "layer_summary(carried, layers[row])")


def test_all_correct_gets_full_marks(cnn):
    problem, values = cnn
    result = grade_answer(problem, true_table(values), values)
    assert (result.fraction, result.points, result.code) == (1.0, 5.0, "correct")
    assert carried(result) == []


def test_a_wrong_pool_shape_carried_forward_consistently_loses_only_that_cell(cnn):
    problem, values = cnn
    answer = wrong_pool_then(values, lambda c, h, w: (c, h + 1, w + 1))
    assert answer[2:] != true_table(values)[2:]          # the later rows really differ from the truth
    result = grade_answer(problem, answer, values)
    assert result.fraction == pytest.approx(0.9) and result.points == pytest.approx(4.5)
    assert result.code == "partial"
    assert carried(result) == [("conv 2", "output_shape"), ("flatten", "output_shape"), ("dense", "params")]
    wrong = [part for part in result.parts if not part["correct"]]
    assert [(p["row"], p["column"], p["code"]) for p in wrong] == [("max-pool", "output_shape", "wrong-value")]
    assert "3 carried forward" in result.message
    page = problem_feedback(problem.id, result.points, 5.0, {"message": result.message, "rule": result.rule,
                                                             "parts": result.parts}, None, problem)
    assert "conv 2 / output_shape: right. credited as carried forward: right for your output_shape of row " \
           "'max-pool'" in page.parts


def test_later_rows_that_follow_neither_chain_get_no_carried_credit(cnn):
    problem, values = cnn
    answer = wrong_pool_then(values, lambda c, h, w: (c, h + 2, w + 2))   # not from the shape written
    answer[3]["output_shape"] = (answer[3]["output_shape"][0] + 1,)        # nor from conv 2's written shape
    answer[4]["params"] += 7                                                # nor from flatten's
    result = grade_answer(problem, answer, values)
    # right: both cells of conv 1, the pool's params, conv 2's params, flatten's params, dense's shape
    assert result.fraction == pytest.approx(0.6) and result.points == pytest.approx(3.0)
    assert carried(result) == []


def test_an_unusable_earlier_cell_carries_nothing(cnn):
    problem, values = cnn
    for garbage in (None, "(8, 15, 15)", (1, 1, 1), {"C": 8}):
        answer = wrong_pool_then(values, lambda c, h, w: (c, h + 1, w + 1))
        answer[1]["output_shape"] = garbage
        result = grade_answer(problem, answer, values)
        assert all(row != "conv 2" for row, _ in carried(result)), garbage   # nothing from the pool row
        assert result.fraction == pytest.approx(0.8), garbage   # flatten and dense still follow conv 2's row


def test_the_recomputation_is_the_engine_fed_the_students_shape(cnn, monkeypatch):
    problem, values = cnn
    answer = wrong_pool_then(values, lambda c, h, w: (c, h + 1, w + 1))
    fed = []
    real = engine.network_summary

    def spy(input_shape, layers):
        fed.append(tuple(input_shape))
        return real(input_shape, layers)

    monkeypatch.setattr(engine, "network_summary", spy)
    grade_answer(problem, answer, values)
    assert answer[1]["output_shape"] in fed and answer[2]["output_shape"] in fed


BANK = textwrap.dedent("""\
    course: T
    seed: 3
    assignments: [{id: a, title: A, problems: [summary]}]
    problems:
      - id: summary
        title: S
        section: cnn
        formula: [cnn.network]
        points: 5
        kind: table
        prompt: x
        params:
          input_shape: {value: [3, 16, 16]}
          layers: {expr: '[{"type": "conv", "out_channels": 8, "kernel": 3}, {"type": "maxpool", "size": 2}]'}
        table:
          columns: [output_shape, params]
          row_labels: [conv, pool]
          carry_forward: {from: output_shape, row: "ROW"}
        answer: network_summary(input_shape, layers)
    """)


def test_a_chain_that_does_not_give_the_answer_is_a_bank_error_at_its_line():
    with pytest.raises(BankError) as caught:
        check_bank_text(BANK.replace("ROW", "layer_summary(carried, layers[0])"), "q.yaml")
    (issue,) = caught.value.issues
    assert issue.line == 18 and issue.problem == "summary"
    assert issue.message.startswith("table.carry_forward.row: row 'pool', output_shape: computed from the row "
                                    "before it, gives (8, 12, 12)")
    assert check_bank_text(BANK.replace("ROW", "layer_summary(carried, layers[row])"))


def test_carry_forward_fields_are_checked_statically():
    text = BANK.replace("{from: output_shape, row: \"ROW\"}", "{from: shape, into: [params, size], row: \"nope(row)\"}")
    with pytest.raises(BankError) as caught:
        check_bank_text(text, "q.yaml")
    messages = [(issue.line, issue.message) for issue in caught.value.issues]
    assert (18, "table.carry_forward: from: 'shape' is not a column (output_shape, params)") in messages
    assert (18, "table.carry_forward: into: 'size' is not a column (output_shape, params)") in messages
    assert any("unknown name 'nope'" in message for _, message in messages)


def test_the_shipped_bank_uses_it_on_both_cnn_summary_tables():
    bank = load_bank(REPO / "questions.yaml")
    chained = sorted(p.id for p in bank.problems.values() if p.table and p.table.carry_forward)
    assert chained == ["cnn-summary", "separable-summary"]


def test_a_carried_cell_is_never_better_than_right_and_the_table_is_unchanged(cnn):
    problem, values = cnn
    answer = wrong_pool_then(values, lambda c, h, w: (c, h + 1, w + 1))
    kept = copy.deepcopy(answer)
    grade_answer(problem, answer, values)
    assert answer == kept
