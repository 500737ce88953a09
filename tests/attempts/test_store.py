"""The record of checks in the course database: append-only, one check per try, hashed tokens, on
SQLite and PostgreSQL, and a new database left for nbgrader to recognise as its own."""

import sqlite3
import time

import pytest
import sqlalchemy

from grader.attempts.store import Attempt, Store, TryTaken, token_digest
from grader.course import open_gradebook


def attempt(student="ada", try_number=1, problem="p", at=None):
    return Attempt(assignment="a", problem=problem, student=student, at=at or time.time(), try_number=try_number,
                   variant=student, answer_digest="d", answer="[1]", fraction=1.0, correct=True,
                   misconception=None, code="correct", keeps=1.0)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gradebook.db'}"
    return request.getfixturevalue("postgres").create_database(f"attempts_{time.time_ns()}")


def test_checks_are_appended_once_per_try_and_never_changed(db_url):
    store = Store(db_url, "elen521")
    store.record(attempt(try_number=1))
    with pytest.raises(TryTaken):
        store.record(attempt(try_number=1))
    store.record(attempt(try_number=None))       # practice: as many as asked
    store.record(attempt(try_number=None))
    store.record(attempt(student="bo", try_number=1))
    assert [one.try_number for one in store.attempts("a", "ada")] == [1, None, None]
    for statement in ("UPDATE grader_check_attempts SET correct = false", "DELETE FROM grader_check_attempts"):
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):
            with store.engine.begin() as connection:
                connection.exec_driver_sql(statement)
    assert len(store.attempts("a")) == 4


def test_a_new_database_is_nbgraders_first(db_url):
    Store(db_url, "elen521")
    with open_gradebook(db_url=db_url, course="elen521") as gradebook:
        assert gradebook.students == []
    engine = sqlalchemy.create_engine(db_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
    engine.dispose()


def test_tokens_are_stored_hashed_and_a_new_one_replaces_the_old(tmp_path):
    path = tmp_path / "gradebook.db"
    store = Store(f"sqlite:///{path}", "elen521")
    first = store.issue_token("ada")
    second = store.issue_token("ada")
    other = store.issue_token("bo")
    assert (store.student_of_token(first), store.student_of_token(second)) == (None, "ada")
    assert store.student_of_token(other) == "bo" and store.student_of_token("") is None
    stored = sqlite3.connect(path).execute("SELECT digest, student FROM grader_check_tokens").fetchall()
    assert sorted(stored) == sorted([(token_digest(second), "ada"), (token_digest(other), "bo")])
    assert all(second not in row[0] and other not in row[0] for row in stored)


def test_the_newest_extension_is_in_force(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'gradebook.db'}", "elen521")
    store.extend("a", "ada", 86400, "accommodation: 1.5x time")
    store.extend("a", "ada", 2 * 86400, "accommodation: 1.5x time, and ill")
    store.extend("b", "bo", 3600)
    assert store.extension("a", "ada").seconds == 2 * 86400
    assert store.extension("a", "bo") is None
    assert set(store.extensions("a")) == {"ada"}


def test_a_group_commit_records_each_check_once_and_tells_which_try_was_taken(db_url):
    from grader.attempts.store import GroupRecorder
    store = Store(db_url, "elen521")
    store.record(attempt(try_number=2))
    recorder = GroupRecorder(store)
    futures = [recorder.submit(attempt(try_number=number)) for number in (1, 2, 3)]
    futures += [recorder.submit(attempt(student=f"s{i}", try_number=1)) for i in range(50)]
    outcomes = [future.result(timeout=30) for future in futures]
    recorder.close()
    assert outcomes == [True, False, True] + [True] * 50
    assert sorted(one.try_number for one in store.attempts("a", "ada")) == [1, 2, 3]
    assert len(store.attempts("a")) == 53


def test_who_holds_a_token(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'gradebook.db'}", "elen521")
    assert store.students_with_tokens() == set()
    store.issue_token("ada")
    store.issue_token("ada")
    store.issue_token("bo")
    assert store.students_with_tokens() == {"ada", "bo"}
