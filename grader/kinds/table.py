"""`table`: a list of rows (e.g. output shape and parameters of every layer), each cell graded on its own.

Error carried forward (`table.carry_forward`, docs/bank-format.md): when a row is computed from
the row before it, a cell that is wrong against the true table is graded again against the row
the bank's `row` expression computes from the student's own answer in the row before, and keeps
the better score, as Numbas' adaptive marking does. The cell that was wrong first earns nothing;
every later cell that follows correctly from it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from grader.bank.expressions import Expression
from grader.bank.model import CarryForward, Problem, TableSpec
from grader.protocol import Code, Part, Result

from . import rules
from .base import Kind, ProblemVariant, Values, make_result, parts_code, raises, safe_evaluate
from .values import not_integer

if TYPE_CHECKING:
    from grader.bank.loader import ProblemBuilder

CARRIED = "carried"   # the name of the student's earlier cell in a `row` expression
ROW = "row"           # the name of the row's index (0 for the first row)
_MISSING = object()
_KEYS_SEEN: dict[int, tuple[Any, Any, Any]] = {}     # id(values) -> (problem, values, expected)
_KEYS_KEPT = 4096


def _classmate_key(problem: Problem, values: Values) -> Any:
    """The answer for `values`, computed once per values object: a grading worker asks it of every
    classmate's numbers for every partly right table. The entry holds `values`, so while it is kept
    no other object can have its id."""
    seen = _KEYS_SEEN.get(id(values))
    if seen is not None and seen[0] is problem and seen[1] is values:
        return seen[2]
    if len(_KEYS_SEEN) >= _KEYS_KEPT:
        _KEYS_SEEN.pop(next(iter(_KEYS_SEEN)))
    expected = problem.answer.evaluate(values)
    _KEYS_SEEN[id(values)] = (problem, values, expected)
    return expected


def row_cells(row: Any, columns: list[str]) -> tuple[dict[str, Any] | None, str | None, str]:
    """({column: cell}, None, code) from a dict or a sequence in column order; or (None, message, code)."""
    if isinstance(row, dict):
        return {column: row.get(column, _MISSING) for column in columns}, None, Code.CORRECT
    if isinstance(row, (list, tuple)) and len(row) == len(columns):
        return dict(zip(columns, row)), None, Code.CORRECT
    if isinstance(row, (list, tuple)):
        return None, f"a row has {len(row)} cells, the table has {len(columns)} columns", Code.WRONG_SHAPE
    return None, f"each row must be a dict or a tuple, got {rules.what(row)}", Code.WRONG_TYPE


def _spec(problem: Problem) -> TableSpec:
    assert problem.table is not None, problem.id
    return problem.table


def row_labels(problem: Problem, values: Values) -> list[str]:
    labels = _spec(problem).row_labels
    labels = labels.evaluate(values) if isinstance(labels, Expression) else labels
    return [str(label) for label in labels]


def _plain_data(value: Any) -> bool:
    """Numbers, strings and lists/tuples/arrays of them: what a student's cell may feed the engine."""
    if isinstance(value, (str, bool)) or rules.is_real(value):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain_data(item) for item in value)
    return rules.is_number_tree(value)


@dataclass
class _Chain:
    """Recomputes a row from the student's answer in the row before it (error carried forward)."""

    spec: CarryForward
    values: Values
    columns: list[str]

    def row_from(self, index: int, carried: Any) -> dict[str, Any] | None:
        """The cells of row `index` computed from `carried`; None when that cannot be computed."""
        ok, row = safe_evaluate(self.spec.row, {**self.values, CARRIED: carried, ROW: index})
        if not ok:
            return None
        cells, _, _ = row_cells(row, self.columns)
        return cells


class Table(Kind):
    name = "table"
    identifies_variant = True      # a whole table of a classmate's numbers is not a coincidence
    words = "a list of rows"
    fields = ("table",)
    public_checks = False    # the checks look at one array; a table is rows of cells
    schema = {"table": {
        "type": "object",
        "additionalProperties": False,
        "required": ["columns", "row_labels"],
        "properties": {
            "columns": {"type": "array", "items": {"type": "string"}},
            "row_labels": {"type": ["array", "string"], "items": {"type": "string"}},
            "carry_forward": {
                "type": "object",
                "additionalProperties": False,
                "required": ["from", "row"],
                "properties": {
                    "from": {"type": "string"},
                    "into": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "row": {"type": "string"},
                },
            },
        },
    }}

    # --- the bank -------------------------------------------------------------------------

    def build(self, builder: ProblemBuilder) -> dict[str, Any]:
        raw = builder.raw.get("table")
        if raw is None:
            builder.error("table", "a table problem needs `table: {columns, row_labels}`", builder.raw.line)
            return {"table": None}
        if not raw["columns"]:
            builder.error("table", "no columns (a table needs at least one column)", raw.lines["columns"])
            return {"table": None}
        columns = list(raw["columns"])
        if len(set(columns)) != len(columns):
            builder.error("table", "columns: a column is listed twice", raw.lines["columns"])
        labels = raw["row_labels"]
        if isinstance(labels, str):
            labels = builder.expression("table.row_labels", labels, raw.lines["row_labels"])
            builder.check_names("table.row_labels", labels, set(builder.param_names), raw.lines["row_labels"])
        else:
            labels = list(labels)
        carry = self._build_carry_forward(builder, raw.get("carry_forward"), columns, raw)
        return {"table": TableSpec(columns=columns, row_labels=labels, line=raw.line, carry_forward=carry)}

    def _build_carry_forward(self, builder: ProblemBuilder, raw: Any, columns: list[str],
                             table: Any) -> CarryForward | None:
        if raw is None:
            return None
        line = table.lines["carry_forward"]
        field = "table.carry_forward"
        builder.lines[field] = line
        failed = False
        if raw["from"] not in columns:
            builder.error(field, f"from: '{raw['from']}' is not a column ({', '.join(columns)})",
                          raw.lines.get("from", line))
            failed = True
        into = list(raw.get("into", columns))
        for column in into:
            if column not in columns:
                builder.error(field, f"into: '{column}' is not a column ({', '.join(columns)})",
                              raw.lines.get("into", line))
                failed = True
        taken = [name for name in (CARRIED, ROW) if name in builder.param_names]
        if taken:
            builder.error(field, f"the parameter name '{taken[0]}' is taken by carry_forward's row expression")
            failed = True
        row_line = raw.lines.get("row", line)
        row = builder.expression(f"{field}.row", raw["row"], row_line)
        builder.check_names(f"{field}.row", row, set(builder.param_names) | {CARRIED, ROW}, row_line)
        if row is None or failed:
            return None
        return CarryForward(source=raw["from"], into=into, row=row, line=line)

    def check_variant(self, problem: Problem, expected: Any, values: Values) -> tuple[str, str] | None:
        spec = _spec(problem)
        try:
            labels = row_labels(problem, values)
        except Exception as exc:  # noqa: BLE001
            return "table", "row_labels " + raises(exc)
        if not isinstance(expected, (list, tuple)):
            return "answer", f"a table problem's answer must be a list of rows, got {type(expected).__name__}"
        if len(expected) != len(labels):
            return "answer", f"gives {len(expected)} rows but the table has {len(labels)} row labels"
        for row in expected:
            if isinstance(row, dict):
                missing = [column for column in spec.columns if column not in row]
                if missing:
                    return "answer", f"a row has no column '{missing[0]}' (it has {', '.join(map(str, row))})"
            elif not isinstance(row, (list, tuple)) or len(row) != len(spec.columns):
                return "answer", f"each row must be a dict with the columns or a tuple of {len(spec.columns)} cells"
        if spec.carry_forward is not None:
            return self._check_chain(problem, spec.carry_forward, list(expected), values, labels)
        return None

    def _check_chain(self, problem: Problem, carry: CarryForward, expected: list, values: Values,
                     labels: list[str]) -> tuple[str, str] | None:
        """Fed the true row before it, the `row` expression must give the answer's row."""
        field = "table.carry_forward.row"
        columns = _spec(problem).columns
        for index in range(1, len(expected)):
            before, _, _ = row_cells(expected[index - 1], columns)
            wanted, _, _ = row_cells(expected[index], columns)
            assert before is not None and wanted is not None
            try:
                got = carry.row.evaluate({**values, CARRIED: before[carry.source], ROW: index})
            except Exception as exc:  # noqa: BLE001
                return field, f"row '{labels[index]}': " + raises(exc)
            cells, message, _ = row_cells(got, columns)
            if cells is None:
                return field, f"row '{labels[index]}': {message}"
            for column in carry.into:
                rule = rules.rule_for(problem.compare, wanted[column])
                if cells[column] is _MISSING or not rules.compare_value(cells[column], wanted[column], rule).ok:
                    return field, (f"row '{labels[index]}', {column}: computed from the row before it, "
                                   f"gives {cells.get(column)!r}, not the answer's {wanted[column]!r}")
        return None

    # --- the notebook ---------------------------------------------------------------------

    def prompt_parts(self, variant: ProblemVariant) -> list[str]:
        columns = list(_spec(variant.problem).columns)
        header = "| row | " + " | ".join(columns) + " |"
        rule = "|---|" + "---|" * len(columns)
        rows = [f"| {label} |" + " |" * len(columns) for label in row_labels(variant.problem, variant.values)]
        return ["\n".join([header, rule, *rows])]

    def rule_statement(self, variant: ProblemVariant) -> str:
        if not variant.problem.compare:
            return rules.BY_VALUE_STATEMENT
        rule = rules.rule_for(variant.problem.compare)
        return rules.with_advice(rules.describe_rule(rule), rule)

    def answer_instructions(self, variant: ProblemVariant) -> str:
        columns = ", ".join(f"`{column}`" for column in _spec(variant.problem).columns)
        return (f"Assign to `{variant.variable}` a list with one row per table row, in order; each row is a dict "
                f"with the keys {columns} (or a tuple in that order).")

    def format_checks(self, variant: ProblemVariant) -> list[str]:
        name, count = variant.variable, len(row_labels(variant.problem, variant.values))
        return [f'assert isinstance({name}, (list, tuple)), "{name} should be a list of rows"',
                f'assert len({name}) == {count}, "{name} should have {count} rows, one per table row"']

    def format_numbers(self, variant: ProblemVariant) -> list[str]:
        return super().format_numbers(variant) + [str(len(row_labels(variant.problem, variant.values)))]

    def prompt_words(self, variant: ProblemVariant) -> list[str]:
        return list(_spec(variant.problem).columns) + row_labels(variant.problem, variant.values)

    # --- grading --------------------------------------------------------------------------

    def grade(self, problem: Problem, answer: Any, values: Values) -> Result:
        spec = _spec(problem)
        expected = problem.answer.evaluate(values)
        columns = spec.columns
        labels = row_labels(problem, values)
        text = rules.describe_rule(rules.rule_for(problem.compare)) if problem.compare else rules.BY_VALUE_WORDS
        if isinstance(answer, np.ndarray):
            answer = answer.tolist()
        if not isinstance(answer, (list, tuple)):
            return make_result(problem, 0.0, text, f"Expected a list of {len(labels)} rows, got {rules.what(answer)}.",
                               code=Code.WRONG_TYPE)
        if len(answer) != len(expected):
            return make_result(problem, 0.0, text, f"Expected {len(expected)} rows, got {len(answer)}.",
                               code=Code.WRONG_SHAPE)
        wrong_tables = []
        for misconception in problem.misconceptions:
            ok, table = safe_evaluate(misconception.answer, values)
            if ok and isinstance(table, (list, tuple)) and len(table) == len(expected):
                wrong_tables.append((misconception, table))
        chain = _Chain(spec.carry_forward, values, columns) if spec.carry_forward is not None else None
        parts: list[Part] = []
        score, used, carried_count = 0.0, None, 0
        given_rows = [row_cells(row, columns) for row in answer]
        for row_index, expected_row in enumerate(expected):
            label = labels[row_index] if row_index < len(labels) else str(row_index + 1)
            expected_cells, _, _ = row_cells(expected_row, columns)
            assert expected_cells is not None
            given_cells, row_problem, row_code = given_rows[row_index]
            carried_row = self._carried_row(chain, row_index, given_rows, expected, columns, problem)
            for column in columns:
                part: Part = {"row": label, "column": column}
                if given_cells is None:
                    part.update(correct=False, message=row_problem or "", code=row_code)
                    parts.append(part)
                    continue
                given, wanted = given_cells[column], expected_cells[column]
                if given is _MISSING:
                    part.update(correct=False, message=f"no value for column {column!r}", code=Code.WRONG_SHAPE)
                    parts.append(part)
                    continue
                rule = rules.rule_for(problem.compare, wanted)
                check = rules.compare_value(given, wanted, rule)
                part.update(correct=check.ok, message="correct" if check.ok else check.message,
                            error=rules.band_of(check), code=check.code)
                if check.ok:
                    score += 1
                elif (chain is not None and carried_row is not None and column in chain.spec.into
                      and carried_row.get(column, _MISSING) is not _MISSING
                      and rules.compare_value(given, carried_row[column], rule).ok):
                    score += 1
                    carried_count += 1
                    source = labels[row_index - 1] if row_index - 1 < len(labels) else str(row_index)
                    part.update(correct=True, carried_forward=True, code=Code.CARRIED_FORWARD, error=None,
                                message=f"credited as carried forward: right for your {chain.spec.source} "
                                        f"of row {source!r}")
                else:
                    for misconception, table in wrong_tables:
                        cells, _, _ = row_cells(table[row_index], columns)
                        if cells is not None and rules.compare_value(given, cells[column], rule).ok:
                            score += misconception.credit
                            part.update(misconception=misconception.id, message=misconception.feedback,
                                        code=Code.MISCONCEPTION)
                            used = used or misconception
                            break
                parts.append(part)
        total = len(parts)
        passed = sum(1 for part in parts if part["correct"])
        if passed == total:
            message = "Correct: every cell is right."
        else:
            first = next(part for part in parts if not part["correct"])
            carried = f" ({carried_count} carried forward from your earlier rows)" if carried_count else ""
            message = rules.sentence(f"{passed} of {total} cells are right{carried}; row {first['row']!r}, "
                                     f"{first['column']}: {first['message']}")
        return make_result(problem, score / total if total else 0.0, text, message, code=parts_code(parts),
                           misconception=used.id if used else None, parts=parts)

    def right_for(self, problem: Problem, answer: Any, values: Values) -> bool:
        """Every cell right for `values` by the problem's rule (no carry-forward, no misconception):
        stops at the first wrong cell, which for another student's numbers is nearly always the first."""
        expected = _classmate_key(problem, values)
        if isinstance(answer, np.ndarray):
            answer = answer.tolist()
        if not isinstance(answer, (list, tuple)) or len(answer) != len(expected):
            return False
        columns = _spec(problem).columns
        for given_row, expected_row in zip(answer, expected):
            given, _, _ = row_cells(given_row, columns)
            wanted, _, _ = row_cells(expected_row, columns)
            if given is None or wanted is None:
                return False
            for column in columns:
                if given[column] is _MISSING or not rules.compare_value(
                        given[column], wanted[column], rules.rule_for(problem.compare, wanted[column])).ok:
                    return False
        return True

    @staticmethod
    def _carried_row(chain: _Chain | None, index: int, given_rows: list, expected: list, columns: list[str],
                     problem: Problem) -> dict[str, Any] | None:
        """Row `index` recomputed from the student's cell in the row before, when that cell is usable
        and differs from the true one (otherwise the true row is the only row to grade against)."""
        if chain is None or index == 0:
            return None
        before = given_rows[index - 1][0]
        if before is None:
            return None
        carried = before.get(chain.spec.source, _MISSING)
        if carried is _MISSING or not _plain_data(carried):
            return None
        true_before, _, _ = row_cells(expected[index - 1], columns)
        assert true_before is not None
        wanted = true_before[chain.spec.source]
        if rules.compare_value(carried, wanted, rules.rule_for(problem.compare, wanted)).ok:
            return None
        return chain.row_from(index, carried)

    # --- QA and export --------------------------------------------------------------------

    def qa_failures(self, problem: Problem, values: Values, expected: list[Any]) -> list[tuple[str, str]]:
        failures = not_integer(problem, expected)
        chain = _spec(problem).carry_forward
        if chain is not None:
            found = self._check_chain(problem, chain, expected[0], values,
                                      row_labels(problem, values))
            if found is not None:
                failures.append(("carry forward", f"{found[0]}: {found[1]}"))
        return failures

    def export(self, problem: Problem, values: Values) -> dict[str, Any]:
        data = super().export(problem, values)
        spec = _spec(problem)
        data.update(columns=list(spec.columns), row_labels=row_labels(problem, values),
                    carry_forward=None if spec.carry_forward is None else
                    {"from": spec.carry_forward.source, "into": list(spec.carry_forward.into)})
        return data


KIND = Table()
