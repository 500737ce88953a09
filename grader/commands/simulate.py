"""python -m grader simulate ASSIGNMENT --students N: a synthetic class under submitted/."""


def add_arguments(parser):
    parser.add_argument("assignment", help="the nbgrader assignment id")
    parser.add_argument("--students", type=int, default=30, help="class size (default 30)")
    parser.add_argument("--seed", type=int, default=521, help="same seed, same class (default 521)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite submissions that already exist under the simulated students' ids")


def print_plan(class_plan, console=None):
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"simulated class: {len(class_plan)} students")
    for column in ("student", "profile", "expected score"):
        table.add_column(column)
    for s in class_plan:
        table.add_row(s.student, s.profile, f"{s.expected_score:g} / {sum(a.points for a in s.answers):g}")
    (console or Console()).print(table)


def run(args):
    from grader.bank import load_bank
    from grader.course import paths_of
    from grader.errors import GraderError
    from grader.simulate import simulate_class, student_ids

    bank = load_bank(args.bank)
    if args.assignment not in bank.assignments:
        raise GraderError(f"{args.bank}: no assignment {args.assignment!r}; "
                          f"the bank has {', '.join(bank.assignments)}")
    paths = paths_of(args.course)
    taken = [paths.submitted(s, args.assignment) for s in student_ids(args.students)]
    taken = [path for path in taken if path.exists()]
    if taken and not args.force:
        raise GraderError(f"{len(taken)} submission folder(s) already exist and would be overwritten "
                          f"({', '.join(str(p.relative_to(args.course)) for p in taken[:5])}"
                          f"{', ...' if len(taken) > 5 else ''}); nothing was written. "
                          f"Use --force to overwrite them, or `python -m grader demo` for a course of its own")
    class_plan = simulate_class(bank, args.course, args.assignment, args.students, seed=args.seed)
    print_plan(class_plan)
    print(f"wrote {len(class_plan)} submissions under {paths.submitted('<student>', args.assignment)}/")
    return 0
