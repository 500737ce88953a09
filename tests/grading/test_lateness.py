"""Lateness, from nbgrader's due dates and extensions, in grade's list, on the feedback page and in
Moodle's grade file (issue #19)."""

import csv
from datetime import datetime, timedelta

import course_kit as kit
import pytest
from nbgrader.api import Gradebook

from grader import cli
from grader.grading import grade_assignment
from grader.grading.coordinator.gradebook import lateness_text
from grader.grading.kernel.sandbox import support
from grader.grading.notebook.config import effective_config

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("nbgrader")]

DUE = datetime(2026, 12, 1, 12, 0, 0)
HANDED_IN = {"ann": DUE - timedelta(minutes=5), "ben": DUE + timedelta(hours=2, minutes=5),
             "cat": DUE + timedelta(hours=1)}          # cat has a two-hour extension


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = kit.make_course(tmp_path_factory.mktemp("late"), timeout=10)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment(kit.ASSIGNMENT, duedate=DUE)
        gb.add_student("cat")
        gb.add_submission(kit.ASSIGNMENT, "cat")         # nbgrader keeps extensions on the submission
        gb.grant_extension(kit.ASSIGNMENT, "cat", hours=2)
    for student, when in HANDED_IN.items():
        kit.submit(root, student, kit.RIGHT)
        (root / "submitted" / student / kit.ASSIGNMENT / "timestamp.txt").write_text(f"{when} UTC")
    run = grade_assignment(root, kit.ASSIGNMENT, config=effective_config(root), unsafe=not support().available)
    assert cli.main(["--course", str(root), "feedback", kit.ASSIGNMENT]) == 0
    assert cli.main(["--course", str(root), "report", kit.ASSIGNMENT]) == 0
    return root, run


def test_lateness_text():
    assert [lateness_text(s) for s in (0.4, 45, 125 * 60, 3 * 86400 + 7200 + 59)] == ["0 s", "45 s", "2 h 5 min",
                                                                                      "3 d 2 h"]


def test_grade_lists_the_late_student_only(course):
    _, run = course
    assert "handed in 2 h 5 min after the due date (nbgrader's, with any extension)" in run.outcomes["ben"].reasons
    assert not [r for s in ("ann", "cat") for r in run.outcomes[s].reasons if "late" in r or "due date" in r]


def test_the_feedback_page_says_when_it_was_due_and_how_late(course):
    root, _ = course
    page = {s: (root / "feedback" / s / kit.ASSIGNMENT / f"{kit.ASSIGNMENT}.html").read_text() for s in HANDED_IN}
    assert "Handed in 2026-12-01 14:05 UTC, due 2026-12-01 12:00 UTC: <strong>2 h 5 min late</strong>" in page["ben"]
    assert "Handed in 2026-12-01 11:55 UTC, due 2026-12-01 12:00 UTC: on time" in page["ann"]
    assert "Handed in 2026-12-01 13:00 UTC, due 2026-12-01 14:00 UTC: on time" in page["cat"]   # the extension


def test_moodle_s_grade_file_carries_lateness_for_the_item_s_feedback(course):
    root, _ = course
    rows = {r["ID number"]: r["Lateness"] for r in csv.DictReader(
        (root / "reports" / kit.ASSIGNMENT / "moodle-grades.csv").open(newline=""))}
    assert rows == {"ann": "", "ben": "handed in 2 h 5 min late", "cat": ""}
