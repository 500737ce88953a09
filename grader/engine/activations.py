"""Activation functions and their derivatives (sheet: "Activation Functions").

Elementwise functions take a scalar or an array and return the same shape
(a numpy scalar for scalar input).
"""

import numpy as np

from ._checks import as_array, one_of, scalar_or_array


def sigmoid(z):
    """Sigmoid: σ(z) = 1 / (1 + e^−z).

    Stable for any finite z: e^−|z| never overflows; at z = ±1000 the result is
    exactly 1 or 0 with no floating-point warning.
    """
    z = as_array("z", z)
    with np.errstate(under="ignore"):  # e^−1000 rounding to 0 is the right answer
        e = np.exp(-np.abs(z))
    return scalar_or_array(np.where(z >= 0, 1 / (1 + e), e / (1 + e)))


def softmax(z, axis=-1):
    """Softmax: softmax(z_k) = e^{z_k} / Σⱼ e^{z_j}, along `axis` (default: the last).

    Stable: the maximum along `axis` is subtracted first (softmax is unchanged by
    adding a constant), so no exponent exceeds 0.
    """
    z = as_array("z", z, min_ndim=1)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -z.ndim <= axis < z.ndim:
        raise ValueError(f"axis: {axis} is out of range for z of shape {z.shape}")
    shifted = z - np.max(z, axis=axis, keepdims=True)
    with np.errstate(under="ignore"):
        e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def relu(z):
    """ReLU: relu(z) = max(0, z)."""
    return scalar_or_array(np.maximum(as_array("z", z), 0.0))


def tanh(z):
    """Tanh: tanh(z) = (eᶻ − e⁻ᶻ) / (eᶻ + e⁻ᶻ) (numpy's tanh: stable at any z)."""
    return scalar_or_array(np.tanh(as_array("z", z)))


def relu6(z):
    """ReLU6 (MobileNet): ReLU6(z) = min(max(0, z), 6)."""
    return scalar_or_array(np.clip(as_array("z", z), 0.0, 6.0))


def sigmoid_grad(z):
    """Derivative of the sigmoid at z: σ'(z) = σ(z)(1 − σ(z))."""
    s = sigmoid(z)
    return s * (1 - s)


def tanh_grad(z):
    """Derivative of tanh at z: tanh'(z) = 1 − tanh²(z)."""
    t = tanh(z)
    return 1 - t * t


def relu_grad(z):
    """Derivative of ReLU at z: 1 where z > 0, else 0 (relu_grad(0) = 0, PyTorch's choice)."""
    return scalar_or_array((as_array("z", z) > 0).astype(float))


INIT_FOR_ACTIVATION = {"relu": "he", "sigmoid": "he", "tanh": "xavier"}


def recommended_init(activation):
    """The sheet's rule: ReLU/sigmoid → He init · tanh → Xavier init.

    activation: "relu", "sigmoid" or "tanh" (any case); returns "he" or "xavier".
    """
    return INIT_FOR_ACTIVATION[one_of("activation", activation, tuple(INIT_FOR_ACTIVATION))]
