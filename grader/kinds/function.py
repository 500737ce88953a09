"""`function`: the student writes `def name(...)`; it is called on every case and graded per case."""

from __future__ import annotations

import ast
import copy
from typing import TYPE_CHECKING, Any

import numpy as np

from grader.bank.expressions import Expression
from grader.bank.model import FunctionSpec, Misconception, Problem
from grader.bank.patterns import NAME_PATTERN
from grader.errors import GraderError
from grader.protocol import Calls, Code, Part, Result

from . import rules
from .base import Kind, ProblemVariant, Values, make_result, parts_code, raises, safe_evaluate
from .values import RAISED_ECHO_LIMIT, short

if TYPE_CHECKING:
    from grader.bank.loader import ProblemBuilder


def case_label(case: list[Expression]) -> str:
    return short(", ".join(argument.source for argument in case))


def call_cases(function: Any, cases: list[list[Any]]) -> Calls:
    """The function's outcomes on each case (deep copies of its arguments), as the kernel reports them."""
    outcomes = []
    for arguments in cases:
        try:
            with np.errstate(all="ignore"):
                outcomes.append((True, function(*copy.deepcopy(arguments))))
        except Exception as exc:  # noqa: BLE001 (the student's code)
            outcomes.append((False, f"{type(exc).__name__}: {exc}"[:300]))
    return Calls(tuple(outcomes))


def _spec(problem: Problem) -> FunctionSpec:
    assert problem.function is not None, problem.id
    return problem.function


class Function(Kind):
    name = "function"
    words = "a function"
    default_rule = "close"
    fields = ("function",)
    schema = {"function": {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "signature", "cases"],
        "properties": {
            "name": {"type": "string", "pattern": NAME_PATTERN},
            "signature": {"type": "string"},
            "cases": {"type": "array", "items": {"type": "array"}},
        },
    }}

    # --- the bank -------------------------------------------------------------------------

    def build(self, builder: ProblemBuilder) -> dict[str, Any]:
        raw = builder.raw.get("function")
        if raw is None:
            builder.error("function", "a function problem needs `function: {name, signature, cases}`", builder.raw.line)
            return {"function": None}
        if not raw["cases"]:
            builder.error("function", "no cases (a function problem needs at least one case)", raw.lines["cases"])
            return {"function": None}
        cases = []
        for index, raw_case in enumerate(raw["cases"]):
            line = raw["cases"].lines[index]
            field = f"function.cases[{index}]"
            builder.lines[field] = line
            cases.append([builder.value_or_expression(field, argument, line) for argument in raw_case])
        return {"function": FunctionSpec(name=raw["name"], signature=raw["signature"], cases=cases, line=raw.line)}

    def build_answer(self, builder: ProblemBuilder, fields: dict[str, Any]) -> Expression | None:
        if not isinstance(builder.raw["answer"], str):
            builder.error("answer", "a function problem's answer names the function to call (an expression)")
            return None
        return builder.answer_expression()

    def check_variant(self, problem: Problem, expected: Any, values: Values) -> tuple[str, str] | None:
        if not callable(expected):
            return "answer", f"a function problem's answer must be a function, got {type(expected).__name__}"
        for index, case in enumerate(_spec(problem).cases):
            try:
                expected(*[argument.evaluate(values) for argument in case])
            except Exception as exc:  # noqa: BLE001
                return f"function.cases[{index}]", raises(exc)
        return None

    # --- values ---------------------------------------------------------------------------

    def expected(self, problem: Problem, values: Values) -> Any:
        return None    # the cases are graded at run time

    def expected_values(self, problem: Problem, values: Values, lenient: bool = False) -> list[Any]:
        reference = problem.answer.evaluate(values)
        results = []
        for case in _spec(problem).cases:
            try:
                results.append(reference(*[argument.evaluate(values) for argument in case]))
            except Exception:  # a case the engine rejects has no value to show
                if not lenient:
                    raise
        return results

    # --- the notebook ---------------------------------------------------------------------

    def variable(self, problem: Problem, number: int) -> str:
        return _spec(problem).name

    def solution_lines(self, variant: ProblemVariant) -> list[str]:
        """`def name(args): return engine.f(args)`: the student's function, delegated to the engine."""
        from .code import expression_code

        problem = variant.problem
        spec = _spec(problem)
        signature = spec.signature
        try:
            definition = ast.parse(f"def {signature}:\n    pass").body[0]
        except SyntaxError as exc:
            raise GraderError(f"problem {problem.id!r}: function signature {signature!r} is not valid: {exc.msg}") \
                from None
        assert isinstance(definition, ast.FunctionDef)
        if definition.name != spec.name:
            raise GraderError(f"problem {problem.id!r}: signature {signature!r} does not define {spec.name!r}")
        arguments = definition.args
        call_args = [arg.arg for arg in arguments.posonlyargs + arguments.args]
        call_args += [f"*{arguments.vararg.arg}"] if arguments.vararg else []
        call_args += [f"{arg.arg}={arg.arg}" for arg in arguments.kwonlyargs]
        call_args += [f"**{arguments.kwarg.arg}"] if arguments.kwarg else []
        imports, callee = expression_code(problem.answer, variant)
        return imports + [f"def {signature}:\n    return {callee}({', '.join(call_args)})"]

    def rule_statement(self, variant: ProblemVariant) -> str:
        cases = _spec(variant.problem).cases
        reference = variant.problem.answer.evaluate(variant.values)
        expected = reference(*[argument.evaluate(variant.values) for argument in cases[0]])
        rule = rules.rule_for(variant.problem.compare, expected)
        return (f"your function is called on {len(cases)} inputs, some of them edge cases; "
                f"each output {rules.describe_rule(rule, expected)}")

    def answer_instructions(self, variant: ProblemVariant) -> str:
        return f"Define the function `{_spec(variant.problem).signature}` in the answer cell."

    def format_checks(self, variant: ProblemVariant) -> list[str]:
        name = variant.variable
        return [f'assert callable({name}), "{name} should be a function"']

    def build_check_args(self, builder: ProblemBuilder, raw: Any, field: str, line: int) -> list | bool | None:
        from .checks import check_arguments
        return check_arguments(builder, raw, field, line)

    def check_subject(self, variant: ProblemVariant, check: Any) -> tuple[str, Any]:
        """`name(arguments)`: the student's function called on the check's arguments."""
        from .code import expression_code

        arguments = [expression_code(argument, variant)[1] for argument in check.args]
        reference = variant.problem.answer.evaluate(variant.values)
        expected = reference(*[argument.evaluate(variant.values) for argument in check.args])
        return f"{variant.variable}({', '.join(arguments)})", expected

    def right_answers(self, variant: ProblemVariant) -> list[tuple[str, Any]]:
        """The engine's function, and the same with its outputs moved to the edge of the tolerance."""
        from .checks import edges

        reference = variant.problem.answer.evaluate(variant.values)

        def moved(index: int) -> Any:
            def function(*arguments: Any) -> Any:
                output = reference(*arguments)
                shifted = edges(output, rules.rule_for(variant.problem.compare, output))
                return shifted[index] if shifted else output
            return function

        return [("the right answer", reference),
                ("the right answer moved to the edge of the tolerance (+)", moved(0)),
                ("the right answer moved to the edge of the tolerance (-)", moved(1))]

    # --- grading --------------------------------------------------------------------------

    def report_cases(self, problem: Problem, values: Values) -> list[list[Any]] | None:
        return [[argument.evaluate(values) for argument in case] for case in _spec(problem).cases]

    def grade(self, problem: Problem, answer: Any, values: Values) -> Result:
        """`answer`: the function's outcomes on the cases as the kernel reported them (Calls), or a
        callable (simulated students, QA), called here on the same cases."""
        spec = _spec(problem)
        cases = self.report_cases(problem, values) or []
        if callable(answer):
            answer = call_cases(answer, cases)
        if not isinstance(answer, Calls):
            return make_result(problem, 0.0, rules.describe_rule(rules.rule_for(problem.compare)),
                               f"Expected a function named {spec.name}, got {rules.what(answer)}.",
                               code=Code.WRONG_TYPE)
        if len(answer.outcomes) != len(cases):
            return make_result(problem, 0.0, rules.describe_rule(rules.rule_for(problem.compare)),
                               f"Expected the outputs of {spec.name} on {len(cases)} inputs, "
                               f"got {len(answer.outcomes)}.", code=Code.WRONG_SHAPE)
        reference = problem.answer.evaluate(values)
        misconception_functions = []
        for misconception in problem.misconceptions:
            ok, function = safe_evaluate(misconception.answer, values)
            if ok and callable(function):
                misconception_functions.append((misconception, function))
        parts: list[Part] = []
        score, rule, used = 0.0, None, None
        for index, (case, arguments, (returned, got)) in enumerate(zip(spec.cases, cases, answer.outcomes)):
            expected = reference(*copy.deepcopy(arguments))
            rule = rules.rule_for(problem.compare, expected)
            part: Part = {"case": index + 1, "input": case_label(case)}
            if not returned:
                part.update(correct=False, message=f"raised {short(got, RAISED_ECHO_LIMIT)}", code=Code.RAISED)
                parts.append(part)
                continue
            check = rules.compare_value(got, expected, rule)
            part.update(correct=check.ok, message="correct" if check.ok else check.message,
                        error=rules.band_of(check), code=check.code)
            if check.ok:
                score += 1
            else:
                for misconception, function in misconception_functions:
                    try:
                        with np.errstate(all="ignore"):
                            wrong = function(*copy.deepcopy(arguments))
                    except Exception:  # noqa: BLE001
                        continue
                    if rules.compare_value(got, wrong, rule).ok:
                        score += misconception.credit
                        part.update(misconception=misconception.id, message=misconception.feedback,
                                    code=Code.MISCONCEPTION)
                        used = used or misconception
                        break
            parts.append(part)
        total = len(spec.cases)
        passed = sum(1 for part in parts if part["correct"])
        text = rules.describe_rule(rule or rules.rule_for(problem.compare))
        if passed == total:
            message = "Correct: every case passes."
        else:
            first = next(part for part in parts if not part["correct"])
            message = rules.sentence(f"{passed} of {total} cases pass; case {first['case']} ({first['input']}): "
                                     f"{first['message']}")
        return make_result(problem, score / total, text, message, code=parts_code(parts),
                           misconception=used.id if used else None, parts=parts)

    # --- simulated students ---------------------------------------------------------------

    def correct_source(self, variant: ProblemVariant) -> str:
        """The engine's own function written out with numpy alone: a kernel cannot import grader."""
        from .code import standalone_function_code
        written = standalone_function_code(variant.problem.answer.evaluate(variant.values), variant.variable)
        return written if written is not None else "\n".join(self.solution_lines(variant))

    def misconception_value(self, variant: ProblemVariant, misconception: Misconception) -> Any:
        return None     # a misconception is a function: no value to write down

    def wrong_answers(self, variant: ProblemVariant) -> list[Any]:
        """Each misconception's function, and the engine's with every output 5 % and 1 off."""
        found: list[Any] = []
        for misconception in variant.problem.misconceptions:
            ok, function = safe_evaluate(misconception.answer, variant.values)
            if ok and callable(function):
                found.append(function)
        reference = variant.problem.answer.evaluate(variant.values)
        found.append(lambda *arguments: np.asarray(reference(*arguments), dtype=float) * 1.05 + 1)
        return found

    def export(self, problem: Problem, values: Values) -> dict[str, Any]:
        spec = _spec(problem)
        return {"kind": self.name, "rule": rules.rule_for(problem.compare), "points": float(problem.points),
                "name": spec.name, "signature": spec.signature,
                "cases": [[argument.evaluate(values) for argument in case] for case in spec.cases],
                "expected": self.expected_values(problem, values)}


KIND = Function()
