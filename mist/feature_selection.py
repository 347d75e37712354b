"""Feature scoring for scikit-learn: MI between each feature and the target.

    from sklearn.feature_selection import SelectKBest, SelectPercentile
    from mist.feature_selection import mi_score
    SelectKBest(score_func=mi_score, k=5).fit(X, y)
    SelectPercentile(score_func=mi_score, percentile=20)

    from functools import partial                                  # a chosen estimator:
    SelectKBest(score_func=partial(mi_score, estimator=est), k=5)

A drop-in for mutual_info_regression / mutual_info_classif that needs no k or n_neighbors: every
feature is one more dataset in one batched forward pass (see mist.tabular). scikit-learn itself
is not needed to call mi_score (`pip install mist[sklearn]` for the selectors).

Class-label targets are passed as they are: a label column is a column with many ties, which
the ranks carry through. The shipped network was trained on continuous data only, so its MI with
a class label is biased (benchmarks/bench_tabular.py, section "labels", N=500, two or three
Gaussian classes): it underestimates weak dependence (0.005 vs an exact 0.030 nats), overestimates
strong dependence (0.52 vs 0.34; 0.76 vs 0.62), and with more than two classes depends on the
order of the integer codes (0.31 or 0.18 for the same exact 0.25); one-hot labels overestimate
about twice as much. mutual_info_classif, a kNN estimator made for a discrete target, was within
0.04 nats there. Rankings suffer less than values (section "sklearn": Spearman 0.85-0.93 with
mutual_info_classif on wine and breast cancer, and cross-validated accuracy of the 5 selected
features within 0.011 of it). Text labels are coded as integers in sorted order first.
"""

from __future__ import annotations

import numpy as np

from mist._frames import is_frame, to_array
from mist._validate import as_2d
from mist.tabular import block_pairs_mi, default_estimator, read_table


def _target(y, n: int) -> np.ndarray:
    """y (N,) or (N, dy) -> float64 (N, dy); text/categorical class labels -> integer codes."""
    try:
        arr, _ = to_array(y, "y")
    except ValueError:
        if not (is_frame(y) and type(y).__name__ == "Series"):
            raise
        arr = np.asarray(y.to_numpy(), dtype=object)  # a Series of text or categorical labels
        if any(v is None or v != v for v in arr):
            raise ValueError("y has missing class labels; remove those rows first") from None
    arr = np.asarray(arr) if not hasattr(arr, "dtype") else arr
    if isinstance(arr, np.ndarray) and arr.ndim == 1 and not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        arr = np.unique(arr, return_inverse=True)[1]  # class labels as text: codes in sorted order
    y2 = as_2d(arr, "y")
    if len(y2) != n:
        raise ValueError(f"X and y must have the same number of samples, got {n} and {len(y2)}")
    return y2


def mi_score(X, y, *, estimator=None, progress: bool | None = False) -> np.ndarray:
    """(d,) median MI between each column of X (N, d) and y (N,) or (N, dy), in the estimator's
    units (default: the shipped checkpoint, nats). A constant feature scores 0.

    The score_func of SelectKBest / SelectPercentile: scikit-learn calls mi_score(X, y) and ranks
    features by the scores (no p-values are returned; see mist.independence for a test)."""
    if hasattr(X, "toarray") and not hasattr(X, "columns"):
        raise TypeError("X is a sparse matrix; mist reads dense data: pass X.toarray()")
    table, _ = read_table(X, "X")
    target = _target(y, len(table))
    est = estimator if estimator is not None else default_estimator()
    d = table.shape[1]
    blocks = [[j] for j in range(d)] + [list(range(d, d + target.shape[1]))]
    vals = block_pairs_mi(est, np.concatenate([table, target], axis=1), blocks, [(j, d) for j in range(d)],
                          progress=progress, desc="MI features")
    return vals[:, 0]
