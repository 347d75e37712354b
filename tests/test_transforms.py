"""Tests for the MI-preserving transforms (mist.data.transforms)."""

import json

import numpy as np
import pytest
from scipy.stats import spearmanr

from mist.data.distributions import monte_carlo_mi
from mist.data.gaussian import StudentT, canonical
from mist.data.other_families import AdditiveUniform, GammaExponential, GaussianMixture
from mist.data.transforms import (
    MONOTONE_KINDS,
    TRANSFORM_KINDS,
    Compose,
    LinearMix,
    Spiral,
    Transform,
    Transformed,
    Wiggly,
    random_transform,
)


def _inputs(d: int) -> dict[str, np.ndarray]:
    """Inputs of shape (2000, d) from several families, including heavy tails."""
    rng = np.random.default_rng(123)
    n = 2000
    return {
        "gaussian": 3 * rng.standard_normal((n, d)),
        "cauchy": StudentT(np.eye(d + 1), d, 1.0).sample(n, rng)[0],
        "uniform": rng.random((n, d)),
        "gamma": rng.gamma(0.5, 1.0, size=(n, d)),
    }


@pytest.mark.parametrize("kind", TRANSFORM_KINDS)
@pytest.mark.parametrize("d", [1, 3])
def test_invertible_and_finite(kind, d):
    t = random_transform(kind, d, np.random.default_rng(0))
    assert isinstance(t, Transform)
    json.dumps(t.params())
    for name, z in _inputs(d).items():
        u = t(z)
        assert u.shape == z.shape and u.dtype == np.float64
        assert np.all(np.isfinite(u)), name
        np.testing.assert_allclose(t.inverse(u), z, rtol=1e-9, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("kind", MONOTONE_KINDS + ("monotone_mixed",))
def test_monotone_kinds_strictly_increasing(kind):
    t = random_transform(kind, 2, np.random.default_rng(1))
    grid = np.linspace(-40, 40, 40_001)
    u = t(np.stack([grid, grid], axis=1))
    assert np.all(np.diff(u, axis=0) > 0)


@pytest.mark.parametrize("kind", MONOTONE_KINDS)
def test_monotone_maps_keep_spearman(kind):
    x, y = canonical([0.9], 1, 1).sample(5000, np.random.default_rng(0))
    tx, ty = random_transform(kind, 1, np.random.default_rng(2)), random_transform(kind, 1, np.random.default_rng(3))
    before = spearmanr(x[:, 0], y[:, 0]).statistic
    after = spearmanr(tx(x)[:, 0], ty(y)[:, 0]).statistic
    assert after == pytest.approx(before, abs=1e-12)


def test_spiral_preserves_norm_and_needs_two_dims():
    t = random_transform("spiral", 4, np.random.default_rng(0))
    z = np.random.default_rng(1).standard_normal((100, 4))
    np.testing.assert_allclose(np.linalg.norm(t(z), axis=1), np.linalg.norm(z, axis=1))
    assert not np.allclose(t(z), z)
    assert random_transform("spiral", 1, np.random.default_rng(0)).name == "identity"
    with pytest.raises(ValueError, match="d >= 2"):
        Spiral(np.ones((1, 2)), speed=1.0)


def test_linear_mix_is_well_conditioned():
    t = random_transform("linear_mix", 6, np.random.default_rng(0))
    assert isinstance(t, LinearMix)
    assert t.params()["cond"] <= 4.0 + 1e-9


def test_compose_inverse_and_name():
    rng = np.random.default_rng(0)
    t = Compose([random_transform(k, 3, rng) for k in ("asinh", "linear_mix", "coupling_flow", "spiral")])
    z = rng.standard_normal((500, 3))
    np.testing.assert_allclose(t.inverse(t(z)), z, atol=1e-9)
    assert t.name == "asinh+linear_mix+coupling_flow+spiral"


def test_random_transform_is_deterministic():
    z = np.random.default_rng(0).standard_normal((10, 3))
    for kind in TRANSFORM_KINDS:
        a = random_transform(kind, 3, np.random.default_rng(5))(z)
        b = random_transform(kind, 3, np.random.default_rng(5))(z)
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "base",
    [
        canonical([0.8, 0.4], 2, 3),
        StudentT(np.eye(4), 2, 2.0),
        AdditiveUniform([0.3, 0.7]),
        GammaExponential(2.0),
    ],
    ids=lambda b: b.family,
)
def test_transformed_keeps_mi(base):
    rng = np.random.default_rng(0)
    tx = Compose([random_transform("coupling_flow", base.dim_x, rng), random_transform("spiral", base.dim_x, rng)])
    ty = Compose([random_transform("monotone_mixed", base.dim_y, rng), random_transform("linear_mix", base.dim_y, rng)])
    dist = Transformed(base, tx, ty)
    assert (dist.mi, dist.mi_se, dist.family) == (base.mi, base.mi_se, base.family)
    assert (dist.dim_x, dist.dim_y) == (base.dim_x, base.dim_y)
    params = dist.params()
    json.dumps(params)
    spiral_x = "spiral" if base.dim_x > 1 else "identity"  # spiral is the identity for d == 1
    assert params["transform_x"] == f"coupling_flow+{spiral_x}"
    assert params["transform_y"] == "per_coordinate+linear_mix"
    # PMI is invariant under separate bijections: the base PMI at the pre-image averages to the MI.
    mean, se = monte_carlo_mi(dist, 100_000, np.random.default_rng(1))
    assert abs(mean - base.mi) <= 3 * se


def test_transformed_sampling_deterministic_and_identity_default():
    base = canonical([0.5], 1, 1)
    dist = Transformed(base, random_transform("exp", 1, np.random.default_rng(0)), None)
    a = dist.sample(100, np.random.default_rng(0))
    b = dist.sample(100, np.random.default_rng(0))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], base.sample(100, np.random.default_rng(0))[1])
    assert dist.params()["transform_y"] == "identity"


def test_transformed_gaussian_mixture_keeps_precomputed_mi():
    gm = GaussianMixture([0.5, 0.5], [[-2.0, -2.0], [2.0, 2.0]], [np.eye(2)] * 2, 1, mc_samples=2_000, mc_seed=0)
    dist = Transformed(gm, random_transform("wiggly", 1, np.random.default_rng(0)), None)
    assert (dist.mi, dist.mi_se) == (gm.mi, gm.mi_se)


def test_invalid_transform_parameters():
    with pytest.raises(ValueError, match="unknown transform kind"):
        random_transform("rotate", 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="d must be"):
        random_transform("asinh", 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="a \\* b < 1"):
        Wiggly(1.0, 2.0)
