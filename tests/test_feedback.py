"""Student feedback: what it shows, in words a student can act on, said once, and that it never leaks
hidden tests or secret expected values. The page is nbgrader's own feedback file."""

import subprocess
import sys
from types import SimpleNamespace

import course_kit as kit
import pytest

from grader.feedback import problem_feedback, score_text, write_feedback
from grader.grading import grade_assignment
from grader.grading.notebook.config import effective_config

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("grading")]

HIDDEN_CODE = ["BEGIN HIDDEN", "END HIDDEN", "_report(", "np.allclose", "GRADER_RESULT", "_json.dumps"]
BANK = SimpleNamespace(assignments={}, problems={
    "p1": SimpleNamespace(title="Output size", secret=False, hints=["O = floor((W-K+2P)/S) + 1"],
                          misconceptions=[SimpleNamespace(id="ceil-not-floor", feedback="Round down.")],
                          section="cnn", formula=["cnn.out_size"]),
    "p2": SimpleNamespace(title="A secret array", secret=True, hints=[], misconceptions=[], section="attention",
                          formula=["att.sdpa", "cnn.out_size"]),
    "p3": SimpleNamespace(title="Pick one", secret=False, hints=[], misconceptions=[], section="initialization",
                          formula=["init.rules"]),
})
SUBMISSIONS = {
    "right": kit.RIGHT,
    "ceil": {**kit.RIGHT, "p1": "q1 = 15", "p2": "q2 = np.array([0.4, 0.3])"},
    "far": {**kit.RIGHT, "p1": "q1 = 16"},
    "syntax": {**kit.RIGHT, "p3": "q3 = ("},
    "blank": {},
    "undefined": {**kit.RIGHT, "p1": "x = 14"},
    "died": {**kit.RIGHT, "p3": "import os\nos._exit(1)"},
    "endless": {**kit.RIGHT, "p1": "while True:\n    pass"},
    "hostile": {**kit.RIGHT, "p3": "q3 = \"</pre><script>alert('PWNED')</script>\""},
}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = kit.make_course(tmp_path_factory.mktemp("feedback"), timeout=3)
    for student, answers in SUBMISSIONS.items():
        kit.submit(root, student, answers)
    kit.submit(root, "not-json", raw="{ this is not a notebook")
    config = effective_config(root)
    grade_assignment(root, kit.ASSIGNMENT, config=config)
    return root, config


@pytest.fixture(scope="module")
def pages(course):
    root, config = course
    paths = write_feedback(config, kit.ASSIGNMENT, bank=BANK)
    assert all(p.name == f"{kit.ASSIGNMENT}.html" for p in paths)     # nbgrader's feedback file
    return {p.parent.parent.name: " ".join(p.read_text().split()) for p in paths}


def test_one_page_per_student_with_scores_rules_and_misconceptions(pages):
    assert set(pages) == set(SUBMISSIONS) | {"not-json"}
    ceil = pages["ceil"]
    assert "0.5 / 2" in ceil and "ceil-not-floor" in ceil and "Round down." in ceil
    assert "How it is checked: must equal the expected integer exactly" in ceil
    assert "Hint: O = floor((W-K+2P)/S) + 1" in ceil
    assert "6 / 6" in pages["right"]


def test_each_message_is_said_once(pages):
    for student, page in pages.items():
        assert "Right. Correct." not in page and "Partly right. Partly right." not in page, student
    assert pages["ceil"].count("Round down.") == 1


def test_the_students_own_answer_is_shown_except_for_secret_problems(pages):
    assert 'Your answer:</p> <pre class="answer">q1 = 15</pre>' in pages["ceil"]
    assert "0.4, 0.3" not in pages["ceil"]          # p2 is secret
    assert "q1 = 16" in pages["far"] and "x = 14" in pages["undefined"]


def test_the_real_reason_when_nothing_was_graded(pages):
    assert "Your answer cell stopped with SyntaxError, so the answer was never defined." in pages["syntax"]
    assert pages["blank"].count("No answer was given: the answer cell still holds the placeholder.") == 3
    assert "NameError" not in pages["blank"]
    assert "Your answer cell ran but did not define the answer variable" in pages["undefined"]
    assert "The kernel died while your notebook ran" in pages["died"]
    assert "ran past the time limit" in pages["endless"]
    assert pages["not-json"].count("Your submitted notebook could not be run at all") == 3
    assert "0 / 6" in pages["not-json"]


def test_a_known_misconception_shows_no_error_band_and_others_do(pages):
    first_card = pages["ceil"].split("A secret array")[0]
    assert "Round down." in first_card and "outside the tolerance" not in first_card
    assert "within 50 % of the expected value, but outside the tolerance" in pages["far"].split("A secret array")[0]


def test_no_page_holds_hidden_test_code_or_secret_values(pages):
    for student, page in pages.items():
        for needle in HIDDEN_CODE + kit.SECRET_VALUES:
            assert needle not in page, (student, needle)


def test_what_to_review_names_the_sections_that_cost_points_and_nothing_else(pages):
    """The gradebook's scores by formula-sheet section (a problem counts for the section of each of its
    contract ids): "ceil" lost 1.5 of p1's 2 points (cnn) and p2's 3 (attention, and cnn through cnn.out_size)."""
    review = pages["ceil"].split("What to review")[1]
    assert "Attention mechanism: 3 of 3 points lost, in 1 problem" in review
    assert "Convolutional neural networks: 4.5 of 5 points lost, in 2 problems" in review
    assert "Weight initialization" not in review          # nothing lost there
    assert review.index("Attention") < review.index("Convolutional")      # most lost (as a share) first
    assert "What to review" not in pages["right"]
    for needle in ("14", "0.4", "0.3", "floor(") + tuple(kit.SECRET_VALUES):
        assert needle not in review, needle


def test_scores_are_rounded_for_people():
    assert [score_text(v) for v in (28.333333, 0.5, 2.0, 1 / 3)] == ["28.33", "0.5", "2", "0.33"]


def test_secret_problem_never_shows_the_error_size():
    result = {"problem": "p2", "message": "Not within the tolerance.", "rule": "within 0.1 %",
              "error": {"relative_at_most": 0.5}, "misconception": None}
    secret = problem_feedback("p2", 0.0, 3.0, result, None, BANK.problems["p2"])
    public = problem_feedback("p1", 0.0, 2.0, result, None, BANK.problems["p1"])
    assert secret.error == "" and public.error.startswith("within 50 % of the expected value")


def test_nbgrader_generate_feedback_writes_our_page(course, pages):
    """`nbgrader generate_feedback --force` under the course config rewrites the same page, not
    nbgrader's notebook dump with raw result lines; release_feedback then delivers it."""
    root, _ = course
    config = root / "nbgrader_config.py"
    config.write_text(config.read_text() + 'c.GenerateFeedback.exporter_class = "grader.feedback.FeedbackPage"\n')
    done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_feedback", kit.ASSIGNMENT, "--force"],
                          cwd=root, capture_output=True, text=True, env=kit.venv_env())
    assert done.returncode == 0, done.stderr
    page = (root / "feedback" / "ceil" / kit.ASSIGNMENT / f"{kit.ASSIGNMENT}.html").read_text()
    assert "GRADER_RESULT" not in page and "BEGIN HIDDEN" not in page
    assert "ceil-not-floor" in page and "0.5 / 2" in " ".join(page.split())    # no bank in this course


def test_each_card_shows_the_students_own_numbers_from_the_cells_they_were_graded_with():
    """As grading writes them: the notebook's locked cells are the student's own (grader.personalize)."""
    from render_kit import FIXTURE_BANK

    from grader.bank import load_bank_text
    from grader.feedback import notebook_feedback, render_page
    from grader.render import render_assignment
    from grader.variants import draw_for

    bank = load_bank_text(FIXTURE_BANK.read_text().replace("variant_key: assignment", "variant_key: student"),
                          FIXTURE_BANK)
    pages, sizes = {}, {}
    for student in ("alice", "bob"):
        graded = render_assignment(bank, "fixture-a", student)
        cards = notebook_feedback(graded, bank)
        conv = next(card for card in cards if card.problem == "conv-out")
        W = draw_for(bank, bank.problems["conv-out"], "fixture-a", student)["W"]
        assert f"${W}\\times{W}$" in conv.statement
        assert "How it is checked" not in conv.statement and not conv.statement.startswith("#")
        table = next(card for card in cards if card.problem == "net-table")
        assert table.inputs.startswith("layers = ")                  # the inputs cell, as the student had it
        pages[student] = render_page(student, "fixture-a", "Every kind", cards)
        sizes[student] = W
    assert sizes["alice"] != sizes["bob"]
    typeset = "<mn>{0}</mn><mo>×</mo><mn>{0}</mn>"            # $W\\times W$ as MathML, built with the page
    assert typeset.format(sizes["alice"]) in pages["alice"] and "\\times" not in pages["alice"]
    assert typeset.format(sizes["bob"]) not in pages["alice"]
    assert "BEGIN HIDDEN" not in pages["alice"] and "check(" not in pages["alice"]


def test_a_tables_misconception_and_a_plain_wrong_value_are_said_once():
    """A table answer with a known mistake in several cells: the misconception's feedback once (not in
    the summary and again in every cell); a wrong number: no "Not right. Not the expected value."."""
    import html
    import re
    from pathlib import Path

    from grader.bank import load_bank
    from grader.feedback import render_page
    from grader.kinds import grade_answer, kind_of
    from grader.variants import draw_for

    bank = load_bank(Path(__file__).resolve().parents[1] / "questions.yaml")
    table = bank.problems["nms-table"]
    values = draw_for(bank, table, "cnn-detection", "student003")
    wrong = kind_of(table).misconception_answer(table, table.misconceptions[0], values)
    result = grade_answer(table, wrong, values)
    assert result.misconception == "union-as-sum" and len([p for p in result.parts if not p["correct"]]) > 1
    card = problem_feedback("nms-table", result.points, table.points, json_of(result), None, table,
                            answer="q14 = ...")
    number = bank.problems["conv-params"]
    number_values = draw_for(bank, number, "cnn-detection", "student003")
    off = grade_answer(number, kind_of(number).expected(number, number_values) + 1000, number_values)
    plain = problem_feedback("conv-params", 0.0, number.points, json_of(off), None, number, answer="q4 = ...")
    page = html.unescape(re.sub(r"<[^>]+>", " ", render_page("student003", "cnn-detection", "t", [card, plain])))
    page = " ".join(page.split())
    assert page.count(table.misconceptions[0].feedback) == 1
    assert "cells are right." in page and "box 0 / iou_with_top: not right." in page
    assert "Not right. Not the expected value" not in page and "not the expected value" not in page.casefold()


def json_of(result):
    import json
    return json.loads(result.to_json())


HOSTILE = "</pre><script>alert('PWNED')</script><img src=x onerror=alert('PWNED')>"


# what the bank's Markdown becomes (markdown-it without raw HTML, images or links), and its formulas' MathML
BANK_MARKUP = {"ul", "ol", "li", "em", "code", "table", "thead", "tbody", "tr", "th", "td", "math", "mrow", "mi", "mn",
               "mo", "mtext", "mspace", "msub", "msup", "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder",
               "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom", "menclose"}


def live_markup(page: str) -> dict:
    """The elements and event attributes of a page (the template itself has no script and no event;
    the bank's prompts add only BANK_MARKUP)."""
    from html.parser import HTMLParser

    class Elements(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.events = set(), []

        def handle_starttag(self, tag, attrs):
            self.tags.add(tag)
            self.events += [name for name, _ in attrs if name.startswith("on")]

    found = Elements()
    found.feed(page)
    return {"unexpected elements": found.tags - {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p",
                                                  "strong", "div", "span", "details", "summary", "pre"} - BANK_MARKUP,
            "events": found.events}


def test_the_page_escapes_what_a_student_wrote_and_what_a_message_echoes():
    import html

    from grader.feedback import render_page

    result = {"problem": "p3", "message": f"{HOSTILE!r} is not one of the options", "rule": HOSTILE,
              "parts": [{"label": HOSTILE, "correct": False, "message": HOSTILE}], "misconception": HOSTILE,
              "error": None}
    item = problem_feedback("p3", 0.0, 1.0, result, None, BANK.problems["p3"], answer=f"q3 = {HOSTILE!r}")
    item.statement, item.inputs, item.title = HOSTILE, HOSTILE, HOSTILE
    # the bank's own text, typeset as Markdown and LaTeX: still no markup of its own
    item.misconception_feedback, item.hints = HOSTILE, [HOSTILE, f"$\\text{{{HOSTILE}}}$"]
    student = '=HYPERLINK("http://x","y")' + HOSTILE
    page = render_page(student, "a1" + HOSTILE, HOSTILE, [item])
    assert live_markup(page) == {"unexpected elements": set(), "events": []}
    assert "<script" not in page and "<img" not in page
    text = html.unescape(page)
    assert text.count(HOSTILE) >= 11 and student in text


def test_a_hostile_answer_reaches_its_page_as_text(pages):
    page = pages["hostile"]
    assert "<script" not in page and "&lt;/pre&gt;&lt;script&gt;alert(&#39;PWNED&#39;)&lt;/script&gt;" in page
    assert live_markup(page) == {"unexpected elements": set(), "events": []}
