"""Reliability check by nested subsampling (after Abdelaleem, Martini & Nemenman 2025).

An estimate is only trustworthy if it is consistent across sample sizes: re-estimating on nested
random subsamples of N, N/2, N/4 rows should give answers that agree within their stated
uncertainty, and should not drift with 1/N towards a value the full-N interval excludes.

Rule (``RULE``), with [lo_f, hi_f] the central ``level`` interval (default 90%) and m_f the median
at fraction f, and "ref" the largest fraction (normally 1, all rows):

1. overlap: every subsample interval overlaps the reference interval. Both claim to contain the
   same true MI, so disjoint intervals mean at least one of them is wrong.
2. extrapolation (needs at least 3 sizes): the least-squares line m_f = a + b / N_f, extrapolated
   to N = infinity, gives a; a must lie in the reference interval. A trend in 1/N that leaves the
   interval means the estimate has not converged at N.

``consistent`` is True when both hold (2 only when it could be computed), False when either
fails, and None when fewer than two sizes have at least 8 rows (N < 16), so nothing was compared.
"""

from __future__ import annotations

import numpy as np

from mist._validate import MIN_SAMPLES, check_pair

__all__ = ["RULE", "subsample_check", "extrapolate_inverse_n"]

RULE = ("nested-subsample {level:.0%} intervals overlap the full-N interval, and the 1/N "
        "extrapolation of the medians (>= 3 sizes) lies inside it")


def extrapolate_inverse_n(n, mi) -> float:
    """Intercept a of the least-squares fit mi = a + b / n (n, mi: equal-length sequences, >= 2)."""
    u = 1.0 / np.asarray(n, dtype=np.float64)
    m = np.asarray(mi, dtype=np.float64)
    if len(u) < 2:
        raise ValueError("need at least two sample sizes to extrapolate")
    design = np.stack([np.ones_like(u), u], axis=1)
    coef, *_ = np.linalg.lstsq(design, m, rcond=None)
    return float(coef[0])


def subsample_check(estimator, x, y, fractions=(1, 0.5, 0.25), seed: int = 0, *, level: float = 0.9,
                    constant_columns: str = "error") -> dict:
    """Re-estimate on nested subsamples and test that the answers agree (see the module docstring).

    Args:
        estimator: a :class:`mist.MIEstimator` (anything with ``estimate_many(pairs,
            constant_columns=...)`` returning results with ``.mi``, ``.interval(level)`` and
            ``.quantiles``).
        x: (N, dx) or (N,); y: (N, dy) or (N,).
        fractions: subsample sizes as fractions of N, each in (0, 1]; subsample f is the first
            round(f N) rows of one random permutation, so smaller subsamples nest in larger ones.
            Sizes below 8 rows are skipped (listed under "skipped").
        seed: seed of the permutation.
        level: coverage of the intervals compared (0.9 -> 5% and 95% quantiles).
        constant_columns: passed on for the full data; subsamples always drop columns that are
            constant within them (a constant column carries 0 nats, so the MI is unchanged).

    Returns:
        dict with "fractions", "n", "mi", "intervals" ([lo, hi] per size), "quantiles" (a
        {level: value} dict per size), largest size first; "overlap" (bool), "extrapolated"
        (float, or None with fewer than 3 sizes), "extrapolation_ok" (bool or None), "consistent"
        (bool, or None when nothing could be compared), "level", "rule", "skipped".
    """
    fractions = sorted({float(f) for f in fractions}, reverse=True)
    if not fractions or not all(0 < f <= 1 for f in fractions):
        raise ValueError(f"fractions must be in (0, 1], got {fractions}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    x, y = check_pair(x, y, constant_columns)
    n = len(x)
    perm = np.random.default_rng(seed).permutation(n)
    used, sizes, skipped = [], [], []
    for f in fractions:
        m = int(round(f * n))
        if m < MIN_SAMPLES:
            skipped.append(f)
            continue
        used.append(f)
        sizes.append(m)
    pairs = [(x[perm[:m]], y[perm[:m]]) for m in sizes]
    results = estimator.estimate_many(pairs, constant_columns="drop") if pairs else []
    mi = [float(r.mi) for r in results]
    intervals = [[float(v) for v in r.interval(level)] for r in results]
    out = {
        "fractions": used, "n": sizes, "mi": mi, "intervals": intervals,
        "quantiles": [{float(k): float(v) for k, v in r.quantiles.items()} for r in results],
        "overlap": None, "extrapolated": None, "extrapolation_ok": None, "consistent": None,
        "level": float(level), "rule": RULE.format(level=level), "skipped": skipped,
    }
    if len(results) < 2:
        return out
    lo_ref, hi_ref = intervals[0]
    out["overlap"] = bool(all(lo <= hi_ref and lo_ref <= hi for lo, hi in intervals[1:]))
    if len(results) >= 3:
        a = extrapolate_inverse_n(sizes, mi)
        out["extrapolated"] = a
        out["extrapolation_ok"] = bool(lo_ref <= a <= hi_ref)
    out["consistent"] = bool(out["overlap"] and out["extrapolation_ok"] is not False)
    return out
