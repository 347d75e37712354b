"""Noisy functional relationships ``Y = f(X) + s(X) E`` with non-monotone f.

| family     | what                                              | MI (nats)     | truth                        |
|------------|---------------------------------------------------|---------------|------------------------------|
| functional | X ~ U(-1, 1) or N(0, 1); f one of FUNCTIONS, unit | 0 .. ~5 (to   | h(Y) - h(Y given X); h(Y) by |
|            | sd; E one of NOISE_LAWS; s constant or s0 exp(eta | 5.4 uniform E)| grid quadrature of p(y);     |
|            | u(x)), u a wave rounded to 8 levels               | target knob   | E log s(X) + h(E) exactly    |

``random_functional`` puts k such pairs side by side (MI adds), lifts them to (dx, dy) by
mist.data.lifting (exact) and swaps sides with probability 1/2.

Quadrature: f at the midpoints of 2^12..2^16 x-cells (more where f is steep; cells are cut at f's
jumps and at the noise-level changes), their exact masses, and ``noisy_entropy_1d`` at two
resolutions combined by Richardson extrapolation (error O(resolution^-2)); uniform noise is summed
exactly on 4x the cells. Agreement with dense Gauss-Legendre quadrature: ~1e-5 nats
(tests/test_families_new.py). The heteroscedastic scale is a step function of x with 8 levels
(samples use the same steps), so that each level is one exact FFT convolution.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from mist.data.distributions import check_dim
from mist.data.lifting import MIXES, Swapped, lift
from mist.data.other_families import Product
from mist.data.quadrature import NOISE_LAWS, check_law, noise_entropy, noisy_entropy_1d, sample_noise

X_MARGINALS = ("uniform", "gaussian")
FUNCTIONS = ("polynomial", "sine", "fourier", "abs", "zigzag", "steps", "sawtooth", "bump")
WAVES = ("tanh", "sine")  # shapes u(x) in [-1, 1] of the log noise scale
HETERO_LEVELS = 8
SCALE_RANGE = (0.005, 50.0)  # noise scales the target solver may use (f has unit sd): MI ~0..5.5
GAUSS_LIMIT = 7.0  # N(0, 1) is discretised on [-7, 7]; the 2.6e-12 outside is dropped


class Function1D:
    """A named scalar function ``a * g(x) + b`` with g given by ``kind`` and ``coef`` (lists)."""

    def __init__(self, kind: str, coef: dict, a: float = 1.0, b: float = 0.0):
        if kind not in FUNCTIONS + WAVES:
            raise ValueError(f"unknown function kind {kind!r}; choose from {FUNCTIONS + WAVES}")
        self.kind, self.coef, self.a, self.b = kind, {k: np.asarray(v, np.float64) for k, v in coef.items()}, a, b

    def raw(self, x: np.ndarray) -> np.ndarray:
        c, k = self.coef, self.kind
        if k == "polynomial":  # prod (x - r_j): non-monotone for >= 2 distinct real roots
            return np.prod(x[..., None] - c["roots"], axis=-1)
        if k in ("sine",):
            return np.sin(c["omega"] * x + c["phase"])
        if k == "fourier":
            j = np.arange(1, len(c["amp"]) + 1)
            return np.sin(np.multiply.outer(x, j * c["omega"]) + c["phase"]) @ c["amp"]
        if k == "abs":
            return np.abs(x - c["center"])
        if k == "zigzag":
            return np.interp(x, c["knots"], c["values"])
        if k == "steps":
            return (x[..., None] > c["cuts"]) @ c["heights"]
        if k == "sawtooth":
            return np.mod(c["omega"] * x + c["phase"], 1.0)
        if k == "bump":
            return np.exp(-0.5 * ((x - c["center"]) / c["width"]) ** 2)
        return np.tanh(c["slope"] * (x - c["center"]))  # wave "tanh"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.a * self.raw(np.asarray(x, np.float64)) + self.b

    def crossings(self, levels: np.ndarray, lo: float, hi: float) -> np.ndarray:
        """The x in (lo, hi) where a wave (kind "tanh" or "sine", a = 1, b = 0) equals one of ``levels``."""
        t = np.asarray(levels, np.float64)
        if self.kind == "tanh":
            x = self.coef["center"] + np.arctanh(t) / self.coef["slope"]
        elif self.kind == "sine":
            om, ph = float(self.coef["omega"]), float(self.coef["phase"])
            theta = np.concatenate([np.arcsin(t), np.pi - np.arcsin(t)])
            k = np.arange(np.floor((om * lo + ph - 2 * np.pi) / (2 * np.pi)), np.ceil((om * hi + ph) / (2 * np.pi)) + 1)
            x = ((theta[:, None] + 2 * np.pi * k[None]).ravel() - ph) / om
        else:
            raise ValueError(f"crossings need a wave ({WAVES}), not {self.kind!r}")
        return np.sort(x[(x > lo) & (x < hi)])

    def jumps(self, lo: float, hi: float) -> np.ndarray:
        """The points of discontinuity in (lo, hi), sorted (quadrature cells are cut there)."""
        if self.kind == "steps":
            x = self.coef["cuts"]
        elif self.kind == "sawtooth":  # omega x + phase crosses an integer
            om, ph = float(self.coef["omega"]), float(self.coef["phase"])
            k = np.arange(np.ceil(om * lo + ph), np.floor(om * hi + ph) + 1)
            x = (k - ph) / om
        else:
            return np.zeros(0)
        return np.sort(x[(x > lo) & (x < hi)])

    def params(self) -> dict:
        return {"kind": self.kind, **{k: [float(v) for v in np.ravel(c)] for k, c in self.coef.items()}}


def random_function(kind: str, rng: np.random.Generator, marginal: str = "uniform") -> Function1D:
    """A random instance of ``kind`` (FUNCTIONS or WAVES) shaped for X's ``marginal`` (range ~[-1, 1]
    for uniform, ~[-2, 2] for gaussian). Not yet scaled (Functional scales it to unit sd)."""
    w = 1.0 if marginal == "uniform" else 2.0
    u = lambda lo, hi, size=None: rng.uniform(lo, hi, size)
    if kind == "polynomial":  # degree <= 3 under a Gaussian keeps f(X)'s tails moderate
        deg = int(rng.integers(2, 6 if marginal == "uniform" else 4))
        return Function1D(kind, {"roots": u(-0.9 * w, 0.9 * w, deg) * (0.75 if marginal == "gaussian" else 1)})
    if kind == "sine":
        return Function1D(kind, {"omega": np.exp(u(np.log(2.0), np.log(20.0))) / w, "phase": u(0, 2 * np.pi)})
    if kind == "fourier":
        j = int(rng.integers(2, 7))
        return Function1D(kind, {"omega": u(1.0, 4.0) / w, "phase": u(0, 2 * np.pi, j),
                                 "amp": rng.standard_normal(j) / np.arange(1, j + 1)})
    if kind == "abs":
        return Function1D(kind, {"center": u(-0.5 * w, 0.5 * w)})
    if kind == "zigzag":
        m = int(rng.integers(3, 8))
        return Function1D(kind, {"knots": np.sort(u(-w, w, m)), "values": rng.standard_normal(m)})
    if kind == "steps":
        m = int(rng.integers(2, 7))
        return Function1D(kind, {"cuts": np.sort(u(-0.9 * w, 0.9 * w, m)), "heights": rng.standard_normal(m)})
    if kind == "sawtooth":
        return Function1D(kind, {"omega": np.exp(u(np.log(1.0), np.log(6.0))) / w, "phase": u(0, 1)})
    if kind == "bump":
        return Function1D(kind, {"center": u(-0.5 * w, 0.5 * w), "width": np.exp(u(np.log(0.1), np.log(0.5))) * w})
    if kind == "tanh":  # (the wave "sine" is the function "sine")
        return Function1D(kind, {"slope": np.exp(u(np.log(1.0), np.log(8.0))) / w, "center": u(-0.5 * w, 0.5 * w)})
    raise ValueError(f"unknown function kind {kind!r}; choose from {FUNCTIONS + WAVES}")


def x_cells(marginal: str, n_cells: int, cuts: np.ndarray = ()) -> tuple[np.ndarray, np.ndarray]:
    """Midpoints and exact probabilities of ``n_cells`` equal x-cells under ``marginal``, further cut
    at ``cuts`` (so that no cell straddles a jump of f); (n_cells + len(cuts),) each."""
    edges = cell_edges(marginal, n_cells, cuts)
    masses = np.diff(edges) / (edges[-1] - edges[0]) if marginal == "uniform" else np.diff(ndtr(edges))
    return 0.5 * (edges[1:] + edges[:-1]), masses


def cell_edges(marginal: str, n_cells: int, cuts: np.ndarray = ()) -> np.ndarray:
    """The edges of x_cells, (n_cells + len(cuts) + 1,)."""
    lim = 1.0 if marginal == "uniform" else GAUSS_LIMIT
    return np.union1d(np.linspace(-lim, lim, n_cells + 1), cuts)


def n_cells_needed(function: Function1D, marginal: str, min_scale: float, cuts: np.ndarray = ()) -> int:
    """x-cells needed: f may rise by at most half the smallest noise scale over one cell (then the
    midpoint rule's error is < 2e-5 nats, measured); a power of 2 in 2^12..2^16."""
    edges = cell_edges(marginal, 2**12, cuts)
    mid, mass = x_cells(marginal, 2**12, cuts)
    inner = 0.5 * np.diff(edges)  # f's rise over the inner half of each cell, times 2 (never across a cut)
    rise = 2 * np.abs(function(mid + inner / 2) - function(mid - inner / 2))[mass > 1e-9]
    ratio = float(np.max(rise, initial=0.0)) / (0.5 * min_scale)
    return int(np.clip(2 ** np.ceil(np.log2(2**12 * max(ratio, 1.0))), 2**12, 2**16))


def sample_x(marginal: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """n draws of X, shape (n,)."""
    return rng.uniform(-1.0, 1.0, n) if marginal == "uniform" else rng.standard_normal(n)


class Functional:
    """``Y = f(X) + s(X) E`` in 1-D; ``mi`` = h(Y) - E log s(X) - h(E) (module docstring).

    function: Function1D (rescaled here to zero mean and unit sd under X's marginal).
    scale: s0 > 0. hetero: eta >= 0; with ``wave`` (a Function1D in [-1, 1]) the scale is
    ``s0 exp(eta q(wave(x)))``, q rounding to HETERO_LEVELS levels in [-1, 1].
    quick: a ~1e-3-accurate ``mi`` at a fraction of the cost (used while solving for a target MI).
    """

    family = "functional"
    dim_x = dim_y = 1
    mi_se = 0.0

    def __init__(self, function: Function1D, scale: float, noise: str = "gaussian", marginal: str = "uniform",
                 nu: float | None = None, hetero: float = 0.0, wave: Function1D | None = None,
                 quick: bool = False):
        check_law(noise, nu)
        if marginal not in X_MARGINALS:
            raise ValueError(f"unknown marginal {marginal!r}; choose from {X_MARGINALS}")
        if not (np.isfinite(scale) and scale > 0 and np.isfinite(hetero) and hetero >= 0):
            raise ValueError(f"need scale > 0 and hetero >= 0, got {scale}, {hetero}")
        if hetero > 0 and wave is None:
            raise ValueError("hetero > 0 needs a wave")
        self.noise, self.nu, self.marginal = noise, (float(nu) if noise == "student_t" else None), marginal
        self.scale, self.hetero, self.wave = float(scale), float(hetero), wave if hetero > 0 else None
        lim = 1.0 if marginal == "uniform" else GAUSS_LIMIT
        # cells are cut where f jumps and where the noise level changes, so each cell is exact
        self._cuts = np.union1d(function.jumps(-lim, lim), self._level_cuts(-lim, lim))
        mid, mass = x_cells(marginal, 2**12, self._cuts)
        v = function(mid)
        mean = float(mass @ v)
        sd = float(np.sqrt(mass @ (v - mean) ** 2))
        if not sd > 1e-12:
            raise ValueError("f is constant under X's marginal")
        self.function = Function1D(function.kind, function.coef, function.a / sd, (function.b - mean) / sd)
        n_cells = 2**12 if quick else n_cells_needed(self.function, marginal, self._level_scales().min(), self._cuts)
        if n_cells != 2**12 or noise == "uniform":
            mid, mass = x_cells(marginal, n_cells if noise != "uniform" else min(4 * n_cells, 2**17), self._cuts)
        self.mi = max(self._entropy_y(mid, mass, quick) - self._entropy_y_given_x(mid, mass), 0.0)

    # the noise scale as a step function of x: levels, their scales, and where the level changes
    def _levels(self, x: np.ndarray) -> np.ndarray:
        if self.wave is None:
            return np.zeros(np.shape(x), np.int64)
        u = np.clip(self.wave(x), -1, 1)
        return np.rint((u + 1) / 2 * (HETERO_LEVELS - 1)).astype(np.int64)

    def _level_scales(self) -> np.ndarray:
        if self.wave is None:
            return np.array([self.scale])
        return self.scale * np.exp(self.hetero * np.linspace(-1, 1, HETERO_LEVELS))

    def _level_cuts(self, lo: float, hi: float) -> np.ndarray:
        if self.wave is None:
            return np.zeros(0)
        thresholds = (2 * np.arange(HETERO_LEVELS - 1) + 1) / (HETERO_LEVELS - 1) - 1  # rounding boundaries
        return self.wave.crossings(thresholds, lo, hi)

    def _entropy_y(self, mid: np.ndarray, mass: np.ndarray, quick: bool = False) -> float:
        v, lv, scales = self.function(mid), self._levels(mid), self._level_scales()
        if self.noise == "uniform":  # summed exactly, no grid (error ~ n_cells^-2, hence 4x the cells)
            return noisy_entropy_1d(v, mass, scales, self.noise, None, lv)
        atoms = self.function.kind in ("steps", "zigzag")  # flat parts: f(X) has atoms
        h = lambda r: noisy_entropy_1d(v, mass, scales, self.noise, self.nu, lv, resolution=r, atoms=atoms)
        if quick:
            return h(6)
        return (4 * h(12) - h(6)) / 3  # Richardson: the error is O(resolution^-2)

    def _entropy_y_given_x(self, mid: np.ndarray, mass: np.ndarray) -> float:
        """E log s(X) + h(E); exact, as no cell straddles a level change."""
        log_s = np.log(self._level_scales())[self._levels(mid)]
        return float(mass @ log_s / mass.sum()) + noise_entropy(self.noise, self.nu)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """x (n, 1), y (n, 1)."""
        x = sample_x(self.marginal, check_dim(n, "n"), rng)
        s = self._level_scales()[self._levels(x)]
        y = self.function(x) + s * sample_noise(self.noise, n, rng, self.nu)
        return x[:, None], y[:, None]

    def params(self) -> dict:
        return {"family": self.family, "dim_x": 1, "dim_y": 1, "function": self.function.params(),
                "noise": self.noise, "nu": self.nu, "marginal": self.marginal, "scale": self.scale,
                "hetero": self.hetero, "wave": self.wave.params() if self.wave else None}


def _solve_scale(build, target: float, s0: float, iters: int = 5, tol: float = 0.03) -> float:
    """Noise scale s with build(s).mi ~= target (build makes quick instances): one step on the
    EPI-shaped curve I(s) = 1/2 log(1 + c / s^2) (exact for Gaussian f(X) and E), then secant steps
    on (log s, log I); I is ~monotone decreasing in s. Only the final instance's MI matters (exact)."""
    goal = np.log(max(target, 1e-4))
    s, mi = s0, build(s0).mi
    c = s**2 * np.expm1(2 * max(mi, 1e-6))
    history = [(np.log(s), np.log(max(mi, 1e-6)))]
    s_next = np.sqrt(c / np.expm1(2 * max(target, 1e-6)))
    for _ in range(iters):
        if abs(mi - target) <= tol * max(target, 0.1):
            break
        s = float(np.clip(s_next, max(s / 30, SCALE_RANGE[0]), min(s * 30, SCALE_RANGE[1])))
        mi = build(s).mi
        history.append((np.log(s), np.log(max(mi, 1e-6))))
        (l0, m0), (l1, m1) = history[-2], history[-1]
        slope = (m1 - m0) / (l1 - l0) if abs(l1 - l0) > 1e-9 and m1 != m0 else -1.0
        s_next = np.exp(l1 + (goal - m1) / min(slope, -0.05))  # I decreases in s
    return s


def random_functional_pair(rng: np.random.Generator, target_mi: float | None = None,
                           functions: tuple[str, ...] = FUNCTIONS, noises: tuple[str, ...] = NOISE_LAWS,
                           hetero_share: float = 0.3) -> Functional:
    """One random 1-D :class:`Functional`. With ``target_mi`` (nats, ~0.01..5) the noise scale is solved
    for it (the realised ``mi`` is exact, median 1% from the target; step functions saturate at
    H(f(X)) <= log 7, and heteroscedastic noise keeps a floor as s0 grows, since Y's spread alone
    reveals s(X)); without, s0 is log-uniform in [0.02, 2] (MI ~0.1..4)."""
    marginal = X_MARGINALS[rng.integers(len(X_MARGINALS))]
    function = random_function(functions[rng.integers(len(functions))], rng, marginal)
    noise = noises[rng.integers(len(noises))]
    nu = float(np.exp(rng.uniform(np.log(3.0), np.log(30.0)))) if noise == "student_t" else None
    hetero, wave = 0.0, None
    if rng.random() < hetero_share:
        hetero = float(rng.uniform(0.2, 1.0))
        wave = random_function(WAVES[rng.integers(len(WAVES))], rng, marginal)
    build = lambda s, quick=False: Functional(function, s, noise, marginal, nu, hetero, wave, quick)
    if target_mi is None:
        return build(float(np.exp(rng.uniform(np.log(0.02), np.log(2.0)))))
    return build(_solve_scale(lambda s: build(s, quick=True), float(target_mi), s0=0.3))


def random_functional(rng: np.random.Generator, dim_x: int, dim_y: int, target_mi: float | None = None,
                      n_pairs: int | None = None, mix: str | None = None, **pair_kwargs):
    """k = n_pairs (default random in 1..min(dx, dy, 3)) independent 1-D functional pairs (target MI split
    evenly), lifted to (dim_x, dim_y) with ``mix`` ("none" / "rotation" / "linear"; default drawn), and
    swapped with probability 1/2 (so f acts either way). MI is exactly the sum of the pairs'."""
    dim_x, dim_y = check_dim(dim_x, "dim_x"), check_dim(dim_y, "dim_y")
    k = int(n_pairs or rng.integers(1, min(dim_x, dim_y, 3) + 1))
    per = None if target_mi is None else target_mi / k
    pairs = [random_functional_pair(rng, per, **pair_kwargs) for _ in range(k)]
    base = pairs[0] if k == 1 else Product(pairs)
    swap = rng.random() < 0.5
    mix = MIXES[rng.integers(len(MIXES))] if mix is None else mix
    base = Swapped(base) if swap else base
    return lift(base, dim_x, dim_y, rng, mix)
