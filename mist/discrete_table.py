"""MI of a well-sampled table: both sides discrete and few cells for N (docs/design.md §12i).

There the classical estimate is accurate and its sampling error is known, and the network (whose
training prior has few such tables) can be confidently wrong: on a binary channel with
I = 0.495 nats it returned an interval above H(X) = ln 2, collapsed by the entropy cap. The point
estimate is Miller-Madow's H(X) + H(Y) - H(X, Y), each entropy the plug-in plus (K - 1) / 2N
for its K occupied cells; the quantiles are those of the same estimate over a multinomial
bootstrap of the joint table, centred on the point estimate. Rare categories (fewer than
MIN_CATEGORY_COUNT samples) send the set back to the network: they hint at unseen ones, whose MI
no table of this sample shows.
"""

from __future__ import annotations

import numpy as np

N_BOOT = 400
MAX_CELL_SHARE = 0.1  # the table path needs Kx * Ky <= 0.1 N: about 10 samples per cell or more
MIN_CATEGORY_COUNT = 10  # ... and no rare category on either side (unseen ones may carry MI)


def _codes(z: np.ndarray) -> tuple[np.ndarray, int]:
    """Rows of z (N, d) -> (category index per row (N,), number of categories)."""
    _, inverse = np.unique(z, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    return inverse, int(inverse.max()) + 1


def miller_madow_entropy(counts_BK: np.ndarray, n: int) -> np.ndarray:
    """Miller-Madow entropy (nats) of each row of counts (B, K), zeros allowed."""
    p = counts_BK / n
    with np.errstate(divide="ignore", invalid="ignore"):
        plug_in = -np.where(p > 0, p * np.log(p), 0.0).sum(-1)
    return plug_in + ((counts_BK > 0).sum(-1) - 1) / (2.0 * n)


def _mm_mi(joint_BXY: np.ndarray, n: int) -> np.ndarray:
    b = len(joint_BXY)
    return (miller_madow_entropy(joint_BXY.sum(2), n) + miller_madow_entropy(joint_BXY.sum(1), n)
            - miller_madow_entropy(joint_BXY.reshape(b, -1), n))


def table_quantiles(x: np.ndarray, y: np.ndarray, levels, cap: float, rng: np.random.Generator,
                    min_count: int = MIN_CATEGORY_COUNT) -> dict | None:
    """{level: MI in nats} for a pair whose sides are both discrete, x (N, dx), y (N, dy) validated,
    if its full table is small (Kx * Ky <= 0.1 N) and every observed category of each side occurs
    at least min_count times, else None. cap: the entropy cap (nats)."""
    n = len(x)
    ix, kx = _codes(x)
    iy, ky = _codes(y)
    if kx * ky > MAX_CELL_SHARE * n or min(np.bincount(ix).min(), np.bincount(iy).min()) < min_count:
        return None
    joint = np.bincount(ix * ky + iy, minlength=kx * ky).reshape(1, kx, ky)
    point = float(_mm_mi(joint, n)[0])
    boot = _mm_mi(rng.multinomial(n, joint.reshape(-1) / n, size=N_BOOT).reshape(N_BOOT, kx, ky), n)
    centred = np.quantile(boot, levels) - np.median(boot) + point
    return {lv: float(min(max(q, 0.0), cap)) for lv, q in zip(levels, centred)}
