"""Variant QA: draw many variants of every problem and look for bad ones.

For variant i (key `qa-<i>`, assignments of the problem taken in turn), a problem fails when
- its constraints cannot be met, or a parameter cannot be drawn          (`draw`)
- the answer raises                                                      (`answer error`)
- the answer is not finite (NaN or inf anywhere)                          (`not finite`)
- an `exact` numeric/table problem's answer holds a non-integer number   (`not integer`)
- a misconception's value is graded correct (it falls within the rule)    (`misconception`)
"""

import math
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from grader.compare import grade_answer
from grader.variants import VariantError, draw

FAILURE_KINDS = ("draw", "answer error", "not finite", "not integer", "misconception")


@dataclass
class ProblemReport:
    problem_id: str
    kind: str
    variants: int = 0
    failures: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)   # failure kind -> first message (with the key)
    distinct: int = 0
    seconds: float = 0.0

    @property
    def failed(self):
        return sum(self.failures.values()) > 0

    def fail(self, kind, key, message):
        self.failures[kind] += 1
        self.examples.setdefault(kind, f"{key}: {message}")


def _numbers(value):
    """Every number inside a value (arrays, lists, tuples, dict values), as Python/numpy scalars."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "iufc":
            yield from value.ravel().tolist()
        elif value.dtype.kind == "O":
            for item in value.ravel():
                yield from _numbers(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        yield value


def not_finite(value):
    return any(not math.isfinite(number) for number in _numbers(value))


def not_integer(value):
    return any(float(number) != math.floor(float(number)) for number in _numbers(value)
               if math.isfinite(float(number)))


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


def _misconception_answers(problem, values):
    """(misconception id, the answer a student with that misconception would give)."""
    for misconception in problem.misconceptions:
        if problem.kind == "choice":
            option = misconception.option
            yield misconception.id, set(option) if isinstance(option, frozenset) else option
            continue
        try:
            yield misconception.id, misconception.answer.evaluate(values)
        except Exception:  # noqa: BLE001 (a misconception may not apply to every variant)
            continue


def _check_variant(problem, values, expected, report, key):
    if problem.kind != "choice" and not_finite(expected):
        report.fail("not finite", key, "the answer is not finite (NaN or inf)")
    exact = (problem.compare or {}).get("rule") == "exact"
    if problem.kind in ("numeric", "table") and exact and not_integer(expected):
        report.fail("not integer", key, "the rule is exact but the answer holds a non-integer number")
    for misconception_id, wrong in _misconception_answers(problem, values):
        try:
            result = grade_answer(problem, wrong, values)
        except Exception as exc:  # noqa: BLE001
            report.fail("answer error", key, f"grading misconception '{misconception_id}' raised "
                                             f"{type(exc).__name__}: {exc}")
            continue
        if result.correct and result.misconception is None:
            rule = result.rule if problem.kind != "choice" else "it is the correct option"
            report.fail("misconception", key, f"misconception '{misconception_id}' is graded correct ({rule})")


def _expected(problem, values):
    """The answer; for a function problem, the reference function's output on every case."""
    expected = problem.answer.evaluate(values)
    if problem.kind == "function":
        return [expected(*[argument.evaluate(values) for argument in case]) for case in problem.function.cases]
    return expected


def qa_problem(bank, problem, variants):
    """Draw `variants` variants of one problem and report what fails."""
    started = time.perf_counter()
    report = ProblemReport(problem.id, problem.kind, variants)
    assignments = bank.assignments_of(problem.id) or ["qa"]
    seen = set()
    with np.errstate(all="ignore"):
        for index in range(variants):
            assignment, key = assignments[index % len(assignments)], f"qa-{index}"
            label = f"{assignment}/{key}"
            try:
                values = draw(bank, problem, assignment, key)
            except VariantError as exc:
                report.fail("draw", label, f"{exc.field}: {exc.message}")
                continue
            try:
                expected = _expected(problem, values)
            except Exception as exc:  # noqa: BLE001
                report.fail("answer error", label, f"{type(exc).__name__}: {exc}")
                continue
            seen.add(_fingerprint(expected))
            _check_variant(problem, values, expected, report, label)
    report.distinct = len(seen)
    report.seconds = time.perf_counter() - started
    return report


def run_qa(bank, variants=1000, problem_ids=None):
    """One ProblemReport per problem (all, or those in `problem_ids`), in the bank's order."""
    ids = list(problem_ids) if problem_ids else list(bank.problems)
    return [qa_problem(bank, bank.problems[problem_id], variants) for problem_id in ids]
