"""The interface every problem kind implements, and what kinds share.

A kind is one module under grader/kinds/ with one `Kind` subclass; `grader.kinds.KINDS`
registers it. The loader, the variant check, the renderer, the runtime, QA, the simulator
and the release leak check ask the problem's kind; none of them branches on `problem.kind`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from grader.bank.model import Misconception, Problem
from grader.bank.templates import python_literal
from grader.protocol import Code, Part, Result

from . import rules
from .rules import Check, Rule

if TYPE_CHECKING:
    from grader.bank.expressions import Expression
    from grader.bank.loader import ProblemBuilder

Values = dict[str, Any]


@dataclass(frozen=True)
class ProblemVariant:
    """One problem as one assignment shows it: its number, drawn values and expected answer."""

    number: int
    problem: Problem
    values: Values
    expected: Any

    @property
    def kind(self) -> Kind:
        from . import kind_of
        return kind_of(self.problem)

    @property
    def variable(self) -> str:
        """Where the student puts the answer: `q<N>`, or the function's name."""
        return self.kind.variable(self.problem, self.number)

    @property
    def input_names(self) -> list[str]:
        """Parameters the student receives as variables (the loader defaults them to the arrays)."""
        return list(self.problem.inputs)


def make_result(problem: Problem, fraction: float, rule_text: str, message: str, *, code: str,
                misconception: str | None = None, error: dict[str, float] | None = None,
                parts: list | None = None) -> Result:
    fraction = min(1.0, max(0.0, float(fraction)))
    if fraction >= 1.0:
        code = Code.CORRECT
    return Result(problem_id=problem.id, fraction=fraction, points=round(fraction * problem.points, 6),
                  max_points=float(problem.points), correct=fraction >= 1.0, misconception=misconception,
                  message=message, rule=rule_text, code=code, error=error, parts=parts or [],
                  secret=problem.secret)


def parts_code(parts: list[Part]) -> str:
    """A table's or function's code: correct, partial, or the first wrong part's code."""
    wrong = [part for part in parts if not part.get("correct")]
    if not wrong:
        return Code.CORRECT
    if len(wrong) < len(parts) or any(part.get("carried_forward") for part in parts):
        return Code.PARTIAL
    return wrong[0].get("code", Code.WRONG_VALUE)


def safe_evaluate(expression: Expression | None, values: Values) -> tuple[bool, Any]:
    if expression is None:
        return False, None
    try:
        return True, expression.evaluate(values)
    except Exception:  # noqa: BLE001 (a misconception that does not apply to this variant)
        return False, None


def raises(exc: BaseException) -> str:
    return f"raises {type(exc).__name__}: {exc}"


def answer_shape(variant: ProblemVariant) -> tuple[int, ...]:
    return tuple(int(dim) for dim in np.shape(variant.expected))


def shape_is_given(variant: ProblemVariant) -> bool:
    """True when every dimension of the answer's shape is a dimension of an input or an integer
    parameter: then checking the shape tells the student nothing the prompt does not (for, e.g.,
    the indices NMS keeps, the length IS part of the answer and is not checked visibly)."""
    known = set()
    for value in variant.values.values():
        if isinstance(value, np.ndarray):
            known.update(value.shape)
        elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            known.add(int(value))
    return all(dim in known for dim in np.shape(variant.expected))


class Kind:
    """One problem kind. Subclasses override what differs; the defaults fit a single value."""

    name = ""
    words = ""                                # what the answer is, for the student: "a number"
    rules: tuple[str, ...] = rules.VALUE_RULES  # the comparison rules a bank may choose
    default_rule: str | None = None           # None: exact for integer-like answers, else close
    each_entry = False                        # the rule applies to each entry (arrays)
    fields: tuple[str, ...] = ()              # the problem fields only this kind has
    public_checks = True                      # the bank may give it `checks:` (grader.kinds.checks)
    # An answer is specific enough to name its variant: when it is all right for a classmate's
    # numbers, the student handed in the classmate's work (grader.kinds.grade_own_answer).
    identifies_variant = False
    schema: dict[str, Any] = {}               # their JSON Schema (grader.bank.schema adds it)

    # --- the bank: checking a problem's spec (grader.bank.loader calls these) -------------

    def build(self, builder: ProblemBuilder) -> dict[str, Any]:
        """The kind's own fields of the Problem (e.g. options, table), checked; {} when none."""
        return {}

    def build_answer(self, builder: ProblemBuilder, fields: dict[str, Any]) -> Expression | None:
        return builder.answer_expression()

    def check_compare(self, builder: ProblemBuilder, compare: dict[str, Any]) -> None:
        """Checks of the comparison options that depend on the kind (the loader checks the rest)."""

    def build_misconception(self, builder: ProblemBuilder, raw: Any, field: str, line: int,
                            misconception: Misconception, fields: dict[str, Any]) -> bool:
        """Fill in what the misconception stands for; False (after reporting) when it is wrong."""
        if "option" in raw or "answer" not in raw:
            builder.error(field, f"a {self.name} misconception needs an `answer` (not an `option`)", line)
            return False
        misconception.answer = builder.answer_of(raw, field, line)
        return True

    def check_variant(self, problem: Problem, expected: Any, values: Values) -> tuple[str, str] | None:
        """(field, message) when the expected answer of a drawn variant is unusable, else None."""
        return None

    def build_check_args(self, builder: ProblemBuilder, raw: Any, field: str, line: int) -> list | bool | None:
        """A public check's `args:` (the arguments a function is called with): None when it has none,
        False (after reporting) when it is wrong."""
        if raw is not None:
            builder.error(field, f"args: only function problems call the answer with arguments; a {self.name} "
                                 f"problem's checks look at the answer itself", line)
            return False
        return None

    # --- values ---------------------------------------------------------------------------

    def expected(self, problem: Problem, values: Values) -> Any:
        """The expected answer of a variant, as the notebook and the simulator use it."""
        return problem.answer.evaluate(values)

    def expected_values(self, problem: Problem, values: Values, lenient: bool = False) -> list[Any]:
        """Everything a correct answer contains (what QA checks and release must not show).
        `lenient`: leave out what cannot be computed instead of raising."""
        if lenient:
            ok, value = safe_evaluate(problem.answer, values)
            return [value] if ok else []
        return [problem.answer.evaluate(values)]

    def misconception_answer(self, problem: Problem, misconception: Misconception, values: Values) -> Any:
        """The answer a student with this misconception writes; raises when it does not apply."""
        if misconception.answer is None:
            raise ValueError("no answer")
        return misconception.answer.evaluate(values)

    # --- the notebook ---------------------------------------------------------------------

    def variable(self, problem: Problem, number: int) -> str:
        return f"q{number}"

    def solution_lines(self, variant: ProblemVariant) -> list[str]:
        from .code import expression_code
        imports, code = expression_code(variant.problem.answer, variant)
        return imports + [f"{variant.variable} = {code}"]

    def prompt_parts(self, variant: ProblemVariant) -> list[str]:
        """Markdown the prompt cell shows after the prompt (the options, the table's frame)."""
        return []

    def answer_instructions(self, variant: ProblemVariant) -> str:
        return f"Assign your answer to `{variant.variable}` ({self.words})."

    def rule_statement(self, variant: ProblemVariant) -> str:
        """How this variant's answer is checked and what precision to give (the prompt's last
        line), from the same rules grading uses."""
        rule = rules.rule_for(variant.problem.compare, variant.expected)
        return rules.with_advice(rules.describe_rule(rule, variant.expected, each=self.each_entry), rule)

    def format_checks(self, variant: ProblemVariant) -> list[str]:
        """Visible assertions on the answer's type and shape (never on its value)."""
        name, shape = variant.variable, answer_shape(variant)
        numeric = f"np.issubdtype(np.asarray({name}).dtype, np.number)"
        checks = [f'assert {numeric}, "{name} should hold numbers"']
        if shape_is_given(variant):
            checks.append(f'assert np.shape({name}) == {shape!r}, "{name} should have shape {shape!r}"')
        else:
            checks.append(f'assert np.ndim({name}) == {len(shape)}, '
                          f'"{name} should have {len(shape)} dimension(s)"')
        return checks

    def check_subject(self, variant: ProblemVariant, check: Any) -> tuple[str, Any]:
        """(code, expected value) of what a public check looks at: the answer variable."""
        return variant.variable, variant.expected

    def right_answers(self, variant: ProblemVariant) -> list[tuple[str, Any]]:
        """(label, answer) of answers graded right that every public check must pass: the expected
        answer, and the expected answer moved to the edge of the tolerance."""
        from .checks import edges

        rule = rules.rule_for(variant.problem.compare, variant.expected)
        moved = edges(variant.expected, rule)
        return [("the right answer", variant.expected),
                *[(f"the right answer moved to the edge of the tolerance ({sign})", value)
                  for sign, value in zip("+-", moved)]]

    def format_numbers(self, variant: ProblemVariant) -> list[str]:
        """Numbers the format checks may show in any cell (shapes, row counts)."""
        shape = answer_shape(variant)
        return [str(shape), str(len(shape))]

    def prompt_words(self, variant: ProblemVariant) -> list[str]:
        """The kind's own text of the prompt cell (option texts, column names, row labels)."""
        return []

    # --- grading --------------------------------------------------------------------------

    def report_cases(self, problem: Problem, values: Values) -> list[list[Any]] | None:
        """The argument lists the kernel calls a function answer on (inputs, not secret); None
        when the answer is a value the kernel reports as it is."""
        return None

    def grade(self, problem: Problem, answer: Any, values: Values) -> Result:
        raise NotImplementedError

    def right_for(self, problem: Problem, answer: Any, values: Values) -> bool:
        """True when `answer` earns every point for the variant `values` (grader.kinds.grade_own_answer
        asks this of every classmate's numbers: a kind may answer faster than `grade`)."""
        return self.grade(problem, answer, values).correct

    def grade_value(self, problem: Problem, answer: Any, values: Values, expected: Any, check: Check,
                    rule: Rule, text: str) -> Result:
        """A single value's result: right, a misconception's credit, or wrong with its band."""
        if check.ok:
            return make_result(problem, 1.0, text, "Correct.", code=Code.CORRECT)
        for misconception in problem.misconceptions:
            ok, value = safe_evaluate(misconception.answer, values)
            if ok and rules.compare_value(answer, value, rule).ok:
                return make_result(problem, misconception.credit, text, misconception.feedback,
                                   code=Code.MISCONCEPTION, misconception=misconception.id,
                                   error=rules.band_of(check))
        return make_result(problem, 0.0, text, rules.sentence(check.message), code=check.code,
                           error=rules.band_of(check))

    # --- simulated students and QA ----------------------------------------------------------

    def correct_source(self, variant: ProblemVariant) -> str:
        """The answer cell of a student who gets it right."""
        return f"{variant.variable} = {python_literal(variant.expected)}"

    def misconception_value(self, variant: ProblemVariant, misconception: Misconception) -> Any:
        """The value a simulated student with this misconception assigns; None when it does not apply."""
        try:
            return self.misconception_answer(variant.problem, misconception, variant.values)
        except Exception:  # noqa: BLE001
            return None

    def wrong_value(self, variant: ProblemVariant) -> Any:
        """A plausible wrong value (5 % and 1 off), or None when the kind has none."""
        expected = variant.expected
        if isinstance(expected, (int, float, np.integer, np.floating)) and not isinstance(expected, bool):
            return expected * 1.05 + 1
        if isinstance(expected, np.ndarray) and expected.dtype.kind in "fi":
            return expected * 1.05 + 1
        return None

    def wrong_answers(self, variant: ProblemVariant) -> list[Any]:
        """Answers that are not right (each misconception's, the plausible wrong value): QA notes the
        public checks none of them fails."""
        found = [self.misconception_value(variant, misconception) for misconception in variant.problem.misconceptions]
        found.append(self.wrong_value(variant))
        return [value for value in found if value is not None]

    def qa_rule_words(self, result: Result) -> str:
        """Why QA says a misconception's answer is graded correct."""
        return result.rule

    def qa_failures(self, problem: Problem, values: Values, expected: list[Any]) -> list[tuple[str, str]]:
        """(failure kind, message) for what is wrong with a variant beyond finiteness and misconceptions."""
        return []

    # --- export -----------------------------------------------------------------------------

    def export(self, problem: Problem, values: Values) -> dict[str, Any]:
        """Plain data for exporters (QTI and the like): the kind, the rule and the expected answer."""
        expected = self.expected(problem, values)
        return {"kind": self.name, "rule": rules.rule_for(problem.compare, expected),
                "expected": expected, "points": float(problem.points)}
