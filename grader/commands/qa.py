"""python -m grader qa: draw many variants of every problem and report the bad ones (exit 1 if any)."""

from grader.errors import GraderError


def add_arguments(parser):
    parser.add_argument("--variants", type=int, default=1000, help="variants per problem (default 1000)")
    parser.add_argument("--problem", action="append", metavar="ID",
                        help="check only this problem (repeatable)")


def _failure_text(report):
    from grader.qa import FAILURE_KINDS

    return ", ".join(f"{kind} {report.failures[kind]}" for kind in FAILURE_KINDS if report.failures[kind]) or "—"


def run(args):
    from rich.console import Console
    from rich.table import Table

    from grader.qa import run_qa
    from grader.validation import load_checked_bank

    if args.variants < 1:
        raise GraderError(f"--variants: expected a positive number, got {args.variants}")
    bank = load_checked_bank(args.bank)
    unknown = [pid for pid in args.problem or [] if pid not in bank.problems]
    if unknown:
        raise GraderError(f"--problem: no problem {unknown[0]!r} in {bank.path}")
    reports = run_qa(bank, args.variants, args.problem)

    table = Table(title=f"Variant QA: {args.variants} variants per problem")
    table.add_column("problem", no_wrap=True)
    for column, justify in ( ("kind", "left"), ("variants", "right"),
                            ("failures", "left"), ("distinct answers", "right"), ("time", "right")):
        table.add_column(column, justify=justify)
    for report in reports:
        style = "red" if report.failed else None
        table.add_row(report.problem_id, report.kind, str(report.variants), _failure_text(report),
                      str(report.distinct), f"{report.seconds:.2f} s", style=style)
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=120)
    console.print(table)

    failed = [report for report in reports if report.failed]
    for report in failed:
        for kind, example in report.examples.items():
            console.print(f"[red]{report.problem_id}[/red]: {kind}: {example}", markup=True)
    for report in reports:
        for check in report.idle_checks:
            console.print(f"note: {report.problem_id}: public check {check}: no misconception or wrong value "
                          f"fails it", markup=False)
    seconds = sum(report.seconds for report in reports)
    console.print(f"{len(reports)} problems, {len(reports) * args.variants} variants in {seconds:.1f} s: "
                  + (f"{len(failed)} problem(s) with failures" if failed else "no failures"))
    return 1 if failed else 0
