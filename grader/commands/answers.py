"""python -m grader answers A --student S: one student's numbers and answers, for a regrade request.

Prints, for each problem of the assignment, the values the student was given (their variant's
parameters), the expected answer and each misconception's value, computed as `grade` computes them:
the variant drawn for the student (grader.grading.notebook.answers.StudentKey, grader.variants.draw_for),
the problem's answer expression and each misconception's (kind_of(problem).misconception_answer),
and the acceptance rule grading states. Values are Python literals (`np.array([...])` for arrays),
so an answer can be pasted into a notebook or compared with the student's.

It writes to stdout only: no file anywhere (not under release/, feedback/ or any folder students
can read), since it shows expected values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import GraderError, suggestion

STDOUT_ONLY = ("For staff only: printed here, written to no file (never under release/, feedback/ or "
               "anywhere students can read).")


def add_arguments(parser):
    parser.description = (f"{parser.description}. It shows expected values: redirect its output only to "
                          f"a place students cannot read.")
    parser.add_argument("assignment", help="the assignment id")
    parser.add_argument("--student", required=True, metavar="S",
                        help="the student id (the submission's folder name, submitted/<S>/)")


@dataclass
class ProblemAnswers:
    number: int
    problem: Any
    values: dict
    shared: bool                      # the same numbers for every student
    answer: list[str]                 # lines
    rule: str
    misconceptions: list[tuple[Any, list[str] | None]] = field(default_factory=list)   # None: does not apply


def literal(value: Any) -> str:
    from grader.bank.templates import python_literal

    try:
        return python_literal(value)
    except TypeError:
        return repr(value)


def _answer_lines(problem, value, values) -> list[str]:
    """A value as lines: its literal; a function's outcome on each case grading calls it with; a
    choice's option texts under the keys."""
    import numpy as np

    from grader.kinds import kind_of
    from grader.kinds.choice import as_key_set

    if callable(value):
        lines = []
        arguments = kind_of(problem).report_cases(problem, values) or []
        for case, given in zip(problem.function.cases, arguments):
            call = f"{problem.function.name}({', '.join(argument.source for argument in case)})"
            try:
                with np.errstate(all="ignore"):
                    lines.append(f"{call} = {literal(value(*given))}")
            except Exception as exc:  # noqa: BLE001 (a misconception's function may fail on a case)
                lines.append(f"{call} raises {type(exc).__name__}: {exc}")
        return lines
    lines = [literal(value)]
    if getattr(problem, "options", None):
        lines += [f"  {key}. {problem.options[key]}" for key in sorted(as_key_set(value)) if key in problem.options]
    return lines


def student_answers(bank, assignment: str, student: str) -> list[ProblemAnswers]:
    """Every problem of `assignment` for `student`, computed as grading computes it."""
    import numpy as np

    from grader.grading.notebook.answers import StudentKey
    from grader.kinds import grade_answer, kind_of
    from grader.variants import is_per_student

    key = StudentKey(bank, assignment, student)
    found = []
    for number, problem_id in enumerate(bank.assignments[assignment].problems, start=1):
        problem = key.problem(problem_id)
        values = key.values(problem_id)
        kind = kind_of(problem)
        with np.errstate(all="ignore"):
            expected = problem.answer.evaluate(values)
        rule = grade_answer(problem, expected, values).rule
        item = ProblemAnswers(number, problem, values, not is_per_student(bank, assignment, problem),
                              _answer_lines(problem, expected, values), rule)
        for misconception in problem.misconceptions:
            try:
                with np.errstate(all="ignore"):
                    wrong = kind.misconception_answer(problem, misconception, values)
            except Exception:  # noqa: BLE001 (a misconception that does not apply to this variant)
                item.misconceptions.append((misconception, None))
                continue
            item.misconceptions.append((misconception, _answer_lines(problem, wrong, values)))
        found.append(item)
    return found


def known_students(course: Path, assignment: str) -> set[str]:
    """Students the course knows: nbgrader's students table (when the gradebook exists; it is not
    made here), those given a personal notebook of `assignment`, and its submitted/ and autograded/
    folders."""
    from sqlalchemy.engine import make_url

    from grader.course import CoursePaths, course_config
    from grader.distribute import all_students
    from grader.release_record import read_students_record

    config = course_config(course)
    paths = CoursePaths(config)
    known = set(read_students_record(course, assignment))
    for directory in (paths.coursedir.submitted_directory, paths.coursedir.autograded_directory):
        known |= {path.parent.name for path in (paths.root / directory).glob(f"*/{assignment}")}
    url = make_url(config.CourseDirectory.db_url)
    if url.get_backend_name() != "sqlite" or (url.database and Path(url.database).is_file()):
        known |= {entry.id for entry in all_students(course)}
    return known


def run(args):
    from grader.bank import load_bank
    from grader.variants import is_per_student

    bank = load_bank(args.bank)
    if args.assignment not in bank.assignments:
        raise GraderError(f"no assignment {args.assignment!r} in {bank.path}{suggestion(args.assignment, bank.assignments)}")
    known = known_students(args.course, args.assignment)
    if args.student not in known:
        raise GraderError(f"no student {args.student!r} in {args.course}: not in nbgrader's students table, "
                          f"given no personal notebook of {args.assignment!r} and no folder under submitted/ or "
                          f"autograded/ for it{suggestion(args.student, known)}")
    per_student = is_per_student(bank, args.assignment)
    print(f"{args.assignment}, student {args.student}: "
          + (f"their own numbers ({args.assignment} is keyed per student)" if per_student
             else f"the numbers every student has ({args.assignment} is keyed by the assignment)"))
    print(STDOUT_ONLY)
    for item in student_answers(bank, args.assignment, args.student):
        problem = item.problem
        print()
        print(f"{item.number}. {problem.id}: {problem.title} ({problem.kind}, {problem.points:g} "
              f"point{'' if problem.points == 1 else 's'}"
              + ("; shared: the same numbers for everyone" if item.shared and per_student else "") + ")")
        print("   numbers:" + ("" if item.values else " none"))
        for name, value in item.values.items():
            print(f"     {name} = {literal(value)}")
        _print_value("   answer", item.answer)
        print(f"   rule: {item.rule}")
        for misconception, lines in item.misconceptions:
            label = f"   misconception {misconception.id} (credit {misconception.credit:g})"
            if lines is None:
                print(f"{label}: does not apply to these numbers")
            else:
                _print_value(label, lines)
    return 0


def _print_value(label: str, lines: list[str]) -> None:
    if len(lines) == 1:
        print(f"{label}: {lines[0]}")
        return
    print(f"{label}:")
    for line in lines:
        print(f"     {line}")
