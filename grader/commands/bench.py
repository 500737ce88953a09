"""python -m grader bench (stub: being written)."""

from grader.errors import GraderError


def add_arguments(parser):
    pass


def run(args):
    raise GraderError("'bench' is not implemented yet")
