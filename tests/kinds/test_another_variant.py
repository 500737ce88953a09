"""A table handed in from a classmate's numbers scores 0 (grader.kinds.grade_own_answer).

The shipped bank keys cnn-detection per student. A classmate's right CNN summary is partly right
for another student (the pooling and flatten rows have no parameters for anyone), so the plain
rule gives it part of the points; with the class's numbers in view it scores nothing. Answers
that are right, or explained by the student's own numbers, are never touched.
"""

from pathlib import Path

import pytest

from grader import engine
from grader.bank import load_bank
from grader.kinds import ANOTHER_VARIANT_MESSAGE, grade_answer, grade_own_answer, kind_of
from grader.protocol import Code
from grader.variants import ClassVariants, draw_for

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "cnn-detection"
CLASS = [f"student{n:03d}" for n in range(1, 31)]


@pytest.fixture(scope="module")
def bank():
    return load_bank(REPO / "questions.yaml")


def summary(values):
    return [{"output_shape": tuple(row["output_shape"]), "params": row["params"]}
            for row in engine.network_summary(values["input_shape"], values["layers"])]


def test_a_classmates_table_is_partly_right_by_the_plain_rule_and_worth_nothing_in_the_class(bank):
    problem = bank.problems["cnn-summary"]
    mine, theirs = (draw_for(bank, problem, ASSIGNMENT, student) for student in CLASS[:2])
    copied = summary(theirs)
    plain = grade_answer(problem, copied, mine)
    assert 0 < plain.points < problem.points          # what the copy would earn without the class
    the_class = ClassVariants(bank, ASSIGNMENT, CLASS)
    result = grade_own_answer(problem, copied, mine, the_class.others(problem, CLASS[0]))
    assert (result.points, result.code, result.message) == (0.0, Code.ANOTHER_VARIANT, ANOTHER_VARIANT_MESSAGE)
    # without the classmate in the class, the same table keeps the plain rule's points
    alone = ClassVariants(bank, ASSIGNMENT, [CLASS[0], *CLASS[2:]])
    assert grade_own_answer(problem, copied, mine, alone.others(problem, CLASS[0])) == plain


def test_a_right_answer_and_an_own_mistake_are_graded_as_before(bank):
    problem = bank.problems["cnn-summary"]
    mine = draw_for(bank, problem, ASSIGNMENT, CLASS[0])
    the_class = ClassVariants(bank, ASSIGNMENT, CLASS)
    right = summary(mine)
    assert grade_own_answer(problem, right, mine, the_class.others(problem, CLASS[0])).correct
    slip = [dict(row) for row in right]
    slip[-1]["params"] += 1                              # one wrong cell of the student's own table
    plain = grade_answer(problem, slip, mine)
    assert 0 < plain.points < problem.points
    assert grade_own_answer(problem, slip, mine, the_class.others(problem, CLASS[0])) == plain


def test_single_values_and_shared_problems_are_never_compared_with_the_class(bank):
    numeric = next(p for p in bank.problems.values()
                   if p.kind == "numeric" and ASSIGNMENT in bank.assignments_of(p.id) and not p.shared)
    the_class = ClassVariants(bank, ASSIGNMENT, CLASS)
    assert list(the_class.others(numeric, CLASS[0]))                # per student: classmates' numbers exist
    shared = next(p for p in bank.problems.values() if ASSIGNMENT in bank.assignments_of(p.id) and p.shared)
    assert list(the_class.others(shared, CLASS[0])) == []
    mine, theirs = (draw_for(bank, numeric, ASSIGNMENT, student) for student in CLASS[:2])
    copied = kind_of(numeric).expected(numeric, theirs)
    assert grade_own_answer(numeric, copied, mine, the_class.others(numeric, CLASS[0])) == \
        grade_answer(numeric, copied, mine)


def test_the_class_draws_each_students_values_once_and_as_draw_for_does(bank):
    problem = bank.problems["nms-table"]
    the_class = ClassVariants(bank, ASSIGNMENT, CLASS)
    first = list(the_class.others(problem, CLASS[0]))
    assert len(first) == len(CLASS) - 1
    assert first[0] is the_class.values(problem, CLASS[1])
    assert str(first[0]) == str(draw_for(bank, problem, ASSIGNMENT, CLASS[1]))


@pytest.mark.parametrize("problem_id", ["cnn-summary", "separable-summary", "nms-table", "lstm-step-table"])
def test_the_tables_quick_check_agrees_with_its_full_grade(bank, problem_id):
    """Table.right_for (every cell right, first wrong cell stops it) says what grade().correct says,
    for every pair of a class's answers and numbers, and for answers off by a little."""
    problem = bank.problems[problem_id]
    assignment = bank.assignments_of(problem_id)[0]
    kind = kind_of(problem)
    class_values = [draw_for(bank, problem, assignment, student) for student in CLASS[:8]]
    answers = [kind.expected(problem, values) for values in class_values]
    answers += [kind.misconception_answer(problem, m, class_values[0]) for m in problem.misconceptions]
    last_cell_wrong = [dict(row) for row in answers[0]]
    last_column = list(last_cell_wrong[-1])[-1]
    last_cell_wrong[-1][last_column] = "a word"
    answers += [last_cell_wrong, answers[0][:-1], "not a table"]
    agree = [(kind.right_for(problem, answer, values), grade_answer(problem, answer, values).correct)
             for answer in answers for values in class_values]
    assert all(quick == full for quick, full in agree)
    assert sum(quick for quick, _ in agree) >= len(class_values)     # each student's own answer at least


def test_each_classmates_key_is_computed_once_per_worker(bank, monkeypatch):
    """A worker asks right_for of every classmate's numbers for every partly right table: the key
    for one classmate's values is evaluated once, and a new values object is never mistaken for it."""
    problem = bank.problems["cnn-summary"]
    the_class = ClassVariants(bank, ASSIGNMENT, CLASS)
    kind = kind_of(problem)
    evaluated = []
    real = type(problem.answer).evaluate
    monkeypatch.setattr(type(problem.answer), "evaluate",
                        lambda self, values=None: evaluated.extend([1] if self is problem.answer else [])
                        or real(self, values))
    copied = summary(draw_for(bank, problem, ASSIGNMENT, CLASS[5]))
    for _ in range(3):
        verdicts = [kind.right_for(problem, copied, values) for values in the_class.others(problem, CLASS[0])]
    assert verdicts.count(True) == 1 and len(evaluated) == len(CLASS) - 1
    fresh = draw_for(bank, problem, ASSIGNMENT, CLASS[6])          # a new object: computed, not reused
    assert kind.right_for(problem, copied, fresh) is False and len(evaluated) == len(CLASS)
