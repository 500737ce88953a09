"""rnn.*, lstm.*: simple RNN step/output/forward, gradient clipping, LSTM and GRU steps vs PyTorch."""

import numpy as np
import pytest
import torch
from torch import nn

from grader import engine


def _np(t):
    return t.detach().numpy()


def _t(a):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64)


def _seeded(seed):
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


# --- simple RNN ----------------------------------------------------------------------------

@pytest.mark.parametrize("batch", [None, 3])
def test_rnn_step_against_rnncell_without_bias(batch):
    rng = _seeded(0)
    D, H = 4, 5
    cell = nn.RNNCell(D, H, nonlinearity="tanh").double()
    with torch.no_grad():
        cell.bias_ih.zero_()
        cell.bias_hh.zero_()
    shape = (D,) if batch is None else (batch, D)
    x, s = rng.normal(size=shape), rng.normal(size=shape[:-1] + (H,))
    expected = _np(cell(_t(x), _t(s)))
    got = engine.rnn_step(x, s, _np(cell.weight_ih), _np(cell.weight_hh))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_rnn_step_worked_example():
    # U x = [1, 0], W s = [0, −1]: s_t = tanh([1, −1])
    got = engine.rnn_step([1.0], [1.0, 1.0], [[1.0], [0.0]], [[0.0, 0.0], [-1.0, 0.0]])
    np.testing.assert_allclose(got, [0.7615941559557649, -0.7615941559557649])


def test_rnn_output_against_torch_softmax():
    rng = _seeded(1)
    V, s = rng.normal(size=(6, 4)), rng.normal(size=(3, 4))
    expected = _np(torch.softmax(_t(s) @ _t(V).T, dim=-1))
    np.testing.assert_allclose(engine.rnn_output(s, V), expected, rtol=1e-12)
    np.testing.assert_allclose(engine.rnn_output(s[0], V), expected[0], rtol=1e-12)


@pytest.mark.parametrize("batch", [None, 2])
def test_rnn_forward_against_nn_rnn(batch):
    rng = _seeded(2)
    D, H, K, T = 3, 4, 5, 6
    rnn = nn.RNN(D, H, bias=False, batch_first=True).double()
    V = rng.normal(size=(K, H))
    xs = rng.normal(size=(T, D) if batch is None else (batch, T, D))
    s0 = rng.normal(size=(H,) if batch is None else (batch, H))
    states, _ = rnn(_t(xs), _t(s0)[None])  # h0 has a leading num_layers axis
    got = engine.rnn_forward(xs, s0, _np(rnn.weight_ih_l0), _np(rnn.weight_hh_l0), V)
    np.testing.assert_allclose(got["states"], _np(states), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got["outputs"], _np(torch.softmax(states @ _t(V).T, dim=-1)), rtol=1e-12)


def test_rnn_domain_errors():
    U, W, V = np.ones((3, 2)), np.ones((3, 3)), np.ones((4, 3))
    with pytest.raises(ValueError, match=r"^U:"):
        engine.rnn_step(np.ones(5), np.ones(3), U, W)
    with pytest.raises(ValueError, match=r"^W:"):
        engine.rnn_step(np.ones(2), np.ones(3), U, np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"^x_t and s_prev:"):
        engine.rnn_step(np.ones((2, 2)), np.ones((3, 3)), U, W)
    with pytest.raises(ValueError, match=r"^V:"):
        engine.rnn_output(np.ones(3), np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"^xs and s0:"):
        engine.rnn_forward(np.ones((5, 2)), np.ones((1, 3)), U, W, V)
    with pytest.raises(ValueError, match=r"^xs:"):
        engine.rnn_forward(np.ones((0, 2)), np.ones(3), U, W, V)


# --- gradient clipping ---------------------------------------------------------------------

def _torch_clipped(grads, max_norm):
    params = [nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = _t(g)
    torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [_np(p.grad) for p in params]


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 100.0])
def test_clip_single_array_against_torch(max_norm):
    grad = np.random.default_rng(3).normal(size=(4, 3)) * 2
    got = engine.clip_grad_norm(grad, max_norm)
    np.testing.assert_allclose(got, _torch_clipped([grad], max_norm)[0], rtol=1e-6)


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 100.0])
def test_clip_list_against_torch_uses_the_global_norm(max_norm):
    rng = np.random.default_rng(4)
    grads = [rng.normal(size=(3, 2)), rng.normal(size=5), rng.normal(size=(2, 2, 2))]
    originals = [g.copy() for g in grads]
    got = engine.clip_grad_norm(grads, max_norm)
    for mine, theirs in zip(got, _torch_clipped(grads, max_norm)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)
    for g, original in zip(grads, originals):
        np.testing.assert_array_equal(g, original)  # inputs untouched


def test_clip_worked_example():
    # ‖(3, 4)‖ = 5 > 1: scaled by 1/5. Below the cap: unchanged. Zero: unchanged.
    np.testing.assert_allclose(engine.clip_grad_norm(np.array([3.0, 4.0]), 1.0), [0.6, 0.8])
    np.testing.assert_allclose(engine.clip_grad_norm(np.array([3.0, 4.0]), 10.0), [3.0, 4.0])
    np.testing.assert_array_equal(engine.clip_grad_norm(np.zeros(3), 1.0), np.zeros(3))
    # a list: the global norm of (3, 4) and (12,) is 13
    first, second = engine.clip_grad_norm([np.array([3.0, 4.0]), np.array([12.0])], 6.5)
    np.testing.assert_allclose(first, [1.5, 2.0])
    np.testing.assert_allclose(second, [6.0])


@pytest.mark.parametrize("max_norm", [0, -1.0, float("nan")])
def test_clip_refuses_non_positive_max_norm(max_norm):
    with pytest.raises(ValueError, match=r"^max_norm:"):
        engine.clip_grad_norm(np.ones(3), max_norm)


# --- LSTM ----------------------------------------------------------------------------------

def _sheet_lstm_weights(cell, x_first=False):
    """PyTorch's LSTMCell weights as the sheet's W_g [h_{t−1}, x_t] + b_g, g = f, i, c, o.

    PyTorch stacks the gates (i, f, g, o) along the rows of weight_ih (4H, D) and
    weight_hh (4H, H) and adds two biases. h comes first in [h, x], so each W_g is
    [weight_hh_g | weight_ih_g]. x_first builds the misconception [weight_ih_g | weight_hh_g].
    """
    w_ih, w_hh = _np(cell.weight_ih).reshape(4, cell.hidden_size, -1), _np(cell.weight_hh).reshape(4, cell.hidden_size, -1)
    bias = (_np(cell.bias_ih) + _np(cell.bias_hh)).reshape(4, cell.hidden_size)
    order = {"i": 0, "f": 1, "c": 2, "o": 3}
    args = {}
    for gate, k in order.items():
        parts = [w_ih[k], w_hh[k]] if x_first else [w_hh[k], w_ih[k]]
        args[f"W_{gate}"] = np.concatenate(parts, axis=1)
        args[f"b_{gate}"] = bias[k]
    return args


def _torch_lstm_gates(cell, x, h, c):
    gates = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
    i, f, g, o = gates.chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c_new = f * c + i * g
    return {"f": f, "i": i, "c_tilde": g, "c": c_new, "o": o, "h": o * torch.tanh(c_new)}


@pytest.mark.parametrize("batch", [None, 3])
def test_lstm_step_against_lstmcell(batch):
    rng = _seeded(5)
    D, H = 3, 4
    cell = nn.LSTMCell(D, H).double()
    lead = () if batch is None else (batch,)
    x, h, c = rng.normal(size=lead + (D,)), rng.normal(size=lead + (H,)), rng.normal(size=lead + (H,))
    got = engine.lstm_step(x, h, c, **_sheet_lstm_weights(cell))
    with torch.no_grad():
        h_torch, c_torch = cell(_t(x), (_t(h), _t(c)))
        manual = _torch_lstm_gates(cell, _t(x), _t(h), _t(c))
    np.testing.assert_allclose(got["h"], _np(h_torch), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got["c"], _np(c_torch), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(manual["h"], h_torch, rtol=1e-12, atol=1e-12)  # the manual gates are PyTorch's
    assert set(got) == {"f", "i", "c_tilde", "c", "o", "h"}
    for key in got:
        np.testing.assert_allclose(got[key], _np(manual[key]), rtol=1e-12, atol=1e-12, err_msg=key)


def test_lstm_x_first_misconception_gives_another_h():
    rng = _seeded(6)
    cell = nn.LSTMCell(3, 4).double()
    x, h, c = rng.normal(size=3), rng.normal(size=4), rng.normal(size=4)
    right = engine.lstm_step(x, h, c, **_sheet_lstm_weights(cell))["h"]
    wrong = engine.lstm_step(x, h, c, **_sheet_lstm_weights(cell, x_first=True))["h"]
    assert not np.allclose(right, wrong, rtol=1e-3)


def test_lstm_worked_example():
    # All weights 0: every gate is σ(b); with b = 0, f = i = o = ½ and C̃ = 0.
    zeros = {f"W_{g}": np.zeros((1, 2)) for g in "fico"} | {f"b_{g}": np.zeros(1) for g in "fico"}
    got = engine.lstm_step([5.0], [7.0], [2.0], **zeros)
    np.testing.assert_allclose(got["c"], [1.0])  # ½·2 + ½·0
    np.testing.assert_allclose(got["h"], [0.5 * np.tanh(1.0)])


def test_lstm_domain_errors():
    good = {f"W_{g}": np.zeros((2, 5)) for g in "fico"} | {f"b_{g}": np.zeros(2) for g in "fico"}
    x, h, c = np.ones(3), np.ones(2), np.ones(2)
    with pytest.raises(ValueError, match=r"^W_f:.*\(H, H \+ D\)"):
        engine.lstm_step(x, h, c, **(good | {"W_f": np.zeros((2, 4))}))
    with pytest.raises(ValueError, match=r"^W_o:"):
        engine.lstm_step(x, h, c, **(good | {"W_o": np.zeros((3, 5))}))
    with pytest.raises(ValueError, match=r"^b_c:"):
        engine.lstm_step(x, h, c, **(good | {"b_c": np.zeros(3)}))
    with pytest.raises(ValueError, match=r"^c_prev and h_prev:"):
        engine.lstm_step(x, h, np.ones(3), **good)
    with pytest.raises(ValueError, match=r"^W_f:.*\(2, 6\)"):
        engine.lstm_step(np.ones(4), h, c, **good)  # D changed: W no longer (H, H + D)


# --- GRU -----------------------------------------------------------------------------------

@pytest.mark.parametrize("batch", [None, 2])
def test_gru_step_against_grucell_with_zero_hidden_bias(batch):
    rng = _seeded(7)
    D, H = 3, 4
    cell = nn.GRUCell(D, H).double()
    with torch.no_grad():
        cell.bias_hh.zero_()
    lead = () if batch is None else (batch,)
    x, h = rng.normal(size=lead + (D,)), rng.normal(size=lead + (H,))
    W_r, W_z, W_n = _np(cell.weight_ih).reshape(3, H, D)  # PyTorch's gate order: r, z, n
    U_r, U_z, U_n = _np(cell.weight_hh).reshape(3, H, H)
    b_r, b_z, b_n = _np(cell.bias_ih).reshape(3, H)
    got = engine.gru_step(x, h, W_r, U_r, b_r, W_z, U_z, b_z, W_n, U_n, b_n)
    with torch.no_grad():
        expected = cell(_t(x), _t(h))
        xs, hs = _t(x), _t(h)
        r = torch.sigmoid(xs @ _t(W_r).T + _t(b_r) + hs @ _t(U_r).T)
        z = torch.sigmoid(xs @ _t(W_z).T + _t(b_z) + hs @ _t(U_z).T)
        n = torch.tanh(xs @ _t(W_n).T + _t(b_n) + r * (hs @ _t(U_n).T))
    np.testing.assert_allclose(got["h"], _np(expected), rtol=1e-12, atol=1e-12)
    for key, value in {"r": r, "z": z, "n": n}.items():
        np.testing.assert_allclose(got[key], _np(value), rtol=1e-12, atol=1e-12, err_msg=key)


def test_gru_domain_errors():
    H, D = 2, 3
    args = dict(W_r=np.zeros((H, D)), U_r=np.zeros((H, H)), b_r=np.zeros(H),
                W_z=np.zeros((H, D)), U_z=np.zeros((H, H)), b_z=np.zeros(H),
                W_n=np.zeros((H, D)), U_n=np.zeros((H, H)), b_n=np.zeros(H))
    np.testing.assert_allclose(engine.gru_step(np.ones(D), np.full(H, 4.0), **args)["h"], [2.0, 2.0])  # z = ½, n = 0
    with pytest.raises(ValueError, match=r"^U_z:"):
        engine.gru_step(np.ones(D), np.ones(H), **(args | {"U_z": np.zeros((H, D))}))
    with pytest.raises(ValueError, match=r"^W_n:"):
        engine.gru_step(np.ones(D), np.ones(H), **(args | {"W_n": np.zeros((H, H))}))
    with pytest.raises(ValueError, match=r"^x_t and h_prev:"):
        engine.gru_step(np.ones((2, D)), np.ones((3, H)), **args)
