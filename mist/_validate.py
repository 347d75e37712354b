"""Input checks for the public API: every bad input gets a ValueError that names the problem."""

from __future__ import annotations

import numpy as np
import torch

MIN_SAMPLES = 8


def as_2d(a, name: str) -> np.ndarray:
    """numpy / torch / list -> float64 array (N, d); (N,) becomes (N, 1)."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    a = np.asarray(a)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise ValueError(f"{name} must hold numbers, got dtype {a.dtype}")
    if np.iscomplexobj(a):
        raise ValueError(f"{name} is complex; MI of complex data is not defined here (split real and imaginary parts)")
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must be 1-D (N,) or 2-D (N, d), got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    a = a.astype(np.float64, copy=False)
    if not np.isfinite(a).all():
        bad = ~np.isfinite(a)
        rows = np.unique(np.nonzero(bad)[0])
        raise ValueError(f"{name} has {int(bad.sum())} NaN/inf value(s), in rows {rows[:5].tolist()}"
                         f"{'...' if len(rows) > 5 else ''}; remove or impute them first")
    return a


def check_pair(x, y, constant_columns: str = "error") -> tuple[np.ndarray, np.ndarray]:
    """Validate a dataset; returns float64 x (N, dx), y (N, dy) with constant columns handled.

    A constant column has zero entropy and carries 0 nats about anything, so dropping it leaves
    the MI unchanged. By default it is an error (it is usually a bug upstream);
    constant_columns="drop" drops it, and if a whole side is constant the MI is exactly 0.
    """
    x, y = as_2d(x, "x"), as_2d(y, "y")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of samples, got {len(x)} and {len(y)}")
    if len(x) < MIN_SAMPLES:
        raise ValueError(f"need at least {MIN_SAMPLES} samples, got {len(x)}")
    if constant_columns not in ("error", "drop"):
        raise ValueError(f"constant_columns must be 'error' or 'drop', got {constant_columns!r}")
    out = []
    for a, name in ((x, "x"), (y, "y")):
        const = np.ptp(a, axis=0) == 0
        if const.any() and constant_columns == "error":
            raise ValueError(f"{name} has constant column(s) {np.nonzero(const)[0].tolist()}: a constant carries "
                             "0 nats; drop them, or pass constant_columns='drop'")
        out.append(a[:, ~const] if const.any() else a)
    return out[0], out[1]
