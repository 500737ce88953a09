"""Grade one answer against a problem's variant: grade_answer(problem, answer, values) -> Result.

Rules (docs/bank-format.md, *Comparison rules*): `exact`, `close` (|a − e| ≤ atol + rtol·|e|
element-wise), `sigfigs`, `choice` (optionally with partial credit). A wrong answer that
matches a misconception's value under the same rule earns that misconception's credit
and feedback. Messages never contain the expected value.
"""

import copy
import json
import math
from dataclasses import dataclass, field

import numpy as np

from grader.bank.expressions import Expression

CLOSE_DEFAULTS = {"rtol": 1e-3, "atol": 1e-6}


# --- results ------------------------------------------------------------------------------

@dataclass
class Check:
    """The outcome of comparing one value (a number, an array, a cell, a case)."""

    ok: bool
    message: str = ""
    absolute: float | None = None
    relative: float | None = None


@dataclass
class Result:
    problem_id: str
    fraction: float
    points: float
    max_points: float
    correct: bool
    misconception: str | None
    message: str
    rule: str
    error: dict | None = None
    parts: list = field(default_factory=list)
    secret: bool = False

    def to_json(self):
        """One line of JSON for the hidden test's output. Never holds the expected value."""
        data = {
            "problem": self.problem_id,
            "fraction": _finite_or_none(self.fraction),
            "points": _finite_or_none(self.points),
            "max_points": _finite_or_none(self.max_points),
            "correct": self.correct,
            "misconception": self.misconception,
            "message": self.message,
            "rule": self.rule,
        }
        if not self.secret and self.error is not None:
            data["error"] = {key: _finite_or_none(value) for key, value in self.error.items()}
        if self.parts:
            data["parts"] = [_public_part(part, self.secret) for part in self.parts]
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _finite_or_none(value):
    if value is None or isinstance(value, bool):
        return value
    value = float(value)
    return value if math.isfinite(value) else None


def _public_part(part, secret):
    out = {key: value for key, value in part.items() if key != "error" or not secret}
    if "error" in out and out["error"] is not None:
        out["error"] = {key: _finite_or_none(value) for key, value in out["error"].items()}
    return out


# --- rules --------------------------------------------------------------------------------

def _scalar(value):
    if hasattr(value, "detach") and hasattr(value, "numpy") and getattr(value, "ndim", None) == 0:
        value = value.detach().cpu().numpy()  # a 0-d torch tensor
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _is_real(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _is_integer(value):
    value = _scalar(value)
    return isinstance(value, int) and not isinstance(value, bool)


def rule_for(problem, expected=None):
    """The effective rule dict for this problem and expected value (numeric/table default by value)."""
    compare = dict(problem.compare or {})
    if compare.get("rule"):
        return compare
    if expected is not None and _is_exact_by_default(expected):
        return {"rule": "exact"}
    return {"rule": "close", **CLOSE_DEFAULTS}


def _is_exact_by_default(expected):
    """Integers, strings, booleans and tuples/lists of them compare exactly; floats do not."""
    expected = _scalar(expected)
    if isinstance(expected, (bool, str, int)) or expected is None:
        return True
    if isinstance(expected, np.ndarray):
        return expected.dtype.kind in "iub"
    if isinstance(expected, (list, tuple)):
        return all(_is_exact_by_default(item) for item in expected)
    return False


def describe_rule(rule, expected=None, kind="numeric"):
    """A sentence saying what is accepted, e.g. 'accepted within ±0.1 % of the expected value'."""
    name = rule["rule"]
    each = "each entry " if kind in ("array",) else ""
    if name == "exact":
        if expected is not None and _is_integer(expected):
            return "must equal the expected integer exactly"
        return f"{each}must equal the expected value exactly"
    if name == "close":
        rtol, atol = rule.get("rtol", 1e-3), rule.get("atol", 1e-6)
        if rtol == 0:
            return f"{each}accepted within ±{atol:g} of the expected value"
        text = f"{each}accepted within ±{rtol * 100:g} % of the expected value"
        return text + (f" (±{atol:g} near zero)" if atol else "")
    if name == "sigfigs":
        return f"{each}must match the expected value to {rule.get('sigfigs', 3)} significant figures"
    if name == "choice":
        if rule.get("partial"):
            return "partial credit: (right picks − wrong picks) / number of correct options, at least 0"
        return "must pick exactly the correct option(s)"
    return name


def precision_advice(rule):
    """What precision to give so that a right method passes the rule, e.g. 'give at least 4
    significant figures' for ±0.1 %; '' where there is nothing to say (choices, strings)."""
    name = rule["rule"]
    if name == "sigfigs":
        return f"give {rule.get('sigfigs', 3)} significant figures"
    if name == "close":
        rtol, atol = rule.get("rtol", 1e-3), rule.get("atol", 1e-6)
        if rtol > 0:
            return f"give at least {math.ceil(-math.log10(rtol)) + 1} significant figures (do not round early)"
        if atol > 0:
            return f"give at least {max(0, math.ceil(-math.log10(atol)))} decimal places"
    return ""


def rule_statement(problem, values):
    """The sentence a prompt ends with: how the answer of this variant is checked, and what
    precision to give. Uses the same rules as grading (rule_for, describe_rule)."""
    if problem.kind == "choice":
        return describe_rule(dict(problem.compare or {"rule": "choice", "partial": False}), kind="choice")
    if problem.kind == "table":
        if problem.compare:
            rule = rule_for(problem)
            advice = precision_advice(rule)
            return describe_rule(rule, kind="table") + (f"; {advice}" if advice else "")
        return ("integers and tuples must match exactly; other numbers within ±0.1 %: give at least "
                "4 significant figures (do not round early)")
    expected = problem.answer.evaluate(values)
    if problem.kind == "function":
        case = problem.function.cases[0]
        expected = expected(*[argument.evaluate(values) for argument in case])
        rule = rule_for(problem, expected)
        return (f"your function is called on {len(problem.function.cases)} inputs, some of them edge cases; "
                f"each output {describe_rule(rule, expected, 'function')}")
    rule = rule_for(problem, expected)
    advice = precision_advice(rule)
    return describe_rule(rule, expected, problem.kind) + (f"; {advice}" if advice else "")


def _round_sig(value, figures):
    if value == 0:
        return 0.0
    return float(f"{value:.{figures - 1}e}")


def _what(value):
    """A short description of a wrong-typed answer (never the expected value)."""
    if value is None:
        return "None"
    if isinstance(value, (bool, np.bool_)):
        return f"a bool ({bool(value)})"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a {type(value).__name__}"


def _errors(answer, expected):
    absolute = abs(answer - expected)
    relative = absolute / abs(expected) if expected != 0 else None
    return float(absolute), (None if relative is None else float(relative))


def compare_number(answer, expected, rule):
    answer, expected = _scalar(answer), _scalar(expected)
    if answer is None or isinstance(answer, (bool, str)) or not _is_real(answer):
        if isinstance(answer, (list, tuple, np.ndarray)):
            return Check(False, f"expected one number, got {_what(answer)}")
        if isinstance(answer, complex):
            return Check(False, "expected a real number, got a complex number")
        return Check(False, f"expected a number, got {_what(answer)}")
    try:
        finite = math.isfinite(answer)
    except OverflowError:  # an int too large for a float
        finite = False
    if not finite:
        shown = answer if isinstance(answer, float) else "an integer too large for a float"
        return Check(False, f"the answer is {shown}, not a finite number")
    if not math.isfinite(expected):
        return Check(False, "this variant has no finite answer; tell the instructor")
    absolute, relative = _errors(float(answer), float(expected))
    name = rule["rule"]
    if name == "exact":
        ok = answer == expected
        message = "" if ok else "not the expected value"
    elif name == "sigfigs":
        figures = rule.get("sigfigs", 3)
        ok = _round_sig(float(answer), figures) == _round_sig(float(expected), figures)
        message = "" if ok else f"does not match to {figures} significant figures"
    else:
        ok = absolute <= rule.get("atol", 1e-6) + rule.get("rtol", 1e-3) * abs(float(expected))
        message = "" if ok else "outside the tolerance"
    return Check(ok, message, absolute, relative)


def _as_number_array(answer):
    """(array, None) or (None, message) for an answer meant to be an array of numbers."""
    if answer is None or isinstance(answer, (str, bool, dict, set, frozenset)):
        return None, f"expected an array of numbers, got {_what(answer)}"
    if hasattr(answer, "detach") and hasattr(answer, "numpy"):  # a torch tensor
        answer = answer.detach().cpu().numpy()
    try:
        with np.errstate(all="ignore"):
            array = np.asarray(answer)
    except (ValueError, TypeError):
        return None, "could not read the answer as an array of numbers (ragged or mixed lists?)"
    if array.dtype.kind == "b":
        return None, "expected numbers, got booleans"
    if array.dtype.kind not in "iuf":
        return None, "could not read the answer as an array of numbers"
    return array, None


def compare_array(answer, expected, rule):
    expected = np.asarray(expected)
    array, problem = _as_number_array(answer)
    if problem:
        return Check(False, problem)
    if array.shape != expected.shape:
        return Check(False, f"shape {array.shape} is not the expected shape {expected.shape}")
    if array.size and not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.isfinite(array)))
        return Check(False, f"{bad} of {array.size} entries are NaN or infinite")
    expected = expected.astype(float) if expected.dtype.kind != "f" else expected
    with np.errstate(all="ignore"):
        difference = np.abs(array.astype(float) - expected)
        absolute = float(difference.max()) if difference.size else 0.0
        nonzero = expected != 0
        relative = float((difference[nonzero] / np.abs(expected[nonzero])).max()) if nonzero.any() else None
    name = rule["rule"]
    if name == "exact":
        matches = array == expected
        verb = "differ from the expected values"
    elif name == "sigfigs":
        figures = rule.get("sigfigs", 3)
        matches = np.array([_round_sig(float(a), figures) == _round_sig(float(e), figures)
                            for a, e in zip(array.ravel(), expected.ravel())], dtype=bool).reshape(array.shape)
        verb = f"do not match to {figures} significant figures"
    else:
        matches = difference <= rule.get("atol", 1e-6) + rule.get("rtol", 1e-3) * np.abs(expected)
        verb = "are outside the tolerance"
    bad = int(matches.size - np.count_nonzero(matches))
    message = "" if bad == 0 else f"{bad} of {matches.size} entries {verb}"
    return Check(bad == 0, message, absolute, relative)


def _is_number_tree(value):
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "iuf"
    if isinstance(value, (list, tuple)):
        return len(value) > 0 and all(_is_number_tree(item) for item in value)
    return _is_real(value)


def compare_value(answer, expected, rule):
    """Compare any answer with any expected value: numbers, arrays, strings, tuples, dicts."""
    expected = _scalar(expected)
    if _is_real(expected):
        return compare_number(answer, expected, rule)
    if isinstance(expected, np.ndarray) or (isinstance(expected, (list, tuple)) and _is_number_tree(expected)):
        try:
            regular = np.asarray(expected)
        except ValueError:
            regular = None
        if regular is not None and regular.dtype.kind in "iuf":
            return compare_array(answer, regular, rule)
    if isinstance(expected, dict):
        return _compare_dict(answer, expected, rule)
    if isinstance(expected, (list, tuple)):
        return _compare_sequence(answer, expected, rule)
    if isinstance(expected, str):
        if not isinstance(answer, str):
            return Check(False, f"expected a string, got {_what(answer)}")
        ok = answer.strip().casefold() == expected.strip().casefold()
        return Check(ok, "" if ok else "not the expected value")
    try:
        ok = bool(type(_scalar(answer)) is type(expected) and _scalar(answer) == expected)
    except Exception:  # noqa: BLE001 (an answer whose == misbehaves)
        ok = False
    return Check(ok, "" if ok else "not the expected value")


def _combine(checks, what):
    bad = [(key, check) for key, check in checks if not check.ok]
    absolutes = [c.absolute for _, c in checks if c.absolute is not None]
    relatives = [c.relative for _, c in checks if c.relative is not None]
    message = "" if not bad else f"{what} {bad[0][0]}: {bad[0][1].message}"
    return Check(not bad, message, max(absolutes) if absolutes else None, max(relatives) if relatives else None)


def _compare_dict(answer, expected, rule):
    if not isinstance(answer, dict):
        return Check(False, f"expected a dict with keys {', '.join(map(repr, expected))}, got {_what(answer)}")
    missing = [key for key in expected if key not in answer]
    if missing:
        return Check(False, f"missing key {missing[0]!r}")
    return _combine([(repr(key), compare_value(answer[key], value, rule)) for key, value in expected.items()], "key")


def _compare_sequence(answer, expected, rule):
    if isinstance(answer, np.ndarray):
        answer = answer.tolist()
    if not isinstance(answer, (list, tuple)):
        return Check(False, f"expected a sequence of {len(expected)} items, got {_what(answer)}")
    if len(answer) != len(expected):
        return Check(False, f"expected {len(expected)} items, got {len(answer)}")
    return _combine([(str(index), compare_value(a, e, rule)) for index, (a, e) in
                     enumerate(zip(answer, expected))], "item")


# --- kinds --------------------------------------------------------------------------------

def _safe_evaluate(expression, values):
    try:
        return True, expression.evaluate(values)
    except Exception:  # noqa: BLE001 (a misconception that does not apply to this variant)
        return False, None


def _make_result(problem, fraction, rule_text, message, *, misconception=None, error=None, parts=None):
    fraction = min(1.0, max(0.0, float(fraction)))
    return Result(problem_id=problem.id, fraction=fraction, points=round(fraction * problem.points, 6),
                  max_points=float(problem.points), correct=fraction >= 1.0, misconception=misconception,
                  message=message, rule=rule_text, error=error, parts=parts or [], secret=problem.secret)


# How far off an answer was is published in coarse bands only: fine enough to tell a slip from
# a wrong method, too coarse to give the expected value away (the answer plus an exact error
# would). The finest band, 1 %, is ten times the default tolerance.
RELATIVE_BANDS = (0.01, 0.1, 0.5, 1.0)


def error_band(absolute, relative):
    """{'relative_at_most': b}, {'relative_above': 1.0}, or, where the expected value is 0,
    {'absolute_at_most': the power of ten at or above the error}; None when there is no error."""
    if absolute is None or not math.isfinite(absolute) or absolute == 0:
        return None
    if relative is not None:
        bound = next((b for b in RELATIVE_BANDS if relative <= b), None)
        return {"relative_at_most": bound} if bound is not None else {"relative_above": RELATIVE_BANDS[-1]}
    return {"absolute_at_most": 10.0 ** math.ceil(math.log10(absolute))}


def _error_dict(check):
    return error_band(check.absolute, check.relative)


def _grade_value(problem, answer, values, expected):
    rule = rule_for(problem, expected)
    text = describe_rule(rule, expected, problem.kind)
    if problem.kind == "array":
        check = compare_array(answer, expected, rule) if _is_number_tree(expected) else compare_value(
            answer, expected, rule)
    else:
        check = compare_value(answer, expected, rule)
    if check.ok:
        return _make_result(problem, 1.0, text, "Correct.", error=_error_dict(check))
    for misconception in problem.misconceptions:
        ok, value = _safe_evaluate(misconception.answer, values)
        if ok and compare_value(answer, value, rule).ok:
            return _make_result(problem, misconception.credit, text, misconception.feedback,
                                misconception=misconception.id, error=_error_dict(check))
    return _make_result(problem, 0.0, text, _sentence(check.message), error=_error_dict(check))


def _sentence(message):
    message = message or "not the expected value"
    return message[0].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _choice_keys(answer, options):
    """(set of option keys, None) or (None, message). Keys match case-insensitively when unambiguous."""
    if isinstance(answer, str):
        picked = [answer]
    elif isinstance(answer, (set, frozenset, list, tuple)):
        picked = list(answer)
    elif isinstance(answer, np.ndarray) and answer.dtype.kind in "US":
        picked = answer.ravel().tolist()
    else:
        return None, f"expected an option key such as {next(iter(options))!r} (a string), got {_what(answer)}"
    keys = set()
    by_fold = {}
    for key in options:
        by_fold.setdefault(key.casefold(), []).append(key)
    for item in picked:
        if not isinstance(item, str):
            return None, f"option keys are strings, got {_what(item)}"
        item = item.strip()
        if item in options:
            keys.add(item)
        elif len(by_fold.get(item.casefold(), [])) == 1:
            keys.add(by_fold[item.casefold()][0])
        else:
            return None, f"{item!r} is not one of the options ({', '.join(options)})"
    return keys, None


def as_key_set(value):
    """A choice answer or option as a set of option keys: 'B' -> {'B'}, ['A', 'C'] -> {'A', 'C'}."""
    if isinstance(value, (set, frozenset, list, tuple)):
        return {str(key) for key in value}
    return {str(value)}


def _grade_choice(problem, answer, values):
    rule = dict(problem.compare or {"rule": "choice", "partial": False})
    text = describe_rule(rule, kind="choice")
    correct = as_key_set(problem.answer.evaluate(values))
    picked, problem_text = _choice_keys(answer, problem.options)
    if problem_text:
        return _make_result(problem, 0.0, text, _sentence(problem_text))
    if not problem.multiple and len(picked) != 1:
        return _make_result(problem, 0.0, text, "Pick exactly one option.")
    if picked == correct:
        return _make_result(problem, 1.0, text, "Correct.")
    fraction = 0.0
    if rule.get("partial"):
        fraction = max(0.0, (len(picked & correct) - len(picked - correct)) / len(correct))
    for misconception in problem.misconceptions:
        if picked == as_key_set(misconception.option) and misconception.credit >= fraction:
            return _make_result(problem, misconception.credit, text, misconception.feedback,
                                misconception=misconception.id)
    message = "Partly right." if fraction > 0 else "Not the correct option" + ("s." if problem.multiple else ".")
    return _make_result(problem, fraction, text, message)


def _case_label(case):
    text = ", ".join(argument.source for argument in case)
    return text if len(text) <= 60 else text[:57] + "..."


def _grade_function(problem, answer, values):
    if not callable(answer):
        return _make_result(problem, 0.0, describe_rule(rule_for(problem)),
                            f"Expected a function named {problem.function.name}, got {_what(answer)}.")
    reference = problem.answer.evaluate(values)
    misconception_functions = []
    for misconception in problem.misconceptions:
        ok, function = _safe_evaluate(misconception.answer, values)
        if ok and callable(function):
            misconception_functions.append((misconception, function))
    parts, score, rule, used = [], 0.0, None, None
    for index, case in enumerate(problem.function.cases):
        arguments = [argument.evaluate(values) for argument in case]
        expected = reference(*copy.deepcopy(arguments))
        rule = rule_for(problem, expected)
        part = {"case": index + 1, "input": _case_label(case)}
        try:
            with np.errstate(all="ignore"):
                got = answer(*copy.deepcopy(arguments))
        except Exception as exc:  # noqa: BLE001 (the student's code)
            part.update(correct=False, message=f"raised {type(exc).__name__}: {exc}"[:300])
            parts.append(part)
            continue
        check = compare_value(got, expected, rule)
        part.update(correct=check.ok, message="correct" if check.ok else check.message, error=_error_dict(check))
        if check.ok:
            score += 1
        else:
            for misconception, function in misconception_functions:
                try:
                    with np.errstate(all="ignore"):
                        wrong = function(*copy.deepcopy(arguments))
                except Exception:  # noqa: BLE001
                    continue
                if compare_value(got, wrong, rule).ok:
                    score += misconception.credit
                    part.update(misconception=misconception.id, message=misconception.feedback)
                    used = used or misconception
                    break
        parts.append(part)
    total = len(problem.function.cases)
    passed = sum(1 for part in parts if part["correct"])
    text = describe_rule(rule or rule_for(problem), kind="function")
    if passed == total:
        message = "Correct: every case passes."
    else:
        first = next(part for part in parts if not part["correct"])
        message = f"{passed} of {total} cases pass; case {first['case']} ({first['input']}): {first['message']}"
        message = _sentence(message)
    return _make_result(problem, score / total, text, message,
                        misconception=used.id if used else None, parts=parts)


def _row_cells(row, columns):
    """{column: cell} from a dict or a sequence in column order; or a message."""
    if isinstance(row, dict):
        return {column: row.get(column, _MISSING) for column in columns}, None
    if isinstance(row, (list, tuple)) and len(row) == len(columns):
        return dict(zip(columns, row)), None
    if isinstance(row, (list, tuple)):
        return None, f"a row has {len(row)} cells, the table has {len(columns)} columns"
    return None, f"each row must be a dict or a tuple, got {_what(row)}"


_MISSING = object()


def _table_labels(problem, values):
    labels = problem.table.row_labels
    return labels.evaluate(values) if isinstance(labels, Expression) else labels


def _grade_table(problem, answer, values):
    expected = problem.answer.evaluate(values)
    columns = problem.table.columns
    labels = _table_labels(problem, values)
    text = describe_rule(problem.compare or {"rule": "close", **CLOSE_DEFAULTS}, kind="table") \
        if problem.compare else "integers and tuples must match exactly; other numbers within ±0.1 %"
    if isinstance(answer, np.ndarray):
        answer = answer.tolist()
    if not isinstance(answer, (list, tuple)):
        return _make_result(problem, 0.0, text, f"Expected a list of {len(labels)} rows, got {_what(answer)}.")
    if len(answer) != len(expected):
        return _make_result(problem, 0.0, text, f"Expected {len(expected)} rows, got {len(answer)}.")
    wrong_tables = []
    for misconception in problem.misconceptions:
        ok, table = _safe_evaluate(misconception.answer, values)
        if ok and isinstance(table, (list, tuple)) and len(table) == len(expected):
            wrong_tables.append((misconception, table))
    parts, score, used = [], 0.0, None
    for row_index, (given_row, expected_row) in enumerate(zip(answer, expected)):
        label = labels[row_index] if row_index < len(labels) else str(row_index + 1)
        expected_cells, _ = _row_cells(expected_row, columns)
        given_cells, row_problem = _row_cells(given_row, columns)
        for column in columns:
            part = {"row": label, "column": column}
            if row_problem:
                part.update(correct=False, message=row_problem)
                parts.append(part)
                continue
            given, wanted = given_cells[column], expected_cells[column]
            if given is _MISSING:
                part.update(correct=False, message=f"no value for column {column!r}")
                parts.append(part)
                continue
            rule = rule_for(problem, wanted)
            check = compare_value(given, wanted, rule)
            part.update(correct=check.ok, message="correct" if check.ok else check.message, error=_error_dict(check))
            if check.ok:
                score += 1
            else:
                for misconception, table in wrong_tables:
                    cells, _ = _row_cells(table[row_index], columns)
                    if cells is not None and compare_value(given, cells[column], rule).ok:
                        score += misconception.credit
                        part.update(misconception=misconception.id, message=misconception.feedback)
                        used = used or misconception
                        break
            parts.append(part)
    total = len(parts)
    passed = sum(1 for part in parts if part["correct"])
    if passed == total:
        message = "Correct: every cell is right."
    else:
        first = next(part for part in parts if not part["correct"])
        message = _sentence(f"{passed} of {total} cells are right; row {first['row']!r}, "
                            f"{first['column']}: {first['message']}")
    return _make_result(problem, score / total if total else 0.0, text, message,
                        misconception=used.id if used else None, parts=parts)


def grade_answer(problem, answer, values):
    """Grade `answer` for the variant `values` of `problem`: a Result (see docs/architecture.md)."""
    if problem.kind == "choice":
        return _grade_choice(problem, answer, values)
    if problem.kind == "function":
        return _grade_function(problem, answer, values)
    if problem.kind == "table":
        return _grade_table(problem, answer, values)
    expected = problem.answer.evaluate(values)
    return _grade_value(problem, answer, values, expected)
