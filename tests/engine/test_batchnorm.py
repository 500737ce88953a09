"""Batch norm forward (training mode) against F.batch_norm(training=True)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader import engine

RNG = np.random.default_rng(11)


def t(a):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64)


def torch_batch_norm(x, gamma, beta, eps):
    n_features = x.shape[1]
    return F.batch_norm(t(x), torch.zeros(n_features, dtype=torch.float64), torch.ones(n_features, dtype=torch.float64),
                        weight=t(gamma), bias=t(beta), training=True, momentum=0.1, eps=eps).numpy()


@pytest.mark.parametrize("shape", [(8, 3), (2, 5), (4, 3, 5, 5)])
@pytest.mark.parametrize("eps", [1e-5, 1e-3])
def test_batchnorm_matches_torch_training_mode(shape, eps):
    x = RNG.normal(loc=3, scale=2, size=shape)
    gamma, beta = RNG.normal(size=shape[1]), RNG.normal(size=shape[1])
    got = engine.batchnorm_forward(x, gamma, beta, eps=eps)
    np.testing.assert_allclose(got, torch_batch_norm(x, gamma, beta, eps), rtol=1e-10, atol=1e-12)


def test_batchnorm_uses_biased_variance_not_unbiased():
    """Misconception check: dividing by B − 1 gives a different answer from torch's and the sheet's."""
    x = RNG.normal(size=(4, 2))
    gamma, beta = np.ones(2), np.zeros(2)
    unbiased = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0, ddof=1) + 1e-5)
    reference = torch_batch_norm(x, gamma, beta, 1e-5)
    assert not np.allclose(unbiased, reference, rtol=1e-3)
    np.testing.assert_allclose(engine.batchnorm_forward(x, gamma, beta), reference, rtol=1e-10, atol=1e-12)


def test_batchnorm_stats_on_request():
    x = RNG.normal(size=(6, 3))
    stats = engine.batchnorm_forward(x, 2.0, 0.5, return_stats=True)
    np.testing.assert_allclose(stats["mean"], t(x).mean(dim=0).numpy(), rtol=1e-12)
    np.testing.assert_allclose(stats["var"], t(x).var(dim=0, unbiased=False).numpy(), rtol=1e-12)
    np.testing.assert_allclose(stats["y"], 2.0 * stats["x_hat"] + 0.5, rtol=1e-14)
    np.testing.assert_allclose(stats["x_hat"].mean(axis=0), 0.0, atol=1e-12)


def test_batchnorm_one_feature_worked_example():
    # x = [1, 3]: μ = 2, σ² = 1, x̂ = [−1, 1]/√(1 + ε)
    got = engine.batchnorm_forward([1.0, 3.0], 1.0, 0.0, eps=0.0)
    np.testing.assert_allclose(got, [-1.0, 1.0])


@pytest.mark.parametrize("kwargs, name", [
    (dict(gamma=np.ones(4)), "gamma"),
    (dict(beta=np.ones((3, 1))), "beta"),
    (dict(eps=-1e-5), "eps"),
    (dict(x=np.zeros((0, 3))), "x"),
    (dict(x=np.ones((5, 3)), eps=0.0), "eps"),
])
def test_batchnorm_errors_name_the_argument(kwargs, name):
    args = dict(x=RNG.normal(size=(5, 3)), gamma=np.ones(3), beta=np.zeros(3))
    args.update(kwargs)
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        engine.batchnorm_forward(**args)
