"""load_bank(path) -> Bank: parse questions.yaml, check it, build the model.

Checks, in order: YAML syntax; the JSON Schema (schema.py); then per problem the
meaning of every field (names in expressions and in the prompt, contract ids,
comparison rules, options, misconceptions, kind-specific fields); then across the
bank (duplicate ids, assignments); then, unless `check_variants=False`, one draw per
(problem, assignment that uses it): constraints satisfiable, answer, misconceptions,
function cases and the prompt evaluate on that draw.

Every problem found is collected; one BankError lists them all, sorted by line.
Banks are cached per (path, mtime, size).
"""

import difflib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from grader import engine
from grader.errors import GraderError

from . import expressions, templates
from .expressions import Expression, ExpressionError
from .model import (
    SAMPLERS, Assignment, Bank, FunctionSpec, Misconception, ParamSpec, Problem, TableSpec, problem_digest,
)
from .schema import BANK_SCHEMA
from .yamlio import YamlSyntaxError, line_at, load_yaml, plain

RULES_BY_KIND = {
    "numeric": ("exact", "close", "sigfigs"),
    "array": ("exact", "close", "sigfigs"),
    "choice": ("choice",),
    "function": ("exact", "close", "sigfigs"),
    "table": ("exact", "close", "sigfigs"),
}
DEFAULT_RULE = {"array": "close", "function": "close", "choice": "choice"}  # numeric, table: by value
RULE_DEFAULTS = {
    "exact": {},
    "close": {"rtol": 1e-3, "atol": 1e-6},
    "sigfigs": {"sigfigs": 3},
    "choice": {"partial": False},
}
RULE_OF_OPTION = {"rtol": "close", "atol": "close", "sigfigs": "sigfigs", "partial": "choice"}
ARRAY_SAMPLERS = ("array", "probabilities", "one_hot")
EXTRA_KEYS = {"int": ("step",), "float": ("decimals",)}
EXPRESSION_FIELDS = {  # sampler -> entries that may be written as expressions over earlier parameters
    "int": ("int", "step"),
    "float": ("float",),
    "array": ("shape", "mean", "std", "low", "high"),
    "probabilities": ("shape",),
    "one_hot": ("classes", "batch"),
    "box": ("size",),
    "tokens": ("length",),
    "documents": ("count", "length"),
}


@dataclass(frozen=True)
class BankIssue:
    file: str
    line: int
    problem: str | None
    message: str

    def __str__(self):
        where = f"problem '{self.problem}': " if self.problem else ""
        return f"{self.file}:{self.line}: {where}{self.message}"


class BankError(GraderError):
    """The bank is invalid. `issues` lists every problem found (file, line, problem id, message)."""

    def __init__(self, issues):
        self.issues = sorted(issues, key=lambda issue: (issue.line, issue.message))
        first = self.issues[0]
        self.file, self.line, self.problem, self.message = first.file, first.line, first.problem, first.message
        count = len(self.issues)
        header = f"{count} error{'s' if count > 1 else ''} in the bank:\n" if count > 1 else ""
        super().__init__(header + "\n".join(str(issue) for issue in self.issues))


class _Issues:
    def __init__(self, file):
        self.file = file
        self.items = []

    def add(self, line, problem, message):
        self.items.append(BankIssue(self.file, line, problem, message))

    def raise_if_any(self):
        if self.items:
            raise BankError(self.items)


_CACHE = {}


def load_bank(path, check_variants=True):
    """The validated bank at `path`. Raises BankError (a GraderError) listing every error.

    check_variants=False skips the per-assignment draws (the runtime's fast path).
    Results are cached per (path, mtime, size): treat the Bank as read-only.
    """
    path = Path(path)
    try:
        stat = path.stat()
        resolved = str(path.resolve())
    except OSError as exc:
        raise GraderError(f"{path}: cannot read the question bank ({exc.strerror})") from None
    stamp = (stat.st_mtime_ns, stat.st_size)
    for checked in ((True,) if check_variants else (True, False)):
        hit = _CACHE.get((resolved, checked))
        if hit is not None and hit[0] == stamp:
            return hit[1]
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GraderError(f"{path}: cannot read the question bank ({exc})") from None
    bank = load_bank_text(text, path, check_variants=check_variants)
    _CACHE[(resolved, check_variants)] = (stamp, bank)
    return bank


def _display_name(path):
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


def load_bank_text(text, path="questions.yaml", check_variants=True):
    """Like load_bank, on text already read (not cached). `path` names the file in messages."""
    path = Path(path)
    issues = _Issues(_display_name(path))
    try:
        document = load_yaml(text)
    except YamlSyntaxError as exc:
        issues.add(exc.line, None, exc.message)
        issues.raise_if_any()
    if not isinstance(document, dict):
        issues.add(getattr(document, "line", 1), None, "the bank must be a mapping (course, seed, assignments, problems)")
        issues.raise_if_any()
    broken = _check_schema(document, issues)
    if broken is None:  # the top level itself is broken: nothing else can be checked
        issues.raise_if_any()
    bad_problems, bad_assignments = broken
    problems = {}
    problem_lines = {}
    for index, raw in enumerate(document["problems"]):
        if index in bad_problems:
            continue
        problem = _ProblemBuilder(raw, issues, document["seed"]).build()
        if problem is None:
            continue
        if problem.id in problems:
            issues.add(problem.line, problem.id,
                       f"id: duplicate problem id (first defined on line {problem_lines[problem.id]})")
            continue
        problems[problem.id] = problem
        problem_lines[problem.id] = problem.line
    known_ids = {raw.get("id") for raw in document["problems"] if isinstance(raw, dict)}
    assignments = _build_assignments(document, bad_assignments, known_ids, issues)
    bank = Bank(path=path, course=document["course"], seed=document["seed"],
                variant_key=document.get("variant_key", "assignment"),
                assignments=assignments, problems=problems)
    if check_variants:  # bank.problems holds only the problems that passed every other check
        _check_variants(bank, issues)
    issues.raise_if_any()
    return bank


# --- schema -----------------------------------------------------------------------------

def _field(path):
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def _schema_error_line(document, error):
    path = list(error.absolute_path)
    node = document
    for step in path:
        node = node[step]
    if error.validator == "additionalProperties" and isinstance(node, dict):
        allowed = error.schema.get("properties", {})
        extras = [key for key in node if key not in allowed]
        if extras and hasattr(node, "lines"):
            return node.lines[extras[0]]
    if error.validator == "propertyNames" and hasattr(node, "lines") and error.instance in node.lines:
        return node.lines[error.instance]
    return line_at(document, path)


def _jsonschema():
    """Import jsonschema without its optional IRI-format parser, which takes ~1 s to import.

    Hidden tests load the bank in every grading kernel, and the bank's schema uses no
    `format` keyword, so the parser is never needed here.
    """
    if "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # makes jsonschema's optional import fail fast
        try:
            import jsonschema
        finally:
            del sys.modules["rfc3987_syntax"]
    import jsonschema
    return jsonschema


def _check_schema(document, issues):
    """Report schema errors; return (bad problem indices, bad assignment indices), or None if the top is broken."""
    validator = _jsonschema().Draft202012Validator(BANK_SCHEMA)
    bad_problems, bad_assignments, top_broken = set(), set(), False
    for error in validator.iter_errors(document):
        path = list(error.absolute_path)
        line = _schema_error_line(document, error)
        if len(path) >= 2 and path[0] in ("problems", "assignments") and isinstance(path[1], int):
            entry = document[path[0]][path[1]]
            entry_id = entry.get("id") if isinstance(entry, dict) and isinstance(entry.get("id"), str) else None
            field = _field(path[2:])
            message = f"{field}: {error.message}" if field else error.message
            if path[0] == "problems":
                bad_problems.add(path[1])
                label = entry_id or f"#{path[1] + 1}"
                issues.add(line, label, message)
            else:
                bad_assignments.add(path[1])
                issues.add(line, None, f"assignment '{entry_id or '#' + str(path[1] + 1)}': {message}")
        else:
            top_broken = True
            field = _field(path)
            issues.add(line, None, f"{field}: {error.message}" if field else error.message)
    return None if top_broken else (bad_problems, bad_assignments)


# --- assignments ------------------------------------------------------------------------

def _build_assignments(document, bad, known_problem_ids, issues):
    assignments = {}
    for index, raw in enumerate(document["assignments"]):
        if index in bad:
            continue
        line = raw.line
        label = f"assignment '{raw['id']}'"
        if raw["id"] in assignments:
            issues.add(line, None, f"{label}: duplicate assignment id (first defined on line "
                                   f"{assignments[raw['id']].line})")
            continue
        problem_ids = list(raw["problems"])
        if not problem_ids:
            issues.add(raw.lines["problems"], None, f"{label}: problems: empty (an assignment needs at least one problem)")
        seen = set()
        for position, problem_id in enumerate(problem_ids):
            item_line = raw["problems"].lines.get(position, raw.lines["problems"])
            if problem_id not in known_problem_ids:
                hint = _did_you_mean(problem_id, known_problem_ids)
                issues.add(item_line, None, f"{label}: problems: unknown problem '{problem_id}'{hint}")
            elif problem_id in seen:
                issues.add(item_line, None, f"{label}: problems: '{problem_id}' is listed twice")
            seen.add(problem_id)
        assignments[raw["id"]] = Assignment(id=raw["id"], title=raw["title"], problems=problem_ids, line=line)
    return assignments


def _did_you_mean(word, candidates):
    close = difflib.get_close_matches(str(word), [c for c in candidates if isinstance(c, str)], n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


# --- problems ---------------------------------------------------------------------------

def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


class _ProblemBuilder:
    """Builds one Problem from its YAML mapping (already schema-valid), reporting what is wrong."""

    def __init__(self, raw, issues, seed):
        self.raw = raw
        self.issues = issues
        self.seed = seed
        self.id = raw["id"]
        self.kind = raw["kind"]
        self.lines = {key: raw.lines[key] for key in raw}
        self.errors = 0
        self.param_names = list(raw.get("params", {}))

    def error(self, field, message, line=None):
        self.errors += 1
        self.issues.add(line or self.lines.get(field.split(".")[0].split("[")[0], self.raw.line), self.id,
                        f"{field}: {message}")

    def item_line(self, key, index):
        return self.raw[key].lines.get(index, self.lines[key])

    # expressions
    def expression(self, field, source, line=None):
        try:
            return Expression(str(source) if not isinstance(source, str) else source)
        except ExpressionError as exc:
            self.error(field, str(exc), line)
            return None

    def check_names(self, field, expression, defined, line=None):
        """Every free name is a parameter in `defined`, or reserved (engine, helper, builtin, np)."""
        if expression is None:
            return
        for name in sorted(expression.parameter_names):
            if name in defined:
                continue
            if name in self.param_names:
                self.error(field, f"'{name}' is used before it is defined "
                                  "(parameters are drawn in the order written)", line)
            else:
                self.error(field, f"unknown name '{name}' (not a parameter, engine function or helper)", line)

    def build(self):
        raw = self.raw
        formula = list(raw["formula"])
        for position, contract in enumerate(formula):
            if contract not in engine.CONTRACTS:
                self.error("formula", f"unknown contract id '{contract}' (not in docs/FORMULAS.md)"
                                      f"{_did_you_mean(contract, engine.CONTRACTS)}", self.item_line("formula", position))
        params = self.build_params()
        constraints = self.build_constraints()
        self.check_prompt()
        options = self.build_options()
        answer = self.build_answer(options)
        compare = self.build_compare()
        misconceptions = self.build_misconceptions(options)
        function = self.build_function()
        table = self.build_table()
        inputs = self.build_inputs(params)
        if self.errors:
            return None
        spec = plain(raw)
        return Problem(
            id=self.id, title=raw["title"], section=raw["section"], formula=formula, points=raw["points"],
            kind=self.kind, prompt=raw["prompt"], answer=answer, params=params, constraints=constraints,
            compare=compare, misconceptions=misconceptions, hints=list(raw.get("hints", [])),
            secret=raw.get("secret", False), inputs=inputs, options=options,
            multiple=raw.get("multiple", False), function=function, table=table, line=raw.line,
            digest=problem_digest(spec, self.seed), spec=spec, lines=self.lines,
        )

    def build_params(self):
        params = {}
        raw_params = self.raw.get("params", {})
        for name, raw_spec in raw_params.items():
            line = raw_params.lines[name]
            self.lines[f"params.{name}"] = line
            field = f"params.{name}"
            kind = expressions.name_kind(name)
            if kind:
                article = "an" if kind[0] in "aeiou" else "a"
                self.error(field, f"the name '{name}' is taken by {article} {kind}", line)
                continue
            samplers = [key for key in raw_spec if key in SAMPLERS]
            if len(samplers) != 1:
                found = ", ".join(samplers) or "none"
                self.error(field, f"needs exactly one sampling key of {', '.join(SAMPLERS)} (found {found})", line)
                continue
            sampler = samplers[0]
            extras = [key for key in raw_spec if key != sampler and key not in EXTRA_KEYS.get(sampler, ())]
            if extras:
                self.error(field, f"'{extras[0]}' does not go with '{sampler}'", line)
                continue
            spec = self.param_spec(field, sampler, plain(raw_spec), line)
            if spec is None:
                continue
            param = ParamSpec(name=name, sampler=sampler, spec=spec, line=line)
            for expression in param.expressions:
                self.check_names(field, expression, set(params), line)
            params[name] = param
        return params

    def param_spec(self, field, sampler, spec, line):
        """The spec with expression-valued entries parsed; None when one does not parse."""
        inner = spec[sampler] if isinstance(spec[sampler], dict) else spec
        failed = False

        def convert(value):
            nonlocal failed
            if isinstance(value, list):
                return [convert(item) for item in value]
            if isinstance(value, str):
                expression = self.expression(field, value, line)
                failed = failed or expression is None
                return expression
            return value

        for key in EXPRESSION_FIELDS.get(sampler, ()):
            if key in inner:
                inner[key] = convert(inner[key])
        if sampler == "expr":
            spec["expr"] = self.expression(field, spec["expr"], line)
            failed = failed or spec["expr"] is None
        if sampler == "array":
            dist = inner.get("dist", "normal")
            unused = {"normal": ("low", "high"), "uniform": ("mean", "std"), "int": ("mean", "std", "decimals")}[dist]
            wrong = [key for key in unused if key in inner]
            if wrong:
                self.error(field, f"array: '{wrong[0]}' does not go with dist: {dist}", line)
                failed = True
        if sampler == "int" and "step" in spec and _is_number(spec["step"]) and spec["step"] < 1:
            self.error(field, f"step: must be a positive integer, got {spec['step']!r}", line)
            failed = True
        bounds = spec.get(sampler) if sampler in ("int", "float") else None
        if bounds and all(_is_number(b) for b in bounds) and bounds[0] > bounds[1]:
            self.error(field, f"{sampler}: empty range [{bounds[0]}, {bounds[1]}] (low > high)", line)
            failed = True
        return None if failed else spec

    def build_constraints(self):
        constraints = []
        for index, source in enumerate(self.raw.get("constraints", [])):
            line = self.item_line("constraints", index)
            self.lines[f"constraints[{index}]"] = line
            expression = self.expression(f"constraints[{index}]", source, line)
            self.check_names(f"constraints[{index}]", expression, set(self.param_names), line)
            constraints.append(expression)
        return constraints

    def check_prompt(self):
        prompt = self.raw["prompt"]
        try:
            names = templates.prompt_names(prompt)
        except jinja2.TemplateSyntaxError as exc:
            offset = (exc.lineno or 1) if "\n" in prompt.rstrip("\n") else 0
            self.error("prompt", f"template error: {exc.message}", self.lines["prompt"] + offset)
            return
        for name in sorted(names):
            if name not in self.param_names:
                self.error("prompt", f"unknown name '{name}' (not a parameter)")

    def build_options(self):
        if self.kind != "choice":
            for key in ("options", "multiple"):
                if key in self.raw:
                    self.error(key, f"only choice problems have '{key}'")
            return None
        options = self.raw.get("options")
        if not options:
            self.error("options", "a choice problem needs options (key: text)", self.lines.get("options", self.raw.line))
            return None
        for key in options:
            if not isinstance(key, str):
                self.error("options", f"option key {key!r} is not a string (quote it in the YAML)",
                           options.lines.get(key))
        return {str(key): str(text) for key, text in options.items()}

    def _not_an_option(self, key, options):
        return f"'{key}' is not among the options ({', '.join(options)})"

    def build_answer(self, options):
        answer = self.raw["answer"]
        line = self.lines["answer"]
        if self.kind == "choice":
            if options is None:
                return None
            multiple = self.raw.get("multiple", False)
            if isinstance(answer, list):
                wrong = [key for key in answer if str(key) not in options]
                if wrong:
                    self.error("answer", self._not_an_option(wrong[0], options))
                    return None
                if not multiple and len(answer) != 1:
                    self.error("answer", "several correct keys need `multiple: true`")
                    return None
                return Expression.constant(frozenset(str(k) for k in answer) if multiple else str(answer[0]))
            if str(answer) in options:
                return Expression.constant(frozenset([str(answer)]) if multiple else str(answer))
            try:
                expression = Expression(str(answer))
            except ExpressionError:
                expression = None
            if expression is None or any(name not in self.param_names for name in expression.parameter_names):
                self.error("answer", self._not_an_option(answer, options))
                return None
            return expression
        if not isinstance(answer, str):
            if self.kind == "function":
                self.error("answer", "a function problem's answer names the function to call (an expression)")
                return None
            return Expression.constant(plain(answer))
        expression = self.expression("answer", answer, line)
        self.check_names("answer", expression, set(self.param_names), line)
        return expression

    def build_compare(self):
        raw = plain(self.raw.get("compare", {}))
        allowed = RULES_BY_KIND[self.kind]
        rule = raw.get("rule")
        if rule is None:
            implied = {RULE_OF_OPTION[key] for key in raw if key in RULE_OF_OPTION}
            rule = implied.pop() if len(implied) == 1 else DEFAULT_RULE.get(self.kind)
        if rule is not None and rule not in allowed:
            self.error("compare", f"rule '{rule}' is not allowed for a {self.kind} problem "
                                  f"(allowed: {', '.join(allowed)})")
            return {}
        for key in raw:
            if key != "rule" and RULE_OF_OPTION[key] != rule:
                self.error("compare", f"'{key}' does not go with rule '{rule}' "
                                      f"(it belongs to '{RULE_OF_OPTION[key]}')")
                return {}
        if rule is None:  # numeric/table without options: exact for integers, close otherwise
            return {}
        compare = {"rule": rule, **RULE_DEFAULTS[rule], **{k: v for k, v in raw.items() if k != "rule"}}
        for key in ("rtol", "atol"):
            if key in compare and not (_is_number(compare[key]) and compare[key] >= 0):
                self.error("compare", f"{key} must be a number >= 0, got {compare[key]!r}")
        if "sigfigs" in compare:
            value = compare["sigfigs"]
            if not (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 15):
                self.error("compare", f"sigfigs must be an integer from 1 to 15, got {value!r}")
        if "partial" in compare:
            if not isinstance(compare["partial"], bool):
                self.error("compare", f"partial must be true or false, got {compare['partial']!r}")
            elif compare["partial"] and not self.raw.get("multiple", False):
                self.error("compare", "partial credit needs `multiple: true`")
        return compare

    def build_misconceptions(self, options):
        found = []
        seen = set()
        raw_list = self.raw.get("misconceptions", [])
        for index, raw in enumerate(raw_list):
            line = raw_list.lines[index]
            field = f"misconceptions[{index}]"
            self.lines[field] = line
            if raw["id"] in seen:
                self.error(field, f"duplicate misconception id '{raw['id']}'", line)
            seen.add(raw["id"])
            credit = raw.get("credit", 0)
            if not (_is_number(credit) and 0 <= credit <= 1):
                self.error(field, f"credit must be a number in [0, 1], got {credit!r}", raw.lines.get("credit", line))
                continue
            misconception = Misconception(id=raw["id"], feedback=raw["feedback"], credit=float(credit), line=line)
            if self.kind == "choice":
                if "answer" in raw or "option" not in raw:
                    self.error(field, "a choice misconception names an `option` (not an `answer`)", line)
                    continue
                keys = raw["option"] if isinstance(raw["option"], list) else [raw["option"]]
                wrong = [key for key in keys if options is not None and str(key) not in options]
                if wrong:
                    self.error(field, f"option {self._not_an_option(wrong[0], options)}",
                               raw.lines.get("option", line))
                    continue
                misconception.option = (frozenset(str(k) for k in keys) if isinstance(raw["option"], list)
                                        else str(raw["option"]))
            else:
                if "option" in raw or "answer" not in raw:
                    self.error(field, f"a {self.kind} misconception needs an `answer` (not an `option`)", line)
                    continue
                source = raw["answer"]
                answer_line = raw.lines.get("answer", line)
                if isinstance(source, str):
                    expression = self.expression(f"{field}.answer", source, answer_line)
                    self.check_names(f"{field}.answer", expression, set(self.param_names), answer_line)
                else:
                    expression = Expression.constant(plain(source))
                misconception.answer = expression
            found.append(misconception)
        return found

    def build_function(self):
        if self.kind != "function":
            if "function" in self.raw:
                self.error("function", "only function problems have 'function'")
            return None
        raw = self.raw.get("function")
        if raw is None:
            self.error("function", "a function problem needs `function: {name, signature, cases}`", self.raw.line)
            return None
        if not raw["cases"]:
            self.error("function", "no cases (a function problem needs at least one case)", raw.lines["cases"])
            return None
        cases = []
        for index, raw_case in enumerate(raw["cases"]):
            line = raw["cases"].lines[index]
            field = f"function.cases[{index}]"
            self.lines[field] = line
            arguments = []
            for argument in raw_case:
                if isinstance(argument, str):
                    expression = self.expression(field, argument, line)
                    self.check_names(field, expression, set(self.param_names), line)
                else:
                    expression = Expression.constant(plain(argument))
                arguments.append(expression)
            cases.append(arguments)
        return FunctionSpec(name=raw["name"], signature=raw["signature"], cases=cases, line=raw.line)

    def build_table(self):
        if self.kind != "table":
            if "table" in self.raw:
                self.error("table", "only table problems have 'table'")
            return None
        raw = self.raw.get("table")
        if raw is None:
            self.error("table", "a table problem needs `table: {columns, row_labels}`", self.raw.line)
            return None
        if not raw["columns"]:
            self.error("table", "no columns (a table needs at least one column)", raw.lines["columns"])
            return None
        if len(set(raw["columns"])) != len(raw["columns"]):
            self.error("table", "columns: a column is listed twice", raw.lines["columns"])
        labels = raw["row_labels"]
        if isinstance(labels, str):
            labels = self.expression("table.row_labels", labels, raw.lines["row_labels"])
            self.check_names("table.row_labels", labels, set(self.param_names), raw.lines["row_labels"])
        else:
            labels = list(labels)
        return TableSpec(columns=list(raw["columns"]), row_labels=labels, line=raw.line)

    def build_inputs(self, params):
        if "inputs" not in self.raw:
            return [name for name, param in params.items() if param.sampler in ARRAY_SAMPLERS]
        inputs = list(self.raw["inputs"])
        for index, name in enumerate(inputs):
            if name not in self.param_names:
                self.error("inputs", f"unknown parameter '{name}'", self.item_line("inputs", index))
        return inputs


# --- one draw per (problem, assignment) ---------------------------------------------------

def _check_variants(bank, issues):
    from grader import variants  # the sibling that draws; it needs only the model, not the loader

    for problem in bank.problems.values():
        assignment_ids = bank.assignments_of(problem.id) or ["qa"]
        for assignment_id in assignment_ids:
            message = _check_one_variant(variants, bank, problem, assignment_id)
            if message is not None:
                field, text = message
                line = problem.lines.get(field, problem.lines.get(field.split(".")[0].split("[")[0], problem.line))
                issues.add(line, problem.id, f"{field}: {text} (variant of assignment '{assignment_id}')")
                break


def _raises(exc):
    return f"raises {type(exc).__name__}: {exc}"


def _check_one_variant(variants, bank, problem, assignment_id):
    """(field, message) of the first thing that fails on this assignment's draw, or None."""
    try:
        values = variants.draw(bank, problem, assignment_id)
    except variants.VariantError as exc:
        return exc.field, exc.message
    try:
        templates.render_prompt(problem, values)
    except Exception as exc:  # noqa: BLE001
        return "prompt", _raises(exc)
    try:
        expected = problem.answer.evaluate(values)
    except Exception as exc:  # noqa: BLE001
        return "answer", _raises(exc)
    problem_with_value = _check_expected(problem, expected, values)
    if problem_with_value is not None:
        return problem_with_value
    for index, misconception in enumerate(problem.misconceptions):
        if misconception.answer is None:
            continue
        try:
            misconception.answer.evaluate(values)
        except Exception as exc:  # noqa: BLE001
            return f"misconceptions[{index}]", "answer " + _raises(exc)
    return None


def _check_expected(problem, expected, values):
    if problem.kind == "numeric":
        scalar = expected.item() if isinstance(expected, (np.generic, np.ndarray)) and np.size(expected) == 1 \
            and np.ndim(expected) == 0 else expected
        if isinstance(scalar, bool) or not isinstance(scalar, (int, float)):
            return "answer", f"a numeric problem's answer must be one number, got {type(expected).__name__}"
    if problem.kind == "array":
        try:
            np.asarray(expected, dtype=float)
        except (TypeError, ValueError):
            return "answer", f"an array problem's answer must be numbers, got {type(expected).__name__}"
    if problem.kind == "choice":
        keys = expected if isinstance(expected, (list, tuple, set, frozenset)) else [expected]
        wrong = [key for key in keys if str(key) not in problem.options]
        if wrong:
            return "answer", f"gives '{wrong[0]}', which is not among the options ({', '.join(problem.options)})"
    if problem.kind == "function":
        if not callable(expected):
            return "answer", f"a function problem's answer must be a function, got {type(expected).__name__}"
        for index, case in enumerate(problem.function.cases):
            try:
                expected(*[argument.evaluate(values) for argument in case])
            except Exception as exc:  # noqa: BLE001
                return f"function.cases[{index}]", _raises(exc)
    if problem.kind == "table":
        return _check_table(problem, expected, values)
    return None


def _check_table(problem, expected, values):
    labels = problem.table.row_labels
    if isinstance(labels, Expression):
        try:
            labels = labels.evaluate(values)
        except Exception as exc:  # noqa: BLE001
            return "table", "row_labels " + _raises(exc)
    if not isinstance(expected, (list, tuple)):
        return "answer", f"a table problem's answer must be a list of rows, got {type(expected).__name__}"
    if len(expected) != len(labels):
        return "answer", f"gives {len(expected)} rows but the table has {len(labels)} row labels"
    columns = problem.table.columns
    for row in expected:
        if isinstance(row, dict):
            missing = [column for column in columns if column not in row]
            if missing:
                return "answer", f"a row has no column '{missing[0]}' (it has {', '.join(map(str, row))})"
        elif not isinstance(row, (list, tuple)) or len(row) != len(columns):
            return "answer", f"each row must be a dict with the columns or a tuple of {len(columns)} cells"
    return None
