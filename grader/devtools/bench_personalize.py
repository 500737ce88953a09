"""python -m grader.devtools bench-personalize --assignment A --students 300: time personalizing a class.

Personalizes the course's release notebook of A for N students (student001 ...), as
`release --per-student` does (draw, render the locked cells, nbgrader checksums, leak check
per student, one process per core), writes the notebooks into a scratch folder, and prints the
time. A benchmark, not a test: nothing in the course is written.
"""


def add_arguments(parser):
    parser.add_argument("--assignment", default="cnn-detection", help="assignment id (default cnn-detection)")
    parser.add_argument("--students", type=int, default=300, help="class size (default 300)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: one per core)")


def run(args):
    import os
    import tempfile
    import time
    from pathlib import Path

    from grader.bank import load_bank
    from grader.errors import GraderError
    from grader.files import write_atomic
    from grader.personalize import personalize_class
    from grader.qa import class_ids
    from grader.release import assignment_ids_of
    from grader.variants import assignment_variant_key

    if args.students < 1:
        raise GraderError(f"--students: expected a positive number, got {args.students}")
    bank = load_bank(args.bank)
    assignment_ids_of(bank, [args.assignment])
    students = class_ids(args.students)
    workers = args.workers or os.cpu_count() or 1
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    made = personalize_class(args.course, bank, args.assignment, students, workers=workers)
    with tempfile.TemporaryDirectory(prefix="grader-bench-personalize-") as scratch:
        for item in made:
            write_atomic(Path(scratch) / item.student / args.assignment / f"{args.assignment}.ipynb", item.text)
        seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    distinct = len({item.text for item in made})
    print(f"{args.assignment} (variant_key: {assignment_variant_key(bank, args.assignment)}): "
          f"{len(made)} personal notebooks ({distinct} distinct) on {workers} process(es)")
    print(f"personalize + leak check + write: {seconds:.2f} s ({1000 * seconds / len(made):.1f} ms per student)")
    print(f"CPU time, this process and its workers: {cpu:.2f} s, so {cpu / workers:.2f} s on {workers} idle core(s) "
          f"(load average now {os.getloadavg()[0]:.1f})")
    return 0


def cpu_seconds():
    """User + system CPU time of this process and its finished child processes."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
