"""Variant QA: draw many variants of every problem and look for bad ones.

For variant i (key `qa-<i>`, assignments of the problem taken in turn), a problem fails when
- its constraints cannot be met, or a parameter cannot be drawn          (`draw`)
- the answer raises                                                      (`answer error`)
- the answer is not finite (NaN or inf anywhere)                          (`not finite`)
- an `exact` numeric/table problem's answer holds a non-integer number   (`not integer`)
- a table's carry_forward row, fed the true row before it, is not the answer (`carry forward`)
- a misconception's value is graded correct (it falls within the rule)    (`misconception`)
- a right answer (the expected one, or one at the edge of the tolerance)
  fails a public check (grader.kinds.checks)                             (`public check`)

Per problem, `idle_checks` lists the public checks that no misconception and no plausible wrong
value (the kind's `wrong_value`) failed on any variant: they may still help, but nothing shows it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.bank import Problem
from grader.bank.loader import problem_issue
from grader.kinds import ProblemVariant, grade_answer, kind_of
from grader.kinds.checks import describe, failures, run_checks
from grader.kinds.values import not_finite
from grader.variants import VariantError, draw

Values = dict[str, Any]
FAILURE_KINDS = ("draw", "answer error", "not finite", "not integer", "carry forward", "misconception",
                 "public check")


@dataclass
class ProblemReport:
    problem_id: str
    kind: str
    variants: int = 0
    failures: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)   # failure kind -> first message (with the key)
    fields: dict = field(default_factory=dict)     # failure kind -> the bank field of its first failure
    distinct: int = 0
    seconds: float = 0.0
    idle_checks: list = field(default_factory=list)   # public checks no wrong answer failed (descriptions)

    @property
    def failed(self):
        return sum(self.failures.values()) > 0

    def fail(self, kind, key, message, field=""):
        self.failures[kind] += 1
        self.examples.setdefault(kind, f"{key}: {message}")
        self.fields.setdefault(kind, field)

    def issues(self, bank):
        """Each kind of failure as the loader words a bank error: `file:line: problem 'id': kind: example`
        (the line of the field that failed first)."""
        return [problem_issue(bank, self.problem_id, self.fields.get(kind, ""), f"{kind}: {example}")
                for kind, example in self.examples.items()]


def _fingerprint(value):
    """A hashable summary of an answer, to count distinct answers."""
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.str, value.tobytes())
    if isinstance(value, dict):
        return ("dict", tuple((key, _fingerprint(item)) for key, item in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_fingerprint(item) for item in value))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted(map(repr, value))))
    if callable(value):
        return ("function", getattr(value, "__name__", repr(value)))
    return ("value", repr(value))


def _misconception_answers(problem: Problem, values: Values) -> Iterator[tuple[str, Any]]:
    """(misconception id, the answer a student with that misconception would give)."""
    kind = kind_of(problem)
    for misconception in problem.misconceptions:
        try:
            yield misconception.id, kind.misconception_answer(problem, misconception, values)
        except Exception:  # noqa: BLE001 (a misconception may not apply to every variant)
            continue


def _check_variant(problem: Problem, values: Values, expected: list[Any], report: ProblemReport, key: str) -> None:
    kind = kind_of(problem)
    if not_finite(expected):
        report.fail("not finite", key, "the answer is not finite (NaN or inf)", "answer")
    for failure, message in kind.qa_failures(problem, values, expected):
        report.fail(failure, key, message, "table.carry_forward" if failure == "carry forward" else "answer")
    indices = {misconception.id: index for index, misconception in enumerate(problem.misconceptions)}
    for misconception_id, wrong in _misconception_answers(problem, values):
        where = f"misconceptions[{indices[misconception_id]}]"
        try:
            result = grade_answer(problem, wrong, values)
        except Exception as exc:  # noqa: BLE001
            report.fail("answer error", key, f"grading misconception '{misconception_id}' raised "
                                             f"{type(exc).__name__}: {exc}", where)
            continue
        if result.correct and result.misconception is None:
            report.fail("misconception", key, f"misconception '{misconception_id}' is graded correct "
                                              f"({kind.qa_rule_words(result)})", where)


def _check_public(problem: Problem, values: Values, report: ProblemReport, key: str, caught: set) -> None:
    """Right answers must pass every public check; note which checks some wrong answer fails."""
    variant = ProblemVariant(1, problem, values, kind_of(problem).expected(problem, values))
    try:
        failed = failures(variant)
        for check, label in failed:
            report.fail("public check", key, f"checks[{check.index}] (line {check.line}, "
                                             f"'{describe(check)}') fails {label}", f"checks[{check.index}]")
        if len(caught) < len(problem.checks):
            for wrong in variant.kind.wrong_answers(variant):
                caught.update(id(check) for check, passed in run_checks(variant, wrong) if not passed)
    except Exception as exc:  # noqa: BLE001
        report.fail("public check", key, f"running the public checks raised {type(exc).__name__}: {exc}", "checks")


def qa_problem(bank, problem, variants):
    """Draw `variants` variants of one problem and report what fails."""
    started = time.perf_counter()
    report = ProblemReport(problem.id, problem.kind, variants)
    assignments = bank.assignments_of(problem.id) or ["qa"]
    seen: set = set()
    caught: set = set()
    with np.errstate(all="ignore"):
        for index in range(variants):
            assignment, key = assignments[index % len(assignments)], f"qa-{index}"
            label = f"{assignment}/{key}"
            try:
                values = draw(bank, problem, assignment, key)
            except VariantError as exc:
                report.fail("draw", label, f"{exc.field}: {exc.message}", exc.field)
                continue
            try:
                expected = kind_of(problem).expected_values(problem, values)
            except Exception as exc:  # noqa: BLE001
                report.fail("answer error", label, f"{type(exc).__name__}: {exc}", "answer")
                continue
            seen.add(_fingerprint(expected))
            _check_variant(problem, values, expected, report, label)
            if problem.checks:
                _check_public(problem, values, report, label, caught)
    report.idle_checks = [f"checks[{check.index}] (line {check.line}, '{describe(check)}')"
                          for check in problem.checks if id(check) not in caught]
    report.distinct = len(seen)
    report.seconds = time.perf_counter() - started
    return report


def run_qa(bank, variants=1000, problem_ids=None):
    """One ProblemReport per problem (all, or those in `problem_ids`), in the bank's order."""
    ids = list(problem_ids) if problem_ids else list(bank.problems)
    return [qa_problem(bank, bank.problems[problem_id], variants) for problem_id in ids]


# --- diversity: how many answers a class of per-student variants shares ------------------------

CLASS_SIZE = 300
# A per-student problem fails when more than this share of a class hands in the same correct
# answer cell: one posted answer would then be right for more than 1 student in 20.
MAX_SHARED_ANSWER = 0.05


@dataclass
class DiversityReport:
    problem_id: str
    assignment: str
    students: int
    distinct: int             # distinct correct answer cells in the class
    largest_group: int        # students whose correct answer cell is the same one
    error: str = ""

    @property
    def too_few(self) -> bool:
        return bool(self.error) or self.largest_group > MAX_SHARED_ANSWER * self.students


def class_ids(count: int = CLASS_SIZE) -> list[str]:
    """The students of the diversity check (the simulator's ids: student001 ...)."""
    return [f"student{number:03d}" for number in range(1, count + 1)]


def diversity_of(bank, problem, assignment: str, students: list[str]) -> DiversityReport:
    """Distinct correct answer cells (what a student would hand in: the value written out, or a
    function's code) over a class of per-student variants, and the largest group sharing one."""
    from grader.kinds import ProblemVariant
    from grader.variants import draw_for

    kind = kind_of(problem)
    answers: Counter = Counter()
    with np.errstate(all="ignore"):
        for student in students:
            try:
                values = draw_for(bank, problem, assignment, student)
                answers[kind.correct_source(ProblemVariant(1, problem, values, kind.expected(problem, values)))] += 1
            except Exception as exc:  # noqa: BLE001 (reported, the other problems go on)
                failure = f"{student}: {type(exc).__name__}: {exc}"
                return DiversityReport(problem.id, assignment, len(students), 0, 0, failure)
    return DiversityReport(problem.id, assignment, len(students), len(answers), max(answers.values()))


def run_diversity(bank, problem_ids=None, students: int = CLASS_SIZE) -> list[DiversityReport]:
    """One report per (per-student assignment, unshared problem), in the bank's order."""
    from grader.variants import is_per_student

    wanted = set(problem_ids) if problem_ids else None
    ids = class_ids(students)
    return [diversity_of(bank, bank.problems[problem_id], assignment.id, ids)
            for assignment in bank.assignments.values() for problem_id in assignment.problems
            if (wanted is None or problem_id in wanted) and is_per_student(bank, assignment.id, bank.problems[problem_id])]
