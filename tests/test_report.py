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


@pytest.mark.nbgrader
@pytest.mark.xdist_group("grading")
def test_grade_exports_are_per_assignment(tmp_path):
    """grades.csv holds this assignment only, one row per rostered student; the whole gradebook
    has a name that says so; the LMS files carry the same scores, rounded for people."""
    from nbgrader.api import Gradebook

    root = kit.make_course(tmp_path, timeout=3)
    kit.submit(root, "a", {**kit.RIGHT, "p1": "q1 = 15"})      # 4.5
    kit.submit(root, "b", {"p3": 'q3 = "B"'})                  # 1
    config = effective_config(root)
    with Gradebook(config.CourseDirectory.db_url, "default_course") as gb:
        gb.add_assignment("other-assignment")
        gb.add_student("c", first_name="Ada", last_name="Lovelace", email="ada@example.edu")   # no submission
    grade_assignment(root, kit.ASSIGNMENT, config=config)
    write_reports(config, kit.ASSIGNMENT, title="Assignment one")
    folder = root / "reports" / kit.ASSIGNMENT
    grades = list(csv.DictReader((folder / "grades.csv").open()))
    assert [r["assignment"] for r in grades] == [kit.ASSIGNMENT] * 3
    assert {r["student_id"]: float(r["score"]) for r in grades} == {"a": 4.5, "b": 1.0, "c": 0.0}
    whole = list(csv.DictReader((root / "reports" / "gradebook-all-assignments.csv").open()))
    assert sorted({r["assignment"] for r in whole}) == sorted([kit.ASSIGNMENT, "other-assignment"])
    assert len(whole) == 6
    canvas = list(csv.reader((folder / "canvas-grades.csv").open()))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Assignment one"]
    assert canvas[1][0] == "Points Possible" and canvas[1][-1] == "6"
    assert {row[2]: row[-1] for row in canvas[2:]} == {"a": "4.5", "b": "1", "c": "0"}
    assert ["Lovelace, Ada", "", "c", "c", "", "0"] in canvas
    moodle = list(csv.DictReader((folder / "moodle-grades.csv").open()))
    assert {r["ID number"]: r["Assignment one"] for r in moodle} == {"a": "4.5", "b": "1", "c": "0"}
    assert [r["Email address"] for r in moodle if r["ID number"] == "c"] == ["ada@example.edu"]


def test_lms_scores_are_rounded_for_people():
    from grader.report import lms_score
    assert [lms_score(v) for v in (28.333333, 2.0, 0.125, None)] == ["28.33", "2", "0.12", "0"]


@pytest.mark.nbgrader
@pytest.mark.xdist_group("grading")
def test_report_and_feedback_refuse_what_is_not_there(tmp_path):
    import subprocess
    import sys

    root = kit.make_course(tmp_path, timeout=3)
    run = lambda *a: subprocess.run([sys.executable, "-m", "grader", *a, "--course", str(root)],  # noqa: E731
                                    capture_output=True, text=True, env=kit.venv_env())
    for command in ("report", "feedback"):
        typo = run(command, kit.ASSIGNMENT + "x")
        assert typo.returncode == 2 and "Traceback" not in typo.stderr
        assert f"did you mean '{kit.ASSIGNMENT}'?" in typo.stderr
        empty = run(command, kit.ASSIGNMENT)
        assert empty.returncode == 2 and "no graded submission" in empty.stderr
    assert not (root / "reports").exists() and not (root / "feedback").exists()


def test_item_analysis_counts_the_variants_in_play(tmp_path):
    from types import SimpleNamespace

    from render_kit import FIXTURE_BANK, make_course

    from grader.report import variants_in_play

    def config(root):
        return SimpleNamespace(CourseDirectory=SimpleNamespace(root=str(root)))

    shared = make_course(tmp_path / "shared")
    students = [f"s{i}" for i in range(12)]
    assert variants_in_play(config(shared), "fixture-a", students, ["conv-out", "relu-init"]) == \
        {"conv-out": 1, "relu-init": 1}
    own = make_course(tmp_path / "own", FIXTURE_BANK.read_text().replace("variant_key: assignment",
                                                                         "variant_key: student"))
    counts = variants_in_play(config(own), "fixture-a", students, ["conv-out", "relu-init"])
    assert counts["relu-init"] == 1 and 1 < counts["conv-out"] <= len(students)
    assert variants_in_play(config(tmp_path), "fixture-a", students, ["conv-out"]) == {}   # no bank


# --- CSV cells a spreadsheet would run -----------------------------------------------------------

HOSTILE_ID = '=HYPERLINK("http://x","y")'
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def formula_cells(text: str) -> list[str]:
    """Cells of a CSV file that Excel, LibreOffice or Sheets would run as a formula."""
    import io
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row
            if cell.startswith(FORMULA_STARTS) and not _number(cell)]


def test_a_cell_that_would_run_as_a_formula_is_written_as_text_and_numbers_stay_numbers():
    from grader.spreadsheet_csv import csv_text, spreadsheet_cell

    cells = ["=1+1", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "-", "-1.5", "+2", "1e-3", "-.5", "abc", "", 3, -1.5]
    assert [spreadsheet_cell(cell) for cell in cells] == \
        ["'=1+1", "'+1+1", "'-2+3", "'@SUM(A1)", "'\t=1", "'\r=1", "'-", "-1.5", "+2", "1e-3", "-.5", "abc", "", 3, -1.5]
    text = csv_text(["id", "a, b"], [[HOSTILE_ID, -1.5], ["x", "Smith, Jr."]])
    assert formula_cells(text) == []
    assert list(csv.reader(text.splitlines())) == [["id", "a, b"], ["'" + HOSTILE_ID, "-1.5"], ["x", "Smith, Jr."]]


def test_grade_exports_of_a_hostile_roster_are_text_in_their_own_columns(tmp_path):
    """nbgrader's own export writes `=HYPERLINK(...)` as it is, and a comma in it shifts the columns;
    ours writes nbgrader's rows, the same bytes for a plain student, each field in its column."""
    from nbgrader.plugins.export import CsvExportPlugin
    from traitlets.config import Config

    from grader.course import open_gradebook
    from grader.release import python_scripts_on_path
    from grader.report import GRADES_CSV_COLUMNS, export_grades_csv, lms_grade_files

    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    config.CourseDirectory.db_url = f"sqlite:///{tmp_path}/gradebook.db"
    with python_scripts_on_path(), open_gradebook(config) as gb:
        gb.add_assignment("a1")
        gb.add_student("ada", first_name="Ada", last_name="Lovelace", email="ada@example.edu")
        gb.add_student(HOSTILE_ID, first_name="<script>alert(1)</script>", last_name="-2+3", email="@evil.example")
        gb.add_student("smith", first_name="John", last_name="Smith, Jr.", email="=cmd|' /C calc'!A0")
        plugin = CsvExportPlugin(config=config)
        plugin.to, plugin.assignment = str(tmp_path / "nbgrader.csv"), ["a1"]
        plugin.export(gb)
    theirs = (tmp_path / "nbgrader.csv").read_text().splitlines()
    assert export_grades_csv(config, tmp_path / "grades.csv", "a1") == 3
    ours = (tmp_path / "grades.csv").read_text()
    assert ours.splitlines()[0] == theirs[0] == ",".join(GRADES_CSV_COLUMNS)
    assert [line for line in theirs if ",ada," in line] == [line for line in ours.splitlines() if ",ada," in line]
    assert any(len(row) != len(GRADES_CSV_COLUMNS) for row in csv.reader(theirs))        # nbgrader's: shifted
    found = formula_cells("\n".join(theirs))
    assert {"-2+3", "@evil.example"} <= set(found) and any(cell.startswith("=HYPERLINK(") for cell in found)
    rows = {r["first_name"]: r for r in csv.DictReader(ours.splitlines())}
    assert all(len(r) == len(GRADES_CSV_COLUMNS) and None not in r for r in rows.values())
    hostile = rows["<script>alert(1)</script>"]
    assert (hostile["student_id"], hostile["last_name"], hostile["email"], hostile["score"]) == \
        ("'" + HOSTILE_ID, "'-2+3", "'@evil.example", "0.0")
    assert rows["John"]["last_name"] == "Smith, Jr." and rows["John"]["email"] == "'=cmd|' /C calc'!A0"
    assert formula_cells(ours) == []
    lms = {name: data.decode() for name, data in lms_grade_files(tmp_path / "grades.csv", "=1+1").items()}
    for name, text in lms.items():
        assert formula_cells(text) == [], name
    moodle = {r["ID number"]: r for r in csv.DictReader(lms["moodle-grades.csv"].splitlines())}
    assert moodle["'" + HOSTILE_ID]["Email address"] == "'@evil.example" and moodle["ada"]["'=1+1"] == "0"
    assert export_grades_csv(config, tmp_path / "all.csv") == 3
    assert formula_cells((tmp_path / "all.csv").read_text()) == []


def test_the_lms_manifest_of_a_hostile_roster_is_text(monkeypatch):
    from grader import distribute

    monkeypatch.setattr(distribute, "roster_entries", lambda course: [
        distribute.RosterEntry(HOSTILE_ID, "+SUM(1)", "Smith, Jr.", "@evil.example"), distribute.RosterEntry("ada", "Ada")])
    text = distribute.manifest_csv("unused", "a1", [HOSTILE_ID, "ada"])
    assert formula_cells(text) == []
    assert list(csv.reader(text.splitlines()))[1:] == [
        ["'" + HOSTILE_ID, "'+SUM(1)", "Smith, Jr.", "'@evil.example", "'" + HOSTILE_ID + "/a1.ipynb"],
        ["ada", "Ada", "", "", "ada/a1.ipynb"]]
