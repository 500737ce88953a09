"""Public checks (`checks:` in the bank): properties every right answer has, which the student's
notebook checks before submission, as otter's public tests do. Never the answer's value.

A small vocabulary, each word rendered as numpy-only code (the student's kernel has numpy, not
grader):

    rows_sum_to_one       the entries along the last axis sum to 1 (a probability vector, softmax rows)
    within: [lo, hi]      every number lies in [lo, hi] (an IoU in [0, 1], a cosine in [-1, 1])
    at_least: lo          every number is >= lo (counts, norms, losses: at_least: 0)
    at_most: hi           every number is <= hi
    integer               every number is a whole number (an output size, a parameter count)
    finite                no NaN or inf (a stable softmax on logits of ±1000)

A check may say what the student reads (`says:`); a function problem's check names the arguments
the student's function is called with (`args:`, like a case: the prompt's own example). Each check
allows what the grading rule allows (its tolerance is a power of ten at or above the rule's).

The checks print one line each (what the student's function prints while a check calls it, and
numpy's warnings, are swallowed: the test cell's output stays the checks' verdicts and, when
grading, the hidden test's report); they never stop the test cell. nbgrader grades a test cell that raises as 0,
before its hidden part runs: an assert would take away a misconception's credit, a function's
passing cases and a wrong answer's error band. Like otter's public tests, they only inform, so
adding or changing checks changes no grade (release records treat them as wording).

What keeps the answer out (checked, not trusted): the vocabulary states properties, not values;
the ranges of a subject together must be at least half as wide as their largest bound (the loader);
the right answer, and the right answer moved to the edge of the tolerance, must pass every check on
every variant (validate, qa); and the release leak check reads the test cell like any other
(it may show what the prompt shows, nothing more).
"""

from __future__ import annotations

import contextlib
import io
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from grader.bank.expressions import name_kind
from grader.bank.model import PublicCheck

from . import rules

if TYPE_CHECKING:
    from grader.bank.loader import ProblemBuilder

    from .base import ProblemVariant

VOCABULARY = ("rows_sum_to_one", "within", "at_least", "at_most", "integer", "finite")
ARGLESS = ("rows_sum_to_one", "integer", "finite")
RANGES = ("within", "at_least", "at_most")
PASSED = "public check passed: "
FAILED = "PUBLIC CHECK FAILED: "
HELPER = "_public_check"
MIN_RELATIVE_WIDTH = 0.5     # a range as wide as half its largest bound at least: [0, 1] yes, [0.4, 0.45] no
HEADER = ("# Public checks: properties every right answer has, never its value. They print, and never\n"
          "# decide the grade: the values are checked when the assignment is graded.")
# The helper every check line calls, defined once per notebook in its locked setup cell (`setup_lines`,
# grader.render), not in each test cell. Its imports are its own, so a student's `io = ...` cannot break it.
HELPER_SOURCE = (f"def {HELPER}(passes, says):\n"
                 "    import contextlib, io\n"
                 "    import numpy\n"
                 "    try:\n"
                 "        with numpy.errstate(all='ignore'), contextlib.redirect_stdout(io.StringIO()):\n"
                 "            ok = bool(passes())\n"
                 "    except Exception:\n"
                 "        ok = False\n"
                 f"    print(({PASSED!r} if ok else {FAILED!r}) + says)")
SETUP_HEADER = ("# The public checks' helper, called by the test cells' public checks: it prints whether a property\n"
                "# every right answer has holds, and never stops the cell.")

_NUMBER = {"type": "number"}
SCHEMA: dict[str, Any] = {"checks": {"type": "array", "items": {"oneOf": [
    {"enum": list(ARGLESS)},
    {"type": "object",
     "additionalProperties": False,
     "minProperties": 1,
     "properties": {
         "rows_sum_to_one": {"const": True},
         "integer": {"const": True},
         "finite": {"const": True},
         "within": {"type": "array", "items": _NUMBER, "minItems": 2, "maxItems": 2},
         "at_least": _NUMBER,
         "at_most": _NUMBER,
         "says": {"type": "string", "minLength": 1},
         "args": {"type": "array"},
     }},
]}}}


# --- the bank ---------------------------------------------------------------------------------

def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def build_checks(builder: ProblemBuilder) -> list[PublicCheck]:
    """The problem's `checks`, checked (file:line errors through the builder)."""
    raw_list = builder.raw.get("checks")
    if raw_list is None:
        return []
    kind = builder.kind
    if not kind.public_checks:
        builder.error("checks", f"a {kind.name} problem takes no public checks (they check numbers: "
                                f"numeric, array and function problems)")
        return []
    found = []
    for index, raw in enumerate(raw_list):
        line = raw_list.lines[index]
        field = f"checks[{index}]"
        builder.lines[field] = line
        if isinstance(raw, str):
            raw_map: dict[str, Any] = {raw: True}
            lines: dict[str, int] = {}
        else:
            raw_map, lines = dict(raw), dict(getattr(raw, "lines", {}))
        words = [key for key in raw_map if key in VOCABULARY]
        if len(words) != 1:
            builder.error(field, f"needs exactly one of {', '.join(VOCABULARY)} (found {', '.join(words) or 'none'})",
                          line)
            continue
        what = words[0]
        bounds: tuple[Any, Any] = (None, None)
        if what == "within":
            bounds = tuple(raw_map["within"])
        elif what == "at_least":
            bounds = (raw_map["at_least"], None)
        elif what == "at_most":
            bounds = (None, raw_map["at_most"])
        if any(bound is not None and not _finite(bound) for bound in bounds):
            builder.error(field, f"{what}: bounds must be finite numbers, got {list(b for b in bounds if b is not None)}",
                          lines.get(what, line))
            continue
        if what == "within" and not bounds[0] < bounds[1]:
            builder.error(field, f"within: [{bounds[0]}, {bounds[1]}] is empty or a single value (low < high)",
                          lines.get(what, line))
            continue
        args = kind.build_check_args(builder, raw_map.get("args"), field, lines.get("args", line))
        if args is False:
            continue
        found.append(PublicCheck(what=what, bounds=bounds, says=raw_map.get("says"),
                                 args=args if isinstance(args, list) else None, line=line, index=index))
    _check_widths(builder, found)
    return found


def check_arguments(builder: ProblemBuilder, raw: Any, field: str, line: int) -> list | bool:
    """A function check's `args`: argument expressions over the parameters and literals, numpy only
    (the student's kernel cannot import grader). False (after reporting) when wrong."""
    if raw is None:
        builder.error(field, "a function problem's check needs `args:` the arguments to call the function with "
                             "(e.g. `args: [z]`, the prompt's example)", line)
        return False
    arguments = []
    for source in raw:
        expression = builder.value_or_expression(f"{field}.args", source, line)
        if expression is None:
            return False
        reserved = sorted(name for name in expression.names if name_kind(name) in ("engine function", "helper"))
        if reserved:
            builder.error(f"{field}.args", f"'{reserved[0]}' is not available in the student's notebook "
                                         f"(public checks run with numpy only)", line)
            return False
        arguments.append(expression)
    return arguments


def _subject(check: PublicCheck) -> tuple:
    return tuple(argument.source for argument in check.args) if check.args else ()


def _check_widths(builder: ProblemBuilder, checks: list[PublicCheck]) -> None:
    """The ranges on one subject, together, must not close in on a value: a public check states a
    property ([0, 1], >= 0), never a neighbourhood of the answer."""
    for subject in dict.fromkeys(_subject(check) for check in checks):
        ranges = [check for check in checks if check.what in RANGES and _subject(check) == subject]
        lows = [check.bounds[0] for check in ranges if check.bounds[0] is not None]
        highs = [check.bounds[1] for check in ranges if check.bounds[1] is not None]
        if not lows or not highs:
            continue
        low, high = max(lows), min(highs)
        if high - low < MIN_RELATIVE_WIDTH * max(abs(low), abs(high)) or high <= low:
            builder.error(f"checks[{ranges[-1].index}]",
                          f"the ranges together allow only [{low}, {high}]: that narrows in on the answer. A public "
                          f"check states a property (a range such as [0, 1]); make the range at least "
                          f"{MIN_RELATIVE_WIDTH:g} times as wide as its largest bound", ranges[-1].line)


# --- the notebook -----------------------------------------------------------------------------

def _number(value: Any) -> str:
    return repr(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def _power_of_ten_at_least(value: float) -> str:
    exponent = math.ceil(math.log10(max(value, 1e-12)))
    return "1" if exponent == 0 else f"1e{exponent}"


def allowance(rule: rules.Rule, scale: float, count: int = 1) -> float:
    """How far from a bound (of size `scale`) an answer the rule accepts may be; `count` entries
    add up (a row sum)."""
    name = rule["rule"]
    if name == "close":
        return count * rules.option(rule, "atol") + rules.option(rule, "rtol") * max(abs(scale), 1e-300)
    if name == "sigfigs":
        return 10.0 ** (1 - rules.option(rule, "sigfigs")) * max(abs(scale), 1.0)
    return 1e-9


def condition(check: PublicCheck, subject: str, rule: rules.Rule, expected: Any) -> str:
    """A numpy expression that is true when `subject` has the property."""
    x = f"np.asarray({subject}, dtype=float)"
    if check.what == "rows_sum_to_one":
        count = int(np.shape(expected)[-1]) if np.ndim(expected) else 1
        tolerance = _power_of_ten_at_least(allowance(rule, 1.0, count))
        return f"np.all(np.abs(np.sum({x}, axis=-1) - 1) <= {tolerance})"
    if check.what == "integer":
        return f"np.all(np.abs({x} - np.round({x})) <= {_power_of_ten_at_least(allowance(rule, 1.0) / 10)})"
    if check.what == "finite":
        return f"np.all(np.isfinite({x}))"
    low, high = check.bounds
    tests = []
    if low is not None:
        tests.append(f"({x} >= {_number(low)} - {_power_of_ten_at_least(allowance(rule, low))})")
    if high is not None:
        tests.append(f"({x} <= {_number(high)} + {_power_of_ten_at_least(allowance(rule, high))})")
    return f"np.all({' & '.join(tests)})"


def says(check: PublicCheck, label: str) -> str:
    if check.says:
        return check.says
    low, high = check.bounds
    return {
        "rows_sum_to_one": f"the entries of {label} along its last axis (each row) sum to 1",
        "integer": f"every value of {label} is a whole number",
        "finite": f"every value of {label} is finite (no nan or inf)",
        "within": f"every value of {label} lies in [{_number(low) if low is not None else ''}, "
                  f"{_number(high) if high is not None else ''}]",
        "at_least": f"every value of {label} is at least {_number(low) if low is not None else ''}",
        "at_most": f"every value of {label} is at most {_number(high) if high is not None else ''}",
    }[check.what]


def _string(text: str) -> str:
    """A Python string literal (double quotes, like the format checks)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def setup_lines(problems: Any) -> list[str]:
    """The notebook setup cell's lines that define the checks' helper, once ([] when no problem has checks)."""
    return [SETUP_HEADER, HELPER_SOURCE] if any(problem.checks for problem in problems) else []


def check_lines(variant: ProblemVariant) -> list[str]:
    """The test cell's public checks: a comment, one line per check ([] when none); they call the
    helper the setup cell defines (setup_lines)."""
    problem = variant.problem
    if not problem.checks:
        return []
    lines = [HEADER]
    for check in problem.checks:
        subject, expected = variant.kind.check_subject(variant, check)
        rule = rules.rule_for(problem.compare, expected)
        lines.append(f"{HELPER}(lambda: {condition(check, subject, rule, expected)}, {_string(says(check, subject))})")
    return lines


# --- running them (validate, qa) ---------------------------------------------------------------

def run_checks(variant: ProblemVariant, answer: Any) -> list[tuple[PublicCheck, bool]]:
    """Run the rendered check lines, as the notebook does (numpy and the inputs only), with `answer`
    in the answer variable; (check, passed) for each check."""
    lines = check_lines(variant)
    if not lines:
        return []
    namespace: dict[str, Any] = {"np": np, **{name: variant.values[name] for name in variant.input_names},
                                 variant.variable: answer}
    output = io.StringIO()
    with contextlib.redirect_stdout(output), np.errstate(all="ignore"):
        exec(compile("\n".join([HELPER_SOURCE, *lines]), f"<public checks of {variant.problem.id}>", "exec"),  # noqa: S102
             namespace)
    verdicts = [line.startswith(PASSED) for line in output.getvalue().splitlines()
                if line.startswith((PASSED, FAILED))]
    assert len(verdicts) == len(variant.problem.checks), output.getvalue()
    return list(zip(variant.problem.checks, verdicts))


def edges(value: Any, rule: rules.Rule) -> list[Any]:
    """`value` moved to 90 % of the rule's tolerance, up and down (close rule, float values only)."""
    if rule.get("rule") != "close" or isinstance(value, bool):
        return []
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return []
    step = 0.9 * (rules.option(rule, "atol") + rules.option(rule, "rtol") * np.abs(array))
    moved = [array + step, array - step]
    return [float(item) if np.ndim(item) == 0 else item for item in moved]


def failures(variant: ProblemVariant) -> list[tuple[PublicCheck, str]]:
    """(check, what fails it) for each check a right answer fails: the answer itself, or the answer
    moved to the edge of the tolerance (the grader accepts it, so the check must too)."""
    found: list[tuple[PublicCheck, str]] = []
    for label, answer in variant.kind.right_answers(variant):
        for check, passed in run_checks(variant, answer):
            if not passed and all(check is not earlier for earlier, _ in found):
                found.append((check, label))
    return found


def describe(check: PublicCheck) -> str:
    if check.what == "within":
        return f"within [{_number(check.bounds[0])}, {_number(check.bounds[1])}]"
    if check.what in ("at_least", "at_most"):
        bound = check.bounds[0] if check.what == "at_least" else check.bounds[1]
        return f"{check.what} {_number(bound)}"
    return check.what
