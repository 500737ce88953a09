"""CNN sizes, convolutions, pooling and parameter counts against F.conv2d / F.max_pool2d / real torch modules."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from torch import nn

from grader import engine

RNG = np.random.default_rng(521)


def t(a):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64)


# ---- output size ---------------------------------------------------------------------------

def test_sheet_worked_examples():
    assert engine.conv_output_size(32, 5, 2, 1) == (32 - 5 + 2 * 2) // 1 + 1 == 32
    assert engine.conv_output_size(32, 5) == 28          # valid padding, P = 0
    assert engine.conv_output_size(7, 3, 0, 2) == 3
    assert engine.same_padding(3) == 1
    assert engine.same_padding(5) == 2
    assert engine.same_padding(1) == 0


@settings(max_examples=60, deadline=None)
@given(W=st.integers(1, 24), K=st.integers(1, 7), P=st.integers(0, 3), S=st.integers(1, 4))
def test_conv_output_size_equals_conv2d_output(W, K, P, S):
    if W - K + 2 * P < 0:
        with pytest.raises(ValueError, match="W"):
            engine.conv_output_size(W, K, P, S)
        return
    out = F.conv2d(torch.zeros(1, 1, W, W), torch.zeros(1, 1, K, K), stride=S, padding=P)
    assert engine.conv_output_size(W, K, P, S) == out.shape[-1]


@settings(max_examples=20, deadline=None)
@given(W=st.integers(1, 20), K=st.sampled_from([1, 3, 5, 7]))
def test_same_padding_keeps_size_at_stride_one(W, K):
    P = engine.same_padding(K)
    out = F.conv2d(torch.zeros(1, 1, W, W), torch.zeros(1, 1, K, K), padding=P)
    assert out.shape[-1] == W


@pytest.mark.parametrize("args, name", [
    ((3, 5, 0, 1), "W"),          # W − K + 2P < 0
    ((-1, 3, 0, 1), "W"),
    ((8, 0, 0, 1), "K"),
    ((8, 3, -1, 1), "P"),
    ((8, 3, 0, 0), "S"),
    ((8, 3, 0, 1.5), "S"),
    ((float("nan"), 3, 0, 1), "W"),
    (("32", 3, 0, 1), "W"),
    ((None, 3, 0, 1), "W"),
])
def test_conv_output_size_errors(args, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        engine.conv_output_size(*args)


@pytest.mark.parametrize("K", [2, 4, 0])
def test_same_padding_even_or_bad_kernel(K):
    with pytest.raises(ValueError, match=r"^K\b"):
        engine.same_padding(K)


# ---- operations ----------------------------------------------------------------------------

@pytest.mark.parametrize("c_in, c_out, size, k, stride, padding, bias", [
    (1, 1, 5, 3, 1, 0, False),
    (3, 4, 8, 3, 1, 1, True),
    (2, 5, 9, 5, 2, 2, True),
    (3, 2, 7, 2, 3, 0, True),
    (4, 3, 6, 1, 1, 0, False),
    (2, 2, 3, 3, 2, 3, True),
])
@pytest.mark.parametrize("batched", [False, True])
def test_conv2d_matches_torch(c_in, c_out, size, k, stride, padding, bias, batched):
    x = RNG.normal(size=(2, c_in, size, size) if batched else (c_in, size, size))
    w = RNG.normal(size=(c_out, c_in, k, k))
    b = RNG.normal(size=c_out) if bias else None
    expected = F.conv2d(t(x) if batched else t(x)[None], t(w), None if b is None else t(b), stride=stride, padding=padding)
    expected = expected.numpy() if batched else expected[0].numpy()
    got = engine.conv2d(x, w, b, stride=stride, padding=padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_conv2d_is_cross_correlation_sheet_formula():
    """out[f_o, r, c] = Σ w[f_o, f_i, i, j] · x[f_i, S r + i, S c + j], written out by loops."""
    x, w, S = RNG.normal(size=(2, 6, 6)), RNG.normal(size=(3, 2, 3, 3)), 2
    O = engine.conv_output_size(6, 3, 0, S)
    loops = np.zeros((3, O, O))
    for fo in range(3):
        for r in range(O):
            for c in range(O):
                loops[fo, r, c] = sum(w[fo, fi, i, j] * x[fi, S * r + i, S * c + j]
                                      for fi in range(2) for i in range(3) for j in range(3))
    np.testing.assert_allclose(engine.conv2d(x, w, stride=S), loops, rtol=1e-12)


@pytest.mark.parametrize("size, stride", [(2, None), (3, None), (2, 1), (3, 2)])
@pytest.mark.parametrize("batched", [False, True])
def test_maxpool_matches_torch(size, stride, batched):
    x = RNG.normal(size=(2, 3, 9, 9) if batched else (3, 9, 9))
    expected = F.max_pool2d(t(x), size, stride=stride).numpy()
    np.testing.assert_array_equal(engine.maxpool2d(x, size, stride), expected)


def test_conv1x1_matches_conv2d_with_one_by_one_kernel():
    x, w, b = RNG.normal(size=(2, 5, 4, 4)), RNG.normal(size=(3, 5)), RNG.normal(size=3)
    expected = F.conv2d(t(x), t(w)[:, :, None, None], t(b)).numpy()
    np.testing.assert_allclose(engine.conv1x1(x, w, b), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(engine.conv1x1(x[0], w), np.einsum("oc,chw->ohw", w, x[0]), rtol=1e-12)


@pytest.mark.parametrize("channels, size, k, stride, padding, bias", [
    (3, 8, 3, 1, 1, True), (4, 9, 3, 2, 1, False), (2, 6, 5, 1, 2, True), (1, 5, 3, 1, 0, True),
])
def test_depthwise_matches_grouped_conv2d(channels, size, k, stride, padding, bias):
    x, w = RNG.normal(size=(channels, size, size)), RNG.normal(size=(channels, k, k))
    b = RNG.normal(size=channels) if bias else None
    expected = F.conv2d(t(x)[None], t(w)[:, None], None if b is None else t(b), stride=stride, padding=padding,
                        groups=channels)[0].numpy()
    np.testing.assert_allclose(engine.depthwise_conv2d(x, w, b, stride, padding), expected, rtol=1e-10, atol=1e-12)


# ---- parameter counts ----------------------------------------------------------------------

def numel(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("k, c_in, c_out", [(3, 3, 64), (5, 16, 32), (1, 64, 128), (7, 1, 1)])
@pytest.mark.parametrize("bias", [True, False])
def test_conv_param_count_matches_module(k, c_in, c_out, bias):
    assert engine.conv_param_count(k, c_in, c_out, bias) == numel(nn.Conv2d(c_in, c_out, k, bias=bias))


def test_conv_param_count_sheet_example_and_quick_reference():
    assert engine.conv_param_count(3, 3, 64) == 3 * 3 * 3 * 64 + 64 == 1792
    assert engine.conv_param_count(3, 3, 64, bias=False) == 3 ** 2 * 3 * 64  # K² × C_in × C_out


@pytest.mark.parametrize("k, c", [(3, 32), (5, 8), (3, 1)])
@pytest.mark.parametrize("bias", [True, False])
def test_depthwise_param_count_matches_grouped_module(k, c, bias):
    assert engine.depthwise_param_count(k, c, bias) == numel(nn.Conv2d(c, c, k, groups=c, bias=bias))


# ---- network summary -----------------------------------------------------------------------

def torch_layer(layer, input_shape):
    """The nn module for one layer dict, given its input's shape (without the batch axis)."""
    kind, channels = layer["type"], input_shape[0]
    if kind == "conv":
        return nn.Conv2d(channels, layer["out_channels"], layer["kernel"], layer.get("stride", 1),
                         layer.get("padding", 0), bias=layer.get("bias", True))
    if kind == "depthwise":
        return nn.Conv2d(channels, channels, layer["kernel"], layer.get("stride", 1), layer.get("padding", 0),
                         groups=channels, bias=layer.get("bias", True))
    if kind == "maxpool":
        return nn.MaxPool2d(layer["size"], layer.get("stride"))
    if kind == "flatten":
        return nn.Flatten()
    return nn.Linear(input_shape[0], layer["units"], bias=layer.get("bias", True))


def random_stack(rng):
    """A random conv/depthwise/maxpool stack that fits a 3 × 32 × 32 input, then flatten and dense layers."""
    layers, size = [], 32
    for _ in range(rng.integers(1, 5)):
        kind = rng.choice(["conv", "conv", "depthwise", "maxpool"])
        if kind == "maxpool" and size >= 2:
            layer = {"type": "maxpool", "size": 2}
            if rng.random() < 0.3:
                layer["stride"] = 1
        else:
            kernel = int(rng.choice([1, 3, 5]))
            layer = {"type": "conv" if kind == "conv" else "depthwise", "kernel": kernel,
                     "padding": int(rng.integers(0, 3)), "stride": int(rng.integers(1, 3)), "bias": bool(rng.random() < 0.7)}
            if kind == "conv":
                layer["out_channels"] = int(rng.integers(1, 9))
            if size + 2 * layer["padding"] < kernel:
                layer["padding"] = kernel // 2
        layers.append(layer)
        size = engine.conv_output_size(size, layer.get("kernel", layer.get("size")), layer.get("padding", 0),
                                       layer.get("stride", layer.get("size")))
    layers.append({"type": "flatten"})
    for _ in range(rng.integers(1, 3)):
        layers.append({"type": "dense", "units": int(rng.integers(1, 20)), "bias": bool(rng.random() < 0.8)})
    return layers


@pytest.mark.parametrize("seed", range(8))
def test_network_summary_matches_torch_sequential(seed):
    rng = np.random.default_rng(seed)
    layers, x, modules = random_stack(rng), torch.zeros(1, 3, 32, 32), []
    with torch.no_grad():
        for layer in layers:
            modules.append(torch_layer(layer, tuple(x.shape[1:])))
            x = modules[-1](x)
    model = nn.Sequential(*modules)
    x = torch.zeros(1, 3, 32, 32)
    table = engine.network_summary((3, 32, 32), layers)
    assert len(table) == len(layers)
    with torch.no_grad():
        for row, module in zip(table, model):
            x = module(x)
            assert row["output_shape"] == tuple(x.shape[1:]), (row, module)
            assert row["params"] == numel(module), (row, module)
            assert isinstance(row["params"], int) and all(isinstance(n, int) for n in row["output_shape"])


def test_network_summary_worked_table():
    table = engine.network_summary((3, 32, 32), [
        {"type": "conv", "out_channels": 16, "kernel": 5, "padding": 2},
        {"type": "maxpool", "size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 10},
    ])
    assert [row["output_shape"] for row in table] == [(16, 32, 32), (16, 16, 16), (4096,), (10,)]
    assert [row["params"] for row in table] == [5 * 5 * 3 * 16 + 16, 0, 0, 4096 * 10 + 10]


@pytest.mark.parametrize("input_shape, layers, match", [
    ((3, 4, 4), [{"type": "conv", "out_channels": 2, "kernel": 5}], r"layers\[0\].*W"),
    ((3, 8, 8), [{"type": "dense", "units": 3}], r"layers\[0\].*flatten"),
    ((3, 8, 8), [{"type": "flatten"}, {"type": "conv", "out_channels": 2, "kernel": 3}], r"layers\[1\]"),
    ((3, 8, 8), [{"type": "conv", "kernel": 3}], r"layers\[0\].*out_channels"),
    ((3, 8, 8), [{"type": "conv", "out_channels": 2, "kernal": 3}], r"layers\[0\]"),
    ((3, 8, 8), [{"type": "pool", "size": 2}], r"layers\[0\]"),
    ((3, 8, 8), [{"type": "maxpool", "size": 2, "stride": 0}], r"layers\[0\].*S"),
    ((8, 8), [], r"input_shape"),
    ((3, 0, 8), [], r"input_shape"),
])
def test_network_summary_errors_point_at_the_layer(input_shape, layers, match):
    with pytest.raises(ValueError, match=match):
        engine.network_summary(input_shape, layers)


# ---- operation errors ----------------------------------------------------------------------

@pytest.mark.parametrize("call, name", [
    (lambda: engine.conv2d(np.ones((3, 5, 5)), np.ones((2, 4, 3, 3))), "w"),
    (lambda: engine.conv2d(np.ones((3, 2, 2)), np.ones((2, 3, 3, 3))), "w"),
    (lambda: engine.conv2d(np.ones((3, 5, 5)), np.ones((2, 3, 3, 3)), stride=0), "stride"),
    (lambda: engine.conv2d(np.ones((3, 5, 5)), np.ones((2, 3, 3, 3)), padding=-1), "padding"),
    (lambda: engine.conv2d(np.ones((3, 5, 5)), np.ones((2, 3, 3, 3)), b=np.ones(3)), "b"),
    (lambda: engine.conv2d(np.ones((5, 5)), np.ones((2, 1, 3, 3))), "x"),
    (lambda: engine.maxpool2d(np.ones((1, 3, 3)), 4), "size"),
    (lambda: engine.maxpool2d(np.ones((1, 3, 3)), 2, stride=0), "stride"),
    (lambda: engine.conv1x1(np.ones((3, 4, 4)), np.ones((2, 5))), "w"),
    (lambda: engine.depthwise_conv2d(np.ones((3, 5, 5)), np.ones((2, 3, 3))), "w"),
    (lambda: engine.conv_param_count(3, 0, 4), "C_in"),
    (lambda: engine.depthwise_param_count(-3, 4), "K"),
])
def test_operation_errors_name_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()
