"""Variant QA: draw many variants of every problem and look for bad ones.

For variant i (key `qa-<i>`, assignments of the problem taken in turn), a problem fails when
- its constraints cannot be met, or a parameter cannot be drawn          (`draw`)
- the answer raises                                                      (`answer error`)
- the answer is not finite (NaN or inf anywhere)                          (`not finite`)
- an `exact` numeric/table problem's answer holds a non-integer number   (`not integer`)
- a table's carry_forward row, fed the true row before it, is not the answer (`carry forward`)
- a misconception's value is graded correct (it falls within the rule)    (`misconception`)
- a right answer (the expected one, or one at the edge of the tolerance)
  fails a public check (grader.kinds.checks)                             (`public check`)

Per problem, `idle_checks` lists the public checks that no misconception and no plausible wrong
value (the kind's `wrong_value`) failed on any variant: they may still help, but nothing shows it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.bank import Problem
from grader.bank.loader import problem_issue
from grader.kinds import ProblemVariant, grade_answer, kind_of
from grader.kinds.checks import describe, failures, run_checks
from grader.kinds.values import not_finite
from grader.variants import VariantError, draw

Values = dict[str, Any]
FAILURE_KINDS = ("draw", "answer error", "not finite", "not integer", "carry forward", "misconception",
                 "public check")


@dataclass
class ProblemReport:
    problem_id: str
    kind: str
    variants: int = 0
    failures: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)   # failure kind -> first message (with the key)
    fields: dict = field(default_factory=dict)     # failure kind -> the bank field of its first failure
    distinct: int = 0
    seconds: float = 0.0
    idle_checks: list = field(default_factory=list)   # public checks no wrong answer failed (descriptions)

    @property
    def failed(self):
        return sum(self.failures.values()) > 0

    def fail(self, kind, key, message, field=""):
        self.failures[kind] += 1
        self.examples.setdefault(kind, f"{key}: {message}")
        self.fields.setdefault(kind, field)

    def issues(self, bank):
        """Each kind of failure as the loader words a bank error: `file:line: problem 'id': kind: example`
        (the line of the field that failed first)."""
        return [problem_issue(bank, self.problem_id, self.fields.get(kind, ""), f"{kind}: {example}")
                for kind, example in self.examples.items()]


def _fingerprint(value):
    """A hashable summary of an answer, to count distinct answers."""
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.str, value.tobytes())
    if isinstance(value, dict):
        return ("dict", tuple((key, _fingerprint(item)) for key, item in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_fingerprint(item) for item in value))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted(map(repr, value))))
    if callable(value):
        return ("function", getattr(value, "__name__", repr(value)))
    return ("value", repr(value))


def _misconception_answers(problem: Problem, values: Values) -> Iterator[tuple[str, Any]]:
    """(misconception id, the answer a student with that misconception would give)."""
    kind = kind_of(problem)
    for misconception in problem.misconceptions:
        try:
            yield misconception.id, kind.misconception_answer(problem, misconception, values)
        except Exception:  # noqa: BLE001 (a misconception may not apply to every variant)
            continue


def _check_variant(problem: Problem, values: Values, expected: list[Any], report: ProblemReport, key: str) -> None:
    kind = kind_of(problem)
    if not_finite(expected):
        report.fail("not finite", key, "the answer is not finite (NaN or inf)", "answer")
    for failure, message in kind.qa_failures(problem, values, expected):
        report.fail(failure, key, message, "table.carry_forward" if failure == "carry forward" else "answer")
    indices = {misconception.id: index for index, misconception in enumerate(problem.misconceptions)}
    for misconception_id, wrong in _misconception_answers(problem, values):
        where = f"misconceptions[{indices[misconception_id]}]"
        try:
            result = grade_answer(problem, wrong, values)
        except Exception as exc:  # noqa: BLE001
            report.fail("answer error", key, f"grading misconception '{misconception_id}' raised "
                                             f"{type(exc).__name__}: {exc}", where)
            continue
        if result.correct and result.misconception is None:
            report.fail("misconception", key, f"misconception '{misconception_id}' is graded correct "
                                              f"({kind.qa_rule_words(result)})", where)


def _check_public(problem: Problem, values: Values, report: ProblemReport, key: str, caught: set) -> None:
    """Right answers must pass every public check; note which checks some wrong answer fails."""
    variant = ProblemVariant(1, problem, values, kind_of(problem).expected(problem, values))
    try:
        failed = failures(variant)
        for check, label in failed:
            report.fail("public check", key, f"checks[{check.index}] (line {check.line}, "
                                             f"'{describe(check)}') fails {label}", f"checks[{check.index}]")
        if len(caught) < len(problem.checks):
            for wrong in variant.kind.wrong_answers(variant):
                caught.update(id(check) for check, passed in run_checks(variant, wrong) if not passed)
    except Exception as exc:  # noqa: BLE001
        report.fail("public check", key, f"running the public checks raised {type(exc).__name__}: {exc}", "checks")


def qa_problem(bank, problem, variants):
    """Draw `variants` variants of one problem and report what fails."""
    started = time.perf_counter()
    report = ProblemReport(problem.id, problem.kind, variants)
    assignments = bank.assignments_of(problem.id) or ["qa"]
    seen: set = set()
    caught: set = set()
    with np.errstate(all="ignore"):
        for index in range(variants):
            assignment, key = assignments[index % len(assignments)], f"qa-{index}"
            label = f"{assignment}/{key}"
            try:
                values = draw(bank, problem, assignment, key)
            except VariantError as exc:
                report.fail("draw", label, f"{exc.field}: {exc.message}", exc.field)
                continue
            try:
                expected = kind_of(problem).expected_values(problem, values)
            except Exception as exc:  # noqa: BLE001
                report.fail("answer error", label, f"{type(exc).__name__}: {exc}", "answer")
                continue
            seen.add(_fingerprint(expected))
            _check_variant(problem, values, expected, report, label)
            if problem.checks:
                _check_public(problem, values, report, label, caught)
    report.idle_checks = [f"checks[{check.index}] (line {check.line}, '{describe(check)}')"
                          for check in problem.checks if id(check) not in caught]
    report.distinct = len(seen)
    report.seconds = time.perf_counter() - started
    return report


def run_qa(bank, variants=1000, problem_ids=None):
    """One ProblemReport per problem (all, or those in `problem_ids`), in the bank's order."""
    ids = list(problem_ids) if problem_ids else list(bank.problems)
    return [qa_problem(bank, bank.problems[problem_id], variants) for problem_id in ids]


# --- diversity: how many answers a class of per-student variants shares ------------------------

CLASS_SIZE = 300
# A per-student problem fails when more than this share of a class hands in the same correct
# answer cell: one posted answer would then be right for more than 1 student in 20.
MAX_SHARED_ANSWER = 0.05


@dataclass
class DiversityReport:
    problem_id: str
    assignment: str
    students: int
    distinct: int             # distinct correct answer cells in the class
    largest_group: int        # students whose correct answer cell is the same one
    error: str = ""

    @property
    def too_few(self) -> bool:
        return bool(self.error) or self.largest_group > MAX_SHARED_ANSWER * self.students


def class_ids(count: int = CLASS_SIZE) -> list[str]:
    """The students of the diversity check (the simulator's ids: student001 ...)."""
    return [f"student{number:03d}" for number in range(1, count + 1)]


def diversity_of(bank, problem, assignment: str, students: list[str]) -> DiversityReport:
    """Distinct correct answer cells (what a student would hand in: the value written out, or a
    function's code) over a class of per-student variants, and the largest group sharing one."""
    from grader.kinds import ProblemVariant
    from grader.variants import draw_for

    kind = kind_of(problem)
    answers: Counter = Counter()
    with np.errstate(all="ignore"):
        for student in students:
            try:
                values = draw_for(bank, problem, assignment, student)
                answers[kind.correct_source(ProblemVariant(1, problem, values, kind.expected(problem, values)))] += 1
            except Exception as exc:  # noqa: BLE001 (reported, the other problems go on)
                failure = f"{student}: {type(exc).__name__}: {exc}"
                return DiversityReport(problem.id, assignment, len(students), 0, 0, failure)
    return DiversityReport(problem.id, assignment, len(students), len(answers), max(answers.values()))


def run_diversity(bank, problem_ids=None, students: int = CLASS_SIZE) -> list[DiversityReport]:
    """One report per (per-student assignment, unshared problem), in the bank's order."""
    from grader.variants import is_per_student

    wanted = set(problem_ids) if problem_ids else None
    ids = class_ids(students)
    return [diversity_of(bank, bank.problems[problem_id], assignment.id, ids)
            for assignment in bank.assignments.values() for problem_id in assignment.problems
            if (wanted is None or problem_id in wanted) and is_per_student(bank, assignment.id, bank.problems[problem_id])]


# --- variants at an edge: ties at a threshold, rounding and tolerance edges, how large the numbers get ----
#
# Predicted from the engine before release (#22): some variants are harder than others for reasons the
# numbers decide. For a sample of variants (a class's worth, keys `qa-<i>` as above):
# - a tie: the right answer hinges on a comparison that is exactly at its threshold (an IoU of exactly
#   0.5 in NMS, a validation loss equal to the best, a ReLU gradient at 0): moving the variant's numbers
#   by TIE_MOVE (relative; every float, every numeric array, in two random directions, each both ways)
#   changes a decision in the answer (a bool, a string, an integer) or makes a number jump;
# - near a tie: moving them by the margin (the problem's `ties: <margin>`, else NEAR_MOVE) changes a
#   decision: a student whose numbers are off in the third figure gets another right answer;
# - at an edge: the right answer, moved by EDGE_MOVE relative (float32 arithmetic, a rounded
#   intermediate), is no longer graded right (a sigfigs answer next to a rounding boundary, a float
#   graded exactly);
# - the size of the numbers: log10 of the largest |number| of the right answer, 5th to 95th percentile.
# A problem with `ties: <margin>` fails when a variant is at a tie or within the margin; `ties: keep`
# keeps them on purpose (noted); without `ties`, variants at a tie are a warning (qa does not fail).

EDGE_VARIANTS = 300        # variants sampled per problem (a class)
TIE_MOVE = 1e-9
NEAR_MOVE = 0.0025
EDGE_MOVE = 1e-5
JUMP = 1e-4                # a number that moves this much (relative) under TIE_MOVE has jumped
DIRECTIONS = 2


@dataclass
class EdgeReport:
    problem_id: str
    option: Any = None            # the problem's `ties`: "keep", a margin, or None
    variants: int = 0             # variants looked at
    movable: int = 0              # variants with numbers to move and a decision or number in the answer
    ties: int = 0
    near: int = 0                 # within the margin, ties not counted
    edges: int = 0
    margin: float = NEAR_MOVE
    magnitude: tuple = ()         # (5th, 95th percentile) of log10 |largest number of the answer|
    examples: dict = field(default_factory=dict)    # "tie" | "near" | "edge" -> the first variant's key

    @property
    def failed(self) -> bool:
        return isinstance(self.option, (int, float)) and self.ties + self.near > 0

    @property
    def warned(self) -> bool:
        return self.option is None and self.ties > 0

    def issues(self, bank):
        """file:line: problem 'id': ... for a failed margin, or the warning of unmarked ties."""
        share = f"of {self.variants} variants"
        if self.failed:
            text = (f"ties: {self.ties} {share} hinge on a tie at a threshold and {self.near} more come within "
                    f"the margin {self.margin:g} (first: {self.examples.get('tie') or self.examples.get('near')}); "
                    f"add constraints that keep the numbers away from the threshold")
        elif self.warned:
            text = (f"warning: {self.ties} {share} hinge on a tie at a threshold (first: {self.examples['tie']}), "
                    f"{self.near} more within {self.margin:g}: set `ties: keep` to keep them on purpose, or "
                    f"constrain them away and set `ties: <margin>` for qa to check")
        else:
            return []
        return [problem_issue(bank, self.problem_id, "ties" if self.option is not None else "", text)]


def _movable(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (float, np.floating)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "iuf" and value.size > 0
    return isinstance(value, list) and bool(value) and all(
        isinstance(item, (int, float)) and not isinstance(item, bool) for item in value) and \
        any(isinstance(item, float) for item in value)


def move_numbers(values: Values, move: float, signs: dict) -> Values:
    """`values` with every float, numeric array and list of floats moved by `move` relative: each entry x
    by move·sign·max(|x|, the mean |entry| of its array) (zeros move too); integers, bools, strings stay."""
    moved = dict(values)
    for name, value in values.items():
        if name not in signs:
            continue
        array = np.asarray(value, dtype=float)
        scale = np.abs(array).mean() or 1.0
        shifted = array + move * signs[name] * np.maximum(np.abs(array), scale)
        moved[name] = shifted if isinstance(value, np.ndarray) else (
            float(shifted) if array.ndim == 0 else shifted.tolist())
    return moved


def _answer_leaves(answer: Any, path: tuple = ()) -> Iterator[tuple[tuple, str, Any]]:
    """(path, "decision" | "number", value) of an answer: bools, strings and integers are decisions;
    floats and float arrays are numbers; a function's answer has none."""
    if isinstance(answer, dict):
        for key, item in answer.items():
            yield from _answer_leaves(item, (*path, key))
    elif isinstance(answer, (list, tuple)):
        for index, item in enumerate(answer):
            yield from _answer_leaves(item, (*path, index))
    elif isinstance(answer, (bool, np.bool_, str)):
        yield path, "decision", (type(answer).__name__, bool(answer) if isinstance(answer, np.bool_) else answer)
    elif isinstance(answer, (int, np.integer)):
        yield path, "decision", ("int", int(answer))
    elif isinstance(answer, (float, np.floating)):
        yield path, "number", np.array([float(answer)])
    elif isinstance(answer, np.ndarray) and answer.dtype.kind in "bUS":
        yield path, "decision", (answer.dtype.kind, answer.shape, answer.tolist())
    elif isinstance(answer, np.ndarray) and answer.dtype.kind in "iu":
        yield path, "decision", ("ints", answer.shape, answer.tolist())
    elif isinstance(answer, np.ndarray) and answer.dtype.kind == "f":
        yield path, "number", answer.ravel()


def _changed(before: dict, after: dict, numbers: bool) -> bool:
    """A decision of `before` that `after` holds with the same type but another value; with `numbers`,
    also a number that moved more than JUMP relative to the answer's largest number."""
    sizes = [float(np.abs(value).max()) for kind, value in before.values() if kind == "number" and value.size]
    scale = max([size for size in sizes if np.isfinite(size)] + [1e-12])
    for path, (kind, value) in before.items():
        if path not in after or after[path][0] != kind:
            continue
        other = after[path][1]
        if kind == "decision":
            if value[0] == other[0] and value != other:
                return True
        elif numbers and value.shape == other.shape:
            if np.any(np.abs(value - other) > JUMP * scale):
                return True
    return False


def _moved_answer(answer: Any, factor: float) -> Any:
    """The right answer with every float (and float array) times `factor`; decisions unchanged."""
    if isinstance(answer, dict):
        return {key: _moved_answer(item, factor) for key, item in answer.items()}
    if isinstance(answer, (list, tuple)):
        return type(answer)(_moved_answer(item, factor) for item in answer)
    if isinstance(answer, (float, np.floating)) and not isinstance(answer, bool):
        return float(answer) * factor
    if isinstance(answer, np.ndarray) and answer.dtype.kind == "f":
        return answer * factor
    return answer


def edges_of_variant(problem: Problem, values: Values, rng: np.random.Generator, margin: float) -> dict:
    """{"tie", "near", "edge": bool, "movable": bool, "magnitude": float | None} for one variant."""
    kind = kind_of(problem)
    expected = kind.expected(problem, values)
    leaves = {path: (tag, value) for path, tag, value in _answer_leaves(expected)}
    found: dict[str, Any] = {"tie": False, "near": False, "edge": False, "movable": False, "magnitude": None}
    numbers = [float(np.abs(value).max()) for tag, value in leaves.values() if tag == "number" and value.size]
    numbers += [abs(value[1]) for tag, value in leaves.values() if tag == "decision" and value[0] == "int"]
    finite = [x for x in numbers if np.isfinite(x)]
    if finite:
        found["magnitude"] = float(np.log10(max(finite))) if max(finite) > 0 else -12.0
    if any(tag == "number" for tag, _ in leaves.values()):
        for factor in (1 + EDGE_MOVE, 1 - EDGE_MOVE):
            try:
                if not grade_answer(problem, _moved_answer(expected, factor), values).correct:
                    found["edge"] = True
            except Exception:  # noqa: BLE001 (an answer the kind cannot move)
                pass
    names = [name for name, value in values.items() if _movable(value)]
    if not names or not leaves:
        return found
    found["movable"] = True
    directions = [{name: rng.choice([-1.0, 1.0], size=np.shape(values[name])) for name in names}
                  for _ in range(DIRECTIONS)]

    def differs(move: float, numbers: bool) -> bool:
        for signs in directions:
            for sign in (1.0, -1.0):
                try:
                    after = kind.expected(problem, move_numbers(values, sign * move, signs))
                except Exception:  # noqa: BLE001 (numbers the engine refuses once moved: not a tie)
                    continue
                if _changed(leaves, {p: (t, v) for p, t, v in _answer_leaves(after)}, numbers):
                    return True
        return False

    found["tie"] = differs(TIE_MOVE, numbers=True)
    found["near"] = not found["tie"] and differs(margin, numbers=False)
    return found


def edges_of_problem(bank, problem: Problem, variants: int = EDGE_VARIANTS) -> EdgeReport:
    """The EdgeReport of `variants` variants of one problem (keys qa-0 ..., as qa_problem draws them)."""
    import hashlib

    option = problem.spec.get("ties")
    margin = float(option) if isinstance(option, (int, float)) and not isinstance(option, bool) else NEAR_MOVE
    report = EdgeReport(problem.id, option, margin=margin)
    assignments = bank.assignments_of(problem.id) or ["qa"]
    magnitudes = []
    with np.errstate(all="ignore"):
        for index in range(variants):
            assignment, key = assignments[index % len(assignments)], f"qa-{index}"
            label = f"{assignment}/{key}"
            seed = int.from_bytes(hashlib.sha256(f"edges:{problem.id}:{label}".encode()).digest()[:8], "big")
            try:
                values = draw(bank, problem, assignment, key)
                found = edges_of_variant(problem, values, np.random.default_rng(seed), margin)
            except Exception:  # noqa: BLE001 (qa_problem reports draws and answers that fail)
                continue
            report.variants += 1
            report.movable += found["movable"]
            report.ties += found["tie"]
            report.near += found["near"]
            report.edges += found["edge"]
            for what in ("tie", "near", "edge"):
                if found[what]:
                    report.examples.setdefault(what, label)
            if found["magnitude"] is not None:
                magnitudes.append(found["magnitude"])
    if magnitudes:
        report.magnitude = (float(np.percentile(magnitudes, 5)), float(np.percentile(magnitudes, 95)))
    return report


def run_edges(bank, variants: int = EDGE_VARIANTS, problem_ids=None) -> list[EdgeReport]:
    """One EdgeReport per problem (all, or those in `problem_ids`), in the bank's order."""
    ids = list(problem_ids) if problem_ids else list(bank.problems)
    return [edges_of_problem(bank, bank.problems[problem_id], variants) for problem_id in ids]
