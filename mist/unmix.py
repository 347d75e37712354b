"""Sides mixed as a whole: turn each side so that its dependence on the other lies along columns.

The network sees dependence through statistics of one X column and one Y column at a time (rank
histograms, pairwise Gram features). A parabola or a circle whose side was rotated or linearly
mixed with independent columns spreads over every column and leaves each pair near independent:
on the functional suite the shipped checkpoint solved 0.20 of such sets against 0.73 of the
unmixed ones (docs/design.md §12k). MI is unchanged by any invertible linear map of one side, so
each side may be re-expressed in a basis where the dependence is coordinate-aligned.

For a side with 2..MAX_WIDTH continuous columns (N >= MIN_N):
1. its columns' normal scores g (N, d) (so the step, like the network, ignores each column's
   monotone scale), whitened: z = g W;
2. a direction search in z: candidates are the axes, the eigenvectors of the sliced-moment matrix
   (SIR + SAVE, slicing on each column of the other side) and random unit vectors, refined
   locally; a direction u scores the top squared canonical correlation between a cosine basis of
   the projection z u and the cosine bases of the other side's columns (a maximal-correlation
   estimate, which sees non-monotone links);
3. greedily up to MAX_STEPS directions, each in the orthogonal complement of the previous ones;
   the rest of the complement completes an orthonormal basis R, and the side becomes z R;
4. a gate: the side is turned only if the best direction scores at least GATE above the best
   raw column, so sets already aligned (and most independent ones) pass unchanged.

Each side is searched against the other side's *raw* normal scores, so estimate(x, y) and
estimate(y, x) see the same columns. The search rows (at most SEARCH_ROWS) are chosen by rank,
not position, and the random candidates come from a fixed seed: the result does not depend on
row order and is reproducible. The map is chosen with both sides, so on independent data it can
pick a spurious direction; the gate and N >= MIN_N keep that small (measured in §12k).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

MIN_N = 128          # the large-N expert's range; below it a search over directions overfits
MAX_WIDTH = 16       # wider sides are left as they are (cost grows with width)
MAX_STEPS = 3        # directions searched greedily; the rest of the basis is the complement
SEARCH_ROWS = 1024
N_BASIS = 8          # cosine basis functions per projection
N_RANDOM = 64
N_REFINE = 3
GATE = 0.05
SEED = 20261204


def unmix_pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """x (N, dx), y (N, dy) float64, validated -> (x', y', info): each side turned (as its whitened
    normal scores in the found basis) or returned as it is; info["turned"] = (bool, bool)."""
    n = len(x)
    gx, gy = _normal_scores(x), _normal_scores(y)
    rows = _search_rows(gx, gy)
    out, turned = [], []
    for side, g, other in ((x, gx, gy), (y, gy, gx)):
        r = _turn_side(g, other, rows) if _eligible(side, n) else None
        out.append(side if r is None else r)
        turned.append(r is not None)
    return out[0], out[1], {"turned": tuple(turned)}


def _eligible(side: np.ndarray, n: int) -> bool:
    """A side is searched if N >= MIN_N, it has 2..MAX_WIDTH columns and none has ties on more
    than 5% of its rows (turning would mix a discrete column's ties away)."""
    d = side.shape[1]
    if n < MIN_N or not 2 <= d <= MAX_WIDTH:
        return False
    return all(len(np.unique(side[:, j])) >= 0.95 * n for j in range(d))


def _normal_scores(z: np.ndarray) -> np.ndarray:
    g = ndtri((rankdata(z, axis=0) - 0.5) / len(z))
    return g - g.mean(axis=0)


def _search_rows(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """At most SEARCH_ROWS row indices, evenly spaced and ordered by a key of the rows' values
    (not their positions) and alike for both sides, so that permuting the rows or swapping the
    sides leaves the search's arithmetic as it is."""
    n = len(gx)
    key = np.lexsort((gx[:, 0] * gy[:, 0], gx[:, 0] + gy[:, 0]))  # symmetric in the sides
    return key if n <= SEARCH_ROWS else key[np.linspace(0, n - 1, SEARCH_ROWS).round().astype(int)]


def _whitener(g: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(np.atleast_2d(np.cov(g, rowvar=False)))
    return (v / np.sqrt(np.maximum(w, 1e-9))) @ v.T


def _cosine_basis(a_KN: np.ndarray) -> np.ndarray:
    """a (K, N) standardized projections -> (K, N, N_BASIS) centred cos(pi m Phi(a)), m = 1.."""
    u = ndtr(a_KN)[..., None]
    f = np.cos(np.pi * np.arange(1, N_BASIS + 1) * u)
    return f - f.mean(axis=-2, keepdims=True)


def _orthonormal(f: np.ndarray) -> np.ndarray:
    return np.linalg.qr(f)[0]


def _scores(z: np.ndarray, u_DK: np.ndarray, q_other: np.ndarray) -> np.ndarray:
    """Top squared canonical correlation between the cosine basis of z u_k and q_other, per k."""
    a = (z @ u_DK).T
    a = a / np.maximum(a.std(axis=-1, keepdims=True), 1e-12)
    s = np.linalg.svd(np.swapaxes(_orthonormal(_cosine_basis(a)), -1, -2) @ q_other, compute_uv=False)
    return s[:, 0] ** 2


def _sliced_moments(z: np.ndarray, other: np.ndarray, slices: int = 8) -> np.ndarray:
    """(d, d) SIR + SAVE matrix of z given each column of other: its leading eigenvectors are
    directions along which z's slice means or slice covariances move."""
    n, d = z.shape
    m_DD, eye = np.zeros((d, d)), np.eye(d)
    for j in range(other.shape[1]):
        for idx in np.array_split(np.argsort(other[:, j], kind="stable"), slices):
            mean = z[idx].mean(axis=0)
            a = eye - np.cov(z[idx], rowvar=False).reshape(d, d)
            m_DD += len(idx) / n * (np.outer(mean, mean) + a @ a)
    return m_DD


def _unit_columns(u: np.ndarray) -> np.ndarray:
    return u / np.maximum(np.linalg.norm(u, axis=0), 1e-12)


def _best_direction(z: np.ndarray, q_other: np.ndarray, init: np.ndarray, rng) -> tuple[np.ndarray, float]:
    m = z.shape[1]
    cands = np.concatenate([init, _unit_columns(rng.standard_normal((m, N_RANDOM)))], axis=1)
    s = _scores(z, cands, q_other)
    best, best_score, step = cands[:, s.argmax()], float(s.max()), 0.3
    for _ in range(N_REFINE):
        local = _unit_columns(best[:, None] + step * _unit_columns(rng.standard_normal((m, 32))))
        s = _scores(z, local, q_other)
        if s.max() > best_score:
            best, best_score = local[:, s.argmax()], float(s.max())
        step /= 2
    return best, best_score


def _complement(left: np.ndarray, u: np.ndarray) -> np.ndarray:
    """An orthonormal basis (d, m - 1) of the part of span(left) (d, m) orthogonal to the unit u in
    it: the other columns of left projected off u, then QR. Not an SVD: the complement's singular
    values are all 1, so an SVD's basis would turn with rounding noise (and row order with it)."""
    drop = np.abs(u @ left).argmax()
    rest = np.delete(left, drop, axis=1)
    return np.linalg.qr(rest - np.outer(u, u @ rest))[0]


def _turn_side(g: np.ndarray, other: np.ndarray, rows: np.ndarray) -> np.ndarray | None:
    """g (N, d) normal scores of one side, other (N, e) of the other -> (N, d) turned side, or None."""
    rng = np.random.default_rng(SEED)
    d = g.shape[1]
    z = g @ _whitener(g)
    zs, gs, os_ = z[rows], g[rows], other[rows]
    q_other = _orthonormal(np.concatenate(
        [_cosine_basis(os_[:, j][None] / max(os_[:, j].std(), 1e-12))[0] for j in range(os_.shape[1])], axis=1))
    best_column = _scores(gs, np.eye(d), q_other).max()
    sliced = np.linalg.eigh(_sliced_moments(zs, os_))[1][:, ::-1]
    left, cols, first = np.eye(d), [], None
    for _ in range(min(d - 1, MAX_STEPS)):
        init = _unit_columns(np.concatenate([np.eye(left.shape[1]), left.T @ sliced], axis=1))
        u, score = _best_direction(zs @ left, q_other, init, rng)
        first = score if first is None else first
        if first < best_column + GATE:
            return None
        u = left @ u
        cols.append(u)
        left = _complement(left, u)
    return z @ np.concatenate([np.stack(cols, axis=1), left], axis=1)
