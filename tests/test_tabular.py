"""mist.tabular (mi_matrix, MIMatrix, heatmap), DataFrame inputs (mist._frames) and `mist matrix`."""

import json

import numpy as np
import pytest
import torch

import mist.tabular as tabular
from mist import MIEstimator, MIMatrix, mi_matrix
from mist.cli import main

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def est(tiny_checkpoint):
    return MIEstimator.from_pretrained(tiny_checkpoint, max_n=256)


def _table(n=120, c=5, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.standard_normal((n, c))
    t[:, 1] += t[:, 0]
    return t


def test_matrix_matches_estimate_per_pair(est):
    t = _table()
    m = mi_matrix(t, estimator=est)
    assert isinstance(m, MIMatrix) and m.columns == ["0", "1", "2", "3", "4"] and m.n == 120
    assert np.isnan(np.diag(m.mi)).all() and np.isnan(np.diag(m.low)).all()
    np.testing.assert_array_equal(m.mi, m.mi.T)
    for i, j in [(0, 1), (2, 4), (3, 0)]:
        r = est.estimate(t[:, i], t[:, j])
        lo, hi = r.interval(0.9)
        np.testing.assert_allclose([m.mi[i, j], m.low[i, j], m.high[i, j]], [r.mi, lo, hi], rtol=1e-5, atol=1e-7)
    off = ~np.eye(5, dtype=bool)
    assert (m.low[off] <= m.mi[off]).all() and (m.mi[off] <= m.high[off]).all()


def test_chunking_large_n_and_seed(est, monkeypatch):
    t = _table(n=600, c=4)  # N > max_n = 256: random row subsets, the same for every pair
    m1 = mi_matrix(t, estimator=est)
    monkeypatch.setattr(tabular, "CODE_CELLS_PER_CHUNK", 1)  # one pair per chunk: the same numbers
    m2 = mi_matrix(t, estimator=est, progress=True)
    np.testing.assert_allclose(m1.mi, m2.mi, rtol=1e-6)
    assert np.isfinite(m1.mi[~np.eye(4, dtype=bool)]).all()
    # the subsets depend only on N and the seed, as estimate's do: the same numbers
    assert m1.mi[0, 1] == pytest.approx(est.estimate(t[:, 0], t[:, 1]).mi, rel=1e-5)


def test_columns_groups_and_constant(est):
    t = _table(c=4)
    t[:, 3] = 2.0
    m = mi_matrix(t, columns=[2, 0, 3], estimator=est)
    assert m.columns == ["2", "0", "3"] and m.constant == ["3"]
    assert m.mi[0, 2] == m.low[0, 2] == m.high[0, 2] == 0.0  # a constant carries 0 nats
    g = mi_matrix(t, groups={"ab": [0, 1], "c": 2, "cd": [3]}, estimator=est)
    assert g.columns == ["ab", "c", "cd"]
    r = est.estimate(t[:, :2], t[:, 2])
    assert g.mi[0, 1] == pytest.approx(r.mi, rel=1e-5, abs=1e-7) and g.mi[0, 2] == 0.0
    with pytest.raises(ValueError, match="share column"):
        mi_matrix(t, groups={"a": [0, 1], "b": [1, 2]}, estimator=est)
    with pytest.raises(ValueError, match="not both"):
        mi_matrix(t, columns=[0, 1], groups={"a": [0]}, estimator=est)
    with pytest.raises(ValueError, match="no column 'zz'"):
        mi_matrix(t, columns=[0, "zz"], estimator=est)
    with pytest.raises(ValueError, match="level must be in"):
        mi_matrix(t, level=0.99, estimator=est)
    assert mi_matrix(t, level=0.5, estimator=est).low[0, 1] >= mi_matrix(t, estimator=est).low[0, 1]
    with pytest.raises(ValueError, match="at least 8 samples"):
        mi_matrix(t[:5], estimator=est)
    bad = t.copy()
    bad[7, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        mi_matrix(bad, estimator=est)


def test_pairs_csv_and_plot(est, tmp_path):
    m = mi_matrix(_table(c=3), estimator=est)
    pairs = m.pairs()
    assert len(pairs) == 3 and pairs[0][2] >= pairs[1][2] >= pairs[2][2]
    square = m.to_csv(tmp_path / "mi.csv").read_text().splitlines()
    assert square[0] == ",0,1,2" and square[1].startswith("0,,")
    long = m.to_csv(tmp_path / "long.csv", long=True).read_text().splitlines()
    assert long[0] == "a,b,mi,low,high" and len(long) == 4
    fig = m.plot(tmp_path / "mi.png")
    assert (tmp_path / "mi.png").stat().st_size > 1000 and fig.axes


def test_dataframe_in_labelled_out(est):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(_table(c=3), columns=["u", "v", "w"])
    df["flag"] = df["u"] > 0  # booleans are numbers
    m = mi_matrix(df, estimator=est)
    assert isinstance(m.mi, pd.DataFrame) and list(m.mi.index) == ["u", "v", "w", "flag"]
    assert m.mi.loc["u", "v"] == pytest.approx(est.estimate(df["u"], df["v"]).mi, rel=1e-5)
    assert mi_matrix(df, columns=["w", "u"], estimator=est).columns == ["w", "u"]
    df["kind"] = pd.Categorical(np.where(df["u"] > 0, "hi", "lo"))
    with pytest.raises(ValueError, match=r"column 'kind' is categorical.*cat\.codes"):
        mi_matrix(df, estimator=est)
    df["kind"] = df["kind"].astype(str)
    with pytest.raises(ValueError, match=r"column 'kind'.*one-hot"):
        mi_matrix(df, estimator=est)


def test_estimate_accepts_frames(est):
    pd = pytest.importorskip("pandas")
    t = _table(c=3)
    df = pd.DataFrame(t, columns=["a", "b", "c"])
    r_df = est.estimate(df[["a", "b"]], df["c"])
    assert r_df.mi == pytest.approx(est.estimate(t[:, :2], t[:, 2]).mi, rel=1e-6)
    df.loc[3, "b"] = None
    with pytest.raises(ValueError, match=r"column 'b' has 1 missing value\(s\), in rows \[3\]"):
        est.estimate(df[["a", "b"]], df["c"])
    with pytest.raises(ValueError, match="date/time"):
        est.estimate(pd.DataFrame({"t": pd.date_range("2020", periods=120)}), df["c"])


def test_polars_frames(est):
    pl = pytest.importorskip("polars")
    t = _table(c=3)
    df = pl.DataFrame({"a": t[:, 0], "b": t[:, 1], "c": t[:, 2]})
    m = mi_matrix(df, estimator=est)
    assert m.columns == ["a", "b", "c"] and isinstance(m.mi, np.ndarray)
    assert m.mi[0, 1] == pytest.approx(mi_matrix(t, estimator=est).mi[0, 1])
    with pytest.raises(ValueError, match="column 's'"):
        mi_matrix(df.with_columns(s=pl.lit("x")), estimator=est)


def test_cli_matrix(est, tiny_checkpoint, tmp_path, capsys):
    t = _table(c=3)
    path = tmp_path / "data.csv"
    np.savetxt(path, t, delimiter=",", header="p,q,r", comments="")
    out, png = tmp_path / "mi.csv", tmp_path / "mi.png"
    assert main(["matrix", str(path), "--out", str(out), "--plot", str(png), "--checkpoint", str(tiny_checkpoint)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == ",p,q,r" and png.stat().st_size > 1000
    assert "top pairs" in capsys.readouterr().out
    assert main(["matrix", str(path), "--columns", "r,p", "--long", "--checkpoint", str(tiny_checkpoint)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "a,b,mi,low,high" and printed[1].startswith("r,p,")
    with pytest.raises(SystemExit, match="at least two columns"):
        main(["matrix", str(path), "--columns", "p", "--checkpoint", str(tiny_checkpoint)])
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("a,b,kind\n" + "".join(f"{u},{v},{'x' if u > 0 else 'y'}\n" for u, v in t[:, :2]))
    with pytest.raises(SystemExit, match=r"column 'kind'.*not a number.*--columns"):
        main(["matrix", str(labelled), "--checkpoint", str(tiny_checkpoint)])
    assert main(["matrix", str(labelled), "--columns", "a,b", "--checkpoint", str(tiny_checkpoint)]) == 0


def _bench_module():
    """benchmarks/bench_tabular.py as a module (benchmarks/ is not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_tabular.py"
    spec = importlib.util.spec_from_file_location("bench_tabular", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_bench_tabular_smoke(capsys):
    """benchmarks/bench_tabular.py runs end to end at tiny settings (the real run: its docstring)."""
    bench = _bench_module()
    before = torch.get_num_threads()
    try:
        bench.main(["--sections", "matrix,time,power,size", "--matrix-columns", "4", "--matrix-n", "40", "--wide", "5",
                    "--time-n", "30", "--time-perms", "3", "--power-reps", "2", "--power-perms", "3",
                    "--power-n", "20", "--size-reps", "2", "--size-n", "16", "--size-d", "1"])
    finally:
        torch.set_num_threads(before)
    out = capsys.readouterr().out
    assert "ratio KSG/mist" in out and "largest deviation" in out and "HSIC" in out


def test_bench_tabular_size_grid_resumes_from_its_cache(tmp_path, capsys):
    """A stopped size grid loses nothing: finished cells are read back, not measured again."""
    bench = _bench_module()
    cache = tmp_path / "size.jsonl"
    args = ["--sections", "size", "--size-reps", "2", "--size-n", "16", "--size-d", "1,2",
            "--size-marginals", "gaussian", "--size-cache", str(cache)]
    before = torch.get_num_threads()
    try:
        bench.main(args)
        first = capsys.readouterr().out
        assert len(cache.read_text().splitlines()) == 2
        bench.main(args)
        second = capsys.readouterr().out
        bench.main([a if a != "2" else "3" for a in args])  # 3 datasets per cell: measured afresh
    finally:
        torch.set_num_threads(before)
    assert "2 cells read back" in second and "read back" not in first
    row = [line for line in first.splitlines() if line.startswith("gaussian")]
    assert row and row[0].split()[:4] == [line for line in second.splitlines() if line.startswith("gaussian")][0].split()[:4]
    assert len(cache.read_text().splitlines()) == 4


def test_bench_tabular_size_cell_outside_the_band_is_remeasured(tmp_path, capsys):
    """--size-confirm: a cell outside 0.05 +- 0.015 (at 2 datasets every rate is: 0, 0.5 or 1) is
    measured again on new datasets, cached under its own key, and judged on that measurement."""
    bench = _bench_module()
    cache = tmp_path / "size.jsonl"
    args = ["--sections", "size", "--size-reps", "2", "--size-n", "16", "--size-d", "1", "--size-marginals",
            "gaussian", "--size-cache", str(cache), "--size-confirm", "3"]
    before = torch.get_num_threads()
    try:
        bench.main(args)
        out = capsys.readouterr().out
        bench.main(args)
        again = capsys.readouterr().out
    finally:
        torch.set_num_threads(before)
    assert "1 cell(s) outside" in out and "re-measured on 3 new datasets" in out
    assert "bar NOT met" in out  # 3 datasets: 0, 1/3, 2/3 or 1, never inside the band
    cells = [json.loads(line)["cell"] for line in cache.read_text().splitlines()]
    assert cells == ["gaussian/16/1", "confirm3:gaussian/16/1"]
    assert "2 cells read back" in again and again.count("re-measured on") == 1
