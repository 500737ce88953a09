"""Errors users can act on. The command line prints them as one line and exits with status 2."""


class GraderError(Exception):
    """Bad input (a bank, a submission directory, an argument): says what and where."""


def suggestion(name: str, known) -> str:
    """'; did you mean 'x'?' for the closest of `known`, else a list of what there is ('' if nothing)."""
    import difflib

    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    if known:
        shown = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
        return f" (there is: {shown})"
    return ""
