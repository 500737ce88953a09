"""Moodle XML: per problem a question category holding N pre-drawn variants.

A Moodle quiz draws one variant per student with a "random question" from the category
(R/exams' exams2moodle approach). Per kind (`MOODLE_BY_KIND`):

- numeric  -> `numerical`. The engine's rule becomes Moodle's nominal tolerance (accepted when
  |x − answer| ≤ tol, the first matching answer wins): `exact` -> tol 0, `close` -> tol =
  atol + rtol·|answer| (the same set), `sigfigs` -> the rounded answer ± half a unit in its last
  figure (`common.nominal_tolerance`). Each misconception is an extra answer after the correct one,
  with the same tolerance around its value, its credit as the fraction and its feedback.
- choice   -> `multichoice`. One answer: the correct option 100 %, a misconception's option its
  credit. Several answers with `partial`: each correct option +100/n %, each other −100/n %, which
  is the engine's (right − wrong)/n, at least 0. Every possible pick is graded both ways and the
  export stops, naming the problem, where Moodle's grade would differ (e.g. a credit not in Moodle's
  list of grades, or all-or-nothing on several answers).
- table    -> Cloze (`cloze`, Moodle's multianswer): a NUMERICAL field per number cell (tolerance
  as above, misconception cells as partial-credit answers), a field per entry of a tuple cell (the
  cell's share split over its entries), a True/False MULTICHOICE field for booleans, a
  SHORTANSWER field for strings.
- array    -> Cloze, one NUMERICAL field per entry (rows along the last axis), when the array has
  at most MAX_CLOZE_ENTRIES entries; otherwise skipped. Moodle gives credit per entry, where the
  notebook grades the array as a whole.
- function -> skipped: Moodle cannot run a student's Python function.

A Cloze question's mark in Moodle is the sum of its fields' weights, whole numbers (its XML import
ignores <defaultgrade> for Cloze, and its edit form has no mark for Cloze). By default
(`weights="points"`) the weights are whole numbers that add up to the problem's points, apportioned
from each box's intended share (every table cell the same, split evenly over a tuple cell's entries;
every array entry the same) by the largest remainders (`cloze_weights`): every variant's mark is
the problem's points. Where the points do not split evenly over the boxes, boxes weigh unequally,
and where there are more boxes than points some weigh 0 (qtype_multianswer reads a weight of 0 as
0: such a box is graded and shows its feedback, but counts nothing); the export lists those problems. `weights="equal"` keeps
every box's weight equal instead (the smallest whole weights), and the question's mark is then
the sum of them, not the points (listed too): a quiz grades with its slot's mark in any case, which
the teacher sets (a random-question slot starts at 1).

Prompts are HTML with their LaTeX kept as Moodle's TeX and MathJax filters read it: display math
in $$…$$, inline math in \\(…\\).

Checks before the deadline (the bank's `attempts:`, `moodle_tries`): Moodle's behaviour "Interactive
with multiple tries" gives a question one try more than it has hints (qbehaviour_interactive:
_triesleft starts at count(hints) + 1) and takes `penalty` off the answer's fraction for each try
before the one that is graded: fraction − (tries before) × penalty, at least 0. A problem with
`checks: N` gets N hints (N checks and the submission: N + 1 tries, as in the notebook, where an
answer never checked counts as one more try after the checks made) and the smallest penalty that never
gives more than the bank's credit list at any of those tries. A problem with no checks keeps penalty 0
and no hints (one try). Which behaviour the quiz uses, how many quiz attempts it allows, its dates
and its review options are the quiz's settings, not the question bank's: the export prints what to
set (`moodle_policy_notes`).
"""

import html
import math
import re
from dataclasses import dataclass
from fractions import Fraction

from lxml import etree

from grader.bank.policy import duration_text
from grader.kinds.choice import as_key_set
from grader.kinds.rules import rule_for

from .common import (
    ExportError,
    Skip,
    as_number,
    draw_variants,
    hints_html,
    inline_html,
    is_finite_number,
    misconception_values,
    nominal_tolerance,
    number_text,
    option_feedback,
    percents,
    policy_of,
    prompt_html,
    quiz_rules,
    refuse_unless_same_grades,
    table_cells,
)

# The grades Moodle offers for an answer (question_bank::fraction_options_full), in percent.
MOODLE_PERCENTS = ("100", "90", "83.33333", "80", "75", "70", "66.66667", "60", "50", "40", "33.33333",
                   "30", "25", "20", "16.66667", "14.28571", "12.5", "11.11111", "10", "5", "0")
MOODLE_GRADES = {text: float(text) / 100 for text in MOODLE_PERCENTS}
MOODLE_GRADES.update({f"-{text}": -float(text) / 100 for text in MOODLE_PERCENTS if text != "0"})
GRADE_SLACK = 1e-6   # Moodle's percentages carry 7 significant digits

MAX_CLOZE_ENTRIES = 16


def moodle_percent(fraction):
    """The percentage text Moodle offers for `fraction` (e.g. 1/3 -> '33.33333'), or None."""
    for text, grade in MOODLE_GRADES.items():
        if abs(grade - fraction) <= GRADE_SLACK:
            return text
    return None


def _percent_or_refuse(problem, fraction, what):
    text = moodle_percent(fraction)
    if text is None:
        raise ExportError(f"problem '{problem.id}': {what} earns {fraction:g} of the points, which is not "
                          f"one of Moodle's grades ({', '.join(MOODLE_PERCENTS)} %)")
    return text


# --- XML helpers ------------------------------------------------------------------------------

def _text(parent, tag, value, html_format=False, **attributes):
    element = etree.SubElement(parent, tag, **attributes)
    if html_format:
        element.set("format", "html")
    etree.SubElement(element, "text").text = etree.CDATA(value) if html_format and value else value
    return element


def _question(qtype, problem, variant, text):
    question = etree.Element("question", type=qtype)
    _text(question, "name", f"{problem.id} {variant.key}")
    _text(question, "questiontext", f"<h4>{html.escape(problem.title)}</h4>\n{text}", html_format=True)
    _text(question, "generalfeedback", hints_html(problem), html_format=True)
    if qtype != "cloze":
        etree.SubElement(question, "defaultgrade").text = number_text(problem.points)
    etree.SubElement(question, "penalty").text = "0"
    etree.SubElement(question, "hidden").text = "0"
    etree.SubElement(question, "idnumber").text = f"{problem.id}-{variant.key}"
    return question


def _answer(question, percent, text, feedback, html_format=False):
    answer = etree.SubElement(question, "answer", fraction=percent)
    if html_format:
        answer.set("format", "html")
    etree.SubElement(answer, "text").text = etree.CDATA(text) if html_format else text
    _text(answer, "feedback", html.escape(feedback, quote=False), html_format=True)
    return answer


# --- numeric ----------------------------------------------------------------------------------

def numerical_question(problem, variant, weights="points"):
    if not is_finite_number(variant.expected):
        raise ExportError(f"problem '{problem.id}': variant {variant.key} has no finite numeric answer")
    rule = rule_for(problem.compare, variant.expected)
    question = _question("numerical", problem, variant, prompt_html(problem, variant.values))
    centre, tolerance = nominal_tolerance(rule, variant.expected)
    etree.SubElement(_answer(question, "100", number_text(centre), "Correct."),
                     "tolerance").text = number_text(tolerance)
    for misconception, value in misconception_values(problem, variant.values):
        if not is_finite_number(value):
            continue
        percent = _percent_or_refuse(problem, misconception.credit, f"misconception '{misconception.id}'")
        centre, tolerance = nominal_tolerance(rule, value)
        answer = _answer(question, percent, number_text(centre), misconception.feedback)
        etree.SubElement(answer, "tolerance").text = number_text(tolerance)
    for tag, value in (("unitgradingtype", "0"), ("unitpenalty", "0"), ("showunits", "3"), ("unitsleft", "0")):
        etree.SubElement(question, tag).text = value
    return question


# --- choice -----------------------------------------------------------------------------------

def choice_fractions(problem, values):
    """{option key: fraction} for Moodle, and {key: [feedback]} from the misconceptions."""
    correct = as_key_set(problem.answer.evaluate(values))
    feedback = option_feedback(problem, correct)
    if problem.multiple:
        share = 1.0 / len(correct)
        return {key: share if key in correct else -share for key in problem.options}, feedback
    fractions = {key: 1.0 if key in correct else 0.0 for key in problem.options}
    for misconception in problem.misconceptions:
        keys = as_key_set(misconception.option)
        if len(keys) == 1 and not keys & correct:
            fractions[next(iter(keys))] = max(fractions[next(iter(keys))], misconception.credit)
    return fractions, feedback


def moodle_choice_grade(fractions, picked, multiple):
    """Moodle's grade for a pick: one answer -> its fraction; several -> the sum, clamped to [0, 1]."""
    if not multiple:
        return fractions[next(iter(picked))] if len(picked) == 1 else 0.0
    return min(1.0, max(0.0, sum(fractions[key] for key in picked)))


def multichoice_question(problem, variant, weights="points"):
    fractions, feedback = choice_fractions(problem, variant.values)
    refuse_unless_same_grades(problem, variant.values,
                              lambda picked: moodle_choice_grade(fractions, picked, problem.multiple), "Moodle")
    question = _question("multichoice", problem, variant, prompt_html(problem, variant.values))
    for key, text in problem.options.items():
        percent = _percent_or_refuse(problem, fractions[key], f"option {key}")
        label = f"<b>{html.escape(key)}.</b> " + inline_html(text)
        _answer(question, percent, label, " ".join(feedback[key]), html_format=True)
    for tag, value in (("single", "false" if problem.multiple else "true"), ("shuffleanswers", "0"),
                       ("answernumbering", "none")):
        etree.SubElement(question, tag).text = value
    _text(question, "correctfeedback", "Correct.", html_format=True)
    _text(question, "partiallycorrectfeedback", "Partly right.", html_format=True)
    _text(question, "incorrectfeedback", "Not the correct option" + ("s." if problem.multiple else "."),
          html_format=True)
    return question


# --- Cloze (tables and arrays) -----------------------------------------------------------------

# How Moodle reads a Cloze field back (qtype_multianswer_extract_question, on import and on save):
# an answer ends at the first ~ # or } not preceded by \ & or &amp; (so entities such as &#35;
# can stand in an answer), a feedback at the first ~ or } not preceded by \; then each is
# html_entity_decode()d once (ENT_QUOTES) and only \} and \# are turned into } and # (a \/ or \~
# stays as written, backslash included). The feedback is stored as HTML; an answer is plain text
# (a short answer is matched with * as a wildcard and \* as a literal star).
# So what Moodle needs is entities, decoded exactly once, for its separators and for &.
_CLOZE_FEEDBACK_SEPARATORS = str.maketrans({"~": "&#126;", "}": "&#125;"})
_CLOZE_ANSWER_SPECIAL = str.maketrans({"&": "&#38;", "~": "&#126;", "#": "&#35;", "}": "&#125;", "*": "&#92;*"})


def cloze_feedback(text):
    """Plain-text feedback inside a Cloze field, so that Moodle stores the HTML that shows `text`.

    The HTML (`text` escaped, a backslash as &#92; so that Moodle's \\} and \\# replacement cannot
    touch it) has every & escaped once more, because Moodle decodes entities once before storing it,
    and ~ and } written as entities, because they would end the feedback."""
    shown = html.escape(str(text), quote=False).replace("\\", "&#92;")
    return shown.replace("&", "&amp;").translate(_CLOZE_FEEDBACK_SEPARATORS)


def cloze_answer(problem, text):
    """A text answer inside a Cloze field (SHORTANSWER, MULTICHOICE) that Moodle reads back as `text`:
    & ~ # } as entities, * as \\* (a literal star for the short-answer matcher). A backslash cannot be
    written so that Moodle keeps it before } or # (it decodes entities before replacing \\} and \\#):
    such an answer is refused."""
    text = str(text)
    if "\\" in text:
        raise ExportError(f"problem '{problem.id}': the answer {text!r} has a backslash, which a Moodle Cloze "
                          f"answer cannot hold as written")
    return text.translate(_CLOZE_ANSWER_SPECIAL)


def cloze_numerical(problem, rule, expected, wrong, weight=1):
    """{w:NUMERICAL:=answer:tol#Correct~%credit%value:tol#feedback…}; wrong: [(Misconception, value)]."""
    centre, tolerance = nominal_tolerance(rule, expected)
    parts = [f"={number_text(centre)}:{number_text(tolerance)}#Correct."]
    for misconception, value in wrong:
        if not is_finite_number(value) or as_number(value) == as_number(expected):
            continue
        percent = _percent_or_refuse(problem, misconception.credit, f"misconception '{misconception.id}'")
        centre, tolerance = nominal_tolerance(rule, value)
        parts.append(f"%{percent}%{number_text(centre)}:{number_text(tolerance)}"
                     f"#{cloze_feedback(misconception.feedback)}")
    return "{" + f"{weight}:NUMERICAL:" + "~".join(parts) + "}"


def _cloze_boolean(problem, expected, wrong, weight):
    parts = []
    for option in (True, False):
        if option == bool(expected):
            parts.append(f"={option}#Correct.")
            continue
        match = next((m for m, value in wrong if isinstance(value, (bool,)) and value == option), None)
        if match is None:
            parts.append(f"{option}")
        else:
            percent = _percent_or_refuse(problem, match.credit, f"misconception '{match.id}'")
            parts.append(f"%{percent}%{option}#{cloze_feedback(match.feedback)}")
    return "{" + f"{weight}:MULTICHOICE:" + "~".join(parts) + "}"


def _is_number(value):
    try:
        as_number(value)
        return True
    except TypeError:
        return False


def _cell_field(problem, cell, wrong, weights):
    """The Cloze markup of one table cell; `wrong`: [(Misconception, that table's value of the cell)];
    `weights`: an iterator over the boxes' weights in field order (a tuple cell takes one per entry)."""
    cell = cell.item() if hasattr(cell, "item") and getattr(cell, "ndim", 1) == 0 else cell
    if isinstance(cell, bool) or type(cell).__name__ == "bool_":
        return _cloze_boolean(problem, bool(cell), [(m, bool(v)) for m, v in wrong], next(weights))
    if _is_number(cell):
        return cloze_numerical(problem, rule_for(problem.compare, cell), cell, wrong, next(weights))
    if isinstance(cell, str):
        return "{" + f"{next(weights)}:SHORTANSWER:={cloze_answer(problem, cell)}#Correct." + "}"
    if isinstance(cell, (tuple, list)) and cell and all(_is_number(item) for item in cell):
        fields = []
        for index, item in enumerate(cell):
            entry_wrong = [(m, v[index]) for m, v in wrong if isinstance(v, (tuple, list)) and len(v) == len(cell)]
            fields.append(cloze_numerical(problem, rule_for(problem.compare, cell), item, entry_wrong, next(weights)))
        return "(" + ", ".join(fields) + ")"
    raise Skip(f"a table cell of type {type(cell).__name__} has no Cloze field")


WEIGHT_MODES = ("points", "equal")


def cloze_weights(problem, shares, mode="points"):
    """The whole-number weight of each Cloze box, given each box's intended share of the grade
    (`shares`, summing to 1), in field order.

    "points": weights that add up to the problem's points (Moodle makes that the question's mark),
    each the floor or the ceiling of points x share (largest remainders; among equal remainders the
    extra weights are spread evenly over the boxes). "equal": the smallest whole weights in the
    ratio of the shares (the question's mark is then their sum)."""
    if mode == "equal":
        exact = [Fraction(share).limit_denominator(10 ** 6) for share in shares]
        scale = math.lcm(*(share.denominator for share in exact))
        whole = [int(share * scale) for share in exact]
        common = math.gcd(*whole)
        return [weight // common for weight in whole]
    if mode != "points":
        raise ExportError(f"Cloze weights: expected one of {', '.join(WEIGHT_MODES)}, got {mode!r}")
    points = float(problem.points)
    if not points.is_integer():
        raise ExportError(f"problem '{problem.id}': {number_text(points)} points cannot be a Moodle Cloze question's "
                          f"mark, which is a sum of whole-number box weights (use whole points, or "
                          f"--cloze-weights equal and set the quiz slot's mark)")
    total = int(points)
    quotas = [total * share for share in shares]
    weights = [math.floor(quota + 1e-9) for quota in quotas]
    left = total - sum(weights)
    remainders = sorted({round(quota - weight, 9) for quota, weight in zip(quotas, weights)}, reverse=True)
    for remainder in remainders:
        if left <= 0:
            break
        tied = [i for i, (quota, weight) in enumerate(zip(quotas, weights)) if round(quota - weight, 9) == remainder]
        chosen = tied if len(tied) <= left else [tied[(2 * k + 1) * len(tied) // (2 * left)] for k in range(left)]
        for index in chosen:
            weights[index] += 1
        left -= len(chosen)
    return weights


def table_shares(cells):
    """Each box's share of a table's grade: every cell the same (as the notebook grades), a tuple
    cell's share split evenly over its entries; in field order."""
    shares = []
    for _label, _column, value in cells:
        parts = len(value) if isinstance(value, (tuple, list)) else 1
        shares.extend([1 / (len(cells) * parts)] * parts)
    return shares


_FIELD_WEIGHT = re.compile(r"\{(\d+):(?:NUMERICAL|MULTICHOICE|SHORTANSWER):")


def cloze_mark(question):
    """A Cloze question's mark in Moodle: the sum of its fields' weights."""
    return sum(int(weight) for weight in _FIELD_WEIGHT.findall(question.findtext("questiontext/text")))


def cloze_weight_list(question):
    return [int(weight) for weight in _FIELD_WEIGHT.findall(question.findtext("questiontext/text"))]


def weights_note(uneven, mode):
    """One line for the export's output: the problems whose Cloze boxes do not weigh the same
    ("points") or whose Cloze questions' own mark is not their points ("equal")."""
    if mode == "equal":
        listed = "; ".join(f"{problem_id}: {', '.join(map(str, marks))} (points {number_text(points)})"
                           for problem_id, points, marks in uneven)
        return (f"with --cloze-weights equal every box weighs the same and Moodle makes a Cloze question's mark "
                f"the sum of the weights, so these questions' own mark is not their points: {listed}. A quiz gives "
                f"a question the mark of its slot: set each slot's mark to the problem's points (a random-question "
                f"slot starts at 1)")
    listed = "; ".join(f"{problem_id} ({zero} of {boxes} boxes weigh 0)" if zero else f"{problem_id}"
                       for problem_id, zero, boxes in uneven)
    return (f"Moodle weighs Cloze boxes in whole numbers, which here add up to each problem's points (the "
            f"question's mark), so in these problems the boxes do not all weigh the same: {listed}. "
            f"--cloze-weights equal keeps every box's weight equal (the question's own mark is then the sum of "
            f"the weights: set the quiz slot's mark to the points)")


def cloze_table_question(problem, variant, weights="points"):
    cells = table_cells(problem, variant.values, variant.expected)
    wrong_tables = [(m, table_cells(problem, variant.values, value))
                    for m, value in misconception_values(problem, variant.values)
                    if isinstance(value, (list, tuple)) and len(value) == len(variant.expected)]
    box_weights = iter(cloze_weights(problem, table_shares(cells), weights))
    columns = problem.table.columns
    rows = {}
    for index, (label, _column, value) in enumerate(cells):
        wrong = [(m, table[index][2]) for m, table in wrong_tables if len(table) == len(cells)]
        rows.setdefault(label, []).append(_cell_field(problem, value, wrong, box_weights))
    header = "".join(f"<th>{html.escape(str(column))}</th>" for column in columns)
    body = "".join(f"<tr><th>{html.escape(label)}</th>" + "".join(f"<td>{field}</td>" for field in fields) + "</tr>"
                   for label, fields in rows.items())
    grid = f'<table class="generaltable"><tr><th></th>{header}</tr>{body}</table>'
    return _question("cloze", problem, variant, prompt_html(problem, variant.values) + grid)


def cloze_array_question(problem, variant, weights="points"):
    import numpy as np

    expected = np.asarray(variant.expected)
    if expected.dtype.kind not in "iuf":
        raise Skip("the answer is not an array of numbers")
    if expected.size > MAX_CLOZE_ENTRIES:
        raise Skip(f"{expected.size} entries (shape {expected.shape}): more than {MAX_CLOZE_ENTRIES} Cloze fields")
    rule = rule_for(problem.compare, variant.expected)
    wrong = [(m, np.asarray(value)) for m, value in misconception_values(problem, variant.values)
             if np.shape(value) == expected.shape]
    width = expected.shape[-1] if expected.ndim else 1
    box_weights = iter(cloze_weights(problem, [1 / expected.size] * expected.size, weights))
    rows = []
    for index in np.ndindex(*expected.shape[:-1]) if expected.ndim > 1 else [()]:
        label = "[" + ", ".join([*map(str, index), ":"]) + "]" if expected.ndim > 1 else ""
        fields = [cloze_numerical(problem, rule, expected[index + (j,)] if expected.ndim else expected[()],
                                  [(m, value[index + (j,)]) for m, value in wrong], next(box_weights))
                  for j in range(width)]
        rows.append(f"<tr><th>{label}</th>" + "".join(f"<td>{field}</td>" for field in fields) + "</tr>")
    grid = f'<p>Shape {expected.shape}: one box per entry.</p><table class="generaltable">{"".join(rows)}</table>'
    return _question("cloze", problem, variant, prompt_html(problem, variant.values) + grid)


def function_skipped(problem, variant, weights="points"):
    raise Skip("Moodle cannot run a student's Python function: grade it in the notebook")


MOODLE_BY_KIND = {
    "numeric": numerical_question,
    "choice": multichoice_question,
    "table": cloze_table_question,
    "array": cloze_array_question,
    "function": function_skipped,
}


# --- checks before the deadline -----------------------------------------------------------------

PENALTY_DIGITS = 7        # Moodle stores a question's penalty as a decimal with 7 places
HINT_HTML = "<p>Not right yet: check your working and try again.</p>"


@dataclass(frozen=True)
class MoodleTries:
    """A problem's checks as Moodle's interactive behaviour holds them."""

    hints: int                  # Moodle's tries are hints + 1: the checks and the submission
    penalty: float              # taken off the fraction for each try before the graded one
    ours: tuple                 # the share the notebook keeps at try 1 … hints + 1
    moodle: tuple               # the share Moodle keeps at each of those tries (a fully right answer)

    @property
    def exact(self):
        return all(abs(a - b) <= GRADE_SLACK for a, b in zip(self.ours, self.moodle))

    @property
    def penalty_text(self):
        return f"{self.penalty:.{PENALTY_DIGITS}f}".rstrip("0").rstrip(".")


def moodle_tries(policy):
    """The hints and penalty of a problem with `policy` (grader.bank.policy.CheckPolicy), or None when
    it has no checks (today's single try, penalty 0).

    Moodle has one penalty per question: after k wrong tries a right answer keeps 1 − k·penalty (at
    least 0). The bank has a share per try (the last entry repeating), which a single penalty can
    only follow when the steps are equal. The rule: the smallest penalty that never gives more than
    the bank at any try the problem allows (tries 2 … checks + 1):

        penalty = max over n of (1 − credit(n)) / (n − 1),   rounded to Moodle's 7 decimals

    so Moodle never gives a student more than the notebook would (a student can only lose where the
    list is not a straight line, e.g. its repeated last entry). Equal steps (1, 0.75, 0.5, …) and a
    list of 1s (checks at no cost: penalty 0) are exact. A first try below 1 cannot be expressed
    (Moodle's first try keeps the whole fraction). The penalty is subtracted from the answer's
    fraction, where the notebook multiplies the answer's credit by the share: a partly right answer
    (a misconception's credit, some of a Cloze question's boxes) loses the whole penalty in Moodle."""
    if policy.checks <= 0:
        return None
    tries = policy.checks + 1
    ours = tuple(policy.credit_of_try(n) for n in range(1, tries + 1))
    needed = [(1 - ours[n - 1]) / (n - 1) for n in range(2, tries + 1)]
    penalty = round(min(1.0, max([0.0, *needed])), PENALTY_DIGITS)
    moodle = tuple(max(0.0, 1 - (n - 1) * penalty) for n in range(1, tries + 1))
    return MoodleTries(hints=policy.checks, penalty=penalty, ours=ours, moodle=moodle)


def apply_tries(question, tries):
    """Set a question's penalty and give it one hint per check (Moodle keeps a hint only with text)."""
    if tries is None:
        return question
    question.find("penalty").text = tries.penalty_text
    for _ in range(tries.hints):
        _text(question, "hint", HINT_HTML, html_format=True)
    return question


def moodle_policy_notes(bank, selection, exported):
    """Lines for the export's output: what the question bank cannot carry (the quiz's behaviour,
    attempts, dates, review options) and the problems whose credit list Moodle's single penalty does
    not follow (what they lose or gain, try by try). Empty without checks and dates."""
    notes = []
    chosen = set(exported)
    policies = [(problem.id, policy_of(bank, assignment_id, problem)) for assignment_id, problem in selection.items
                if problem.id in chosen]
    checked = [(problem_id, policy, moodle_tries(policy)) for problem_id, policy in policies if policy.checks > 0]
    if checked:
        reveals = sorted({policy.reveal for _, policy, _ in checked})
        notes.append("Moodle's question bank holds each question's tries (a hint per check: checks + 1 tries) and its "
                     "penalty per wrong try; the quiz decides the rest: set 'How questions behave' to 'Interactive "
                     "with multiple tries' (other behaviours ignore tries and penalties) and 'Attempts allowed' to 1 "
                     "(a new quiz attempt would start the tries again on other variants)")
        feedback = ("untick 'Specific feedback' under 'During the attempt' (reveal: verdict: right or not only)"
                    if reveals == ["verdict"] else
                    "tick 'Specific feedback' under 'During the attempt' (the misconceptions' feedback; Moodle has "
                    "no error band, so reveal: band shows the same)" if "verdict" not in reveals else
                    "the problems' reveal levels differ (" + ", ".join(reveals) + "), and 'Specific feedback' under "
                    "'During the attempt' is one quiz setting: tick it for misconception/band, untick it for verdict")
        notes.append(f"Moodle review options: {feedback}; never tick 'Right answer' during the attempt (a check "
                     f"never shows the expected value)")
        groups = {}
        for problem_id, _policy, tries in checked:
            if not tries.exact:
                groups.setdefault((tries.ours, tries.moodle, tries.penalty_text), []).append(problem_id)
        for (ours, moodle, penalty), problem_ids in groups.items():
            changes = []
            for number, (mine, theirs) in enumerate(zip(ours, moodle), start=1):
                if abs(mine - theirs) > GRADE_SLACK:
                    verb = "loses" if theirs < mine else "gains"
                    changes.append(f"try {number} {verb} {abs(mine - theirs):.0%}")
            notes.append(f"Moodle takes one penalty per wrong try and cannot follow the credit list of "
                         f"{', '.join(problem_ids)}: at tries 1–{len(ours)} the notebook keeps {percents(ours)}, "
                         f"Moodle (penalty {penalty}) {percents(moodle)} of a right answer ({'; '.join(changes)})")
    rules = quiz_rules(bank, selection)
    if rules is not None and rules.dates is not None:
        dates = rules.dates
        steps = "; ".join(f"until {duration_text(step.until)} after it, {step.credit:.0%}" for step in dates.late)
        late = (f" Moodle's quiz has no late credit steps ({steps}): work handed in after the due date keeps its "
                f"whole credit there unless the quiz closes at the due date." if steps else "")
        notes.append(f"Moodle's question bank carries no dates: set the quiz's 'Close the quiz' to "
                     f"{dates.closes().isoformat(timespec='minutes')} (due {dates.due.isoformat(timespec='minutes')}"
                     f"{', the end of the late timeline' if steps else ''}); a student's extension is a user "
                     f"override.{late}")
    return notes


# --- the file ---------------------------------------------------------------------------------

def _category(course, assignment_id, problem_id):
    question = etree.Element("question", type="category")
    _text(question, "category", f"$course$/top/{course}/{assignment_id}/{problem_id}")
    return question


def export_moodle(bank, selection, count, weights="points"):
    """(XML bytes, exported problem ids, [(skipped problem id, reason)], uneven): `weights` is how
    Cloze boxes are weighed (WEIGHT_MODES, `cloze_weights`). uneven: with "points", [(problem id,
    boxes weighing 0, boxes)] for the problems whose Cloze boxes do not all weigh the same in some
    variant; with "equal", [(problem id, points, sorted Cloze marks)] where a variant's mark is not
    the points. Each question's penalty and hints follow its problem's checks (`moodle_tries`)."""
    if weights not in WEIGHT_MODES:
        raise ExportError(f"Cloze weights: expected one of {', '.join(WEIGHT_MODES)}, got {weights!r}")
    quiz = etree.Element("quiz")
    exported, skipped, uneven = [], [], []
    for assignment_id, problem in selection.items:
        convert = MOODLE_BY_KIND[problem.kind]
        tries = moodle_tries(policy_of(bank, assignment_id, problem))
        try:
            questions = [apply_tries(convert(problem, variant, weights), tries)
                         for variant in draw_variants(bank, problem, assignment_id, count)]
        except Skip as reason:
            skipped.append((problem.id, str(reason)))
            continue
        quiz.append(_category(bank.course, assignment_id, problem.id))
        quiz.extend(questions)
        exported.append(problem.id)
        clozes = [q for q in questions if q.get("type") == "cloze"]
        if weights == "equal":
            marks = sorted({cloze_mark(q) for q in clozes})
            if any(mark != problem.points for mark in marks):
                uneven.append((problem.id, problem.points, marks))
            continue
        box_weights = [cloze_weight_list(q) for q in clozes]
        if any(len(set(found)) > 1 for found in box_weights):
            worst = max(box_weights, key=lambda found: (found.count(0), len(found)))
            uneven.append((problem.id, worst.count(0), len(worst)))
    data = etree.tostring(quiz, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data, exported, skipped, uneven
