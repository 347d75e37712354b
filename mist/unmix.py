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
4. gates (design §12l): the side is turned only if its best direction scores at least GATE above
   both the best raw column and the linear canonical direction (linear CCA of the two sides'
   whitened normal scores), so sets already aligned, sets whose dependence a linear map shows
   (the prior's rotated Gaussian-copula world, which the network knows) and most independent
   ones pass unchanged; a cheap screen (SCREEN_ROWS rows, the sliced-moment eigenvectors and
   N_SCREEN random directions) decides first whether to search at all, batched over the sets
   of one shape (`unmix_many`), so that most sets never pay for the search.

Each side is searched against the other side's *raw* normal scores, so estimate(x, y) and
estimate(y, x) see the same columns. The search rows (at most SEARCH_ROWS) are chosen by rank,
not position, and the random candidates come from a fixed seed: the result does not depend on
row order and is reproducible. The map is chosen with both sides, so on independent data it can
pick a spurious direction; the gates and N >= MIN_N keep that small (measured in §12k-l: the
independence grid is unchanged).
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
SCREEN = True        # run the screen before the search (design §12l); §12n measures it off
SEED = 20261204


def unmix_pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """x (N, dx), y (N, dy) float64, validated -> (x', y', info): each side turned (as its whitened
    normal scores in the found basis) or returned as it is; info["turned"] = (bool, bool)."""
    return unmix_many([(x, y)])[0]


def unmix_many(pairs: list, single_only: bool = False) -> list[tuple[np.ndarray, np.ndarray, dict]]:
    """unmix_pair of every (x, y) in pairs; the screen runs batched over the sets of one shape
    (the same arithmetic as one at a time). single_only: a side is searched only when the other
    side has one column (design §12p)."""
    out = [(x, y, {"turned": (False, False)}) for x, y in pairs]
    groups: dict[tuple, list[int]] = {}
    wanted = {}  # i -> (search x?, search y?), decided once per set
    for i, (x, y) in enumerate(pairs):
        want = (_eligible(x, len(x), y.shape[1], single_only), _eligible(y, len(y), x.shape[1], single_only))
        if any(want):
            groups.setdefault(x.shape + y.shape[1:], []).append(i)
            wanted[i] = want
    for items in groups.values():
        x_B, y_B = np.stack([pairs[i][0] for i in items]), np.stack([pairs[i][1] for i in items])
        for b, turned in zip(items, _turned_sides(x_B, y_B, np.array([wanted[i] for i in items]))):
            x, y = pairs[b]
            out[b] = (x if turned[0] is None else turned[0], y if turned[1] is None else turned[1],
                      {"turned": (turned[0] is not None, turned[1] is not None)})
    return out


def _turned_sides(x_B: np.ndarray, y_B: np.ndarray, want_B2: np.ndarray) -> list[tuple]:
    """x_B (B, N, dx), y_B (B, N, dy), one shape; want_B2 (B, 2) bool: which sides to search ->
    per set (x' or None, y' or None): the turned side (N, d), or None where it stays as it is."""
    n = x_B.shape[1]
    gx, gy = _normal_scores(x_B), _normal_scores(y_B)
    rows_BR = _search_rows(gx, gy)
    wx, wy = _whitener(gx), _whitener(gy)
    zx, zy = gx @ wx, gy @ wy
    u, _, vt = np.linalg.svd(np.swapaxes(zx, -1, -2) @ zy / n)  # linear CCA of the whitened sides
    sides = []
    for s, (z, w, other, lin) in enumerate(((zx, wx, gy, u[..., :, 0]), (zy, wy, gx, vt[..., 0, :]))):
        want = np.flatnonzero(want_B2[:, s])
        turned = [None] * len(x_B)
        if len(want):
            passed, sliced = _screen(z[want], w[want], other[want], rows_BR[want], lin[want])
            passed = passed if SCREEN else np.ones_like(passed)
            for k, b in enumerate(want):
                if passed[k]:
                    turned[b] = _search(z[b], w[b], other[b], rows_BR[b], lin[b], sliced[k])
        sides.append(turned)
    return list(zip(*sides))


def _eligible(side: np.ndarray, n: int, other_width: int, single_only: bool = False) -> bool:
    """A side is searched if N >= MIN_N, it has 2..MAX_WIDTH columns, none has ties on more than 5%
    of its rows (turning would mix a discrete column's ties away) and, with single_only, the other
    side has one column."""
    d = side.shape[1]
    if n < MIN_N or not 2 <= d <= MAX_WIDTH or (single_only and other_width != 1):
        return False
    return all(len(np.unique(side[:, j])) >= 0.95 * n for j in range(d))


def _normal_scores(z_BND: np.ndarray) -> np.ndarray:
    g = ndtri((rankdata(z_BND, axis=-2) - 0.5) / z_BND.shape[-2])
    return g - g.mean(axis=-2, keepdims=True)


def _search_rows(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """(B, R) row indices, at most SEARCH_ROWS per set, evenly spaced and ordered by a key of the
    rows' values (not their positions) and alike for both sides, so that permuting the rows or
    swapping the sides leaves the search's arithmetic as it is."""
    n = gx.shape[-2]
    a, b = gx[..., 0], gy[..., 0]
    key = np.lexsort((a * b, a + b), axis=-1)  # symmetric in the sides
    return key if n <= SEARCH_ROWS else key[..., np.linspace(0, n - 1, SEARCH_ROWS).round().astype(int)]


def _whitener(g: np.ndarray) -> np.ndarray:
    """g (..., N, d) centred -> (..., d, d) symmetric W with cov(g W) = I."""
    cov = np.swapaxes(g, -1, -2) @ g / (g.shape[-2] - 1)
    w, v = np.linalg.eigh(cov)
    return (v / np.sqrt(np.maximum(w, 1e-9))[..., None, :]) @ np.swapaxes(v, -1, -2)


def _cosine_basis(a: np.ndarray) -> np.ndarray:
    """a (..., N) standardized projections -> (..., N, N_BASIS) centred cos(pi m Phi(a)), m = 1..,
    by the Chebyshev recurrence cos((m + 1) t) = 2 cos(t) cos(m t) - cos((m - 1) t)."""
    c1 = np.cos(np.pi * ndtr(a))
    f = [c1, 2 * c1 * c1 - 1]
    for _ in range(N_BASIS - 2):
        f.append(2 * c1 * f[-1] - f[-2])
    f = np.stack(f[:N_BASIS], axis=-1)
    return f - f.mean(axis=-2, keepdims=True)


def _other_basis(other: np.ndarray) -> np.ndarray:
    """other (..., n, e) -> (..., n, e * N_BASIS) orthonormal basis of its columns' cosine bases."""
    cols = np.swapaxes(other, -1, -2)  # (..., e, n)
    f = _cosine_basis(cols / np.maximum(cols.std(axis=-1, keepdims=True), 1e-12))  # (..., e, n, B)
    f = np.concatenate([f[..., j, :, :] for j in range(f.shape[-3])], axis=-1)
    return np.linalg.qr(f)[0]


def _scores(z: np.ndarray, u: np.ndarray, q_other: np.ndarray) -> np.ndarray:
    """z (..., n, d), u (..., d, K), q_other (..., n, M) orthonormal -> (..., K): the top squared
    canonical correlation between the cosine basis F of z u_k and q_other: the largest eigenvalue
    of L^-1 F^T q q^T F L^-T with L L^T = F^T F (a Cholesky factor instead of a QR of F: the same
    number, cheaper for many small problems)."""
    a = np.swapaxes(z @ u, -1, -2)
    a = a / np.maximum(a.std(axis=-1, keepdims=True), 1e-12)
    f_t = np.swapaxes(_cosine_basis(a), -1, -2)  # (..., K, N_BASIS, n)
    gram = f_t @ np.swapaxes(f_t, -1, -2)
    ridge = 1e-9 * np.trace(gram, axis1=-2, axis2=-1)[..., None, None] * np.eye(N_BASIS)
    cross = np.linalg.solve(np.linalg.cholesky(gram + ridge), f_t @ q_other[..., None, :, :])
    return np.linalg.eigvalsh(cross @ np.swapaxes(cross, -1, -2))[..., -1]


def _sliced_moments(z: np.ndarray, other: np.ndarray, slices: int = 8) -> np.ndarray:
    """z (..., n, d) whitened, other (..., n, e) -> (..., d, d) SIR + SAVE matrix of z given each
    column of other: its leading eigenvectors are directions along which z's slice means or
    slice covariances move."""
    n, d = z.shape[-2:]
    starts = np.linspace(0, n, slices + 1).astype(int)[:-1]
    counts = np.diff(np.r_[starts, n])
    w = counts / n
    m = np.zeros(z.shape[:-2] + (d, d))
    eye = np.eye(d)
    for j in range(other.shape[-1]):
        order = np.argsort(other[..., j], axis=-1, kind="stable")
        zj = np.take_along_axis(z, order[..., None], axis=-2)
        mean = np.add.reduceat(zj, starts, axis=-2) / counts[:, None]
        second = np.add.reduceat(zj[..., :, None] * zj[..., None, :], starts, axis=-3) / counts[:, None, None]
        a = eye - (second - mean[..., :, None] * mean[..., None, :])
        m += np.einsum("s,...sd,...se->...de", w, mean, mean) + np.einsum("s,...sde,...sef->...df", w, a, a)
    return m


def _unit_columns(u: np.ndarray) -> np.ndarray:
    return u / np.maximum(np.linalg.norm(u, axis=-2, keepdims=True), 1e-12)


def _screen(z, w, other, rows, lin):
    """The batched screen of one side for B sets: z (B, N, d), w (B, d, d), other (B, N, e), rows
    (B, R), lin (B, d) -> (passed (B,) bool, the sliced-moment eigenvectors (B, d, d)).
    Candidates: the raw columns as directions in z (g = z W^-1: column i of g is z W^-1[:, i]) and
    the linear canonical direction (the floor), then the sliced-moment eigenvectors and N_SCREEN
    random directions; a set passes if one of the latter beats the floor by GATE / 2."""
    d = z.shape[-1]
    few = rows[:, np.linspace(0, rows.shape[1] - 1, min(SCREEN_ROWS, rows.shape[1])).round().astype(int)]
    z_few = np.take_along_axis(z, few[..., None], axis=1)
    o_few = np.take_along_axis(other, few[..., None], axis=1)
    sliced = np.linalg.eigh(_sliced_moments(z_few, o_few))[1][..., ::-1]
    random = _unit_columns(np.random.default_rng(SEED).standard_normal((d, N_SCREEN)))
    cands = np.concatenate([np.linalg.inv(w), lin[..., None], sliced,
                            np.broadcast_to(random, sliced.shape[:-1] + (N_SCREEN,))], axis=-1)
    s = _scores(z_few, cands, _other_basis(o_few))
    return s[:, d + 1:].max(axis=-1) >= s[:, :d + 1].max(axis=-1) + GATE / 2, sliced


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


def _search(z, w, other, rows, lin, sliced) -> np.ndarray | None:
    """The search of one side of one set that passed the screen: z (N, d) whitened normal scores,
    w (d, d) its whitener, other (N, e), rows (R,), lin (d,), sliced (d, d) -> (N, d) turned side,
    or None where the best direction does not beat the raw columns and the linear canonical
    direction by GATE."""
    d = z.shape[1]
    rng = np.random.default_rng(SEED)
    rng.standard_normal((d, N_SCREEN))  # the screen's draws: the search continues the same stream
    zs, q_other = z[rows], _other_basis(other[rows])
    floor = _scores(zs, np.concatenate([np.linalg.inv(w), lin[:, None]], axis=1), q_other).max()
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
