"""python -m grader extend ASSIGNMENT --student S (--days N | --hours N | --until ISO) [--label TEXT]

Gives one student more time: their due date, and every step of the assignment's late timeline, move
by the extension (grader.attempts.rules; docs/bank-format.md). It is recorded in the course database
(grader.attempts.store: the newest extension of a student is the one in force; the check service
reads it) and mirrored into nbgrader's own extension of the student's submission
(Gradebook.grant_extension), so that nbgrader's lateness, its late penalty and the feedback page's
due date agree. nbgrader keeps extensions on the submission row, and its API (there is no
extension button in formgrader) needs that row: a student who has not handed in yet has none, and
`grade` writes the recorded extension onto the row when it makes it. The label is an
accommodation note for TAs ("accommodation: 1.5x time"), shown by `grader attempts`.

Bad input (an assignment the bank does not have, a student not on the roster, a negative time,
two amounts, --until before the due date) is an error and writes nothing.
"""

from __future__ import annotations

import datetime as dt

from grader.errors import GraderError, suggestion

MAX_LABEL = 256        # characters: the store's column


def add_arguments(parser):
    parser.add_argument("assignment", help="the assignment id")
    parser.add_argument("--student", required=True, metavar="S", help="the student id (on the roster)")
    amount = parser.add_mutually_exclusive_group(required=True)
    amount.add_argument("--days", type=float, metavar="N", help="days of extension (0 takes an extension back)")
    amount.add_argument("--hours", type=float, metavar="N", help="hours of extension")
    amount.add_argument("--until", metavar="ISO",
                        help="the student's own due date, ISO 8601 with its UTC offset (e.g. 2026-12-12T23:59:00-05:00)")
    parser.add_argument("--label", default="", metavar="TEXT",
                        help="a note for TAs, e.g. 'accommodation: 1.5x time'")


def extension_seconds(args, due: dt.datetime | None) -> float:
    """The extension asked for, in seconds; GraderError when it is negative, not a number or (--until)
    not a moment after the due date."""
    from grader.bank.policy import parse_when

    if args.until is not None:
        if due is None:
            raise GraderError(f"--until: {args.assignment!r} has no due date (no `dates:` in the bank and none in "
                              f"nbgrader's gradebook); give the extension with --days or --hours")
        try:
            until = parse_when(args.until)
        except ValueError as exc:
            raise GraderError(f"--until: {exc}") from None
        seconds = (until - due).total_seconds()
        if seconds < 0:
            raise GraderError(f"--until {args.until}: before the due date ({due.isoformat(timespec='minutes')})")
        return seconds
    option, amount, unit = ("--days", args.days, 86400) if args.days is not None else ("--hours", args.hours, 3600)
    if amount != amount or amount in (float("inf"), float("-inf")):
        raise GraderError(f"{option} {amount}: not a number of {option[2:]}")
    if amount < 0:
        raise GraderError(f"{option} {amount:g}: an extension cannot be negative")
    return amount * unit


def _due_date(config, bank, assignment: str) -> dt.datetime | None:
    """The bank's `dates.due`, else nbgrader's due date of the assignment (naive UTC there), else None."""
    dates = bank.assignments[assignment].rules.dates
    if dates is not None:
        return dates.due
    from nbgrader.api import MissingEntry

    from grader.course import open_gradebook
    with open_gradebook(config) as gb:
        try:
            due = gb.find_assignment(assignment).duedate
        except MissingEntry:
            return None
    return due.replace(tzinfo=dt.timezone.utc) if due is not None else None


def mirror_into_nbgrader(config, assignment: str, student: str, seconds: float) -> bool:
    """nbgrader's extension of the student's submission row, when there is one; False when there is
    none yet (grading writes it when it makes the row: gradebook.prepare_submissions)."""
    from nbgrader.api import MissingEntry

    from grader.course import open_gradebook, setup_lock
    from grader.grading.coordinator.gradebook import grant_extension

    with setup_lock(config.CourseDirectory.db_url), open_gradebook(config) as gb:
        try:
            gb.find_submission(assignment, student)
        except MissingEntry:
            return False
        grant_extension(gb, assignment, student, seconds)
    return True


def run(args):
    from grader.attempts.store import Store
    from grader.bank import load_bank
    from grader.bank.policy import duration_text
    from grader.distribute import roster
    from grader.grading.notebook.config import effective_config

    bank = load_bank(args.bank)
    if args.assignment not in bank.assignments:
        raise GraderError(f"no assignment {args.assignment!r} in {bank.path}{suggestion(args.assignment, bank.assignments)}")
    on_roster = roster(args.course)
    if args.student not in on_roster:
        raise GraderError(f"student {args.student!r} is not on the roster of {args.course} (`python -m grader "
                          f"roster` lists it; `python -m grader roster import FILE` imports it)"
                          f"{suggestion(args.student, on_roster)}")
    if len(args.label) > MAX_LABEL:
        raise GraderError(f"--label: {len(args.label)} characters; at most {MAX_LABEL}")
    config = effective_config(args.course)
    due = _due_date(config, bank, args.assignment)
    seconds = extension_seconds(args, due)
    Store.of_course(config).extend(args.assignment, args.student, seconds, args.label)
    mirrored = mirror_into_nbgrader(config, args.assignment, args.student, seconds)
    own_due = f"; due {(due + dt.timedelta(seconds=seconds)).isoformat(timespec='minutes')} for them" if due else ""
    print(f"{args.assignment}: {args.student} has an extension of {duration_text(seconds)}{own_due}"
          + (f" ({args.label})" if args.label else ""))
    print("nbgrader's extension of their submission: " + (
        "written" if mirrored else "no submission yet; `grade` writes it when it records their submission"))
    return 0
