"""Sides wider than the network was trained on: reduce them to principal components first.

A network trained on at most D columns per side extrapolates beyond D, and badly: independent
data at N=200 with 150 + 100 columns got 24 nats, at N=512 with 512 + 512 columns 3.6e18 nats
(docs/design.md §10). A side with d > D columns is therefore replaced by its first
k = min(D, (N - 2) // 4) principal components (at least 1), computed on the columns' normal
scores (so, like the network, they do not depend on each column's monotone scale). The map is a
function of that side alone, so by data processing the estimate targets
I(PC_k(X); PC_k(Y)) <= I(X; Y): a lower bound where dependence lives outside the leading
components, and independence stays exact (an independent pair stays independent).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata


def reduced_width(d: int, n: int, dim_max: int | None) -> int:
    """How many columns a side of d columns and n rows keeps: d itself if it fits dim_max (or
    dim_max is None), else min(dim_max, (n - 2) // 4), at least 1. Why a quarter of n: the n
    centred rows span n - 1 directions, and two sides of k components each that come near to
    filling them share directions by linear algebra alone (independent data, N = 32, 512 + 512
    columns cut to 30 + 30: 72 nats); at k < n / 4 they behave like raw columns of that width."""
    if dim_max is None or d <= dim_max:
        return d
    return max(1, min(dim_max, (n - 2) // 4))


def principal_scores(z: np.ndarray, k: int) -> np.ndarray:
    """z (N, d) -> (N, k): the leading k principal-component scores of the normal scores of z's
    columns (average ranks for ties); deterministic (signs fixed by each component's largest
    loading, so permuting rows permutes the output rows and nothing else)."""
    n = len(z)
    g = ndtri((rankdata(z, axis=0) - 0.5) / n)
    g -= g.mean(axis=0)
    u, s, vt = np.linalg.svd(g, full_matrices=False)
    signs = np.sign(vt[np.arange(k), np.abs(vt[:k]).argmax(axis=1)])
    return u[:, :k] * (s[:k] * signs)
