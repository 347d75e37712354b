"""LightningDataModule over the generator's stream and the frozen evaluation suites."""

from __future__ import annotations

import lightning as L
from torch.utils.data import DataLoader

from mist.data.stream import MetaDatasetStream, StreamConfig
from mist.data.prior import PriorConfig
from mist.data.suites import build_suite


class MetaDataModule(L.LightningDataModule):
    """Training always draws the `train` split: there is deliberately no option to change it,
    so a training run cannot see the seeds of the `imd` / `oomd` suites.

    prior / stream: fields that differ from PriorConfig / StreamConfig's defaults; num_workers and
    val_batches (suite name -> batches) have no defaults here, conf/data/default.yaml states them."""

    def __init__(self, prior: dict | None = None, stream: dict | None = None, *, num_workers: int,
                 val_batches: dict):
        super().__init__()
        self.prior = PriorConfig(**(prior or {}))
        self.stream = StreamConfig(**(stream or {}))
        self.prior.validate("train")
        self.num_workers = num_workers
        self.val_batches = dict(val_batches)
        self._suites: dict[str, list] = {}

    def train_dataloader(self):
        # resume: continue the stream exactly where the checkpoint stopped (batch k = step k)
        start = self.trainer.global_step if self.trainer is not None else 0
        ds = MetaDatasetStream(self.prior, self.stream, split="train", start=start)
        return DataLoader(ds, batch_size=None, num_workers=self.num_workers,
                          persistent_workers=self.num_workers > 0)

    def val_dataloader(self):
        loaders = []
        for name, n in self.val_batches.items():
            if name not in self._suites:
                self._suites[name] = build_suite(name, n, self.stream, self.prior)
            loaders.append(DataLoader(self._suites[name], batch_size=None))
        return loaders
