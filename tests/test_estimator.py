"""Public API on a small real (untrained) model saved to disk: shapes, units, bad input, large N."""

import json

import numpy as np
import pytest
import torch

from mist import MIEstimator, MIResult


@pytest.fixture(scope="module")
def ckpt(tiny_checkpoint):
    return tiny_checkpoint


@pytest.fixture(scope="module")
def est(ckpt):
    return MIEstimator.from_pretrained(ckpt, max_n=256)


def _xy(n=200, dx=2, dy=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dx))
    return x, np.hstack([x[:, :1] + rng.standard_normal((n, 1)), rng.standard_normal((n, dy - 1))])


def test_result_api(est):
    r = est.estimate(*_xy())
    assert isinstance(r, MIResult) and (r.n, r.dx, r.dy) == (200, 2, 3)
    lo, hi = r.interval(0.9)
    assert 0 <= lo <= r.mi <= hi
    assert list(r.quantiles) == sorted(r.quantiles)
    assert r.quantile(0.5) == r.mi
    with pytest.raises(ValueError):
        r.interval(1.5)


def test_1d_inputs_torch_inputs_and_integers(est):
    x, y = _xy(dx=1, dy=1)
    a = est.estimate(x[:, 0], y[:, 0]).mi
    assert a == pytest.approx(est.estimate(torch.tensor(x), torch.tensor(y)).mi, abs=1e-6)
    assert np.isfinite(est.estimate(np.arange(50) % 7, np.arange(50) % 5).mi)


def test_invariant_to_monotone_maps_and_huge_values(est):
    x, y = _xy()
    base = est.estimate(x, y).mi
    assert est.estimate(np.exp(x), y * 1e30).mi == pytest.approx(base, abs=1e-5)
    assert est.estimate(x * 1e300, y).mi == pytest.approx(base, abs=1e-5)


def test_units(ckpt, est):
    bits = MIEstimator.from_pretrained(ckpt, units="bits", max_n=256)
    x, y = _xy()
    assert bits.estimate(x, y).mi == pytest.approx(est.estimate(x, y).mi / np.log(2), rel=1e-6)
    with pytest.raises(ValueError, match="units"):
        MIEstimator.from_pretrained(ckpt, units="bans")


def test_estimate_many_matches_single(est):
    pairs = [_xy(seed=s) for s in range(3)] + [_xy(n=50, dx=1, dy=4)]
    many = est.estimate_many(pairs)
    for (x, y), r in zip(pairs, many):
        assert r.mi == pytest.approx(est.estimate(x, y).mi, abs=1e-5)


def test_large_n_uses_subsets(est):
    x, y = _xy(n=1000)
    r = est.estimate(x, y)
    assert r.n == 1000 and r.n_subsets == 4
    assert est.estimate(x, y).mi == r.mi  # seeded


@pytest.mark.parametrize("x, y, match", [
    (np.full((20, 2), np.nan), np.zeros((20, 1)), "NaN"),
    (np.ones((20, 2)) * np.inf, np.zeros((20, 1)), "NaN/inf"),
    (np.zeros((20, 2)), np.zeros((19, 1)), "same number of samples"),
    (np.random.rand(5, 2), np.random.rand(5, 2), "at least 8"),
    (np.zeros((2, 3, 4)), np.zeros((2, 1)), "1-D"),
    (np.array([["a", "b"]] * 10), np.zeros((10, 1)), "numbers"),
    (np.zeros((0, 2)), np.zeros((0, 1)), "empty"),
    (np.c_[np.random.rand(20), np.ones(20)], np.random.rand(20), "constant column"),
])
def test_bad_input(est, x, y, match):
    with pytest.raises(ValueError, match=match):
        est.estimate(x, y)


def test_constant_columns_can_be_dropped(est):
    x, y = _xy()
    with_const = np.c_[x, np.ones(len(x))]
    assert est.estimate(with_const, y, constant_columns="drop").mi == pytest.approx(est.estimate(x, y).mi, abs=1e-6)
    r = est.estimate(np.ones((30, 2)), np.random.rand(30), constant_columns="drop")
    assert r.mi == 0 and r.interval() == (0, 0)


def test_checkpoint_errors(tmp_path, ckpt):
    with pytest.raises(FileNotFoundError, match="no checkpoint folder .*shipped: \\['mist-default'"):
        MIEstimator.from_pretrained(tmp_path / "nope")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "config.json").write_text((ckpt / "config.json").read_text())
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        MIEstimator.from_pretrained(tmp_path / "c")
    cfg = json.loads((ckpt / "config.json").read_text())
    cfg["model"]["width"] = 16
    (tmp_path / "c" / "config.json").write_text(json.dumps(cfg))
    (tmp_path / "c" / "model.safetensors").write_bytes((ckpt / "model.safetensors").read_bytes())
    with pytest.raises(ValueError, match="do not match"):
        MIEstimator.from_pretrained(tmp_path / "c")
    cfg["format_version"] = 99
    (tmp_path / "c" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="format"):
        MIEstimator.from_pretrained(tmp_path / "c")


def test_differentiable_mi(est):
    x, y = _xy(n=64)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.tensor(y, requires_grad=True)
    m = est.mi(xt, yt)
    assert m.dim() == 0
    m.backward()
    assert torch.isfinite(xt.grad).all() and xt.grad.abs().sum() > 0


def test_estimator_codes_equal_the_networks_ranks():
    # the estimator ranks in float64 numpy and skips the network's own ranking: same ranks and
    # scores, ties and a constant column included
    from mist.network.normalize import rank_codes_np
    from mist.network.normalize import rank_codes, rank_gauss, score_table
    rng = np.random.default_rng(0)
    xy = np.concatenate([rng.standard_normal((50, 2)), rng.integers(0, 4, (50, 2)), np.ones((50, 1))], axis=1)
    ours = torch.from_numpy(rank_codes_np(xy))
    xy_t = torch.tensor(xy, dtype=torch.float64)[None]
    assert torch.equal(ours, rank_codes(xy_t)[0])
    torch.testing.assert_close(score_table(50)[ours].T, rank_gauss(xy_t)[0])


# ------------------------------------------------------------------ issue 13: results and batching
def test_documented_levels_work_exactly(est):
    r = est.estimate(*_xy())
    assert 0.025 in r.quantiles and 0.5 in r.quantiles and 0.975 in r.quantiles   # not 0.02500000037
    assert r.quantile(0.025) == r.quantiles[0.025]
    assert r.interval(0.95) == (r.quantiles[0.025], r.quantiles[0.975])   # (1 - 0.95) / 2 != 0.025 in floats
    assert r.interval(0.9) == (r.quantiles[0.05], r.quantiles[0.95])
    assert r.quantiles[0.025] <= r.quantile(0.03) <= r.quantiles[0.05]
    with pytest.raises(ValueError, match="outside the predicted range"):
        r.quantile(0.01)


def test_estimate_many_subsets_depend_only_on_the_dataset(est):
    # N > max_n: each dataset's random subsets come from its own generator (seeded by est.seed),
    # so its result does not depend on its position or on the other datasets
    # (before: up to 0.055 nats apart; now equal up to float32 rounding in passes of other sizes)
    a, b, c = _xy(n=1000, seed=1), _xy(n=700, seed=2), _xy(n=1000, seed=3)
    ab, cb = est.estimate_many([a, b]), est.estimate_many([c, b, a])
    for r1, r2, data in ((ab[0], cb[2], a), (ab[1], cb[1], b)):
        single = list(est.estimate(*data).quantiles.values())
        np.testing.assert_allclose(list(r1.quantiles.values()), single, atol=1e-6, rtol=1e-6)
        np.testing.assert_allclose(list(r2.quantiles.values()), single, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_tensors_are_accepted(est, dtype):
    x, y = _xy()
    xh, yh = torch.tensor(x).to(dtype), torch.tensor(y).to(dtype)
    ref = est.estimate(xh.double().numpy(), yh.double().numpy())   # the same values, widened
    assert est.estimate(xh, yh).quantiles == ref.quantiles


@pytest.mark.parametrize("make, match", [
    (lambda: torch.empty(50, 2, device="meta"), "meta tensor"),
    (lambda: torch.eye(50)[:, :2].to_sparse(), "to_dense"),
])
def test_tensors_without_dense_values_are_refused(est, make, match):
    with pytest.raises(TypeError, match=match):
        est.estimate(make(), torch.randn(50))
