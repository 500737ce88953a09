"""python -m grader qa: draw many variants of every problem and report the bad ones (exit 1 if any)."""

from grader.errors import GraderError


def add_arguments(parser):
    parser.add_argument("--variants", type=int, default=1000, help="variants per problem (default 1000)")
    parser.add_argument("--problem", action="append", metavar="ID",
                        help="check only this problem (repeatable)")
    parser.add_argument("--class-size", type=int, default=300,
                        help="students in the diversity check of per-student problems (default 300)")
    parser.add_argument("--edge-variants", type=int, default=300, metavar="N",
                        help="variants per problem in the check for ties at a threshold, rounding edges and "
                             "the size of the numbers (default 300; 0 skips it)")


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
        for issue in report.issues(bank):   # file:line: problem 'id': kind: example, as validate prints it
            console.print(str(issue), style="red", markup=False, soft_wrap=True)
    for report in reports:
        for check in report.idle_checks:
            console.print(f"note: {report.problem_id}: public check {check}: no misconception or wrong value "
                          f"fails it", markup=False)
    seconds = sum(report.seconds for report in reports)
    console.print(f"{len(reports)} problems, {len(reports) * args.variants} variants in {seconds:.1f} s: "
                  + (f"{len(failed)} problem(s) with failures" if failed else "no failures"))
    too_few = print_diversity(console, bank, args.problem, args.class_size)
    at_edge = print_edges(console, bank, args.problem, args.edge_variants)
    return 1 if failed or too_few or at_edge else 0


def print_diversity(console, bank, problem_ids, class_size):
    """The diversity table of per-student problems; returns those with too few variants."""
    from rich.table import Table

    from grader.qa import MAX_SHARED_ANSWER, run_diversity

    if class_size < 1:
        raise GraderError(f"--class-size: expected a positive number, got {class_size}")
    reports = run_diversity(bank, problem_ids, class_size)
    if not reports:
        console.print("diversity: no per-student problem to check (every assignment is keyed by the assignment, "
                      "or the problems are shared)")
        return []
    table = Table(title=f"Diversity of per-student problems: a class of {class_size}")
    for column, justify in (("assignment", "left"), ("problem", "left"), ("distinct answers", "right"),
                            ("largest group", "right")):
        table.add_column(column, justify=justify, no_wrap=True)
    for report in reports:
        table.add_row(report.assignment, report.problem_id, str(report.distinct),
                      report.error or str(report.largest_group), style="red" if report.too_few else None)
    console.print(table)
    too_few = [report for report in reports if report.too_few]
    limit = int(MAX_SHARED_ANSWER * class_size)
    for report in too_few:
        console.print(f"[red]{report.assignment}/{report.problem_id}[/red]: too few variants for per-student keying: "
                      + (report.error or f"{report.largest_group} of {class_size} students share one answer "
                                         f"(at most {limit} allowed); widen its params or mark it `shared: true`"),
                      markup=True)
    console.print(f"diversity: {len(reports)} per-student problem(s), "
                  + (f"{len(too_few)} with too few variants" if too_few
                     else f"none with more than {MAX_SHARED_ANSWER:.0%} of the class sharing one answer"))
    return too_few


SPREAD = 2.0    # orders of magnitude: answers whose size varies more than this across variants are listed


def print_edges(console, bank, problem_ids, variants):
    """The table of problems with variants at a tie, near one, at a rounding or tolerance edge, or whose
    numbers vary in size (grader.qa.run_edges); returns the problems whose `ties` margin fails."""
    from rich.table import Table

    from grader.qa import run_edges

    if variants < 0:
        raise GraderError(f"--edge-variants: expected 0 or a positive number, got {variants}")
    if variants == 0:
        return []
    reports = run_edges(bank, variants, problem_ids)
    shown = [r for r in reports if r.ties or r.near or r.edges or r.option is not None
             or (r.magnitude and r.magnitude[1] - r.magnitude[0] > SPREAD)]
    table = Table(title=f"Variants at an edge: {variants} variants per problem")
    for column, justify in (("problem", "left"), ("ties", "left"), ("at a tie", "right"), ("near one", "right"),
                            ("rounding edge", "right"), ("|answer|", "left")):
        table.add_column(column, justify=justify, no_wrap=True)
    for r in shown:
        size = f"1e{r.magnitude[0]:.1f} .. 1e{r.magnitude[1]:.1f}" if r.magnitude else ""
        option = "" if r.option is None else str(r.option)
        table.add_row(r.problem_id, option, f"{r.ties}", f"{r.near} (±{r.margin:g})", f"{r.edges}", size,
                      style="red" if r.failed else ("yellow" if r.warned else None))
    if shown:
        console.print(table)
    for r in reports:
        for issue in r.issues(bank):
            console.print(str(issue), style="red" if r.failed else "yellow", markup=False, soft_wrap=True)
    failed = [r for r in reports if r.failed]
    kept = [r for r in reports if r.option == "keep" and r.ties]
    console.print(f"edges: {len(reports)} problem(s), {sum(bool(r.ties) for r in reports)} with variants at a tie "
                  f"({len(kept)} kept on purpose), {sum(bool(r.edges) for r in reports)} with a rounding or tolerance "
                  f"edge, {len(failed)} failing their `ties` margin")
    return failed
