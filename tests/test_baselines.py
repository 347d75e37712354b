"""Tests of the classical baselines: KSG and the Gaussian / CCA estimator."""

import numpy as np
import pytest

from mist.evaluate.estimators import CCA, KSG
from mist.evaluate.gaussian_baseline import gaussian_mi
from mist.evaluate.ksg import ksg_bootstrap, ksg_mi


def _bivariate(rho, n, seed=0):
    rng = np.random.default_rng(seed)
    xy = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], size=n)
    return xy[:, 0], xy[:, 1]


def test_ksg_bivariate_gaussian():
    x, y = _bivariate(0.8, 2000)
    true = -0.5 * np.log(1 - 0.8**2)  # 0.5108
    assert abs(ksg_mi(x, y, k=5) - true) < 0.05
    assert KSG(k=5, n_boot=0).estimate(x[:, None], y[:, None]).mi == pytest.approx(ksg_mi(x, y))


def test_ksg_independent_near_zero():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2000, 2)), rng.standard_normal((2000, 1))
    est = ksg_mi(x, y)
    assert abs(est) < 0.05
    assert ksg_mi(x, y, clip=True) == max(est, 0.0)


def test_ksg_deterministic_and_tie_robust():
    x = np.repeat(np.arange(50.0), 4)  # heavy ties
    y = x + np.random.default_rng(2).standard_normal(200)
    a, b = ksg_mi(x, y), ksg_mi(x, y)
    assert a == b and np.isfinite(a) and a > 0.5


@pytest.mark.parametrize(
    "x, y, k",
    [
        (np.array([0.0, np.nan, 1.0, 2.0, 3.0, 4.0, 5.0]), np.arange(7.0), 2),
        (np.array([0.0, np.inf, 1.0, 2.0, 3.0, 4.0, 5.0]), np.arange(7.0), 2),
        (np.arange(10.0), np.arange(9.0), 2),
        (np.arange(5.0), np.arange(5.0), 5),
        (np.arange(10.0), np.arange(10.0), 0),
        (np.zeros((4, 2, 2)), np.zeros(4), 1),
    ],
)
def test_ksg_input_validation(x, y, k):
    with pytest.raises(ValueError):
        ksg_mi(x, y, k=k)


def test_ksg_bootstrap_ordered_quantiles():
    x, y = _bivariate(0.6, 400, seed=3)
    levels = (0.05, 0.25, 0.5, 0.75, 0.95)
    out = ksg_bootstrap(x, y, k=5, n_boot=10, rng=0, levels=levels)
    qs = out["quantiles"]
    assert list(qs) == [0.05, 0.25, 0.5, 0.75, 0.95]
    vals = list(qs.values())
    assert vals == sorted(vals)
    assert out["median"] == pytest.approx(qs[0.5])
    assert out["n_sub"] == 200 and out["n_boot"] == 10
    assert ksg_bootstrap(x, y, n_boot=10, rng=0, levels=levels) == out  # seeded


def test_gaussian_cca_exact():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((6, 6))
    cov = a @ a.T + 0.5 * np.eye(6)
    true = 0.5 * (
        np.linalg.slogdet(cov[:3, :3])[1] + np.linalg.slogdet(cov[3:, 3:])[1] - np.linalg.slogdet(cov)[1]
    )
    z = rng.multivariate_normal(np.zeros(6), cov, size=100_000)
    assert abs(gaussian_mi(z[:, :3], z[:, 3:]) - true) < 0.01


def test_gaussian_rank_invariant_to_monotone_transform():
    rng = np.random.default_rng(5)
    z = rng.multivariate_normal(np.zeros(3), [[1, 0.7, 0.2], [0.7, 1, 0.1], [0.2, 0.1, 1]], size=500)
    x, y = z[:, :2], z[:, 2:]
    est = CCA(rank_gauss=True, n_boot=0)
    assert est.estimate(np.exp(x), np.exp(y)).mi == pytest.approx(est.estimate(x, y).mi, abs=1e-12)
    # the plain CCA estimate does change under exp()
    assert abs(gaussian_mi(np.exp(x), np.exp(y)) - gaussian_mi(x, y)) > 1e-3


def test_gaussian_constant_column_and_independence():
    rng = np.random.default_rng(6)
    x = np.column_stack([rng.standard_normal(300), np.ones(300)])
    y = rng.standard_normal(300)
    est = gaussian_mi(x, y)
    assert np.isfinite(est) and 0 <= est < 0.05
    with pytest.raises(ValueError):
        gaussian_mi(np.array([1.0, np.nan]), np.array([1.0, 2.0]))
