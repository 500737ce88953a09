"""python -m grader qa (stub: being written)."""

from grader.errors import GraderError


def add_arguments(parser):
    pass


def run(args):
    raise GraderError("'qa' is not implemented yet")
