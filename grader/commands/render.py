"""python -m grader render (stub: being written)."""

from grader.errors import GraderError


def add_arguments(parser):
    pass


def run(args):
    raise GraderError("'render' is not implemented yet")
