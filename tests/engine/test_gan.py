"""gan.*: the GAN value function and the label-smoothed discriminator loss."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader import engine


def _t(a):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64)


def _outputs(seed, n):
    return np.random.default_rng(seed).uniform(0.02, 0.98, size=n)


@pytest.mark.parametrize("n_real, n_fake", [(4, 4), (3, 5)])
def test_gan_value_against_torch(n_real, n_fake):
    d_real, d_fake = _outputs(0, n_real), _outputs(1, n_fake)
    expected = torch.log(_t(d_real)).mean() + torch.log(1 - _t(d_fake)).mean()
    got = engine.gan_value(d_real, d_fake)
    assert got == pytest.approx(float(expected), rel=1e-12)
    # the same value as minus D's unsmoothed BCE on each batch
    bce = F.binary_cross_entropy(_t(d_real), torch.ones(n_real, dtype=torch.float64)) + \
        F.binary_cross_entropy(_t(d_fake), torch.zeros(n_fake, dtype=torch.float64))
    assert got == pytest.approx(-float(bce), rel=1e-12)


def test_gan_value_worked_example():
    # D undecided (½ everywhere): 2 log ½ = −log 4, the value at the game's equilibrium
    assert engine.gan_value([0.5, 0.5], [0.5]) == pytest.approx(-np.log(4))
    assert engine.gan_value([0.0], [0.5]) == -np.inf


@pytest.mark.parametrize("n_real, n_fake", [(4, 4), (2, 6)])
def test_discriminator_loss_against_torch_bce_with_smoothed_targets(n_real, n_fake):
    d_real, d_fake = _outputs(2, n_real), _outputs(3, n_fake)
    targets = torch.cat([torch.full((n_real,), 0.9, dtype=torch.float64), torch.full((n_fake,), 0.1, dtype=torch.float64)])
    expected = F.binary_cross_entropy(torch.cat([_t(d_real), _t(d_fake)]), targets)
    assert engine.discriminator_loss(d_real, d_fake) == pytest.approx(float(expected), rel=1e-12)


def test_discriminator_loss_explicit_logs_and_custom_labels():
    d_real, d_fake = _t(_outputs(4, 3)), _t(_outputs(5, 3))
    real_label, fake_label = 0.8, 0.05
    terms = torch.cat([real_label * torch.log(d_real) + (1 - real_label) * torch.log(1 - d_real),
                       fake_label * torch.log(d_fake) + (1 - fake_label) * torch.log(1 - d_fake)])
    got = engine.discriminator_loss(d_real.numpy(), d_fake.numpy(), real_label=real_label, fake_label=fake_label)
    assert got == pytest.approx(-float(terms.mean()), rel=1e-12)


def test_discriminator_loss_worked_example_and_smoothing_matters():
    # each example: −[0.9 ln 0.9 + 0.1 ln 0.1] = 0.3250829734
    assert engine.discriminator_loss([0.9], [0.1]) == pytest.approx(0.3250829734)
    unsmoothed = engine.discriminator_loss([0.9], [0.1], real_label=1.0, fake_label=0.0)
    assert unsmoothed == pytest.approx(-np.log(0.9))  # 0.1053605157
    assert unsmoothed != pytest.approx(engine.discriminator_loss([0.9], [0.1]), rel=1e-3)


def test_domain_errors():
    with pytest.raises(ValueError, match=r"^d_real:"):
        engine.gan_value([1.2, 0.5], [0.5])
    with pytest.raises(ValueError, match=r"^d_fake:"):
        engine.gan_value([0.5], [-0.1])
    with pytest.raises(ValueError, match=r"^d_fake:"):
        engine.discriminator_loss([0.5], [1.5])
    with pytest.raises(ValueError, match=r"^d_real:"):
        engine.discriminator_loss([], [0.5])
    with pytest.raises(ValueError, match=r"^real_label:"):
        engine.discriminator_loss([0.5], [0.5], real_label=1.1)
    with pytest.raises(ValueError, match=r"^fake_label:"):
        engine.discriminator_loss([0.5], [0.5], fake_label=-0.1)
