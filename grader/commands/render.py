"""python -m grader render [--assignment A] [--check]: questions.yaml -> source/<a>/<a>.ipynb."""


def add_arguments(parser):
    parser.add_argument("--assignment", action="append", metavar="A",
                        help="render only this assignment (repeatable); default: every assignment")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 listing the notebooks that are out of date")
    parser.add_argument("--force", action="store_true",
                        help="render even when a released problem's numbers or grading changed")


def run(args):
    from grader.release_record import changes_since_release, refuse_regrades
    from grader.render import orphaned, out_of_date, remove_orphans, render_bank, write_rendered
    from grader.validation import load_checked_bank

    bank = load_checked_bank(args.bank)
    if not getattr(args, "force", False):
        refuse_regrades(changes_since_release(args.course, bank, args.assignment or list(bank.assignments)),
                        "render")
    rendered = render_bank(bank, args.course, args.assignment)
    orphans = orphaned(bank, args.course) if not args.assignment else []
    if args.check:
        stale = out_of_date(rendered)
        for path in stale:
            print(f"out of date: {path.relative_to(args.course)}")
        for path in orphans:
            print(f"not in the bank: {path.relative_to(args.course)}")
        if stale or orphans:
            print("run `python -m grader render` to update them")
            return 1
        print(f"{len(rendered)} source notebook(s) up to date")
        return 0
    written = write_rendered(rendered)
    for path in written:
        print(f"wrote {path.relative_to(args.course)}")
    remove_orphans(orphans)
    for path in orphans:
        print(f"removed {path.relative_to(args.course)} (no such assignment in the bank)")
    print(f"{len(rendered)} source notebook(s), {len(written)} changed")
    return 0
