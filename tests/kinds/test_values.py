"""grader.kinds.values: the numbers inside answers, for QA and the leak check."""

import numpy as np

from grader.kinds.values import has_non_integer, not_finite, numbers


def test_numbers_inside_nested_values():
    assert list(numbers({"a": (1, np.array([0.5, 2.0])), "b": ["x", True]})) == [1, 0.5, 2.0]


def test_not_finite_and_non_integer_look_inside_nested_values():
    assert not_finite([{"a": (1, np.array([0.0, np.nan]))}]) and not not_finite({"a": [1, 2.5]})
    assert has_non_integer([{"params": 3, "shape": (1, 2.5)}]) and not has_non_integer([1, 2.0, np.int64(3)])
