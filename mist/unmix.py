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
SCREEN_ROWS = 256     # the screen that decides whether to search at all (design §12l)
N_SCREEN = 16
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
    wanted = (_eligible(x, n), _eligible(y, n))
    if not any(wanted):
        return x, y, {"turned": (False, False)}
    wx, wy = _whitener(gx), _whitener(gy)
    zx, zy = gx @ wx, gy @ wy
    u, _, vt = np.linalg.svd(zx.T @ zy / n)  # linear CCA: the whitened sides' cross-covariance
    out, turned = [], []
    for side, z, w, other, lin, want in ((x, zx, wx, gy, u[:, 0], wanted[0]), (y, zy, wy, gx, vt[0], wanted[1])):
        r = _turn_side(z, w, other, rows, lin) if want else None
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
    """a (K, N) standardized projections -> (K, N, N_BASIS) centred cos(pi m Phi(a)), m = 1..,
    by the Chebyshev recurrence cos((m + 1) t) = 2 cos(t) cos(m t) - cos((m - 1) t)."""
    c1 = np.cos(np.pi * ndtr(a_KN))
    f = [c1, 2 * c1 * c1 - 1]
    for _ in range(N_BASIS - 2):
        f.append(2 * c1 * f[-1] - f[-2])
    f = np.stack(f[:N_BASIS], axis=-1)
    return f - f.mean(axis=-2, keepdims=True)


def _orthonormal(f: np.ndarray) -> np.ndarray:
    return np.linalg.qr(f)[0]


def _scores(z: np.ndarray, u_DK: np.ndarray, q_other: np.ndarray) -> np.ndarray:
    """Top squared canonical correlation between the cosine basis F of z u_k and the orthonormal
    q_other, per k: the largest eigenvalue of R^-T F^T q q^T F R^-1 with R^T R = F^T F (a Cholesky
    factor instead of a QR of F: the same number, cheaper for many small problems)."""
    a = (z @ u_DK).T
    a = a / np.maximum(a.std(axis=-1, keepdims=True), 1e-12)
    f_KNB = _cosine_basis(a)
    gram = np.swapaxes(f_KNB, -1, -2) @ f_KNB
    chol = np.linalg.cholesky(gram + 1e-9 * np.trace(gram, axis1=-2, axis2=-1)[:, None, None] * np.eye(N_BASIS))
    cross = np.linalg.solve(chol, np.swapaxes(f_KNB, -1, -2) @ q_other)  # L^-1 F^T q, L = R^T
    return np.linalg.eigvalsh(cross @ np.swapaxes(cross, -1, -2))[:, -1]


def _sliced_moments(z: np.ndarray, other: np.ndarray, slices: int = 8) -> np.ndarray:
    """(d, d) SIR + SAVE matrix of z given each column of other: its leading eigenvectors are
    directions along which z's slice means or slice covariances move."""
    n, d = z.shape
    starts = np.linspace(0, n, slices + 1).astype(int)[:-1]
    counts = np.diff(np.r_[starts, n])[:, None]
    m_DD, eye = np.zeros((d, d)), np.eye(d)
    for j in range(other.shape[1]):
        zj = z[np.argsort(other[:, j], kind="stable")]
        mean_SD = np.add.reduceat(zj, starts, axis=0) / counts
        second_SDD = np.add.reduceat(zj[:, :, None] * zj[:, None, :], starts, axis=0) / counts[:, :, None]
        a_SDD = eye - (second_SDD - mean_SD[:, :, None] * mean_SD[:, None, :])
        w = counts[:, 0] / n
        m_DD += np.einsum("s,sd,se->de", w, mean_SD, mean_SD) + np.einsum("s,sde,sef->df", w, a_SDD, a_SDD)
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


def _other_basis(other: np.ndarray) -> np.ndarray:
    """other (n, e) -> (n, <= e * N_BASIS) orthonormal basis of its columns' cosine bases."""
    return _orthonormal(np.concatenate(
        [_cosine_basis(other[:, j][None] / max(other[:, j].std(), 1e-12))[0] for j in range(other.shape[1])], axis=1))


def _turn_side(z: np.ndarray, w: np.ndarray, other: np.ndarray, rows: np.ndarray, lin: np.ndarray) -> np.ndarray | None:
    """z (N, d) one side's whitened normal scores g W (w: the whitener W), other (N, e) the other
    side's normal scores, lin (d,) the linear canonical direction in z -> (N, d) turned side, or None.
    Turned only where the best direction beats both the best raw column and the linear canonical
    direction by GATE (design §12l); a cheap screen on fewer rows and candidates comes first."""
    rng = np.random.default_rng(SEED)
    d = z.shape[1]
    few = rows[np.linspace(0, len(rows) - 1, min(SCREEN_ROWS, len(rows))).round().astype(int)]
    q_few = _other_basis(other[few])
    sliced = np.linalg.eigh(_sliced_moments(z[few], other[few]))[1][:, ::-1]
    # the raw columns as directions in z (g = z W^-1: column i of g is z W^-1[:, i]), the
    # linear canonical direction, then the candidates; one batched score for all
    plain = np.concatenate([np.linalg.inv(w), lin[:, None]], axis=1)
    screen = np.concatenate([plain, sliced, _unit_columns(rng.standard_normal((d, N_SCREEN)))], axis=1)
    s = _scores(z[few], screen, q_few)
    if s[d + 1:].max() < s[:d + 1].max() + GATE / 2:
        return None
    zs, q_other = z[rows], _other_basis(other[rows])
    floor = _scores(zs, plain, q_other).max()
    left, cols = np.eye(d), []
    for step in range(min(d - 1, MAX_STEPS)):
        init = _unit_columns(np.concatenate([np.eye(left.shape[1]), left.T @ sliced, left.T @ lin[:, None]], axis=1))
        u, score = _best_direction(zs @ left, q_other, init, rng)
        if step == 0 and score < floor + GATE:
            return None
        u = left @ u
        cols.append(u)
        left = _complement(left, u)
    return z @ np.concatenate([np.stack(cols, axis=1), left], axis=1)
