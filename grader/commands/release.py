"""python -m grader release [--assignment A] [--check]: source/ -> release/ through nbgrader."""


def add_arguments(parser):
    parser.add_argument("--assignment", action="append", metavar="A",
                        help="release only this assignment (repeatable); default: every assignment")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when release/ is not what source/ generates, "
                             "or when a release notebook leaks")
    parser.add_argument("--force", action="store_true",
                        help="release even when a released problem's numbers or grading changed "
                             "(every submission is then graded on the new spec)")


def run(args):
    import shutil

    from grader.bank import load_bank
    from grader.release import assignment_ids_of, check_release, orphaned_releases, release
    from grader.release_record import changes_since_release, refuse_regrades, write_record

    bank = load_bank(args.bank)
    assignment_ids = assignment_ids_of(bank, args.assignment)
    orphans = orphaned_releases(bank, args.course) if not args.assignment else []
    changes = changes_since_release(args.course, bank, assignment_ids)
    if not getattr(args, "force", False):
        refuse_regrades(changes, "release")
    if args.check:
        differences = check_release(args.course, bank, assignment_ids)
        for difference in differences:
            print(f"out of date: {difference.path} ({difference.what})")
        for path in orphans:
            print(f"not in the bank: {path.relative_to(args.course)}/")
        if differences or orphans:
            print("run `python -m grader release` to update release/")
            return 1
        print(f"release/ is in sync with source/ for {len(assignment_ids)} assignment(s); no leaks")
        return 0
    changed = release(args.course, bank, assignment_ids)
    for path in changed:
        print(f"wrote {path.relative_to(args.course)}")
    for change in changes:
        print(("forced: " if not change.wording_only else "") + change.describe())
    for assignment_id in assignment_ids:
        write_record(args.course, bank, assignment_id)
    for path in orphans:
        shutil.rmtree(path)
        print(f"removed {path.relative_to(args.course)}/ (no such assignment in the bank)")
    print(f"released {len(assignment_ids)} assignment(s), {len(changed)} file(s) changed")
    return 0
