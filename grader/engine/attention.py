"""Attention (sheet: "Attention Mechanism (seq2seq)", "Attention (image captioning)").

a = {a_1 … a_L}: the annotations (encoder hidden states), shape (L, D), or (B, L, D)
for a batch; h: the decoder state h_{t−1}, shape (D_h,) or (B, D_h).
"""

import numpy as np

from ._checks import as_array, one_of, probabilities, rows_sum_to_one
from .activations import softmax, tanh

SCORE_KINDS = ("dot", "general", "additive")


def _finite(name, value, ndim=None, min_ndim=None):
    arr = as_array(name, value, ndim=ndim, min_ndim=min_ndim)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: values must be finite")
    return arr


def attention_scores(a, h, kind="dot", W=None, v=None):
    """Attention scores e_ti = f_att(a_i, h_{t−1}), one per annotation:

        dot:       e_i = a_i · h                    (needs D = D_h)
        general:   e_i = a_iᵀ W h                   W: (D, D_h)
        additive:  e_i = vᵀ tanh(W [a_i; h])        W: (D_att, D + D_h), v: (D_att,)

    Returns shape (L,), or (B, L) for a batch.
    """
    kind = one_of("kind", kind, SCORE_KINDS)
    a = _finite("a", a, ndim=(2, 3))
    h = _finite("h", h, ndim=(1, 2))
    if a.ndim - 1 != h.ndim or a.shape[:-2] != h.shape[:-1]:
        raise ValueError(f"a and h: expected a (L, D) with h (D_h,), or a (B, L, D) with h (B, D_h); "
                         f"got {a.shape} and {h.shape}")
    dim_a, dim_h = a.shape[-1], h.shape[-1]
    if kind == "dot":
        if dim_a != dim_h:
            raise ValueError(f"a and h: dot scores need equal sizes, got D = {dim_a} and D_h = {dim_h}")
        return np.einsum("...ld,...d->...l", a, h)
    if W is None:
        raise ValueError(f"W: {kind} scores need a weight matrix W")
    W = _finite("W", W, ndim=2)
    if kind == "general":
        if W.shape != (dim_a, dim_h):
            raise ValueError(f"W: expected shape (D, D_h) = ({dim_a}, {dim_h}), got {W.shape}")
        return np.einsum("...ld,de,...e->...l", a, W, h)
    if v is None:
        raise ValueError("v: additive scores need a vector v")
    v = _finite("v", v, ndim=1)
    if W.shape[1] != dim_a + dim_h:
        raise ValueError(f"W: expected shape (D_att, D + D_h) with D + D_h = {dim_a + dim_h}, got {W.shape}")
    if v.shape[0] != W.shape[0]:
        raise ValueError(f"v: expected shape (D_att,) = ({W.shape[0]},), got {v.shape}")
    h_each = np.broadcast_to(h[..., None, :], a.shape[:-1] + (dim_h,))
    return tanh(np.concatenate([a, h_each], axis=-1) @ W.T) @ v


def attention_weights(scores):
    """Attention weights α_ti = exp(e_ti) / Σ_k exp(e_tk): a softmax over the last axis."""
    return softmax(_finite("scores", scores, min_ndim=1), axis=-1)


def context_vector(weights, a):
    """Context vector ẑ_t = Σᵢ α_ti a_i.

    weights: (L,) or (B, L), each row in [0, 1] summing to 1; a: (L, D) or (B, L, D).
    Returns (D,) or (B, D).
    """
    weights = probabilities("weights", _finite("weights", weights, ndim=(1, 2)))
    rows_sum_to_one("weights", weights)
    a = _finite("a", a, ndim=(2, 3))
    if a.shape[:-1] != weights.shape:
        raise ValueError(f"weights and a: expected weights (L,) with a (L, D), or (B, L) with (B, L, D); "
                         f"got {weights.shape} and {a.shape}")
    return np.einsum("...l,...ld->...d", weights, a)


def scaled_dot_product_attention(Q, K, V, mask=None, return_weights=False):
    """Scaled dot-product attention: Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V.

    Q: (..., L_q, d_k), K: (..., L_k, d_k), V: (..., L_k, d_v), the leading (batch)
    axes equal. mask: optional boolean array broadcastable to (..., L_q, L_k),
    True = the key takes part (PyTorch's boolean attn_mask); a query row with no
    True is a ValueError. Returns (..., L_q, d_v), and the weights
    (..., L_q, L_k) too when return_weights is true.
    """
    Q, K, V = _finite("Q", Q, min_ndim=2), _finite("K", K, min_ndim=2), _finite("V", V, min_ndim=2)
    if Q.shape[:-2] != K.shape[:-2] or K.shape[:-2] != V.shape[:-2]:
        raise ValueError(f"Q, K, V: batch shapes differ, {Q.shape}, {K.shape}, {V.shape}")
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError(f"Q and K: d_k differs, {Q.shape[-1]} vs {K.shape[-1]}")
    if K.shape[-2] != V.shape[-2]:
        raise ValueError(f"K and V: number of keys differs, {K.shape[-2]} vs {V.shape[-2]}")
    if K.shape[-2] == 0:
        raise ValueError("K: no keys to attend to")
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise ValueError(f"mask: expected a boolean array (True = take part), got dtype {mask.dtype}")
        try:
            mask = np.broadcast_to(mask, scores.shape)
        except ValueError as exc:
            raise ValueError(f"mask: shape {mask.shape} does not broadcast to the scores' {scores.shape}") from exc
        if not np.all(np.any(mask, axis=-1)):
            raise ValueError("mask: a query row has no True entry, so it attends to nothing")
        scores = np.where(mask, scores, -np.inf)
    weights = softmax(scores, axis=-1)
    output = weights @ V
    return (output, weights) if return_weights else output
