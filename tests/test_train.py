"""Config composition, the smoke training run, export, and exact resume after an interruption."""

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from lightning.pytorch.callbacks import Callback

from mist.checkpoint import load_checkpoint
from mist.train.run import build, train

CONF = str(Path(__file__).resolve().parents[1] / "conf")
RUN_GROUPS = ("experiment", "study", "debug")  # the groups that pick a whole run


def _cfg(*overrides):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose("train", overrides=list(overrides))


@pytest.mark.parametrize("experiment", sorted(f"{g}={p.stem}" for g in RUN_GROUPS for p in Path(CONF, g).glob("*.yaml")))
@pytest.mark.parametrize("trainer", ["cpu", "gpu", "ddp"])
def test_every_experiment_composes(experiment, trainer):
    cfg = _cfg(experiment, f"trainer={trainer}", "run_dir=/tmp/x")
    assert cfg.model.arch in ("two_axis", "pooled", "row_set")
    assert cfg.trainer.max_steps > 0 and "_target_" in cfg.data


def test_loggers_compose():
    assert _cfg("logger=wandb", "run_dir=/tmp/x").logger.offline is True
    assert "_target_" not in _cfg("logger=none", "run_dir=/tmp/x").logger


def test_smoke_run_trains_and_exports(tmp_path):
    module = train(_cfg("debug=smoke", f"run_dir={tmp_path}"))
    assert (tmp_path / "checkpoints" / "last.ckpt").exists()
    model, config = load_checkpoint(tmp_path / "model")
    assert config["training"]["steps"] == 6
    x, y = torch.randn(1, 20, 2), torch.randn(1, 20, 3)
    torch.testing.assert_close(model(x, y), module.model.eval()(x, y))
    lines = (tmp_path / "logs" / "version_0" / "metrics.csv").read_text().splitlines()
    assert "val/imd/mae" in lines[0] and len(lines) > 6


class _Crash(Callback):
    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step == 4:
            raise RuntimeError("simulated crash")


def _weights(module):
    return {k: v.clone() for k, v in module.model.state_dict().items()}


def test_resume_after_interruption_matches_uninterrupted_run(tmp_path):
    straight = train(_cfg("debug=smoke", f"run_dir={tmp_path / 'a'}", "logger=none"))

    cfg = _cfg("debug=smoke", f"run_dir={tmp_path / 'b'}")
    module, dm, trainer, _ = build(cfg)
    trainer.callbacks.append(_Crash())
    with pytest.raises(RuntimeError, match="simulated crash"):
        trainer.fit(module, datamodule=dm)
    assert (tmp_path / "b" / "checkpoints" / "interrupted.ckpt").exists()

    resumed = train(_cfg("debug=smoke", f"run_dir={tmp_path / 'b'}", "resume=true"))
    logs = tmp_path / "b" / "logs"
    assert (logs / "version_0" / "metrics.csv").exists() and (logs / "version_1" / "metrics.csv").exists()
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], msg=f"{k} differs after resume")
