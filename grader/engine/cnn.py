"""Convolutional networks (sheet: "Convolutional Neural Networks", "CNN Output Size").

Feature maps are (C, H, W) or batched (N, C, H, W); the batched form is returned
when it is given. Convolution is cross-correlation with zero padding, as in PyTorch.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._checks import as_array, non_negative_int, positive_int


def conv_output_size(W, K, P=0, S=1):
    """Output spatial size: O = ⌊(W − K + 2P)/S⌋ + 1 (W input size, K kernel, P padding, S stride)."""
    W = positive_int("W", W)
    K = positive_int("K", K)
    P = non_negative_int("P", P)
    S = positive_int("S", S)
    if W - K + 2 * P < 0:
        raise ValueError(f"W, K, P: the kernel does not fit, W − K + 2P = {W} − {K} + 2·{P} = {W - K + 2 * P} < 0")
    return (W - K + 2 * P) // S + 1


def same_padding(K):
    """Same padding: P = (K − 1)/2 keeps O = W at stride 1 (valid padding is P = 0). K must be odd."""
    K = positive_int("K", K)
    if K % 2 == 0:
        raise ValueError(f"K: same padding needs an odd kernel size, got K = {K}")
    return (K - 1) // 2


def _feature_maps(name, x):
    """x as (N, C, H, W) and whether it came without the batch axis."""
    x = as_array(name, x, ndim=(3, 4))
    return (x[np.newaxis], True) if x.ndim == 3 else (x, False)


def _windows(x, kernel_h, kernel_w, stride, padding, kernel_name):
    """Every (kernel_h × kernel_w) window of the zero-padded x (N, C, H, W) at the given stride.

    Returns an array of shape (N, C, O_h, O_w, kernel_h, kernel_w); window (r, c) starts
    at row S·r, column S·c of the padded input.
    """
    height, width = x.shape[2] + 2 * padding, x.shape[3] + 2 * padding
    if kernel_h > height or kernel_w > width:
        raise ValueError(
            f"{kernel_name}: a {kernel_h}×{kernel_w} window does not fit the input "
            f"{x.shape[2]}×{x.shape[3]} with padding {padding}"
        )
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    return sliding_window_view(padded, (kernel_h, kernel_w), axis=(2, 3))[:, :, ::stride, ::stride]


def _bias(b, n_channels):
    if b is None:
        return np.zeros(n_channels)
    b = as_array("b", b, ndim=1)
    if b.shape != (n_channels,):
        raise ValueError(f"b: expected shape ({n_channels},), one bias per output channel, got {b.shape}")
    return b


def conv2d(x, w, b=None, stride=1, padding=0):
    """Convolution: out[f_o, r, c] = Σ_{f_i} Σ_{i,j} w[f_o, f_i, i, j] · x[f_i, S·r + i, S·c + j] (+ b[f_o]).

    x: (C_in, H, W) or (N, C_in, H, W), zero-padded by `padding` on each side;
    w: (C_out, C_in, K, K) (K_h × K_w kernels work too); b: (C_out,) or None; S = stride.
    Output spatial size ⌊(W − K + 2P)/S⌋ + 1.
    """
    x, unbatched = _feature_maps("x", x)
    w = as_array("w", w, ndim=4)
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"w: has {w.shape[1]} input channels but x has {x.shape[1]}")
    stride = positive_int("stride", stride)
    padding = non_negative_int("padding", padding)
    windows = _windows(x, w.shape[2], w.shape[3], stride, padding, "w")
    out = np.einsum("ncrsij,ocij->nors", windows, w) + _bias(b, w.shape[0])[:, None, None]
    return out[0] if unbatched else out


def conv_param_count(K, C_in, C_out, bias=True):
    """Parameters of a conv layer: K × K × C_in × C_out + C_out (bias); bias=False gives K² × C_in × C_out."""
    K, C_in, C_out = positive_int("K", K), positive_int("C_in", C_in), positive_int("C_out", C_out)
    return K * K * C_in * C_out + (C_out if bias else 0)


def maxpool2d(x, size, stride=None):
    """MaxPool: the max in each size × size window (no padding, no parameters); stride defaults to size.

    x: (C, H, W) or (N, C, H, W). Output spatial size ⌊(W − size)/stride⌋ + 1.
    """
    x, unbatched = _feature_maps("x", x)
    size = positive_int("size", size)
    stride = size if stride is None else positive_int("stride", stride)
    out = _windows(x, size, size, stride, 0, "size").max(axis=(4, 5))
    return out[0] if unbatched else out


def conv1x1(x, w, b=None):
    """1×1 conv: a channel-wise linear projection, out[f_o, r, c] = Σ_{f_i} w[f_o, f_i] · x[f_i, r, c] (+ b[f_o]).

    x: (C_in, H, W) or (N, C_in, H, W); w: (C_out, C_in); b: (C_out,) or None.
    """
    w = as_array("w", w, ndim=2)
    return conv2d(x, w[:, :, np.newaxis, np.newaxis], b)


def depthwise_conv2d(x, w, b=None, stride=1, padding=0):
    """Depthwise conv (MobileNet): one filter per input channel, out[f, r, c] = Σ_{i,j} w[f, i, j] · x[f, S·r + i, S·c + j] (+ b[f]).

    x: (C, H, W) or (N, C, H, W); w: (C, K, K); b: (C,) or None. Channels never mix
    (PyTorch: nn.Conv2d(C, C, K, groups=C)).
    """
    x, unbatched = _feature_maps("x", x)
    w = as_array("w", w, ndim=3)
    if w.shape[0] != x.shape[1]:
        raise ValueError(f"w: has {w.shape[0]} filters but x has {x.shape[1]} channels (one filter per channel)")
    stride = positive_int("stride", stride)
    padding = non_negative_int("padding", padding)
    windows = _windows(x, w.shape[1], w.shape[2], stride, padding, "w")
    out = np.einsum("ncrsij,cij->ncrs", windows, w) + _bias(b, w.shape[0])[:, None, None]
    return out[0] if unbatched else out


def depthwise_param_count(K, C, bias=True):
    """Parameters of a depthwise conv: K × K × C + C (bias), one K × K filter per channel."""
    K, C = positive_int("K", K), positive_int("C", C)
    return K * K * C + (C if bias else 0)


LAYER_KEYS = {
    "conv": ({"out_channels", "kernel"}, {"stride", "padding", "bias"}),
    "maxpool": ({"size"}, {"stride"}),
    "depthwise": ({"kernel"}, {"stride", "padding", "bias"}),
    "flatten": (set(), set()),
    "dense": ({"units"}, {"bias"}),
}


def _layer_spec(index, layer):
    where = f"layers[{index}]"
    if not isinstance(layer, dict) or layer.get("type") not in LAYER_KEYS:
        raise ValueError(f"{where}: expected a dict whose 'type' is one of {', '.join(LAYER_KEYS)}, got {layer!r}")
    required, optional = LAYER_KEYS[layer["type"]]
    keys = set(layer) - {"type"}
    if required - keys:
        raise ValueError(f"{where}: a {layer['type']} layer needs {', '.join(sorted(required - keys))}")
    if keys - required - optional:
        raise ValueError(f"{where}: unknown keys {', '.join(sorted(keys - required - optional))} for a {layer['type']} layer")
    return where


def _spatial(where, shape, kernel, padding, stride):
    """(H, W) after a window layer, with errors that point at the layer."""
    try:
        return tuple(conv_output_size(size, kernel, padding, stride) for size in shape[1:])
    except ValueError as exc:
        raise ValueError(f"{where}: {exc} (input {shape})") from exc


def _apply_layer(where, layer, shape):
    """(output_shape, params) of one layer given its input shape."""
    kind = layer["type"]
    if kind in ("conv", "maxpool", "depthwise") and len(shape) != 3:
        raise ValueError(f"{where}: a {kind} layer needs a (C, H, W) input, got {shape}")
    if kind == "conv":
        kernel, out_channels = layer["kernel"], positive_int(f"{where}.out_channels", layer["out_channels"])
        spatial = _spatial(where, shape, kernel, layer.get("padding", 0), layer.get("stride", 1))
        return (out_channels, *spatial), conv_param_count(kernel, shape[0], out_channels, layer.get("bias", True))
    if kind == "depthwise":
        kernel = layer["kernel"]
        spatial = _spatial(where, shape, kernel, layer.get("padding", 0), layer.get("stride", 1))
        return (shape[0], *spatial), depthwise_param_count(kernel, shape[0], layer.get("bias", True))
    if kind == "maxpool":
        size = layer["size"]
        return (shape[0], *_spatial(where, shape, size, 0, layer.get("stride", size))), 0
    if kind == "flatten":
        return (int(np.prod(shape)),), 0
    if len(shape) != 1:
        raise ValueError(f"{where}: a dense layer needs a flat input (add a flatten layer), got {shape}")
    units = positive_int(f"{where}.units", layer["units"])
    return (units,), shape[0] * units + (units if layer.get("bias", True) else 0)


def network_summary(input_shape, layers):
    """Layer table of a CNN: each layer's output shape and parameter count.

    Conv: O = ⌊(W − K + 2P)/S⌋ + 1, params K·K·C_in·C_out + C_out; depthwise: K·K·C + C;
    maxpool: no params; flatten: C·H·W; dense: n_in·units + units.
    input_shape: (C, H, W). layers: list of dicts, {"type": "conv", "out_channels", "kernel",
    "stride"=1, "padding"=0, "bias"=True}, {"type": "maxpool", "size", "stride"=size},
    {"type": "depthwise", "kernel", "stride"=1, "padding"=0, "bias"=True}, {"type": "flatten"},
    {"type": "dense", "units", "bias"=True}. Returns one dict per layer:
    {"type", "input_shape", "output_shape", "params"} (shapes as tuples of int, params int).
    """
    if len(tuple(input_shape)) != 3:
        raise ValueError(f"input_shape: expected (C, H, W), got {input_shape!r}")
    shape = tuple(positive_int(f"input_shape[{i}]", n) for i, n in enumerate(input_shape))
    if not isinstance(layers, (list, tuple)):
        raise ValueError(f"layers: expected a list of layer dicts, got {type(layers).__name__}")
    table = []
    for index, layer in enumerate(layers):
        where = _layer_spec(index, layer)
        output_shape, params = _apply_layer(where, layer, shape)
        table.append({"type": layer["type"], "input_shape": shape, "output_shape": output_shape, "params": int(params)})
        shape = output_shape
    return table
