"""Hand-computed checks of the evaluation metrics."""

import math

import numpy as np
import pytest

from mist.metrics import (
    bias,
    coverage,
    dim_bin,
    mae,
    mean_width,
    mi_bin,
    n_bin,
    rmse,
    solved_share,
    summarize,
)

E = [1.0, 2.0, 4.0]
T = [1.0, 1.0, 4.0]


def test_point_metrics():
    assert mae(E, T) == pytest.approx(1 / 3)
    assert bias(E, T) == pytest.approx(1 / 3)
    assert rmse(E, T) == pytest.approx(math.sqrt(1 / 3))
    assert solved_share(E, T) == pytest.approx(2 / 3)
    assert bias([0.0, 1.0], [1.0, 1.0]) == pytest.approx(-0.5)


def test_solved_share_edges():
    # ratio rule: 1.4 / 1 solved, 1.6 / 1 not, 1 / 1.6 not; e <= 0 with t >= 0.1 never solved
    assert solved_share([1.4, 1.6, 1.0, 0.0, -1.0], [1.0, 1.0, 1.6, 0.5, 0.5]) == pytest.approx(0.2)
    # absolute rule below 0.1 nats, including t == 0 and e <= 0
    assert solved_share([0.05, -0.05, 0.2, 0.15], [0.0, 0.0, 0.0, 0.09]) == pytest.approx(0.75)
    assert solved_share([np.nan], [1.0]) == 0.0
    assert solved_share([1.9], [1.0], factor=2.0) == 1.0
    with pytest.raises(ValueError):
        solved_share([1.0], [1.0], factor=1.0)


def test_shape_validation():
    with pytest.raises(ValueError):
        mae([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        rmse([], [])


def test_interval_metrics():
    lo, hi, t = [0.0, 1.0, 2.0, 0.5], [1.0, 2.0, 3.0, 0.6], [1.0, 0.5, 2.5, 0.7]
    assert coverage(lo, hi, t) == pytest.approx(0.5)  # endpoints count as covered
    assert mean_width(lo, hi) == pytest.approx((1 + 1 + 1 + 0.1) / 4)


def test_bins():
    assert [n_bin(n) for n in (8, 31, 32, 511, 512, 2048, 2049)] == [
        "[8,32)", "[8,32)", "[32,128)", "[128,512)", "[512,2048]", "[512,2048]", ">2048"
    ]
    assert [mi_bin(v) for v in (0.0, 0.1, 0.99, 3.0, 100.0)] == ["[0,0.1)", "[0.1,0.5)", "[0.5,1)", "[2,4)", ">=8"]
    assert [dim_bin(d) for d in (2, 4, 5, 16, 32, 33)] == ["2-4", "2-4", "5-8", "9-16", "17-32", ">32"]
    for fn, bad in ((n_bin, 7), (mi_bin, -0.1), (dim_bin, 1), (mi_bin, float("nan"))):
        with pytest.raises(ValueError):
            fn(bad)


RECORDS = [
    {"est": "a", "n": 600, "true_mi": 1.0, "estimate": 1.0, "lo": 0.5, "hi": 1.5},
    {"est": "a", "n": 10, "true_mi": 1.0, "estimate": 2.0, "lo": 1.5, "hi": 2.5},
    {"est": "b", "n": 100, "true_mi": 4.0, "estimate": 4.0, "lo": 3.0, "hi": 5.0},
    {"est": "b", "n": 20, "true_mi": 0.0, "estimate": 0.05, "lo": 0.0, "hi": 0.2},
]


def test_summarize_by_key():
    out = summarize(RECORDS, by="est", lo_key="lo", hi_key="hi")
    assert [r["group"] for r in out] == ["a", "b"]
    a, b = out
    assert a["count"] == 2 and a["mae"] == pytest.approx(0.5) and a["bias"] == pytest.approx(0.5)
    assert a["rmse"] == pytest.approx(math.sqrt(0.5)) and a["solved"] == pytest.approx(0.5)
    assert a["coverage"] == pytest.approx(0.5) and a["width"] == pytest.approx(1.0)
    assert b["solved"] == 1.0 and b["coverage"] == 1.0 and b["width"] == pytest.approx(1.1)
    assert "coverage" not in summarize(RECORDS, by="est")[0]


def test_summarize_by_bin():
    out = summarize(RECORDS, by=("n", n_bin))
    assert [(r["group"], r["count"]) for r in out] == [("[8,32)", 2), ("[32,128)", 1), ("[512,2048]", 1)]
    out = summarize(RECORDS, by=lambda r: mi_bin(r["true_mi"]), order=mi_bin.labels)
    assert [r["group"] for r in out] == ["[0,0.1)", "[1,2)", "[4,8)"]
    assert out[1]["mae"] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        summarize(RECORDS, by="est", lo_key="lo")


def test_headline_summary_hand_computed():
    from mist.metrics import headline
    rows = [{"true_mi": 1.0, "estimate": 1.0, "q0.05": 0.0, "q0.95": 2.0, "q0.25": 0.9, "q0.75": 1.1},
            {"true_mi": 1.0, "estimate": 2.0, "q0.05": 1.5, "q0.95": 3.0, "q0.25": 1.8, "q0.75": 2.2},
            {"true_mi": 4.0, "estimate": 4.0, "q0.05": 3.0, "q0.95": 5.0, "q0.25": 3.9, "q0.75": 4.1}]
    h = headline(rows)
    assert h["mae"] == pytest.approx(1 / 3) and h["bias"] == pytest.approx(1 / 3)
    assert h["cov90"] == pytest.approx(2 / 3) and h["cov50"] == pytest.approx(2 / 3)
    assert "cov90" not in headline([{"true_mi": 1.0, "estimate": 1.0}])
