"""python -m grader simulate (stub: being written)."""

from grader.errors import GraderError


def add_arguments(parser):
    pass


def run(args):
    raise GraderError("'simulate' is not implemented yet")
