"""Practice after the deadline: a problem on fresh numbers, which the student sees and checks and which
counts for nothing.

Once an assignment's answers stop counting (after its late timeline, grader.bank.policy.Dates), the
Check button becomes practice: the student asks for a round (1, 2, ...) and is shown the problem as
the notebook shows it — its prompt and its inputs cell — drawn with the round's own key
(check.practice_key: never a real student's, so no classmate's numbers), then checks answers to it
(`POST api/check` with "practice": round). Before that, practice is refused: fresh numbers during the
assignment would be a second copy of the problem to learn from, outside the policy.
"""

from __future__ import annotations

from grader.attempts.rules import answers_count
from grader.kinds import kind_of
from grader.kinds.base import ProblemVariant
from grader.render import inputs_source, prompt_markdown

from .check import MAX_PRACTICE_VARIANT, Checker, Reply, moment, practice_key


def practice_round(checker: Checker, student: str, assignment: str, problem_id: str, number: int) -> Reply:
    """The problem of practice round `number` for `student`: {"problem", "round", "prompt", "inputs"}."""
    known = checker.problem_and_policy(assignment, problem_id)
    if isinstance(known, Reply):
        return known
    problem, policy = known
    if policy.checks <= 0:
        return Reply.refused(403, f"{problem_id} has no checks: it is checked when the assignment is graded")
    found = checker.bank.assignments[assignment]
    if not 1 <= number <= MAX_PRACTICE_VARIANT:
        return Reply.refused(400, f"practice: a round number from 1 to {MAX_PRACTICE_VARIANT:,}")
    now = checker.clock()
    extension = checker.store.extension(assignment, student)
    seconds = extension.seconds if extension else 0.0
    if answers_count(found.rules, moment(now), seconds):
        opens = found.rules.dates.closes(seconds).isoformat(timespec="minutes") if found.rules.dates else None
        return Reply.refused(403, "practice opens when answers stop counting" + (f", {opens}" if opens else
                                                                                  " (this assignment has no dates)"))
    values = checker.draw(assignment, problem_id, practice_key(student, number))
    variant = ProblemVariant(found.problems.index(problem_id) + 1, problem, values,
                             kind_of(problem).expected(problem, values))
    return Reply(200, {"problem": problem_id, "round": number, "prompt": prompt_markdown(variant),
                       "inputs": inputs_source(variant)})
