"""python -m grader report ASSIGNMENT: grades (nbgrader, Canvas, Moodle CSV), per-problem CSV, item analysis, plots."""

from pathlib import Path


def add_arguments(parser):
    parser.add_argument("assignment", help="the nbgrader assignment id")
    parser.add_argument("--canvas-gradebook", type=Path, metavar="FILE",
                        help="a gradebook exported from Canvas (Grades > Export > Export Entire Gradebook): "
                             "canvas-grades.csv takes its students' Canvas ids and sections and the assignment's id")
    parser.add_argument("--canvas-assignment", metavar="TITLE_OR_ID",
                        help="the Canvas assignment these grades are for, by title or id "
                             "(default: the one titled as the assignment or its id)")


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
    from grader.errors import GraderError
    from grader.files import write_atomic
    from grader.grading.config import effective_config, load_bank_if_any
    from grader.grading.mode import describe_modes
    from grader.grading.stale import refusal, stale_grades
    from grader.report import WHOLE_GRADEBOOK_CSV, write_reports

    bank = load_bank_if_any(args.bank)
    stale = stale_grades(effective_config(args.course), bank, args.assignment)
    if stale:
        raise GraderError(refusal(stale, args.assignment, "report"))
    title = bank.assignments[args.assignment].title if bank and args.assignment in bank.assignments else None
    if args.canvas_assignment and not args.canvas_gradebook:
        raise GraderError("--canvas-assignment needs --canvas-gradebook FILE (the Canvas export that has its id)")
    result = write_reports(effective_config(args.course), args.assignment, title=title,
                           canvas_gradebook=args.canvas_gradebook, canvas_assignment=args.canvas_assignment)
    print_item_analysis(result)
    mode = describe_modes(args.course, args.assignment)
    write_atomic(result["folder"] / "grading-mode.txt", mode + "\n")
    print(mode)
    print(f"reports written to {result['folder']}/: grades.csv ({result['grade_rows']} students: "
          f"{result['students']} graded, the rest of the roster at 0), "
          f"canvas-grades.csv, moodle-grades.csv, problems.csv, item-analysis.csv, specs.csv, grading-mode.txt, plots; "
          f"the whole gradebook in {result['folder'].parent / WHOLE_GRADEBOOK_CSV}")
    for note in result["lms_notes"]:
        print(f"canvas-grades.csv: {note}")
    return 0
