"""Fit a checkpoint's conformal interval calibration on the "calib" split and store it.

The calib split draws from the checkpoint's training prior with its own seeds (split tag) and
the training part of the mixture bank, so it shares nothing with the evaluation suites.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from mist.batch.stream import StreamConfig, make_batch
from mist.checkpoint import CONFIG, load_checkpoint
from mist.evaluate import metrics
from mist.generate.prior import PriorConfig
from mist.network.calibration import apply_offsets, fit_offsets
from mist.network.quantiles import to_z


def interval_coverage(z_NK: np.ndarray, t_N: np.ndarray, levels) -> dict:
    """{nominal coverage: share of truths inside} for each central interval of the grid."""
    k = len(levels)
    return {f"{levels[k - 1 - i] - levels[i]:.2f}": metrics.coverage(z_NK[:, i], z_NK[:, k - 1 - i], t_N)
            for i in range(k // 2)}


def calibrate_checkpoint(folder, batches: int = 128, command: str = "") -> dict:
    """Fit offsets on `batches` calib batches, write them to folder/config.json, return the record."""
    model, config = load_checkpoint(folder)
    model.head.set_calibration(None)
    prior = PriorConfig(**config.get("training", {}).get("config", {}).get("data", {}).get("prior", {}))
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
    record = {"offsets_z": offsets, "levels": levels, "split": "calib", "batches": batches,
              "sets": int(len(t_N)), "seconds": round(time.time() - t0, 1),
              "coverage_before": interval_coverage(z_NK, t_N, levels),
              "coverage_after": interval_coverage(after, t_N, levels), "command": command}
    path = Path(folder) / CONFIG
    stored = json.loads(path.read_text())
    stored["calibration"] = record
    path.write_text(json.dumps(stored, indent=2))
    return record
