"""python -m grader preview [ASSIGNMENT] --variants K [--out DIR]: the instructors' preview site."""

from pathlib import Path

from grader.errors import GraderError


def add_arguments(parser):
    parser.add_argument("assignment", nargs="?", help="one assignment id (default: every assignment)")
    parser.add_argument("--variants", type=int, default=5, help="variants per problem (default 5)")
    parser.add_argument("--out", type=Path, help="output folder (default: COURSE/preview; never under release/)")


def run(args):
    from grader.bank import load_bank
    from grader.export.preview import build_preview

    if args.variants < 1:
        raise GraderError(f"--variants: expected a positive number, got {args.variants}")
    bank = load_bank(args.bank)
    if args.assignment is not None and args.assignment not in bank.assignments:
        raise GraderError(f"no assignment {args.assignment!r} in {bank.path} "
                          f"(assignments: {', '.join(bank.assignments)})")
    out = (args.out or args.course / "preview").resolve()
    release = (args.course / "release").resolve()
    if out == release or release in out.parents:
        raise GraderError(f"--out {out}: the preview shows answers and must never be written under {release}")
    assignments = [args.assignment] if args.assignment else list(bank.assignments)
    pages = build_preview(bank, assignments, args.variants, out)
    print(f"wrote {len(pages)} pages under {out}: open {pages[0]}")
    return 0
