"""The course directory: its nbgrader configuration, its paths and its gradebook.

Every path of nbgrader's course layout (source/, release/, submitted/, autograded/, feedback/)
comes from nbgrader's CourseDirectory.format_path under the course's configuration, so a course
that renames a directory in nbgrader_config.py is followed everywhere.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from traitlets.config import Config, PyFileConfigLoader

from grader.errors import GraderError

CONFIG_FILE = "nbgrader_config.py"
GRADEBOOK_FILE = "gradebook.db"
BANK_FILENAME = "questions.yaml"
REPORTS_DIR = "reports"          # ours, not nbgrader's


def load_config(course: str | Path) -> Config:
    """COURSE/nbgrader_config.py as a traitlets Config; GraderError when it is missing or broken."""
    path = Path(course) / CONFIG_FILE
    if not path.is_file():
        raise GraderError(f"{path}: no {CONFIG_FILE} in the course directory")
    try:
        return PyFileConfigLoader(path.name, path=str(path.parent.resolve())).load_config()
    except Exception as exc:  # a syntax error in the config file, say where
        raise GraderError(f"{path}: cannot load the nbgrader configuration: {exc}") from exc


def course_config(course: str | Path, root: str | Path | None = None, db_url: str | None = None) -> Config:
    """The course's configuration rooted at `root` (default: the course), with its gradebook URL
    (the config's, else COURSE/gradebook.db; `db_url` overrides both)."""
    course = Path(course).resolve()
    config = load_config(course)
    if not config.CourseDirectory.get("db_url"):
        config.CourseDirectory.db_url = f"sqlite:///{course / GRADEBOOK_FILE}"
    if db_url is not None:
        config.CourseDirectory.db_url = db_url
    config.CourseDirectory.root = str(Path(root or course).resolve())
    return config


def course_id(config: Config) -> str:
    return str(config.CourseDirectory.get("course_id", "default_course"))


def open_gradebook(config: Config | None = None, *, db_url: str | None = None, course: str | None = None) -> Any:
    """nbgrader's Gradebook (a context manager), the one way the grader opens one: the course's (its
    config's db_url and course id), or the one at `db_url` under course id `course` (a worker's
    snapshot, a benchmark's twin course). nbgrader runs its `alembic` script by name when the
    database is new: the running Python's scripts are on PATH meanwhile."""
    from nbgrader.api import Gradebook
    if config is not None:
        db_url, course = db_url or config.CourseDirectory.db_url, course if course is not None else course_id(config)
    if db_url is None or course is None:
        raise ValueError("open_gradebook needs the course's config, or both db_url and course")
    with python_scripts_on_path():
        return Gradebook(db_url, course)


@contextlib.contextmanager
def python_scripts_on_path() -> Iterator[None]:
    """nbgrader's Gradebook runs `alembic` by name (nbgrader.api.get_alembic_version): make the
    scripts of the running Python's environment findable even when it was not activated."""
    old_path = os.environ.get("PATH")
    new_path = with_venv_on_path()["PATH"]
    if new_path == old_path:
        yield
        return
    os.environ["PATH"] = new_path
    try:
        yield
    finally:
        if old_path is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = old_path


def with_venv_on_path(env: dict | None = None) -> dict:
    """nbgrader runs the `alembic` script when it makes a gradebook; keep the venv's bin on PATH."""
    env = dict(os.environ if env is None else env)
    bindir = str(Path(sys.executable).parent)
    if bindir not in env.get("PATH", "").split(os.pathsep):
        env["PATH"] = os.pathsep.join([bindir, env.get("PATH", "")])
    return env


@contextlib.contextmanager
def setup_lock(db_url: str) -> Iterator[None]:
    """Hold the gradebook's setup lock: one run at a time creates tables, the assignment, students and
    submissions (nbgrader's update_or_create_* would race: two inserts of one row). PostgreSQL: an
    advisory lock on its own connection; SQLite: an flock on a file beside the database."""
    import fcntl
    import hashlib

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    url = make_url(db_url)
    if url.get_backend_name() == "postgresql":
        key = int.from_bytes(hashlib.sha256(b"elen521-grader gradebook setup").digest()[:8], "big", signed=True)
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                connection.commit()
                try:
                    yield
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    connection.commit()
        finally:
            engine.dispose()
    elif url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        with open(f"{url.database}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    else:
        yield



class CoursePaths:
    """Where things are in the course, through nbgrader's CourseDirectory."""

    def __init__(self, config: Config) -> None:
        from nbgrader.coursedir import CourseDirectory
        self.coursedir = CourseDirectory(config=config)
        self.root = Path(self.coursedir.root)

    def _path(self, directory: str, student: str, assignment: str) -> Path:
        return Path(self.coursedir.format_path(directory, student, assignment))

    def source(self, assignment: str) -> Path:
        return self._path(self.coursedir.source_directory, ".", assignment)

    def release(self, assignment: str) -> Path:
        return self._path(self.coursedir.release_directory, ".", assignment)

    def submitted(self, student: str, assignment: str) -> Path:
        return self._path(self.coursedir.submitted_directory, student, assignment)

    def autograded(self, student: str, assignment: str) -> Path:
        return self._path(self.coursedir.autograded_directory, student, assignment)

    def feedback(self, student: str, assignment: str) -> Path:
        return self._path(self.coursedir.feedback_directory, student, assignment)

    def submitted_root(self) -> Path:
        return self.root / self.coursedir.submitted_directory

    def student_dirs(self, assignment: str) -> list[Path]:
        """Every student's submitted/, autograded/ and feedback/ directory of the assignment."""
        import glob
        steps = (self.coursedir.submitted_directory, self.coursedir.autograded_directory,
                 self.coursedir.feedback_directory)
        return [Path(found) for step in steps for found in sorted(glob.glob(str(self._path(step, "*", assignment))))
                if Path(found).is_dir()]

    def reports(self, assignment: str) -> Path:
        return self.root / REPORTS_DIR / assignment


def paths_of(course: str | Path) -> CoursePaths:
    """The paths of a course from its nbgrader_config.py (simulate and the CLI, outside grading)."""
    return CoursePaths(course_config(course))
