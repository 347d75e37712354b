"""Tests for the joint distributions with known mutual information (mist.data)."""

import json

import numpy as np
import pytest

from mist.data.distributions import JointDistribution, TractableDistribution, monte_carlo_mi
from mist.data.gaussian import (
    Gaussian,
    StudentT,
    canonical,
    channel,
    channel_mi,
    dense,
    latent,
    sparse,
)
from mist.data.other_families import (
    MARGINALS,
    AdditiveUniform,
    GammaExponential,
    GaussianMixture,
    Independent,
    Lifted,
    Product,
    random_gaussian_mixture,
)

MC_SAMPLES = 100_000


def _channel_example():
    a = np.array([[1.0, 0.5], [0.2, -1.0], [0.0, 0.7]])
    cov_x = np.array([[2.0, 0.3], [0.3, 1.0]])
    return channel(a, cov_x, 0.5 * np.eye(3))


TRACTABLE = {
    "canonical": lambda: canonical([0.9, 0.5], 2, 3),
    "dense": lambda: dense(2, 2, 0.4),
    "sparse": lambda: sparse(3, 2, 2, 0.7, noise=0.2),
    "latent": lambda: latent(2, 3, 1.2),
    "channel": _channel_example,
    "student_t_identity": lambda: StudentT(np.eye(4), 2, 2.0),
    "student_t_cauchy": lambda: StudentT(np.eye(2), 1, 1.0),
    "student_t_canonical": lambda: StudentT.from_gaussian(canonical([0.8], 2, 2), 3.0),
    "additive_uniform": lambda: AdditiveUniform([0.1, 0.5, 0.9, 2.0]),
    "gamma_exponential": lambda: GammaExponential(0.7),
    "independent": lambda: Independent(2, 3, "mixed", seed=3, mix=True),
    "lifted_student_t": lambda: Lifted(StudentT(np.eye(2), 1, 1.5), 3, 2, np.random.default_rng(1), MARGINALS),
    "lifted_uniform": lambda: Lifted(AdditiveUniform([0.3]), 2, 3, np.random.default_rng(2)),
    "product_gamma": lambda: Product([GammaExponential(0.5), GammaExponential(4.0)]),
    "product_mixed": lambda: Product([canonical([0.6], 1, 2), AdditiveUniform([0.2])]),
}


@pytest.mark.parametrize("name", sorted(TRACTABLE))
def test_monte_carlo_pmi_matches_closed_form(name):
    dist = TRACTABLE[name]()
    assert isinstance(dist, TractableDistribution)
    assert dist.mi_se == 0.0
    mean, se = monte_carlo_mi(dist, MC_SAMPLES, np.random.default_rng(0))
    assert abs(mean - dist.mi) <= 3 * se + 1e-12, (mean, se, dist.mi)


@pytest.mark.parametrize("name", sorted(TRACTABLE))
def test_sampling_is_deterministic_and_well_shaped(name):
    dist = TRACTABLE[name]()
    x1, y1 = dist.sample(50, np.random.default_rng(0))
    x2, y2 = dist.sample(50, np.random.default_rng(0))
    assert x1.shape == (50, dist.dim_x) and y1.shape == (50, dist.dim_y)
    assert x1.dtype == np.float64 and y1.dtype == np.float64
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert np.all(np.isfinite(x1)) and np.all(np.isfinite(y1))
    params = dist.params()
    json.dumps(params)
    assert params["family"] == dist.family
    assert (params["dim_x"], params["dim_y"]) == (dist.dim_x, dist.dim_y)


# ----------------------------------------------------------------------------- closed forms


def test_canonical_closed_form():
    rhos = np.array([0.9, 0.3, 0.0])
    assert canonical(rhos, 3, 4).mi == pytest.approx(-0.5 * np.sum(np.log(1 - rhos**2)), rel=1e-12)


def test_latent_closed_form():
    a2, dx, dy = 1.5**2, 2, 3
    expected = 0.5 * np.log((1 + dx * a2) * (1 + dy * a2) / (1 + (dx + dy) * a2))
    assert latent(dx, dy, 1.5).mi == pytest.approx(expected, rel=1e-12)


def test_channel_formula_equals_logdet_formula():
    rng = np.random.default_rng(0)
    for dx, dy in [(1, 1), (2, 3), (4, 2)]:
        a = rng.standard_normal((dy, dx))
        bx, bn = rng.standard_normal((dx, dx)), rng.standard_normal((dy, dy))
        cov_x, cov_n = bx @ bx.T + 0.5 * np.eye(dx), bn @ bn.T + 0.5 * np.eye(dy)
        g = channel(a, cov_x, cov_n)
        assert (g.dim_x, g.dim_y) == (dx, dy)
        assert g.mi == pytest.approx(channel_mi(a, cov_x, cov_n), rel=1e-10)


# Exact values of the Student-t formula, rounded to 4 decimals: (dim_x = dim_y, nu) -> MI.
STUDENT_T_EXACT = {(1, 1): 0.2242, (2, 1): 0.4319, (2, 2): 0.1931, (3, 2): 0.2909,
                   (3, 3): 0.1787, (5, 2): 0.4482, (5, 3): 0.2985}
# Values quoted in the project brief; they agree with the formula only to about 6e-4.
STUDENT_T_QUOTED = {(1, 1): 0.2240, (2, 1): 0.4318, (2, 2): 0.1927, (3, 2): 0.2912,
                    (3, 3): 0.1788, (5, 2): 0.4476, (5, 3): 0.2990}


@pytest.mark.parametrize("dim, nu", sorted(STUDENT_T_EXACT))
def test_student_t_known_values(dim, nu):
    mi = StudentT(np.eye(2 * dim), dim, nu).mi
    assert round(mi, 4) == STUDENT_T_EXACT[(dim, nu)]
    assert abs(mi - STUDENT_T_QUOTED[(dim, nu)]) < 1e-3


def test_student_t_cauchy_analytic():
    # Bivariate standard Cauchy: 2 h(Cauchy) - h(bivariate) = 2 log(4 pi) - (log(2 pi) + 3).
    assert StudentT(np.eye(2), 1, 1.0).mi == pytest.approx(np.log(8 * np.pi) - 3, abs=1e-12)


def test_student_t_exceeds_gaussian_part():
    g = canonical([0.7, 0.2], 2, 2)
    assert StudentT.from_gaussian(g, 4.0).mi > g.mi
    assert StudentT.from_gaussian(g, 1e6).mi == pytest.approx(g.mi, abs=1e-5)


def test_additive_uniform_closed_form():
    assert AdditiveUniform([0.5]).mi == pytest.approx(0.5)  # both branches agree at 1/2
    assert AdditiveUniform([0.25, 1.0]).mi == pytest.approx(0.25 - np.log(0.5) + 0.25)


def test_gamma_exponential_closed_form():
    from scipy.special import digamma

    assert GammaExponential(2.0).mi == pytest.approx(digamma(3.0) - np.log(2.0))


def test_zero_mi_families():
    assert Independent(3, 2, "mixed", seed=1, mix=True).mi == 0.0
    assert canonical([], 2, 2).mi == pytest.approx(0.0, abs=1e-15)
    assert dense(2, 3, 0.0).mi == pytest.approx(0.0, abs=1e-15)
    assert latent(2, 2, 0.0).mi == pytest.approx(0.0, abs=1e-15)
    x, y = Independent(2, 2, "mixed", seed=0).sample(10, np.random.default_rng(0))
    np.testing.assert_array_equal(Independent(2, 2).pmi(x, y), np.zeros(10))


def test_product_adds_mi():
    parts = [GammaExponential(0.5), GammaExponential(4.0)]
    prod = Product(parts)
    assert prod.mi == pytest.approx(parts[0].mi + parts[1].mi)
    assert (prod.dim_x, prod.dim_y, prod.family) == (2, 2, "gamma_exponential")
    assert Product([canonical([0.5], 1, 1), AdditiveUniform([0.2])]).family == "product"


def test_independent_from_rng():
    a = Independent(3, 2, rng=np.random.default_rng(4))
    b = Independent(3, 2, rng=np.random.default_rng(4))
    assert a.params() == b.params()
    assert Independent(3, 2).params()["marginal"] == "gaussian"


def test_independent_marginals_and_mixing():
    ind = Independent(4, 3, "mixed", seed=7, mix=True)
    assert len(ind.marginals_x) == 4 and set(ind.marginals_x + ind.marginals_y) <= set(MARGINALS)
    x, _ = ind.sample(20_000, np.random.default_rng(0))
    corr = np.corrcoef(x.T)
    assert np.max(np.abs(corr - np.eye(4))) > 0.1  # coordinates of X are dependent
    assert Independent(2, 2, "exponential").sample(100, np.random.default_rng(0))[0].min() > 0


# ----------------------------------------------------------------------------- Gaussian mixture


def test_random_gaussian_mixture_se_and_reproducibility():
    gm = random_gaussian_mixture(2, 1, 3, np.random.default_rng(0), mc_samples=2_000)
    assert gm.mi_se <= 0.02
    assert gm.mc_samples >= 2_000 and gm.mi > 0.05
    mean, se = monte_carlo_mi(gm, gm.mc_samples, np.random.default_rng(gm.mc_seed + 1))
    assert abs(mean - gm.mi) <= 4 * np.hypot(se, gm.mi_se)
    json.dumps(gm.params())


def test_gaussian_mixture_single_component_is_gaussian():
    g = canonical([0.8], 1, 2)
    gm = GaussianMixture([1.0], np.zeros((1, 3)), g.cov[None], 1, mc_samples=1_000, mc_seed=0)
    x, y = gm.sample(100, np.random.default_rng(0))
    np.testing.assert_allclose(gm.pmi(x, y), g.pmi(x, y), atol=1e-10)


def test_gaussian_mixture_is_precomputed_per_setting():
    args = ([0.5, 0.5], [[-2.0, -2.0], [2.0, 2.0]], [np.eye(2), np.eye(2)], 1)
    a, b = GaussianMixture(*args, mc_samples=5_000, mc_seed=3), GaussianMixture(*args, mc_samples=5_000, mc_seed=3)
    assert a.mi == b.mi and a.mi_se == b.mi_se
    assert 0.3 < a.mi < np.log(2)


# ----------------------------------------------------------------------------- lifting


def test_lifted_keeps_mi_and_pmi():
    base = canonical([0.9], 1, 1)
    lifted = Lifted(base, 3, 4, np.random.default_rng(0))
    assert (lifted.dim_x, lifted.dim_y, lifted.mi, lifted.family) == (3, 4, base.mi, "gaussian")
    assert isinstance(lifted, JointDistribution)
    x, y = lifted.sample(5, np.random.default_rng(0))
    bx, by = base.sample(5, np.random.default_rng(0))
    assert np.all(np.isin(bx, x)) and np.all(np.isin(by, y))  # base columns are embedded
    np.testing.assert_allclose(lifted.pmi(x, y), base.pmi(bx, by))


def test_lifted_without_base_density_has_no_pmi():
    class NoDensity:
        dim_x, dim_y, mi, mi_se, family = 1, 1, 0.0, 0.0, "none"

        def sample(self, n, rng):
            return rng.standard_normal((n, 1)), rng.standard_normal((n, 1))

        def params(self):
            return {"family": "none", "dim_x": 1, "dim_y": 1}

    lifted = Lifted(NoDensity(), 2, 2, np.random.default_rng(0))
    assert not hasattr(lifted, "pmi")
    assert lifted.sample(3, np.random.default_rng(0))[0].shape == (3, 2)


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: canonical([0.5], 0, 2), "dim_x"),
        (lambda: canonical([1.0], 1, 1), r"\[0, 1\)"),
        (lambda: canonical([-0.1], 1, 1), r"\[0, 1\)"),
        (lambda: canonical([0.1, 0.2], 1, 3), "at most"),
        (lambda: dense(2, 2, 1.0), "positive definite"),
        (lambda: dense(2, 2, -0.5), "positive definite"),
        (lambda: sparse(2, 2, 1, 1.2), r"\[0, 1\)"),
        (lambda: sparse(2, 2, 3, 0.5), "n_pairs"),
        (lambda: latent(1, 1, -1.0), "strength"),
        (lambda: Gaussian(np.array([[1.0, 2.0], [2.0, 1.0]]), 1), "positive definite"),
        (lambda: Gaussian(np.array([[1.0, 0.5], [0.2, 1.0]]), 1), "symmetric"),
        (lambda: Gaussian(np.eye(2), 2), "dim_x"),
        (lambda: channel(np.ones((2, 2)), -np.eye(2), np.eye(2)), "positive definite"),
        (lambda: StudentT(np.eye(2), 1, 0.0), "nu"),
        (lambda: StudentT(np.eye(2), 1, -1.0), "nu"),
        (lambda: AdditiveUniform([0.5, 0.0]), "eps"),
        (lambda: AdditiveUniform([-1.0]), "eps"),
        (lambda: GammaExponential(0.0), "shape a"),
        (lambda: Independent(0, 1), "dim_x"),
        (lambda: Independent(1, 1, "cauchy"), "unknown marginal"),
        (lambda: GaussianMixture([0.6, 0.6], np.zeros((2, 2)), np.stack([np.eye(2)] * 2), 1), "weights"),
        (lambda: GaussianMixture([1.0], np.zeros((1, 2)), np.eye(2)[None], 1, mc_samples=0), "mc_samples"),
        (lambda: Lifted(canonical([0.5], 2, 2), 1, 3, np.random.default_rng(0)), "cannot lift"),
        (lambda: Product([]), "at least one"),
    ],
)
def test_invalid_parameters_raise(build, match):
    with pytest.raises(ValueError, match=match):
        build()
