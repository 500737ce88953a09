"""Wrong answers the engine has no name for: one small pure function per misconception; and
`layer_summary`, the engine's network summary of one layer, for error carried forward.

Each misconception helper models one mistake students make and says which in its docstring. Where the
mistake is the engine's formula with different arguments, the helper calls the engine
with those arguments instead of restating the formula. Bank expressions call these by
name (see docs/bank-format.md, *Expressions*).
"""

from typing import Any

import numpy as np

from grader import engine


def naive_softmax(z: Any, axis: Any=-1) -> Any:
    """Softmax without subtracting the maximum: e^z / Σ e^z.

    Misconception: the textbook formula typed as is. Right for small logits, but e^1000
    overflows to inf and the result becomes nan (inf / inf).
    """
    z = np.asarray(z, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        exp = np.exp(z)
        return exp / np.sum(exp, axis=axis, keepdims=True)


def without_bias(layers: Any) -> Any:
    """The same layers with `bias: False` on every layer that has one.

    Misconception: parameter counts of K²·C_in·C_out (the quick reference's shortcut),
    forgetting the C_out bias terms of each conv, depthwise and dense layer.
    """
    return [dict(layer, bias=False) if layer["type"] in ("conv", "depthwise", "dense") else dict(layer)
            for layer in layers]


def _channels_before(input_shape: Any, layers: Any, index: Any) -> Any:
    """Number of channels entering layers[index] (the engine computes the shapes)."""
    if index == 0:
        return input_shape[0]
    return engine.network_summary(input_shape, layers[:index])[-1]["output_shape"][0]


def layer_summary(input_shape: Any, layer: Any) -> Any:
    """One row of engine.network_summary: `layer` applied to `input_shape`.

    Error carried forward feeds it a student's earlier output shape (table.carry_forward,
    docs/bank-format.md). The engine takes (C, H, W) inputs; a flat input (n,) enters as
    (n, 1, 1) through a flatten, which gives back (n,), so the engine computes every row.
    """
    shape = tuple(input_shape)
    if len(shape) == 1:
        return engine.network_summary((shape[0], 1, 1), [{"type": "flatten"}, layer])[1]
    return engine.network_summary(shape, [layer])[0]


def maxpool_as_conv(input_shape: Any, layers: Any) -> Any:
    """The same layers with each max-pool replaced by a conv of the same window, stride and channels.

    Misconception: a pooling window is counted as a learned filter (size²·C·C + C
    parameters), although max-pooling has no parameters.
    """
    replaced = []
    for index, layer in enumerate(layers):
        if layer["type"] == "maxpool":
            size = layer["size"]
            layer = {"type": "conv", "out_channels": _channels_before(input_shape, layers, index),
                     "kernel": size, "stride": layer.get("stride", size), "padding": 0}
        replaced.append(dict(layer))
    return replaced


def depthwise_as_full_conv(input_shape: Any, layers: Any) -> Any:
    """The same layers with each depthwise conv replaced by a full conv with C_out = C_in.

    Misconception: a depthwise layer counted as K·K·C·C (+ C) parameters, as if every
    filter saw every channel, instead of one K×K filter per channel (K·K·C + C).
    """
    replaced = []
    for index, layer in enumerate(layers):
        if layer["type"] == "depthwise":
            layer = dict(layer, type="conv", out_channels=_channels_before(input_shape, layers, index))
        replaced.append(dict(layer))
    return replaced


def lstm_step_x_first(x_t: Any, h_prev: Any, c_prev: Any, W_f: Any, b_f: Any, W_i: Any, b_i: Any,
                      W_c: Any, b_c: Any, W_o: Any, b_o: Any) -> Any:
    """An LSTM step computed with the concatenation [x_t, h_{t−1}] instead of [h_{t−1}, x_t].

    Misconception: x and h swapped in the gates' input. W·[x; h] with the given W equals
    the engine's W'·[h; x] where W' has W's column blocks swapped, so the engine does the work.
    """
    d = np.asarray(x_t).shape[-1]

    def swap(W: Any) -> Any:
        W = np.asarray(W, dtype=float)
        return np.concatenate([W[:, d:], W[:, :d]], axis=1)

    return engine.lstm_step(x_t, h_prev, c_prev, swap(W_f), b_f, swap(W_i), b_i,
                            swap(W_c), b_c, swap(W_o), b_o)


def batchnorm_unbiased(x: Any, gamma: Any, beta: Any, eps: Any=1e-5) -> Any:
    """Batch norm with the unbiased batch variance (divide by B − 1) instead of the biased 1/B.

    Misconception: np.var(x, ddof=1) / torch.var's default used for σ_B². With
    c² = (B − 1)/B, (x − μ)/√(σ²/c² + ε) = c·(x − μ)/√(σ² + c²ε), which is the engine's
    batch norm with γ·c and ε·c².
    """
    x = np.asarray(x, dtype=float)
    batch = x.shape[0]
    if batch == 1:  # B − 1 = 0: the unbiased variance is undefined, as np.var(x, ddof=1) says
        return np.full(x.shape, np.nan)
    c = np.sqrt((batch - 1) / batch)
    return engine.batchnorm_forward(x, np.asarray(gamma, dtype=float) * c, beta, eps=eps * c**2)


def iou_union_as_sum(box_a: Any, box_b: Any) -> Any:
    """Intersection / (area_a + area_b): the union taken as the sum of the two areas.

    Misconception: the overlap is counted twice (intersection not subtracted). With
    IoU = I/(A + B − I), I/(A + B) = IoU/(1 + IoU), so the engine's IoU gives it.
    """
    value = engine.iou(box_a, box_b)
    return value / (1 + value)


def sdpa_without_scaling(Q: Any, K: Any, V: Any, mask: Any=None) -> Any:
    """softmax(Q Kᵀ) V: attention without the 1/√d_k scaling.

    Misconception: forgot to divide the scores by √d_k. Scaling Q by √d_k before the
    engine's scaled attention cancels its division.
    """
    Q = np.asarray(Q, dtype=float)
    d_k = np.asarray(K).shape[-1]
    return engine.scaled_dot_product_attention(Q * np.sqrt(d_k), K, V, mask=mask)


def gates_by_unit(state: Any) -> Any:
    """The rows of a per-unit table: one dict {gate: value} per hidden unit, from a step's dict of vectors.

    Not a misconception itself: it lays out lstm_step's (or lstm_step_x_first's) gates
    f, i, c_tilde, c, o, h as table rows, so a table problem and its misconception
    tables are written the same way.
    """
    names = list(state)
    units = len(np.atleast_1d(state[names[0]]))
    return [{name: float(np.atleast_1d(state[name])[unit]) for name in names} for unit in range(units)]
