"""python -m grader validate (stub: being written)."""

from grader.errors import GraderError


def add_arguments(parser):
    pass


def run(args):
    raise GraderError("'validate' is not implemented yet")
