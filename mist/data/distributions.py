"""Interfaces and shared helpers for joint distributions with known mutual information.

A *joint distribution* here is a distribution of a pair ``(X, Y)`` with ``X`` in
``R^dim_x`` and ``Y`` in ``R^dim_y`` whose mutual information ``I(X; Y)`` (in nats)
is known exactly, or estimated once by Monte Carlo with a reported standard error.

Conventions used throughout ``mist.data``:

* samples are ``float64`` arrays, ``x`` of shape ``(n, dim_x)`` and ``y`` of shape ``(n, dim_y)``;
* all randomness comes from an explicit ``numpy.random.Generator``;
* ``params()`` is a small JSON-serialisable dict (scalars and short lists) describing
  the distribution; it is descriptive, not necessarily enough to rebuild it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from scipy.linalg import solve_triangular


@runtime_checkable
class JointDistribution(Protocol):
    """A distribution of ``(X, Y)`` with known mutual information."""

    dim_x: int
    dim_y: int
    mi: float  # I(X; Y) in nats (exact, or a Monte Carlo estimate)
    mi_se: float  # standard error of ``mi``; 0.0 for closed forms
    family: str  # e.g. "gaussian", "student_t", "additive_uniform", ...

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` i.i.d. pairs: ``x`` of shape (n, dim_x), ``y`` of shape (n, dim_y)."""
        ...

    def params(self) -> dict:
        """Small JSON-serialisable description of the distribution."""
        ...


@runtime_checkable
class TractableDistribution(JointDistribution, Protocol):
    """A joint distribution whose pointwise mutual information can be evaluated."""

    def pmi(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``log p(x, y) - log p(x) - log p(y)`` for x (n, dim_x), y (n, dim_y); shape (n,)."""
        ...


def monte_carlo_mi(
    dist: TractableDistribution, n: int, rng: np.random.Generator, batch_size: int = 2**17
) -> tuple[float, float]:
    """Monte Carlo estimate of ``I(X; Y) = E[pmi(X, Y)]``.

    Draws ``n`` samples (in batches of at most ``batch_size``) and returns
    ``(mean, standard_error)`` with ``standard_error = sqrt(var / n)``.
    """
    n = check_dim(n, "n")
    values = []
    for start in range(0, n, batch_size):
        x, y = dist.sample(min(batch_size, n - start), rng)
        values.append(dist.pmi(x, y))
    pmi = np.concatenate(values)
    if not np.all(np.isfinite(pmi)):
        raise FloatingPointError("non-finite pointwise mutual information in Monte Carlo estimate")
    se = float(pmi.std(ddof=1) / np.sqrt(n)) if n > 1 else float("inf")
    return float(pmi.mean()), se


# ----------------------------------------------------------------------------- validation


def check_dim(value, name: str) -> int:
    """Return ``value`` as an int, raising ValueError unless it is an integer >= 1."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def check_spd(matrix, name: str = "covariance") -> np.ndarray:
    """Validate a symmetric positive definite matrix; return its lower Cholesky factor (d, d).

    Matrices with condition number above 1e10 are rejected as numerically singular.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square matrix, got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError(f"{name} contains non-finite entries")
    if not np.allclose(m, m.T, rtol=1e-10, atol=1e-12):
        raise ValueError(f"{name} must be symmetric")
    eig = np.linalg.eigvalsh(m)
    if eig[0] <= 1e-10 * eig[-1]:
        raise ValueError(f"{name} must be positive definite (smallest eigenvalue {eig[0]:.3g})")
    return np.linalg.cholesky(m)


def check_sample_shapes(x: np.ndarray, y: np.ndarray, dim_x: int, dim_y: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``x``, ``y`` as float64 arrays after checking shapes (n, dim_x) and (n, dim_y)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape != (len(x), dim_x) or y.shape != (len(x), dim_y):
        raise ValueError(f"expected x (n, {dim_x}) and y (n, {dim_y}), got {x.shape} and {y.shape}")
    return x, y


# ----------------------------------------------------------------------------- linear algebra


def logdet_spd(matrix: np.ndarray) -> float:
    """``log det`` of a symmetric positive definite matrix, in float64 via slogdet."""
    sign, logdet = np.linalg.slogdet(np.asarray(matrix, dtype=np.float64))
    if sign <= 0:
        raise ValueError("matrix is not positive definite")
    return float(logdet)


def gaussian_mi_from_cov(cov: np.ndarray, dim_x: int) -> float:
    """Mutual information between the first ``dim_x`` and the remaining coordinates of N(0, cov).

    ``I = 1/2 (log det S_xx + log det S_yy - log det S)``, in nats.
    """
    cov = np.asarray(cov, dtype=np.float64)
    mi = 0.5 * (logdet_spd(cov[:dim_x, :dim_x]) + logdet_spd(cov[dim_x:, dim_x:]) - logdet_spd(cov))
    return max(mi, 0.0)  # clip round-off below zero


def mahalanobis_sq(z: np.ndarray, chol: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis norms ``z_i^T S^-1 z_i`` for z (n, d), S = chol chol^T; shape (n,)."""
    w = solve_triangular(chol, z.T, lower=True, check_finite=False)
    return np.einsum("dn,dn->n", w, w)


def mvn_logpdf(z: np.ndarray, mean: np.ndarray, chol: np.ndarray) -> np.ndarray:
    """Log density of N(mean, chol chol^T) at z (n, d); shape (n,)."""
    d = chol.shape[0]
    q = mahalanobis_sq(z - mean, chol)
    return -0.5 * (q + d * np.log(2 * np.pi)) - np.sum(np.log(np.diag(chol)))


def random_orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed random orthogonal matrix of shape (d, d)."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def random_well_conditioned(
    d: int, rng: np.random.Generator, low: float = 0.5, high: float = 2.0
) -> np.ndarray:
    """Random invertible (d, d) matrix ``Q1 diag(s) Q2`` with s log-uniform in [low, high].

    Its condition number is at most ``high / low``.
    """
    s = np.exp(rng.uniform(np.log(low), np.log(high), size=d))
    return (random_orthogonal(d, rng) * s) @ random_orthogonal(d, rng)


def small_list(values, max_len: int = 16) -> list[float] | None:
    """``values`` as a list of floats if it has at most ``max_len`` entries, else None."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    return [float(v) for v in flat] if flat.size <= max_len else None
