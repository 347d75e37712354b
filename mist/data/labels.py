"""Class labels: Y categorical, X | Y a Gaussian component, optionally with categorical columns too.

| family       | what                                          | MI (nats)     | truth                        |
|--------------|-----------------------------------------------|---------------|------------------------------|
| class_labels | Y ~ Cat(w), K = 2..10 (encoded as in mist.    | 0 .. H(Y)     | H(Y) - E_X H(Y given X): the |
|              | data.discrete); X = [C, D]: C given Y = k ~   | (<= log K);   | trapezoid rule over C (grid  |
|              | N(mu_k, S_k) in 1 or 2 dims; D: 0-2           | target knob   | spacing sd_min / 2), an exact|
|              | categorical columns, D_j given Y = k ~        | (mean scale)  | sum over D                   |
|              | Cat(T_j[k]), independent of C given Y         |               |                              |

The integrand p(x) H(Y | x) is analytic, so the trapezoid rule converges faster than any power of the
spacing; the tests check it against a Monte Carlo of the exact pointwise MI.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import brentq
from scipy.special import logsumexp

from mist.data.discrete import ENCODINGS, _pick_encoding, decode, encode, encoded_dim, entropy
from mist.data.distributions import check_dim, random_orthogonal
from mist.data.lifting import MIXES, lift


MAX_SCALE = 8.0  # largest mean scale the target solver uses (means N(0, I) * scale)


class ClassLabels:
    """Y ~ Cat(weights) (K,); X = [C (m cols), D (one column per table)] with C | k ~ N(means[k], covs[k])
    (means (K, m), covs (K, m, m)) and D_j | k ~ Cat(tables[j][k]) (tables[j]: (K, D_j)), D's states
    as codes 0..D_j-1. Y is encoded by ``encoding_y`` (after a random relabelling with ``rng``).
    ``spacing`` (in units of the smallest sd) sets the quadrature grid: 1/2 is exact to ~1e-8 nats,
    1 to ~3e-5 (measured against 1/4)."""

    family = "class_labels"
    mi_se = 0.0

    def __init__(self, weights, means, covs, tables=(), encoding_y: str = "index",
                 rng: np.random.Generator | None = None, spacing: float = 0.5):
        self.weights = np.asarray(weights, np.float64) / np.sum(weights)
        self.means = np.atleast_2d(np.asarray(means, np.float64))
        self.covs = np.asarray(covs, np.float64).reshape(len(self.means), self.means.shape[1], -1)
        self.tables = [np.asarray(t, np.float64) / np.sum(t, axis=1, keepdims=True) for t in tables]
        self.k, self.m = self.means.shape
        if len(self.weights) != self.k or self.covs.shape != (self.k, self.m, self.m) or self.m not in (1, 2):
            raise ValueError("need weights (K,), means (K, m), covs (K, m, m) with m in (1, 2)")
        if any(t.shape[0] != self.k for t in self.tables):
            raise ValueError("each table needs one row per class")
        self._chol = np.linalg.cholesky(self.covs)  # raises for a covariance that is not positive definite
        self.encoding_y = encoding_y
        self.perm_y = rng.permutation(self.k) if rng is not None else np.arange(self.k)
        self.dim_x, self.dim_y = self.m + len(self.tables), encoded_dim(self.k, encoding_y)
        self.mi = max(entropy(self.weights) - self._conditional_entropy(spacing), 0.0)

    def _log_joint_c(self, c: np.ndarray) -> np.ndarray:
        """log w_k + log N(c; mu_k, S_k) for c (n, m); shape (n, K)."""
        out = np.empty((len(c), self.k))
        for k in range(self.k):
            z = np.linalg.solve(self._chol[k], (c - self.means[k]).T)
            out[:, k] = (np.log(self.weights[k]) - 0.5 * np.sum(z * z, axis=0) - 0.5 * self.m * np.log(2 * np.pi)
                         - np.sum(np.log(np.diag(self._chol[k]))))
        return out

    def _log_d_given_k(self) -> np.ndarray:
        """log P(d | k) for every combination d of the categorical columns; shape (n_combos, K)."""
        combos = list(itertools.product(*[range(t.shape[1]) for t in self.tables]))
        out = np.zeros((len(combos), self.k))
        for i, d in enumerate(combos):
            for t, v in zip(self.tables, d):
                out[i] += np.log(t[:, v])
        return out

    def _conditional_entropy(self, spacing: float) -> float:
        """E_X H(Y | X): trapezoid rule over C on a box 9 sd beyond the means, exact sum over D."""
        sd = np.sqrt(np.einsum("kii->ki", self.covs))  # (K, m)
        lo, hi = (self.means - 9 * sd).min(axis=0), (self.means + 9 * sd).max(axis=0)
        step = spacing * float(np.sqrt(np.min(np.linalg.eigvalsh(self.covs))))
        axes = [np.arange(lo[i], hi[i] + step, step) for i in range(self.m)]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, self.m)
        near = np.zeros(len(grid), bool)  # drop nodes 9 sd from every mean (p < 1e-17 there)
        for k in range(self.k):
            near |= np.sum((grid - self.means[k]) ** 2, axis=1) <= (9 * sd.max()) ** 2
        grid = grid[near]
        log_c = self._log_joint_c(grid)  # (G, K)
        log_joint = log_c[:, None, :] + self._log_d_given_k()[None]  # (G, combos, K)
        top = log_joint.max(axis=2, keepdims=True)
        rel = np.exp(log_joint - top)
        total = rel.sum(axis=2, keepdims=True)
        post = rel / total
        log_post = np.maximum(log_joint - top - np.log(total), -745.0)  # 0 * log 0 = 0
        h = -np.sum(post * log_post, axis=2)
        return float(np.sum(total[..., 0] * np.exp(top[..., 0]) * h) * step**self.m)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """x (n, dim_x): [C, D codes], y (n, dim_y): the encoded label."""
        n = check_dim(n, "n")
        y = np.minimum(np.searchsorted(np.cumsum(self.weights), rng.random(n) * self.weights.sum()), self.k - 1)
        c = self.means[y] + np.einsum("nij,nj->ni", self._chol[y], rng.standard_normal((n, self.m)))
        d = [np.minimum((np.cumsum(t, axis=1)[y] < rng.random((n, 1))).sum(axis=1), t.shape[1] - 1)
             for t in self.tables]
        x = np.column_stack([c] + [v.astype(np.float64) for v in d])
        return x, encode(y, self.k, self.encoding_y, self.perm_y)

    def pmi(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """log p(y | x) - log p(y) for x (n, dim_x), encoded y (n, dim_y); shape (n,)."""
        labels = decode(np.asarray(y, np.float64), self.k, self.encoding_y, self.perm_y)
        log_joint = self._log_joint_c(np.asarray(x, np.float64)[:, : self.m])
        for j, t in enumerate(self.tables):
            log_joint = log_joint + np.log(t[:, np.rint(x[:, self.m + j]).astype(np.int64)].T)
        rows = np.arange(len(labels))
        return log_joint[rows, labels] - logsumexp(log_joint, axis=1) - np.log(self.weights[labels])

    def params(self) -> dict:
        return {"family": self.family, "dim_x": self.dim_x, "dim_y": self.dim_y, "classes": self.k,
                "signal_dims": self.m, "categorical_columns": [t.shape[1] for t in self.tables],
                "weights": [float(w) for w in self.weights], "encoding_y": self.encoding_y}


def random_labels_pair(rng: np.random.Generator, max_dim_x: int = 64, max_dim_y: int = 64,
                       target_mi: float | None = None, encodings: tuple[str, ...] = ENCODINGS) -> ClassLabels:
    """Random classes (K = 2..10, weights Dirichlet(2)), component means N(0, I) in m = 1 or 2 dims times
    a scale, covariances shared identity (prob. 1/2) or per class (sd 0.5..1.5, random axes), 0-2
    categorical columns (2-4 states, rows Dirichlet(0.5)) when max_dim_x allows. With ``target_mi``
    the mean scale is solved for it (capped at 0.97 of the MI at scale MAX_SCALE, which is below
    H(Y)); without, the scale is log-uniform in [0.3, 5]."""
    k = int(rng.integers(2, 11))
    m = 1 if max_dim_x < 2 or rng.random() < 0.5 else 2
    n_tables = int(rng.integers(0, min(2, max_dim_x - m) + 1))
    weights = rng.dirichlet(np.full(k, 2.0))
    direction = rng.standard_normal((k, m))
    if rng.random() < 0.5:
        covs = np.broadcast_to(np.eye(m), (k, m, m)).copy()
    else:
        rot = [random_orthogonal(m, rng) for _ in range(k)]
        covs = np.stack([(q * rng.uniform(0.5, 1.5, m) ** 2) @ q.T for q in rot])
    tables = [rng.dirichlet(np.full(int(rng.integers(2, 5)), 0.5), size=k) for _ in range(n_tables)]
    enc = _pick_encoding(rng, k, max_dim_y, encodings)
    if target_mi is None:
        scale = float(np.exp(rng.uniform(np.log(0.3), np.log(5.0))))
    else:  # MI grows with the scale; solve on the coarse (3e-5-accurate) grid
        quick = lambda s: ClassLabels(weights, s * direction, covs, tables, enc, spacing=1.0).mi
        goal = min(float(target_mi), 0.97 * quick(MAX_SCALE))
        solve = lambda: brentq(lambda s: quick(s) - goal, 1e-3, MAX_SCALE, xtol=0.01, rtol=0.01)
        scale = 1e-3 if goal <= quick(1e-3) else solve()
    return ClassLabels(weights, scale * direction, covs, tables, enc, rng=rng)


def random_labels(rng: np.random.Generator, dim_x: int, dim_y: int, target_mi: float | None = None,
                  mix: str | None = None, encodings: tuple[str, ...] = ENCODINGS):
    """A random :class:`ClassLabels` lifted to (dim_x, dim_y): extra independent Gaussian columns; the
    features side is mixed by ``mix`` (default drawn) only when it holds no categorical column, the
    label side never (its ties would be lost)."""
    dim_x, dim_y = check_dim(dim_x, "dim_x"), check_dim(dim_y, "dim_y")
    base = random_labels_pair(rng, dim_x, dim_y, target_mi, encodings)
    mix = MIXES[rng.integers(len(MIXES))] if mix is None else mix
    return lift(base, dim_x, dim_y, rng, (mix if not base.tables else "none", "none"))
