"""Sample-size experts: one network per range of N, chosen by the set's N.

Small sets are cheap whatever the network, and that is where an estimator needs the most from
its network; large sets are where the cost is, and where the log-det statistics carry most of the
information. So the shipped checkpoint pairs an attention model fine-tuned on small N with a fast
pooled model trained on large N, each used only on the range it was trained and calibrated for.
"""

from __future__ import annotations

import bisect

import torch
from torch import nn


class RoutedMI(nn.Module):
    """experts[i] handles N in [n_starts[i], n_starts[i + 1]); the last one every larger N.

    Same interface as a single network: forward(x_BNX, y_BNY, soft_ranks) and
    forward_scores(u_BNC, dx) -> (B, K) z-quantiles, and `levels` (identical for every expert).
    """

    def __init__(self, experts: list[nn.Module], n_starts: list[int]):
        super().__init__()
        if len(experts) != len(n_starts) or not experts:
            raise ValueError(f"need one start N per expert, got {len(experts)} experts and {len(n_starts)} starts")
        if list(n_starts) != sorted(set(n_starts)):
            raise ValueError(f"expert start Ns must be strictly increasing, got {n_starts}")
        for e in experts[1:]:
            if not torch.equal(e.levels, experts[0].levels):
                raise ValueError("every expert must predict the same quantile levels")
        self.experts = nn.ModuleList(experts)
        self.n_starts = list(n_starts)

    @property
    def levels(self) -> torch.Tensor:
        return self.experts[0].levels

    def expert_for(self, n: int) -> nn.Module:
        """The expert whose range holds N (the first one also takes any N below its start)."""
        return self.experts[max(0, bisect.bisect_right(self.n_starts, n) - 1)]

    def forward(self, x_BNX: torch.Tensor, y_BNY: torch.Tensor, soft_ranks: float | None = None):
        return self.expert_for(x_BNX.shape[-2])(x_BNX, y_BNY, soft_ranks)

    def forward_scores(self, u_BNC: torch.Tensor, dx: int) -> torch.Tensor:
        return self.expert_for(u_BNC.shape[-2]).forward_scores(u_BNC, dx)
