"""A course's week through nbgrader's own exchange, with a notebook per student (issue #19).

Instructor: render, `release --per-student`, `nbgrader release_assignment` (the course's
PersonalReleaseAssignment), `nbgrader collect`, `grader grade`, `grader feedback`,
`nbgrader release_feedback`. Students (their own folders, their own nbgrader config naming
PersonalFetchAssignment): `nbgrader fetch_assignment`, answer, `nbgrader submit`,
`nbgrader fetch_feedback`. Every command is nbgrader's or ours, run as a process.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from render_kit import ASSIGNMENT, FIXTURE_BANK, make_course

from grader import cli
from grader import exchange as exchange_module
from grader.bank import load_bank
from grader.bank.templates import python_literal
from grader.course import course_config, open_gradebook
from grader.distribute import personal_path
from grader.exchange import PERSONAL_DIR, STUB_MARK
from grader.grading.kernel.sandbox import support
from grader.release import python_scripts_on_path
from grader.variants import draw_for

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("nbgrader")]

PER_STUDENT_TEXT = FIXTURE_BANK.read_text(encoding="utf-8").replace("variant_key: assignment", "variant_key: student")
FULL = 12.0
VARIABLES = {"conv-out": "q1", "softmax-rows": "q2", "relu-init": "q3", "net-table": "q5"}
SOFTMAX = ("def softmax(z):\n    z = np.asarray(z, dtype=float)\n"
           "    e = np.exp(z - z.max(axis=-1, keepdims=True))\n    return e / e.sum(axis=-1, keepdims=True)")
STUDENT_CONFIG = 'c.ExchangeFactory.fetch_assignment = "elen521_exchange.PersonalFetchAssignment"\n'


def nbgrader(cwd: Path, exchange: Path, *args: str, check: bool = True, home: Path | None = None):
    """An nbgrader command in `cwd`; a student's (`home`: their own, with nbgrader's submission cache)."""
    command = [str(Path(sys.executable).parent / "nbgrader"), *args, f"--Exchange.root={exchange}",
               "--CourseDirectory.course_id=elen521"]
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    if home is not None:
        env.update(HOME=str(home), JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"), PYTHONPATH=str(home))
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def _answer(notebook: Path, answers: dict) -> None:
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        problem = cell.metadata.get("nbgrader", {}).get("grade_id", "").removesuffix("-answer")
        if cell.metadata.get("nbgrader", {}).get("solution") and problem in answers:
            cell.source = answers[problem]
    nbformat.write(nb, notebook)


def _right_answers(course: Path, student: str) -> dict:
    """The right answers for `student`'s own numbers, computed here with the engine."""
    bank = load_bank(course / "questions.yaml")
    answers = {problem: f"{variable} = " + python_literal(bank.problems[problem].answer.evaluate(
        draw_for(bank, bank.problems[problem], ASSIGNMENT, student))) for problem, variable in VARIABLES.items()}
    return {**answers, "softmax-fn": SOFTMAX}


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    root = tmp_path_factory.mktemp("exchange")
    course, exchange = make_course(root / "course", PER_STUDENT_TEXT), root / "exchange"
    with python_scripts_on_path(), open_gradebook(course_config(course)) as gb:
        for student in ("alice", "bob"):
            gb.add_student(student, first_name=student.title())
    assert cli.main(["--course", str(course), "render"]) == 0
    assert cli.main(["--course", str(course), "release", ASSIGNMENT]) == 0
    too_early = nbgrader(course, exchange, "release_assignment", ASSIGNMENT, check=False)
    published_too_early = (exchange / "elen521" / "outbound" / ASSIGNMENT).exists()
    assert cli.main(["--course", str(course), "release", ASSIGNMENT, "--per-student"]) == 0
    released = nbgrader(course, exchange, "release_assignment", ASSIGNMENT)
    homes = {}
    for student in ("alice", "bob", "carol"):
        homes[student] = root / student
        homes[student].mkdir()
        (homes[student] / "nbgrader_config.py").write_text(STUDENT_CONFIG)
        # the students' servers have nbgrader and this one file, not the project (README)
        shutil.copy(exchange_module.__file__, homes[student] / "elen521_exchange.py")
    fetched = {student: nbgrader(homes[student], exchange, "fetch_assignment", ASSIGNMENT, "--student", student,
                                 check=student != "carol", home=homes[student]) for student in homes}
    as_fetched = {student: (homes[student] / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes()
                  for student in ("alice", "bob")}
    _answer(homes["alice"] / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", _right_answers(course, "alice"))
    _answer(homes["bob"] / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", _right_answers(course, "alice"))  # alice's numbers
    for student in ("alice", "bob"):
        nbgrader(homes[student], exchange, "submit", ASSIGNMENT, "--student", student, home=homes[student])
    nbgrader(course, exchange, "collect", ASSIGNMENT)
    grade = ["--course", str(course), "grade", ASSIGNMENT] + ([] if support().available else ["--unsafe-no-sandbox"])
    assert cli.main(grade) == 0
    assert cli.main(["--course", str(course), "feedback", ASSIGNMENT]) == 0
    nbgrader(course, exchange, "release_feedback", ASSIGNMENT)
    for student in ("alice", "bob"):
        nbgrader(homes[student], exchange, "fetch_feedback", ASSIGNMENT, "--student", student, home=homes[student])
    return {"course": course, "exchange": exchange, "homes": homes, "released": released, "fetched": fetched,
            "as_fetched": as_fetched, "too_early": too_early, "published_too_early": published_too_early}


def test_the_common_notebook_of_a_per_student_assignment_is_never_published(week):
    assert week["too_early"].returncode != 0 and not week["published_too_early"]
    assert "no student has a notebook yet" in week["too_early"].stdout + week["too_early"].stderr


def test_outbound_holds_no_one_s_numbers(week):
    outbound = week["exchange"] / "elen521" / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert STUB_MARK in nbformat.read(outbound, as_version=4).metadata
    personal = week["exchange"] / "elen521" / PERSONAL_DIR / ASSIGNMENT
    assert sorted(p.name for p in personal.iterdir()) == ["alice", "bob"]
    assert oct(personal.stat().st_mode & 0o777) == "0o711"          # students cannot list each other


@pytest.mark.parametrize("student", ["alice", "bob"])
def test_each_student_fetches_their_own_notebook(week, student):
    assert week["as_fetched"][student] == personal_path(week["course"], student, ASSIGNMENT).read_bytes()


def test_a_student_with_no_notebook_gets_a_message_and_nothing(week):
    done = week["fetched"]["carol"]
    assert done.returncode != 0
    assert "there is none for 'carol' yet" in done.stdout + done.stderr
    assert not (week["homes"]["carol"] / ASSIGNMENT).exists()


def test_right_answers_to_one_s_own_numbers_score_full_marks(week):
    scores = _scores(week["course"])
    assert scores["alice"] == FULL
    assert scores["bob"] < FULL            # answers to alice's numbers are not right for bob's


def test_feedback_comes_back_through_the_exchange(week):
    pages = list((week["homes"]["alice"] / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))
    assert len(pages) == 1
    assert "12 / 12" in pages[0].read_text(encoding="utf-8").replace("&nbsp;", " ")


def _scores(course: Path) -> dict:
    with python_scripts_on_path(), open_gradebook(course_config(course)) as gb:
        return {s.student.id: s.score for s in gb.find_assignment(ASSIGNMENT).submissions}


def test_the_students_fetch_needs_nbgrader_and_one_file_only(tmp_path):
    shutil.copy(exchange_module.__file__, tmp_path / "elen521_exchange.py")
    code = ("import sys; sys.modules['grader'] = None; import elen521_exchange; "
            "print(elen521_exchange.PersonalFetchAssignment.__mro__[1].__module__)")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "nbgrader.exchange.default.fetch_assignment"
