"""The plain baseline design (arch "row_set"), read top to bottom.

sample set (x_BNX, y_BNY)
  -> copula normalization (rank-gauss per column)                    [normalize.py, base.py]
  -> one token per sample: [x padded to max_dim, y padded, X column mask, Y column mask]
  -> cfg.blocks ISABs over the samples, PMA pooling
  -> pooled summary + size features (N, dx, dy) -> non-crossing quantiles
This is the MIST-reference-style design (with X/Y masks added); it caps dx, dy at cfg.max_dim and
has no log-det pair head.

Shape letters:
  B  sets in a batch
  N  samples per set
  X  columns of x (dx), Y columns of y (dy)
  C  cells per sample: dx + dy, X columns first
  F  a feature axis (here a token's: 4 x cfg.max_dim)
  W  token width (cfg.width)
  K  quantile levels
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from mist.network.base import QuantileNet
from mist.network.blocks import ISAB, PMA
from mist.network.features import size_features
from mist.network.quantiles import QuantileHead

if TYPE_CHECKING:
    from mist.network.config import ModelConfig


class RowSetMI(QuantileNet):
    """x_BNX (B, N, dx), y_BNY (B, N, dy) -> z-quantiles (B, K) of log1p(MI)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Linear(4 * cfg.max_dim, cfg.width)
        self.blocks = nn.ModuleList(ISAB(cfg.width, cfg.heads, cfg.n_inducing) for _ in range(cfg.blocks))
        self.pool = PMA(cfg.width, cfg.heads)
        self.head = QuantileHead(cfg.width + 4, cfg.head_width, cfg.levels)

    def _scores(self, u_BNC: torch.Tensor, dx: int) -> torch.Tensor:
        b, n, c = u_BNC.shape
        dy, m = c - dx, self.cfg.max_dim
        if max(dx, dy) > m:
            raise ValueError(f"row_set handles at most {m} columns per side, got dx={dx}, dy={dy}")
        token_BNF = u_BNC.new_zeros(b, n, 4 * m)
        token_BNF[..., :dx] = u_BNC[..., :dx]
        token_BNF[..., m:m + dy] = u_BNC[..., dx:]
        token_BNF[..., 2 * m:2 * m + dx] = 1.0
        token_BNF[..., 3 * m:3 * m + dy] = 1.0
        h_BNW = self.embed(token_BNF)
        for block in self.blocks:
            h_BNW = block(h_BNW)
        return self.quantiles_from([self.pool(h_BNW).squeeze(1), size_features(n, dx, dy, b, u_BNC.device)])
