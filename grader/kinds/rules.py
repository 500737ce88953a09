"""Comparison rules: their defaults, the comparisons, their wording and the error bands.

Rules (docs/bank-format.md, *Comparison rules*): `exact`, `close` (|a − e| ≤ atol + rtol·|e|
element-wise), `sigfigs`, `choice` (optionally with partial credit). Every default of a rule
is in RULE_DEFAULTS and nowhere else. Messages never contain the expected value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.protocol import Code, Unsupported

from .values import short

RULE_DEFAULTS: dict[str, dict[str, Any]] = {
    "exact": {},
    "close": {"rtol": 1e-3, "atol": 1e-6},
    "sigfigs": {"sigfigs": 3},
    "choice": {"partial": False},
}
RULE_OF_OPTION = {"rtol": "close", "atol": "close", "sigfigs": "sigfigs", "partial": "choice"}
VALUE_RULES = ("exact", "close", "sigfigs")
BY_VALUE_WORDS = "integers and tuples must match exactly; other numbers within ±0.1 %"

Rule = dict[str, Any]


def option(rule: Rule, name: str) -> Any:
    """A rule's option, or its default."""
    return rule.get(name, RULE_DEFAULTS[rule["rule"]][name])


def with_defaults(name: str, options: dict[str, Any] | None = None) -> Rule:
    return {"rule": name, **RULE_DEFAULTS[name], **(options or {})}


@dataclass
class Check:
    """The outcome of comparing one value (a number, an array, a cell, a case)."""

    ok: bool
    message: str = ""
    absolute: float | None = None
    relative: float | None = None
    code: str = Code.WRONG_VALUE

    def __post_init__(self) -> None:
        if self.ok:
            self.code = Code.CORRECT


# --- values -------------------------------------------------------------------------------

def scalar(value: Any) -> Any:
    """numpy scalars, 0-d arrays and 0-d torch tensors as Python scalars; anything else unchanged."""
    if hasattr(value, "detach") and hasattr(value, "numpy") and getattr(value, "ndim", None) == 0:
        value = value.detach().cpu().numpy()  # a 0-d torch tensor
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def is_integer(value: Any) -> bool:
    value = scalar(value)
    return isinstance(value, int) and not isinstance(value, bool)


def is_number_tree(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "iuf"
    if isinstance(value, (list, tuple)):
        return len(value) > 0 and all(is_number_tree(item) for item in value)
    return is_real(value)


def what(value: Any) -> str:
    """A short description of a wrong-typed answer (never the expected value)."""
    if value is None:
        return "None"
    if isinstance(value, (bool, np.bool_)):
        return f"a bool ({bool(value)})"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, Unsupported):
        return f"a {short(value.name)}"
    return f"a {type(value).__name__}"


def sentence(message: str) -> str:
    message = message or "not the expected value"
    return message[0].upper() + message[1:] + ("" if message.endswith(".") else ".")


# --- which rule ---------------------------------------------------------------------------

def exact_by_default(expected: Any) -> bool:
    """Integers, strings, booleans and tuples/lists of them compare exactly; floats do not."""
    expected = scalar(expected)
    if isinstance(expected, (bool, str, int)) or expected is None:
        return True
    if isinstance(expected, np.ndarray):
        return expected.dtype.kind in "iub"
    if isinstance(expected, (list, tuple)):
        return all(exact_by_default(item) for item in expected)
    return False


def rule_for(compare: Rule | None, expected: Any = None) -> Rule:
    """The effective rule: the bank's, else exact for integer-like expected values, else close."""
    rule = dict(compare or {})
    if rule.get("rule"):
        return rule
    if expected is not None and exact_by_default(expected):
        return {"rule": "exact"}
    return with_defaults("close")


def describe_rule(rule: Rule, expected: Any = None, each: bool = False) -> str:
    """A sentence saying what is accepted, e.g. 'accepted within ±0.1 % of the expected value'."""
    name = rule["rule"]
    prefix = "each entry " if each else ""
    if name == "exact":
        if expected is not None and is_integer(expected):
            return "must equal the expected integer exactly"
        return f"{prefix}must equal the expected value exactly"
    if name == "close":
        rtol, atol = option(rule, "rtol"), option(rule, "atol")
        if rtol == 0:
            return f"{prefix}accepted within ±{atol:g} of the expected value"
        text = f"{prefix}accepted within ±{rtol * 100:g} % of the expected value"
        return text + (f" (±{atol:g} near zero)" if atol else "")
    if name == "sigfigs":
        return f"{prefix}must match the expected value to {option(rule, 'sigfigs')} significant figures"
    if name == "choice":
        if option(rule, "partial"):
            return "partial credit: (right picks − wrong picks) / number of correct options, at least 0"
        return "must pick exactly the correct option(s)"
    return name


def precision_advice(rule: Rule) -> str:
    """What precision to give so that a right method passes the rule, e.g. 'give at least 4
    significant figures' for ±0.1 %; '' where there is nothing to say (exact, choices)."""
    name = rule["rule"]
    if name == "sigfigs":
        return f"give {option(rule, 'sigfigs')} significant figures"
    if name == "close":
        rtol, atol = option(rule, "rtol"), option(rule, "atol")
        if rtol > 0:
            return f"give at least {math.ceil(-math.log10(rtol)) + 1} significant figures (do not round early)"
        if atol > 0:
            return f"give at least {max(0, math.ceil(-math.log10(atol)))} decimal places"
    return ""


def with_advice(text: str, rule: Rule) -> str:
    """A rule's description followed by its precision advice (what a prompt ends with)."""
    advice = precision_advice(rule)
    return f"{text}; {advice}" if advice else text


BY_VALUE_STATEMENT = with_advice(BY_VALUE_WORDS, with_defaults("close")).replace("%; give", "%: give")


# --- comparisons --------------------------------------------------------------------------

def _round_sig(value: float, figures: int) -> float:
    if value == 0:
        return 0.0
    return float(f"{value:.{figures - 1}e}")


def _errors(answer: float, expected: float) -> tuple[float, float | None]:
    absolute = abs(answer - expected)
    relative = absolute / abs(expected) if expected != 0 else None
    return float(absolute), (None if relative is None else float(relative))


def compare_number(answer: Any, expected: Any, rule: Rule) -> Check:
    answer, expected = scalar(answer), scalar(expected)
    if answer is None or isinstance(answer, (bool, str)) or not is_real(answer):
        if isinstance(answer, (list, tuple, np.ndarray)):
            return Check(False, f"expected one number, got {what(answer)}", code=Code.WRONG_TYPE)
        if isinstance(answer, complex):
            return Check(False, "expected a real number, got a complex number", code=Code.WRONG_TYPE)
        return Check(False, f"expected a number, got {what(answer)}", code=Code.WRONG_TYPE)
    try:
        finite = math.isfinite(answer)
    except OverflowError:  # an int too large for a float
        finite = False
    if not finite:
        shown = answer if isinstance(answer, float) else "an integer too large for a float"
        return Check(False, f"the answer is {shown}, not a finite number", code=Code.NOT_FINITE)
    if not math.isfinite(expected):
        return Check(False, "this variant has no finite answer; tell the instructor", code=Code.NO_VALUE)
    absolute, relative = _errors(float(answer), float(expected))
    name = rule["rule"]
    if name == "exact":
        ok = answer == expected
        message = "" if ok else "not the expected value"
    elif name == "sigfigs":
        figures = option(rule, "sigfigs")
        ok = _round_sig(float(answer), figures) == _round_sig(float(expected), figures)
        message = "" if ok else f"does not match to {figures} significant figures"
    else:
        ok = absolute <= option(rule, "atol") + option(rule, "rtol") * abs(float(expected))
        message = "" if ok else "outside the tolerance"
    return Check(ok, message, absolute, relative)


def as_number_array(answer: Any) -> tuple[np.ndarray | None, str | None]:
    """(array, None) or (None, message) for an answer meant to be an array of numbers."""
    if answer is None or isinstance(answer, (str, bool, dict, set, frozenset)):
        return None, f"expected an array of numbers, got {what(answer)}"
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


def compare_array(answer: Any, expected: Any, rule: Rule) -> Check:
    expected = np.asarray(expected)
    array, problem = as_number_array(answer)
    if array is None:
        return Check(False, problem or "", code=Code.WRONG_TYPE)
    if array.shape != expected.shape:
        return Check(False, f"shape {array.shape} is not the expected shape {expected.shape}",
                     code=Code.WRONG_SHAPE)
    if array.size and not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.isfinite(array)))
        return Check(False, f"{bad} of {array.size} entries are NaN or infinite", code=Code.NOT_FINITE)
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
        figures = option(rule, "sigfigs")
        matches = np.array([_round_sig(float(a), figures) == _round_sig(float(e), figures)
                            for a, e in zip(array.ravel(), expected.ravel())], dtype=bool).reshape(array.shape)
        verb = f"do not match to {figures} significant figures"
    else:
        matches = difference <= option(rule, "atol") + option(rule, "rtol") * np.abs(expected)
        verb = "are outside the tolerance"
    bad = int(matches.size - np.count_nonzero(matches))
    message = "" if bad == 0 else f"{bad} of {matches.size} entries {verb}"
    return Check(bad == 0, message, absolute, relative)


def compare_value(answer: Any, expected: Any, rule: Rule) -> Check:
    """Compare any answer with any expected value: numbers, arrays, strings, tuples, dicts."""
    expected = scalar(expected)
    if is_real(expected):
        return compare_number(answer, expected, rule)
    if isinstance(expected, np.ndarray) or (isinstance(expected, (list, tuple)) and is_number_tree(expected)):
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
            return Check(False, f"expected a string, got {what(answer)}", code=Code.WRONG_TYPE)
        ok = answer.strip().casefold() == expected.strip().casefold()
        return Check(ok, "" if ok else "not the expected value")
    try:
        ok = bool(type(scalar(answer)) is type(expected) and scalar(answer) == expected)
    except Exception:  # noqa: BLE001 (an answer whose == misbehaves)
        ok = False
    return Check(ok, "" if ok else "not the expected value")


def _combine(checks: list[tuple[str, Check]], label: str) -> Check:
    bad = [(key, check) for key, check in checks if not check.ok]
    absolutes = [c.absolute for _, c in checks if c.absolute is not None]
    relatives = [c.relative for _, c in checks if c.relative is not None]
    message = "" if not bad else f"{label} {bad[0][0]}: {bad[0][1].message}"
    return Check(not bad, message, max(absolutes) if absolutes else None, max(relatives) if relatives else None,
                 code=bad[0][1].code if bad else Code.CORRECT)


def _compare_dict(answer: Any, expected: dict, rule: Rule) -> Check:
    if not isinstance(answer, dict):
        return Check(False, f"expected a dict with keys {', '.join(map(repr, expected))}, got {what(answer)}",
                     code=Code.WRONG_TYPE)
    missing = [key for key in expected if key not in answer]
    if missing:
        return Check(False, f"missing key {missing[0]!r}", code=Code.WRONG_SHAPE)
    return _combine([(repr(key), compare_value(answer[key], value, rule)) for key, value in expected.items()], "key")


def _compare_sequence(answer: Any, expected: list | tuple, rule: Rule) -> Check:
    if isinstance(answer, np.ndarray):
        answer = answer.tolist()
    if not isinstance(answer, (list, tuple)):
        return Check(False, f"expected a sequence of {len(expected)} items, got {what(answer)}",
                     code=Code.WRONG_TYPE)
    if len(answer) != len(expected):
        return Check(False, f"expected {len(expected)} items, got {len(answer)}", code=Code.WRONG_SHAPE)
    return _combine([(str(index), compare_value(a, e, rule)) for index, (a, e) in
                     enumerate(zip(answer, expected))], "item")


# --- how far off ----------------------------------------------------------------------------

# How far off an answer was is published in coarse bands only: fine enough to tell a slip from
# a wrong method, too coarse to give the expected value away (the answer plus an exact error
# would). The finest band, 1 %, is ten times the default tolerance.
RELATIVE_BANDS = (0.01, 0.1, 0.5, 1.0)


def error_band(absolute: float | None, relative: float | None) -> dict[str, float] | None:
    """{'relative_at_most': b}, {'relative_above': 1.0}, or, where the expected value is 0,
    {'absolute_at_most': the power of ten at or above the error}; None when there is no error."""
    if absolute is None or not math.isfinite(absolute) or absolute == 0:
        return None
    if relative is not None:
        bound = next((b for b in RELATIVE_BANDS if relative <= b), None)
        return {"relative_at_most": bound} if bound is not None else {"relative_above": RELATIVE_BANDS[-1]}
    return {"absolute_at_most": 10.0 ** math.ceil(math.log10(absolute))}


def band_of(check: Check) -> dict[str, float] | None:
    """How far off a wrong value was; None for a right one (an answer inside the tolerance has no
    error to report, even when it is not exactly the expected value)."""
    if check.ok:
        return None
    return error_band(check.absolute, check.relative)


def band_words(error: dict[str, Any] | None) -> str:
    """An error band as the student reads it."""
    if not error:
        return ""
    if error.get("relative_at_most") is not None:
        return f"within {100 * error['relative_at_most']:g} % of the expected value, but outside the tolerance"
    if error.get("relative_above") is not None:
        return f"off by more than {100 * error['relative_above']:g} % of the expected value"
    if error.get("absolute_at_most") is not None:
        return f"off by at most {error['absolute_at_most']:g}"
    return ""
