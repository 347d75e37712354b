"""Grid quadrature for the ground truth of the functional and shape families.

The entropy of ``V + noise``, where V is a continuous law given as many small point masses
(``values``, ``masses``: a fine discretisation, e.g. ``f(x)`` at the midpoints of x-cells with their
probabilities), is computed by binning V onto a uniform grid of spacing ``delta`` (linear, "cloud in
cell" binning, which keeps the mean), convolving with the noise law's exact cell masses (FFT), and
taking the entropy of the binned law: ``h = -sum P log P + log delta``. With ``delta = scale /
resolution`` the error is O(resolution^-2) nats (about 1e-4 at the default 24, tested against dense
quadrature). Light tails are cut at 1e-10 of their mass (< 1e-8 nats); Student-t tails at TAIL, their
share of the entropy added back in closed form (as if far from V: error ~TAIL nats).

Noise laws (unit scale; ``nu`` only for ``student_t``):

| law       | density                              | differential entropy                         |
|-----------|--------------------------------------|----------------------------------------------|
| gaussian  | N(0, 1)                              | 1/2 log(2 pi e)                              |
| laplace   | exp(-abs(z)) / 2                     | 1 + log 2                                    |
| student_t | t with ``nu`` degrees of freedom     | mist.data.gaussian.t_entropy_term(1, nu)     |
| uniform   | U(-1, 1)                             | log 2                                        |

Uniform noise makes the density piecewise constant with jumps, where grid binning is only first-order
accurate: its entropy is summed exactly instead (``uniform_noise_entropy``).
"""

from __future__ import annotations

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft
from scipy.signal import fftconvolve
from scipy.integrate import quad
from scipy.special import gammaln, ndtr, ndtri, stdtr, stdtrit

from mist.data.gaussian import t_entropy_term

NOISE_LAWS = ("gaussian", "laplace", "student_t", "uniform")
TAIL = 1e-6           # student_t mass beyond the grid, per side (its entropy share is added back)
RESOLUTION = 24       # grid cells per (smallest) noise scale


def check_law(law: str, nu: float | None) -> None:
    if law not in NOISE_LAWS:
        raise ValueError(f"unknown noise law {law!r}; choose from {NOISE_LAWS}")
    if law == "student_t" and not (nu is not None and np.isfinite(nu) and nu > 0):
        raise ValueError(f"student_t noise needs nu > 0, got {nu!r}")


def noise_entropy(law: str, nu: float | None = None) -> float:
    """Differential entropy (nats) of the unit-scale noise law."""
    check_law(law, nu)
    return {"gaussian": lambda: 0.5 * np.log(2 * np.pi * np.e), "laplace": lambda: 1.0 + np.log(2.0),
            "student_t": lambda: t_entropy_term(1, nu), "uniform": lambda: np.log(2.0)}[law]()


def noise_cdf(law: str, z: np.ndarray, nu: float | None = None) -> np.ndarray:
    """CDF of the unit-scale noise law at z (any shape)."""
    z = np.asarray(z, dtype=np.float64)
    if law == "gaussian":
        return ndtr(z)
    if law == "laplace":
        return np.where(z < 0, 0.5 * np.exp(np.minimum(z, 0)), 1 - 0.5 * np.exp(-np.maximum(z, 0)))
    if law == "student_t":
        return stdtr(nu, z)
    return np.clip((z + 1) / 2, 0.0, 1.0)


def noise_logpdf(law: str, z: np.ndarray, nu: float | None = None) -> np.ndarray:
    """Log density of the unit-scale noise law at z (any shape); -inf off the support."""
    z = np.asarray(z, dtype=np.float64)
    if law == "gaussian":
        return -0.5 * z**2 - 0.5 * np.log(2 * np.pi)
    if law == "laplace":
        return -np.abs(z) - np.log(2.0)
    if law == "student_t":
        const = gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * np.log(nu * np.pi)
        return const - 0.5 * (nu + 1) * np.log1p(z**2 / nu)
    with np.errstate(divide="ignore"):
        return np.where(np.abs(z) <= 1, -np.log(2.0), -np.inf)


def sample_noise(law: str, shape, rng: np.random.Generator, nu: float | None = None) -> np.ndarray:
    """Unit-scale noise draws of the given shape."""
    if law == "gaussian":
        return rng.standard_normal(shape)
    if law == "laplace":
        return rng.laplace(0.0, 1.0, shape)
    if law == "student_t":
        return rng.standard_t(nu, shape)
    return rng.uniform(-1.0, 1.0, shape)


def noise_half_width(law: str, nu: float | None = None, tail: float | None = None) -> float:
    """m such that P(E > m) <= tail for the unit-scale law (1 for uniform). Default tails: 1e-10 for the
    light-tailed laws (the grid costs little), TAIL for student_t (whose dropped tail entropy
    ``noisy_entropy_1d`` adds back)."""
    if law == "gaussian":
        return 6.4 if tail is None else float(-ndtri(tail))  # P(E > 6.4) = 8e-11
    if law == "laplace":
        return float(-np.log(2 * (1e-10 if tail is None else tail)))
    if law == "student_t":
        return float(-stdtrit(nu, TAIL if tail is None else tail))
    return 1.0


def t_tail_entropy(nu: float, z: float, scale: float) -> float:
    """Both tails' share of the entropy of ``scale * E``, E ~ t(nu): 2 int_z^inf p(u) (log scale - log p(u)) du."""
    f = lambda u: np.exp(noise_logpdf("student_t", u, nu)) * (np.log(scale) - noise_logpdf("student_t", u, nu))
    return 2 * quad(f, z, np.inf, epsabs=1e-13, limit=200)[0]


# ----------------------------------------------------------------------------- binning


def bin_linear(pos: np.ndarray, masses: np.ndarray, size: int) -> np.ndarray:
    """Linear ("cloud in cell") binning of masses at fractional grid positions pos (M,) onto
    ``size`` nodes; shape (size,). Mass outside [0, size - 1] is dropped."""
    i = np.floor(pos).astype(np.int64)
    frac = pos - i
    keep = (i >= 0) & (i < size - 1)
    i, frac, m = i[keep], frac[keep], masses[keep]
    return np.bincount(i, m * (1 - frac), size) + np.bincount(i + 1, m * frac, size)


def bin_bilinear(pos_a: np.ndarray, pos_b: np.ndarray, masses: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear binning of masses at fractional grid positions (pos_a, pos_b) (M,); shape ``shape``."""
    ia, ib = np.floor(pos_a).astype(np.int64), np.floor(pos_b).astype(np.int64)
    fa, fb = pos_a - ia, pos_b - ib
    keep = (ia >= 0) & (ia < shape[0] - 1) & (ib >= 0) & (ib < shape[1] - 1)
    ia, ib, fa, fb, m = ia[keep], ib[keep], fa[keep], fb[keep], masses[keep]
    size = shape[0] * shape[1]
    flat = ia * shape[1] + ib
    out = (np.bincount(flat, m * (1 - fa) * (1 - fb), size) + np.bincount(flat + 1, m * (1 - fa) * fb, size)
           + np.bincount(flat + shape[1], m * fa * (1 - fb), size)
           + np.bincount(flat + shape[1] + 1, m * fa * fb, size))
    return out.reshape(shape)


def cell_kernel(law: str, nu: float | None, scale: float, delta: float, offsets: np.ndarray) -> np.ndarray:
    """Mass of ``scale * E`` in grid cells of width delta centred at ``offsets * delta`` (any shape).

    CDF differences, except for student_t (whose CDF is slow): Simpson's rule on the smooth density
    where abs(z) < 10, the midpoint rule beyond; relative error < 1e-6 per cell at delta <= scale / 6."""
    h = delta / scale
    c = np.asarray(offsets, np.float64) * h
    if law == "student_t":
        p = lambda z: np.exp(noise_logpdf(law, z, nu))
        out = h * p(c)
        core = np.abs(c) < 10
        out[core] = out[core] * (2 / 3) + h / 6 * (p(c[core] - h / 2) + p(c[core] + h / 2))
        return out
    return noise_cdf(law, c + h / 2, nu) - noise_cdf(law, c - h / 2, nu)


def _atoms(values: np.ndarray, masses: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values shared exactly by >= 4 points (atoms of V, e.g. from flat parts of f; a pair of equal
    values from a symmetry is no atom): (is_atom (M,) bool, atom values (A,), atom masses (A,))."""
    uniq, inv, count = np.unique(values, return_inverse=True, return_counts=True)
    repeated = count >= 4
    return repeated[inv], uniq[repeated], np.bincount(inv, masses, len(uniq))[repeated]


def grid_entropy(p: np.ndarray, cell_volume: float) -> float:
    """Differential entropy of a law given by its cell masses p (any shape) on cells of this volume."""
    p = p[p > 0]
    return float(-np.sum(p * np.log(p)) + np.sum(p) * np.log(cell_volume))


# ----------------------------------------------------------------------------- entropies


def central_mask(values: np.ndarray, masses: np.ndarray, tail: float = 1e-10, bins: int = 4096) -> np.ndarray:
    """Boolean (M,): the points kept when at most ``tail`` of the mass is dropped on each side (the
    outermost bins of a coarse histogram). Dropping changes an entropy by ~tail log(1 / tail)."""
    lo, hi = float(values.min()), float(values.max())
    if hi - lo <= 0:
        return np.ones(len(values), bool)
    idx = np.minimum(((values - lo) / (hi - lo) * bins).astype(np.int64), bins - 1)
    cdf = np.cumsum(np.bincount(idx, masses, bins))
    i_lo = int(np.searchsorted(cdf, tail, side="right"))
    i_hi = int(np.searchsorted(cdf, cdf[-1] - tail, side="left"))
    return (idx >= i_lo) & (idx <= i_hi)


def uniform_noise_entropy(values: np.ndarray, masses: np.ndarray, half_widths: np.ndarray) -> float:
    """h(V + U) exactly for point masses ``masses`` at ``values`` (M,) and U ~ U(-w, w) with w =
    ``half_widths`` (M,) per point: the density is piecewise constant, summed by a sweep over its 2M
    breakpoints (grid binning would be only first-order accurate at its jumps)."""
    ends = np.concatenate([values - half_widths, values + half_widths])
    steps = np.concatenate([masses / (2 * half_widths), -masses / (2 * half_widths)])
    order = np.argsort(ends, kind="stable")
    ends, density = ends[order], np.maximum(np.cumsum(steps[order])[:-1], 0.0)
    length = np.diff(ends)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(-np.sum(np.where(density > 0, length * density * np.log(density), 0.0)))


def noisy_entropy_1d(values: np.ndarray, masses: np.ndarray, scales: np.ndarray, law: str,
                     nu: float | None = None, levels: np.ndarray | None = None,
                     resolution: int = RESOLUTION, atoms: bool = False) -> float:
    """h(V + s E) in nats, E ~ ``law`` independent of V.

    values, masses (M,): point masses approximating the law of V (masses sum to ~1).
    scales (L,): the noise scales; levels (M,) int in [0, L) says which scale each point has
    (heteroscedastic noise, s a function of the point); None means all use scales[0].
    atoms: look for true atoms of V (points with identical values) and give them their exact cell
    masses, since linear binning of an atom has an error that does not extrapolate in resolution.
    """
    values, masses = np.asarray(values, np.float64), np.asarray(masses, np.float64)
    scales = np.atleast_1d(np.asarray(scales, np.float64))
    levels = np.zeros(len(values), np.int64) if levels is None else np.asarray(levels)
    if law == "uniform":
        return uniform_noise_entropy(values, masses, scales[levels])
    keep = central_mask(values, masses)
    values, masses, levels = values[keep], masses[keep], levels[keep]
    lo, hi = values.min(), values.max()
    delta = scales.min() / resolution
    half = int(np.ceil(noise_half_width(law, nu) * scales.max() / delta)) + 1
    size = int(np.ceil((hi - lo) / delta)) + 2
    pos = (values - lo) / delta
    n_fft = next_fast_len(size + 2 * half, real=True)
    spectrum = np.zeros(n_fft // 2 + 1, np.complex128)
    direct = np.zeros(size + 2 * half)  # grid node g is output index g + half
    tails = 0.0
    for lvl in np.unique(levels):  # one FFT product per noise level, one inverse FFT
        sel = np.flatnonzero(levels == lvl)
        reach = min(half, int(np.ceil(noise_half_width(law, nu) * scales[lvl] / delta)) + 1)  # this level's width
        if atoms:
            is_atom, atom_pos, atom_mass = _atoms(pos[sel], masses[sel])
            sel_c = sel[~is_atom]
            base = np.floor(atom_pos).astype(np.int64)
            offsets = np.arange(-reach, reach + 2)
            cells = cell_kernel(law, nu, scales[lvl], delta, offsets[None] - (atom_pos - base)[:, None])
            direct += np.bincount((base[:, None] + offsets[None] + half).ravel(),
                                  (atom_mass[:, None] * cells).ravel(), len(direct))
        else:
            sel_c = sel
        kernel = np.zeros(2 * half + 1)  # zero-padded to the widest level's
        kernel[half - reach: half + reach + 1] = cell_kernel(law, nu, scales[lvl], delta, np.arange(-reach, reach + 1))
        spectrum += rfft(bin_linear(pos[sel_c], masses[sel_c], size), n_fft) * rfft(kernel, n_fft)
        if law == "student_t":  # the kernel's cut tails (mass ~2 TAIL), as if far from all of V's mass
            tails += masses[sel].sum() * t_tail_entropy(nu, (reach + 0.5) * delta / scales[lvl], scales[lvl])
    total = irfft(spectrum, n_fft)[: size + 2 * half] + direct
    return grid_entropy(np.maximum(total, 0.0), delta) + tails


def gaussian_noise_entropy_2d(a: np.ndarray, b: np.ndarray, masses: np.ndarray, sigma: float,
                              resolution: int = RESOLUTION) -> float:
    """h(A + sigma E1, B + sigma E2) in nats, E1, E2 iid N(0, 1), for point masses at (a, b) (M,):
    bilinear binning on a square grid of spacing sigma / resolution, one separable convolution."""
    delta = sigma / resolution
    half = int(np.ceil(noise_half_width("gaussian") * resolution)) + 1
    shape = (int(np.ceil(np.ptp(a) / delta)) + 2, int(np.ceil(np.ptp(b) / delta)) + 2)
    hist = bin_bilinear((a - a.min()) / delta, (b - b.min()) / delta, masses, shape)
    kernel = cell_kernel("gaussian", None, sigma, delta, np.arange(-half, half + 1))
    smooth = fftconvolve(fftconvolve(hist, kernel[:, None]), kernel[None, :])
    return grid_entropy(np.maximum(smooth, 0.0), delta**2)
