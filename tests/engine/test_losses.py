"""Losses against PyTorch's F.mse_loss / F.binary_cross_entropy / F.cross_entropy."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

from grader import engine

RNG = np.random.default_rng(521)


def t(a):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64)


@pytest.mark.parametrize("shape", [(5,), (4, 3), (1,), (1, 7)])
def test_mse_matches_torch_sum_over_batch(shape):
    y, p = RNG.normal(size=shape), RNG.normal(size=shape)
    expected = F.mse_loss(t(p), t(y), reduction="sum").item() / shape[0]
    assert engine.mse(y, p) == pytest.approx(expected, rel=1e-12)


def test_mse_of_1d_is_torch_mean():
    y, p = RNG.normal(size=6), RNG.normal(size=6)
    assert engine.mse(y, p) == pytest.approx(F.mse_loss(t(p), t(y)).item(), rel=1e-12)


def test_mse_divides_by_batch_not_elements():
    """Misconception: dividing a (B, D) loss by B·D (torch's default mean) is not the sheet's 1/B."""
    y, p = np.zeros((2, 4)), np.ones((2, 4))
    assert engine.mse(y, p) == pytest.approx(4.0)
    assert F.mse_loss(t(p), t(y)).item() == pytest.approx(1.0)


@pytest.mark.parametrize("shape", [(6,), (3, 4)])
def test_bce_matches_torch(shape):
    y = RNG.uniform(size=shape)  # soft labels too
    p = RNG.uniform(0.01, 0.99, size=shape)
    expected = F.binary_cross_entropy(t(p), t(y), reduction="sum").item() / shape[0]
    assert engine.binary_cross_entropy(y, p) == pytest.approx(expected, rel=1e-12)


def test_bce_hard_labels_match_torch():
    y = RNG.integers(0, 2, size=10)
    p = RNG.uniform(0.001, 0.999, size=10)
    assert engine.binary_cross_entropy(y, p) == pytest.approx(F.binary_cross_entropy(t(p), t(y)).item(), rel=1e-12)


def test_bce_zero_weight_log_zero_counts_as_zero():
    with np.errstate(all="raise"):
        assert engine.binary_cross_entropy([1, 0, 1], [1.0, 0.0, 1.0]) == 0.0
        got = engine.binary_cross_entropy([1, 0], [0.5, 0.0])
    assert got == pytest.approx(F.binary_cross_entropy(t([0.5, 0.0]), t([1, 0])).item(), rel=1e-12)


def test_bce_confident_wrong_is_inf_where_torch_clamps():
    with np.errstate(all="raise"):
        assert engine.binary_cross_entropy([1.0], [0.0]) == float("inf")
        assert engine.binary_cross_entropy([0.0], [1.0]) == float("inf")
    assert F.binary_cross_entropy(t([0.0]), t([1.0])).item() == pytest.approx(100.0)


@pytest.mark.parametrize("batch, classes", [(1, 3), (5, 4), (8, 10)])
def test_cce_matches_torch_cross_entropy_on_log_probabilities(batch, classes):
    logits = RNG.normal(size=(batch, classes))
    p = torch.softmax(t(logits), dim=1).numpy()
    labels = RNG.integers(0, classes, size=batch)
    y = np.eye(classes)[labels]
    expected = F.cross_entropy(torch.log(t(p)), torch.tensor(labels)).item()
    assert engine.categorical_cross_entropy(y, p) == pytest.approx(expected, rel=1e-12)


def test_cce_soft_labels_match_torch():
    p = RNG.dirichlet(np.ones(4), size=3)
    y = RNG.dirichlet(np.ones(4), size=3)
    expected = F.cross_entropy(torch.log(t(p)), t(y)).item()
    assert engine.categorical_cross_entropy(y, p) == pytest.approx(expected, rel=1e-12)


def test_cce_single_example_worked():
    # −log 0.7 for the true class
    assert engine.categorical_cross_entropy([0, 1, 0], [0.2, 0.7, 0.1]) == pytest.approx(-np.log(0.7))


def test_cce_zero_probability_on_other_class_is_fine_and_on_true_class_is_inf():
    with np.errstate(all="raise"):
        assert engine.categorical_cross_entropy([[1, 0]], [[1.0, 0.0]]) == 0.0
        assert engine.categorical_cross_entropy([[0, 1]], [[1.0, 0.0]]) == float("inf")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=8), st.data())
def test_bce_is_non_negative_and_zero_when_p_equals_hard_y(ys, data):
    y = np.round(ys)
    p = np.array(data.draw(st.lists(st.floats(0, 1), min_size=len(ys), max_size=len(ys))))
    assert engine.binary_cross_entropy(y, p) >= 0
    assert engine.binary_cross_entropy(y, y) == 0.0


@pytest.mark.parametrize("fn", [engine.binary_cross_entropy, engine.categorical_cross_entropy])
@pytest.mark.parametrize("bad, name", [
    (([[1.0, 0.0]], [[1.2, -0.2]]), "p"),
    (([[1.5, -0.5]], [[0.5, 0.5]]), "y"),
    (([[1.0, 0.0]], [[np.nan, 0.5]]), "p"),
])
def test_probabilities_outside_unit_interval_raise(fn, bad, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        fn(*bad)


@pytest.mark.parametrize("fn", [engine.mse, engine.binary_cross_entropy, engine.categorical_cross_entropy])
def test_shape_mismatch_names_y_and_p(fn):
    with pytest.raises(ValueError, match=r"y and p"):
        fn([[1.0, 0.0]], [[0.5, 0.5], [0.5, 0.5]])


@pytest.mark.parametrize("fn", [engine.mse, engine.binary_cross_entropy])
def test_empty_batch_raises(fn):
    with pytest.raises(ValueError, match="y"):
        fn([], [])


def test_cce_rows_must_sum_to_one():
    with pytest.raises(ValueError, match=r"^p\b.*sum to 1"):
        engine.categorical_cross_entropy([[1, 0, 0]], [[0.5, 0.2, 0.1]])
    with pytest.raises(ValueError, match=r"^y\b.*sum to 1"):
        engine.categorical_cross_entropy([[1, 1, 0]], [[0.5, 0.4, 0.1]])
