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


def calibrate_checkpoint(folder, batches: int = 128, command: str = "", n_range: tuple | None = None,
                         prior: PriorConfig | None = None, prior_source: str = "training",
                         expert: int | None = None) -> dict:
    """Fit offsets on `batches` calib batches, store them in the checkpoint, return the record.

    The calib sets come from `prior` (default: the checkpoint's training prior; `prior_source`
    names it in the record), with N limited to n_range (lo, hi) when given. A routed checkpoint
    calibrates each expert on the N range it serves; `expert` (an index) recalibrates that one
    alone and keeps the others' offsets (docs/design.md §12h)."""
    experts = read_config(folder).get("experts")
    if experts:
        return _calibrate_routed(Path(folder), experts, batches, command, prior, prior_source, expert)
    if expert is not None:
        raise ValueError(f"{folder}: expert={expert} given, but the checkpoint is not routed")
    model, config = load_checkpoint(folder)
    model.head.set_calibration(None)
    prior = prior if prior is not None else PriorConfig(**training_prior(config))
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
              "prior": prior_source, "sets": int(len(t_N)), "seconds": round(time.time() - t0, 1),
              "coverage_before": interval_coverage(z_NK, t_N, levels),
              "coverage_after": interval_coverage(after, t_N, levels), "command": command}
    write_calibration(folder, offsets, record)
    return {**record, "offsets_z": offsets}


def _calibrate_routed(folder: Path, experts: list, batches: int, command: str, prior: PriorConfig | None,
                      prior_source: str, only: int | None) -> dict:
    if only is not None and not 0 <= only < len(experts):
        raise ValueError(f"{folder}: expert index {only} out of range, the checkpoint has {len(experts)} experts")
    records = []
    for i, spec in enumerate(experts):
        sub = folder / spec["folder"]
        if only is not None and i != only:
            records.append({**read_config(sub).get("calibration", {})})
            continue
        hi = experts[i + 1]["n_min"] - 1 if i + 1 < len(experts) else 10**9
        records.append(calibrate_checkpoint(sub, batches, command, (int(spec["n_min"]), hi), prior, prior_source))
    return {"experts": records, "sets": sum(r.get("sets", 0) for r in records),
            "seconds": sum(r.get("seconds", 0) for r in records)}
