"""SGD, backprop, conditioning and GD on a quadratic, against torch.optim / autograd / numpy / scipy."""

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

from grader import engine

RNG = np.random.default_rng(2026)


def t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64, requires_grad=grad)


def torch_sgd_step(w, grad, lr, **options):
    param = torch.nn.Parameter(t(w))
    optimizer = torch.optim.SGD([param], lr=lr, **options)
    param.grad = t(grad)
    optimizer.step()
    return param.detach().numpy()


@pytest.mark.parametrize("lr", [0.0, 0.01, 0.5, 2.0])
def test_sgd_step_matches_torch_optim_sgd(lr):
    w, g = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))
    np.testing.assert_allclose(engine.sgd_step(w, g, lr), torch_sgd_step(w, g, lr), rtol=1e-14)


def test_sgd_step_worked_example():
    # w ← w − η ∂L/∂w: 0.5 − 0.1 · 2 = 0.3
    assert engine.sgd_step(0.5, 2.0, 0.1) == pytest.approx(0.3)


def test_sgd_step_errors():
    with pytest.raises(ValueError, match="lr"):
        engine.sgd_step([1.0], [1.0], -0.1)
    with pytest.raises(ValueError, match="w and grad"):
        engine.sgd_step([1.0, 2.0], [1.0], 0.1)


HIDDEN = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}


def autograd_mlp(x, y, W1, b1, W2, b2, hidden, output):
    params = [t(a, grad=True) for a in (W1, b1, W2, b2)]
    tW1, tb1, tW2, tb2 = params
    z2 = HIDDEN[hidden](t(x) @ tW1.T + tb1) @ tW2.T + tb2
    if output == "sigmoid":
        loss = F.binary_cross_entropy(torch.sigmoid(z2), t(y), reduction="sum") / x.shape[0]
    else:
        loss = F.cross_entropy(z2, t(y))
    loss.backward()
    return loss.item(), [p.grad.numpy() for p in params]


@pytest.mark.parametrize("hidden", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("output, n_out", [("sigmoid", 1), ("sigmoid", 3), ("softmax", 4)])
@pytest.mark.parametrize("batch", [1, 5])
def test_mlp_backprop_matches_autograd(hidden, output, n_out, batch):
    D, H = 3, 6
    x = RNG.normal(size=(batch, D))
    W1, b1 = RNG.normal(size=(H, D)), RNG.normal(size=H)
    W2, b2 = RNG.normal(size=(n_out, H)), RNG.normal(size=n_out)
    if output == "sigmoid":
        y = RNG.integers(0, 2, size=(batch, n_out)).astype(float)
    else:
        y = np.eye(n_out)[RNG.integers(0, n_out, size=batch)]
    loss, grads = autograd_mlp(x, y, W1, b1, W2, b2, hidden, output)
    got = engine.mlp_backprop(x, y, W1, b1, W2, b2, hidden=hidden, output=output)
    assert got["loss"] == pytest.approx(loss, rel=1e-12)
    for key, expected in zip(("dW1", "db1", "dW2", "db2"), grads):
        assert got[key].shape == expected.shape, key
        np.testing.assert_allclose(got[key], expected, rtol=1e-10, atol=1e-14, err_msg=key)


def test_mlp_backprop_accepts_single_example_and_vector_targets():
    x, W1, b1 = np.array([1.0, -2.0]), RNG.normal(size=(3, 2)), np.zeros(3)
    W2, b2 = RNG.normal(size=(1, 3)), np.zeros(1)
    one = engine.mlp_backprop(x, 1.0, W1, b1, W2, b2)
    batched = engine.mlp_backprop(x[None], [[1.0]], W1, b1, W2, b2)
    for key in ("loss", "dW1", "db1", "dW2", "db2"):
        np.testing.assert_array_equal(one[key], batched[key])
    vector = engine.mlp_backprop(np.stack([x, -x]), [1.0, 0.0], W1, b1, W2, b2)
    loss, _ = autograd_mlp(np.stack([x, -x]), [[1.0], [0.0]], W1, b1, W2, b2, "relu", "sigmoid")
    assert vector["loss"] == pytest.approx(loss, rel=1e-12)


def test_mlp_backprop_saturated_logits_stay_finite():
    x = np.array([[100.0]])
    got = engine.mlp_backprop(x, [[0.0]], np.array([[10.0]]), np.zeros(1), np.array([[10.0]]), np.zeros(1))
    assert got["loss"] == pytest.approx(10_000.0)  # BCE from logits: z2 = 10⁴, y = 0
    assert np.isfinite(got["dW1"]).all()


@pytest.mark.parametrize("kwargs, name", [
    (dict(hidden="gelu"), "hidden"),
    (dict(output="linear"), "output"),
    (dict(W1=np.ones((4, 2))), "W1"),
    (dict(b1=np.ones(3)), "b1"),
    (dict(W2=np.ones((1, 5))), "W2"),
    (dict(b2=np.ones(2)), "b2"),
    (dict(y=np.ones((2, 2))), "y"),
    (dict(y=np.array([[2.0], [0.0]])), "y"),
])
def test_mlp_backprop_errors_name_the_argument(kwargs, name):
    args = dict(x=np.ones((2, 3)), y=np.array([1.0, 0.0]), W1=np.ones((4, 3)), b1=np.zeros(4),
                W2=np.ones((1, 4)), b2=np.zeros(1))
    args.update(kwargs)
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        engine.mlp_backprop(**args)


@pytest.mark.parametrize("shape", [(4,), (1, 4), (6, 3)])
def test_softmax_ce_grad_matches_autograd(shape):
    z = RNG.normal(size=shape)
    y = RNG.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    tz = t(np.atleast_2d(z), grad=True)
    F.cross_entropy(tz, t(np.atleast_2d(y))).backward()
    got = engine.softmax_ce_grad(z, y)
    assert got.shape == z.shape
    np.testing.assert_allclose(np.atleast_2d(got), tz.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_softmax_ce_grad_errors():
    with pytest.raises(ValueError, match="z and y"):
        engine.softmax_ce_grad(np.zeros((2, 3)), np.eye(3))
    with pytest.raises(ValueError, match="y"):
        engine.softmax_ce_grad(np.zeros(3), [0.5, 0.2, 0.1])


def random_spd(n, kappa=None):
    q, _ = np.linalg.qr(RNG.normal(size=(n, n)))
    eigenvalues = RNG.uniform(0.1, 10, size=n) if kappa is None else np.geomspace(1, kappa, n)
    h = q @ np.diag(eigenvalues) @ q.T
    return (h + h.T) / 2


@pytest.mark.parametrize("n", [1, 2, 3, 6])
def test_condition_number_matches_numpy_and_scipy(n):
    h = random_spd(n)
    eigenvalues = scipy.linalg.eigh(h, eigvals_only=True)
    assert engine.condition_number(h) == pytest.approx(np.linalg.cond(h), rel=1e-9)
    assert engine.condition_number(h) == pytest.approx(eigenvalues.max() / eigenvalues.min(), rel=1e-9)


def test_condition_number_worked_example():
    assert engine.condition_number([[10.0, 0.0], [0.0, 0.1]]) == pytest.approx(100.0)


@pytest.mark.parametrize("h, message", [
    ([[1.0, 2.0], [0.0, 1.0]], "symmetric"),
    ([[1.0, 0.0], [0.0, -1.0]], "positive definite"),
    ([[1.0, 0.0], [0.0, 0.0]], "positive definite"),
    ([[1.0, 2.0, 3.0]], "square"),
    ([1.0, 2.0], "2-D"),
])
@pytest.mark.parametrize("fn", ["condition_number", "gd_on_quadratic"])
def test_hessian_domain_errors(h, message, fn):
    with pytest.raises(ValueError, match=rf"^H\b.*{message}"):
        if fn == "condition_number":
            engine.condition_number(h)
        else:
            engine.gd_on_quadratic(h, np.ones(np.shape(h)[-1]), 0.1, 3)


@pytest.mark.parametrize("lr", [0.05, 0.19, 0.3])
def test_gd_on_quadratic_matches_torch_sgd(lr):
    h, x0, steps = random_spd(3, kappa=10.0), RNG.normal(size=3), 12
    x = torch.nn.Parameter(t(x0))
    optimizer = torch.optim.SGD([x], lr=lr)
    expected = [x0]
    for _ in range(steps):
        optimizer.zero_grad()
        (0.5 * x @ t(h) @ x).backward()
        optimizer.step()
        expected.append(x.detach().numpy().copy())
    got = engine.gd_on_quadratic(h, x0, lr, steps)
    assert got.shape == (steps + 1, 3)
    np.testing.assert_allclose(got, np.stack(expected), rtol=1e-10, atol=1e-13)


@settings(max_examples=30, deadline=None)
@given(st.floats(2.0, 50.0), st.floats(1.05, 1.95), st.integers(0, 10**6))
def test_zigzag_along_stiff_direction_when_lr_exceeds_one_over_lambda_max(kappa, factor, seed):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(2, 2)))
    h = q @ np.diag([1.0, kappa]) @ q.T
    h = (h + h.T) / 2
    stiff = q[:, 1]
    x0 = q @ np.array([1.0, 1.0])
    lr = factor / kappa  # 1/λ_max < lr < 2/λ_max: converges, but zigzags
    iterates = engine.gd_on_quadratic(h, x0, lr, 8)
    along_stiff = iterates @ stiff
    assert np.all(np.sign(along_stiff[1:]) == -np.sign(along_stiff[:-1]))
    along_flat = iterates @ q[:, 0]
    assert np.all(np.sign(along_flat) == np.sign(along_flat[0]))  # the flat direction never flips


def test_no_zigzag_when_lr_below_one_over_lambda_max():
    iterates = engine.gd_on_quadratic([[10.0, 0.0], [0.0, 1.0]], [1.0, 1.0], 0.05, 10)
    assert np.all(iterates[:, 0] > 0)
    assert engine.gd_on_quadratic([[10.0, 0.0], [0.0, 1.0]], [1.0, 1.0], 0.15, 1)[1, 0] == pytest.approx(-0.5)


def test_gd_on_quadratic_argument_errors():
    h = np.eye(2)
    with pytest.raises(ValueError, match="x0"):
        engine.gd_on_quadratic(h, [1.0, 2.0, 3.0], 0.1, 2)
    with pytest.raises(ValueError, match="lr"):
        engine.gd_on_quadratic(h, [1.0, 2.0], -0.1, 2)
    with pytest.raises(ValueError, match="steps"):
        engine.gd_on_quadratic(h, [1.0, 2.0], 0.1, -1)
    with pytest.raises(ValueError, match="steps"):
        engine.gd_on_quadratic(h, [1.0, 2.0], 0.1, 2.5)
