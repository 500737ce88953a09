"""A tiny nbgrader course, made by hand, independent of the question bank.

Three problems, each an answer cell `<p>-answer` and a graded test cell `<p>-test` whose
hidden tests print one `GRADER_RESULT {json}` line and return the points earned (nbgrader
partial credit), like grader.runtime does:

    p1  numeric, 2 points: 14 is right, 15 is the misconception `ceil-not-floor` (25 %)
    p2  array,   3 points, secret: [0.5, 0.25] within 1e-3; a wrong shape or NaN earns 0
    p3  choice,  1 point:  "B"

The expected score of a submission is therefore known without running anything.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ASSIGNMENT = "a1"
POINTS = {"p1": 2.0, "p2": 3.0, "p3": 1.0}
SECRET_VALUES = ["0.5, 0.25", "[0.5 0.25]"]   # how p2's expected value would look if it leaked

CONFIG = """\
c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = "sqlite:///{root}/gradebook.db"
c.Execute.timeout = {timeout}
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
"""

_CHECK = '''\
import json as _json, math as _math
def _report(problem, fraction, points, message, rule, error=None, misconception=None, code="wrong-value"):
    line = {"problem": problem, "fraction": fraction, "points": fraction * points,
            "max_points": points, "correct": fraction == 1.0, "misconception": misconception,
            "message": message, "rule": rule, "code": code, "error": error, "parts": []}
    print("GRADER_RESULT " + _json.dumps(line))
    return fraction * points
'''

P1_TEST = '''\
assert q1 is not None, "q1 is empty"
### BEGIN HIDDEN TESTS
{check}
if q1 == 14:
    _r = _report("p1", 1.0, 2.0, "Right.", "exact")
elif q1 == 15:
    _r = _report("p1", 0.25, 2.0, "Floor, not ceiling.", "exact", {{"relative_at_most": 0.1}}, "ceil-not-floor")
else:
    _r = _report("p1", 0.0, 2.0, "Not the expected value.", "exact", {{"relative_above": 1.0}})
_r
### END HIDDEN TESTS
'''

P2_TEST = '''\
import numpy as np
### BEGIN HIDDEN TESTS
{check}
_a = np.asarray(q2, dtype=float)
if _a.shape != (2,):
    _r = _report("p2", 0.0, 3.0, "Wrong shape " + str(_a.shape) + ".", "accepted within ±0.1 % of the expected value",
                 code="wrong-shape")
elif not np.all(np.isfinite(_a)):
    _r = _report("p2", 0.0, 3.0, "NaN or infinity in the answer.", "accepted within ±0.1 % of the expected value",
                 code="not-finite")
elif np.allclose(_a, [0.5, 0.25], rtol=1e-3, atol=1e-6):
    _r = _report("p2", 1.0, 3.0, "Right.", "accepted within ±0.1 % of the expected value")
else:
    _r = _report("p2", 0.0, 3.0, "Not within the tolerance.", "accepted within ±0.1 % of the expected value")
_r
### END HIDDEN TESTS
'''

P3_TEST = '''\
### BEGIN HIDDEN TESTS
{check}
_report("p3", 1.0 if q3 == "B" else 0.0, 1.0, "Right." if q3 == "B" else "Not that option.", "the option key")
assert q3 == "B"
### END HIDDEN TESTS
'''


def venv_env() -> dict:
    """nbgrader runs the `alembic` script when it makes a gradebook: it must be on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _meta(grade_id, *, solution=False, grade=False, locked=False, points=None):
    nbgrader = {"grade": grade, "grade_id": grade_id, "locked": locked,
                "schema_version": 3, "solution": solution}
    if points is not None:
        nbgrader["points"] = points
    return {"nbgrader": nbgrader}


def source_notebook():
    check = _CHECK.rstrip()
    cells = [
        new_markdown_cell("# Assignment a1", metadata=_meta("intro", locked=True)),
        new_code_cell("import numpy as np", metadata=_meta("setup", locked=True)),
        new_code_cell("### BEGIN SOLUTION\nq1 = 14\n### END SOLUTION", metadata=_meta("p1-answer", solution=True)),
        new_code_cell(P1_TEST.format(check=check), metadata=_meta("p1-test", grade=True, locked=True, points=2)),
        new_code_cell("### BEGIN SOLUTION\nq2 = np.array([0.5, 0.25])\n### END SOLUTION",
                      metadata=_meta("p2-answer", solution=True)),
        new_code_cell(P2_TEST.format(check=check), metadata=_meta("p2-test", grade=True, locked=True, points=3)),
        new_code_cell('### BEGIN SOLUTION\nq3 = "B"\n### END SOLUTION', metadata=_meta("p3-answer", solution=True)),
        new_code_cell(P3_TEST.format(check=check), metadata=_meta("p3-test", grade=True, locked=True, points=1)),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def make_course(root: Path, timeout: int = 5) -> Path:
    """Write the course, run `nbgrader generate_assignment`; return the course root."""
    root = Path(root)
    (root / "source" / ASSIGNMENT).mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(CONFIG.format(root=str(root), timeout=timeout))
    nbformat.write(source_notebook(), root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
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
