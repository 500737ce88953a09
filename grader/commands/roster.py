"""python -m grader roster [--assignment A] | roster import FILE: who is on the roster, and why.

The roster is the students staff imported or added to nbgrader's students table, not those `grade`
added to it because they submitted (grader.distribute.is_on_roster). `roster` lists every student
of the table as one or the other; with --assignment also whether each was given a personal
notebook of it and whether they submitted it (and those who got one or submitted without being
in the table). `roster import FILE` runs nbgrader's `db student import FILE` with this
environment's scripts on PATH, after checking the file.
"""

from pathlib import Path

from grader.errors import GraderError

ON_ROSTER = "on the roster (imported or added by staff)"


def add_arguments(parser):
    parser.add_argument("action", nargs="?", choices=["import"],
                        help="import FILE: add or update the students of a CSV (an id column; first_name, "
                             "last_name, email optional) through nbgrader's `db student import`")
    parser.add_argument("file", nargs="?", type=Path, help="with import: the roster CSV")
    parser.add_argument("--assignment", metavar="A",
                        help="also say, per student, whether they were given a personal notebook of A "
                             "and whether they submitted it")


def run(args):
    if args.action == "import":
        if args.file is None:
            raise GraderError("roster import: name the CSV file (python -m grader roster import roster.csv)")
        if args.assignment:
            raise GraderError("roster import: --assignment is for listing the roster, not importing it")
        return import_file(args)
    if args.file is not None:
        raise GraderError(f"roster {args.file}: to import a file, `python -m grader roster import {args.file}`")
    return list_roster(args)


def import_file(args):
    from grader.distribute import import_roster

    result = import_roster(args.course, args.file)
    if result.ignored_columns:
        print(f"note: columns left out (not in nbgrader's students table): {', '.join(result.ignored_columns)}")
    shown = ", ".join(result.students[:10]) + (" ..." if len(result.students) > 10 else "")
    print(f"imported {len(result.students)} student(s) into the roster (nbgrader's students table): {shown}")
    return 0


def _bank_of(args):
    """The bank, which holds --assignment; GraderError with a suggestion when it does not."""
    from grader.bank import load_bank
    from grader.errors import suggestion

    bank = load_bank(args.bank)
    if args.assignment not in bank.assignments:
        raise GraderError(f"--assignment {args.assignment!r}: no such assignment in {bank.path}"
                          f"{suggestion(args.assignment, bank.assignments)}")
    return bank


def _assignment_columns(args, bank, entries):
    """{student: (personal notebook, submitted)} for --assignment: the students of the table, and
    those given a personal notebook of it or who submitted it without being in the table."""
    from grader.course import CoursePaths, course_config
    from grader.release_record import read_students_record
    from grader.variants import is_per_student

    assignment = args.assignment
    paths = CoursePaths(course_config(args.course))
    submitted_root = paths.root / paths.coursedir.submitted_directory
    submitted = {path.parent.name for path in submitted_root.glob(f"*/{assignment}")}
    per_student = is_per_student(bank, assignment)
    given = set(read_students_record(args.course, assignment))
    students = {entry.id for entry in entries} | given | submitted
    columns = {}
    for student in students:
        notebook = ("yes" if student in given else "no") if per_student else "n/a (keyed by the assignment)"
        columns[student] = (notebook, "yes" if student in submitted else "no")
    return columns, per_student


def _table(header, rows):
    widths = [max(len(str(row[index])) for row in [header, *rows]) for index in range(len(header))]
    return ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
            for row in [header, *rows]]


def list_roster(args):
    from grader.distribute import IMPORT_COMMAND, all_students

    bank = _bank_of(args) if args.assignment else None
    entries = all_students(args.course)
    by_id = {entry.id: entry for entry in entries}
    header = ["student", "name", "e-mail", "why listed"]
    columns, per_student = _assignment_columns(args, bank, entries) if args.assignment else ({}, False)
    if args.assignment:
        header += ["personal notebook", "submitted"]
    rows = []
    for student in sorted(set(by_id) | set(columns)):
        entry = by_id.get(student)
        if entry is None:
            row = [student, "", "", "not on the roster: not in nbgrader's students table"]
        else:
            why = ON_ROSTER if entry.on_roster else (
                f"not on the roster: added by `grade` because they submitted {entry.added_by_grade_for}".rstrip())
            row = [student, " ".join(part for part in (entry.first_name, entry.last_name) if part), entry.email, why]
        rows.append(row + list(columns.get(student, ())))
    on_roster = [entry for entry in entries if entry.on_roster]
    if rows:
        print("\n".join(_table(header, rows)))
    print(f"{len(on_roster)} on the roster; {len(rows) - len(on_roster)} listed only because they submitted "
          f"or were given a notebook by name")
    if args.assignment:
        given = sum(1 for entry in on_roster if columns[entry.id][0] == "yes")
        handed_in = sum(1 for entry in on_roster if columns[entry.id][1] == "yes")
        print(f"{args.assignment}: of the roster, {handed_in} submitted"
              + (f", {given} were given a personal notebook" if per_student else ""))
    if not on_roster:
        print(f"the roster is empty: no student was imported or added by staff. Import it with "
              f"`{IMPORT_COMMAND}` (a CSV with an id column; first_name, last_name, email optional)")
    return 0
