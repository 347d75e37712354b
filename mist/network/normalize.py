"""Per-column copula (rank-gauss) normalization of sample sets.

Both functions map every column of every set to normal scores, which makes the network
invariant to any strictly increasing per-coordinate map of X or Y (MI is invariant to those).
Ranks keep everything that matters for MI: a strongly dependent pair keeps its near-identical
ranks, so many strong pairs still show up as near-singular correlation structure.

A strictly decreasing map reverses a column's ranks, i.e. negates its scores. `orient_scores`
and `orient_codes` give each column a canonical sign: the sign of its co-skewness with the whole
row, t_c = sum_n u_nc (sum_c' u_nc'^2 - 1). t_c is odd in column c's scores and even in every
other column's, so negating any set of columns negates exactly their t and the oriented data
are the same. Where |t_c| is within rounding of 0 (data symmetric under negating every column,
e.g. y = x exactly in one dimension each), the column keeps its sign.

Shape letters:
  B  sets in a batch
  N  samples per set
  D  columns (any); for a pair, X columns of x (dx), Y columns of y (dy), C = dx + dy cells
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from scipy.stats import rankdata

_SQRT2 = math.sqrt(2.0)
# Default soft-rank temperature, relative to a robust column scale (IQR / 1.349); chosen with
# benchmarks/soft_vs_hard.py, see mist/differentiable.py.
DEFAULT_TEMPERATURE = 0.05
_MAX_PAIRS = 2**24


def _normal_quantile(u: torch.Tensor) -> torch.Tensor:
    """Phi^-1(u) in u's dtype, differentiable (score_table computes the same in float64)."""
    return _SQRT2 * torch.erfinv(2.0 * u - 1.0)


def rank_gauss(x_BND: torch.Tensor) -> torch.Tensor:
    """Normal scores Phi^-1(rank / (N + 1)) per column, ties get their average rank.

    x_BND: (B, N, D) float. Returns (B, N, D) of the same dtype. A constant column maps to 0.
    Not differentiable (ranks are piecewise constant); see `soft_rank_gauss`.
    """
    n = x_BND.shape[1]
    u_BDN = (rank_codes(x_BND) + 2).to(x_BND.dtype) / (2.0 * (n + 1))  # average rank / (N + 1)
    return _normal_quantile(u_BDN).transpose(1, 2)


def normalize_cells(x_BNX: torch.Tensor, y_BNY: torch.Tensor, soft_ranks: float | None) -> torch.Tensor:
    """Concatenate X and Y columns and map each to normal scores -> u_BNC; soft ranks at this
    temperature (see soft_rank_gauss), or hard ranks for None."""
    xy_BNC = torch.cat([x_BNX, y_BNY], dim=-1)
    return rank_gauss(xy_BNC) if soft_ranks is None else soft_rank_gauss(xy_BNC, soft_ranks)


def _orientation_BC(u_BNC: torch.Tensor) -> torch.Tensor:
    """(B, C) bool: which columns to negate (t_c < 0, beyond rounding; see the module doc)."""
    u_BNC = u_BNC.detach()
    s_BN1 = (u_BNC.square() - 1.0).sum(-1, keepdim=True)
    t_BC = (u_BNC * s_BN1).sum(1)
    return t_BC < -1e-9 * u_BNC.shape[1] * max(u_BNC.shape[2], 1)


def orient_scores(u_BNC: torch.Tensor) -> torch.Tensor:
    """u_BNC with each column negated where its co-skewness is negative (module doc); the
    sign is a constant for autograd."""
    flip_BC = _orientation_BC(u_BNC)
    return torch.where(flip_BC.unsqueeze(1), -u_BNC, u_BNC)


def orient_codes(code_BCN: torch.Tensor) -> torch.Tensor:
    """The same on score codes (B, C, N): a negated score is the mirrored code 2N - 2 - c.
    The table used for t is made exactly antisymmetric, so mirrored columns give exactly -t."""
    n = code_BCN.shape[-1]
    table = score_table(n)
    table = 0.5 * (table - table.flip(0))
    flip_BC = _orientation_BC(table.to(code_BCN.device)[code_BCN].transpose(1, 2))
    return torch.where(flip_BC.unsqueeze(-1), (2 * n - 2) - code_BCN, code_BCN)


@lru_cache(maxsize=64)
def score_table(n: int) -> torch.Tensor:
    """(2N - 1,) float64: every normal score `rank_gauss` can give a set of N samples.

    An average rank is a multiple of 1/2 in [1, N] (halves come from ties), so rank r has score
    code 2r - 2 and score Phi^-1(r / (N + 1)) = score_table(N)[code]. With codes, a scalar
    function of the score is computed once per table entry instead of once per cell.
    Cached: callers must not modify it in place."""
    return torch.special.ndtri(torch.arange(2, 2 * n + 1, dtype=torch.float64) / (2 * (n + 1)))


def rank_codes(x_BND: torch.Tensor) -> torch.Tensor:
    """(B, D, N) int64 score codes (see score_table) of each column of x_BND (B, N, D);
    score_table(N)[rank_codes(x)] is rank_gauss(x) transposed, up to float rounding."""
    x_BDN = x_BND.detach().transpose(1, 2).contiguous()
    sorted_BDN, _ = torch.sort(x_BDN, dim=-1)
    lo = torch.searchsorted(sorted_BDN, x_BDN, side="left")
    hi = torch.searchsorted(sorted_BDN, x_BDN, side="right")
    return lo + hi - 1  # 2 x average 1-based rank ((lo + 1) + hi) / 2, minus 2


def rank_codes_np(xy: np.ndarray) -> np.ndarray:
    """(n, C) -> (C, n) int64 score codes per column (2 x average rank - 2, ties at their
    average rank; see score_table): the numpy twin of `rank_codes` (a test holds them equal),
    used by the estimator in float64 so huge values and integers are safe.

    Without ties a column's codes are a permutation of 0, 2, .., 2n - 2, so one argsort and a
    scatter do the work; only columns with ties pay for rankdata."""
    n, c = xy.shape
    cols_CN = np.ascontiguousarray(xy.T)
    order_CN = np.argsort(cols_CN, axis=1)
    rows_C1 = np.arange(c)[:, None]  # fancy indexing: ~2x faster than take/put_along_axis here
    sorted_CN = cols_CN[rows_C1, order_CN]
    out_CN = np.empty((c, n), dtype=np.int64)
    out_CN[rows_C1, order_CN] = np.arange(0, 2 * n, 2)
    for j in np.flatnonzero((sorted_CN[:, 1:] == sorted_CN[:, :-1]).any(axis=1)):
        out_CN[j] = np.rint(2 * rankdata(cols_CN[j]) - 2).astype(np.int64)
    return out_CN


def prescale_columns(x_BND: torch.Tensor) -> torch.Tensor:
    """Divide each column by its (detached) max |x| (1 for an all-zero column): values in
    [-1, 1], so later squares and differences cannot overflow. Ranks, hard or soft, do not change,
    so neither do their gradients."""
    big_B1D = x_BND.detach().abs().amax(dim=1, keepdim=True)
    return x_BND / torch.where(big_B1D > 0, big_B1D, torch.ones_like(big_B1D))


def _column_scale(x1_BND: torch.Tensor, ok_B1D: torch.Tensor, kind: str) -> torch.Tensor:
    """Differentiable per-column scale (B, 1, D) of prescaled data; 1 where not `ok` (constant).

    "iqr": interquartile range / 1.349 (= the std for a normal column), falling back to the std
    where more than half the column is tied (IQR 0); "std": the standard deviation. Every branch
    torch.where leaves unused sees a safe value, so no 0 * inf = NaN reaches the backward pass.
    """
    n = x1_BND.shape[1]
    var_B1D = (x1_BND - x1_BND.mean(dim=1, keepdim=True)).square().sum(dim=1, keepdim=True) / max(n - 1, 1)
    std_B1D = torch.where(ok_B1D, var_B1D, torch.ones_like(var_B1D)).sqrt()
    if kind == "std":
        return std_B1D
    if kind != "iqr":
        raise ValueError(f"scale must be 'iqr' or 'std', got {kind!r}")
    sorted_BND = x1_BND.sort(dim=1).values

    def quantile(level):  # linear interpolation between order statistics, as torch.quantile
        pos = level * (n - 1)
        lo = min(int(pos), n - 1)
        hi = min(lo + 1, n - 1)
        return sorted_BND[:, lo:lo + 1] + (pos - lo) * (sorted_BND[:, hi:hi + 1] - sorted_BND[:, lo:lo + 1])

    iqr_B1D = (quantile(0.75) - quantile(0.25)) / 1.349
    use_iqr = ok_B1D & (iqr_B1D.detach() > 0)
    return torch.where(use_iqr, iqr_B1D, std_B1D)


def soft_rank_gauss(x_BND: torch.Tensor, temperature: float = DEFAULT_TEMPERATURE, scale: str = "iqr") -> torch.Tensor:
    """Differentiable normal scores: ranks from pairwise sigmoids.

    rank_i = 1/2 + sum_j sigmoid((x_i - x_j) / (temperature * s)), s = a robust column scale
    (`scale="iqr"`: interquartile range / 1.349, the std for normal data; "std": the std), so the
    temperature is relative and the result is exactly invariant to shifting and rescaling a
    column. The IQR matters for heavy tails: there a few far points inflate the std, and a
    std-relative temperature would blur the bulk of the column into ties. As temperature -> 0
    this tends to `rank_gauss` (ties included: a tied pair contributes 1/2, as in average ranks).
    Memory O(B N^2 D) with autograd: meant for N up to ~2k.

    Robust for gradient use: the scale is differentiated (so finite-difference checks agree); each
    column is first divided by its (detached) max |x|, which the result does not depend on, so
    huge inputs (1e30 in float32) cannot overflow; a constant column (or one with a non-finite
    value) maps to 0 with zero gradient, as in `rank_gauss`.
    x_BND: (B, N, D). Returns (B, N, D).
    """
    n = x_BND.shape[1]
    finite_B1D = torch.isfinite(x_BND.detach()).all(dim=1, keepdim=True)
    x_BND = torch.where(finite_B1D, x_BND, torch.zeros_like(x_BND))
    xd_BND = x_BND.detach()
    ok_B1D = finite_B1D & (xd_BND.amax(dim=1, keepdim=True) > xd_BND.amin(dim=1, keepdim=True))
    x1_BND = prescale_columns(x_BND)                   # in [-1, 1]: no overflow below
    xs_BND = x1_BND / (temperature * _column_scale(x1_BND, ok_B1D, scale))
    # columns in chunks: without autograd, peak memory stays ~_MAX_PAIRS floats at any N, D
    step = max(1, _MAX_PAIRS // max(1, x_BND.shape[0] * n * n))
    rank_BND = torch.cat([
        0.5 + torch.sigmoid(c.unsqueeze(2) - c.unsqueeze(1)).sum(dim=2)
        for c in xs_BND.split(step, dim=-1)], dim=-1)
    u_BND = (rank_BND / (n + 1)).clamp(1.0 / (2 * (n + 1)), 1.0 - 1.0 / (2 * (n + 1)))
    z_BND = _normal_quantile(u_BND)
    return torch.where(ok_B1D, z_BND, torch.zeros_like(z_BND))
