"""Jointly Gaussian and multivariate Student-t distributions with closed-form MI.

Both take a (d, d) matrix ``S`` (covariance, resp. dispersion) whose first ``dim_x``
coordinates are ``X`` and the remaining ``dim_y = d - dim_x`` are ``Y``. The covariance
builders (``canonical``, ``dense``, ``sparse``, ``latent``, ``channel``) return a
:class:`Gaussian` whose ``params()`` records the builder and its arguments; pass
``g.cov`` to :class:`StudentT` (or use ``StudentT.from_gaussian``) for the t version.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from mist.data.distributions import (
    check_dim,
    check_sample_shapes,
    check_spd,
    gaussian_mi_from_cov,
    mahalanobis_sq,
    mvn_logpdf,
    small_list,
)


def _split_dims(cov: np.ndarray, dim_x) -> tuple[int, int]:
    dim_x = check_dim(dim_x, "dim_x")
    if dim_x >= cov.shape[0]:
        raise ValueError(f"dim_x={dim_x} must be smaller than the matrix size {cov.shape[0]}")
    return dim_x, cov.shape[0] - dim_x


class Gaussian:
    """``(X, Y) ~ N(0, cov)``; X is the first ``dim_x`` coordinates.

    ``mi = 1/2 (log det S_xx + log det S_yy - log det S)``.
    ``structure`` (optional) is a small dict recorded in ``params()`` (set by the builders).
    """

    family = "gaussian"
    mi_se = 0.0

    def __init__(self, cov, dim_x: int, structure: dict | None = None):
        self.cov = np.asarray(cov, dtype=np.float64)
        self._chol = check_spd(self.cov, "covariance")
        self.dim_x, self.dim_y = _split_dims(self.cov, dim_x)
        self._chol_x = np.linalg.cholesky(self.cov[: self.dim_x, : self.dim_x])
        self._chol_y = np.linalg.cholesky(self.cov[self.dim_x :, self.dim_x :])
        self.mi = gaussian_mi_from_cov(self.cov, self.dim_x)
        self.structure = dict(structure) if structure else {"structure": "custom"}

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """x (n, dim_x), y (n, dim_y) via ``z = eps @ L^T`` with ``cov = L L^T``."""
        z = rng.standard_normal((check_dim(n, "n"), self.cov.shape[0])) @ self._chol.T
        return z[:, : self.dim_x], z[:, self.dim_x :]

    def pmi(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Pointwise MI for x (n, dim_x), y (n, dim_y); shape (n,)."""
        x, y = check_sample_shapes(x, y, self.dim_x, self.dim_y)
        zero = np.zeros(1)
        return (
            mvn_logpdf(np.hstack([x, y]), zero, self._chol)
            - mvn_logpdf(x, zero, self._chol_x)
            - mvn_logpdf(y, zero, self._chol_y)
        )

    def params(self) -> dict:
        out = {"family": self.family, "dim_x": self.dim_x, "dim_y": self.dim_y, **self.structure}
        if out.get("structure") == "custom":
            out["cov"] = small_list(self.cov)
        return out


# ----------------------------------------------------------------------------- builders


def canonical(rhos, dim_x: int, dim_y: int) -> Gaussian:
    """Canonical correlations: ``corr(X_i, Y_i) = rhos[i]`` for i < k, identity elsewhere.

    ``rhos`` has k <= min(dim_x, dim_y) entries in [0, 1); ``MI = -1/2 sum log(1 - rho^2)``.
    """
    dim_x, dim_y = check_dim(dim_x, "dim_x"), check_dim(dim_y, "dim_y")
    rhos = np.atleast_1d(np.asarray(rhos, dtype=np.float64))
    if rhos.ndim != 1 or len(rhos) > min(dim_x, dim_y):
        raise ValueError(f"need at most min(dim_x, dim_y)={min(dim_x, dim_y)} correlations, got {rhos.shape}")
    if np.any(~np.isfinite(rhos)) or np.any(rhos < 0) or np.any(rhos >= 1):
        raise ValueError(f"canonical correlations must lie in [0, 1), got {rhos.tolist()}")
    cov = np.eye(dim_x + dim_y)
    idx = np.arange(len(rhos))
    cov[idx, dim_x + idx] = cov[dim_x + idx, idx] = rhos
    return Gaussian(cov, dim_x, {"structure": "canonical", "rhos": small_list(rhos, 64)})


def dense(dim_x: int, dim_y: int, corr: float) -> Gaussian:
    """Equicorrelated: unit variances, every off-diagonal entry equal to ``corr``.

    Positive definite iff ``-1 / (d - 1) < corr < 1`` with ``d = dim_x + dim_y``.
    """
    dim_x, dim_y = check_dim(dim_x, "dim_x"), check_dim(dim_y, "dim_y")
    d = dim_x + dim_y
    if not (-1.0 / (d - 1) < corr < 1.0):
        raise ValueError(
            f"dense: corr={corr} does not give a positive definite covariance (need -1/{d - 1} < corr < 1)"
        )
    cov = np.full((d, d), float(corr)) + (1.0 - corr) * np.eye(d)
    return Gaussian(cov, dim_x, {"structure": "dense", "corr": float(corr)})


def sparse(dim_x: int, dim_y: int, n_pairs: int, rho: float, noise: float = 0.0) -> Gaussian:
    """``n_pairs`` interacting pairs ``corr(X_i, Y_i) = rho`` (bmi "sparse interactions").

    ``noise`` adds an equicorrelation within X and within Y (default 0, which makes this
    ``canonical([rho] * n_pairs, ...)``). The matrix must be positive definite.
    """
    dim_x, dim_y = check_dim(dim_x, "dim_x"), check_dim(dim_y, "dim_y")
    n_pairs = check_dim(n_pairs, "n_pairs")
    if n_pairs > min(dim_x, dim_y):
        raise ValueError(f"n_pairs={n_pairs} exceeds min(dim_x, dim_y)={min(dim_x, dim_y)}")
    if not (0.0 <= rho < 1.0):
        raise ValueError(f"rho must lie in [0, 1), got {rho}")
    cov = np.eye(dim_x + dim_y)
    cov[:dim_x, :dim_x] += noise * (1 - np.eye(dim_x))
    cov[dim_x:, dim_x:] += noise * (1 - np.eye(dim_y))
    idx = np.arange(n_pairs)
    cov[idx, dim_x + idx] = cov[dim_x + idx, idx] = rho
    try:
        structure = {"structure": "sparse", "n_pairs": n_pairs, "rho": float(rho), "noise": float(noise)}
        return Gaussian(cov, dim_x, structure)
    except ValueError as err:
        raise ValueError(f"sparse(rho={rho}, noise={noise}): {err}") from None


def latent(dim_x: int, dim_y: int, strength: float) -> Gaussian:
    """One shared factor: ``X_i = a Z + e_i``, ``Y_j = a Z + e'_j`` with Z, e, e' ~ N(0, 1).

    ``cov = I + a^2 1 1^T`` with ``a = strength >= 0``;
    ``MI = 1/2 log[(1 + dx a^2)(1 + dy a^2) / (1 + (dx + dy) a^2)]``.
    """
    dim_x, dim_y = check_dim(dim_x, "dim_x"), check_dim(dim_y, "dim_y")
    if not (np.isfinite(strength) and strength >= 0):
        raise ValueError(f"strength must be finite and >= 0, got {strength}")
    d = dim_x + dim_y
    cov = np.eye(d) + strength**2 * np.ones((d, d))
    return Gaussian(cov, dim_x, {"structure": "latent", "strength": float(strength)})


def channel_mi(A, cov_x, cov_noise) -> float:
    """Closed-form MI of the Gaussian channel ``Y = A X + N``: ``1/2 log det(I + S_N^-1 A S_X A^T)``."""
    A, cov_x, cov_noise = (np.asarray(m, dtype=np.float64) for m in (A, cov_x, cov_noise))
    m = np.linalg.solve(cov_noise, A @ cov_x @ A.T)
    _, logdet = np.linalg.slogdet(np.eye(len(cov_noise)) + m)  # det > 0: similar to an SPD matrix
    return 0.5 * float(logdet)


def channel(A, cov_x, cov_noise) -> Gaussian:
    """Gaussian channel ``Y = A X + N`` with ``X ~ N(0, cov_x)``, ``N ~ N(0, cov_noise)``.

    Shapes: A (dim_y, dim_x), cov_x (dim_x, dim_x), cov_noise (dim_y, dim_y).
    The joint covariance is ``[[S_X, S_X A^T], [A S_X, A S_X A^T + S_N]]``.
    """
    A = np.atleast_2d(np.asarray(A, dtype=np.float64))
    dim_y, dim_x = A.shape
    cov_x, cov_noise = np.asarray(cov_x, dtype=np.float64), np.asarray(cov_noise, dtype=np.float64)
    check_spd(cov_x, "cov_x")
    check_spd(cov_noise, "cov_noise")
    if cov_x.shape != (dim_x, dim_x) or cov_noise.shape != (dim_y, dim_y) or not np.all(np.isfinite(A)):
        raise ValueError(
            "channel: need finite A (dy, dx), cov_x (dx, dx), cov_noise (dy, dy); "
            f"got {A.shape}, {cov_x.shape}, {cov_noise.shape}"
        )
    cxy = cov_x @ A.T
    cov = np.block([[cov_x, cxy], [cxy.T, A @ cxy + cov_noise]])
    cov = 0.5 * (cov + cov.T)
    return Gaussian(cov, dim_x, {"structure": "channel", "channel_mi": channel_mi(A, cov_x, cov_noise)})


# ----------------------------------------------------------------------------- Student-t


def t_entropy_term(k: int, nu: float) -> float:
    """Differential entropy of a standard k-dimensional Student-t with ``nu`` d.o.f. (identity dispersion).

    ``h(k) = log G(nu/2) - log G((nu+k)/2) + k/2 log(nu pi) + (nu+k)/2 [psi((nu+k)/2) - psi(nu/2)]``.
    """
    return float(
        gammaln(nu / 2)
        - gammaln((nu + k) / 2)
        + 0.5 * k * np.log(nu * np.pi)
        + 0.5 * (nu + k) * (digamma((nu + k) / 2) - digamma(nu / 2))
    )


def _t_logpdf(z: np.ndarray, chol: np.ndarray, nu: float) -> np.ndarray:
    """Log density of the centred multivariate t with dispersion chol chol^T at z (n, k); shape (n,)."""
    k = chol.shape[0]
    q = mahalanobis_sq(z, chol)
    return (
        gammaln((nu + k) / 2)
        - gammaln(nu / 2)
        - 0.5 * k * np.log(nu * np.pi)
        - np.sum(np.log(np.diag(chol)))
        - 0.5 * (nu + k) * np.log1p(q / nu)
    )


class StudentT:
    """Multivariate Student-t: ``(X, Y) = G / sqrt(W / nu)``, ``G ~ N(0, S)``, ``W ~ chi2(nu)``.

    ``mi = I_Gauss(S) + h(dim_x) + h(dim_y) - h(dim_x + dim_y)`` with ``h`` from
    :func:`t_entropy_term`; positive even for ``S = I`` (the shared scale W couples X and Y).
    """

    family = "student_t"
    mi_se = 0.0

    def __init__(self, dispersion, dim_x: int, nu: float, structure: dict | None = None):
        self.dispersion = np.asarray(dispersion, dtype=np.float64)
        self._chol = check_spd(self.dispersion, "dispersion")
        self.dim_x, self.dim_y = _split_dims(self.dispersion, dim_x)
        if not (np.isfinite(nu) and nu > 0):
            raise ValueError(f"degrees of freedom nu must be finite and > 0, got {nu}")
        self.nu = float(nu)
        self._chol_x = np.linalg.cholesky(self.dispersion[: self.dim_x, : self.dim_x])
        self._chol_y = np.linalg.cholesky(self.dispersion[self.dim_x :, self.dim_x :])
        correction = (
            t_entropy_term(self.dim_x, self.nu)
            + t_entropy_term(self.dim_y, self.nu)
            - t_entropy_term(self.dim_x + self.dim_y, self.nu)
        )
        self.mi = gaussian_mi_from_cov(self.dispersion, self.dim_x) + correction
        self.structure = dict(structure) if structure else {"structure": "custom"}

    @classmethod
    def from_gaussian(cls, gaussian: Gaussian, nu: float) -> "StudentT":
        """Student-t with the covariance of ``gaussian`` as dispersion (keeps its structure record)."""
        return cls(gaussian.cov, gaussian.dim_x, nu, gaussian.structure)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """x (n, dim_x), y (n, dim_y)."""
        n = check_dim(n, "n")
        g = rng.standard_normal((n, self.dispersion.shape[0])) @ self._chol.T
        w = rng.chisquare(self.nu, size=(n, 1))
        z = g / np.sqrt(w / self.nu)
        return z[:, : self.dim_x], z[:, self.dim_x :]

    def pmi(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Pointwise MI from multivariate-t log densities (marginals are t with the same nu); shape (n,)."""
        x, y = check_sample_shapes(x, y, self.dim_x, self.dim_y)
        return (
            _t_logpdf(np.hstack([x, y]), self._chol, self.nu)
            - _t_logpdf(x, self._chol_x, self.nu)
            - _t_logpdf(y, self._chol_y, self.nu)
        )

    def params(self) -> dict:
        out = {"family": self.family, "dim_x": self.dim_x, "dim_y": self.dim_y, "nu": self.nu, **self.structure}
        if out.get("structure") == "custom":
            out["dispersion"] = small_list(self.dispersion)
        return out


__all__ = [
    "Gaussian",
    "StudentT",
    "canonical",
    "channel",
    "channel_mi",
    "dense",
    "latent",
    "sparse",
    "t_entropy_term",
]
