"""Fit a checkpoint's conformal interval calibration on the "calib" split and store it.

The calib split draws from the checkpoint's training prior with its own seeds (split tag) and
the training part of the mixture bank, so it shares nothing with the evaluation suites. The
offsets become part of the model's state (head.calibration_z, written by mist.checkpoint).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from mist import metrics
from mist.data.stream import StreamConfig, make_batch
from mist.checkpoint import load_checkpoint, read_config, training_prior, write_calibration
from mist.data.prior import PriorConfig
from mist.network.calibration import apply_offsets, fit_offsets
from mist.network.quantiles import to_z


def interval_coverage(z_NK: np.ndarray, t_N: np.ndarray, levels) -> dict:
    """{nominal coverage: share of truths inside} for each central interval of the grid."""
    k = len(levels)
    return {f"{levels[k - 1 - i] - levels[i]:.2f}": metrics.coverage(z_NK[:, i], z_NK[:, k - 1 - i], t_N)
            for i in range(k // 2)}


def calibrate_checkpoint(folder, batches: int = 128, command: str = "", n_range: tuple | None = None) -> dict:
    """Fit offsets on `batches` calib batches, store them in the checkpoint, return the record.

    The calib sets come from the checkpoint's training prior, with N limited to n_range
    (lo, hi) when given. A routed checkpoint calibrates each expert on the N range it serves."""
    experts = read_config(folder).get("experts")
    if experts:
        return _calibrate_routed(Path(folder), experts, batches, command)
    model, config = load_checkpoint(folder)
    model.head.set_calibration(None)
    prior = PriorConfig(**training_prior(config))
    if n_range is not None:
        prior = replace(prior, n_min=max(prior.n_min, n_range[0]), n_max=min(prior.n_max, n_range[1]))
    prior.validate("calib")
    preds, truths = [], []
    t0 = time.time()
    with torch.inference_mode():
        for k in range(batches):
            batch = make_batch(prior, StreamConfig(), "calib", k)
            preds.append(model(batch["x"], batch["y"]).double().numpy())
            truths.append(to_z(batch["mi"].double()).numpy())
    z_NK, t_N = np.concatenate(preds), np.concatenate(truths)
    levels = model.head.levels.tolist()
    offsets = fit_offsets(z_NK, t_N, levels)
    after = apply_offsets(torch.from_numpy(z_NK), torch.tensor(offsets, dtype=torch.float64)).numpy()
    record = {"levels": levels, "split": "calib", "batches": batches, "n_range": [prior.n_min, prior.n_max],
              "sets": int(len(t_N)), "seconds": round(time.time() - t0, 1),
              "coverage_before": interval_coverage(z_NK, t_N, levels),
              "coverage_after": interval_coverage(after, t_N, levels), "command": command}
    write_calibration(folder, offsets, record)
    return {**record, "offsets_z": offsets}


def _calibrate_routed(folder: Path, experts: list, batches: int, command: str) -> dict:
    records = []
    for i, spec in enumerate(experts):
        hi = experts[i + 1]["n_min"] - 1 if i + 1 < len(experts) else 10**9
        records.append(calibrate_checkpoint(folder / spec["folder"], batches, command, (int(spec["n_min"]), hi)))
    return {"experts": records, "sets": sum(r["sets"] for r in records), "seconds": sum(r["seconds"] for r in records)}
