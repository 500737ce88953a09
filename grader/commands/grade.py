"""python -m grader grade ASSIGNMENT: autograde every submission, in parallel, into autograded/ and the gradebook."""


def add_arguments(parser):
    parser.add_argument("assignment", help="the nbgrader assignment id, e.g. cnn-detection")
    parser.add_argument("--student", action="append", default=None,
                        help="grade only this student (repeatable)")
    parser.add_argument("--workers", type=int, default=None,
                        help="parallel worker processes (default: the number of cores + 1)")
    parser.add_argument("--timeout", type=int, default=None,
                        help="seconds a cell may run (nbgrader Execute.timeout); default: the course config")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="run student kernels unsandboxed, as the grader's user: they can read the answer key "
                             "and write the gradebook (only where the sandbox is unavailable and every submission "
                             "is trusted; the summary and the report say so)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--cluster", metavar="local:N", default=None,
                       help="grade on a Dask LocalCluster of N worker processes started for this run")
    where.add_argument("--scheduler", metavar="tcp://HOST:8786", default=None,
                       help="grade on the workers of a running Dask scheduler (workers need only the project "
                            "installed: `dask worker tcp://HOST:8786 --nthreads 1 --nworkers N`)")


def run(args):
    from grader.grading.coordinator.progress import grade_with_progress, print_summary
    from grader.grading.notebook.config import effective_config
    if args.cluster or args.scheduler:
        _check_cluster(args)
    config = effective_config(args.course)
    if args.timeout:
        config.Execute.timeout = args.timeout
    grade_run = grade_with_progress(args.course, args.assignment, students=args.student, workers=args.workers,
                                    config=config, cluster=args.cluster or args.scheduler,
                                    unsafe=args.unsafe_no_sandbox)
    print_summary(grade_run)
    return 0


def _check_cluster(args):
    from grader.errors import GraderError
    from grader.grading.coordinator.cluster import describe_cluster
    if args.cluster and describe_cluster(args.cluster)[0] != "local":
        raise GraderError(f"--cluster {args.cluster}: expected local:N; for a running scheduler use --scheduler")
    if args.scheduler and describe_cluster(args.scheduler)[0] != "scheduler":
        raise GraderError(f"--scheduler {args.scheduler}: expected a scheduler address such as tcp://HOST:8786")
