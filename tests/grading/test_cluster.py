"""One grading path for every backend (#20): a class keyed per student, with a copied table and
notebooks handed in before a forced re-release, graded in local worker processes, on a Dask
LocalCluster (`--cluster local:2`) and on a real `dask scheduler` with two `dask worker` processes on
loopback (`--scheduler`), gets the same score on every problem and the same reasons for every student
(into SQLite and into PostgreSQL); and a worker killed while it grades loses no grade and writes none
twice."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import course_kit as kit
import nbformat
import pytest

from grader.bank import load_bank
from grader.errors import GraderError
from grader.grading import grade_assignment
from grader.grading.coordinator.cluster import describe_cluster
from grader.grading.notebook.config import effective_config
from grader.simulate import PROFILES, simulate_class

FIXTURE_BANK = Path(__file__).parents[1] / "fixtures" / "render" / "bank.yaml"
CONFIG = Path(__file__).parents[2] / "nbgrader_config.py"
ASSIGNMENT = "fixture-a"
# The forced re-release: softmax-rows' logits get another shape. Every locked cell of the problem
# changes (prompt, inputs, the test's visible check), so every notebook handed out before is graded
# on the new spec (its 2x3 answer scores 0) and those cells are the instructor's change, not edits.
RELEASED_FIRST, RELEASED_AGAIN = "z: {array: {shape: [2, 3]", "z: {array: {shape: [2, 4]"
CHANGED = "softmax-rows"
CHANGED_CELLS = [f"{CHANGED}-prompt", f"{CHANGED}-inputs", f"{CHANGED}-test"]
AGAIN = "changed after this notebook was handed out (the problem was released again); graded on the current spec"
EDITED = "locked cell edited; restored from the source"
COPIED = "net-table: These are the answers to another student's numbers, not to the numbers in your notebook: no points."
# The first release's notebook without nbgrader's checksums (a tool that rewrote the notebook
# dropped them): only the release record's earlier texts (the task's `earlier`) tell the
# re-release's cells from edits.
NO_CHECKSUMS = "early-no-checksums"

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("cluster")]


def _config(root, db_url=None, timeout=3):
    config = effective_config(root)
    config.Execute.timeout = timeout
    if db_url:
        config.CourseDirectory.db_url = db_url
    return config


def _gradebook_scores(db_url, assignment, course_id="elen521"):
    """{student: {grade id: score}} and the number of submission rows, read back from the gradebook."""
    from nbgrader.api import Gradebook
    with Gradebook(db_url, course_id) as gb:
        submissions = gb.find_assignment(assignment).submissions
        scores = {s.student.id: {g.name: g.score for n in s.notebooks for g in n.grades} for s in submissions}
        return scores, len(submissions)


def _twin(base, target):
    shutil.copytree(base, target)
    return target


def _grader(course, *arguments):
    done = subprocess.run([sys.executable, "-m", "grader", "--course", str(course), *arguments],
                          capture_output=True, text=True, env=kit.venv_env())
    assert done.returncode == 0, done.stderr[-3000:]


def _results(run, course, db_url=None):
    """What grading gave each student: every problem's score in the gradebook, the reasons listed
    for the TA, whether it failed; the same for any backend."""
    scores, rows = _gradebook_scores(db_url or f"sqlite:///{course / 'gradebook.db'}", ASSIGNMENT)
    assert rows == len(run.outcomes)
    return {student: {"scores": scores[student], "total": outcome.score, "reasons": outcome.reasons,
                      "failed": outcome.failed} for student, outcome in run.outcomes.items()}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """A simulated class (every profile of grader.simulate, the fixture bank keyed per student), one
    notebook of the first release without checksums, a forced re-release, graded locally into SQLite."""
    base = tmp_path_factory.mktemp("cluster") / "base"
    base.mkdir()
    # keyed per student, as the shipped homework is: the copied student's table is a classmate's
    # numbers, which a worker can tell only with the class (a Dask task once dropped it: #20)
    bank = FIXTURE_BANK.read_text().replace("variant_key: assignment", "variant_key: student")
    assert bank.count(RELEASED_FIRST) == 1
    (base / "questions.yaml").write_text(bank)
    shutil.copy(CONFIG, base / "nbgrader_config.py")
    for command in ("render", "release"):
        _grader(base, command, "--assignment", ASSIGNMENT)
    plan = {s.student: s for s in simulate_class(load_bank(base / "questions.yaml"), base, ASSIGNMENT, len(PROFILES))}
    # Whether 200 000 printed lines beat the cell timeout depends on the machine's load: its reasons
    # would differ between any two runs, on one backend or two (test_hostile_submissions has it).
    for student in [s for s, planned in plan.items() if planned.profile == "huge-output"]:
        shutil.rmtree(base / "submitted" / student)
        del plan[student]
    first = nbformat.read(base / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    for cell in first.cells:
        cell.metadata.get("nbgrader", {}).pop("checksum", None)
    (base / "submitted" / NO_CHECKSUMS / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(first, base / "submitted" / NO_CHECKSUMS / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    (base / "questions.yaml").write_text(bank.replace(RELEASED_FIRST, RELEASED_AGAIN))
    for command in ("render", "release"):
        _grader(base, command, "--assignment", ASSIGNMENT, "--force")
    local = _twin(base, base.parent / "local")
    run = grade_assignment(local, ASSIGNMENT, config=_config(local))
    return {"base": base, "plan": plan, "run": run, "results": _results(run, local)}


def test_local_grading_scores_every_problem_as_planned_and_names_the_re_release(simulated):
    """The reference the backends are held to is itself checked against the simulator's plan: every
    problem's score, the changed problem 0 for everyone (a 2x3 answer to a 2x4 question), the copied
    table worth nothing and named, the re-release's cells named as such (from the notebooks'
    checksums, and for the notebook without them from the release record)."""
    results, plan = simulated["results"], simulated["plan"]
    assert set(results) == set(plan) | {NO_CHECKSUMS}
    for student, planned in plan.items():
        expected = {f"{a.problem}-test": 0.0 if a.problem == CHANGED else a.fraction * a.points
                    for a in planned.answers}
        got = results[student]["scores"]
        assert {cell: got.get(cell, 0.0) for cell in expected} == pytest.approx(expected), (student, planned.profile)
        reasons = results[student]["reasons"]
        if planned.profile == "edited-locked":          # the student's own edit of the test cells stays one
            assert f"{CHANGED}-test: {EDITED}" in reasons
        if planned.profile != "not-json":
            again = [cell for cell in CHANGED_CELLS if not (planned.profile == "edited-locked" and "test" in cell)]
            assert [f"{cell}: {AGAIN}" for cell in again] == [r for r in reasons if r.startswith(CHANGED) and AGAIN in r]
    copied = [student for student, planned in plan.items() if planned.profile == "copied"]
    assert len(copied) == 1 and COPIED in results[copied[0]]["reasons"]
    early = results[NO_CHECKSUMS]["reasons"]
    assert [f"{cell}: {AGAIN}" for cell in CHANGED_CELLS] == [r for r in early if r.startswith(CHANGED)]
    assert f"conv-out-prompt: {EDITED}" in early          # the common numbers, no checksum: not the student's own
    assert results[NO_CHECKSUMS]["total"] == 0


def _grade_on(address, course, db_url=None):
    progress = Counter()
    run = grade_assignment(course, ASSIGNMENT, config=_config(course, db_url), cluster=address,
                           on_progress=lambda student: progress.update([student]))
    return run, progress


def test_a_local_dask_cluster_gives_the_local_results(simulated):
    """`grade --cluster local:2`: a LocalCluster of two worker processes, started and stopped here."""
    course = _twin(simulated["base"], simulated["base"].parent / "dask-local")
    run, progress = _grade_on("local:2", course)
    assert _results(run, course) == simulated["results"]
    assert progress == Counter(list(simulated["results"])) and run.workers == 2


def test_a_scheduler_and_two_worker_processes_give_the_local_results(simulated, dask_processes):
    """`grade --scheduler tcp://...`: a `dask scheduler` and two `dask worker` processes this test
    started; both workers grade."""
    course = _twin(simulated["base"], simulated["base"].parent / "dask-sqlite")
    with dask_processes.client(2) as client:
        client.get_task_stream()             # the scheduler records tasks from now on
        started = time.time()
        run, progress = _grade_on(dask_processes.address, course)
        graded_by = {t["worker"] for t in client.get_task_stream(start=started) if t["key"].startswith("grade-")}
    assert _results(run, course) == simulated["results"]
    assert progress == Counter(list(simulated["results"]))                  # the progress bar: once per student
    assert len(graded_by) == 2 and run.workers == 2
    for student, outcome in run.outcomes.items():
        autograded = course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert autograded.is_file() != outcome.failed, student


def test_through_the_cluster_into_postgresql_the_results_equal_local_sqlite(simulated, dask_processes, postgres):
    course = _twin(simulated["base"], simulated["base"].parent / "dask-postgres")
    db_url = postgres.create_database("cluster_simulated")
    run, _ = _grade_on(dask_processes.address, course, db_url)
    assert _results(run, course, db_url) == simulated["results"]


# Every p1 answer sleeps first, so a worker is sure to be killed in the middle of a notebook.
SLOW = "import time\ntime.sleep(2)\n"
DEATH_CLASS = {
    "d-right": (kit.RIGHT, 6.0),
    "d-misconception": ({**kit.RIGHT, "p1": "q1 = 15"}, 4.5),
    "d-wrong-p2": ({**kit.RIGHT, "p2": "q2 = np.array([1.0, 0.25])"}, 3.0),
    "d-wrong-p3": ({**kit.RIGHT, "p3": 'q3 = "A"'}, 5.0),
    "d-only-p3": ({"p1": "q1 = None", "p3": 'q3 = "B"'}, 1.0),
    "d-empty": ({"p1": "q1 = None"}, 0.0),
}


@pytest.mark.sandbox          # grades in another process (a subprocess, Dask), sandboxed
def test_a_worker_killed_mid_notebook_loses_no_grade_and_writes_none_twice(tmp_path, dask_processes):
    course = kit.make_course(tmp_path / "death", timeout=30)
    for student, (answers, _) in DEATH_CLASS.items():
        kit.submit(course, student, {**answers, "p1": SLOW + answers["p1"]})
    progress, outcome = Counter(), {}

    def grade():
        try:
            outcome["run"] = grade_assignment(course, kit.ASSIGNMENT, config=_config(course, timeout=30),
                                              cluster=dask_processes.address,
                                              on_progress=lambda student: progress.update([student]))
        except BaseException as exc:          # re-raised below, in the test's thread
            outcome["error"] = exc

    with dask_processes.client(2) as client:
        client.get_task_stream()
        started = time.time()
        grading = threading.Thread(target=grade)
        grading.start()
        killed = None
        deadline = time.monotonic() + 300
        while killed is None and grading.is_alive() and time.monotonic() < deadline:
            # a lambda travels by value (workers cannot import this test module)
            executing = client.run(lambda dask_worker: [str(task.key) for task in dask_worker.state.executing])
            for address, keys in executing.items():
                grading_keys = [key for key in keys if key.startswith("grade-")]
                if grading_keys:
                    pid = client.run(os.getpid, workers=[address])[address]
                    os.kill(pid, signal.SIGKILL)
                    killed = (address, grading_keys[0])
                    break
            time.sleep(0.1)
        grading.join(timeout=600)
        stream = [t for t in client.get_task_stream(start=started) if t["key"].startswith("grade-")]
    assert "error" not in outcome, outcome.get("error")
    assert killed is not None, "no worker was seen grading"
    run = outcome["run"]
    assert {s: o.score for s, o in run.outcomes.items()} == {s: score for s, (_, score) in DEATH_CLASS.items()}
    assert not any(o.failed for o in run.outcomes.values())
    assert progress == Counter(list(DEATH_CLASS))                    # each student recorded exactly once
    scores, rows = _gradebook_scores(f"sqlite:///{course / 'gradebook.db'}", kit.ASSIGNMENT, "default_course")
    assert rows == len(DEATH_CLASS)
    assert {s: sum(grades.values()) for s, grades in scores.items()} == {s: sc for s, (_, sc) in DEATH_CLASS.items()}
    # the killed notebook finished on another worker (the scheduler ran it again), once
    finished = [t["worker"] for t in stream if t["key"] == killed[1]]
    assert len(finished) == 1 and finished[0] != killed[0]


@pytest.mark.sandbox          # grades in another process (a subprocess, Dask), sandboxed
@pytest.mark.parametrize("flag", ["--cluster", "--scheduler"])
def test_grade_on_a_cluster_from_the_command_line(tmp_path, flag, request):
    """`grader grade --cluster local:1` starts a LocalCluster; `--scheduler ADDRESS` uses the
    scheduler's workers (two here)."""
    where, workers = ("local:1", 1) if flag == "--cluster" else (request.getfixturevalue("dask_processes").address, 2)
    root = kit.make_course(tmp_path / "course")
    kit.submit(root, "right", kit.RIGHT)
    kit.submit(root, "misconception", {**kit.RIGHT, "p1": "q1 = 15"})
    done = subprocess.run([sys.executable, "-m", "grader", "grade", kit.ASSIGNMENT, "--course", str(root),
                           flag, where], capture_output=True, text=True, env=kit.venv_env())
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"with {workers} workers" in done.stdout and "6 / 6" in done.stdout and "4.5 / 6" in done.stdout
    assert (root / "autograded" / "right" / kit.ASSIGNMENT / f"{kit.ASSIGNMENT}.ipynb").is_file()


@pytest.mark.parametrize("spec, message", [
    ("local:0", "expected local:N"),
    ("local:two", "expected local:N"),
    ("127.0.0.1:8786", "expected a Dask scheduler address such as tcp://HOST:8786"),
])
def test_a_bad_cluster_argument_is_named(spec, message):
    with pytest.raises(GraderError, match=message) as raised:
        describe_cluster(spec)
    assert spec in str(raised.value)
