"""Word2Vec skip-gram with negative sampling (sheet: "Word2Vec (Skip-Gram)").

t is the target word's vector (a row of W), c a context vector (a row of C).
"""

import numpy as np

from ._checks import as_array, non_negative
from .activations import sigmoid


def _vector(name, value):
    vec = as_array(name, value, ndim=1)
    if not np.all(np.isfinite(vec)):
        raise ValueError(f"{name}: values must be finite")
    return vec


def _dot(name_a, a, name_b, b):
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"{name_a} and {name_b}: vector lengths differ, {a.shape[-1]} vs {b.shape[-1]}")
    return b @ a


def _log_sigmoid(x):
    # log σ(x) = −log(1 + e^−x), stable for large |x| where log(σ(x)) would give log(0).
    return -np.logaddexp(0.0, -x)


def skipgram_positive_prob(t, c):
    """Probability of a positive pair: P(+ | t, c) = σ(t·c) = 1 / (1 + e^−t·c)."""
    t, c = _vector("t", t), _vector("c", c)
    return float(sigmoid(_dot("t", t, "c", c)))


def skipgram_objective(t, c, negatives):
    """Skip-gram objective (to maximize): log P(+ | t, c) + Σᵢ log P(− | t, nᵢ).

    P(− | t, n) = 1 − σ(t·n) = σ(−t·n). negatives: the k noise vectors nᵢ as rows,
    shape (k, D) (k may be 0).
    """
    t, c = _vector("t", t), _vector("c", c)
    negatives = as_array("negatives", negatives, ndim=2)
    if not np.all(np.isfinite(negatives)):
        raise ValueError("negatives: values must be finite")
    positive = _log_sigmoid(_dot("t", t, "c", c))
    noise = _log_sigmoid(-_dot("t", t, "negatives", negatives))
    return float(positive + np.sum(noise))


def noise_distribution(counts, alpha=0.75):
    """Noise distribution for negative sampling: p_α(w) = count(w)^α / Σ_v count(v)^α, α = ¾.

    counts: a dict word → count (returns a dict word → probability, same order) or an
    array of counts (returns an array). A word never seen (count 0) gets probability 0,
    also when α = 0 (which gives the uniform distribution over the words seen).
    """
    alpha = non_negative("alpha", alpha)
    words = list(counts) if isinstance(counts, dict) else None
    values = as_array("counts", list(counts.values()) if words is not None else counts, ndim=1)
    if values.size == 0:
        raise ValueError("counts: no words")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("counts: counts must be finite and >= 0")
    if not np.any(values):
        raise ValueError("counts: every count is 0, there is nothing to sample")
    weights = np.zeros_like(values)
    seen = values > 0
    weights[seen] = values[seen] ** alpha
    probs = weights / np.sum(weights)
    return dict(zip(words, probs.tolist())) if words is not None else probs
