"""Mutual-information-preserving transforms.

``I(f(X); g(Y)) = I(X; Y)`` for any bijections ``f``, ``g`` applied separately to X and Y.
Every transform maps ``z`` of shape (n, d) to shape (n, d) and has an ``inverse``.

Kinds (see :func:`random_transform`):

* per-coordinate strictly increasing maps: ``half_cube``, ``asinh``, ``normal_cdf``,
  ``wiggly``, ``exp``, ``random_spline``, and ``monotone_mixed`` (a random one per coordinate);
* ``linear_mix``: a random well-conditioned invertible matrix;
* ``spiral``: rotation in a random 2-plane by an angle depending on ``||z||`` (held out of
  training, see mist.data.splits). It needs d >= 2: :class:`Spiral` raises for d == 1, ``random_transform`` returns
  the identity instead;
* ``coupling_flow``: random affine coupling layers with small tanh networks.

Maps that are unbounded in a bad way are given linear tails (``exp``, ``normal_cdf``) or a
bounded angle (``spiral``) so that outputs stay finite and numerically invertible even for
heavy-tailed inputs such as Cauchy samples.
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np
from scipy.special import ndtr, ndtri

from mist.data.distributions import (
    JointDistribution,
    check_dim,
    random_orthogonal,
    random_well_conditioned,
)

MONOTONE_KINDS = ("half_cube", "asinh", "normal_cdf", "wiggly", "exp", "random_spline")
TRANSFORM_KINDS = ("identity",) + MONOTONE_KINDS + ("monotone_mixed", "linear_mix", "spiral", "coupling_flow")


@runtime_checkable
class Transform(Protocol):
    """An invertible map applied row-wise: ``z`` (n, d) -> (n, d)."""

    name: str

    def __call__(self, z: np.ndarray) -> np.ndarray: ...

    def inverse(self, z: np.ndarray) -> np.ndarray: ...

    def params(self) -> dict: ...


class _Elementwise:
    """Base class for strictly increasing maps applied to every coordinate."""

    name = "identity"
    monotone = True

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return self._forward(np.asarray(z, dtype=np.float64))

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return self._inverse(np.asarray(z, dtype=np.float64))

    def params(self) -> dict:
        return {"name": self.name}

    def _forward(self, z):
        return z.copy()

    def _inverse(self, u):
        return u.copy()


class Identity(_Elementwise):
    """``z -> z``."""


class HalfCube(_Elementwise):
    """``z -> sign(z) |z|^1.5``."""

    name = "half_cube"

    def _forward(self, z):
        return np.sign(z) * np.abs(z) ** 1.5

    def _inverse(self, u):
        return np.sign(u) * np.abs(u) ** (2.0 / 3.0)


class Asinh(_Elementwise):
    """``z -> asinh(z)``."""

    name = "asinh"

    def _forward(self, z):
        return np.arcsinh(z)

    def _inverse(self, u):
        return np.sinh(u)


class NormalCDF(_Elementwise):
    """Standard normal CDF on ``[-tail, tail]``, continued linearly (slope ``phi(tail)``) outside.

    The linear tails keep the map strictly increasing and numerically invertible where the
    plain CDF would round to exactly 0 or 1.
    """

    name = "normal_cdf"

    def __init__(self, tail: float = 5.0):
        self.tail = float(tail)
        self._lo, self._hi = ndtr(-self.tail), ndtr(self.tail)
        self._slope = np.exp(-0.5 * self.tail**2) / np.sqrt(2 * np.pi)

    def _forward(self, z):
        c = self.tail
        inner = ndtr(np.clip(z, -c, c))
        upper, lower = self._hi + self._slope * (z - c), self._lo + self._slope * (z + c)
        return np.where(z > c, upper, np.where(z < -c, lower, inner))

    def _inverse(self, u):
        c = self.tail
        inner = ndtri(np.clip(u, self._lo, self._hi))
        upper, lower = c + (u - self._hi) / self._slope, -c + (u - self._lo) / self._slope
        return np.where(u > self._hi, upper, np.where(u < self._lo, lower, inner))

    def params(self) -> dict:
        return {"name": self.name, "tail": self.tail}


class Wiggly(_Elementwise):
    """``z -> z + a sin(b z)`` with ``a, b > 0`` and ``a b < 1`` (strictly increasing).

    The inverse is found by bisection on ``[u - a, u + a]``.
    """

    name = "wiggly"

    def __init__(self, a: float, b: float):
        if not (a > 0 and b > 0 and a * b < 1):
            raise ValueError(f"wiggly needs a > 0, b > 0 and a * b < 1, got a={a}, b={b}")
        self.a, self.b = float(a), float(b)

    def _forward(self, z):
        return z + self.a * np.sin(self.b * z)

    def _inverse(self, u):
        lo, hi = u - self.a, u + self.a
        for _ in range(64):
            mid = 0.5 * (lo + hi)
            below = self._forward(mid) < u
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        return 0.5 * (lo + hi)

    def params(self) -> dict:
        return {"name": self.name, "a": self.a, "b": self.b}


class Exp(_Elementwise):
    """``exp(z)`` on ``[-tail, tail]``, continued linearly (with matching slopes) outside.

    The tails keep outputs finite for heavy-tailed inputs; the map is C^1 and strictly increasing.
    """

    name = "exp"

    def __init__(self, tail: float = 4.0):
        self.tail = float(tail)

    def _forward(self, z):
        c = self.tail
        e_hi, e_lo = np.exp(c), np.exp(-c)
        inner = np.exp(np.clip(z, -c, c))
        return np.where(z > c, e_hi * (1 + z - c), np.where(z < -c, e_lo * (1 + z + c), inner))

    def _inverse(self, u):
        c = self.tail
        e_hi, e_lo = np.exp(c), np.exp(-c)
        inner = np.log(np.clip(u, e_lo, e_hi))
        return np.where(u > e_hi, c + u / e_hi - 1, np.where(u < e_lo, -c + u / e_lo - 1, inner))

    def params(self) -> dict:
        return {"name": self.name, "tail": self.tail}


class PiecewiseLinearSpline(_Elementwise):
    """Strictly increasing piecewise-linear map per coordinate, with linear tails.

    ``knots_x``, ``knots_y``: shape (d, K + 1), strictly increasing along axis 1. Coordinate i
    interpolates ``(knots_x[i], knots_y[i])``; beyond the end knots it continues with the
    slope of the first / last segment, so it is a bijection of R.
    """

    name = "random_spline"

    def __init__(self, knots_x, knots_y):
        self.knots_x = np.asarray(knots_x, dtype=np.float64)
        self.knots_y = np.asarray(knots_y, dtype=np.float64)
        if self.knots_x.shape != self.knots_y.shape or self.knots_x.ndim != 2 or self.knots_x.shape[1] < 2:
            raise ValueError("knots_x and knots_y must both have shape (d, K + 1) with K >= 1")
        if np.any(np.diff(self.knots_x, axis=1) <= 0) or np.any(np.diff(self.knots_y, axis=1) <= 0):
            raise ValueError("spline knots must be strictly increasing")

    @staticmethod
    def _interp(z, xs, ys):
        """Linear interpolation with linear extrapolation, z (n,), xs/ys (K + 1,)."""
        left = (ys[1] - ys[0]) / (xs[1] - xs[0])
        right = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
        out = np.interp(z, xs, ys)
        out = np.where(z < xs[0], ys[0] + left * (z - xs[0]), out)
        return np.where(z > xs[-1], ys[-1] + right * (z - xs[-1]), out)

    def _apply(self, z, src, dst):
        if z.shape[-1] != len(src):
            raise ValueError(f"spline built for d={len(src)}, got input with {z.shape[-1]} columns")
        return np.stack([self._interp(z[..., i], src[i], dst[i]) for i in range(len(src))], axis=-1)

    def _forward(self, z):
        return self._apply(z, self.knots_x, self.knots_y)

    def _inverse(self, u):
        return self._apply(u, self.knots_y, self.knots_x)

    def params(self) -> dict:
        return {"name": self.name, "dim": len(self.knots_x), "n_bins": self.knots_x.shape[1] - 1}


def random_spline(
    d: int, rng: np.random.Generator, n_bins: int = 8, bound: float = 4.0, max_slope: float = 4.0
) -> PiecewiseLinearSpline:
    """Random spline: K equal bins on ``[-bound, bound]``, slopes log-uniform in [1/max_slope, max_slope].

    The output is shifted so that ``f(0) = 0`` in every coordinate.
    """
    xs = np.tile(np.linspace(-bound, bound, n_bins + 1), (d, 1))
    slopes = np.exp(rng.uniform(-np.log(max_slope), np.log(max_slope), size=(d, n_bins)))
    ys = np.concatenate([np.zeros((d, 1)), np.cumsum(slopes * np.diff(xs, axis=1), axis=1)], axis=1)
    ys -= np.array([np.interp(0.0, xs[i], ys[i]) for i in range(d)])[:, None]
    return PiecewiseLinearSpline(xs, ys)


class PerCoordinate:
    """Apply ``maps[i]`` to column i; each map must accept (n, 1) inputs."""

    name = "per_coordinate"

    def __init__(self, maps: Sequence[Transform]):
        self.maps = list(maps)
        self.monotone = all(getattr(m, "monotone", False) for m in self.maps)

    def _apply(self, z, method):
        z = np.asarray(z, dtype=np.float64)
        if z.shape[-1] != len(self.maps):
            raise ValueError(f"per_coordinate built for d={len(self.maps)}, got {z.shape[-1]} columns")
        return np.hstack([method(m)(z[:, i : i + 1]) for i, m in enumerate(self.maps)])

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return self._apply(z, lambda m: m)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return self._apply(z, lambda m: m.inverse)

    def params(self) -> dict:
        return {"name": self.name, "maps": [m.name for m in self.maps]}


class LinearMix:
    """``z -> z M^T`` for an invertible (d, d) matrix ``M``."""

    name = "linear_mix"
    monotone = False

    def __init__(self, matrix):
        self.matrix = np.asarray(matrix, dtype=np.float64)
        self._inv = np.linalg.inv(self.matrix)  # raises LinAlgError for singular matrices

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=np.float64) @ self.matrix.T

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=np.float64) @ self._inv.T

    def params(self) -> dict:
        return {"name": self.name, "dim": len(self.matrix), "cond": float(np.linalg.cond(self.matrix))}


class Spiral:
    """Rotate in the 2-plane spanned by the columns of ``basis`` (d, 2) by angle ``theta(||z||)``.

    ``theta = speed * cap * tanh(||z||^2 / cap)`` (about ``speed * ||z||^2`` for small norms,
    bounded for heavy tails). Rotations preserve the norm, so the inverse rotates by
    ``-theta(||u||)``. Requires d >= 2.
    """

    name = "spiral"
    monotone = False

    def __init__(self, basis, speed: float, cap: float = 10.0):
        basis = np.asarray(basis, dtype=np.float64)
        if basis.ndim != 2 or basis.shape[0] < 2 or basis.shape[1] != 2:
            raise ValueError(f"spiral needs d >= 2 and a (d, 2) basis, got shape {basis.shape}")
        if not np.allclose(basis.T @ basis, np.eye(2), atol=1e-10):
            raise ValueError("spiral basis columns must be orthonormal")
        self.basis, self.speed, self.cap = basis, float(speed), float(cap)

    def _rotate(self, z, sign):
        z = np.asarray(z, dtype=np.float64)
        theta = sign * self.speed * self.cap * np.tanh(np.sum(z**2, axis=1) / self.cap)
        p = z @ self.basis  # (n, 2) coordinates in the plane
        c, s = np.cos(theta), np.sin(theta)
        rotated = np.stack([c * p[:, 0] - s * p[:, 1], s * p[:, 0] + c * p[:, 1]], axis=1)
        return z + (rotated - p) @ self.basis.T

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return self._rotate(z, 1.0)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return self._rotate(z, -1.0)

    def params(self) -> dict:
        return {"name": self.name, "dim": len(self.basis), "speed": self.speed, "cap": self.cap}


class CouplingFlow:
    """Random affine coupling layers (RealNVP style) on (n, d) inputs.

    The input columns are first permuted by ``perm``. Each layer keeps the first ``k = d // 2``
    columns ``a`` and maps the rest ``b -> b * exp(s(a)) + t(a)`` with
    ``[s_raw, t] = tanh(a W1 + b1) W2 + b2`` and ``s = max_log_scale * tanh(s_raw)``; then the
    column order is reversed. Bounded log-scales keep it well conditioned. For d == 1 the
    conditioner has no input and each layer is a fixed affine map.
    """

    name = "coupling_flow"
    monotone = False

    def __init__(self, perm, layers: list[tuple[np.ndarray, ...]], max_log_scale: float = 0.7):
        """``perm``: (d,) permutation; ``layers``: (W1 (k, h), b1 (h,), W2 (h, 2(d - k)), b2 (2(d - k),))."""
        self.perm = np.asarray(perm)
        self._inv_perm = np.argsort(self.perm)
        self.layers = layers
        self.max_log_scale = float(max_log_scale)

    def _shift_scale(self, a, layer):
        w1, b1, w2, b2 = layer
        out = np.tanh(a @ w1 + b1) @ w2 + b2
        m = out.shape[1] // 2
        return self.max_log_scale * np.tanh(out[:, :m]), out[:, m:]

    def __call__(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)[:, self.perm]
        k = z.shape[1] // 2
        for layer in self.layers:
            s, t = self._shift_scale(z[:, :k], layer)
            z = np.hstack([z[:, :k], z[:, k:] * np.exp(s) + t])[:, ::-1]
        return z

    def inverse(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        k = z.shape[1] // 2
        for layer in reversed(self.layers):
            z = z[:, ::-1]
            s, t = self._shift_scale(z[:, :k], layer)
            z = np.hstack([z[:, :k], (z[:, k:] - t) * np.exp(-s)])
        return z[:, self._inv_perm]

    def params(self) -> dict:
        return {
            "name": self.name, "dim": len(self.perm),
            "n_layers": len(self.layers), "max_log_scale": self.max_log_scale,
        }


def random_coupling_flow(d: int, rng: np.random.Generator, n_layers: int = 4, hidden: int = 16) -> CouplingFlow:
    """A :class:`CouplingFlow` with Gaussian random weights (fan-in scaled)."""
    k, m = d // 2, d - d // 2
    layers = []
    for _ in range(n_layers):
        w1 = rng.standard_normal((k, hidden)) / np.sqrt(max(k, 1))
        b1 = 0.5 * rng.standard_normal(hidden)
        w2 = rng.standard_normal((hidden, 2 * m)) / np.sqrt(hidden)
        b2 = 0.3 * rng.standard_normal(2 * m)
        layers.append((w1, b1, w2, b2))
    return CouplingFlow(rng.permutation(d), layers)


class Compose:
    """Apply ``transforms`` in order; the inverse applies their inverses in reverse order."""

    def __init__(self, transforms: Sequence[Transform]):
        self.transforms = list(transforms)
        self.name = "+".join(t.name for t in self.transforms) or "identity"
        self.monotone = all(getattr(t, "monotone", False) for t in self.transforms)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        for t in self.transforms:
            z = t(z)
        return np.asarray(z, dtype=np.float64)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        for t in reversed(self.transforms):
            z = t.inverse(z)
        return np.asarray(z, dtype=np.float64)

    def params(self) -> dict:
        return {"name": "compose", "parts": [t.params() for t in self.transforms]}


def random_transform(kind: str, d: int, rng: np.random.Generator) -> Transform:
    """Build a transform of the given ``kind`` (one of ``TRANSFORM_KINDS``) for dimension ``d``.

    Random parameters are drawn from ``rng``. ``"spiral"`` with d == 1 gives :class:`Identity`.
    """
    d = check_dim(d, "d")
    if kind == "identity":
        return Identity()
    if kind == "half_cube":
        return HalfCube()
    if kind == "asinh":
        return Asinh()
    if kind == "normal_cdf":
        return NormalCDF()
    if kind == "exp":
        return Exp()
    if kind == "wiggly":
        b = rng.uniform(1.0, 4.0)
        return Wiggly(a=rng.uniform(0.3, 0.9) / b, b=b)
    if kind == "random_spline":
        return random_spline(d, rng)
    if kind == "monotone_mixed":
        kinds = rng.choice(MONOTONE_KINDS, size=d)
        return PerCoordinate([random_transform(str(k), 1, rng) for k in kinds])
    if kind == "linear_mix":
        return LinearMix(random_well_conditioned(d, rng))
    if kind == "spiral":
        if d == 1:
            return Identity()
        return Spiral(random_orthogonal(d, rng)[:, :2], speed=rng.uniform(0.2, 1.0))
    if kind == "coupling_flow":
        return random_coupling_flow(d, rng)
    raise ValueError(f"unknown transform kind {kind!r}; choose from {TRANSFORM_KINDS}")


class Transformed:
    """``(tx(X), ty(Y))`` for ``(X, Y) ~ base``; ``None`` means identity.

    MI, its standard error and the family are those of ``base``. If the base has ``pmi``,
    so does this (PMI is invariant under separate bijections: evaluate the base at the pre-image).
    """

    def __init__(self, base: JointDistribution, tx: Transform | None = None, ty: Transform | None = None):
        self.base, self.tx, self.ty = base, tx or Identity(), ty or Identity()
        self.dim_x, self.dim_y = base.dim_x, base.dim_y
        self.family, self.mi, self.mi_se = base.family, base.mi, base.mi_se

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """x (n, dim_x), y (n, dim_y)."""
        x, y = self.base.sample(n, rng)
        return self.tx(x), self.ty(y)

    @property
    def pmi(self):
        """``base.pmi(tx^-1(x), ty^-1(y))``; shape (n,)."""
        base_pmi = self.base.pmi  # AttributeError (so hasattr is False) if the base has no density
        return lambda x, y: base_pmi(self.tx.inverse(x), self.ty.inverse(y))

    def params(self) -> dict:
        return {**self.base.params(), "transform_x": self.tx.name, "transform_y": self.ty.name}
