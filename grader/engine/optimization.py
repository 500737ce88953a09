"""Backprop and gradient descent (sheet: "Backprop & Gradient Descent", "Condition Number")."""

import numpy as np

from ._checks import as_array, non_negative, non_negative_int, one_of, probabilities, rows_sum_to_one, same_shape
from .activations import relu, relu_grad, sigmoid, sigmoid_grad, softmax, tanh, tanh_grad


def sgd_step(w, grad, lr):
    """Weight update (SGD): w ← w − η ∂L/∂w, with η = lr ≥ 0."""
    w = as_array("w", w)
    grad = as_array("grad", grad)
    same_shape("w", w, "grad", grad)
    return w - non_negative("lr", lr) * grad


HIDDEN = {"relu": (relu, relu_grad), "tanh": (tanh, tanh_grad), "sigmoid": (sigmoid, sigmoid_grad)}
OUTPUTS = ("sigmoid", "softmax")


def _check_layer(W_name, W, b_name, b, n_in, in_name):
    if W.shape[1] != n_in:
        raise ValueError(f"{W_name}: expected {n_in} columns (the size of {in_name}), got shape {W.shape}")
    if b.shape != (W.shape[0],):
        raise ValueError(f"{b_name}: expected shape ({W.shape[0]},) to match {W_name}, got {b.shape}")


def _targets(y, batch, n_out, output):
    """y as (B, n_out); a (B,) vector is accepted for one sigmoid output."""
    y = probabilities("y", y)
    if y.shape == (batch, n_out):
        pass
    elif n_out == 1 and y.size == batch and y.ndim <= 1:
        y = y.reshape(batch, 1)
    elif batch == 1 and y.shape == (n_out,):
        y = y.reshape(1, n_out)
    else:
        raise ValueError(f"y: expected shape ({batch}, {n_out}) to match the network's output, got {y.shape}")
    if output == "softmax":
        rows_sum_to_one("y", y)
    return y


def _output_loss(z2, y, output):
    """Mean over the batch of BCE(y, σ(z2)) or CE(y, softmax(z2)), computed from the logits z2."""
    if output == "sigmoid":
        # −[y log σ(z) + (1 − y) log(1 − σ(z))] = max(z, 0) − y z + log(1 + e^−|z|)
        with np.errstate(under="ignore"):
            per_element = np.maximum(z2, 0) - y * z2 + np.log1p(np.exp(-np.abs(z2)))
    else:
        shifted = z2 - np.max(z2, axis=1, keepdims=True)
        with np.errstate(under="ignore"):
            log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        per_element = -y * log_p
    return float(np.sum(per_element) / z2.shape[0])


def mlp_backprop(x, y, W1, b1, W2, b2, hidden="relu", output="sigmoid"):
    """Backprop through one hidden layer by the chain rule: ∂g/∂x = ∂g/∂f · ∂f/∂x.

    Forward: z1 = W1 x + b1, a1 = act(z1), z2 = W2 a1 + b2, p̂ = σ(z2) with BCE
    (output="sigmoid") or p̂ = softmax(z2) with CE (output="softmax"), the loss
    averaged over the batch. Backward, layer by layer (layer ℓ's gradient from layer ℓ+1):
    ∂L/∂z2 = (p̂ − y)/B, ∂L/∂W2 = (∂L/∂z2)ᵀ a1, ∂L/∂b2 = Σ_batch ∂L/∂z2,
    ∂L/∂a1 = (∂L/∂z2) W2, ∂L/∂z1 = ∂L/∂a1 ⊙ act'(z1), ∂L/∂W1 = (∂L/∂z1)ᵀ x, ∂L/∂b1 = Σ_batch ∂L/∂z1.

    x: (B, D) (a (D,) vector is one example); W1: (H, D); b1: (H,); W2: (O, H); b2: (O,);
    y: (B, O), or (B,) for a single sigmoid output. hidden: "relu", "tanh" or "sigmoid".
    Returns a dict: loss, dW1, db1, dW2, db2 and, for worked steps, z1, a1, z2, p, dz2, da1, dz1.
    """
    hidden = one_of("hidden", hidden, tuple(HIDDEN))
    output = one_of("output", output, OUTPUTS)
    x = np.atleast_2d(as_array("x", x, ndim=(1, 2)))
    W1 = as_array("W1", W1, ndim=2)
    b1 = as_array("b1", b1, ndim=1)
    W2 = as_array("W2", W2, ndim=2)
    b2 = as_array("b2", b2, ndim=1)
    batch = x.shape[0]
    if batch == 0:
        raise ValueError("x: the batch is empty")
    _check_layer("W1", W1, "b1", b1, x.shape[1], "x's features")
    _check_layer("W2", W2, "b2", b2, W1.shape[0], "the hidden layer")
    y = _targets(as_array("y", y), batch, W2.shape[0], output)
    act, act_grad = HIDDEN[hidden]

    z1 = x @ W1.T + b1
    a1 = act(z1)
    z2 = a1 @ W2.T + b2
    p = sigmoid(z2) if output == "sigmoid" else softmax(z2, axis=1)

    dz2 = (p - y) / batch
    da1 = dz2 @ W2
    dz1 = da1 * act_grad(z1)
    return {
        "loss": _output_loss(z2, y, output),
        "dW1": dz1.T @ x, "db1": dz1.sum(axis=0),
        "dW2": dz2.T @ a1, "db2": dz2.sum(axis=0),
        "z1": z1, "a1": a1, "z2": z2, "p": p, "dz2": dz2, "da1": da1, "dz1": dz1,
    }


def softmax_ce_grad(z, y):
    """Gradient of the batch-mean cross-entropy of softmax(z) w.r.t. the logits: ∂L/∂z = (p̂ − y)/B.

    z: logits (B, K) (a (K,) vector is one example, B = 1); y: labels of the same
    shape, rows summing to 1.
    """
    z = as_array("z", z, ndim=(1, 2))
    y = probabilities("y", y)
    same_shape("z", z, "y", y)
    rows_sum_to_one("y", y)
    batch = 1 if z.ndim == 1 else z.shape[0]
    if batch == 0:
        raise ValueError("z: the batch is empty")
    return (softmax(z) - y) / batch


def symmetric_positive_definite(name, H):
    """H as a float array, checked square, symmetric and positive definite; also its eigenvalues (ascending)."""
    H = as_array(name, H, ndim=2)
    if H.shape[0] != H.shape[1] or H.shape[0] == 0:
        raise ValueError(f"{name}: expected a square matrix, got shape {H.shape}")
    if not np.all(np.isfinite(H)):
        raise ValueError(f"{name}: values must be finite")
    scale = max(np.max(np.abs(H)), np.finfo(float).tiny)
    if np.max(np.abs(H - H.T)) > 1e-10 * scale:
        raise ValueError(f"{name}: a Hessian must be symmetric (H ≠ Hᵀ)")
    eigenvalues = np.linalg.eigvalsh(H)
    if eigenvalues[0] <= 0:
        raise ValueError(f"{name}: must be positive definite, smallest eigenvalue is {eigenvalues[0]:.6g}")
    return H, eigenvalues


def condition_number(H):
    """Condition number of a Hessian: κ = λ_max / λ_min, from H = U·diag(λ)·Uᵀ.

    H must be symmetric positive definite. Large κ → poor conditioning (zigzag descent).
    """
    _, eigenvalues = symmetric_positive_definite("H", H)
    return float(eigenvalues[-1] / eigenvalues[0])


def gd_on_quadratic(H, x0, lr, steps):
    """Gradient descent on f(x) = ½ xᵀHx: x ← x − η ∇f(x) = x − η H x.

    H symmetric positive definite (n × n), x0 of shape (n,), η = lr ≥ 0. Returns the
    iterates x0, x1, …, x_steps as an array of shape (steps + 1, n). With η > 1/λ_max
    the component along the stiff eigenvector flips sign every step (zigzag);
    η > 2/λ_max diverges.
    """
    H, _ = symmetric_positive_definite("H", H)
    x = as_array("x0", x0, ndim=1)
    if x.shape[0] != H.shape[0]:
        raise ValueError(f"x0: expected length {H.shape[0]} to match H, got shape {x.shape}")
    lr = non_negative("lr", lr)
    steps = non_negative_int("steps", steps)
    iterates = [x]
    for _ in range(steps):
        x = x - lr * (H @ x)
        iterates.append(x)
    return np.stack(iterates)
