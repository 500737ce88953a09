"""python -m grader feedback (stub: being written)."""

from grader.errors import GraderError


def add_arguments(parser):
    pass


def run(args):
    raise GraderError("'feedback' is not implemented yet")
