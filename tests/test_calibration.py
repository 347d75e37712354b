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
