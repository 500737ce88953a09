"""Fixtures of the check service's tests: a course (service_kit.py) with its database made once.

nbgrader makes a new gradebook with alembic (seconds); the session makes one, with the check
tables, and each test gets a copy of it in its own course folder.
"""

import shutil

import pytest
from service_kit import make_service_course

from grader.attempts.store import Store


@pytest.fixture(scope="session")
def template_gradebook(tmp_path_factory):
    root = make_service_course(tmp_path_factory.mktemp("service-template"))
    Store(f"sqlite:///{root}/gradebook.db", "service-kit")        # nbgrader's tables, then the checks'
    return root / "gradebook.db"


@pytest.fixture
def service_course(tmp_path, template_gradebook):
    """A fresh course under tmp_path/course with an empty gradebook (nobody checked anything)."""
    root = make_service_course(tmp_path / "course")
    shutil.copyfile(template_gradebook, root / "gradebook.db")
    return root
