"""What `nbgrader validate` says of a notebook in which no cell failed, in this course.

nbgrader's validator runs the notebook and counts a test cell as passed when it raises nothing.
Ours never raise for a wrong value: the hidden tests only report the answer (graded later, outside
the student's kernel) and the public checks print their verdicts without stopping the cell. So
nbgrader's hard-coded "Success! Your notebook passes all the tests." (`Validator._print_num_failed`,
no setting changes it) would be said of wrong answers. `say_what_validate_checks()`, called by the
course's nbgrader_config.py (and by the students' own config, where this file is copied as
`elen521_validate.py`), makes the command say what it checked instead. Everything else nbgrader's
validator does (failed cells, changed cells, the JSON the Lab's Validate button reads) is left as
is; the Lab button's own text is in nbgrader's JavaScript, which no config reaches (README).

Imports nothing of the project: students' servers have nbgrader and this one file.
"""

NOTHING_FAILED = (
    "No cell failed: every cell ran without an error and every format check passed. This does NOT mean "
    "your answers are right: their values are checked only when the assignment is graded. Read each test "
    "cell's output: a line 'PUBLIC CHECK FAILED' means that answer is wrong.\n")


def say_what_validate_checks() -> None:
    """`nbgrader validate` says NOTHING_FAILED where nbgrader says "Success! Your notebook passes
    all the tests." (idempotent; in the process that loads the config only)."""
    from nbgrader.validator import Validator

    own = Validator._print_num_failed
    if getattr(own, "elen521", False):
        return

    def _print_num_failed(self, num_failed: int) -> None:
        if num_failed == 0:
            self.stream.write(NOTHING_FAILED)
        else:
            own(self, num_failed)

    _print_num_failed.elen521 = True  # type: ignore[attr-defined]
    Validator._print_num_failed = _print_num_failed
