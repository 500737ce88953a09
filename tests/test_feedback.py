"""Student feedback: what it shows, and that it never leaks hidden tests or secret expected values."""

from types import SimpleNamespace

import course_kit as kit
import pytest

from grader.feedback import problem_feedback, write_feedback
from grader.grading import grade_assignment
from grader.grading.config import effective_config

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("grading")]

HIDDEN_CODE = ["BEGIN HIDDEN", "END HIDDEN", "_report(", "np.allclose", "GRADER_RESULT", "_json.dumps"]
BANK = SimpleNamespace(assignments={}, problems={
    "p1": SimpleNamespace(title="Output size", secret=False, hints=["O = floor((W-K+2P)/S) + 1"],
                          misconceptions=[SimpleNamespace(id="ceil-not-floor", feedback="Round down.")]),
    "p2": SimpleNamespace(title="A secret array", secret=True, hints=[], misconceptions=[]),
    "p3": SimpleNamespace(title="Pick one", secret=False, hints=[], misconceptions=[]),
})


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    root = kit.make_course(tmp_path_factory.mktemp("feedback"), timeout=3)
    kit.submit(root, "right", kit.RIGHT)
    kit.submit(root, "ceil", {**kit.RIGHT, "p1": "q1 = 15", "p2": "q2 = np.array([0.4, 0.3])"})
    kit.submit(root, "syntax", {**kit.RIGHT, "p3": "q3 = ("})
    config = effective_config(root)
    grade_assignment(root, kit.ASSIGNMENT, config=config)
    paths = write_feedback(config, kit.ASSIGNMENT, bank=BANK)
    return {p.parent.parent.name: p.read_text() for p in paths}


def test_one_page_per_student_with_scores_rules_and_misconceptions(pages):
    assert set(pages) == {"right", "ceil", "syntax"}
    ceil = pages["ceil"]
    assert "0.5 / 2" in ceil and "ceil-not-floor" in ceil and "Round down." in ceil
    assert "How it is checked: exact" in ceil
    assert "within 10 % of the expected value, but outside the tolerance" in ceil    # |15 - 14| / 14
    assert "7.14" not in ceil and "off by 1" not in ceil
    assert "Hint: O = floor((W-K+2P)/S) + 1" in ceil
    assert "6 / 6" in pages["right"]
    assert "NameError" in pages["syntax"]                          # q3 never defined


def test_no_page_holds_hidden_test_code_or_secret_values(pages):
    for student, page in pages.items():
        for needle in HIDDEN_CODE + kit.SECRET_VALUES:
            assert needle not in page, (student, needle)


def test_secret_problem_never_shows_the_error_size():
    result = {"problem": "p2", "message": "Not within the tolerance.", "rule": "within 0.1 %",
              "error": {"relative_at_most": 0.5}, "misconception": None}
    secret = problem_feedback("p2", 0.0, 3.0, result, None, BANK.problems["p2"])
    public = problem_feedback("p1", 0.0, 2.0, result, None, BANK.problems["p1"])
    assert secret.error == "" and public.error.startswith("within 50 % of the expected value")
