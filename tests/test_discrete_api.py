"""Discrete sides in the API (entropy cap) and the prior_driven flag, with the shipped checkpoint."""

import math

import numpy as np
import pytest

from mist import MIEstimator


@pytest.fixture(scope="module")
def est():
    return MIEstimator.from_pretrained()


def test_a_discrete_side_caps_every_quantile_at_its_entropy(est):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, 1000)
    y = np.where(rng.random(1000) < 0.9, x, rng.integers(0, 2, 1000))
    r = est.estimate(x, y)
    cap = r.extra["entropy_cap"]
    assert cap == pytest.approx(math.log(2), abs=0.01)
    assert max(r.quantiles.values()) <= cap + 1e-12
    assert "entropy_cap" not in est.estimate(x, y, discrete_x=False, discrete_y=False).extra
    bits = MIEstimator.from_pretrained(units="bits").estimate(x, y)
    assert bits.extra["entropy_cap"] == pytest.approx(cap / math.log(2))


def test_continuous_sides_are_not_capped(est):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(500)
    assert "entropy_cap" not in est.estimate(x, x + rng.standard_normal(500)).extra


def test_prior_driven_where_the_data_cannot_decide(est):
    rng = np.random.default_rng(2)
    wide = est.estimate(rng.standard_normal((40, 30)), rng.standard_normal((40, 30)))
    assert wide.prior_driven is True                      # N <= dx + dy
    x = rng.standard_normal(300)
    assert est.estimate(x, x + rng.standard_normal(300)).prior_driven is False
    r = est.estimate(x, x + 1e-4 * rng.standard_normal(300))   # true MI ~ 9 nats > ln 300
    assert r.prior_driven is (r.mi > math.log(300))
