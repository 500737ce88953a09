"""Helpers of the renderer, runtime and release tests: a small bank with one problem of every kind."""

import shutil
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "render"
FIXTURE_BANK = FIXTURES / "bank.yaml"
MINI_BANK = Path(__file__).parent / "bank" / "fixtures" / "mini.yaml"
REPO_ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "fixture-a"


def make_course(directory, bank_text=None):
    """A course directory: the fixture bank as questions.yaml and the repository's nbgrader config."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "questions.yaml").write_text(bank_text or FIXTURE_BANK.read_text(encoding="utf-8"),
                                              encoding="utf-8")
    shutil.copy(REPO_ROOT / "nbgrader_config.py", directory / "nbgrader_config.py")
    return directory
