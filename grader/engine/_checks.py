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


def _whole_number(value):
    """int(value) when value is a whole number (3, 3.0, np.int64(3)), else None (also for bool, nan, "3")."""
    if isinstance(value, (bool, str, bytes)):
        return None
    try:
        as_int = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return as_int if as_int == value else None


def non_negative_int(name, value):
    as_int = _whole_number(value)
    if as_int is None or as_int < 0:
        raise ValueError(f"{name}: expected a non-negative integer, got {value!r}")
    return as_int


def positive_int(name, value):
    as_int = _whole_number(value)
    if as_int is None or as_int < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return as_int


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


def number(name, value):
    """Return `value` as a finite Python float."""
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a number, got {value!r}") from exc
    if not np.isfinite(out):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return out


def non_negative(name, value):
    """Return `value` as a finite float that is >= 0."""
    out = number(name, value)
    if out < 0:
        raise ValueError(f"{name}: must be >= 0, got {value!r}")
    return out


def rows_sum_to_one(name, arr, tol=1e-3):
    """Check that every row (last axis) of a probability array sums to 1 within `tol`."""
    sums = np.sum(arr, axis=-1)
    if np.any(np.abs(sums - 1) > tol):
        raise ValueError(f"{name}: each row must sum to 1 (within {tol}), got sums {np.round(sums, 6).tolist()}")


def one_of(name, value, allowed):
    """Return `value` lower-cased if it is one of `allowed` (strings)."""
    key = str(value).lower() if isinstance(value, str) else value
    if key not in allowed:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, allowed))}, got {value!r}")
    return key


def scalar_or_array(arr):
    """Return a 0-d array as a numpy scalar, anything else unchanged."""
    return arr[()] if isinstance(arr, np.ndarray) and arr.ndim == 0 else arr
