"""Conformal widening of the estimator's intervals in a regime its experts were not calibrated
for (docs/design.md §12f).

The experts' own offsets (mist.train.calibrate) are fitted on each expert's training prior. For
the small-N expert that is the version-1 prior with at most 32 columns per side, so a set whose
side the estimator cuts to principal components (mist.reduce; the target becomes a lower bound)
is calibrated on nothing like it. This fits one more set of z offsets
(mist.network.calibration.fit_offsets: Mondrian split conformal, the regime being the category)
on what `MIEstimator` itself returns for calib-split sets of a given prior (the extended prior)
that fall in the regime, and stores them under "regime_calibration" in the checkpoint's
config.json; `MIEstimator._result` applies them to every set in the regime with N in the fitted
range. The median never moves.

Regimes (decided from the shape alone, so a batch outside it is skipped unbuilt):
  "reduced":  a side is wider than the network serving N was trained on (it is cut);
  "singular": N <= dx + dy (the sample covariance is singular). Measured, not shipped (§12f).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from mist.checkpoint import update_record
from mist.data.prior import PriorConfig, sample_shape
from mist.data.splits import batch_rng
from mist.data.stream import StreamConfig, make_batch
from mist.estimator import REGIMES, MIEstimator, in_regime
from mist.network.calibration import apply_offsets, fit_offsets
from mist.train.calibrate import interval_coverage

SPLIT = "calib"


def regime_batches(est: MIEstimator, regime: str, prior: PriorConfig, stream: StreamConfig, batches: int):
    """Yield the calib batches among the first `batches` whose shape falls in `regime` for `est`
    (the shape is the first draw of a batch's generator, so the others are never built)."""
    prior.validate(SPLIT)
    for k in range(batches):
        n, dx, dy = sample_shape(prior, batch_rng(stream.seed, SPLIT, k))
        if in_regime(regime, n, dx, dy, est._seen_widths(n, dx, dy)):
            yield make_batch(prior, stream, SPLIT, k)


def calibrate_regime(folder, prior: PriorConfig, regime: str = "reduced", batches: int = 200,
                     stream: StreamConfig | None = None, command: str = "", write: bool = True) -> dict:
    """Fit the regime offsets of checkpoint `folder` on `batches` calib batches of `prior`, store
    them (write=True) and return the record, with the coverage on the calibration sets before and
    after (after is >= nominal there by construction; the suites are the honest check)."""
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {list(REGIMES)}, got {regime!r}")
    stream = stream or StreamConfig(batch_size=64, cells_per_batch=65536, seed=0)
    est = MIEstimator.from_pretrained(folder)
    est.regime_calibration = None  # fit on what the estimator returns without it
    preds, truths, t0 = [], [], time.time()
    for i, batch in enumerate(regime_batches(est, regime, prior, stream, batches)):
        pairs = list(zip(batch["x"].double().numpy(), batch["y"].double().numpy()))
        # no entropy cap while fitting: it only lowers upper ends towards H >= MI, so at use it
        # can only add coverage
        results = est.estimate_many(pairs, constant_columns="drop", discrete_x=False, discrete_y=False)
        preds.append(np.log1p([[r.quantiles[lv] for lv in est.levels] for r in results]))
        truths.append(np.log1p(batch["mi"].double().clamp_min(0).numpy()))
        if (i + 1) % 10 == 0:
            print(f"  {i + 1} batches in the regime, {sum(map(len, truths))} sets, {time.time() - t0:.0f} s",
                  file=sys.stderr)
    if not truths:
        raise ValueError(f"no batch among the first {batches} falls in regime {regime!r} under this prior")
    z_SK, t_S = np.concatenate(preds), np.concatenate(truths)
    offsets = fit_offsets(z_SK, t_S, est.levels)
    after = apply_offsets(torch.from_numpy(z_SK), torch.tensor(offsets, dtype=torch.float64)).numpy()
    record = {"regime": regime, "n_range": [prior.n_min, prior.n_max], "offsets_z": [float(v) for v in offsets],
              "split": SPLIT, "batches": batches, "regime_batches": len(truths), "sets": int(len(t_S)),
              "stream_seed": stream.seed, "prior": vars(prior), "seconds": round(time.time() - t0, 1),
              "coverage_before": interval_coverage(z_SK, t_S, est.levels),
              "coverage_after": interval_coverage(after, t_S, est.levels), "command": command}
    if write:
        update_record(folder, regime_calibration=record)
    return record
