"""python -m grader demo --assignment A --students N: render, release, simulate, grade, feedback, report.

The demo runs in a course of its own, `COURSE/demo/` by default (--demo-dir): a copy of the
bank and the nbgrader configuration, its own source/, release/, submitted/ and gradebook. It
never reads or writes the real course's submissions, autograded notebooks, feedback or
gradebook. The demo folder carries a marker file; a folder without it is never emptied.
"""

from pathlib import Path

DEMO_MARKER = ".grader-demo"


def add_arguments(parser):
    parser.add_argument("--assignment", default="cnn-detection", help="assignment id (default cnn-detection)")
    parser.add_argument("--students", type=int, default=30, help="class size (default 30)")
    parser.add_argument("--timeout", type=int, default=10, help="per-cell timeout while grading (default 10 s)")
    parser.add_argument("--demo-dir", type=Path, default=None,
                        help="the demo's own course directory, emptied on every run (default: COURSE/demo)")


def prepare_demo_course(course: Path, bank: Path, target: Path) -> Path:
    """A fresh course at `target` with the bank and nbgrader_config.py of `course`. Only a folder
    this function made before (it holds DEMO_MARKER) is emptied; anything else is refused."""
    import shutil

    from grader.errors import GraderError

    target = target.resolve()
    if target == course.resolve():
        raise GraderError(f"--demo-dir {target}: that is the course itself; the demo needs a folder of its own")
    if target.exists() and any(target.iterdir()) and not (target / DEMO_MARKER).is_file():
        raise GraderError(f"--demo-dir {target}: the folder exists and was not made by `grader demo` "
                          f"(no {DEMO_MARKER} in it); nothing was changed. Choose an empty or new folder.")
    if not bank.is_file():
        raise GraderError(f"{bank}: no question bank")
    config = course / "nbgrader_config.py"
    if not config.is_file():
        raise GraderError(f"{config}: no nbgrader_config.py in the course directory")
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    (target / DEMO_MARKER).write_text("A demo course made by `python -m grader demo`; emptied on every run.\n")
    shutil.copy(bank, target / "questions.yaml")
    shutil.copy(config, target / "nbgrader_config.py")
    return target


def run(args):
    import argparse

    from rich.console import Console
    from rich.table import Table

    from grader.bank import load_bank
    from grader.commands import release as release_cmd
    from grader.commands import render as render_cmd
    from grader.commands.report import print_item_analysis
    from grader.course import paths_of
    from grader.errors import GraderError
    from grader.feedback import write_feedback
    from grader.grading.coordinator.progress import grade_with_progress, print_summary
    from grader.grading.notebook.config import effective_config
    from grader.report import write_reports
    from grader.simulate import simulate_class

    console = Console()
    bank = load_bank(args.bank)
    if args.assignment not in bank.assignments:
        raise GraderError(f"{args.bank}: no assignment {args.assignment!r}; "
                          f"the bank has {', '.join(bank.assignments)}")
    course = prepare_demo_course(args.course, args.bank, args.demo_dir or args.course / "demo")
    assignment = args.assignment
    console.print(f"demo course: {course} (the course at {args.course} is not touched)")
    step = argparse.Namespace(course=course, bank=course / "questions.yaml", assignment=[assignment], check=False)
    console.rule("render")
    render_cmd.run(step)
    console.rule("release")
    release_cmd.run(step)
    console.rule("simulate")
    plan = simulate_class(bank, course, assignment, args.students)
    console.print(f"{len(plan)} submissions under submitted/<student>/{assignment}/")
    config = effective_config(course)
    made = simulate_checks_before_the_deadline(bank, config, assignment, plan)
    if made:
        console.print(f"{made} checks before the deadline, recorded as the check service records them "
                      f"(`grader serve-checks`; `grader attempts {assignment}` lists them)")
    console.rule("grade")
    config.Execute.timeout = args.timeout
    from grader.grading.kernel.sandbox import support
    sandbox = support()
    if not sandbox.available:       # simulated students, written by us: nothing to fear from them
        console.print(f"the simulated class is graded unsandboxed (the sandbox is unavailable: {sandbox.message})")
    run_ = grade_with_progress(course, assignment, config=config, console=console, unsafe=not sandbox.available)
    print_summary(run_, console)
    console.rule("feedback")
    pages = write_feedback(config, assignment, bank=bank)
    console.rule("report")
    result = write_reports(config, assignment, title=bank.assignments[assignment].title)
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
    print_copied(console, bank, assignment, plan, run_.outcomes)
    console.print(f"graded {len(plan)} in {run_.seconds:.1f} s; {len(run_.broken)} with problems reported; "
                  f"{len(plan) - mismatches}/{len(plan)} scores equal the simulation's plan")
    paths = paths_of(course)
    console.print(f"autograded: {paths.autograded('<student>', assignment)}/\n"
                  f"gradebook:  {config.CourseDirectory.db_url}\n"
                  f"feedback:   {paths.feedback('<student>', assignment)}/{assignment}.html "
                  f"({len(pages)} pages, nbgrader's feedback files)\n"
                  f"reports:    {result['folder']}/ (grades.csv, problems.csv, item-analysis.csv, *.png)")
    return 1 if mismatches else 0


def simulate_checks_before_the_deadline(bank, config, assignment, plan) -> int:
    """The ordinary simulated students check some answers first, through the service's own Checker on
    the demo's gradebook database, a minute and a second apart (the bank's interval is a minute);
    grading then applies the credit of each try. Nothing for an assignment without checks."""
    import time

    from grader.attempts.store import Store
    from grader.grading.kernel.in_kernel import encode
    from grader.service.check import Checker
    from grader.simulate import simulate_checks

    if not bank.assignments[assignment].checkable():
        return 0
    moments = iter(range(10 ** 9))
    start = time.time() - 86400
    checker = Checker(bank, Store.of_course(config), clock=lambda: start + 61 * next(moments))
    return simulate_checks(bank, assignment, plan, checker.check, encode)


def print_copied(console, bank, assignment, plan, outcomes):
    """What the "copied" students earned by handing in a neighbour's answers (per-student problems: nothing)."""
    from grader.variants import is_per_student

    problems = bank.assignments[assignment].problems
    own = [problem_id for problem_id in problems if is_per_student(bank, assignment, problem_id)]
    for s in plan:
        if s.profile == "copied":
            console.print(f"{s.student} handed in {s.copied_from}'s answers: planned {s.planned_points(own):g} on the "
                          f"{len(own)} per-student problem(s), {s.planned_points(set(problems) - set(own)):g} on the "
                          f"{len(problems) - len(own)} shared one(s); graded {outcomes[s.student].score:g} in all")
