"""The singular-regime head: MI quantiles from statistics that survive a singular covariance.

Where N <= dx + dy the sample covariance of (X, Y) is singular and the two-axis network is
barely better than not looking at the data (docs/design.md §13). Some statistics of the normal
scores stay informative there (design §12q): the cross-correlations of the best one-to-one
matching of X columns to Y columns (coordinate-aligned pairs show as a few correlations near
1), the singular values of the cross-correlation block, shrinkage log-dets, the mean
correlations (equicorrelated blocks) and the alignment of the two sides' row Gram matrices
(RV coefficient; sees dependence that a rotation of a side hides from columns). The head is a
small quantile MLP over those statistics and the network's own calibrated quantiles, trained
and conformally calibrated on the training prior (scripts/fit_stat_head.py).

Every statistic is a function of the columns' normal scores, so the head keeps the estimator's
invariance to strictly monotone maps of each column, increasing or decreasing: a decreasing map
flips a column's sign, and every statistic reads correlations through |r|, r^2, eigenvalues or
singular values (the mean correlations are means of |r|; the equicorrelated plug-in uses that).

Shape letters: F statistics per set, K quantile levels, B sets.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import nn

from mist.network.features import gaussian_mi_of_gram
from mist.network.normalize import rank_codes_np
from mist.network.quantiles import DEFAULT_LEVELS, QuantileHead

# names of singular_statistics' entries, in order (the checkpoint records them; a head trained on
# another list is refused)
STATISTICS = (
    "log_n", "log_dmin", "log_dmax",
    "pairs_1", "pairs_2", "pairs_4", "pairs_8", "pairs_16", "pairs_32",
    "n_pairs_0.9", "n_pairs_0.7", "n_pairs_0.5", "frobenius_excess",
    "sv_1", "sv_2", "sv_3", "eig_x", "eig_y",
    "ridge_0.05", "ridge_0.2", "ridge_0.5", "rv",
    "mean_abs_corr_x", "mean_abs_corr_y", "mean_abs_cross", "equicorrelated",
)
NETWORK_LEVELS = (0.05, 0.5, 0.95)  # the network's calibrated quantiles the head also reads
MAX_PAIR_R2 = 0.9999  # a pair's Gaussian MI is capped at 4.6 nats (ties at small N give |r| = 1)


def _normal_scores(xy: np.ndarray) -> np.ndarray:
    """(N, C) -> centred unit-norm columns of normal scores (the network's rank-gauss map)."""
    from scipy.special import ndtri
    n = xy.shape[0]
    u = ndtri((rank_codes_np(xy).T + 2.0) / (2.0 * (n + 1)))  # codes are 2 * average rank - 2
    u = u - u.mean(0)
    norm = np.sqrt((u ** 2).sum(0))
    return u / np.where(norm < 1e-12, 1.0, norm)


RIDGES = (0.05, 0.2, 0.5)


def serves(n_range, dim_max: int, n: int, dx: int, dy: int) -> bool:
    """Whether a head for N in n_range and sides of <= dim_max columns serves shape (n, dx, dy):
    only where the sample covariance is singular, n <= dx + dy."""
    return n_range[0] <= n <= n_range[1] and n <= dx + dy and max(dx, dy) <= dim_max


def _equicorrelated_logdet(c: float, d: int) -> float:
    return (d - 1) * np.log1p(-c) + np.log1p((d - 1) * c)


def singular_statistics(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x (N, dx), y (N, dy) validated float arrays -> (F,) float64 statistics, in STATISTICS order."""
    n, dx, dy = x.shape[0], x.shape[1], y.shape[1]
    u = _normal_scores(np.concatenate([x, y], axis=1))
    g = u.T @ u                                   # correlation matrix of the normal scores
    r = g[:dx, dx:]
    rows, cols = linear_sum_assignment(-(r ** 2))  # the one-to-one matching with most squared correlation
    matched = np.sort(np.abs(r[rows, cols]))[::-1]
    pair_mi = -0.5 * np.log1p(-np.minimum(matched ** 2, MAX_PAIR_R2))
    cum = np.cumsum(pair_mi)
    pairs = [cum[min(k, len(cum)) - 1] for k in (1, 2, 4, 8, 16, 32)]
    sv = np.zeros(3)
    top = np.linalg.svd(r, compute_uv=False)[:3]
    sv[:len(top)] = top
    g_t = torch.from_numpy(g)[None, None]
    ridges = [float(gaussian_mi_of_gram(g_t, dx, lam)[0, 0]) for lam in RIDGES]
    gx, gy = u[:, :dx] @ u[:, :dx].T, u[:, dx:] @ u[:, dx:].T
    rv = (gx * gy).sum() / max(np.sqrt((gx ** 2).sum() * (gy ** 2).sum()), 1e-12)

    def mean_abs_off(a):  # |.| so that flipping a column's sign (a decreasing map) changes nothing
        return (np.abs(a).sum() - np.trace(a)) / max(a.shape[0] * (a.shape[0] - 1), 1)

    d = dx + dy
    c = float(np.clip(mean_abs_off(g), 0.0, 0.98))
    equi = 0.5 * (_equicorrelated_logdet(c, dx) + _equicorrelated_logdet(c, dy) - _equicorrelated_logdet(c, d))
    return np.array([
        np.log(n), np.log(min(dx, dy)), np.log(max(dx, dy)), *pairs,
        (matched > 0.9).sum(), (matched > 0.7).sum(), (matched > 0.5).sum(),
        (r ** 2).sum() - dx * dy / (n - 1), *sv,
        np.linalg.eigvalsh(g[:dx, :dx])[-1] / dx, np.linalg.eigvalsh(g[dx:, dx:])[-1] / dy,
        *ridges, rv, mean_abs_off(g[:dx, :dx]), mean_abs_off(g[dx:, dx:]), np.abs(r).mean(), equi],
        dtype=np.float64)


class StatHead(nn.Module):
    """Standardized statistics and the network's z-quantiles -> K ordered z-quantiles.

    inputs_BF: (B, len(STATISTICS) + len(NETWORK_LEVELS)) -> (B, K), calibrated once
    `head.calibration_z` is set (conformal offsets, as the network's own head)."""

    def __init__(self, width: int = 128, levels=DEFAULT_LEVELS):
        super().__init__()
        n_in = len(STATISTICS) + len(NETWORK_LEVELS)
        self.register_buffer("mean", torch.zeros(n_in))
        self.register_buffer("scale", torch.ones(n_in))
        self.head = QuantileHead(n_in, width, levels)

    def forward(self, inputs_BF: torch.Tensor) -> torch.Tensor:
        return self.head((inputs_BF - self.mean) / self.scale)


def head_inputs(stats_F: np.ndarray, network_z_K: np.ndarray, levels=DEFAULT_LEVELS) -> np.ndarray:
    """One set's head input: its statistics and the network's z-quantiles at NETWORK_LEVELS."""
    levels = list(levels)
    return np.concatenate([stats_F, [network_z_K[levels.index(lv)] for lv in NETWORK_LEVELS]])
