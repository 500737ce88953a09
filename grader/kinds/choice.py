"""`choice`: one option key, or a set of keys with `multiple: true` (optionally partial credit)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from grader.bank.expressions import Expression, ExpressionError
from grader.bank.model import Misconception, Problem
from grader.bank.templates import python_literal
from grader.protocol import Code, Result

from . import rules
from .base import Kind, ProblemVariant, Values, make_result
from .values import short

if TYPE_CHECKING:
    from grader.bank.loader import ProblemBuilder


def as_key_set(value: Any) -> set[str]:
    """A choice answer or option as a set of option keys: 'B' -> {'B'}, ['A', 'C'] -> {'A', 'C'}."""
    if isinstance(value, (set, frozenset, list, tuple)):
        return {str(key) for key in value}
    return {str(value)}


def choice_literal(keys: Any) -> str:
    """`"B"` for one key; a set display for several (python_literal sorts it)."""
    if isinstance(keys, (list, tuple, set, frozenset)):
        return python_literal(set(keys))
    return python_literal(keys)


def picked_keys(answer: Any, options: dict[str, str]) -> tuple[set[str] | None, str | None, str]:
    """(set of option keys, None, code) or (None, message, code). Keys match case-insensitively when unambiguous."""
    if isinstance(answer, str):
        picked = [answer]
    elif isinstance(answer, (set, frozenset, list, tuple)):
        picked = list(answer)
    elif isinstance(answer, np.ndarray) and answer.dtype.kind in "US":
        picked = answer.ravel().tolist()
    else:
        return (None, f"expected an option key such as {next(iter(options))!r} (a string), got {rules.what(answer)}",
                Code.WRONG_TYPE)
    keys = set()
    by_fold: dict[str, list[str]] = {}
    for key in options:
        by_fold.setdefault(key.casefold(), []).append(key)
    for item in picked:
        if not isinstance(item, str):
            return None, f"option keys are strings, got {rules.what(item)}", Code.WRONG_TYPE
        item = item.strip()
        if item in options:
            keys.add(item)
        elif len(by_fold.get(item.casefold(), [])) == 1:
            keys.add(by_fold[item.casefold()][0])
        else:
            return None, f"{short(repr(item))} is not one of the options ({', '.join(options)})", Code.NOT_AN_OPTION
    return keys, None, Code.CORRECT


class Choice(Kind):
    name = "choice"
    words = "a string holding one option key"
    rules = ("choice",)
    default_rule = "choice"
    fields = ("options", "multiple")
    public_checks = False    # a property of the right key would be the key
    schema = {
        "options": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
        "multiple": {"type": "boolean"},
    }

    # --- the bank -------------------------------------------------------------------------

    def build(self, builder: ProblemBuilder) -> dict[str, Any]:
        raw = builder.raw
        multiple = raw.get("multiple", False)
        options = raw.get("options")
        if not options:
            builder.error("options", "a choice problem needs options (key: text)", builder.lines.get("options", raw.line))
            return {"options": None, "multiple": multiple}
        for key in options:
            if not isinstance(key, str):
                builder.error("options", f"option key {key!r} is not a string (quote it in the YAML)",
                              options.lines.get(key))
        return {"options": {str(key): str(text) for key, text in options.items()}, "multiple": multiple}

    @staticmethod
    def _not_an_option(key: Any, options: dict[str, str]) -> str:
        return f"'{key}' is not among the options ({', '.join(options)})"

    def build_answer(self, builder: ProblemBuilder, fields: dict[str, Any]) -> Expression | None:
        options, multiple = fields["options"], fields["multiple"]
        answer = builder.raw["answer"]
        if options is None:
            return None
        if isinstance(answer, list):
            wrong = [key for key in answer if str(key) not in options]
            if wrong:
                builder.error("answer", self._not_an_option(wrong[0], options))
                return None
            if not multiple and len(answer) != 1:
                builder.error("answer", "several correct keys need `multiple: true`")
                return None
            return Expression.constant(frozenset(str(k) for k in answer) if multiple else str(answer[0]))
        if str(answer) in options:
            return Expression.constant(frozenset([str(answer)]) if multiple else str(answer))
        try:
            expression: Expression | None = Expression(str(answer))
        except ExpressionError:
            expression = None
        if expression is None or any(name not in builder.param_names for name in expression.parameter_names):
            builder.error("answer", self._not_an_option(answer, options))
            return None
        return expression

    def check_compare(self, builder: ProblemBuilder, compare: dict[str, Any]) -> None:
        if compare.get("partial") is True and not builder.raw.get("multiple", False):
            builder.error("compare", "partial credit needs `multiple: true`")

    def build_misconception(self, builder: ProblemBuilder, raw: Any, field: str, line: int,
                            misconception: Misconception, fields: dict[str, Any]) -> bool:
        if "answer" in raw or "option" not in raw:
            builder.error(field, "a choice misconception names an `option` (not an `answer`)", line)
            return False
        options = fields["options"]
        keys = raw["option"] if isinstance(raw["option"], list) else [raw["option"]]
        wrong = [key for key in keys if options is not None and str(key) not in options]
        if wrong:
            builder.error(field, f"option {self._not_an_option(wrong[0], options)}", raw.lines.get("option", line))
            return False
        misconception.option = (frozenset(str(k) for k in keys) if isinstance(raw["option"], list)
                                else str(raw["option"]))
        return True

    def check_variant(self, problem: Problem, expected: Any, values: Values) -> tuple[str, str] | None:
        options = problem.options or {}
        keys = expected if isinstance(expected, (list, tuple, set, frozenset)) else [expected]
        wrong = [key for key in keys if str(key) not in options]
        if wrong:
            return "answer", f"gives '{wrong[0]}', which is not among the options ({', '.join(options)})"
        return None

    def misconception_answer(self, problem: Problem, misconception: Misconception, values: Values) -> Any:
        option = misconception.option
        return set(option) if isinstance(option, frozenset) else option

    # --- the notebook ---------------------------------------------------------------------

    def solution_lines(self, variant: ProblemVariant) -> list[str]:
        return [f"{variant.variable} = {choice_literal(variant.expected)}"]

    def prompt_parts(self, variant: ProblemVariant) -> list[str]:
        options = variant.problem.options or {}
        return ["\n".join(f"- **{key}.** {text}" for key, text in options.items())]

    def answer_instructions(self, variant: ProblemVariant) -> str:
        name = variant.variable
        if variant.problem.multiple:
            return (f"Assign the set of every correct option key to `{name}` "
                    f'(for example `{name} = {{"X", "Y"}}`).')
        return f'Assign the key of the correct option to `{name}` as a string (for example `{name} = "X"`).'

    def format_checks(self, variant: ProblemVariant) -> list[str]:
        name = variant.variable
        if variant.problem.multiple:
            return [f'assert isinstance({name}, (set, frozenset, list, tuple)), '
                    f'"{name} should be a set of option keys"']
        return [f'assert isinstance({name}, str), "{name} should be a string (an option key)"']

    def rule_statement(self, variant: ProblemVariant) -> str:
        return rules.describe_rule(dict(variant.problem.compare or rules.with_defaults("choice")))

    def prompt_words(self, variant: ProblemVariant) -> list[str]:
        return [f"{key} {text}" for key, text in (variant.problem.options or {}).items()]

    # --- grading --------------------------------------------------------------------------

    def grade(self, problem: Problem, answer: Any, values: Values) -> Result:
        rule = dict(problem.compare or rules.with_defaults("choice"))
        text = rules.describe_rule(rule)
        correct = as_key_set(problem.answer.evaluate(values))
        picked, message, code = picked_keys(answer, problem.options or {})
        if picked is None:
            return make_result(problem, 0.0, text, rules.sentence(message or ""), code=code)
        if not problem.multiple and len(picked) != 1:
            return make_result(problem, 0.0, text, "Pick exactly one option.", code=Code.WRONG_COUNT)
        if picked == correct:
            return make_result(problem, 1.0, text, "Correct.", code=Code.CORRECT)
        fraction = 0.0
        if rules.option(rule, "partial"):
            fraction = max(0.0, (len(picked & correct) - len(picked - correct)) / len(correct))
        for misconception in problem.misconceptions:
            if picked == as_key_set(misconception.option) and misconception.credit >= fraction:
                return make_result(problem, misconception.credit, text, misconception.feedback,
                                   code=Code.MISCONCEPTION, misconception=misconception.id)
        message = "Partly right." if fraction > 0 else "Not the correct option" + ("s." if problem.multiple else ".")
        return make_result(problem, fraction, text, message, code=Code.PARTIAL if fraction > 0 else Code.WRONG_VALUE)

    # --- simulated students and QA --------------------------------------------------------

    def misconception_value(self, variant: ProblemVariant, misconception: Misconception) -> Any:
        if variant.problem.multiple:    # a set of keys, in the format the notebook asks for
            return as_key_set(misconception.option)
        return misconception.option

    def wrong_value(self, variant: ProblemVariant) -> Any:
        return None

    def qa_rule_words(self, result: Result) -> str:
        return "it is the correct option"

    def export(self, problem: Problem, values: Values) -> dict[str, Any]:
        data = super().export(problem, values)
        data.update(options=dict(problem.options or {}), multiple=problem.multiple,
                    expected=sorted(as_key_set(data["expected"])))
        return data


KIND = Choice()
