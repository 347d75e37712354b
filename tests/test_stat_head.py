"""The singular-regime head (mist/network/stat_head.py, docs/design.md §12q): its statistics,
checkpoint storage, the estimator's use of it and the fitting script, on real data and small
real heads."""

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from mist import MIEstimator
from mist.checkpoint import STAT_HEAD_WEIGHTS, default_checkpoint_path, save_stat_head
from mist.network.quantiles import DEFAULT_LEVELS
from mist.network.stat_head import NETWORK_LEVELS, STATISTICS, StatHead, singular_statistics

IDX = {name: i for i, name in enumerate(STATISTICS)}
LEVELS = list(DEFAULT_LEVELS)


def _aligned(n, d, rho, rng, k=None):
    """Gaussian (X, Y), d columns each, corr(X_i, Y_i) = rho for the first k, in shuffled columns."""
    k = d if k is None else k
    x = rng.standard_normal((n, d))
    y = rng.standard_normal((n, d))
    y[:, :k] = rho * x[:, :k] + np.sqrt(1 - rho ** 2) * y[:, :k]
    return x, y[:, rng.permutation(d)]


# -------------------------------------------------------------------------------- statistics
def test_statistics_are_invariant_to_monotone_maps_of_columns_and_to_row_order():
    rng = np.random.default_rng(0)
    x, y = _aligned(20, 12, 0.9, rng, k=4)
    base = singular_statistics(x, y)
    assert base.shape == (len(STATISTICS),) and np.isfinite(base).all()
    mapped_x = x.copy()
    mapped_x[:, 0] = np.exp(x[:, 0])        # increasing
    mapped_x[:, 1] = -x[:, 1] ** 3          # decreasing
    mapped_y = -y                           # every column decreasing
    np.testing.assert_allclose(singular_statistics(mapped_x, mapped_y), base, atol=1e-9)
    order = rng.permutation(20)
    np.testing.assert_allclose(singular_statistics(x[order], y[order]), base, atol=1e-9)


def test_swapping_the_sides_swaps_only_the_per_side_statistics():
    rng = np.random.default_rng(1)
    x, y = _aligned(16, 10, 0.8, rng, k=3)
    y = np.concatenate([y, rng.standard_normal((16, 5))], axis=1)   # 10 + 15 columns
    a, b = singular_statistics(x, y), singular_statistics(y, x)
    swapped = b.copy()
    for one, other in (("eig_x", "eig_y"), ("mean_abs_corr_x", "mean_abs_corr_y")):
        swapped[IDX[one]], swapped[IDX[other]] = b[IDX[other]], b[IDX[one]]
    np.testing.assert_allclose(swapped, a, atol=1e-9)


def test_aligned_pairs_show_in_the_matched_pairs_where_the_covariance_is_singular():
    rng = np.random.default_rng(2)
    dependent = singular_statistics(*_aligned(16, 16, 0.995, rng, k=6))   # N = 16 <= 32 columns
    independent = singular_statistics(*_aligned(16, 16, 0.0, rng, k=0))
    assert dependent[IDX["n_pairs_0.9"]] >= 5 and independent[IDX["n_pairs_0.9"]] <= 1
    assert dependent[IDX["pairs_8"]] > independent[IDX["pairs_8"]] + 5
    assert dependent[IDX["rv"]] > independent[IDX["rv"]]


# ------------------------------------------------------------------------------- checkpoint
def _fitted_head(seed=0):
    """A real StatHead fitted for a few steps on statistics of real sets (enough for the plumbing)."""
    from mist.stat_head_fit import train_head
    rng = np.random.default_rng(seed)
    rows, z = [], []
    for i in range(64):
        rho = rng.uniform(0, 0.99)
        x, y = _aligned(12, 8, rho, rng, k=4)
        mi = -2 * np.log1p(-rho ** 2)  # 4 pairs
        rows.append(np.concatenate([singular_statistics(x, y), np.log1p([mi / 2, mi, mi * 2])]))
        z.append(np.log1p(mi))
    head, _ = train_head(np.array(rows), np.array(z), LEVELS, width=16, steps=60, batch=32)
    return head


@pytest.fixture
def with_head(tmp_path):
    folder = tmp_path / "ckpt"
    shutil.copytree(default_checkpoint_path(), folder)
    config = json.loads((folder / "config.json").read_text())
    for key in ("stat_head",):
        config.pop(key, None)
    (folder / "config.json").write_text(json.dumps(config))
    (folder / STAT_HEAD_WEIGHTS).unlink(missing_ok=True)
    save_stat_head(folder, _fitted_head(), {"n_range": [8, 127], "dim_max": 64, "levels": LEVELS})
    return folder


def test_the_head_round_trips_through_a_checkpoint(with_head, one_thread):
    est = MIEstimator.from_pretrained(with_head)
    assert isinstance(est.stat_head, StatHead) and est.stat_head_spec["n_range"] == [8, 127]
    x = torch.randn(5, len(STATISTICS) + len(NETWORK_LEVELS))
    q = est.stat_head(x)
    assert q.shape == (5, len(LEVELS)) and bool((q.diff(dim=-1) >= 0).all())
    assert MIEstimator.from_pretrained(with_head, stat_head=False).stat_head is None


@pytest.mark.parametrize("damage, message", [
    (lambda c: c["stat_head"].update(file="../../elsewhere.safetensors"), "stat_head.file"),
    (lambda c: c["stat_head"].update(statistics=["log_n"]), "statistics"),
    (lambda c: c["stat_head"].update(width=True), "width"),
    (lambda c: c["stat_head"].update(n_range=[127, 8]), "n_range"),
    (lambda c: c["stat_head"].update(levels=[0.1, 0.5, 0.9]), "levels"),
])
def test_a_damaged_head_record_is_refused_by_name(with_head, damage, message):
    config = json.loads((with_head / "config.json").read_text())
    damage(config)
    (with_head / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=message):
        MIEstimator.from_pretrained(with_head)


def test_damaged_head_weights_are_refused(with_head):
    from safetensors.torch import load_file, save_file
    state = load_file(str(with_head / STAT_HEAD_WEIGHTS))
    state["mean"] = torch.full_like(state["mean"], float("nan"))
    save_file(state, str(with_head / STAT_HEAD_WEIGHTS))
    with pytest.raises(ValueError, match="finite"):
        MIEstimator.from_pretrained(with_head)
    (with_head / STAT_HEAD_WEIGHTS).write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="safetensors"):
        MIEstimator.from_pretrained(with_head)


# -------------------------------------------------------------------------------- estimator
def test_the_head_serves_exactly_its_regime(with_head, one_thread):
    est = MIEstimator.from_pretrained(with_head)
    rng = np.random.default_rng(3)
    x, y = _aligned(16, 12, 0.9, rng)                     # N = 16 <= 24
    singular = est.estimate(x, y)
    assert singular.extra["method"] == "stat_head" and singular.extra["prior_driven"]
    q = list(singular.quantiles.values())
    assert q == sorted(q) and q[0] >= 0
    plain = MIEstimator.from_pretrained(with_head, stat_head=False).estimate(x, y)
    assert "method" not in plain.extra
    below = [lv for lv in LEVELS if lv < 0.5]   # variant B: never above the network below the median
    assert all(singular.quantiles[lv] <= plain.quantiles[lv] + 1e-12 for lv in below)
    assert "method" not in est.estimate(*_aligned(60, 3, 0.9, rng)).extra     # N > dx + dy
    assert "method" not in est.estimate(*_aligned(200, 150, 0.5, rng)).extra  # N beyond the head's range
    assert "method" not in est.estimate(*_aligned(100, 70, 0.5, rng)).extra   # sides wider than 64
    # estimate_many gives each set what estimate gives it, whatever its neighbours
    many = est.estimate_many([(x, y), _aligned(60, 3, 0.9, rng)])
    assert many[0].quantiles == singular.quantiles


def test_the_stat_head_option_is_validated():
    with pytest.raises(TypeError, match="stat_head"):
        MIEstimator.from_pretrained(stat_head="no")


def test_cli_no_stat_head_flag(with_head, tmp_path, capsys):
    from mist.cli import main
    rng = np.random.default_rng(4)
    x, y = _aligned(14, 10, 0.9, rng)
    path = tmp_path / "d.csv"
    np.savetxt(path, np.concatenate([x, y], 1), delimiter=",")
    cols = ["--x", ",".join(map(str, range(10))), "--y", ",".join(map(str, range(10, 20)))]
    assert main(["estimate", str(path), *cols, "--checkpoint", str(with_head), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["method"] == "stat_head"
    assert main(["estimate", str(path), *cols, "--checkpoint", str(with_head), "--json", "--no-stat-head"]) == 0
    assert json.loads(capsys.readouterr().out)["method"] == "network"


# ------------------------------------------------------------------------------------ fitting
def test_fit_script_collects_resumes_and_writes_a_loadable_head(tmp_path, one_thread, capsys):
    folder = tmp_path / "ckpt"
    shutil.copytree(default_checkpoint_path(), folder)
    path = Path(__file__).resolve().parents[1] / "scripts" / "fit_stat_head.py"
    spec = importlib.util.spec_from_file_location("fit_stat_head", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    run = tmp_path / "run"
    args = ["--checkpoint", str(folder), "--fit-batches", "25", "--calib-batches", "25", "--steps", "40",
            "--width", "16", "--run-dir", str(run)]
    script.main(args + ["--dry-run"])
    assert "not written" in capsys.readouterr().out
    cached = np.load(run / "fit.npz")
    assert int(cached["done"]) == 25 and len(cached["truths"]) > 0
    assert cached["inputs"].shape == (len(cached["truths"]), len(STATISTICS) + len(NETWORK_LEVELS))
    script.main(args)                      # resumes from the caches: nothing is collected again
    out = capsys.readouterr().out
    assert f"{len(cached['truths'])} fit sets" in out and "written to" in out
    est = MIEstimator.from_pretrained(folder)
    assert est.stat_head is not None and est.stat_head_spec["fit"]["stream_seed"] == script.FIT_SEED
    with pytest.raises(SystemExit):
        script.main(["--checkpoint", str(folder), "--data", "no_such_data"])
