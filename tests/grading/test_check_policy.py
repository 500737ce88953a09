"""Grading uses the checks students made before the deadline (#21, items 4 and 5): every problem's
gradebook score is its points times the share the bank's `attempts:` and `dates:` leave it (the
credit of the try it was first checked right at, the late timeline, the student's extension),
the same in local worker processes and on Dask; the feedback page says why; `report` counts the
checks; `grader attempts` prints a student's log; `grader extend` records an extension, mirrors it
into nbgrader's own and refuses bad input without writing anything.

The expected shares below are written by hand from the policy (not computed with grader.attempts)."""

import copy
import dataclasses
import datetime as dt
import pickle
from pathlib import Path

import course_kit as kit
import pytest
from nbgrader.api import Gradebook

from grader import cli
from grader.attempts.rules import ProblemTries
from grader.attempts.store import Attempt, Store
from grader.grading import grade_assignment
from grader.grading.coordinator.checks import StudentChecks, counted_tries
from grader.grading.coordinator.cluster import shipped_task
from grader.grading.coordinator.runner import Staged, plan_tasks
from grader.grading.kernel.sandbox import support
from grader.grading.notebook.config import effective_config

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("check-policy")]

DUE = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
POLICY = """\
    attempts: {checks: 3, credit: [1, 0.8, 0.5]}
    dates:
      due: 2026-12-01T12:00:00Z
      late:
        - {until: 1d, credit: 0.7}
"""
BANK = kit.BANK.replace("    problems: [p1, p2, p3]\n", "    problems: [p1, p2, p3]\n" + POLICY, 1)
WRONG_P1 = {**kit.RIGHT, "p1": "q1 = 15"}       # the misconception: 25 % of p1's 2 points

# student: (answers, handed in, checks [(problem, minutes after the due date, try or None, right, misconception)])
CLASS = {
    "ann": (kit.RIGHT, DUE - dt.timedelta(hours=1),          # on time
            [("p1", -300, 1, True, None),                          # p1 right at check 1: 100 %
             ("p2", -300, 1, False, None), ("p2", -290, 2, False, None), ("p2", -280, 3, True, None)]),  # 50 %
    "ben": (kit.RIGHT, DUE - dt.timedelta(minutes=30),       # p1 checked wrong, then handed in right: try 2, 80 %
            [("p1", -200, 1, False, "ceil-not-floor"),
             ("p2", 2 * 24 * 60, None, True, None)]),              # practice after the close: counts for nothing
    "cat": (kit.RIGHT, DUE + dt.timedelta(hours=2),          # late, in the 1-day step: 70 % of everything
            [("p1", -100, 1, True, None)]),
    "dan": (kit.RIGHT, DUE + dt.timedelta(days=2),           # after the late period: nothing counts
            []),
    "eve": (kit.RIGHT, DUE + dt.timedelta(hours=3),          # late, but a 1-day extension makes it on time
            [("p3", -50, 1, False, None), ("p3", -40, 2, False, None), ("p3", -30, 3, True, None)]),  # 50 %
    "fay": (WRONG_P1, DUE - dt.timedelta(hours=2),           # the misconception after one wrong check: 0.5 x 80 %
            [("p1", -400, 1, False, None),
             ("p3", -60, 1, False, None)]),                        # made after handing in: not counted
}
# points x share, by hand: p1 2 points, p2 3, p3 1
EXPECTED = {
    "ann": {"p1": 2.0, "p2": 3 * 0.5, "p3": 1.0},
    "ben": {"p1": 2 * 0.8, "p2": 3.0, "p3": 1.0},
    "cat": {"p1": 2 * 0.7, "p2": 3 * 0.7, "p3": 1 * 0.7},
    "dan": {"p1": 0.0, "p2": 0.0, "p3": 0.0},
    "eve": {"p1": 2.0, "p2": 3.0, "p3": 1 * 0.5},
    "fay": {"p1": 2 * 0.25 * 0.8, "p2": 3.0, "p3": 1.0},
}
LABEL = "accommodation: 1.5x time"


def _record_checks(root: Path) -> None:
    store = Store.of_course(effective_config(root))
    for student, (_, _, checks) in CLASS.items():
        for problem, minutes, try_number, right, misconception in checks:
            at = (DUE + dt.timedelta(minutes=minutes)).timestamp()
            store.record(Attempt(assignment=kit.ASSIGNMENT, problem=problem, student=student, at=at,
                                 try_number=try_number, variant=kit.ASSIGNMENT, answer_digest="0" * 64, answer="null",
                                 fraction=1.0 if right else (0.25 if misconception else 0.0), correct=right,
                                 misconception=misconception, code="correct" if right else "wrong-value",
                                 keeps=[1, 0.8, 0.5][try_number - 1] if try_number else 0.0))


def make_policy_course(root: Path) -> Path:
    """The course kit's course with attempts: and dates: on its assignment, the class on the roster,
    their checks recorded, eve's extension given before she handed in, and every submission."""
    saved, kit.BANK = kit.BANK, BANK
    try:
        root = kit.make_course(root, timeout=10)
    finally:
        kit.BANK = saved
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in CLASS:
            gb.update_or_create_student(student, first_name=student.title())
    _record_checks(root)
    assert cli.main(["--course", str(root), "extend", kit.ASSIGNMENT, "--student", "eve", "--days", "1",
                     "--label", LABEL]) == 0
    for student, (answers, when, _) in CLASS.items():
        kit.submit(root, student, answers)
        (root / "submitted" / student / kit.ASSIGNMENT / "timestamp.txt").write_text(
            f"{when.replace(tzinfo=None)} UTC")
    return root


def _scores(root: Path) -> dict:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {s.student.id: {g.name.removesuffix("-test"): g.score for n in s.notebooks for g in n.grades}
                for s in gb.find_assignment(kit.ASSIGNMENT).submissions}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded in local worker processes and, in a second course made the same way, on Dask."""
    unsafe = not support().available
    local = make_policy_course(tmp_path_factory.mktemp("local"))
    grade_assignment(local, kit.ASSIGNMENT, config=effective_config(local), unsafe=unsafe)
    dask = make_policy_course(tmp_path_factory.mktemp("dask"))
    grade_assignment(dask, kit.ASSIGNMENT, config=effective_config(dask), cluster="local:2", unsafe=unsafe)
    assert cli.main(["--course", str(local), "feedback", kit.ASSIGNMENT]) == 0
    assert cli.main(["--course", str(local), "report", kit.ASSIGNMENT, "--no-integrity"]) == 0
    return local, dask


def test_every_problem_scores_its_points_times_its_share_locally_and_on_dask(graded):
    local, dask = graded
    for root in (local, dask):
        scores = _scores(root)
        assert set(scores) == set(EXPECTED)
        for student, problems in EXPECTED.items():
            for problem, points in problems.items():
                assert scores[student][problem] == pytest.approx(points, abs=1e-9), (root.name, student, problem)
    assert _scores(local) == _scores(dask)


def test_nbgrader_s_due_date_is_the_bank_s_and_the_extension_given_before_the_submission_is_on_its_row(graded):
    local, _ = graded
    with Gradebook(f"sqlite:///{local / 'gradebook.db'}") as gb:
        assert gb.find_assignment(kit.ASSIGNMENT).duedate == DUE.replace(tzinfo=None)
        eve = gb.find_submission(kit.ASSIGNMENT, "eve")
        assert eve.extension == dt.timedelta(days=1) and eve.total_seconds_late == 0     # nbgrader agrees: on time
        assert gb.find_submission(kit.ASSIGNMENT, "cat").total_seconds_late == 2 * 3600


def test_the_feedback_page_says_why_a_problem_kept_a_share_and_how_many_checks_were_used(graded):
    local, _ = graded

    def page(student):
        return (local / "feedback" / student / kit.ASSIGNMENT / f"{kit.ASSIGNMENT}.html").read_text()

    ann, ben, cat, dan = page("ann"), page("ben"), page("cat"), page("dan")
    assert '<p class="share">First checked right at check 3: keeps 50% of its points.</p>' in ann
    assert "1.5 / 3" in ann and "Checks: 3 of 3 checks used before handing in." in ann
    assert '<p class="share">Submitted after 1 check, counted as try 2: keeps 80% of its points.</p>' in ben
    assert "Checks: 0 of 3 checks used before handing in." in ben        # the practice check is not one
    assert cat.count("Handed in late: keeps 70% of its points.") == 3
    assert dan.count("Handed in after the late period ended: counts for nothing.") == 3
    # the verdict is the answer's: right, with the share's reason under it
    assert "Right." in ann.split("First checked right at check 3")[0].rsplit('<div class="problem', 1)[1]
    eve = page("eve")      # late by the due date, on time by her extension
    assert eve.count('<p class="share">') == 1 and "First checked right at check 3: keeps 50% of its points." in eve
    assert "Handed in late" not in eve and "on time" in eve


def test_report_counts_the_checks_per_problem(graded):
    import csv

    local, _ = graded
    rows = {r["problem"]: r for r in csv.DictReader((local / "reports" / kit.ASSIGNMENT / "item-analysis.csv").open())}
    # counted checks (not ben's practice one; fay's p3 check after handing in still counts as a check used)
    assert {p: int(rows[p]["checks_used"]) for p in rows} == {"p1": 4, "p2": 3, "p3": 4}
    assert {p: rows[p]["checks_per_student"] for p in rows} == {"p1": f"{4 / 6:.2f}", "p2": "0.50", "p3": f"{4 / 6:.2f}"}
    # first check right: p1 ann and cat of ann, ben, cat, fay; p2 ann not; p3 neither eve nor fay
    assert {p: rows[p]["first_check_right_pct"] for p in rows} == {"p1": "50.0", "p2": "0.0", "p3": "0.0"}
    assert rows["p1"]["check_misconceptions"] == "ceil-not-floor: 1" and rows["p2"]["check_misconceptions"] == ""
    # the printed summary has the same columns
    from rich.console import Console

    from grader.commands.report import print_item_analysis
    from grader.report import write_reports

    console = Console(width=250, record=True)
    print_item_analysis(write_reports(effective_config(local), kit.ASSIGNMENT), console)
    printed = console.export_text()
    assert "% first check right" in printed and "misconceptions met checking" in printed
    assert [[cell.strip() for cell in line.split("│")[6:9]] for line in printed.splitlines()
            if line.startswith("│ p1 ")] == [["4 (0.67)", "50.0", "ceil-not-floor: 1"]]


def test_grader_attempts_prints_a_student_s_log_and_the_class_counts(graded, capsys):
    local, _ = graded
    assert cli.main(["--course", str(local), "attempts", kit.ASSIGNMENT, "--student", "ben"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{kit.ASSIGNMENT}, student ben: 2 check(s)"
    assert out[1].split() == ["time", "problem", "try", "verdict", "misconception", "keeps"]
    assert out[2].split() == ["2026-12-01", "08:40:00", "UTC", "p1", "1", "partly", "right", "ceil-not-floor", "100%"]
    assert out[3].split() == ["2026-12-03", "12:00:00", "UTC", "p2", "practice", "right"]
    assert cli.main(["--course", str(local), "attempts", kit.ASSIGNMENT]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{kit.ASSIGNMENT}: 12 check(s) by 5 student(s)"
    counts = {line.split()[0]: line for line in out[2:]}
    assert counts["eve"].split()[:4] == ["eve", "3", "0", "p3"] and counts["eve"].endswith(f"1 d ({LABEL})")
    assert counts["ben"].split()[:3] == ["ben", "1", "1"]
    assert cli.main(["--course", str(local), "attempts", kit.ASSIGNMENT, "--student", "nobody"]) == 2


def test_extend_mirrors_into_nbgrader_s_extension_at_once_when_the_student_has_a_submission(graded, capsys):
    local, _ = graded
    assert cli.main(["--course", str(local), "extend", kit.ASSIGNMENT, "--student", "cat", "--until",
                     "2026-12-01T10:00:00-05:00"]) == 0     # 15:00 UTC: three hours
    assert "written" in capsys.readouterr().out
    with Gradebook(f"sqlite:///{local / 'gradebook.db'}") as gb:
        assert gb.find_submission(kit.ASSIGNMENT, "cat").extension == dt.timedelta(hours=3)
    extension = Store.of_course(effective_config(local)).extension(kit.ASSIGNMENT, "cat")
    assert extension.seconds == 3 * 3600 and extension.label == ""


@pytest.mark.parametrize("arguments, says", [
    (["a2", "--student", "ann", "--days", "1"], "no assignment 'a2'"),
    ([kit.ASSIGNMENT, "--student", "zed", "--days", "1"], "not on the roster"),
    ([kit.ASSIGNMENT, "--student", "ann", "--days", "-1"], "cannot be negative"),
    ([kit.ASSIGNMENT, "--student", "ann", "--hours", "nan"], "not a number"),
    ([kit.ASSIGNMENT, "--student", "ann", "--until", "2026-11-30T12:00:00Z"], "before the due date"),
    ([kit.ASSIGNMENT, "--student", "ann", "--until", "2026-12-03 12:00"], "no UTC offset"),
])
def test_extend_refuses_bad_input_and_writes_nothing(graded, capsys, arguments, says):
    local, _ = graded
    before = _extension_state(local)
    assert cli.main(["--course", str(local), "extend", *arguments]) == 2
    assert says in capsys.readouterr().err
    assert _extension_state(local) == before


def test_extend_refuses_two_amounts(graded, capsys):
    local, _ = graded
    before = _extension_state(local)
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--course", str(local), "extend", kit.ASSIGNMENT, "--student", "ann", "--days", "1",
                  "--until", "2026-12-03T12:00:00Z"])
    assert stopped.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
    assert _extension_state(local) == before


def _extension_state(root: Path):
    store = Store.of_course(effective_config(root))
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        nbgrader = {s.student.id: s.extension for s in gb.find_assignment(kit.ASSIGNMENT).submissions}
    return store.extensions(kit.ASSIGNMENT), nbgrader


# --- fast checks ---------------------------------------------------------------------------------

def _attempt(problem, at, try_number, correct):
    return Attempt(assignment="a1", problem=problem, student="s", at=at, try_number=try_number, variant="a1",
                   answer_digest="", answer="", fraction=float(correct), correct=correct, misconception=None,
                   code="", keeps=1.0)


def test_counted_tries_leave_out_practice_and_checks_after_the_submission():
    handed_in = dt.datetime(2026, 1, 1, 0, 0, 10)          # naive UTC, as nbgrader keeps it
    start = handed_in.replace(tzinfo=dt.timezone.utc).timestamp()
    attempts = [_attempt("p1", start - 5, 1, False), _attempt("p1", start - 4, 2, True), _attempt("p1", start - 3, 3, True),
                _attempt("p2", start - 2, None, True), _attempt("p3", start + 1, 1, True)]
    assert counted_tries(attempts, handed_in) == (ProblemTries("p1", 2 + 1, 2),)
    assert counted_tries(attempts) == (ProblemTries("p1", 3, 2), ProblemTries("p3", 1, 1))


def test_the_task_carries_the_checks_to_a_dask_worker_unchanged(tmp_path):
    """plan_tasks puts each student's checks, submission time and extension into their task; the
    task shipped to Dask (pickled, as Dask sends it) holds them field for field."""
    staged = []
    for student in ("s1", "s2"):
        workdir = tmp_path / "autograded" / student / "a1"
        workdir.mkdir(parents=True)
        submitted = tmp_path / "run" / student / "a1.ipynb"
        submitted.parent.mkdir(parents=True)
        submitted.write_text("{}")
        staged.append(Staged(student, "a1", submitted, workdir))
    when = dt.datetime(2026, 12, 1, 13, 0, tzinfo=dt.timezone.utc)
    checks = {"s1": StudentChecks(tries=(ProblemTries("p1", 2, 2), ProblemTries("p3", 1, None)), submitted_at=when,
                                  extension=86400.0)}
    tasks = plan_tasks("a1", staged, tmp_path / "release", {}, ["s1", "s2"], workers=1, checks=checks)
    assert (tasks[0].tries, tasks[0].submitted_at, tasks[0].extension) == (checks["s1"].tries, when, 86400.0)
    assert (tasks[1].tries, tasks[1].submitted_at, tasks[1].extension) == ((), None, 0.0)
    for task in tasks:
        shipped = pickle.loads(pickle.dumps(shipped_task(task)))
        moved = shipped.task.relocated(submitted="x", workdir="y", release=None)
        for name in ("tries", "submitted_at", "extension"):
            assert getattr(moved, name) == getattr(task, name), name
    assert {f.name for f in dataclasses.fields(tasks[0])} >= {"tries", "submitted_at", "extension"}


def test_the_share_s_reason_reaches_the_page_escaped():
    """A reason is the message's last line when the points are below what the fraction earns;
    whatever it holds, the page shows it as text."""
    from grader.feedback import problem_feedback, render_page
    from grader.grading.notebook.answers import share_reason

    result = {"problem": "p1", "fraction": 1.0, "points": 1.6, "max_points": 2.0, "correct": True,
              "message": "Correct.\nFirst checked right at <b>check</b> 2: keeps 80% of its points.", "rule": "exact"}
    assert share_reason(result) == ("Correct.", "First checked right at <b>check</b> 2: keeps 80% of its points.")
    unreduced = copy.deepcopy(result) | {"points": 2.0}
    assert share_reason(unreduced) == (unreduced["message"], "")     # no share applied: the message as it is
    item = problem_feedback("p1", 1.6, 2.0, result, None, None)
    assert item.status == "right" and item.message == "" and item.share_reason.startswith("First checked")
    page = render_page("s", "a1", "A1", [item])
    assert "First checked right at &lt;b&gt;check&lt;/b&gt; 2" in page and "<b>check</b>" not in page
