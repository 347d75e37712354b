"""Routed checkpoints: one expert network per range of N (mist/network/routed.py)."""

import json

import numpy as np
import pytest
import torch

from mist import MIEstimator
from mist.checkpoint import CONFIG, FORMAT_VERSION, load_checkpoint, save_checkpoint, save_routed, served_n_max
from mist.train.calibrate import calibrate_checkpoint
from mist.network.config import ModelConfig, build_model
from mist.network.routed import RoutedMI

SMALL = dict(width=8, heads=2, blocks=1, n_inducing=2, pair_channels=2, head_width=16)


def _experts():
    torch.manual_seed(0)
    a = build_model(ModelConfig(**SMALL)).eval()
    b = build_model(ModelConfig(**SMALL, arch="pooled", debiased_copula=True)).eval()
    return a, b


def _data(n, dx=2, dy=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, n, dx, generator=g)
    return x, x[..., :1].repeat(1, 1, dy) + torch.randn(1, n, dy, generator=g)


def test_each_n_goes_to_the_expert_of_its_range():
    a, b = _experts()
    routed = RoutedMI([a, b], [8, 32])
    for n, expert in [(5, a), (8, a), (31, a), (32, b), (500, b)]:
        x, y = _data(n)
        torch.testing.assert_close(routed(x, y), expert(x, y))
    x, y = _data(31)
    assert not torch.allclose(a(x, y), b(x, y))  # the experts differ, so routing was observable


def test_bad_routes_are_refused():
    a, b = _experts()
    with pytest.raises(ValueError, match="strictly increasing"):
        RoutedMI([a, b], [32, 8])
    with pytest.raises(ValueError, match="one start N per expert"):
        RoutedMI([a, b], [8])
    c = build_model(ModelConfig(**SMALL, levels=[0.1, 0.5, 0.9]))
    with pytest.raises(ValueError, match="same quantile levels"):
        RoutedMI([a, c], [8, 32])


def _write_routed(folder, experts, starts, prior_n_max=(127, 2048)):
    specs = []
    for i, (model, start, n_max) in enumerate(zip(experts, starts, prior_n_max)):
        training = {"config": {"data": {"prior": {"n_min": 8, "n_max": n_max}}}}
        save_checkpoint(model, model.cfg, folder / f"expert{i}", training=training)
        specs.append((f"expert{i}", start))
    return save_routed(folder, specs)


def test_routed_checkpoint_loads_and_estimates(tmp_path):
    a, b = _experts()
    folder = _write_routed(tmp_path, [a, b], [8, 64])
    model, config = load_checkpoint(folder)
    assert isinstance(model, RoutedMI) and model.n_starts == [8, 64]
    assert served_n_max(config) == 2048
    est = MIEstimator(model, config)
    rng = np.random.default_rng(0)
    for n in (20, 200):
        x = rng.normal(size=(n, 2))
        r = est.estimate(x, x[:, :1] + rng.normal(size=(n, 1)))
        assert np.isfinite(r.mi) and r.interval(0.9)[0] <= r.mi <= r.interval(0.9)[1]
    xt = torch.randn(100, 2, requires_grad=True)
    est.mi(xt, xt[:, :1] + torch.randn(100, 1)).backward()
    assert torch.isfinite(xt.grad).all() and xt.grad.abs().sum() > 0


@pytest.mark.parametrize("name", ["../elsewhere", "/abs", ""])
def test_expert_folders_must_be_plain_subfolders(tmp_path, name):
    (tmp_path / CONFIG).write_text(json.dumps({"format_version": FORMAT_VERSION, "served_n": [8, 2048],
                                               "experts": [{"folder": name, "n_min": 8}]}))
    with pytest.raises(ValueError, match="plain subfolder"):
        load_checkpoint(tmp_path)


def test_nested_routing_is_refused(tmp_path):
    a, b = _experts()
    _write_routed(tmp_path / "inner", [a, b], [8, 64])
    (tmp_path / CONFIG).write_text(json.dumps({"format_version": FORMAT_VERSION, "served_n": [8, 2048],
                                               "experts": [{"folder": "inner", "n_min": 8}]}))
    with pytest.raises(ValueError, match="cannot be nested"):
        load_checkpoint(tmp_path)


def test_each_expert_is_calibrated_on_the_n_range_it_serves(tmp_path):
    a, b = _experts()
    folder = _write_routed(tmp_path, [a, b], [8, 64])
    record = calibrate_checkpoint(folder, batches=2)
    assert [r["n_range"] for r in record["experts"]] == [[8, 63], [64, 2048]]
    model, _ = load_checkpoint(folder)
    for expert, r in zip(model.experts, record["experts"]):
        assert expert.head.is_calibrated
        torch.testing.assert_close(expert.head.calibration_z, torch.tensor(r["offsets_z"], dtype=torch.float32))


def test_blending_removes_the_step_at_a_boundary():
    a, b = _experts()
    routed = RoutedMI([a, b], [8, 64], blend=1.25)
    assert routed.weights(51) == [(0, 1.0)] and routed.weights(80) == [(1, 1.0)]
    (i, w0), (j, w1) = routed.weights(64)
    assert (i, j) == (0, 1) and w0 == pytest.approx(0.5) and w1 == pytest.approx(0.5)
    ws = [routed.weights(n)[-1][1] if len(routed.weights(n)) == 2 else None for n in range(52, 80)]
    assert all(u < v for u, v in zip(ws, ws[1:])), "the upper expert's weight rises with N"
    x, y = _data(64)
    torch.testing.assert_close(routed(x, y), 0.5 * a(x, y) + 0.5 * b(x, y))
    q = routed(*_data(70))
    assert (q[:, 1:] >= q[:, :-1]).all(), "blended quantiles cross"
    # next to the boundary the two sides differ by much less than the experts do
    x, y = _data(65)
    step = (routed(x[:, :64], y[:, :64]) - routed(x, y)).abs().max()
    assert step < 0.1 * (a(x, y) - b(x, y)).abs().max()
    with pytest.raises(ValueError, match="must not overlap"):
        RoutedMI([a, b, a], [8, 64, 70], blend=1.25)
