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
scripts/example_maximize_mi.py (300 Adam steps on a free 20 x 2 projection W): with the stage-2
checkpoint W's columns became nearly parallel (condition number ~47) and the held-out estimate
reached 3.04 nats against a true maximum of 1.61; with the first routed checkpoint, condition
number ~6 and 1.94 (orthonormal basis of the same subspace: 1.43). With the current checkpoint
the same run stays well conditioned (condition number 1, overlap 0.995, held-out 1.60 vs 1.61),
but nothing in the estimator guarantees that. Near-duplicate
coordinates are outside the training prior. When learning a projection, keep it well conditioned
(orthonormalize it, e.g. parametrize W by its QR factor, or penalize its condition number).

Other differences: `estimate` splits N > max_n into random subsets and averages them; this path
feeds all N at once (memory O(B N^2 (dx + dy)) for the soft ranks, so keep N <= ~2k), and it
does no input validation (a constant column becomes an all-zero score column with zero
gradient, where `estimate` rejects or drops it).

Measured gap (`python scripts/soft_vs_hard.py --n-batches 24 --threads 1`: 339 sets of the `imd`
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
feels neighbours within ~temperature * scale): in scripts/example_maximize_mi.py with
minibatches of 48 samples, temperatures <= 0.02 found the planted subspace more slowly, while
0.05 to 0.2 did equally well (measured with a design-study checkpoint); at 256 samples all of
0.005 to 0.2 did.

Caveat for minimization: the estimator is a learned function, and minimizing it is adversarial.
A flexible upstream network can move information into forms the training prior rarely
contains (e.g. a dependence symmetric in one variable, z ~ |s|), where the estimate is low
although the MI is not. Check a minimized representation with an independent estimator (e.g.
mist.evaluate.ksg.ksg_mi), as scripts/example_minimize_mi.py does.
"""

from __future__ import annotations

import torch
from torch import nn

from mist.network.normalize import DEFAULT_TEMPERATURE
from mist.network.quantiles import interpolate_quantile

MODES = {"maximize": -1.0, "minimize": 1.0}


def soft_quantile(estimator, x_t: torch.Tensor, y_t: torch.Tensor, level: float = 0.5,
                  temperature: float = DEFAULT_TEMPERATURE) -> torch.Tensor:
    """Differentiable MI quantile at any `level` in the predicted range (linear interpolation
    between the network's levels): a scalar for (N, d) inputs, (B,) for (B, N, d) inputs."""
    q = estimator.quantiles_t(x_t, y_t, temperature)
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

    forward(x, y): x (N, dx), y (N, dy) -> scalar; (B, N, dx), (B, N, dy) -> reduced over B.
    (N,) vectors are read as one column.
    """

    def __init__(self, estimator, temperature: float = DEFAULT_TEMPERATURE, mode: str = "maximize",
                 sign: float | None = None, quantile: float = 0.5, reduction: str = "mean",
                 freeze: bool = True):
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
        lv = estimator.levels
        if not lv[0] <= quantile <= lv[-1]:
            raise ValueError(f"quantile {quantile} outside the predicted range [{lv[0]}, {lv[-1]}]")
        self.estimator = estimator  # not an nn.Module: its weights stay out of parameters()
        self.temperature, self.sign, self.quantile, self.reduction = temperature, float(sign), quantile, reduction
        if freeze:
            estimator.model.requires_grad_(False)

    def mi(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The differentiable MI (no sign, no reduction): scalar or (B,)."""
        if x.dim() == 1:
            x = x.unsqueeze(-1)
        if y.dim() == 1:
            y = y.unsqueeze(-1)
        return soft_quantile(self.estimator, x, y, self.quantile, self.temperature)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = self.sign * self.mi(x, y)
        if loss.dim() == 0 or self.reduction == "none":
            return loss
        return loss.mean() if self.reduction == "mean" else loss.sum()

    def extra_repr(self) -> str:
        mode = "maximize" if self.sign < 0 else "minimize"
        return f"{mode}, quantile={self.quantile}, temperature={self.temperature}, units={self.estimator.units}"
