"""w2v.*: skip-gram positive probability, negative-sampling objective, noise distribution."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader import engine


def _t(a):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64)


@pytest.mark.parametrize("seed", range(6))
def test_positive_prob_and_objective_against_torch_logsigmoid(seed):
    rng = np.random.default_rng(seed)
    dim, k = rng.integers(2, 8), rng.integers(0, 6)
    t, c, negatives = rng.normal(size=dim), rng.normal(size=dim), rng.normal(size=(k, dim))
    log_pos = F.logsigmoid(_t(t) @ _t(c))
    log_neg = F.logsigmoid(-(_t(negatives) @ _t(t))).sum()
    assert engine.skipgram_positive_prob(t, c) == pytest.approx(float(torch.exp(log_pos)), rel=1e-12)
    assert engine.skipgram_objective(t, c, negatives) == pytest.approx(float(log_pos + log_neg), rel=1e-12)


def test_objective_is_stable_for_large_dot_products():
    t = np.array([10.0, 0.0])
    c = np.array([-8.0, 0.0])  # t·c = −80: σ ≈ e^−80
    negatives = np.array([[9.0, 0.0]])  # t·n = 90: 1 − σ ≈ e^−90, log(1 − σ) in float would be log 0
    expected = F.logsigmoid(_t(t) @ _t(c)) + F.logsigmoid(-(_t(negatives) @ _t(t))).sum()
    got = engine.skipgram_objective(t, c, negatives)
    assert np.isfinite(got)
    assert got == pytest.approx(float(expected), rel=1e-9)
    assert got == pytest.approx(-170.0, rel=1e-9)


def test_worked_example():
    # t·c = 0 gives σ = ½; one negative with t·n = 0 gives 1 − σ = ½: objective = 2 log ½.
    assert engine.skipgram_positive_prob([1.0, 0.0], [0.0, 1.0]) == 0.5
    assert engine.skipgram_objective([1.0, 0.0], [0.0, 1.0], [[0.0, 3.0]]) == pytest.approx(2 * np.log(0.5))


def test_negative_term_is_one_minus_sigma_not_sigma():
    t, c, negatives = np.array([1.0, 2.0]), np.array([0.5, 0.5]), np.array([[1.0, 1.0]])
    misconception = np.log(1 / (1 + np.exp(-t @ c))) + np.log(1 / (1 + np.exp(-negatives[0] @ t)))
    assert engine.skipgram_objective(t, c, negatives) != pytest.approx(misconception, rel=1e-3)


def test_noise_distribution_hand_computed():
    # 1^¾ = 1, 16^¾ = 8, 81^¾ = 27; the sum is 36.
    got = engine.noise_distribution(np.array([1, 16, 81]))
    np.testing.assert_allclose(got, [1 / 36, 8 / 36, 27 / 36], rtol=1e-12)


def test_noise_distribution_dict_keeps_words_and_order():
    counts = {"the": 81, "cat": 16, "zebra": 1}
    got = engine.noise_distribution(counts)
    assert list(got) == ["the", "cat", "zebra"]
    assert got == pytest.approx({"the": 27 / 36, "cat": 8 / 36, "zebra": 1 / 36})


def test_noise_distribution_against_power_over_sum():
    counts = np.array([5, 120, 3, 0, 47, 1000], dtype=float)
    for alpha in (0.75, 1.0, 0.5):
        manual = np.array([count**alpha if count else 0.0 for count in counts])
        np.testing.assert_allclose(engine.noise_distribution(counts, alpha), manual / manual.sum(), rtol=1e-12)
    # α = ¾ raises rare words' share above their unigram share
    assert engine.noise_distribution(counts)[2] > counts[2] / counts.sum()


def test_noise_distribution_alpha_zero_is_uniform_over_seen_words():
    np.testing.assert_allclose(engine.noise_distribution([4, 0, 9, 1], alpha=0), [1 / 3, 0, 1 / 3, 1 / 3])


def test_domain_errors():
    with pytest.raises(ValueError, match=r"^t and c:"):
        engine.skipgram_positive_prob([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"^negatives:"):
        engine.skipgram_objective([1.0, 2.0], [1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"^t and negatives:"):
        engine.skipgram_objective([1.0, 2.0], [1.0, 2.0], [[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match=r"^counts:"):
        engine.noise_distribution([3, -1])
    with pytest.raises(ValueError, match=r"^counts:"):
        engine.noise_distribution({"a": 0, "b": 0})
    with pytest.raises(ValueError, match=r"^counts:"):
        engine.noise_distribution([])
    with pytest.raises(ValueError, match=r"^alpha:"):
        engine.noise_distribution([1, 2], alpha=-0.5)
