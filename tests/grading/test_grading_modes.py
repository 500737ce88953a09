"""Which mode grades: sandboxed by default; where the platform cannot sandbox, `grade` refuses
unless the TA passes --unsafe-no-sandbox; the summary, the mode record and the report say which."""

import json

import course_kit as kit
import nbformat
import pytest

from grader.cli import main
from grader.errors import GraderError
from grader.grading import grade_assignment
from grader.grading.coordinator.mode import RECORD, SANDBOXED, UNSANDBOXED, describe_modes
from grader.grading.kernel import sandbox as sb
from grader.grading.notebook.config import effective_config

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("grading")]
needs_sandbox = pytest.mark.sandbox

# p1's answer cell looks around and tries to cheat; p1 is right only if it found nothing to cheat with.
SNOOP = """import os, json
found = {"listing": sorted(os.listdir('.')), "data": open('data.csv').read()}
for path in ['../../../gradebook.db', '../../../source', 'COURSE/questions.yaml', 'COURSE/gradebook.db']:
    found[path] = os.path.exists(path.replace('COURSE', ROOT))
try:
    open(ROOT + '/autograded/victim/a1/a1.ipynb', 'w').write('{}')
    found['wrote'] = True
except OSError:
    found['wrote'] = False
print('SNOOP ' + json.dumps(found))
q1 = 14
"""


def unavailable(monkeypatch):
    monkeypatch.setattr(sb, "support", lambda sandbox=None: sb.Support(False, "kernel sandboxing needs bwrap"))


def test_grade_refuses_without_a_sandbox_and_names_what_is_missing_and_the_flag(tmp_path, monkeypatch, capsys):
    root = kit.make_course(tmp_path, timeout=5)
    kit.submit(root, "a", kit.RIGHT)
    unavailable(monkeypatch)
    with pytest.raises(GraderError, match="needs bwrap.*apt-get install bubblewrap.*--unsafe-no-sandbox"):
        grade_assignment(root, kit.ASSIGNMENT, config=effective_config(root))
    assert main(["grade", kit.ASSIGNMENT, "--course", str(root)]) == 2
    assert "--unsafe-no-sandbox" in capsys.readouterr().err
    assert not (root / "autograded").exists() and not (root / RECORD).exists()      # nothing was graded


def test_the_unsafe_flag_grades_and_the_summary_and_report_say_unsandboxed(tmp_path, monkeypatch, capsys):
    root = kit.make_course(tmp_path, timeout=5)
    kit.submit(root, "a", kit.RIGHT)
    unavailable(monkeypatch)
    assert main(["grade", kit.ASSIGNMENT, "--course", str(root), "--unsafe-no-sandbox"]) == 0
    out = capsys.readouterr().out
    assert "6 / 6" in out and f"kernels {UNSANDBOXED}: --unsafe-no-sandbox" in out
    assert json.loads((root / RECORD).read_text())[kit.ASSIGNMENT]["a"]["mode"] == UNSANDBOXED
    assert main(["report", kit.ASSIGNMENT, "--course", str(root)]) == 0
    out = capsys.readouterr().out
    assert "grading mode: UNSANDBOXED 1 (a)" in out
    assert "UNSANDBOXED" in (root / "reports" / kit.ASSIGNMENT / "grading-mode.txt").read_text()


@needs_sandbox
def test_sandboxed_grading_shows_the_kernel_only_its_own_files(tmp_path):
    root = kit.make_course(tmp_path, timeout=10)
    (root / "source" / kit.ASSIGNMENT / "data.csv").write_text("1,2\n")     # a file the assignment ships
    kit.submit(root, "victim", kit.RIGHT)
    kit.submit(root, "snoop", {**kit.RIGHT, "p1": f"ROOT = {str(root)!r}\n" + SNOOP})
    (root / "submitted" / "snoop" / kit.ASSIGNMENT / "notes.txt").write_text("mine")
    run = grade_assignment(root, kit.ASSIGNMENT, config=effective_config(root))
    assert (root / "gradebook.db").is_file() and (root / "source").is_dir()    # control: there on the host
    assert run.mode.sandboxed and {s: o.score for s, o in run.outcomes.items()} == {"victim": 6.0, "snoop": 6.0}
    nb = nbformat.read(root / "autograded" / "snoop" / kit.ASSIGNMENT / f"{kit.ASSIGNMENT}.ipynb", as_version=4)
    line = next(o.text for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                if "SNOOP " in o.get("text", ""))
    found = json.loads(line.split("SNOOP ", 1)[1])
    assert found.pop("listing") == ["data.csv", "notes.txt"] and found.pop("data") == "1,2\n"
    assert found == {"../../../gradebook.db": False, "../../../source": False, "COURSE/questions.yaml": False,
                     "COURSE/gradebook.db": False, "wrote": False}
    victim = root / "autograded" / "victim" / kit.ASSIGNMENT / f"{kit.ASSIGNMENT}.ipynb"
    assert "GRADER_RESULT" in victim.read_text()                             # the classmate's notebook intact
    assert json.loads((root / RECORD).read_text())[kit.ASSIGNMENT]["snoop"]["mode"] == SANDBOXED
    assert describe_modes(root, kit.ASSIGNMENT) == "grading mode: every kernel sandboxed (2 students)"
