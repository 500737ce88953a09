"""The grading rule of checks before the deadline (grader.attempts.rules), against hand-worked cases."""

import datetime as dt

import pytest

from grader.attempts.rules import ProblemTries, answers_count, problem_share
from grader.bank.policy import AssignmentRules, CheckPolicy, Dates, LateStep

DUE = dt.datetime(2026, 12, 10, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
HOUR, DAY = 3600.0, 86400.0
RULES = AssignmentRules(attempts=CheckPolicy(checks=3, credit=(1.0, 0.8, 0.5)),
                        dates=Dates(due=DUE, late=(LateStep(until=2 * DAY, credit=0.8),)),
                        overrides=(("free", CheckPolicy(checks=2)),))


def at(seconds_after_due):
    return DUE + dt.timedelta(seconds=seconds_after_due)


@pytest.mark.parametrize("tries, correct, expected", [
    (None, True, 1.0),                                              # never checked, right: try 1
    (ProblemTries("p", checks=1, first_right=1), True, 1.0),        # right at the first check
    (ProblemTries("p", checks=2, first_right=2), True, 0.8),        # right at the second
    (ProblemTries("p", checks=3, first_right=3), True, 0.5),
    (ProblemTries("p", checks=2, first_right=None), True, 0.5),     # two wrong checks, then submitted right: try 3
    (ProblemTries("p", checks=3, first_right=None), True, 0.5),     # try 4: the last share repeats
    (ProblemTries("p", checks=1, first_right=None), False, 0.8),    # partial credit of a wrong answer: try 2
    (ProblemTries("p", checks=3, first_right=1), False, 0.5),       # checked right, then submitted wrong: try 4
])
def test_the_try_share_is_the_first_right_check_or_one_more_try(tries, correct, expected):
    share = problem_share(RULES, "p", tries, correct, at(-HOUR))
    assert share.share == pytest.approx(expected)
    assert share.late_share == 1.0
    assert (share.reason == "") == (expected == 1.0)


def test_a_problem_override_without_its_own_credit_keeps_every_point():
    assert problem_share(RULES, "free", ProblemTries("free", 2, None), True, at(0)).share == 1.0


@pytest.mark.parametrize("after_due, extension, expected", [
    (-1, 0, 1.0), (0, 0, 1.0), (1, 0, 0.8), (2 * DAY, 0, 0.8), (2 * DAY + 1, 0, 0.0),
    (DAY - 1, DAY, 1.0), (DAY + 1, DAY, 0.8), (3 * DAY, DAY, 0.8), (3 * DAY + 1, DAY, 0.0),
])
def test_the_late_share_follows_the_timeline_moved_by_the_extension(after_due, extension, expected):
    share = problem_share(RULES, "p", ProblemTries("p", 1, 1), True, at(after_due), extension)
    assert share.late_share == expected
    assert share.share == pytest.approx(expected)
    assert answers_count(RULES, at(after_due), extension) == (expected > 0)


def test_both_shares_multiply_and_both_reasons_are_told():
    share = problem_share(RULES, "p", ProblemTries("p", 2, 2), True, at(HOUR))
    assert share.share == pytest.approx(0.8 * 0.8)
    assert "check 2" in share.reason and "late" in share.reason


def test_without_checks_or_dates_nothing_changes():
    share = problem_share(AssignmentRules(), "p", None, True, at(10 * DAY))
    assert (share.share, share.reason) == (1.0, "")
