"""nlp.*: TF, IDF, TF-IDF, cosine similarity, word analogy."""

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial import distance

from grader import engine

CORPUS = [
    ["the", "cat", "sat", "on", "the", "mat"],
    ["the", "dog", "sat"],
    ["a", "cat", "and", "a", "dog"],
]


def test_tf_idf_worked_by_hand():
    # "the": 2 of the 6 tokens of document 0; in 2 of the 3 documents.
    assert engine.term_frequency("the", CORPUS[0]) == pytest.approx(2 / 6)
    assert engine.inverse_document_frequency("the", CORPUS) == pytest.approx(0.4054651081)  # ln 1.5
    assert engine.tf_idf("the", CORPUS[0], CORPUS) == pytest.approx(0.1351550360)  # ln 1.5 / 3
    # "mat": once in 6 tokens, in 1 document of 3.
    assert engine.tf_idf("mat", CORPUS[0], CORPUS) == pytest.approx(1.0986122887 / 6)  # ln 3 / 6
    # A word absent from this document but present in the corpus: TF = 0, so TF-IDF = 0.
    assert engine.term_frequency("dog", CORPUS[0]) == 0
    assert engine.tf_idf("dog", CORPUS[0], CORPUS) == 0


def test_a_word_in_every_document_has_zero_idf():
    docs = [["x", "y"], ["x"], ["z", "x"]]
    assert engine.inverse_document_frequency("x", docs) == 0


def _reference_tf_idf(corpus):
    """Second path: Counter tables for the whole corpus, math.log."""
    df = Counter(word for doc in corpus for word in set(doc))
    table = {}
    for d, doc in enumerate(corpus):
        counts = Counter(doc)
        for word, count in counts.items():
            table[d, word] = (count / len(doc), math.log(len(corpus) / df[word]))
    return table


def test_tf_idf_against_counter_reference():
    for (d, word), (tf, idf) in _reference_tf_idf(CORPUS).items():
        assert engine.term_frequency(word, CORPUS[d]) == pytest.approx(tf)
        assert engine.inverse_document_frequency(word, CORPUS) == pytest.approx(idf)
        assert engine.tf_idf(word, CORPUS[d], CORPUS) == pytest.approx(tf * idf)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from("abcde"), min_size=1, max_size=8), min_size=1, max_size=5))
def test_tf_idf_random_corpora_against_counter_reference(corpus):
    for (d, word), (tf, idf) in _reference_tf_idf(corpus).items():
        assert engine.tf_idf(word, corpus[d], corpus) == pytest.approx(tf * idf, abs=1e-12)


def test_idf_of_a_word_in_no_document_names_word():
    with pytest.raises(ValueError, match=r"^word:"):
        engine.inverse_document_frequency("zebra", CORPUS)


def test_empty_documents_are_refused():
    with pytest.raises(ValueError, match=r"^doc:"):
        engine.term_frequency("a", [])
    with pytest.raises(ValueError, match=r"^docs:"):
        engine.inverse_document_frequency("a", [])
    with pytest.raises(ValueError, match=r"^docs\[1\]:"):
        engine.inverse_document_frequency("a", [["a"], []])
    with pytest.raises(ValueError, match=r"^doc:"):
        engine.tf_idf("a", [], [["a"]])


def test_a_string_is_not_a_token_list():
    with pytest.raises(ValueError, match=r"^doc:"):
        engine.term_frequency("a", "a cat")


def test_cosine_worked_examples():
    assert engine.cosine_similarity([1, 0], [0, 1]) == pytest.approx(0)
    assert engine.cosine_similarity([1, 2], [2, 4]) == pytest.approx(1)
    assert engine.cosine_similarity([1, 2], [-1, -2]) == pytest.approx(-1)
    assert engine.cosine_similarity([1, 2], [2, 1]) == pytest.approx(0.8)  # 4 / (√5 √5)


nonzero_vectors = arrays(np.float64, 4, elements=st.floats(-10, 10)).filter(
    lambda v: np.linalg.norm(v) > 1e-3)


@settings(max_examples=60, deadline=None)
@given(nonzero_vectors, nonzero_vectors)
def test_cosine_against_scipy(v, w):
    got = engine.cosine_similarity(v, w)
    assert got == pytest.approx(1 - distance.cosine(v, w), abs=1e-9)
    assert -1 <= got <= 1


def test_cosine_refuses_zero_vectors_and_length_mismatch():
    with pytest.raises(ValueError, match=r"^v:"):
        engine.cosine_similarity([0, 0], [1, 2])
    with pytest.raises(ValueError, match=r"^w:"):
        engine.cosine_similarity([1, 2], [0, 0])
    with pytest.raises(ValueError, match=r"^v and w:"):
        engine.cosine_similarity([1, 2], [1, 2, 3])


EMBEDDINGS = {  # axes: royalty, male, female
    "king": [1.0, 1.0, 0.0],
    "man": [0.0, 1.0, 0.0],
    "woman": [0.0, 0.0, 1.0],
    "queen": [1.0, 0.0, 1.0],
    "prince": [0.8, 1.0, 0.1],
    "apple": [0.1, 0.1, 0.1],
}


def test_king_minus_man_plus_woman_is_queen():
    assert engine.analogy("man", "king", "woman", EMBEDDINGS) == "queen"
    # and the other way round: woman is to queen as man is to king
    assert engine.analogy("woman", "queen", "man", EMBEDDINGS) == "king"


def test_analogy_in_two_dimensions():
    emb = {"paris": [1.0, 3.0], "france": [1.0, 1.0], "italy": [3.0, 1.0], "rome": [3.0, 3.0], "tokyo": [-1, 3.0]}
    assert engine.analogy("france", "paris", "italy", emb) == "rome"


def test_analogy_excludes_the_question_words():
    # vec(b) − vec(a) + vec(c) points straight at b; the answer must be another word.
    emb = {"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [1.0, 0.01], "d": [0.5, 1.0], "e": [1.0, -1.0]}
    assert engine.analogy("a", "b", "c", emb) == "d"


def test_analogy_against_brute_force_with_scipy():
    rng = np.random.default_rng(5)
    words = [f"w{k}" for k in range(12)]
    emb = {w: rng.normal(size=5) for w in words}
    for a, b, c in [("w0", "w1", "w2"), ("w3", "w7", "w9"), ("w11", "w4", "w5")]:
        target = emb[b] - emb[a] + emb[c]
        best = min((w for w in words if w not in (a, b, c)), key=lambda w: distance.cosine(emb[w], target))
        assert engine.analogy(a, b, c, emb) == best


def test_analogy_domain_errors():
    with pytest.raises(ValueError, match=r"^c:"):
        engine.analogy("man", "king", "girl", EMBEDDINGS)
    emb = {"a": [2.0, 1.0], "b": [1.0, 1.0], "c": [1.0, 0.0], "d": [1.0, 1.0], "z": [0.0, 0.0]}
    with pytest.raises(ValueError, match=r"^a, b, c:"):
        engine.analogy("a", "b", "c", emb)  # vec(b) − vec(a) + vec(c) = 0
    with pytest.raises(ValueError, match=r"^embeddings\['z'\]:"):
        engine.analogy("a", "b", "d", emb)  # a zero vector among the candidates
    with pytest.raises(ValueError, match=r"^embeddings:"):
        engine.analogy("man", "king", "woman", {w: EMBEDDINGS[w] for w in ("man", "king", "woman")})
