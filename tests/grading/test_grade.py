"""Batch grading of a class holding every kind of broken submission, against hand-computed scores
and against a real `nbgrader autograde` run grading the same reports (plain.nbgrader_grades_reports);
and plain `nbgrader autograde` in the course, which refuses."""

import subprocess
import sys
import threading

import course_kit as kit
import nbformat
import pytest

from grader.grading import grade_assignment
from grader.grading.notebook.config import effective_config, write_config
from grader.grading.notebook.plain import MESSAGE, nbgrader_grades_reports

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("grading")]

R = kit.RIGHT


def _with(**answers):
    return {**R, **answers}


def _delete_cell(grade_id):
    def edit(nb):
        nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != grade_id]
    return edit


def _edit_test(grade_id, source=None, tag=None):
    def edit(nb):
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
                if source is not None:
                    cell.source = source
                if tag is not None:
                    cell.metadata.setdefault("tags", []).append(tag)
    return edit


def _duplicate_cell(grade_id):
    """A student who copies a cell in Jupyter (metadata and all)."""
    def edit(nb):
        index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
        nb.cells.insert(index + 1, nbformat.from_dict(nbformat.v4.new_code_cell(
            nb.cells[index].source, metadata=dict(nb.cells[index].metadata))))
    return edit


def _add_cells(nb):
    nb.cells.insert(3, nbformat.v4.new_code_cell("scratch = [1, 2, 3]\nsum(scratch)"))
    nb.cells.append(nbformat.v4.new_markdown_cell("my notes"))


# student -> (answers, edit, raw, expected total out of 6); p1 = 2 points, p2 = 3, p3 = 1
CLASS = {
    "right": (R, None, None, 6.0),
    "empty": ({}, None, None, 0.0),
    "misconception": (_with(p1="q1 = 15"), None, None, 0.5 + 3 + 1),
    "syntax": (_with(p1="q1 = (1 +"), None, None, 4.0),
    "exception": (_with(p2="q2 = 1 / 0"), None, None, 3.0),
    "loop": (_with(p3="while True:\n    pass"), None, None, 5.0),
    "exit": (_with(p2="import os\nos._exit(1)"), None, None, 3.0),
    "killed": (_with(p1="import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"), None, None, 4.0),
    "memory": (_with(p3="q3 = bytearray(10 ** 15)"), None, None, 5.0),
    "huge": (_with(p1="for i in range(200000):\n    print(i)\nq1 = 14"), None, None, 6.0),
    "nan": (_with(p2="q2 = np.array([np.nan, 0.25])"), None, None, 3.0),
    "inf": (_with(p1="q1 = float('inf')"), None, None, 4.0),
    "none": (_with(p1="q1 = None"), None, None, 4.0),
    "string": (_with(p1="q1 = '14'"), None, None, 4.0),
    "shape": (_with(p2="q2 = np.zeros(3)"), None, None, 3.0),
    "flat": (_with(p2="q2 = np.zeros((2, 2))"), None, None, 3.0),
    "deleted": (_with(p3='q3 = "A"'), _delete_cell("p3-test"), None, 5.0),
    "added": (R, _add_cells, None, 6.0),
    "duplicated": (R, _duplicate_cell("p1-test"), None, 6.0),
    "locked": (_with(p1="q1 = 99"), _edit_test("p1-test", source="pass"), None, 4.0),
    "skiptag": (_with(p1="q1 = 99"), _edit_test("p1-test", tag="skip-execution"), None, 4.0),
    "notjson": (None, None, '{"cells": [ this is not json', 0.0),
}
KERNEL_DEATHS = {"exit", "killed"}   # nbgrader fails these whole submissions; grader keeps the rest
NBGRADER_FAILS = KERNEL_DEATHS | {"duplicated"}    # nbgrader's OverwriteCells: KeyError 'grade_id'



def _scores(root, student=None):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        subs = gb.find_assignment(kit.ASSIGNMENT).submissions
        return {s.student.id: {g.name: g.score for n in s.notebooks for g in n.grades} for s in subs}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    ours = kit.make_course(tmp_path_factory.mktemp("ours"), timeout=10)
    theirs = kit.make_course(tmp_path_factory.mktemp("nbgrader"), timeout=10)
    config = effective_config(ours)
    write_config(nbgrader_grades_reports(effective_config(ours, config.Execute.skip_cells_with_tag)),
                 theirs / "nbgrader_config.py", theirs, f"sqlite:///{theirs / 'gradebook.db'}")
    for root in (ours, theirs):
        for student, (answers, edit, raw, _) in CLASS.items():
            kit.submit(root, student, answers, raw=raw, edit=edit)
    run = grade_assignment(ours, kit.ASSIGNMENT, config=config)
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", kit.ASSIGNMENT], cwd=theirs,
                   capture_output=True, env=kit.venv_env())
    return ours, theirs, run, config


def test_every_kind_of_submission_gets_exactly_its_earned_score(graded):
    ours, _, run, _ = graded
    got = {s: o.score for s, o in run.outcomes.items()}
    assert got == {s: spec[3] for s, spec in CLASS.items()}


def test_scores_equal_nbgrader_autograde_except_where_nbgrader_drops_the_submission(graded):
    ours, theirs, _, _ = graded
    mine, nbgraders = _scores(ours), _scores(theirs)
    assert set(mine) == set(nbgraders) == set(CLASS)
    for student in CLASS:
        if student in NBGRADER_FAILS:
            assert not (theirs / "autograded" / student).joinpath(kit.ASSIGNMENT).exists()
            assert sum(v or 0 for v in nbgraders[student].values()) == 0
        else:
            assert mine[student] == nbgraders[student], student


def test_broken_students_are_listed_with_the_reason(graded):
    _, _, run, _ = graded
    reasons = {s: " ".join(o.reasons) for s, o in run.outcomes.items()}
    assert "SyntaxError" in reasons["syntax"]
    assert "ZeroDivisionError" in reasons["exception"]
    assert "timed out" in reasons["loop"] and "KeyboardInterrupt" not in reasons["loop"]   # one failure, one reason
    assert "kernel died" in reasons["exit"] and "kernel died" in reasons["killed"]
    assert "MemoryError" in reasons["memory"]
    assert "truncated" in reasons["huge"]
    assert "added it back" in reasons["deleted"]
    assert "locked cell edited" in reasons["locked"]
    assert "skip-execution" in reasons["skiptag"]
    assert "not valid JSON" in reasons["notjson"] and run.outcomes["notjson"].failed
    assert "p2: " in reasons["shape"] and "shape" in reasons["shape"]    # reason codes of GRADER_RESULT
    assert "p2: " in reasons["nan"] and "NaN" in reasons["nan"]
    assert "p2-test: AssertionError: q2 should have 1 dimension(s)" in reasons["flat"]   # the visible check
    assert reasons["right"] == "" and reasons["added"] == ""


def test_huge_output_is_cut_to_the_configured_limit(graded):
    ours, _, _, config = graded
    nb = nbformat.read(ours / "autograded" / "huge" / kit.ASSIGNMENT / f"{kit.ASSIGNMENT}.ipynb", as_version=4)
    lines = sum(o.text.count("\n") + 1 for c in nb.cells if c.cell_type == "code"
                for o in c.outputs if o.output_type == "stream")
    assert lines <= 3 * config.LimitOutput.max_lines


def test_regrading_is_idempotent_and_one_student_can_be_regraded(graded):
    ours, _, run, config = graded
    before = _scores(ours)
    again = grade_assignment(ours, kit.ASSIGNMENT, students=["misconception", "exit"], config=config)
    assert set(again.outcomes) == {"misconception", "exit"}
    assert _scores(ours) == before
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{ours / 'gradebook.db'}") as gb:
        assert len(gb.find_assignment(kit.ASSIGNMENT).submissions) == len(CLASS)


@pytest.mark.sandbox          # grades in another process (a subprocess, Dask), sandboxed
def test_a_notebook_from_an_older_jupyter_grades_without_library_warnings(tmp_path):
    """Cells without ids (nbformat < 4.5 writers): graded as usual, and no warning on the TA's screen."""
    import json

    root = kit.make_course(tmp_path, timeout=5)
    path = kit.submit(root, "old-jupyter", R)
    raw = json.loads(path.read_text())
    for cell in raw["cells"]:
        del cell["id"]
    path.write_text(json.dumps(raw))
    done = subprocess.run([sys.executable, "-m", "grader", "grade", kit.ASSIGNMENT, "--course", str(root)],
                          capture_output=True, text=True, env=kit.venv_env())
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "Warning" not in done.stdout
    assert "6 / 6" in done.stdout


def test_an_assignment_released_but_not_in_the_gradebook_is_graded(tmp_path):
    """A fresh clone has release/ but no gradebook.db: grading records the assignment first."""
    root = kit.make_course(tmp_path, timeout=5)
    (root / "gradebook.db").unlink()
    kit.submit(root, "a", R)
    run = grade_assignment(root, kit.ASSIGNMENT, config=effective_config(root))
    assert run.outcomes["a"].score == 6.0


def test_a_release_that_source_does_not_generate_is_not_registered(tmp_path):
    from grader.errors import GraderError

    root = kit.make_course(tmp_path, timeout=5)
    (root / "gradebook.db").unlink()
    kit.submit(root, "a", R)
    released = root / "release" / kit.ASSIGNMENT / f"{kit.ASSIGNMENT}.ipynb"
    nb = nbformat.read(released, as_version=4)
    nb.cells[0].source += "\nedited after release"
    nbformat.write(nb, released)
    with pytest.raises(GraderError, match="is not what source/ generates; run `python -m grader release`"):
        grade_assignment(root, kit.ASSIGNMENT, config=effective_config(root))


def test_plain_nbgrader_autograde_in_the_course_refuses_and_records_nothing(tmp_path):
    root = kit.make_course(tmp_path, timeout=5)
    kit.submit(root, "wrong", {"p1": "q1 = 99", "p2": "q2 = np.zeros(2)", "p3": 'q3 = "A"'})
    done = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", kit.ASSIGNMENT], cwd=root,
                          capture_output=True, text=True, env=kit.venv_env())
    assert MESSAGE.split(";")[0] in done.stdout + done.stderr
    assert "python -m grader grade" in done.stdout + done.stderr
    scores = _scores(root).get("wrong", {})
    assert not any(scores.values()), scores


FORMGRADER_AUTOGRADE = """
import json
from nbgrader.apps import NbGrader
from nbgrader.apps.api import NbGraderAPI
app = NbGrader()
app.load_config_file()
result = NbGraderAPI(config=app.config).autograde({assignment!r}, "a", force=True)
print("RESULT " + json.dumps(result["success"]))
"""


@pytest.mark.sandbox          # grades in another process (a subprocess, Dask), sandboxed
@pytest.mark.parametrize("entry", ["nbgrader autograde --force", "formgrader's Autograde button"])
def test_nbgrader_s_own_autograde_never_deletes_a_grade(tmp_path, entry):
    """The course's config routes nbgrader's Autograde (the CLI and formgrader's button, which
    passes force) through `grader grade`: a graded student stays graded, or is graded again."""
    from grader.grading.kernel.sandbox import support

    root = kit.make_course(tmp_path, timeout=10)
    with open(root / "nbgrader_config.py", "a") as config:
        config.write("from grader.grading.notebook.plain import grade_through_grader\ngrade_through_grader()\n")
    kit.submit(root, "a", R)
    sandboxed = support().available
    grade_assignment(root, kit.ASSIGNMENT, config=effective_config(root), unsafe=not sandboxed)
    autograded = root / "autograded" / "a" / kit.ASSIGNMENT / f"{kit.ASSIGNMENT}.ipynb"
    before = autograded.stat().st_mtime_ns
    assert sum(_scores(root)["a"].values()) == 6.0
    if entry.startswith("nbgrader"):
        command = [sys.executable, "-m", "nbgrader", "autograde", kit.ASSIGNMENT, "--force"]
    else:
        command = [sys.executable, "-c", FORMGRADER_AUTOGRADE.format(assignment=kit.ASSIGNMENT)]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, env=kit.venv_env())
    log = done.stdout + done.stderr
    assert "Removing existing" not in log
    assert autograded.is_file() and sum(_scores(root)["a"].values()) == 6.0, log
    if sandboxed:              # graded again through grader grade, sandboxed
        assert autograded.stat().st_mtime_ns > before, log
        assert done.returncode == 0 and "RESULT false" not in log, log
    else:                      # grade refuses to run unsandboxed: nbgrader says so and changes nothing
        assert autograded.stat().st_mtime_ns == before
        assert "kernel sandboxing" in log


def test_workers_that_cannot_start_stop_the_run_with_a_message_instead_of_respawning_forever(tmp_path):
    from traitlets.config import Config

    from grader.errors import GraderError
    from grader.grading.coordinator.runner import _run_parallel

    tasks = [{"student": f"s{n}", "notebook": "a1", "assignment": "a1"} for n in range(3)]
    recorded = []
    missing = str(tmp_path / "no-such-snapshot.db")          # every worker's initializer fails on it
    raised = []

    def run():
        try:
            _run_parallel(tasks, 2, (Config(), missing, {}, False), recorded.append)
        except GraderError as exc:
            raised.append(str(exc))

    runner = threading.Thread(target=run, daemon=True)      # before the fix: new pools without end
    runner.start()
    runner.join(timeout=300)
    assert not runner.is_alive() and recorded == []
    assert len(raised) == 1 and "stopped before grading any notebook" in raised[0] and "3 notebook" in raised[0]
