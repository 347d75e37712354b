"""Evaluation metrics for mutual information estimates (pure numpy, no pandas).

All metric functions take 1-D arrays of equal shape (M,): true MI ``t``, point
estimates ``e`` and, for intervals, lower / upper bounds ``lo`` / ``hi``, all in
nats. NaN estimates propagate through ``mae`` / ``rmse`` / ``bias`` and count as
not solved / not covered in ``solved_share`` / ``coverage``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np

__all__ = [
    "mae",
    "rmse",
    "bias",
    "solved_share",
    "coverage",
    "mean_width",
    "n_bin",
    "mi_bin",
    "dim_bin",
    "summarize",
    "SMALL_MI",
]

#: Below this true MI (nats) the relative criterion of ``solved_share`` is replaced
#: by an absolute one, |e - t| < SMALL_MI.
SMALL_MI = 0.1


def _arrays(*arrays) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=np.float64) for a in arrays]
    shape = out[0].shape
    if len(shape) != 1 or shape[0] == 0:
        raise ValueError(f"expected non-empty 1-D arrays, got shape {shape}")
    for a in out[1:]:
        if a.shape != shape:
            raise ValueError(f"shape mismatch: {a.shape} vs {shape}")
    return out


def mae(e, t) -> float:
    """Mean absolute error mean(|e - t|); e, t: (M,)."""
    e, t = _arrays(e, t)
    return float(np.mean(np.abs(e - t)))


def rmse(e, t) -> float:
    """Root mean squared error sqrt(mean((e - t)^2)); e, t: (M,)."""
    e, t = _arrays(e, t)
    return float(np.sqrt(np.mean((e - t) ** 2)))


def bias(e, t) -> float:
    """Mean signed error mean(e - t); positive means overestimation. e, t: (M,)."""
    e, t = _arrays(e, t)
    return float(np.mean(e - t))


def solved_share(e, t, factor: float = 1.5, small: float = SMALL_MI) -> float:
    """Share of tasks whose estimate is within a multiplicative ``factor`` of the truth.

    Task j counts as solved when
      * t_j <  small (this covers t_j == 0): |e_j - t_j| < small, an absolute rule,
        since a ratio is meaningless or overly strict near zero;
      * t_j >= small: e_j > 0 and |log(e_j / t_j)| < log(factor); an estimate
        e_j <= 0 is never solved here.

    e, t: (M,). Returns a float in [0, 1].
    """
    if factor <= 1:
        raise ValueError(f"factor must be > 1, got {factor}")
    e, t = _arrays(e, t)
    near_zero = t < small
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_ok = (e > 0) & (np.abs(np.log(e / t)) < np.log(factor))
    solved = np.where(near_zero, np.abs(e - t) < small, ratio_ok)
    return float(np.mean(solved))


def coverage(lo, hi, t) -> float:
    """Share of tasks with lo_j <= t_j <= hi_j; lo, hi, t: (M,)."""
    lo, hi, t = _arrays(lo, hi, t)
    return float(np.mean((lo <= t) & (t <= hi)))


def mean_width(lo, hi) -> float:
    """Mean interval width mean(hi - lo); lo, hi: (M,)."""
    lo, hi = _arrays(lo, hi)
    return float(np.mean(hi - lo))


# --------------------------------------------------------------------------- bins


def _bin(value: float, edges: Sequence[float], labels: Sequence[str], what: str) -> str:
    """labels[i] for edges[i] <= value < edges[i + 1]; the last label is open-ended."""
    if not value >= edges[0]:  # also rejects NaN
        raise ValueError(f"{what} must be >= {edges[0]}, got {value}")
    return labels[int(np.searchsorted(edges, value, side="right")) - 1]


def n_bin(n: int) -> str:
    """Sample-size bin: [8,32), [32,128), [128,512), [512,2048], >2048. n < 8 raises."""
    return _bin(n, (8, 32, 128, 512, 2049), n_bin.labels, "n")


def mi_bin(mi: float) -> str:
    """True-MI bin in nats: [0,0.1), [0.1,0.5), [0.5,1), [1,2), [2,4), [4,8), >=8. mi < 0 raises."""
    return _bin(mi, (0.0, 0.1, 0.5, 1.0, 2.0, 4.0, 8.0), mi_bin.labels, "MI")


def dim_bin(d: int) -> str:
    """Total-dimension bin for d = dx + dy: 2-4, 5-8, 9-16, 17-32, >32. d < 2 raises."""
    return _bin(d, (2, 5, 9, 17, 33), dim_bin.labels, "dx + dy")


# Labels in natural order; summarize uses them to order groups.
n_bin.labels = ("[8,32)", "[32,128)", "[128,512)", "[512,2048]", ">2048")
mi_bin.labels = ("[0,0.1)", "[0.1,0.5)", "[0.5,1)", "[1,2)", "[2,4)", "[4,8)", ">=8")
dim_bin.labels = ("2-4", "5-8", "9-16", "17-32", ">32")


# ---------------------------------------------------------------------- grouping


def summarize(
    records: Sequence[dict],
    by,
    *,
    true_key: str = "true_mi",
    est_key: str = "estimate",
    lo_key: str | None = None,
    hi_key: str | None = None,
    order: Sequence[Hashable] | None = None,
    factor: float = 1.5,
) -> list[dict]:
    """Per-group metrics over a list of row dicts.

    Args:
        records: rows, each a dict holding at least ``true_key`` and ``est_key``
            (and ``lo_key`` / ``hi_key`` if given).
        by: how to group: a key name (group = row[by]); a callable row -> label;
            or a pair (key, fn) with group = fn(row[key]), e.g. ("n", n_bin).
        true_key, est_key: names of the true MI and the estimate in each row.
        lo_key, hi_key: names of interval bounds; when both are given every group
            also gets "coverage" and "width".
        order: label order of the output. Default: ``fn.labels`` for a (key, fn)
            pair whose fn has one (the bin helpers do), else sorted labels if they
            are mutually comparable, else order of first appearance. Labels absent
            from ``order`` follow it in order of first appearance; empty groups
            are omitted.
        factor: passed to :func:`solved_share`.

    Returns:
        A list of dicts ``{"group", "count", "mae", "rmse", "bias", "solved"
        [, "coverage", "width"]}``, one per non-empty group.
    """
    if isinstance(by, tuple):
        key, fn = by
        label_of = lambda r: fn(r[key])  # noqa: E731
        if order is None:
            order = getattr(fn, "labels", None)
    elif callable(by):
        label_of = by
    else:
        label_of = lambda r: r[by]  # noqa: E731
    if (lo_key is None) != (hi_key is None):
        raise ValueError("give both lo_key and hi_key or neither")

    groups: dict = {}
    for r in records:
        groups.setdefault(label_of(r), []).append(r)

    labels = list(groups)
    if order is None:
        try:
            labels = sorted(labels)
        except TypeError:
            pass
    else:
        labels = [g for g in order if g in groups] + [g for g in labels if g not in order]

    out = []
    for g in labels:
        rows = groups[g]
        t = [r[true_key] for r in rows]
        e = [r[est_key] for r in rows]
        row = {
            "group": g,
            "count": len(rows),
            "mae": mae(e, t),
            "rmse": rmse(e, t),
            "bias": bias(e, t),
            "solved": solved_share(e, t, factor=factor),
        }
        if lo_key is not None:
            lo = [r[lo_key] for r in rows]
            hi = [r[hi_key] for r in rows]
            row["coverage"] = coverage(lo, hi, t)
            row["width"] = mean_width(lo, hi)
        out.append(row)
    return out


def headline(records: Sequence[dict], *, true_key: str = "true_mi", est_key: str = "estimate") -> dict:
    """MAE, RMSE, bias, solved share and, where the rows carry the quantile columns q0.25/q0.75
    and q0.05/q0.95, the 50% and 90% interval coverage, over all rows (one dict)."""
    t = [r[true_key] for r in records]
    e = [r[est_key] for r in records]
    out = {"mae": mae(e, t), "rmse": rmse(e, t), "bias": bias(e, t), "solved": solved_share(e, t)}
    for name, lo, hi in (("cov50", "q0.25", "q0.75"), ("cov90", "q0.05", "q0.95")):
        if lo in records[0] and hi in records[0]:
            out[name] = coverage([r[lo] for r in records], [r[hi] for r in records], t)
    return out


# ---------------------------------------------------------------------- the row schema
def quantile_key(level: float) -> str:
    """Column name of a quantile level: 0.05 -> "q0.05"."""
    return f"q{round(float(level), 6):g}"


def row(true_mi: float, quantiles: Mapping[float, float]) -> dict:
    """The one row schema every published number is computed from: {"true_mi", "estimate" (the
    0.5 quantile), "q<level>" for every level given}; callers add the set's description."""
    out = {"true_mi": float(true_mi)}
    out.update((quantile_key(lv), float(v)) for lv, v in sorted(quantiles.items()))
    out["estimate"] = out[quantile_key(0.5)]
    return out
