"""The targets' own grading rules, written from their documentation and source, to grade exports.

Moodle numerical (qtype_numerical, nominal tolerance): the answers are tried in file order and the
first with |x − answer| ≤ tolerance gives its fraction; none gives 0. Multichoice: one answer ->
the picked answer's fraction; several -> the sum of the picked fractions, clamped to [0, 1].
Cloze fields: {weight:TYPE:=answer:tol#feedback~%percent%answer:tol#feedback}, read back as Moodle's
qtype_multianswer does (below): entities decoded once, and only \\} and \\# unescaped.
Canvas Classic Quizzes (app/models/quizzes/quiz_question/*.rb): a numerical answer matches when
min ≤ x ≤ max (or x equals the exact value), any match is full credit; multiple answers scores
(right − wrong)/number correct, at least 0; multiple choice is all or nothing.
"""

import re

MOODLE_GRADE_PERCENTS = {100, 90, 83.33333, 80, 75, 70, 66.66667, 60, 50, 40, 33.33333, 30, 25, 20, 16.66667,
                         14.28571, 12.5, 11.11111, 10, 5, 0}
MOODLE_GRADE_PERCENTS |= {-value for value in MOODLE_GRADE_PERCENTS}


def moodle_numerical_grade(answers, x):
    """answers: [(fraction 0..1, value, tolerance)] in file order."""
    for fraction, value, tolerance in answers:
        if abs(x - value) <= tolerance:
            return fraction
    return 0.0


def moodle_choice_grade(fractions, picked, single):
    if single:
        return fractions[next(iter(picked))] if len(picked) == 1 else 0.0
    return min(1.0, max(0.0, sum(fractions[key] for key in picked)))


# --- Moodle Cloze (qtype_multianswer), as question/type/multianswer/questiontype.php reads it ------------
# qtype_multianswer_extract_question() runs on XML import (qformat_xml::import_multianswer) and on every
# save. A field is {weight:TYPE:alternatives}; an alternative is [=|%percent%]answer[#feedback], and
# alternatives are joined by ~. An answer runs lazily up to a ~ # or } that is not preceded by \ & or
# &amp;; a feedback up to a ~ or } not preceded by \. Each is then html_entity_decode()d once
# (ENT_QUOTES, HTML 4.01 entities) and only "\}" and "\#" become "}" and "#". A NUMERICAL answer that
# reads as number[:tolerance] keeps the number as written. The question's mark (defaultmark) is the
# sum of the weights, an empty weight counting 1: Moodle's XML import ignores <defaultgrade> for Cloze.

CLOZE_TYPES = {name: qtype for names, qtype in (
    (("NUMERICAL", "NM"), "NUMERICAL"),
    (("MULTICHOICE", "MC", "MULTICHOICE_V", "MCV", "MULTICHOICE_H", "MCH", "MULTICHOICE_S", "MCS",
      "MULTICHOICE_VS", "MCVS", "MULTICHOICE_HS", "MCHS"), "MULTICHOICE"),
    (("SHORTANSWER", "SA", "MW", "SHORTANSWER_C", "SAC", "MWC"), "SHORTANSWER"),
    (("MULTIRESPONSE", "MR", "MULTIRESPONSE_H", "MRH", "MULTIRESPONSE_S", "MRS", "MULTIRESPONSE_HS", "MRHS"),
     "MULTIRESPONSE")) for name in names}

_FRACTION = r"=|%(-?[0-9]+(?:[.,][0-9]*)?)%"
_ANSWER = r".+?(?<!\\)(?<!&)(?<!&amp;)(?=[~#}]|$)"    # PCRE's (?<!\\|&|&amp;), one look-behind each
_FEEDBACK = r".*?(?<!\\)(?=[~}]|$)"
_ALTERNATIVE = f"({_FRACTION})?({_ANSWER})(#({_FEEDBACK}))?"   # groups: 1 '=' or %..%, 2 percent, 3 answer, 5 feedback
_TYPE_NAMES = "|".join(sorted(CLOZE_TYPES, key=lambda name: -len(name)))
_CLOZE_FIELD = re.compile(r"\{([0-9]*):(" + _TYPE_NAMES + r"):(" + _ALTERNATIVE + "(~" + _ALTERNATIVE + r")*)\}",
                          re.DOTALL)
_ONE_ALTERNATIVE = re.compile("~?" + _ALTERNATIVE, re.DOTALL)
_NUMBER = r"-?(([0-9]+[.,]?[0-9]*|[.,][0-9]+)([eE][-+]?[0-9]+)?)"
_NUMERICAL = re.compile(f"^({_NUMBER})(:{_NUMBER})?$", re.DOTALL)      # group 1 the answer, 6 the tolerance
_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def php_html_entity_decode(text):
    """PHP's html_entity_decode($text, ENT_QUOTES, 'UTF-8'): numeric references and the HTML 4.01
    named entities (&apos; is not one), each decoded once, left to right; anything else kept."""
    from html.entities import name2codepoint

    def decode(match):
        name = match.group(1)
        if name.startswith("#"):
            code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
            return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else match.group(0)
        return chr(name2codepoint[name]) if name in name2codepoint else match.group(0)

    return _ENTITY.sub(decode, text)


def _moodle_unquote(text):
    return php_html_entity_decode(text).replace("\\}", "}").replace("\\#", "#")


def moodle_cloze_extract(question_html):
    """What Moodle stores for a Cloze question text: (question text with {#1} {#2} … in place of the
    fields, [(weight, TYPE, [(fraction, answer, tolerance or None, feedback HTML)])])."""
    text, fields = question_html, []
    while (match := _CLOZE_FIELD.search(text)) is not None:
        weight, kind = int(match.group(1) or "1"), CLOZE_TYPES[match.group(2)]
        answers, remaining = [], match.group(3)
        while (alternative := _ONE_ALTERNATIVE.search(remaining)) is not None:
            mark, percent, answer, feedback = (alternative.group(i) for i in (1, 2, 3, 5))
            fraction = 1.0 if mark == "=" else 0.01 * float(percent.replace(",", ".")) if percent else 0.0
            number = _NUMERICAL.match(answer) if kind == "NUMERICAL" else None
            if number:
                answer, tolerance = number.group(1), float(number.group(6) or 0)
            else:
                answer, tolerance = _moodle_unquote(answer), None
            answers.append((fraction, answer, tolerance, _moodle_unquote(feedback or "")))
            remaining = remaining.split(alternative.group(0), 1)[1]
        fields.append((weight, kind, answers))
        text = text.replace(match.group(0), "{#%d}" % len(fields), 1)
    return text, fields


def cloze_fields(question_html):
    """[(weight, TYPE, [(fraction 0..1, answer text, tolerance or None, feedback HTML)])] in order."""
    fields = moodle_cloze_extract(question_html)[1]
    for _weight, _kind, answers in fields:
        for fraction, _answer, _tolerance, _feedback in answers:
            assert round(fraction * 100, 5) in MOODLE_GRADE_PERCENTS, fraction
    return fields


def moodle_cloze_mark(question_html):
    """The question's default mark after import: the sum of its fields' weights."""
    return sum(weight for weight, _, _ in moodle_cloze_extract(question_html)[1])


def shown_text(feedback_html):
    """The text a student reads where Moodle shows this HTML (tags dropped, entities decoded)."""
    from lxml import html as lxml_html

    return lxml_html.fragment_fromstring(feedback_html, create_parent="div").text_content() if feedback_html else ""


def moodle_shortanswer_accepts(pattern, response):
    """qtype_shortanswer (case-insensitive): * is a wildcard for any run of characters, \\* a star."""
    pieces = re.split(r"(?<!\\)\*+", pattern)
    regex = ".*".join(re.escape(piece.replace("\\*", "*")) for piece in pieces)
    return re.fullmatch(regex, response, re.IGNORECASE | re.DOTALL) is not None


def canvas_numerical_accepts(exact, low, high, x):
    return x == exact or low <= x <= high


def canvas_choice_grade(correct, picked, multiple):
    if not multiple:
        return 1.0 if picked == correct else 0.0
    return max(0.0, (len(picked & correct) - len(picked - correct)) / len(correct))
