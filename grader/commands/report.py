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
    parser.add_argument("--no-integrity", action="store_true",
                        help="skip integrity.csv and integrity-all-assignments.csv (whose answers fit whose "
                             "numbers, function answers written alike: grader/integrity.py)")


def print_item_analysis(result, console=None):
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"item analysis ({result['students']} students)")
    checks = result.get("checks", False)
    for column in ("problem", "mean / max", "% full marks", "discrimination", "top misconception"):
        table.add_column(column)
    if checks:        # an assignment with checks before the deadline
        for column in ("checks (per student)", "% first check right", "misconceptions met checking"):
            table.add_column(column)
    for r in result["rows"]:
        top = f"{r['top_misconception']} ({r['top_misconception_count']})" if r["top_misconception"] else ""
        cells = [r["problem"], f"{r['mean']:.2f} / {r['max_points']:g}", f"{r['full_marks_pct']:.0f}",
                 f"{r['discrimination']:.2f}", top]
        if checks:
            cells += [f"{r['checks_used']} ({r['checks_per_student']})", str(r["first_check_right_pct"]),
                      r["check_misconceptions"]]
        table.add_row(*cells)
    (console or Console()).print(table)


def print_fairness(result):
    """Cronbach's alpha, and the problems whose score depends on the drawn numbers (grader.fairness)."""
    reliable = result["reliability"]
    alpha = reliable["alpha"]
    kind = "Cronbach's alpha" + (" (KR-20: every problem all or nothing)" if reliable["kr20"] is not None else "")
    print(f"reliability: {kind} = {alpha:.2f} over {reliable['problems']} problems" if alpha == alpha
          else "reliability: not defined (fewer than 2 problems or students, or every total the same)")
    found = result["fairness"]
    tested = [report for report in found.values() if report.tested]
    flagged = [report for report in tested if report.flagged]
    for report in flagged:
        print(f"fairness: {report.problem}: the score depends on the drawn numbers (p = {report.p_value:.4f}, "
              f"below {report.threshold:.4f}): hardest {report.hardest.label} ({100 * report.hardest.mean:.0f} %), "
              f"easiest {report.easiest.label} ({100 * report.easiest.mean:.0f} %)")
    print(f"fairness: {len(tested)} per-student problem(s) tested, {len(flagged)} flagged (fairness.csv, fairness.png)")


def run(args):
    from grader.errors import GraderError
    from grader.files import write_atomic
    from grader.grading.coordinator.mode import describe_modes
    from grader.grading.coordinator.stale import refusal, stale_grades
    from grader.grading.notebook.config import effective_config, load_bank_if_any
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
    print_fairness(result)
    mode = describe_modes(args.course, args.assignment)
    write_atomic(result["folder"] / "grading-mode.txt", mode + "\n")
    print(mode)
    print(f"reports written to {result['folder']}/: grades.csv ({result['grade_rows']} students: "
          f"{result['students']} graded, the rest of the roster at 0), "
          f"canvas-grades.csv, moodle-grades.csv, problems.csv, item-analysis.csv, specs.csv, fairness.csv, "
          f"reliability.csv, grading-mode.txt, plots; "
          f"the whole gradebook in {result['folder'].parent / WHOLE_GRADEBOOK_CSV}")
    for note in result["lms_notes"]:
        print(f"canvas-grades.csv: {note}")
    if bank is not None and args.assignment in bank.assignments and not args.no_integrity:
        from grader.integrity import write_integrity_reports
        found = write_integrity_reports(effective_config(args.course), bank, args.assignment)
        print(f"integrity (for TAs; evidence to weigh, no grade changed): {found['flagged']} pair(s) flagged in "
              f"{found['assignment_csv']}, {found['course_flagged']} course-wide in {found['course_csv']}")
    return 0
