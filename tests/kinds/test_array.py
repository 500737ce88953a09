"""grader.kinds.array: what the notebook shows about an array answer."""

from types import SimpleNamespace

import numpy as np

from grader.kinds import KINDS, ProblemVariant

ARRAY = KINDS["array"]


def test_shape_is_checked_only_when_the_inputs_already_give_it():
    problem = SimpleNamespace(kind="array", id="kept", inputs=[])
    kept_boxes = ProblemVariant(1, problem, {"boxes": np.zeros((5, 4)), "t": 0.5}, np.array([0, 3]))
    checks = "\n".join(ARRAY.format_checks(kept_boxes))
    assert "np.ndim(q1) == 1" in checks and "(2,)" not in checks
    same_shape = ProblemVariant(1, problem, {"x": np.zeros((2, 3))}, np.ones((2, 3)))
    assert "np.shape(q1) == (2, 3)" in "\n".join(ARRAY.format_checks(same_shape))
    assert "(a NumPy array of shape (2, 3))" in ARRAY.answer_instructions(same_shape)
