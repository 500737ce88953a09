"""nominal_tolerance: the engine's rule for one number as Moodle's/Canvas' |x − answer| ≤ tol."""

import numpy as np
import pytest

from grader.export.common import markdown_html, nominal_tolerance
from grader.kinds.rules import compare_number

VALUES = [0.0123456, 1.0, 0.99996, 9.9996, 123.456, -0.004567, 98765.4, 1e-7, -2.5, 999.7]


@pytest.mark.parametrize("rule", [{"rule": "close", "rtol": 1e-3, "atol": 1e-6},
                                  {"rule": "close", "rtol": 0.0, "atol": 0.01},
                                  {"rule": "sigfigs", "sigfigs": 3}, {"rule": "sigfigs", "sigfigs": 2}])
@pytest.mark.parametrize("expected", VALUES)
def test_everything_inside_the_window_is_accepted_by_the_engine(rule, expected):
    centre, tolerance = nominal_tolerance(rule, expected)
    assert compare_number(centre, expected, rule).ok
    inside = centre + tolerance * np.linspace(-1, 1, 201) * (1 - 1e-9)
    assert all(compare_number(float(x), expected, rule).ok for x in inside), (rule, expected)


@pytest.mark.parametrize("expected", VALUES)
def test_close_window_is_exactly_the_engines_set(expected):
    rule = {"rule": "close", "rtol": 1e-3, "atol": 1e-6}
    centre, tolerance = nominal_tolerance(rule, expected)
    assert centre == expected
    for outside in (centre - tolerance * 1.001 - 1e-12, centre + tolerance * 1.001 + 1e-12):
        assert not compare_number(outside, expected, rule).ok


def test_sigfigs_window_is_centred_on_the_rounded_value_and_half_a_unit_wide():
    assert nominal_tolerance({"rule": "sigfigs", "sigfigs": 3}, 123.456) == pytest.approx((123.0, 0.5))
    # 0.99996 rounds to 1.00; below 1 the figures are ten times finer, so the window is ±0.0005
    assert nominal_tolerance({"rule": "sigfigs", "sigfigs": 3}, 0.99996) == pytest.approx((1.0, 0.0005))


def test_exact_integer_stays_an_integer_with_no_tolerance():
    assert nominal_tolerance({"rule": "exact"}, np.int64(17)) == (17, 0)
    assert type(nominal_tolerance({"rule": "exact"}, np.int64(17))[0]) is int


def test_markdown_keeps_math_untouched_and_escaped():
    html = markdown_html("Let $a_1 * b_2 < c$ and\n\n$$\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}$$\n\n**bold**")
    assert "\\(a_1 * b_2 &lt; c\\)" in html
    assert "$$\\begin{bmatrix} 1 &amp; 2 \\\\ 3 &amp; 4 \\end{bmatrix}$$" in html
    assert "<strong>bold</strong>" in html
