"""What each student tried before the deadline, as grading needs it: read once per run, handed to
every task as plain data (docs/bank-format.md "Checking before the deadline").

The coordinator reads the course database's record of checks and extensions (grader.attempts.store)
once per run, for the whole class, and gives each student a `StudentChecks`: per problem their
counted checks (grader.attempts.rules.ProblemTries), when they handed in, and their extension.
Plan_tasks puts it into the student's GradeTask, so a local worker and a Dask worker grade on the
same data; the notebook room multiplies each problem's points by rules.problem_share.

Counted checks are those with a try number (practice checks have none) made no later than the
submission moment when it is known: a check made after handing in cannot change what was handed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from grader.attempts.rules import ProblemTries
from grader.attempts.store import Attempt, Extension, Store
from grader.bank.model import Assignment


@dataclass(frozen=True)
class StudentChecks:
    """One student's data for the assignment's policy: plain, picklable, compared field by field."""

    tries: tuple[ProblemTries, ...] = ()        # per problem checked; a problem not here was never checked
    submitted_at: dt.datetime | None = None     # when it was handed in (UTC), None when unknown
    extension: float = 0.0                      # seconds the student's due date is moved by


def uses_policy(assignment: Assignment) -> bool:
    """True when grading must read checks or dates: the assignment has `dates:` or a problem has checks."""
    return assignment.rules.dates is not None or bool(assignment.checkable())


def as_utc(when: dt.datetime | None) -> dt.datetime | None:
    """nbgrader's timestamps are naive UTC; the bank's dates carry their offset."""
    if when is None:
        return None
    return when.replace(tzinfo=dt.timezone.utc) if when.tzinfo is None else when.astimezone(dt.timezone.utc)


def counted_tries(attempts: Iterable[Attempt], submitted_at: dt.datetime | None = None) -> tuple[ProblemTries, ...]:
    """One student's ProblemTries per problem checked, from their checks (any order): counted checks
    only (practice has no try number), and only those made by `submitted_at` when it is given."""
    limit = as_utc(submitted_at).timestamp() if submitted_at is not None else None
    made: dict[str, list[Attempt]] = {}
    for attempt in attempts:
        if attempt.try_number is None or (limit is not None and attempt.at > limit):
            continue
        made.setdefault(attempt.problem, []).append(attempt)
    return tuple(ProblemTries(problem=problem, checks=len(checks),
                              first_right=min((a.try_number for a in checks if a.correct and a.try_number), default=None))
                 for problem, checks in sorted(made.items()))


def class_checks(store: Store, assignment: Assignment, submitted: dict[str, dt.datetime | None],
                 extensions: dict[str, Extension],
                 nbgrader_extensions: dict[str, float] | None = None) -> dict[str, StudentChecks]:
    """{student: StudentChecks} for the students of `submitted` ({student: when handed in}): the
    store's checks read once (not once per student). A student's extension is the store's
    (`extensions`, as the run read them for nbgrader's rows: `grader extend`), else the one nbgrader's
    gradebook holds (`nbgrader_extensions`, seconds), else none."""
    by_student: dict[str, list[Attempt]] = {}
    if assignment.checkable():
        for attempt in store.attempts(assignment.id):
            by_student.setdefault(attempt.student, []).append(attempt)
    found = {}
    for student, when in submitted.items():
        extension = extensions.get(student)
        seconds = extension.seconds if extension else (nbgrader_extensions or {}).get(student, 0.0)
        found[student] = StudentChecks(tries=counted_tries(by_student.get(student, []), when),
                                       submitted_at=as_utc(when), extension=float(seconds))
    return found
