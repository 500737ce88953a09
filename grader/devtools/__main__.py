"""`python -m grader.devtools TOOL`: benchmarks for developers, kept out of the course's CLI
(the make targets bench, bench-personalize, bench-cluster, bench-integrity and bench-checks call them). Each tool is a module
here with `add_arguments(parser)` and `run(args) -> int`, as the course's commands are."""

import sys

from grader.cli import main

TOOLS = [
    ("bench", "time nbgrader autograde against `grader grade` on the same class"),
    ("bench-personalize", "time personalizing an assignment for a class (300 students by default)"),
    ("bench-cluster", "local workers against a Dask LocalCluster of 1 and 2, on SQLite and PostgreSQL"),
    ("bench-integrity", "simulated classes with known copying: recall, precision and false positives of the "
                        "integrity report"),
    ("bench-checks", "simulated students checking answers against a running check service: checks/s and "
                     "latency, against the same check done by running a kernel"),
]

if __name__ == "__main__":
    sys.exit(main(commands=TOOLS, package="grader.devtools", prog="python -m grader.devtools", description=__doc__))
