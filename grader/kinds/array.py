"""`array`: a NumPy array; the shape first, then every entry under the rule (close by default)."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.bank.model import Problem
from grader.protocol import Result

from . import rules
from .base import Kind, ProblemVariant, Values, answer_shape, shape_is_given


class Array(Kind):
    name = "array"
    words = "a NumPy array"
    default_rule = "close"
    each_entry = True

    def check_variant(self, problem: Problem, expected: Any, values: Values) -> tuple[str, str] | None:
        try:
            np.asarray(expected, dtype=float)
        except (TypeError, ValueError):
            return "answer", f"an array problem's answer must be numbers, got {type(expected).__name__}"
        return None

    def answer_instructions(self, variant: ProblemVariant) -> str:
        if shape_is_given(variant):
            return f"Assign your answer to `{variant.variable}` (a NumPy array of shape {answer_shape(variant)!r})."
        return super().answer_instructions(variant)

    def grade(self, problem: Problem, answer: Any, values: Values) -> Result:
        expected = problem.answer.evaluate(values)
        rule = rules.rule_for(problem.compare, expected)
        text = rules.describe_rule(rule, expected, each=self.each_entry)
        if rules.is_number_tree(expected):
            check = rules.compare_array(answer, expected, rule)
        else:
            check = rules.compare_value(answer, expected, rule)
        return self.grade_value(problem, answer, values, expected, check, rule, text)


KIND = Array()
