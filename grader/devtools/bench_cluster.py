"""python -m grader.devtools bench-cluster --assignment A --students 30: local worker processes against a Dask
LocalCluster of 1 and 2 workers, each into SQLite and into PostgreSQL (a private server, fsync on).

Every run grades the same simulated class in its own copy of the course under
bench-out/cluster/, under one nbgrader configuration; every score must equal the first run's.
Printed per run: throughput (notebooks/s, start-up included), the workers' seconds per notebook,
and the coordinator's own cost per notebook: its gradebook write, and the rest of result handling
(parsing the notebook, the reasons, writing autograded/). docs/scaling.md reads these figures.
"""

BACKENDS = [("local processes", None), ("dask local:1", "local:1"), ("dask local:2", "local:2")]


def add_arguments(parser):
    parser.add_argument("--assignment", default="cnn-detection")
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--timeout", type=int, default=5, help="per-cell timeout (default 5 s)")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")


def run(args):
    import shutil

    from grader.bank import load_bank
    from grader.devtools.bench import scores, twin
    from grader.devtools.pgserver import PrivatePostgres
    from grader.errors import GraderError
    from grader.grading import grade_assignment
    from grader.grading.notebook.config import effective_config
    from grader.simulate import simulate_class

    course, assignment = args.course, args.assignment
    out = course / "bench-out" / "cluster"
    shutil.rmtree(out, ignore_errors=True)
    config = effective_config(course)
    config.Execute.timeout = args.timeout
    config.CourseDirectory.course_id = config.CourseDirectory.get("course_id", "elen521")
    base = out / "base"
    twin(course, base, assignment, config)
    simulate_class(load_bank(base / "questions.yaml"), base, assignment, args.students)

    rows, reference = [], None
    with PrivatePostgres(durable=True) as postgres:
        for database in ("sqlite", "postgresql"):
            for name, cluster in BACKENDS:
                target = out / f"{database}-{name.replace(' ', '-').replace(':', '')}"
                shutil.copytree(base, target)
                run_config = effective_config(target)
                run_config.Execute.timeout = args.timeout
                run_config.Execute.skip_cells_with_tag = config.Execute.skip_cells_with_tag
                if database == "postgresql":
                    run_config.CourseDirectory.db_url = postgres.create_database(target.name.replace("-", "_"))
                print(f"{name} into {database}, {args.students} submissions ...", flush=True)
                graded = grade_assignment(target, assignment, workers=args.workers, config=run_config, cluster=cluster)
                found = scores(run_config, assignment)
                reference = found if reference is None else reference
                if found != reference:
                    differ = sorted(s for s in found if found[s] != reference.get(s))
                    raise GraderError(f"bench-cluster: {name} into {database} gives other scores for "
                                      f"{', '.join(differ)} (see {target})")
                rows.append(_row(name, database, graded))
    _print_table(rows)
    print(f"scores: identical in all {len(rows)} runs for all {len(reference)} students")
    return 0


def _row(name, database, graded):
    notebooks = len(graded.outcomes)
    return {"backend": name, "gradebook": database, "workers": graded.workers, "notebooks": notebooks,
            "seconds": graded.seconds, "throughput": notebooks / graded.seconds,
            "worker_s": sum(o.seconds for o in graded.outcomes.values()) / notebooks,
            "write_ms": 1000 * graded.timings["gradebook"] / notebooks,
            "results_ms": 1000 * graded.timings["results"] / notebooks}


def _print_table(rows):
    from rich.console import Console
    from rich.table import Table

    table = Table(title="bench-cluster: one simulated class, every run scored identically")
    for column in ("backend", "gradebook", "workers", "notebooks", "wall s", "notebooks/s",
                   "worker s / notebook", "coordinator: gradebook write ms / nb", "coordinator: results ms / nb"):
        table.add_column(column, justify="left" if column in ("backend", "gradebook") else "right")
    for row in rows:
        table.add_row(row["backend"], row["gradebook"], str(row["workers"]), str(row["notebooks"]),
                      f"{row['seconds']:.1f}", f"{row['throughput']:.2f}", f"{row['worker_s']:.2f}",
                      f"{row['write_ms']:.1f}", f"{row['results_ms']:.1f}")
    Console(width=160).print(table)
