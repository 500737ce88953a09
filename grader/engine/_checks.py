"""Domain checks shared by the engine modules. Every failure is a ValueError naming the argument."""

import numpy as np


def as_array(name, value, ndim=None, min_ndim=None):
    """Return `value` as a float array; check its number of dimensions."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected numbers, got {type(value).__name__}") from exc
    if ndim is not None and arr.ndim not in np.atleast_1d(ndim):
        raise ValueError(f"{name}: expected {ndim}-D input, got shape {arr.shape}")
    if min_ndim is not None and arr.ndim < min_ndim:
        raise ValueError(f"{name}: expected at least {min_ndim}-D input, got shape {arr.shape}")
    return arr


def same_shape(name_a, a, name_b, b):
    if np.shape(a) != np.shape(b):
        raise ValueError(f"{name_a} and {name_b}: shapes differ, {np.shape(a)} vs {np.shape(b)}")


def non_negative_int(name, value):
    if isinstance(value, bool) or int(value) != value or value < 0:
        raise ValueError(f"{name}: expected a non-negative integer, got {value!r}")
    return int(value)


def positive_int(name, value):
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def probabilities(name, value):
    arr = as_array(name, value)
    if np.any(np.isnan(arr)) or np.any(arr < 0) or np.any(arr > 1):
        raise ValueError(f"{name}: probabilities must lie in [0, 1]")
    return arr


def finite(name, value):
    arr = as_array(name, value)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: values must be finite")
    return arr
