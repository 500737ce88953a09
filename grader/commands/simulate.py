"""python -m grader simulate ASSIGNMENT --students N: a synthetic class under submitted/."""


def add_arguments(parser):
    parser.add_argument("assignment", help="the nbgrader assignment id")
    parser.add_argument("--students", type=int, default=30, help="class size (default 30)")
    parser.add_argument("--seed", type=int, default=521, help="same seed, same class (default 521)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite submissions that already exist under the simulated students' ids")
    parser.add_argument("--harder", action="append", metavar="PROBLEM:CONDITION",
                        help="make some numbers harder on purpose: a student who would answer PROBLEM right answers "
                             "it wrong 9 times in 10 when CONDITION (a bank expression over its parameters, e.g. "
                             "'conv-output-size:W >= 150') holds; repeatable. To test report's fairness analysis")


HARDER_CHANCE = 0.9


def harder_difficulty(bank, specs):
    """simulate_class's `difficulty` from --harder PROBLEM:CONDITION options; None without any."""
    from grader.bank.expressions import Expression, ExpressionError, is_true
    from grader.errors import GraderError

    conditions = {}
    for spec in specs or []:
        problem, _, condition = spec.partition(":")
        problem = problem.strip()
        if problem not in bank.problems or not condition.strip():
            raise GraderError(f"--harder {spec!r}: expected PROBLEM:CONDITION with a problem of the bank "
                              f"(e.g. 'conv-output-size:W >= 150')")
        try:
            expression = Expression(condition)
        except ExpressionError as exc:
            raise GraderError(f"--harder {spec!r}: {exc}") from None
        unknown = sorted(set(expression.parameter_names) - set(bank.problems[problem].params))
        if unknown:
            raise GraderError(f"--harder {spec!r}: {problem} has no parameter {unknown[0]!r} "
                              f"(its parameters: {', '.join(bank.problems[problem].params)})")
        conditions.setdefault(problem, []).append(expression)
    if not conditions:
        return None

    def difficulty(problem, values):
        hard = any(is_true(expression.evaluate(values)) for expression in conditions.get(problem.id, []))
        return HARDER_CHANCE if hard else 0.0
    return difficulty


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
    class_plan = simulate_class(bank, args.course, args.assignment, args.students, seed=args.seed,
                                difficulty=harder_difficulty(bank, args.harder))
    print_plan(class_plan)
    print(f"wrote {len(class_plan)} submissions under {paths.submitted('<student>', args.assignment)}/")
    return 0
