"""Discrete variables: joint tables, quantized Gaussians, and how discrete states become columns.

| family             | what                                            | MI (nats)       | truth            |
|--------------------|-------------------------------------------------|-----------------|------------------|
| discrete_table     | "dirichlet": random Dirichlet table; "channel": | 0 .. log K      | exact sum over   |
|                    | Y = X w.p. 1 - e, else uniform (K = 2 with a    | (<= 2.3, K<=10);| the table        |
|                    | biased X: binary symmetric channel)             | channel: knob   |                  |
| quantized_gaussian | (U, V) bivariate normal; X = bin of U (1-12     | 0 .. log(bins); | binned both: the |
|                    | cuts), Y = bin of V, or V itself (mixed pair)   | knob (rho)      | table from the   |
|                    |                                                 |                 | bivariate CDF    |
|                    |                                                 |                 | (Owen's T); one: |
|                    |                                                 |                 | 1-D quadrature   |

Encodings of a K-state variable as columns (MI-preserving: each is a bijection of the states), after a
random relabelling of the states: "index" (one column of codes 0..K-1), "bits" (ceil(log2 K) binary
columns), "onehot" (K binary columns).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri, owens_t

from mist.data.distributions import check_dim
from mist.data.lifting import Swapped, lift
from mist.data.other_families import Product

ENCODINGS = ("index", "bits", "onehot")
TABLE_KINDS = ("dirichlet", "channel")


# ----------------------------------------------------------------------------- encodings


def encoded_dim(k: int, encoding: str) -> int:
    """Number of columns a k-state variable takes under ``encoding``."""
    if encoding == "index":
        return 1
    if encoding == "bits":
        return max(1, int(np.ceil(np.log2(k))))
    if encoding == "onehot":
        return k
    raise ValueError(f"unknown encoding {encoding!r}; choose from {ENCODINGS}")


def encode(states: np.ndarray, k: int, encoding: str, perm: np.ndarray) -> np.ndarray:
    """States (n,) in 0..k-1 as float columns (n, encoded_dim(k, encoding)), after relabelling by perm (k,)."""
    code = perm[states]
    if encoding == "index":
        return code[:, None].astype(np.float64)
    if encoding == "bits":
        return ((code[:, None] >> np.arange(encoded_dim(k, "bits"))) & 1).astype(np.float64)
    return (code[:, None] == np.arange(k)).astype(np.float64)


def decode(columns: np.ndarray, k: int, encoding: str, perm: np.ndarray) -> np.ndarray:
    """Inverse of :func:`encode`: states (n,) from columns (n, d)."""
    if encoding == "index":
        code = np.rint(columns[:, 0]).astype(np.int64)
    elif encoding == "bits":
        code = (np.rint(columns).astype(np.int64) << np.arange(columns.shape[1])).sum(axis=1)
    else:
        code = np.argmax(columns, axis=1)
    return np.argsort(perm)[code]


def table_mi(table: np.ndarray) -> float:
    """I(X; Y) in nats of a joint probability table (Kx, Ky): sum P log(P / (Px Py))."""
    p = np.asarray(table, np.float64) / np.sum(table)
    outer = p.sum(axis=1, keepdims=True) * p.sum(axis=0, keepdims=True)
    nz = p > 0
    return max(float(np.sum(p[nz] * np.log(p[nz] / outer[nz]))), 0.0)


def entropy(p: np.ndarray) -> float:
    """Shannon entropy (nats) of a probability vector (any shape, summed over all entries)."""
    p = np.asarray(p, np.float64).ravel()
    p = p[p > 0]
    return float(-np.sum(p * np.log(p)))


# ----------------------------------------------------------------------------- joint tables


class DiscreteTable:
    """(X, Y) ~ ``table`` (Kx, Ky), each side encoded as columns (module docstring); ``mi`` exact."""

    family = "discrete_table"
    mi_se = 0.0

    def __init__(self, table, encoding_x: str = "index", encoding_y: str = "index",
                 rng: np.random.Generator | None = None, kind: str = "custom"):
        t = np.asarray(table, np.float64)
        if t.ndim != 2 or min(t.shape) < 1 or np.any(~np.isfinite(t)) or np.any(t < 0) or t.sum() <= 0:
            raise ValueError("table must be a 2-D array of finite non-negative values with a positive sum")
        self.table, self.kind = t / t.sum(), kind
        self.kx, self.ky = t.shape
        self.encoding_x, self.encoding_y = encoding_x, encoding_y
        self.dim_x, self.dim_y = encoded_dim(self.kx, encoding_x), encoded_dim(self.ky, encoding_y)
        self.perm_x = rng.permutation(self.kx) if rng is not None else np.arange(self.kx)
        self.perm_y = rng.permutation(self.ky) if rng is not None else np.arange(self.ky)
        self.mi = table_mi(self.table)
        self._cdf = np.cumsum(self.table.ravel())

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """x (n, dim_x), y (n, dim_y): encoded states."""
        cell = np.minimum(np.searchsorted(self._cdf, rng.random(check_dim(n, "n")) * self._cdf[-1], "right"),
                          self.table.size - 1)
        i, j = np.divmod(cell, self.ky)
        return encode(i, self.kx, self.encoding_x, self.perm_x), encode(j, self.ky, self.encoding_y, self.perm_y)

    def pmi(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """log P(i, j) - log P(i) - log P(j) for encoded x (n, dim_x), y (n, dim_y); shape (n,)."""
        i = decode(np.asarray(x), self.kx, self.encoding_x, self.perm_x)
        j = decode(np.asarray(y), self.ky, self.encoding_y, self.perm_y)
        px, py = self.table.sum(axis=1), self.table.sum(axis=0)
        with np.errstate(divide="ignore"):
            return np.log(self.table[i, j]) - np.log(px[i]) - np.log(py[j])

    def params(self) -> dict:
        out = {"family": self.family, "dim_x": self.dim_x, "dim_y": self.dim_y, "kind": self.kind,
               "kx": self.kx, "ky": self.ky, "encoding_x": self.encoding_x, "encoding_y": self.encoding_y}
        if self.table.size <= 16:
            out["table"] = [float(v) for v in self.table.ravel()]
        return out


def channel_table(k: int, eps: float, px: np.ndarray | None = None) -> np.ndarray:
    """(k, k): X ~ px (uniform if None), Y = X with prob. 1 - eps, else uniform over the k states."""
    px = np.full(k, 1.0 / k) if px is None else np.asarray(px, np.float64)
    return px[:, None] * ((1 - eps) * np.eye(k) + eps / k)


def random_table(rng: np.random.Generator, kind: str | None = None, target_mi: float | None = None,
                 max_states: int = 10, encodings: tuple[str, ...] = ENCODINGS,
                 max_dim: tuple[int, int] = (64, 64)) -> DiscreteTable:
    """A random joint table. "dirichlet": Kx, Ky in 2..max_states, entries Dirichlet(alpha), alpha
    log-uniform in [0.05, 2] (MI ~0.05..2, no target knob). "channel": K states (enough for the target
    when given), X uniform or Dirichlet(2), eps solved exactly for ``target_mi`` (capped below H(X)).
    Encodings are drawn from ``encodings`` among those fitting in ``max_dim`` columns."""
    kind = TABLE_KINDS[rng.integers(len(TABLE_KINDS))] if kind is None else kind
    if kind == "dirichlet":
        kx, ky = (int(v) for v in rng.integers(2, max_states + 1, 2))
        alpha = float(np.exp(rng.uniform(np.log(0.05), np.log(2.0))))
        table = rng.dirichlet(np.full(kx * ky, alpha)).reshape(kx, ky)
    elif kind == "channel":
        need = 2 if target_mi is None else int(np.ceil(np.exp(target_mi) * 1.25))
        k = int(np.clip(rng.integers(max(2, need), max(2, need) + 4), 2, max_states))
        px = np.full(k, 1.0 / k) if rng.random() < 0.5 else rng.dirichlet(np.full(k, 2.0))
        if target_mi is None:
            eps = float(rng.uniform(0.0, 1.0))
        else:
            top = table_mi(channel_table(k, 0.0, px))
            goal = min(float(target_mi), 0.98 * top)
            eps = 1.0 if goal <= 0 else brentq(lambda e: table_mi(channel_table(k, e, px)) - goal, 0.0, 1.0, xtol=1e-10)
        table = channel_table(k, eps, px)
        kx = ky = k
    else:
        raise ValueError(f"unknown table kind {kind!r}; choose from {TABLE_KINDS}")
    ex, ey = _pick_encoding(rng, kx, max_dim[0], encodings), _pick_encoding(rng, ky, max_dim[1], encodings)
    return DiscreteTable(table, ex, ey, rng, kind)


# ----------------------------------------------------------------------------- quantized Gaussian


def bvn_cdf(h: np.ndarray, k: np.ndarray, rho: float) -> np.ndarray:
    """P(U <= h, V <= k) for a standard bivariate normal with correlation rho (|rho| < 1), broadcast
    over h and k, by Owen's T function (exact); infinite limits allowed."""
    h, k = np.broadcast_arrays(np.clip(np.asarray(h, np.float64), -38, 38), np.clip(np.asarray(k, np.float64), -38, 38))
    s = np.sqrt(1 - rho * rho)
    tiny = 1e-300  # a limit of 0 enters as +tiny: T(0+, +-inf) is the right one-sided value
    h0, k0 = np.where(h == 0, tiny, h), np.where(k == 0, tiny, k)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        ah, ak = (k0 - rho * h0) / (h0 * s), (h0 - rho * k0) / (k0 * s)
    beta = np.where(np.sign(h0) == np.sign(k0), 0.0, 0.5)
    return 0.5 * (ndtr(h) + ndtr(k)) - owens_t(h0, ah) - owens_t(k0, ak) - beta


def quantized_table(rho: float, cuts_x: np.ndarray, cuts_y: np.ndarray) -> np.ndarray:
    """(len(cuts_x) + 1, len(cuts_y) + 1): P(U in bin i, V in bin j), bins cut at the sorted cuts."""
    ex = np.concatenate([[-np.inf], np.sort(cuts_x), [np.inf]])
    ey = np.concatenate([[-np.inf], np.sort(cuts_y), [np.inf]])
    cdf = bvn_cdf(ex[:, None], ey[None, :], rho)
    cdf[0, :], cdf[:, 0] = 0.0, 0.0
    return np.maximum(np.diff(np.diff(cdf, axis=0), axis=1), 0.0)


def mixed_quantized_mi(rho: float, cuts: np.ndarray) -> float:
    """I(bin(U); V) for the bivariate normal: H(bin) - E_V H(bin | V), the expectation by the trapezoid
    rule on [-9, 9] with spacing <= sqrt(1 - rho^2) / 8 (spectrally accurate for this smooth integrand)."""
    s = np.sqrt(1 - rho * rho)
    n = int(np.ceil(18 / min(0.05, s / 8))) + 1
    v, dv = np.linspace(-9, 9, n, retstep=True)
    w = np.exp(-0.5 * v * v) / np.sqrt(2 * np.pi) * dv
    edges = np.concatenate([[-np.inf], np.sort(cuts), [np.inf]])
    p = np.maximum(np.diff(ndtr((edges[None, :] - rho * v[:, None]) / s), axis=1), 0.0)  # (n, bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        h_given = -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=1)
    return max(entropy(np.diff(ndtr(edges))) - float(w @ h_given) / w.sum(), 0.0)


class QuantizedGaussian:
    """(U, V) ~ N(0, [[1, rho], [rho, 1]]); X = bin of U (cuts_x) and Y = bin of V (cuts_y), or V
    itself when ``cuts_y`` is None (a discrete-continuous pair). Bins become columns by ``encoding``."""

    family = "quantized_gaussian"
    mi_se = 0.0

    def __init__(self, rho: float, cuts_x, cuts_y=None, encoding_x: str = "index", encoding_y: str = "index",
                 rng: np.random.Generator | None = None):
        if not (np.isfinite(rho) and abs(rho) < 1):
            raise ValueError(f"need |rho| < 1, got {rho}")
        self.rho = float(rho)
        self.cuts_x = np.sort(np.atleast_1d(np.asarray(cuts_x, np.float64)))
        self.cuts_y = None if cuts_y is None else np.sort(np.atleast_1d(np.asarray(cuts_y, np.float64)))
        self.kx = len(self.cuts_x) + 1
        self.ky = None if self.cuts_y is None else len(self.cuts_y) + 1
        self.encoding_x, self.encoding_y = encoding_x, encoding_y
        self.dim_x = encoded_dim(self.kx, encoding_x)
        self.dim_y = 1 if self.ky is None else encoded_dim(self.ky, encoding_y)
        self.perm_x = rng.permutation(self.kx) if rng is not None else np.arange(self.kx)
        self.perm_y = None if self.ky is None else (rng.permutation(self.ky) if rng is not None else np.arange(self.ky))
        if self.cuts_y is None:
            self.mi = mixed_quantized_mi(self.rho, self.cuts_x)
        else:
            self.mi = table_mi(quantized_table(self.rho, self.cuts_x, self.cuts_y))

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """x (n, dim_x), y (n, dim_y)."""
        u = rng.standard_normal(check_dim(n, "n"))
        v = self.rho * u + np.sqrt(1 - self.rho**2) * rng.standard_normal(n)
        x = encode(np.searchsorted(self.cuts_x, u), self.kx, self.encoding_x, self.perm_x)
        if self.cuts_y is None:
            return x, v[:, None]
        return x, encode(np.searchsorted(self.cuts_y, v), self.ky, self.encoding_y, self.perm_y)

    def params(self) -> dict:
        return {"family": self.family, "dim_x": self.dim_x, "dim_y": self.dim_y, "rho": self.rho,
                "cuts_x": [float(c) for c in self.cuts_x],
                "cuts_y": None if self.cuts_y is None else [float(c) for c in self.cuts_y],
                "encoding_x": self.encoding_x, "encoding_y": self.encoding_y}


def random_cuts(rng: np.random.Generator, max_bins: int = 13) -> np.ndarray:
    """1..max_bins-1 cuts at the normal quantiles of uniform probabilities in [0.02, 0.98] (unequal bins)."""
    return np.sort(ndtri(rng.uniform(0.02, 0.98, int(rng.integers(1, max_bins)))))


def _pick_encoding(rng: np.random.Generator, k: int, cap: int, encodings: tuple[str, ...]) -> str:
    fits = [e for e in encodings if encoded_dim(k, e) <= cap] or ["index"]
    return fits[rng.integers(len(fits))]


def random_quantized(rng: np.random.Generator, target_mi: float | None = None, both: bool | None = None,
                     encodings: tuple[str, ...] = ENCODINGS, max_dim: tuple[int, int] = (64, 64)) -> QuantizedGaussian:
    """Random cuts and rho (sign random); both sides binned with prob. 1/2 (``both``). With
    ``target_mi`` rho is solved exactly (capped at 0.98 of what |rho| -> 1 allows, i.e. below H(bins));
    without, |rho| is uniform in [0, 0.99]. Encodings fit in ``max_dim`` columns."""
    both = bool(rng.random() < 0.5) if both is None else both
    cuts_x, cuts_y = random_cuts(rng), (random_cuts(rng) if both else None)
    ex = _pick_encoding(rng, len(cuts_x) + 1, max_dim[0], encodings)
    ey = _pick_encoding(rng, len(cuts_y) + 1, max_dim[1], encodings) if both else "index"
    sign = 1.0 if rng.random() < 0.5 else -1.0
    build = lambda r: QuantizedGaussian(sign * r, cuts_x, cuts_y, ex, ey)
    if target_mi is None:
        rho = float(rng.uniform(0.0, 0.99))
    else:
        goal = min(float(target_mi), 0.98 * build(0.9999).mi)
        rho = 0.0 if goal <= 0 else brentq(lambda r: build(r).mi - goal, 0.0, 0.9999, xtol=1e-6)
    return QuantizedGaussian(sign * rho, cuts_x, cuts_y, ex, ey, rng=rng)


def random_discrete(rng: np.random.Generator, dim_x: int, dim_y: int, target_mi: float | None = None,
                    n_parts: int | None = None, extra_marginals: tuple[str, ...] = ("gaussian",)):
    """1..3 independent discrete parts (tables or quantized Gaussians, each swapped with prob. 1/2;
    target MI split evenly) side by side, lifted to (dim_x, dim_y) with independent extra columns
    (continuous, ``extra_marginals``: so sides mix discrete and continuous columns); never rotated
    (that would erase the ties). MI is exactly the sum of the parts'."""
    dim_x, dim_y = check_dim(dim_x, "dim_x"), check_dim(dim_y, "dim_y")
    k = int(n_parts or rng.integers(1, min(dim_x, dim_y, 3) + 1))
    per = None if target_mi is None else target_mi / k
    parts, used = [], [0, 0]
    for i in range(k):
        swap = rng.random() < 0.5
        room = [dim_x - used[0] - (k - 1 - i), dim_y - used[1] - (k - 1 - i)]  # leave a column per later part
        room = room[::-1] if swap else room
        if rng.random() < 0.5:
            part = random_table(rng, target_mi=per, max_dim=(room[0], room[1]))
        else:
            part = random_quantized(rng, per, max_dim=(room[0], room[1]))
        part = Swapped(part) if swap else part
        parts.append(part)
        used = [used[0] + part.dim_x, used[1] + part.dim_y]
    base = parts[0] if k == 1 else Product(parts)
    return lift(base, dim_x, dim_y, rng, "none", extra_marginals)
