"""Split-conformal widening of the quantile intervals (conformalized quantile regression,
Romano, Patterson & Candes 2019), on the z = log1p(MI) scale the network predicts.

For each central interval of the quantile grid (levels k and K-1-k, nominal coverage
c = level[K-1-k] - level[k]) the conformity score of a calibration set is
E = max(q_lo - z, z - q_hi): how far the truth falls outside (> 0) or inside (< 0). Moving q_lo
down and q_hi up by the ceil((n + 1) c) / n empirical quantile of E makes the interval cover a
new set from the same distribution with probability >= c. The median is never moved. The
calibration sets come from their own split ("calib") of the training prior, disjoint from
training and from the evaluation suites.

Shape letters: B calibration sets (n of them above), K quantile levels.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def fit_offsets(pred_z_BK: np.ndarray, true_z_B: np.ndarray, levels) -> list[float]:
    """Per-level additive z offsets (K,): <= 0 below the median, >= ... above, 0 at it.

    pred_z_BK: uncalibrated z-quantiles of B calibration sets, true_z_B: their log1p(true MI).
    """
    levels = list(levels)
    k_levels = len(levels)
    n = len(true_z_B)
    if pred_z_BK.shape != (n, k_levels):
        raise ValueError(f"pred_z_BK must be ({n}, {k_levels}), got {pred_z_BK.shape}")
    offsets = [0.0] * k_levels
    for lo in range(k_levels // 2):
        hi = k_levels - 1 - lo
        coverage = levels[hi] - levels[lo]
        score_B = np.maximum(pred_z_BK[:, lo] - true_z_B, true_z_B - pred_z_BK[:, hi])
        rank = min(n, math.ceil((n + 1) * coverage))
        q = float(np.sort(score_B)[rank - 1])
        offsets[lo], offsets[hi] = -q, q
    return offsets


def apply_offsets(z_BK: torch.Tensor, offsets_K: torch.Tensor) -> torch.Tensor:
    """z-quantiles + offsets, kept ordered (outer quantiles never cross inner ones) and >= 0."""
    z_BK = z_BK + offsets_K.to(z_BK)
    mid = z_BK.shape[-1] // 2
    lower = torch.flip(torch.cummin(torch.flip(z_BK[..., :mid + 1], [-1]), dim=-1).values, [-1])
    upper = torch.cummax(z_BK[..., mid:], dim=-1).values
    return torch.cat([lower[..., :mid], upper], dim=-1).clamp_min(0.0)
