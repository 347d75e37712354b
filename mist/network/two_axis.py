"""The attention design (arch "two_axis"), read top to bottom.

sample set (x_BNX, y_BNY)
  -> copula normalization (rank-gauss per column)                    [normalize.py, base.py]
  -> one token per cell (sample n, coordinate c), C = dx + dy cells
  -> cfg.blocks two-axis blocks:
       coordinate axis: the cells of one sample attend to each other; a learned per-head bias
         says whether two cells are in the same block (X-X, Y-Y) or across (X-Y), which tells the
         network which coordinates are X and which Y without naming either, so f(x, y) = f(y, x)
       sample axis: each coordinate's N cells go through an ISAB (cost linear in N)
  -> log-det pair head: P learned features per cell give P + 1 Gram matrices (C x C, averaged over
       samples) with the raw scores as channel 0, so channel 0 is the Gaussian-copula MI  [features.py]
  -> pooled cell summary + log-det features + size features (N, dx, dy) -> non-crossing quantiles
Every step is equivariant to the order of samples and of coordinates within X and within Y, and
the pooling is invariant, so the output is too. The shipped checkpoint uses it for small N.

Shape letters:
  B  sets in a batch
  N  samples per set
  X  columns of x (dx), Y columns of y (dy)
  C  cells per sample: dx + dy, X columns first
  W  cell width (cfg.width)
  H  attention heads (cfg.heads)
  P  learned pair features per cell (cfg.pair_channels)
  K  quantile levels
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from mist.network.base import QuantileNet
from mist.network.blocks import ISAB, MAB, PMA
from mist.network.features import cell_inputs, logdet_feature_count, logdet_features, size_features
from mist.network.quantiles import QuantileHead

if TYPE_CHECKING:
    from mist.network.config import ModelConfig

# Largest (cells x cells x heads x samples) attention-logit tensor built at once; coordinate
# attention is independent per sample, so chunking over samples is exact and bounds memory.
_MAX_LOGITS = 2**25


def role_index(dx: int, dy: int, device) -> torch.Tensor:
    """(C,) 0 for X coordinates, 1 for Y coordinates."""
    return torch.cat([torch.zeros(dx, dtype=torch.long), torch.ones(dy, dtype=torch.long)]).to(device)


class TwoAxisBlock(nn.Module):
    """Attention along the coordinate axis (within a sample), then along the sample axis."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.coord_mab = MAB(cfg.width, cfg.heads)
        self.sample_isab = ISAB(cfg.width, cfg.heads, cfg.n_inducing)

    def forward(self, h_BNCW: torch.Tensor, bias_1HCC: torch.Tensor) -> torch.Tensor:
        b, n, c, w = h_BNCW.shape
        rows = h_BNCW.reshape(b * n, c, w)  # one row of C cells per sample
        chunk = max(1, _MAX_LOGITS // (c * c * bias_1HCC.shape[1]))
        rows = torch.cat([self.coord_mab(r, r, bias_1HCC) for r in rows.split(chunk)])
        cols = rows.view(b, n, c, w).transpose(1, 2).reshape(b * c, n, w)  # one column of N cells per coordinate
        cols = self.sample_isab(cols)
        return cols.view(b, c, n, w).transpose(1, 2)


class TwoAxisMI(QuantileNet):
    """x_BNX (B, N, dx), y_BNY (B, N, dy) -> z-quantiles (B, K) of log1p(MI)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.cell_embed = nn.Sequential(nn.Linear(2, w), nn.GELU(), nn.Linear(w, w))
        self.role_bias_2H = nn.Parameter(torch.zeros(2, cfg.heads))  # [cross-block, same-block]
        self.blocks = nn.ModuleList(TwoAxisBlock(cfg) for _ in range(cfg.blocks))
        self.cell_pool = PMA(w, cfg.heads)
        self.pair_proj = nn.Linear(w, cfg.pair_channels) if cfg.pair_channels else None
        self.head = QuantileHead(w + 4 + logdet_feature_count(cfg), cfg.head_width, cfg.levels)

    def _scores(self, u_BNC: torch.Tensor, dx: int) -> torch.Tensor:
        """The network after normalization: normal scores u_BNC (X columns first) -> (B, K)."""
        b, n, c = u_BNC.shape
        dy = c - dx
        h_BNCW = self.cell_embed(cell_inputs(u_BNC))

        role_C = role_index(dx, dy, u_BNC.device)
        same_CC = (role_C[:, None] == role_C[None, :]).long()
        bias_1HCC = self.role_bias_2H[same_CC].permute(2, 0, 1).unsqueeze(0).to(h_BNCW.dtype)
        for block in self.blocks:
            h_BNCW = block(h_BNCW, bias_1HCC)

        # pool samples (mean) then coordinates (attention): invariant to both orders
        cell_summary_BW = self.cell_pool(h_BNCW.mean(dim=1)).squeeze(1)
        feats = [cell_summary_BW, size_features(n, dx, dy, b, u_BNC.device)]
        if self.pair_proj is not None:
            feats += logdet_features(u_BNC, self.pair_proj(h_BNCW), dx, self.cfg)
        return self.quantiles_from(feats)
