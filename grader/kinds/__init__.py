"""Problem kinds: one module per kind, behind the interface of grader.kinds.base.Kind.

    from grader.kinds import kind_of, grade_answer
    kind_of(problem).format_checks(variant)
    result = grade_answer(problem, answer, values)     # a grader.protocol.Result

A new kind is a module here with a Kind subclass, and one line in KINDS.
"""

from __future__ import annotations

from typing import Any

from grader.bank.model import Problem
from grader.protocol import Result

from . import array, choice, function, numeric, table
from .base import Kind, ProblemVariant

KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    numeric.KIND, array.KIND, choice.KIND, function.KIND, table.KIND,
)}


def kind_of(problem: Problem) -> Kind:
    return KINDS[problem.kind]


def grade_answer(problem: Problem, answer: Any, values: dict[str, Any]) -> Result:
    """Grade `answer` for the variant `values` of `problem` (see docs/architecture.md)."""
    return kind_of(problem).grade(problem, answer, values)


__all__ = ["KINDS", "Kind", "ProblemVariant", "grade_answer", "kind_of"]
