"""python -m grader report ASSIGNMENT: grades.csv, problems.csv, item-analysis.csv and plots under reports/."""


def add_arguments(parser):
    parser.add_argument("assignment", help="the nbgrader assignment id")


def print_item_analysis(result, console=None):
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"item analysis ({result['students']} students)")
    for column in ("problem", "mean / max", "% full marks", "discrimination", "top misconception"):
        table.add_column(column)
    for r in result["rows"]:
        top = f"{r['top_misconception']} ({r['top_misconception_count']})" if r["top_misconception"] else ""
        table.add_row(r["problem"], f"{r['mean']:.2f} / {r['max_points']:g}", f"{r['full_marks_pct']:.0f}",
                      f"{r['discrimination']:.2f}", top)
    (console or Console()).print(table)


def run(args):
    from grader.grading.config import effective_config
    from grader.report import write_reports

    result = write_reports(effective_config(args.course), args.assignment)
    print_item_analysis(result)
    print(f"reports written to {result['folder']}/")
    return 0
