"""python -m grader simulate ASSIGNMENT --students N: a synthetic class under submitted/."""


def add_arguments(parser):
    parser.add_argument("assignment", help="the nbgrader assignment id")
    parser.add_argument("--students", type=int, default=30, help="class size (default 30)")
    parser.add_argument("--seed", type=int, default=521, help="same seed, same class (default 521)")


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
    from grader.simulate import simulate_class

    bank = load_bank(args.bank)
    class_plan = simulate_class(bank, args.course, args.assignment, args.students, seed=args.seed)
    print_plan(class_plan)
    print(f"wrote {len(class_plan)} submissions under {paths_of(args.course).submitted('<student>', args.assignment)}/")
    return 0
