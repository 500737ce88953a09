"""Weight initialization (sheet: "Weight Initialization").

Weight matrices have shape (n_out, n_in), as PyTorch's nn.Linear; randomness comes
from the numpy Generator passed in, so the same generator state gives the same weights.
"""

import numpy as np

from ._checks import positive_int, non_negative_int


def _generator(rng):
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: expected a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    return rng


def xavier_uniform_bound(n_in, n_out):
    """Xavier/Glorot bound: W ~ U(−√(6/(n_in + n_out)), +√(6/(n_in + n_out))); returns √(6/(n_in + n_out))."""
    return float(np.sqrt(6 / (positive_int("n_in", n_in) + positive_int("n_out", n_out))))


def xavier_uniform(n_in, n_out, rng):
    """Xavier/Glorot (symmetric activations: tanh): W ~ U(−√(6/(n_in+n_out)), √(6/(n_in+n_out))), shape (n_out, n_in)."""
    bound = xavier_uniform_bound(n_in, n_out)
    return _generator(rng).uniform(-bound, bound, size=(int(n_out), int(n_in)))


def he_normal_std(n_in):
    """He/Kaiming standard deviation: W ~ N(0, √(2/n_in)); returns √(2/n_in)."""
    return float(np.sqrt(2 / positive_int("n_in", n_in)))


def he_normal(n_in, n_out, rng):
    """He/Kaiming (ReLU / sigmoid): W ~ N(0, √(2/n_in)) (the second argument is the std), shape (n_out, n_in)."""
    std = he_normal_std(n_in)
    positive_int("n_out", n_out)
    return _generator(rng).normal(0.0, std, size=(int(n_out), int(n_in)))


def init_bias(n):
    """Bias → always initialize to 0: a vector of n zeros.

    (The sheet's other rules are facts, not formulas: zero weights → every neuron
    learns the same thing (symmetry problem); too large → exploding/vanishing gradients.)
    """
    return np.zeros(non_negative_int("n", n))
