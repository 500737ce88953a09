"""What QA and the leak check need to look inside values (every number, finiteness, integrality),
and how much of a student's own text feedback may repeat."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from grader.bank.model import Problem

# Characters of a student's own text (an answer, an object's type name) a feedback message may
# repeat; an exception the student's function raised may say more (its types and shapes).
ECHO_LIMIT = 60
RAISED_ECHO_LIMIT = 120


def short(text: Any, limit: int = ECHO_LIMIT) -> str:
    """`text` as feedback repeats it: at most `limit` characters, the rest cut to '...'. Every
    student-provided string or repr put into a message goes through here."""
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def numbers(value: Any) -> Iterator[Any]:
    """Every number inside a value (arrays, lists, tuples, dict values), as Python/numpy scalars."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "iufc":
            yield from value.ravel().tolist()
        elif value.dtype.kind == "O":
            for item in value.ravel():
                yield from numbers(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from numbers(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from numbers(item)
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        yield value


def not_finite(value: Any) -> bool:
    return any(not math.isfinite(number) for number in numbers(value))


def has_non_integer(value: Any) -> bool:
    return any(float(number) != math.floor(float(number)) for number in numbers(value)
               if math.isfinite(float(number)))


def not_integer(problem: Problem, expected: list[Any]) -> list[tuple[str, str]]:
    """An `exact` problem whose answer holds a non-integer number: float noise fails it."""
    if (problem.compare or {}).get("rule") == "exact" and has_non_integer(expected):
        return [("not integer", "the rule is exact but the answer holds a non-integer number")]
    return []
