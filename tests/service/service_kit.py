"""A course for the check service's tests: a bank with checks and dates, no notebooks needed.

The service reads only the course's nbgrader_config.py (its gradebook database) and its bank, so
the course is those two files; the database is made on first use (grader.attempts.store).

Assignment `hw` (keyed per student: every student has their own numbers), due DUE, then one late
step (until 2 days after it, answers keep 50 %), then practice; 3 checks per problem, credit
[1, 0.8, 0.5]. Its problems differ in what they override:

    mse         numeric, reveal: verdict
    mse-mis     numeric, reveal: misconception   (misconception `forgot-batch-mean`: B times the mean)
    mse-band    numeric, reveal: band
    sig         function sigmoid(z), called on 3 cases
    pick        choice, checks: 0 (graded only when submitted)
    slow        numeric, interval: 1h

Assignment `past`: the same `mse`, due in 2020 with a day of late credit: closed, practice only.
"""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

DUE = dt.datetime(2099, 12, 10, 23, 59, tzinfo=dt.timezone.utc)
LATE_UNTIL = dt.timedelta(days=2)
CHECKS = 3
CREDIT = (1.0, 0.8, 0.5)
MISCONCEPTION_FEEDBACK = "This is the sum of the squared errors: divide by B."

_NUMERIC = """\
  - id: {id}
    title: Mean squared error ({id})
    section: losses
    formula: [loss.mse]
    points: 2
    kind: numeric
    prompt: |
      Targets $y = {{{{ y | latex }}}}$, predictions $p = {{{{ p | latex }}}}$: the mean squared error.

      Answer: one float.
    params:
      B: {{int: [3, 6]}}
      y: {{array: {{shape: [B], dist: normal, mean: 0, std: 2, decimals: 1}}}}
      p: {{array: {{shape: [B], dist: normal, mean: 0, std: 2, decimals: 1}}}}
    constraints:
      - mse(y, p) > 0.05
    answer: mse(y, p)
    misconceptions:
      - id: forgot-batch-mean
        answer: B * mse(y, p)
        feedback: "{feedback}"
        credit: 0.25
    attempts: {attempts}
"""

BANK_TAIL = """\
  - id: sig
    title: A sigmoid
    section: activations
    formula: [act.sigmoid]
    points: 3
    kind: function
    prompt: |
      Write `sigmoid(z)` for a numpy array `z`, e.g. $z = {{ z | latex }}$.

      Answer: a function returning an array of `z`'s shape.
    params:
      z: {array: {shape: [2, 3], dist: normal, mean: 0, std: 4, decimals: 2}}
    function:
      name: sigmoid
      signature: sigmoid(z)
      cases:
        - [z]
        - ["np.array([-30.0, 0.0, 30.0])"]
        - ["z[:1]"]
    answer: sigmoid
  - id: pick
    title: An option
    section: initialization
    formula: [act.init_rule]
    points: 1
    kind: choice
    prompt: Pick B.
    options:
      A: not this one
      B: this one
    answer: B
    attempts: {checks: 0}
"""


def bank_text(due: dt.datetime = DUE, past_due: dt.datetime = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)) -> str:
    head = f"""\
course: ELEN 521 (service kit)
seed: 11
variant_key: student
assignments:
  - id: hw
    title: Checks before the deadline
    problems: [mse, mse-mis, mse-band, sig, pick, slow]
    attempts: {{checks: {CHECKS}, credit: {list(CREDIT)}, reveal: verdict}}
    dates:
      due: {due.isoformat()}
      late:
        - {{until: 2d, credit: 0.5}}
  - id: past
    title: Closed
    problems: [mse]
    attempts: {{checks: {CHECKS}}}
    dates:
      due: {past_due.isoformat()}
      late:
        - {{until: 1d, credit: 0.5}}
problems:
"""
    numeric = "".join(_NUMERIC.format(id=problem_id, feedback=MISCONCEPTION_FEEDBACK, attempts=attempts)
                      for problem_id, attempts in (("mse", "{reveal: verdict}"), ("mse-mis", "{reveal: misconception}"),
                                                   ("mse-band", "{reveal: band}"), ("slow", "{interval: 1h}")))
    return head + numeric + BANK_TAIL


CONFIG = """\
c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = "sqlite:///{root}/gradebook.db"
c.CourseDirectory.course_id = "service-kit"
"""


def make_service_course(root: Path, **dates) -> Path:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(CONFIG.format(root=str(root)))
    (root / "questions.yaml").write_text(bank_text(**dates))
    return root


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
