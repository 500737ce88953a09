"""Grade a whole class: kernels run in parallel worker processes (this machine's, or a Dask cluster's),
the gradebook is written by this one."""

import os
import shutil
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from functools import partial
from multiprocessing import forkserver, get_context
from pathlib import Path
from typing import NamedTuple

import nbformat
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import find_all_files
from sqlalchemy.exc import SAWarning

from grader.attempts.store import Store
from grader.bank import Bank
from grader.course import BANK_FILENAME, open_gradebook
from grader.distribute import grading_roster, roster_status
from grader.errors import GraderError, suggestion
from grader.files import write_atomic
from grader.grading.coordinator import gradebook as gbops
from grader.grading.coordinator.checks import StudentChecks, class_checks, uses_policy
from grader.grading.coordinator.mode import Mode, choose_mode, record_mode
from grader.grading.coordinator.submission import (
    FolderLimits,
    Refused,
    Submission,
    printable_name,
    read_submission,
    submission_time,
    unusable_student_id,
    write_tree,
)
from grader.grading.notebook.answers import check_specs, class_of, course_bank
from grader.grading.notebook.config import effective_config, with_venv_on_path
from grader.grading.notebook.reasons import EDITED, notebook_reasons, without_repairs_of
from grader.grading.notebook.session import grade_task, init_worker
from grader.grading.notebook.tasks import GradeResult, GradeTask, failed_result
from grader.protocol import REPORT_FUNCTION, Role, problem_of
from grader.release_record import check_student_variants, earlier_locked_cells


@dataclass
class Outcome:
    student: str
    score: float = 0.0
    max_score: float = 0.0
    reasons: list = field(default_factory=list)
    failed: bool = False          # nothing could be run: every grade 0, flagged for review
    seconds: float = 0.0


@dataclass
class GradeRun:
    assignment: str
    outcomes: dict                # student -> Outcome
    seconds: float
    workers: int
    timings: dict = field(default_factory=dict)   # the coordinator's own seconds: gradebook, results
    mode: Mode | None = None      # kernels sandboxed or not (grader.grading.coordinator.mode)

    @property
    def broken(self):
        return {s: o for s, o in self.outcomes.items() if o.reasons}


def default_workers() -> int:
    """One worker more than the cores: a worker waits on its kernel for every cell (about 13 ms of
    wall time for 8 ms of CPU), and the extra one keeps the cores busy meanwhile (make bench on 2
    cores, 60 notebooks: 40.8 s with 2 workers, 34.1 s with 3, 35.9 s with 4)."""
    return len(os.sched_getaffinity(0)) + 1


def find_submissions(coursedir: CourseDirectory, assignment: str, only: list[str] | None) -> dict[str, Path]:
    """{student: submitted/<student>/<assignment>} for every entry there, whatever it is: a link or a
    file in place of a folder is still a submission, refused with a reason when it is read."""
    root = Path(coursedir.root) / coursedir.submitted_directory
    found = {p.parent.name: p for p in sorted(root.glob(f"*/{assignment}")) if _is_entry(p)}
    if only:
        missing = [s for s in only if s not in found]
        if missing:
            raise GraderError(f"{root}: no submission of '{assignment}' by {', '.join(missing)}"
                              f"{suggestion(missing[0], found)}")
        found = {s: found[s] for s in only}
    if not found:
        submitted = {p.name for p in root.glob("*/*") if p.is_dir()}
        raise GraderError(f"{root}: no submissions of '{assignment}' (expected {root}/<student>/{assignment}/)"
                          f"{suggestion(assignment, submitted)}")
    return found


def _is_entry(path: Path) -> bool:
    try:
        path.lstat()
    except OSError:
        return False
    return True


def _prepare_workdir(coursedir: CourseDirectory, assignment: str, student: str, files: dict[str, bytes]) -> Path:
    """autograded/<student>/<assignment>/ as nbgrader makes it: the student's other files (read by
    submission.read_submission, never from the folder again), then the source's (which win). Old
    autograded notebooks stay until their replacement is written."""
    dest = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))
    dest.mkdir(parents=True, exist_ok=True)
    with os.scandir(dest) as entries:
        for entry in entries:
            if not entry.name.endswith(".ipynb"):
                shutil.rmtree(entry.path) if entry.is_dir(follow_symlinks=False) else os.unlink(entry.path)
    write_tree(files, dest)
    source = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    for filename in find_all_files(str(source), coursedir.ignore + ["*.ipynb"]):
        target = dest / Path(filename).relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        shutil.copy(filename, target)
    return dest


def _read_submission(coursedir: CourseDirectory, assignment: str, student: str, notebooks: list[str],
                     outcome: Outcome) -> tuple[Submission, dict[str, bytes]] | None:
    """The student's folder read as an attacker's data (submission.py); None when it cannot be read
    at all (a link, a file, unreadable): failed, with the reason."""
    root = Path(coursedir.root) / coursedir.submitted_directory
    try:
        return read_submission(root, student, assignment, notebooks, list(coursedir.ignore),
                               FolderLimits.from_config(coursedir.config))
    except (Refused, OSError) as exc:
        outcome.failed = True
        outcome.reasons.append(f"{coursedir.submitted_directory}/{exc}" if isinstance(exc, Refused)
                               else f"its folder could not be read ({exc})")
        return None


class Staged(NamedTuple):
    """One submitted notebook ready to grade: staged in the run's own folder, its autograded/ folder made."""
    student: str
    notebook: str
    submitted: Path
    workdir: Path


def plan_tasks(assignment: str, staged: list[Staged], release: Path, earlier: dict[str, list[str]],
               classmates: list[str], workers: int, checks: dict[str, StudentChecks] | None = None) -> list[GradeTask]:
    """The run's tasks, one per staged notebook: the one place a GradeTask is built, for local workers
    and Dask alike (tasks.py). `release`: the assignment's release folder; `earlier`: the locked cells'
    texts of earlier releases (grader.release_record); `classmates`: the class whose numbers a copied
    answer may be; the last `workers` tasks start no next kernel (no notebook follows them);
    `checks`: {student: their checks, submission time and extension} for an assignment with checks or
    dates (checks.class_checks), None for one without."""
    earlier_hashes = tuple((grade_id, tuple(hashes)) for grade_id, hashes in sorted(earlier.items()))
    the_class = tuple(classmates)
    none = StudentChecks()
    return [GradeTask(student=one.student, assignment=assignment, notebook=one.notebook,
                      submitted=str(one.submitted), workdir=str(one.workdir),
                      release=str(release / f"{one.notebook}.ipynb"), earlier=earlier_hashes,
                      classmates=the_class, prestart_next=index < len(staged) - workers,
                      tries=(checks or {}).get(one.student, none).tries,
                      submitted_at=(checks or {}).get(one.student, none).submitted_at,
                      extension=(checks or {}).get(one.student, none).extension)
            for index, one in enumerate(staged)]


def _stage_student(coursedir: CourseDirectory, assignment: str, student: str, notebooks: list[str],
                   staged: Path, outcome: Outcome, record_zero) -> list[Staged]:
    """The student's notebooks to grade, staged in the run's own folder, and their autograded/ folder;
    a zero recorded (`record_zero(notebook, needs_review=...)`) for each notebook that is not graded.
    One student's folder at a time: a class's files are never all in memory at once."""
    found = _read_submission(coursedir, assignment, student, notebooks, outcome)
    if found is None:
        for notebook in notebooks:
            record_zero(notebook, needs_review=True)
        return []
    submission, files = found
    outcome.reasons.extend(submission.skipped)
    workdir = _prepare_workdir(coursedir, assignment, student, files)
    staged.mkdir(parents=True)
    ready = []
    for notebook in notebooks:
        if notebook in submission.missing or notebook in submission.refused:
            record_zero(notebook, needs_review=notebook in submission.refused)
            outcome.reasons.append(submission.refused.get(notebook, f"{notebook}.ipynb: not submitted"))
            continue
        path = staged / f"{notebook}.ipynb"
        path.write_bytes(submission.notebooks[notebook])
        ready.append(Staged(student, notebook, path, workdir))
    return ready


def _grading_bank(coursedir: CourseDirectory, assignment: str) -> Bank:
    """The course's bank, which holds `assignment`: the one bank this run grades with (its workers
    are handed it, and never read the file again)."""
    bank_path = Path(coursedir.root) / BANK_FILENAME
    if not bank_path.is_file():
        raise GraderError(f"{bank_path}: no question bank in the course directory")
    bank = course_bank(bank_path)
    if assignment not in bank.assignments:
        raise GraderError(f"{bank_path}: no assignment '{assignment}'{suggestion(assignment, bank.assignments)}")
    return bank


def _check_specs(gb, bank: Bank, assignment: str, notebooks: list[str]) -> None:
    """Stop before grading anyone when a test cell the gradebook restores before grading was
    rendered from another spec of its problem than the bank holds now, or by an older grader."""
    for notebook in notebooks:
        cells = gbops.source_cells(gb, assignment, notebook)
        tests = {name: source for name, source in cells.items() if problem_of(name, Role.TEST)}
        where = f"the gradebook's copy of {assignment}/{notebook}.ipynb"
        if any(REPORT_FUNCTION not in source for source in tests.values()):
            raise GraderError(f"{where} holds hidden tests of an older grader (they graded inside the student's "
                              f"kernel): release it again (`python -m grader release --assignment {assignment}`)")
        check_specs(bank, assignment, [nbformat.v4.new_code_cell(source) for source in tests.values()], where)


def grade_assignment(course: Path, assignment: str, students: list[str] | None = None,
                     workers: int | None = None, on_progress=None, config=None, cluster: str | None = None,
                     unsafe: bool = False) -> GradeRun:
    """Autograde every submission of `assignment` (or only `students`) into autograded/ and the gradebook.
    `cluster`: None grades in local worker processes; "local:N" or a Dask scheduler address
    ("tcp://host:8786") grades on Dask workers (cluster.py). Kernels are sandboxed; where they
    cannot be, GraderError, unless `unsafe` (then no kernel is sandboxed)."""
    started = time.monotonic()
    if not cluster:
        _pool_context()
        forkserver.ensure_running()     # it imports nbgrader on the other core while this one prepares
    mode = choose_mode(unsafe)
    os.environ.update(with_venv_on_path())
    config = config or effective_config(course)
    coursedir = CourseDirectory(config=config)
    submissions = find_submissions(coursedir, assignment, students)
    outcomes = {s: Outcome(s) for s in submissions}
    for student in list(submissions):
        unusable = unusable_student_id(student)
        if unusable:           # never in the gradebook, a path or a page: listed for the TA only
            del submissions[student]
            del outcomes[student]
            outcomes[printable_name(student)] = Outcome(printable_name(student), failed=True, reasons=[unusable])
            if on_progress:
                on_progress(student)
    workers = max(1, min(workers or default_workers(), len(submissions) or 1))
    db_url = config.CourseDirectory.db_url
    gbops.check_db_url(config, course)
    timings = {"gradebook": 0.0, "results": 0.0}

    with gbops.setup_lock(db_url):
        if not gbops.has_assignment(config, assignment):
            from grader.release import register_in_gradebook
            register_in_gradebook(course, assignment, db_url)
    # The course database's record of checks and extensions (grader extend), read before the
    # gradebook's session opens: its tables are made on first use.
    store = Store.of_course(config)
    extensions = store.extensions(assignment)
    run_dir = tempfile.TemporaryDirectory(prefix="grader-run-")   # the run's own copies: staged notebooks, snapshot
    with run_dir, open_gradebook(config) as gb, warnings.catch_warnings():
        # nbgrader's add_submission trips SQLAlchemy autoflush warnings; harmless, and not ours to fix
        warnings.simplefilter("ignore", category=SAWarning)
        with gbops.setup_lock(db_url):
            notebooks = gbops.assignment_notebooks(gb, assignment, db_url)
            bank = _grading_bank(coursedir, assignment)
            _check_specs(gb, bank, assignment, notebooks)    # before anything is written
            check_student_variants(Path(course), bank, assignment, list(submissions))
            # The roster (grader.distribute.is_on_roster): the students staff imported or added, not
            # those this run adds to nbgrader's students table (recorded here, before it adds them).
            on_roster = grading_roster(gb, course, assignment, list(submissions))
            for student, reason in roster_status(course, assignment, list(submissions), on_roster).items():
                if reason:
                    outcomes[student].reasons.append(reason)
            submitted_root = Path(coursedir.root) / coursedir.submitted_directory
            handed_in = {s: submission_time(submitted_root, s, assignment) for s in submissions}
            found = bank.assignments[assignment]
            if found.rules.dates is not None:    # nbgrader's lateness (and its late penalty) from the bank's due date
                gbops.set_duedate(gb, assignment, found.rules.dates.due)
            gbops.prepare_submissions(gb, assignment, handed_in,
                                      {s: e.seconds for s, e in extensions.items() if s in submissions})
            checks = None
            if uses_policy(found):
                checks = class_checks(store, found, handed_in, extensions,
                                      gbops.extensions(gb, assignment, list(submissions)))
        ready: list[Staged] = []
        release = Path(coursedir.format_path(coursedir.release_directory, ".", assignment))
        earlier = earlier_locked_cells(course, assignment)
        # The class whose numbers a copied answer may be: the gradebook's students (the roster and
        # everyone graded before), this run's and everyone given a per-student notebook.
        classmates = class_of(course, assignment, {student.id for student in gb.students} | set(submissions))
        staged = Path(run_dir.name) / "submitted"
        for student in submissions:
            try:
                ready.extend(_stage_student(coursedir, assignment, student, notebooks, staged / student,
                                            outcomes[student], partial(gbops.record_zero, gb, assignment, student)))
            except Exception as exc:  # noqa: BLE001 (this student's preparation, never the class's run)
                gb.db.rollback()
                outcomes[student].failed = True
                outcomes[student].reasons.append(f"could not be prepared for grading "
                                                 f"({type(exc).__name__}: {str(exc)[:160]})")
                for notebook in notebooks:
                    gbops.record_zero(gb, assignment, student, notebook, needs_review=True)
                ready = [one for one in ready if one.student != student]
        tasks = plan_tasks(assignment, ready, release, earlier, classmates, workers, checks)

        recorded = set()

        def record(result: GradeResult) -> None:
            if (result["student"], result["notebook"]) in recorded:   # each notebook is recorded once
                return
            recorded.add((result["student"], result["notebook"]))
            try:
                record_one(result)
            except Exception as exc:  # noqa: BLE001 (this student's notebook, never the class's run)
                gb.db.rollback()
                gbops.record_zero(gb, assignment, result["student"], result["notebook"], needs_review=True)
                outcomes[result["student"]].failed = True
                outcomes[result["student"]].reasons.append(
                    f"{result['notebook']}.ipynb: could not be recorded ({type(exc).__name__}: {str(exc)[:160]})")
            if on_progress:
                on_progress(result["student"])

        def record_one(result: GradeResult) -> None:
            started_record = time.perf_counter()
            outcome = outcomes[result["student"]]
            outcome.seconds += result.get("seconds", 0.0)
            if result["notebook_json"] is None:
                gbops.record_zero(gb, assignment, result["student"], result["notebook"], needs_review=True)
                timings["gradebook"] += time.perf_counter() - started_record
                outcome.failed = True
                outcome.reasons.append(f"{result['notebook']}.ipynb: {result.get('error')}")
            else:
                nb = nbformat.v4.reads(result["notebook_json"])   # the worker's nbformat.writes validated it
                started_write = time.perf_counter()
                gbops.record_notebook(gb, config, assignment, result["student"], result["notebook"], nb)
                timings["gradebook"] += time.perf_counter() - started_write
                workdir = Path(coursedir.format_path(coursedir.autograded_directory, result["student"], assignment))
                write_atomic(workdir / f"{result['notebook']}.ipynb", result["notebook_json"], mode=0o444)  # nbgrader's 444
                edited = result.get("edited", [])
                explained = [reason for reason in edited if not reason.endswith(EDITED)]
                outcome.reasons.extend(edited + without_repairs_of(notebook_reasons(nb, result.get("warnings", [])),
                                                                   explained))
            timings["results"] += time.perf_counter() - started_record

        snapshot = Path(run_dir.name) / "gradebook.db"
        gbops.snapshot(gb, assignment, snapshot)
        if cluster:
            from grader.grading.coordinator.cluster import run_on_cluster
            workers = run_on_cluster(cluster, tasks, config, snapshot, record, sandboxed=mode.sandboxed)
        else:
            _run_parallel(tasks, workers, (config, str(snapshot), _kernel_env(), mode.sandboxed,
                                            (os.getcwd(), dict(os.environ)), bank), record)

        for student, found in gbops.scores(gb, assignment, submissions).items():
            outcomes[student].score = found["score"]
            outcomes[student].max_score = found["max_score"]
            if found["seconds_late"] > 0:
                outcomes[student].reasons.append(f"handed in {gbops.lateness_text(found['seconds_late'])} "
                                                 f"after the due date (nbgrader's, with any extension)")
    timings["results"] -= timings["gradebook"]       # result handling: the rest of `record`
    record_mode(course, assignment, submissions, mode)
    return GradeRun(assignment, outcomes, time.monotonic() - started, workers, timings, mode)


def _kernel_env() -> dict:
    env = with_venv_on_path()
    env["NBGRADER_EXECUTION"] = "autograde"
    return env


def _pool_context():
    """multiprocessing's forkserver: one server process imports nbgrader and the grading pipeline
    once, and every worker is forked from it (a spawned worker spent 2 s of CPU importing them)."""
    context = get_context("forkserver")
    context.set_forkserver_preload(["grader.grading.notebook.session", "grader.grading.notebook.pipeline"])
    return context


def _run_pool(tasks: list[tuple[GradeTask, str]], workers, initargs, record) -> list[tuple[GradeTask, str]]:
    """Run (task, started marker) pairs in `workers` processes; return those whose results were lost
    to a broken pool."""
    lost = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context(),
                             initializer=init_worker, initargs=initargs) as pool:
        futures = {pool.submit(grade_task, task, started): (task, started) for task, started in tasks}
        for future in as_completed(futures):
            try:
                result = future.result()
            except BrokenProcessPool:
                lost.append(futures[future])
                continue
            except Exception as exc:  # noqa: BLE001 (one notebook's failure, never the class's run)
                result = failed_result(futures[future][0], exc)
            record(result)
    return lost


def _run_parallel(tasks: list[GradeTask], workers, initargs, record):
    """Grade in `workers` processes. When a worker dies (a notebook killed it), every task not yet
    finished is lost with the pool. Those that had not started go back to a fresh pool; those in
    flight are graded again ALONE, each in a pool of its own, so only a notebook that kills its
    worker again is blamed, and the classmates that were in flight with it are graded normally.
    A worker creates a task's `started` marker (a file here) as it begins it."""
    with tempfile.TemporaryDirectory(prefix="grader-started-") as markers:
        pending = [(task, str(Path(markers) / f"task-{index}")) for index, task in enumerate(tasks)]
        idle_pools = 0
        while pending:
            lost = _run_pool(pending, workers, initargs, record)
            in_flight = [(task, started) for task, started in lost if Path(started).exists()]
            idle_pools = idle_pools + 1 if len(lost) == len(pending) and not in_flight else 0
            if idle_pools == 2:                 # once may be a worker killed as it started; twice is not
                raise GraderError("the grading workers stopped before grading any notebook (they could not "
                                  "start: see the messages above); nothing was recorded for "
                                  f"{len(pending)} notebook(s)")
            pending = [(task, started) for task, started in lost if not Path(started).exists()]
            for task, started in in_flight:
                if _run_pool([(replace(task, prestart_next=False), started)], 1, initargs, record):
                    record(failed_result(task, "its notebook killed the grading worker (graded alone, twice)"))
