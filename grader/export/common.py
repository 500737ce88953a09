"""What every export needs: which problems, their pre-drawn variants, Moodle/Canvas-style tolerances,
the checks-before-the-deadline policy each problem is exported with, and the prompt as HTML with its
LaTeX kept for the target's math renderer."""

import html
import itertools
import math
import re
from dataclasses import dataclass

import numpy as np
from markdown_it import MarkdownIt

from grader.bank.policy import AssignmentRules, CheckPolicy
from grader.bank.templates import render_prompt
from grader.errors import GraderError
from grader.kinds import grade_answer
from grader.kinds.choice import as_key_set
from grader.variants import draw


class ExportError(GraderError):
    """A problem the target format cannot express, or an unknown assignment/problem."""


class Skip(Exception):
    """Raised by a kind's converter: the format cannot hold this problem (the message says why)."""


@dataclass
class Variant:
    key: str            # "v1", "v2", …
    values: dict        # parameter name -> value
    expected: object    # problem.answer evaluated on values


@dataclass
class Selection:
    """The problems to export, each with the assignment its variants are drawn for."""

    title: str
    items: list         # [(assignment_id, Problem)]


def select(bank, assignment=None, problem_ids=None):
    """The assignment's problems, or the listed problems (each drawn for its first assignment)."""
    if assignment is not None:
        if assignment not in bank.assignments:
            known = ", ".join(bank.assignments)
            raise ExportError(f"no assignment {assignment!r} in {bank.path} (assignments: {known})")
        found = bank.assignments[assignment]
        return Selection(found.title, [(found.id, bank.problems[pid]) for pid in found.problems])
    items = []
    for problem_id in problem_ids or []:
        if problem_id not in bank.problems:
            raise ExportError(f"--problems: no problem {problem_id!r} in {bank.path}")
        assignments = bank.assignments_of(problem_id)
        items.append((assignments[0] if assignments else "export", bank.problems[problem_id]))
    if not items:
        raise ExportError("name an assignment or --problems ID[,ID...]")
    return Selection(f"{bank.course}: " + ", ".join(p.id for _, p in items), items)


# --- checks before the deadline (the bank's attempts: and dates:, grader.bank.policy) -------------

def policy_of(bank, assignment_id, problem) -> CheckPolicy:
    """The policy `problem` is exported with: its assignment's `attempts:` with the problem's own merged
    over it; the default (no checks) for a problem drawn for no assignment."""
    found = bank.assignments.get(assignment_id)
    return found.rules.policy_for(problem.id) if found is not None else CheckPolicy()


def quiz_rules(bank, selection) -> AssignmentRules | None:
    """The rules of the one assignment every exported problem is drawn for (a whole assignment, or
    --problems that all come from one), whose quiz-level settings (attempts, dates) a quiz can carry;
    None when the problems come from several assignments."""
    assignments = {assignment_id for assignment_id, _ in selection.items}
    if len(assignments) != 1:
        return None
    found = bank.assignments.get(next(iter(assignments)))
    return found.rules if found is not None else None


def percents(shares):
    return ", ".join(f"{share:.0%}" for share in shares)


def variant_keys(count):
    return [f"v{index}" for index in range(1, count + 1)]


def draw_variants(bank, problem, assignment_id, count):
    """`count` variants with the distinct keys v1 … vN: the same bank gives the same values."""
    variants = []
    for key in variant_keys(count):
        values = draw(bank, problem, assignment_id, key)
        variants.append(Variant(key, values, problem.answer.evaluate(values)))
    return variants


def misconception_values(problem, values):
    """[(Misconception, value)] for the misconceptions whose answer evaluates on this variant."""
    found = []
    for misconception in problem.misconceptions:
        if misconception.answer is None:
            continue
        try:
            with np.errstate(all="ignore"):
                found.append((misconception, misconception.answer.evaluate(values)))
        except Exception:  # noqa: BLE001 (a misconception that does not apply to this variant)
            continue
    return found


# --- choice ------------------------------------------------------------------------------

def every_pick(problem):
    """Every pick a student can make: each option alone, and with `multiple` every non-empty set."""
    keys = list(problem.options)
    sizes = range(1, len(keys) + 1) if problem.multiple else [1]
    return [set(combo) for size in sizes for combo in itertools.combinations(keys, size)]


def refuse_unless_same_grades(problem, values, target_grade, target):
    """Grade every pick with the engine and with `target_grade(picked)`; ExportError where they differ."""
    for picked in every_pick(problem):
        notebook = grade_answer(problem, picked, values).fraction
        theirs = target_grade(picked)
        if abs(notebook - theirs) > 1e-4:
            shown = "{" + ", ".join(sorted(picked)) + "}"
            raise ExportError(f"problem '{problem.id}': {target} cannot express its partial credit: picking "
                              f"{shown} earns {notebook:g} in the notebook but {theirs:g} in {target}")


def option_feedback(problem, correct):
    """{option key: [feedback of the misconceptions that pick it]} (correct options excluded)."""
    feedback = {key: [] for key in problem.options}
    for misconception in problem.misconceptions:
        for key in sorted(as_key_set(misconception.option) - correct):
            feedback[key].append(misconception.feedback)
    return feedback


# --- numbers --------------------------------------------------------------------------------

def as_number(value):
    """A Python int or float from a number-like value (numpy scalars, 0-d arrays)."""
    value = np.asarray(value)[()] if isinstance(value, np.ndarray) else value
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"not a number: {value!r}")
    return value


def number_text(value):
    """Shortest text that reads back as the same number (ints stay ints)."""
    value = as_number(value)
    return str(value) if isinstance(value, int) else repr(float(value))


def _sigfig_interval(expected, figures):
    """(centre, half-width) of a symmetric interval inside {x : x rounds to expected's rounding}."""
    if expected == 0:
        return 0.0, 0.0
    rounded = float(f"{expected:.{figures - 1}e}")
    exponent = math.floor(math.log10(abs(rounded)))
    half = 0.5 * 10.0 ** (exponent - figures + 1)
    # Just below a power of ten the step is ten times finer: e.g. 3 figures, 1.00 takes [0.9995, 1.005).
    below = 0.5 * 10.0 ** (exponent - figures) if abs(rounded) == 10.0 ** exponent else half
    return rounded, min(half, below)


def nominal_tolerance(rule, expected):
    """(answer, tol): the engine's rule for one number as "accepted when |x − answer| ≤ tol".

    exact   -> (e, 0)
    close   -> (e, atol + rtol·|e|)            the same set as the engine's rule
    sigfigs -> (e rounded, half a unit in its last figure); the engine's set is half-open and, just
               below a power of ten, lopsided: the symmetric interval inside it is used (a value
               on its very edge may be judged differently).
    """
    name = rule["rule"]
    expected = as_number(expected)
    if name == "exact":
        return expected, 0       # an integer answer stays an integer in the file
    expected = float(expected)
    if name == "sigfigs":
        return _sigfig_interval(expected, rule.get("sigfigs", 3))
    if name == "close":
        return expected, rule.get("atol", 1e-6) + rule.get("rtol", 1e-3) * abs(expected)
    raise ValueError(f"no numeric tolerance for rule {name!r}")


def window(centre, tolerance):
    """(low, high) = centre ∓ tolerance, each end stepped inward by float rounding where needed so
    that |end − centre| ≤ tolerance holds as the engine computes it (for range-style targets)."""
    low, high = centre - tolerance, centre + tolerance
    while abs(low - centre) > tolerance:
        low = math.nextafter(low, centre)
    while abs(high - centre) > tolerance:
        high = math.nextafter(high, centre)
    return low, high


def is_finite_number(value):
    try:
        return math.isfinite(float(as_number(value)))
    except (TypeError, OverflowError):
        return False


# --- prompts ------------------------------------------------------------------------------

_DISPLAY = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$", re.DOTALL)
_INLINE = re.compile(r"(?<!\\)\$(?!\$)(.+?)(?<!\\)\$", re.DOTALL)
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")

INLINE_PAREN = ("\\(", "\\)")     # Moodle's TeX/MathJax filters and Canvas' MathJax
INLINE_DOLLAR = ("$", "$")        # KaTeX auto-render in the preview site


def markdown_html(text, inline=INLINE_PAREN):
    """Markdown to HTML with every $$…$$ and $…$ kept verbatim (HTML-escaped) for a math renderer.

    Display math keeps `$$`; inline math gets the `inline` delimiters. Math is cut out before the
    Markdown pass so that `\\\\`, `_` and `*` inside it are not read as Markdown.
    """
    pieces = []

    def stash(opening, closing):
        def replace(match):
            pieces.append(opening + match.group(1) + closing)
            return f"MATHPIECE{len(pieces) - 1}END"
        return replace

    text = _DISPLAY.sub(stash("$$", "$$"), text)
    text = _INLINE.sub(stash(*inline), text)
    rendered = _MARKDOWN.render(text)
    return re.sub(r"MATHPIECE(\d+)END", lambda m: html.escape(pieces[int(m.group(1))], quote=False), rendered)


_NOTEBOOK_ANSWER_LINE = re.compile(r"(?:^|\n\n)Answer:.*?(?=\n\n|\Z)", re.DOTALL)


def inline_html(text, inline=INLINE_PAREN):
    """A short Markdown text (an option, a hint) as HTML without its enclosing paragraph."""
    rendered = markdown_html(text, inline).strip()
    if rendered.startswith("<p>") and rendered.endswith("</p>") and rendered.count("<p>") == 1:
        rendered = rendered[3:-4]
    return rendered


def prompt_html(problem, values, inline=INLINE_PAREN, quiz=True):
    """The variant's prompt as HTML. For a quiz (Moodle, Canvas) the notebook's closing paragraph
    "Answer: one float." (how to write the answer in Python) is left out."""
    text = render_prompt(problem, values)
    if quiz:
        text = _NOTEBOOK_ANSWER_LINE.sub("", text.rstrip())
    return markdown_html(text, inline)


def hints_html(problem, inline=INLINE_PAREN):
    if not problem.hints:
        return ""
    items = "".join(f"<li>{inline_html(hint, inline)}</li>" for hint in problem.hints)
    return f"<p>Hints:</p><ul>{items}</ul>"


def table_cells(problem, values, table):
    """[(row label, column, cell value)] of a table answer (rows as dicts or in column order)."""
    labels = problem.table.row_labels
    labels = labels.evaluate(values) if hasattr(labels, "evaluate") else labels
    cells = []
    for index, row in enumerate(table):
        label = str(labels[index]) if index < len(labels) else str(index + 1)
        row = row if isinstance(row, dict) else dict(zip(problem.table.columns, row))
        cells.extend((label, column, row.get(column)) for column in problem.table.columns)
    return cells
