"""Ground truth of the families beyond the Gaussian copula (issues 14 and 15), each checked against an
independent computation: dense Gauss-Legendre quadrature, closed forms, exact CDFs, or a Monte Carlo
of the pointwise MI (log p(x, y) - log p(x) - log p(y)) on the family's own samples."""

import json

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss
from numpy.polynomial.legendre import leggauss
from scipy.integrate import quad
from scipy.special import i0e, logsumexp, ndtr
from scipy import stats
from scipy.stats import multivariate_normal

from mist.data import counts as C
from mist.data import discrete as D
from mist.data import functional as F
from mist.data import labels as L
from mist.data import shapes as S
from mist.data import structured as ST
from mist.data.distributions import gaussian_mi_from_cov, monte_carlo_mi
from mist.data.gaussian import canonical
from mist.data.lifting import Swapped, lift
from mist.data.quadrature import noise_half_width


def _composite(a, b, panels, order=6):
    """Composite Gauss-Legendre nodes and weights on [a, b]."""
    g, w = leggauss(order)
    e = np.linspace(a, b, panels + 1)
    h = (b - a) / panels
    return (0.5 * (e[:-1, None] + e[1:, None]) + 0.5 * h * g).ravel(), np.tile(0.5 * h * w, panels)


def _mc_check(pmi, mi, z=4.0):
    mean, se = float(np.mean(pmi)), float(np.std(pmi) / np.sqrt(len(pmi)))
    assert abs(mean - mi) <= z * se + 1e-3, (mean, se, mi)
    return mean, se


# ----------------------------------------------------------------------------- functional


def _x_rule(d, panels):
    """Gauss-Legendre over X's support, panels cut at f's jumps and the noise-level changes."""
    lim = 1.0 if d.marginal == "uniform" else F.GAUSS_LIMIT
    edges = np.union1d(np.linspace(-lim, lim, panels + 1), d._cuts)
    g, w = leggauss(6)
    h = np.diff(edges)
    xs = (0.5 * (edges[:-1, None] + edges[1:, None]) + 0.5 * h[:, None] * g).ravel()
    px = (0.5 * h[:, None] * w).ravel() * (0.5 if d.marginal == "uniform" else np.exp(-xs**2 / 2) / np.sqrt(2 * np.pi))
    return xs, px


def _noise_law(d):
    """The unit-scale noise law from scipy.stats (independent of mist.data.quadrature's formulas)."""
    return {"gaussian": stats.norm(), "laplace": stats.laplace(), "uniform": stats.uniform(-1, 2),
            "student_t": stats.t(d.nu) if d.nu else None}[d.noise]


def _density_y(d, ys, xs, px):
    """p(y) = int p(x) p_noise((y - f(x)) / s(x)) / s(x) dx by dense quadrature."""
    fx, sx, law = d.function(xs), d._level_scales()[d._levels(xs)], _noise_law(d)
    out = np.empty(len(ys))
    for i in range(0, len(ys), 256):
        z = (ys[i:i + 256, None] - fx) / sx
        out[i:i + 256] = (law.pdf(z) / sx) @ px
    return out


def _functional_reference(d, panels=400):
    xs, px = _x_rule(d, panels)
    fx, sx = d.function(xs), d._level_scales()[d._levels(xs)]
    m = noise_half_width(d.noise, d.nu, 1e-8)
    ys, wy = _composite(fx.min() - m * sx.max(), fx.max() + m * sx.max(), panels)
    py = _density_y(d, ys, xs, px)
    h_y = -np.sum(wy * py * np.log(np.maximum(py, 1e-300)))
    return h_y - px @ np.log(sx) / px.sum() - float(_noise_law(d).entropy())


FUNCTIONAL_CASES = [  # (kind, marginal, noise, nu, hetero, scale, seed)
    ("sine", "uniform", "gaussian", None, 0.0, 0.2, 0),
    ("polynomial", "gaussian", "laplace", None, 0.0, 0.2, 1),
    ("fourier", "uniform", "student_t", 4.0, 0.0, 0.2, 2),
    ("abs", "gaussian", "uniform", None, 0.0, 0.3, 3),
    ("zigzag", "uniform", "gaussian", None, 0.8, 0.2, 4),
    ("steps", "gaussian", "laplace", None, 0.6, 0.2, 5),
    ("sawtooth", "uniform", "uniform", None, 0.7, 0.25, 6),
    ("bump", "gaussian", "student_t", 3.0, 0.5, 0.2, 7),
]


def _functional_case(kind, marginal, noise, nu, hetero, scale, seed):
    rng = np.random.default_rng(seed)
    f = F.random_function(kind, rng, marginal)
    wave = F.random_function(F.WAVES[seed % 2], rng, marginal) if hetero else None
    return F.Functional(f, scale, noise, marginal, nu, hetero, wave)


@pytest.mark.parametrize("case", FUNCTIONAL_CASES, ids=[c[0] + "-" + c[2] for c in FUNCTIONAL_CASES])
def test_functional_truth_matches_dense_quadrature(case):
    d = _functional_case(*case)
    assert d.mi == pytest.approx(_functional_reference(d), abs=1e-3)


@pytest.mark.parametrize("case", FUNCTIONAL_CASES[::2], ids=[c[0] for c in FUNCTIONAL_CASES[::2]])
def test_functional_truth_matches_monte_carlo_of_its_samples(case):
    d = _functional_case(*case)
    x, y = d.sample(12_000, np.random.default_rng(11))
    xs, px = _x_rule(d, 300)
    s = d._level_scales()[d._levels(x[:, 0])]
    log_cond = _noise_law(d).logpdf((y[:, 0] - d.function(x[:, 0])) / s) - np.log(s)
    _mc_check(log_cond - np.log(_density_y(d, y[:, 0], xs, px)), d.mi)


def test_functional_known_values_from_the_issue():
    # y = x^2 + 0.1 N, x ~ N(0, 1): f is rescaled to unit sd (sd of x^2 is sqrt 2), so s = 0.1 / sqrt 2
    square = F.Functional(F.Function1D("polynomial", {"roots": [0.0, 0.0]}), 0.1 / np.sqrt(2), "gaussian", "gaussian")
    assert square.mi == pytest.approx(_functional_reference(square), abs=1e-4)
    assert 1.95 < square.mi < 2.05  # "~2.0"
    mid, mass = F.x_cells("uniform", 2**14)
    sd = np.sqrt(mass @ np.sin(4 * mid) ** 2 - (mass @ np.sin(4 * mid)) ** 2)
    sine = F.Functional(F.Function1D("sine", {"omega": 4.0, "phase": 0.0}), 0.1 / sd, "gaussian", "uniform")
    assert sine.mi == pytest.approx(1.72, abs=0.01)  # "~1.72"


def test_functional_gaussian_limit_is_closed_form():
    # f(x) = x under N(0, 1) with Gaussian noise: I = 1/2 log(1 + 1 / s^2) exactly
    lin = F.Function1D("polynomial", {"roots": [0.0]})
    for s in (0.05, 0.5, 3.0):
        assert F.Functional(lin, s, "gaussian", "gaussian").mi == pytest.approx(0.5 * np.log1p(1 / s**2), abs=2e-5)


def test_random_functional_hits_target_and_lifts():
    rng = np.random.default_rng(3)
    for target in (0.3, 1.5, 3.0):
        d = F.random_functional_pair(rng, target, functions=("sine", "fourier", "polynomial", "bump"))
        assert d.mi == pytest.approx(target, rel=0.1)
    dist = F.random_functional(rng, 4, 3, target_mi=2.0, n_pairs=2)
    x, y = dist.sample(64, rng)
    assert x.shape == (64, 4) and y.shape == (64, 3) and np.isfinite(x).all() and np.isfinite(y).all()
    assert dist.mi == pytest.approx(sum(p.mi for p in _pairs(dist)))


def _pairs(dist):
    while not hasattr(dist, "parts"):
        dist = dist.base
    return dist.parts


# ----------------------------------------------------------------------------- lifting


@pytest.mark.parametrize("mix", ["none", "rotation", "linear"])
def test_lifting_preserves_mi_exactly(mix):
    """Lift a Gaussian pair; the lifted-and-mixed joint is Gaussian with a covariance built from the
    lift's own permutations and matrices: its MI must equal the base's to round-off."""
    rng = np.random.default_rng(0)
    base = canonical([0.8, 0.3], 2, 2)
    dist = lift(base, 5, 4, rng, mix)
    lifted = dist.base if hasattr(dist, "tx") else dist
    mx = getattr(getattr(dist, "tx", None), "matrix", np.eye(5))
    my = getattr(getattr(dist, "ty", None), "matrix", np.eye(4))
    cov = np.eye(9)
    cov[np.ix_([0, 1, 5, 6], [0, 1, 5, 6])] = base.cov  # base columns first, extras N(0, 1)
    perm = np.concatenate([lifted._perm_x, 5 + lifted._perm_y])
    cov = cov[np.ix_(perm, perm)]
    m = np.zeros((9, 9))
    m[:5, :5], m[5:, 5:] = mx, my
    assert gaussian_mi_from_cov(m @ cov @ m.T, 5) == pytest.approx(base.mi, abs=1e-10)
    x, y = dist.sample(100_000, np.random.default_rng(1))
    emp = gaussian_mi_from_cov(np.cov(np.hstack([x, y]).T), 5)
    assert emp == pytest.approx(base.mi, abs=0.02)
    assert dist.mi == base.mi and Swapped(dist).mi == base.mi


# ----------------------------------------------------------------------------- shapes


def test_circle_radial_and_grid_quadratures_agree():
    rng = np.random.default_rng(0)
    for name, sigma in (("circle", 0.08), ("rings", 0.1)):
        pieces, w = S.curve_pieces(name, rng)
        d = S.NoisyCurve(pieces, w, sigma, name)
        a, b, m = d._cells()
        from mist.data.quadrature import gaussian_noise_entropy_2d
        grid = [gaussian_noise_entropy_2d(a, b, m, sigma, r) for r in (4, 8)]
        assert (4 * grid[1] - grid[0]) / 3 == pytest.approx(d._rings_joint_entropy(), abs=5e-4)


def _curve_density_mc(d, n, rng, t_nodes=4000):
    """Pointwise MI of a NoisyCurve on its samples, densities by direct sums over a fine t-grid."""
    x, y = d.sample(n, rng)
    pts = []
    for piece, w in zip(d.pieces, d.weights):
        t = (np.arange(t_nodes) + 0.5) / t_nodes
        a, b = S.curve_points(piece, t)
        pts.append((a, b, np.full(t_nodes, w / t_nodes)))
    a, b, m = (np.concatenate(z) for z in zip(*pts))
    s2 = d.sigma**2
    ga = np.exp(-0.5 * (x - a) ** 2 / s2) / np.sqrt(2 * np.pi * s2)  # (n, T)
    gb = np.exp(-0.5 * (y - b) ** 2 / s2) / np.sqrt(2 * np.pi * s2)
    return np.log((ga * gb) @ m) - np.log(ga @ m) - np.log(gb @ m)


@pytest.mark.parametrize("name", S.CURVES)
def test_curve_truth_matches_monte_carlo(name):
    rng = np.random.default_rng(4)
    pieces, w = S.curve_pieces(name, rng)
    d = S.NoisyCurve(pieces, w, 0.12, name)
    _mc_check(_curve_density_mc(d, 2000, rng, t_nodes=1500), d.mi)


def test_circle_matches_bessel_closed_form_monte_carlo():
    d = S.NoisyCurve(*S.curve_pieces("circle", np.random.default_rng(0)), sigma=0.05, name="circle")
    x, y = d.sample(10_000, np.random.default_rng(2))
    s2, rho = d.sigma**2, np.hypot(x[:, 0], y[:, 0])
    log_joint = -(rho - 1) ** 2 / (2 * s2) + np.log(i0e(rho / s2)) - np.log(2 * np.pi * s2)
    # p(x) = E_T N(x; cos T, s^2): Gauss-Legendre over T (independent of the FFT grid)
    t, wt = _composite(0, 2 * np.pi, 200)
    norm = 2 * np.pi * np.sqrt(2 * np.pi * s2)
    marg = lambda v: np.log(np.exp(-0.5 * (v[:, None] - np.cos(t)) ** 2 / s2) @ wt / norm)
    _mc_check(log_joint - marg(x[:, 0]) - marg(y[:, 0]), d.mi)


def test_x_shape_truth():
    _, gain = S._mixture_gain_table()
    for dist in (0.0, 0.7, 2.5):  # G(d) by scipy quad
        mix = lambda y: 0.5 * (np.exp(-0.5 * (y - dist) ** 2) + np.exp(-0.5 * (y + dist) ** 2)) / np.sqrt(2 * np.pi)
        h = quad(lambda y: -mix(y) * np.log(mix(y)), -dist - 12, dist + 12, limit=200)[0]
        assert float(S.mixture_gain(dist)) == pytest.approx(h - S.H_GAUSS, abs=5e-8)
    for marginal, g in (("uniform", None), ("gaussian", F.Function1D("bump", {"center": 0.3, "width": 0.6}))):
        d = S.XShape(0.15, marginal, g)
        x, y = d.sample(8_000, np.random.default_rng(5))
        v = d.g(x[:, 0])
        log_cond = logsumexp([-0.5 * ((y[:, 0] - v) / d.sigma) ** 2, -0.5 * ((y[:, 0] + v) / d.sigma) ** 2], axis=0) \
            - np.log(2 * d.sigma * np.sqrt(2 * np.pi))
        lim = 1.0 if marginal == "uniform" else 7.0
        xs, wx = _composite(-lim, lim, 300)
        px = wx * (0.5 if marginal == "uniform" else np.exp(-xs**2 / 2) / np.sqrt(2 * np.pi))
        gx = d.g(xs)
        kern = lambda c: np.exp(-0.5 * ((y[:, 0:1] - c) / d.sigma) ** 2) / (d.sigma * np.sqrt(2 * np.pi))
        log_py = np.log(0.5 * (kern(gx) + kern(-gx)) @ px)
        _mc_check(log_cond - log_py, d.mi)


def test_random_shape_targets_and_dims():
    rng = np.random.default_rng(8)
    for shape in S.SHAPES:
        d = S.random_shape_pair(rng, 0.4, (shape,))
        assert d.mi == pytest.approx(0.4, rel=0.1), shape
    dist = S.random_shape(rng, 3, 2, target_mi=1.0)
    x, y = dist.sample(32, rng)
    assert x.shape == (32, 3) and y.shape == (32, 2)


# ----------------------------------------------------------------------------- discrete


def test_encodings_round_trip():
    rng = np.random.default_rng(0)
    for k in (2, 5, 9):
        states, perm = rng.integers(0, k, 100), rng.permutation(k)
        for enc in D.ENCODINGS:
            cols = D.encode(states, k, enc, perm)
            assert cols.shape == (100, D.encoded_dim(k, enc))
            np.testing.assert_array_equal(D.decode(cols, k, enc, perm), states)


def test_binary_noisy_copy_closed_form():
    # the issue's example: binary x, y = x w.p. 0.9 else a fair coin: I = ln 2 - H(0.05) = 0.495
    d = D.DiscreteTable(D.channel_table(2, 0.1))
    h = lambda p: -p * np.log(p) - (1 - p) * np.log(1 - p)
    assert d.mi == pytest.approx(np.log(2) - h(0.05), abs=1e-12)
    assert d.mi == pytest.approx(0.495, abs=1e-3)


@pytest.mark.parametrize("kind", D.TABLE_KINDS)
def test_table_truth_matches_plug_in_of_samples(kind):
    rng = np.random.default_rng(1)
    d = D.random_table(rng, kind, target_mi=0.6 if kind == "channel" else None, max_states=6)
    x, y = d.sample(400_000, rng)
    i, j = D.decode(x, d.kx, d.encoding_x, d.perm_x), D.decode(y, d.ky, d.encoding_y, d.perm_y)
    counts = np.zeros((d.kx, d.ky))
    np.add.at(counts, (i, j), 1)
    bias = (d.kx - 1) * (d.ky - 1) / (2 * len(i))  # plug-in bias, first order
    _mc_check(d.pmi(x, y), d.mi)
    assert D.table_mi(counts) - bias == pytest.approx(d.mi, abs=4 * np.std(d.pmi(x, y)) / np.sqrt(len(i)) + 1e-4)
    if kind == "channel":
        assert d.mi == pytest.approx(0.6, abs=1e-8)


def test_quantized_table_matches_scipy_bivariate_cdf():
    rho, cx, cy = -0.7, np.array([-1.0, 0.2, 1.1]), np.array([0.0, 0.8])
    table = D.quantized_table(rho, cx, cy)
    mvn = multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]], abseps=1e-10, releps=1e-10)
    ex, ey = np.r_[-10, cx, 10], np.r_[-10, cy, 10]
    cdf = np.array([[mvn.cdf([a, b]) for b in ey] for a in ex])
    np.testing.assert_allclose(table, np.diff(np.diff(cdf, axis=0), axis=1), atol=1e-8)
    assert table.sum() == pytest.approx(1.0, abs=1e-12)


def test_mixed_quantized_truth_matches_monte_carlo():
    d = D.QuantizedGaussian(0.85, [-0.5, 0.4, 1.3])
    x, y = d.sample(100_000, np.random.default_rng(2))
    edges = np.r_[-np.inf, d.cuts_x, np.inf]
    i, v, s = x[:, 0].astype(int), y[:, 0], np.sqrt(1 - d.rho**2)
    p_cond = ndtr((edges[i + 1] - d.rho * v) / s) - ndtr((edges[i] - d.rho * v) / s)
    _mc_check(np.log(p_cond) - np.log(np.diff(ndtr(edges))[i]), d.mi)
    assert D.random_quantized(np.random.default_rng(3), 0.4).mi == pytest.approx(0.4, abs=1e-5)


def test_random_discrete_dims_and_mixed_columns():
    rng = np.random.default_rng(4)
    for dx, dy in ((1, 1), (3, 5), (12, 2)):
        dist = D.random_discrete(rng, dx, dy, target_mi=1.0)
        x, y = dist.sample(500, rng)
        assert x.shape == (500, dx) and y.shape == (500, dy)
        assert np.isfinite(dist.mi) and 0 <= dist.mi <= 1.0 + 1e-6
        n_unique = [len(np.unique(c)) for c in np.hstack([x, y]).T]
        assert min(n_unique) <= 13  # at least one discrete column survives the lifting


# ----------------------------------------------------------------------------- class labels


def test_labels_truth_matches_monte_carlo():
    rng = np.random.default_rng(0)
    for _ in range(3):
        d = L.random_labels_pair(rng, 4, 10)
        mean, se = monte_carlo_mi(d, 100_000, np.random.default_rng(1))
        assert abs(mean - d.mi) <= 4 * se + 1e-3, (mean, se, d.mi, d.params())


def test_labels_one_dimensional_matches_scipy_quad():
    w, mu, sd = np.array([0.2, 0.5, 0.3]), np.array([-1.0, 0.5, 2.0]), np.array([0.7, 1.0, 0.5])
    d = L.ClassLabels(w, mu[:, None], (sd**2)[:, None, None])
    comp = lambda x: w * np.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))

    def integrand(x):
        c = comp(x)
        return -np.sum(np.where(c > 0, c * np.log(c / c.sum()), 0.0))

    h_given = quad(integrand, -12, 12, limit=400, epsabs=1e-12)[0]
    assert d.mi == pytest.approx(-np.sum(w * np.log(w)) - h_given, abs=1e-8)


def test_random_labels_target_and_lift():
    rng = np.random.default_rng(2)
    d = L.random_labels_pair(rng, 3, 5, target_mi=0.7)
    assert d.mi == pytest.approx(0.7, rel=0.05)
    dist = L.random_labels(rng, 6, 4, target_mi=1.0)
    x, y = dist.sample(200, rng)
    assert x.shape == (200, 6) and y.shape == (200, 4)


# ----------------------------------------------------------------------------- counts


@pytest.mark.parametrize("link, a, b, tau, trials", [("poisson", 1.5, 0.5, 0.0, None), ("poisson", 0.5, 0.8, 0.3, None),
                                                     ("binomial", 0.3, 2.0, 0.0, 30), ("binomial", -0.5, 1.5, 0.6, 12)])
def test_counts_truth_matches_independent_quadrature_and_mc(link, a, b, tau, trials):
    d = C.CountLatent(link, a, b, tau, trials)
    ks = np.arange(60 if link == "poisson" else trials + 1)
    lpmf = lambda k, eta: C.count_log_pmf(link, k, eta, trials)
    # P(k) by scipy quad (the class uses a trapezoid grid)
    pk = np.array([quad(lambda z: np.exp(lpmf(k, a + b * z) - 0.5 * z * z) / np.sqrt(2 * np.pi), -9, 9,
                        epsabs=1e-13, limit=200)[0] for k in ks])
    x, y = d.sample(30_000, np.random.default_rng(3))
    k = x[:, 0].astype(int)
    if tau == 0:
        log_cond = lpmf(k, a + b * y[:, 0])
    else:  # p(k | y) by Gauss-Hermite over z | y
        zq, wq = hermegauss(80)
        mean, sd = y[:, 0] / (1 + tau**2), tau / np.sqrt(1 + tau**2)
        log_cond = logsumexp(lpmf(k[:, None], a + b * (mean[:, None] + sd * zq)) + np.log(wq / wq.sum()), axis=1)
    assert k.max() < len(ks)
    _mc_check(log_cond - np.log(pk[k]), d.mi)


def test_random_counts_target():
    rng = np.random.default_rng(5)
    for target in (0.2, 0.8):
        assert C.random_counts_pair(rng, target).mi == pytest.approx(target, rel=0.05)
    dist = C.random_counts(rng, 3, 2, target_mi=0.5)
    x, _ = dist.sample(100, rng)
    assert x.shape == (100, 3)


# ----------------------------------------------------------------------------- structured


def _cca_mi(cov, dx):
    """-1/2 sum log(1 - r_i^2) over the canonical correlations (SVD of the whitened cross-covariance)."""
    wx = np.linalg.inv(np.linalg.cholesky(cov[:dx, :dx]))
    wy = np.linalg.inv(np.linalg.cholesky(cov[dx:, dx:]))
    r = np.linalg.svd(wx @ cov[:dx, dx:] @ wy.T, compute_uv=False)
    return -0.5 * np.sum(np.log1p(-(r**2)))


@pytest.mark.parametrize("structure", ST.STRUCTURES)
def test_structured_truth_alignment_and_target(structure):
    rng = np.random.default_rng(0)
    for dx, dy, target in ((8, 8, 12.0), (40, 24, 30.0), (64, 64, 5.0)):
        g = ST.random_structured(rng, dx, dy, target, structure)
        info = g.structure
        assert g.mi == pytest.approx(_cca_mi(g.cov, dx), rel=1e-8)
        units = {"aligned_pairs": "pair_mis", "blocks": "block_mis"}.get(structure)
        if units:  # each pair / block carries exactly its recorded MI (closed form per unit)
            assert g.mi == pytest.approx(sum(info[units]), rel=1e-8)
            n_units = info.get("n_pairs", info.get("n_blocks"))
            if target <= n_units * 5.0:
                assert sum(info[units]) == pytest.approx(target, rel=1e-8)
        elif target < 0.99 * info["n_shared"] * 5.0:
            assert g.mi == pytest.approx(target, rel=1e-6)
        cross = np.abs(g.cov[:dx, dx:]) > 0
        if structure == "aligned_pairs":  # one nonzero per pair, at most one per row and column
            assert cross.sum() == info["n_pairs"] and cross.sum(0).max() <= 1 and cross.sum(1).max() <= 1
    g = ST.random_structured(rng, 16, 12, 6.0, structure)
    mean, se = monte_carlo_mi(g, 50_000, np.random.default_rng(1))
    assert abs(mean - g.mi) <= 4 * se


# ----------------------------------------------------------------------------- all random constructors


CONSTRUCTORS = {
    "functional": lambda rng, dx, dy, t: F.random_functional(rng, dx, dy, t),
    "shape": lambda rng, dx, dy, t: S.random_shape(rng, dx, dy, t),
    "discrete": lambda rng, dx, dy, t: D.random_discrete(rng, dx, dy, t),
    "labels": lambda rng, dx, dy, t: L.random_labels(rng, dx, dy, t),
    "counts": lambda rng, dx, dy, t: C.random_counts(rng, dx, dy, t),
    "structured": lambda rng, dx, dy, t: ST.random_structured(rng, dx, dy, t),
}


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
def test_random_constructors_are_deterministic_and_well_formed(name):
    for seed, (dx, dy) in enumerate(((1, 1), (2, 5), (8, 3))):
        if name == "structured" and min(dx, dy) < 1:
            continue
        dists = [CONSTRUCTORS[name](np.random.default_rng(seed), dx, dy, 1.0) for _ in range(2)]
        samples = [d.sample(40, np.random.default_rng(9)) for d in dists]
        np.testing.assert_array_equal(samples[0][0], samples[1][0])
        np.testing.assert_array_equal(samples[0][1], samples[1][1])
        x, y = samples[0]
        assert x.shape == (40, dx) and y.shape == (40, dy) and x.dtype == np.float64
        assert np.isfinite(x).all() and np.isfinite(y).all()
        d = dists[0]
        assert d.mi == dists[1].mi and 0 <= d.mi < 50 and d.mi_se == 0.0
        params = d.params()
        json.dumps(params)
        assert (params["dim_x"], params["dim_y"]) == (dx, dy)


# ----------------------------------------------------------------------------- heavier cross-checks


@pytest.mark.slow
def test_functional_against_ksg_at_large_n():
    from mist.evaluate.ksg import ksg_mi
    rng = np.random.default_rng(0)
    for kind in ("sine", "polynomial", "steps"):
        d = F.Functional(F.random_function(kind, rng, "uniform"), 0.3, "gaussian", "uniform")
        x, y = d.sample(100_000, rng)
        assert ksg_mi(x, y, k=5) == pytest.approx(d.mi, abs=0.03), kind


@pytest.mark.slow
def test_functional_random_instances_against_dense_quadrature():
    rng = np.random.default_rng(1)
    for _ in range(10):
        d = F.random_functional_pair(rng, float(rng.uniform(0.1, 3.0)))
        assert d.mi == pytest.approx(_functional_reference(d, panels=1500), abs=2e-3), d.params()
