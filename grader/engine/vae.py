"""Variational autoencoder (sheet: "Variational Autoencoder (VAE)").

The encoder outputs μ and log σ² per latent dimension: shape (J,) for one example,
(B, J) for a batch.
"""

import numpy as np

from ._checks import as_array, non_negative, number, same_shape, scalar_or_array


def _finite(name, value, ndim=None):
    arr = as_array(name, value, ndim=ndim)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: values must be finite")
    return arr


def _mu_log_var(mu, log_var):
    mu = _finite("mu", mu, ndim=(1, 2))
    log_var = _finite("log_var", log_var, ndim=(1, 2))
    same_shape("mu", mu, "log_var", log_var)
    return mu, log_var


def vae_kl(mu, log_var):
    """KL divergence to the N(0, I) prior: D_KL = −½ Σⱼ (1 + log σⱼ² − μⱼ² − σⱼ²).

    Summed over the latent dimensions j; for a batch (B, J), the mean over the B examples.
    """
    mu, log_var = _mu_log_var(mu, log_var)
    per_example = -0.5 * np.sum(1 + log_var - mu**2 - np.exp(log_var), axis=-1)
    return float(np.mean(per_example))


def reparameterize(mu, log_var, eps):
    """Reparameterization trick: z = μ + σ ⊙ ε, σ = exp(½ log σ²), ε ~ N(0, I) given."""
    mu, log_var = _mu_log_var(mu, log_var)
    eps = _finite("eps", eps)
    same_shape("mu", mu, "eps", eps)
    return mu + np.exp(0.5 * log_var) * eps


def elbo(recon_log_likelihood, kl):
    """ELBO (to maximize): L_VAE = E[log p(x | z)] − D_KL(q(z | x) ‖ p(z)).

    recon_log_likelihood: the reconstruction term E[log p(x | z)], a number (or an
    array of them); kl: the KL term, >= 0 (a KL divergence is never negative).
    """
    if np.ndim(recon_log_likelihood) == 0 and np.ndim(kl) == 0:
        return number("recon_log_likelihood", recon_log_likelihood) - non_negative("kl", kl)
    recon = _finite("recon_log_likelihood", recon_log_likelihood)
    kl = _finite("kl", kl)
    if np.any(kl < 0):
        raise ValueError("kl: a KL divergence is never negative")
    return scalar_or_array(recon - kl)
