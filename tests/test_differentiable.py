"""The differentiable path (soft ranks, est.mi, MILoss): exact gradients (float64 finite
differences), no NaN/inf on awkward inputs, gradients reach upstream networks, batching.
All on a tiny random model, so nothing here depends on a trained checkpoint."""

import pytest
import torch

from mist import MIEstimator, MILoss
from mist.network.config import ModelConfig, build_model
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
def _grads(est, x, y, **kwargs):
    x = x.clone().requires_grad_(True)
    y = y.clone().requires_grad_(True)
    mi = est.mi(x, y, **kwargs)
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
    with pytest.raises(ValueError, match="constant column"):   # as in estimate: an error by default
        est.mi(x, y)
    mi, gx, gy = _grads(est, x, y.detach(), constant_columns="drop")
    assert torch.isfinite(mi) and torch.isfinite(gx).all() and torch.isfinite(gy).all()
    assert torch.all(gx[:, 1] == 0) and gx[:, 0].abs().sum() > 0
    # a fully constant side: finite, zero gradient
    mi, gx, gy = _grads(est, torch.full((12, 2), 5.0), y.detach(), constant_columns="drop")
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


# ------------------------------------------------------------------ issue 13: validated like estimate
def _bad(kind):
    x, y = torch.randn(12, 2), torch.randn(12, 1)
    if kind == "nan":
        x[3, 1] = float("nan")
    elif kind == "inf":
        y[5, 0] = float("inf")
    elif kind == "n1":
        x, y = x[:1], y[:1]
    elif kind == "n3":
        x, y = x[:3], y[:3]
    elif kind == "n0":
        x, y = x[:0], y[:0]
    elif kind == "complex":
        x = torch.complex(x, x)
    elif kind == "4d":
        x, y = x.reshape(1, 2, 6, 2), y.reshape(1, 2, 6, 1)
    elif kind == "0d":
        x = torch.tensor(1.0)
    elif kind == "zero_width":
        x = x[:, :0]
    elif kind == "n_mismatch":
        y = torch.randn(11, 1)
    return x, y


@pytest.mark.parametrize("kind, match", [
    ("nan", "NaN/inf"), ("inf", "NaN/inf"), ("n1", "at least 8"), ("n3", "at least 8"), ("n0", "empty"),
    ("complex", "complex"), ("4d", "must be 1-D"), ("0d", "must be 1-D"), ("zero_width", "no columns"),
    ("n_mismatch", "same number of samples"),
])
def test_bad_input_refused_with_estimates_message(est, kind, match):
    x, y = _bad(kind)
    with pytest.raises(ValueError, match=match) as soft:
        est.mi(x, y)
    with pytest.raises(ValueError, match=match):
        MILoss(est)(x, y)
    if kind not in ("4d", "0d"):   # the numpy path allows no batch axis, so its shape message differs
        with pytest.raises(ValueError) as hard:
            est.estimate(x, y)
        assert str(hard.value) == str(soft.value)


@pytest.mark.parametrize("x, y, exc, match", [
    (torch.randn(12, 2).numpy(), torch.randn(12, 1), TypeError, "torch.Tensor.*est.estimate"),
    (torch.randn(12, 2), [[0.0]] * 12, TypeError, "torch.Tensor"),
    (torch.randn(2, 12, 2), torch.randn(12, 1), ValueError, "both be batched"),
    (torch.randn(3, 12, 2), torch.randn(2, 12, 1), ValueError, "same batch size"),
    (torch.eye(12)[:, :2].to_sparse(), torch.randn(12, 1), TypeError, "to_dense"),
    (torch.empty(12, 2, device="meta"), torch.randn(12, 1), TypeError, "meta"),
])
def test_wrong_kinds_and_batch_shapes_are_refused(est, x, y, exc, match):
    with pytest.raises(exc, match=match):
        est.quantiles_t(x, y)


def test_bool_and_integer_tensors_are_numbers_without_gradient(est):
    g = torch.Generator().manual_seed(0)
    xb = torch.rand(40, 2, generator=g) > 0.5
    yi = torch.randint(0, 5, (40, 1), generator=g)
    torch.testing.assert_close(est.mi(xb, yi), est.mi(xb.float(), yi.float()))


def test_batch_with_different_constant_columns(est):
    x = torch.randn(3, 20, 2, requires_grad=False)
    y = torch.randn(3, 20, 2)
    x[0, :, 1] = 1.0                          # set 0: x column 1 constant
    y[2] = 4.0                                # set 2: the whole y side constant
    x.requires_grad_(True)
    with pytest.raises(ValueError, match=r"x has constant column\(s\) \[1\] \(in set\(s\) \[0\] of the batch\)"):
        est.mi(x, y)
    mi = est.mi(x, y, constant_columns="drop")
    torch.testing.assert_close(mi[0], est.mi(x[0, :, :1], y[0]))
    torch.testing.assert_close(mi[1], est.mi(x[1], y[1]))
    assert mi[2] == 0
    mi.sum().backward()
    assert torch.all(x.grad[0, :, 1] == 0) and torch.all(x.grad[2] == 0) and x.grad[1].abs().sum() > 0


@pytest.mark.parametrize("outlier, dtype", [(1e300, torch.float64), (-1e300, torch.float64), (3e38, torch.float32)])
def test_far_outlier_keeps_the_other_ranks(est, outlier, dtype):
    x, y = _xy(n=40, dtype=dtype)
    x, y = x.detach(), y.detach()
    base = est.mi(x, y)
    x2 = x.clone()
    x2[int(x[:, 0].argmax() if outlier > 0 else x[:, 0].argmin()), 0] = outlier   # the same ranks
    mi, gx, gy = _grads(est, x2, y)
    assert torch.isfinite(gx).all() and torch.isfinite(gy).all()
    assert abs(mi.item() - base.item()) < 0.02 * max(1.0, base.item())


@pytest.mark.parametrize("scale, dtype", [(1e-310, torch.float64), (1e-320, torch.float64), (1e-41, torch.float32)])
def test_denormal_inputs_give_finite_gradients(est, scale, dtype):
    x, y = _xy(n=20, dtype=torch.float64)
    ref = est.mi(x.detach().float(), y.detach().float())
    mi, gx, gy = _grads(est, (x.detach() * scale).to(dtype), y.detach().to(dtype))
    assert torch.isfinite(mi) and torch.isfinite(gx).all() and torch.isfinite(gy).all() and gx.abs().sum() > 0
    if scale > 1e-315:   # far denormals keep only a few significant bits: ranks still hold, values differ
        torch.testing.assert_close(mi.float(), ref, atol=1e-4, rtol=1e-4)


def test_miloss_constant_columns_option(est):
    with pytest.raises(ValueError, match="constant_columns"):
        MILoss(est, constant_columns="keep")
    x = torch.randn(16, 2)
    x[:, 0] = 2.0
    y = torch.randn(16, 1)
    with pytest.raises(ValueError, match="constant column"):
        MILoss(est)(x, y)
    torch.testing.assert_close(MILoss(est, constant_columns="drop")(x, y), MILoss(est)(x[:, 1:], y))
