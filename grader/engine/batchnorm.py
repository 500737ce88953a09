"""Batch normalization, training-mode forward pass (sheet: "Batch Normalization")."""

import numpy as np

from ._checks import as_array, non_negative


def _per_feature(name, value, n_features):
    arr = as_array(name, value)
    if arr.shape not in ((), (n_features,)):
        raise ValueError(f"{name}: expected a scalar or shape ({n_features},) (one per feature), got {arr.shape}")
    return arr


def batchnorm_forward(x, gamma, beta, eps=1e-5, return_stats=False):
    """Batch norm: x̂ = (x − μ_B) / √(σ_B² + ε), then y = γ x̂ + β (learnable γ, β).

    μ_B and σ_B² are the batch mean and the biased variance (divide by B) of each
    feature. x: (B,) one feature, (B, D) features on axis 1, or (B, C, H, W) channels
    on axis 1 (statistics over every axis but 1, as PyTorch's BatchNorm2d).
    gamma, beta: scalars or shape (D,)/(C,). Returns y, or with return_stats=True a dict
    {"y", "x_hat", "mean", "var"}.
    """
    x = as_array("x", x, min_ndim=1)
    if x.shape[0] == 0:
        raise ValueError("x: the batch is empty")
    eps = non_negative("eps", eps)
    axes = (0,) + tuple(range(2, x.ndim))
    n_features = 1 if x.ndim == 1 else x.shape[1]
    gamma = _per_feature("gamma", gamma, n_features)
    beta = _per_feature("beta", beta, n_features)
    feature_shape = (-1,) + (1,) * (x.ndim - 2) if x.ndim > 1 else ()

    mean = x.mean(axis=axes)
    var = x.var(axis=axes)  # ddof=0: the biased batch variance
    if np.any(var + eps == 0):
        raise ValueError("eps: must be > 0 when a feature has zero variance in the batch")
    x_hat = (x - mean.reshape(feature_shape)) / np.sqrt(var.reshape(feature_shape) + eps)
    y = gamma.reshape(feature_shape if gamma.ndim else ()) * x_hat + beta.reshape(feature_shape if beta.ndim else ())
    if return_stats:
        return {"y": y, "x_hat": x_hat, "mean": mean, "var": var}
    return y
