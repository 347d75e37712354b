"""Per-column copula (rank-gauss) normalization of sample sets.

Both functions map every column of every set to normal scores, which makes the network
invariant to any strictly increasing per-coordinate map of X or Y (MI is invariant to those).
Ranks keep everything that matters for MI: a strongly dependent pair keeps its near-identical
ranks, so many strong pairs still show up as near-singular correlation structure.
"""

from __future__ import annotations

import math

import torch

_SQRT2 = math.sqrt(2.0)


def rank_gauss(x_BND: torch.Tensor) -> torch.Tensor:
    """Normal scores Phi^-1(rank / (N + 1)) per column, ties get their average rank.

    x_BND: (B, N, D) float. Returns (B, N, D) of the same dtype. A constant column maps to 0.
    Not differentiable (ranks are piecewise constant); see `soft_rank_gauss`.
    """
    n = x_BND.shape[1]
    x_BDN = x_BND.detach().transpose(1, 2).contiguous()
    sorted_BDN, _ = torch.sort(x_BDN, dim=-1)
    lo = torch.searchsorted(sorted_BDN, x_BDN, side="left")
    hi = torch.searchsorted(sorted_BDN, x_BDN, side="right")
    # average 1-based rank of the tie group: ((lo + 1) + hi) / 2
    u_BDN = (lo + hi + 1).to(x_BND.dtype) / (2.0 * (n + 1))
    z_BDN = _SQRT2 * torch.erfinv(2.0 * u_BDN - 1.0)
    return z_BDN.transpose(1, 2)


def soft_rank_gauss(x_BND: torch.Tensor, temperature: float = 0.05) -> torch.Tensor:
    """Differentiable normal scores: ranks from pairwise sigmoids.

    rank_i = 1/2 + sum_j sigmoid((x_i - x_j) / (temperature * scale)), scale = column std, so the
    temperature is relative. As temperature -> 0 this tends to `rank_gauss` (ties included: a tied
    pair contributes 1/2, as in average ranks). Memory O(B N^2 D): meant for N up to ~2k.
    x_BND: (B, N, D). Returns (B, N, D).
    """
    n = x_BND.shape[1]
    scale_B1D = x_BND.std(dim=1, keepdim=True).clamp_min(1e-12).detach()
    xs_BND = x_BND / scale_B1D
    diff_BNND = (xs_BND.unsqueeze(2) - xs_BND.unsqueeze(1)) / temperature
    rank_BND = 0.5 + torch.sigmoid(diff_BNND).sum(dim=2)
    u_BND = (rank_BND / (n + 1)).clamp(1.0 / (2 * (n + 1)), 1.0 - 1.0 / (2 * (n + 1)))
    return _SQRT2 * torch.erfinv(2.0 * u_BND - 1.0)
