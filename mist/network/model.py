"""The MI network, read top to bottom.

sample set (x_BNX, y_BNY)
  -> copula normalization (rank-gauss per column)                    [normalize.py]
  -> one token per cell (sample n, coordinate c), C = dx + dy cells
  -> L two-axis blocks:
       coordinate axis: the cells of one sample attend to each other; a learned per-head bias
         says whether two cells are in the same block (X-X, Y-Y) or across (X-Y), which tells the
         network which coordinates are X and which Y without naming either, so f(x, y) = f(y, x)
       sample axis: each coordinate's N cells go through an ISAB (cost linear in N)
  -> log-det pair head: P learned features per cell give P Gram matrices (C x C, averaged over
       samples); per matrix 1/2 (logdet G_xx + logdet G_yy - logdet G), the Gaussian MI of those
       features. The raw normal scores are channel 0, so channel 0 is the Gaussian-copula MI.
  -> pooled cell summary + log-det features + size features (N, dx, dy) -> non-crossing quantiles
Every step is equivariant to the order of samples and of coordinates within X and within Y, and
the pooling is invariant, so the output is too.

The fast design (arch "pooled", PooledMI) swaps the two-axis attention for PooledBlocks: each cell
reads the mean of its row's X cells, of its row's Y cells, and of its column, a few passes over the
cells instead of C x C logits per sample; the log-det pair head and quantile head are the same.
The shipped checkpoint routes large N to it (routed.py).

Inference path: the estimator ranks in numpy and passes integer score codes (normalize.py: a set of
N samples has only 2N - 1 possible normal scores). forward_codes looks the scores up; the pooled
model also computes every step that depends on one cell alone once per score and gathers it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
from scipy.special import digamma
from torch import nn

from mist.network.blocks import ISAB, MAB, PMA
from mist.network.normalize import rank_codes, rank_gauss, score_table, soft_rank_gauss
from mist.network.quantiles import DEFAULT_LEVELS, QuantileHead

# Largest (cells x cells x heads x samples) attention-logit tensor built at once; coordinate
# attention is independent per sample, so chunking over samples is exact and bounds memory.
_MAX_LOGITS = 2**25


@dataclass
class ModelConfig:
    """Everything needed to rebuild the network; stored in every checkpoint."""

    arch: str = "two_axis"           # "two_axis", "pooled" (fast) or "row_set" (plain baseline)
    width: int = 32
    heads: int = 4
    blocks: int = 2
    n_inducing: int = 8
    pair_channels: int = 16          # 0 disables the log-det pair head
    debiased_copula: bool = False    # also feed the head channel 0 minus its exact Gaussian bias
    ridge: float = 1e-3              # added to Gram (correlation) matrices before the logdet
    gram_dtype: str = "float64"      # precision of the Gram matmul (the logdet is always float64)
    head_width: int = 128
    levels: list = field(default_factory=lambda: list(DEFAULT_LEVELS))
    max_dim: int = 32                # row_set only: it pads X and Y to this many columns
    block_hidden: int = 0            # pooled only: hidden units per block (0: 2 x width)

    def to_dict(self) -> dict:
        return asdict(self)


def build_model(cfg: ModelConfig | dict) -> nn.Module:
    cfg = cfg if isinstance(cfg, ModelConfig) else ModelConfig(**cfg)
    if cfg.arch == "two_axis":
        return TwoAxisMI(cfg)
    if cfg.arch == "pooled":
        if not cfg.pair_channels:
            raise ValueError("arch 'pooled' needs the log-det pair head (pair_channels > 0)")
        return PooledMI(cfg)
    if cfg.arch == "row_set":
        return RowSetMI(cfg)
    raise ValueError(f"unknown architecture {cfg.arch!r}; expected 'two_axis', 'pooled' or 'row_set'")


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


def _feature_dtype(head: nn.Module) -> torch.dtype:
    """float32 for the head's input (also under bf16 autocast), float64 for a `.double()` model."""
    return torch.promote_types(next(head.parameters()).dtype, torch.float32)


def normalize_cells(x_BNX, y_BNY, soft_ranks: float | None):
    """Concatenate X and Y columns and map each to normal scores -> u_BNC."""
    xy_BNC = torch.cat([x_BNX, y_BNY], dim=-1)
    return rank_gauss(xy_BNC) if soft_ranks is None else soft_rank_gauss(xy_BNC, soft_ranks)


class QuantileNet(nn.Module):
    """What every MI network shares: x_BNX, y_BNY -> normal scores -> forward_scores -> (B, K)
    z-quantiles of log1p(MI) at `levels`."""

    head: QuantileHead

    @property
    def levels(self) -> torch.Tensor:
        return self.head.levels

    def forward(self, x_BNX: torch.Tensor, y_BNY: torch.Tensor, soft_ranks: float | None = None):
        if soft_ranks is None:  # hard ranks: the same scores, through the (faster) code path
            return self.forward_codes(rank_codes(torch.cat([x_BNX, y_BNY], dim=-1)), x_BNX.shape[-1])
        return self.forward_scores(normalize_cells(x_BNX, y_BNY, soft_ranks), x_BNX.shape[-1])

    def forward_scores(self, u_BNC: torch.Tensor, dx: int) -> torch.Tensor:
        raise NotImplementedError

    def forward_codes(self, code_BCN: torch.Tensor, dx: int) -> torch.Tensor:
        """The same from score codes (normalize.score_table), the estimator's input: (B, C, N)
        int64 -> (B, K). Differentiable w.r.t. the weights (training uses it), not the data."""
        u_BCN = score_table(code_BCN.shape[-1]).to(self.levels.device, _feature_dtype(self.head))[code_BCN]
        return self.forward_scores(u_BCN.transpose(1, 2), dx)


class TwoAxisBlock(nn.Module):
    """Attention along the coordinate axis (within a sample), then along the sample axis."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.coord_mab = MAB(cfg.width, cfg.heads)
        self.sample_isab = ISAB(cfg.width, cfg.heads, cfg.n_inducing)

    def forward(self, h_BNCW: torch.Tensor, bias_1HCC: torch.Tensor) -> torch.Tensor:
        b, n, c, w = h_BNCW.shape
        rows = h_BNCW.reshape(b * n, c, w)
        chunk = max(1, _MAX_LOGITS // (c * c * bias_1HCC.shape[1]))
        rows = torch.cat([self.coord_mab(r, r, bias_1HCC) for r in rows.split(chunk)])
        cols = rows.view(b, n, c, w).transpose(1, 2).reshape(b * c, n, w)
        cols = self.sample_isab(cols)
        return cols.view(b, c, n, w).transpose(1, 2)


def gaussian_mi_of_gram(g_BPCC: torch.Tensor, dx: int, ridge: float) -> torch.Tensor:
    """1/2 (logdet R_xx + logdet R_yy - logdet R) of each Gram matrix's correlation matrix.

    g_BPCC: (B, P, C, C) symmetric PSD. Normalized to unit diagonal, then a ridge is added so the
    log-dets are finite when N < C. Result (B, P) >= 0 (Fischer's inequality).
    """
    d_BPC = torch.diagonal(g_BPCC, dim1=-2, dim2=-1).clamp_min(1e-8).rsqrt()
    r = g_BPCC * d_BPC.unsqueeze(-1) * d_BPC.unsqueeze(-2)
    eye = torch.eye(r.shape[-1], dtype=r.dtype, device=r.device)
    r = (r + ridge * eye) / (1.0 + ridge)

    def logdet(m):
        return 2.0 * torch.log(torch.diagonal(torch.linalg.cholesky(m), dim1=-2, dim2=-1)).sum(-1)

    mi = 0.5 * (logdet(r[..., :dx, :dx]) + logdet(r[..., dx:, dx:]) - logdet(r))
    return mi.clamp_min(0.0)


def gram_matrices(u_BNC: torch.Tensor, a_BNCP: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, P + 1, C, C) second moments over samples of [u, a_1 .. a_P] per coordinate pair."""
    b, n, c, p = a_BNCP.shape
    # one contiguous (B, P+1, C, N) copy, then a single batched "A A^T": the layout MKL is fastest at
    a_BPCN = torch.cat([u_BNC.unsqueeze(-1), a_BNCP], dim=-1).permute(0, 3, 2, 1).contiguous().to(dtype)
    a_KCN = a_BPCN.view(b * (p + 1), c, n)
    return torch.bmm(a_KCN, a_KCN.transpose(1, 2)).view(b, p + 1, c, c) / n


def logdet_features(u_BNC: torch.Tensor, a_BNCP: torch.Tensor, dx: int, cfg: ModelConfig) -> list:
    """Head inputs from the log-det pair head: Gaussian MI of the raw scores (channel 0) and of P
    learned cell features, as log1p(mi) and mi / 10, plus the debiased channel 0 when enabled."""
    # float64 by default: the log-dets of near-singular Gram matrices are unstable in float32
    g_BPCC = gram_matrices(u_BNC, a_BNCP, getattr(torch, cfg.gram_dtype))
    return gram_features(g_BPCC, u_BNC.shape[1], dx, cfg)


def gram_features(g_BPCC: torch.Tensor, n: int, dx: int, cfg: ModelConfig) -> list:
    """logdet_features from the Gram matrices (B, P + 1, C, C) of N samples."""
    mi_BP = gaussian_mi_of_gram(g_BPCC.double(), dx, cfg.ridge)
    feats = [torch.log1p(mi_BP), mi_BP / 10.0]
    if cfg.debiased_copula:
        feats.append(debiased_features(mi_BP[:, 0], n, dx, g_BPCC.shape[-1] - dx))
    return feats


def logdet_feature_count(cfg: ModelConfig) -> int:
    """How many head inputs logdet_features returns for this config (0 without the pair head)."""
    if not cfg.pair_channels:
        return 0
    return 2 * (cfg.pair_channels + 1) + (3 if cfg.debiased_copula else 0)


def role_index(dx: int, dy: int, device) -> torch.Tensor:
    """(C,) 0 for X coordinates, 1 for Y coordinates."""
    return torch.cat([torch.zeros(dx, dtype=torch.long), torch.ones(dy, dtype=torch.long)]).to(device)


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

    def forward_scores(self, u_BNC: torch.Tensor, dx: int) -> torch.Tensor:
        """The network after normalization: normal scores u_BNC (X columns first) -> (B, K)."""
        b, n, c = u_BNC.shape
        dy = c - dx
        h_BNCW = self.cell_embed(torch.stack([u_BNC, u_BNC.square() - 1.0], dim=-1))

        role_C = role_index(dx, dy, u_BNC.device)
        same_CC = (role_C[:, None] == role_C[None, :]).long()
        bias_1HCC = self.role_bias_2H[same_CC].permute(2, 0, 1).unsqueeze(0).to(h_BNCW.dtype)
        for block in self.blocks:
            h_BNCW = block(h_BNCW, bias_1HCC)

        # pool samples (mean) then coordinates (attention): invariant to both orders
        cell_summary_BW = self.cell_pool(h_BNCW.mean(dim=1)).squeeze(1)
        ft = _feature_dtype(self.head)
        feats = [cell_summary_BW, size_features(n, dx, dy, b, u_BNC.device)]
        if self.pair_proj is not None:
            feats += logdet_features(u_BNC, self.pair_proj(h_BNCW), dx, self.cfg)
        return self.head(torch.cat([f.to(ft) for f in feats], dim=-1))


class PooledBlock(nn.Module):
    """Each cell reads its row through the mean of its own block (X or Y) and of the other block,
    and its column through the mean over samples: a DeepSets-style stand-in for the two-axis
    block's attention that costs a few passes over the cells instead of C x C logits per sample."""

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
        # = self.cell(a) + row context; the cell bias rides on the small (B, N, H) context (saves
        # addmm's bias-copy pass) and the context is added in place into slices (no gathered copy)
        z_BNCH = a_BNCW @ self.cell.weight.T
        z_BNCH[:, :, :dx] += (self.own_block(mx_BNW) + self.other_block(my_BNW) + self.cell.bias).unsqueeze(2)
        z_BNCH[:, :, dx:] += (self.own_block(my_BNW) + self.other_block(mx_BNW) + self.cell.bias).unsqueeze(2)
        z_BNCH += self.column(a_BNCW.mean(1, keepdim=True))
        return h_BNCW + self.out(torch.relu_(z_BNCH))

    def hidden_from_table(self, h_TW: torch.Tensor, gather, hist_KT: torch.Tensor, dx: int) -> torch.Tensor:
        """relu(z) of forward, (H, B, C, N), for cells whose input h is h_TW[code]: the
        LayerNorm and the cell's own linear term are taken from the table (see
        PooledMI.forward_codes for gather and the code histogram hist_KT, rows summing to 1)."""
        a_TW = self.ln(h_TW)
        a_WBCN = gather(a_TW)
        _, b, c, n = a_WBCN.shape
        mx_WK, my_WK = (m.reshape(len(m), -1) for m in (a_WBCN[:, :, :dx].mean(2), a_WBCN[:, :, dx:].mean(2)))
        own, other, bias = self.own_block.weight, self.other_block.weight, self.cell.bias.unsqueeze(-1)
        z_HBCN = gather(a_TW @ self.cell.weight.T)
        z_HBCN[:, :, :dx] += (own @ mx_WK + other @ my_WK + bias).view(-1, b, 1, n)
        z_HBCN[:, :, dx:] += (own @ my_WK + other @ mx_WK + bias).view(-1, b, 1, n)
        z_HBCN += (self.column.weight @ (hist_KT @ a_TW).T).view(-1, b, c, 1)  # column context
        return z_HBCN.relu_()


class PooledMI(QuantileNet):
    """The fast design: per-cell MLP blocks with mean-pooled row and column context, then the same
    log-det pair head and quantile head as TwoAxisMI. Linear in cells with a small constant, for
    large N where the log-det statistics carry most of the information."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        # ReLU rather than GELU: erf is a visible share of the time at this width
        self.cell_embed = nn.Sequential(nn.Linear(2, w), nn.ReLU(inplace=True), nn.Linear(w, w))
        self.blocks = nn.ModuleList(PooledBlock(w, cfg.block_hidden or 2 * w) for _ in range(cfg.blocks))
        self.cell_pool = PMA(w, cfg.heads)
        self.pair_proj = nn.Linear(w, cfg.pair_channels)
        self.head = QuantileHead(w + 4 + logdet_feature_count(cfg), cfg.head_width, cfg.levels)

    def forward_scores(self, u_BNC: torch.Tensor, dx: int) -> torch.Tensor:
        b, n, c = u_BNC.shape
        if not 0 < dx < c:
            raise ValueError(f"need at least one X and one Y column, got dx={dx} of {c} columns")
        h_BNCW = self.cell_embed(torch.stack([u_BNC, u_BNC.square() - 1.0], dim=-1))
        for block in self.blocks:
            h_BNCW = block(h_BNCW, dx)
        ft = _feature_dtype(self.head)
        feats = [self.cell_pool(h_BNCW.mean(dim=1)).squeeze(1), size_features(n, dx, c - dx, b, u_BNC.device)]
        feats += logdet_features(u_BNC, self.pair_proj(h_BNCW), dx, self.cfg)
        return self.head(torch.cat([f.to(ft) for f in feats], dim=-1))

    def forward_codes(self, code_BCN: torch.Tensor, dx: int) -> torch.Tensor:
        """forward_scores from score codes, with every cell-wise step tabulated: a cell's embedding
        (and, in the block, its LayerNorm and its own linear term) is a function of its score
        alone, so it is computed once per entry of the score table (2N - 1 rows) and gathered.
        Per cell there remain a few gathers, the block's context sums and hidden layer, and the
        Gram matrices; column means come from a histogram of codes times the table. Equal to
        forward_scores up to float rounding; for zero or one block (more fall back)."""
        if len(self.blocks) > 1:
            return super().forward_codes(code_BCN, dx)
        b, c, n = code_BCN.shape
        if not 0 < dx < c:
            raise ValueError(f"need at least one X and one Y column, got dx={dx} of {c} columns")
        ft = _feature_dtype(self.head)
        u_T = score_table(n).to(code_BCN.device, ft)
        h_TW = self.cell_embed(torch.stack([u_T, u_T.square() - 1.0], dim=-1))
        flat = code_BCN.reshape(-1)

        def gather(t_TF):  # (T, F) table -> (F, B, C, N) values of the cells
            return t_TF.T.contiguous().index_select(1, flat).view(-1, b, c, n)

        hist_KT = torch.zeros(b * c, len(u_T), dtype=ft, device=code_BCN.device)
        hist_KT.scatter_add_(1, code_BCN.reshape(b * c, n), torch.full_like(hist_KT[:, :1], 1.0 / n).expand(-1, n))
        mean_BCW = (hist_KT @ h_TW).view(b, c, -1)  # each column's mean embedding over samples
        pair_TP = self.pair_proj(h_TW)
        if self.blocks:  # h' = h + out(r), so pair_proj(h') = pair_proj(h) + pair_proj.weight @ out(r)
            block, w_pp = self.blocks[0], self.pair_proj.weight
            r_HBCN = block.hidden_from_table(h_TW, gather, hist_KT, dx)
            pair_TP = pair_TP + w_pp @ block.out.bias
            mean_BCW = mean_BCW + block.out(r_HBCN.mean(-1).permute(1, 2, 0))
        # the Gram channels [u, pair features], gathered straight into the layout bmm wants
        a_FBCN = gather(torch.cat([u_T.unsqueeze(-1), pair_TP], dim=-1))
        if self.blocks:
            a_FBCN[1:].view(len(a_FBCN) - 1, -1).addmm_(w_pp @ block.out.weight, r_HBCN.view(len(r_HBCN), -1))
        p = len(a_FBCN)
        a_KCN = a_FBCN.view(p * b, c, n).to(getattr(torch, self.cfg.gram_dtype))
        g_BPCC = (torch.bmm(a_KCN, a_KCN.transpose(1, 2)) / n).view(p, b, c, c).transpose(0, 1)
        feats = [self.cell_pool(mean_BCW).squeeze(1), size_features(n, dx, c - dx, b, code_BCN.device)]
        feats += gram_features(g_BPCC, n, dx, self.cfg)
        return self.head(torch.cat([f.to(ft) for f in feats], dim=-1))


class RowSetMI(QuantileNet):
    """Plain baseline: one token per sample [x padded, y padded, column masks], ISABs, PMA.

    This is the MIST-reference-style design (with X/Y masks added); it caps dx, dy at max_dim.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Linear(4 * cfg.max_dim, cfg.width)
        self.blocks = nn.ModuleList(ISAB(cfg.width, cfg.heads, cfg.n_inducing) for _ in range(cfg.blocks))
        self.pool = PMA(cfg.width, cfg.heads)
        self.head = QuantileHead(cfg.width + 4, cfg.head_width, cfg.levels)

    def forward_scores(self, u_BNC: torch.Tensor, dx: int) -> torch.Tensor:
        b, n, c = u_BNC.shape
        dy, m = c - dx, self.cfg.max_dim
        if max(dx, dy) > m:
            raise ValueError(f"row_set handles at most {m} columns per side, got dx={dx}, dy={dy}")
        pad = u_BNC.new_zeros(b, n, 4 * m)
        pad[..., :dx] = u_BNC[..., :dx]
        pad[..., m:m + dy] = u_BNC[..., dx:]
        pad[..., 2 * m:2 * m + dx] = 1.0
        pad[..., 3 * m:3 * m + dy] = 1.0
        h_BNW = self.embed(pad)
        for block in self.blocks:
            h_BNW = block(h_BNW)
        ft = _feature_dtype(self.head)
        feats = [self.pool(h_BNW).squeeze(1).to(ft), size_features(n, dx, dy, b, u_BNC.device).to(ft)]
        return self.head(torch.cat(feats, dim=-1))
