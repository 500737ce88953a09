"""The only grader code a grading kernel runs: report the student's answer as plain data.

This file is standalone (json, math and numpy only): the grading worker sends its text to the
kernel before the notebook runs (grader.grading.answers.prelude) and binds one name in the
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
MAX_ELEMENTS = 1_000_000          # numbers in one answer
MAX_DEPTH = 32                    # nesting of lists, tuples, dicts
MAX_DIMENSIONS = 8
MAX_STRING = 10_000
MAX_MESSAGE = 300                 # a raised exception's text
DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64")
TAGS = ("$float", "$tuple", "$set", "$dict", "$array", "$calls", "$unsupported")

CASES: dict = {}                  # problem id -> list of argument lists (set by the worker)


class CodecError(ValueError):
    """Data that is not a valid encoded answer."""


# --- encoding (in the kernel) ------------------------------------------------------------------

def _encode_float(value):
    value = float(value)
    if math.isfinite(value):
        return value
    return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}


def _encode_array(array, budget):
    if array.dtype.kind == "U" and array.size <= budget[0]:   # strings (picked options): a list
        return encode(array.tolist(), 1, budget)
    if array.dtype.name not in DTYPES or array.ndim > MAX_DIMENSIONS or array.size > budget[0]:
        return {"$unsupported": f"array of {array.dtype.name}, shape {array.shape}"}
    budget[0] -= array.size
    flat = array.ravel().tolist()
    data = [_encode_float(item) if isinstance(item, float) else item for item in flat]
    return {"$array": {"dtype": array.dtype.name, "shape": list(array.shape), "data": data}}


def encode(value, _depth=0, _budget=None):
    """`value` as plain JSON-able data (see the module's docstring); never raises for odd objects."""
    budget = [MAX_ELEMENTS] if _budget is None else _budget
    if _depth > MAX_DEPTH or budget[0] <= 0:
        return {"$unsupported": "too deeply nested or too large"}
    budget[0] -= 1
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _encode_float(value)
    if isinstance(value, str):
        return value[:MAX_STRING]
    if isinstance(value, np.ndarray):
        return _encode_array(value, budget)
    if isinstance(value, (list, tuple)):
        items = [encode(item, _depth + 1, budget) for item in value]
        return items if isinstance(value, list) else {"$tuple": items}
    if isinstance(value, (set, frozenset)):
        return {"$set": [encode(item, _depth + 1, budget) for item in value]}
    if isinstance(value, dict):
        return {"$dict": [[encode(key, _depth + 1, budget), encode(item, _depth + 1, budget)]
                          for key, item in value.items()]}
    if hasattr(value, "__array__"):                   # a tensor or a matrix: its numbers
        return _encode_array(np.asarray(value), budget)
    if isinstance(value, numbers.Real):
        return _encode_float(value)
    return {"$unsupported": type(value).__name__}


def call_cases(function, cases):
    """The function on each case (deep copies of the arguments): {"value"} or {"raised"} each."""
    outcomes = []
    for arguments in cases:
        try:
            with np.errstate(all="ignore"):
                outcomes.append({"value": encode(function(*copy.deepcopy(arguments)))})
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

def _number(value, dtype):
    if isinstance(value, bool) != (dtype == "bool") or not isinstance(value, (int, float)):
        raise CodecError(f"expected a number in an array, got {type(value).__name__}")
    return value


def _decode_array(spec):
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data"}:
        raise CodecError("an array needs exactly dtype, shape and data")
    dtype, shape, data = spec["dtype"], spec["shape"], spec["data"]
    if dtype not in DTYPES:
        raise CodecError(f"array dtype {dtype!r} is not allowed")
    if (not isinstance(shape, list) or len(shape) > MAX_DIMENSIONS
            or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_ELEMENTS for n in shape)):
        raise CodecError(f"bad array shape {shape!r}"[:200])
    if not isinstance(data, list) or len(data) != math.prod(shape):
        raise CodecError("array data does not match its shape")
    items = [float(_decode_tag(item)) if isinstance(item, dict) else _number(item, dtype) for item in data]
    try:
        return np.array(items, dtype=dtype).reshape(shape)
    except (OverflowError, ValueError) as exc:
        raise CodecError(f"array data does not fit {dtype}: {exc}") from None


def _decode_tag(data, depth=0):
    if len(data) != 1:
        raise CodecError("an encoded object has exactly one tag")
    (tag, body), = data.items()
    if tag == "$float":
        if body not in ("nan", "inf", "-inf"):
            raise CodecError(f"bad $float {body!r}"[:200])
        return float(body)
    if tag in ("$tuple", "$set"):
        if not isinstance(body, list):
            raise CodecError(f"{tag} holds a list")
        items = [decode(item, depth + 1) for item in body]
        try:
            return tuple(items) if tag == "$tuple" else set(items)
        except TypeError:
            raise CodecError("a set of unhashable items") from None
    if tag == "$dict":
        if not isinstance(body, list) or not all(isinstance(pair, list) and len(pair) == 2 for pair in body):
            raise CodecError("$dict holds [key, value] pairs")
        try:
            return {decode(key, depth + 1): decode(item, depth + 1) for key, item in body}
        except TypeError:
            raise CodecError("an unhashable dict key") from None
    if tag == "$array":
        return _decode_array(body)
    if tag == "$calls":
        if not isinstance(body, list):
            raise CodecError("$calls holds a list")
        return {"$calls": [_decode_outcome(outcome, depth + 1) for outcome in body]}
    if tag == "$unsupported":
        return {"$unsupported": str(body)[:200]}
    raise CodecError(f"unknown tag {tag!r}"[:200])


def _decode_outcome(outcome, depth):
    if isinstance(outcome, dict) and set(outcome) == {"value"}:
        return {"value": decode(outcome["value"], depth)}
    if isinstance(outcome, dict) and set(outcome) == {"raised"} and isinstance(outcome["raised"], str):
        return {"raised": outcome["raised"][:MAX_MESSAGE]}
    raise CodecError("a call's outcome is {value} or {raised}")


def decode(data, depth=0):
    """The value `encode` wrote. Strict: only the shapes above, CodecError for anything else.
    A function's outcomes and unsupported objects stay tagged dicts for the caller to read."""
    if depth > MAX_DEPTH:
        raise CodecError("nested too deeply")
    if data is None or isinstance(data, (bool, int, str)):
        return data
    if isinstance(data, float):
        if not math.isfinite(data):
            raise CodecError("a bare non-finite float")
        return data
    if isinstance(data, list):
        return [decode(item, depth + 1) for item in data]
    if isinstance(data, dict):
        return _decode_tag(data, depth)
    raise CodecError(f"unexpected {type(data).__name__}")


def install(cases_json):
    """In the kernel: load the problems' function cases; return the report function."""
    CASES.update({problem: decode(cases) for problem, cases in json.loads(cases_json).items()})
    return report
