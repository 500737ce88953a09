"""python -m grader distribute A (--homes PATTERN | --zip FILE | --folder DIR): deliver personal notebooks.

Reads release-students/<student>/<A>/<A>.ipynb (written by `release --per-student`).
--homes '/home/{student}' puts each student's notebook where `nbgrader fetch_assignment` would
(<home>/<A>/<A>.ipynb), so `nbgrader submit A` works unchanged; --zip and --folder write one
notebook per student plus manifest.csv (student, name, e-mail, file) for an LMS or e-mail.
"""


def add_arguments(parser):
    parser.add_argument("assignment", help="the nbgrader assignment id")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--homes", metavar="PATTERN",
                       help="each student's folder, with {student}: e.g. '/home/{student}' (JupyterHub homes), "
                            "or '/home/{student}/elen521' when nbgrader's path_includes_course is set")
    where.add_argument("--zip", type=str, metavar="FILE", help="one zip: <student>/<A>.ipynb and manifest.csv")
    where.add_argument("--folder", type=str, metavar="DIR", help="DIR/<student>/<A>.ipynb and DIR/manifest.csv")
    parser.add_argument("--student", action="append", metavar="S", help="only this student (repeatable)")
    parser.add_argument("--force", action="store_true",
                        help="--homes: replace a notebook a student already has when it differs")


def run(args):
    from pathlib import Path

    from grader.bank import load_bank
    from grader.distribute import deliver_to_homes, export_folder, export_zip, students_to_release
    from grader.release import assignment_ids_of

    bank = load_bank(args.bank)
    assignment_ids_of(bank, [args.assignment])
    students = students_to_release(args.course, args.student)
    if args.homes:
        result = deliver_to_homes(args.course, args.assignment, students, args.homes, force=args.force)
        for line in result.skipped:
            print(f"skipped {line}")
        print(f"delivered {len(result.delivered)} notebook(s), {len(result.unchanged)} already there, "
              f"{len(result.skipped)} skipped")
        return 1 if result.skipped else 0
    if args.zip:
        path = export_zip(args.course, args.assignment, students, Path(args.zip))
        print(f"wrote {path}: {len(students)} notebook(s) and manifest.csv")
        return 0
    written = export_folder(args.course, args.assignment, students, Path(args.folder))
    print(f"wrote {len(written)} notebook(s) and manifest.csv under {args.folder}")
    return 0
