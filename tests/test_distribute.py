"""The roster, `release --per-student`, delivery into hub homes and the per-student export."""

import io
import json
import zipfile

import nbformat
import pytest
from render_kit import ASSIGNMENT, FIXTURE_BANK, make_course

from grader import cli
from grader.course import course_config, open_gradebook
from grader.distribute import (
    added_by_grade,
    forget_added_by_grade,
    grading_roster,
    personal_path,
    roster,
    roster_status,
    students_to_release,
)
from grader.errors import GraderError
from grader.personalize import values_digest
from grader.release import python_scripts_on_path
from grader.release_record import read_students_record, students_record_path
from grader.variants import draw_for

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("nbgrader")]

PER_STUDENT_TEXT = FIXTURE_BANK.read_text(encoding="utf-8").replace("variant_key: assignment", "variant_key: student")
ROSTER = {"alice": "alice@example.edu", "bob": "bob@example.edu", "carol": ""}


def grader(course, *args):
    return cli.main(["--course", str(course), *args])


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A per-student course with a roster of three, rendered, released and released per student."""
    course = make_course(tmp_path_factory.mktemp("distribute") / "course", PER_STUDENT_TEXT)
    with python_scripts_on_path(), open_gradebook(course_config(course)) as gb:
        for student, email in ROSTER.items():
            gb.add_student(student, email=email or None, first_name=student.title())
    assert grader(course, "render") == 0
    assert grader(course, "release", ASSIGNMENT, "--per-student") == 0
    return course


def test_the_roster_is_nbgraders_students_table(course):
    assert roster(course) == ["alice", "bob", "carol"]


def test_a_student_grade_adds_to_the_table_is_off_the_roster_until_staff_name_them(course):
    """grade records whom it adds to nbgrader's students table (grading_roster, before
    prepare_submissions adds them): they are not on the roster and get no personal notebook."""
    try:
        with python_scripts_on_path(), open_gradebook(course_config(course)) as gb:
            assert grading_roster(gb, course, ASSIGNMENT, ["alice", "zed"]) == {"alice", "bob", "carol"}
            gb.update_or_create_student("zed")               # as grade's prepare_submissions does
        assert added_by_grade(course) == {"zed": ASSIGNMENT}
        assert roster(course) == ["alice", "bob", "carol"]
        assert students_to_release(course, None) == ["alice", "bob", "carol"]
        assert "not on the roster" in roster_status(course, ASSIGNMENT, ["zed"])["zed"]
        assert grader(course, "release", ASSIGNMENT, "--per-student") == 0
        assert not personal_path(course, "zed", ASSIGNMENT).exists()
        with python_scripts_on_path(), open_gradebook(course_config(course)) as gb:
            gb.update_or_create_student("zed", first_name="Zed")   # only a person names a student
        assert roster(course) == ["alice", "bob", "carol", "zed"]
    finally:
        with python_scripts_on_path(), open_gradebook(course_config(course)) as gb:
            gb.remove_student("zed")
        forget_added_by_grade(course, ["zed"])
    assert added_by_grade(course) == {}


def test_release_per_student_writes_every_roster_students_notebook_and_records_their_values(course):
    from grader.bank import load_bank

    bank = load_bank(course / "questions.yaml")
    texts = {student: personal_path(course, student, ASSIGNMENT).read_text(encoding="utf-8") for student in ROSTER}
    assert len(set(texts.values())) == 3
    record = read_students_record(course, ASSIGNMENT)
    assert sorted(record) == sorted(ROSTER)
    for student in ROSTER:
        for problem_id, digest in record[student].items():
            assert digest == values_digest(draw_for(bank, bank.problems[problem_id], ASSIGNMENT, student))
    assert not (course / "release" / "alice").exists()      # nbgrader's release/ stays the instructor's copy


def test_a_re_release_changes_nothing_and_a_late_student_leaves_the_others_alone(course):
    path = students_record_path(course, ASSIGNMENT)
    before = path.read_bytes()
    notebooks = {s: personal_path(course, s, ASSIGNMENT).read_bytes() for s in ROSTER}
    assert grader(course, "release", ASSIGNMENT, "--per-student") == 0
    assert path.read_bytes() == before
    assert grader(course, "release", ASSIGNMENT, "--per-student", "--student", "late") == 0
    record = json.loads(path.read_text(encoding="utf-8"))["students"]
    assert sorted(record) == ["alice", "bob", "carol", "late"]
    assert {s: personal_path(course, s, ASSIGNMENT).read_bytes() for s in ROSTER} == notebooks


def test_a_bank_change_that_would_change_a_released_variant_is_refused_by_name(course, capsys):
    bank_path = course / "questions.yaml"
    original = bank_path.read_text(encoding="utf-8")
    notebook = personal_path(course, "alice", ASSIGNMENT).read_bytes()
    try:
        bank_path.write_text(original.replace("W: {int: [40, 64]}", "W: {int: [65, 99]}"), encoding="utf-8")
        assert grader(course, "render", "--force") == 0
        assert grader(course, "release", ASSIGNMENT, "--per-student", "--force", "--student", "nobody-yet") == 0
        capsys.readouterr()
        assert grader(course, "release", ASSIGNMENT, "--per-student", "--student", "alice") == 2
        error = capsys.readouterr().err
        assert "student 'alice', problem 'conv-out'" in error and "nothing was written" in error
        assert personal_path(course, "alice", ASSIGNMENT).read_bytes() == notebook
    finally:
        bank_path.write_text(original, encoding="utf-8")
        assert grader(course, "render", "--force") == 0
        assert grader(course, "release", ASSIGNMENT, "--force") == 0


def test_release_check_regenerates_every_personal_notebook_and_names_one_that_changed(course, capsys):
    bob = f"per-student release: release-students/bob/{ASSIGNMENT}/{ASSIGNMENT}.ipynb: out of date"
    grader(course, "release", ASSIGNMENT, "--check")      # other tests may leave a forced student behind
    assert bob not in capsys.readouterr().out
    path = personal_path(course, "bob", ASSIGNMENT)
    original = path.read_bytes()
    try:
        notebook = nbformat.reads(original.decode("utf-8"), as_version=4)
        notebook.cells[0].source += "\nedited by hand"
        path.write_text(nbformat.writes(notebook), encoding="utf-8")
        assert grader(course, "release", ASSIGNMENT, "--check") == 1
        out = capsys.readouterr().out
        assert bob in out and "alice" not in out and "carol" not in out
    finally:
        path.write_bytes(original)
    grader(course, "release", ASSIGNMENT, "--check")
    assert bob not in capsys.readouterr().out


def test_release_check_passes_on_a_fresh_per_student_release(tmp_path, capsys):
    course = make_course(tmp_path / "course", PER_STUDENT_TEXT)
    assert grader(course, "render") == 0
    assert grader(course, "release", ASSIGNMENT, "--per-student", "--student", "dana") == 0
    capsys.readouterr()
    assert grader(course, "release", ASSIGNMENT, "--check") == 0
    assert "release-students/ checked too" in capsys.readouterr().out


def test_roster_status_lists_who_is_not_on_the_roster_or_got_no_notebook(course):
    status = roster_status(course, ASSIGNMENT, ["alice", "mallory"])
    assert status["alice"] is None
    assert "not on the roster" in status["mallory"]


def test_distribute_into_hub_homes_where_fetch_assignment_puts_it(course, tmp_path, capsys):
    homes = tmp_path / "home"
    for student in ("alice", "bob"):
        (homes / student).mkdir(parents=True)
    pattern = str(homes / "{student}")
    assert grader(course, "distribute", ASSIGNMENT, "--homes", pattern) == 1      # carol has no home: listed
    assert "skipped carol" in capsys.readouterr().out
    for student in ("alice", "bob"):
        delivered = homes / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert delivered.read_bytes() == personal_path(course, student, ASSIGNMENT).read_bytes()
    work = homes / "alice" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    work.write_text(work.read_text(encoding="utf-8").replace("raise NotImplementedError()", "q1 = 3", 1))
    started = work.read_bytes()
    (homes / "dora").mkdir()
    capsys.readouterr()
    assert grader(course, "release", ASSIGNMENT, "--per-student", "--student", "dora") == 0     # a late joiner
    assert grader(course, "distribute", ASSIGNMENT, "--homes", pattern, "--student", "alice", "--student", "dora") == 1
    assert "skipped alice: kept their" in capsys.readouterr().out                 # her work stays, and is listed
    assert work.read_bytes() == started
    assert (homes / "dora" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes() == \
        personal_path(course, "dora", ASSIGNMENT).read_bytes()                   # the others get theirs
    assert grader(course, "distribute", ASSIGNMENT, "--homes", pattern, "--student", "alice", "--force") == 0
    assert work.read_bytes() == personal_path(course, "alice", ASSIGNMENT).read_bytes()


def test_the_per_student_export_is_one_notebook_each_and_a_manifest_deterministic(course, tmp_path):
    first, second = tmp_path / "one.zip", tmp_path / "two.zip"
    assert grader(course, "distribute", ASSIGNMENT, "--zip", str(first)) == 0
    assert grader(course, "distribute", ASSIGNMENT, "--zip", str(second)) == 0
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        names = sorted(archive.namelist())
        assert names == sorted([f"{s}/{ASSIGNMENT}.ipynb" for s in ROSTER] + ["manifest.csv"])
        notebook = nbformat.reads(archive.read(f"bob/{ASSIGNMENT}.ipynb").decode(), as_version=4)
        assert notebook == nbformat.read(personal_path(course, "bob", ASSIGNMENT), as_version=4)
        manifest = archive.read("manifest.csv").decode()
    assert io.StringIO(manifest).readline().strip() == "student,first_name,last_name,email,file"
    assert f"bob,Bob,,bob@example.edu,bob/{ASSIGNMENT}.ipynb" in manifest


def test_distribute_without_a_per_student_release_names_the_students(course, tmp_path):
    with pytest.raises(GraderError, match="no personal notebook of 'fixture-b' for alice"):
        from grader.distribute import export_folder
        export_folder(course, "fixture-b", ["alice"], tmp_path / "out")
