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
from mist.network.polynomial import poly_feature_count, polynomial_features
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
        # rank-histogram, then polynomial inputs come last, so a warm start from a checkpoint
        # without them widens the head
        n_in = w + 4 + logdet_feature_count(cfg) + hist_feature_count(cfg) + poly_feature_count(cfg)
        self.head = QuantileHead(n_in, cfg.head_width, cfg.levels)

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
        if self.cfg.poly_degree:
            feats.append(polynomial_features(u_BNC, dx, self.cfg))
        return self.quantiles_from(feats)

    # ------------------------------------------------------------------ column pairs
    def forward_column_pairs(self, code_CN: torch.Tensor, i_P: torch.Tensor, j_P: torch.Tensor,
                             cells_per_pass: int = 2**18) -> torch.Tensor:
        """forward_codes of the 1 + 1 sets (column i_P[p], column j_P[p]) of one table -> (P, K),
        equal up to float rounding. With one column per side a block's context is linear in the
        two cells (the row means are the cells themselves), so everything that depends on one
        column (its gathered table rows, its column mean; in both signs, for orient_signs) is
        computed once per column, and each pair only adds, rectifies and forms its 2 x 2 Gram
        matrices, in passes of about cells_per_pass cells (cache-sized: larger passes are slower).
        F below indexes a column in one of its two signs: F = 2C rows, the mirrored ones last."""
        if len(self.blocks) != 1:
            return super().forward_column_pairs(code_CN, i_P, j_P)
        c, n = code_CN.shape
        ft, dev, block = self.feature_dtype, code_CN.device, self.blocks[0]
        code_FN = torch.cat([code_CN, (2 * n - 2) - code_CN])
        ix_P, iy_P = self._oriented_rows(code_CN, i_P, j_P) if self.cfg.orient_signs else (i_P, j_P)
        u_T = score_table(n).to(dev, ft)
        h_TW = self.cell_embed(cell_inputs(u_T))
        hist_FT = torch.zeros(2 * c, len(u_T), dtype=ft, device=dev)
        hist_FT.scatter_add_(1, code_FN, torch.full_like(hist_FT[:, :1], 1.0 / n).expand(-1, n))
        a_TW = block.ln(h_TW)
        col_FU = (hist_FT @ a_TW) @ block.column.weight.T + block.cell.bias

        def rows(t_TF):  # (T, F') table -> (F', F, N): every column's cells, in both signs
            return t_TF.T.contiguous().index_select(1, code_FN.reshape(-1)).view(-1, 2 * c, n)

        own_UFN = rows(a_TW @ (block.cell.weight + block.own_block.weight).T) + col_FU.T.unsqueeze(-1)
        other_UFN = rows(a_TW @ block.other_block.weight.T)
        proj_PW = self.pair_proj.weight
        gram_GFN = rows(torch.cat([u_T.unsqueeze(-1), self.pair_proj(h_TW) + proj_PW @ block.out.bias], -1))
        mean_FW = hist_FT @ h_TW
        mix_GU = proj_PW @ block.out.weight
        gram_dtype = getattr(torch, self.cfg.gram_dtype)

        def pass_of(ix_P, iy_P):  # pair p: X cells are row ix_P[p] of the F axis, Y cells row iy_P[p]
            means, cells = [], []
            for me, other in ((ix_P, iy_P), (iy_P, ix_P)):
                r_UPN = own_UFN.index_select(1, me).add_(other_UFN.index_select(1, other)).relu_()
                means.append(mean_FW[me] + block.out(r_UPN.mean(-1).T))
                a_GPN = gram_GFN.index_select(1, me)
                a_GPN[1:].view(len(a_GPN) - 1, -1).addmm_(mix_GU, r_UPN.view(len(r_UPN), -1))
                cells.append(a_GPN.to(gram_dtype))
            ax_GPN, ay_GPN = cells
            # a 2 x 2 Gram matrix per channel: three dot products over the samples
            vecdot = torch.linalg.vecdot
            xx, yy, xy = vecdot(ax_GPN, ax_GPN), vecdot(ay_GPN, ay_GPN), vecdot(ax_GPN, ay_GPN)
            g_PGCC = torch.stack([torch.stack([xx, xy], -1), torch.stack([xy, yy], -1)], -2).transpose(0, 1) / n
            feats = [self.cell_pool(torch.stack(means, 1)).squeeze(1), size_features(n, 1, 1, len(ix_P), dev)]
            feats += gram_features(g_PGCC, n, 1, self.cfg)
            if self.cfg.hist_bins:
                code_PCN = torch.stack([code_FN[ix_P], code_FN[iy_P]], 1)
                feats.append(rank_histogram_features(code_PCN, 1, self.cfg.hist_bins, ft))
            if self.cfg.poly_degree:
                u_PNC = u_T[torch.stack([code_FN[ix_P], code_FN[iy_P]], -1)]
                feats.append(polynomial_features(u_PNC, 1, self.cfg))
            return self.quantiles_from(feats)

        step = max(1, cells_per_pass // (2 * n))
        return torch.cat([pass_of(ix_P[k:k + step], iy_P[k:k + step]) for k in range(0, len(ix_P), step)])

    @staticmethod
    def _oriented_rows(code_CN: torch.Tensor, i_P: torch.Tensor, j_P: torch.Tensor):
        """Rows of the two-sign column stack (F = 2C) for each pair's X and Y: the column, or its
        mirror (+C) where orient_codes would negate it in the set (column i, column j)."""
        c, n = code_CN.shape
        table = score_table(n)
        u_CN = (0.5 * (table - table.flip(0))).to(code_CN.device)[code_CN]
        v_CN = u_CN.square() - 1.0
        # _orientation_BC's t of a cell, sum_n u_n (v_n + v'_n) with v = u^2 - 1 over the set's two
        # cells, split into the column's own term and a dot product with the other column
        own_C, dot = torch.linalg.vecdot(u_CN, v_CN), torch.linalg.vecdot
        bar = -1e-9 * n * 2
        flip_x = own_C[i_P] + dot(u_CN[i_P], v_CN[j_P]) < bar
        flip_y = own_C[j_P] + dot(u_CN[j_P], v_CN[i_P]) < bar
        return i_P + c * flip_x, j_P + c * flip_y

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
        if self.cfg.poly_degree:
            feats.append(polynomial_features(u_T[code_BCN].transpose(1, 2), dx, self.cfg))
        return self.quantiles_from(feats)
