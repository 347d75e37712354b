"""LightningModule: pinball loss on log1p(MI) quantiles, AdamW with warmup and cosine decay."""

from __future__ import annotations

import math

import lightning as L
import torch

from mist import metrics
from mist.network.config import ModelConfig, build_model
from mist.network.quantiles import pinball_loss, report_mi, to_z


class MIModule(L.LightningModule):
    """model: ModelConfig fields. The optimizer settings and val_names (the validation suites, in
    dataloader order) have no defaults here: conf/train.yaml (optim) and the data config state them."""

    def __init__(self, model: dict, *, lr: float, weight_decay: float, warmup_steps: int, max_steps: int,
                 min_lr_ratio: float, val_names: tuple):
        super().__init__()
        self.save_hyperparameters()
        self.model_config = ModelConfig(**model)
        self.model = build_model(self.model_config)
        self._val_rows: dict[int, list] = {}
        self.sets_seen = 0  # saved in checkpoints, for throughput figures

    def forward(self, x_BNX, y_BNY):
        return self.model(x_BNX, y_BNY)

    def training_step(self, batch, batch_idx):
        pred_BK = self.model(batch["x"], batch["y"])
        loss = pinball_loss(pred_BK, to_z(batch["mi"]), self.model.head.levels)
        b = len(batch["mi"])
        self.sets_seen += b
        self.log("train/loss", loss, prog_bar=True, batch_size=b)
        self.log("train/sets", float(b), reduce_fx="sum", batch_size=1)
        return loss

    def validation_step(self, batch, batch_idx, dataloader_idx=0):
        pred_BK = self.model(batch["x"], batch["y"])
        loss = pinball_loss(pred_BK, to_z(batch["mi"]), self.model.head.levels)
        levels = [round(float(v), 6) for v in self.model.head.levels]
        q_BK = report_mi(pred_BK.detach().double())
        rows = self._val_rows.setdefault(dataloader_idx, [])
        for i in range(len(batch["mi"])):  # the same row schema as every published number
            rows.append({**metrics.row(batch["mi"][i], dict(zip(levels, q_BK[i].tolist()))), "loss": float(loss)})

    def on_validation_epoch_end(self):
        for idx, rows in sorted(self._val_rows.items()):
            name = self.hparams.val_names[idx] if idx < len(self.hparams.val_names) else str(idx)
            summary = {**metrics.headline(rows), "loss": sum(r["loss"] for r in rows) / len(rows)}
            for key, value in summary.items():
                self.log(f"val/{name}/{key}", value, prog_bar=(key == "mae"), add_dataloader_idx=False)
        self._val_rows = {}

    def on_save_checkpoint(self, checkpoint):
        checkpoint["sets_seen"] = self.sets_seen

    def on_load_checkpoint(self, checkpoint):
        self.sets_seen = int(checkpoint.get("sets_seen", 0))

    def configure_optimizers(self):
        decay = [p for n, p in self.named_parameters() if p.ndim >= 2]
        no_decay = [p for n, p in self.named_parameters() if p.ndim < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": self.hparams.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}], lr=self.hparams.lr)
        warm, total, floor = self.hparams.warmup_steps, self.hparams.max_steps, self.hparams.min_lr_ratio

        def lr_factor(step):
            if step < warm:
                return (step + 1) / warm
            t = min(1.0, (step - warm) / max(1, total - warm))
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
