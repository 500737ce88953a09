"""Generative adversarial networks (sheet: "GAN Objective").

d_real = D(x) on a batch of real examples, d_fake = D(G(z)) on a batch of generated
ones: probabilities in [0, 1], shape (B,) (the two batch sizes may differ).
"""

import numpy as np

from ._checks import as_array, probabilities
from .losses import binary_cross_entropy


def _outputs(name, value):
    arr = probabilities(name, as_array(name, value, ndim=1))
    if arr.size == 0:
        raise ValueError(f"{name}: the batch is empty")
    return arr


def _label(name, value):
    label = probabilities(name, as_array(name, value, ndim=0))
    return float(label)


def gan_value(d_real, d_fake):
    """GAN value function V(D, G) = E[log D(x)] + E[log(1 − D(G(z)))], each E a batch mean.

    D maximizes it, G minimizes it. D(x) = 0 or D(G(z)) = 1 gives −inf (the exact value).
    """
    d_real, d_fake = _outputs("d_real", d_real), _outputs("d_fake", d_fake)
    with np.errstate(divide="ignore"):
        return float(np.mean(np.log(d_real)) + np.mean(np.log(1 - d_fake)))


def discriminator_loss(d_real, d_fake, real_label=0.9, fake_label=0.1):
    """Discriminator loss with label smoothing (real = 0.9, fake = 0.1 on the sheet).

    Binary cross-entropy of D's outputs against the smoothed targets, averaged over all
    the examples of both batches together (B_real + B_fake of them):
        −1/(B_r + B_f) [Σ (y_r log D(x) + (1 − y_r) log(1 − D(x)))
                        + Σ (y_f log D(G(z)) + (1 − y_f) log(1 − D(G(z))))]
    """
    d_real, d_fake = _outputs("d_real", d_real), _outputs("d_fake", d_fake)
    targets = np.concatenate([np.full(d_real.shape, _label("real_label", real_label)),
                              np.full(d_fake.shape, _label("fake_label", fake_label))])
    return binary_cross_entropy(targets, np.concatenate([d_real, d_fake]))
