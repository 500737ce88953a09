"""grader/math_markup.py: the bank's Markdown and LaTeX as HTML with MathML for the feedback page,
built without a script; math protected from Markdown; nothing can inject markup; every formula of the
shipped bank converts (FALLBACKS lists those that may not)."""

import html
import re
from pathlib import Path

import pytest

from grader.math_markup import (
    MATHML_ATTRIBUTES,
    MATHML_ELEMENTS,
    NotConverted,
    formula_mathml,
    formulas,
    markdown_math,
    markdown_math_inline,
)

ROOT = Path(__file__).resolve().parents[1]
# formulas of the shipped bank that are shown as LaTeX source, as (problem id, formula): none
FALLBACKS: list = []


def text_of(markup, between_tags=" ") -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", between_tags, str(markup))).split())


def markup_of(page) -> tuple[set, set]:
    """(elements, attribute names) of an HTML fragment, as a browser's parser reads them."""
    from html.parser import HTMLParser

    class Elements(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.attributes = set(), set()

        def handle_starttag(self, tag, attrs):
            self.tags.add(tag)
            self.attributes |= {name for name, _ in attrs}

    found = Elements()
    found.feed(str(page))
    return found.tags, found.attributes


def tags_of(markup) -> set:
    return markup_of(markup)[0]


def test_inline_and_display_math_become_mathml():
    page = str(markdown_math("A $3\\times3$ kernel:\n\n$$O = \\frac{W - K + 2P}{S} + 1$$"))
    assert page.count("<math ") == 2 and "$" not in page and "\\" not in page
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline"><mrow><mn>3</mn><mo>×</mo>' in page
    assert 'display="block"' in page and "<mfrac>" in page


def test_a_table_becomes_a_table_and_a_pipe_inside_math_stays_in_its_cell():
    page = str(markdown_math("| row | value |\n|---|---|\n| $\\|w\\|_1$ | 2 |\n| b | $|x|$ |"))
    assert "<table>" in page and page.count("<tr>") == 3 and page.count("<td>") == 4
    cells = re.findall(r"<td>(.*?)</td>", page)
    assert cells[0].startswith("<math ") and cells[3].startswith("<math ") and "<mi>x</mi>" in cells[3]


def test_underscores_asterisks_and_backslashes_inside_math_are_not_markdown():
    page = str(markdown_math("$a_b$ and $c_d$, $x * y * z$, and\n\n"
                             "$$\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}$$"))
    assert "<em>" not in page and "<strong>" not in page
    assert page.count("<msub>") == 2 and page.count("<mtr>") == 2
    assert "<em>x</em>" in str(markdown_math("*x* and $y$"))          # Markdown outside math still works


def test_bracketed_matrices_get_their_own_stretchy_fences():
    mathml = formula_mathml("x = \\begin{bmatrix} 1 \\\\ 2 \\end{bmatrix}, y", display=True)
    assert ('<mrow><mo stretchy="true" fence="true" form="prefix">[</mo><mtable>' in mathml
            and '</mtable><mo stretchy="true" fence="true" form="postfix">]</mo></mrow>' in mathml)


def test_a_dollar_sign_and_an_unmatched_dollar_stay_text():
    assert text_of(markdown_math("It costs \\$5 and \\$6.")) == "It costs $5 and $6."
    page = str(markdown_math("A lone $ sign.\n\nA formula $x$."))
    assert "A lone $ sign." in page and page.count("<math ") == 1


HOSTILE = "</p><script>alert('PWNED')</script><img src=x onerror=alert(1)>"


@pytest.mark.parametrize("text", [
    HOSTILE,
    f"| a |\n|---|\n| {HOSTILE} |",
    f"$\\text{{{HOSTILE}}}$",
    "$\\text{a & b < c}$",
    "$\\href{javascript:alert(1)}{x}$ and $\\style{color:red}{x}$",
    "[click](javascript:alert(1)) and ![pixel](http://tracker.invalid/p.png)",
    "<a href='javascript:alert(1)'>x</a> <svg onload=alert(1)>",
])
def test_nothing_in_the_text_becomes_live_markup(text):
    for rendered in (markdown_math(text), markdown_math_inline(text)):
        tags, attributes = markup_of(rendered)
        assert tags <= {"p", "table", "thead", "tbody", "tr", "th", "td", "code"} | MATHML_ELEMENTS, str(rendered)
        assert attributes <= (MATHML_ATTRIBUTES | {"class"}) - {"href", "src", "style"}
        assert not any(name.startswith("on") for name in attributes)


def test_a_formula_latex2mathml_cannot_convert_is_shown_as_escaped_source_and_the_rest_renders():
    for formula in ("\\frac{1}{", "\\unknownmacro{x} < y", "\\href{https://x.invalid}{x}"):
        with pytest.raises(NotConverted):
            formula_mathml(formula)
    page = str(markdown_math("First $\\unknownmacro{x} < y$, then $\\frac{1}{$ and $a_b$."))
    assert '<code class="tex">$\\unknownmacro{x} &lt; y$</code>' in page
    assert '<code class="tex">$\\frac{1}{$</code>' in page
    assert page.count("<math ") == 1 and "<msub>" in page


def test_inline_text_has_no_paragraph_and_no_block():
    assert str(markdown_math_inline("Divide by $\\sqrt{d_k}$ first.")).startswith("Divide by <math ")
    assert tags_of(markdown_math_inline("1. not a list\n\n| a |\n|---|\n| b |")) == set()


def test_placeholders_in_the_text_cannot_reach_another_formula():
    page = str(markdown_math("\ue0000\ue001 and $x$"))
    assert page.count("<math ") == 1 and "\ue000" not in page


# --- the shipped bank ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bank_texts():
    """(problem id, text, is prompt) of every bank text the feedback page shows: each prompt cell as
    three students' notebooks hold it, each hint and each misconception's feedback."""
    from grader.bank import load_bank
    from grader.protocol import Role, cell_grade_id, problem_of
    from grader.render import render_assignment

    bank = load_bank(ROOT / "questions.yaml")
    texts = []
    for assignment in bank.assignments:
        for student in ("student001", "student002", "student003"):
            for cell in render_assignment(bank, assignment, student).cells:
                problem = problem_of(cell_grade_id(cell), Role.PROMPT)
                if problem is not None:
                    texts.append((problem, cell.source, True))
    for problem in bank.problems.values():
        texts += [(problem.id, hint, False) for hint in problem.hints or []]
        texts += [(problem.id, known.feedback, False) for known in problem.misconceptions]
    return texts


def test_every_formula_of_the_shipped_bank_becomes_mathml(bank_texts):
    falling_back, count = set(), 0
    for problem, text, _ in bank_texts:
        for formula, display in formulas(text):
            count += 1
            try:
                formula_mathml(formula, display)
            except NotConverted:
                falling_back.add((problem, formula))
    assert count > 300
    assert sorted(falling_back) == FALLBACKS


def test_the_shipped_bank_renders_without_raw_math_or_pipe_tables(bank_texts):
    tables = 0
    for problem, text, prompt in bank_texts:
        rendered = markdown_math(text) if prompt else markdown_math_inline(text)
        shown = text_of(rendered)
        assert "$" not in shown and not re.search(r"\\[a-zA-Z]", shown), (problem, shown)
        assert not re.search(r"\|\s*-{3,}", shown), (problem, shown)
        tables += "<table>" in rendered
        if not prompt and "$" not in text:           # a hint without math reads as written (code: no backticks)
            assert text_of(rendered, "") == " ".join(text.replace("`", "").split()), (problem, str(rendered))
    assert tables >= 10
