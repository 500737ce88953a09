"""The course database's record of checks, extensions and no-hub tokens (SQLAlchemy Core).

Three tables beside nbgrader's own in the course's gradebook database (its `db_url`: SQLite by
default, PostgreSQL the same way):

- `grader_check_attempts`: one row per check a student made, never updated or deleted (a trigger
  refuses both, on SQLite and PostgreSQL). A unique (assignment, problem, student, try) makes two
  services, or two requests at once, unable to spend one try twice. Practice checks have no try.
- `grader_extensions`: every extension given, the newest of a student's per assignment in force.
- `grader_check_tokens`: the no-hub tokens `distribute` issues, by SHA-256 (the token itself is
  only ever in the student's hands); a new token for a student replaces the old one.
"""

from __future__ import annotations

import functools
import hashlib
import queue
import secrets
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    insert,
    inspect,
    select,
)
from sqlalchemy import delete as sql_delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

MAX_STORED_ANSWER = 65_536      # characters of an answer's JSON kept with its check

metadata = MetaData()

attempts_table = Table(
    "grader_check_attempts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("assignment", String(128), nullable=False),
    Column("problem", String(128), nullable=False),
    Column("student", String(128), nullable=False),
    Column("at", Float, nullable=False),                  # seconds since the epoch (UTC)
    Column("try_number", Integer, nullable=True),         # 1, 2, ... of counted checks; NULL: practice
    Column("variant", String(256), nullable=False),       # the key the numbers were drawn with
    Column("answer_digest", String(64), nullable=False),  # SHA-256 of the answer's JSON
    Column("answer", Text, nullable=False),               # the answer's JSON (cut at MAX_STORED_ANSWER)
    Column("fraction", Float, nullable=False),
    Column("correct", Boolean, nullable=False),
    Column("misconception", String(128), nullable=True),
    Column("code", String(64), nullable=False),
    Column("keeps", Float, nullable=False),               # the share a right answer keeps at this try
    UniqueConstraint("assignment", "problem", "student", "try_number", name="grader_one_check_per_try"),
)

extensions_table = Table(
    "grader_extensions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("assignment", String(128), nullable=False),
    Column("student", String(128), nullable=False),
    Column("seconds", Float, nullable=False),
    Column("label", String(256), nullable=False, default=""),
    Column("at", Float, nullable=False),
)

tokens_table = Table(
    "grader_check_tokens", metadata,
    Column("digest", String(64), primary_key=True),
    Column("student", String(128), nullable=False, index=True),
    Column("issued", Float, nullable=False),
)

_APPEND_ONLY_SQLITE = [
    f"CREATE TRIGGER IF NOT EXISTS grader_check_attempts_no_{what} BEFORE {what.upper()} ON grader_check_attempts "
    f"BEGIN SELECT RAISE(ABORT, 'check attempts are append-only'); END"
    for what in ("update", "delete")
]
_APPEND_ONLY_POSTGRESQL = [
    "CREATE OR REPLACE FUNCTION grader_check_attempts_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'check attempts are append-only'; END $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS grader_check_attempts_append_only ON grader_check_attempts",
    "CREATE TRIGGER grader_check_attempts_append_only BEFORE UPDATE OR DELETE ON grader_check_attempts "
    "FOR EACH ROW EXECUTE FUNCTION grader_check_attempts_append_only()",
]


@dataclass(frozen=True)
class Attempt:
    assignment: str
    problem: str
    student: str
    at: float
    try_number: int | None
    variant: str
    answer_digest: str
    answer: str
    fraction: float
    correct: bool
    misconception: str | None
    code: str
    keeps: float

    @property
    def practice(self) -> bool:
        return self.try_number is None

    @property
    def verdict(self) -> str:
        return verdict_word(self.fraction, self.correct)


@dataclass(frozen=True)
class Extension:
    seconds: float
    label: str
    at: float


class TryTaken(Exception):
    """Another check took this try first (two requests at once): nothing was recorded."""


def verdict_word(fraction: float, correct: bool) -> str:
    """What a check tells of an answer: 'right', 'partly right' (some points) or 'not right'."""
    return "right" if correct else ("partly right" if fraction > 0 else "not right")


def answer_digest(answer_json: str) -> str:
    return hashlib.sha256(answer_json.encode("utf-8")).hexdigest()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=8)
def _engine(db_url: str, course_id: str) -> Engine:
    sqlite = db_url.startswith("sqlite")
    engine = create_engine(db_url, connect_args={"timeout": 30} if sqlite else {})
    if not inspect(engine).get_table_names():
        # nbgrader makes a database its own only when it finds no table in it: it goes first
        from grader.course import open_gradebook
        open_gradebook(db_url=db_url, course=course_id).close()
    if sqlite:
        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA busy_timeout = 30000")
            cursor.close()
    metadata.create_all(engine)
    with engine.begin() as connection:
        for statement in (_APPEND_ONLY_SQLITE if sqlite else _APPEND_ONLY_POSTGRESQL):
            connection.exec_driver_sql(statement)
    return engine


class Store:
    """The record of one course database; cheap to make (one engine per db_url per process)."""

    def __init__(self, db_url: str, course_id: str = "default_course") -> None:
        self.db_url = db_url
        self.engine = _engine(db_url, course_id)

    @classmethod
    def of_course(cls, config: Any) -> Store:
        """The store in the course's gradebook database (its nbgrader config: db_url, course id)."""
        from grader.course import course_id
        return cls(config.CourseDirectory.db_url, course_id(config))

    # --- checks ---------------------------------------------------------------------------------

    def record(self, attempt: Attempt) -> None:
        """Append one check; TryTaken when its try was taken meanwhile (nothing recorded)."""
        row = {**attempt.__dict__, "answer": attempt.answer[:MAX_STORED_ANSWER]}
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(attempts_table), row)
        except IntegrityError:
            raise TryTaken(f"try {attempt.try_number} of {attempt.problem} was just taken") from None

    def record_many(self, attempts: list[Attempt]) -> list[bool]:
        """Append checks in one transaction (one commit, one disk sync for all); per check, True when
        recorded, False when its try was taken (then each is tried in a transaction of its own)."""
        rows = [{**one.__dict__, "answer": one.answer[:MAX_STORED_ANSWER]} for one in attempts]
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(attempts_table), rows)
            return [True] * len(rows)
        except IntegrityError:
            recorded = []
            for one in attempts:
                try:
                    self.record(one)
                    recorded.append(True)
                except TryTaken:
                    recorded.append(False)
            return recorded

    def attempts(self, assignment: str, student: str | None = None, problem: str | None = None) -> list[Attempt]:
        """Checks of the assignment (of one student, one problem), oldest first."""
        query = select(*[c for c in attempts_table.columns if c.name != "id"]).where(
            attempts_table.c.assignment == assignment)
        if student is not None:
            query = query.where(attempts_table.c.student == student)
        if problem is not None:
            query = query.where(attempts_table.c.problem == problem)
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(attempts_table.c.at, attempts_table.c.id)).mappings().all()
        return [Attempt(**row) for row in rows]

    # --- extensions -----------------------------------------------------------------------------

    def extend(self, assignment: str, student: str, seconds: float, label: str = "") -> Extension:
        extension = Extension(seconds=float(seconds), label=label, at=time.time())
        with self.engine.begin() as connection:
            connection.execute(insert(extensions_table), {"assignment": assignment, "student": student,
                                                          **extension.__dict__})
        return extension

    def extensions(self, assignment: str) -> dict[str, Extension]:
        """{student: the extension in force (the newest given)}."""
        query = select(extensions_table).where(extensions_table.c.assignment == assignment).order_by(
            extensions_table.c.at, extensions_table.c.id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return {row["student"]: Extension(seconds=row["seconds"], label=row["label"], at=row["at"]) for row in rows}

    def extension(self, assignment: str, student: str) -> Extension | None:
        return self.extensions(assignment).get(student)

    # --- no-hub tokens --------------------------------------------------------------------------

    def issue_token(self, student: str) -> str:
        """A new token for `student` (the old one stops working); only its digest is stored."""
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as connection:
            connection.execute(sql_delete(tokens_table).where(tokens_table.c.student == student))
            connection.execute(insert(tokens_table), {"digest": token_digest(token), "student": student,
                                                      "issued": time.time()})
        return token

    def students_with_tokens(self) -> set[str]:
        """The students who hold a token (whose tokens a new distribution would replace)."""
        with self.engine.connect() as connection:
            return set(connection.execute(select(tokens_table.c.student)).scalars())

    def student_of_token(self, token: str) -> str | None:
        query = select(tokens_table.c.student).where(tokens_table.c.digest == token_digest(token))
        with self.engine.connect() as connection:
            return connection.execute(query).scalar()


class GroupRecorder:
    """Appends checks from one thread of its own, all those waiting in one transaction (group commit):
    a check is answered only once it is on disk, and a busy service syncs the disk once per group
    rather than once per check. `submit` returns a Future of True (recorded) or False (try taken)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._waiting: queue.SimpleQueue[tuple[Attempt, Future] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="grader-check-recorder", daemon=True)
        self._thread.start()

    def submit(self, attempt: Attempt) -> Future:
        future: Future = Future()
        self._waiting.put((attempt, future))
        return future

    def close(self) -> None:
        self._waiting.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._waiting.get()
            if first is None:
                return
            group = [first]
            while len(group) < 500:
                try:
                    more = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._waiting.put(None)
                    break
                group.append(more)
            try:
                recorded = self.store.record_many([attempt for attempt, _ in group])
            except Exception as exc:        # the database is down: every check of the group fails
                for _, future in group:
                    future.set_exception(exc)
                continue
            for (_, future), ok in zip(group, recorded):
                future.set_result(ok)
