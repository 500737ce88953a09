"""Simple RNN, gradient clipping, LSTM and GRU (sheet: "Simple RNN", "LSTM Gates").

Vectors are 1-D, or batches with the batch on the first axis: x_t of shape (D,) or
(B, D), hidden states (H,) or (B, H). A weight matrix that multiplies a vector v
is applied as W v (so (B, ·) batches compute v @ Wᵀ).
"""

import numpy as np

from ._checks import as_array
from .activations import sigmoid, softmax, tanh


def _finite(name, value, ndim):
    arr = as_array(name, value, ndim=ndim)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: values must be finite")
    return arr


def _state(name, value):
    return _finite(name, value, (1, 2))


def _matrix(name, value, rows, cols, rows_name, cols_name):
    arr = _finite(name, value, 2)
    if arr.shape != (rows, cols):
        raise ValueError(f"{name}: expected shape ({rows_name}, {cols_name}) = ({rows}, {cols}), got {arr.shape}")
    return arr


def _bias(name, value, size):
    arr = _finite(name, value, 1)
    if arr.shape != (size,):
        raise ValueError(f"{name}: expected shape (H,) = ({size},), got {arr.shape}")
    return arr


def _same_batch(name_x, x, name_h, h):
    if x.shape[:-1] != h.shape[:-1]:
        raise ValueError(f"{name_x} and {name_h}: batch shapes differ, {x.shape} vs {h.shape}")


def rnn_step(x_t, s_prev, U, W):
    """One step of the simple RNN: s_t = tanh(U x_t + W s_{t−1}) (no bias, as on the sheet).

    U: (H, D) input-to-hidden, W: (H, H) hidden-to-hidden.
    """
    x_t, s_prev = _state("x_t", x_t), _state("s_prev", s_prev)
    _same_batch("x_t", x_t, "s_prev", s_prev)
    hidden, inputs = s_prev.shape[-1], x_t.shape[-1]
    U = _matrix("U", U, hidden, inputs, "H", "D")
    W = _matrix("W", W, hidden, hidden, "H", "H")
    return tanh(x_t @ U.T + s_prev @ W.T)


def rnn_output(s_t, V):
    """RNN output: o_t = softmax(V s_t). V: (K, H); returns (K,) or (B, K) probabilities."""
    s_t = _state("s_t", s_t)
    V = _finite("V", V, 2)
    if V.shape[1] != s_t.shape[-1]:
        raise ValueError(f"V: expected shape (K, H) with H = {s_t.shape[-1]}, got {V.shape}")
    return softmax(s_t @ V.T, axis=-1)


def rnn_forward(xs, s0, U, W, V):
    """Forward pass of the simple RNN over a sequence (what BPTT differentiates).

    s_t = tanh(U x_t + W s_{t−1}), o_t = softmax(V s_t) for t = 1 … T.
    xs: (T, D), or (B, T, D) for a batch (batch first); s0: (H,) or (B, H).
    Returns {"states": s_1 … s_T, shape (T, H) or (B, T, H) (s0 not included),
    "outputs": o_1 … o_T, shape (T, K) or (B, T, K)}.
    """
    xs = _finite("xs", xs, (2, 3))
    s0 = _state("s0", s0)
    if xs.ndim - 1 != s0.ndim or xs.shape[:-2] != s0.shape[:-1]:
        raise ValueError(f"xs and s0: expected xs (T, D) with s0 (H,), or xs (B, T, D) with s0 (B, H); "
                         f"got {xs.shape} and {s0.shape}")
    if xs.shape[-2] == 0:
        raise ValueError("xs: the sequence is empty (T = 0)")
    states, outputs = [], []
    state = s0
    for t in range(xs.shape[-2]):
        state = rnn_step(xs[..., t, :], state, U, W)
        states.append(state)
        outputs.append(rnn_output(state, V))
    time_axis = xs.ndim - 2
    return {"states": np.stack(states, axis=time_axis), "outputs": np.stack(outputs, axis=time_axis)}


def clip_grad_norm(grad, max_norm):
    """Gradient clipping by norm: ∇ ← ∇ · min(1, max_norm / ‖∇‖).

    grad: one array, or a list of arrays clipped together: ‖∇‖ is then the norm of all
    their entries as one vector (as torch.nn.utils.clip_grad_norm_ does). Returns the
    clipped array, or a list of clipped arrays. A zero gradient is returned unchanged.
    """
    try:
        max_norm = float(max_norm)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"max_norm: expected a number, got {max_norm!r}") from exc
    if not max_norm > 0 or not np.isfinite(max_norm):
        raise ValueError(f"max_norm: must be a finite number > 0, got {max_norm!r}")
    single = not isinstance(grad, (list, tuple))
    arrays = [as_array("grad", grad)] if single else [as_array(f"grad[{k}]", g) for k, g in enumerate(grad)]
    for k, arr in enumerate(arrays):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{'grad' if single else f'grad[{k}]'}: values must be finite")
    total = np.sqrt(sum(float(np.sum(arr * arr)) for arr in arrays))
    scale = min(1.0, max_norm / total) if total > 0 else 1.0
    clipped = [arr * scale for arr in arrays]
    return clipped[0] if single else clipped


def lstm_step(x_t, h_prev, c_prev, W_f, b_f, W_i, b_i, W_c, b_c, W_o, b_o):
    """One LSTM step, as on the sheet, with [h_{t−1}, x_t] = h first, then x:

        f_t = σ(W_f [h_{t−1}, x_t] + b_f)          forget gate
        i_t = σ(W_i [h_{t−1}, x_t] + b_i)          input gate
        C̃_t = tanh(W_c [h_{t−1}, x_t] + b_c)        candidate cell
        C_t = f_t ⊙ C_{t−1} + i_t ⊙ C̃_t             cell state
        o_t = σ(W_o [h_{t−1}, x_t] + b_o)          output gate
        h_t = o_t ⊙ tanh(C_t)

    Each W has shape (H, H + D) (its first H columns act on h_{t−1}); each b (H,).
    Returns a dict with keys "f", "i", "c_tilde", "c", "o", "h".
    """
    x_t, h_prev, c_prev = _state("x_t", x_t), _state("h_prev", h_prev), _state("c_prev", c_prev)
    if c_prev.shape != h_prev.shape:
        raise ValueError(f"c_prev and h_prev: shapes differ, {c_prev.shape} vs {h_prev.shape}")
    _same_batch("x_t", x_t, "h_prev", h_prev)
    hidden, inputs = h_prev.shape[-1], x_t.shape[-1]
    hx = np.concatenate([h_prev, x_t], axis=-1)

    def gate(name_w, W, name_b, b):
        W = _matrix(name_w, W, hidden, hidden + inputs, "H", "H + D")
        return hx @ W.T + _bias(name_b, b, hidden)

    f = sigmoid(gate("W_f", W_f, "b_f", b_f))
    i = sigmoid(gate("W_i", W_i, "b_i", b_i))
    c_tilde = tanh(gate("W_c", W_c, "b_c", b_c))
    o = sigmoid(gate("W_o", W_o, "b_o", b_o))
    c = f * c_prev + i * c_tilde
    return {"f": f, "i": i, "c_tilde": c_tilde, "c": c, "o": o, "h": o * tanh(c)}


def gru_step(x_t, h_prev, W_r, U_r, b_r, W_z, U_z, b_z, W_n, U_n, b_n):
    """One GRU step (the sheet: "GRU simplifies to 2 gates, reset + update"):

        r_t = σ(W_r x_t + U_r h_{t−1} + b_r)           reset gate
        z_t = σ(W_z x_t + U_z h_{t−1} + b_z)           update gate
        n_t = tanh(W_n x_t + b_n + r_t ⊙ (U_n h_{t−1}))  candidate
        h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

    PyTorch's GRUCell with its hidden-side biases at 0. W_*: (H, D), U_*: (H, H), b_*: (H,).
    Returns a dict with keys "r", "z", "n", "h".
    """
    x_t, h_prev = _state("x_t", x_t), _state("h_prev", h_prev)
    _same_batch("x_t", x_t, "h_prev", h_prev)
    hidden, inputs = h_prev.shape[-1], x_t.shape[-1]

    def parts(suffix, W, U, b):
        W = _matrix(f"W_{suffix}", W, hidden, inputs, "H", "D")
        U = _matrix(f"U_{suffix}", U, hidden, hidden, "H", "H")
        return x_t @ W.T + _bias(f"b_{suffix}", b, hidden), h_prev @ U.T

    r_input, r_hidden = parts("r", W_r, U_r, b_r)
    z_input, z_hidden = parts("z", W_z, U_z, b_z)
    n_input, n_hidden = parts("n", W_n, U_n, b_n)
    r = sigmoid(r_input + r_hidden)
    z = sigmoid(z_input + z_hidden)
    n = tanh(n_input + r * n_hidden)
    return {"r": r, "z": z, "n": n, "h": (1 - z) * n + z * h_prev}
