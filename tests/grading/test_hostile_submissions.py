"""The whole submission is hostile, not just its cells (issue #18): folders, outputs, payloads, time.

One class per backend (local worker processes, and a Dask LocalCluster of 2 workers) holds an
honest right and an honest wrong student (the controls) and one student per attack, all graded
in the same run. Every attack answers wrong unless it says otherwise; each must earn nothing it
did not answer right, leak nothing, stop nobody else, and be reported to the TA with its reason.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from test_cheats import ASSIGNMENT, FIXTURE_BANK, FULL, REPO, SANDBOXED, WRONG, _right_answers, _scores, _submit
from test_inert_outputs import NOTHING_LIVE, Page, formgrader_page, live_student_markup

from grader.grading import grade_assignment
from grader.grading.config import effective_config
from grader.grading.reasons import OUT_OF_TIME_REASON
from grader.protocol import OUT_OF_TIME

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("security")]

SECRET = "elen521-root-only-secret"
NOTEBOOK_BUDGET = 12          # seconds, for the whole notebook (c.ResilientExecute.notebook_timeout)
COLLIDING = "[" + ",".join(str((2 ** 61 - 1) * k) for k in range(1, 150_000)) + "]"

STEAL_KEY = '''
def _stolen(problem_id, fallback):
    try:
        import sys
        sys.path.insert(0, ".")
        from grader.bank import load_bank
        from grader.variants import draw
        bank = load_bank("questions.yaml")
        problem = bank.problems[problem_id]
        return problem.answer.evaluate(draw(bank, problem, "fixture-a", "fixture-a"))
    except Exception:
        return fallback
'''

# name -> (what it tries, code before the first answer, {problem: answer code} replacing WRONG or RIGHT)
ATTACKS = {
    "link-to-key": ("folder links to the grader package and the bank: import the key in the kernel",
                    STEAL_KEY, {"conv-out": "q1 = int(_stolen('conv-out', -7))",
                                "relu-init": "q3 = str(_stolen('relu-init', 'C'))"}),
    "link-to-secret": ("a folder link to a root-only file, echoed back as a choice answer",
                       "", {"relu-init": "q3 = open('notes.txt').read()"}),
    "link-to-classmate": ("the notebook is a link to a classmate's notebook", "", {}),
    "linked-folder": ("the assignment folder is a link to a classmate's", "", {}),
    "dangling-and-fifo": ("a dangling link, a FIFO and a FIFO timestamp.txt beside right answers", "", {}),
    "dev-zero-and-huge": ("a link to /dev/zero and a 100 MiB file beside right answers", "", {}),
    "hash-flood": ("a $set of integers that all hash alike, reported in place of the answer", f'''
def _grader_report(problem_id, answer, spec=None):
    print('GRADER_ANSWER {{"problem":"' + problem_id + '","answer":{{"$set":{COLLIDING}}}}}')
''', {}),
    "sleepy": ("cells that sleep past the notebook's budget", "import time\nfor _ in range(4):\n    time.sleep(25)\n",
               {}),
    "live-markup": ("HTML and JavaScript outputs and markdown for the TA's browser", '''
from IPython.display import HTML, Javascript, SVG, display
display(HTML("<script>document.title='pwned'</script><img src=x onerror=alert(1)>"))
display(Javascript("alert('pwned')"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'))
''', {}),
}
RIGHT_ANSWERS = {"dangling-and-fifo", "dev-zero-and-huge"}    # answer right: their points must survive


def _plant(course: Path, student: str, secret: Path) -> None:
    """What each attack leaves in its folder (as a TA unpacking an LMS archive would receive it)."""
    folder = course / "submitted" / student / ASSIGNMENT
    if student == "link-to-key":
        os.symlink(REPO / "grader", folder / "grader")
        os.symlink(course / "questions.yaml", folder / "questions.yaml")
    elif student == "link-to-secret":
        os.symlink(secret, folder / "notes.txt")
    elif student == "link-to-classmate":
        (folder / f"{ASSIGNMENT}.ipynb").unlink()
        os.symlink(course / "submitted" / "honest" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", folder / f"{ASSIGNMENT}.ipynb")
    elif student == "linked-folder":
        shutil.rmtree(folder)
        os.symlink(course / "submitted" / "honest" / ASSIGNMENT, folder)
    elif student == "dangling-and-fifo":
        os.symlink("/nonexistent/data.npy", folder / "data.npy")
        os.mkfifo(folder / "pipe")
        os.mkfifo(folder / "timestamp.txt")
    elif student == "dev-zero-and-huge":
        os.symlink("/dev/zero", folder / "zeros.bin")
        with open(folder / "huge.bin", "wb") as huge:
            huge.truncate(100 << 20)
        (folder / "small.csv").write_text("1,2,3\n")
    elif student == "live-markup":
        path = folder / f"{ASSIGNMENT}.ipynb"
        nb = nbformat.read(path, as_version=4)
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(
            "<script>alert('md')</script>[click](javascript:alert(1)) <img src=x onerror=alert(2)>"))
        nbformat.write(nb, path)


def _grade(tmp_path_factory, backend: str) -> dict:
    course = tmp_path_factory.mktemp(f"hostile-{backend}")
    shutil.copy(FIXTURE_BANK, course / "questions.yaml")
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    for command in ("render", "release"):
        subprocess.run([sys.executable, "-m", "grader", command, "--assignment", ASSIGNMENT, "--course", str(course)],
                       check=True, capture_output=True, env=env)
    secret = course.parent / f"{course.name}-secret.txt"
    secret.write_text(SECRET)
    secret.chmod(0o600)
    right = _right_answers(course)
    _submit(course, "honest", right)
    _submit(course, "honest-wrong", WRONG)
    for student, (_, prelude, answers) in ATTACKS.items():
        _submit(course, student, {**(right if student in RIGHT_ANSWERS else WRONG), **answers}, prelude)
        _plant(course, student, secret)
    config = effective_config(course)
    config.Execute.timeout = 20
    config.ResilientExecute.notebook_timeout = NOTEBOOK_BUDGET
    started = time.monotonic()
    run = grade_assignment(course, ASSIGNMENT, config=config, unsafe=not SANDBOXED,
                           cluster="local:2" if backend == "dask" else None)
    return {"course": course, "run": run, "seconds": time.monotonic() - started, "scores": _scores(course)}


@pytest.fixture(scope="module", params=["local", "dask"])
def graded(tmp_path_factory, request):
    return _grade(tmp_path_factory, request.param)


def _reasons(graded, student) -> str:
    return " | ".join(graded["run"].outcomes[student].reasons)


def _autograded(graded, student) -> Path:
    return graded["course"] / "autograded" / student / ASSIGNMENT


def test_every_student_is_graded_and_the_controls_hold(graded):
    assert set(graded["scores"]) >= {"honest", "honest-wrong", *ATTACKS}
    assert graded["scores"]["honest"] == FULL
    assert graded["scores"]["honest-wrong"] == 0.0


@pytest.mark.parametrize("attack", sorted(set(ATTACKS) - RIGHT_ANSWERS))
def test_an_attack_earns_nothing(graded, attack):
    assert graded["scores"].get(attack, 0.0) == 0.0, f"{attack} ({ATTACKS[attack][0]}) earned points"


@pytest.mark.parametrize("attack", sorted(RIGHT_ANSWERS))
def test_right_answers_beside_bad_files_keep_their_points(graded, attack):
    assert graded["scores"][attack] == FULL


def test_links_are_never_followed_and_each_is_a_reason(graded):
    assert "grader: a symbolic link, not copied" in _reasons(graded, "link-to-key")
    assert "questions.yaml: a symbolic link, not copied" in _reasons(graded, "link-to-key")
    assert not (_autograded(graded, "link-to-key") / "grader").exists()
    assert "notes.txt: a symbolic link, not copied" in _reasons(graded, "link-to-secret")
    assert f"{ASSIGNMENT}.ipynb: a symbolic link" in _reasons(graded, "link-to-classmate")
    assert "a symbolic link, not a folder: not graded" in _reasons(graded, "linked-folder")
    assert graded["run"].outcomes["linked-folder"].failed


def test_special_and_huge_files_are_skipped_not_read(graded):
    reasons = _reasons(graded, "dangling-and-fifo")
    assert "data.npy: a symbolic link, not copied" in reasons
    assert "pipe: a named pipe (FIFO), not copied" in reasons
    assert "timestamp.txt: a named pipe (FIFO)" in reasons
    reasons = _reasons(graded, "dev-zero-and-huge")
    assert "zeros.bin: a symbolic link, not copied" in reasons
    assert "huge.bin: 100.0 MiB, over the limit" in reasons
    copied = {p.name for p in _autograded(graded, "dev-zero-and-huge").iterdir()}
    assert "small.csv" in copied and not {"zeros.bin", "huge.bin"} & copied


def test_nothing_of_a_root_only_file_reaches_the_course(graded):
    for path in graded["course"].rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert SECRET.encode() not in path.read_bytes(), f"{path} holds the secret"


def test_a_hash_flood_is_refused_with_a_reason(graded):
    nb = nbformat.read(_autograded(graded, "hash-flood") / f"{ASSIGNMENT}.ipynb", as_version=4)
    errors = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"]
    assert any(o.ename == "UnreadableAnswer" for o in errors)


def test_a_sleepy_notebook_is_stopped_at_its_budget(graded):
    nb = nbformat.read(_autograded(graded, "sleepy") / f"{ASSIGNMENT}.ipynb", as_version=4)
    errors = [o.ename for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"]
    assert OUT_OF_TIME in errors
    # Its 100 s of sleep end at the budget: the run waits for the budget, a cell's timeout and a rerun's start.
    assert graded["run"].outcomes["sleepy"].seconds < NOTEBOOK_BUDGET + 20 + 15
    assert OUT_OF_TIME_REASON in _reasons(graded, "sleepy")


def test_no_live_markup_reaches_the_ta_s_formgrader_page(graded):
    nb = nbformat.read(_autograded(graded, "live-markup") / f"{ASSIGNMENT}.ipynb", as_version=4)
    honest = nbformat.read(_autograded(graded, "honest") / f"{ASSIGNMENT}.ipynb", as_version=4)
    page, baseline = Page(formgrader_page(nb)), Page(formgrader_page(honest))
    assert live_student_markup(page, baseline) == NOTHING_LIVE
    assert "pwned" not in " ".join(script for _, script in page.scripts)
    text = (_autograded(graded, "live-markup") / f"{ASSIGNMENT}.ipynb").read_text()
    assert not {"application/javascript", "text/html", "image/svg+xml"} & set(text.split('"'))
