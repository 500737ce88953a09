"""Type and lint checks (configured in pyproject.toml) run with the tests: `make test` fails on either."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(*command):
    return subprocess.run([sys.executable, "-m", *command], cwd=REPO, capture_output=True, text=True)


def test_mypy_passes_on_the_typed_layers():
    done = _run("mypy")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_passes():
    done = _run("ruff", "check", "grader", "tests")
    assert done.returncode == 0, done.stdout + done.stderr
