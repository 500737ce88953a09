"""Checking answers in a real JupyterHub, tested for real (#21): the hub, its proxy, two students and
the course's own check service (`grader serve-checks --hub`), JupyterLab driven by headless Chromium.

A course of two problems keyed per student (each student has their own numbers), checks allowed
with credit [1, 0.8, 0.5] and the misconception told, is rendered, released per student for ada and
ben (the roster) and delivered into their hub homes (`distribute --homes`). Then:

1. ada logs in, opens her own notebook in JupyterLab and runs the setup cell, a wrong answer (the
   misconception's value on her numbers) and the test cell: nothing is recorded in the course
   database until she clicks "Check my answer"; the verdict on the page is not right and tells the
   misconception; the right answer, run and clicked, is right and keeps 80 % (try 2), 1 check left.
2. ben's token (the scopes his server's token gets) checks with ada's id in the body: recorded as
   ben's and graded on ben's numbers; his attempts are his alone; no token is 401; a token of his
   without the service's scope is 403.
3. The service is killed (SIGKILL) and started again: ada's checks are all there (api/attempts with
   her token), her button says 1 check left, and a third click is her last.
4. ada saves her notebook in JupyterLab; it and ben's (answered with his right numbers) are handed
   in under the course's submitted/ as nbgrader's exchange would; `grader grade` scores ada's
   checked problem points x the credit of try 2 from the bank's list, and says why.

The expected values are computed here with the engine on each student's draw (grader.variants), the
scores from the credit list written in this file's bank. One test, not several: pytest-xdist's
loadgroup does not keep a module's tests on one worker (tests/test_hub_kit.py), and each worker
would start a hub of its own.
"""

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
import time

import nbformat
import pytest
from hub_kit import CHROMIUM, CHROMIUM_FLAGS, SERVICE, log_in, request, require_tools, running_hub, server_token_scopes
from render_kit import make_course

from grader import cli
from grader.bank import load_bank
from grader.engine import conv_output_size, mse
from grader.grading.kernel.sandbox import support
from grader.variants import draw_for

pytestmark = [pytest.mark.xdist_group("hub"), pytest.mark.nbgrader, pytest.mark.server]

ASSIGNMENT = "hw"
ADA, BEN = "ada", "ben"
CHECKS, CREDIT = 3, (1.0, 0.8, 0.5)
POINTS = {"conv-out": 2, "mse": 3}
FEEDBACK = "The padding adds 2P to the input size before the kernel slides."
BANK = f"""\
course: ELEN 521 (checks in the hub)
seed: 521
variant_key: student
assignments:
  - id: {ASSIGNMENT}
    title: Checked in JupyterHub
    problems: [conv-out, mse]
    attempts: {{checks: {CHECKS}, credit: {list(CREDIT)}, reveal: misconception}}
problems:
  - id: conv-out
    title: Output size of a convolution
    section: cnn
    formula: [cnn.out_size]
    points: {POINTS["conv-out"]}
    kind: numeric
    prompt: |
      A convolution layer takes a ${{{{ W }}}}\\times{{{{ W }}}}$ input with kernel size
      $K = {{{{ K }}}}$, padding $P = {{{{ P }}}}$ and stride $S = {{{{ S }}}}$.
      What is the output's spatial size $O$?
    params:
      W: {{int: [40, 64]}}
      K: {{choice: [3, 5, 7]}}
      P: {{value: 1}}
      S: {{choice: [1, 2]}}
    answer: conv_output_size(W, K, P, S)
    compare: {{rule: exact}}
    misconceptions:
      - id: forgot-padding
        answer: conv_output_size(W, K, 0, S)
        feedback: {FEEDBACK}
  - id: mse
    title: Mean squared error
    section: losses
    formula: [loss.mse]
    points: {POINTS["mse"]}
    kind: numeric
    prompt: |
      Targets $y = {{{{ y | latex }}}}$, predictions $p = {{{{ p | latex }}}}$: the mean squared error.

      Answer: one float.
    params:
      B: {{int: [3, 6]}}
      y: {{array: {{shape: [B], dist: normal, mean: 0, std: 2, decimals: 1}}}}
      p: {{array: {{shape: [B], dist: normal, mean: 0, std: 2, decimals: 1}}}}
    constraints:
      - mse(y, p) > 0.05
    answer: mse(y, p)
"""
NOTEBOOK = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"       # in each home, as `distribute --homes` puts it


def grader(course, *args):
    assert cli.main(["--course", str(course), *args]) == 0, args


def expected(bank, student):
    """{problem: (right value, misconception value or None)} on the student's own numbers: the engine."""
    conv = draw_for(bank, bank.problems["conv-out"], ASSIGNMENT, student)
    loss = draw_for(bank, bank.problems["mse"], ASSIGNMENT, student)
    return {"conv-out": (int(conv_output_size(conv["W"], conv["K"], conv["P"], conv["S"])),
                         int(conv_output_size(conv["W"], conv["K"], 0, conv["S"]))),
            "mse": (float(mse(loss["y"], loss["p"])), None)}


def rows(course):
    """{student: checks recorded} in the course database, counted with sqlite3."""
    with sqlite3.connect(course / "gradebook.db") as db:
        return dict(db.execute("SELECT student, COUNT(*) FROM grader_check_attempts GROUP BY student").fetchall())


def cell_index(path):
    """{grade id: index} of a notebook's cells (JupyterLab shows them in this order)."""
    notebook = nbformat.read(path, as_version=4)
    return {cell.metadata.get("nbgrader", {}).get("grade_id"): index for index, cell in enumerate(notebook.cells)}


def shown_after_click(lab, cell, text, timeout=30):
    """Click the cell's Check button and wait until its output shows `text` (the verdict of this
    click: each click follows a fresh run of the test cell, whose output is only the button); the
    whole output, or an assertion naming what it shows instead."""
    lab.click_button(cell, "Check my answer")
    try:
        return lab.wait_for_output(cell, text, timeout)
    except Exception as exc:
        raise AssertionError(f"{text!r} not shown after {timeout} s ({type(exc).__name__}); the cell shows:\n"
                             f"{lab.output(cell)}") from None


def hand_in(notebook, course, student):
    """The notebook into submitted/<student>/<assignment>/ with a timestamp.txt of now, as nbgrader's
    exchange delivers a submission."""
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(notebook, folder / f"{ASSIGNMENT}.ipynb")
    (folder / "timestamp.txt").write_text(f"{dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)} UTC")


@pytest.fixture
def tools():
    require_tools()


@pytest.fixture
def course(tools, tmp_path):
    """The course rendered, released, released per student for the roster (ada, ben) and delivered
    into their homes under tmp_path/hub/home/<student>, where the hub will look."""
    started = time.monotonic()
    course = make_course(tmp_path / "course", BANK)
    (tmp_path / "roster.csv").write_text(f"id,first_name\n{ADA},Ada\n{BEN},Ben\n")
    grader(course, "roster", "import", str(tmp_path / "roster.csv"))
    grader(course, "render")
    grader(course, "release", ASSIGNMENT, "--per-student")
    for student in (ADA, BEN):
        (tmp_path / "hub" / "home" / student).mkdir(parents=True)
    grader(course, "distribute", ASSIGNMENT, "--homes", str(tmp_path / "hub" / "home" / "{student}"))
    print(f"course made in {time.monotonic() - started:.1f} s")
    return course


def test_students_check_in_jupyterlab_as_themselves_the_checks_survive_a_restart_and_grading_applies_them(
        course, tmp_path):
    bank = load_bank(course / "questions.yaml")
    answers = {student: expected(bank, student) for student in (ADA, BEN)}
    right, wrong = answers[ADA]["conv-out"]
    assert answers[BEN]["conv-out"][0] != right            # ada's right answer is wrong for ben: his own numbers
    assert wrong != right
    home = tmp_path / "hub" / "home"
    cells = cell_index(home / ADA / NOTEBOOK)
    assert cell_index(home / BEN / NOTEBOOK) == cells

    service = {"name": SERVICE, "command": [sys.executable, "-m", "grader", "serve-checks", "--hub",
                                            "--course", str(course)]}
    started = time.monotonic()
    with running_hub(tmp_path / "hub", service) as hub:
        print(f"hub and service up in {time.monotonic() - started:.1f} s")
        assert "listening on http://127.0.0.1:" in hub.log("service")
        assert rows(course) == {}
        ada_token = hub.token(ADA, scopes=server_token_scopes(SERVICE))
        ben_token = hub.token(BEN, scopes=server_token_scopes(SERVICE))

        def check(token, body):
            return request(hub.service_url + "api/check", "POST", body, token=token)

        def attempts(token):
            status, reply = request(hub.service_url + f"api/attempts/{ASSIGNMENT}", token=token)
            assert status == 200, reply
            return [(one["problem"], one["try"], one["verdict"]) for one in reply["attempts"]]

        from playwright.sync_api import sync_playwright
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            try:
                hub.spawn(ADA)
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                errors = []
                page.on("pageerror", lambda error: errors.append(str(error)))

                # --- 1. ada in JupyterLab: running checks nothing, a click checks once --------------
                lab = log_in(page, hub, ADA)
                print(f"{ADA} in JupyterLab in {time.monotonic() - started:.1f} s")
                lab.open(NOTEBOOK)
                answer, test = cells["conv-out-answer"], cells["conv-out-test"]
                assert "raise NotImplementedError()" in lab.cells()[answer]
                lab.run(cells["setup"])
                lab.set_source(answer, f"q1 = {wrong}")
                lab.run(answer)
                shown = lab.run(test)
                assert "Check my answer (3 left)" in shown, shown
                assert "not available" not in shown and "cannot be reached" not in shown, shown
                lab.run(test)
                assert rows(course) == {}                      # running cells sent no check
                shown = shown_after_click(lab, test, f"Not right. {FEEDBACK} 2 checks of this answer left.")
                assert "Check my answer (2 left)" in shown and str(right) not in shown, shown
                assert rows(course) == {ADA: 1}

                lab.set_source(answer, f"q1 = {right}")
                lab.run(answer)
                assert "Check my answer (2 left)" in lab.run(test)
                assert rows(course) == {ADA: 1}
                shown = shown_after_click(lab, test, "Right. Submitted as it is, it keeps 80% of its points. "
                                                     "1 check of this answer left.")
                assert "Check my answer (1 left)" in shown
                assert rows(course) == {ADA: 2}
                print(f"{ADA} checked twice in {time.monotonic() - started:.1f} s")

                # --- 2. ben cannot check as ada, nor see her checks ----------------------------------
                status, reply = check(ben_token, {"assignment": ASSIGNMENT, "problem": "conv-out", "answer": right,
                                                  "student": ADA})
                assert status == 200, reply
                assert (reply["verdict"], reply["try"], reply["checks_left"]) == ("not right", 1, 2)   # ben's numbers
                assert rows(course) == {ADA: 2, BEN: 1}
                assert attempts(ben_token) == [("conv-out", 1, "not right")]
                assert attempts(ada_token) == [("conv-out", 1, "not right"), ("conv-out", 2, "right")]
                body = {"assignment": ASSIGNMENT, "problem": "conv-out", "answer": right}
                assert check(None, body)[0] == 401
                assert request(hub.service_url + f"api/attempts/{ASSIGNMENT}")[0] == 401
                assert check("not-a-token", body)[0] == 401
                assert check(hub.token(BEN, scopes=["read:users:name!user"]), body)[0] == 403
                assert rows(course) == {ADA: 2, BEN: 1}

                # --- 3. the service killed and started again: every check kept ----------------------
                pid = hub.service_process.pid
                hub.restart_service()
                assert hub.service_process.pid != pid
                assert attempts(ada_token) == [("conv-out", 1, "not right"), ("conv-out", 2, "right")]
                assert attempts(ben_token) == [("conv-out", 1, "not right")]
                assert "Check my answer (1 left)" in lab.run(test)      # the kernel asks the new process
                # grading keeps the credit of the first right check (try 2), whatever is checked after it
                shown = shown_after_click(lab, test, "Right. Submitted as it is, it keeps 80% of its points. "
                                                     "No checks of this answer left.")
                assert "Check my answer (none left)" in shown, shown
                assert rows(course) == {ADA: 3, BEN: 1}
                print(f"service restarted, {ADA} checked again in {time.monotonic() - started:.1f} s")

                # ada answers the other problem (never checked) and saves her notebook
                lab.set_source(cells["mse-answer"], f"q2 = {answers[ADA]['mse'][0]!r}")
                lab.run(cells["mse-answer"])
                page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
                page.wait_for_function(
                    "(path) => { for (const w of window.jupyterapp.shell.widgets('main')) "
                    "if (w.context && w.context.path === path) return !w.context.model.dirty; return false; }",
                    arg=NOTEBOOK, timeout=30_000)
                page.close()
                assert errors == [], errors
            finally:
                browser.close()
    print(f"hub done in {time.monotonic() - started:.1f} s")

    # --- 4. handed in and graded: points x the credit of the try first checked right ---------------
    saved = nbformat.read(home / ADA / NOTEBOOK, as_version=4)
    assert saved.cells[cells["conv-out-answer"]].source == f"q1 = {right}"
    hand_in(home / ADA / NOTEBOOK, course, ADA)
    ben = nbformat.read(home / BEN / NOTEBOOK, as_version=4)
    ben.cells[cells["conv-out-answer"]].source = f"q1 = {answers[BEN]['conv-out'][0]}"
    ben.cells[cells["mse-answer"]].source = f"q2 = {answers[BEN]['mse'][0]!r}"
    nbformat.write(ben, home / BEN / NOTEBOOK)
    hand_in(home / BEN / NOTEBOOK, course, BEN)
    grade = [sys.executable, "-m", "grader", "--course", str(course), "grade", ASSIGNMENT]
    if not os.environ.get("CI") and not support().available:      # as tests/conftest.py: never in CI
        grade.append("--unsafe-no-sandbox")
    done = subprocess.run(grade, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    print(f"graded in {time.monotonic() - started:.1f} s")

    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {(student, problem): gb.find_grade(f"{problem}-test", ASSIGNMENT, ASSIGNMENT, student).score
                  for student in (ADA, BEN) for problem in POINTS}
    assert scores == pytest.approx({
        (ADA, "conv-out"): POINTS["conv-out"] * CREDIT[1],      # wrong at check 1, first right at check 2
        (ADA, "mse"): POINTS["mse"] * CREDIT[0],                # never checked: submitting is try 1
        (BEN, "conv-out"): POINTS["conv-out"] * CREDIT[1],      # his check (ada's answer) was wrong: try 2
        (BEN, "mse"): POINTS["mse"] * CREDIT[0]}, abs=1e-9)
    autograded = (course / "autograded" / ADA / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert "First checked right at check 2: keeps 80% of its points." in autograded
    ben_autograded = (course / "autograded" / BEN / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert "Submitted after 1 check, counted as try 2: keeps 80% of its points." in ben_autograded
