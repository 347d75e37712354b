"""mist as a differentiable loss: MI estimates whose gradients flow to the data.

    import torch
    from mist import MIEstimator, MILoss

    est = MIEstimator.from_pretrained()
    loss_fn = MILoss(est, mode="maximize")        # loss = -MI; mode="minimize": loss = +MI
    z = encoder(x)                                 # any torch computation, (N, dz) or (B, N, dz)
    loss = loss_fn(z, y)                           # torch scalar; batched inputs are averaged
    loss.backward()                                # gradients reach encoder's parameters

`est.mi(x_t, y_t)` / `est.quantiles_t(x_t, y_t)` give the same values without the loss sign.

How the differentiable value differs from `estimate`
----------------------------------------------------
The network reads normal scores of per-column ranks. Ranks are piecewise constant (zero gradient
almost everywhere), so this path uses *soft* ranks (`mist.network.normalize.soft_rank_gauss`):
rank_i = 1/2 + sum_j sigmoid((x_i - x_j) / (temperature * scale)). As temperature -> 0 they become
the average ranks `estimate` uses; at temperature > 0 they are a kernel-smoothed empirical CDF,
which

* blurs the order of points closer than ~temperature * scale (scale: IQR / 1.349, the std for
  normal data; a robust scale, so a few far outliers do not blur the bulk of a column),
* pulls the most extreme points a little towards the centre (their soft CDF is not exactly
  uniform), and
* is not exactly invariant to non-linear monotone maps of a column (smoothing happens on the
  raw scale); it is exactly invariant to shifts and rescaling.

Caveat when maximizing: the estimator reads ranks per column, so it is invariant to monotone
maps of each coordinate but not to invertible linear maps of Z, which leave MI unchanged. An
optimizer can exploit that, and earlier checkpoints were exploited in
examples/maximize_mi.py (300 Adam steps on a free 20 x 2 projection W): with the stage-2
checkpoint W's columns became nearly parallel (condition number ~47) and the held-out estimate
reached 3.04 nats against a true maximum of 1.61; with the first routed checkpoint, condition
number ~6 and 1.94 (orthonormal basis of the same subspace: 1.43). With the current checkpoint
the same run stays well conditioned (condition number 1, overlap 0.995, held-out 1.60 vs 1.61),
but nothing in the estimator guarantees that. Near-duplicate
coordinates are outside the training prior. When learning a projection, keep it well conditioned
(orthonormalize it, e.g. parametrize W by its QR factor, or penalize its condition number).

Other differences: `estimate` splits N > max_n into random subsets and averages them; this path
feeds all N at once (memory O(B N^2 (dx + dy)) for the soft ranks, so keep N <= ~2k).

Inputs are validated as `estimate` validates them (mist._validate, the same rules and messages:
finite real numbers, N >= 8, x and y of equal N; bool and integer tensors are read as numbers but
carry no gradient). They must be torch tensors: a numpy array or list is a TypeError, since it
has no gradient to give (use `estimate` for it). Constant columns are handled as in `estimate`:
an error by default; with constant_columns="drop" they are left out per set (they carry 0 nats,
and their gradient is exactly 0), and a set whose whole x or y side is constant gets MI 0 with
zero gradient. Before the soft ranks each column is centred and scaled robustly in float64, with
far tails (beyond SQUASH_AT robust units) compressed by a strictly increasing log map: ranks do
not change, a 1e300 outlier does not push the other samples into float32 underflow, and
values and gradients stay finite for any finite input (a gradient too large for the input's
dtype, e.g. for data at the 1e-310 scale, saturates at the dtype's largest finite value).

Measured gap (`python benchmarks/soft_vs_hard.py --n-batches 24 --threads 1`: 339 sets of the `imd`
suite with the shipped checkpoint, whose own error vs the truth is MAE 0.781 nats):

    temperature              0.01    0.02    0.05    0.1     0.2
    mean |soft - hard|       0.046   0.069   0.106   0.162   0.271  nats
    ... / MAE(hard vs truth) 0.06    0.09    0.14    0.21    0.35
    mean signed gap          +0.012  +0.020  +0.029  +0.045  +0.094
    MAE(soft vs truth)       0.774   0.771   0.780   0.794   0.835  (hard: 0.781)
    |soft - hard| by N at 0.05: 0.18 (N 8-31), 0.085 (32-127), 0.050 (128-511), 0.010 (512-2048)

The gap grows with the temperature and shrinks with N. DEFAULT_TEMPERATURE = 0.05 (in units
of a robust column scale, the IQR / 1.349) keeps it at ~14% of the estimator's own error, with
a small upward shift (+0.03 nats), and the soft value is as accurate as the hard one. Smaller
temperatures track `estimate` more closely, but gradients get sparse at small N (a point only
feels neighbours within ~temperature * scale): in examples/maximize_mi.py with
minibatches of 48 samples, temperatures <= 0.02 found the planted subspace more slowly, while
0.05 to 0.2 did equally well (measured with a design-study checkpoint); at 256 samples all of
0.005 to 0.2 did.

Caveat for minimization: the estimator is a learned function, and minimizing it is adversarial.
A flexible upstream network can move information into forms the training prior rarely
contains (e.g. a dependence symmetric in one variable, z ~ |s|), where the estimate is low
although the MI is not. Check a minimized representation with an independent estimator (e.g.
mist.evaluate.ksg.ksg_mi), as examples/minimize_mi.py does.

Shape letters: B sets in a batch, N samples, D columns (X of x, Y of y), K quantile levels,
G the sets of a batch that share the same constant columns.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mist._validate import check_constant_columns_arg, check_pair_t
from mist.network.normalize import DEFAULT_TEMPERATURE
from mist.network.quantiles import from_z, interpolate_quantile

MODES = {"maximize": -1.0, "minimize": 1.0}
# Where the tail compression starts, in robust units (median |x - median|; ~0.67 std for normal
# data). Normal data never gets there and a Cauchy column of 2048 samples rarely does, so
# ordinary inputs only see an affine map, to which soft ranks are exactly invariant.
SQUASH_AT = 1000.0
_MAX_EXPONENT = 1000  # columns with |x| >= 2^1000 are first scaled by an exact power of two


class _RobustScale(torch.autograd.Function):
    """x_BND (any real dtype) -> float64 u_BND, per column of each set: centred at the median,
    divided by s = the median of the nonzero |x - median| (1 for a constant column), and beyond
    SQUASH_AT compressed as sign(u) C (1 + log(|u| / C)) (C = SQUASH_AT; continuous with slope
    1 there, strictly increasing). Everything is computed in float64 so that huge (1e300) and
    denormal (1e-310) values keep their order and the bulk of a column stays O(1) for the float32
    cast that follows. Centre and scale are treated as constants in the gradient: exact wherever
    no squashing happens, because soft ranks are invariant to shifting and scaling a column. The
    gradient is returned in the input's dtype, saturated at its largest finite value."""

    @staticmethod
    def forward(ctx, x_BND: torch.Tensor) -> torch.Tensor:
        work = "cpu" if x_BND.device.type == "mps" else x_BND.device  # MPS has no float64
        x_BND_64 = x_BND.detach().to(work, torch.float64)
        # an exact power-of-two rescale of columns near the float64 limit: x - median cannot overflow
        exp_B1D = torch.frexp(x_BND_64.abs().amax(dim=1, keepdim=True)).exponent
        p_B1D = torch.ldexp(torch.ones_like(exp_B1D, dtype=torch.float64), -(exp_B1D - _MAX_EXPONENT).clamp_min(0))
        x_BND_64 = x_BND_64 * p_B1D
        d_BND = x_BND_64 - x_BND_64.median(dim=1, keepdim=True).values
        ad_BND = d_BND.abs()
        nonzero_B1D = (ad_BND > 0).sum(dim=1, keepdim=True)
        sorted_BND = torch.where(ad_BND > 0, ad_BND, math.inf).sort(dim=1).values
        s_B1D = sorted_BND.gather(1, (nonzero_B1D - 1).clamp_min(0) // 2)
        s_B1D = torch.where(nonzero_B1D > 0, s_B1D, torch.ones_like(s_B1D))
        inner_BND = ad_BND <= SQUASH_AT * s_B1D
        ad_out_BND = torch.where(inner_BND, torch.ones_like(ad_BND), ad_BND)  # > C s > 0 where used
        log_u_BND = torch.log(ad_out_BND) - torch.log(s_B1D) - math.log(SQUASH_AT)  # no overflow: log domain
        u_BND = torch.where(inner_BND, d_BND / s_B1D, torch.sign(d_BND) * SQUASH_AT * (1.0 + log_u_BND))
        ctx.save_for_backward(p_B1D, s_B1D, inner_BND, ad_out_BND)
        ctx.in_dtype, ctx.in_device = x_BND.dtype, x_BND.device
        return u_BND

    @staticmethod
    def backward(ctx, grad_BND: torch.Tensor) -> torch.Tensor:
        p_B1D, s_B1D, inner_BND, ad_out_BND = ctx.saved_tensors
        g_BND = grad_BND * p_B1D  # divide last: 0 / tiny stays 0 (no 0 * inf = NaN)
        g_BND = torch.where(inner_BND, g_BND / s_B1D, g_BND * SQUASH_AT / ad_out_BND)
        big = torch.finfo(ctx.in_dtype).max
        return g_BND.clamp(-big, big).to(ctx.in_device, ctx.in_dtype)


def soft_quantiles(model: nn.Module, x_t: torch.Tensor, y_t: torch.Tensor, temperature: float = DEFAULT_TEMPERATURE,
                   constant_columns: str = "error", device="cpu") -> torch.Tensor:
    """Differentiable MI quantiles in nats of a quantile network (`est.model`): (K,) for x_t (N, dx),
    y_t (N, dy) ((N,) is one column), (B, K) for x_t (B, N, dx), y_t (B, N, dy). Validated as
    `estimate` validates (see the module docstring); output in the model's dtype on `device`."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    x_BNX, y_BNY, batched, keep_x_BX, keep_y_BY = check_pair_t(x_t, y_t, constant_columns)
    dtype = next(model.parameters()).dtype
    u_BNX, u_BNY = (_RobustScale.apply(t).to(device, dtype) for t in (x_BNX, y_BNY))
    if keep_x_BX.all() and keep_y_BY.all():  # the usual case: one pass
        q_BK = from_z(model(u_BNX, u_BNY, soft_ranks=temperature))
        return q_BK if batched else q_BK[0]
    groups: dict[tuple, list[int]] = {}  # sets with the same constant columns share a pass
    for b in range(len(keep_x_BX)):
        groups.setdefault((tuple(keep_x_BX[b]), tuple(keep_y_BY[b])), []).append(b)
    order, parts = [], []
    for (kx, ky), sets in groups.items():
        idx_G = torch.tensor(sets, device=u_BNX.device)
        u_GNX = u_BNX[idx_G][:, :, torch.tensor(kx, device=u_BNX.device)]  # dropped columns: zero gradient
        u_GNY = u_BNY[idx_G][:, :, torch.tensor(ky, device=u_BNX.device)]
        if u_GNX.shape[-1] == 0 or u_GNY.shape[-1] == 0:  # a whole side is constant: MI is exactly 0
            # (tied to the inputs, so backward() works and gives zeros)
            q_GK = (u_GNX.sum() + u_GNY.sum()) * 0.0 + torch.zeros(len(sets), len(model.levels), dtype=dtype, device=device)
        else:
            q_GK = from_z(model(u_GNX, u_GNY, soft_ranks=temperature))
        order += sets
        parts.append(q_GK)
    q_BK = torch.cat(parts)[torch.argsort(torch.tensor(order, device=u_BNX.device))]
    return q_BK if batched else q_BK[0]


def soft_quantile(estimator, x_t: torch.Tensor, y_t: torch.Tensor, level: float = 0.5,
                  temperature: float = DEFAULT_TEMPERATURE, constant_columns: str = "error") -> torch.Tensor:
    """Differentiable MI quantile at any `level` in the predicted range (linear interpolation
    between the network's levels): a scalar for (N, d) inputs, (B,) for (B, N, d) inputs."""
    q = estimator.quantiles_t(x_t, y_t, temperature, constant_columns)
    levels = torch.tensor(estimator.levels, dtype=q.dtype, device=q.device)
    return interpolate_quantile(q, levels, level)


class MILoss(nn.Module):
    """MI between two batches of tensors as a loss: `sign * MI`, differentiable in both inputs.

    estimator: an `MIEstimator`. mode: "maximize" (loss = -MI) or "minimize" (loss = +MI); or
    give `sign` (+1 / -1) directly. quantile: which predicted quantile to use (0.5: the median,
    the point estimate; a low quantile such as 0.1 is a cautious "MI is at least" target when
    maximizing, a high one a cautious target when minimizing). reduction over batched inputs
    (B, N, d): "mean", "sum" or "none". freeze: set requires_grad=False on the estimator's
    weights (the estimator is a fixed, pretrained measuring device; it is stored as a plain
    attribute, so it does not show up in this module's parameters() either way).
    constant_columns: as in `estimate`, "error" (default) or "drop" (e.g. for a representation
    whose units may die: a dropped column gets zero gradient, an all-constant side MI 0).

    forward(x, y): x (N, dx), y (N, dy) -> scalar; (B, N, dx), (B, N, dy) -> reduced over B.
    (N,) vectors are read as one column.
    """

    def __init__(self, estimator, temperature: float = DEFAULT_TEMPERATURE, mode: str = "maximize",
                 sign: float | None = None, quantile: float = 0.5, reduction: str = "mean",
                 freeze: bool = True, constant_columns: str = "error"):
        super().__init__()
        if sign is None:
            if mode not in MODES:
                raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
            sign = MODES[mode]
        if sign not in (1, -1):
            raise ValueError(f"sign must be +1 or -1, got {sign!r}")
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        check_constant_columns_arg(constant_columns)
        lv = estimator.levels
        if not lv[0] <= quantile <= lv[-1]:
            raise ValueError(f"quantile {quantile} outside the predicted range [{lv[0]}, {lv[-1]}]")
        self.estimator = estimator  # not an nn.Module: its weights stay out of parameters()
        self.temperature, self.sign, self.quantile, self.reduction = temperature, float(sign), quantile, reduction
        self.constant_columns = constant_columns
        if freeze:
            estimator.model.requires_grad_(False)

    def mi(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The differentiable MI (no sign, no reduction): scalar or (B,)."""
        return soft_quantile(self.estimator, x, y, self.quantile, self.temperature, self.constant_columns)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = self.sign * self.mi(x, y)
        if loss.dim() == 0 or self.reduction == "none":
            return loss
        return loss.mean() if self.reduction == "mean" else loss.sum()

    def extra_repr(self) -> str:
        mode = "maximize" if self.sign < 0 else "minimize"
        return f"{mode}, quantile={self.quantile}, temperature={self.temperature}, units={self.estimator.units}"
