"""Loss functions (sheet: "Loss Functions"). B is the batch size: the first axis."""

import numpy as np

from ._checks import as_array, probabilities, rows_sum_to_one, same_shape


def _batch(name, arr):
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(f"{name}: expected a non-empty batch (first axis = examples), got shape {arr.shape}")
    return arr.shape[0]


def weighted_log(weight, p):
    """weight · log p elementwise, with 0 · log 0 = 0 and weight · log 0 = −inf for weight > 0.

    No floating-point warning is raised: log is only taken where p > 0.
    """
    log_p = np.log(p, out=np.full_like(p, -np.inf), where=p > 0)
    return weight * np.where(weight > 0, log_p, 0.0)


def mse(y, p):
    """Mean squared error: L_MSE(y, p̂) = (1/B) Σᵢ (y⁽ⁱ⁾ − p̂⁽ⁱ⁾)².

    y, p of shape (B,) or (B, D); for (B, D) each example contributes ‖yᵢ − pᵢ‖²,
    so the sum runs over every element and is divided by B (not by B·D).
    """
    y = as_array("y", y, ndim=(1, 2))
    p = as_array("p", p, ndim=(1, 2))
    same_shape("y", y, "p", p)
    batch = _batch("y", y)
    return float(np.sum((y - p) ** 2) / batch)


def binary_cross_entropy(y, p):
    """Binary cross-entropy: L_BCE = −(1/B) Σᵢ [y⁽ⁱ⁾ log p̂⁽ⁱ⁾ + (1 − y⁽ⁱ⁾) log(1 − p̂⁽ⁱ⁾)].

    y (targets, hard or soft) and p (predicted probabilities) in [0, 1], same shape,
    (B,) or (B, D) (then summed over D, divided by B). A log(0) term whose weight is 0
    counts as 0 (0·log 0 = 0), so p = 0 or 1 is fine when it matches the target.
    A confident wrong prediction (p = 0 with y > 0, or p = 1 with y < 1) returns
    float('inf'), the exact value; PyTorch instead clamps each log at −100.
    """
    y = probabilities("y", as_array("y", y, ndim=(1, 2)))
    p = probabilities("p", as_array("p", p, ndim=(1, 2)))
    same_shape("y", y, "p", p)
    batch = _batch("y", y)
    total = weighted_log(y, p) + weighted_log(1 - y, 1 - p)
    return float(0.0 - np.sum(total) / batch)  # 0.0 − … turns −0.0 into 0.0


def categorical_cross_entropy(y, p):
    """Categorical cross-entropy: L_CE = −(1/B) Σᵢ Σₖ yₖ⁽ⁱ⁾ log p̂ₖ⁽ⁱ⁾.

    y (one-hot or soft labels) and p (predicted class probabilities) of shape (B, K),
    each row of both summing to 1 (within 1e-3); a 1-D (K,) input is one example (B = 1).
    0·log 0 = 0; a class with y > 0 and p = 0 gives float('inf').
    """
    y = probabilities("y", as_array("y", y, ndim=(1, 2)))
    p = probabilities("p", as_array("p", p, ndim=(1, 2)))
    same_shape("y", y, "p", p)
    y, p = np.atleast_2d(y), np.atleast_2d(p)
    batch = _batch("y", y)
    rows_sum_to_one("y", y)
    rows_sum_to_one("p", p)
    return float(0.0 - np.sum(weighted_log(y, p)) / batch)
