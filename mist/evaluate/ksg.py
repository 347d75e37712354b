"""Kraskov-Stögbauer-Grassberger (KSG) mutual information estimator, in nats.

Estimator 1 of Kraskov et al. (2004) with the max-norm in every space::

    I = psi(k) + psi(N) - < psi(n_x + 1) + psi(n_y + 1) >

where, for sample i, ``eps_i`` is the distance to its k-th neighbour in the joint
space (max-norm over all coordinates of x and y) and ``n_x`` / ``n_y`` count the
other samples strictly closer than ``eps_i`` in the x / y marginal.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from mist._validate import as_2d, check_samples
from mist.network.quantiles import DEFAULT_LEVELS

__all__ = ["check_xy", "ksg_mi", "ksg_bootstrap"]


def check_xy(x, y, min_n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Validate a paired sample and return it as float64 arrays of shape (N, dx), (N, dy).

    The rules and messages of the estimator's own validator (mist._validate: finite real
    numbers, 1-D (N,) read as one column or 2-D, non-empty), with equal N >= ``min_n``; constant
    columns are allowed (each baseline handles them)."""
    x, y = as_2d(x, "x"), as_2d(y, "y")
    check_samples(len(x), len(y), min_n)
    return x, y


def _standardize(z: np.ndarray) -> np.ndarray:
    """Zero mean, unit std per column of z (N, d); constant columns become 0."""
    z = z - z.mean(axis=0)
    std = z.std(axis=0)
    return z / np.where(std > 0, std, 1.0)


def ksg_mi(x, y, k: int = 5, *, clip: bool = False, jitter_seed: int = 0) -> float:
    """KSG estimator 1 (max-norm) of I(X; Y) in nats.

    Args:
        x: samples of X, shape (N, dx) or (N,).
        y: samples of Y, shape (N, dy) or (N,), paired row by row with x.
        k: number of joint-space neighbours; must satisfy 1 <= k < N.
        clip: if True return max(estimate, 0); by default the raw (possibly
            slightly negative) value is returned.
        jitter_seed: seed of the 1e-10-scale noise added after standardization
            to break ties between repeated values (so results are reproducible).

    Returns:
        The estimate as a Python float.
    """
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    x, y = check_xy(x, y, min_n=k + 1)
    n = x.shape[0]

    rng = np.random.default_rng(jitter_seed)
    x = _standardize(x)
    y = _standardize(y)
    x = x + 1e-10 * rng.standard_normal(x.shape)
    y = y + 1e-10 * rng.standard_normal(y.shape)

    # Distance to the k-th neighbour in the joint space (index 0 is the point itself).
    joint = np.hstack([x, y])
    dist, _ = cKDTree(joint).query(joint, k=k + 1, p=np.inf)
    radius = np.nextafter(dist[:, k], 0)  # "strictly closer than eps_i"

    # Counts include the point itself, so they already equal n_x + 1 and n_y + 1.
    nx1 = cKDTree(x).query_ball_point(x, r=radius, p=np.inf, return_length=True)
    ny1 = cKDTree(y).query_ball_point(y, r=radius, p=np.inf, return_length=True)

    mi = digamma(k) + digamma(n) - np.mean(digamma(nx1) + digamma(ny1))
    return float(max(mi, 0.0)) if clip else float(mi)


def ksg_bootstrap(
    x,
    y,
    k: int = 5,
    n_boot: int = 50,
    rng=None,
    levels=DEFAULT_LEVELS,
) -> dict:
    """Spread of the KSG estimate over random half-size subsamples.

    Each of the ``n_boot`` replicates draws N // 2 rows *without* replacement and
    runs :func:`ksg_mi` on them. Resampling with replacement (the classical
    bootstrap) is not used because duplicated rows sit at distance zero from each
    other and bias nearest-neighbour counts badly. Note the replicates estimate the
    KSG value at sample size N // 2, which for KSG is usually a little lower than
    at N; the interval is a rough spread, not a calibrated confidence interval.

    Args:
        x: shape (N, dx) or (N,).
        y: shape (N, dy) or (N,).
        k: KSG neighbour count; needs N // 2 > k.
        n_boot: number of subsamples.
        rng: None, an int seed, or a numpy Generator.
        levels: quantile levels to report, each in [0, 1].

    Returns:
        ``{"median": float, "quantiles": {level: float}, "replicates": (n_boot,) array,
        "n_sub": int, "n_boot": int}``, with the quantiles non-decreasing in level.
    """
    x, y = check_xy(x, y)
    n_sub = x.shape[0] // 2
    if n_sub <= k:
        raise ValueError(f"half-size subsamples ({n_sub}) need more than k={k} rows")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    rng = np.random.default_rng(rng)
    reps = np.empty(n_boot)
    for b in range(n_boot):
        idx = rng.choice(x.shape[0], size=n_sub, replace=False)
        reps[b] = ksg_mi(x[idx], y[idx], k=k, jitter_seed=b)
    qs = np.quantile(reps, list(levels))
    return {
        "median": float(np.median(reps)),
        "quantiles": {float(level): float(q) for level, q in zip(levels, qs)},
        "replicates": reps.tolist(),
        "n_sub": int(n_sub),
        "n_boot": int(n_boot),
    }
