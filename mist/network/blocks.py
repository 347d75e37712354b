"""Set Transformer blocks (Lee et al. 2019): MAB, ISAB, PMA, pre-LayerNorm.

Shape letters:
  B  sets in a batch
  N  elements of the set a block runs over (samples, or a sample's cells)
  Q  queries, V  keys/values they attend to
  W  width, H  attention heads, E  width per head (W / H)
  M  inducing points (ISAB), S  seeds (PMA)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class MultiHeadAttention(nn.Module):
    """Queries q_BQW attend to keys/values kv_BVW; optional additive bias (1|B, H, Q, V)."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by heads {heads}")
        self.heads = heads
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.out = nn.Linear(width, width)

    def forward(self, q_BQW: torch.Tensor, kv_BVW: torch.Tensor, bias=None) -> torch.Tensor:
        b, nq, w = q_BQW.shape
        nv, h = kv_BVW.shape[1], self.heads
        q_BHQE = self.q(q_BQW).view(b, nq, h, w // h).transpose(1, 2)
        k_BHVE, v_BHVE = self.kv(kv_BVW).view(b, nv, 2, h, w // h).permute(2, 0, 3, 1, 4)
        o_BHQE = F.scaled_dot_product_attention(q_BHQE, k_BHVE, v_BHVE, attn_mask=bias)
        return self.out(o_BHQE.transpose(1, 2).reshape(b, nq, w))


class MAB(nn.Module):
    """Multihead attention block: h = q + Attn(LN q, LN kv); out = h + FF(LN h)."""

    def __init__(self, width: int, heads: int, ff_mult: int = 2):
        super().__init__()
        self.ln_q, self.ln_kv, self.ln_ff = nn.LayerNorm(width), nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = MultiHeadAttention(width, heads)
        self.ff = nn.Sequential(nn.Linear(width, ff_mult * width), nn.GELU(), nn.Linear(ff_mult * width, width))

    def forward(self, q_BQW: torch.Tensor, kv_BVW: torch.Tensor, bias=None) -> torch.Tensor:
        h_BQW = q_BQW + self.attn(self.ln_q(q_BQW), self.ln_kv(kv_BVW), bias)
        return h_BQW + self.ff(self.ln_ff(h_BQW))


class ISAB(nn.Module):
    """Induced set attention: M inducing points summarize the set, the set reads them back.

    Cost O(N M) instead of O(N^2). x_BNW -> (B, N, W), equivariant to the order of N.
    """

    def __init__(self, width: int, heads: int, n_inducing: int):
        super().__init__()
        self.inducing_MW = nn.Parameter(torch.randn(n_inducing, width) * width**-0.5)
        self.mab_in = MAB(width, heads)
        self.mab_out = MAB(width, heads)

    def forward(self, x_BNW: torch.Tensor) -> torch.Tensor:
        ind_BMW = self.inducing_MW.expand(x_BNW.shape[0], -1, -1)
        h_BMW = self.mab_in(ind_BMW, x_BNW)
        return self.mab_out(x_BNW, h_BMW)


class PMA(nn.Module):
    """Pooling by multihead attention: S learned seeds attend to the set. x_BNW -> (B, S, W)."""

    def __init__(self, width: int, heads: int, n_seeds: int = 1):
        super().__init__()
        self.seeds_SW = nn.Parameter(torch.randn(n_seeds, width) * width**-0.5)
        self.mab = MAB(width, heads)

    def forward(self, x_BNW: torch.Tensor) -> torch.Tensor:
        return self.mab(self.seeds_SW.expand(x_BNW.shape[0], -1, -1), x_BNW)
