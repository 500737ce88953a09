"""python -m grader report (stub: being written)."""

from grader.errors import GraderError


def add_arguments(parser):
    pass


def run(args):
    raise GraderError("'report' is not implemented yet")
