"""Features every design shares: cell inputs, set size, and the log-det pair head's statistics.

The log-det pair head turns P learned per-cell features (plus the raw normal scores, channel 0)
into G = P + 1 Gram matrices over the set's samples; each gives the Gaussian MI of its features,
1/2 (logdet R_xx + logdet R_yy - logdet R) of its correlation matrix R. Channel 0 is the
Gaussian-copula MI of the data. The quantile head reads these next to the pooled cell summary.

Shape letters:
  B  sets in a batch
  N  samples per set
  C  cells per sample: dx + dy coordinates, X columns first
  P  learned pair features per cell (cfg.pair_channels)
  G  Gram channels: the raw scores (channel 0), then the P pair features
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from scipy.special import digamma

if TYPE_CHECKING:
    from mist.network.config import ModelConfig


def cell_inputs(u: torch.Tensor) -> torch.Tensor:
    """What a cell embedding reads from a normal score: u (...) -> [u, u^2 - 1] (..., 2)."""
    return torch.stack([u, u.square() - 1.0], dim=-1)


def size_features(n: int, dx: int, dy: int, batch: int, device) -> torch.Tensor:
    """(B, 4) features of the set size, symmetric in dx and dy."""
    lx, ly, ln = math.log(dx), math.log(dy), math.log(n)
    f = torch.tensor([ln / 4.0, (lx + ly) / 4.0, abs(lx - ly) / 4.0, (ln - math.log(dx + dy)) / 4.0])
    return f.to(device).expand(batch, -1)


def plugin_gaussian_mi_bias(n: int, dx: int, dy: int) -> float | None:
    """E[plug-in Gaussian MI] - true MI for n Gaussian samples; None when n <= dx + dy.

    n S ~ Wishart(Sigma, n - 1) gives E[log det S_p] = log det Sigma_p + sum_{i=1..p} psi((n - i) / 2)
    + p log(2 / n) for any p-block, so the bias of 1/2 (logdet S_xx + logdet S_yy - logdet S) does
    not depend on Sigma: at small n it is the largest part of the plug-in value, which the head
    would otherwise have to learn as a function of (n, dx, dy).
    """
    if n <= dx + dy:
        return None
    g = lambda p: float(sum(digamma((n - i) / 2.0) for i in range(1, p + 1)))  # noqa: E731
    return 0.5 * (g(dx) + g(dy) - g(dx + dy))


def debiased_features(mi0_B: torch.Tensor, n: int, dx: int, dy: int) -> torch.Tensor:
    """(B, 3): [signed log1p of (copula MI - bias), log1p(bias), bias defined]; zeros if undefined."""
    bias = plugin_gaussian_mi_bias(n, dx, dy)
    if bias is None:
        return mi0_B.new_zeros(len(mi0_B), 3)
    d_B = mi0_B - bias
    cols = [torch.sign(d_B) * torch.log1p(d_B.abs()), torch.full_like(d_B, math.log1p(bias)), torch.ones_like(d_B)]
    return torch.stack(cols, dim=-1)


def gaussian_mi_of_gram(g_BGCC: torch.Tensor, dx: int, ridge: float) -> torch.Tensor:
    """1/2 (logdet R_xx + logdet R_yy - logdet R) of each Gram matrix's correlation matrix.

    g_BGCC: (B, G, C, C) symmetric PSD. Normalized to unit diagonal, then a ridge is added so the
    log-dets are finite when N < C. Result (B, G) >= 0 (Fischer's inequality).
    """
    d_BGC = torch.diagonal(g_BGCC, dim1=-2, dim2=-1).clamp_min(1e-8).rsqrt()
    r_BGCC = g_BGCC * d_BGC.unsqueeze(-1) * d_BGC.unsqueeze(-2)
    eye = torch.eye(r_BGCC.shape[-1], dtype=r_BGCC.dtype, device=r_BGCC.device)
    r_BGCC = (r_BGCC + ridge * eye) / (1.0 + ridge)

    def logdet(m):
        return 2.0 * torch.log(torch.diagonal(torch.linalg.cholesky(m), dim1=-2, dim2=-1)).sum(-1)

    mi_BG = 0.5 * (logdet(r_BGCC[..., :dx, :dx]) + logdet(r_BGCC[..., dx:, dx:]) - logdet(r_BGCC))
    return mi_BG.clamp_min(0.0)


def gram_matrices(u_BNC: torch.Tensor, a_BNCP: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, G, C, C) second moments over samples of [u, a_1 .. a_P] per coordinate pair."""
    n = u_BNC.shape[1]
    # one contiguous (B, G, C, N) copy, then a single batched "A A^T": the layout MKL is fastest at
    a_BGCN = torch.cat([u_BNC.unsqueeze(-1), a_BNCP], dim=-1).permute(0, 3, 2, 1).contiguous().to(dtype)
    return (a_BGCN @ a_BGCN.transpose(-1, -2)) / n


def logdet_features(u_BNC: torch.Tensor, a_BNCP: torch.Tensor, dx: int, cfg: ModelConfig) -> list:
    """Head inputs from the log-det pair head: Gaussian MI of the raw scores (channel 0) and of P
    learned cell features, as log1p(mi) and mi / 10, plus the debiased channel 0 when enabled."""
    # float64 by default: the log-dets of near-singular Gram matrices are unstable in float32
    g_BGCC = gram_matrices(u_BNC, a_BNCP, getattr(torch, cfg.gram_dtype))
    return gram_features(g_BGCC, u_BNC.shape[1], dx, cfg)


def gram_features(g_BGCC: torch.Tensor, n: int, dx: int, cfg: ModelConfig) -> list:
    """logdet_features from the Gram matrices (B, G, C, C) of N samples: [(B, G), (B, G)]
    (+ (B, 3) debiased channel 0)."""
    mi_BG = gaussian_mi_of_gram(g_BGCC.double(), dx, cfg.ridge)
    feats = [torch.log1p(mi_BG), mi_BG / 10.0]
    if cfg.debiased_copula:
        feats.append(debiased_features(mi_BG[:, 0], n, dx, g_BGCC.shape[-1] - dx))
    return feats


def logdet_feature_count(cfg: ModelConfig) -> int:
    """How many head inputs logdet_features returns for this config (0 without the pair head)."""
    if not cfg.pair_channels:
        return 0
    return 2 * (cfg.pair_channels + 1) + (3 if cfg.debiased_copula else 0)


# ------------------------------------------------------------- rank histograms (cfg.hist_bins)
# The log-det channels see dependence through correlations of learned per-cell features, which a
# parabola, a circle or a label's ties can leave at zero. A histogram of the copula of each
# (X column, Y column) pair sees any shape at its resolution; the head learns how far to trust it.
def hist_feature_count(cfg: ModelConfig) -> int:
    """Head inputs rank_histogram_features adds: max, mean and log1p(sum) over pairs, per resolution."""
    return 3 * len(cfg.hist_bins)


def codes_from_scores(u_BNC: torch.Tensor) -> torch.Tensor:
    """Score codes (B, C, N) of normal scores: the exact inverse of score_table for hard-rank
    scores (a rank r in 1..N, halves included, has score Phi^-1(r / (N + 1)) and code 2r - 2);
    soft ranks are rounded to the nearest half rank."""
    n = u_BNC.shape[1]
    code = torch.round(2.0 * (n + 1) * torch.special.ndtr(u_BNC.detach().double())) - 2.0
    return code.clamp_(0, 2 * n - 2).long().transpose(1, 2)


def rank_histogram_features(code_BCN: torch.Tensor, dx: int, bins: list, dtype: torch.dtype) -> torch.Tensor:
    """(B, 3 * len(bins)) from score codes (B, C, N): for each resolution R, every (X column,
    Y column) pair's ranks go into R equal-frequency bins per axis, and the plug-in MI of the
    R x R table, minus (R - 1)^2 / (2N) (its expectation under independence), is pooled over the
    dx * dy pairs as its max, its mean and log1p of its positive sum. Invariant to the order of
    samples and of each side's columns, and to swapping X and Y. Not differentiable (counts).
    Resolutions that divide the largest one are summed from its table (floor(R p) =
    floor(floor(M p) / (M / R))), so the samples are counted once."""
    b, c, n = code_BCN.shape
    rank2 = code_BCN + 2  # twice the (average) rank, 2..2N
    tables = {}
    for r in sorted(set(bins), reverse=True):
        parent = next((m for m in tables if m % r == 0), None)
        if parent is not None:
            k = parent // r
            tables[r] = tables[parent].view(b, dx, c - dx, r, k, r, k).sum((-3, -1))
            continue
        bin_BCN = (rank2 * r) // (2 * (n + 1))  # floor(R * rank / (N + 1)), in 0..R-1
        cell_BXYN = bin_BCN[:, :dx, None, :] * r + bin_BCN[:, None, dx:, :]
        # float32 counts are exact up to 2^24 samples
        count = torch.zeros(b, dx, c - dx, r * r, device=code_BCN.device)
        count.scatter_add_(-1, cell_BXYN, torch.ones(1, 1, 1, 1, device=code_BCN.device).expand_as(cell_BXYN))
        tables[r] = count.view(b, dx, c - dx, r, r)
    feats = []
    for r in bins:
        t = tables[r].double()
        mi = (_sum_nlogn(t, (-2, -1)) - _sum_nlogn(t.sum(-1), -1) - _sum_nlogn(t.sum(-2), -1)) / n + math.log(n)
        mi_BP = (mi - (r - 1) ** 2 / (2.0 * n)).flatten(1)
        feats += [mi_BP.amax(1), mi_BP.mean(1), torch.log1p(mi_BP.sum(1).clamp_min(0.0))]
    return torch.stack(feats, dim=-1).to(dtype)


def _sum_nlogn(count: torch.Tensor, dims) -> torch.Tensor:
    """Sum of n log n over `dims` of a table of counts (0 log 0 = 0)."""
    return torch.special.xlogy(count, count).sum(dims)
