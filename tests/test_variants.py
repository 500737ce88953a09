"""Seeded variants: golden values, an independent SHA-256 reference, determinism, distributions."""

import hashlib
import math
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from grader.bank import load_bank, load_bank_text
from grader.bank.templates import python_literal
from grader.variants import (
    MAX_TRIES,
    Stream,
    UnsatisfiableConstraints,
    VariantError,
    draw,
    draw_for,
    stream_key,
    variant_key_for,
)

HERE = Path(__file__).parent
GOLDEN = HERE / "bank" / "fixtures" / "golden.yaml"
REPO = HERE.parent

# Drawn once from tests/bank/fixtures/golden.yaml and pinned: any change to the streams,
# the samplers or their order shows here. This is the cross-version (numpy, Python,
# machine) proof: the values depend on SHA-256 and Python's float arithmetic only.
GOLDEN_VALUES = {
    "golden": (
        "{'n': 2, 'pick': 'relu', 'stepped': 10, 'rate': 0.068, "
        "'x': np.array([[-0.4, 0.44, 0.37], [-1.21, 0.61, -0.24]]), "
        "'u': np.array([0.619, 0.781, -0.591, 0.544]), 'k': np.array([[-1, 2], [3, 4]]), "
        "'p': np.array([[0.398, 0.199, 0.261, 0.142], [0.007, 0.059, 0.906, 0.028]]), "
        "'y': np.array([[0, 1, 0, 0], [1, 0, 0, 0]]), 'box': (38, 8, 80, 95), "
        "'words': ['by', 'sat', 'mat', 'the', 'by'], "
        "'docs': [['b', 'c', 'c'], ['c', 'b', 'a'], ['b', 'b', 'b', 'b']], "
        "'layers': [{'type': 'conv', 'kernel': 3}], 'total': 20}"
    ),
    "student-17": (
        "{'n': 4, 'pick': 'sigmoid', 'stepped': 35, 'rate': 0.075, "
        "'x': np.array([[0.63, 1.07, -0.46], [0.18, 1.47, 0.78], [-1.84, -0.62, -1.03], [-1.69, 0.07, 1.49]]), "
        "'u': np.array([-0.359, -0.48, 0.586, -0.917]), 'k': np.array([[3, -1], [-5, -1]]), "
        "'p': np.array([[0.317, 0.308, 0.103, 0.272], [0.478, 0.182, 0.186, 0.154], "
        "[0.227, 0.157, 0.068, 0.548], [0.203, 0.165, 0.602, 0.03]]), "
        "'y': np.array([[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0]]), 'box': (37, 9, 50, 85), "
        "'words': ['cat', 'cat', 'sat', 'sat'], 'docs': [['a', 'b', 'b', 'b'], ['a', 'a'], ['a', 'a']], "
        "'layers': [{'type': 'conv', 'kernel': 3}], 'total': 140}"
    ),
}


@pytest.fixture(scope="module")
def golden():
    bank = load_bank(GOLDEN)
    return bank, bank.problems["samplers"]


@pytest.mark.parametrize("key", sorted(GOLDEN_VALUES))
def test_golden_values(golden, key):
    bank, problem = golden
    assert python_literal(draw(bank, problem, "golden", key)) == GOLDEN_VALUES[key]


def _reference_words(key_bytes, count):
    """The stream as the docs define it, written independently: SHA-256(key || counter) words."""
    words = []
    counter = 0
    while len(words) < count:
        digest = hashlib.sha256(key_bytes + counter.to_bytes(8, "big")).digest()
        words.extend(struct.unpack(">4Q", digest))
        counter += 1
    return words[:count]


def test_stream_matches_an_independent_reference():
    key = b'[5212026,"golden","samplers","golden","n",0]'
    assert stream_key(5212026, "golden", "samplers", "golden", "n", 0) == key
    stream = Stream(key)
    reference = _reference_words(key, 9)
    assert [stream.uint64() for _ in range(9)] == reference
    assert Stream(key).uniform() == (reference[0] >> 11) / 2 ** 53


def test_golden_integer_matches_rejection_sampling_by_hand(golden):
    bank, problem = golden
    word = _reference_words(stream_key(bank.seed, "golden", "samplers", "golden", "n", 0), 1)[0]
    limit = 2 ** 64 - (2 ** 64 % 3)
    assert word < limit  # the first word is accepted (else the test would need the next one)
    assert draw(bank, problem, "golden", "golden")["n"] == 2 + word % 3


def test_rejection_sampling_rejects_words_above_the_limit():
    class Scripted(Stream):
        def __init__(self, words):
            self.words = list(words)

        def uint64(self):
            return self.words.pop(0)

    count = 3
    limit = 2 ** 64 - (2 ** 64 % count)
    assert Scripted([limit, limit + 0, 7]).integer(0, count - 1) == 7 % count
    assert Scripted([limit - 1]).integer(10, 12) == 10 + (limit - 1) % count


def test_same_inputs_same_values_in_another_process():
    script = textwrap.dedent("""
        import sys
        from grader.bank import load_bank
        from grader.bank.templates import python_literal
        from grader.variants import draw
        bank = load_bank(sys.argv[1])
        print(python_literal(draw(bank, bank.problems["samplers"], "golden", "golden")))
    """)
    env = dict(os.environ, PYTHONHASHSEED="999")
    out = subprocess.run([sys.executable, "-c", script, str(GOLDEN)], capture_output=True, text=True,
                         env=env, cwd=REPO, check=True).stdout.strip()
    assert out == GOLDEN_VALUES["golden"]


def test_different_keys_and_assignments_give_different_values(golden):
    bank, problem = golden
    base = python_literal(draw(bank, problem, "golden", "k0"))
    assert python_literal(draw(bank, problem, "golden", "k0")) == base
    others = {python_literal(draw(bank, problem, "golden", f"k{i}")) for i in range(1, 20)}
    assert base not in others and len(others) == 19
    assert python_literal(draw(bank, problem, "other", "k0")) != base


def test_draws_do_not_share_mutable_values(golden):
    bank, problem = golden
    first = draw(bank, problem, "golden", "golden")
    first["layers"][0]["kernel"] = 99
    first["x"][0, 0] = 1e9
    assert python_literal(draw(bank, problem, "golden", "golden")) == GOLDEN_VALUES["golden"]


def test_sampler_properties_over_many_keys(golden):
    bank, problem = golden
    for index in range(300):
        v = draw(bank, problem, "golden", f"key-{index}")
        n = v["n"]
        assert n in (2, 3, 4) and v["pick"] in ("relu", "tanh", "sigmoid")
        assert v["stepped"] % 5 == 0 and 0 <= v["stepped"] <= 100
        assert 0.001 <= v["rate"] <= 0.1 and round(v["rate"], 3) == v["rate"]
        assert v["x"].shape == (n, 3) and v["x"].dtype == float
        assert np.all(np.round(v["x"], 2) == v["x"])
        assert np.all((-1 <= v["u"]) & (v["u"] <= 1))
        assert v["k"].dtype.kind == "i" and np.all((-5 <= v["k"]) & (v["k"] <= 5))
        p = v["p"]
        assert p.shape == (n, 4) and np.all((p > 0) & (p < 1))
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
        assert v["y"].shape == (n, 4) and np.all(v["y"].sum(axis=1) == 1)
        x1, y1, x2, y2 = v["box"]
        assert 0 <= x1 < x2 <= 100 and 0 <= y1 < y2 <= 100
        assert 4 <= len(v["words"]) <= 8 and set(v["words"]) <= {"the", "cat", "sat", "by", "mat"}
        assert len(v["docs"]) == 3 and all(2 <= len(doc) <= 4 for doc in v["docs"])
        assert v["total"] == n * v["stepped"]


def test_integers_are_uniform():
    stream = Stream(b"uniform-integers")
    counts = np.bincount([stream.integer(0, 9) for _ in range(20000)], minlength=10)
    assert stats.chisquare(counts).pvalue > 1e-4


def test_uniform_and_normal_distributions():
    stream = Stream(b"floats")
    uniforms = [stream.uniform() for _ in range(5000)]
    assert min(uniforms) >= 0 and max(uniforms) < 1
    assert stats.kstest(uniforms, "uniform").pvalue > 1e-4
    normals = [stream.normal() for _ in range(5000)]
    assert stats.kstest(normals, "norm").pvalue > 1e-4
    assert abs(np.mean(normals)) < 0.06 and abs(np.std(normals) - 1) < 0.05


def _bank(params, constraints=""):
    """A one-problem bank with these parameter lines and constraints (not checked at load)."""
    head = textwrap.dedent("""\
        course: T
        seed: 7
        assignments: [{id: a, title: A, problems: [p]}]
        problems:
          - id: p
            title: P
            section: cnn
            formula: [cnn.out_size]
            points: 1
            kind: numeric
            prompt: x
            answer: "1"
        """)
    body = "    params:\n" + textwrap.indent(params, "      ") + f"\n    constraints: [{constraints}]\n"
    return load_bank_text(head + body)


def test_constraints_redraw_until_met():
    bank = _bank("a: {int: [0, 9]}\nb: {int: [0, 9]}", "a + b == 9")
    problem = bank.problems["p"]
    for index in range(50):
        values = draw(bank, problem, "a", f"k{index}")
        assert values["a"] + values["b"] == 9


def test_unsatisfiable_constraints_name_the_constraint():
    bank = _bank("a: {int: [0, 9]}", "a >= 0, a > 20")
    with pytest.raises(UnsatisfiableConstraints) as caught:
        draw(bank, bank.problems["p"], "a", "k")
    assert caught.value.index == 1 and caught.value.source == "a > 20"
    assert f"all of {MAX_TRIES} redraws" in str(caught.value)


def test_a_parameter_that_cannot_be_drawn_is_a_variant_error():
    bank = _bank("a: {int: [0, 3]}\nb: {array: {shape: [a, 2]}}\nc: {expr: 1 // (a - a)}")
    with pytest.raises(VariantError) as caught:
        draw(bank, bank.problems["p"], "a", "k")
    assert caught.value.field == "params.c" and "ZeroDivisionError" in caught.value.message


def test_shapes_and_bounds_may_name_earlier_parameters():
    bank = _bank("n: {int: [1, 3]}\nm: {int: [n, 5]}\nz: {array: {shape: [n, m], dist: uniform, low: 0, high: n}}")
    for index in range(30):
        v = draw(bank, bank.problems["p"], "a", f"k{index}")
        assert v["n"] <= v["m"] <= 5 and v["z"].shape == (v["n"], v["m"]) and np.all(v["z"] <= v["n"])


def test_variant_key_for():
    class FakeBank:
        variant_key = "assignment"

    bank = FakeBank()
    assert variant_key_for(bank, "cnn", "alice") == "cnn"
    bank.variant_key = "student"
    assert variant_key_for(bank, "cnn", "alice") == "alice"
    assert variant_key_for(bank, "cnn") == "cnn"  # the instructor's copy


KEYED_BANK = textwrap.dedent("""\
    course: T
    seed: 7
    variant_key: assignment
    assignments:
      - {id: hw, title: H, variant_key: student, problems: [own, common]}
      - {id: quiz, title: Q, problems: [own, common]}
    problems:
      - {id: own, title: O, section: cnn, formula: [cnn.out_size], points: 1, kind: numeric, prompt: x,
         params: {W: {int: [1, 1000000]}}, answer: W}
      - {id: common, title: C, section: cnn, formula: [cnn.out_size], points: 1, kind: numeric, prompt: x,
         shared: true, params: {W: {int: [1, 1000000]}}, answer: W}
    """)


def test_variant_key_per_assignment_and_shared_problems():
    bank = load_bank_text(KEYED_BANK)
    assert bank.assignments["hw"].variant_key == "student" and bank.assignments["quiz"].variant_key == "assignment"
    own, common = bank.problems["own"], bank.problems["common"]
    assert common.shared and not own.shared
    assert variant_key_for(bank, "hw", "alice", own) == "alice"
    assert variant_key_for(bank, "hw", "alice", "own") == "alice"
    assert variant_key_for(bank, "hw", "alice", common) == "hw"      # shared: keyed by the assignment
    assert variant_key_for(bank, "hw", None, own) == "hw"            # the instructor's copy
    assert variant_key_for(bank, "quiz", "alice", own) == "quiz"     # a quiz keyed by the assignment
    alice, bob = (draw_for(bank, own, "hw", s)["W"] for s in ("alice", "bob"))
    assert alice != bob
    assert draw_for(bank, common, "hw", "alice") == draw_for(bank, common, "hw", "bob") == draw(bank, common, "hw", "hw")
    assert draw_for(bank, own, "quiz", "alice") == draw_for(bank, own, "quiz", "bob")


def test_a_students_variant_depends_on_nothing_but_seed_assignment_problem_and_student():
    before = load_bank_text(KEYED_BANK)
    # another problem changed, problems reordered, another assignment added
    after = load_bank_text(KEYED_BANK.replace("problems: [own, common]}\n      - {id: quiz",
                                              "problems: [common, own]}\n      - {id: quiz")
                           .replace("shared: true, params: {W: {int: [1, 1000000]}}", "shared: true, params: {W: {int: [5, 9]}}"))
    for student in ("alice", "bob", "carol"):
        assert draw_for(before, before.problems["own"], "hw", student) == draw_for(after, after.problems["own"], "hw", student)


def test_probability_rows_stay_inside_the_open_interval_with_coarse_rounding():
    bank = _bank("p: {probabilities: {shape: [50, 12], decimals: 2}}")
    for index in range(20):
        p = draw(bank, bank.problems["p"], "a", f"k{index}")["p"]
        assert np.all((p > 0) & (p < 1)) and np.allclose(p.sum(axis=1), 1, atol=1e-9)
        assert math.isclose(float(np.round(p, 2).sum()), float(p.sum()), abs_tol=1e-6)


def test_sampled_parameters_follow_their_distributions_across_keys():
    bank = _bank("i: {int: [1, 6]}\nc: {choice: [a, b, c]}\n"
                 "z: {array: {shape: [1], dist: normal, mean: 5, std: 2, decimals: 6}}\n"
                 "f: {float: [-1, 3], decimals: 6}")
    problem = bank.problems["p"]
    draws = [draw(bank, problem, "a", f"stat-{index}") for index in range(3000)]
    faces = np.bincount([d["i"] for d in draws], minlength=7)[1:]
    assert stats.chisquare(faces).pvalue > 1e-4
    letters = [sum(d["c"] == letter for d in draws) for letter in "abc"]
    assert stats.chisquare(letters).pvalue > 1e-4
    normals = [d["z"][0] for d in draws]
    assert stats.kstest(normals, "norm", args=(5, 2)).pvalue > 1e-4
    floats = [d["f"] for d in draws]
    assert stats.kstest(floats, "uniform", args=(-1, 4)).pvalue > 1e-4
