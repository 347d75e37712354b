"""The training prior: which joint distributions, shapes and MI values the network sees.

`sample_shape` draws (N, dx, dy) once per batch; `sample_dataset` draws one distribution with
known MI from the family mix, applies MI-preserving transforms to X and Y separately, and samples
N points. Most MI mass lies in 0..5 nats, a tail reaches tens of nats (many strong pairs in high
dimension); the per-pair MI is capped, because no finite sample can tell a pair with 6 nats from
one with 12.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from mist.data import gaussian as G
from mist.data import lifting as L
from mist.data import other_families as O
from mist.data import pools as P
from mist.data import structured as ST
from mist.data import transforms as T
from mist.data.mixture_bank import draw_from_bank
from mist.data.splits import check_prior_for_split

FAMILIES = ("gaussian", "student_t", "additive_uniform", "gaussian_mixture", "independent",
            "gamma_exponential", "functional", "shape", "discrete", "labels", "counts", "structured")
# Families beyond the Gaussian copula (weight 0 in the version-1 defaults): each builds its own
# MI-preserving lifting (mist.data.lifting), so the per-side transforms are not applied to them
# (a per-coordinate monotone map is a no-op after ranks; a mix would erase discrete ties).
EXTENDED_FAMILIES = ("functional", "shape", "discrete", "labels", "counts", "structured")
TRANSFORMS = ("none", "monotone", "linear_mix", "coupling_flow", "spiral")
GAUSSIAN_PATTERNS = ("canonical", "one_strong", "sparse", "many_weak", "dense", "latent", "channel")


@dataclass
class MIDataset:
    """One sample set with its ground truth. x: (N, dx), y: (N, dy) float64; MI in nats."""

    x: np.ndarray
    y: np.ndarray
    mi: float
    mi_se: float
    family: str
    transforms: tuple
    params: dict


@dataclass
class PriorConfig:
    n_min: int = 8
    n_max: int = 2048
    dim_min: int = 1
    dim_max: int = 32
    # version 1 (the frozen imd / oomd suites derive from these); the extended prior is
    # conf/data/extended.yaml
    families: dict = field(default_factory=lambda: {
        "gaussian": 0.42, "student_t": 0.2, "additive_uniform": 0.1, "gaussian_mixture": 0.12,
        "independent": 0.08, "gamma_exponential": 0.0})
    transforms: dict = field(default_factory=lambda: {
        "none": 0.25, "monotone": 0.3, "linear_mix": 0.3, "coupling_flow": 0.15, "spiral": 0.0})
    low_mi_share: float = 0.8      # share of sets whose target MI is uniform on [0, low_mi_max]
    low_mi_max: float = 5.0
    high_mi_max: float = 40.0      # the rest is uniform on [low_mi_max, high_mi_max]
    max_pair_mi: float = 4.0       # no single coordinate pair carries more than this
    variant: str = "in"            # "held_out": the extended families' held-out sub-kinds (suites only)
    # weights of the side mixes (mist.data.lifting.MIXES) for the continuous extended families;
    # None: uniform, drawn as the frozen functional suite was drawn (its numbers stay the same)
    pooled_mix: dict | None = None

    def validate(self, split: str = "train") -> None:
        if not 2 <= self.n_min <= self.n_max:
            raise ValueError(f"need 2 <= n_min <= n_max, got n_min={self.n_min}, n_max={self.n_max}")
        if not 1 <= self.dim_min <= self.dim_max:
            raise ValueError(f"need 1 <= dim_min <= dim_max, got {self.dim_min}, {self.dim_max}")
        for kind, table, known in (("family", self.families, FAMILIES),
                                   ("transform", self.transforms, TRANSFORMS)):
            unknown = set(table) - set(known)
            if unknown:
                raise ValueError(f"unknown {kind} {sorted(unknown)}; known: {list(known)}")
            if any(w < 0 for w in table.values()) or sum(table.values()) <= 0:
                raise ValueError(f"{kind} weights must be >= 0 with a positive sum: {dict(table)}")
        if not (0 <= self.low_mi_share <= 1 and 0 < self.low_mi_max <= self.high_mi_max):
            raise ValueError("need 0 <= low_mi_share <= 1 and 0 < low_mi_max <= high_mi_max")
        if self.variant not in ("in", "held_out"):
            raise ValueError(f"variant must be 'in' or 'held_out', got {self.variant!r}")
        if self.pooled_mix is not None:
            unknown = set(self.pooled_mix) - set(L.MIXES)
            if unknown or any(w < 0 for w in self.pooled_mix.values()) or sum(self.pooled_mix.values()) <= 0:
                raise ValueError(f"pooled_mix must map mixes {list(L.MIXES)} to weights >= 0 with a positive "
                                 f"sum, got {dict(self.pooled_mix)}")
        check_prior_for_split(self.families, self.transforms, split, self.variant)


def _pick(table: dict, rng) -> str:
    names = list(table)
    w = np.array([table[k] for k in names], dtype=float)
    return names[rng.choice(len(names), p=w / w.sum())]


def _log_uniform_int(lo: int, hi: int, rng) -> int:
    return int(np.clip(np.floor(np.exp(rng.uniform(np.log(lo), np.log(hi + 1)))), lo, hi))


def sample_shape(cfg: PriorConfig, rng) -> tuple[int, int, int]:
    """(N, dx, dy): N log-uniform on [n_min, n_max], dims log-uniform and independent."""
    n = _log_uniform_int(cfg.n_min, cfg.n_max, rng)
    return n, _log_uniform_int(cfg.dim_min, cfg.dim_max, rng), _log_uniform_int(cfg.dim_min, cfg.dim_max, rng)


def _target_mi(cfg: PriorConfig, k: int, rng) -> float:
    cap = cfg.max_pair_mi * k
    if rng.random() < cfg.low_mi_share:
        return min(rng.uniform(0.0, cfg.low_mi_max), cap)
    return rng.uniform(min(cfg.low_mi_max, cap), min(cfg.high_mi_max, cap))


def _pair_mis(total: float, k: int, pattern: str, cap: float, rng) -> np.ndarray:
    """Split `total` nats over k canonical pairs following a dependence pattern."""
    if pattern == "one_strong":
        w = np.zeros(k); w[0] = 1.0
    elif pattern == "sparse":
        w = np.zeros(k); w[: rng.integers(1, max(1, k // 3) + 1)] = 1.0
    elif pattern == "many_weak":
        w = np.ones(k)
    else:  # random split
        w = rng.dirichlet(np.full(k, rng.choice([0.3, 1.0, 3.0])))
    mis = total * w / w.sum()
    for _ in range(k):  # move what exceeds the cap to the pairs that still have room
        excess = np.clip(mis - cap, 0, None).sum()
        if excess <= 1e-12:
            break
        mis = np.minimum(mis, cap)
        room = cap - mis
        mis += excess * room / room.sum()
    return np.minimum(mis, cap)


def _rhos(pair_mis: np.ndarray) -> np.ndarray:
    return np.sqrt(-np.expm1(-2.0 * pair_mis))


def _uniform_eps(mi: float) -> float:
    """eps with I(X; X + U(-eps, eps)) = mi for X ~ U(0, 1)."""
    if mi <= 1e-9:
        return 1e6
    if mi <= 0.5:
        return 1.0 / (4.0 * mi)
    return brentq(lambda e: e - np.log(2 * e) - mi, 1e-12, 0.5)


def _gaussian(cfg, dx, dy, rng, split):
    pattern = GAUSSIAN_PATTERNS[rng.integers(len(GAUSSIAN_PATTERNS))]
    k = min(dx, dy)
    if pattern == "dense" and dx + dy > 2:
        # equicorrelation c: positive definite for c in (-1/(d-1), 1)
        d = dx + dy
        return G.dense(dx, dy, rng.uniform(0.0, 0.95) if rng.random() < 0.8 else rng.uniform(-0.9 / (d - 1), 0)), pattern
    if pattern == "latent":
        return G.latent(dx, dy, rng.uniform(0.0, 3.0)), pattern
    if pattern == "channel":
        a = rng.standard_normal((dy, dx)) * np.exp(rng.uniform(np.log(0.05), np.log(2.0))) / np.sqrt(dx)
        cov_x = _random_spd(dx, rng)
        cov_n = _random_spd(dy, rng)
        return G.channel(a, cov_x, cov_n), pattern
    pairs = _pair_mis(_target_mi(cfg, k, rng), k, pattern, cfg.max_pair_mi, rng)
    return G.canonical(_rhos(pairs), dx, dy), pattern


def _random_spd(d, rng):
    a = rng.standard_normal((d, d + 2))
    return a @ a.T / (d + 2) + 0.1 * np.eye(d)


def _student_t(cfg, dx, dy, rng, split):
    k = min(dx, dy)
    pattern = ("canonical", "one_strong", "sparse", "many_weak")[rng.integers(4)]
    total = 0.0 if rng.random() < 0.15 else _target_mi(cfg, k, rng)  # identity dispersion too
    pairs = _pair_mis(total, k, pattern, cfg.max_pair_mi, rng)
    nu = float(np.exp(rng.uniform(np.log(1.0), np.log(30.0))))
    cov = G.canonical(_rhos(pairs), dx, dy).cov
    return G.StudentT(cov, dx, nu), pattern


def _additive_uniform(cfg, dx, dy, rng, split):
    k = int(rng.integers(1, min(dx, dy) + 1))
    pairs = _pair_mis(_target_mi(cfg, k, rng), k, "canonical", cfg.max_pair_mi, rng)
    base = O.AdditiveUniform(np.array([_uniform_eps(m) for m in pairs]))
    return O.Lifted(base, dx, dy, rng), "pairs"


def _gaussian_mixture(cfg, dx, dy, rng, split):
    base = draw_from_bank(rng, split, dx, dy)  # Monte Carlo MI precomputed per setting
    return O.Lifted(base, dx, dy, rng), "bank"


def _gamma_exponential(cfg, dx, dy, rng, split):
    k = int(rng.integers(1, min(dx, dy) + 1))
    parts = [O.GammaExponential(float(np.exp(rng.uniform(np.log(0.1), np.log(10.0))))) for _ in range(k)]
    return O.Lifted(O.Product(parts), dx, dy, rng), "pairs"


def _independent(cfg, dx, dy, rng, split):
    return O.Independent(dx, dy, rng=rng), "independent"


def _pooled(kind: str, mix: bool):
    """Builder for an extended family: 1..3 pool entries side by side (MI adds), lifted to
    (dx, dy) with independent Gaussian columns; sides mixed as a whole (rotation or linear,
    mist.data.lifting) only for continuous kinds. No entry fits (a 10-column one-hot label into
    one column): a functional pair instead, which always fits."""
    def build(cfg, dx, dy, rng, split):
        parts = P.draw_parts(kind, split, cfg.variant, dx, dy, rng)
        if not parts:
            parts = P.draw_parts("functional", split, cfg.variant, 1, 1, rng)
        base = parts[0] if len(parts) == 1 else O.Product(parts)
        if not mix:
            side_mix = "none"
        elif cfg.pooled_mix is None:
            side_mix = L.MIXES[rng.integers(len(L.MIXES))]
        else:
            side_mix = _pick(cfg.pooled_mix, rng)
        return L.lift(base, dx, dy, rng, side_mix), kind
    return build


def _structured(cfg, dx, dy, rng, split):
    dist = ST.random_structured(rng, dx, dy)  # its own MI law: uniform on [0, min(40, 5 per unit)]
    return dist, dist.params().get("structure", "structured")


_BUILDERS = {"gaussian": _gaussian, "student_t": _student_t, "additive_uniform": _additive_uniform,
             "gaussian_mixture": _gaussian_mixture, "independent": _independent,
             "gamma_exponential": _gamma_exponential, "functional": _pooled("functional", True),
             "shape": _pooled("shape", True), "discrete": _pooled("discrete", False),
             "labels": _pooled("labels", False), "counts": _pooled("counts", False),
             "structured": _structured}


def _side_transform(cfg: PriorConfig, d: int, rng):
    kind = _pick(cfg.transforms, rng)
    if kind == "none" or (kind == "spiral" and d < 2):
        return None, "none"
    if kind == "monotone":
        return T.random_transform("monotone_mixed" if rng.random() < 0.5 else
                                  T.MONOTONE_KINDS[rng.integers(len(T.MONOTONE_KINDS))], d, rng), kind
    return T.random_transform(kind, d, rng), kind


def sample_distribution(cfg: PriorConfig, rng, dx: int, dy: int, split: str = "train"):
    """One joint distribution of (X: dx, Y: dy) with known MI, transforms applied."""
    family = _pick(cfg.families, rng)
    dist, pattern = _BUILDERS[family](cfg, dx, dy, rng, split)
    if family in EXTENDED_FAMILIES:
        return dist, family, pattern, ("none", "none")
    tx, kx = _side_transform(cfg, dx, rng)
    ty, ky = _side_transform(cfg, dy, rng)
    if tx is not None or ty is not None:
        dist = T.Transformed(dist, tx, ty)
    return dist, family, pattern, (kx, ky)


def sample_dataset(cfg: PriorConfig, rng, n: int, dx: int, dy: int, split: str = "train") -> MIDataset:
    dist, family, pattern, kinds = sample_distribution(cfg, rng, dx, dy, split)
    x, y = dist.sample(n, rng)
    params = {"pattern": pattern, **dist.params()}
    return MIDataset(x, y, float(dist.mi), float(dist.mi_se), family, kinds, params)
