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


# ------------------------------------------------------------------ the table path (design §12i)
from mist.discrete_table import table_quantiles  # noqa: E402


def _channel(n, rng, flip=0.1):
    x = rng.integers(0, 2, n)
    return x, np.where(rng.random(n) < 1 - flip, x, rng.integers(0, 2, n))


def test_table_path_estimates_a_binary_channel_where_the_network_collapses_at_the_cap(est):
    rng = np.random.default_rng(3)
    x, y = _channel(1000, rng)
    truth = math.log(2) - (-(0.95 * math.log(0.95) + 0.05 * math.log(0.05)))  # 0.495 nats
    table = MIEstimator.from_pretrained(table_path=True)
    r = table.estimate(x, y)
    assert r.extra["method"] == "table" and r.interval(0.9)[0] < truth < r.interval(0.9)[1]
    assert abs(r.mi - truth) < 0.05 and max(r.quantiles.values()) <= r.extra["entropy_cap"] + 1e-12
    assert "method" not in est.estimate(x, y).extra  # off by default
    bits = MIEstimator.from_pretrained(table_path=True, units="bits").estimate(x, y)
    assert bits.mi == pytest.approx(r.mi / math.log(2))
    many = table.estimate_many([(x, y), (x.astype(float) + rng.standard_normal(1000), y)])  # table, network
    assert many[0].quantiles == r.quantiles and "method" not in many[1].extra


def test_table_path_gives_zero_its_interval_on_independent_tables():
    rng = np.random.default_rng(4)
    x, y = rng.integers(0, 3, 2000), rng.integers(0, 2, 2000)
    r = MIEstimator.from_pretrained(table_path=True).estimate(x, y)
    assert r.extra["method"] == "table" and r.interval(0.9)[0] == 0.0 and r.mi < 0.01


def test_table_path_is_not_taken_for_rare_categories_or_large_tables():
    rng = np.random.default_rng(5)
    levels = [0.05, 0.5, 0.95]
    x, y = _channel(300, rng)
    assert table_quantiles(x[:, None], y[:, None], levels, 1.0, rng) is not None
    y_rare = y.copy()
    y_rare[:3] = 2  # a third category seen 3 times: unseen ones may exist
    assert table_quantiles(x[:, None], y_rare[:, None], levels, 1.0, rng) is None
    big = rng.integers(0, 8, (300, 1))  # 8 x 8 = 64 cells > 300 / 10
    assert table_quantiles(big, rng.integers(0, 8, (300, 1)), levels, 1.0, rng) is None


def test_table_point_estimate_is_miller_madow_from_the_counts():
    rng = np.random.default_rng(6)
    x, y = rng.integers(0, 2, 500), rng.integers(0, 3, 500)
    y = np.where(rng.random(500) < 0.5, x, y)
    joint = np.zeros((2, 3))
    np.add.at(joint, (x, y), 1)
    p = joint / 500

    def h(q):
        q = q[q > 0]
        return -(q * np.log(q)).sum() + (len(q) - 1) / 1000

    expected = h(p.sum(1)) + h(p.sum(0)) - h(p.ravel())
    q = table_quantiles(x[:, None], y[:, None], [0.05, 0.5, 0.95], 10.0, rng)
    assert q[0.5] == pytest.approx(expected, abs=1e-12)
    assert q[0.05] < q[0.5] < q[0.95]
