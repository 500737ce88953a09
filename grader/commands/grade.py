"""python -m grader grade ASSIGNMENT: autograde every submission, in parallel, into autograded/ and the gradebook."""


def add_arguments(parser):
    parser.add_argument("assignment", help="the nbgrader assignment id, e.g. cnn-detection")
    parser.add_argument("--student", action="append", default=None,
                        help="grade only this student (repeatable)")
    parser.add_argument("--workers", type=int, default=None,
                        help="parallel worker processes (default: the number of cores)")
    parser.add_argument("--timeout", type=int, default=None,
                        help="seconds a cell may run (nbgrader Execute.timeout); default: the course config")


def run(args):
    from grader.grading.config import effective_config
    from grader.grading.progress import grade_with_progress, print_summary
    config = effective_config(args.course)
    if args.timeout:
        config.Execute.timeout = args.timeout
    grade_run = grade_with_progress(args.course, args.assignment, students=args.student, workers=args.workers,
                                    config=config)
    print_summary(grade_run)
    return 0
