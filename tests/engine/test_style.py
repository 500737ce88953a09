"""style.*: Gram matrix, content loss, one layer's style loss (Gatys et al.), the total α/β loss."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader import engine


def _t(a):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64)


def _torch_gram(features):
    C, H, W = features.shape
    M = features.view(C, H * W)
    return M @ M.T


def test_gram_matrix_against_torch():
    features = np.random.default_rng(0).normal(size=(4, 3, 5))
    expected = _torch_gram(_t(features)).numpy()
    np.testing.assert_allclose(engine.gram_matrix(features), expected, rtol=1e-12)
    np.testing.assert_allclose(engine.gram_matrix(features.reshape(4, 15)), expected, rtol=1e-12)


def test_gram_matrix_worked_example():
    # M = [[1, 2], [0, 1]] (C = 2, H = 1, W = 2): M Mᵀ = [[5, 2], [2, 1]], unnormalized
    np.testing.assert_array_equal(engine.gram_matrix([[[1.0, 2.0]], [[0.0, 1.0]]]), [[5.0, 2.0], [2.0, 1.0]])


def test_content_loss_against_half_summed_mse():
    rng = np.random.default_rng(1)
    generated, content = rng.normal(size=(3, 4, 4)), rng.normal(size=(3, 4, 4))
    expected = 0.5 * F.mse_loss(_t(generated), _t(content), reduction="sum")
    assert engine.content_loss(generated, content) == pytest.approx(float(expected), rel=1e-12)
    assert engine.content_loss([1.0, 2.0], [0.0, 0.0]) == pytest.approx(2.5)


def _torch_gatys_layer_loss(generated, style):
    """E_l = 1/(4 N_l² M_l²) Σ (G − A)², N_l channels, M_l = H·W (Gatys et al. 2016, eq. 4)."""
    C, H, W = generated.shape
    G, A = _torch_gram(generated), _torch_gram(style)
    return float(((G - A) ** 2).sum() / (4 * C**2 * (H * W) ** 2))


def test_style_layer_loss_against_gatys_in_torch():
    rng = np.random.default_rng(2)
    generated, style = rng.normal(size=(3, 2, 4)), rng.normal(size=(3, 2, 4))
    G, A = engine.gram_matrix(generated), engine.gram_matrix(style)
    got = engine.style_layer_loss(G, A, C=3, HW=8)
    assert got == pytest.approx(_torch_gatys_layer_loss(_t(generated), _t(style)), rel=1e-12)


def test_style_layer_loss_worked_example():
    # Σ (G − A)² = 4 + 4 = 8; 4 · 2² · 3² = 144
    G, A = np.array([[2.0, 0.0], [0.0, 2.0]]), np.zeros((2, 2))
    assert engine.style_layer_loss(G, A, 2, 3) == pytest.approx(8 / 144)


def test_style_transfer_loss_is_alpha_content_plus_beta_style():
    rng = np.random.default_rng(3)
    generated, content, style = (rng.normal(size=(2, 3, 3)) for _ in range(3))
    l_content = float(0.5 * F.mse_loss(_t(generated), _t(content), reduction="sum"))
    l_style = _torch_gatys_layer_loss(_t(generated), _t(style))
    got = engine.style_transfer_loss(engine.content_loss(generated, content),
                                     engine.style_layer_loss(engine.gram_matrix(generated), engine.gram_matrix(style), 2, 9),
                                     alpha=1.0, beta=1e3)
    assert got == pytest.approx(l_content + 1e3 * l_style, rel=1e-12)
    assert engine.style_transfer_loss(2.0, 3.0, 10.0, 0.5) == pytest.approx(21.5)


def test_domain_errors():
    with pytest.raises(ValueError, match=r"^G and A:"):
        engine.style_layer_loss(np.zeros((2, 2)), np.zeros((3, 3)), 2, 4)
    with pytest.raises(ValueError, match=r"^C:"):
        engine.style_layer_loss(np.zeros((2, 2)), np.zeros((2, 2)), 3, 4)
    with pytest.raises(ValueError, match=r"^HW:"):
        engine.style_layer_loss(np.zeros((2, 2)), np.zeros((2, 2)), 2, 0)
    with pytest.raises(ValueError, match=r"^F and P:"):
        engine.content_loss(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"^features:"):
        engine.gram_matrix(np.zeros(4))
    with pytest.raises(ValueError, match=r"^alpha:"):
        engine.style_transfer_loss(1.0, 1.0, -1.0, 1.0)
    with pytest.raises(ValueError, match=r"^style:"):
        engine.style_transfer_loss(1.0, -2.0, 1.0, 1.0)
