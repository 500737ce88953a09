"""Integrity evidence for TAs: whose answers fit whose numbers, and function answers written alike.

Every student's numbers are drawn from their id, so the engine knows every classmate's right
answer and misconception values. Two kinds of evidence, per ordered pair of students (A, B):

* **Ghost answers.** Each answer of A that grading found wrong, on a problem whose numbers
  differ from student to student, is tested against B's numbers under the problem's own rule
  (the kind's own `right_for`, with B's right answer or one of B's misconception values as the
  expected value): "A's answer fits B's numbers", that is A used B's work. How often such a
  match happens by chance is measured the way qa measures shared answers: the same answer is
  tested against REFERENCE_VARIANTS variants drawn under keys no student has, and its chance
  rate is q = (fits + 1) / (REFERENCE_VARIANTS + 1) (never 0). Where answers are continuous that
  floor is too coarse: q is then no more than the density of the variants' values around the
  answer, counted in a window up to 100 times wider (±10 % at most) and corrected by how well
  that density predicts the matches among the reference variants themselves (answers on a grid,
  or that many variants share, keep the plain count). Over the answers A had wrong, the number
  of matches with B is, when A did not use B's numbers, a sum of independent Bernoulli(q) draws
  (B's numbers are drawn from B's id, independent of A's answers): its upper tail
  (scipy.stats.poisson_binom) is the pair's ghost p-value. The classmates are everyone graded and
  everyone given a per-student notebook (a source whose own notebook is unreadable still had numbers).

* **Function answers written alike.** Each function answer's cell is normalized by copydetect
  (names, comments and whitespace do not count), cut into k-grams (a stable hash, so the same
  class gives the same figures on every run) and winnowed (copydetect's winnow). Two students'
  score on a problem is the sum, over the fingerprints they share, of log(students / students who
  have that fingerprint): what the whole class writes (the standard `sigmoid`) weighs nothing,
  what two students alone share weighs most. A pair's code p-value is the share of all pairs of
  the class whose scores, summed over the function problems, are as high or higher (the class's
  own background). It says nothing of the direction.

A pair's two p-values are combined by Tippett's method (scipy.stats.combine_pvalues), and the
pair is flagged when the result is at most FLAG_P.

This is evidence for a person to weigh, never a verdict and never a grade: it is written under
reports/ (TAs only), nothing a student sees reads it, and grades are untouched (the one rule
that does change a grade, a table entirely right for a classmate's numbers, lives in
grader.kinds.grade_own_answer). What it does not prove: a flagged pair may have worked
together (the direction says whose numbers the answers fit, not who asked), an answer typed
from a classmate's notebook on one's own numbers leaves no ghost, and an answer computed by
code from the notebook's own inputs can never fit another student's numbers.

Answers are read from the answer cells of the autograded notebooks (the graded copies): a cell
that assigns the answer a value written out (numbers, lists, dicts, sets, `np.array(...)`,
arithmetic on them and on the notebook's own inputs) is read by a small evaluator that runs
nothing of the student's; a cell that computes its answer otherwise is not tested.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import math
import operator
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REFERENCE_VARIANTS = 1000        # variants per problem against which an answer's chance rate is measured
FLAG_P = 1e-4                    # a pair is flagged when its combined p-value is at most this
CODE_K = 12                      # characters per k-gram of the normalized code
CODE_WINDOW = 4                  # winnowing window (k-grams)
MAX_WIDENING = 100               # a continuous answer's chance rate: its window widened at most this much
WIDEST = 0.1                     # and to at most ±10 % (relative)
CALIBRATION = 150                # reference right answers that check the density estimate
CONTINUOUS = 3.0                 # answers are continuous when it predicts the matches seen within this factor
LISTED_CODE_P = 0.01             # pairs without a ghost match are listed when a function answer's p is this low
MAX_SOURCE_CHARS = 200_000       # an answer cell longer than this is not read
MAX_ELEMENTS = 100_000           # nor one whose value would hold more numbers than this
INTEGRITY_CSV = "integrity.csv"
COURSE_INTEGRITY_CSV = "integrity-all-assignments.csv"


# --- reading an answer from its cell, without running it ------------------------------------------

class NotALiteral(Exception):
    """The cell's answer is not a value written out: it is not tested."""


_NUMPY_FUNCTIONS = {
    "array", "asarray", "float64", "float32", "int64", "int32", "sqrt", "exp", "log", "log2", "log10",
    "floor", "ceil", "round", "abs", "absolute", "maximum", "minimum", "tanh", "mean", "sum", "dot",
    "matmul", "transpose", "clip", "prod", "max", "min", "var", "std", "square",
}
_MATH_FUNCTIONS = {"sqrt", "exp", "log", "log2", "log10", "floor", "ceil", "tanh", "fabs", "pow"}
_CONSTANTS = {("np", "pi"): math.pi, ("np", "e"): math.e, ("np", "nan"): math.nan, ("np", "inf"): math.inf,
              ("math", "pi"): math.pi, ("math", "e"): math.e, ("math", "nan"): math.nan, ("math", "inf"): math.inf}
_BUILTINS = {"float": float, "int": int, "round": round, "abs": abs, "min": min, "max": max, "sum": sum,
             "tuple": tuple, "list": list, "set": set, "frozenset": frozenset, "bool": bool}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
           ast.MatMult: operator.matmul}


def _numeric(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "iufb" and value.size <= MAX_ELEMENTS
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _size(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return int(value.size)
    if isinstance(value, (list, tuple, set, frozenset)):
        return sum(_size(item) for item in value) + 1
    if isinstance(value, dict):
        return sum(_size(item) for item in value.values()) + len(value)
    return 1


class _Evaluator:
    """Values written out in a cell: literals, arithmetic, whitelisted numpy/math calls, earlier names."""

    def __init__(self, names: dict[str, Any]) -> None:
        self.names = names

    def __call__(self, node: ast.AST) -> Any:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise NotALiteral(type(node).__name__)
        value = method(node)
        if _size(value) > MAX_ELEMENTS:
            raise NotALiteral("too large")
        return value

    def _Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, (int, float, str, bool)) or node.value is None:
            return node.value
        raise NotALiteral("constant")

    def _List(self, node: ast.List) -> Any:
        return [self(item) for item in node.elts]

    def _Tuple(self, node: ast.Tuple) -> Any:
        return tuple(self(item) for item in node.elts)

    def _Set(self, node: ast.Set) -> Any:
        return {self(item) for item in node.elts}

    def _Dict(self, node: ast.Dict) -> Any:
        if any(key is None for key in node.keys):
            raise NotALiteral("**")
        return {self(key): self(value) for key, value in zip(node.keys, node.values)}  # type: ignore[arg-type]

    def _Name(self, node: ast.Name) -> Any:
        if node.id in self.names:
            return self.names[node.id]
        if node.id in _BUILTINS:
            return _BUILTINS[node.id]
        raise NotALiteral(node.id)

    def _Attribute(self, node: ast.Attribute) -> Any:
        if isinstance(node.value, ast.Name):
            module = "np" if node.value.id in ("np", "numpy") else node.value.id
            if (module, node.attr) in _CONSTANTS:
                return _CONSTANTS[(module, node.attr)]
            if module == "np" and node.attr in _NUMPY_FUNCTIONS:
                return getattr(np, node.attr)
            if module == "math" and node.attr in _MATH_FUNCTIONS:
                return getattr(math, node.attr)
        raise NotALiteral("attribute")

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        operand = self(node.operand)
        if not _numeric(operand):
            raise NotALiteral("unary operand")
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return +operand
        raise NotALiteral("unary")

    def _BinOp(self, node: ast.BinOp) -> Any:
        left, right = self(node.left), self(node.right)
        if type(node.op) not in _BINARY or not (_numeric(left) and _numeric(right)):
            raise NotALiteral("binary")
        if isinstance(node.op, ast.Pow) and (np.any(np.abs(right) > 64) or np.any(np.abs(left) > 1e6)):
            raise NotALiteral("power")
        with np.errstate(all="ignore"):
            try:
                return _BINARY[type(node.op)](left, right)
            except (ArithmeticError, ValueError, TypeError) as exc:
                raise NotALiteral("arithmetic") from exc

    def _Call(self, node: ast.Call) -> Any:
        function = self(node.func)
        if not callable(function):
            raise NotALiteral("call")
        args = [self(arg) for arg in node.args]
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            raise NotALiteral("*args")
        keywords = {}
        for keyword in node.keywords:
            if keyword.arg not in ("dtype", "axis", "ndigits", "decimals"):
                raise NotALiteral("keyword")
            keywords[keyword.arg] = self(keyword.value)
        with np.errstate(all="ignore"):
            try:
                return function(*args, **keywords)
            except Exception as exc:  # noqa: BLE001 (a call the student's cell could not make either)
                raise NotALiteral("call failed") from exc


def _stored_names(statement: ast.stmt) -> set[str]:
    return {node.id for node in ast.walk(statement) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}


def answer_value(source: str, variable: str, inputs: dict[str, Any] | None = None) -> tuple[bool, Any]:
    """(True, value) when the cell's last assignment to `variable` is a value written out (literals,
    arithmetic, whitelisted numpy and math calls, names the cell set that way before, and the
    notebook's own `inputs`); (False, None) otherwise. Nothing of the cell runs."""
    if not isinstance(source, str) or len(source) > MAX_SOURCE_CHARS:
        return False, None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False, None
    names: dict[str, Any] = dict(inputs or {})
    evaluate = _Evaluator(names)
    for statement in tree.body:
        target = None
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
                isinstance(statement.targets[0], ast.Name):
            target, node = statement.targets[0].id, statement.value
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
            target, node = statement.target.id, statement.value
        elif isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
            target = statement.target.id
            node = ast.BinOp(left=ast.Name(id=target, ctx=ast.Load()), op=statement.op, right=statement.value)
        if target is None:
            for name in _stored_names(statement):
                names.pop(name, None)
            continue
        try:
            names[target] = evaluate(node)
        except (NotALiteral, RecursionError, MemoryError, OverflowError):
            names.pop(target, None)
    if variable not in names or (variable in (inputs or {}) and names[variable] is (inputs or {})[variable]):
        return False, None      # never set by the cell (an input of the same name is not an answer)
    return True, names[variable]


# --- what a class handed in ----------------------------------------------------------------------

@dataclass(frozen=True)
class Handed:
    """One answer cell a student handed in. `correct`: as grading recorded it (None: not known)."""

    assignment: str
    student: str
    problem: str
    source: str
    correct: bool | None = None


@dataclass
class Match:
    """A's answer to `problem` fits B's numbers: B's right answer, or one of B's misconception values."""

    assignment: str
    problem: str
    what: str            # "right" or "misconception:<id>"
    chance: float        # q: how often this answer fits a variant by chance


@dataclass
class PairEvidence:
    student: str                     # A: whose answers fit
    other: str                       # B: whose numbers they fit
    tested: list = field(default_factory=list)     # chance rates q of A's wrong answers tested on B
    matches: list = field(default_factory=list)    # Match
    code: list = field(default_factory=list)       # (assignment, problem, similarity score, p-value)
    assignments: set = field(default_factory=set)
    code_p: float = 1.0      # the share of the class's pairs whose function answers, summed, score as high

    @property
    def expected(self) -> float:
        return float(sum(self.tested))

    @property
    def ghost_p(self) -> float:
        """P(at least this many matches | A did not use B's numbers): the Poisson-binomial upper tail."""
        if not self.matches:
            return 1.0
        from scipy.stats import poisson_binom
        return float(min(1.0, max(0.0, poisson_binom(np.asarray(self.tested, dtype=float)).sf(len(self.matches) - 1))))

    @property
    def combined_p(self) -> float:
        """Tippett's combination (scipy.stats.combine_pvalues) of the ghost-answer p-value and the
        function answers' p-value: 1 - (1 - smallest)^2, so that strong evidence of one kind is not
        drowned by the other kind having none (as with Fisher's method)."""
        pvalues = ([self.ghost_p] if self.tested else []) + ([self.code_p] if self.code else [])
        if not pvalues:
            return 1.0
        if len(pvalues) == 1:
            return pvalues[0]
        from scipy.stats import combine_pvalues
        return float(combine_pvalues(np.asarray(pvalues, dtype=float), method="tippett").pvalue)

    @property
    def flagged(self) -> bool:
        return self.combined_p <= FLAG_P


# --- ghost answers --------------------------------------------------------------------------------

class _Fixed:
    """A problem's answer fixed to one value (a classmate's right answer or misconception value), so that
    the kind grades against it. Unlike Expression.constant it hands out the value itself, not a copy:
    the kinds' comparisons only read it."""

    is_constant = True
    names: frozenset = frozenset()

    def __init__(self, value: Any) -> None:
        self.value = value
        self.source = "<a classmate's value>"

    def evaluate(self, values: Any = None) -> Any:
        return self.value


def _layout(value: Any) -> tuple[Any, list[float], list[bool]] | None:
    """(structure, numbers, exact) of a value: its shape, types and keys; every number in it in one
    order, booleans as 0/1 and strings as a hash of their folded text; and which of those must be
    equal (booleans, strings). Two values of one structure are compared number by number. None when
    the value holds something else (a set: then only the kind's own comparison decides)."""
    numbers: list[float] = []
    exact: list[bool] = []

    def walk(item: Any) -> Any:
        if isinstance(item, (bool, np.bool_)):
            numbers.append(float(item))
            exact.append(True)
            return "b"
        if isinstance(item, str):
            numbers.append(float(_stable_hash(item.strip().casefold()) >> 11))
            exact.append(True)
            return "s"
        if isinstance(item, (int, float, np.integer, np.floating)):
            numbers.append(float(item))
            exact.append(False)
            return "n"
        if isinstance(item, (list, tuple, np.ndarray)):
            try:
                array = np.asarray(item)
            except (ValueError, TypeError):
                array = None
            if array is not None and array.dtype.kind in "iuf" and array.size <= MAX_ELEMENTS:
                numbers.extend(array.astype(float).ravel().tolist())
                exact.extend([False] * array.size)
                return "n" if array.shape == () else ("a", array.shape)
            if isinstance(item, np.ndarray):
                raise TypeError("array")
            return ("seq", tuple(walk(part) for part in item))
        if isinstance(item, dict):
            keys = sorted(item, key=repr)
            return ("d", tuple((repr(key), walk(item[key])) for key in keys))
        raise TypeError(type(item).__name__)

    try:
        return walk(value), numbers, exact
    except (TypeError, RecursionError):
        return None


def _leaf(structure: Any) -> bool:
    """One number or one array: a kind compares such an answer with such a value only when both
    have the same shape."""
    return structure == "n" or (isinstance(structure, tuple) and len(structure) == 2 and structure[0] == "a")


def _slack(problem: Any) -> tuple[float, float]:
    """(absolute, relative) slack within which any rule the problem may apply (to an integer or a
    float) can accept an answer: a necessary condition only, the kind's own rule decides."""
    from grader.kinds import rules
    absolute, relative = 1e-9, 1e-9
    for example in (1, 0.5):
        rule = rules.rule_for(problem.compare or None, example)
        name = rule.get("rule")
        if name == "close":
            absolute = max(absolute, float(rules.option(rule, "atol")))
            relative = max(relative, float(rules.option(rule, "rtol")))
        elif name == "sigfigs":
            relative = max(relative, 2.0 * 10.0 ** (1 - int(rules.option(rule, "sigfigs"))))
        elif name != "exact":
            return math.inf, math.inf
    return absolute * 1.01, relative * 1.01


class _ProblemTargets:
    """Values an answer may fit (right answers and misconception values of many variants) of one
    problem, as problems whose expected answer is that value, so that the kind's own rule compares
    an answer with it. Targets of one structure are stacked, so that those no number of the answer
    comes close to are passed over before the kind is asked (a necessary condition, never a verdict)."""

    def __init__(self, problem: Any) -> None:
        self.problem = problem
        from grader.kinds import kind_of
        self.kind = kind_of(problem)
        self.absolute, self.relative = _slack(problem)
        self.owners: list[Any] = []
        self.entries: list[tuple[int, str, Any, dict]] = []      # (owner index, label, fixed problem, values)
        self._groups: dict[Any, tuple[np.ndarray, np.ndarray, list[int]]] | None = None
        self._loose: list[int] = []

    def add(self, owner: Any, values: dict[str, Any]) -> None:
        index = len(self.owners)
        self.owners.append(owner)
        found = []
        try:
            found.append(("right", self.kind.expected(self.problem, values)))
        except Exception:  # noqa: BLE001 (a variant without an answer matches nothing)
            pass
        for misconception in self.problem.misconceptions:
            try:
                found.append((f"misconception:{misconception.id}",
                              self.kind.misconception_answer(self.problem, misconception, values)))
            except Exception:  # noqa: BLE001 (a misconception that does not apply to this variant)
                continue
        for label, value in found:
            if value is not None and not callable(value):
                fixed = dataclasses.replace(self.problem, answer=_Fixed(value), misconceptions=[])
                self.entries.append((index, label, fixed, values))
        self._groups = None

    def _stack(self) -> dict[Any, tuple[np.ndarray, np.ndarray, list[int]]]:
        if self._groups is None:
            grouped: dict[Any, tuple[list, list[int]]] = {}
            self._loose = []
            for position, (_, _, fixed, _) in enumerate(self.entries):
                layout = _layout(fixed.answer.value)
                if layout is None:
                    self._loose.append(position)
                    continue
                rows, members = grouped.setdefault(layout[0], ([], []))
                rows.append((layout[1], layout[2]))
                members.append(position)
            self._groups = {}
            for structure, (rows, members) in grouped.items():
                matrix = np.array([numbers for numbers, _ in rows], dtype=float).reshape(len(rows), -1)
                exact = np.array([flags for _, flags in rows], dtype=bool).reshape(len(rows), -1)
                with np.errstate(all="ignore"):
                    bound = np.where(exact, 0.0, self.absolute + self.relative * np.abs(matrix))
                self._groups[structure] = (matrix, bound, members)
        return self._groups

    def candidates(self, answer: Any, widen: float = 1.0, same_structure: bool = False) -> list[int]:
        """The entries `answer` may fit: those of its structure whose every number is within the slack
        (times `widen`), and every entry of another structure (only the kind knows whether a tuple row
        fits a dict row) unless `same_structure`."""
        groups = self._stack()
        layout = _layout(answer)
        if layout is None:
            return list(range(len(self.entries)))
        structure, numbers, _ = layout
        chosen = list(self._loose)
        vector = np.asarray(numbers, dtype=float)
        for key, (matrix, bound, members) in groups.items():
            if key != structure:
                if not same_structure and not (_leaf(key) and _leaf(structure)):
                    chosen.extend(members)
                continue
            with np.errstate(all="ignore"):
                close = np.all(np.abs(matrix - vector) <= bound * widen, axis=1) if matrix.shape[1] else \
                    np.ones(len(members), dtype=bool)
            chosen.extend(members[i] for i in np.flatnonzero(close))
        return sorted(chosen)

    def near(self, answer: Any, widen: float) -> int:
        """How many owners have a value whose every number is within `widen` times the slack of the
        answer's (a density count: the kind is not asked)."""
        return len({self.entries[position][0] for position in self.candidates(answer, widen, same_structure=True)})

    @functools.cached_property
    def widening(self) -> tuple[float, float]:
        """(w, r) for the chance rate of continuous answers: the window is widened w times (to at most
        WIDEST relative), and r >= 1 corrects the density estimate by what it predicts on the owners'
        own right answers: the matches actually seen among them over those the widened count predicts
        (answers on a grid, or with values many variants share, get a large r, so no gain)."""
        if not math.isfinite(self.relative) or self.relative <= 0:
            return 1.0, 1.0
        widen = min(MAX_WIDENING, WIDEST / self.relative)
        if widen < 2:
            return 1.0, 1.0
        seen = predicted = 0.0
        rights = [fixed.answer.value for _, label, fixed, _ in self.entries if label == "right"]
        for value in rights[:CALIBRATION]:
            seen += self.near(value, 1.0) - 1          # less the owner itself
            predicted += (self.near(value, widen) - 1) / widen
        correction = (seen + 1) / (predicted + 1)
        if correction > CONTINUOUS:     # not continuous (a grid, shared values): the plain count only
            return 1.0, 1.0
        return widen, max(1.0, correction)

    def fits(self, answer: Any, skip: Any = None) -> dict[Any, str]:
        """{owner: the label of the first of its values `answer` is right for under the problem's rule}."""
        found: dict[Any, str] = {}
        for position in self.candidates(answer):
            owner_index, label, fixed, values = self.entries[position]
            owner = self.owners[owner_index]
            if owner == skip or owner in found:
                continue
            try:
                with np.errstate(all="ignore"):
                    if self.kind.right_for(fixed, answer, values):
                        found[owner] = label
            except Exception:  # noqa: BLE001 (an answer the kind cannot compare fits nothing)
                continue
        return found


def _is_code_answer(problem: Any, values: dict[str, Any]) -> bool:
    """A function answer (its cell is code, graded by calling it), which is compared as code."""
    from grader.kinds import kind_of
    try:
        return kind_of(problem).report_cases(problem, values) is not None
    except Exception:  # noqa: BLE001
        return False


class GhostFinder:
    """Tests the wrong answers of one assignment against every classmate's numbers, and against
    `reference` variants drawn under keys no student has (the chance rate)."""

    def __init__(self, bank: Any, assignment: str, students: Iterable[str],
                 reference: int = REFERENCE_VARIANTS) -> None:
        self.bank = bank
        self.assignment = assignment
        self.students = sorted(set(students))
        self.reference = reference
        self._class: dict[str, _ProblemTargets] = {}

    def _class_targets(self, problem_id: str) -> _ProblemTargets:
        if problem_id not in self._class:
            from grader.variants import draw_for
            problem = self.bank.problems[problem_id]
            targets = _ProblemTargets(problem)
            for student in self.students:
                targets.add(student, draw_for(self.bank, problem, self.assignment, student))
            self._class[problem_id] = targets
        return self._class[problem_id]

    def _reference_targets(self, problem_id: str) -> _ProblemTargets:
        return reference_targets(self.bank, self.assignment, problem_id, self.reference)

    def chance(self, problem_id: str, answer: Any) -> float:
        """q, the chance that the answer fits a variant: the share of reference variants it fits, plus
        one (never 0); for a continuous answer, no more than the density around it, measured in a window
        w times wider and corrected by r (_ProblemTargets.widening), and never less than the share it
        actually fits."""
        references = self._reference_targets(problem_id)
        count = len(references.owners)
        fits = len(references.fits(answer))
        plain = (fits + 1) / (count + 1)
        widen, correction = references.widening
        if widen <= 1:
            return plain
        density = correction * (references.near(answer, widen) + 1) / ((count + 1) * widen)
        return max(fits / (count + 1), min(plain, density))

    def test(self, student: str, problem_id: str, answer: Any) -> tuple[float, dict[str, str]]:
        """(q, {classmate: what the answer is for their numbers}) of one wrong answer."""
        return self.chance(problem_id, answer), self._class_targets(problem_id).fits(answer, skip=student)


_REFERENCES: dict[tuple, tuple[Any, _ProblemTargets]] = {}


def reference_targets(bank: Any, assignment: str, problem_id: str, count: int) -> _ProblemTargets:
    """The right answers and misconception values of `count` variants of a problem drawn under keys no
    student has (`integrity-reference-<i>`), kept for the bank's lifetime in this process."""
    key = (id(bank), assignment, problem_id, count)
    kept = _REFERENCES.get(key)
    if kept is None or kept[0] is not bank:
        from grader.variants import VariantError, draw
        problem = bank.problems[problem_id]
        targets = _ProblemTargets(problem)
        for index in range(count):
            try:
                targets.add(index, draw(bank, problem, assignment, f"integrity-reference-{index}"))
            except VariantError:
                continue
        if len(_REFERENCES) > 512:
            _REFERENCES.clear()
        kept = _REFERENCES[key] = (bank, targets)
    return kept[1]


def _variables(bank: Any, assignment: str) -> dict[str, str]:
    from grader.kinds import kind_of
    return {problem_id: kind_of(bank.problems[problem_id]).variable(bank.problems[problem_id], number)
            for number, problem_id in enumerate(bank.assignments[assignment].problems, start=1)}


def ghost_evidence(bank: Any, assignment: str, handed: list[Handed], pairs: dict,
                   reference: int = REFERENCE_VARIANTS, classmates: Iterable[str] = ()) -> None:
    """Add to `pairs` ({(A, B): PairEvidence}) the ghost answers of one assignment's `handed` cells,
    tested against the numbers of everyone who handed in and of `classmates` (a source whose own
    notebook could not be read, or who never handed in, still had numbers)."""
    from grader.kinds import grade_answer
    from grader.variants import draw_for, is_per_student

    students = sorted({h.student for h in handed} | set(classmates))
    finder = GhostFinder(bank, assignment, students, reference)
    variables = _variables(bank, assignment)
    for item in sorted(handed, key=lambda h: (h.student, h.problem)):
        problem = bank.problems.get(item.problem)
        if problem is None or item.problem not in variables or item.correct is True or \
                not is_per_student(bank, assignment, problem):
            continue
        values = draw_for(bank, problem, assignment, item.student)
        if _is_code_answer(problem, values):
            continue
        inputs = {name: values[name] for name in problem.inputs if name in values}
        ok, answer = answer_value(item.source, variables[item.problem], inputs)
        if not ok:
            continue
        if item.correct is None:
            try:
                with np.errstate(all="ignore"):
                    if grade_answer(problem, answer, values).correct:
                        continue
            except Exception:  # noqa: BLE001 (an answer grading could not read is not tested)
                continue
        q, fits = finder.test(item.student, item.problem, answer)
        for other in students:
            if other == item.student:
                continue
            pair = pairs.setdefault((item.student, other), PairEvidence(item.student, other))
            pair.tested.append(q)
            pair.assignments.add(assignment)
            if other in fits:
                pair.matches.append(Match(assignment, item.problem, fits[other], q))


# --- function answers written alike ---------------------------------------------------------------

def normalized_code(source: str) -> str:
    """copydetect's normalization of Python: names become V, F or O, strings S, comments and
    whitespace go. Done statement by statement (a statement's normalization is remembered: a
    class's answers share most of theirs)."""
    try:
        statements = ast.parse(source).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _normalized(source)
    lines = source.splitlines(keepends=True)
    chunks, done = [], 0
    for node in statements:             # statements that share a line are one chunk
        end = node.end_lineno or node.lineno
        if end > done:
            chunks.append("".join(lines[max(done, node.lineno - 1):end]))
            done = end
    return "".join(_normalized(chunk) for chunk in chunks)


@functools.lru_cache(maxsize=4096)
def _normalized(source: str) -> str:
    from copydetect.utils import filter_code
    text, _ = filter_code(source, "answer.py", "python")
    return str(text)


def fingerprints(source: str, k: int = CODE_K, window: int = CODE_WINDOW) -> frozenset:
    """The winnowed k-gram hashes (copydetect's winnow over a stable 63-bit hash) of the normalized code."""
    from copydetect.utils import winnow
    text = normalized_code(source)
    if len(text) < k:
        return frozenset([_stable_hash(text)]) if text else frozenset()
    hashes = np.array([_stable_hash(text[i:i + k]) for i in range(len(text) - k + 1)], dtype=np.int64)
    selected, _ = winnow(hashes, window)
    return frozenset(int(h) for h in selected)


def _stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") >> 1


def code_scores(sources: dict[str, str]) -> dict[tuple[str, str], tuple[float, float]]:
    """{(A, B) with A < B: (score, p-value)} of one function problem's answers: the score sums, over
    the fingerprints A and B share, log(students / students with that fingerprint); the p-value is the
    share of the class's pairs that score as high or higher."""
    students = sorted(sources)
    prints = {student: fingerprints(sources[student]) for student in students}
    count: dict[int, int] = defaultdict(int)
    for found in prints.values():
        for h in found:
            count[h] += 1
    total = len(students)
    weight = {h: math.log(total / c) for h, c in count.items()}
    scores = {}
    for i, a in enumerate(students):
        for b in students[i + 1:]:
            scores[(a, b)] = float(sum(weight[h] for h in prints[a] & prints[b]))
    if not scores:
        return {}
    ordered = np.sort(np.array(list(scores.values())))
    n = len(ordered)
    return {pair: (score, float((n - np.searchsorted(ordered, score - 1e-9, side="left")) / n))
            for pair, score in scores.items()}


def code_evidence(bank: Any, assignment: str, handed: list[Handed], pairs: dict) -> None:
    """Add to `pairs` the function answers of one assignment that two students wrote alike (both
    orders of each pair get the same figures: code says nothing of the direction)."""
    from grader.variants import draw_for

    by_problem: dict[str, dict[str, str]] = defaultdict(dict)
    for item in handed:
        problem = bank.problems.get(item.problem)
        if problem is None or not item.source.strip():
            continue
        if _is_code_answer(problem, draw_for(bank, problem, assignment, item.student)):
            by_problem[item.problem][item.student] = item.source
    for problem_id, sources in sorted(by_problem.items()):
        for (a, b), (score, pvalue) in code_scores(sources).items():
            for first, second in ((a, b), (b, a)):
                pair = pairs.setdefault((first, second), PairEvidence(first, second))
                pair.code.append((assignment, problem_id, score, pvalue))
                pair.assignments.add(assignment)


def analyse(bank: Any, handed_by_assignment: dict[str, list[Handed]], reference: int = REFERENCE_VARIANTS,
            classes: dict[str, list[str]] | None = None) -> dict[tuple[str, str], PairEvidence]:
    """{(A, B): PairEvidence} over every assignment given; `classes`: per assignment, everyone whose
    numbers an answer may fit besides those who handed in."""
    pairs: dict[tuple[str, str], PairEvidence] = {}
    for assignment in sorted(handed_by_assignment):
        handed = handed_by_assignment[assignment]
        ghost_evidence(bank, assignment, handed, pairs, reference, (classes or {}).get(assignment, ()))
        code_evidence(bank, assignment, handed, pairs)
    _code_pvalues(pairs)
    return pairs


def _code_pvalues(pairs: dict[tuple[str, str], PairEvidence]) -> None:
    """Each pair's function answers as one p-value: the share of all the class's pairs (those with a
    function answer each) whose scores, summed over the function problems, are as high or higher."""
    totals = {key: sum(score for _, _, score, _ in pair.code) for key, pair in pairs.items()
              if pair.code and key[0] < key[1]}
    if not totals:
        return
    ordered = np.sort(np.array(list(totals.values())))
    n = len(ordered)
    for (a, b), total in totals.items():
        p = float((n - np.searchsorted(ordered, total - 1e-9, side="left")) / n)
        for key in ((a, b), (b, a)):
            if key in pairs:
                pairs[key].code_p = p


# --- the TAs' table --------------------------------------------------------------------------------

INTEGRITY_COLUMNS = ("student", "fits_numbers_of", "flagged", "combined_p", "direction", "ghost_matches",
                     "ghost_tested", "ghost_expected_by_chance", "ghost_p", "matched_problems",
                     "code_p", "code_problems_alike", "assignments")


def listed(pair: PairEvidence) -> bool:
    """A pair the table shows: a ghost match, or a function answer written unusually alike."""
    return bool(pair.matches) or (bool(pair.code) and pair.code_p <= LISTED_CODE_P)


def direction(pair: PairEvidence, reverse: PairEvidence | None) -> str:
    if pair.matches and not (reverse and reverse.matches):
        return f"{pair.student}'s answers fit {pair.other}'s numbers: {pair.student} used {pair.other}'s work"
    if pair.matches:
        return f"both ways: each one's answers fit the other's numbers ({len(pair.matches)} this way)"
    return "unknown: function answers written alike (code says nothing of who wrote it first)"


def rows(pairs: dict[tuple[str, str], PairEvidence]) -> list[list[str]]:
    """The table's rows, most suspicious first; a code-only pair is listed once (A < B)."""
    chosen = []
    for (a, b), pair in pairs.items():
        if not listed(pair):
            continue
        reverse = pairs.get((b, a))
        if not pair.matches and ((reverse is not None and reverse.matches) or a > b):
            continue        # listed once: the way its answers fit, else A < B
        chosen.append(pair)
    chosen.sort(key=lambda p: (p.combined_p, -len(p.matches), p.student, p.other))
    out = []
    for pair in chosen:
        reverse = pairs.get((pair.other, pair.student))
        alike = [f"{a}/{problem} (p={p:.2g})" for a, problem, _, p in sorted(pair.code) if p <= LISTED_CODE_P]
        out.append([pair.student, pair.other, "yes" if pair.flagged else "", f"{pair.combined_p:.3g}",
                    direction(pair, reverse), str(len(pair.matches)), str(len(pair.tested)),
                    f"{pair.expected:.3g}", f"{pair.ghost_p:.3g}",
                    "; ".join(f"{m.assignment}/{m.problem}: {m.what} (q={m.chance:.2g})" for m in pair.matches),
                    f"{pair.code_p:.3g}" if pair.code else "", "; ".join(alike),
                    " ".join(sorted(pair.assignments))])
    return out


def integrity_csv(pairs: dict[tuple[str, str], PairEvidence]) -> bytes:
    from grader.spreadsheet_csv import csv_text
    return csv_text(INTEGRITY_COLUMNS, rows(pairs)).encode()


# --- reading a course ------------------------------------------------------------------------------

def handed_in(paths: Any, bank: Any, assignment: str, students: Iterable[str]) -> list[Handed]:
    """Every answer cell of the students' autograded notebooks of `assignment`, with whether grading
    found it right (its GRADER_RESULT line)."""
    import nbformat

    from grader.protocol import Role, cell_grade_id, notebook_results, problem_of

    wanted = set(bank.assignments[assignment].problems) if assignment in bank.assignments else set()
    found = []
    for student in sorted(set(students)):
        folder = Path(paths.autograded(student, assignment))
        for path in sorted(folder.glob("*.ipynb")) if folder.is_dir() else []:
            try:
                nb = nbformat.read(path, as_version=4)
                results = notebook_results(nb)
            except Exception:  # noqa: BLE001 (an unreadable notebook gives no evidence)
                continue
            for cell in nb.cells:
                problem = problem_of(cell_grade_id(cell), Role.ANSWER)
                if problem is None or problem not in wanted or cell.get("cell_type") != "code":
                    continue
                correct = results.get(problem, {}).get("correct")
                found.append(Handed(assignment, student, problem, str(cell.get("source", "")),
                                    correct if isinstance(correct, bool) else None))
    return found


def graded_students(config: Any) -> dict[str, list[str]]:
    """{assignment: the students with a submission of it in the gradebook}."""
    from grader.course import open_gradebook
    with open_gradebook(config) as gb:
        return {a.name: sorted(s.student.id for s in a.submissions) for a in gb.assignments}


def write_integrity_reports(config: Any, bank: Any, assignment: str,
                            reference: int = REFERENCE_VARIANTS) -> dict[str, Any]:
    """reports/<assignment>/integrity.csv and reports/integrity-all-assignments.csv (TAs only; no grade
    changes). Returns the paths and how many pairs each flags."""
    from grader.course import CoursePaths
    from grader.files import write_atomic
    from grader.grading.notebook.answers import class_of

    paths = CoursePaths(config)
    graded = {a: s for a, s in graded_students(config).items() if a in bank.assignments and s}
    handed = {a: handed_in(paths, bank, a, students) for a, students in graded.items()}
    classes = {a: class_of(paths.root, a, students) for a, students in graded.items()}   # as grading's table rule
    one = analyse(bank, {assignment: handed.get(assignment, [])}, reference, classes)
    everything = one if set(handed) <= {assignment} else analyse(bank, handed, reference, classes)
    folder = paths.reports(assignment)
    write_atomic(folder / INTEGRITY_CSV, integrity_csv(one))
    write_atomic(folder.parent / COURSE_INTEGRITY_CSV, integrity_csv(everything))
    return {"assignment_csv": folder / INTEGRITY_CSV, "course_csv": folder.parent / COURSE_INTEGRITY_CSV,
            "flagged": len(flagged_pairs(one)), "course_flagged": len(flagged_pairs(everything))}


def flagged_pairs(pairs: dict[tuple[str, str], PairEvidence]) -> set[tuple[str, str]]:
    """The (A, B) rows of the table that are flagged (A's answers fit B's numbers; or A < B when only
    their function answers are alike)."""
    return {(row[0], row[1]) for row in rows(pairs) if row[2] == "yes"}
