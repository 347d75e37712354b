"""Build everything from a composed Hydra config and train; used by scripts/train.py."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint, OnExceptionCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf

from mist.checkpoint import save_checkpoint
from mist.train.module import MIModule
from mist.train.warm_start import warm_start

SIGTERM_EXIT = 143  # 128 + SIGTERM: the status a shell reports for a process ended by SIGTERM
# Hydra records a run's command-line overrides here (hydra.run.dir is ${run_dir}, see conf/train.yaml)
RECORDED_OVERRIDES = Path(".hydra") / "overrides.yaml"


def _override_key(override: str) -> str:
    return override.lstrip("+~").split("=", 1)[0]


def with_recorded_overrides(args: list[str]) -> list[str]:
    """Command-line arguments for scripts/train.py with a resumed run's own overrides restored.

    For `run_dir=D resume=true`, the overrides D was started with (D/.hydra/overrides.yaml, e.g.
    debug=smoke) come first and the given arguments after, replacing recorded overrides of
    the same key; so the short resume command rebuilds the same model. Other arguments, and runs
    without a record, are returned unchanged."""
    given = {_override_key(a): a.split("=", 1)[1] for a in args if "=" in a and not a.startswith("-")}
    if given.get("resume", "").lower() not in ("true", "yes", "1") or "run_dir" not in given:
        return list(args)
    path = Path(given["run_dir"]) / RECORDED_OVERRIDES
    if not path.is_file():
        return list(args)
    recorded = [str(o) for o in OmegaConf.to_container(OmegaConf.load(path)) if _override_key(str(o)) not in given]
    if recorded:
        print(f"resume: restoring the run's overrides {recorded} from {path}")
    return recorded + list(args)


def build(cfg: DictConfig):
    """(module, datamodule, trainer, ckpt_path) for a composed config."""
    run_dir = Path(cfg.run_dir)
    ckpt_dir = run_dir / "checkpoints"
    L.seed_everything(cfg.seed, workers=True)
    if cfg.torch_threads:
        torch.set_num_threads(int(cfg.torch_threads))
    datamodule = instantiate(cfg.data, _convert_="all")
    module = MIModule(model=OmegaConf.to_container(cfg.model, resolve=True),
                      max_steps=int(cfg.trainer.max_steps), val_names=tuple(cfg.data.val_batches),
                      **OmegaConf.to_container(cfg.optim, resolve=True))
    if cfg.init_from:  # fresh optimizer and schedule, weights from an exported checkpoint
        warm_start(module.model, cfg.init_from)
    callbacks = [
        ModelCheckpoint(dirpath=ckpt_dir, filename="step{step}", every_n_train_steps=cfg.checkpoint_every,
                        save_last=True, save_top_k=-1 if cfg.keep_all_checkpoints else 1,
                        auto_insert_metric_name=False),
        # a crash or Ctrl-C still leaves a checkpoint to resume from (deleted after a clean finish)
        OnExceptionCheckpoint(dirpath=ckpt_dir, filename="interrupted"),
    ]
    logger = instantiate(cfg.logger) if cfg.get("logger") and "_target_" in cfg.logger else False
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=logger, default_root_dir=str(run_dir))
    ckpt_path = cfg.ckpt_path
    if ckpt_path is None and cfg.resume:
        found = [p for p in (ckpt_dir / "last.ckpt", ckpt_dir / "interrupted.ckpt") if p.exists()]
        ckpt_path = str(max(found, key=lambda p: p.stat().st_mtime)) if found else None
        print(f"resume: {'continuing from ' + ckpt_path if ckpt_path else 'no checkpoint yet, starting fresh'}")
    return module, datamodule, trainer, ckpt_path


def train(cfg: DictConfig) -> MIModule:
    """Train, then export the inference checkpoint to run_dir/model (and export_to). A SIGTERM
    (e.g. from a scheduler) stops at the next step, saves checkpoints/interrupted.ckpt and exits
    with status SIGTERM_EXIT, so the run reads as interrupted, not as finished."""
    module, datamodule, trainer, ckpt_path = build(cfg)
    start = time.time()
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    except SIGTERMException:
        # Lightning's SIGTERMException is a SystemExit without a code (status 0: "success");
        # OnExceptionCheckpoint has already saved interrupted.ckpt
        print(f"training stopped by SIGTERM at step {trainer.global_step}; resume with "
              f"`python scripts/train.py run_dir={cfg.run_dir} resume=true`", file=sys.stderr)
        raise SystemExit(SIGTERM_EXIT) from None
    info = {"command": " ".join(["python"] + sys.argv), "steps": int(trainer.global_step), "sets_seen": module.sets_seen,
            "wall_time_s_this_process": round(time.time() - start, 1),
            "config": OmegaConf.to_container(cfg, resolve=True)}
    for folder in filter(None, [Path(cfg.run_dir) / "model", cfg.export_to]):
        save_checkpoint(module.model, module.model_config, folder, training=info)
    return module
