"""python -m grader distribute A (--homes PATTERN | --zip FILE | --folder DIR): deliver personal notebooks.

Reads release-students/<student>/<A>/<A>.ipynb (written by `release --per-student`).
--homes '/home/{student}' puts each student's notebook where `nbgrader fetch_assignment` would
(<home>/<A>/<A>.ipynb), so `nbgrader submit A` works unchanged; --zip and --folder write one
notebook per student plus manifest.csv (student, name, e-mail, file) for an LMS or e-mail.

--checks-url URL (an assignment with checks, a course without a hub): each student also gets
.grader-checks.json {"url", "token"} beside the notebook, the course token of `grader serve-checks
--no-hub` at URL. A student keeps the token they already hold (--homes finds it in their home);
--zip and --folder refuse, writing nothing, when a student holds one they cannot be given again,
unless --force issues everyone new tokens (the old stop working). manifest.csv holds no token.
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
                        help="--homes: replace a notebook a student already has when it differs; with --checks-url: "
                             "issue new check tokens (the students' old ones stop working)")
    parser.add_argument("--checks-url", metavar="URL",
                        help="the check service's base URL (`grader serve-checks --no-hub`): write each student's "
                             "course token beside the notebook in .grader-checks.json (never in manifest.csv)")


def run(args):
    from pathlib import Path

    from grader.bank import load_bank
    from grader.distribute import (
        CHECKS_FILE,
        check_tokens,
        checks_request,
        deliver_to_homes,
        export_folder,
        export_zip,
        released_notebooks,
        students_to_release,
    )
    from grader.release import assignment_ids_of

    bank = load_bank(args.bank)
    assignment_ids_of(bank, [args.assignment])
    students = students_to_release(args.course, args.student)
    if args.checks_url is not None:
        checks_request(bank, args.assignment, args.checks_url)       # refused before anything is written
    elif bank.assignments[args.assignment].checkable():
        print(f"note: {args.assignment} allows checks; without a hub, give --checks-url so that students get "
              f"their course token ({CHECKS_FILE})")
    if args.homes:
        result = deliver_to_homes(args.course, args.assignment, students, args.homes, force=args.force,
                                  checks_url=args.checks_url, bank=bank)
        for line in result.skipped:
            print(f"skipped {line}")
        print(f"delivered {len(result.delivered)} notebook(s), {len(result.unchanged)} already there, "
              f"{len(result.skipped)} skipped")
        if args.checks_url is not None:
            print(f"wrote {len(result.check_files)} {CHECKS_FILE} (mode 0600): {result.tokens_issued} new token(s), "
                  f"{len(result.check_files) - result.tokens_issued} kept")
        return 1 if result.skipped else 0
    checks = None
    if args.checks_url is not None:
        released_notebooks(args.course, args.assignment, students)      # refused before any token is issued
        checks = check_tokens(args.course, bank, args.assignment, students, args.checks_url, args.force, whole=True)
    tokens_line = (f"; {CHECKS_FILE} for each (mode 0600; {len(checks.issued)} new token(s), "
                   f"{len(checks.tokens) - len(checks.issued)} kept); manifest.csv holds no token") if checks else ""
    if args.zip:
        path = export_zip(args.course, args.assignment, students, Path(args.zip), checks)
        print(f"wrote {path}: {len(students)} notebook(s) and manifest.csv{tokens_line}")
        return 0
    written = export_folder(args.course, args.assignment, students, Path(args.folder), checks)
    print(f"wrote {len(written)} notebook(s) and manifest.csv under {args.folder}{tokens_line}")
    return 0
