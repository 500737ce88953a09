"""Reports: the discrimination index against a hand computation, and the files of a graded class."""

import csv

import course_kit as kit
import numpy as np
import pytest

from grader.grading import grade_assignment
from grader.grading.config import effective_config
from grader.report import discrimination_index, write_reports


def test_discrimination_index_by_hand():
    # 10 students: 27 % -> 3 in each group. Totals order them 0..9; the item is right for the top 4.
    totals = np.arange(10.0)
    item = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1], dtype=float)
    assert discrimination_index(item, totals) == pytest.approx(1.0 - 0.0)
    item = np.array([1, 0, 1, 0, 0, 0, 0, 1, 0, 1], dtype=float)   # bottom 3: 2/3, top 3: 2/3
    assert discrimination_index(item, totals) == pytest.approx(0.0)


@pytest.mark.nbgrader
@pytest.mark.xdist_group("grading")
def test_reports_of_a_graded_class(tmp_path):
    root = kit.make_course(tmp_path, timeout=3)
    kit.submit(root, "a", kit.RIGHT)
    kit.submit(root, "b", {**kit.RIGHT, "p1": "q1 = 15"})
    kit.submit(root, "c", {"p3": 'q3 = "B"'})
    config = effective_config(root)
    grade_assignment(root, kit.ASSIGNMENT, config=config)
    result = write_reports(config, kit.ASSIGNMENT)
    folder = root / "reports" / kit.ASSIGNMENT
    grades = list(csv.DictReader((folder / "grades.csv").open()))
    assert {r["student_id"]: float(r["score"]) for r in grades} == {"a": 6.0, "b": 4.5, "c": 1.0}
    problems = {r["student"]: r for r in csv.DictReader((folder / "problems.csv").open())}
    assert problems["b"]["p1"] == "0.5" and problems["c"]["total"] == "1"
    rows = {r["problem"]: r for r in result["rows"]}
    assert rows["p1"]["mean"] == pytest.approx((2 + 0.5 + 0) / 3)
    assert rows["p3"]["full_marks_pct"] == pytest.approx(100.0)
    assert rows["p1"]["top_misconception"] == "ceil-not-floor"
    for png in ("score-histogram.png", "problems.png"):
        assert (folder / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
