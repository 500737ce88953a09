"""Xavier / He initialization against torch.nn.init and calculate_gain; the sheet's init rules."""

import math

import numpy as np
import pytest
import torch

from grader import engine

N_IN, N_OUT = 400, 600  # 240 000 samples: sample std within ~0.3 % of the true one


@pytest.mark.parametrize("n_in, n_out", [(1, 1), (3, 5), (256, 128), (784, 10)])
def test_xavier_bound_is_torch_formula(n_in, n_out):
    gain = torch.nn.init.calculate_gain("linear")  # xavier_uniform_'s default gain = 1
    assert engine.xavier_uniform_bound(n_in, n_out) == pytest.approx(gain * math.sqrt(6.0 / (n_in + n_out)), rel=1e-15)


@pytest.mark.parametrize("n_in", [1, 3, 256, 784])
def test_he_std_is_torch_kaiming_formula(n_in):
    std = torch.nn.init.calculate_gain("relu") / math.sqrt(n_in)  # kaiming_normal_(mode="fan_in")
    assert engine.he_normal_std(n_in) == pytest.approx(std, rel=1e-15)


def test_xavier_uniform_statistics_match_torch():
    weights = engine.xavier_uniform(N_IN, N_OUT, np.random.default_rng(0))
    reference = torch.nn.init.xavier_uniform_(torch.empty(N_OUT, N_IN, dtype=torch.float64), generator=torch.Generator().manual_seed(0))
    reference = reference.numpy()
    bound = engine.xavier_uniform_bound(N_IN, N_OUT)
    assert weights.shape == reference.shape == (N_OUT, N_IN)  # (fan_out, fan_in) as torch
    assert np.abs(weights).max() <= bound and np.abs(reference).max() <= bound
    assert np.abs(weights).max() == pytest.approx(np.abs(reference).max(), rel=1e-3)
    assert weights.std() == pytest.approx(reference.std(), rel=0.01)
    assert weights.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    assert abs(weights.mean()) < 0.01 * bound


def test_he_normal_statistics_match_torch():
    weights = engine.he_normal(N_IN, N_OUT, np.random.default_rng(1))
    reference = torch.nn.init.kaiming_normal_(torch.empty(N_OUT, N_IN, dtype=torch.float64), mode="fan_in",
                                              nonlinearity="relu", generator=torch.Generator().manual_seed(1)).numpy()
    assert weights.shape == reference.shape == (N_OUT, N_IN)
    assert weights.std() == pytest.approx(reference.std(), rel=0.01)
    assert weights.std() == pytest.approx(engine.he_normal_std(N_IN), rel=0.01)
    assert abs(weights.mean()) < 0.01 * engine.he_normal_std(N_IN)


def test_same_generator_state_same_weights():
    a = engine.he_normal(5, 3, np.random.default_rng(42))
    b = engine.he_normal(5, 3, np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, engine.he_normal(5, 3, np.random.default_rng(43)))


def test_init_bias_is_zeros_like_a_fresh_torch_bias_after_zeros_():
    np.testing.assert_array_equal(engine.init_bias(7), torch.nn.init.zeros_(torch.empty(7)).numpy())
    assert engine.init_bias(0).shape == (0,)


def test_recommended_init_rules_and_their_functions():
    """ReLU/sigmoid → He (N(0, √(2/n_in))), tanh → Xavier (U(±√(6/(n_in+n_out))))."""
    assert [engine.recommended_init(a) for a in ("relu", "sigmoid", "tanh")] == ["he", "he", "xavier"]


@pytest.mark.parametrize("call, name", [
    (lambda: engine.xavier_uniform_bound(0, 3), "n_in"),
    (lambda: engine.xavier_uniform_bound(3, -1), "n_out"),
    (lambda: engine.he_normal_std(2.5), "n_in"),
    (lambda: engine.he_normal(3, 0, np.random.default_rng(0)), "n_out"),
    (lambda: engine.he_normal(3, 2, 42), "rng"),
    (lambda: engine.xavier_uniform(3, 2, np.random.RandomState(0)), "rng"),
    (lambda: engine.init_bias(-1), "n"),
])
def test_init_errors_name_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()
