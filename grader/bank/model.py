"""The bank as Python objects: Bank, Assignment, Problem and their parts.

Objects are built by `grader.bank.loader.load_bank` and shared (cached) between
callers: treat them as read-only.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .expressions import Expression
from .policy import AssignmentRules

SECTIONS = (
    "losses", "activations", "backprop", "batchnorm", "regularization", "initialization", "cnn",
    "nlp", "word2vec", "rnn", "lstm", "attention", "vae", "style", "detection", "architectures", "gan",
)

SAMPLERS = ("choice", "int", "float", "array", "probabilities", "one_hot", "box", "tokens", "documents",
            "value", "expr")


@dataclass
class ParamSpec:
    """One parameter's sampling spec.

    `sampler` is the spec's sampling key (`int`, `array`, ...); `spec` is the YAML mapping
    as plain data, except that entries which may name earlier parameters (bounds, shapes,
    sizes, `expr`) hold an Expression when written as a string.
    """

    name: str
    sampler: str
    spec: dict
    line: int = 0

    @property
    def expressions(self) -> Any:
        """Every Expression inside the spec (to check the names they use)."""
        found = []

        def walk(value: Any) -> None:
            if isinstance(value, Expression):
                found.append(value)
            elif isinstance(value, dict):
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        walk(self.spec)
        return found


@dataclass
class Misconception:
    id: str
    feedback: str
    credit: float = 0.0
    answer: Expression | None = None   # numeric, array, function, table
    option: Any = None                 # choice: the option key (or list of keys) it stands for
    line: int = 0


@dataclass
class FunctionSpec:
    name: str
    signature: str
    cases: list          # list of lists of Expression (the arguments of one call)
    line: int = 0


@dataclass
class CarryForward:
    """Error carried forward: row i+1 is computed from the cell `source` of row i by `row`."""

    source: str          # the column whose cell feeds the next row
    into: list[str]      # the columns of the next row computed from it
    row: Expression      # one row, over the parameters, `carried` (the fed cell) and `row` (its index)
    line: int = 0


@dataclass
class PublicCheck:
    """A property of every right answer that the student's notebook checks before submission
    (`checks:` in the bank; grader.kinds.checks renders and runs it). Never a value of the answer."""

    what: str                     # one word of grader.kinds.checks.VOCABULARY
    bounds: tuple = (None, None)  # (low, high) for within / at_least / at_most, else (None, None)
    says: str | None = None       # the sentence the student reads, instead of the default
    args: list | None = None      # function problems: the arguments (Expressions) the function is called with
    line: int = 0
    index: int = 0                # its position in the problem's `checks` (errors say `checks[index]`)


@dataclass
class TableSpec:
    columns: list[str]
    row_labels: Any      # list of strings, or an Expression giving them
    line: int = 0
    carry_forward: CarryForward | None = None


VARIANT_KEYS = ("assignment", "student")   # what selects a variant: the assignment id, or each student's id


@dataclass
class Assignment:
    id: str
    title: str
    problems: list
    line: int = 0
    variant_key: str = "assignment"   # the assignment's own `variant_key`, else the bank's
    rules: AssignmentRules = field(default_factory=AssignmentRules)   # checks before the deadline, dates

    def checkable(self) -> list[str]:
        """The problems whose policy allows checks before the deadline (`attempts:`), in order."""
        return [problem for problem in self.problems if self.rules.policy_for(problem).checks > 0]


@dataclass
class Problem:
    id: str
    title: str
    section: str
    formula: list
    points: float
    kind: str
    prompt: str
    answer: Expression
    params: dict = field(default_factory=dict)            # name -> ParamSpec, in the order written
    constraints: list = field(default_factory=list)       # Expression
    compare: dict = field(default_factory=dict)           # rule and options; see grader.kinds.rules.rule_for
    misconceptions: list = field(default_factory=list)    # Misconception
    hints: list = field(default_factory=list)
    secret: bool = False
    shared: bool = False               # keyed by the assignment even in a per-student assignment
    inputs: list = field(default_factory=list)            # parameter names given to the student
    options: dict | None = None                           # choice: key -> text
    multiple: bool = False
    function: FunctionSpec | None = None
    table: TableSpec | None = None
    checks: list = field(default_factory=list)            # PublicCheck: visible checks of the answer
    line: int = 0
    digest: str = ""
    spec: dict = field(default_factory=dict, repr=False)  # the problem's YAML as plain data
    lines: dict = field(default_factory=dict, repr=False)  # field name -> line


@dataclass
class Bank:
    path: Path
    course: str
    seed: int
    variant_key: str
    assignments: dict     # id -> Assignment, in the order written
    problems: dict        # id -> Problem, in the order written

    def assignments_of(self, problem_id: Any) -> Any:
        """Ids of the assignments that contain the problem, in the bank's order."""
        return [a.id for a in self.assignments.values() if problem_id in a.problems]


def problem_digest(spec: Any, seed: Any) -> Any:
    """First 12 hex chars of the SHA-256 of the problem's canonical JSON (with the bank seed).

    The seed is included because it decides the values a student sees: a new seed is
    a changed problem as far as released notebooks are concerned.
    """
    canonical = json.dumps({"seed": seed, "problem": spec}, sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"), allow_nan=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]
