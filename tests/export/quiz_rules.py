"""The targets' own grading rules, written from their documentation and source, to grade exports.

Moodle numerical (qtype_numerical, nominal tolerance): the answers are tried in file order and the
first with |x − answer| ≤ tolerance gives its fraction; none gives 0. Multichoice: one answer ->
the picked answer's fraction; several -> the sum of the picked fractions, clamped to [0, 1].
Cloze fields: {weight:TYPE:=answer:tol#feedback~%percent%answer:tol#feedback}, with \\ escaping
} # ~ / " and \\ itself.
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


_FIELD = re.compile(r"\{(\d+):(NUMERICAL|MULTICHOICE|SHORTANSWER):((?:\\.|[^\\}])*)\}")


def _split(text, separator):
    """Split on `separator` where it is not backslash-escaped."""
    parts, current, escaped = [], "", False
    for ch in text:
        if escaped:
            current += "\\" + ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == separator:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current + ("\\" if escaped else ""))
    return parts


def _unescape(text):
    return re.sub(r"\\(.)", r"\1", text)


def cloze_fields(question_html):
    """[(weight, type, [(fraction 0..1, answer text, tolerance or None, feedback)])] in order."""
    fields = []
    for weight, kind, body in _FIELD.findall(question_html):
        answers = []
        for part in _split(body, "~"):
            pieces = _split(part, "#")
            answer, feedback = pieces[0], "#".join(pieces[1:])
            if answer.startswith("="):
                fraction, answer = 1.0, answer[1:]
            elif answer.startswith("%"):
                percent, answer = answer[1:].split("%", 1)
                assert float(percent) in MOODLE_GRADE_PERCENTS, percent
                fraction = float(percent) / 100
            else:
                fraction = 0.0
            tolerance = None
            if kind == "NUMERICAL":
                answer, tolerance = answer.split(":")
                tolerance = float(tolerance)
            answers.append((fraction, _unescape(answer), tolerance, _unescape(feedback)))
        fields.append((int(weight), kind, answers))
    return fields


def canvas_numerical_accepts(exact, low, high, x):
    return x == exact or low <= x <= high


def canvas_choice_grade(correct, picked, multiple):
    if not multiple:
        return 1.0 if picked == correct else 0.0
    return max(0.0, (len(picked & correct) - len(picked - correct)) / len(correct))
