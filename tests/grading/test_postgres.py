"""A PostgreSQL gradebook (nbgrader db_url = postgresql://...) on a private server: two TAs grading two
assignments at once, and a regrade racing a first grade, lose no row and fail with no lock or pool
error. Each test starts on an empty database, so the schema and the assignments are created in the race."""

import shutil
import subprocess
import sys
import threading

import course_kit as kit
import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.errors import GraderError
from grader.grading import grade_assignment
from grader.grading.coordinator import gradebook as gbops
from grader.grading.notebook.config import effective_config

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("cluster")]

COURSE_ID = "kit"
SECOND = "a2"
CLASS = {
    "p-right": (kit.RIGHT, 6.0),
    "p-misconception": ({**kit.RIGHT, "p1": "q1 = 15"}, 4.5),
    "p-wrong-p2": ({**kit.RIGHT, "p2": "q2 = np.zeros(3)"}, 3.0),
    "p-empty": ({}, 0.0),
}
EXPECTED = {student: score for student, (_, score) in CLASS.items()}
TROUBLE = ("Traceback", "locked", "QueuePool", "TimeoutError", "deadlock", "IntegrityError")


def _course(root, db_url):
    """The kit course, a second assignment (a copy of the first), the class in both, then the gradebook
    switched to `db_url` (empty: grading records the released assignments there first)."""
    kit.make_course(root)
    bank = root / "questions.yaml"        # the bank has the second assignment too: same problems
    bank.write_text(bank.read_text().replace(
        "    problems: [p1, p2, p3]\n", f"    problems: [p1, p2, p3]\n  - id: {SECOND}\n    title: The same three\n"
                                        f"    problems: [p1, p2, p3]\n", 1))
    (root / "source" / SECOND).mkdir(parents=True)
    nb = nbformat.read(root / "source" / kit.ASSIGNMENT / f"{kit.ASSIGNMENT}.ipynb", as_version=4)
    nbformat.write(nb, root / "source" / SECOND / f"{SECOND}.ipynb")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", SECOND, "--force"],
                   cwd=root, check=True, capture_output=True, env=kit.venv_env())
    for student, (answers, _) in CLASS.items():
        first = kit.submit(root, student, answers)
        (root / "submitted" / student / SECOND).mkdir(parents=True)
        shutil.copy(first, root / "submitted" / student / SECOND / f"{SECOND}.ipynb")
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f"c.CourseDirectory.course_id = {COURSE_ID!r}\nc.CourseDirectory.db_url = {db_url!r}\n")
    return root


def _grade(root, *arguments):
    return subprocess.Popen([sys.executable, "-m", "grader", "grade", *arguments, "--course", str(root),
                             "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=kit.venv_env())


def _finish(*processes):
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-3000:]
        assert not [word for word in TROUBLE if word in err], err[-3000:]


def _totals(db_url, assignment):
    """{student: total score} and the submission rows of `assignment`, from the gradebook."""
    with Gradebook(db_url, COURSE_ID) as gb:
        submissions = gb.find_assignment(assignment).submissions
        totals = {s.student.id: sum(g.score for n in s.notebooks for g in n.grades) for s in submissions}
        return totals, len(submissions)


@pytest.mark.sandbox          # grades in subprocesses, sandboxed
def test_two_tas_on_two_assignments_and_a_regrade_racing_a_first_grade_lose_no_row(tmp_path, postgres):
    """Three `grader grade` processes at once on an empty database: a1 (first grade), a2, and a
    regrade of one a1 student."""
    db_url = postgres.create_database("three_runs")
    root = _course(tmp_path / "course", db_url)
    _finish(_grade(root, kit.ASSIGNMENT), _grade(root, SECOND), _grade(root, kit.ASSIGNMENT, "--student", "p-misconception"))
    for assignment in (kit.ASSIGNMENT, SECOND):
        assert _totals(db_url, assignment) == (EXPECTED, len(CLASS)), assignment


def test_a_postgresql_gradebook_without_course_id_is_refused_naming_the_config(tmp_path, postgres):
    root = kit.make_course(tmp_path / "course")
    kit.submit(root, "someone", kit.RIGHT)
    config = effective_config(root)
    config.CourseDirectory.db_url = postgres.create_database("no_course_id")
    with pytest.raises(GraderError, match=r"nbgrader_config.py: c.CourseDirectory.course_id is not set"):
        grade_assignment(root, kit.ASSIGNMENT, config=config)


def test_runs_setting_up_at_the_same_instant_create_every_row_once(postgres, monkeypatch):
    """The setup lock, without the process start-up jitter of the tests above: four runs open an empty
    database (tables), record the assignment and prepare the same submissions at one instant."""
    monkeypatch.setenv("PATH", kit.venv_env()["PATH"])      # nbgrader runs `alembic` when it makes the tables
    db_url = postgres.create_database("setup_race")
    students = {f"s{i}": None for i in range(10)}
    start, errors = threading.Barrier(4), []

    def setup():
        try:
            start.wait()
            with gbops.setup_lock(db_url), Gradebook(db_url, COURSE_ID) as gb:
                gb.update_or_create_assignment(kit.ASSIGNMENT)
                gb.update_or_create_notebook(kit.ASSIGNMENT, kit.ASSIGNMENT)
                gbops.prepare_submissions(gb, kit.ASSIGNMENT, students)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=setup) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with Gradebook(db_url, COURSE_ID) as gb:
        assert sorted(s.id for s in gb.students) == sorted(students)
        assert len(gb.find_assignment(kit.ASSIGNMENT).submissions) == len(students)
