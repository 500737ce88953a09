"""vae.*: KL to the N(0, I) prior, reparameterization, ELBO."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays
from torch.distributions import Normal, kl_divergence

from grader import engine


def _t(a):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64)


def _torch_kl(mu, log_var):
    per_example = kl_divergence(Normal(_t(mu), torch.exp(0.5 * _t(log_var))), Normal(0.0, 1.0)).sum(-1)
    return float(per_example.mean())


@pytest.mark.parametrize("shape", [(3,), (4, 3), (1, 5)])
def test_kl_against_torch_distributions(shape):
    rng = np.random.default_rng(sum(shape))
    mu, log_var = rng.normal(size=shape), rng.normal(size=shape)
    assert engine.vae_kl(mu, log_var) == pytest.approx(_torch_kl(mu, log_var), rel=1e-12)


def test_kl_batch_is_mean_over_examples_not_sum():
    mu = np.array([[1.0, 0.0], [0.0, 0.0]])
    log_var = np.zeros((2, 2))
    assert engine.vae_kl(mu, log_var) == pytest.approx(0.25)  # (½ + 0) / 2


def test_kl_worked_examples():
    assert engine.vae_kl([0.0, 0.0], [0.0, 0.0]) == 0  # q = p
    assert engine.vae_kl([1.0], [0.0]) == pytest.approx(0.5)  # −½(1 + 0 − 1 − 1)
    # σ² = e: −½(1 + 1 − 0 − e) = (e − 2)/2
    assert engine.vae_kl([0.0], [1.0]) == pytest.approx((np.e - 2) / 2)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (2, 3), elements=st.floats(-3, 3)), arrays(np.float64, (2, 3), elements=st.floats(-3, 3)))
def test_kl_is_never_negative_and_matches_torch(mu, log_var):
    got = engine.vae_kl(mu, log_var)
    assert got >= -1e-12
    assert got == pytest.approx(_torch_kl(mu, log_var), rel=1e-9, abs=1e-12)


def test_reparameterize_against_torch():
    rng = np.random.default_rng(1)
    mu, log_var, eps = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    expected = _t(mu) + torch.exp(0.5 * _t(log_var)) * _t(eps)
    np.testing.assert_allclose(engine.reparameterize(mu, log_var, eps), expected.numpy(), rtol=1e-12)


def test_reparameterize_uses_sigma_not_variance():
    # log σ² = ln 4: σ = 2, σ² = 4; z = 1 + 2·1.5 = 4
    np.testing.assert_allclose(engine.reparameterize([1.0], [np.log(4.0)], [1.5]), [4.0])


def test_elbo_is_reconstruction_minus_kl():
    assert engine.elbo(-10.0, 2.5) == pytest.approx(-12.5)
    rng = np.random.default_rng(2)
    mu, log_var = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    assert engine.elbo(-4.0, engine.vae_kl(mu, log_var)) == pytest.approx(-4.0 - _torch_kl(mu, log_var))
    np.testing.assert_allclose(engine.elbo(np.array([-1.0, -2.0]), np.array([0.5, 0.25])), [-1.5, -2.25])


def test_domain_errors():
    with pytest.raises(ValueError, match=r"^mu and log_var:"):
        engine.vae_kl(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match=r"^mu and log_var:"):
        engine.reparameterize(np.zeros((2, 3)), np.zeros((3, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"^mu and eps:"):
        engine.reparameterize(np.zeros(3), np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match=r"^kl:"):
        engine.elbo(-1.0, -0.5)
    with pytest.raises(ValueError, match=r"^kl:"):
        engine.elbo(np.array([-1.0]), np.array([-0.5]))
    with pytest.raises(ValueError, match=r"^log_var:"):
        engine.vae_kl([0.0], [np.inf])
