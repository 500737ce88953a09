"""A fixed simulated class run through the whole pipeline, recorded as plain data.

render -> release -> simulate -> grade -> feedback -> report on a copy of the shipped bank, then
per student: every cell's score from the gradebook, the GRADER_RESULT of every problem, the
reasons the grader lists, the feedback page; and the report CSVs. tests/fixtures/golden-class.json
holds this record; the test in tests/test_golden_class.py re-runs the pipeline and compares. It was
first recorded before the restructure around problem kinds (commit ffb6da8) and re-recorded only
for intended changes, each checked field by field: the feedback wording (#12), a table handed in
from a classmate's numbers scoring 0 (student022, #9), the inputs line naming the prompt's symbols,
the feedback page typesetting the prompts' Markdown and math (#19: only `feedback` changed, every score,
result and reason the same), the homework's checks before the deadline (#21: each feedback page's problems
gain "Checks: 0 of 3 checks used before handing in." and cnn-detection's item-analysis.csv four check
columns; every score, result and reason the same; student011's timing-dependent entry kept as recorded).
Record on an idle machine: student011's 200000 printed lines must finish within TIMEOUT.

    python tests/golden_class.py            # rewrite the fixture (only when a change is intended)
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "golden-class.json"
ASSIGNMENTS = ("cnn-detection", "mixed-quiz")
STUDENTS = 22          # every profile of grader.simulate once
SEED = 521
TIMEOUT = 3            # the infinite-loop profile waits this long


def _venv_env():
    import os
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def make_course(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "questions.yaml", root / "questions.yaml")
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    chosen = [argument for assignment in ASSIGNMENTS for argument in ("--assignment", assignment)]
    for command in ("render", "release"):
        subprocess.run([sys.executable, "-m", "grader", "--course", str(root), command, *chosen],
                       check=True, capture_output=True, env=_venv_env())
    return root


def _results(notebook_path: Path) -> dict:
    import nbformat
    found = {}
    if not notebook_path.exists():
        return found
    nb = nbformat.read(notebook_path, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                for line in output.get("text", "").splitlines():
                    if line.startswith("GRADER_RESULT "):
                        data = json.loads(line[len("GRADER_RESULT "):])
                        found[data["problem"]] = data
    return found


def run_assignment(root: Path, assignment: str) -> dict:
    from nbgrader.api import Gradebook

    from grader.bank import load_bank
    from grader.feedback import write_feedback
    from grader.grading import grade_assignment
    from grader.grading.notebook.config import effective_config
    from grader.report import write_reports
    from grader.simulate import simulate_class

    bank = load_bank(root / "questions.yaml")
    plan = simulate_class(bank, root, assignment, STUDENTS, seed=SEED)
    config = effective_config(root)
    config.Execute.timeout = TIMEOUT
    run = grade_assignment(root, assignment, config=config)
    write_feedback(config, assignment, bank=bank)
    write_reports(config, assignment)
    students = {}
    with Gradebook(config.CourseDirectory.db_url) as gb:
        for submission in gb.find_assignment(assignment).submissions:
            student = submission.student.id
            students[student] = {
                "scores": {g.name: g.score for n in submission.notebooks for g in n.grades},
                "results": _results(root / "autograded" / student / assignment / f"{assignment}.ipynb"),
                "reasons": sorted(run.outcomes[student].reasons),
                "feedback": (root / "feedback" / student / assignment / f"{assignment}.html").read_text(),
            }
    reports = {name: (root / "reports" / assignment / name).read_text()
               for name in ("grades.csv", "problems.csv", "item-analysis.csv")}
    profiles = {s.student: s.profile for s in plan}
    return {"profiles": profiles, "students": students, "reports": reports}


def run_class(root: Path) -> dict:
    make_course(root)
    return {assignment: run_assignment(root, assignment) for assignment in ASSIGNMENTS}


if __name__ == "__main__":
    import tempfile
    with tempfile.TemporaryDirectory(prefix="golden-class-") as tmp:
        record = run_class(Path(tmp) / "course")
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"wrote {FIXTURE}")
