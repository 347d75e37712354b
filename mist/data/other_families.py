"""Non-Gaussian joint distributions with known mutual information.

* :class:`AdditiveUniform` -- ``Y = X + U(-eps, eps)`` with ``X ~ U(0, 1)``, per coordinate.
* :class:`Independent` -- MI 0 with non-Gaussian (optionally linearly mixed) marginals.
* :class:`GaussianMixture` -- no closed form; MI estimated once by Monte Carlo.
* :class:`GammaExponential` -- held out of training (out-of-distribution evaluation only).
* :class:`Product` -- independent blocks side by side (MI adds up).
* :class:`Lifted` -- appends independent coordinates to reach larger ``(dim_x, dim_y)``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, logsumexp

from mist.data.distributions import (
    JointDistribution,
    check_dim,
    check_sample_shapes,
    check_spd,
    monte_carlo_mi,
    mvn_logpdf,
    random_orthogonal,
    random_well_conditioned,
    small_list,
)

# ----------------------------------------------------------------------------- marginals

MARGINALS = ("gaussian", "student_t", "uniform", "exponential", "lognormal", "bimodal")


def sample_marginal(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` i.i.d. draws, shape (n,), from a named univariate marginal (see ``MARGINALS``)."""
    if name == "gaussian":
        return rng.standard_normal(n)
    if name == "student_t":
        return rng.standard_t(3.0, size=n)
    if name == "uniform":
        return rng.uniform(-1.0, 1.0, size=n)
    if name == "exponential":
        return rng.exponential(1.0, size=n)
    if name == "lognormal":
        return rng.lognormal(0.0, 1.0, size=n)
    if name == "bimodal":  # equal mixture of N(-1.5, 0.5^2) and N(1.5, 0.5^2)
        return np.where(rng.random(n) < 0.5, -1.5, 1.5) + 0.5 * rng.standard_normal(n)
    raise ValueError(f"unknown marginal {name!r}; choose from {MARGINALS}")


def _marginal_names(spec: str, d: int, rng: np.random.Generator) -> list[str]:
    if spec == "mixed":
        return [MARGINALS[i] for i in rng.integers(len(MARGINALS), size=d)]
    if spec not in MARGINALS:
        raise ValueError(f"unknown marginal {spec!r}; choose from {MARGINALS + ('mixed',)}")
    return [spec] * d


def _sample_columns(names: list[str], n: int, rng: np.random.Generator) -> np.ndarray:
    """Shape (n, len(names)); column i drawn from marginal ``names[i]``."""
    return np.stack([sample_marginal(name, n, rng) for name in names], axis=1)


# ----------------------------------------------------------------------------- additive uniform


class AdditiveUniform:
    """``X ~ U(0, 1)^k``, ``Y_i = X_i + U(-eps_i, eps_i)`` independently per coordinate.

    Per coordinate ``I = eps - log(2 eps)`` if ``eps <= 1/2`` else ``1 / (4 eps)``; the total
    is the sum. ``dim_x = dim_y = k = len(eps)``.
    """

    family = "additive_uniform"
    mi_se = 0.0

    def __init__(self, eps):
        eps = np.atleast_1d(np.asarray(eps, dtype=np.float64))
        if eps.ndim != 1 or eps.size == 0 or np.any(~np.isfinite(eps)) or np.any(eps <= 0):
            raise ValueError(f"eps must be a non-empty 1-D array of finite values > 0, got {eps.tolist()}")
        self.eps = eps
        self.dim_x = self.dim_y = len(eps)
        per_coord = np.where(eps <= 0.5, eps - np.log(2 * eps), 1 / (4 * eps))
        self.mi = float(per_coord.sum())

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """x (n, k), y (n, k)."""
        n = check_dim(n, "n")
        x = rng.random((n, self.dim_x))
        return x, x + rng.uniform(-self.eps, self.eps, size=(n, self.dim_x))

    def pmi(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Shape (n,). On the support, per coordinate ``pmi = -log |[0, 1] ∩ [y - eps, y + eps]|``.

        (``p(y | x) = 1 / (2 eps)`` and ``p(y)`` is the trapezoid ``overlap / (2 eps)``.)
        Points outside the support of ``p(x, y)`` get ``-inf``.
        """
        x, y = check_sample_shapes(x, y, self.dim_x, self.dim_y)
        overlap = np.minimum(1.0, y + self.eps) - np.maximum(0.0, y - self.eps)
        inside = (np.abs(y - x) <= self.eps) & (x >= 0) & (x <= 1) & (overlap > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            per_coord = np.where(inside, -np.log(np.where(inside, overlap, 1.0)), -np.inf)
        return per_coord.sum(axis=1)

    def params(self) -> dict:
        return {"family": self.family, "dim_x": self.dim_x, "dim_y": self.dim_y, "eps": small_list(self.eps, 64)}


# ----------------------------------------------------------------------------- independent


class Independent:
    """X and Y independent (MI = 0) with possibly non-Gaussian, dependent coordinates.

    ``marginal`` is one of ``MARGINALS`` for all coordinates, or ``"mixed"`` for a per-coordinate
    choice drawn from ``seed``. With ``mix=True`` the coordinates of X (and separately of Y)
    are multiplied by a random well-conditioned matrix, also drawn from ``seed``, so that they
    depend on each other -- the MI between X and Y stays 0.

    Arguments left as ``None`` are drawn from ``rng`` when it is given (``marginal`` uniformly
    from ``MARGINALS + ("mixed",)``, ``seed`` uniformly, ``mix`` with probability 1/2) and
    otherwise default to ``"gaussian"``, ``0`` and ``False``.
    """

    family = "independent"
    mi = 0.0
    mi_se = 0.0

    def __init__(
        self,
        dim_x: int,
        dim_y: int,
        marginal: str | None = None,
        seed: int | None = None,
        mix: bool | None = None,
        *,
        rng: np.random.Generator | None = None,
    ):
        self.dim_x, self.dim_y = check_dim(dim_x, "dim_x"), check_dim(dim_y, "dim_y")
        if marginal is None:
            choices = MARGINALS + ("mixed",)
            marginal = choices[rng.integers(len(choices))] if rng is not None else "gaussian"
        if seed is None:
            seed = int(rng.integers(2**31)) if rng is not None else 0
        if mix is None:
            mix = bool(rng.random() < 0.5) if rng is not None else False
        spec_rng = np.random.default_rng(seed)
        self.marginal, self.seed, self.mix = marginal, int(seed), bool(mix)
        self.marginals_x = _marginal_names(marginal, self.dim_x, spec_rng)
        self.marginals_y = _marginal_names(marginal, self.dim_y, spec_rng)
        self._mix_x = random_well_conditioned(self.dim_x, spec_rng) if mix else None
        self._mix_y = random_well_conditioned(self.dim_y, spec_rng) if mix else None

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """x (n, dim_x), y (n, dim_y)."""
        n = check_dim(n, "n")
        x = _sample_columns(self.marginals_x, n, rng)
        y = _sample_columns(self.marginals_y, n, rng)
        if self.mix:
            x, y = x @ self._mix_x.T, y @ self._mix_y.T
        return x, y

    def pmi(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Identically zero since ``p(x, y) = p(x) p(y)``; shape (n,)."""
        x, _ = check_sample_shapes(x, y, self.dim_x, self.dim_y)
        return np.zeros(len(x))

    def params(self) -> dict:
        return {
            "family": self.family, "dim_x": self.dim_x, "dim_y": self.dim_y,
            "marginal": self.marginal, "seed": self.seed, "mix": self.mix,
            "marginals_x": self.marginals_x, "marginals_y": self.marginals_y,
        }


# ----------------------------------------------------------------------------- Gaussian mixture


class GaussianMixture:
    """Mixture of K Gaussians on ``(X, Y)`` in ``R^(dim_x + dim_y)``.

    Shapes: weights (K,), means (K, d), covs (K, d, d); X is the first ``dim_x`` coordinates.
    There is no closed form: ``mi, mi_se = monte_carlo_mi(self, mc_samples, default_rng(mc_seed))``
    is computed once in the constructor.
    """

    family = "gaussian_mixture"

    def __init__(self, weights, means, covs, dim_x: int, mc_samples: int = 100_000, mc_seed: int = 0,
                 precomputed: tuple[float, float] | None = None):
        w = np.asarray(weights, dtype=np.float64)
        self.means = np.asarray(means, dtype=np.float64)
        self.covs = np.asarray(covs, dtype=np.float64)
        if w.ndim != 1 or w.size == 0 or np.any(~np.isfinite(w)) or np.any(w <= 0) or abs(w.sum() - 1) > 1e-6:
            raise ValueError("weights must be a non-empty 1-D array of positive values summing to 1")
        k = len(w)
        if self.means.ndim != 2 or len(self.means) != k or self.covs.shape != (k,) + self.means.shape[1:] * 2:
            raise ValueError(
                f"expected means (K, d) and covs (K, d, d) with K={k}, got {self.means.shape}, {self.covs.shape}"
            )
        d = self.means.shape[1]
        self.dim_x = check_dim(dim_x, "dim_x")
        if self.dim_x >= d:
            raise ValueError(f"dim_x={dim_x} must be smaller than d={d}")
        self.dim_y = d - self.dim_x
        self.weights = w / w.sum()
        self._chol = np.stack([check_spd(c, f"covs[{i}]") for i, c in enumerate(self.covs)])
        dx = self.dim_x
        self._chol_x = np.stack([np.linalg.cholesky(c[:dx, :dx]) for c in self.covs])
        self._chol_y = np.stack([np.linalg.cholesky(c[dx:, dx:]) for c in self.covs])
        self.mc_samples, self.mc_seed = check_dim(mc_samples, "mc_samples"), int(mc_seed)
        if precomputed is not None:  # (mi, mi_se) from an earlier monte_carlo_mi of these parameters
            self.mi, self.mi_se = float(precomputed[0]), float(precomputed[1])
        else:
            self.mi, self.mi_se = monte_carlo_mi(self, self.mc_samples, np.random.default_rng(self.mc_seed))

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """x (n, dim_x), y (n, dim_y)."""
        n = check_dim(n, "n")
        comp = rng.choice(len(self.weights), size=n, p=self.weights)
        z = rng.standard_normal((n, self.means.shape[1]))
        for k in range(len(self.weights)):
            idx = comp == k
            z[idx] = self.means[k] + z[idx] @ self._chol[k].T
        return z[:, : self.dim_x], z[:, self.dim_x :]

    def _log_density(self, z: np.ndarray, sl: slice, chols: np.ndarray) -> np.ndarray:
        """Log mixture density of the coordinates ``sl`` at z (n, len(sl)); shape (n,)."""
        log_w = np.log(self.weights)
        comps = [log_w[k] + mvn_logpdf(z, self.means[k, sl], chols[k]) for k in range(len(log_w))]
        return logsumexp(np.stack(comps), axis=0)

    def pmi(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Pointwise MI via logsumexp over components of joint and marginal densities; shape (n,)."""
        x, y = check_sample_shapes(x, y, self.dim_x, self.dim_y)
        dx = self.dim_x
        return (
            self._log_density(np.hstack([x, y]), slice(None), self._chol)
            - self._log_density(x, slice(0, dx), self._chol_x)
            - self._log_density(y, slice(dx, None), self._chol_y)
        )

    def params(self) -> dict:
        return {
            "family": self.family, "dim_x": self.dim_x, "dim_y": self.dim_y,
            "n_components": len(self.weights), "weights": small_list(self.weights, 64),
            "mc_samples": self.mc_samples, "mc_seed": self.mc_seed,
        }


def random_gaussian_mixture(
    dim_x: int,
    dim_y: int,
    n_components: int,
    rng: np.random.Generator,
    mc_samples: int = 20_000,
    max_se: float = 0.02,
    separation: tuple[float, float] = (1.5, 3.0),
) -> GaussianMixture:
    """A random, well-separated mixture in which X's component predicts Y's component.

    Each component has a mean drawn jointly for X and Y (so knowing which cluster X is in
    tells which cluster Y is in), scaled by a separation drawn from ``separation``, and a
    random full covariance with standard deviations in [0.3, 1] along random axes (so there
    is within-component dependence too). Weights are Dirichlet(2, ..., 2). ``mc_samples`` is
    increased until the Monte Carlo standard error of the MI is at most ``max_se``.
    """
    dim_x, dim_y = check_dim(dim_x, "dim_x"), check_dim(dim_y, "dim_y")
    k = check_dim(n_components, "n_components")
    d = dim_x + dim_y
    weights = rng.dirichlet(np.full(k, 2.0))
    means = rng.uniform(*separation) * rng.standard_normal((k, d))
    covs = []
    for _ in range(k):
        q = random_orthogonal(d, rng)
        covs.append((q * rng.uniform(0.3, 1.0, size=d) ** 2) @ q.T)
    covs = np.stack([0.5 * (c + c.T) for c in covs])
    mc_seed = int(rng.integers(2**31))
    while True:
        mixture = GaussianMixture(weights, means, covs, dim_x, mc_samples=mc_samples, mc_seed=mc_seed)
        if mixture.mi_se <= max_se:
            return mixture
        # SE scales as 1/sqrt(n): aim 20% below the target, at least doubling.
        mc_samples = int(mc_samples * max(2.0, 1.2 * (mixture.mi_se / max_se) ** 2))


# ----------------------------------------------------------------------------- gamma-exponential


class GammaExponential:
    """``X ~ Gamma(a, 1)``, ``Y | X ~ Exponential(rate X)``; 1-D each.

    ``MI = digamma(a + 1) - log(a)``; ``p(y) = a / (1 + y)^(a + 1)``.
    Held out of training: used only for out-of-distribution evaluation.
    """

    family = "gamma_exponential"
    mi_se = 0.0
    dim_x = 1
    dim_y = 1

    def __init__(self, a: float):
        if not (np.isfinite(a) and a > 0):
            raise ValueError(f"shape a must be finite and > 0, got {a}")
        self.a = float(a)
        self.mi = float(digamma(self.a + 1) - np.log(self.a))

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """x (n, 1), y (n, 1)."""
        n = check_dim(n, "n")
        # Guard against Gamma draws that underflow to 0 (possible for very small a).
        x = np.maximum(rng.gamma(self.a, 1.0, size=(n, 1)), np.finfo(np.float64).tiny)
        return x, rng.exponential(1.0, size=(n, 1)) / x

    def pmi(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``log x - x y - log a + (a + 1) log(1 + y)``; shape (n,)."""
        x, y = check_sample_shapes(x, y, 1, 1)
        x, y = x[:, 0], y[:, 0]
        return np.log(x) - x * y - np.log(self.a) + (self.a + 1) * np.log1p(y)

    def params(self) -> dict:
        return {"family": self.family, "dim_x": 1, "dim_y": 1, "a": self.a}


# ----------------------------------------------------------------------------- products and lifting


class Product:
    """Independent pairs ``(X_1, Y_1), ..., (X_m, Y_m)`` stacked: ``X = (X_1, ..., X_m)``, same for Y.

    MI is additive: ``mi = sum(part.mi)``, ``mi_se = sqrt(sum(part.mi_se^2))``. The family is the
    parts' common family, or ``"product"`` if they differ. ``pmi`` (the sum of the parts' PMIs)
    exists iff every part has one.
    """

    def __init__(self, parts: list[JointDistribution]):
        if len(parts) == 0:
            raise ValueError("Product needs at least one part")
        self.parts = list(parts)
        self.dim_x = sum(p.dim_x for p in self.parts)
        self.dim_y = sum(p.dim_y for p in self.parts)
        self.mi = float(sum(p.mi for p in self.parts))
        self.mi_se = float(np.sqrt(sum(p.mi_se**2 for p in self.parts)))
        families = {p.family for p in self.parts}
        self.family = families.pop() if len(families) == 1 else "product"
        self._split_x = np.cumsum([p.dim_x for p in self.parts])[:-1]
        self._split_y = np.cumsum([p.dim_y for p in self.parts])[:-1]

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """x (n, dim_x), y (n, dim_y): the parts' samples side by side."""
        xs, ys = zip(*(p.sample(n, rng) for p in self.parts))
        return np.hstack(xs), np.hstack(ys)

    @property
    def pmi(self):
        """Sum of the parts' pointwise MI; shape (n,)."""
        part_pmis = [p.pmi for p in self.parts]  # AttributeError (so hasattr is False) if one lacks it

        def pmi(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            x, y = check_sample_shapes(x, y, self.dim_x, self.dim_y)
            xs, ys = np.split(x, self._split_x, axis=1), np.split(y, self._split_y, axis=1)
            return sum(f(xi, yi) for f, xi, yi in zip(part_pmis, xs, ys))

        return pmi

    def params(self) -> dict:
        return {
            "family": self.family, "dim_x": self.dim_x, "dim_y": self.dim_y,
            "parts": [p.params() for p in self.parts],
        }



class Lifted:
    """Embed ``base`` into ``(dim_x, dim_y) >= (base.dim_x, base.dim_y)`` by appending independent noise.

    Each extra coordinate has a marginal drawn (with ``rng``) from ``marginals``; with
    ``shuffle`` the columns of X and of Y are put in a random order (also from ``rng``).
    MI, its standard error and the family are those of ``base``. ``pmi`` exists iff the
    base has one (independent coordinates do not change the PMI).
    """

    def __init__(
        self,
        base: JointDistribution,
        dim_x: int,
        dim_y: int,
        rng: np.random.Generator,
        marginals: tuple[str, ...] = ("gaussian",),
        shuffle: bool = True,
    ):
        self.dim_x, self.dim_y = check_dim(dim_x, "dim_x"), check_dim(dim_y, "dim_y")
        if self.dim_x < base.dim_x or self.dim_y < base.dim_y:
            raise ValueError(f"cannot lift ({base.dim_x}, {base.dim_y}) to smaller ({dim_x}, {dim_y})")
        for name in marginals:
            if name not in MARGINALS:
                raise ValueError(f"unknown marginal {name!r}; choose from {MARGINALS}")
        self.base = base
        self.family, self.mi, self.mi_se = base.family, base.mi, base.mi_se
        self.extra_x = [marginals[i] for i in rng.integers(len(marginals), size=self.dim_x - base.dim_x)]
        self.extra_y = [marginals[i] for i in rng.integers(len(marginals), size=self.dim_y - base.dim_y)]
        self._perm_x = rng.permutation(self.dim_x) if shuffle else np.arange(self.dim_x)
        self._perm_y = rng.permutation(self.dim_y) if shuffle else np.arange(self.dim_y)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """x (n, dim_x), y (n, dim_y): base columns and extra columns, permuted."""
        bx, by = self.base.sample(n, rng)
        x = np.hstack([bx] + ([_sample_columns(self.extra_x, n, rng)] if self.extra_x else []))
        y = np.hstack([by] + ([_sample_columns(self.extra_y, n, rng)] if self.extra_y else []))
        return x[:, self._perm_x], y[:, self._perm_y]

    @property
    def pmi(self):
        """``pmi(x, y)`` of the base evaluated on the base columns; shape (n,)."""
        base_pmi = self.base.pmi  # AttributeError (so hasattr is False) if the base has no density

        def pmi(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            x, y = check_sample_shapes(x, y, self.dim_x, self.dim_y)
            bx = x[:, np.argsort(self._perm_x)[: self.base.dim_x]]
            by = y[:, np.argsort(self._perm_y)[: self.base.dim_y]]
            return base_pmi(bx, by)

        return pmi

    def params(self) -> dict:
        return {
            **self.base.params(),
            "dim_x": self.dim_x, "dim_y": self.dim_y,
            "base_dim_x": self.base.dim_x, "base_dim_y": self.base.dim_y,
            "extra_x": self.extra_x, "extra_y": self.extra_y,
        }
