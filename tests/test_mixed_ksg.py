"""Mixed-variable KSG (Gao et al. 2017) against exact values."""

import numpy as np
import pytest
from scipy.special import digamma

from mist.evaluate.estimators import make_baseline
from mist.evaluate.ksg import ksg_mi
from mist.evaluate.mixed_ksg import mixed_ksg_mi


def _plugin(x, y):
    _, xi = np.unique(x, return_inverse=True)
    _, yi = np.unique(y, return_inverse=True)
    p = np.zeros((xi.max() + 1, yi.max() + 1))
    np.add.at(p, (xi, yi), 1.0 / len(x))
    px, py = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
    nz = p > 0
    return float((p[nz] * np.log(p[nz] / (px @ py)[nz])).sum())


def _brute_force(x, y, k=5):
    """The paper's formula with O(N^2) distance matrices (independent of the cKDTree code)."""
    x, y = np.reshape(x, (len(x), -1)).astype(float), np.reshape(y, (len(y), -1)).astype(float)
    dx = np.abs(x[:, None] - x[None]).max(-1)
    dy = np.abs(y[:, None] - y[None]).max(-1)
    d = np.maximum(dx, dy)
    rho = np.sort(d, axis=1)[:, k]
    k_i = np.where(rho == 0, (d == 0).sum(1) - 1, k)
    nx, ny = (dx <= rho[:, None]).sum(1) - 1, (dy <= rho[:, None]).sum(1) - 1
    return float(np.mean(digamma(k_i) + np.log(len(x)) - np.log(nx) - np.log(ny)))


@pytest.mark.parametrize("kind", ["discrete", "mixed", "continuous"])
def test_matches_the_formula_computed_by_brute_force(kind):
    rng = np.random.default_rng(4)
    x = rng.integers(0, 3, (300, 2)).astype(float)
    y = x[:, :1] + (rng.integers(0, 2, (300, 1)) if kind == "discrete" else rng.standard_normal((300, 1)))
    if kind == "continuous":
        x = x + rng.standard_normal(x.shape)
    assert mixed_ksg_mi(x, y) == pytest.approx(_brute_force(x, y), abs=1e-12)


def test_on_discrete_data_it_approaches_the_plugin_estimate():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, 5000)
    y = np.where(rng.random(5000) < 0.8, x, rng.integers(0, 3, 5000))
    assert mixed_ksg_mi(x, y) == pytest.approx(_plugin(x, y), abs=0.01)


def test_on_continuous_data_it_tracks_ksg_and_the_truth():
    rng = np.random.default_rng(1)
    z = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], 3000)
    truth = -0.5 * np.log(1 - 0.64)
    assert mixed_ksg_mi(z[:, 0], z[:, 1]) == pytest.approx(truth, abs=0.08)
    assert mixed_ksg_mi(z[:, 0], z[:, 1]) == pytest.approx(ksg_mi(z[:, 0], z[:, 1]), abs=0.08)


def test_class_labels_with_a_continuous_side():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 2000)
    x = rng.standard_normal(2000) + 4.0 * y    # nearly separable: MI close to log 2
    truth = np.log(2) - 0.03  # classes 4 sd apart: H(Y | X) is about 0.03 nats
    # within its known small-k bias (psi(k) - log k per sample where a class is locally pure)
    assert mixed_ksg_mi(x, y) == pytest.approx(truth, abs=0.15)


def test_is_a_harness_baseline_with_an_interval():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, 400)
    r = make_baseline("mixed_ksg", {"mixed_ksg": {"n_boot": 5}}).estimate(x, x + rng.integers(0, 2, 400))
    lo, hi = r.interval(0.9)
    assert lo <= r.mi <= hi


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        mixed_ksg_mi(np.zeros(5), np.zeros(6))
    with pytest.raises(ValueError, match="k must be"):
        mixed_ksg_mi(np.zeros(5), np.zeros(5), k=0)
