"""Embeddings and NLP metrics (sheet: "Embeddings & NLP Metrics").

A document is a list of tokens (strings); a corpus is a list of documents. Logs are natural.
"""

import math
from collections import Counter

import numpy as np

from ._checks import as_array


def _document(name, doc):
    if isinstance(doc, str):
        raise ValueError(f"{name}: expected a list of tokens, got a string (split it first)")
    try:
        tokens = list(doc)
    except TypeError as exc:
        raise ValueError(f"{name}: expected a list of tokens, got {type(doc).__name__}") from exc
    if not tokens:
        raise ValueError(f"{name}: the document is empty (|d| = 0)")
    return tokens


def _corpus(name, docs):
    if isinstance(docs, str):
        raise ValueError(f"{name}: expected a list of documents, got a string")
    corpus = [_document(f"{name}[{k}]", doc) for k, doc in enumerate(docs)]
    if not corpus:
        raise ValueError(f"{name}: the corpus has no documents (N = 0)")
    return corpus


def term_frequency(word, doc):
    """Term frequency: TF(w, d) = freq(w) / |d|, where |d| counts every token of d."""
    tokens = _document("doc", doc)
    return Counter(tokens)[word] / len(tokens)


def inverse_document_frequency(word, docs):
    """Inverse document frequency: IDF(w) = log(N / df(w)).

    N = number of documents, df(w) = number of documents holding w (unsmoothed, so
    a word found in no document is a ValueError rather than a division by zero).
    """
    corpus = _corpus("docs", docs)
    df = sum(word in doc for doc in corpus)
    if df == 0:
        raise ValueError(f"word: {word!r} occurs in no document of docs, so df(w) = 0 and IDF is undefined")
    return math.log(len(corpus) / df)


def tf_idf(word, doc, docs):
    """TF-IDF(w, d) = TF(w, d) · IDF(w), IDF taken over the corpus `docs`."""
    return term_frequency(word, doc) * inverse_document_frequency(word, docs)


def _vector(name, value):
    vec = as_array(name, value, ndim=1)
    if not np.all(np.isfinite(vec)):
        raise ValueError(f"{name}: values must be finite")
    if not np.any(vec):
        raise ValueError(f"{name}: the zero vector has no direction, cosine similarity is undefined")
    return vec


def _cosine(name_v, v, name_w, w):
    v, w = _vector(name_v, v), _vector(name_w, w)
    if v.shape != w.shape:
        raise ValueError(f"{name_v} and {name_w}: lengths differ, {v.shape[0]} vs {w.shape[0]}")
    cos = np.dot(v, w) / (np.linalg.norm(v) * np.linalg.norm(w))
    return float(np.clip(cos, -1.0, 1.0))


def cosine_similarity(v, w):
    """Cosine similarity: cos(v, w) = v·w / (‖v‖ ‖w‖), in [−1, +1] (rounding is clipped)."""
    return _cosine("v", v, "w", w)


def analogy(a, b, c, embeddings):
    """Word analogy, "a is to b as c is to ?": vec(b) − vec(a) + vec(c) ≈ vec(answer).

    With a = "man", b = "king", c = "woman" this is the sheet's
    vec(king) − vec(man) + vec(woman) ≈ vec(queen). Returns the word of `embeddings`
    (a dict word → vector) whose cosine with the target is largest, a, b and c
    excluded; ties go to the word listed first.
    """
    for name, word in (("a", a), ("b", b), ("c", c)):
        if word not in embeddings:
            raise ValueError(f"{name}: {word!r} has no embedding")
    vec = {word: as_array(f"embeddings[{word!r}]", embeddings[word], ndim=1) for word in (a, b, c)}
    if not (vec[a].shape == vec[b].shape == vec[c].shape):
        raise ValueError(f"a, b, c: embedding lengths differ, {[vec[w].shape[0] for w in (a, b, c)]}")
    target = vec[b] - vec[a] + vec[c]
    if not np.any(target):
        raise ValueError("a, b, c: vec(b) − vec(a) + vec(c) is the zero vector, no word is closest")
    candidates = [word for word in embeddings if word not in (a, b, c)]
    if not candidates:
        raise ValueError("embeddings: no word other than a, b and c to answer with")
    sims = [_cosine(f"embeddings[{word!r}]", embeddings[word], "vec(b) − vec(a) + vec(c)", target)
            for word in candidates]
    return candidates[int(np.argmax(sims))]
