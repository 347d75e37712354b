"""Shapes no per-coordinate map produces: noisy curves in the plane, and the X-shape.

| family  | what                                                  | MI (nats)       | truth               |
|---------|-------------------------------------------------------|-----------------|---------------------|
| shape   | (X, Y) = c(T) + sigma (E1, E2), E iid N(0, 1), T      | circle 0..2.5,  | h(X) + h(Y) - h(X,Y)|
|         | uniform on the curve's pieces: "circle", "rings" (2-3 | rings 0..1.2,   | circles and rings:  |
|         | concentric), "spiral" (1-3 turns), "plus" (crossing   | spiral 0..1.0,  | radial quadrature   |
|         | segments)                                             | plus 0..0.4     | of the Bessel-form  |
|         |                                                       |                 | density; others: 2-D|
|         |                                                       |                 | grid, Richardson    |
| x_shape | Y = S g(X) + sigma E, S = +-1 w.p. 1/2, X ~ U(-1, 1)  | 0 .. ~4.5       | h(Y) by 1-D grid;   |
|         | or N(0, 1), g = x or a random FUNCTION                |                 | h(Y given X) via a  |
|         |                                                       |                 | tabulated two-point |
|         |                                                       |                 | mixture entropy     |

The marginal entropies h(X), h(Y) use the 1-D grid of mist.data.quadrature. ``random_shape`` picks
one, solves sigma for a target MI when given (the realised ``mi`` is exact; the ranges above are its
limits, set by sigma >= 0.01 for circles/rings, 0.03 for spiral/plus (the 2-D grid's cost), 0.005 for
the X-shape), and lifts it to (dim_x, dim_y) (mist.data.lifting).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from numpy.polynomial.legendre import leggauss
from scipy.interpolate import CubicSpline
from scipy.special import i0e

from mist.data.distributions import check_dim
from mist.data.functional import (FUNCTIONS, GAUSS_LIMIT, X_MARGINALS, Function1D, _solve_scale,
                                  n_cells_needed, random_function, sample_x, x_cells)
from mist.data.lifting import MIXES, Swapped, lift
from mist.data.quadrature import gaussian_noise_entropy_2d, noisy_entropy_1d

CURVES = ("circle", "rings", "spiral", "plus")
SHAPES = CURVES + ("x_shape",)
H_GAUSS = 0.5 * np.log(2 * np.pi * np.e)


# ----------------------------------------------------------------------------- noisy curves


def curve_points(piece: dict, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points (a, b), each shaped like t in [0, 1], of a curve piece: {"kind": "circle", "radius"},
    {"kind": "spiral", "r0", "r1", "turns", "phase"} or {"kind": "segment", "start", "end"}."""
    if piece["kind"] == "circle":
        angle = 2 * np.pi * t
        return piece["radius"] * np.cos(angle), piece["radius"] * np.sin(angle)
    if piece["kind"] == "spiral":
        radius = piece["r0"] + (piece["r1"] - piece["r0"]) * t
        angle = piece["phase"] + 2 * np.pi * piece["turns"] * t
        return radius * np.cos(angle), radius * np.sin(angle)
    (a0, b0), (a1, b1) = piece["start"], piece["end"]
    return a0 + (a1 - a0) * t, b0 + (b1 - b0) * t


def _length(piece: dict) -> float:
    a, b = curve_points(piece, np.linspace(0, 1, 257))
    return float(np.sum(np.hypot(np.diff(a), np.diff(b))))


class NoisyCurve:
    """(X, Y) = c(T) + sigma (E1, E2): T picks piece k with prob. weights[k], then t ~ U(0, 1) on it.

    pieces: list of dicts (see ``curve_points``). ``mi`` = h(X) + h(Y) - h(X, Y) (module docstring).
    quick: a ~1e-3-accurate ``mi`` (used while solving for a target MI).
    """

    family = "shape"
    dim_x = dim_y = 1
    mi_se = 0.0

    def __init__(self, pieces: list[dict], weights, sigma: float, name: str = "curve", quick: bool = False):
        self.pieces, self.name = [dict(p) for p in pieces], name
        self.weights = np.asarray(weights, np.float64) / np.sum(weights)
        if len(self.weights) != len(self.pieces) or np.any(self.weights <= 0):
            raise ValueError("need one positive weight per piece")
        if not (np.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma must be > 0, got {sigma}")
        self.sigma = float(sigma)
        a, b, m = self._cells()
        res = (6,) if quick else (6, 12)
        flat = [p["kind"] == "segment" and np.any(np.equal(p["start"], p["end"])) for p in self.pieces]
        hx, hy = (self._richardson(lambda r: noisy_entropy_1d(v, m, [sigma], "gaussian", resolution=r,
                                                             atoms=any(flat)), res) for v in (a, b))
        if all(p["kind"] == "circle" for p in self.pieces):
            hxy = self._rings_joint_entropy()
        else:
            hxy = self._richardson(lambda r: gaussian_noise_entropy_2d(a, b, m, sigma, r), (3,) if quick else (3, 6))
        self.mi = max(hx + hy - hxy, 0.0)

    @staticmethod
    def _richardson(h, resolutions) -> float:
        if len(resolutions) == 1:
            return h(resolutions[0])
        coarse, fine = h(resolutions[0]), h(resolutions[1])
        return (4 * fine - coarse) / 3  # errors are O(resolution^-2)

    def _cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Points along the curve (a, b) and their masses (M,): t-cell midpoints, consecutive points
        at most sigma / 2 apart."""
        parts = []
        for piece, w in zip(self.pieces, self.weights):
            n = int(np.clip(2 ** np.ceil(np.log2(2 * _length(piece) / self.sigma + 1)), 2**10, 2**16))
            a, b = curve_points(piece, (np.arange(n) + 0.5) / n)
            parts.append((a, b, np.full(n, w / n)))
        return tuple(np.concatenate(z) for z in zip(*parts))

    def _rings_joint_entropy(self) -> float:
        """h(X, Y) for concentric circles: p depends on rho only, p(rho) = sum_k w_k / (2 pi s^2)
        exp(-(rho - r_k)^2 / (2 s^2)) i0e(rho r_k / s^2); -int 2 pi rho p log p by Gauss-Legendre
        panels of width <= sigma / 2."""
        s, radii = self.sigma, np.array([p["radius"] for p in self.pieces])
        hi = radii.max() + 9 * s
        panels = int(np.ceil(hi / (0.5 * s)))
        g, w = leggauss(8)
        edges = np.linspace(0, hi, panels + 1)
        h = hi / panels
        rho = (0.5 * (edges[:-1, None] + edges[1:, None]) + 0.5 * h * g).ravel()
        wts = np.tile(0.5 * h * w, panels)
        dens = (self.weights * np.exp(-((rho[:, None] - radii) ** 2) / (2 * s * s))
                * i0e(rho[:, None] * radii / (s * s))).sum(axis=1) / (2 * np.pi * s * s)
        logp = np.log(np.maximum(dens, 1e-300))
        return float(-np.sum(wts * 2 * np.pi * rho * dens * logp))

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """x (n, 1), y (n, 1)."""
        n = check_dim(n, "n")
        which, t = rng.choice(len(self.pieces), size=n, p=self.weights), rng.random(n)
        a, b = np.empty(n), np.empty(n)
        for k, piece in enumerate(self.pieces):
            sel = which == k
            a[sel], b[sel] = curve_points(piece, t[sel])
        noise = self.sigma * rng.standard_normal((n, 2))
        return (a + noise[:, 0])[:, None], (b + noise[:, 1])[:, None]

    def params(self) -> dict:
        pieces = [{k: (list(map(float, v)) if isinstance(v, (tuple, list, np.ndarray)) else
                       (float(v) if not isinstance(v, str) else v)) for k, v in p.items()} for p in self.pieces]
        return {"family": self.family, "dim_x": 1, "dim_y": 1, "shape": self.name, "sigma": self.sigma,
                "weights": [float(w) for w in self.weights], "pieces": pieces}


def curve_pieces(name: str, rng: np.random.Generator) -> tuple[list[dict], np.ndarray]:
    """Random pieces and weights of a named curve (CURVES), of size ~1."""
    if name == "circle":
        return [{"kind": "circle", "radius": 1.0}], np.ones(1)
    if name == "rings":
        radii = np.sort(rng.uniform(0.25, 1.0, int(rng.integers(2, 4))))
        return [{"kind": "circle", "radius": float(r)} for r in radii], radii * rng.uniform(0.5, 1.5, len(radii))
    if name == "spiral":
        return [{"kind": "spiral", "r0": float(rng.uniform(0.0, 0.3)), "r1": 1.0,
                 "turns": float(rng.uniform(1.0, 3.0)), "phase": float(rng.uniform(0, 2 * np.pi))}], np.ones(1)
    if name == "plus":
        return [{"kind": "segment", "start": (-1.0, 0.0), "end": (1.0, 0.0)},
                {"kind": "segment", "start": (0.0, -1.0), "end": (0.0, 1.0)}], rng.uniform(0.3, 0.7, 2)
    raise ValueError(f"unknown curve {name!r}; choose from {CURVES}")


# ----------------------------------------------------------------------------- X-shape


@lru_cache(maxsize=1)
def _mixture_gain_table() -> tuple[np.ndarray, np.ndarray]:
    """G(d) = h(1/2 N(d, 1) + 1/2 N(-d, 1)) - h(N(0, 1)) on d in [0, 12] (G(d) = log 2 beyond, to
    1e-30): Gauss-Hermite (120 nodes) over the component, error < 2e-8 (largest near d = 2.5, where
    the softplus in the integrand is sharpest inside the nodes' range)."""
    z, w = hermegauss(120)
    w = w / w.sum()
    d = np.linspace(0.0, 12.0, 2401)
    # y = d + z: -log of the mixture density relative to N(d, 1) is log 2 - log(1 + exp(-2 d y))
    y = d[:, None] + z[None]
    gain = np.log(2.0) - np.logaddexp(0.0, -2 * d[:, None] * y) @ w
    return d, gain


def mixture_gain(d: np.ndarray) -> np.ndarray:
    """G(d) of ``_mixture_gain_table`` (cubic spline on a 0.005 grid), any shape; error < 2e-8."""
    d = np.abs(np.asarray(d, np.float64))
    return np.where(d >= 12.0, np.log(2.0), _gain_spline()(np.minimum(d, 12.0)))


@lru_cache(maxsize=1)
def _gain_spline() -> CubicSpline:
    return CubicSpline(*_mixture_gain_table())


class XShape:
    """``Y = S g(X) + sigma E``: S = +-1 with probability 1/2, E ~ N(0, 1), X ~ ``marginal``.

    g: a Function1D (None: the identity, the X-shape proper), rescaled to unit sd under X's marginal.
    ``mi`` = h(Y) - log sigma - h(N(0, 1)) - E G(abs(g(X)) / sigma) (module docstring).
    """

    family = "x_shape"
    dim_x = dim_y = 1
    mi_se = 0.0

    def __init__(self, sigma: float, marginal: str = "uniform", g: Function1D | None = None, quick: bool = False):
        if marginal not in X_MARGINALS:
            raise ValueError(f"unknown marginal {marginal!r}; choose from {X_MARGINALS}")
        if not (np.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma must be > 0, got {sigma}")
        self.sigma, self.marginal = float(sigma), marginal
        g = g or Function1D("polynomial", {"roots": [0.0]})  # prod (x - 0) = x
        lim = 1.0 if marginal == "uniform" else GAUSS_LIMIT
        cuts = g.jumps(-lim, lim)
        mid, mass = x_cells(marginal, 2**12, cuts)
        sd = float(np.sqrt(mass @ g(mid) ** 2))  # E[S g] = 0: the scale of Y's signal
        if not sd > 1e-12:
            raise ValueError("g is 0 under X's marginal")
        self.g = Function1D(g.kind, g.coef, g.a / sd, g.b / sd)
        if not quick:
            mid, mass = x_cells(marginal, n_cells_needed(self.g, marginal, sigma, cuts), cuts)
        v, atoms = self.g(mid), self.g.kind in ("steps", "zigzag")
        values, masses = np.concatenate([v, -v]), np.concatenate([mass, mass]) / 2
        hy = NoisyCurve._richardson(lambda r: noisy_entropy_1d(values, masses, [sigma], "gaussian", resolution=r,
                                                                atoms=atoms), (6,) if quick else (6, 12))
        h_given = np.log(sigma) + H_GAUSS + float(mass @ mixture_gain(v / sigma)) / mass.sum()
        self.mi = max(hy - h_given, 0.0)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """x (n, 1), y (n, 1)."""
        x = sample_x(self.marginal, check_dim(n, "n"), rng)
        sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        return x[:, None], (sign * self.g(x) + self.sigma * rng.standard_normal(n))[:, None]

    def params(self) -> dict:
        return {"family": self.family, "dim_x": 1, "dim_y": 1, "sigma": self.sigma,
                "marginal": self.marginal, "g": self.g.params()}


# ----------------------------------------------------------------------------- random instances


def random_shape_pair(rng: np.random.Generator, target_mi: float | None = None, shapes: tuple[str, ...] = SHAPES,
                      functions: tuple[str, ...] = FUNCTIONS):
    """One random 1-D pair of a shape in ``shapes``. With ``target_mi`` sigma is solved for it (realised
    ``mi`` exact, median 1% from the target; capped by sigma >= 0.01 for circles/rings, 0.03 for spiral/plus
    (their 2-D grid), 0.005 for x_shape); without, sigma is log-uniform in [0.03, 0.5]. An X-shape's
    g is x or one of ``functions``."""
    name = shapes[rng.integers(len(shapes))]
    if name == "x_shape":
        marginal = X_MARGINALS[rng.integers(len(X_MARGINALS))]
        g = None if rng.random() < 0.5 else random_function(functions[rng.integers(len(functions))], rng, marginal)
        build = lambda s, quick=False: XShape(s, marginal, g, quick)
        floor = 0.005
    else:
        pieces, weights = curve_pieces(name, rng)
        build = lambda s, quick=False: NoisyCurve(pieces, weights, s, name, quick)
        floor = 0.01 if name in ("circle", "rings") else 0.03
    if target_mi is None:
        return build(float(np.exp(rng.uniform(np.log(0.03), np.log(0.5)))))
    sigma = _solve_scale(lambda s: build(max(s, floor), quick=True), float(target_mi), s0=0.2)
    return build(max(sigma, floor))


def random_shape(rng: np.random.Generator, dim_x: int, dim_y: int, target_mi: float | None = None,
                 mix: str | None = None, shapes: tuple[str, ...] = SHAPES):
    """A random shape pair lifted to (dim_x, dim_y) with ``mix`` ("none" / "rotation" / "linear";
    default drawn) and swapped with probability 1/2; MI exactly the pair's."""
    dim_x, dim_y = check_dim(dim_x, "dim_x"), check_dim(dim_y, "dim_y")
    base = random_shape_pair(rng, target_mi, shapes)
    base = Swapped(base) if rng.random() < 0.5 else base
    mix = MIXES[rng.integers(len(MIXES))] if mix is None else mix
    return lift(base, dim_x, dim_y, rng, mix)
