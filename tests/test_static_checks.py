"""Type, lint and layer checks (configured in pyproject.toml) run with the tests: `make test` fails on any."""

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


def test_the_layers_import_one_way():
    """import-linter's contracts in pyproject.toml: the engine imports nothing of grader, and each layer
    of the flow only the layers below it."""
    done = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=REPO, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_bank_model_and_the_kinds_import_without_the_loader():
    """No import cycle: grader.bank's model imports alone, and the kinds (which the loader uses to build
    problems) never pull the loader in."""
    code = ("import sys, grader.bank.model, grader.kinds; "
            "print(sorted(m for m in sys.modules if m.startswith('grader.bank.loader')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
