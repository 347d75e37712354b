"""The differentiable path (soft ranks, est.mi, MILoss): exact gradients (float64 finite
differences), no NaN/inf on awkward inputs, gradients reach upstream networks, batching.
All on a tiny random model, so nothing here depends on a trained checkpoint."""

import pytest
import torch

from mist import MIEstimator, MILoss
from mist.network.model import ModelConfig, build_model
from mist.network.normalize import rank_gauss, soft_rank_gauss

TINY = dict(width=8, heads=2, blocks=1, n_inducing=2, pair_channels=2, head_width=16)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # tiny float64 graphs: extra threads only add overhead (a lot of it on a busy machine)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def est():
    torch.manual_seed(0)
    return MIEstimator(build_model(ModelConfig(**TINY)), {})


@pytest.fixture(scope="module")
def est64():
    torch.manual_seed(0)
    e = MIEstimator(build_model(ModelConfig(**TINY)), {})
    e.model.double()
    return e


def _xy(n=12, dx=2, dy=1, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dx, generator=g, dtype=dtype)
    y = x[:, :1].repeat(1, dy) + 0.7 * torch.randn(n, dy, generator=g, dtype=dtype)
    return x.requires_grad_(True), y.requires_grad_(True)


# ------------------------------------------------------------------ exact gradients (float64)
def test_gradcheck_soft_rank_gauss():
    x = torch.randn(2, 10, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: soft_rank_gauss(a, 0.3), (x,))


def test_gradcheck_quantiles_through_model(est64):
    # a moderate temperature keeps the soft rank smooth at the finite-difference step
    x, y = _xy()
    assert torch.autograd.gradcheck(lambda a, b: est64.quantiles_t(a, b, temperature=0.5), (x, y),
                                    eps=1e-6, atol=1e-5, rtol=1e-3)


def test_gradcheck_miloss_batched(est64):
    x = torch.randn(2, 10, 2, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 10, 1, dtype=torch.float64, requires_grad=True)
    loss = MILoss(est64, temperature=0.5, mode="minimize", quantile=0.3)
    assert torch.autograd.gradcheck(loss, (x, y), eps=1e-6, atol=1e-5, rtol=1e-3)


def test_float64_model_gives_float64_output(est64):
    x, y = _xy()
    assert est64.mi(x, y).dtype == torch.float64


# ------------------------------------------------------------------ robustness
def _grads(est, x, y):
    x = x.clone().requires_grad_(True)
    y = y.clone().requires_grad_(True)
    mi = est.mi(x, y)
    mi.backward()
    return mi, x.grad, y.grad


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ties_are_finite(est, est64, dtype):
    e = est if dtype == torch.float32 else est64
    x = torch.tensor([1, 1, 1, 2, 2, 3, 3, 3, 4, 5, 5, 5], dtype=dtype).unsqueeze(1).repeat(1, 2)
    y = torch.tensor([0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1], dtype=dtype).unsqueeze(1)
    mi, gx, gy = _grads(e, x, y)
    assert torch.isfinite(mi) and torch.isfinite(gx).all() and torch.isfinite(gy).all()
    assert gx.abs().sum() > 0


def test_constant_columns_zero_finite_gradient(est):
    x, y = _xy(dtype=torch.float32)
    x = x.detach().clone()
    x[:, 1] = 3.7
    mi, gx, gy = _grads(est, x, y.detach())
    assert torch.isfinite(mi) and torch.isfinite(gx).all() and torch.isfinite(gy).all()
    assert torch.all(gx[:, 1] == 0) and gx[:, 0].abs().sum() > 0
    # a fully constant side: finite, zero gradient
    mi, gx, gy = _grads(est, torch.full((12, 2), 5.0), y.detach())
    assert torch.isfinite(mi) and torch.all(gx == 0) and torch.isfinite(gy).all()


def test_soft_rank_constant_and_zero_columns():
    x = torch.cat([torch.full((1, 9, 1), 2.5), torch.zeros(1, 9, 1), torch.randn(1, 9, 1)], -1).requires_grad_(True)
    z = soft_rank_gauss(x)
    (z * torch.randn_like(z)).sum().backward()
    assert torch.all(z[..., :2] == 0) and torch.all(x.grad[..., :2] == 0) and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("scale,dtype", [(1e30, torch.float32), (1e-30, torch.float32), (1e300, torch.float64)])
def test_extreme_scales_do_not_overflow(est, scale, dtype):
    x, y = _xy(dtype=torch.float64)
    x0, y0 = x.detach().to(torch.float32), y.detach().to(torch.float32)
    ref = est.mi(x0, y0)
    mi, gx, gy = _grads(est, (x.detach() * scale).to(dtype), (y.detach() * scale).to(dtype))
    assert torch.isfinite(mi) and torch.isfinite(gx).all() and torch.isfinite(gy).all()
    torch.testing.assert_close(mi.float(), ref, atol=1e-4, rtol=1e-4)   # soft ranks are scale invariant


def test_soft_rank_scale_invariant_and_tends_to_hard():
    x = torch.randn(1, 40, 3, dtype=torch.float64)
    torch.testing.assert_close(soft_rank_gauss(x * 1e20 + 5.0), soft_rank_gauss(x))
    torch.testing.assert_close(soft_rank_gauss(x, 1e-6), rank_gauss(x), atol=1e-6, rtol=0)


def test_soft_value_close_to_hard_estimate_at_low_temperature(est):
    x, y = _xy(n=64, dx=2, dy=2, seed=3, dtype=torch.float32)
    hard = est.estimate(x.detach().numpy(), y.detach().numpy()).mi
    assert abs(est.mi(x, y, temperature=1e-4).item() - hard) < 1e-3


# ------------------------------------------------------------------ use as a loss
def test_gradients_reach_upstream_network():
    torch.manual_seed(1)
    est = MIEstimator(build_model(ModelConfig(**TINY)), {})
    enc = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    x = torch.randn(64, 5)
    y = x[:, :1] + 0.5 * torch.randn(64, 1)
    loss = MILoss(est, mode="maximize")(enc(x), y)
    loss.backward()
    for p in enc.parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    assert all(p.grad is None for p in est.model.parameters())   # the estimator is frozen


def test_batched_matches_unbatched(est):
    x = torch.randn(3, 20, 2, requires_grad=True)
    y = torch.randn(3, 20, 1)
    mi_b = est.mi(x, y)
    assert mi_b.shape == (3,)
    for i in range(3):
        torch.testing.assert_close(mi_b[i], est.mi(x[i], y[i]), atol=1e-5, rtol=1e-5)
    mi_b[1].backward()
    assert torch.all(x.grad[0] == 0) and torch.all(x.grad[2] == 0) and x.grad[1].abs().sum() > 0


def test_miloss_sign_reduction_and_api(est):
    x, y = torch.randn(4, 16, 2), torch.randn(4, 16, 1)
    mi = est.mi(x, y)
    torch.testing.assert_close(MILoss(est, mode="maximize")(x, y), -mi.mean())
    torch.testing.assert_close(MILoss(est, mode="minimize", reduction="sum")(x, y), mi.sum())
    torch.testing.assert_close(MILoss(est, sign=1, reduction="none")(x, y), mi)
    torch.testing.assert_close(MILoss(est)(x[0], y[0, :, 0]), -mi[0])     # (N,) is one column
    lo, hi = MILoss(est, sign=1, quantile=0.1)(x, y), MILoss(est, sign=1, quantile=0.9)(x, y)
    assert lo <= MILoss(est, sign=1)(x, y) <= hi
    loss = MILoss(est)
    assert list(loss.parameters()) == [] and "maximize" in repr(loss)
    for bad in (dict(mode="up"), dict(sign=2), dict(reduction="max"), dict(temperature=0.0), dict(quantile=0.999)):
        with pytest.raises(ValueError):
            MILoss(est, **bad)


def test_mismatched_sample_counts(est):
    with pytest.raises(ValueError, match="same number of samples"):
        est.mi(torch.randn(10, 2), torch.randn(11, 1))
