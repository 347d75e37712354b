"""The fast design (arch "pooled"), read top to bottom, then its table path.

sample set (x_BNX, y_BNY)
  -> copula normalization (rank-gauss per column)                    [normalize.py, base.py]
  -> one token per cell (sample n, coordinate c), C = dx + dy cells
  -> cfg.blocks PooledBlocks: each cell reads the mean of its row's X cells, of its row's Y cells
       and of its column; a few passes over the cells instead of the two-axis design's C x C
       attention logits per sample
  -> the same log-det pair head and quantile head as TwoAxisMI                [features.py]
Linear in cells with a small constant, for large N, where the log-det statistics carry most of
the information; the shipped checkpoint routes large N to it (routed.py).

Table path (forward_codes, the estimator's input): a set of N samples has only T = 2N - 1
possible normal scores (normalize.score_table), and every step that depends on one cell alone
(embedding, the block's LayerNorm and its cell term) is computed once per score and gathered.

Shape letters:
  B  sets in a batch
  N  samples per set
  X  columns of x (dx), Y columns of y (dy)
  C  cells per sample: dx + dy, X columns first
  W  cell width (cfg.width)
  U  hidden units of a block (cfg.block_hidden)
  P  learned pair features per cell (cfg.pair_channels)
  G  Gram channels: the raw scores, then the P pair features
  T  entries of the score table (2N - 1)
  F  a feature axis (here a table's columns, (T, F))
  K  quantile levels
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from mist.network.base import QuantileNet
from mist.network.blocks import PMA
from mist.network.features import (cell_inputs, codes_from_scores, gram_features, hist_feature_count,
                                   logdet_feature_count, logdet_features, rank_histogram_features, size_features)
from mist.network.normalize import score_table
from mist.network.quantiles import QuantileHead

if TYPE_CHECKING:
    from mist.network.config import ModelConfig


def _check_split(dx: int, c: int) -> None:
    if not 0 < dx < c:
        raise ValueError(f"need at least one X and one Y column, got dx={dx} of {c} columns")


class PooledBlock(nn.Module):
    """Each cell reads its row through the mean of its own block (X or Y) and of the other block,
    and its column through the mean over samples: a DeepSets-style stand-in for the two-axis
    block's attention. h_BNCW -> h_BNCW + out(relu(z_BNCU))."""

    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.ln = nn.LayerNorm(width)
        self.cell = nn.Linear(width, hidden)
        self.own_block = nn.Linear(width, hidden, bias=False)
        self.other_block = nn.Linear(width, hidden, bias=False)
        self.column = nn.Linear(width, hidden, bias=False)
        self.out = nn.Linear(hidden, width)

    def forward(self, h_BNCW: torch.Tensor, dx: int) -> torch.Tensor:
        a_BNCW = self.ln(h_BNCW)
        mx_BNW, my_BNW = a_BNCW[:, :, :dx].mean(2), a_BNCW[:, :, dx:].mean(2)
        # = self.cell(a) + row context; the cell bias rides on the small (B, N, U) context (saves
        # addmm's bias-copy pass) and the context is added in place into slices (no gathered copy)
        z_BNCU = a_BNCW @ self.cell.weight.T
        z_BNCU[:, :, :dx] += (self.own_block(mx_BNW) + self.other_block(my_BNW) + self.cell.bias).unsqueeze(2)
        z_BNCU[:, :, dx:] += (self.own_block(my_BNW) + self.other_block(mx_BNW) + self.cell.bias).unsqueeze(2)
        z_BNCU += self.column(a_BNCW.mean(1, keepdim=True))
        return h_BNCW + self.out(torch.relu_(z_BNCU))

    def hidden_from_table(self, h_TW: torch.Tensor, gather, hist_BCT: torch.Tensor, dx: int) -> torch.Tensor:
        """relu(z) of forward, (U, B, C, N), for cells whose input h is h_TW[code]: the
        LayerNorm and the cell's own linear term are taken from the table (see
        PooledMI.forward_codes for gather and the code histogram hist_BCT, rows summing to 1)."""
        a_TW = self.ln(h_TW)
        a_WBCN = gather(a_TW)
        _, b, c, n = a_WBCN.shape
        mx_WBN, my_WBN = a_WBCN[:, :, :dx].mean(2), a_WBCN[:, :, dx:].mean(2)
        own, other, bias = self.own_block.weight, self.other_block.weight, self.cell.bias.unsqueeze(-1)
        z_UBCN = gather(a_TW @ self.cell.weight.T)
        z_UBCN[:, :, :dx] += (own @ mx_WBN.flatten(1) + other @ my_WBN.flatten(1) + bias).view(-1, b, 1, n)
        z_UBCN[:, :, dx:] += (own @ my_WBN.flatten(1) + other @ mx_WBN.flatten(1) + bias).view(-1, b, 1, n)
        col_BCW = hist_BCT @ a_TW  # each column's mean of LayerNorm(h) over samples
        z_UBCN += (self.column.weight @ col_BCW.flatten(0, 1).T).view(-1, b, c, 1)
        return z_UBCN.relu_()


class PooledMI(QuantileNet):
    """x_BNX (B, N, dx), y_BNY (B, N, dy) -> z-quantiles (B, K) of log1p(MI): per-cell MLP blocks
    with mean-pooled row and column context, then the log-det pair head and quantile head."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        # ReLU rather than GELU: erf is a visible share of the time at this width
        self.cell_embed = nn.Sequential(nn.Linear(2, w), nn.ReLU(inplace=True), nn.Linear(w, w))
        self.blocks = nn.ModuleList(PooledBlock(w, cfg.block_hidden or 2 * w) for _ in range(cfg.blocks))
        self.cell_pool = PMA(w, cfg.heads)
        self.pair_proj = nn.Linear(w, cfg.pair_channels)
        # rank-histogram inputs come last, so a warm start from a checkpoint without them widens the head
        self.head = QuantileHead(w + 4 + logdet_feature_count(cfg) + hist_feature_count(cfg), cfg.head_width, cfg.levels)

    def _scores(self, u_BNC: torch.Tensor, dx: int) -> torch.Tensor:
        b, n, c = u_BNC.shape
        _check_split(dx, c)
        h_BNCW = self.cell_embed(cell_inputs(u_BNC))
        for block in self.blocks:
            h_BNCW = block(h_BNCW, dx)
        feats = [self.cell_pool(h_BNCW.mean(dim=1)).squeeze(1), size_features(n, dx, c - dx, b, u_BNC.device)]
        feats += logdet_features(u_BNC, self.pair_proj(h_BNCW), dx, self.cfg)
        if self.cfg.hist_bins:
            feats.append(rank_histogram_features(codes_from_scores(u_BNC), dx, self.cfg.hist_bins, self.feature_dtype))
        return self.quantiles_from(feats)

    # ------------------------------------------------------------------ table path
    def _codes(self, code_BCN: torch.Tensor, dx: int) -> torch.Tensor:
        """_scores from score codes (B, C, N) int64 -> (B, K), with every cell-wise step
        tabulated: a cell's embedding (and, in the block, its LayerNorm and its own linear term)
        is a function of its score alone, so it is computed once per entry of the score table
        (T = 2N - 1 rows) and gathered. Per cell there remain a few gathers, the block's context
        sums and hidden layer, and the Gram matrices; column means come from a histogram of
        codes times the table. Equal to _scores up to float rounding; for zero or one
        block (more fall back to the plain lookup of QuantileNet)."""
        if len(self.blocks) > 1:
            return super()._codes(code_BCN, dx)
        b, c, n = code_BCN.shape
        _check_split(dx, c)
        ft = self.feature_dtype
        u_T = score_table(n).to(code_BCN.device, ft)
        h_TW = self.cell_embed(cell_inputs(u_T))
        flat = code_BCN.reshape(-1)

        def gather(t_TF):  # (T, F) table -> (F, B, C, N) values of the cells
            return t_TF.T.contiguous().index_select(1, flat).view(-1, b, c, n)

        hist_BCT = torch.zeros(b, c, len(u_T), dtype=ft, device=code_BCN.device)  # code frequencies per column
        hist_BCT.scatter_add_(2, code_BCN, torch.full_like(hist_BCT[:, :, :1], 1.0 / n).expand(-1, -1, n))
        mean_BCW = hist_BCT @ h_TW  # each column's mean embedding over samples
        pair_TP = self.pair_proj(h_TW)
        if self.blocks:  # h' = h + out(r), so pair_proj(h') = pair_proj(h) + pair_proj.weight @ out(r)
            block, proj_PW = self.blocks[0], self.pair_proj.weight
            r_UBCN = block.hidden_from_table(h_TW, gather, hist_BCT, dx)
            pair_TP = pair_TP + proj_PW @ block.out.bias
            mean_BCW = mean_BCW + block.out(r_UBCN.mean(-1).permute(1, 2, 0))
        # the Gram channels [u, pair features], gathered straight into the layout the matmul wants
        a_GBCN = gather(torch.cat([u_T.unsqueeze(-1), pair_TP], dim=-1))
        if self.blocks:
            a_GBCN[1:].view(len(a_GBCN) - 1, -1).addmm_(proj_PW @ block.out.weight, r_UBCN.view(len(r_UBCN), -1))
        a_GBCN = a_GBCN.to(getattr(torch, self.cfg.gram_dtype))
        g_BGCC = ((a_GBCN @ a_GBCN.transpose(-1, -2)) / n).transpose(0, 1)
        feats = [self.cell_pool(mean_BCW).squeeze(1), size_features(n, dx, c - dx, b, code_BCN.device)]
        feats += gram_features(g_BGCC, n, dx, self.cfg)
        if self.cfg.hist_bins:
            feats.append(rank_histogram_features(code_BCN, dx, self.cfg.hist_bins, ft))
        return self.quantiles_from(feats)
