"""The whole submission is hostile, not just its cells (issue #18): folders, outputs, payloads, time.

One class per backend (local worker processes, and a Dask LocalCluster of 2 workers) holds an
honest right and an honest wrong student (the controls) and one student per attack, all graded
in the same run. Every attack answers wrong unless it says otherwise; each must earn nothing it
did not answer right, leak nothing, stop nobody else, and be reported to the TA with its reason.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from test_cheats import (
    ASSIGNMENT,
    FIXTURE_BANK,
    FULL,
    REPO,
    SANDBOXED,
    WRONG,
    _digests,
    _right_answers,
    _scores,
    _submit,
)
from test_inert_outputs import NOTHING_LIVE, Page, formgrader_page, live_student_markup

from grader import cli
from grader.grading import grade_assignment
from grader.grading.kernel.sandbox import find_kernel_cgroups
from grader.grading.notebook.config import effective_config
from grader.grading.notebook.reasons import OUT_OF_TIME_REASON
from grader.protocol import KERNEL_DIED, OUT_OF_TIME

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("security"), pytest.mark.sandbox]

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
    "disk-bomb": ("filling the disk from the kernel", '''
import os
_written = 0
for _where in (".", "/tmp"):
    try:
        with open(os.path.join(_where, "fill.bin"), "wb") as _fill:
            for _ in range(300):
                _fill.write(b"x" * (1 << 20))
                _written += 1
    except OSError as _exc:
        print("DISK-LIMIT", _where, type(_exc).__name__)
print("DISK-WROTE-MiB", _written)
''', {}),
    "memory-bomb": ("three children holding 1.5 GiB each", '''
import os, time
_children = []
for _ in range(3):
    _pid = os.fork()
    if _pid == 0:
        _block = bytearray(1536 << 20)
        for _i in range(0, len(_block), 4096):
            _block[_i] = 1
        time.sleep(3)
        os._exit(0)
    _children.append(_pid)
_survived = sum(os.waitpid(_pid, 0)[1] == 0 for _pid in _children)
print("MEMORY-CHILDREN-SURVIVED", _survived)
''', {}),
    "fork-bomb": ("forking without end", '''
import os, time
_forks = 0
try:
    for _ in range(1000):
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        _forks += 1
except OSError as _exc:
    print("FORK-LIMIT", type(_exc).__name__)
print("FORKS", _forks)
''', {}),
    "net-a-listener": ("a kernel serving its classmates on loopback and an abstract socket", '''
import socket, time
_tcp = socket.socket(); _tcp.bind(("127.0.0.1", 47321)); _tcp.listen()
_unix = socket.socket(socket.AF_UNIX); _unix.bind("\\0elen521-classmates"); _unix.listen()
time.sleep(8)
''', {}),
    "net-b-prober": ("a kernel looking for a classmate's kernel", '''
import socket, time
_reached = set()
for _ in range(40):
    for _family, _address in ((socket.AF_INET, ("127.0.0.1", 47321)), (socket.AF_UNIX, "\\0elen521-classmates")):
        try:
            socket.socket(_family).connect(_address)
            _reached.add(str(_address))
        except OSError:
            pass
    time.sleep(0.2)
print("REACHED", sorted(_reached))
''', {}),
    "bracketed-exception": ("an exception named like terminal markup in the TA's table", '''
raise type("[/oops]", (Exception,), {})()
''', {}),
    "huge-markdown": ("markdown that sanitizes in quadratic time", "", {}),
    "malformed-metadata": ("a locked cell with a lone surrogate and a cell whose nbgrader metadata is a string",
                           "", {}),
    "not-json": ("a notebook that is not JSON: no autograded copy, yet feedback and report go on", "", {}),
    "time-only-timestamp": ("a timestamp.txt of '23:59' (dateutil would take today's date)", "", {}),
}
RIGHT_ANSWERS = {"dangling-and-fifo", "dev-zero-and-huge", "time-only-timestamp"}
# folders whose names are no student id: never graded, in the gradebook, a path or a page
NOT_IDS = ["nl\nname", "bad\udcffname", "<img src=x onerror=alert(1)>", "[h]onest", "*"]    # answer right: their points must survive


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
    elif student == "huge-markdown":
        path = folder / f"{ASSIGNMENT}.ipynb"
        nb = nbformat.read(path, as_version=4)
        nb.cells[1:1] = [nbformat.v4.new_markdown_cell("<b>" * 80_000) for _ in range(3)]
        nbformat.write(nb, path)
    elif student == "malformed-metadata":
        path = folder / f"{ASSIGNMENT}.ipynb"
        nb = json.loads(path.read_text())
        locked = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("locked"))
        locked["source"] = "import numpy as np\n# \ud800"
        nb["cells"][-1]["metadata"]["nbgrader"] = "x"
        path.write_text(json.dumps(nb))
    elif student == "not-json":
        (folder / f"{ASSIGNMENT}.ipynb").write_text("this is not json")
    elif student == "time-only-timestamp":
        (folder / "timestamp.txt").write_text("23:59")
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
    for name in NOT_IDS:
        folder = os.path.join(os.fsencode(course / "submitted"), os.fsencode(name), ASSIGNMENT.encode())
        os.makedirs(folder)
        shutil.copy(course / "submitted" / "honest-wrong" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                    os.path.join(folder, f"{ASSIGNMENT}.ipynb".encode()))
    config = effective_config(course)
    config.Execute.timeout = 20
    config.ResilientExecute.notebook_timeout = NOTEBOOK_BUDGET
    before = _course_files(course)
    started = time.monotonic()
    run = grade_assignment(course, ASSIGNMENT, config=config, unsafe=not SANDBOXED,
                           cluster="local:2" if backend == "dask" else None)
    graded_files = _course_files(course)
    shown = {command: cli.main(["--course", str(course), command, ASSIGNMENT]) for command in ("feedback", "report")}
    return {"course": course, "run": run, "seconds": time.monotonic() - started, "scores": _scores(course),
            "shown": shown, "before": before, "graded_files": graded_files}


def _course_files(course: Path) -> dict:
    """Every file of the course but what grading writes (autograded/, .grader/, the gradebook and its lock)."""
    return {path: digest for path, digest in _digests(course, skip_student="-").items()
            if not path.startswith(("autograded/", ".grader/", "gradebook.db"))}


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


def _errors(graded, student) -> list[str]:
    nb = nbformat.read(_autograded(graded, student) / f"{ASSIGNMENT}.ipynb", as_version=4)
    return [o.ename for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"]


def _printed(graded, student) -> str:
    nb = nbformat.read(_autograded(graded, student) / f"{ASSIGNMENT}.ipynb", as_version=4)
    return "".join(o.get("text", "") for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)


@pytest.mark.skipif(not SANDBOXED, reason="the kernel's limits are the sandbox's (docs/sandbox.md)")
def test_bombs_meet_the_kernel_s_limits_and_classmates_are_graded(graded):
    disk = _printed(graded, "disk-bomb")
    assert "DISK-LIMIT . " in disk and "DISK-LIMIT /tmp " in disk
    assert int(disk.split("DISK-WROTE-MiB ")[1].split()[0]) < 2 * 64 + 1
    memory = _printed(graded, "memory-bomb")
    if find_kernel_cgroups()[0] is not None:     # else memory is bounded per process only (docs/sandbox.md)
        if "MEMORY-CHILDREN-SURVIVED" in memory:
            assert int(memory.split("MEMORY-CHILDREN-SURVIVED ")[1].split()[0]) < 3
        else:               # the out-of-memory killer chose the kernel itself: its cell is marked
            assert KERNEL_DIED in _errors(graded, "memory-bomb")
    forks = _printed(graded, "fork-bomb")
    assert "FORK-LIMIT" in forks and int(forks.split("FORKS ")[1].split()[0]) < 64
    assert "REACHED []" in _printed(graded, "net-b-prober")
    assert graded["scores"]["honest"] == FULL


def test_folder_names_that_are_no_student_id_are_listed_and_never_graded(graded):
    from grader.grading.coordinator.submission import printable_name

    listed = {printable_name(name) for name in NOT_IDS}
    assert listed <= set(graded["run"].outcomes)
    assert all(graded["run"].outcomes[name].failed for name in listed)
    assert not set(graded["scores"]) & (set(NOT_IDS) | listed)
    assert not [p for p in (graded["course"] / "autograded").iterdir() if p.name not in graded["scores"]]


def test_malformed_or_unreadable_notebooks_fail_alone_and_pages_are_still_written(graded):
    assert graded["shown"] == {"feedback": 0, "report": 0}
    assert graded["run"].outcomes["not-json"].failed
    for student in ("malformed-metadata", "bracketed-exception", "huge-markdown", "not-json"):
        assert graded["scores"][student] == 0.0
    assert (graded["course"] / "feedback" / "honest" / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()


def test_a_time_without_a_date_is_no_submission_time(graded):
    assert "timestamp.txt: not a time as nbgrader writes it ('23:59')" in _reasons(graded, "time-only-timestamp")


def test_the_ta_s_summary_prints_whatever_students_named(graded):
    from rich.console import Console

    from grader.grading.coordinator.progress import print_summary

    console = Console(record=True, width=200, file=open(os.devnull, "w"))
    print_summary(graded["run"], console)
    assert "[/oops]" in console.export_text()


def test_grading_writes_nothing_but_its_own_files(graded):
    """No attack wrote into the course (submitted/, source/, release/, the bank): the FIFOs were
    never opened, the links never followed, and every kernel wrote only in its own scratch."""
    assert graded["graded_files"] == graded["before"]
