"""Prompts and literals: python_literal round-trips through eval; latex formats; the sandbox is strict."""

import jinja2
import numpy as np
import pytest

from grader.bank.templates import latex, prompt_names, python_literal, render_text

VALUES = [
    0, -7, 3.5, 0.1, 1e-05, -0.0, True, None, "it's", (1,), (1, 2.5), [1, [2, 3]], {"a": 1, "b": [2.0]},
    {"b", "a"}, np.int64(4), np.float64(0.25), np.array(2.5), np.array([1, 2, 3]), np.array([[1.5, -2.0]]),
    np.array([True, False]), np.zeros((0, 3)), [{"type": "conv", "kernel": 3, "bias": False}],
]


@pytest.mark.parametrize("value", VALUES, ids=[f"{i}-{type(v).__name__}" for i, v in enumerate(VALUES)])
def test_python_literal_round_trips(value):
    source = python_literal(value)
    back = eval(source, {"np": np})  # noqa: S307 (our own output)
    if isinstance(value, np.ndarray):
        assert isinstance(back, np.ndarray) and back.shape == value.shape
        assert back.dtype.kind == value.dtype.kind
        np.testing.assert_array_equal(back, value)
    elif isinstance(value, np.generic):
        assert back == value.item() and type(back) is type(value.item())
    else:
        assert back == value and type(back) is type(value)
    assert python_literal(value) == source  # deterministic


def test_python_literal_special_floats_and_unknown_types():
    assert python_literal(float("nan")) == 'float("nan")'
    assert eval(python_literal([float("inf"), -float("inf")])) == [float("inf"), -float("inf")]  # noqa: S307
    with pytest.raises(TypeError):
        python_literal(object())


def test_latex_filter():
    assert latex(3) == "3"
    assert latex(0.25) == "0.25"
    assert latex(1e-05) == r"1 \times 10^{-5}"
    assert latex(np.array([1, 2])) == r"\begin{bmatrix} 1 & 2 \end{bmatrix}"
    assert latex(np.array([[1.5, 2.0], [3.0, 4.0]])) == r"\begin{bmatrix} 1.5 & 2.0 \\ 3.0 & 4.0 \end{bmatrix}"
    assert latex((1, 2)) == r"\left(1, 2\right)"
    assert latex("a_b") == r"\text{a\_b}"


def test_prompt_rendering_is_strict_and_sandboxed():
    assert prompt_names("{{ W }} and {{ x | latex }} {% if K %}{{ K }}{% endif %}") == {"W", "x", "K"}
    assert render_text("W = {{ W }}, z = {{ z | py }}", {"W": 3, "z": np.array([1.0])}) == \
        "W = 3, z = np.array([1.0])"
    with pytest.raises(jinja2.UndefinedError):
        render_text("{{ missing }}", {})
    with pytest.raises(jinja2.exceptions.SecurityError):
        render_text("{{ x.__class__.__mro__ }}", {"x": 1})
