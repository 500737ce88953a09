"""Problem kinds: one module per kind, behind the interface of grader.kinds.base.Kind.

    from grader.kinds import kind_of, grade_answer
    kind_of(problem).format_checks(variant)
    result = grade_answer(problem, answer, values)     # a grader.protocol.Result
    result = grade_own_answer(problem, answer, values, classmates_values)

A new kind is a module here with a Kind subclass, and one line in KINDS.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from grader.bank.model import Problem
from grader.protocol import Code, Result

from . import array, choice, function, numeric, table
from .base import Kind, ProblemVariant, make_result

KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    numeric.KIND, array.KIND, choice.KIND, function.KIND, table.KIND,
)}


def kind_of(problem: Problem) -> Kind:
    return KINDS[problem.kind]


def grade_answer(problem: Problem, answer: Any, values: dict[str, Any]) -> Result:
    """Grade `answer` for the variant `values` of `problem` (see docs/architecture.md)."""
    return kind_of(problem).grade(problem, answer, values)


ANOTHER_VARIANT_MESSAGE = ("These are the answers to another student's numbers, not to the numbers in "
                           "your notebook: no points.")


def grade_own_answer(problem: Problem, answer: Any, values: dict[str, Any],
                     classmates_values: Iterable[dict[str, Any]]) -> Result:
    """grade_answer for a student whose classmates were given `classmates_values` of this problem.

    On a kind whose answers name their variant (a table), an answer that earns only part of the
    points for the student's own numbers but all of them for a classmate's is the classmate's
    work: its right cells are right only because some cells are the same for everyone. It scores
    0. A right answer, or one that earns nothing anyway, is never compared with the class."""
    result = grade_answer(problem, answer, values)
    kind = kind_of(problem)
    if result.correct or result.points <= 0 or not kind.identifies_variant:
        return result
    for other in classmates_values:
        if kind.right_for(problem, answer, other):
            return make_result(problem, 0.0, result.rule, ANOTHER_VARIANT_MESSAGE, code=Code.ANOTHER_VARIANT)
    return result


__all__ = ["KINDS", "Kind", "ProblemVariant", "grade_answer", "grade_own_answer", "kind_of"]
