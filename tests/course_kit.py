"""A tiny nbgrader course with a three-problem bank whose answers are constants.

Each problem has an answer cell `<p>-answer` and a graded test cell `<p>-test` whose hidden test
reports the answer to the grading process (grader/grading/notebook/answers.py):

    p1  numeric, 2 points: 14 is right, 15 is the misconception `ceil-not-floor` (25 %)
    p2  array,   3 points, secret: [0.5, 0.25] within 0.1 %; a wrong shape or NaN earns 0
    p3  choice,  1 point:  "B"

The expected score of a submission is therefore known without running anything.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

ASSIGNMENT = "a1"
POINTS = {"p1": 2.0, "p2": 3.0, "p3": 1.0}
SECRET_VALUES = ["0.5, 0.25", "[0.5 0.25]"]   # how p2's expected value would look if it leaked
REPO = Path(__file__).resolve().parents[1]

BANK = """\
course: ELEN 521 (course kit)
seed: 7
variant_key: assignment
assignments:
  - id: a1
    title: Three constants
    problems: [p1, p2, p3]
problems:
  - id: p1
    title: A count
    section: cnn
    formula: [cnn.out_size]
    points: 2
    kind: numeric
    prompt: How many? (The answer is 14.)
    answer: 14
    compare: {rule: exact}
    misconceptions:
      - id: ceil-not-floor
        answer: 15
        feedback: Round down.
        credit: 0.25
    hints:
      - O = floor((W-K+2P)/S) + 1
  - id: p2
    title: Two numbers
    section: activations
    formula: [act.softmax]
    points: 3
    kind: array
    secret: true
    prompt: Which two numbers?
    params:
      half: {value: 0.5}
    answer: np.array([half, half / 2])
    compare: {rule: close, rtol: 0.001, atol: 0.000001}
  - id: p3
    title: An option
    section: initialization
    formula: [act.init_rule]
    points: 1
    kind: choice
    prompt: Pick B.
    options:
      A: not this one
      B: this one
    answer: B
"""

CONFIG = """\
c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = "sqlite:///{root}/gradebook.db"
c.Execute.timeout = {timeout}
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
from grader.grading.notebook.plain import refuse_plain_autograde
refuse_plain_autograde(c)
"""


def venv_env() -> dict:
    """nbgrader runs the `alembic` script when it makes a gradebook: it must be on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def source_notebook(root: Path):
    from grader import render
    from grader.bank import load_bank
    return render.render_assignment(load_bank(root / "questions.yaml"), ASSIGNMENT)


def make_course(root: Path, timeout: int = 5) -> Path:
    """Write the course, run `nbgrader generate_assignment`; return the course root."""
    root = Path(root)
    (root / "source" / ASSIGNMENT).mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(CONFIG.format(root=str(root), timeout=timeout))
    (root / "questions.yaml").write_text(BANK)
    nbformat.write(source_notebook(root), root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"],
                   cwd=root, check=True, capture_output=True, env=venv_env())
    return root


def submit(root: Path, student: str, answers: dict | None = None, *, raw: str | None = None,
           edit=None) -> Path:
    """Hand in the released notebook with `answers` {"p1": "q1 = 14", ...} in the answer cells.

    `raw` writes that text instead of a notebook; `edit(nb)` changes the notebook before it is written.
    """
    folder = root / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ASSIGNMENT}.ipynb"
    if raw is not None:
        path.write_text(raw)
        return path
    nb = nbformat.read(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        problem = grade_id.removesuffix("-answer")
        if grade_id.endswith("-answer") and answers and problem in answers:
            cell.source = answers[problem]
    if edit is not None:
        edit(nb)
    nbformat.write(nb, path)
    return path


RIGHT = {"p1": "q1 = 14", "p2": "q2 = np.array([0.5, 0.25])", "p3": 'q3 = "B"'}


def grader_results(notebook_path: Path) -> list[dict]:
    """The GRADER_RESULT lines of an autograded notebook."""
    nb = nbformat.read(notebook_path, as_version=4)
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith("GRADER_RESULT "):
                    found.append(json.loads(line.split(" ", 1)[1]))
    return found
