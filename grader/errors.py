"""Errors users can act on. The command line prints them as one line and exits with status 2."""


class GraderError(Exception):
    """Bad input (a bank, a submission directory, an argument): says what and where."""
