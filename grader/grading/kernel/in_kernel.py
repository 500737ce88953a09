"""The only grader code a grading kernel runs: report the student's answer as plain data.

This file is standalone (json, math and numpy only): the grading worker sends its text to the
kernel before the notebook runs (grader.grading.notebook.answers.prelude) and binds one name in the
student's namespace, `_grader_report`. A hidden test cell calls

    _grader_report("conv-output-size", q3)

which prints one line, `GRADER_ANSWER {"problem": ..., "answer": <plain data>}`. Nothing here
knows the key: the worker, outside the kernel, reads the line, decodes it strictly (`decode`,
the same codec) and grades it. A student who forges, suppresses or repeats the line can only
claim an answer, which is graded like any answer.

Plain data: None, bool, int, finite float, str, and lists of them as JSON; everything else is an
object with exactly one tag key: {"$float": "nan"}, {"$tuple": [...]}, {"$set": [...]},
{"$dict": [[key, value], ...]}, {"$array": {"dtype", "shape", "data"}},
{"$calls": [{"value": v} | {"raised": "TypeError: ..."}]} (a function answer, called on the
problem's cases, which the worker sends along: inputs are not secret) and
{"$unsupported": "<type name>"}.
"""

import copy
import json
import math
import numbers
import sys

import numpy as np

ANSWER_PREFIX = "GRADER_ANSWER "
# What one answer may hold. `decode` enforces every limit, so its cost is linear in the report
# line whatever the line holds (a set whose items all hash alike costs each insertion a
# comparison with every item before it: the caps keep that below ~10^7 comparisons); `encode`
# writes only what `decode` accepts, an {"$unsupported"} where a value is beyond a limit.
MAX_ELEMENTS = 1_000_000          # values in one answer: every number, string, container, array entry
MAX_DEPTH = 32                    # nesting of lists, tuples, sets, dicts
MAX_DIMENSIONS = 8
MAX_STRING = 10_000
MAX_ITEMS = 1_000                 # items of one set, entries of one dict (this course's: at most 6)
MAX_HASHED = 10_000               # values inside set items and dict keys, in all
MAX_INT = 2 ** 64                 # |an integer| (uint64 arrays need 2**64 - 1)
MAX_MESSAGE = 300                 # a raised exception's text
MAX_NAME = 200                    # an unsupported object's description
DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64")

CASES: dict = {}                  # problem id -> list of argument lists (set by the worker)


class CodecError(ValueError):
    """Data that is not a valid encoded answer."""


class _Unreadable(Exception):
    """In `encode`: a value `decode` would refuse where it cannot stand alone as {"$unsupported"}
    (inside a set item or a dict key, or past the budget); the nearest container that can takes it."""


def _budget():
    return [MAX_ELEMENTS, MAX_HASHED]     # values left; values left inside set items and dict keys


def _over_budget(budget, count, hashed):
    """Spend `count` values of `budget`; the reason when that is more than it has, else None."""
    budget[0] -= count
    if hashed:
        budget[1] -= count
    if budget[0] < 0:
        return f"more than {MAX_ELEMENTS:,} values in one answer"
    if budget[1] < 0:
        return f"more than {MAX_HASHED:,} values inside set items and dict keys"
    return None


def _too_many(what, count):
    return f"{what} of {count:,} items (at most {MAX_ITEMS:,} are read)"


# --- encoding (in the kernel) ------------------------------------------------------------------

def _encode_float(value):
    value = float(value)
    if math.isfinite(value):
        return value
    return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}


def _unsupported(reason, hashed):
    if hashed:                      # would make the set or dict unhashable when decoded
        raise _Unreadable(reason)
    return {"$unsupported": str(reason)[:MAX_NAME]}


def _encode_array(array, depth, budget, hashed):
    if hashed:                                                   # a tensor in a set: hashable by id
        raise _Unreadable("array")
    if array.dtype.kind == "U":                                  # strings (picked options): a list
        return _encode(array.tolist(), depth, budget, hashed)
    if array.dtype.name not in DTYPES or array.ndim > MAX_DIMENSIONS or array.size > budget[0]:
        return _unsupported(f"array of {array.dtype.name}, shape {array.shape}", hashed)
    reason = _over_budget(budget, array.size, hashed)
    if reason:
        raise _Unreadable(reason)
    flat = array.ravel().tolist()
    data = [_encode_float(item) if isinstance(item, float) else item for item in flat]
    return {"$array": {"dtype": array.dtype.name, "shape": list(array.shape), "data": data}}


def _encode_container(value, depth, budget, hashed):
    if hashed and not isinstance(value, tuple):     # a frozenset in a set: decoded, an unhashable set
        raise _Unreadable(type(value).__name__)
    if depth >= MAX_DEPTH:
        return _unsupported(f"{type(value).__name__} nested more than {MAX_DEPTH} deep", hashed)
    if isinstance(value, (set, frozenset, dict)) and len(value) > MAX_ITEMS:
        return _unsupported(_too_many(type(value).__name__, len(value)), hashed)
    if len(value) > budget[0]:
        return _unsupported(f"{type(value).__name__} of {len(value):,} items: more than {MAX_ELEMENTS:,} values "
                            f"in one answer", hashed)
    before = list(budget)
    try:
        if isinstance(value, (list, tuple)):
            items = [_encode(item, depth + 1, budget, hashed) for item in value]
            return items if isinstance(value, list) else {"$tuple": items}
        if isinstance(value, (set, frozenset)):
            return {"$set": [_encode(item, depth + 1, budget, True) for item in value]}
        return {"$dict": [[_encode(key, depth + 1, budget, True), _encode(item, depth + 1, budget, hashed)]
                          for key, item in value.items()]}
    except _Unreadable as exc:
        if hashed:
            raise
        budget[:] = before          # this container is one value: {"$unsupported"}
        return {"$unsupported": _reason(type(value).__name__, str(exc))}


def _reason(name, why):
    """What an {"$unsupported"} standing for a `name` says: 'list too large (more than ...)', 'set holding Foo'."""
    return (f"{name} too large ({why})" if why.startswith("more than") else f"{name} holding {why}")[:MAX_NAME]


def _encode(value, depth, budget, hashed):
    reason = _over_budget(budget, 1, hashed)
    if reason:
        raise _Unreadable(reason)
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, (int, np.integer)):
        if abs(int(value)) > MAX_INT:
            return _unsupported("integer larger than 2**64", hashed)
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _encode_float(value)
    if isinstance(value, str):
        return value[:MAX_STRING]
    if isinstance(value, np.ndarray):
        return _encode_array(value, depth, budget, hashed)
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return _encode_container(value, depth, budget, hashed)
    if hasattr(value, "__array__"):                   # a tensor or a matrix: its numbers
        return _encode_array(np.asarray(value), depth, budget, hashed)
    if isinstance(value, numbers.Real):
        return _encode_float(value)
    return _unsupported(type(value).__name__, hashed)


def _encode_value(value, depth, budget):
    try:
        return _encode(value, depth, budget, False)
    except _Unreadable as exc:    # no room left even for the value itself (its room was kept)
        return {"$unsupported": _reason(type(value).__name__, str(exc))}


def encode(value):
    """`value` as plain JSON-able data (see the module's docstring) that `decode` accepts; never
    raises for odd objects: what it cannot write, or what is beyond a limit, is {"$unsupported"}."""
    return _encode_value(value, 0, _budget())


def call_cases(function, cases):
    """The function on each case (deep copies of the arguments): {"value"} or {"raised"} each."""
    budget = _budget()
    budget[0] -= 1 + 2 * len(cases)     # $calls, each outcome, and each value's {"$unsupported"} if need be
    outcomes = []
    for arguments in cases:
        try:
            with np.errstate(all="ignore"):
                outcomes.append({"value": _encode_value(function(*copy.deepcopy(arguments)), 1, budget)})
        except Exception as exc:  # noqa: BLE001 (the student's code)
            outcomes.append({"raised": f"{type(exc).__name__}: {exc}"[:MAX_MESSAGE]})
    return outcomes


def report(problem_id, answer, spec=None):
    """Print the answer's report line (a function answer: its outputs on the problem's cases).
    `spec` is for the grading process, which reads it from the cell's source, not from here."""
    if callable(answer) and not isinstance(answer, type) and problem_id in CASES:
        encoded = {"$calls": call_cases(answer, CASES[problem_id])}
    else:
        encoded = encode(answer)
    line = json.dumps({"problem": problem_id, "answer": encoded}, allow_nan=False, separators=(",", ":"))
    print(ANSWER_PREFIX + line, file=sys.stdout, flush=True)


# --- decoding (in the worker, and the cases in the kernel) ---------------------------------------

def _spend(budget, count, hashed):
    reason = _over_budget(budget, count, hashed)
    if reason:
        raise CodecError(reason)


def _integer(value):
    if abs(value) > MAX_INT:
        raise CodecError("an integer larger than 2**64")
    return value


def _number(value, dtype):
    if isinstance(value, dict) and set(value) == {"$float"}:
        return _float_tag(value["$float"])
    if isinstance(value, bool) != (dtype == "bool") or not isinstance(value, (int, float)):
        raise CodecError(f"expected a number in an array, got {type(value).__name__}")
    return _integer(value) if isinstance(value, int) else value


def _float_tag(body):
    if body not in ("nan", "inf", "-inf"):
        raise CodecError(f"bad $float {body!r}"[:200])
    return float(body)


def _decode_array(spec, budget, hashed):
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data"}:
        raise CodecError("an array needs exactly dtype, shape and data")
    dtype, shape, data = spec["dtype"], spec["shape"], spec["data"]
    if dtype not in DTYPES:
        raise CodecError(f"array dtype {dtype!r} is not allowed"[:200])
    if (not isinstance(shape, list) or len(shape) > MAX_DIMENSIONS
            or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_ELEMENTS for n in shape)):
        raise CodecError(f"bad array shape {shape!r}"[:200])
    if not isinstance(data, list) or len(data) != math.prod(shape):
        raise CodecError("array data does not match its shape")
    _spend(budget, len(data), hashed)
    items = [_number(item, dtype) for item in data]
    try:
        return np.array(items, dtype=dtype).reshape(shape)
    except (OverflowError, ValueError) as exc:
        raise CodecError(f"array data does not fit {dtype}: {exc}"[:200]) from None


def _decode_tag(data, depth, budget, hashed):
    if len(data) != 1:
        raise CodecError("an encoded object has exactly one tag")
    (tag, body), = data.items()
    if tag == "$float":
        return _float_tag(body)
    if tag in ("$tuple", "$set", "$dict", "$calls") and not isinstance(body, list):
        raise CodecError(f"{tag} holds a list")
    if tag == "$tuple":
        return tuple([_decode(item, depth + 1, budget, hashed) for item in body])
    if tag == "$set":
        if len(body) > MAX_ITEMS:
            raise CodecError("a " + _too_many("set", len(body)))
        items = [_decode(item, depth + 1, budget, True) for item in body]
        try:
            return set(items)
        except TypeError:
            raise CodecError("a set of unhashable items") from None
    if tag == "$dict":
        if len(body) > MAX_ITEMS:
            raise CodecError("a " + _too_many("dict", len(body)))
        if not all(isinstance(pair, list) and len(pair) == 2 for pair in body):
            raise CodecError("$dict holds [key, value] pairs")
        pairs = [(_decode(key, depth + 1, budget, True), _decode(item, depth + 1, budget, hashed))
                 for key, item in body]
        try:
            return dict(pairs)
        except TypeError:
            raise CodecError("an unhashable dict key") from None
    if tag == "$array":
        return _decode_array(body, budget, hashed)
    if tag == "$calls":
        return {"$calls": [_decode_outcome(outcome, depth + 1, budget, hashed) for outcome in body]}
    if tag == "$unsupported":
        if not isinstance(body, str) or len(body) > MAX_NAME:
            raise CodecError(f"$unsupported holds a text of at most {MAX_NAME} characters")
        return {"$unsupported": body}
    raise CodecError(f"unknown tag {tag!r}"[:200])


def _decode_outcome(outcome, depth, budget, hashed):
    _spend(budget, 1, hashed)
    if isinstance(outcome, dict) and set(outcome) == {"value"}:
        return {"value": _decode(outcome["value"], depth, budget, hashed)}
    if isinstance(outcome, dict) and set(outcome) == {"raised"} and isinstance(outcome["raised"], str):
        return {"raised": outcome["raised"][:MAX_MESSAGE]}
    raise CodecError("a call's outcome is {value} or {raised}")


def _decode(data, depth, budget, hashed):
    if depth > MAX_DEPTH:
        raise CodecError("nested too deeply")
    _spend(budget, 1, hashed)
    if data is None or isinstance(data, bool):
        return data
    if isinstance(data, int):
        return _integer(data)
    if isinstance(data, str):
        if len(data) > MAX_STRING:
            raise CodecError(f"a string of {len(data):,} characters (at most {MAX_STRING:,} are read)")
        return data
    if isinstance(data, float):
        if not math.isfinite(data):
            raise CodecError("a bare non-finite float")
        return data
    if isinstance(data, list):
        return [_decode(item, depth + 1, budget, hashed) for item in data]
    if isinstance(data, dict):
        return _decode_tag(data, depth, budget, hashed)
    raise CodecError(f"unexpected {type(data).__name__}")


def decode(data):
    """The value `encode` wrote. Strict: only the shapes above within the limits above, CodecError
    (its text says why) for anything else; the cost is linear in the size of `data`. A function's
    outcomes and unsupported objects stay tagged dicts for the caller to read."""
    return _decode(data, 0, _budget(), False)


def install(cases_json):
    """In the kernel: load the problems' function cases; return the report function."""
    CASES.update({problem: decode(cases) for problem, cases in json.loads(cases_json).items()})
    return report
