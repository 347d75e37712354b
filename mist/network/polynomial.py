"""Polynomial canonical-correlation head inputs (ModelConfig.poly_degree; pooled design).

The log-det pair head and the rank histograms see dependence through per-coordinate features:
one coordinate's score, or one (X column, Y column) pair of ranks. A parabola, a circle or an X
along a direction that mixes several columns (a side rotated or linearly mixed as a whole) leaves
every such statistic near zero. The Gaussian MI between the polynomial features of X and of Y
(canonical correlations of their monomials) sees it: the span of a side's monomials up to degree
k is the same after any invertible linear map of that side's scores, so the statistic is invariant
to it up to the ridge on the monomials' correlation matrix (exactly as the ridge goes to 0; about
0.06 in log1p MI at degree 4 with the default 1e-3 in the tests), and exactly invariant to
permutations of samples and of each side's columns, to swapping X and Y and to column sign flips. Unlike the histograms it is differentiable in the scores.

Per degree k in 2..poly_degree, each side's features are its monomials of degree 1..k when there
are at most cfg.poly_max_features of them (C(d + k, k) - 1; e.g. d <= 4 at k = 3 with 40), else
only each column's own powers u, u^2, .., u^k (k d features: wide sides keep a linear cost).
Features are centred over the samples; the head reads, per degree, log1p of the Gaussian MI of
their correlation matrix (ridge cfg.ridge) and its debiased form (features.debiased_features,
the Wishart bias of that many Gaussian features, which is only a guide for non-Gaussian ones).

Shape letters: B sets, N samples, C cells (dx + dy, X first), F monomials of one side.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations_with_replacement
from math import comb
from typing import TYPE_CHECKING

import torch

from mist.network.features import debiased_features, gaussian_mi_of_gram

if TYPE_CHECKING:
    from mist.network.config import ModelConfig


def poly_feature_count(cfg: ModelConfig) -> int:
    """Head inputs polynomial_features adds: 4 per degree 2..poly_degree."""
    return 4 * max(0, cfg.poly_degree - 1)


@lru_cache(maxsize=None)
def _monomial_terms(d: int, k: int, max_features: int) -> tuple:
    if comb(d + k, k) - 1 <= max_features:
        terms = [t for deg in range(1, k + 1) for t in combinations_with_replacement(range(d), deg)]
    else:
        terms = [(i,) * deg for i in range(d) for deg in range(1, k + 1)]
    return tuple(t + (d,) * (k - len(t)) for t in terms)


def monomial_index(d: int, k: int, max_features: int) -> torch.Tensor:
    """(F, k) column indices of one side's monomials of degree 1..k; index d is a column of ones
    (pads lower degrees). All monomials if there are at most max_features, else each column's
    own powers. A fresh tensor per call: one cached under inference_mode could not be used where
    autograd records (est.mi after est.estimate)."""
    return torch.tensor(_monomial_terms(d, k, max_features), dtype=torch.long)


def _monomials(u_BND: torch.Tensor, k: int, max_features: int) -> torch.Tensor:
    """(B, N, d) scores -> (B, N, F) centred monomials."""
    idx_FK = monomial_index(u_BND.shape[-1], k, max_features).to(u_BND.device)
    ones = torch.ones_like(u_BND[..., :1])
    m_BNF = torch.cat([u_BND, ones], -1)[..., idx_FK].prod(-1)
    return m_BNF - m_BNF.mean(1, keepdim=True)


def polynomial_features(u_BNC: torch.Tensor, dx: int, cfg: ModelConfig) -> torch.Tensor:
    """(B, N, C) normal scores -> (B, 4 * (poly_degree - 1)) head inputs (see the module doc)."""
    n = u_BNC.shape[1]
    u_BNC = u_BNC.double()  # products of cubes and log-dets of near-singular matrices need it
    feats = []
    for k in range(2, cfg.poly_degree + 1):
        mx_BNF = _monomials(u_BNC[..., :dx], k, cfg.poly_max_features)
        my_BNF = _monomials(u_BNC[..., dx:], k, cfg.poly_max_features)
        m_BNF = torch.cat([mx_BNF, my_BNF], -1)
        g_BFF = m_BNF.transpose(1, 2) @ m_BNF / n
        fx = mx_BNF.shape[-1]
        mi_B = gaussian_mi_of_gram(g_BFF.unsqueeze(1), fx, cfg.ridge)[:, 0]
        feats += [torch.log1p(mi_B).unsqueeze(-1), debiased_features(mi_B, n, fx, my_BNF.shape[-1])]
    return torch.cat(feats, -1)
