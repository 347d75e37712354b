"""Evaluation harness: baselines, neural estimators, X/Y handling, report, consistency check.

Everything here runs on tiny suites with small budgets (the whole file in well under a minute on
one core); the heavier end-to-end run of scripts/evaluate.py is marked slow.
"""

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mist import MIEstimator
from mist.data.stream import StreamConfig
from mist.checkpoint import save_checkpoint
from mist.evaluate import report
from mist.consistency import extrapolate_inverse_n, subsample_check
from mist.evaluate.gaussian_baseline import gaussian_mi
from mist.evaluate.estimators import make_baseline
from mist.evaluate.harness import evaluate, load_suite
from mist.evaluate.rows import estimator_rows, suite_sets
from mist.evaluate.ksg import ksg_mi
from mist.evaluate.neural import KINDS, NeuralEstimator, neural_mi
from mist.network.config import ModelConfig, build_model

ROOT = Path(__file__).resolve().parents[1]
TINY = ModelConfig(width=8, heads=2, blocks=1, n_inducing=2, pair_channels=2, head_width=16)
FAST_NEURAL = {"steps": 60, "batch_size": 64, "n_boot": 10}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _gaussian_pairs(n, rhos, dx, dy, seed=0):
    """x (n, dx), y (n, dy) with corr(x_j, y_j) = rhos[j]; closed-form MI = -1/2 sum log(1 - rho^2)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dx))
    y = rng.standard_normal((n, dy))
    for j, r in enumerate(rhos):
        y[:, j] = r * x[:, j] + math.sqrt(1 - r * r) * y[:, j]
    return x, y, float(-0.5 * np.sum(np.log1p(-np.square(rhos))))


def _batch(x, y, mi, family="gaussian", index=0):
    """One set in the stream's batch format."""
    return {"x": torch.tensor(x[None], dtype=torch.float32), "y": torch.tensor(y[None], dtype=torch.float32),
            "mi": torch.tensor([mi], dtype=torch.float32), "mi_se": torch.zeros(1), "family": [family],
            "params": [{}], "index": index}


# ----------------------------------------------------------------------- small real networks
def _copula_model(n_slope: float = 0.0) -> torch.nn.Module:
    """A real two-axis network whose head is set by hand: its median z-quantile is a monotone
    function of the network's own Gaussian-copula MI feature (log-det channel 0), plus
    n_slope * log(N) / 4. n_slope = 0 gives a consistent estimator, a large n_slope one whose
    answer drifts with N regardless of the data."""
    torch.manual_seed(0)
    model = build_model(TINY)
    w = TINY.width
    lin1, lin2, lin3 = model.head.mlp[0], model.head.mlp[2], model.head.mlp[4]
    with torch.no_grad():
        for lin in (lin1, lin2, lin3):
            lin.weight.zero_()
            lin.bias.zero_()
        lin1.weight[0, w + 4] = 1.0  # log1p(Gaussian-copula MI)
        lin1.weight[1, w] = 1.0      # log(N) / 4
        lin1.bias[:2] = 3.0          # GELU is ~identity above 3
        lin2.weight[0, 0] = lin2.weight[1, 1] = 1.0
        lin3.weight[0, 0] = 1.0
        lin3.weight[0, 1] = n_slope
        lin3.bias[0] = -3.0 - 3.0 * n_slope - 0.3
        lin3.bias[1:] = math.log(math.expm1(0.1))  # steps of 0.1 in z between levels
    return model.eval()


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny_ckpt")
    save_checkpoint(build_model(TINY), TINY, folder)
    return folder


@pytest.fixture(scope="module")
def tiny_suites():
    stream = StreamConfig(batch_size=2, cells_per_batch=1024)
    return {s: load_suite(s, 2, stream=stream) for s in ("imd", "oomd")}


# ------------------------------------------------------------------------------ baselines
def test_ksg_matches_closed_form_gaussian():
    x, y, true = _gaussian_pairs(1500, [0.8, 0.5], 2, 1 + 1, seed=1)
    r = make_baseline("ksg", {"ksg": {"k": 5, "n_boot": 8}}).estimate(x, y)
    est = r.mi
    assert abs(est - true) < 0.1
    q = {f"q{lv:g}": v for lv, v in r.quantiles.items()}
    assert q["q0.05"] <= q["q0.25"] <= q["q0.5"] <= q["q0.75"] <= q["q0.95"]
    assert q["q0.5"] == pytest.approx(ksg_mi(x, y, k=5))  # re-centred on the estimate


def test_cca_exact_on_gaussians_at_large_n():
    x, y, true = _gaussian_pairs(40000, [0.9, 0.6, 0.3], 3, 4, seed=2)
    r = make_baseline("cca", {"cca": {"n_boot": 20}}).estimate(x, y)
    est = r.mi
    assert est == pytest.approx(true, abs=0.02)
    q = {f"q{lv:g}": v for lv, v in r.quantiles.items()}
    assert q["q0.95"] - q["q0.05"] < 0.05


@pytest.mark.parametrize("kind", KINDS)
def test_neural_end_to_end_small_budget(kind):
    x, y, true = _gaussian_pairs(800, [0.8], 1, 1, seed=3)
    est = NeuralEstimator(kind, seed=0, steps=150, batch_size=128)
    a = est.estimate(x, y)
    assert a == est.estimate(x, y)  # seeded: same value twice
    assert abs(a - true) < 0.3
    out = NeuralEstimator(kind, seed=1, steps=40).estimate_with_quantiles(x, y, n_boot=10)
    qs = list(out["quantiles"].values())
    assert qs == sorted(qs) and np.isfinite(out["estimate"])


def test_infonce_capped_at_log_batch():
    x, y, true = _gaussian_pairs(600, [0.999, 0.999, 0.999], 3, 3, seed=4)  # 9.3 nats
    assert true > 3 * math.log(16)
    assert neural_mi(x, y, "infonce", steps=80, batch_size=16) <= math.log(16) + 1e-5


def test_neural_leaves_global_rng_alone():
    x, y, _ = _gaussian_pairs(100, [0.5], 1, 1)
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    neural_mi(x, y, "nwj", steps=5)
    assert torch.rand(1) == expected


# ------------------------------------------------------------------------ X / Y handling
def test_estimators_get_the_suite_x_and_y(tiny_ckpt):
    """dx = 1, dy = 3; x drives y[:, 0] only. A harness that split the joint columns at dy instead
    of dx would hand over x' = (x, y0, y1), y' = (y2), with MI ~ 0 instead of 1.2 nats."""
    rng = np.random.default_rng(5)
    n = 1200
    x = rng.standard_normal((n, 1))
    y = np.hstack([0.95 * x + math.sqrt(1 - 0.95**2) * rng.standard_normal((n, 1)), rng.standard_normal((n, 2))])
    true = -0.5 * math.log(1 - 0.95**2)
    batches = [_batch(x, y, true)]
    (meta, xs, ys), = list(suite_sets(batches, "t"))
    assert xs.shape == (n, 1) and ys.shape == (n, 3) and (meta["dx"], meta["dy"]) == (1, 3)
    joint = np.hstack([xs, ys])
    wrong = gaussian_mi(joint[:, :3], joint[:, 3:])
    assert wrong < 0.05  # the mix-up would be visible

    rows = {r["estimator"]: r for name in ("ksg", "cca", "infonce")
            for r in estimator_rows(make_baseline(name, {"neural": FAST_NEURAL}), batches, "t", name)}
    assert rows["cca"]["estimate"] == pytest.approx(gaussian_mi(xs, ys))
    assert rows["ksg"]["estimate"] == pytest.approx(ksg_mi(xs, ys, k=5))
    for name in ("ksg", "cca"):
        assert abs(rows[name]["estimate"] - true) < 0.25  # and far from the ~0 of a mix-up
    assert rows["infonce"]["estimate"] > 0.3
    critic, xe, ye = NeuralEstimator("mine", steps=1).fit(xs, ys)
    assert critic.f[0].in_features == 1 and critic.g[0].in_features == 3 and xe.shape[1] == 1

    est = MIEstimator.from_pretrained(tiny_ckpt)
    r, = estimator_rows(est, batches, "t", "mist")
    assert (r["dx"], r["dy"]) == (1, 3)
    assert r["estimate"] == pytest.approx(est.estimate(xs, ys).mi, abs=1e-6)


# ---------------------------------------------------------------------- consistency check
def _gaussian_copula_estimator(n_slope=0.0):
    return MIEstimator(_copula_model(n_slope), max_n=4096)


def test_consistency_passes_a_consistent_estimator():
    x, y, true = _gaussian_pairs(400, [0.7], 2, 2, seed=6)
    est = _gaussian_copula_estimator()
    r = est.estimate(x, y, check=True)
    c = r.extra["consistency"]
    assert r.consistent is True
    assert c["n"] == [400, 200, 100] and c["fractions"] == [1.0, 0.5, 0.25]
    assert c["overlap"] and c["extrapolation_ok"]
    assert c["mi"][0] == pytest.approx(r.mi, abs=1e-6)
    assert all(lo <= m <= hi for m, (lo, hi) in zip(c["mi"], c["intervals"]))
    assert est.estimate(x, y).consistent is None  # not checked


def test_consistency_flags_an_inconsistent_estimator():
    x, y, _ = _gaussian_pairs(400, [0.7], 2, 2, seed=6)
    est = _gaussian_copula_estimator(n_slope=20.0)  # the answer grows with log N
    c = subsample_check(est, x, y)
    assert c["consistent"] is False and c["overlap"] is False
    assert c["mi"][0] > c["mi"][1] > c["mi"][2]
    assert est.estimate(x, y, check=True).consistent is False


def test_consistency_too_few_rows_and_bad_arguments():
    x, y, _ = _gaussian_pairs(12, [0.5], 1, 1)
    c = subsample_check(_gaussian_copula_estimator(), x, y)
    assert c["consistent"] is None and c["skipped"] == [0.5, 0.25] and c["n"] == [12]
    with pytest.raises(ValueError):
        subsample_check(_gaussian_copula_estimator(), x, y, fractions=(1, 1.5))


def test_extrapolation_in_inverse_n():
    n = np.array([400, 200, 100])
    assert extrapolate_inverse_n(n, 2.0 - 50.0 / n) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        extrapolate_inverse_n([100], [1.0])


# ------------------------------------------------------------------------ report tables
def _rows():
    base = {"suite": "s", "n": 100, "dx": 1, "dy": 1, "family": "gaussian", "seconds": 0.5}
    return [
        {**base, "set_id": "a", "estimator": "e", "true_mi": 1.0, "estimate": 1.2, "q0.05": 0.8, "q0.25": 1.1,
         "q0.5": 1.2, "q0.75": 1.3, "q0.95": 1.5, "consistent": True},
        {**base, "set_id": "b", "estimator": "e", "true_mi": 2.0, "estimate": 1.0, "q0.05": 0.5, "q0.25": 0.8,
         "q0.5": 1.0, "q0.75": 1.2, "q0.95": 2.5, "consistent": False},
        {**base, "set_id": "c", "estimator": "e", "true_mi": 0.05, "estimate": 0.1, "q0.05": 0.0, "q0.25": 0.04,
         "q0.5": 0.1, "q0.75": 0.2, "q0.95": 0.3, "consistent": None, "n": 12},
        {**base, "set_id": "a", "estimator": "k", "true_mi": 1.0, "estimate": float("nan"), "consistent": None},
        {**base, "set_id": "b", "estimator": "k", "true_mi": 2.0, "estimate": 2.5, "consistent": None},
    ]


def test_metric_table_hand_computed():
    t = {r["estimator"]: r for r in report.metric_table(_rows())}
    e = t["e"]
    assert e["count"] == 3 and e["failed"] == 0
    assert e["mae"] == pytest.approx((0.2 + 1.0 + 0.05) / 3)
    assert e["bias"] == pytest.approx((0.2 - 1.0 + 0.05) / 3)
    assert e["solved"] == pytest.approx(2 / 3)
    assert e["cov90"] == pytest.approx(1.0) and e["cov50"] == pytest.approx(1 / 3)
    assert e["width50"] == pytest.approx((0.2 + 0.4 + 0.16) / 3)
    k = t["k"]
    assert k["count"] == 1 and k["failed"] == 1 and k["mae"] == pytest.approx(0.5) and k["cov90"] is None


def test_calibration_and_consistency_tables_hand_computed():
    cal = report.calibration_table(_rows())
    q = {c["nominal"]: c["empirical"] for c in cal if c["kind"] == "quantile"}
    assert q == pytest.approx({0.05: 0.0, 0.25: 1 / 3, 0.5: 2 / 3, 0.75: 2 / 3, 0.95: 1.0})
    central = {c["nominal"]: c["empirical"] for c in cal if c["kind"] == "central"}
    assert central == pytest.approx({0.9: 1.0, 0.5: 1 / 3})
    assert {c["estimator"] for c in cal} == {"e"}  # k has no quantiles

    cons = {(c["estimator"], c["suite"]): c for c in report.consistency_table(_rows())}
    assert set(cons) == {("e", "s"), ("e", "all")}
    c = cons["e", "s"]
    # checked: a (solved, not flagged), b (wrong: 1.0 vs 2.0, flagged); c unchecked (N < 16)
    assert (c["checked"], c["unchecked"], c["n_wrong"]) == (2, 1, 1)
    assert c["flagged"] == 0.5 and c["flagged_wrong"] == 1.0 and c["flagged_good"] == 0.0
    assert c["wrong_given_flag"] == 1.0 and c["wrong_given_pass"] == 0.0
    assert c["n_missed"] == 0 and c["flagged_missed"] is None


def test_csv_round_trip(tmp_path):
    rows = _rows()
    back = report.read_csv(report.write_csv(rows, tmp_path / "e.csv"))
    assert len(back) == len(rows)
    for a, b in zip(rows, back):
        for key, v in a.items():
            if isinstance(v, float) and math.isnan(v):
                assert math.isnan(b[key])
            else:
                assert b[key] == v
    assert back[3]["q0.05"] is None  # missing column -> None


# ---------------------------------------------------------------- end to end, into files
def test_evaluate_and_report_on_tiny_suites(tmp_path, tiny_ckpt, tiny_suites):
    est = MIEstimator.from_pretrained(tiny_ckpt)
    settings = {"ksg": {"n_boot": 4}, "cca": {"n_boot": 10}, "neural": FAST_NEURAL}
    names = ["mist", "ksg", "cca", "mine", "infonce", "nwj"]
    rows = evaluate(tiny_suites, names, settings, {"mist": est}, progress=False)
    n_sets = sum(len(b["mi"]) for bs in tiny_suites.values() for b in bs)
    assert len(rows) == len(names) * n_sets
    for r in rows:
        assert r["estimator"] in names and r["suite"] in tiny_suites
        assert math.isfinite(r["estimate"]) or "error" in r
    mist = [r for r in rows if r["estimator"] == "mist"]
    assert all("q0.025" in r and "q0.975" in r and "consistent" in r for r in mist)

    csv_path = report.write_csv(rows, tmp_path / "run" / "estimates.csv")
    back = report.read_csv(csv_path)
    out = report.write_report(back, tmp_path / "run", meta={"suites": "tiny"},
                              descriptions={"mist": "tiny network", "ksg": "KSG"})
    text = out["report"].read_text()
    for needle in ("## Suite `imd`", "## Suite `oomd`", "### By N", "### By family", "### By true MI",
                   "## Calibration", "## Reliability check", "P(flag | wrong)", "| infonce |",
                   "![Estimate vs truth](estimate_vs_truth.png)"):
        assert needle in text
    for p in out["plots"]:
        assert p.is_file() and p.stat().st_size > 1000 and p.read_bytes()[:4] == b"\x89PNG"

    docs = report.write_report(back, tmp_path / "docs", report_name="benchmark.md",
                               fig_dir=tmp_path / "docs" / "benchmark", fig_link="benchmark/")
    assert "](benchmark/calibration.png)" in docs["report"].read_text()
    assert (tmp_path / "docs" / "benchmark" / "calibration.png").is_file()


def test_unknown_estimator_fails_before_running(tiny_suites):
    with pytest.raises(ValueError, match="unknown estimators"):
        evaluate(tiny_suites, ["ksg", "nope"], progress=False)


def test_suite_on_disk(tmp_path, tiny_suites):
    from mist.data.shards import write_shards

    batches = tiny_suites["imd"]
    write_shards(lambda k: batches[k], len(batches), 1, tmp_path / "shards", progress=False)
    disk = load_suite("disk", folder=tmp_path / "shards")
    assert len(disk) == len(batches)
    assert torch.equal(disk[1]["x"], batches[1]["x"]) and disk[1]["family"] == batches[1]["family"]
    rows = estimator_rows(make_baseline("cca", {"cca": {"n_boot": 0}}), disk, "disk", "cca")
    assert len(rows) == sum(len(b["mi"]) for b in batches) and "q0.05" not in rows[0]


def _load_script():
    """The library function behind scripts/evaluate.py (the script is a thin Hydra entry point)."""
    from mist.evaluate.benchmark import run_benchmark

    return SimpleNamespace(run=run_benchmark)


def test_script_with_hydra_config(tmp_path, tiny_ckpt):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("evaluate", overrides=[
            "estimators=[mist,ksg,cca]", "suites.imd=1", "suites.oomd=1", "max_sets_per_batch=1",
            f"checkpoint={tiny_ckpt}", f"out_dir={tmp_path / 'run'}", f"docs_dir={tmp_path / 'docs'}",
            "ksg.n_boot=3", "cca.n_boot=5", "progress=false", "data.stream.cells_per_batch=4096"])
    out = _load_script().run(cfg)
    assert Path(out["csv"]).is_file() and Path(out["report"]).is_file()
    assert (tmp_path / "docs" / "benchmark.md").is_file()
    assert (tmp_path / "docs" / "benchmark" / "time.png").is_file()
    rows = report.read_csv(out["csv"])
    assert {r["estimator"] for r in rows} == {"mist", "ksg", "cca"} and {r["suite"] for r in rows} == {"imd", "oomd"}


def test_script_reports_a_missing_checkpoint(tmp_path):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("evaluate", overrides=[f"checkpoint={tmp_path / 'none'}", f"out_dir={tmp_path / 'run'}"])
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        _load_script().run(cfg)


@pytest.mark.slow
def test_script_end_to_end_all_estimators(tmp_path, tiny_ckpt):
    """The real command line (a subprocess through Hydra) with every estimator, small budgets."""
    import subprocess
    import sys

    cmd = [sys.executable, str(ROOT / "scripts" / "evaluate.py"), "estimators=[mist,ksg,cca,mine,infonce,nwj,smile]",
           "suites.imd=2", "suites.oomd=2", "max_sets_per_batch=2", f"checkpoint={tiny_ckpt}",
           f"out_dir={tmp_path / 'run'}", "neural.steps=50", "neural.n_boot=5", "ksg.n_boot=5",
           "torch_threads=1", "progress=false"]
    subprocess.run(cmd, check=True, cwd=ROOT, timeout=600)
    rows = report.read_csv(tmp_path / "run" / "estimates.csv")
    assert len({r["estimator"] for r in rows}) == 7
    assert (tmp_path / "run" / "report.md").is_file()
