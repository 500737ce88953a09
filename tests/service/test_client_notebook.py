"""The notebook's side of the check-my-answer service (#21, "In the notebook").

The shipped bank with `attempts:` inserted (cnn-detection: 3 checks, one problem with none) is
rendered, released through nbgrader and personalized for alice. Her notebook runs top to bottom in a
real kernel (nbclient) beside a `.grader-checks.json` naming a service: nothing is recorded in the
course database; then, in that kernel, clicks on the Check buttons (a wrong then a right answer of a
value problem and of a function problem) record one check each and the button's Output says the
verdict. The service is a small HTTP server in this file around grader.service.check.Checker with
the contract's routes and course-token auth, serving grader.service.client.client_source() at
B/client.py. Without a service the test cell prints one line; nbgrader validate passes; a class
graded with the check lines scores what the course kit says it scores without them.
"""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import course_kit as kit
import nbformat
import pytest
from render_kit import REPO_ROOT, make_course

from grader import render
from grader.attempts.store import Store
from grader.bank import load_bank_text
from grader.course import course_config
from grader.kinds import kind_of
from grader.personalize import student_release
from grader.protocol import Role, cell_grade_id, problem_of
from grader.release import find_leaks, python_scripts_on_path, release
from grader.service.check import Checker
from grader.service.client import client_source

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("checks-notebook")]

ASSIGNMENT = "cnn-detection"
NO_CHECKS = "same-padding"                  # a problem whose own attempts: allows none
VALUE_PROBLEM, FUNCTION_PROBLEM = "conv-output-size", "conv-output-function"
UNAVAILABLE = ("Checking before the deadline is not available here: this answer is checked when the "
               "assignment is graded.")
SHIPPED = (REPO_ROOT / "questions.yaml").read_text(encoding="utf-8")
# The shipped bank without its assignments' own `attempts:` lines (its homework allows checks): the
# bank of an assignment without checks, which these tests give checks of their own.
BARE = re.sub(r"(?m)^    attempts: \{[^\n]*\}\n", "", SHIPPED)


def with_checks(text, assignment=ASSIGNMENT, attempts="{checks: 3, credit: [1, 0.8, 0.5]}", dates=None):
    """The bank text with `attempts:` (and `dates:`) given to `assignment`, and no checks for NO_CHECKS."""
    head = f"  - id: {assignment}\n"
    assert text.count(head) == 1
    start = text.index(head) + len(head)
    lines = f"    attempts: {attempts}\n" + (f"    dates: {dates}\n" if dates else "")
    text = text[:start] + lines + text[start:]
    problem = f"  - id: {NO_CHECKS}\n"
    if problem in text:
        at = text.index(problem) + len(problem)
        text = text[:at] + "    attempts: {checks: 0}\n" + text[at:]
    return text


CHECKED_TEXT = with_checks(BARE, dates="{due: 2099-12-10T23:59:00-05:00, late: [{until: 2d, credit: 0.8}]}")


@pytest.fixture(scope="module")
def checked_bank():
    return load_bank_text(CHECKED_TEXT, REPO_ROOT / "questions.yaml")


@pytest.fixture(scope="module")
def shipped_bank():
    """The bank without checks (BARE)."""
    return load_bank_text(BARE, REPO_ROOT / "questions.yaml")


def cells_by_id(notebook):
    return {cell_grade_id(cell): cell for cell in notebook.cells}


# --- rendering ---------------------------------------------------------------------------------

def test_a_bank_with_checks_renders_byte_identical_twice(checked_bank):
    first = render.notebook_text(render.render_assignment(checked_bank, ASSIGNMENT))
    again = render.notebook_text(render.render_assignment(load_bank_text(CHECKED_TEXT), ASSIGNMENT))
    assert first == again
    assert render.notebook_text(render.render_assignment(checked_bank, ASSIGNMENT, "alice")) == \
        render.notebook_text(render.render_assignment(checked_bank, ASSIGNMENT, "alice"))


def test_each_checkable_problems_test_cell_ends_with_the_button_and_no_other_does(checked_bank):
    notebook = render.render_assignment(checked_bank, ASSIGNMENT)
    cells = cells_by_id(notebook)
    for variant in render.problem_variants(checked_bank, ASSIGNMENT):
        test = cells[f"{variant.problem.id}-test"].source.splitlines()
        prompt = cells[f"{variant.problem.id}-prompt"].source
        if variant.problem.id == NO_CHECKS:
            assert not any("_check_button" in line for line in test)
            assert "check this answer" not in prompt
            continue
        assert test[-1] == f'_check_button("{variant.problem.id}", lambda: {variant.variable})'
        assert test[-2] == "### END HIDDEN TESTS"
        checked = prompt.split("**How it is checked.**")[1]
        assert "You may check this answer 3 times before the deadline" in checked
        assert "100%, 80%, 50%" in checked
    setup = cells["setup"].source
    assert setup.count("def _check_button(problem_id, read_answer):") == 1
    assert '"cnn-detection"' in setup and UNAVAILABLE in setup
    title = cells["title"].source
    assert "13 problems of 14 may also be checked before the deadline" in title
    assert title.endswith("Due 2099-12-10T23:59-05:00; until 2 d after it, answers keep 80%; after that, answers "
                          "count for nothing; the Check button then gives practice on fresh numbers, which counts "
                          "for nothing.")


def test_assignments_without_attempts_render_as_before(checked_bank, shipped_bank):
    for assignment in shipped_bank.assignments:
        before = render.notebook_text(render.render_assignment(shipped_bank, assignment))
        assert "_check_button" not in before
        if assignment != ASSIGNMENT:
            assert render.notebook_text(render.render_assignment(checked_bank, assignment)) == before
    committed = (REPO_ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text(encoding="utf-8")
    shipped = load_bank_text(SHIPPED, REPO_ROOT / "questions.yaml")
    assert render.notebook_text(render.render_assignment(shipped, ASSIGNMENT)) == committed
    assert "_check_button" in committed and SHIPPED != BARE


def test_the_served_client_runs_without_the_grader_package():
    """The kernel has no `grader`: the served text must define everything, the codec included."""
    import subprocess
    import sys
    program = ("import sys\nsys.modules['grader'] = None\n"            # importing grader now fails
               "namespace = {'__name__': 'grader_check_client'}\n"
               "exec(compile(sys.stdin.read(), 'client.py', 'exec'), namespace)\n"
               "codec = namespace['CODEC']\n"
               "import numpy as np\n"
               "print(codec['encode'](np.array([[1.5, 2.0]])))\n"
               "print(codec['call_cases'](lambda w: w + 1, [[1], [2]]))\n")
    done = subprocess.run([sys.executable, "-c", program], input=client_source(), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "{'$array': {'dtype': 'float64', 'shape': [1, 2], 'data': [1.5, 2.0]}}",
        "[{'value': 2}, {'value': 3}]"]


# --- a service ----------------------------------------------------------------------------------

class CheckService:
    """The contract's routes around one Checker, with course tokens (no hub), on a free local port."""

    def __init__(self, bank, db_url):
        self.store = Store(db_url)
        self.checker = Checker(bank, self.store)
        self.requests = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status, body, retry_after=None, content_type="application/json"):
                data = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                if retry_after is not None:
                    self.send_header("Retry-After", str(max(1, round(retry_after))))
                self.end_headers()
                self.wfile.write(data)

            def _student(self):
                found = re.match(r"token\s+(\S+)$", self.headers.get("Authorization", ""))
                student = service.store.student_of_token(found.group(1)) if found else None
                if student is None:
                    self._reply(401, {"error": "unknown token"})
                return student

            def do_GET(self):
                url = urlparse(self.path)
                service.requests.append(("GET", url.path))
                if url.path == "/client.py":
                    return self._reply(200, client_source(), content_type="text/x-python; charset=utf-8")
                parts = url.path.strip("/").split("/")
                student = self._student()
                if student is None:
                    return
                if parts[:2] == ["api", "status"] and len(parts) == 3:
                    reply = service.checker.status(student, parts[2])
                elif parts[:2] == ["api", "cases"] and len(parts) == 4:
                    practice = parse_qs(url.query).get("practice")
                    reply = service.checker.cases(student, parts[2], parts[3], int(practice[0]) if practice else None)
                else:
                    return self._reply(404, {"error": "no such route"})
                self._reply(reply.status, reply.body, reply.retry_after)

            def do_POST(self):
                service.requests.append(("POST", self.path))
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                student = self._student()
                if student is None:
                    return
                if self.path != "/api/check":
                    return self._reply(404, {"error": "no such route"})
                reply = service.checker.check(student, body)
                self._reply(reply.status, reply.body, reply.retry_after)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


# --- one check, in words (no kernel) ----------------------------------------------------------

@pytest.fixture(scope="module")
def hourly_bank():
    """cnn-detection with 2 checks an hour apart (the assignment-keyed instructor's values suffice)."""
    return load_bank_text(with_checks(BARE, attempts="{checks: 2, interval: 1h}"))


def test_refusals_and_an_unreachable_service_are_said_in_plain_words(hourly_bank, tmp_path):
    from grader.devtools.pgserver import free_port
    from grader.service.client import Service, check_once

    with CheckService(hourly_bank, f"sqlite:///{tmp_path / 'checks.db'}") as service:
        token = service.store.issue_token("bob")
        bob = Service(service.url, token)
        words, body = check_once(bob, ASSIGNMENT, VALUE_PROBLEM, lambda: -7)
        assert words == "Not right. 1 check of this answer left." and body["checks_left"] == 1
        words, body = check_once(bob, ASSIGNMENT, VALUE_PROBLEM, lambda: -7)
        assert body is None and words.startswith(f"Not checked: too soon: checks of {VALUE_PROBLEM} are at least 1 h "
                                                 f"apart; try again in ") and words.endswith(". Nothing was counted.")
        words, _ = check_once(Service(service.url, "not-a-token"), ASSIGNMENT, VALUE_PROBLEM, lambda: 7)
        assert words.startswith("Not checked: the check service did not accept this notebook's token (unknown token)")
        words, _ = check_once(bob, ASSIGNMENT, VALUE_PROBLEM, lambda: [0.123456789] * 40_000)
        assert words.startswith("Not checked: the answer is too big to check (")
        words, _ = check_once(bob, ASSIGNMENT, NO_CHECKS, lambda: 1)
        assert words == f"Not checked: {NO_CHECKS} has no checks: it is checked when the assignment is graded."

        def undefined():
            return q9  # noqa: F821 (the student has not run the answer cell)
        assert check_once(bob, ASSIGNMENT, VALUE_PROBLEM, undefined) == ("define q9 first: run your answer cell", None)
        assert [(one.try_number, one.correct) for one in service.store.attempts(ASSIGNMENT)] == [(1, False)]
    words, body = check_once(Service(f"http://127.0.0.1:{free_port()}/", token), ASSIGNMENT, VALUE_PROBLEM, lambda: 7)
    assert body is None and words.startswith("Not checked: the check service cannot be reached (")
    assert words.endswith("Try again later; this answer is checked when the assignment is graded in any case.")


# --- the notebook in a kernel -------------------------------------------------------------------

@pytest.fixture(scope="module")
def released_course(tmp_path_factory, checked_bank):
    """The bank with checks rendered and released through nbgrader (release leak-checks it)."""
    course = make_course(tmp_path_factory.mktemp("checks") / "course", CHECKED_TEXT)
    render.write_rendered(render.render_bank(checked_bank, course, [ASSIGNMENT]))
    release(course, checked_bank, [ASSIGNMENT])
    return course


def answered(notebook, bank, student):
    """The notebook with `student`'s right answers in its answer cells."""
    sources = {v.problem.id: kind_of(v.problem).correct_source(v) for v in render.problem_variants(bank, ASSIGNMENT, student)}
    notebook = nbformat.from_dict(json.loads(json.dumps(notebook)))
    for cell in notebook.cells:
        problem = problem_of(cell_grade_id(cell), Role.ANSWER)
        if problem in sources:
            cell.source = sources[problem]
    return notebook


def alice_notebook(course, bank, folder):
    """Alice's own release notebook (per-student values), answered right, written in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    released = student_release(course, bank, ASSIGNMENT, "alice")
    assert find_leaks(released, bank, ASSIGNMENT, "alice") == []
    notebook = answered(released, bank, "alice")
    path = folder / f"{ASSIGNMENT}.ipynb"
    nbformat.write(notebook, path)
    return path


def stdout_of(cell):
    return "".join(output.get("text", "") for output in cell.get("outputs", []) if output.output_type == "stream")


def widget_views(cell):
    return [output for output in cell.get("outputs", [])
            if output.output_type == "display_data" and "application/vnd.jupyter.widget-view+json" in output.data]


class Kernel:
    """A notebook run by nbclient in a real kernel, which stays up for more cells afterwards."""

    def __init__(self, path):
        from nbclient import NotebookClient
        self.notebook = nbformat.read(path, as_version=4)
        self.client = NotebookClient(self.notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})

    def run_all(self):
        for index, cell in enumerate(self.notebook.cells):
            if cell.cell_type == "code":
                self.client.execute_cell(cell, index)

    def run(self, source):
        cell = nbformat.v4.new_code_cell(source)
        self.notebook.cells.append(cell)
        self.client.execute_cell(cell, len(self.notebook.cells) - 1)
        return stdout_of(cell)


def click(kernel, problem_id, answer_source):
    """Define the answer, click the problem's button (ipywidgets 8: Button.click() runs the click
    handlers, as a click in the browser does), then print what its Output shows and its label."""
    return kernel.run(f"{answer_source}\n"
                      f"_button, _output = _check_button.client['BUTTONS'][{problem_id!r}]\n"
                      f"_button.click()\n"
                      f"print(''.join(o['text'] for o in _output.outputs if o.get('name') == 'stdout'), end='')\n"
                      f"print('label:', _button.description)")


def test_running_the_notebook_checks_nothing_and_each_click_checks_once(released_course, checked_bank, tmp_path):
    store_url = f"sqlite:///{tmp_path / 'checks.db'}"
    with CheckService(checked_bank, store_url) as service:
        token = service.store.issue_token("alice")
        path = alice_notebook(released_course, checked_bank, tmp_path / "alice" / ASSIGNMENT)
        (path.parent / ".grader-checks.json").write_text(json.dumps({"url": service.url, "token": token}))
        kernel = Kernel(path)
        with kernel.client.setup_kernel():
            kernel.run_all()
            assert service.store.attempts(ASSIGNMENT) == []                 # a run spends no check
            assert not [request for request in service.requests if request[0] == "POST"]
            cells = cells_by_id(kernel.notebook)
            for variant in render.problem_variants(checked_bank, ASSIGNMENT, "alice"):
                test = cells[f"{variant.problem.id}-test"]
                assert not [output for output in test.outputs if output.output_type == "error"], variant.problem.id
                assert len(widget_views(test)) == (0 if variant.problem.id == NO_CHECKS else 1), variant.problem.id
                assert UNAVAILABLE not in stdout_of(test)
            assert kernel.run(f"print(_check_button.client['BUTTONS'][{VALUE_PROBLEM!r}][0].description)") == \
                "Check my answer (3 left)\n"

            variants = {v.problem.id: v for v in render.problem_variants(checked_bank, ASSIGNMENT, "alice")}
            right_value = kind_of(variants[VALUE_PROBLEM].problem).correct_source(variants[VALUE_PROBLEM])
            wrong = click(kernel, VALUE_PROBLEM, "q1 = -7")
            assert wrong.startswith("Not right.") and "2 checks of this answer left." in wrong, wrong
            assert wrong.endswith("label: Check my answer (2 left)\n")
            right = click(kernel, VALUE_PROBLEM, right_value)
            assert right.startswith("Right. Submitted as it is, it keeps 80% of its points."), right
            assert "1 check of this answer left." in right and right.endswith("label: Check my answer (1 left)\n")

            wrong_function = "def conv_output_size(W, K, P=0, S=1):\n    return W"
            right_function = kind_of(variants[FUNCTION_PROBLEM].problem).correct_source(variants[FUNCTION_PROBLEM])
            assert click(kernel, FUNCTION_PROBLEM, wrong_function).startswith("Not right.")
            assert click(kernel, FUNCTION_PROBLEM, right_function).startswith("Right.")

            undefined = click(kernel, VALUE_PROBLEM, "del q1")
            assert undefined.startswith("define q1 first: run your answer cell"), undefined

        checks = service.store.attempts(ASSIGNMENT, "alice")
        assert [(one.problem, one.try_number, one.correct) for one in checks] == [
            (VALUE_PROBLEM, 1, False), (VALUE_PROBLEM, 2, True), (FUNCTION_PROBLEM, 1, False), (FUNCTION_PROBLEM, 2, True)]
        assert [request[0] for request in service.requests].count("GET") >= 1
        assert ("GET", f"/api/cases/{ASSIGNMENT}/{FUNCTION_PROBLEM}") in service.requests


def test_without_a_service_the_test_cell_prints_one_line(released_course, checked_bank, tmp_path, monkeypatch):
    for name in ("GRADER_CHECKS_URL", "GRADER_CHECKS_TOKEN", "JUPYTERHUB_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    kernel = Kernel(alice_notebook(released_course, checked_bank, tmp_path / "alice"))
    with kernel.client.setup_kernel():
        kernel.run_all()
    for cell in kernel.notebook.cells:
        if cell_grade_id(cell).endswith("-test") and cell_grade_id(cell) != f"{NO_CHECKS}-test":
            assert not widget_views(cell)
            assert stdout_of(cell).splitlines()[-1] == UNAVAILABLE
            assert stdout_of(cell).count(UNAVAILABLE) == 1


def test_a_service_that_cannot_be_reached_is_said_in_one_line_and_no_error(released_course, checked_bank, tmp_path,
                                                                          monkeypatch):
    from grader.devtools.pgserver import free_port
    monkeypatch.setenv("GRADER_CHECKS_URL", f"http://127.0.0.1:{free_port()}/")
    monkeypatch.setenv("GRADER_CHECKS_TOKEN", "some-token")
    kernel = Kernel(alice_notebook(released_course, checked_bank, tmp_path / "alice"))
    with kernel.client.setup_kernel():
        kernel.run_all()
    test = cells_by_id(kernel.notebook)[f"{VALUE_PROBLEM}-test"]
    assert not [output for output in test.outputs if output.output_type == "error"]
    assert stdout_of(test).splitlines()[-1].startswith("The check service cannot be reached now (")


def test_nbgrader_validate_passes_a_notebook_with_checks(released_course, checked_bank, tmp_path, monkeypatch):
    from nbgrader.validator import Validator

    monkeypatch.delenv("GRADER_CHECKS_URL", raising=False)
    path = alice_notebook(released_course, checked_bank, tmp_path / "alice")
    with python_scripts_on_path():
        assert Validator(config=course_config(released_course)).validate(str(path)) == {}


# --- grading is unaffected ----------------------------------------------------------------------

@pytest.mark.sandbox
def test_grading_scores_the_same_with_the_check_lines(tmp_path, monkeypatch):
    """The course kit's class, its bank with `attempts:`: the kit's known scores, and the test cells
    hold the check line; a submission handed in with a `.grader-checks.json` scores the same."""
    from grader.grading import grade_assignment
    from grader.grading.notebook.config import effective_config

    monkeypatch.setattr(kit, "BANK", with_checks(kit.BANK, kit.ASSIGNMENT))
    root = kit.make_course(tmp_path, timeout=10)
    released = nbformat.read(root / "release" / kit.ASSIGNMENT / f"{kit.ASSIGNMENT}.ipynb", as_version=4)
    assert [cell.source.splitlines()[-1] for cell in released.cells if cell_grade_id(cell).endswith("-test")] == [
        '_check_button("p1", lambda: q1)', '_check_button("p2", lambda: q2)', '_check_button("p3", lambda: q3)']
    kit.submit(root, "right", kit.RIGHT)
    kit.submit(root, "misconception", {**kit.RIGHT, "p1": "q1 = 15"})
    kit.submit(root, "empty", {})
    folder = kit.submit(root, "with-config", kit.RIGHT).parent
    (folder / ".grader-checks.json").write_text(json.dumps({"url": "http://127.0.0.1:9/", "token": "t"}))
    run = grade_assignment(root, kit.ASSIGNMENT, config=effective_config(root))
    assert {student: outcome.score for student, outcome in run.outcomes.items()} == {
        "right": 6.0, "misconception": 4.5, "empty": 0.0, "with-config": 6.0}


def test_a_policy_number_equal_to_an_answer_is_no_leak():
    text = (REPO_ROOT / "tests" / "fixtures" / "render" / "bank.yaml").read_text(encoding="utf-8")
    expected = int(render.problem_variants(load_bank_text(text), "fixture-b")[0].expected)
    bank = load_bank_text(text.replace("    title: One problem\n",
                                       f"    title: One problem\n    attempts: {{checks: {expected}}}\n"))
    notebook = render.render_assignment(bank, "fixture-b")
    assert f"check this answer {expected} times" in cells_by_id(notebook)["conv-out-prompt"].source
    assert [leak for leak in find_leaks(notebook, bank, "fixture-b") if "-prompt" in leak] == []


def test_client_source_is_this_module_and_the_kernels_codec():
    from grader.grading.kernel import in_kernel
    from grader.service import client
    text = client_source()
    assert text.startswith(Path(client.__file__).read_text(encoding="utf-8"))
    assert repr(Path(in_kernel.__file__).read_text(encoding="utf-8")) in text


@pytest.mark.server
def test_serve_checks_serves_the_client(service_course):
    """The notebook's helper fetches the button's code from B/client.py, without a token."""
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    from grader.devtools.pgserver import free_port

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "grader", "serve-checks", "--no-hub", "--course",
                                str(service_course), "--port", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline, text = time.monotonic() + 60, None
        while text is None and time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/client.py", timeout=5) as reply:
                    text = reply.read().decode("utf-8")
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.1)
        assert text == client_source()
    finally:
        process.terminate()
        process.wait(20)
