"""The one input validator of the public API, for the numpy path (`estimate`) and the torch path
(`est.mi`, `est.quantiles_t`, `MILoss`). Each rule and its message is stated once below and
applied to both: a bad value or shape is a ValueError, a wrong kind of object a TypeError, and
every message names the problem.

Shape letters: B sets in a batch, N samples, D columns (dx for x, dy for y).
"""

from __future__ import annotations

import numpy as np
import torch

from mist._frames import to_array

MIN_SAMPLES = 8
CONSTANT_COLUMNS = ("error", "drop")


# ---------------------------------------------------------------- rules shared by both paths
def _check_values(name: str, is_number: bool, is_complex: bool, dtype) -> None:
    if is_complex:
        raise ValueError(f"{name} is complex; MI of complex data is not defined here (split real and imaginary parts)")
    if not is_number:
        raise ValueError(f"{name} must hold numbers, got dtype {dtype}")


def _check_shape(name: str, shape: tuple, batched_ok: bool) -> None:
    """(N,) and (N, d) always; (B, N, d) only on the torch path. No samples or no columns: empty."""
    if not 1 <= len(shape) <= (3 if batched_ok else 2):
        allowed = "1-D (N,), 2-D (N, d) or 3-D (B, N, d)" if batched_ok else "1-D (N,) or 2-D (N, d)"
        raise ValueError(f"{name} must be {allowed}, got shape {tuple(shape)}")
    if 0 in shape:
        what = "no columns" if len(shape) > 1 and shape[-1] == 0 else "no samples"
        raise ValueError(f"{name} is empty (shape {tuple(shape)}): {what}")


def _check_finite(name: str, bad_rows: np.ndarray, n_bad: int) -> None:
    """bad_rows: sample indices (sorted, unique) holding a NaN/inf; n_bad: how many values."""
    if n_bad:
        raise ValueError(f"{name} has {n_bad} NaN/inf value(s), in rows {bad_rows[:5].tolist()}"
                         f"{'...' if len(bad_rows) > 5 else ''}; remove or impute them first")


def check_samples(nx: int, ny: int, min_n: int = MIN_SAMPLES) -> None:
    """x and y of equal N, and N >= min_n (the estimator's rule is 8; baselines may need fewer)."""
    if nx != ny:
        raise ValueError(f"x and y must have the same number of samples, got {nx} and {ny}")
    if nx < min_n:
        raise ValueError(f"need at least {min_n} samples, got {nx}")


def _check_samples(nx: int, ny: int, constant_columns: str) -> None:
    check_samples(nx, ny)
    check_constant_columns_arg(constant_columns)


def check_constant_columns_arg(constant_columns: str) -> None:
    if constant_columns not in CONSTANT_COLUMNS:
        raise ValueError(f"constant_columns must be 'error' or 'drop', got {constant_columns!r}")


def _check_constant(name: str, const_BD: np.ndarray, constant_columns: str) -> None:
    """const_BD: (B, D) bool, True where a set's column is constant (B = 1 on the numpy path).
    A constant column has zero entropy and carries 0 nats about anything, so dropping it leaves
    the MI unchanged; by default it is an error (it is usually a bug upstream)."""
    if constant_columns == "error" and const_BD.any():
        sets = np.nonzero(const_BD.any(axis=1))[0]
        where = f" (in set(s) {sets[:5].tolist()}{'...' if len(sets) > 5 else ''} of the batch)" if len(const_BD) > 1 else ""
        raise ValueError(f"{name} has constant column(s) {np.nonzero(const_BD.any(axis=0))[0].tolist()}{where}: "
                         "a constant carries 0 nats; drop them, or pass constant_columns='drop'")


# ---------------------------------------------------------------- numpy path
def _tensor_to_numpy(t: torch.Tensor, name: str) -> np.ndarray:
    """Any strided tensor -> numpy, without gradient; half-precision floats widened (numpy has no
    bfloat16 and float8, and the numpy path works in float64 anyway)."""
    _check_storage(t, name)
    t = t.detach().cpu().resolve_conj().resolve_neg()
    if t.dtype.is_floating_point:
        t = t.double()
    return t.numpy()


def as_2d(a, name: str) -> np.ndarray:
    """numpy / torch / list / pandas or polars frame -> float64 array (N, d); (N,) becomes (N, 1)."""
    a, _ = to_array(a, name)  # a frame: its non-numeric columns and missing values are named (mist._frames)
    if isinstance(a, torch.Tensor):
        a = _tensor_to_numpy(a, name)
    a = np.asarray(a)
    _check_values(name, np.issubdtype(a.dtype, np.number) or a.dtype == bool, np.iscomplexobj(a), a.dtype)
    if a.ndim == 1:
        a = a[:, None]
    _check_shape(name, a.shape, batched_ok=False)
    a = a.astype(np.float64, copy=False)
    bad = ~np.isfinite(a)
    _check_finite(name, np.unique(np.nonzero(bad)[0]), int(bad.sum()))
    return a


def check_pair(x, y, constant_columns: str = "error") -> tuple[np.ndarray, np.ndarray]:
    """Validate a dataset; returns float64 x (N, dx), y (N, dy) with constant columns handled:
    an error by default, dropped with constant_columns="drop" (a whole side may go: MI 0)."""
    x, y = as_2d(x, "x"), as_2d(y, "y")
    _check_samples(len(x), len(y), constant_columns)
    out = []
    for a, name in ((x, "x"), (y, "y")):
        const_D = np.ptp(a, axis=0) == 0
        _check_constant(name, const_D[None], constant_columns)
        out.append(a[:, ~const_D] if const_D.any() else a)
    return out[0], out[1]


# ---------------------------------------------------------------- torch path
_INTEGER_DTYPES = {torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
                   torch.uint16, torch.uint32, torch.uint64}


def _check_storage(t: torch.Tensor, name: str) -> None:
    if t.is_meta:
        raise TypeError(f"{name} is a meta tensor: it has a shape but no values")
    if t.layout != torch.strided:
        raise TypeError(f"{name} is a {t.layout} tensor; pass a dense one ({name}.to_dense())")


def as_batched(t, name: str) -> tuple[torch.Tensor, bool]:
    """A torch tensor (N,), (N, d) or (B, N, d) -> (t_BND, batched), the same tensor viewed as
    (B, N, d) (B = 1 unless batched), its dtype and autograd history kept.

    Only tensors: the torch path exists for gradients, and a numpy array or list has none (it
    usually means the graph was cut upstream, e.g. by `.numpy()`), so it is a TypeError that
    points to `estimate` (exact ranks) or torch.as_tensor."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}; for numpy data use "
                        f"est.estimate (exact ranks, no gradient), or convert with torch.as_tensor")
    _check_storage(t, name)
    _check_values(name, t.dtype.is_floating_point or t.dtype == torch.bool or t.dtype in _INTEGER_DTYPES,
                  t.dtype.is_complex, t.dtype)
    if t.dim() == 1:
        t = t.unsqueeze(-1)
    _check_shape(name, tuple(t.shape), batched_ok=True)
    batched = t.dim() == 3
    t_BND = t if batched else t.unsqueeze(0)
    bad_BND = ~torch.isfinite(t_BND.detach())
    if bad_BND.any():
        _check_finite(name, torch.nonzero(bad_BND.any(dim=(0, 2))).flatten().cpu().numpy(), int(bad_BND.sum()))
    return t_BND, batched


def check_pair_t(x, y, constant_columns: str = "error"):
    """Validate a dataset (or a batch of them) on the torch path, with the same rules and messages
    as check_pair. Returns (x_BND, y_BND, batched, keep_x_BD, keep_y_BD): the inputs viewed as
    (B, N, d) with dtype and gradient kept, and numpy bool masks of the non-constant columns of
    each set (all True unless constant_columns="drop" found some)."""
    (x_BND, bx), (y_BND, by) = as_batched(x, "x"), as_batched(y, "y")
    if bx != by:
        raise ValueError(f"x and y must both be batched (B, N, d) or both not, got shapes "
                         f"{tuple(x.shape)} and {tuple(y.shape)}")
    if len(x_BND) != len(y_BND):
        raise ValueError(f"x and y must have the same batch size, got {len(x_BND)} and {len(y_BND)}")
    _check_samples(x_BND.shape[1], y_BND.shape[1], constant_columns)
    keeps = []
    for t_BND, name in ((x_BND, "x"), (y_BND, "y")):
        t_BND = t_BND.detach()
        const_BD = (t_BND.amax(dim=1) == t_BND.amin(dim=1)).cpu().numpy()
        _check_constant(name, const_BD, constant_columns)
        keeps.append(~const_BD)
    return x_BND, y_BND, bx, keeps[0], keeps[1]
