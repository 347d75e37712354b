"""What every MI network shares: its three entry points and the step into the quantile head.

  forward(x_BNX, y_BNY, soft_ranks)  raw data; hard ranks go through forward_codes
  forward_scores(u_BNC, dx)          normal scores (normalize.py)
  forward_codes(code_BCN, dx)        score codes (normalize.score_table), the estimator's input
  forward_column_pairs(code_CN, i_P, j_P)  the same for many 1 + 1 column pairs of one table

Both turn each column to its canonical sign first (cfg.orient_signs, normalize.orient_codes),
then call the design's `_scores` (every design) or `_codes` (a design with a faster table path).
MI is invariant to a strictly decreasing map of a coordinate, which reverses its ranks; the
canonical sign makes the network so too, exactly on the hard-rank path.

Shape letters:
  B  sets in a batch
  N  samples per set
  X  columns of x (dx), Y columns of y (dy)
  C  cells per sample: dx + dy, X columns first
  F  a feature axis (here the head's inputs)
  K  quantile levels
"""

from __future__ import annotations

import torch
from torch import nn

from mist.network.normalize import normalize_cells, orient_codes, orient_scores, rank_codes, score_table
from mist.network.quantiles import QuantileHead


class QuantileNet(nn.Module):
    """x_BNX, y_BNY -> normal scores -> forward_scores -> (B, K) z-quantiles of log1p(MI) at
    `levels`. Subclasses set `head` and implement forward_scores."""

    head: QuantileHead

    @property
    def levels(self) -> torch.Tensor:
        return self.head.levels

    @property
    def feature_dtype(self) -> torch.dtype:
        """float32 for the head's input (also under bf16 autocast), float64 for a `.double()` model."""
        return torch.promote_types(next(self.head.parameters()).dtype, torch.float32)

    def forward(self, x_BNX: torch.Tensor, y_BNY: torch.Tensor, soft_ranks: float | None = None):
        if soft_ranks is None:  # hard ranks: the same scores, through the (faster) code path
            return self.forward_codes(rank_codes(torch.cat([x_BNX, y_BNY], dim=-1)), x_BNX.shape[-1])
        return self.forward_scores(normalize_cells(x_BNX, y_BNY, soft_ranks), x_BNX.shape[-1])

    def forward_scores(self, u_BNC: torch.Tensor, dx: int) -> torch.Tensor:
        """Normal scores (B, N, C) -> (B, K) z-quantiles."""
        return self._scores(orient_scores(u_BNC) if self.cfg.orient_signs else u_BNC, dx)

    def forward_codes(self, code_BCN: torch.Tensor, dx: int) -> torch.Tensor:
        """The same from score codes (normalize.score_table): (B, C, N) int64 -> (B, K).
        Differentiable w.r.t. the weights (training uses it), not the data."""
        return self._codes(orient_codes(code_BCN) if self.cfg.orient_signs else code_BCN, dx)

    def forward_column_pairs(self, code_CN: torch.Tensor, i_P: torch.Tensor, j_P: torch.Tensor) -> torch.Tensor:
        """forward_codes of the P one-column-per-side sets (column i_P[p] as X, j_P[p] as Y) of one
        table's score codes code_CN (C, N) int64 -> (P, K). The MI-matrix path: a design may share
        each column's work across its pairs (PooledMI does); this default stacks the pairs."""
        step = max(1, 2**16 // (2 * code_CN.shape[-1]))
        return torch.cat([self.forward_codes(torch.stack([code_CN[i_P[k:k + step]], code_CN[j_P[k:k + step]]], 1), 1)
                          for k in range(0, len(i_P), step)])

    def _scores(self, u_BNC: torch.Tensor, dx: int) -> torch.Tensor:
        raise NotImplementedError

    def _codes(self, code_BCN: torch.Tensor, dx: int) -> torch.Tensor:
        u_BCN = score_table(code_BCN.shape[-1]).to(self.levels.device, self.feature_dtype)[code_BCN]
        return self._scores(u_BCN.transpose(1, 2), dx)

    def quantiles_from(self, feats: list) -> torch.Tensor:
        """The quantile head on the set's features, [(B, F_i)] -> (B, K), in feature_dtype."""
        ft = self.feature_dtype
        return self.head(torch.cat([f.to(ft) for f in feats], dim=-1))
