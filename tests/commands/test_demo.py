"""`grader demo` runs in a course of its own: a real course's submissions, grades and gradebook stay."""

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE_BANK = Path(__file__).parents[1] / "fixtures" / "render" / "bank.yaml"
CONFIG = Path(__file__).parents[2] / "nbgrader_config.py"
ASSIGNMENT = "fixture-a"

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("grading")]


def _grader(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def _digests(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "demo" not in p.relative_to(root).parts}


@pytest.fixture
def real_course(tmp_path):
    """A course with a real student's work in every place the old demo emptied."""
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(FIXTURE_BANK, root / "questions.yaml")
    shutil.copy(CONFIG, root / "nbgrader_config.py")
    for folder in ("submitted", "autograded", "feedback"):
        work = root / folder / "newstudent" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        work.parent.mkdir(parents=True)
        work.write_text(f'{{"a real student\'s {folder} notebook": true}}')
    (root / "gradebook.db").write_bytes(b"a real gradebook")
    return root


def test_demo_leaves_a_course_with_real_submissions_untouched(real_course):
    before = _digests(real_course)
    done = _grader("--course", real_course, "demo", "--assignment", ASSIGNMENT, "--students", "3", "--timeout", "10")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _digests(real_course) == before
    demo = real_course / "demo"
    assert sorted(p.parent.name for p in (demo / "submitted").glob(f"*/{ASSIGNMENT}")) == \
        ["student001", "student002", "student003"]
    assert (demo / "gradebook.db").is_file()
    assert "3/3 scores equal the simulation's plan" in " ".join(done.stdout.split())


def test_demo_refuses_a_folder_it_did_not_make(real_course):
    other = real_course / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    done = _grader("--course", real_course, "demo", "--assignment", ASSIGNMENT, "--demo-dir", other)
    assert done.returncode == 2
    assert "was not made by `grader demo`" in done.stderr
    assert (other / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]


def test_demo_refuses_the_course_itself(real_course):
    before = _digests(real_course)
    done = _grader("--course", real_course, "demo", "--assignment", ASSIGNMENT, "--demo-dir", real_course)
    assert done.returncode == 2 and "the course itself" in done.stderr
    assert _digests(real_course) == before


def test_simulate_refuses_to_overwrite_a_submission(real_course):
    taken = real_course / "submitted" / "student001" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    taken.parent.mkdir(parents=True)
    taken.write_text("a real submission")
    done = _grader("--course", real_course, "simulate", ASSIGNMENT, "--students", "2")
    assert done.returncode == 2
    assert "submitted/student001/fixture-a" in done.stderr and "--force" in done.stderr
    assert taken.read_text() == "a real submission"
    assert not (real_course / "submitted" / "student002").exists()
