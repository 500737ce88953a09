"""L1/L2 objectives, weight decay, dropout and early stopping against torch and the sheet's rules."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

from grader import engine

RNG = np.random.default_rng(3)


def t(a):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64)


def weights():
    return [RNG.normal(size=(3, 4)), RNG.normal(size=(2, 3)), RNG.normal(size=5)]


@pytest.mark.parametrize("lam", [0.0, 0.01, 0.3])
def test_l2_objective_matches_torch_vector_norm(lam):
    ws, loss = weights(), 0.75
    expected = loss + lam / 2 * sum(torch.linalg.vector_norm(t(w)) ** 2 for w in ws).item()
    assert engine.l2_objective(loss, ws, lam) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("lam", [0.0, 0.01, 0.3])
def test_l1_objective_matches_torch_vector_norm(lam):
    ws, loss = weights(), 1.25
    expected = loss + lam * sum(torch.linalg.vector_norm(t(w), ord=1) for w in ws).item()
    assert engine.l1_objective(loss, ws, lam) == pytest.approx(expected, rel=1e-12)


def test_objectives_worked_example_and_single_array():
    # L = 1, w = (3, −4): ‖w‖² = 25, ‖w‖₁ = 7
    assert engine.l2_objective(1.0, [np.array([3.0, -4.0])], 0.1) == pytest.approx(1 + 0.05 * 25)
    assert engine.l1_objective(1.0, np.array([3.0, -4.0]), 0.1) == pytest.approx(1 + 0.1 * 7)


@pytest.mark.parametrize("lr, lam", [(0.1, 0.01), (0.5, 0.2), (0.01, 0.0)])
def test_l2_update_matches_torch_sgd_weight_decay(lr, lam):
    """SGD's weight_decay adds λw to the gradient: w − η(g + λw) = w(1 − ηλ) − ηg."""
    w, g = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))
    param = torch.nn.Parameter(t(w))
    optimizer = torch.optim.SGD([param], lr=lr, weight_decay=lam)
    param.grad = t(g)
    optimizer.step()
    np.testing.assert_allclose(engine.l2_update(w, g, lr, lam), param.detach().numpy(), rtol=1e-13)


def test_l2_update_equals_sgd_on_l2_objective_gradient():
    """The shrink step is one SGD step on L + (λ/2)‖w‖², differentiated by autograd."""
    w, g, lr, lam = RNG.normal(size=4), RNG.normal(size=4), 0.2, 0.1
    tw = t(w).requires_grad_(True)
    ((t(g) * tw).sum() + lam / 2 * (tw ** 2).sum()).backward()
    np.testing.assert_allclose(engine.l2_update(w, g, lr, lam), engine.sgd_step(w, tw.grad.numpy(), lr), rtol=1e-13)


@pytest.mark.parametrize("fn", [engine.l2_objective, engine.l1_objective])
def test_objective_errors(fn):
    with pytest.raises(ValueError, match="lam"):
        fn(1.0, [np.ones(2)], -0.1)
    with pytest.raises(ValueError, match="loss"):
        fn("high", [np.ones(2)], 0.1)
    with pytest.raises(ValueError, match=r"weights\[1\]"):
        fn(1.0, [np.ones(2), np.array([np.inf])], 0.1)


def test_l2_update_errors():
    with pytest.raises(ValueError, match="lam"):
        engine.l2_update([1.0], [1.0], 0.1, -1.0)
    with pytest.raises(ValueError, match="w and grad"):
        engine.l2_update([1.0], [1.0, 2.0], 0.1, 0.1)


@pytest.mark.parametrize("p_drop", [0.1, 0.5, 0.8])
def test_dropout_matches_torch_with_the_mask_torch_drew(p_drop):
    x = RNG.uniform(0.5, 2.0, size=(20, 30))  # no zeros: a zero output means dropped
    torch.manual_seed(0)
    out = F.dropout(t(x), p=p_drop, training=True).numpy()
    mask = (out != 0).astype(float)
    assert 0 < mask.mean() < 1
    np.testing.assert_allclose(engine.dropout(x, mask, p_drop), out, rtol=1e-14)
    np.testing.assert_allclose(engine.dropout(x, mask, p_drop, inverted=False), x * mask, rtol=1e-14)


def test_dropout_keeps_expected_activation():
    x, p_drop = np.ones(200_000), 0.3
    mask = (np.random.default_rng(0).uniform(size=x.size) >= p_drop).astype(float)
    assert engine.dropout(x, mask, p_drop).mean() == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("mask, p_drop, name", [
    ([1, 0, 1], 0.5, "x and mask"),
    ([1, 0.5], 0.5, "mask"),
    ([1, 0], 1.0, "p_drop"),
    ([1, 0], -0.1, "p_drop"),
])
def test_dropout_errors(mask, p_drop, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        engine.dropout([1.0, 2.0], mask, p_drop)


@pytest.mark.parametrize("losses, patience, expected", [
    # hand-worked from the sheet's rule: stop once `patience` epochs pass with no strict improvement
    ([1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.9], 3, (6, 3)),
    ([1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.9], 5, (7, 3)),
    ([5, 4, 4, 3, 3, 3, 3], 2, (6, 4)),         # a tie is not an improvement
    ([3, 2, 1], 1, (3, 3)),                      # always improving: runs to the end
    ([1, 2, 3, 4], 1, (2, 1)),
    ([0.5], 2, (1, 1)),
])
def test_early_stopping_hand_worked(losses, patience, expected):
    assert engine.early_stopping(losses, patience) == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=30), st.integers(1, 6))
def test_early_stopping_properties(losses, patience):
    stop, best = engine.early_stopping(losses, patience)
    assert 1 <= best <= stop <= len(losses)
    seen = np.array(losses[:stop])
    assert best == int(np.argmin(seen)) + 1  # first occurrence of the minimum so far
    assert stop - best <= patience
    if stop < len(losses):
        assert stop - best == patience
    else:
        assert stop - best <= patience


def windowed_rule(losses, patience):
    """The rule restated: stop at the first epoch e whose last `patience` losses never beat the best before them."""
    for e in range(patience + 1, len(losses) + 1):
        if min(losses[e - patience:e]) >= min(losses[:e - patience]):
            return e
    return len(losses)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]), min_size=1, max_size=25), st.integers(1, 5))
def test_early_stopping_agrees_with_windowed_restatement(losses, patience):
    assert engine.early_stopping(losses, patience)[0] == windowed_rule(losses, patience)


def test_early_stopping_errors():
    with pytest.raises(ValueError, match="patience"):
        engine.early_stopping([1.0, 2.0], 0)
    with pytest.raises(ValueError, match="val_losses"):
        engine.early_stopping([], 2)
    with pytest.raises(ValueError, match="val_losses"):
        engine.early_stopping([1.0, float("nan")], 2)
