"""One roster for release and grade (grader.distribute.is_on_roster), `python -m grader roster`
and `roster import`: a roster imported with ids only is a roster; a student `grade` added because
they submitted is not on it, gets no personal notebook and is listed as off the roster."""

import os
import re
import subprocess
import sys

import course_kit as kit
import pytest
from render_kit import ASSIGNMENT, FIXTURE_BANK, make_course

from grader import cli
from grader.distribute import (
    ADDED_BY_GRADE,
    added_by_grade,
    personal_path,
    read_roster_csv,
    roster,
    students_to_release,
)
from grader.errors import GraderError

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("grading")]

PER_STUDENT_TEXT = FIXTURE_BANK.read_text(encoding="utf-8").replace("variant_key: assignment", "variant_key: student")
OFF_ROSTER = "not on the roster"


def grader(course, *args):
    return cli.main(["--course", str(course), *args])


def test_an_id_only_roster_imported_without_the_venv_on_path_is_the_roster_release_uses(tmp_path, capsys):
    """README's import, run as .venv/bin/python with the venv's bin/ not on PATH (nbgrader runs the
    `alembic` script by name when it makes the gradebook: `nbgrader db student import` crashed)."""
    course = make_course(tmp_path / "course", PER_STUDENT_TEXT)
    (tmp_path / "roster.csv").write_text("id\nalice\nbob\n", encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(part for part in env.get("PATH", "").split(os.pathsep)
                                  if part and os.path.realpath(part) != os.path.realpath(os.path.dirname(sys.executable)))
    done = subprocess.run([sys.executable, "-m", "grader", "--course", str(course), "roster", "import", "roster.csv"],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "imported 2 student(s)" in done.stdout
    assert roster(course) == ["alice", "bob"]
    assert grader(course, "render") == 0
    assert grader(course, "release", ASSIGNMENT, "--per-student") == 0
    assert "2 personal notebook(s)" in capsys.readouterr().out
    assert personal_path(course, "alice", ASSIGNMENT).is_file() and personal_path(course, "bob", ASSIGNMENT).is_file()
    assert grader(course, "roster", "--assignment", ASSIGNMENT) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()[1:3]] == ["alice", "bob"]
    assert all("on the roster (imported or added by staff)" in line and line.split()[-2:] == ["yes", "no"]
               for line in out.splitlines()[1:3])


@pytest.mark.parametrize("text, error", [
    ("name,email\nalice,a@x\n", "line 1: no 'id' column"),
    ("id,first_name\nalice,A\n,B\n", "line 3: no student id"),
    ("id\nalice\nbob\nalice\n", "line 4: student 'alice' again (first on line 2)"),
    ("id\nalice\n../bob\n", "line 3: student id '../bob': not usable as a folder name"),
    ("id\nalice \n", "line 2: student id 'alice ': not usable as a folder name"),
    ("id\n", "no students"),
    ("id,email\nalice,a@x,extra\n", "line 2: 3 fields, the header has 2"),
])
def test_a_bad_roster_file_is_refused_naming_the_line(tmp_path, text, error):
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GraderError, match=re.escape(f"roster.csv{' ' if 'line' in error else ': '}{error}")):
        read_roster_csv(path)


def test_a_bad_roster_file_imports_no_one_and_a_spreadsheets_bom_is_no_column(tmp_path, capsys):
    course = make_course(tmp_path / "course")
    bad = tmp_path / "bad.csv"
    bad.write_text("id\nalice\n\nbob/x\n", encoding="utf-8")
    assert grader(course, "roster", "import", str(bad)) == 2
    assert "bad.csv line 4: student id 'bob/x'" in capsys.readouterr().err
    assert not (course / "gradebook.db").exists()         # nbgrader never ran
    assert grader(course, "roster", "import", str(tmp_path / "missing.csv")) == 2
    assert "missing.csv: no such file" in capsys.readouterr().err
    rows, ignored = read_roster_csv(_write(tmp_path / "excel.csv", "\ufeffid,first_name,Section\nalice,Alice,B\n"))
    assert rows == [{"id": "alice", "first_name": "Alice"}] and ignored == ["Section"]


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _reasons(run, student):
    return " / ".join(run.outcomes[student].reasons)


def test_grade_keeps_the_students_it_adds_off_the_roster(tmp_path, capsys):
    """No roster: no one is listed as off it, and `roster` says how to import one. An id-only
    roster imported after a grade: the imported student is on it (though grade added them first),
    the other is listed by grade, by `roster` and left out of a per-student release."""
    from grader.grading import grade_assignment

    course = kit.make_course(tmp_path / "course", timeout=10)
    for student in ("alice", "mallory"):
        kit.submit(course, student, kit.RIGHT)
    first = grade_assignment(course, kit.ASSIGNMENT)
    assert all(OFF_ROSTER not in _reasons(first, student) for student in ("alice", "mallory"))
    assert added_by_grade(course) == {"alice": kit.ASSIGNMENT, "mallory": kit.ASSIGNMENT}
    assert roster(course) == []
    assert grader(course, "roster") == 0
    out = capsys.readouterr().out
    assert "the roster is empty" in out and "python -m grader roster import roster.csv" in out
    assert out.count(f"not on the roster: added by `grade` because they submitted {kit.ASSIGNMENT}") == 2

    assert grader(course, "roster", "import", str(_write(tmp_path / "roster.csv", "id\nalice\n"))) == 0
    assert roster(course) == ["alice"]
    assert added_by_grade(course) == {"mallory": kit.ASSIGNMENT}
    again = grade_assignment(course, kit.ASSIGNMENT)
    assert OFF_ROSTER in _reasons(again, "mallory") and OFF_ROSTER not in _reasons(again, "alice")
    assert again.outcomes["mallory"].score == again.outcomes["alice"].score == 6.0   # graded all the same
    assert students_to_release(course, None) == ["alice"]
    capsys.readouterr()
    assert grader(course, "roster", "--assignment", kit.ASSIGNMENT) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:3]}
    assert "on the roster (imported or added by staff)" in lines["alice"]
    assert f"added by `grade` because they submitted {kit.ASSIGNMENT}" in lines["mallory"]
    assert lines["mallory"].endswith("n/a (keyed by the assignment)  yes")
    assert (course / ADDED_BY_GRADE).is_file()


def test_roster_of_an_unknown_assignment_suggests_one(tmp_path, capsys):
    course = make_course(tmp_path / "course")
    assert grader(course, "roster", "--assignment", "fixture-c") == 2
    assert "did you mean 'fixture-" in capsys.readouterr().err
    assert not (course / "gradebook.db").exists()
