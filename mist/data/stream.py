"""Streaming meta-dataset: an endless, seeded sequence of shape-bucketed batches.

Batch k is a pure function of (seed, split, k): its own numpy SeedSequence with spawn key
(split tag, k), see `mist.data.splits.batch_rng`. So a stream is reproducible, DataLoader workers shard it by k without
coordination (worker w takes k = start + w, start + w + W, ...; the DataLoader interleaves workers
in that same order), a resumed run continues at k = global step, and the eval splits can never
draw the training seeds: their spawn keys differ in the split tag.

Bucketing: every set in a batch shares N, dx and dy (drawn per batch), so no padding or masks are
needed; the batch size shrinks for large sets so a batch holds at most `cells_per_batch`
N * (dx + dy) cells, which keeps the cost per step flat across shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from mist.data.prior import PriorConfig, sample_dataset, sample_shape
from mist.data.splits import batch_rng


@dataclass
class StreamConfig:
    batch_size: int = 16
    cells_per_batch: int = 65536
    seed: int = 0


def make_batch(prior: PriorConfig, cfg: StreamConfig, split: str, index: int) -> dict:
    """Batch `index` of a split.

    Returns x (B, N, dx) and y (B, N, dy) float32 tensors, mi and mi_se (B,) float32, plus the
    per-set `family` and `params` lists and the batch `index`.
    """
    rng = batch_rng(cfg.seed, split, index)
    n, dx, dy = sample_shape(prior, rng)
    b = int(np.clip(cfg.cells_per_batch // (n * (dx + dy)), 1, cfg.batch_size))
    sets = [sample_dataset(prior, rng, n, dx, dy, split) for _ in range(b)]
    return {
        "x": _to_float32(np.stack([s.x for s in sets])),
        "y": _to_float32(np.stack([s.y for s in sets])),
        "mi": torch.tensor([s.mi for s in sets], dtype=torch.float32),
        "mi_se": torch.tensor([s.mi_se for s in sets], dtype=torch.float32),
        "family": [s.family for s in sets],
        "params": [s.params for s in sets],
        "index": index,
    }


def _to_float32(a: np.ndarray) -> torch.Tensor:
    """float64 -> float32 without overflowing to inf: heavy tails under transforms (a Cauchy
    draw through a half-cube map, say) can exceed float32's range. Clipping at 1e37 only ties
    the few most extreme values, and MI is read from ranks, so the data stays valid."""
    return torch.from_numpy(np.clip(a, -1e37, 1e37).astype(np.float32))


class MetaDatasetStream(IterableDataset):
    """Yields batches start, start + 1, ... (forever, or `n_batches` of them) of one split."""

    def __init__(self, prior: PriorConfig, cfg: StreamConfig, split: str = "train",
                 start: int = 0, n_batches: int | None = None):
        prior.validate(split)
        self.prior, self.cfg, self.split = prior, cfg, split
        self.start, self.n_batches = start, n_batches

    def __iter__(self):
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        k = self.start + wid
        stop = None if self.n_batches is None else self.start + self.n_batches
        while stop is None or k < stop:
            yield make_batch(self.prior, self.cfg, self.split, k)
            k += nw

    def __len__(self):
        if self.n_batches is None:
            raise TypeError("an endless stream has no length")
        return self.n_batches
