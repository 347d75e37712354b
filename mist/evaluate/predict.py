"""Run an estimator over suite batches and collect one row per dataset."""

from __future__ import annotations

import time
from typing import Callable, Iterable

import numpy as np
import torch

from mist.network.quantiles import report_mi

ROW_LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)


def _row(batch: dict, i: int) -> dict:
    b, n, dx = batch["x"].shape
    return {"true_mi": float(batch["mi"][i]), "mi_se": float(batch["mi_se"][i]),
            "family": batch["family"][i], "n": n, "dx": dx, "dy": batch["y"].shape[-1],
            "index": int(batch["index"])}


@torch.no_grad()
def network_rows(model: torch.nn.Module, batches: Iterable[dict], name: str = "mist") -> list[dict]:
    """Quantiles of a network for every set; time is the batched forward time per set."""
    rows = []
    levels = model.levels
    for batch in batches:
        t0 = time.perf_counter()
        q_BK = report_mi(model(batch["x"], batch["y"])).numpy()
        dt = (time.perf_counter() - t0) / len(batch["mi"])
        for i in range(len(batch["mi"])):
            qi = np.interp(ROW_LEVELS, levels.numpy(), q_BK[i])
            rows.append({**_row(batch, i), "estimator": name, "estimate": float(qi[2]),
                         **{f"q{lv}": float(v) for lv, v in zip(ROW_LEVELS, qi)}, "seconds": dt})
    return rows


def point_rows(estimate: Callable[[np.ndarray, np.ndarray], float], batches: Iterable[dict],
               name: str) -> list[dict]:
    """A point estimator (KSG, CCA, ...) applied to every set, one at a time."""
    rows = []
    for batch in batches:
        for i in range(len(batch["mi"])):
            x, y = batch["x"][i].double().numpy(), batch["y"][i].double().numpy()
            t0 = time.perf_counter()
            try:
                value = float(estimate(x, y))
            except ValueError:
                value = float("nan")
            rows.append({**_row(batch, i), "estimator": name, "estimate": value,
                         "seconds": time.perf_counter() - t0})
    return rows
