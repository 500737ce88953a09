"""Seeded variants: the parameter values of one problem for one (assignment, key).

Every parameter has its own stream of random bits, keyed by (bank seed, assignment,
problem id, variant key, parameter name, try number): SHA-256 of that key followed by
a 64-bit block counter, read as big-endian uint64 words. From the words:
uniform floats take the top 53 bits; integers use rejection sampling (no modulo bias);
normals use Box–Muller with Python's `math`. numpy's Generator is not used because its
bit stream may change between numpy versions; this one depends on nothing but SHA-256.

A variant that breaks a constraint is redrawn with the next try number (all of its
parameters), at most MAX_TRIES times.
"""

import copy
import hashlib
import json
import math
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from grader.bank.expressions import Expression, is_true
from grader.bank.model import Bank, Problem
from grader.errors import GraderError

MAX_TRIES = 1000
_TWO_64 = 1 << 64


class VariantError(GraderError):
    """A variant cannot be drawn. `field` is where in the problem: 'params.W', 'constraints[0]'."""

    def __init__(self, problem_id: str, field: str, message: str, line: int = 0) -> None:
        super().__init__(f"problem '{problem_id}': {field}: {message}")
        self.problem_id = problem_id
        self.field = field
        self.message = message
        self.line = line


class UnsatisfiableConstraints(VariantError):
    """No try in MAX_TRIES met every constraint; `index` is the constraint that failed most."""

    def __init__(self, problem_id: str, index: int, source: str, tries: int, line: int = 0) -> None:
        super().__init__(problem_id, f"constraints[{index}]",
                         f"cannot be met: '{source}' was false in all of {tries} redraws", line)
        self.index = index
        self.source = source


class Stream:
    """SHA-256 in counter mode over a key: uint64 words, uniform floats, integers, normals."""

    def __init__(self, key_bytes: bytes) -> None:
        self._hash = hashlib.sha256(key_bytes)
        self._counter = 0
        self._words: list[int] = []

    def uint64(self) -> int:
        if not self._words:
            block = self._hash.copy()
            block.update(self._counter.to_bytes(8, "big"))
            self._counter += 1
            self._words = list(struct.unpack(">4Q", block.digest()))[::-1]
        return self._words.pop()

    def uniform(self) -> float:
        """A float in [0, 1) with 53 random bits."""
        return (self.uint64() >> 11) * (1.0 / (1 << 53))

    def integer(self, low: int, high: int) -> int:
        """An integer in [low, high], both included, without modulo bias."""
        count = high - low + 1
        if count <= 0:
            raise ValueError(f"empty integer range [{low}, {high}]")
        limit = _TWO_64 - (_TWO_64 % count)
        while True:
            word = self.uint64()
            if word < limit:
                return low + word % count

    def normal(self) -> float:
        """A standard normal draw (Box–Muller, one value per pair of uniforms)."""
        u1, u2 = self.uniform(), self.uniform()
        return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


def stream_key(seed: int, assignment: str, problem_id: str, key: str, parameter: str, attempt: int) -> bytes:
    """The bytes that seed one parameter's stream."""
    return json.dumps([seed, str(assignment), problem_id, str(key), parameter, attempt],
                      separators=(",", ":"), ensure_ascii=True).encode("ascii")


def assignment_variant_key(bank: Bank, assignment: str) -> str:
    """How the assignment's variants are keyed: its own `variant_key`, else the bank's default."""
    found = getattr(bank, "assignments", {}).get(str(assignment))
    return str(getattr(found, "variant_key", None) or bank.variant_key)


def is_per_student(bank: Bank, assignment: str, problem: Problem | str | None = None) -> bool:
    """True when the problem's values (or, without a problem, those of an unshared problem) differ
    from student to student in this assignment."""
    if assignment_variant_key(bank, assignment) != "student":
        return False
    if problem is None:
        return True
    if isinstance(problem, str):
        problem = getattr(bank, "problems", {}).get(problem)
    return not bool(getattr(problem, "shared", False))


def variant_key_for(bank: Bank, assignment: str, student: str | None = None,
                    problem: Problem | str | None = None) -> str:
    """The key that selects a problem's variant; the one place that decides it.

    The student id when the assignment is keyed per student (its `variant_key`, else the bank's),
    a student is known and the problem is not `shared: true`; the assignment id otherwise (the
    instructor's copy, source/, and every problem of an assignment keyed by the assignment).
    `problem` is a Problem or a problem id; without it, the key of an unshared problem.
    """
    if student is not None and is_per_student(bank, assignment, problem):
        return str(student)
    return str(assignment)


def draw_for(bank: Bank, problem: Problem, assignment: str, student: str | None = None) -> dict[str, Any]:
    """The values `student` (None: the instructor's copy) gets for `problem` in `assignment`."""
    return draw(bank, problem, assignment, variant_key_for(bank, assignment, student, problem))


# --- samplers: (stream, spec, values) -> value -----------------------------------------

def _resolve(value: object, values: dict[str, Any]) -> Any:
    return value.evaluate(values) if isinstance(value, Expression) else value


def _as_int(value: object, what: str) -> int:
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ValueError(f"{what}: expected an integer, got {value!r}")
    return int(value)


def _round(value: float, decimals: int) -> float:
    return round(value, decimals) + 0.0  # + 0.0 turns -0.0 into 0.0


def _sample_choice(stream: Stream, spec: dict[str, Any], values: dict[str, Any]) -> Any:
    options = spec["choice"]
    return copy.deepcopy(options[stream.integer(0, len(options) - 1)])


def _sample_int(stream: Stream, spec: dict[str, Any], values: dict[str, Any]) -> int:
    low, high = (_as_int(_resolve(bound, values), "int") for bound in spec["int"])
    step = _as_int(_resolve(spec.get("step", 1), values), "step")
    if step < 1:
        raise ValueError(f"step: must be at least 1, got {step}")
    if low > high:
        raise ValueError(f"int: empty range [{low}, {high}]")
    return low + step * stream.integer(0, (high - low) // step)


def _sample_float(stream: Stream, spec: dict[str, Any], values: dict[str, Any]) -> float:
    low, high = (float(_resolve(bound, values)) for bound in spec["float"])
    if low > high:
        raise ValueError(f"float: empty range [{low}, {high}]")
    return _round(low + (high - low) * stream.uniform(), spec.get("decimals", 2))


def _shape(spec: dict[str, Any], values: dict[str, Any]) -> tuple[int, ...]:
    shape = spec["shape"]
    return tuple(_as_int(_resolve(size, values), "shape") for size in shape)


def _sample_array(stream: Stream, spec: dict[str, Any], values: dict[str, Any]) -> np.ndarray:
    spec = spec["array"]
    shape = _shape(spec, values)
    count = math.prod(shape)
    dist = spec.get("dist", "normal")
    decimals = spec.get("decimals", 2)
    if dist == "int":
        int_low = _as_int(_resolve(spec.get("low", 0), values), "low")
        int_high = _as_int(_resolve(spec.get("high", 9), values), "high")
        return np.array([stream.integer(int_low, int_high) for _ in range(count)], dtype=np.int64).reshape(shape)
    if dist == "uniform":
        low = float(_resolve(spec.get("low", 0.0), values))
        high = float(_resolve(spec.get("high", 1.0), values))
        items = [_round(low + (high - low) * stream.uniform(), decimals) for _ in range(count)]
    else:
        mean = float(_resolve(spec.get("mean", 0.0), values))
        std = float(_resolve(spec.get("std", 1.0), values))
        items = [_round(mean + std * stream.normal(), decimals) for _ in range(count)]
    return np.array(items, dtype=float).reshape(shape)


def _probability_row(stream: Stream, classes: int, decimals: int) -> list[float]:
    logits = [stream.normal() for _ in range(classes)]
    top = max(logits)
    weights = [math.exp(z - top) for z in logits]
    total = sum(weights)
    smallest = 10.0 ** -decimals
    row = [max(_round(w / total, decimals), smallest) for w in weights[:-1]]
    last = _round(1.0 - sum(row), decimals)
    while last < smallest:  # rounding pushed the others up: take from the largest
        largest = row.index(max(row))
        row[largest] = _round(row[largest] - smallest, decimals)
        last = _round(1.0 - sum(row), decimals)
    return row + [last]


def _sample_probabilities(stream: Stream, spec: dict[str, Any], values: dict[str, Any]) -> np.ndarray:
    spec = spec["probabilities"]
    shape = _shape(spec, values)
    if not shape or shape[-1] < 2:
        raise ValueError(f"probabilities: the last axis needs at least 2 classes, got shape {shape}")
    rows = math.prod(shape[:-1])
    items = [_probability_row(stream, shape[-1], spec.get("decimals", 3)) for _ in range(rows)]
    return np.array(items, dtype=float).reshape(shape)


def _sample_one_hot(stream: Stream, spec: dict[str, Any], values: dict[str, Any]) -> np.ndarray:
    spec = spec["one_hot"]
    classes = _as_int(_resolve(spec["classes"], values), "classes")
    batch = _as_int(_resolve(spec["batch"], values), "batch")
    labels = [stream.integer(0, classes - 1) for _ in range(batch)]
    return np.eye(classes, dtype=np.int64)[labels]


def _sample_box(stream: Stream, spec: dict[str, Any], values: dict[str, Any]) -> tuple[float, float, float, float]:
    spec = spec["box"]
    size = float(_resolve(spec.get("size", 100), values))
    decimals = spec.get("decimals", 0)

    def coordinate() -> float:
        value = _round(size * stream.uniform(), decimals)
        return int(value) if decimals == 0 else value

    corners = []
    for _axis in range(2):
        low, high = coordinate(), coordinate()
        while low == high:
            high = coordinate()
        corners.append((min(low, high), max(low, high)))
    (x1, x2), (y1, y2) = corners
    return (x1, y1, x2, y2)


def _count(stream: Stream, value: object, values: dict[str, Any], what: str) -> int:
    value = _resolve(value, values)
    if isinstance(value, list):
        low, high = (_as_int(_resolve(bound, values), what) for bound in value)
        return stream.integer(low, high)
    return _as_int(value, what)


def _tokens(stream: Stream, vocab: Sequence[Any], length: int) -> list[Any]:
    return [vocab[stream.integer(0, len(vocab) - 1)] for _ in range(length)]


def _sample_tokens(stream: Stream, spec: dict[str, Any], values: dict[str, Any]) -> list[Any]:
    spec = spec["tokens"]
    return _tokens(stream, spec["vocab"], _count(stream, spec["length"], values, "length"))


def _sample_documents(stream: Stream, spec: dict[str, Any], values: dict[str, Any]) -> list[list[Any]]:
    spec = spec["documents"]
    count = _count(stream, spec["count"], values, "count")
    return [_tokens(stream, spec["vocab"], _count(stream, spec["length"], values, "length")) for _ in range(count)]


def _sample_value(stream: Stream, spec: dict[str, Any], values: dict[str, Any]) -> Any:
    return copy.deepcopy(spec["value"])


def _sample_expr(stream: Stream, spec: dict[str, Any], values: dict[str, Any]) -> Any:
    return spec["expr"].evaluate(values)


# (stream, the parameter's spec, the values drawn before it) -> its value
Sampler = Callable[[Stream, dict[str, Any], dict[str, Any]], object]

SAMPLERS: dict[str, Sampler] = {
    "choice": _sample_choice,
    "int": _sample_int,
    "float": _sample_float,
    "array": _sample_array,
    "probabilities": _sample_probabilities,
    "one_hot": _sample_one_hot,
    "box": _sample_box,
    "tokens": _sample_tokens,
    "documents": _sample_documents,
    "value": _sample_value,
    "expr": _sample_expr,
}


def draw_once(seed: int, problem: Problem, assignment: str, key: str, attempt: int) -> dict[str, Any]:
    """The parameter values of one try (constraints not checked)."""
    values: dict[str, Any] = {}
    for name, param in problem.params.items():
        stream = Stream(stream_key(seed, assignment, problem.id, key, name, attempt))
        try:
            values[name] = SAMPLERS[param.sampler](stream, param.spec, values)
        except Exception as exc:  # noqa: BLE001 (reported with the parameter's name)
            raise VariantError(problem.id, f"params.{name}", f"{type(exc).__name__}: {exc}", param.line) from exc
    return values


def _first_broken_constraint(problem: Problem, values: dict[str, Any]) -> int | None:
    for index, constraint in enumerate(problem.constraints):
        try:
            ok = is_true(constraint.evaluate(values))
        except Exception as exc:  # noqa: BLE001
            raise VariantError(problem.id, f"constraints[{index}]",
                               f"raises {type(exc).__name__}: {exc}", _constraint_line(problem, index)) from exc
        if not ok:
            return index
    return None


def _constraint_line(problem: Problem, index: int) -> int:
    return problem.lines.get(f"constraints[{index}]", problem.line)


def draw(bank: Bank, problem: Problem, assignment_id: str, key: str | None = None) -> dict[str, Any]:
    """{parameter: value} of the problem's variant for (assignment, key); deterministic.

    `key` defaults to variant_key_for(bank, assignment_id). Raises VariantError when a
    parameter cannot be drawn and UnsatisfiableConstraints after MAX_TRIES broken tries.
    """
    if key is None:
        key = variant_key_for(bank, assignment_id)
    failures = [0] * len(problem.constraints)
    for attempt in range(MAX_TRIES):
        values = draw_once(bank.seed, problem, assignment_id, key, attempt)
        broken = _first_broken_constraint(problem, values)
        if broken is None:
            return values
        failures[broken] += 1
    worst = max(range(len(failures)), key=failures.__getitem__)
    raise UnsatisfiableConstraints(problem.id, worst, problem.constraints[worst].source, MAX_TRIES,
                                   _constraint_line(problem, worst))


class ClassVariants:
    """The values each student of a class was given, drawn when first asked for and kept.

    `others(problem, student)` yields the values of every classmate whose numbers differ from the
    student's by keying (nothing for a problem every student shares), for
    grader.kinds.grade_own_answer."""

    def __init__(self, bank: Bank, assignment: str, students: Iterable[str]) -> None:
        self.bank = bank
        self.assignment = str(assignment)
        self.students = tuple(sorted(set(map(str, students))))
        self._drawn: dict[tuple[str, str], dict[str, Any]] = {}

    @classmethod
    def kept(cls, known: "ClassVariants | None", bank: Bank, assignment: str, students: Iterable[str]) -> "ClassVariants":
        """`known` (with the values it drew) when it is this bank's class of the assignment, else a new one."""
        wanted = cls(bank, assignment, students)
        if known is not None and known.bank is bank and \
                (known.assignment, known.students) == (wanted.assignment, wanted.students):
            return known
        return wanted

    def values(self, problem: Problem | str, student: str) -> dict[str, Any]:
        problem_id = problem if isinstance(problem, str) else problem.id
        if (problem_id, student) not in self._drawn:
            self._drawn[(problem_id, student)] = draw_for(self.bank, self.bank.problems[problem_id],
                                                           self.assignment, student)
        return self._drawn[(problem_id, student)]

    def others(self, problem: Problem | str, student: str) -> Iterator[dict[str, Any]]:
        if not is_per_student(self.bank, self.assignment, problem):
            return
        for classmate in self.students:
            if classmate != str(student):
                yield self.values(problem, classmate)
