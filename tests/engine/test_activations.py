"""Activations and their derivatives against torch and torch autograd."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from grader import engine

RNG = np.random.default_rng(7)
Z = np.concatenate([RNG.normal(scale=5, size=40), [0.0, -0.0, 6.0, -1000.0, 1000.0, 30.0, -30.0]])


def t(a):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64)


@pytest.mark.parametrize("ours, theirs", [
    (engine.sigmoid, torch.sigmoid),
    (engine.relu, torch.relu),
    (engine.tanh, torch.tanh),
    (engine.relu6, F.relu6),
])
def test_elementwise_matches_torch(ours, theirs):
    np.testing.assert_allclose(ours(Z), theirs(t(Z)).numpy(), rtol=1e-14, atol=0)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_matches_torch(axis):
    z = RNG.normal(scale=3, size=(4, 5))
    np.testing.assert_allclose(engine.softmax(z, axis=axis), torch.softmax(t(z), dim=axis).numpy(), rtol=1e-13)


def test_sigmoid_and_softmax_stable_at_extremes_without_warnings():
    z = np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0])
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        s = engine.sigmoid(z)
        p = engine.softmax(z)
        q = engine.softmax(np.array([[1000.0, -1000.0], [-1000.0, -1000.0]]))
        g = engine.sigmoid_grad(z)
    np.testing.assert_allclose(s, torch.sigmoid(t(z)).numpy(), rtol=1e-15)
    np.testing.assert_allclose(p, torch.softmax(t(z), dim=0).numpy(), rtol=1e-15)
    np.testing.assert_array_equal(q, [[1.0, 0.0], [0.5, 0.5]])
    assert np.all(np.isfinite(g))


def test_scalar_in_scalar_out():
    assert np.ndim(engine.sigmoid(0.0)) == 0 and engine.sigmoid(0.0) == 0.5
    assert engine.relu(-2) == 0.0 and engine.relu6(7) == 6.0 and engine.tanh(0) == 0.0


@pytest.mark.parametrize("ours, theirs", [
    (engine.sigmoid_grad, torch.sigmoid),
    (engine.tanh_grad, torch.tanh),
    (engine.relu_grad, torch.relu),
])
def test_derivatives_match_autograd(ours, theirs):
    z = t(Z).requires_grad_(True)
    theirs(z).sum().backward()
    np.testing.assert_allclose(ours(Z), z.grad.numpy(), rtol=1e-12, atol=1e-14)  # 1 − tanh² cancels near |z| = large


def test_relu_grad_at_zero_is_zero_like_torch():
    z = t([0.0]).requires_grad_(True)
    torch.relu(z).sum().backward()
    assert z.grad.item() == 0.0
    assert engine.relu_grad(0.0) == 0.0


@pytest.mark.parametrize("activation, rule", [("relu", "he"), ("sigmoid", "he"), ("tanh", "xavier"), ("ReLU", "he"), ("Tanh", "xavier")])
def test_recommended_init_follows_sheet(activation, rule):
    assert engine.recommended_init(activation) == rule


def test_recommended_init_unknown_activation():
    with pytest.raises(ValueError, match="activation"):
        engine.recommended_init("swish")


finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(arrays(float, st.tuples(st.integers(1, 4), st.integers(1, 6)), elements=finite), st.floats(-1e3, 1e3))
def test_softmax_rows_sum_to_one_and_ignore_added_constant(z, c):
    p = engine.softmax(z)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
    assert np.all(p >= 0)
    np.testing.assert_allclose(engine.softmax(z + c), p, atol=1e-9)


@settings(max_examples=50, deadline=None)
@given(arrays(float, st.integers(1, 10), elements=st.floats(-30, 30)))
def test_sigmoid_in_open_unit_interval_and_symmetric(z):
    s = engine.sigmoid(z)
    assert np.all((s > 0) & (s < 1))
    np.testing.assert_allclose(engine.sigmoid(-z), 1 - s, atol=1e-15)


@settings(max_examples=50, deadline=None)
@given(arrays(float, st.integers(1, 10), elements=finite))
def test_relu6_is_relu_capped_at_six(z):
    np.testing.assert_array_equal(engine.relu6(z), np.minimum(engine.relu(z), 6.0))


def test_softmax_axis_out_of_range():
    with pytest.raises(ValueError, match="axis"):
        engine.softmax(np.ones((2, 3)), axis=2)
    with pytest.raises(ValueError, match="axis"):
        engine.softmax(np.ones((2, 3)), axis=None)


def test_non_numeric_input_names_z():
    with pytest.raises(ValueError, match="z"):
        engine.sigmoid("abc")
