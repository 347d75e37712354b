"""Every benchmark and study in benchmarks/ runs end to end at tiny settings, so none can rot.

Each runs in this process as `python benchmarks/<name>.py ARGS` would (runpy, run_name
"__main__"), on one torch thread (as they were measured; more threads only spin on a busy
machine), with the thread count restored afterwards; bench_estimator.py, whose speed section alone takes
~20 s, runs as a real command line in a subprocess in the slow suite.
The shipped checkpoint serves the studies that need a trained estimator; design_study and
route_study read a tiny untrained checkpoint.
"""

import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mist.checkpoint import save_checkpoint
from mist.network.config import ModelConfig, build_model

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

# name -> arguments ({tmp} is a fresh folder, {ckpt} the folder of a tiny checkpoint)
TINY_ARGS = {
    "bench_extended": ["--batches", "1", "--suites", "structured"],
    "bench_generator": ["--seconds", "0.05"],
    "bench_independent": ["--reps", "1", "--n", "16", "64", "--dims", "1", "4", "--marginal", "t3"],
    "bench_tabular": ["--sections", "size", "--size-reps", "2", "--size-n", "16", "--size-d", "1",
                      "--size-perms", "3", "--wide", "0"],
    "bench_train": ["--width", "8", "--reps", "1", "--shapes", "64:2:4", "128:6:2"],
    "boundary_step": ["--batches", "1"],
    "design_study": ["--runs", "{tmp}", "--designs", "tiny", "--batches", "1", "--out", "{tmp}/table.md"],
    "plot_prior": ["--sets", "40", "--out", "{tmp}/prior.png"],
    "prior_only_baseline": ["--calib-batches", "4", "--imd-batches", "6", "--k", "5"],  # imd 2, 5: N < 32
    "route_study": ["--model", "tiny={tmp}/tiny/model", "--batches", "1"],
    "small_n_statistics": ["--batches", "12"],
    "soft_vs_hard": ["--n-batches", "1", "--temperatures", "0.05", "--max-n", "64", "--out", "{tmp}"],
    "table_path_study": ["--batches", "6"],
}
SUBPROCESS_ARGS = {"bench_estimator": ["--batches", "1"]}


def test_every_study_has_a_smoke_run():
    assert sorted(p.stem for p in BENCHMARKS.glob("*.py")) == sorted(TINY_ARGS | SUBPROCESS_ARGS)


def _args(name, tmp_path):
    torch.manual_seed(0)
    cfg = ModelConfig(width=8, heads=2, blocks=1, n_inducing=2, pair_channels=2, head_width=16)
    # design_study reads the training record's throughput fields
    save_checkpoint(build_model(cfg), cfg, tmp_path / "tiny" / "model",
                    training={"sets_seen": 4, "wall_time_s_this_process": 1.0})
    return [a.format(tmp=tmp_path) for a in TINY_ARGS[name]]


@pytest.mark.parametrize("name", sorted(TINY_ARGS))
def test_study_runs(name, tmp_path, monkeypatch, capsys):
    script = BENCHMARKS / f"{name}.py"
    monkeypatch.setattr(sys, "argv", [str(script), *_args(name, tmp_path)])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        torch.set_num_threads(threads)
    assert capsys.readouterr().out.strip()


@pytest.mark.slow  # its speed part times 3 x 64 sets of N = 500 and one set of N = 100,000
@pytest.mark.parametrize("name", sorted(SUBPROCESS_ARGS))
def test_study_runs_in_subprocess(name):
    out = subprocess.run([sys.executable, str(BENCHMARKS / f"{name}.py"), *SUBPROCESS_ARGS[name]],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip()
