"""`numeric`: one number; exact for integers, a tolerance or significant figures for floats."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.bank.model import Problem
from grader.protocol import Result

from . import rules
from .base import Kind, ProblemVariant, Values, answer_shape
from .values import not_integer


class Numeric(Kind):
    name = "numeric"
    words = "a number"

    def check_variant(self, problem: Problem, expected: Any, values: Values) -> tuple[str, str] | None:
        scalar = expected.item() if isinstance(expected, (np.generic, np.ndarray)) and np.size(expected) == 1 \
            and np.ndim(expected) == 0 else expected
        if isinstance(scalar, bool) or not isinstance(scalar, (int, float)):
            return "answer", f"a numeric problem's answer must be one number, got {type(expected).__name__}"
        return None

    def format_checks(self, variant: ProblemVariant) -> list[str]:
        if answer_shape(variant) != ():
            return super().format_checks(variant)
        name = variant.variable
        return [f'assert np.ndim({name}) == 0 and np.issubdtype(np.asarray({name}).dtype, np.number), '
                f'"{name} should be a single number"']

    def grade(self, problem: Problem, answer: Any, values: Values) -> Result:
        expected = problem.answer.evaluate(values)
        rule = rules.rule_for(problem.compare, expected)
        check = rules.compare_value(answer, expected, rule)
        return self.grade_value(problem, answer, values, expected, check, rule, rules.describe_rule(rule, expected))

    def qa_failures(self, problem: Problem, values: Values, expected: list[Any]) -> list[tuple[str, str]]:
        return not_integer(problem, expected)


KIND = Numeric()
