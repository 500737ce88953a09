"""`attempts:` and `dates:` in questions.yaml (grader.bank.policy): parsed, merged, and refused with the
file, line and what is wrong."""

import datetime as dt
import re
from pathlib import Path

import pytest

from grader.bank import BankError, load_bank_text

# the shipped bank without its homework's own `attempts:` lines: these tests give the policy themselves
SHIPPED = re.sub(r"(?m)^    attempts: \{[^\n]*\}\n", "",
                 (Path(__file__).parents[2] / "questions.yaml").read_text(encoding="utf-8"))
HEADER = "  - id: cnn-detection\n    title: CNNs and object detection\n"


def bank_with(assignment_lines="", problem_lines="", problem="conv-output-size"):
    text = SHIPPED.replace(HEADER, HEADER + assignment_lines)
    if problem_lines:
        marker = f"  - id: {problem}\n"
        text = text.replace(marker, marker + problem_lines)
    return text


def line_of(text, needle):
    return text.splitlines().index(next(line for line in text.splitlines() if needle in line)) + 1


def test_an_assignments_policy_and_dates_and_a_problems_override():
    text = bank_with("    attempts: {checks: 3, credit: [1, 0.8, 0.5], interval: 2min, reveal: band}\n"
                     "    dates:\n      due: 2026-12-10T23:59:00-05:00\n      late:\n"
                     "        - {until: 1d, credit: 0.9}\n        - {until: 3d, credit: 0.5}\n",
                     "    attempts: {checks: 1}\n")
    rules = load_bank_text(text).assignments["cnn-detection"].rules
    assert rules.attempts.checks == 3 and rules.attempts.credit == (1, 0.8, 0.5)
    assert rules.attempts.interval == 120 and rules.attempts.reveal == "band"
    override = rules.policy_for("conv-output-size")
    assert (override.checks, override.credit, override.interval) == (1, (1, 0.8, 0.5), 120)
    assert rules.policy_for("conv-params") == rules.attempts
    due = dt.datetime(2026, 12, 11, 4, 59, tzinfo=dt.timezone.utc)
    assert rules.dates.due == due and [s.until for s in rules.dates.late] == [86400, 3 * 86400]
    assert rules.dates.closes(3600) == due + dt.timedelta(days=3, hours=1)


def test_without_either_nothing_is_checked_before_grading():
    rules = load_bank_text(SHIPPED).assignments["cnn-detection"].rules
    assert rules.attempts.checks == 0 and rules.dates is None and rules.attempts.describe() == ""


@pytest.mark.parametrize("lines, needle, message", [
    ("    attempts: {checks: -1}\n", "checks: -1", "attempts.checks: -1 is not a whole number"),
    ("    attempts: {checks: 2, credit: [1, 1.5]}\n", "credit: [1, 1.5]", "between 0 and 1"),
    ("    attempts: {checks: 2, credit: [0.5, 1]}\n", "credit: [0.5, 1]", "rises"),
    ("    attempts: {checks: 2, interval: soon}\n", "interval: soon", "is not a duration"),
    ("    attempts: {checks: 2, reveal: answer}\n", "reveal: answer", "not one of verdict, misconception, band"),
    ("    attempts: {checks: 2, tries: 3}\n", "tries: 3", "unknown field 'tries'"),
    ("    dates: {due: 2026-12-10}\n", "due: 2026-12-10", "no UTC offset"),
    ("    dates: {due: tomorrow}\n", "due: tomorrow", "is not a date and time"),
    ("    dates: {late: []}\n", "dates: {late", "needs 'due'"),
    ("    dates:\n      due: 2026-12-10T23:59:00Z\n      late:\n        - {until: 2d, credit: 0.8}\n"
     "        - {until: 1d, credit: 0.5}\n", "until: 1d", "is not after the step before it"),
])
def test_a_bad_field_is_refused_with_its_line(lines, needle, message):
    text = bank_with(lines)
    with pytest.raises(BankError) as caught:
        load_bank_text(text)
    assert f"questions.yaml:{line_of(text, needle)}: assignment 'cnn-detection': " in str(caught.value)
    assert message in str(caught.value)


def test_a_bad_problem_override_names_the_problem():
    text = bank_with("    attempts: {checks: 2}\n", "    attempts: {credit: [2]}\n")
    with pytest.raises(BankError, match=rf"questions.yaml:{line_of(text, 'credit: [2]')}: problem 'conv-output-size': "
                                        r"attempts.credit"):
        load_bank_text(text)


def test_the_student_reads_the_policy_in_words():
    rules = load_bank_text(bank_with("    attempts: {checks: 3, credit: [1, 0.8, 0.5], interval: 30s}\n"
                                     "    dates: {due: 2026-12-10T23:59:00-05:00, late: [{until: 2d, credit: 0.8}]}\n")
                           ).assignments["cnn-detection"].rules
    assert "3 times" in rules.attempts.describe() and "100%, 80%, 50%" in rules.attempts.describe()
    assert "wait 30 s" in rules.attempts.describe()
    assert "until 2 d after it, answers keep 80%" in rules.dates.describe()
