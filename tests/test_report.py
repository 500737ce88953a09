"""Reports: the discrimination index against a hand computation, and the files of a graded class."""

import csv
import io
import re

import course_kit as kit
import numpy as np
import pytest

from grader.grading import grade_assignment
from grader.grading.notebook.config import effective_config
from grader.report import check_columns, discrimination_index, write_reports


def test_discrimination_index_by_hand():
    # 10 students: 27 % -> 3 in each group. Totals order them 0..9; the item is right for the top 4.
    totals = np.arange(10.0)
    item = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1], dtype=float)
    assert discrimination_index(item, totals) == pytest.approx(1.0 - 0.0)
    item = np.array([1, 0, 1, 0, 0, 0, 0, 1, 0, 1], dtype=float)   # bottom 3: 2/3, top 3: 2/3
    assert discrimination_index(item, totals) == pytest.approx(0.0)


def test_check_columns_by_hand():
    """Counted checks only; the first-check rate among the students who checked; misconceptions by count."""
    from grader.attempts.store import Attempt

    def check(student, problem, try_number, correct, misconception=None):
        return Attempt(assignment="a1", problem=problem, student=student, at=float(try_number or 99),
                       try_number=try_number, variant="a1", answer_digest="", answer="", fraction=float(correct),
                       correct=correct, misconception=misconception, code="", keeps=1.0)

    attempts = [check("s1", "p1", 2, True), check("s1", "p1", 1, False, "m1"),      # first (try 1) wrong
                check("s2", "p1", 1, True), check("s3", "p1", 1, False, "m2"), check("s3", "p1", 2, False, "m1"),
                check("s3", "p1", None, False, "m3")]                                 # practice: not counted
    columns = check_columns(attempts, ["p1", "p2"], ["s1", "s2", "s3", "s4"])
    assert columns["p1"] == {"checks_used": 5, "checks_per_student": "1.25", "first_check_right_pct": "33.3",
                             "check_misconceptions": "m1: 2; m2: 1"}
    assert columns["p2"] == {"checks_used": 0, "checks_per_student": "0.00", "first_check_right_pct": "",
                             "check_misconceptions": ""}


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
    item = {r["problem"]: r for r in csv.DictReader((folder / "item-analysis.csv").open())}
    assert item["p1"]["variant_p"] == "" and item["p1"]["alpha_if_deleted"] != ""   # 3 students: not tested
    assert "checks_used" not in item["p1"] and not result["checks"]     # no checks in the bank: no check columns
    assert list(csv.DictReader((folder / "reliability.csv").open()))[0]["students"] == "3"
    assert result["reliability"]["problems"] == len(rows)
    for png in ("score-histogram.png", "problems.png", "fairness.png"):
        assert (folder / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.nbgrader
@pytest.mark.xdist_group("grading")
def test_grade_exports_are_per_assignment(tmp_path, capsys):
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
    assert {row[3]: row[-1] for row in canvas[2:]} == {"a": "4.5", "b": "1", "c": "0"}
    assert ["Lovelace, Ada", "", "", "c", "", "0"] in canvas     # no Canvas id is made up
    moodle = list(csv.DictReader((folder / "moodle-grades.csv").open()))
    assert {r["ID number"]: r["Assignment one"] for r in moodle} == {"a": "4.5", "b": "1", "c": "0"}
    assert [r["Email address"] for r in moodle if r["ID number"] == "c"] == ["ada@example.edu"]
    from grader.bank import load_bank
    bank = load_bank(root / "questions.yaml")       # the spec each problem was graded on: the bank's now
    specs = {r["problem"]: (r["points"], r["spec"]) for r in csv.DictReader((folder / "specs.csv").open())}
    assert specs == {p: (f"{kit.POINTS[p]:g}", bank.problems[p].digest) for p in kit.POINTS}

    # The same through the command, with the Canvas ids from a Canvas export.
    from grader.cli import main

    export = tmp_path / "canvas-export.csv"
    export.write_text("Student,ID,SIS User ID,SIS Login ID,Section,Week 1 (77)\n    Points Possible,,,,,6.00\n"
                      '"Lovelace, Ada",11,s-c,c,S1,\n"A, A",12,s-a,a,S1,\n"B, B",13,s-b,b,S2,\n')
    assert main(["--course", str(root), "report", kit.ASSIGNMENT, "--canvas-assignment", "77"]) == 2
    assert "--canvas-gradebook" in capsys.readouterr().err
    assert main(["--course", str(root), "report", kit.ASSIGNMENT, "--canvas-gradebook", str(export),
                 "--canvas-assignment", "week 1"]) == 0
    assert "canvas-grades.csv: " not in capsys.readouterr().out      # nothing missing
    canvas = list(csv.reader((folder / "canvas-grades.csv").open()))
    assert canvas[0][-1] == "Week 1 (77)" and ["Lovelace, Ada", "11", "s-c", "c", "S1", "0"] in canvas
    assert main(["--course", str(root), "report", kit.ASSIGNMENT]) == 0
    assert "canvas-grades.csv: no Canvas ids" in capsys.readouterr().out


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
    lms = {name: data.decode() for name, data in lms_grade_files(tmp_path / "grades.csv", "=1+1")[0].items()}
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


# --- Canvas' gradebook import -------------------------------------------------------------------------

# A gradebook as Canvas exports it (Grades > Export): its header, a Manual Posting row, the Points
# Possible row with "(read only)" under the totals, Canvas' test student, and a student not in our roster.
CANVAS_EXPORT = """\
Student,ID,SIS User ID,SIS Login ID,Section,Assignment one (1234),"Quiz 2, part A (1240)",Assignments Current Points,\
Assignments Final Points,Current Points,Final Points,Current Score,Unposted Current Score,Final Score,\
Unposted Final Score,Current Grade,Unposted Current Grade,Final Grade,Unposted Final Grade
,,,,,Manual Posting,,,,,,,,,,,,,
    Points Possible,,,,,6.00,10.00,(read only),(read only),(read only),(read only),(read only),(read only),\
(read only),(read only),(read only),(read only),(read only),(read only)
"Lovelace, Ada",4501,900123,c,Section 2,5.00,,5.00,5.00,5.00,5.00,83.33,83.33,31.25,31.25,B,B,F,F
"Aa, Al",4502,900124,A,Section 1,,,,,,,,,,,,,,
"Bee, Bo",4503,b,bo.bee,"Section 1, Section 2",,,,,,,,,,,,,,
"Other, Person",4504,900999,zed,Section 1,,,,,,,,,,,,,,
"Student, Test",4599,,,Section 1,,,,,,,,,,,,,,
"""
# The Canvas course behind that export: user id -> (SIS User ID, SIS Login ID, sortable name).
CANVAS_COURSE = {"4501": ("900123", "c", "Lovelace, Ada"), "4502": ("900124", "a", "Aa, Al"),
                 "4503": ("b", "bo.bee", "Bee, Bo"), "4504": ("900999", "zed", "Other, Person"),
                 "4599": ("", "", "Student, Test")}
CANVAS_ASSIGNMENTS = {"1234": "Assignment one", "1240": "Quiz 2, part A"}


def canvas_import(text, course=CANVAS_COURSE, assignments=CANVAS_ASSIGNMENTS):
    """What Canvas' gradebook import (GradebookImporter) reads in a CSV: {student: {assignment: grade}},
    the student a Canvas user id or ("new", name), the assignment an id or ("new", title); and the
    points possible it reads. Rules: header Student, ID, [SIS User ID,] SIS Login ID, [Integration ID,]
    [Root Account,] Section; a column "<title> (<id>)" is that assignment, else the one with that exact
    title, else a new one; a row whose first cell holds "Points Possible" gives points; a student is
    found by ID, else SIS User ID, else SIS Login ID (logins are case-insensitive), else by name."""
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert "Student" in header[0] and "ID" in header[1]
    students_end = 3
    if "SIS Login ID" in header[2]:
        sis_user, login, students_end = None, 2, 4
    else:
        assert "SIS User ID" in header[2] and "SIS Login ID" in header[3]
        sis_user, login, students_end = 2, 3, 5
    assert "Section" in header[students_end - 1]
    columns = []
    for cell in header[students_end:]:
        found = re.fullmatch(r"(.*)\s\((\d+)\)", cell, re.DOTALL)
        if found and found.group(2) in assignments:
            columns.append(found.group(2))
        else:
            same = [i for i, title in assignments.items() if title == cell]
            columns.append(same[0] if same else ("new", found.group(1) if found else cell))
    grades, points = {}, {}
    for row in rows[1:]:
        if "Points Possible" in row[0]:
            points = dict(zip(columns, row[students_end:]))
            continue
        if all(re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", cell, re.I) for cell in row):
            continue
        student = row[1] if row[1] in course else None
        student = student or next((u for u, ids in course.items() if sis_user is not None and row[sis_user]
                                   and ids[0] == row[sis_user]), None)
        student = student or next((u for u, ids in course.items() if row[login]
                                   and ids[1].casefold() == row[login].casefold()), None)
        student = student or next((u for u, ids in course.items() if ids[2] == row[0]), ("new", row[0]))
        grades[student] = dict(zip(columns, row[students_end:]))
    return grades, points


def _grades_csv(path, rows):
    """A grades.csv as `report` writes it, from (student id, last name, first name, score)."""
    from grader.report import GRADES_CSV_COLUMNS
    from grader.spreadsheet_csv import csv_text

    path.write_text(csv_text(GRADES_CSV_COLUMNS, [["a1", "", "", student, last, first, "", score, 0.0, score, 6.0]
                                                  for student, last, first, score in rows]))
    return path


ROSTER = [("a", "", "", 4.5), ("b", "", "", 1.0), ("c", "Lovelace", "Ada", 0.0), ("d", "Nobody", "Dee", 2.25)]


def test_canvas_grades_carry_canvas_ids_from_its_own_export(tmp_path):
    from grader.report import lms_grade_files, read_canvas_gradebook

    (tmp_path / "export.csv").write_text(CANVAS_EXPORT)
    gradebook = read_canvas_gradebook(tmp_path / "export.csv")
    files, notes = lms_grade_files(_grades_csv(tmp_path / "grades.csv", ROSTER), "Assignment one", gradebook, "a1")
    text = files["canvas-grades.csv"].decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Assignment one (1234)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "6"]
    assert ["Lovelace, Ada", "4501", "900123", "c", "Section 2", "0"] in rows
    assert ["Bee, Bo", "4503", "b", "bo.bee", "Section 1, Section 2", "1"] in rows     # by SIS User ID
    assert ["Nobody, Dee", "", "", "", "", "2.25"] in rows                            # no made-up ids
    grades, points = canvas_import(text)
    assert grades == {"4502": {"1234": "4.5"}, "4503": {"1234": "1"}, "4501": {"1234": "0"},
                      ("new", "Nobody, Dee"): {"1234": "2.25"}}
    assert points == {"1234": "6"}
    assert len(notes) == 1 and "1 of 4 students" in notes[0] and notes[0].endswith(": d")


def test_canvas_grades_without_canvas_ids_say_what_is_missing_and_write_no_wrong_id(tmp_path):
    from grader.report import lms_grade_files

    files, notes = lms_grade_files(_grades_csv(tmp_path / "grades.csv", ROSTER), "Assignment one")
    rows = list(csv.reader(io.StringIO(files["canvas-grades.csv"].decode())))
    assert rows[0][-1] == "Assignment one" and [row[1:3] for row in rows[2:]] == [["", ""]] * 4
    assert [row[3] for row in rows[2:]] == ["a", "b", "c", "d"] and {row[4] for row in rows[1:]} == {""}
    assert "--canvas-gradebook FILE" in notes[0] and "Export Entire Gradebook" in notes[0]
    # When the hub's user names are Canvas logins, Canvas finds the students and the assignment by title.
    grades, _ = canvas_import(files["canvas-grades.csv"].decode())
    assert grades[("new", "Nobody, Dee")] == {"1234": "2.25"} and grades["4501"] == {"1234": "0"}
    assert ("new", "b") in grades      # b's login is bo.bee: not found, and no SIS User ID was guessed


def test_canvas_assignment_by_title_or_id_and_what_does_not_match(tmp_path):
    from grader.errors import GraderError
    from grader.report import lms_grade_files, read_canvas_gradebook

    (tmp_path / "export.csv").write_text(CANVAS_EXPORT)
    gradebook = read_canvas_gradebook(tmp_path / "export.csv")
    grades = _grades_csv(tmp_path / "grades.csv", ROSTER)
    for asked in ("1240", "quiz 2, part a", "Quiz 2, part A (1240)"):
        files, notes = lms_grade_files(grades, "Assignment one", gradebook, "a1", asked)
        assert files["canvas-grades.csv"].decode().splitlines()[0].endswith('"Quiz 2, part A (1240)"')
        assert any("10.00 points possible" in note and "out of 6" in note for note in notes)
    files, notes = lms_grade_files(grades, "CNNs", gradebook, "cnn-detection")
    assert files["canvas-grades.csv"].decode().splitlines()[0].endswith(",CNNs")
    assert "--canvas-assignment" in notes[0] and "Assignment one (1234)" in notes[0]
    with pytest.raises(GraderError, match="no such assignment"):
        lms_grade_files(grades, "Assignment one", gradebook, "a1", "Quiz 3")
    (tmp_path / "twice.csv").write_text(CANVAS_EXPORT.replace("Quiz 2, part A (1240)", "Assignment one (1240)"))
    with pytest.raises(GraderError, match="several assignments"):
        lms_grade_files(grades, "Assignment one", read_canvas_gradebook(tmp_path / "twice.csv"), "a1")


def test_a_canvas_export_with_semicolons_and_a_byte_order_mark_reads_the_same(tmp_path):
    from grader.report import read_canvas_gradebook

    (tmp_path / "comma.csv").write_text(CANVAS_EXPORT)
    rows = list(csv.reader(io.StringIO(CANVAS_EXPORT)))
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";").writerows([[cell.replace("6.00", "6,00") for cell in row] for row in rows])
    (tmp_path / "semicolon.csv").write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode())
    comma, semicolon = (read_canvas_gradebook(tmp_path / name) for name in ("comma.csv", "semicolon.csv"))
    assert semicolon.students == comma.students and len(comma.students) == 5
    assert semicolon.assignments == comma.assignments == [
        ("Assignment one (1234)", "Assignment one", "1234", "6.00"), ("Quiz 2, part A (1240)", "Quiz 2, part A", "1240", "10.00")]


@pytest.mark.parametrize("text", ["", "name,score\nada,1\n", "Student,ID,Section,A (1)\n"])
def test_what_is_not_a_canvas_export_is_refused(tmp_path, text):
    from grader.errors import GraderError
    from grader.report import read_canvas_gradebook

    (tmp_path / "x.csv").write_text(text)
    with pytest.raises(GraderError, match="not a Canvas gradebook export"):
        read_canvas_gradebook(tmp_path / "x.csv")
