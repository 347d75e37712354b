"""Structured, coordinate-aligned Gaussian dependence for few samples in many dimensions (issue 15).

Random rotations hide this structure; these builders keep it (columns are only permuted). Each returns
a :class:`mist.data.gaussian.Gaussian` (closed-form MI, ``pmi``) whose ``params()`` record the structure.

| structure     | what                                                             | MI (nats)         | truth      |
|---------------|------------------------------------------------------------------|-------------------|------------|
| aligned_pairs | k pairs corr(X_i, Y_j) = rho at random coordinates i, j; all      | sum of the pairs' | closed form|
|               | other entries identity                                           | -1/2 log(1-rho^2) | (Gaussian  |
| blocks        | b blocks: X block (p cols, within-corr a), Y block (q cols, a'), | one canonical     | log-dets)  |
|               | cross-corr c between them; other columns independent             | corr. per block   |            |
| factors       | X = A Z + e, Y = B Z + e', Z ~ N(0, I_r): sparse loadings on     | one canonical     |            |
|               | random column subsets; some factors X- or Y-only (nuisance)      | corr. per shared  |            |
|               |                                                                  | factor            |            |

``random_structured(rng, dx, dy, target_mi)`` hits ``target_mi`` exactly (pairs, blocks) or to 1e-6
(factors, by root finding), up to ``max_unit_mi`` nats per pair / block / shared factor; MI of tens of
nats in 8..64 dims per side.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from mist.data.distributions import check_dim, gaussian_mi_from_cov
from mist.data.gaussian import Gaussian

STRUCTURES = ("aligned_pairs", "blocks", "factors")


def _rho(mi: np.ndarray) -> np.ndarray:
    """Correlation with -1/2 log(1 - rho^2) = mi."""
    return np.sqrt(-np.expm1(-2.0 * np.asarray(mi, np.float64)))


def aligned_pairs(dim_x: int, dim_y: int, pair_mis, rng: np.random.Generator) -> Gaussian:
    """Pairs (X_i, Y_j) with MI pair_mis[k] (each correlation's sign random) at random distinct
    coordinates i of X and j of Y; MI = sum(pair_mis) exactly."""
    dim_x, dim_y = check_dim(dim_x, "dim_x"), check_dim(dim_y, "dim_y")
    pair_mis = np.atleast_1d(np.asarray(pair_mis, np.float64))
    k = len(pair_mis)
    if k > min(dim_x, dim_y):
        raise ValueError(f"{k} pairs do not fit in ({dim_x}, {dim_y}) columns")
    ix, iy = rng.permutation(dim_x)[:k], rng.permutation(dim_y)[:k]
    cov = np.eye(dim_x + dim_y)
    rho = _rho(pair_mis) * rng.choice([-1.0, 1.0], k)
    cov[ix, dim_x + iy] = cov[dim_x + iy, ix] = rho
    return Gaussian(cov, dim_x, {"structure": "aligned_pairs", "n_pairs": k,
                                 "pair_mis": [float(m) for m in pair_mis]})


def blocks(dim_x: int, dim_y: int, sizes_x, sizes_y, within_x, within_y, block_mis,
           rng: np.random.Generator) -> Gaussian:
    """Equicorrelated block pairs on random disjoint column sets: X block i (sizes_x[i] columns, within
    correlation within_x[i] in [0, 1)), Y block i likewise, and the cross correlation c_i that gives
    the block pair MI block_mis[i]: its one canonical correlation is
    rho_i = c_i sqrt(p q) / sqrt((1 + (p - 1) a)(1 + (q - 1) a')). MI = sum(block_mis) exactly."""
    sizes_x, sizes_y = np.asarray(sizes_x, int), np.asarray(sizes_y, int)
    a, a2, mis = (np.asarray(v, np.float64) for v in (within_x, within_y, block_mis))
    if sizes_x.sum() > dim_x or sizes_y.sum() > dim_y or np.any(sizes_x < 1) or np.any(sizes_y < 1):
        raise ValueError("blocks do not fit in the columns")
    if np.any(a < 0) or np.any(a >= 1) or np.any(a2 < 0) or np.any(a2 >= 1):
        raise ValueError("within-block correlations must lie in [0, 1)")
    px, py = rng.permutation(dim_x), rng.permutation(dim_y)
    cov = np.eye(dim_x + dim_y)
    ox = oy = 0
    for p, q, ax, ay, m in zip(sizes_x, sizes_y, a, a2, mis):
        cx, cy = px[ox: ox + p], dim_x + py[oy: oy + q]
        ox, oy = ox + p, oy + q
        cov[np.ix_(cx, cx)] = ax + (1 - ax) * np.eye(p)
        cov[np.ix_(cy, cy)] = ay + (1 - ay) * np.eye(q)
        c = _rho(m) * np.sqrt((1 + (p - 1) * ax) * (1 + (q - 1) * ay) / (p * q))
        cov[np.ix_(cx, cy)] = c
        cov[np.ix_(cy, cx)] = c
    return Gaussian(cov, dim_x, {"structure": "blocks", "n_blocks": len(mis), "sizes_x": sizes_x.tolist(),
                                 "sizes_y": sizes_y.tolist(), "block_mis": [float(m) for m in mis]})


def factors(loadings_x: np.ndarray, loadings_y: np.ndarray, noise_x: np.ndarray, noise_y: np.ndarray,
            structure: dict | None = None) -> Gaussian:
    """X = A Z + e, Y = B Z + e', Z ~ N(0, I_r), e ~ N(0, diag(noise_x)), e' ~ N(0, diag(noise_y));
    A (dx, r), B (dy, r). cov = [[A A' + D_x, A B'], [B A', B B' + D_y]]."""
    A, B = np.asarray(loadings_x, np.float64), np.asarray(loadings_y, np.float64)
    cov = np.block([[A @ A.T + np.diag(noise_x), A @ B.T], [B @ A.T, B @ B.T + np.diag(noise_y)]])
    return Gaussian(0.5 * (cov + cov.T), len(A), structure or {"structure": "factors", "n_factors": A.shape[1]})


def _split(total: float, k: int, cap: float, rng: np.random.Generator) -> np.ndarray:
    """``total`` split over k units by Dirichlet weights, each at most ``cap`` (excess moved to the
    others; the total is reduced only if k * cap < total)."""
    mis = total * rng.dirichlet(np.full(k, float(rng.choice([0.5, 1.0, 4.0]))))
    for _ in range(k):
        excess = np.clip(mis - cap, 0, None).sum()
        if excess <= 1e-12:
            break
        mis = np.minimum(mis, cap)
        room = cap - mis
        mis += excess * room / room.sum() if room.sum() > 0 else 0
    return np.minimum(mis, cap)


def _random_factor_loadings(dim_x: int, dim_y: int, r: int, rng: np.random.Generator):
    """Sparse loadings (dx, r), (dy, r): factor j loads on a random subset of columns (sizes log-uniform,
    magnitudes U(0.5, 1), signs random); about a quarter of the factors are X- or Y-only."""
    A, B = np.zeros((dim_x, r)), np.zeros((dim_y, r))
    shared = np.ones(r, bool)
    for j in range(r):
        side = rng.random()
        for M, d, on in ((A, dim_x, side > 0.125), (B, dim_y, side < 0.875)):
            if on:
                size = int(np.exp(rng.uniform(0, np.log(max(1, d // 2) + 1))))
                cols = rng.permutation(d)[:size]
                M[cols, j] = rng.uniform(0.5, 1.0, size) * rng.choice([-1.0, 1.0], size)
        shared[j] = A[:, j].any() and B[:, j].any()
    if not shared.any():  # at least one factor reaches both sides
        A[rng.integers(dim_x), 0], B[rng.integers(dim_y), 0] = 1.0, 1.0
        shared[0] = True
    return A, B, shared


def random_structured(rng: np.random.Generator, dim_x: int, dim_y: int, target_mi: float | None = None,
                      structure: str | None = None, max_unit_mi: float = 5.0) -> Gaussian:
    """A random coordinate-aligned structure (STRUCTURES) with total MI ``target_mi`` (default uniform on
    [0, min(40, units * max_unit_mi)]). pairs: k = 1..min(dx, dy) pairs; blocks: 1..8 blocks of 1..16
    columns per side, within correlations U(0, 0.9); factors: 1..min(16, dx, dy) factors, the shared
    loadings scaled by the t solving MI = target (nuisance loadings and unit noise fixed)."""
    dim_x, dim_y = check_dim(dim_x, "dim_x"), check_dim(dim_y, "dim_y")
    structure = STRUCTURES[rng.integers(len(STRUCTURES))] if structure is None else structure
    if structure == "aligned_pairs":
        k = int(rng.integers(1, min(dim_x, dim_y) + 1))
    elif structure == "blocks":
        k = int(rng.integers(1, min(8, dim_x, dim_y) + 1))
    elif structure == "factors":
        k = int(rng.integers(1, min(16, dim_x, dim_y) + 1))
    else:
        raise ValueError(f"unknown structure {structure!r}; choose from {STRUCTURES}")
    target = float(rng.uniform(0, min(40.0, k * max_unit_mi))) if target_mi is None else float(target_mi)
    if structure == "aligned_pairs":
        return aligned_pairs(dim_x, dim_y, _split(target, k, max_unit_mi, rng), rng)
    if structure == "blocks":
        sx = _block_sizes(dim_x, k, rng)
        sy = _block_sizes(dim_y, k, rng)
        return blocks(dim_x, dim_y, sx, sy, rng.uniform(0, 0.9, k), rng.uniform(0, 0.9, k),
                      _split(target, k, max_unit_mi, rng), rng)
    A, B, shared = _random_factor_loadings(dim_x, dim_y, k, rng)
    cap = shared.sum() * max_unit_mi
    goal = min(target, 0.999 * cap)

    def build(t: float) -> Gaussian:
        scale = np.where(shared, t, 1.0)
        return factors(A * scale, B * scale, np.ones(dim_x), np.ones(dim_y),
                       {"structure": "factors", "n_factors": k, "n_shared": int(shared.sum()), "scale": float(t)})

    mi = lambda t: gaussian_mi_from_cov(build(t).cov, dim_x) - goal
    hi = 1.0
    while mi(hi) < 0 and hi < 1e4:
        hi *= 4
    if goal <= 0:
        t = 0.0
    elif mi(hi) < 0:  # MI grows only like log t where one factor loads on many columns: stop short
        t = hi        # of the target (the realised MI is still exact)
    else:
        t = brentq(mi, 0.0, hi, xtol=1e-10, rtol=1e-10)
    return build(t)


def _block_sizes(d: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """k block sizes, each 1..16, summing to at most d."""
    sizes = np.minimum(np.exp(rng.uniform(0, np.log(17), k)).astype(int), 16)
    while sizes.sum() > d:
        sizes[np.argmax(sizes)] -= 1
    return np.maximum(sizes, 1)
