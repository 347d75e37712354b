"""Sample-size experts: one network per range of N, chosen by the set's N.

Small sets are cheap whatever the network, and that is where an estimator needs the most from
its network; large sets are where the cost is, and where the log-det statistics carry most of the
information. So the shipped checkpoint pairs an attention model fine-tuned on small N with a fast
pooled model trained on large N, each used only on the range it was trained and calibrated for.

Shape letters: B sets in a batch, N samples per set, X columns of x (dx), Y columns of y (dy),
C = dx + dy cells per sample, K quantile levels.
"""

from __future__ import annotations

import bisect
import math

import torch
from torch import nn


class RoutedMI(nn.Module):
    """experts[i] handles N in [n_starts[i], n_starts[i + 1]); the last one every larger N.

    blend > 1 removes the step at each boundary s: for N in [s / blend, s * blend) the output is
    (1 - w) z_below + w z_above with w rising linearly in log N from 0 to 1 (w = 1/2 at N = s).
    A convex combination of non-crossing quantile vectors is non-crossing.

    Same interface as a single network: forward(x_BNX, y_BNY, soft_ranks), forward_scores(u_BNC,
    dx), forward_codes(code_BCN, dx) -> (B, K) z-quantiles and forward_column_pairs, and `levels` (identical for every
    expert).
    """

    def __init__(self, experts: list[nn.Module], n_starts: list[int], blend: float = 1.0):
        super().__init__()
        if len(experts) != len(n_starts) or not experts:
            raise ValueError(f"need one start N per expert, got {len(experts)} experts and {len(n_starts)} starts")
        if list(n_starts) != sorted(set(n_starts)):
            raise ValueError(f"expert start Ns must be strictly increasing, got {n_starts}")
        if blend < 1 or any(b < a * blend**2 for a, b in zip(n_starts[1:], n_starts[2:])):
            raise ValueError(f"blend must be >= 1 and the blending windows must not overlap, got {blend} for {n_starts}")
        for e in experts[1:]:
            if not torch.equal(e.levels, experts[0].levels):
                raise ValueError("every expert must predict the same quantile levels")
        self.experts = nn.ModuleList(experts)
        self.n_starts = list(n_starts)
        self.blend = float(blend)

    @property
    def levels(self) -> torch.Tensor:
        return self.experts[0].levels

    def weights(self, n: int) -> list[tuple[int, float]]:
        """[(expert index, weight)] for a set of N samples; weights sum to 1."""
        i = max(0, bisect.bisect_right(self.n_starts, n) - 1)
        r = self.blend
        for lower, s in ((i, self.n_starts[i + 1] if i + 1 < len(self.n_starts) else None),
                         (i - 1, self.n_starts[i] if i >= 1 else None)):
            if s is not None and r > 1 and s / r <= n < s * r:
                w = math.log(n * r / s) / math.log(r * r)
                return [(lower, 1.0 - w), (lower + 1, w)]
        return [(i, 1.0)]

    def _mix(self, n: int, run) -> torch.Tensor:
        return sum(w * run(self.experts[i]) for i, w in self.weights(n))

    def forward(self, x_BNX: torch.Tensor, y_BNY: torch.Tensor, soft_ranks: float | None = None):
        return self._mix(x_BNX.shape[-2], lambda e: e(x_BNX, y_BNY, soft_ranks))

    def forward_scores(self, u_BNC: torch.Tensor, dx: int) -> torch.Tensor:
        return self._mix(u_BNC.shape[-2], lambda e: e.forward_scores(u_BNC, dx))

    def forward_codes(self, code_BCN: torch.Tensor, dx: int) -> torch.Tensor:
        return self._mix(code_BCN.shape[-1], lambda e: e.forward_codes(code_BCN, dx))

    def forward_column_pairs(self, code_CN: torch.Tensor, i_P: torch.Tensor, j_P: torch.Tensor) -> torch.Tensor:
        return self._mix(code_CN.shape[-1], lambda e: e.forward_column_pairs(code_CN, i_P, j_P))
