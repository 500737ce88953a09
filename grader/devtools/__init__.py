"""Tools for developing and measuring the grader, not for a course: benchmarks and test servers
(`python -m grader.devtools ...`; the make targets call them)."""
