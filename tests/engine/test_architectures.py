"""arch.*: residual block, Euler step, MobileNetV2 inverted residual block (parameters and forward)."""

import numpy as np
import pytest
import torch
from torch import nn

from grader import engine


def _np(t):
    return t.detach().numpy()


def _t(a):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64)


@pytest.mark.parametrize("shape", [(5,), (3, 5)])
def test_residual_block_against_torch_linear_stack(shape):
    torch.manual_seed(0)
    first, second = nn.Linear(5, 7, bias=False).double(), nn.Linear(7, 5, bias=False).double()
    x = np.random.default_rng(0).normal(size=shape)
    expected = second(torch.relu(first(_t(x)))) + _t(x)
    got = engine.residual_block(x, _np(first.weight), _np(second.weight))
    np.testing.assert_allclose(got, _np(expected), rtol=1e-12)


def test_residual_block_worked_example_and_skip_matters():
    # W1 x = [1, −1] → relu → [1, 0] → W2 → [2, 0]; plus x = [3, 1]
    W1, W2 = np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([[2.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(engine.residual_block([1.0, 1.0], W1, W2), [3.0, 1.0])


def test_euler_step_against_torch():
    rng = np.random.default_rng(1)
    A, x = rng.normal(size=(4, 4)), rng.normal(size=4)
    expected = _t(x) + 0.1 * torch.tanh(_t(A) @ _t(x))
    np.testing.assert_allclose(engine.euler_step(x, lambda v: np.tanh(A @ v), 0.1), _np(expected), rtol=1e-12)
    np.testing.assert_allclose(engine.euler_step(x, np.tanh(A @ x), 0.1), _np(expected), rtol=1e-12)


def test_euler_step_with_h_one_is_a_residual_block():
    rng = np.random.default_rng(2)
    W1, W2, x = rng.normal(size=(6, 3)), rng.normal(size=(3, 6)), rng.normal(size=3)
    residual = lambda v: W2 @ np.maximum(W1 @ v, 0)  # noqa: E731
    np.testing.assert_allclose(engine.euler_step(x, residual, 1.0), engine.residual_block(x, W1, W2), rtol=1e-12)
    np.testing.assert_allclose(engine.euler_step([1.0], [2.0], 0.5), [2.0])


def _torch_bottleneck(C_in, C_out, t, K=3, stride=1, bias=False):
    expanded = C_in * t
    return nn.Sequential(
        nn.Conv2d(C_in, expanded, 1, bias=bias),
        nn.ReLU6(),
        nn.Conv2d(expanded, expanded, K, stride=stride, padding=(K - 1) // 2, groups=expanded, bias=bias),
        nn.ReLU6(),
        nn.Conv2d(expanded, C_out, 1, bias=bias),
    ).double()


@pytest.mark.parametrize("C_in, C_out, t, K", [(16, 24, 6, 3), (3, 3, 1, 3), (32, 32, 6, 5), (24, 64, 4, 3)])
@pytest.mark.parametrize("bias", [False, True])
def test_mobilenet_params_against_torch_block(C_in, C_out, t, K, bias):
    block = _torch_bottleneck(C_in, C_out, t, K, bias=bias)
    expected = sum(p.numel() for p in block.parameters())
    assert engine.mobilenet_bottleneck_params(C_in, C_out, t, K=K, bias=bias) == expected


def test_mobilenet_params_worked_example():
    # C_in = 16, t = 6 → 96; 16·96 + 9·96 + 96·24 = 1536 + 864 + 2304
    assert engine.mobilenet_bottleneck_params(16, 24, 6) == 4704
    # "fewer params than standard conv": 64 → 64 with t = 1 is 4096 + 576 + 4096, a 3×3 conv 9·64·64
    assert engine.mobilenet_bottleneck_params(64, 64, 1) == 8768 < engine.conv_param_count(3, 64, 64, bias=False)


@pytest.mark.parametrize("C_in, C_out, t, stride, residual", [
    (4, 4, 3, 1, True),  # same shape, stride 1: the skip connection is added
    (4, 6, 2, 1, False),  # channels change: no skip
    (4, 4, 3, 2, False),  # stride 2: no skip
])
def test_mobilenet_forward_against_torch_block(C_in, C_out, t, stride, residual):
    torch.manual_seed(3)
    block = _torch_bottleneck(C_in, C_out, t, stride=stride)
    x = np.random.default_rng(3).normal(size=(C_in, 7, 7)) * 3  # big enough for ReLU6 to clip at 6
    with torch.no_grad():
        body = block(_t(x)[None])[0]
    expected = body + _t(x) if residual else body
    W_expand = _np(block[0].weight)[:, :, 0, 0]
    W_dw = _np(block[2].weight)[:, 0]
    W_squeeze = _np(block[4].weight)[:, :, 0, 0]
    got = engine.mobilenet_bottleneck(x, W_expand, W_dw, W_squeeze, stride=stride)
    assert got.shape == tuple(expected.shape)
    np.testing.assert_allclose(got, _np(expected), rtol=1e-10, atol=1e-12)


def test_mobilenet_relu6_clips():
    # One channel, t = 1: expand ×10 → relu6 caps at 6; depthwise centre tap 1; squeeze ×1; plus x
    x = np.ones((1, 3, 3))
    W_dw = np.zeros((1, 3, 3))
    W_dw[0, 1, 1] = 1.0
    got = engine.mobilenet_bottleneck(x, [[10.0]], W_dw, [[1.0]])
    np.testing.assert_allclose(got, np.full((1, 3, 3), 7.0))


def test_domain_errors():
    x = np.ones((4, 5, 5))
    W_expand, W_dw, W_squeeze = np.ones((8, 4)), np.ones((8, 3, 3)), np.ones((4, 8))
    with pytest.raises(ValueError, match=r"^W_expand:"):
        engine.mobilenet_bottleneck(x, np.ones((8, 3)), W_dw, W_squeeze)
    with pytest.raises(ValueError, match=r"^W_dw:"):
        engine.mobilenet_bottleneck(x, W_expand, np.ones((6, 3, 3)), W_squeeze)
    with pytest.raises(ValueError, match=r"^W_dw:.*odd"):
        engine.mobilenet_bottleneck(x, W_expand, np.ones((8, 2, 2)), W_squeeze)
    with pytest.raises(ValueError, match=r"^W_squeeze:"):
        engine.mobilenet_bottleneck(x, W_expand, W_dw, np.ones((4, 6)))
    with pytest.raises(ValueError, match=r"^x:"):
        engine.mobilenet_bottleneck(np.ones((4, 5)), W_expand, W_dw, W_squeeze)
    with pytest.raises(ValueError, match=r"^stride:"):
        engine.mobilenet_bottleneck(x, W_expand, W_dw, W_squeeze, stride=0)
    with pytest.raises(ValueError, match=r"^expansion:"):
        engine.mobilenet_bottleneck_params(16, 24, 0)
    with pytest.raises(ValueError, match=r"^C_in:"):
        engine.mobilenet_bottleneck_params(-1, 24, 6)
    with pytest.raises(ValueError, match=r"^W1:"):
        engine.residual_block(np.ones(3), np.ones((4, 2)), np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"^W2:"):
        engine.residual_block(np.ones(3), np.ones((4, 3)), np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"^f:"):
        engine.euler_step(np.ones(3), np.ones(2), 0.1)
    with pytest.raises(ValueError, match=r"^h:"):
        engine.euler_step(np.ones(3), np.ones(3), float("nan"))
