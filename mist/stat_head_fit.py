"""Fit the singular-regime head (mist.network.stat_head, docs/design.md §12q) of a checkpoint.

1. collect: sets of the training prior whose shape the head serves (8 <= N <= 127, N <= dx + dy,
   sides of at most 64 columns), run through the checkpoint's estimator exactly as at use; what
   reaches the head (statistics + the network's calibrated quantiles) and log1p(true MI) are kept.
   Collected rows are saved every few batches, so a stopped run resumes where it was.
2. train: pinball loss over the quantile levels (Adam), the best state on a held-out tenth kept.
3. calibrate: split-conformal offsets on sets of the `calib` split (network/calibration.py).

Shape letters: B sets, F head inputs, K quantile levels.
"""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from mist.data.prior import PriorConfig, sample_shape
from mist.data.splits import batch_rng
from mist.data.stream import StreamConfig, make_batch
from mist.estimator import MIEstimator
from mist.network.calibration import fit_offsets
from mist.network.quantiles import pinball_loss
from mist.network.stat_head import StatHead, serves

N_RANGE, DIM_MAX = (8, 127), 64


class _Recorder(torch.nn.Module):
    """Stands in for the head while collecting: keeps what the estimator hands it."""

    def __init__(self, n_levels: int):
        super().__init__()
        self.rows, self.n_levels = [], n_levels

    def forward(self, inputs_BF):
        self.rows.append(inputs_BF[0].double().numpy().copy())
        return torch.zeros(1, self.n_levels)


def collect(est: MIEstimator, priors: list[PriorConfig], split: str, batches: int, cache: Path,
            stream: StreamConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Head inputs (B, F) and log1p(true MI) (B,) of the served sets among batches 0..batches-1
    of `split` (batch k drawn from priors[k % len(priors)]); resumes from `cache` (.npz)."""
    stream = stream or StreamConfig(batch_size=64, cells_per_batch=65536, seed=0)
    done, inputs, truths = 0, [], []
    if cache.is_file():
        saved = np.load(cache)
        done, inputs, truths = int(saved["done"]), list(saved["inputs"]), list(saved["truths"])
    recorder = _Recorder(len(est.levels))
    est.stat_head, est.stat_head_spec = recorder, {"n_range": list(N_RANGE), "dim_max": DIM_MAX}
    for p in priors:
        p.validate(split)
    bar = tqdm(range(done, batches), desc=f"collect {split}", initial=done, total=batches, file=sys.stderr)
    for k in bar:
        prior = priors[k % len(priors)]
        if serves(N_RANGE, DIM_MAX, *sample_shape(prior, batch_rng(stream.seed, split, k))):  # the shape is the first draw
            batch = make_batch(prior, stream, split, k)
            recorder.rows.clear()
            pairs = list(zip(batch["x"].double().numpy(), batch["y"].double().numpy()))
            results = est.estimate_many(pairs, constant_columns="drop")
            # sets reach the head in order; one whose merged binary columns leave the regime does not
            reached = [i for i, r in enumerate(results) if r.extra.get("method") == "stat_head"]
            inputs += recorder.rows
            truths += np.log1p(batch["mi"].double().clamp_min(0).numpy()[reached]).tolist()
        if (k + 1) % 25 == 0 or k + 1 == batches:
            _save(cache, k + 1, inputs, truths)
            bar.set_postfix(sets=len(truths))
    est.stat_head = est.stat_head_spec = None
    return np.array(inputs), np.array(truths)


def _save(cache: Path, done: int, inputs: list, truths: list) -> None:
    tmp = cache.with_suffix(".tmp.npz")  # write then rename: a crash never leaves half a cache
    np.savez(tmp, done=done, inputs=np.array(inputs).reshape(len(truths), -1), truths=np.array(truths))
    tmp.replace(cache)


def train_head(inputs_BF: np.ndarray, z_B: np.ndarray, levels, width: int = 128, steps: int = 4000,
               batch: int = 512, lr: float = 1e-3, seed: int = 0) -> tuple[StatHead, dict]:
    """A StatHead fitted by pinball loss; returns it (uncalibrated) and a record of the fit."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(z_B))
    n_val = max(1, len(z_B) // 10)
    val, fit = order[:n_val], order[n_val:]
    x = torch.from_numpy(inputs_BF).float()
    z = torch.from_numpy(z_B).float()
    head = StatHead(width, levels)
    head.mean.copy_(x[fit].mean(0))
    head.scale.copy_(x[fit].std(0).clamp_min(1e-6))
    levels_K = torch.tensor(levels, dtype=torch.float32)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    best, best_state, t0 = float("inf"), None, time.time()
    bar = tqdm(range(steps), desc="train head", file=sys.stderr)
    for step in bar:
        idx = torch.from_numpy(rng.choice(fit, batch))
        loss = pinball_loss(head(x[idx]), z[idx], levels_K)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % 200 == 0 or step + 1 == steps:
            with torch.no_grad():
                v = float(pinball_loss(head(x[val]), z[val], levels_K))
            if v < best:
                best, best_state = v, copy.deepcopy(head.state_dict())
            bar.set_postfix(val=f"{v:.4f}", best=f"{best:.4f}")
    head.load_state_dict(best_state)
    return head.eval(), {"fit_sets": int(len(fit)), "val_sets": int(n_val), "val_pinball": best, "steps": steps,
                         "width": width, "lr": lr, "seed": seed, "seconds": round(time.time() - t0, 1)}


def calibrate_head(head: StatHead, inputs_BF: np.ndarray, z_B: np.ndarray, levels) -> list[float]:
    """Fit and set the head's conformal offsets on calibration sets; returns them."""
    head.head.set_calibration(None)
    with torch.no_grad():
        raw = head(torch.from_numpy(inputs_BF).float()).double().numpy()
    offsets = fit_offsets(raw, z_B, levels)
    head.head.set_calibration(offsets)
    return offsets
