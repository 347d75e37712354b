"""Build everything from a composed Hydra config and train; used by scripts/train.py."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint, OnExceptionCheckpoint
from omegaconf import DictConfig, OmegaConf

from mist.checkpoint import save_checkpoint
from mist.train.module import MIModule
from mist.train.warm_start import warm_start


def build(cfg: DictConfig):
    """(module, datamodule, trainer, ckpt_path) for a composed config."""
    run_dir = Path(cfg.run_dir)
    ckpt_dir = run_dir / "checkpoints"
    L.seed_everything(cfg.seed, workers=True)
    if cfg.get("torch_threads"):
        torch.set_num_threads(int(cfg.torch_threads))
    datamodule = instantiate(cfg.data, _convert_="all")
    module = MIModule(model=OmegaConf.to_container(cfg.model, resolve=True),
                      max_steps=int(cfg.trainer.max_steps), val_names=tuple(cfg.data.val_batches),
                      **OmegaConf.to_container(cfg.optim, resolve=True))
    if cfg.get("init_from"):  # fresh optimizer and schedule, weights from an exported checkpoint
        warm_start(module.model, cfg.init_from)
    callbacks = [
        ModelCheckpoint(dirpath=ckpt_dir, filename="step{step}", every_n_train_steps=cfg.checkpoint_every,
                        save_last=True, save_top_k=-1 if cfg.get("keep_all_checkpoints") else 1,
                        auto_insert_metric_name=False),
        # a crash or Ctrl-C still leaves a checkpoint to resume from (deleted after a clean finish)
        OnExceptionCheckpoint(dirpath=ckpt_dir, filename="interrupted"),
    ]
    logger = instantiate(cfg.logger) if cfg.get("logger") and "_target_" in cfg.logger else False
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=logger, default_root_dir=str(run_dir))
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path is None and cfg.get("resume"):
        found = [p for p in (ckpt_dir / "last.ckpt", ckpt_dir / "interrupted.ckpt") if p.exists()]
        ckpt_path = str(max(found, key=lambda p: p.stat().st_mtime)) if found else None
        print(f"resume: {'continuing from ' + ckpt_path if ckpt_path else 'no checkpoint yet, starting fresh'}")
    return module, datamodule, trainer, ckpt_path


def train(cfg: DictConfig) -> MIModule:
    module, datamodule, trainer, ckpt_path = build(cfg)
    start = time.time()
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    info = {"command": " ".join(["python"] + sys.argv), "steps": int(trainer.global_step), "sets_seen": module.sets_seen,
            "wall_time_s_this_process": round(time.time() - start, 1),
            "config": OmegaConf.to_container(cfg, resolve=True)}
    for folder in filter(None, [Path(cfg.run_dir) / "model", cfg.get("export_to")]):
        save_checkpoint(module.model, module.model_config, folder, training=info)
    return module
