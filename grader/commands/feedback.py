"""python -m grader feedback ASSIGNMENT: one HTML page per graded student under feedback/."""


def add_arguments(parser):
    parser.add_argument("assignment", help="the nbgrader assignment id")
    parser.add_argument("--student", action="append", default=None, help="only this student (repeatable)")


def run(args):
    from grader.course import paths_of
    from grader.errors import GraderError
    from grader.feedback import write_feedback
    from grader.grading.coordinator.stale import refusal, stale_grades
    from grader.grading.notebook.config import effective_config, load_bank_if_any

    config, bank = effective_config(args.course), load_bank_if_any(args.bank)
    stale = stale_grades(config, bank, args.assignment, args.student)
    if stale:
        raise GraderError(refusal(stale, args.assignment, "feedback"))
    written = write_feedback(config, args.assignment, bank=bank, students=args.student)
    folder = paths_of(args.course).feedback("<student>", args.assignment)
    print(f"wrote {len(written)} feedback page(s): {folder}/<notebook>.html "
          f"(nbgrader's feedback files; `nbgrader release_feedback {args.assignment}` delivers them)")
    return 0
