"""The Checker without HTTP: policy, reveal, timeline, extensions, refusals, function problems.

The course is tests/service/service_kit.py's; time is a fake clock. Expected values are computed
here independently, with the engine on the student's drawn numbers, so that "no reply holds the
expected value" is checked against the number itself, in every form it could be written.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from service_kit import CHECKS, CREDIT, DUE, MISCONCEPTION_FEEDBACK

from grader import engine
from grader.attempts.store import Store
from grader.bank import load_bank
from grader.grading.kernel import in_kernel
from grader.service.check import MAX_BODY, Checker
from grader.variants import draw_for

STUDENT = "ada"
BEFORE_DUE = (DUE - dt.timedelta(days=3)).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def course(service_course):
    root = service_course
    bank = load_bank(root / "questions.yaml")
    store = Store(f"sqlite:///{root}/gradebook.db", "service-kit")
    clock = Clock(BEFORE_DUE)
    return bank, store, clock, Checker(bank, store, clock=clock)


def send(checker, body, student=STUDENT):
    return checker.check(student, json.dumps(body).encode())


def expected_mse(bank, problem, student=STUDENT, assignment="hw"):
    values = draw_for(bank, bank.problems[problem], assignment, student)
    return float(engine.mse(values["y"], values["p"])), values


def spellings(value: float) -> set[str]:
    """How an expected value could appear in a reply: repr, str, rounded forms."""
    forms = {repr(value), str(value), f"{value:g}", f"{value:.6g}", f"{value:.5g}", f"{value:.4g}", f"{value:.3f}"}
    return {form for form in forms if len(form.replace("-", "").replace(".", "").lstrip("0")) >= 3}


def assert_reveals_nothing(reply, *values):
    text = json.dumps(reply.body)
    for value in values:
        for form in spellings(value):
            assert form not in text, f"{form} (an expected value) in {text}"


def test_checks_left_and_the_credit_of_each_try(course):
    bank, store, clock, checker = course
    expected, _ = expected_mse(bank, "mse")
    replies = []
    for _ in range(CHECKS):
        replies.append(send(checker, {"assignment": "hw", "problem": "mse", "answer": expected + 1}))
        clock.now += 1
    assert [r.status for r in replies] == [200] * CHECKS
    assert [r.body["try"] for r in replies] == [1, 2, 3]
    assert [r.body["checks_left"] for r in replies] == [2, 1, 0]
    assert [r.body["keeps"] for r in replies] == list(CREDIT)
    assert all(r.body["verdict"] == "not right" for r in replies)
    over = send(checker, {"assignment": "hw", "problem": "mse", "answer": expected})
    assert over.status == 429 and "no checks of mse left (3 used)" in over.body["error"]
    # answers count until two days after the due date: practice opens then
    closes = (DUE + dt.timedelta(days=2)).timestamp()
    assert over.retry_after == pytest.approx(closes - clock.now)
    assert len(store.attempts("hw", STUDENT)) == CHECKS       # the refused check recorded nothing
    for reply in replies + [over]:
        assert_reveals_nothing(reply, expected)


def test_a_right_answer_keeps_the_credit_of_its_try(course):
    bank, store, clock, checker = course
    expected, _ = expected_mse(bank, "mse")
    assert send(checker, {"assignment": "hw", "problem": "mse", "answer": expected * 2}).body["verdict"] == "not right"
    right = send(checker, {"assignment": "hw", "problem": "mse", "answer": expected})
    assert right.status == 200 and right.body["verdict"] == "right"
    assert right.body["try"] == 2 and right.body["keeps"] == CREDIT[1]
    assert "keeps 80% of its points" in right.body["message"]
    recorded = store.attempts("hw", STUDENT, "mse")
    assert [(a.try_number, a.correct, a.keeps) for a in recorded] == [(1, False, 1.0), (2, True, 0.8)]
    assert_reveals_nothing(right, expected)


def test_a_right_answer_checked_again_is_told_the_credit_of_its_first_right_check(course):
    """Grading keeps the credit of the try first checked right (grader.attempts.rules): a later check
    of a right answer says that share, not its own try's."""
    bank, store, clock, checker = course
    expected, _ = expected_mse(bank, "mse")
    send(checker, {"assignment": "hw", "problem": "mse", "answer": expected * 2})
    clock.now += 1
    assert "keeps 80% of its points" in send(checker, {"assignment": "hw", "problem": "mse", "answer": expected}).body["message"]
    clock.now += 1
    again = send(checker, {"assignment": "hw", "problem": "mse", "answer": expected})
    assert (again.body["verdict"], again.body["try"], again.body["keeps"]) == ("right", 3, CREDIT[2])
    assert "Submitted as it is, it keeps 80% of its points." in again.body["message"], again.body["message"]


def test_the_interval_between_checks(course):
    bank, store, clock, checker = course
    expected, _ = expected_mse(bank, "slow")
    body = {"assignment": "hw", "problem": "slow", "answer": expected + 1}
    assert send(checker, body).status == 200
    clock.now += 600
    soon = send(checker, body)
    assert soon.status == 429 and "too soon" in soon.body["error"]
    assert soon.retry_after == pytest.approx(3000) and soon.body["retry_after"] == pytest.approx(3000)
    clock.now += 3000
    later = send(checker, body)
    assert later.status == 200 and later.body["try"] == 2
    assert len(store.attempts("hw", STUDENT, "slow")) == 2
    # the interval is per problem: another problem is not held back
    assert send(checker, {"assignment": "hw", "problem": "mse", "answer": 1.0}).status == 200
    status = checker.status(STUDENT, "hw").body["problems"]
    assert status["slow"]["used"] == 2 and status["slow"]["left"] == 1 and status["slow"]["next_check_in"] == 3600


@pytest.mark.parametrize("problem, tells_misconception, tells_band", [
    ("mse", False, False), ("mse-mis", True, False), ("mse-band", True, True)])
def test_reveal_levels_never_show_the_expected_value(course, problem, tells_misconception, tells_band):
    bank, store, clock, checker = course
    expected, values = expected_mse(bank, problem)
    misconception_value = float(values["B"]) * expected
    mistaken = send(checker, {"assignment": "hw", "problem": problem, "answer": misconception_value})
    clock.now += 1
    near = send(checker, {"assignment": "hw", "problem": problem, "answer": expected * 1.05})
    clock.now += 1
    right = send(checker, {"assignment": "hw", "problem": problem, "answer": expected})
    assert [r.status for r in (mistaken, near, right)] == [200, 200, 200]
    assert (mistaken.body.get("misconception") == "forgot-batch-mean") is tells_misconception
    assert (MISCONCEPTION_FEEDBACK in mistaken.body["message"]) is tells_misconception
    assert ("within 10 % of the expected value" in near.body["message"]) is tells_band
    assert right.body["verdict"] == "right"
    for reply in (mistaken, near, right):
        assert_reveals_nothing(reply, expected, misconception_value)
        assert_reveals_nothing(checker.status(STUDENT, "hw"), expected)
        assert_reveals_nothing(checker.attempts_of(STUDENT, "hw"), expected)


def test_late_checks_count_then_practice_after_the_timeline_closes(course):
    bank, store, clock, checker = course
    expected, _ = expected_mse(bank, "mse")
    clock.now = (DUE + dt.timedelta(days=1)).timestamp()           # late, within the 2-day step
    late = send(checker, {"assignment": "hw", "problem": "mse", "answer": expected})
    assert late.status == 200 and late.body["practice"] is False and late.body["try"] == 1
    clock.now = (DUE + dt.timedelta(days=2, seconds=1)).timestamp()   # closed
    practice = send(checker, {"assignment": "hw", "problem": "mse", "answer": expected, "practice": 2})
    assert practice.status == 200 and practice.body["practice"] is True
    assert practice.body["try"] is None and practice.body["checks_left"] is None and practice.body["keeps"] is None
    recorded = store.attempts("hw", STUDENT, "mse")
    assert [a.try_number for a in recorded] == [1, None]
    assert recorded[1].variant == f"{STUDENT}/practice/2"            # fresh numbers, not the graded ones
    assert checker.status(STUDENT, "hw").body["practice"] is True
    bad_round = send(checker, {"assignment": "hw", "problem": "mse", "answer": 1.0, "practice": 0})
    assert bad_round.status == 400 and len(store.attempts("hw", STUDENT)) == 2


def test_practice_after_close_even_when_every_check_was_used(course):
    bank, store, clock, checker = course
    for _ in range(CHECKS):
        send(checker, {"assignment": "hw", "problem": "mse", "answer": 1.0})
    clock.now = (DUE + dt.timedelta(days=3)).timestamp()
    practice = send(checker, {"assignment": "hw", "problem": "mse", "answer": 1.0})
    assert practice.status == 200 and practice.body["practice"] is True


def test_an_extension_moves_the_close(course):
    bank, store, clock, checker = course
    store.extend("hw", STUDENT, 3 * 86400, "medical")
    clock.now = (DUE + dt.timedelta(days=4)).timestamp()     # closed for everyone else, not for ada
    counted = send(checker, {"assignment": "hw", "problem": "mse", "answer": 1.0})
    assert counted.status == 200 and counted.body["practice"] is False and counted.body["try"] == 1
    other = send(checker, {"assignment": "hw", "problem": "mse", "answer": 1.0}, student="ben")
    assert other.status == 200 and other.body["practice"] is True
    assert checker.status(STUDENT, "hw").body["extension"] == "medical"


@pytest.mark.parametrize("body, status, words", [
    ({"assignment": "nope", "problem": "mse", "answer": 1}, 404, "no assignment 'nope'"),
    ({"assignment": "hw", "problem": "nope", "answer": 1}, 404, "hw has no problem 'nope'"),
    ({"assignment": "past", "problem": "sig", "answer": 1}, 404, "past has no problem 'sig'"),
    ({"assignment": "hw", "problem": "pick", "answer": "B"}, 403, "pick has no checks"),
    ({"assignment": "hw", "problem": "mse", "answer": {"$array": "nope"}}, 400, "the answer could not be read"),
    ({"assignment": "hw", "problem": "mse", "answer": {"$float": "infinite-ish"}}, 400, "the answer could not be read"),
    ({"assignment": "hw", "problem": "mse"}, 400, "a check holds an assignment, a problem and an answer"),
    ([1, 2], 400, "a check holds an assignment, a problem and an answer"),
])
def test_refused_checks_record_nothing(course, body, status, words):
    bank, store, clock, checker = course
    reply = send(checker, body)
    assert reply.status == status and words in reply.body["error"]
    assert store.attempts("hw") == [] and store.attempts("past") == []


def test_not_json_and_too_big(course):
    bank, store, clock, checker = course
    assert checker.check(STUDENT, b"{not json").status == 400
    big = checker.check(STUDENT, b" " * (MAX_BODY + 1))
    assert big.status == 413 and "too big" in big.body["error"]
    assert store.attempts("hw") == []


def test_a_student_field_in_the_body_is_ignored(course):
    bank, store, clock, checker = course
    reply = send(checker, {"assignment": "hw", "problem": "mse", "answer": 1.0, "student": "ben"})
    assert reply.status == 200
    assert [a.student for a in store.attempts("hw")] == [STUDENT]


def _right_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def _wrong_sigmoid(z):
    return np.tanh(z)


def test_a_function_problem_is_checked_through_its_cases(course):
    bank, store, clock, checker = course
    cases_reply = checker.cases(STUDENT, "hw", "sig")
    assert cases_reply.status == 200
    cases = in_kernel.decode(cases_reply.body["cases"])            # as the notebook's kernel reads them
    values = draw_for(bank, bank.problems["sig"], "hw", STUDENT)
    assert len(cases) == 3 and np.array_equal(cases[0][0], values["z"])
    wrong = send(checker, {"assignment": "hw", "problem": "sig",
                           "answer": {"$calls": in_kernel.call_cases(_wrong_sigmoid, cases)}})
    clock.now += 1
    right = send(checker, {"assignment": "hw", "problem": "sig",
                           "answer": {"$calls": in_kernel.call_cases(_right_sigmoid, cases)}})
    assert wrong.status == 200 and wrong.body["verdict"] != "right"
    assert right.status == 200 and right.body["verdict"] == "right" and right.body["try"] == 2
    expected = engine.sigmoid(values["z"])
    for reply in (wrong, right):
        assert_reveals_nothing(reply, *[float(v) for v in np.ravel(expected)])
    # a value where a function is expected is graded, not crashed on: wrong, recorded as a try
    value = send(checker, {"assignment": "hw", "problem": "sig", "answer": in_kernel.encode(0.5)})
    assert value.status == 200 and value.body["verdict"] == "not right"


def test_cases_of_a_value_problem_are_none_and_unknown_ones_404(course):
    bank, store, clock, checker = course
    assert checker.cases(STUDENT, "hw", "mse").body == {"problem": "mse", "cases": None}
    assert checker.cases(STUDENT, "hw", "nope").status == 404
    assert checker.cases(STUDENT, "nope", "sig").status == 404
    assert checker.status(STUDENT, "nope").status == 404
    assert checker.attempts_of(STUDENT, "nope").status == 404


def test_students_see_only_their_own_attempts(course):
    bank, store, clock, checker = course
    send(checker, {"assignment": "hw", "problem": "mse", "answer": 1.0}, student="ada")
    send(checker, {"assignment": "hw", "problem": "mse-mis", "answer": 2.0}, student="ada")
    assert checker.attempts_of("ben", "hw").body == {"assignment": "hw", "attempts": []}
    assert [row["problem"] for row in checker.attempts_of("ada", "hw").body["attempts"]] == ["mse", "mse-mis"]
    assert checker.status("ben", "hw").body["problems"]["mse"]["used"] == 0
