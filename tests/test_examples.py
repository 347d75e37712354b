"""The worked examples under examples/ reach their outcome at small settings (not just run).

They need a trained estimator: all tests here load the shipped checkpoint
(MIEstimator.from_pretrained(); MIST_TEST_CHECKPOINT=folder overrides it, e.g. to try a
design-study checkpoint). Small settings: ~10 s in all on one core.
"""

import importlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mist import MIEstimator

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def est():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield MIEstimator.from_pretrained(os.environ.get("MIST_TEST_CHECKPOINT") or None)
    torch.set_num_threads(n)


def _example(name):
    sys.path.insert(0, str(EXAMPLES))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(EXAMPLES))


def test_maximize_mi_finds_planted_subspace(est, tmp_path):
    ex = _example("maximize_mi")
    r = ex.run(est=est, out=tmp_path, **ex.SMALL)
    assert r["overlap_before"] < 0.5                      # a random start is far from S
    assert r["overlap_after"] > 0.9 and r["max_angle_after_deg"] < 25
    assert r["mi_after"] > r["mi_before"] + 0.5           # held out, hard-rank estimate
    assert r["mi_after"] > 0.8 * r["mi_planted"]
    assert Path(r["plot"]).is_file()


def test_minimize_mi_removes_sensitive_information(est, tmp_path):
    ex = _example("minimize_mi")
    r = ex.run(est=est, out=tmp_path, **ex.SMALL)
    assert r["baseline_mi"] > 0.2 and r["baseline_ksg"] > 0.2     # cross-entropy alone keeps s
    assert r["fair_mi"] < 0.3 * r["baseline_mi"]
    assert r["fair_ksg"] < 0.3 * r["baseline_ksg"]                # an independent estimator agrees
    assert r["fair_acc"] > 0.8 and r["fair_acc"] >= r["baseline_acc"] - 0.05
    assert Path(r["plot"]).is_file()


def test_information_plane_tracks_learning(est, tmp_path):
    ex = _example("information_plane")
    r = ex.run(est=est, out=tmp_path, **ex.SMALL)
    h = r["history"]
    i_ty_last = np.array(h["i_ty"])[:, -1]
    assert len(h["epoch"]) == ex.SMALL["epochs"] + 1 and np.isfinite(np.array(h["i_xt"])).all()
    assert r["acc_after"] > r["acc_before"] + 0.3
    assert i_ty_last[-1] > i_ty_last[0] + 0.15                     # the last layer learns about Y
    assert np.corrcoef(i_ty_last, h["acc"])[0, 1] > 0.5             # ... in step with accuracy
    assert max(r["i_ty_after"]) < r["h_y"] + 0.3                    # I(T; Y) <= H(Y), up to error
    assert r["i_xt_after"][0] > r["i_xt_after"][-1]                 # data processing: T1 knows more of X
    assert Path(r["plot"]).is_file()
