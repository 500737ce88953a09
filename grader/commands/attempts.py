"""python -m grader attempts ASSIGNMENT [--student S]: the checks students made before the deadline.

With --student: that student's log, oldest first (time in UTC, problem, try number or practice,
verdict, the misconception the check met, the share a right answer kept at that try) and their
extension, for a TA answering a regrade request. Without: per student, the checks counted, the
practice checks, the problems they checked right, and their extension. Read from the course
database (grader.attempts.store); never an answer key.
"""

from __future__ import annotations

import datetime as dt

from grader.errors import GraderError, suggestion


def add_arguments(parser):
    parser.add_argument("assignment", help="the assignment id")
    parser.add_argument("--student", metavar="S", help="one student's log (default: counts per student)")


def moment(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    return ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *rows]]


def student_log(attempts) -> list[str]:
    rows = [[moment(one.at), one.problem, "practice" if one.practice else str(one.try_number),
             one.verdict, one.misconception or "",
             "" if one.practice else f"{one.keeps:.0%}"] for one in attempts]
    return _table(["time", "problem", "try", "verdict", "misconception", "keeps"], rows)


def class_counts(attempts, extensions) -> list[str]:
    students = sorted({one.student for one in attempts} | set(extensions))
    rows = []
    for student in students:
        mine = [one for one in attempts if one.student == student]
        counted = [one for one in mine if not one.practice]
        right = sorted({one.problem for one in counted if one.correct})
        extension = extensions.get(student)
        rows.append([student, str(len(counted)), str(len(mine) - len(counted)), ", ".join(right) or "-",
                     _extension_text(extension)])
    return _table(["student", "checks", "practice", "checked right", "extension"], rows)


def _extension_text(extension) -> str:
    from grader.bank.policy import duration_text

    if extension is None:
        return ""
    return duration_text(extension.seconds) + (f" ({extension.label})" if extension.label else "")


def run(args):
    from grader.attempts.store import Store
    from grader.bank import load_bank
    from grader.commands.answers import known_students
    from grader.grading.notebook.config import effective_config

    bank = load_bank(args.bank)
    if args.assignment not in bank.assignments:
        raise GraderError(f"no assignment {args.assignment!r} in {bank.path}{suggestion(args.assignment, bank.assignments)}")
    store = Store.of_course(effective_config(args.course))
    extensions = store.extensions(args.assignment)
    if args.student is None:
        attempts = store.attempts(args.assignment)
        print(f"{args.assignment}: {len(attempts)} check(s) by {len({one.student for one in attempts})} student(s)")
        if attempts or extensions:
            print("\n".join(class_counts(attempts, extensions)))
        return 0
    attempts = store.attempts(args.assignment, args.student)
    if not attempts and args.student not in extensions:
        known = known_students(args.course, args.assignment) | {one.student for one in store.attempts(args.assignment)}
        if args.student not in known:
            raise GraderError(f"no student {args.student!r} in {args.course}{suggestion(args.student, known)}")
    extension = extensions.get(args.student)
    print(f"{args.assignment}, student {args.student}: {len(attempts)} check(s)"
          + (f"; extension {_extension_text(extension)}" if extension else ""))
    if attempts:
        print("\n".join(student_log(attempts)))
    return 0
