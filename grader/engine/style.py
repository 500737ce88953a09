"""Neural style transfer (sheet: "Style Transfer", Gatys et al.).

Feature maps of one layer have shape (C, H, W); M is their (C, H·W) reshape.
"""

import numpy as np

from ._checks import as_array, non_negative, positive_int, same_shape


def _finite(name, value, ndim=None):
    arr = as_array(name, value, ndim=ndim)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: values must be finite")
    return arr


def gram_matrix(features):
    """Gram matrix G = M Mᵀ, M ∈ ℝ^{C × HW} (unnormalized).

    features: (C, H, W), or already flattened (C, HW). Returns (C, C).
    """
    features = _finite("features", features, ndim=(2, 3))
    M = features.reshape(features.shape[0], -1)
    return M @ M.T


def content_loss(F, P):
    """Content loss: L_content = ½ Σ (F − P)², F the generated image's features, P the content image's."""
    F, P = _finite("F", F), _finite("P", P)
    same_shape("F", F, "P", P)
    return float(0.5 * np.sum((F - P) ** 2))


def style_layer_loss(G, A, C, HW):
    """Style loss of one layer (Gatys et al.): E = 1 / (4 C² (HW)²) Σ (G − A)².

    G, A: the (C, C) Gram matrices of the generated and the style image; C channels,
    HW = H·W positions.
    """
    C, HW = positive_int("C", C), positive_int("HW", HW)
    G, A = _finite("G", G, ndim=2), _finite("A", A, ndim=2)
    same_shape("G", G, "A", A)
    if G.shape != (C, C):
        raise ValueError(f"C: Gram matrices of shape {G.shape} do not have C = {C} channels")
    return float(np.sum((G - A) ** 2) / (4 * C**2 * HW**2))


def style_transfer_loss(content, style, alpha, beta):
    """Neural style loss: L = α L_content + β L_style (all four >= 0)."""
    content, style = non_negative("content", content), non_negative("style", style)
    return non_negative("alpha", alpha) * content + non_negative("beta", beta) * style
