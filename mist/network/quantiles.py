"""Quantile grid, non-crossing quantile head and pinball loss.

The network predicts quantiles of z = log1p(MI). Quantiles commute with strictly increasing maps,
so expm1 of a z-quantile is the same quantile of MI in nats; the log scale keeps sets with tens of
nats from dominating the loss while the median stays the median.

Shape letters: B sets in a batch, F the head's input features, K quantile levels.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mist.network.calibration import apply_offsets

DEFAULT_LEVELS = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)


def to_z(mi: torch.Tensor) -> torch.Tensor:
    """MI in nats -> training scale z = log1p(max(MI, 0))."""
    return torch.log1p(mi.clamp_min(0.0))


def from_z(z: torch.Tensor) -> torch.Tensor:
    """Training scale -> MI in nats (differentiable)."""
    return torch.expm1(z)


# Reported MI values below this many nats are reported as 0. The prior puts ~9% of its mass at
# exactly MI = 0 (independence), an atom that a continuous quantile head can only approach: for
# independent data its lower quantiles come out at 1e-4..1e-3 nats, never exactly 0, so without
# this resolution an interval could never contain a true MI of 0.
MI_RESOLUTION = 1e-3


def report_mi(z: torch.Tensor) -> torch.Tensor:
    """z-quantiles -> reported MI quantiles in nats, with values below MI_RESOLUTION set to 0."""
    mi = from_z(z)
    return torch.where(mi < MI_RESOLUTION, torch.zeros_like(mi), mi)


class QuantileHead(nn.Module):
    """MLP from set features to K ordered z-quantiles.

    Non-crossing and >= 0 by construction: q_1 = softplus(a_1), q_k = q_{k-1} + softplus(a_k).
    features_BF: (B, F) -> z-quantiles (B, K), increasing along K.
    """

    def __init__(self, in_features: int, width: int, levels=DEFAULT_LEVELS):
        super().__init__()
        self.register_buffer("levels", torch.tensor(levels, dtype=torch.float32), persistent=False)
        # conformal calibration (calibration.py): part of the model's state, so what model(x, y)
        # returns does not depend on who loaded it; zeros = raw quantiles; never trained
        self.register_buffer("calibration_z", torch.zeros(len(levels)))
        self.mlp = nn.Sequential(
            nn.Linear(in_features, width), nn.GELU(),
            nn.Linear(width, width), nn.GELU(),
            nn.Linear(width, len(levels)),
        )
        # start near a plausible answer (median ~1 nat, a wide interval) instead of cumsum of
        # softplus(0) = 0.69 per level, which would put the first median at ~30 nats
        with torch.no_grad():
            start = torch.full((len(levels),), 0.12)
            start[0] = 0.1
            self.mlp[-1].bias.copy_(torch.log(torch.expm1(start)))
            self.mlp[-1].weight.mul_(0.1)

    def forward(self, features_BF: torch.Tensor) -> torch.Tensor:
        z_BK = torch.cumsum(F.softplus(self.mlp(features_BF)), dim=-1)
        # skipped when uncalibrated, so training computes exactly the raw quantiles and their gradient
        return apply_offsets(z_BK, self.calibration_z) if self.is_calibrated else z_BK

    @property
    def is_calibrated(self) -> bool:
        return bool(torch.count_nonzero(self.calibration_z))

    def set_calibration(self, offsets) -> None:
        """Write conformal z offsets (K,) into the calibration buffer; None resets to raw quantiles."""
        values = torch.zeros(len(self.levels)) if offsets is None else torch.as_tensor(offsets, dtype=torch.float32)
        if values.shape != self.calibration_z.shape:
            raise ValueError(f"calibration has {values.numel()} offsets for {len(self.levels)} quantile levels")
        if not torch.isfinite(values).all():
            raise ValueError("calibration offsets must be finite")
        with torch.no_grad():
            self.calibration_z.copy_(values)


def pinball_loss(pred_BK: torch.Tensor, target_B: torch.Tensor, levels_K: torch.Tensor) -> torch.Tensor:
    """Mean pinball (quantile) loss; every level weighs the same.

    pred_BK: predicted quantiles, target_B: true values (same scale), levels_K in (0, 1).
    """
    err_BK = target_B.unsqueeze(-1) - pred_BK
    return torch.maximum(levels_K * err_BK, (levels_K - 1.0) * err_BK).mean()


def interpolate_quantile(pred_BK: torch.Tensor, levels_K: torch.Tensor, level: float) -> torch.Tensor:
    """Quantile at any level in [levels[0], levels[-1]] by linear interpolation (stays monotone)."""
    lv = levels_K.tolist()
    if not lv[0] <= level <= lv[-1]:
        raise ValueError(f"level {level} outside the predicted range [{lv[0]}, {lv[-1]}]")
    k = int(torch.searchsorted(levels_K, torch.tensor(level, dtype=levels_K.dtype)).clamp(1, len(lv) - 1))
    w = (level - lv[k - 1]) / (lv[k] - lv[k - 1])
    return pred_BK[..., k - 1] * (1 - w) + pred_BK[..., k] * w
