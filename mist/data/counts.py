"""Counts driven by a continuous latent: X | Z Poisson or binomial, Y = Z or a noisy copy of it.

| family | what                                                | MI (nats)        | truth               |
|--------|-----------------------------------------------------|------------------|---------------------|
| counts | Z ~ N(0, 1); X given Z ~ Poisson(exp(a + b Z)) (rate| Poisson 0..1.4,  | H(X) - E_Y H(X     |
|        | <= 1000 at z = 5.5) or Binomial(m, sigmoid(a + bZ)),| binomial 0..1.95;| given Y): sums over|
|        | m <= 100; Y = Z + tau E, tau = 0 or 0.05..1         | knob (slope b)   | counts, trapezoid  |
|        |                                                     |                  | in z, Hermite in y |
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.optimize import brentq
from scipy.special import expit, gammaln, log_expit

from mist.data.discrete import entropy
from mist.data.distributions import check_dim
from mist.data.lifting import Swapped, lift
from mist.data.other_families import Product

LINKS = ("poisson", "binomial")
Z_LIMIT = 5.5  # the z grid covers [-5.5, 5.5]; the 3.8e-8 of N(0, 1) outside is dropped (< 1e-6 nats)
MAX_RATE = 1000.0  # Poisson rates at abs(z) = Z_LIMIT are capped: the exact sums run over <= ~1400 counts


def count_log_pmf(link: str, k: np.ndarray, eta: np.ndarray, trials: int | None) -> np.ndarray:
    """log P(X = k | linear predictor eta), broadcast over k and eta."""
    if link == "poisson":
        return k * eta - np.exp(eta) - gammaln(k + 1)
    log_comb = gammaln(trials + 1) - gammaln(k + 1) - gammaln(trials - k + 1)
    return log_comb + k * log_expit(eta) + (trials - k) * log_expit(-eta)


class CountLatent:
    """Z ~ N(0, 1); X | Z from ``link`` with linear predictor a + b Z; Y = Z + tau E (tau >= 0).

    x (n, 1) holds the count, y (n, 1) the continuous side. ``mi`` = H(X) - E_Y H(X | Y) (module
    docstring); with tau = 0, H(X | Y) = H(X | Z) is the count law's entropy at each z."""

    family = "counts"
    dim_x = dim_y = 1
    mi_se = 0.0

    def __init__(self, link: str, a: float, b: float, tau: float = 0.0, trials: int | None = None,
                 quick: bool = False):
        if link not in LINKS:
            raise ValueError(f"unknown link {link!r}; choose from {LINKS}")
        if link == "binomial" and not (trials is not None and 1 <= trials <= 1000):
            raise ValueError("binomial counts need 1 <= trials <= 1000")
        if not (np.isfinite(a) and np.isfinite(b) and np.isfinite(tau) and tau >= 0):
            raise ValueError(f"need finite a, b and tau >= 0, got {a}, {b}, {tau}")
        if link == "poisson" and a + abs(b) * Z_LIMIT > np.log(MAX_RATE) + 1e-9:
            raise ValueError(f"Poisson rate above {MAX_RATE} at |z| = {Z_LIMIT}: too many counts for the exact sums")
        self.link, self.a, self.b, self.tau = link, float(a), float(b), float(tau)
        self.trials = int(trials) if link == "binomial" else None
        self.mi = self._mi(3.0 if quick else 1.0, 32 if quick else 96)

    def _support(self) -> np.ndarray:
        if self.link == "binomial":
            return np.arange(self.trials + 1, dtype=np.float64)
        top = np.exp(self.a + abs(self.b) * Z_LIMIT)
        return np.arange(int(top + 12 * np.sqrt(top) + 30), dtype=np.float64)

    def _z_grid(self, post_sd: float, coarse: float) -> tuple[np.ndarray, float]:
        """Trapezoid nodes on [-Z_LIMIT, Z_LIMIT], spacing (times ``coarse``) below 0.7 of the narrowest
        width in z: the count law's, 1 / (abs(b) sqrt(variance)), and that of z given y. The integrands are
        smooth bumps, for which the trapezoid error is ~exp(-2 pi^2 (width / spacing)^2): < 1e-8 here."""
        rate = np.exp(self.a + abs(self.b) * Z_LIMIT)
        var = rate if self.link == "poisson" else self.trials / 4
        step = coarse * min(0.1, 0.7 / (abs(self.b) * np.sqrt(var) + 1e-12), 0.7 * post_sd)
        z, dz = np.linspace(-Z_LIMIT, Z_LIMIT, int(np.ceil(2 * Z_LIMIT / step)) + 1, retstep=True)
        return z, dz

    def _mi(self, coarse: float, n_hermite: int) -> float:
        post_var = self.tau**2 / (1 + self.tau**2)
        z, dz = self._z_grid(np.sqrt(post_var) if self.tau > 0 else np.inf, coarse)
        k = self._support()
        log_p = count_log_pmf(self.link, k[None], self.a + self.b * z[:, None], self.trials)  # (nz, K)
        p_kz = np.exp(log_p)
        wz = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi) * dz
        h_x = entropy(wz @ p_kz / wz.sum())
        if self.tau == 0:
            h_given = -np.sum(p_kz * np.where(p_kz > 0, log_p, 0.0), axis=1)
            return max(h_x - float(wz @ h_given) / wz.sum(), 0.0)
        y, wy = hermegauss(n_hermite)  # y = sqrt(1 + tau^2) u, u ~ N(0, 1)
        y, wy = y * np.sqrt(1 + self.tau**2), wy / wy.sum()
        mean = np.clip(y / (1 + self.tau**2), -Z_LIMIT, Z_LIMIT)  # beyond: weight < 1e-8, kept finite
        log_w = -0.5 * (z[None] - mean[:, None]) ** 2 / post_var + 0.5 * z[None] ** 2  # z | y, over the N(0,1) weights
        w = np.exp(log_w - log_w.max(axis=1, keepdims=True)) * wz  # (ny, nz)
        p_ky = (w @ p_kz) / w.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            h_given = -np.sum(np.where(p_ky > 0, p_ky * np.log(p_ky), 0.0), axis=1)
        return max(h_x - float(wy @ h_given), 0.0)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """x (n, 1): counts as floats, y (n, 1)."""
        z = rng.standard_normal(check_dim(n, "n"))
        eta = self.a + self.b * z
        x = rng.poisson(np.exp(eta)) if self.link == "poisson" else rng.binomial(self.trials, expit(eta))
        y = z + self.tau * rng.standard_normal(n)
        return x[:, None].astype(np.float64), y[:, None]

    def params(self) -> dict:
        return {"family": self.family, "dim_x": 1, "dim_y": 1, "link": self.link, "a": self.a, "b": self.b,
                "tau": self.tau, "trials": self.trials}


def random_counts_pair(rng: np.random.Generator, target_mi: float | None = None) -> CountLatent:
    """Random link, intercept and noise: Poisson a ~ U(-1, 4), binomial m ~ 1..100 and a ~ U(-2, 2);
    tau = 0 with prob. 1/2, else log-uniform in [0.05, 1]. The slope b (sign random) is solved for
    ``target_mi`` (capped at 0.97 of the MI at the largest b allowed: Poisson rate <= MAX_RATE at
    abs(z) = Z_LIMIT, binomial abs(b) <= 6); without, abs(b) is uniform on [0, its cap]."""
    link = LINKS[rng.integers(2)]
    if link == "poisson":
        a, trials = float(rng.uniform(-1.0, 4.0)), None
        b_max = (np.log(MAX_RATE) - a) / Z_LIMIT
    else:
        a, trials = float(rng.uniform(-2.0, 2.0)), int(np.exp(rng.uniform(0, np.log(100))))
        b_max = 6.0
    tau = 0.0 if rng.random() < 0.5 else float(np.exp(rng.uniform(np.log(0.05), 0.0)))
    sign = 1.0 if rng.random() < 0.5 else -1.0
    build = lambda b, quick=False: CountLatent(link, a, sign * b, tau, trials, quick)
    if target_mi is None:
        return build(float(rng.uniform(0.0, b_max)))
    quick = lambda b: build(b, quick=True).mi
    goal = min(float(target_mi), 0.97 * quick(b_max))
    b = 0.0 if goal <= 0 else brentq(lambda b: quick(b) - goal, 0.0, b_max, xtol=1e-3, rtol=0.01)
    return build(b)


def random_counts(rng: np.random.Generator, dim_x: int, dim_y: int, target_mi: float | None = None,
                  n_pairs: int | None = None):
    """1..3 independent count pairs (target MI split evenly), each swapped with prob. 1/2, lifted to
    (dim_x, dim_y) with independent Gaussian columns; never mixed (the counts keep their ties)."""
    dim_x, dim_y = check_dim(dim_x, "dim_x"), check_dim(dim_y, "dim_y")
    k = int(n_pairs or rng.integers(1, min(dim_x, dim_y, 3) + 1))
    per = None if target_mi is None else target_mi / k
    parts = [random_counts_pair(rng, per) for _ in range(k)]
    parts = [Swapped(p) if rng.random() < 0.5 else p for p in parts]
    return lift(parts[0] if k == 1 else Product(parts), dim_x, dim_y, rng, "none")
