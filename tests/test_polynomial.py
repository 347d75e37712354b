"""Polynomial canonical-correlation head inputs (ModelConfig.poly_degree, mist/network/polynomial.py)."""

import json
from math import comb

import numpy as np
import pytest
import torch

from mist.checkpoint import load_checkpoint, save_checkpoint
from mist.network.config import ModelConfig, build_model
from mist.network.normalize import rank_codes, rank_gauss, score_table
from mist.network.polynomial import monomial_index, poly_feature_count, polynomial_features
from mist.train.warm_start import warm_start

CFG = ModelConfig(arch="pooled", poly_degree=4)


def _pooled(**kw):
    torch.manual_seed(0)
    return ModelConfig(arch="pooled", width=8, heads=2, blocks=1, block_hidden=4, pair_channels=2,
                       head_width=16, hist_bins=[4], **kw)


def test_monomials_are_all_products_up_to_the_degree_or_each_columns_powers():
    assert monomial_index(3, 3, 40).shape == (comb(6, 3) - 1, 3)  # 19 monomials of 3 columns
    wide = monomial_index(5, 3, 40)  # C(8, 3) - 1 = 55 > 40: own powers only
    assert wide.shape == (15, 3)
    assert all(len(set(row.tolist()) - {5}) == 1 for row in wide)
    assert poly_feature_count(CFG) == 12 and poly_feature_count(ModelConfig()) == 0


def test_matches_the_gaussian_mi_of_the_monomials_computed_directly():
    from mist.network.features import gaussian_mi_of_gram
    rng = np.random.default_rng(0)
    u = rng.standard_normal((300, 3))
    u[:, 2] = u[:, 0] ** 2 - 1 + 0.3 * u[:, 2]  # dx = 2, dy = 1
    got = polynomial_features(torch.from_numpy(u)[None], 2, ModelConfig(arch="pooled", poly_degree=2))[0]
    x, y = u[:, :2], u[:, 2:]
    mx = np.c_[x, x[:, 0] ** 2, x[:, 0] * x[:, 1], x[:, 1] ** 2]
    my = np.c_[y, y ** 2]
    m = torch.from_numpy(np.c_[mx - mx.mean(0), my - my.mean(0)])
    want = gaussian_mi_of_gram((m.T @ m / 300)[None, None], 5, CFG.ridge)[0, 0]
    torch.testing.assert_close(got[0], torch.log1p(want))
    assert 0.3 < want < 3.0  # the parabola in the first X column is seen


@pytest.mark.parametrize("ridge,atol", [(1e-10, 1e-6), (CFG.ridge, 0.1)])
def test_invariant_to_a_linear_map_of_a_side_up_to_the_ridge_and_to_order_swap_and_signs(ridge, atol):
    """The span of a side's monomials is linear-invariant; the ridge on their correlation matrix
    is not, so the invariance is exact only as the ridge goes to zero."""
    cfg = ModelConfig(arch="pooled", poly_degree=4, ridge=ridge)
    torch.manual_seed(1)
    u = torch.randn(2, 400, 5, dtype=torch.float64)  # dx = 2, dy = 3
    u[..., 3] = u[..., 0] * u[..., 1] + 0.2 * u[..., 3]
    base = polynomial_features(u, 2, cfg)
    a = torch.tensor([[2.0, 0.5, 0.0], [-1.0, 1.0, 0.3], [0.2, 0.0, -3.0]], dtype=torch.float64)
    mapped = torch.cat([u[..., :2] @ torch.tensor([[1.0, 2.0], [-0.5, 1.0]], dtype=torch.float64),
                        u[..., 2:] @ a], -1)
    torch.testing.assert_close(polynomial_features(mapped, 2, cfg), base, atol=atol, rtol=0)
    perm = torch.randperm(400)
    torch.testing.assert_close(polynomial_features(u[:, perm], 2, cfg), base)
    torch.testing.assert_close(polynomial_features(u[..., [1, 0, 4, 2, 3]], 2, cfg), base)
    torch.testing.assert_close(polynomial_features(u[..., [2, 3, 4, 0, 1]], 3, cfg), base)
    torch.testing.assert_close(polynomial_features(u * torch.tensor([-1.0, 1, 1, -1, 1], dtype=torch.float64), 2, cfg),
                               base)


def test_sees_a_rotated_parabola_and_stays_near_zero_when_independent():
    torch.manual_seed(2)
    x = torch.randn(32, 1000, 2, dtype=torch.float64)
    y = (x[..., :1] + x[..., 1:]) ** 2 / 2 + 0.1 * torch.randn(32, 1000, 1, dtype=torch.float64)
    rot = torch.tensor([[0.6, -0.8], [0.8, 0.6]], dtype=torch.float64)
    cfg = ModelConfig(arch="pooled", poly_degree=2)
    parabola = polynomial_features(torch.cat([x @ rot, y], -1), 2, cfg)
    independent = polynomial_features(torch.randn(32, 1000, 3, dtype=torch.float64), 2, cfg)
    assert torch.expm1(parabola[:, 0]).min() > 1.0  # the true MI is ~2 nats
    assert independent[:, 1].abs().max() < 0.05     # the debiased MI


def test_differentiable_in_the_scores_also_after_an_inference_mode_call():
    with torch.inference_mode():
        polynomial_features(torch.randn(1, 200, 3, dtype=torch.float64), 1, CFG)
    u = torch.randn(1, 200, 3, dtype=torch.float64, requires_grad=True)
    polynomial_features(u, 1, CFG).sum().backward()
    assert torch.isfinite(u.grad).all() and u.grad.abs().sum() > 0


def test_network_paths_agree_and_a_warm_start_widens_the_head(tmp_path):
    old_cfg = _pooled()
    old = build_model(old_cfg).eval()
    save_checkpoint(old, old_cfg, tmp_path / "old")
    new = build_model(_pooled(poly_degree=3)).eval()
    warm_start(new, tmp_path / "old")
    x, y = torch.randn(3, 150, 2), torch.randn(3, 150, 3)
    y[..., 0] = x[..., 0] ** 2 + 0.1 * y[..., 0]
    with torch.no_grad():
        torch.testing.assert_close(new(x, y), old(x, y))  # zero weights on the new inputs
        new.head.mlp[0].weight.normal_()
        assert not torch.allclose(new(x, y), old(x, y))
        codes = rank_codes(torch.cat([x, y], -1))
        u_BNC = score_table(150)[codes].transpose(1, 2).float()
        torch.testing.assert_close(new.forward_codes(codes, 2), new.forward_scores(u_BNC, 2), rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(new.forward_scores(rank_gauss(torch.cat([x, y], -1)), 2),
                                   new.forward_codes(codes, 2), rtol=1e-4, atol=1e-4)


def test_config_and_checkpoint_refuse_a_bad_poly_degree(tmp_path):
    with pytest.raises(ValueError, match="poly_degree"):
        build_model(ModelConfig(arch="two_axis", poly_degree=3))
    with pytest.raises(ValueError, match="poly_degree"):
        build_model(ModelConfig(arch="pooled", poly_degree=1))
    cfg = _pooled(poly_degree=2)
    save_checkpoint(build_model(cfg), cfg, tmp_path / "ok")
    load_checkpoint(tmp_path / "ok")
    for bad in (1, 7, "3"):
        config = json.loads((tmp_path / "ok" / "config.json").read_text())
        config["model"]["poly_degree"] = bad
        (tmp_path / "ok" / "config.json").write_text(json.dumps(config))
        with pytest.raises(ValueError, match="poly_degree"):
            load_checkpoint(tmp_path / "ok")
