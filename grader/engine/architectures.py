"""Architecture rules (sheet: "ResNet Skip Connection", "MobileNet Bottleneck")."""

import numpy as np

from ._checks import as_array, number, positive_int
from .activations import relu, relu6
from .cnn import conv1x1, depthwise_conv2d, same_padding


def _finite(name, value, ndim=None):
    arr = as_array(name, value, ndim=ndim)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: values must be finite")
    return arr


def residual_block(x, W1, W2):
    """Residual block: y = F(x, W) + x with F(x) = W2 relu(W1 x).

    x: (D,) or (B, D); W1: (H, D); W2: (D, H), so that F(x) has the shape of x.
    """
    x = _finite("x", x, ndim=(1, 2))
    W1, W2 = _finite("W1", W1, ndim=2), _finite("W2", W2, ndim=2)
    dim = x.shape[-1]
    if W1.shape[1] != dim:
        raise ValueError(f"W1: expected shape (H, D) with D = {dim}, got {W1.shape}")
    if W2.shape != (dim, W1.shape[0]):
        raise ValueError(f"W2: expected shape (D, H) = ({dim}, {W1.shape[0]}), got {W2.shape}")
    return relu(x @ W1.T) @ W2.T + x


def euler_step(x, f, h):
    """One explicit Euler step of dx/dt = f(x): x + h f(x) (a residual block with step h).

    f: a function of x, or the value f(x) already computed (an array shaped like x).
    """
    x = _finite("x", x)
    h = number("h", h)
    slope = _finite("f", f(x) if callable(f) else f)
    if slope.shape != x.shape:
        raise ValueError(f"f: f(x) has shape {slope.shape}, x has {x.shape}")
    return x + h * slope


def mobilenet_bottleneck_params(C_in, C_out, expansion, K=3, bias=False):
    """Parameters of a MobileNetV2 inverted residual block, expand → depthwise K×K → squeeze.

    With C_exp = expansion · C_in:
        expand 1×1 conv     C_in · C_exp      (+ C_exp with bias)
        depthwise K×K conv  K · K · C_exp     (+ C_exp with bias)
        squeeze 1×1 conv    C_exp · C_out     (+ C_out with bias)
    The expand conv is counted for every expansion, 1 included (torchvision drops it
    when expansion = 1); batch-norm layers are not part of the sheet's block.
    """
    C_in, C_out = positive_int("C_in", C_in), positive_int("C_out", C_out)
    expanded = C_in * positive_int("expansion", expansion)
    K = positive_int("K", K)
    if not isinstance(bias, (bool, np.bool_)):
        raise ValueError(f"bias: expected True or False, got {bias!r}")
    weights = C_in * expanded + K * K * expanded + expanded * C_out
    biases = expanded + expanded + C_out if bias else 0
    return weights + biases


def mobilenet_bottleneck(x, W_expand, W_dw, W_squeeze, stride=1):
    """Forward pass of a MobileNetV2 inverted residual block (no biases, no batch norm):

        e = ReLU6(W_expand ⋆ x)             1×1 expand, C_in → C_exp
        d = ReLU6(depthwise(e, W_dw))       K×K depthwise, same padding (K − 1)/2, stride
        y = W_squeeze ⋆ d                   1×1 squeeze, linear, C_exp → C_out
        x_out = y + x  only when stride = 1 and C_in = C_out, else y

    x: (C_in, H, W); W_expand: (C_exp, C_in) (C_exp = C_in · t); W_dw: (C_exp, K, K)
    with K odd (3 on the sheet); W_squeeze: (C_out, C_exp). Returns (C_out, H', W').
    """
    x = _finite("x", x, ndim=3)
    W_expand = _finite("W_expand", W_expand, ndim=2)
    W_dw = _finite("W_dw", W_dw, ndim=3)
    W_squeeze = _finite("W_squeeze", W_squeeze, ndim=2)
    stride = positive_int("stride", stride)
    channels_in = x.shape[0]
    if W_expand.shape[1] != channels_in:
        raise ValueError(f"W_expand: expected shape (C_exp, C_in) with C_in = {channels_in}, got {W_expand.shape}")
    expanded = W_expand.shape[0]
    if W_dw.shape[0] != expanded or W_dw.shape[1] != W_dw.shape[2]:
        raise ValueError(f"W_dw: expected shape (C_exp, K, K) with C_exp = {expanded}, got {W_dw.shape}")
    if W_dw.shape[1] % 2 == 0:
        raise ValueError(f"W_dw: same padding needs an odd kernel size, got K = {W_dw.shape[1]}")
    if W_squeeze.shape[1] != expanded:
        raise ValueError(f"W_squeeze: expected shape (C_out, C_exp) with C_exp = {expanded}, got {W_squeeze.shape}")
    e = relu6(conv1x1(x, W_expand))
    d = relu6(depthwise_conv2d(e, W_dw, stride=stride, padding=same_padding(W_dw.shape[1])))
    y = conv1x1(d, W_squeeze)
    return y + x if stride == 1 and W_squeeze.shape[0] == channels_in else y
