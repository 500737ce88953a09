"""att.*: attention scores (dot, general, additive), weights, context vector, scaled dot-product attention."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader import engine


def _np(t):
    return t.detach().numpy()


def _t(a):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64)


def _qkv(rng, lead, L_q=3, L_k=5, d_k=4, d_v=2):
    return (rng.normal(size=lead + (L_q, d_k)), rng.normal(size=lead + (L_k, d_k)),
            rng.normal(size=lead + (L_k, d_v)))


@pytest.mark.parametrize("lead", [(), (2,), (2, 3)])
def test_sdpa_against_torch(lead):
    Q, K, V = _qkv(np.random.default_rng(0), lead)
    expected = F.scaled_dot_product_attention(_t(Q), _t(K), _t(V))
    np.testing.assert_allclose(engine.scaled_dot_product_attention(Q, K, V), _np(expected), rtol=1e-10)


@pytest.mark.parametrize("lead", [(), (2,)])
def test_sdpa_boolean_mask_against_torch(lead):
    rng = np.random.default_rng(1)
    Q, K, V = _qkv(rng, lead)
    mask = rng.random(size=lead + (3, 5)) < 0.6
    mask[..., 0] = True  # every query keeps at least one key
    expected = F.scaled_dot_product_attention(_t(Q), _t(K), _t(V), attn_mask=torch.tensor(mask))
    got, weights = engine.scaled_dot_product_attention(Q, K, V, mask=mask, return_weights=True)
    np.testing.assert_allclose(got, _np(expected), rtol=1e-10)
    assert np.all(weights[~mask] == 0)
    scores = _t(Q) @ _t(K).transpose(-1, -2) / np.sqrt(4)
    expected_weights = torch.softmax(scores.masked_fill(~torch.tensor(mask), float("-inf")), dim=-1)
    np.testing.assert_allclose(weights, _np(expected_weights), rtol=1e-10)


def test_sdpa_causal_mask_broadcasts_over_the_batch():
    Q, K, V = _qkv(np.random.default_rng(2), (2,), L_q=4, L_k=4)
    causal = np.tril(np.ones((4, 4), dtype=bool))
    expected = F.scaled_dot_product_attention(_t(Q), _t(K), _t(V), is_causal=True)
    np.testing.assert_allclose(engine.scaled_dot_product_attention(Q, K, V, mask=causal), _np(expected), rtol=1e-10)


def test_sdpa_forgetting_the_square_root_differs():
    Q, K, V = _qkv(np.random.default_rng(3), ())
    Q = Q * 3  # large enough scores for the scale to matter
    unscaled = _np(torch.softmax(_t(Q) @ _t(K).T, dim=-1) @ _t(V))
    assert not np.allclose(engine.scaled_dot_product_attention(Q, K, V), unscaled, rtol=1e-3)


def test_sdpa_worked_example():
    # One query, two keys, d_k = 4: scaled scores 0 and 2 ln 3 / √4 = ln 3 → weights ¼, ¾.
    Q = np.array([[1.0, 0, 0, 0]])
    K = np.array([[0.0, 0, 0, 0], [2 * np.log(3), 0, 0, 0]])
    V = np.array([[4.0], [8.0]])
    np.testing.assert_allclose(engine.scaled_dot_product_attention(Q, K, V), [[7.0]])  # ¼·4 + ¾·8


def test_sdpa_domain_errors():
    Q, K, V = np.ones((3, 4)), np.ones((5, 4)), np.ones((5, 2))
    with pytest.raises(ValueError, match=r"^Q and K:"):
        engine.scaled_dot_product_attention(np.ones((3, 3)), K, V)
    with pytest.raises(ValueError, match=r"^K and V:"):
        engine.scaled_dot_product_attention(Q, K, np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"^Q, K, V:"):
        engine.scaled_dot_product_attention(np.ones((2, 3, 4)), np.ones((3, 5, 4)), np.ones((3, 5, 2)))
    with pytest.raises(ValueError, match=r"^mask:.*no True"):
        engine.scaled_dot_product_attention(Q, K, V, mask=np.zeros((3, 5), dtype=bool))
    with pytest.raises(ValueError, match=r"^mask:.*boolean"):
        engine.scaled_dot_product_attention(Q, K, V, mask=np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"^mask:.*broadcast"):
        engine.scaled_dot_product_attention(Q, K, V, mask=np.ones((3, 4), dtype=bool))


def test_attention_weights_against_torch_softmax():
    scores = np.random.default_rng(4).normal(size=(3, 6)) * 5
    np.testing.assert_allclose(engine.attention_weights(scores), _np(torch.softmax(_t(scores), dim=-1)), rtol=1e-12)
    np.testing.assert_allclose(engine.attention_weights([0.0, np.log(3)]), [0.25, 0.75])


def test_context_vector_against_torch_weighted_sum():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(6, 4))
    weights = _np(torch.softmax(_t(rng.normal(size=6)), dim=-1))
    expected = (_t(weights)[:, None] * _t(a)).sum(dim=0)
    np.testing.assert_allclose(engine.context_vector(weights, a), _np(expected), rtol=1e-12)
    batch_a, batch_w = rng.normal(size=(2, 6, 4)), _np(torch.softmax(_t(rng.normal(size=(2, 6))), dim=-1))
    expected = torch.einsum("bl,bld->bd", _t(batch_w), _t(batch_a))
    np.testing.assert_allclose(engine.context_vector(batch_w, batch_a), _np(expected), rtol=1e-12)


def test_context_vector_worked_example():
    np.testing.assert_allclose(engine.context_vector([0.25, 0.75], [[4.0, 0.0], [8.0, 4.0]]), [7.0, 3.0])


def test_context_vector_domain_errors():
    with pytest.raises(ValueError, match=r"^weights:.*sum to 1"):
        engine.context_vector([0.5, 0.2], np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^weights:.*\[0, 1\]"):
        engine.context_vector([1.5, -0.5], np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^weights and a:"):
        engine.context_vector([0.5, 0.5], np.ones((3, 3)))


@pytest.mark.parametrize("batched", [False, True])
def test_attention_scores_against_torch(batched):
    rng = np.random.default_rng(6)
    lead = (2,) if batched else ()
    L, D, D_h, D_att = 5, 3, 4, 6
    a, h = rng.normal(size=lead + (L, D)), rng.normal(size=lead + (D_h,))
    a_t, h_t = _t(a), _t(h)

    h_same = rng.normal(size=lead + (D,))
    dot = torch.einsum("...ld,...d->...l", a_t, _t(h_same))
    np.testing.assert_allclose(engine.attention_scores(a, h_same), _np(dot), rtol=1e-12)

    W = rng.normal(size=(D, D_h))
    general = torch.einsum("...ld,de,...e->...l", a_t, _t(W), h_t)
    np.testing.assert_allclose(engine.attention_scores(a, h, kind="general", W=W), _np(general), rtol=1e-12)

    W_add, v = rng.normal(size=(D_att, D + D_h)), rng.normal(size=D_att)
    h_rep = h_t.unsqueeze(-2).expand(*lead, L, D_h)
    additive = torch.tanh(torch.cat([a_t, h_rep], dim=-1) @ _t(W_add).T) @ _t(v)
    got = engine.attention_scores(a, h, kind="additive", W=W_add, v=v)
    np.testing.assert_allclose(got, _np(additive), rtol=1e-12)


def test_attention_scores_domain_errors():
    a, h = np.ones((5, 3)), np.ones(3)
    with pytest.raises(ValueError, match=r"^kind:"):
        engine.attention_scores(a, h, kind="cosine")
    with pytest.raises(ValueError, match=r"^W:"):
        engine.attention_scores(a, h, kind="general")
    with pytest.raises(ValueError, match=r"^W:"):
        engine.attention_scores(a, h, kind="general", W=np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"^v:"):
        engine.attention_scores(a, h, kind="additive", W=np.ones((4, 6)))
    with pytest.raises(ValueError, match=r"^v:"):
        engine.attention_scores(a, h, kind="additive", W=np.ones((4, 6)), v=np.ones(3))
    with pytest.raises(ValueError, match=r"^W:"):
        engine.attention_scores(a, h, kind="additive", W=np.ones((4, 5)), v=np.ones(4))
    with pytest.raises(ValueError, match=r"^a and h:"):
        engine.attention_scores(a, np.ones(4))
    with pytest.raises(ValueError, match=r"^a and h:"):
        engine.attention_scores(np.ones((2, 5, 3)), h)
