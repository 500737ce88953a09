"""A rich progress bar while grading, and a summary table after."""

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from grader.grading.coordinator.runner import grade_assignment


def grade_with_progress(course, assignment, students=None, workers=None, console=None, config=None, cluster=None,
                        unsafe=False):
    console = console or Console()
    columns = [TextColumn("grading {task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("{task.fields[last]}")]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(assignment, total=None, last="")

        def advance(student):
            progress.update(task, advance=1, last=student)

        from nbgrader.coursedir import CourseDirectory

        from grader.grading.coordinator.runner import find_submissions  # total known before workers start
        from grader.grading.notebook.config import effective_config
        config = config or effective_config(course)
        progress.update(task, total=len(find_submissions(CourseDirectory(config=config), assignment, students)))
        return grade_assignment(course, assignment, students=students, workers=workers,
                                on_progress=advance, config=config, cluster=cluster, unsafe=unsafe)


def summary_table(grade_run) -> Table:
    table = Table(title=f"{grade_run.assignment}: {len(grade_run.outcomes)} submissions graded "
                        f"in {grade_run.seconds:.1f} s with {grade_run.workers} workers")
    table.add_column("student")
    table.add_column("score", justify="right")
    table.add_column("what went wrong (the student still gets every score earned)")
    for student in sorted(grade_run.outcomes):
        outcome = grade_run.outcomes[student]
        # Text, never markup: a student's folder name or an exception they named may hold [brackets]
        table.add_row(Text(student), f"{outcome.score:g} / {outcome.max_score:g}", Text("; ".join(outcome.reasons)))
    return table


def print_summary(grade_run, console=None):
    console = console or Console()
    console.print(summary_table(grade_run))
    scores = [o.score for o in grade_run.outcomes.values()]
    broken = len(grade_run.broken)
    console.print(f"mean {sum(scores) / len(scores):.2f}; {broken} submission(s) with problems listed above; "
                  f"autograded notebooks under autograded/<student>/{grade_run.assignment}/")
    if grade_run.mode is not None:
        console.print(grade_run.mode.describe(), style=None if grade_run.mode.sandboxed else "bold red")
