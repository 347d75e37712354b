"""MIResult: the MI quantiles of one dataset, as every estimator in mist returns them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# levels closer than this are the same level (estimators store levels as 6-decimal floats)
LEVEL_TOLERANCE = 1e-9


def quantile_at(q_PK: np.ndarray, levels, level: float) -> np.ndarray:
    """(P,) quantile at `level` of P rows of quantiles q_PK at the increasing `levels` (K,): a
    stored level exactly (also when `level` differs from it only by float rounding), else linear
    interpolation between the two stored levels around it. MIResult.quantile for many at once."""
    levels = np.asarray(levels, dtype=float)
    k = int(np.argmin(np.abs(levels - level)))
    if abs(levels[k] - level) <= LEVEL_TOLERANCE:
        return q_PK[:, k].astype(float)
    if not levels[0] <= level <= levels[-1]:
        raise ValueError(f"level {level} outside the predicted range [{levels[0]}, {levels[-1]}]")
    hi = int(np.searchsorted(levels, level))
    w = (level - levels[hi - 1]) / (levels[hi] - levels[hi - 1])
    return (1 - w) * q_PK[:, hi - 1] + w * q_PK[:, hi]


@dataclass
class MIResult:
    """MI quantiles of one dataset. Values are in `units` ("nats" or "bits").

    quantiles: {level: value}, levels as the decimals they stand for (0.025, not float32's
    0.02500000037...), so r.quantiles[0.025], r.quantile(0.025) and r.interval(0.95) work."""

    quantiles: dict
    units: str
    n: int
    dx: int
    dy: int
    n_subsets: int = 1
    extra: dict = field(default_factory=dict)

    @property
    def mi(self) -> float:
        """The median estimate."""
        return self.quantile(0.5)

    @property
    def prior_driven(self) -> bool | None:
        """True where the data cannot decide the value: N <= dx + dy (singular sample covariance)
        or a median above ln N nats (McAllester & Stratos 2020: no distribution-free evidence for
        more); the interval then comes from the training prior. None for estimators that do not say."""
        return self.extra.get("prior_driven")

    @property
    def consistent(self) -> bool | None:
        """Outcome of the subsample check (estimate(..., check=True)); None when not checked."""
        return self.extra.get("consistency", {}).get("consistent")

    def quantile(self, level: float) -> float:
        """The quantile at `level`: a stored level exactly (also when `level` differs from it only
        by float rounding, as (1 - 0.95) / 2 does from 0.025), else linear interpolation."""
        levels = sorted(self.quantiles)
        return float(quantile_at(np.array([[self.quantiles[lv] for lv in levels]]), levels, level)[0])

    def interval(self, level: float = 0.9) -> tuple[float, float]:
        """Central interval with the given coverage, e.g. 0.9 -> (q0.05, q0.95)."""
        if not 0 < level < 1:
            raise ValueError(f"interval level must be in (0, 1), got {level}")
        return self.quantile((1 - level) / 2), self.quantile((1 + level) / 2)

    def __repr__(self) -> str:
        lo, hi = self.interval(0.9)
        return f"MIResult(mi={self.mi:.4g} {self.units}, 90% interval [{lo:.4g}, {hi:.4g}], N={self.n}, dx={self.dx}, dy={self.dy})"
