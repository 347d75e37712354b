"""Invariances, shapes and quantile properties of the MI network (small real models)."""

import numpy as np
import pytest
import torch

from mist.network.config import ModelConfig, build_model
from mist.network.features import plugin_gaussian_mi_bias
from mist.network.normalize import rank_codes, rank_gauss, soft_rank_gauss
from mist.network.quantiles import pinball_loss, to_z

SMALL = dict(width=16, heads=2, blocks=1, n_inducing=4, pair_channels=4, head_width=32)


@pytest.fixture(scope="module", params=["two_axis", "pooled", "lean"])
def model(request):
    """Every invariance below must hold for the attention design, the fast pooled one, and the
    pooled one without blocks (whose forward_codes takes the table path)."""
    torch.manual_seed(0)
    if request.param == "lean":
        return build_model(ModelConfig(**{**SMALL, "blocks": 0}, arch="pooled", debiased_copula=True)).eval()
    return build_model(ModelConfig(**SMALL, arch=request.param, debiased_copula=request.param == "pooled")).eval()


def _data(b=2, n=40, dx=3, dy=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, n, dx, generator=g)
    y = torch.randn(b, n, dy, generator=g)
    y[..., 0] += 2 * x[..., 0]
    return x, y


def test_sample_order_invariance(model):
    x, y = _data()
    perm = torch.randperm(x.shape[1])
    torch.testing.assert_close(model(x[:, perm], y[:, perm]), model(x, y), atol=1e-5, rtol=1e-5)


def test_coordinate_order_invariance(model):
    x, y = _data()
    px, py = torch.randperm(x.shape[-1]), torch.randperm(y.shape[-1])
    torch.testing.assert_close(model(x[..., px], y[..., py]), model(x, y), atol=1e-5, rtol=1e-5)


def test_knows_x_from_y(model):
    """Moving a column from Y to X changes the estimate: roles are not lost."""
    x, y = _data(dx=2, dy=2)
    moved = model(torch.cat([x, y[..., :1]], -1), y[..., 1:])
    assert (moved - model(x, y)).abs().max() > 1e-4


def test_symmetric_in_x_and_y(model):
    x, y = _data()
    torch.testing.assert_close(model(y, x), model(x, y), atol=1e-5, rtol=1e-5)


def test_monotone_map_invariance(model):
    x, y = _data()
    torch.testing.assert_close(model(torch.exp(x), y ** 3 + y), model(x, y), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dx,dy,n", [(1, 7, 8), (1, 1, 8), (7, 1, 33), (128, 128, 16)])
def test_shapes_and_quantiles(model, dx, dy, n):
    x, y = _data(b=3, n=n, dx=dx, dy=dy)
    q = model(x, y)
    assert q.shape == (3, len(model.cfg.levels))
    assert torch.isfinite(q).all()
    assert (q >= 0).all()
    assert (q[:, 1:] >= q[:, :-1]).all(), "quantiles cross"


def test_large_n_fits(model):
    x, y = _data(b=1, n=4096, dx=4, dy=4)
    with torch.no_grad():
        assert torch.isfinite(model(x, y)).all()


def test_rank_gauss_ties_and_constants():
    x = torch.tensor([[[1.0, 5.0], [2.0, 5.0], [2.0, 5.0], [3.0, 5.0]]])
    z = rank_gauss(x)
    assert z[0, 1, 0] == z[0, 2, 0]                     # ties share their average rank
    assert torch.allclose(z[..., 1], torch.zeros(4))    # a constant column carries nothing
    torch.testing.assert_close(z[0, :, 0], -z[0, :, 0].flip(0))


def test_soft_rank_tends_to_hard_rank():
    x = torch.stack([torch.randperm(50).float() for _ in range(3)], -1).unsqueeze(0)
    torch.testing.assert_close(soft_rank_gauss(x, 1e-4), rank_gauss(x), atol=1e-3, rtol=0)


def test_pinball_loss_minimized_by_quantile():
    target = torch.linspace(0, 1, 101)
    levels = torch.tensor([0.1, 0.5, 0.9])
    best = torch.tensor([[0.1, 0.5, 0.9]]).expand(101, 3)
    off = best + 0.05
    assert pinball_loss(best, target, levels) < pinball_loss(off, target, levels)
    assert to_z(torch.tensor(-1.0)) == 0


def test_overfit_fixed_batch():
    torch.manual_seed(0)
    m = build_model(ModelConfig(**SMALL))
    x, y = _data(b=8, n=32, dx=2, dy=2, seed=1)
    target = to_z(torch.linspace(0.5, 20.0, 8))
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        loss = pinball_loss(m(x, y), target, m.head.levels)
        opt.zero_grad(); loss.backward(); opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


def test_row_set_baseline_runs():
    m = build_model(ModelConfig(arch="row_set", width=16, heads=2, blocks=1, n_inducing=4, head_width=16))
    x, y = _data()
    assert m(x, y).shape == (2, 9)
    with pytest.raises(ValueError, match="at most 32"):
        m(torch.randn(1, 10, 33), torch.randn(1, 10, 2))


def test_unknown_arch():
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model(ModelConfig(arch="nope"))


def test_reported_mi_has_a_resolution_so_zero_can_be_covered():
    from mist.network.quantiles import MI_RESOLUTION, report_mi
    z = torch.log1p(torch.tensor([0.0, MI_RESOLUTION / 2, 2 * MI_RESOLUTION, 1.0]))
    out = report_mi(z)
    assert out[0] == 0 and out[1] == 0
    torch.testing.assert_close(out[2:], torch.tensor([2 * MI_RESOLUTION, 1.0]))


def test_plugin_gaussian_mi_bias_matches_monte_carlo():
    # the bias of the plug-in Gaussian MI does not depend on the true MI; check it at rho 0 and 0.8
    rng = np.random.default_rng(0)
    n, dx, dy, reps = 12, 2, 3, 4000
    expected = plugin_gaussian_mi_bias(n, dx, dy)
    for rho in (0.0, 0.8):
        true = -0.5 * 2 * np.log(1 - rho**2)
        x = rng.standard_normal((reps, n, dx))
        y = rng.standard_normal((reps, n, dy))
        y[..., :2] = rho * x + np.sqrt(1 - rho**2) * y[..., :2]
        z = np.concatenate([x, y], axis=-1)
        z = z - z.mean(axis=1, keepdims=True)
        s = np.einsum("rni,rnj->rij", z, z)
        ld = lambda m: np.linalg.slogdet(m)[1]  # noqa: E731
        plug_in = 0.5 * (ld(s[:, :dx, :dx]) + ld(s[:, dx:, dx:]) - ld(s))
        err = plug_in - true
        assert abs(err.mean() - expected) < 4 * err.std() / np.sqrt(reps)
    assert plugin_gaussian_mi_bias(5, 2, 3) is None  # singular sample covariance: undefined


def test_debiased_copula_feature_changes_the_head_input_only():
    torch.manual_seed(0)
    cfg = ModelConfig(width=8, heads=2, blocks=1, n_inducing=2, pair_channels=2, head_width=16, debiased_copula=True)
    m = build_model(cfg).eval()
    assert m.head.mlp[0].in_features == 8 + 4 + 2 * 3 + 3
    x = torch.randn(2, 30, 2)
    y = torch.cat([x[..., :1] + 0.1 * torch.randn(2, 30, 1), torch.randn(2, 30, 1)], dim=-1)
    assert torch.isfinite(m(x, y)).all() and torch.isfinite(m(x[:, :4], y[:, :4])).all()  # n <= dx + dy


def test_forward_scores_is_forward_after_normalization(model):
    x, y = torch.randn(3, 40, 2), torch.randn(3, 40, 3)
    u = rank_gauss(torch.cat([x, y], dim=-1))
    torch.testing.assert_close(model.forward_scores(u, 2), model(x, y))


def test_forward_codes_is_the_per_cell_path(model):
    # forward (hard ranks) goes through forward_codes; it must equal the plain per-cell network
    x, y = _data()
    y[..., 1] = torch.round(y[..., 1])  # ties: half-integer ranks
    xy = torch.cat([x, y], dim=-1)
    with torch.inference_mode():
        per_cell = model.forward_scores(rank_gauss(xy), 3)
        torch.testing.assert_close(model.forward_codes(rank_codes(xy), 3), per_cell, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(model(x, y), per_cell, atol=1e-5, rtol=1e-5)


def test_weight_gradients_of_the_code_path_match_the_per_cell_path(model):
    x, y = _data()
    xy = torch.cat([x, y], dim=-1)
    grads = []
    for run in (lambda: model.forward_scores(rank_gauss(xy), 3), lambda: model.forward_codes(rank_codes(xy), 3)):
        model.zero_grad()
        run().square().sum().backward()
        grads.append([p.grad.clone() for p in model.parameters() if p.grad is not None])
    assert len(grads[0]) == len(grads[1]) > 0
    for a, b in zip(*grads):
        torch.testing.assert_close(b, a, atol=1e-4, rtol=1e-3)


def test_forward_codes_falls_back_beyond_one_pooled_block():
    torch.manual_seed(0)
    m = build_model(ModelConfig(**{**SMALL, "blocks": 2}, arch="pooled")).eval()
    x, y = _data()
    with torch.inference_mode():
        xy = torch.cat([x, y], dim=-1)
        torch.testing.assert_close(m.forward_codes(rank_codes(xy), 3), m.forward_scores(rank_gauss(xy), 3), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["pooled", "pooled_hist_float64", "pooled_poly", "pooled_unoriented",
                                  "pooled_2_blocks", "two_axis", "routed"])
def test_column_pairs_equal_the_stacked_sets(kind):
    """forward_column_pairs (the MI-matrix path) is forward_codes of each (column i, column j) set;
    the data has ties, a decreasing map of a column and a parabola, so the columns' canonical signs
    differ from pair to pair and both signs of a column are used."""
    torch.manual_seed(0)
    pooled = dict(SMALL, arch="pooled", block_hidden=4)
    configs = {"pooled": ModelConfig(**pooled, hist_bins=[2, 4, 5]),
               "pooled_hist_float64": ModelConfig(**pooled, hist_bins=[4], gram_dtype="float64"),
               "pooled_poly": ModelConfig(**pooled, hist_bins=[4], poly_degree=3),
               "pooled_unoriented": ModelConfig(**pooled, orient_signs=False),
               "pooled_2_blocks": ModelConfig(**{**pooled, "blocks": 2}),
               "two_axis": ModelConfig(**SMALL, arch="two_axis")}
    if kind == "routed":
        from mist.network.routed import RoutedMI
        model = RoutedMI([build_model(configs["two_axis"]), build_model(configs["pooled"])], [8, 40], blend=1.5)
    else:
        model = build_model(configs[kind])
    model.eval()
    g = torch.Generator().manual_seed(1)
    t = torch.randn(50, 6, generator=g)
    t[:, 1] = -t[:, 0].pow(3)                              # decreasing map of column 0
    t[:, 2] = t[:, 0].square() + 0.1 * torch.randn(50, generator=g)
    t[:, 3] = torch.round(2 * t[:, 3])                     # ties
    code_CN = rank_codes(t.unsqueeze(0))[0]
    i_P, j_P = torch.triu_indices(6, 6, 1)
    i_P, j_P = torch.cat([i_P, j_P]), torch.cat([j_P, i_P])  # both orders: X and Y are not interchangeable
    with torch.inference_mode():
        stacked = model.forward_codes(torch.stack([code_CN[i_P], code_CN[j_P]], 1), 1)
        torch.testing.assert_close(model.forward_column_pairs(code_CN, i_P, j_P), stacked, atol=1e-5, rtol=1e-5)
    if kind == "pooled":  # some column is negated in some pair and not in another
        ix_P, _ = model._oriented_rows(code_CN, i_P, j_P)
        flipped = ix_P >= 6
        assert flipped.any() and not flipped.all()
