"""Gaussian (CCA) mutual information baseline, in nats.

For jointly Gaussian (X, Y) with covariance C = [[C_xx, C_xy], [C_yx, C_yy]]::

    I(X; Y) = 1/2 (logdet C_xx + logdet C_yy - logdet C)

Plugging in the sample covariance gives an estimate that is exact for Gaussian
data (up to sampling error) and a lower-bound-like proxy otherwise. With
``rank_gauss=True`` each column is first mapped through its empirical rank to a
standard normal (a Gaussian copula), making the estimate invariant to strictly
increasing transforms of individual columns.
"""

from __future__ import annotations

import numpy as np

from mist.evaluate.ksg import check_xy
from mist.network.normalize import rank_codes_np, score_table

__all__ = ["rank_gauss_transform", "gaussian_mi"]


def rank_gauss_transform(z) -> np.ndarray:
    """Per-column copula transform Phi^-1(rank / (N + 1)) of z (N, d); ties get average ranks.
    The network's own normal scores (mist.network.normalize), so both see the same copula."""
    z = np.asarray(z, dtype=np.float64)
    return score_table(len(z)).numpy()[rank_codes_np(z)].T


def gaussian_mi(x, y, *, rank_gauss: bool = False, ridge: float = 1e-8) -> float:
    """Gaussian / CCA estimate of I(X; Y) in nats.

    Args:
        x: shape (N, dx) or (N,).
        y: shape (N, dy) or (N,), paired row by row with x.
        rank_gauss: apply :func:`rank_gauss_transform` to every column first.
        ridge: added to the diagonal of the sample correlation matrix for numerical
            stability (singular or constant columns); its effect is O(ridge).

    Returns:
        The estimate as a Python float (non-negative up to rounding).
    """
    x, y = check_xy(x, y, min_n=2)
    if rank_gauss:
        x, y = rank_gauss_transform(x), rank_gauss_transform(y)
    z = np.hstack([x, y])
    z = z - z.mean(axis=0)
    std = z.std(axis=0)
    z = z / np.where(std > 0, std, 1.0)  # MI is scale invariant; constant columns -> 0
    c = z.T @ z / z.shape[0] + ridge * np.eye(z.shape[1])
    dx = x.shape[1]
    ld_x = np.linalg.slogdet(c[:dx, :dx])[1]
    ld_y = np.linalg.slogdet(c[dx:, dx:])[1]
    ld = np.linalg.slogdet(c)[1]
    return float(0.5 * (ld_x + ld_y - ld))
