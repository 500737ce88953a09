"""What an answer keeps under its assignment's checks and dates (docs/bank-format.md).

- The try: an answer that is right keeps the credit of the first check that was right (that check's
  try number); any other answer, or a right one never checked right, counts as one more try after
  the checks made (the submission is a try too, so not checking a right answer does not dodge the
  cost). Checks made after answers stopped counting are practice and cost nothing.
- The time: the share of the late timeline step the submission falls in, the due date moved by the
  student's extension; after the last step the answer counts for nothing.
The grade is the points earned times both shares. Everything here is plain data: a grading worker
(local or on a Dask cluster) is handed a `ProblemTries` per problem, built by the coordinator.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from grader.bank.policy import AssignmentRules, CheckPolicy


@dataclass(frozen=True)
class ProblemTries:
    """One student's counted checks of one problem, as grading needs them."""

    problem: str
    checks: int                       # counted checks made
    first_right: int | None           # the try number of the first right check, if any


@dataclass(frozen=True)
class Share:
    """What one problem's points are multiplied by, and why (the sentence the feedback page shows)."""

    share: float
    try_share: float
    late_share: float
    reason: str


def try_share(policy: CheckPolicy, tries: ProblemTries | None, correct: bool) -> tuple[float, str]:
    """The share an answer keeps by its try, and the sentence that says so ('' when nothing is lost)."""
    if policy.checks <= 0:
        return 1.0, ""
    made = tries.checks if tries else 0
    if correct and tries is not None and tries.first_right is not None:
        number = tries.first_right
        how = f"first checked right at check {number}"
    else:
        number = made + 1
        how = ("not checked before submitting" if made == 0 else
               f"submitted after {made} check{'s' if made != 1 else ''}, counted as try {number}")
    share = policy.credit_of_try(number)
    return share, (f"{how}: keeps {share:.0%} of its points" if share < 1 else "")


def late_share(rules: AssignmentRules, submitted_at: dt.datetime | None, extension: float) -> tuple[float, str]:
    """The share the submission keeps by when it was handed in, and the sentence ('' when on time)."""
    if rules.dates is None or submitted_at is None:
        return 1.0, ""
    share = rules.dates.credit_at(submitted_at, extension)
    if share >= 1:
        return 1.0, ""
    if share <= 0:
        return 0.0, "handed in after the late period ended: counts for nothing"
    return share, f"handed in late: keeps {share:.0%} of its points"


def problem_share(rules: AssignmentRules, problem: str, tries: ProblemTries | None, correct: bool,
                  submitted_at: dt.datetime | None, extension: float = 0.0) -> Share:
    by_try, why_try = try_share(rules.policy_for(problem), tries, correct)
    by_time, why_time = late_share(rules, submitted_at, extension)
    reason = "; ".join(text for text in (why_try, why_time) if text)
    return Share(share=by_try * by_time, try_share=by_try, late_share=by_time, reason=reason)


def answers_count(rules: AssignmentRules, when: dt.datetime, extension: float = 0.0) -> bool:
    """True while answers (and checks) still count: up to the end of the late timeline."""
    return rules.dates is None or when <= rules.dates.closes(extension)
