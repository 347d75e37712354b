"""Conformal interval calibration: the fit reaches nominal coverage on fresh data, the applied
quantiles stay ordered, and a checkpoint carries and applies its calibration."""

import json

import numpy as np
import pytest
import torch

from mist.checkpoint import load_checkpoint
from mist.train.calibrate import calibrate_checkpoint, interval_coverage
from mist.network.calibration import apply_offsets, fit_offsets
from mist.network.quantiles import DEFAULT_LEVELS

LEVELS = list(DEFAULT_LEVELS)


def _overconfident(n, rng):
    """Truth ~ N(m, 1) but the predicted quantiles are those of N(m, 0.5^2): too narrow."""
    from scipy.stats import norm
    m = rng.uniform(2, 4, n)
    pred = m[:, None] + 0.5 * norm.ppf(LEVELS)[None, :]
    return pred, m + rng.standard_normal(n)


def test_fitted_offsets_reach_nominal_coverage_on_fresh_sets():
    rng = np.random.default_rng(0)
    pred, truth = _overconfident(4000, rng)
    offsets = fit_offsets(pred, truth, LEVELS)
    assert offsets[4] == 0 and all(offsets[i] == -offsets[8 - i] for i in range(4))
    fresh_pred, fresh_truth = _overconfident(20000, rng)
    before = interval_coverage(fresh_pred, fresh_truth, LEVELS)
    after = interval_coverage(apply_offsets(torch.tensor(fresh_pred), torch.tensor(offsets)).numpy(),
                              fresh_truth, LEVELS)
    for nominal, cov in after.items():
        assert before[nominal] < float(nominal) - 0.1       # the raw intervals are too narrow
        assert abs(cov - float(nominal)) < 0.02, (nominal, cov)


def test_applied_quantiles_stay_ordered_and_nonnegative():
    z = torch.tensor([[0.0, 0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9]])
    assert torch.equal(apply_offsets(z, torch.zeros(9)), z)
    crossing = torch.tensor([-0.3, 0.5, 0.0, -0.4, 0.0, 0.4, -0.6, 0.0, 0.2])  # not a fitted shape
    out = apply_offsets(z, crossing)
    assert (out.diff(dim=-1) >= 0).all() and (out >= 0).all() and out[0, 4] == z[0, 4]


def test_checkpoint_applies_its_calibration(tiny_checkpoint, tmp_path):
    import shutil
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, folder)
    raw, _ = load_checkpoint(folder)
    record = calibrate_checkpoint(folder, batches=2)
    assert record["sets"] > 0 and len(record["offsets_z"]) == len(LEVELS)
    assert json.loads((folder / "config.json").read_text())["calibration"]["split"] == "calib"
    calibrated, _ = load_checkpoint(folder)
    x, y = torch.randn(2, 30, 2), torch.randn(2, 30, 3)
    with torch.no_grad():
        expected = apply_offsets(raw(x, y), torch.tensor(record["offsets_z"]))
        torch.testing.assert_close(calibrated(x, y), expected)


def test_wrong_number_of_offsets_is_refused(tiny_checkpoint):
    model, _ = load_checkpoint(tiny_checkpoint)
    with pytest.raises(ValueError, match="offsets"):
        model.head.set_calibration([0.0, 0.1])


# ------------------------------------------------------------------ regime calibration (design §12f)
from mist import MIEstimator  # noqa: E402
from mist.checkpoint import default_checkpoint_path, update_record  # noqa: E402
from mist.data.prior import PriorConfig  # noqa: E402
from mist.network.quantiles import report_mi  # noqa: E402
from mist.regime_calibration import calibrate_regime  # noqa: E402

WIDEN = [-0.4, -0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3, 0.4]


@pytest.fixture
def shipped_copy(tmp_path):
    """The shipped checkpoint without its regime calibration (tests add their own) and without
    its singular-regime head (these tests are about the network's quantiles)."""
    import shutil
    folder = tmp_path / "ckpt"
    shutil.copytree(default_checkpoint_path(), folder)
    config = json.loads((folder / "config.json").read_text())
    config.pop("regime_calibration", None)
    config.pop("stat_head", None)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def _widened(folder, regime, n_range=(8, 127)):
    update_record(folder, regime_calibration={"regime": regime, "n_range": list(n_range), "offsets_z": WIDEN})
    return MIEstimator.from_pretrained(folder)


def _expected(plain, r):
    z = torch.log1p(torch.tensor([r.quantiles[lv] for lv in plain.levels], dtype=torch.float64))
    return report_mi(apply_offsets(z[None], torch.tensor(WIDEN, dtype=torch.float64))[0]).tolist()


def test_reduced_regime_widens_only_cut_sets_in_its_n_range(shipped_copy, one_thread):
    rng = np.random.default_rng(0)
    plain = MIEstimator.from_pretrained(shipped_copy)
    widened = _widened(shipped_copy, "reduced", (8, 100))
    z = rng.standard_normal((60, 44))
    cut = (z[:, :40], z[:, 40:])                  # 40 > 32 columns at N = 60: cut, widened
    uncut = (z[:, :20], z[:, 20:30])              # N = 60 > 30, within 32 columns: untouched
    assert plain.dim_max(60) == 32
    assert widened.estimate(*uncut).quantiles == plain.estimate(*uncut).quantiles
    a, b = plain.estimate(*cut), widened.estimate(*cut)
    assert "reduced_to" in b.extra and b.mi == a.mi
    assert [b.quantiles[lv] for lv in plain.levels] == pytest.approx(_expected(plain, a), rel=1e-9, abs=1e-12)
    assert b.quantiles[0.975] > a.quantiles[0.975]
    big = np.random.default_rng(1).standard_normal((110, 44))   # cut, but N = 110 beyond the fitted range
    assert widened.estimate(big[:, :40], big[:, 40:]).quantiles == plain.estimate(big[:, :40], big[:, 40:]).quantiles


def test_singular_regime_widens_where_n_is_at_most_dx_plus_dy(shipped_copy, one_thread):
    rng = np.random.default_rng(0)
    plain = MIEstimator.from_pretrained(shipped_copy)
    widened = _widened(shipped_copy, "singular")
    z = rng.standard_normal((10, 12))
    wide = (z[:, :6], z[:, 6:] + 0.3 * rng.standard_normal((10, 6)))    # N = 10 <= 12: widened
    tall = (z[:, :1], z[:, 1:2])                                        # N = 10 > 2: untouched
    assert widened.estimate(*tall).quantiles == plain.estimate(*tall).quantiles
    a, b = plain.estimate(*wide), widened.estimate(*wide)
    assert b.mi == a.mi and b.extra["prior_driven"]
    assert [b.quantiles[lv] for lv in plain.levels] == pytest.approx(_expected(plain, a), rel=1e-9, abs=1e-12)
    assert b.quantiles[0.975] > a.quantiles[0.975]


@pytest.mark.parametrize("bad, field", [
    ({"regime": "reduced", "n_range": [8, 127], "offsets_z": [0.1] * 9}, "offsets_z"),
    ({"regime": "reduced", "n_range": [8, 127], "offsets_z": WIDEN[:-1] + [float("nan")]}, "offsets_z"),
    ({"regime": "reduced", "n_range": [8, 127], "offsets_z": "wide"}, "offsets_z"),
    ({"regime": "tall", "n_range": [8, 127], "offsets_z": WIDEN}, "regime"),
    ({"regime": "reduced", "n_range": [127, 8], "offsets_z": WIDEN}, "n_range"),
    ({"regime": "reduced", "offsets_z": WIDEN}, "n_range"),
    ([0.0] * 9, "must be an object")])
def test_a_malformed_regime_calibration_is_refused_on_load(shipped_copy, bad, field):
    update_record(shipped_copy, regime_calibration=bad)
    with pytest.raises(ValueError, match=f"regime_calibration.*{field}|{field}.*regime_calibration"):
        MIEstimator.from_pretrained(shipped_copy)


def test_regime_offsets_must_match_the_networks_levels(shipped_copy):
    update_record(shipped_copy, regime_calibration={"regime": "reduced", "n_range": [8, 127],
                                                    "offsets_z": [-0.1, 0.0, 0.1]})
    with pytest.raises(ValueError, match="3 offsets for the network's 9"):
        MIEstimator.from_pretrained(shipped_copy)


def test_calibrate_regime_fits_writes_and_covers_its_sets(shipped_copy, one_thread):
    prior = PriorConfig(n_min=8, n_max=12, dim_min=6, dim_max=10)   # always N <= dx + dy
    r = calibrate_regime(shipped_copy, prior, "singular", batches=3)
    assert r["regime_batches"] == 3 and r["sets"] > 20 and r["n_range"] == [8, 12]
    assert r["offsets_z"][4] == 0 and all(r["offsets_z"][i] == -r["offsets_z"][8 - i] for i in range(4))
    for nominal, cov in r["coverage_after"].items():   # split conformal: >= nominal on its own sets
        assert cov >= float(nominal) - 1e-9, (nominal, cov)
    est = MIEstimator.from_pretrained(shipped_copy)
    assert est.regime_calibration[0] == "singular"
    assert est.regime_calibration[2].tolist() == pytest.approx(r["offsets_z"])
    narrow = PriorConfig(n_min=64, n_max=127, dim_min=1, dim_max=4)  # never cut, never singular
    for regime in ("reduced", "singular"):
        with pytest.raises(ValueError, match="no batch among the first 2"):
            calibrate_regime(shipped_copy, narrow, regime, batches=2, write=False)
    with pytest.raises(ValueError, match="regime must be one of"):
        calibrate_regime(shipped_copy, narrow, "tall", batches=2, write=False)


def test_calibrate_regimes_script_composes_the_extended_prior_and_dry_runs(shipped_copy, one_thread, capsys):
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "scripts" / "calibrate_regimes.py"
    spec = importlib.util.spec_from_file_location("calibrate_regimes", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    prior = script.data_prior("extended", 127)   # as training composes conf/data/extended.yaml
    assert prior.dim_max == 64 and prior.n_max == 127 and prior.families["structured"] > 0
    before = (shipped_copy / "config.json").read_text()
    script.main(["--checkpoint", str(shipped_copy), "--regime", "singular", "--batches", "4", "--n-max", "12",
                 "--dry-run"])
    out = capsys.readouterr().out
    assert "regime 'singular', N [8, 12]" in out and "not written (--dry-run)" in out
    assert (shipped_copy / "config.json").read_text() == before
    with pytest.raises(SystemExit):
        script.main(["--checkpoint", str(shipped_copy), "--data", "no_such_data"])


# ------------------------------------------------------------------ one expert on another prior (design §12h)
def test_one_expert_recalibrated_on_a_given_prior_leaves_the_other_as_it_was(shipped_copy, one_thread):
    from safetensors.torch import load_file
    before0 = load_file(str(shipped_copy / "expert0" / "model.safetensors"))["head.calibration_z"]
    record0 = json.loads((shipped_copy / "expert0" / "config.json").read_text())["calibration"]
    prior = PriorConfig(n_max=160, dim_max=2)  # N is cut to the expert's range: 128-160
    r = calibrate_checkpoint(shipped_copy, batches=2, prior=prior, prior_source="a test prior", expert=1)
    assert r["experts"][0] == record0 and r["experts"][1]["prior"] == "a test prior"
    assert r["experts"][1]["n_range"] == [128, 160] and r["sets"] == r["experts"][1]["sets"] + record0["sets"]
    after0 = load_file(str(shipped_copy / "expert0" / "model.safetensors"))["head.calibration_z"]
    torch.testing.assert_close(after0, before0)
    after1 = load_file(str(shipped_copy / "expert1" / "model.safetensors"))["head.calibration_z"]
    torch.testing.assert_close(after1, torch.tensor(r["experts"][1]["offsets_z"], dtype=after1.dtype))
    MIEstimator.from_pretrained(shipped_copy)  # still loads
    with pytest.raises(ValueError, match="expert index 2 out of range"):
        calibrate_checkpoint(shipped_copy, batches=1, expert=2)


def test_expert_index_on_a_single_network_is_refused(tiny_checkpoint):
    with pytest.raises(ValueError, match="not routed"):
        calibrate_checkpoint(tiny_checkpoint, batches=1, expert=0)


def test_calibrate_script_refuses_an_unknown_data_config(shipped_copy):
    import subprocess
    import sys
    from pathlib import Path
    script = Path(__file__).resolve().parents[1] / "scripts" / "calibrate.py"
    out = subprocess.run([sys.executable, str(script), "--checkpoint", str(shipped_copy), "--data", "no_such_data"],
                         capture_output=True, text=True)
    assert out.returncode != 0 and "no conf/data/no_such_data.yaml" in out.stderr
