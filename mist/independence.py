"""A permutation test of independence with the network's MI estimate as the statistic.

    t = est.independence_test(x, y, n_permutations=200)
    t.p_value, t.mi, t.estimate          # p-value, observed median MI, its MIResult

H0: X and Y are independent (rows i.i.d.). Under H0, re-pairing the rows of one side by a
uniformly random permutation leaves the joint distribution unchanged, so the observed statistic
and B statistics of permuted sets are exchangeable and

    p = (1 + #{b : T_b >= T_obs}) / (B + 1)

is an exact p-value: P(p <= alpha) <= alpha for every N, dimension and marginal distribution,
whatever the network's accuracy (ties count against rejection, so they can only make the test
conservative). The network only decides the power. T is the median of the network's MI quantile
function before the reporting resolution (mist.network.quantiles.MI_RESOLUTION rounds MI below
1e-3 nats to 0, which would tie many independent sets at exactly 0). Every set is ranked from
codes computed once, and the B + 1 sets go through the network in batches (no per-set
validation). For N above the network's largest N every set uses the same random row subsets
(the permutation acts on all N rows; the permuted side is re-ranked within each subset), so T is
one fixed function of the data and the test stays exact.

Shape letters: N samples, C = dx + dy columns, B permutations, S subsets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mist._validate import check_pair
from mist.estimator import CODE_CELLS_PER_CHUNK, UNITS
from mist.network.normalize import rank_codes_np
from mist.network.quantiles import from_z
from mist.result import MIResult



def permutation_p_value(observed: float, null) -> float:
    """(1 + #{null >= observed}) / (B + 1): the exact permutation p-value (ties count as >=)."""
    null = np.asarray(null, dtype=float)
    return float((1 + np.count_nonzero(null >= observed)) / (len(null) + 1))


@dataclass
class IndependenceResult:
    """Outcome of a permutation test of independence.

    p_value: exact permutation p-value (smallest possible 1 / (n_permutations + 1));
    estimate: the observed MIResult (for N above the network's largest N: on the test's subsets);
    statistic: observed median MI before the reporting resolution, in estimate.units;
    null: (n_permutations,) the same statistic on each permuted set;
    permuted: "x" or "y", the side whose rows were permuted; seed: the permutations' seed."""

    p_value: float
    estimate: MIResult
    statistic: float
    null: np.ndarray
    n_permutations: int
    seed: int
    permuted: str

    @property
    def mi(self) -> float:
        """The observed median MI (as estimate(x, y).mi reports it)."""
        return self.estimate.mi

    def significant(self, alpha: float = 0.05) -> bool:
        """Reject independence at level alpha: p_value <= alpha."""
        return self.p_value <= alpha

    def __repr__(self) -> str:
        return (f"IndependenceResult(p_value={self.p_value:.4g}, mi={self.mi:.4g} {self.estimate.units}, "
                f"n_permutations={self.n_permutations}, N={self.estimate.n})")


def independence_test(estimator, x, y, n_permutations: int = 200, seed: int | None = None,
                      constant_columns: str = "error", cells_per_batch: int = 2**16) -> IndependenceResult:
    """Exact permutation test of X independent of Y; see the module docstring.

    estimator: an MIEstimator; x (N, dx), y (N, dy) arrays, tensors or DataFrames; n_permutations:
    B >= 1 (200 resolves p-values down to 0.005); seed: for the permutations and subsets
    (default: estimator.seed), so a call is reproducible; constant_columns as in estimate (a fully
    dropped side makes MI exactly 0 and p_value 1)."""
    if int(n_permutations) != n_permutations or n_permutations < 1:
        raise ValueError(f"n_permutations must be a positive integer, got {n_permutations!r}")
    b_perm = int(n_permutations)
    seed = estimator.seed if seed is None else int(seed)
    x, y = check_pair(x, y, constant_columns)
    shape = (len(x), x.shape[1], y.shape[1])  # as given; the network may see fewer columns:
    x, y, merged = estimator._collapse(x, y)  # as in estimate (mist.categorical): a map of each side alone
    x, y = estimator._fit_width(x, y)          # a map of each side alone, so the test stays exact
    n, dx, dy = len(x), x.shape[1], y.shape[1]
    permuted = "x" if dx < dy else "y"  # re-ranking (N > max_n) costs per permuted column
    if dx == 0 or dy == 0:
        zero = estimator._result(None, shape, 0, merged)
        return IndependenceResult(1.0, zero, 0.0, np.zeros(b_perm), b_perm, seed, permuted)

    rng = np.random.default_rng(seed)
    rows = estimator._subset_rows(n, rng)
    subsets = [np.arange(n)] if rows is None else rows
    fixed, moving = (y, x) if permuted == "x" else (x, y)
    fixed_codes = [rank_codes_np(fixed[idx]) for idx in subsets]
    moving_codes = rank_codes_np(moving) if rows is None else None  # N <= max_n: permute codes, no re-rank

    def codes_of(perm) -> list[np.ndarray]:
        """(C, n) codes per subset of the set whose moving side is re-paired by perm (None: observed)."""
        out = []
        for idx, f in zip(subsets, fixed_codes):
            if moving_codes is not None:
                m = moving_codes if perm is None else moving_codes[:, perm]
            else:
                m = rank_codes_np(moving[idx] if perm is None else moving[perm[idx]])
            out.append(np.concatenate([m, f] if permuted == "x" else [f, m]))
        return out

    k_median = estimator.levels.index(0.5)
    chunk = max(1, CODE_CELLS_PER_CHUNK // ((dx + dy) * len(subsets[0]) * len(subsets)))
    z_obs, stats = None, []
    for start in range(0, b_perm + 1, chunk):  # set 0 is the observed one
        sets = [codes_of(None if i == 0 else rng.permutation(n)) for i in range(start, min(start + chunk, b_perm + 1))]
        z_BK = estimator._z_of_sets(sets, dx, cells_per_batch)
        if start == 0:
            z_obs = z_BK[0]
        stats.append(from_z(z_BK[:, k_median]).numpy() * UNITS[estimator.units])
    t_all = np.concatenate(stats)
    estimate = estimator._result(z_obs, shape, len(subsets), merged)
    return IndependenceResult(permutation_p_value(t_all[0], t_all[1:]), estimate, float(t_all[0]), t_all[1:],
                              b_perm, seed, permuted)
