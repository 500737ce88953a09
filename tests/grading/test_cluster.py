"""Grading through Dask: a real `dask scheduler` and two `dask worker` processes on loopback give every
student exactly the scores of local grading (into SQLite and into PostgreSQL), and a worker killed
while it grades loses no grade and writes none twice."""

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
import pytest

from grader.bank import load_bank
from grader.errors import GraderError
from grader.grading import grade_assignment
from grader.grading.cluster import describe_cluster
from grader.grading.config import effective_config
from grader.simulate import PROFILES, simulate_class

FIXTURE_BANK = Path(__file__).parents[1] / "fixtures" / "render" / "bank.yaml"
CONFIG = Path(__file__).parents[2] / "nbgrader_config.py"
ASSIGNMENT = "fixture-a"

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


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """A simulated class (every profile of grader.simulate, the fixture bank keyed per student) graded
    locally into SQLite."""
    base = tmp_path_factory.mktemp("cluster") / "base"
    base.mkdir()
    # keyed per student, as the shipped homework is: the copied student's table is a classmate's
    # numbers, which a worker can tell only with the class (a Dask task once dropped it: #20)
    (base / "questions.yaml").write_text(FIXTURE_BANK.read_text().replace("variant_key: assignment",
                                                                          "variant_key: student"))
    shutil.copy(CONFIG, base / "nbgrader_config.py")
    for command in ("render", "release"):
        subprocess.run([sys.executable, "-m", "grader", "--course", str(base), command, "--assignment", ASSIGNMENT],
                       check=True, capture_output=True, env=kit.venv_env())
    plan = simulate_class(load_bank(base / "questions.yaml"), base, ASSIGNMENT, len(PROFILES))
    local = _twin(base, base.parent / "local")
    run = grade_assignment(local, ASSIGNMENT, config=_config(local))
    scores, _ = _gradebook_scores(f"sqlite:///{local / 'gradebook.db'}", ASSIGNMENT)
    # printing 200 000 lines may or may not beat the cell timeout: the reasons (not the score) vary with load
    timing = {s.student for s in plan if s.profile == "huge-output"}
    return {"base": base, "plan": {s.student: s.expected_score for s in plan}, "run": run, "scores": scores,
            "timing_dependent": timing}


def _grade_on(address, course, db_url=None):
    progress = Counter()
    run = grade_assignment(course, ASSIGNMENT, config=_config(course, db_url), cluster=address,
                           on_progress=lambda student: progress.update([student]))
    return run, progress


def test_a_scheduler_and_two_worker_processes_give_the_local_scores(simulated, dask_processes):
    course = _twin(simulated["base"], simulated["base"].parent / "dask-sqlite")
    with dask_processes.client(2) as client:
        client.get_task_stream()             # the scheduler records tasks from now on
        started = time.time()
        run, progress = _grade_on(dask_processes.address, course)
        graded_by = {t["worker"] for t in client.get_task_stream(start=started) if t["key"].startswith("grade-")}
    scores, _ = _gradebook_scores(f"sqlite:///{course / 'gradebook.db'}", ASSIGNMENT)
    local = simulated["run"]
    assert scores == simulated["scores"]
    assert {s: o.score for s, o in run.outcomes.items()} == pytest.approx(simulated["plan"])
    steady = set(local.outcomes) - simulated["timing_dependent"]
    assert {s: run.outcomes[s].reasons for s in steady} == {s: local.outcomes[s].reasons for s in steady}
    assert {s: o.failed for s, o in run.outcomes.items()} == {s: o.failed for s, o in local.outcomes.items()}
    assert progress == Counter(list(simulated["plan"]))               # the progress bar: once per student
    assert len(graded_by) == 2 and run.workers == 2
    for student, outcome in run.outcomes.items():
        autograded = course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert autograded.is_file() != outcome.failed, student


def test_through_the_cluster_into_postgresql_the_scores_equal_local_sqlite(simulated, dask_processes, postgres):
    course = _twin(simulated["base"], simulated["base"].parent / "dask-postgres")
    db_url = postgres.create_database("cluster_simulated")
    run, _ = _grade_on(dask_processes.address, course, db_url)
    scores, rows = _gradebook_scores(db_url, ASSIGNMENT)
    assert scores == simulated["scores"]
    assert rows == len(simulated["plan"])
    assert {s: o.score for s, o in run.outcomes.items()} == pytest.approx(simulated["plan"])


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


def test_grade_cluster_local_starts_a_local_cluster_from_the_command_line(tmp_path):
    root = kit.make_course(tmp_path / "course")
    kit.submit(root, "right", kit.RIGHT)
    kit.submit(root, "misconception", {**kit.RIGHT, "p1": "q1 = 15"})
    done = subprocess.run([sys.executable, "-m", "grader", "grade", kit.ASSIGNMENT, "--course", str(root),
                           "--cluster", "local:1"], capture_output=True, text=True, env=kit.venv_env())
    assert done.returncode == 0, done.stderr[-3000:]
    assert "with 1 workers" in done.stdout and "6 / 6" in done.stdout and "4.5 / 6" in done.stdout
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
