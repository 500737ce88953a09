"""python -m grader demo --assignment A --students N: render, release, simulate, grade, feedback, report."""


def add_arguments(parser):
    parser.add_argument("--assignment", default="cnn-detection", help="assignment id (default cnn-detection)")
    parser.add_argument("--students", type=int, default=30, help="class size (default 30)")
    parser.add_argument("--timeout", type=int, default=10, help="per-cell timeout while grading (default 10 s)")


def run(args):
    import argparse
    import shutil

    from rich.console import Console
    from rich.table import Table

    from grader.bank import load_bank
    from grader.commands import release as release_cmd
    from grader.commands import render as render_cmd
    from grader.commands.report import print_item_analysis
    from grader.course import paths_of
    from grader.feedback import write_feedback
    from grader.grading.config import effective_config
    from grader.grading.progress import grade_with_progress, print_summary
    from grader.report import write_reports
    from grader.simulate import simulate_class

    console = Console()
    course, assignment = args.course, args.assignment
    step = argparse.Namespace(course=course, bank=args.bank, assignment=[assignment], check=False)
    console.rule("render")
    render_cmd.run(step)
    console.rule("release")
    release_cmd.run(step)
    console.rule("simulate")
    for old in paths_of(course).student_dirs(assignment):
        shutil.rmtree(old)
    bank = load_bank(args.bank)
    plan = simulate_class(bank, course, assignment, args.students)
    console.print(f"{len(plan)} submissions under submitted/<student>/{assignment}/")
    console.rule("grade")
    config = effective_config(course)
    config.Execute.timeout = args.timeout
    run_ = grade_with_progress(course, assignment, config=config, console=console)
    print_summary(run_, console)
    console.rule("feedback")
    pages = write_feedback(config, assignment, bank=bank)
    console.rule("report")
    result = write_reports(config, assignment)
    print_item_analysis(result, console)

    table = Table(title=f"demo: {assignment}, {len(plan)} simulated students")
    for column in ("student", "profile", "expected", "graded", "ok"):
        table.add_column(column)
    mismatches = 0
    for s in plan:
        graded = run_.outcomes[s.student].score
        ok = abs(graded - s.expected_score) < 1e-6
        mismatches += not ok
        table.add_row(s.student, s.profile, f"{s.expected_score:g}", f"{graded:g}", "yes" if ok else "NO")
    console.print(table)
    console.print(f"graded {len(plan)} in {run_.seconds:.1f} s; {len(run_.broken)} with problems reported; "
                  f"{len(plan) - mismatches}/{len(plan)} scores equal the simulation's plan")
    paths = paths_of(course)
    console.print(f"autograded: {paths.autograded('<student>', assignment)}/\n"
                  f"gradebook:  {config.CourseDirectory.db_url}\n"
                  f"feedback:   {paths.feedback('<student>', assignment)}/feedback.html ({len(pages)} pages)\n"
                  f"reports:    {result['folder']}/ (grades.csv, problems.csv, item-analysis.csv, *.png)")
    return 1 if mismatches else 0
