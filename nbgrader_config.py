"""nbgrader configuration of the ELEN 521 course directory (this file's directory).

`python -m grader release` and `grade` load this file; so do nbgrader's own commands
(`nbgrader generate_assignment`, `nbgrader autograde`) when run from here.
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = COURSE_ROOT
c.CourseDirectory.course_id = "elen521"
# The embedded SQLite gradebook (nbgrader's default, spelled out); made on demand, not committed.
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(COURSE_ROOT, "gradebook.db")

# What replaces a solution region in the release notebooks.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# nbgrader's exchange (release_assignment, fetch_assignment): an assignment with a notebook per
# student publishes each student's own notebook, never the common one (grader/exchange.py). The
# students' own nbgrader_config.py names PersonalFetchAssignment too (README, nbgrader's exchange).
c.ExchangeFactory.release_assignment = "grader.exchange.PersonalReleaseAssignment"
c.ExchangeFactory.fetch_assignment = "grader.exchange.PersonalFetchAssignment"

# The student's feedback page (grader/feedback.py) is nbgrader's own feedback file: written by
# `nbgrader generate_feedback` and `python -m grader feedback` alike, delivered by `nbgrader release_feedback`.
c.GenerateFeedback.exporter_class = "grader.feedback.FeedbackPage"

# Autograding runs every notebook top to bottom in a fresh kernel: a cell that hangs is
# interrupted after 30 s, records an error (0 points) and the rest of the notebook still runs.
c.Execute.timeout = 30
c.Execute.interrupt_on_timeout = True

# nbgrader's defences, for `python -m grader grade` and plain `nbgrader autograde` alike
# (grader/grading/notebook/config.py, DEFENCES): deleted test cells put back, huge outputs cut,
# harmless warnings on stderr ignored, and a skip-execution tag no student can guess.
from grader.grading.notebook.config import apply_defences, with_venv_on_path  # noqa: E402
from grader.grading.notebook.plain import grade_through_grader, refuse_plain_autograde  # noqa: E402

apply_defences(c)

# nbgrader runs the `alembic` script (from PATH) when it makes a gradebook: `.venv/bin/nbgrader db
# student import roster.csv` works as written, without the venv activated.
os.environ.update(with_venv_on_path())

# Hidden tests only report answers; `python -m grader grade` grades them outside the student's
# kernel, in a sandbox. Plain `nbgrader autograde` and formgrader's Autograde button run that
# command for the submissions they found, before touching autograded/; nbgrader's own grading
# steps, should anything reach them, stop with a message.
grade_through_grader()
refuse_plain_autograde(c)

# Test cells never raise for a wrong value (the values are graded later), so nbgrader's "Success! Your
# notebook passes all the tests." would be said of wrong answers: `nbgrader validate` says what it checked.
from grader.validate_message import say_what_validate_checks  # noqa: E402

say_what_validate_checks()
