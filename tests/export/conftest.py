import sys
from pathlib import Path

import pytest

from grader.bank import load_bank

ROOT = Path(__file__).resolve().parents[2]
BANK = ROOT / "questions.yaml"
VARIANTS = 4

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def bank():
    return load_bank(BANK)


def run_cli(*argv):
    from grader.cli import main

    return main(["--course", str(ROOT), *map(str, argv)])
