"""Sides wider than the trained range are cut to principal components (mist/reduce.py): the rule,
its invariances, and what it does to independent and dependent data through the shipped model."""

import numpy as np
import pytest

from mist import MIEstimator
from mist.checkpoint import RECORD_DEFAULT_DIM_MAX, trained_dim_max
from mist.data.prior import PriorConfig
from mist.reduce import principal_scores, reduced_width


@pytest.fixture(scope="module")
def est():
    return MIEstimator.from_pretrained()


def test_record_default_is_the_prior_default():
    assert RECORD_DEFAULT_DIM_MAX == PriorConfig.dim_max


@pytest.mark.parametrize("d, n, dim_max, k", [
    (10, 100, 32, 10), (32, 100, 32, 32), (33, 1000, 32, 32), (500, 100, 32, 24), (500, 8, 32, 1),
    (500, 100, None, 500), (64, 1000, 64, 64),
])
def test_reduced_width(d, n, dim_max, k):
    assert reduced_width(d, n, dim_max) == k


def test_principal_scores_are_invariant_to_monotone_maps_and_follow_row_order():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((60, 40)) @ rng.standard_normal((40, 40))
    s = principal_scores(z, 5)
    assert s.shape == (60, 5)
    np.testing.assert_allclose(principal_scores(np.exp(z / 10) * 3 + 1, 5), s, atol=1e-10)
    perm = rng.permutation(60)
    np.testing.assert_allclose(principal_scores(z[perm], 5), s[perm], atol=1e-10)
    # components are uncorrelated with decreasing variance
    cov = np.cov(s.T)
    np.testing.assert_allclose(cov - np.diag(np.diag(cov)), 0, atol=1e-8)
    assert np.all(np.diff(np.diag(cov)) <= 1e-12)


def test_shipped_trained_range_is_recorded(est):
    """Every expert records its prior's widest side; a routed checkpoint answers per N."""
    experts = est.config["expert_configs"]
    widths = [c["training"]["config"]["data"]["prior"].get("dim_max", 32) for c in experts]
    assert [trained_dim_max(c) for c in experts] == widths
    assert est.dim_max(8) == widths[0]
    assert est.dim_max(2048) == widths[-1]
    assert est.dim_max(128) == min(widths)  # the blending window: both experts
    assert est.dim_max(100_000) == widths[-1]  # above max_n: the subsets' expert


def test_wide_independent_data_gets_an_interval_at_zero(est):
    """Before the reduction: N=200, 150 + 100 independent columns gave 24 nats [21, 31]."""
    rng = np.random.default_rng(3)
    r = est.estimate(rng.standard_normal((200, 150)), rng.standard_normal((200, 100)))
    k = reduced_width(150, 200, est.dim_max(200))
    assert r.extra["reduced_to"] == (k, k) and (r.dx, r.dy) == (150, 100)
    assert r.interval(0.9)[0] <= 0.05 and r.mi < 0.5, r


def test_wide_dependent_data_is_still_seen(est):
    """A 3-dim latent read out by 200 noisy X columns and 100 noisy Y columns: I(X; Y) is large;
    the leading components keep most of it."""
    rng = np.random.default_rng(4)
    z = rng.standard_normal((400, 3))
    x = z @ rng.standard_normal((3, 200)) + 0.3 * rng.standard_normal((400, 200))
    y = z @ rng.standard_normal((3, 100)) + 0.3 * rng.standard_normal((400, 100))
    r = est.estimate(x, y)
    k = est.dim_max(400)
    assert r.extra["reduced_to"] == (k, k)
    assert r.mi > 3.0, r


def test_mixed_widths_batch_like_single_estimates(est):
    rng = np.random.default_rng(5)
    pairs = [(rng.standard_normal((150, 40)), rng.standard_normal((150, 2))),
             (rng.standard_normal((150, 30)), rng.standard_normal((150, 2)))]
    many = est.estimate_many(pairs)
    for (x, y), r in zip(pairs, many):
        assert r.quantiles == est.estimate(x, y).quantiles
    assert many[0].extra["reduced_to"] == (est.dim_max(150), 2) and "reduced_to" not in many[1].extra


def test_independence_test_on_wide_data_keeps_its_shape(est):
    rng = np.random.default_rng(6)
    res = est.independence_test(rng.standard_normal((120, 60)), rng.standard_normal((120, 3)),
                                n_permutations=19, seed=0)
    assert 0 < res.p_value <= 1
    assert res.estimate.dx == 60 and res.estimate.extra["reduced_to"] == (min(est.dim_max(120), 29), 3)


def test_differentiable_path_warns_beyond_the_trained_width(est):
    import torch
    g = torch.Generator().manual_seed(0)
    wide = est.dim_max(100) + 8
    with pytest.warns(UserWarning, match=f"more than the {wide - 8} per side"):
        est.mi(torch.randn(100, wide, generator=g), torch.randn(100, 2, generator=g))


def test_mi_matrix_groups_wider_than_trained_match_estimate(est):
    from mist import mi_matrix
    rng = np.random.default_rng(7)
    z = rng.standard_normal((150, 1))
    a = z + 0.5 * rng.standard_normal((150, 40))
    b = z + 0.5 * rng.standard_normal((150, 3))
    data = np.hstack([a, b])
    m = mi_matrix(data, groups={"a": list(range(40)), "b": [40, 41, 42]}, estimator=est, progress=False)
    r = est.estimate(a, b)
    assert r.extra["reduced_to"] == (est.dim_max(150), 3)
    np.testing.assert_allclose(m.mi[0, 1], r.mi, rtol=1e-6)
