"""Decoding a reported answer costs time linear in the report line (grader/grading/kernel/in_kernel.py).

The line is the student's to write, up to answers.MAX_REPORT_CHARS. Sets and dicts whose items
all hash alike made decoding quadratic (each insertion compared with every item before it); the
decoder now refuses, with the reason the student reads, a set or dict of more than MAX_ITEMS
items, more than MAX_HASHED values inside set items and dict keys in all, more than MAX_ELEMENTS
values in one answer, an integer beyond ±2**64 and a string longer than MAX_STRING. Nothing here
is timed: each worst case must be refused, and whatever `encode` writes must be accepted."""

import itertools
import json
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.grading.kernel import in_kernel
from grader.grading.notebook import answers
from grader.protocol import Unsupported

P = 2 ** 61 - 1                                   # CPython: hash(n) == hash(n mod P)
COLLIDING = [j * P for j in range(-8, 9)]         # every integer with |n| <= 2**64 whose hash is 0
COLLIDING_TRIPLES = list(itertools.product(COLLIDING, repeat=3))   # 4913 tuples, all of one hash
COLLIDING_FLOATS = [2.0 ** (61 * k) for k in range(17)]             # x * 2**61 hashes like x: all 1


def line(answer) -> str:
    return json.dumps({"problem": "p", "answer": answer}, separators=(",", ":"))


def filled(make_item, wrap, limit=answers.MAX_REPORT_CHARS) -> str:
    """The longest report line below `limit` of wrap([make_item(0), make_item(1), ...])."""
    per_item = max(len(json.dumps(make_item(i), separators=(",", ":"))) for i in range(300)) + 1
    count = (limit - 100) // per_item
    body = line(wrap([make_item(i) for i in range(count)]))
    while len(body) > limit:
        count = count * 9 // 10
        body = line(wrap([make_item(i) for i in range(count)]))
    return body


def refused(body: str, reason: str) -> None:
    assert len(body) <= answers.MAX_REPORT_CHARS
    with pytest.raises(in_kernel.CodecError, match=reason):
        answers.decode_answer(body)


def colliding_tuple(index: int, prefix: int = 0) -> dict:
    return {"$tuple": [0] * prefix + list(COLLIDING_TRIPLES[index % len(COLLIDING_TRIPLES)])}


def test_the_colliding_values_do_collide():
    assert {hash(n) for n in COLLIDING} == {0} and max(map(abs, COLLIDING)) <= in_kernel.MAX_INT
    assert len({hash(tuple(t)) for t in COLLIDING_TRIPLES}) == 1
    assert {hash(x) for x in COLLIDING_FLOATS} == {1}


# --- the worst cases within MAX_REPORT_CHARS are refused, with the reason -----------------------

def test_a_4mb_set_of_colliding_integers_is_refused_by_the_set_cap():
    body = filled(lambda i: (i + 1) * P, lambda items: {"$set": items})
    assert len(body) > 3_500_000
    refused(body, r"a set of [\d,]+ items \(at most 1,000 are read\)")


def test_a_4mb_dict_of_colliding_integer_keys_is_refused_by_the_dict_cap():
    body = filled(lambda i: [(i + 1) * P, 0], lambda items: {"$dict": items})
    refused(body, r"a dict of [\d,]+ items \(at most 1,000 are read\)")


def test_a_4mb_set_of_colliding_floats_is_refused():
    body = filled(lambda i: {"$tuple": [COLLIDING_FLOATS[i % 17], COLLIDING_FLOATS[i // 17 % 17]]},
                  lambda items: {"$set": items})
    refused(body, r"a set of [\d,]+ items \(at most 1,000 are read\)")


def test_colliding_integers_beyond_2_to_the_64_are_refused_even_in_a_small_set():
    refused(line({"$set": [j * P for j in range(1, 1000)]}), r"an integer larger than 2\*\*64")


def test_many_full_sets_of_colliding_tuples_are_refused_by_the_hashed_budget():
    one_set = {"$set": [colliding_tuple(i) for i in range(in_kernel.MAX_ITEMS)]}
    body = filled(lambda i: one_set, lambda items: items)
    refused(body, "more than 10,000 values inside set items and dict keys")
    keys = {"$dict": [[colliding_tuple(i), 0] for i in range(in_kernel.MAX_ITEMS)]}
    refused(filled(lambda i: keys, lambda items: items), "more than 10,000 values inside set items and dict keys")


def test_colliding_tuples_with_a_long_common_prefix_are_refused_by_the_hashed_budget():
    body = filled(lambda i: colliding_tuple(i, prefix=1000), lambda items: {"$set": items[:in_kernel.MAX_ITEMS]})
    refused(body, "more than 10,000 values inside set items and dict keys")
    nested = {"$set": [{"$tuple": [{"$tuple": [{"$tuple": list(t)}]}] * 5} for t in COLLIDING_TRIPLES[:1000]]}
    refused(line(nested), "more than 10,000 values inside set items and dict keys")


def test_an_answer_of_more_than_max_elements_values_is_refused():
    refused(line([0] * in_kernel.MAX_ELEMENTS), "more than 1,000,000 values in one answer")
    n = in_kernel.MAX_ELEMENTS - 2
    array = {"$array": {"dtype": "uint8", "shape": [n], "data": [0] * n}}
    assert len(answers.decode_answer(line([array]))[0]) == n          # the list, the array, its entries
    refused(line([array, 0]), "more than 1,000,000 values in one answer")
    with pytest.raises(in_kernel.CodecError, match="more than 1,000,000 values"):    # each outcome counts
        in_kernel.decode({"$calls": [{"raised": "E"}] * in_kernel.MAX_ELEMENTS})


@pytest.mark.parametrize("answer, reason", [
    ("x" * (in_kernel.MAX_STRING + 1), "a string of 10,001 characters"),
    ({"$dict": [["x" * 20_000, 1]]}, "a string of 20,000 characters"),
    (2 ** 64 + 1, r"larger than 2\*\*64"),
    ([-(2 ** 64) - 1], r"larger than 2\*\*64"),
    ({"$array": {"dtype": "float64", "shape": [1], "data": [10 ** 400]}}, r"larger than 2\*\*64"),
    ({"$array": {"dtype": "float64", "shape": [1], "data": [{"$tuple": [1]}]}}, "expected a number"),
    ({"$unsupported": ["a", "list"]}, r"\$unsupported holds a text of at most 200"),
    (json.loads("[" * 34 + "]" * 34), "nested too deeply"),
])
def test_values_beyond_the_other_limits_are_refused(answer, reason):
    refused(line(answer), reason)


def test_the_reason_reaches_the_student_whole():
    body = line({"$set": list(range(5000))})
    try:
        answers.decode_answer(body)
    except in_kernel.CodecError as exc:
        message = f"the answer to p could not be read: {exc}"
    assert message == "the answer to p could not be read: a set of 5,000 items (at most 1,000 are read)"


# --- the largest accepted answers ---------------------------------------------------------------

def test_the_largest_set_and_dict_of_colliding_items_decode():
    width = in_kernel.MAX_HASHED // in_kernel.MAX_ITEMS - 1          # a tuple and its items: 10 values
    items = [(0,) * (width - 3) + t for t in COLLIDING_TRIPLES[:in_kernel.MAX_ITEMS]]
    assert len(set(items)) == in_kernel.MAX_ITEMS and len({hash(t) for t in items}) == 1
    encoded = in_kernel.encode(set(items))
    assert "$set" in encoded
    assert answers.decode_answer(line(encoded)) == set(items)
    pairs = {t: i for i, t in enumerate(items)}
    assert answers.decode_answer(line(in_kernel.encode(pairs))) == pairs
    one_more = {"$set": [*encoded["$set"][:-1], {"$tuple": [0, *encoded["$set"][-1]["$tuple"]]}]}
    refused(line(one_more), "more than 10,000 values inside set items and dict keys")
    refused(line({"$set": list(range(in_kernel.MAX_ITEMS + 1))}), "a set of 1,001 items")


def test_integers_up_to_2_to_the_64_and_uint64_arrays_decode():
    for n in (2 ** 64, -(2 ** 64), 2 ** 64 - 1, -(2 ** 63)):
        assert answers.decode_answer(line(in_kernel.encode(n))) == n
    array = np.array([0, 2 ** 64 - 1], dtype=np.uint64)
    np.testing.assert_array_equal(answers.decode_answer(line(in_kernel.encode(array))), array)


# --- what encode writes is read back, or is {"$unsupported"} -------------------------------------

def round_trip(value):
    return in_kernel.decode(json.loads(json.dumps(in_kernel.encode(value), allow_nan=False)))


@pytest.mark.parametrize("size", [in_kernel.MAX_ITEMS - 1, in_kernel.MAX_ITEMS, in_kernel.MAX_ITEMS + 1])
def test_sets_and_dicts_at_and_over_the_cap(size):
    for value in (set(range(size)), frozenset(range(size)), {str(i): i for i in range(size)}):
        back = round_trip(value)
        if size <= in_kernel.MAX_ITEMS:
            assert back == value
        else:
            name = type(value).__name__
            assert back == {"$unsupported": f"{name} of 1,001 items (at most 1,000 are read)"}
            assert answers._typed(back) == Unsupported(f"{name} of 1,001 items (at most 1,000 are read)")


@pytest.mark.parametrize("value, expected", [
    (2 ** 64, 2 ** 64), (-(2 ** 64), -(2 ** 64)),
    (2 ** 64 + 1, {"$unsupported": "integer larger than 2**64"}),
    ([-(2 ** 64) - 1, 1], [{"$unsupported": "integer larger than 2**64"}, 1]),
    ({(1, 2 ** 70), (1, 2)}, {"$unsupported": "set holding integer larger than 2**64"}),
    ({2 ** 70: 1}, {"$unsupported": "dict holding integer larger than 2**64"}),
    ({"k": 2 ** 70}, {"k": {"$unsupported": "integer larger than 2**64"}}),
    ({frozenset({1})}, {"$unsupported": "set holding frozenset"}),
    ("x" * (in_kernel.MAX_STRING + 5), "x" * in_kernel.MAX_STRING),
    ({(0,) * 10 + (i,) for i in range(in_kernel.MAX_ITEMS)},
     {"$unsupported": "set too large (more than 10,000 values inside set items and dict keys)"}),
    ([[1, 2]] * 400_000, {"$unsupported": "list too large (more than 1,000,000 values in one answer)"}),
    ([np.zeros(in_kernel.MAX_ELEMENTS - 1), 1], [{"$unsupported": "array of float64, shape (999999,)"}, 1]),
])
def test_values_over_a_limit_are_encoded_as_unsupported(value, expected):
    assert round_trip(value) == expected


def test_deep_nesting_is_encoded_as_something_the_decoder_reads():
    deep: list = []
    for _ in range(in_kernel.MAX_DEPTH + 10):
        deep = [deep]
    back = round_trip(deep)
    for _ in range(in_kernel.MAX_DEPTH):
        back = back[0]
    assert back == {"$unsupported": "list nested more than 32 deep"}
    strings = np.array(["A"]).reshape((1,) * 8)       # a string array is written as lists
    for _ in range(in_kernel.MAX_DEPTH - 4):
        strings = [strings]
    assert "nested more than 32 deep" in json.dumps(round_trip(strings))


def test_a_functions_outputs_share_one_budget_and_are_read_back():
    nested: list = [1.0]
    for _ in range(in_kernel.MAX_DEPTH):
        nested = [nested]
    calls = in_kernel.call_cases(lambda n: np.zeros(n) if n else nested, [[600_000], [600_000], [0]])
    back = in_kernel.decode(json.loads(json.dumps({"$calls": calls})))["$calls"]
    assert back[0]["value"].shape == (600_000,)
    assert back[1]["value"] == {"$unsupported": "array of float64, shape (600000,)"}
    assert "nested more than 32 deep" in json.dumps(back[2]["value"])


class Odd:
    """An object the codec cannot write (hashable, by identity)."""


leaves = (st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=8) | st.builds(Odd)
          | st.integers(-10, 10) | st.sampled_from([2 ** 64, -(2 ** 64), 2 ** 64 + 1, -(2 ** 64) - 1, P, 8 * P]))
hashables = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4).map(tuple)
                         | st.frozensets(inner, max_size=4), max_leaves=12)
values = st.recursive(
    leaves | hashables | st.builds(np.arange, st.integers(0, 12)),
    lambda inner: (st.lists(inner, max_size=5) | st.lists(inner, max_size=5).map(tuple)
                   | st.sets(hashables, max_size=5) | st.dictionaries(hashables, inner, max_size=5)),
    max_leaves=40)
SMALL_LIMITS = {"MAX_ITEMS": 3, "MAX_HASHED": 8, "MAX_ELEMENTS": 30, "MAX_DEPTH": 3, "MAX_STRING": 4}


def plain(value):
    """What a round trip gives for a value within the limits (frozensets come back as sets)."""
    if isinstance(value, (frozenset, set)):
        return {plain(item) for item in value}
    if isinstance(value, tuple):
        return tuple(plain(item) for item in value)
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {plain(key): plain(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


@settings(max_examples=300, deadline=None)
@given(values)
def test_whatever_encode_writes_decode_reads_back_within_small_limits(value):
    with mock.patch.multiple(in_kernel, **SMALL_LIMITS):
        encoded = json.loads(json.dumps(in_kernel.encode(value), allow_nan=False))
        back = in_kernel.decode(encoded)                             # never a CodecError
        calls = in_kernel.decode({"$calls": in_kernel.call_cases(lambda: value, [[], [], []])})
    assert len(calls["$calls"]) == 3
    if "$unsupported" not in json.dumps(encoded) and all(len(s) <= 4 for s in strings_in(value)):
        assert plain(back) == plain(value)


def strings_in(value):
    """Every string inside a value (one longer than MAX_STRING comes back cut)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for pair in value.items() for item in pair for s in strings_in(item)]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [s for item in value for s in strings_in(item)]
    return []
