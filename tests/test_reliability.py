"""Issue 13 on the real things: the shipped checkpoint's differentiable path on the inputs that
used to give silent wrong answers, and training runs that a scheduler stops (SIGTERM) and that
are resumed with the short command."""

import json
import os
import runpy
import signal
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from lightning.pytorch.callbacks import Callback

from mist import MIEstimator, MILoss
from mist.train import run

ROOT = Path(__file__).resolve().parents[1]
SMOKE = "debug=smoke"  # the tiny training run (conf/debug/smoke.yaml)
QUICK = ["logger=none", "+trainer.limit_val_batches=0", "checkpoint_every=1"]  # no validation: seconds


@pytest.fixture(scope="module")
def shipped():
    return MIEstimator.from_pretrained()


@pytest.fixture(scope="module")
def independent():
    g = torch.Generator().manual_seed(0)
    return torch.randn(200, 2, generator=g), torch.randn(200, 2, generator=g)


# ------------------------------------------------------------------ shipped checkpoint, soft path
def test_constant_column_carries_zero_nats(shipped, independent):
    # before: x[:, 0] = 3 gave 0.27 nats on independent data here (3.13 in the example),
    # silently; now an error as in estimate, and with "drop" exactly the MI without the column
    x, y = independent
    xc = x.clone()
    xc[:, 0] = 3.0
    with pytest.raises(ValueError, match="constant column"):
        shipped.mi(xc, y)
    xc.requires_grad_(True)
    m = shipped.mi(xc, y, constant_columns="drop")
    assert m.item() == pytest.approx(shipped.mi(x[:, 1:], y).item(), abs=1e-6) and m.item() < 0.05
    m.backward()
    assert torch.all(xc.grad[:, 0] == 0) and xc.grad[:, 1].abs().sum() > 0


def test_fully_constant_side_is_zero_with_zero_gradient(shipped, independent):
    # before: 0.015 here (4.57 in the issue); estimate(..., constant_columns="drop") gives 0
    _, y = independent
    x = torch.full((200, 2), 3.0, requires_grad=True)
    loss = MILoss(shipped, constant_columns="drop")(x, y)
    loss.backward()
    assert loss.item() == 0 and torch.all(x.grad == 0)


def test_far_outlier_does_not_change_the_value(shipped):
    # before: one 1e300 (no rank changes) moved 0.534 to 0.076: the float64 prescale by max|x|
    # then the float32 cast flushed every other sample to 0
    g = torch.Generator().manual_seed(1)
    a = torch.randn(200, 1, generator=g, dtype=torch.float64)
    b = a + 0.8 * torch.randn(200, 1, generator=g, dtype=torch.float64)
    base = shipped.mi(a, b).item()
    a2 = a.clone()
    a2[a.argmax()] = 1e300
    assert shipped.mi(a2, b).item() == pytest.approx(base, abs=0.01)
    d = (a * 1e-310).requires_grad_(True)   # denormal data: same value, finite gradient (was inf)
    m = shipped.mi(d, b)
    m.backward()
    assert m.item() == pytest.approx(base, abs=1e-4) and torch.isfinite(d.grad).all()


def test_values_and_interval_levels_are_exact(shipped):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 2))
    r = shipped.estimate(x, x[:, :1] + rng.standard_normal((300, 1)))
    assert r.quantiles[0.025] == r.quantile(0.025) == r.interval(0.95)[0]   # KeyError / ValueError before
    assert r.quantiles[0.975] == r.interval(0.95)[1] and r.quantiles[0.5] == r.mi


# ------------------------------------------------------------------ training runs
def _cfg(*overrides):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("train", overrides=list(overrides))


class _Sigterm(Callback):
    """Sends this process a SIGTERM after the second step, as a scheduler would."""

    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step == 2:
            os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_saves_a_checkpoint_and_exits_nonzero(tmp_path, monkeypatch):
    build = run.build

    def build_with_sigterm(cfg):
        module, dm, trainer, ckpt = build(cfg)
        trainer.callbacks.append(_Sigterm())
        return module, dm, trainer, ckpt

    monkeypatch.setattr(run, "build", build_with_sigterm)
    with pytest.raises(SystemExit) as exit_info:   # before: SIGTERMException, a SystemExit with status 0
        run.train(_cfg(SMOKE, f"run_dir={tmp_path}", *QUICK))
    assert exit_info.value.code == run.SIGTERM_EXIT != 0
    assert (tmp_path / "checkpoints" / "interrupted.ckpt").exists()
    assert not (tmp_path / "model").exists()   # an interrupted run is not exported as if finished


def _train_script(monkeypatch, *args):
    """scripts/train.py in this process (as `python scripts/train.py ARGS`, Hydra and all; Hydra's
    logging setup is left out, so it does not leave handlers on the root logger)."""
    quiet = ["hydra/job_logging=disabled", "hydra/hydra_logging=disabled"]
    monkeypatch.setattr(sys, "argv", [str(ROOT / "scripts" / "train.py"), *args, *quiet])
    runpy.run_path(str(ROOT / "scripts" / "train.py"), run_name="__main__")


def test_short_resume_command_restores_the_runs_overrides(tmp_path, monkeypatch, capsys):
    # before: `run_dir=... resume=true` composed the default model and failed with a size mismatch
    _train_script(monkeypatch, SMOKE, f"run_dir={tmp_path}", *QUICK, "trainer.max_steps=2")
    _train_script(monkeypatch, f"run_dir={tmp_path}", "resume=true", "trainer.max_steps=4")
    out = capsys.readouterr().out
    assert "restoring the run's overrides" in out and "continuing from" in out
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["training"]["steps"] == 4 and config["model"]["width"] == 8   # the smoke model
    assert config["training"]["config"]["trainer"]["max_steps"] == 4           # given overrides win


def test_recorded_overrides_merge(tmp_path):
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "overrides.yaml").write_text("- debug=smoke\n- run_dir=old\n- trainer.max_steps=3\n")
    args = [f"run_dir={tmp_path}", "resume=true", "trainer.max_steps=9", "--multirun"]
    assert run.with_recorded_overrides(args) == ["debug=smoke"] + args
    for unchanged in ([f"run_dir={tmp_path}"], [f"run_dir={tmp_path / 'nothing'}", "resume=true"], ["resume=true"]):
        assert run.with_recorded_overrides(unchanged) == unchanged
