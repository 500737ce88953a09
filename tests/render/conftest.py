"""Fixtures of the renderer, runtime and release tests (helpers live in render_kit.py)."""

import pytest

from grader.bank import load_bank
from render_kit import FIXTURE_BANK, make_course


@pytest.fixture(scope="session")
def fixture_bank():
    return load_bank(FIXTURE_BANK)


@pytest.fixture
def course(tmp_path):
    return make_course(tmp_path / "course")
