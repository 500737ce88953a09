"""Regularization (sheet: "Regularization"). Bias terms are not regularized: pass weights only."""

import numpy as np

from ._checks import as_array, finite, non_negative, number, positive_int, same_shape


def _weight_list(weights):
    """A list of weight arrays; a single array counts as one."""
    if isinstance(weights, np.ndarray):
        weights = [weights]
    if not isinstance(weights, (list, tuple)):
        raise ValueError(f"weights: expected a list of weight arrays, got {type(weights).__name__}")
    return [finite(f"weights[{i}]", w) for i, w in enumerate(weights)]


def l2_objective(loss, weights, lam):
    """L2-regularized objective (weight decay): L̃ = L(y, p̂) + (λ/2)‖w‖².

    ‖w‖² is the sum of squares of every entry of every array in `weights`
    (a list of weight arrays, biases left out); λ = lam ≥ 0.
    """
    penalty = sum(float(np.sum(w * w)) for w in _weight_list(weights))
    return number("loss", loss) + non_negative("lam", lam) / 2 * penalty


def l1_objective(loss, weights, lam):
    """L1-regularized objective (sparsity): L̃ = L(y, p̂) + λ‖w‖₁.

    ‖w‖₁ is the sum of absolute values of every entry of every array in `weights`; λ = lam ≥ 0.
    """
    penalty = sum(float(np.sum(np.abs(w))) for w in _weight_list(weights))
    return number("loss", loss) + non_negative("lam", lam) * penalty


def l2_update(w, grad, lr, lam):
    """L2 weight update (shrink step): w ← w(1 − ηλ) − η ∂L/∂w, η = lr ≥ 0, λ = lam ≥ 0.

    The same as SGD on L + (λ/2)‖w‖², whose gradient is ∂L/∂w + λw.
    """
    w = as_array("w", w)
    grad = as_array("grad", grad)
    same_shape("w", w, "grad", grad)
    lr = non_negative("lr", lr)
    return w * (1 - lr * non_negative("lam", lam)) - lr * grad


def dropout(x, mask, p_drop, inverted=True):
    """Dropout: randomly zero out neurons during training (mask given: 1 = keep, 0 = drop).

    Inverted dropout (the default, as PyTorch): x ⊙ mask / (1 − p_drop), so the expected
    activation is unchanged and nothing is rescaled at test time. inverted=False: x ⊙ mask.
    p_drop in [0, 1) (the drop probability); mask has x's shape, entries 0 or 1.
    """
    x = as_array("x", x)
    mask = as_array("mask", mask)
    same_shape("x", x, "mask", mask)
    if not np.all((mask == 0) | (mask == 1)):
        raise ValueError("mask: entries must be 0 (drop) or 1 (keep)")
    p_drop = number("p_drop", p_drop)
    if not 0 <= p_drop < 1:
        raise ValueError(f"p_drop: the drop probability must lie in [0, 1), got {p_drop!r}")
    kept = x * mask
    return kept / (1 - p_drop) if inverted else kept


def early_stopping(val_losses, patience):
    """Early stopping (regularization in time): stop once `patience` epochs pass with no improvement.

    Epochs count from 1. best_epoch is the epoch of the lowest validation loss so far
    (an improvement must be strict: a tie keeps the earlier epoch). Training stops at
    the first epoch e with e − best_epoch = patience; if that never happens it runs to
    the last epoch. Returns (stop_epoch, best_epoch); restore the weights of best_epoch.
    """
    losses = finite("val_losses", val_losses)
    if losses.ndim != 1 or losses.size == 0:
        raise ValueError(f"val_losses: expected a non-empty list of numbers, got shape {losses.shape}")
    patience = positive_int("patience", patience)
    best_epoch, best = 1, losses[0]
    for epoch, loss in enumerate(losses[1:], start=2):
        if loss < best:
            best_epoch, best = epoch, loss
        elif epoch - best_epoch >= patience:
            return epoch, best_epoch
    return int(losses.size), best_epoch
