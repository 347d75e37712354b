"""The user-facing estimator: MI quantiles for a dataset in one forward pass.

    from mist import MIEstimator
    est = MIEstimator.from_pretrained()
    r = est.estimate(x, y)          # x (N, dx), y (N, dy); (N,) allowed
    r.mi, r.quantiles, r.interval(0.9)
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from mist._validate import check_pair
from mist.checkpoint import REGIMES, load_checkpoint, load_stat_head, resolve_checkpoint, served_n_max, regime_calibration, trained_dim_max
from mist.categorical import collapse_binary, collapse_binary_t
from mist.consistency import subsample_check
from mist.discrete_table import miller_madow_entropy, table_quantiles
from mist.differentiable import soft_quantiles
from mist.network.normalize import DEFAULT_TEMPERATURE, rank_codes_np
from mist.network.calibration import apply_offsets
from mist.network.quantiles import from_z, report_mi
from mist.network.stat_head import head_inputs, serves, singular_statistics
from mist.reduce import principal_scores, reduced_width
from mist.unmix import unmix_many
from mist.result import MIResult

DEFAULT_MAX_N = 2048  # for a bare model without a checkpoint config (which states its served N)
# score codes (sets x subsets x columns x rows) that callers of _z_of_sets (mist.tabular,
# mist.independence) hold at once for one chunk of sets: 8 MB of int64
CODE_CELLS_PER_CHUNK = 1 << 20
UNMIX_DEFAULT = "auto"  # design §12p: only against a single column (True everywhere was too slow, §12l)
COLLAPSE_BINARY_DEFAULT = True  # design §12m: every clause held
UNITS = {"nats": 1.0, "bits": 1.0 / math.log(2.0)}


class MIEstimator:
    """Amortized MI estimator around a trained network (scikit-learn-like face).

    device: "cpu" (default) or "cuda"; units: "nats" or "bits"; seed: for the random subsets used
    when N exceeds the largest N seen in training (`max_n`): then the estimate averages the
    quantile functions of up to `max_subsets` random subsets of size max_n (Vincentization). Each
    subset's interval already describes the uncertainty at max_n samples, so the averaged interval
    is conservative: it does not narrow further with more data. Each dataset draws its subsets
    from its own generator seeded with `seed`, so its result depends only on itself and the seed
    (the same in `estimate` and at any position of `estimate_many`).
    table_path: True: where both sides are discrete and the table is well sampled (Kx * Ky <= N / 10,
    every category seen >= 10 times), `estimate` returns the Miller-Madow plug-in with bootstrap
    quantiles instead of the network's (mist.discrete_table, docs/design.md §12i;
    result.extra["method"] == "table"). Off by default: its rule was not met on the suite (one set
    took the path there).
    unmix: True: a side of 2..16 continuous columns at N >= 128 is turned (an invertible linear
    map of that side's normal scores, so MI is unchanged) until its dependence on the other side
    lies along columns, which the network sees; a side already aligned is left as it is
    (mist.unmix, docs/design.md §12k). result.extra["turned"] says which sides were turned.
    "auto" (the default): only a side whose other side has one column (§12p); True: every
    eligible side (slow: 1.5x KSG's speed at N=500 5+5); False: none.
    The differentiable path (`mi`, `quantiles_t`) and `independence_test` do not turn sides (the
    map is chosen with both sides, so a permutation test would no longer be exact).
    collapse_binary: True: a side's binary columns (two distinct values each, at least two of
    them, at most 10 distinct joint rows) reach the network as one categorical column numbering
    their joint rows (a bijection of that side: MI unchanged; mist.categorical, §12m);
    result.extra["merged_binary"] = (columns merged in x, in y). On by default; also in
    `independence_test` (a map of each side alone) and on the differentiable path (the code is
    a constant there: a discrete column carries no gradient).
    stat_head: True (default): where N <= dx + dy, N is in the head's range (8..127) and no side is
    wider than its trained 64 columns, the quantiles come from the checkpoint's singular-regime
    head (mist.network.stat_head, docs/design.md §12q): statistics that survive a singular
    covariance plus the network's own quantiles (below the median the lower of the head's and the
    network's, so the interval only widens downwards); result.extra["method"] == "stat_head". A
    checkpoint without a head ignores it. Not on the differentiable path or in `independence_test`.
    """

    def __init__(self, model: torch.nn.Module, config: dict | None = None, device: str = "cpu",
                 units: str = "nats", seed: int = 0, max_n: int | None = None, max_subsets: int = 8,
                 table_path: bool = False, unmix: bool | str = UNMIX_DEFAULT,
                 collapse_binary: bool = COLLAPSE_BINARY_DEFAULT, stat_head: bool = True):
        if units not in UNITS:
            raise ValueError(f"units must be one of {list(UNITS)}, got {units!r}")
        self.config = config or {}
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.units, self.seed, self.max_subsets = units, seed, max_subsets
        for name, flag in (("table_path", table_path), ("unmix", unmix), ("collapse_binary", collapse_binary),
                           ("stat_head", stat_head)):
            if not isinstance(flag, (bool, np.bool_)) and not (name == "unmix" and flag == "auto"):
                # "no" or 0.5 would silently count as True
                allowed = "True, False or 'auto'" if name == "unmix" else "True or False"
                raise TypeError(f"{name} must be {allowed}, got {flag!r}")
        self.table_path, self.collapse_binary = bool(table_path), bool(collapse_binary)
        self.use_stat_head = bool(stat_head)
        self.stat_head, self.stat_head_spec = None, None  # set by from_pretrained when the checkpoint has one
        self.unmix = "auto" if unmix == "auto" else bool(unmix)
        self.max_n = int(max_n or (served_n_max(self.config) if "served_n" in self.config else DEFAULT_MAX_N))
        # the network stores levels in float32 (0.025 -> 0.02500000037...); as result keys they
        # must be the decimals users type, so r.quantiles[0.025] and r.interval(0.95) work
        self.levels = [round(float(v), 6) for v in self.model.levels]
        # (regime, (n_min, n_max), z offsets (K,)): conformal widening of the sets in a regime the
        # experts' own calibration never saw, fitted on the extended prior (docs/design.md §12f)
        self.regime_calibration = regime_calibration(self.config, len(self.levels))

    @classmethod
    def from_pretrained(cls, path=None, **kwargs) -> "MIEstimator":
        """Load a checkpoint: a folder, the name of a shipped one, or by default
        "mist-default"."""
        folder = resolve_checkpoint(path)
        model, config = load_checkpoint(folder)
        est = cls(model, config, **kwargs)
        if est.use_stat_head and (loaded := load_stat_head(folder, config, est.levels)) is not None:
            est.stat_head, est.stat_head_spec = loaded
        return est

    # ---------------------------------------------------------------- point estimates (numpy)
    def estimate(self, x, y, constant_columns: str = "error", check: bool = False,
                 discrete_x: bool | None = None, discrete_y: bool | None = None) -> MIResult:
        """MI quantiles of one dataset: x (N, dx), y (N, dy) numpy/torch; (N,) allowed.

        discrete_x / discrete_y: whether a side is discrete (None: detected, a side is discrete
        when its rows take at most N / 2 distinct values). I(X; Y) <= H of a discrete side, so
        every quantile is capped at the smallest such entropy (Miller-Madow estimate); the cap
        is in result.extra["entropy_cap"]. The network itself sees ties through the ranks.
        check=True also re-estimates on nested subsamples (N, N/2, N/4) and stores the outcome in
        result.extra["consistency"] (see mist.consistency); result.consistent reads it."""
        result = self.estimate_many([(x, y)], constant_columns=constant_columns,
                                    discrete_x=discrete_x, discrete_y=discrete_y)[0]
        if check:
            result.extra["consistency"] = subsample_check(self, x, y, constant_columns=constant_columns)
        return result

    def estimate_many(self, pairs, constant_columns: str = "error", cells_per_batch: int = 2**16,
                      discrete_x: bool | None = None, discrete_y: bool | None = None) -> list[MIResult]:
        """Many datasets, batched through the network (datasets of equal shape share a pass);
        discrete_x / discrete_y as in `estimate`, for every dataset.

        cells_per_batch bounds the cells (N x columns) per forward pass; the default keeps each
        pass's activations near the CPU's cache size, which was ~1.5x faster than 8x larger passes."""
        # a fresh generator per dataset: its random subsets (N > max_n) depend only on its N and
        # the seed, not on its position or on the other datasets, so estimate_many == estimate
        rngs = [np.random.default_rng(self.seed) for _ in pairs]
        prepared = [self._prepare(x, y, constant_columns, rng, discrete_x, discrete_y)
                    for (x, y), rng in zip(pairs, rngs)]
        seen = [i for i, p in enumerate(prepared) if p[0] is not None]
        sides = {i: prepared[i][0][0] for i in seen}  # (x, y) as the network will see them
        merged = {i: prepared[i][0][1] for i in seen}
        stats = {i: prepared[i][0][2] for i in seen}  # the singular-regime head's statistics or None
        turned = {}
        if self.unmix:  # batched over the sets of one shape (mist.unmix, docs/design.md §12k-l)
            for i, (tx, ty, info) in zip(seen, unmix_many([sides[i] for i in seen], single_only=self.unmix == "auto")):
                sides[i], turned[i] = (tx, ty), info["turned"]
        codes = {i: self._codes(*sides[i], rngs[i]) for i in seen}
        groups: dict[tuple, list] = {}
        for i in seen:  # keyed by the width the network sees
            groups.setdefault(codes[i][0].shape + (sides[i][0].shape[1],), []).append(i)
        z_quantiles = {}
        for (c, n, dx), items in groups.items():
            z_quantiles.update(zip(items, self._z_of_sets([codes[i] for i in items], dx, cells_per_batch)))
        results = [self._table_result(table, shape) if table is not None
                   else self._result(z_quantiles.get(i), shape, len(codes.get(i, ())), merged.get(i, (0, 0)),
                                     stats.get(i))
                   for i, (_, shape, _, table) in enumerate(prepared)]
        for i, (r, (_, _, cap, _)) in enumerate(zip(results, prepared)):
            if i in turned:
                r.extra["turned"] = turned[i]
            if cap is not None:
                cap *= UNITS[self.units]
                r.quantiles = {lv: min(q, cap) for lv, q in r.quantiles.items()}
                r.extra["entropy_cap"] = cap
        return results

    def _z_of_sets(self, sets, dx: int, cells_per_batch: int = 2**16) -> torch.Tensor:
        """z-quantiles (B, K) float64 (log1p of MI in nats, before report_mi's resolution) of B
        datasets given as score codes: sets[b] is a list of (C, n) int64 arrays, one per random
        subset, every array of one shape; a dataset's subsets are averaged as MI quantile functions.
        The batched core of estimate_many, also called by mist.tabular and mist.independence on
        codes they rank once (no per-dataset validation)."""
        flat = [(b, s) for b, subsets in enumerate(sets) for s in subsets]
        c, n = flat[0][1].shape
        per_pass = max(1, cells_per_batch // (n * c))
        outputs = []
        for start in range(0, len(flat), per_pass):
            code_BCN = torch.from_numpy(np.stack([s for _, s in flat[start:start + per_pass]])).to(self.device)
            with torch.inference_mode():
                outputs.append(self.model.forward_codes(code_BCN, dx).cpu().double())
        out = torch.cat(outputs)
        if len(flat) == len(sets):  # one subset each: the same arithmetic as below, without the loop
            return from_z(out).log1p()
        rows: dict[int, list] = {}
        for k, (b, _) in enumerate(flat):
            rows.setdefault(b, []).append(k)
        # subsets of one dataset: average their MI quantile functions
        return torch.stack([from_z(out[rows[b]]).mean(dim=0).log1p() for b in range(len(sets))])

    def _z_of_column_pairs(self, codes_SCN: list, i_P: np.ndarray, j_P: np.ndarray) -> torch.Tensor:
        """z-quantiles (P, K) as _z_of_sets, of the 1 + 1 sets (column i_P[p], column j_P[p]) of
        one table given as score codes, one (C, n) int64 array per random subset: the network's
        forward_column_pairs, which shares each column's work across its pairs (mist.tabular)."""
        used, inverse = np.unique(np.concatenate([i_P, j_P]), return_inverse=True)
        i_t, j_t = (torch.from_numpy(v).to(self.device) for v in np.split(inverse, 2))
        with torch.inference_mode():
            outs = [self.model.forward_column_pairs(torch.from_numpy(np.ascontiguousarray(c[used])).to(self.device),
                                                    i_t, j_t).cpu().double() for c in codes_SCN]
        # subsets of one dataset: average their MI quantile functions, as _z_of_sets
        return from_z(outs[0]).log1p() if len(outs) == 1 else torch.stack([from_z(o) for o in outs]).mean(0).log1p()

    def _result(self, z_K, shape: tuple, n_subsets: int, merged: tuple[int, int] = (0, 0),
                stats_F: np.ndarray | None = None) -> MIResult:
        """z-quantiles (K,) -> MIResult in self.units for a dataset of shape (N, dx, dy);
        z_K None means a constant side: MI exactly 0. merged: how many binary columns of each
        side mist.categorical merged into one (the network saw dx - merged + 1 columns).
        stats_F: the singular-regime head's statistics where it applies (`_head_statistics`)."""
        n, dx, dy = shape
        wx, wy = (d - k + 1 if k else d for d, k in zip((dx, dy), merged))
        seen = self._seen_widths(n, wx, wy)
        if z_K is None:
            z_K = torch.zeros(len(self.levels), dtype=torch.float64)
        elif (offsets := self._regime_offsets(n, wx, wy, seen)) is not None:  # the median does not move
            z_K = apply_offsets(z_K[None], offsets)[0]
        extra = {}
        if stats_F is not None:  # only for sets the network ran on (design §12q): the head reads the network's quantiles
            inputs = torch.from_numpy(head_inputs(stats_F, z_K.numpy(), self.levels)).float()[None]
            with torch.inference_mode():
                head_K = self.stat_head(inputs)[0].double()
            # design §12q variant B: below the median the lower of head and network, so the head
            # never claims more certainty of dependence than the network did
            mid = len(self.levels) // 2
            z_K = torch.cat([torch.minimum(head_K[:mid], z_K[:mid]), head_K[mid:]])
            extra["method"] = "stat_head"
        q_nats = report_mi(z_K).numpy()
        q = q_nats * UNITS[self.units]
        median_nats = float(q_nats[self.levels.index(0.5)])
        # McAllester & Stratos (2020): no distribution-free evidence for MI above ~ln N, and with
        # N <= dx + dy the sample covariance is singular: there the estimate is the prior speaking
        prior_driven = bool(n <= dx + dy or median_nats > math.log(n))
        extra = {"prior_driven": prior_driven, **extra}
        if seen != (wx, wy):  # wider than trained: the network saw principal components (_fit_width)
            extra["reduced_to"] = seen
        if any(merged):
            extra["merged_binary"] = merged
        return MIResult(dict(zip(self.levels, q.tolist())), self.units, *shape, n_subsets=n_subsets,
                        extra=extra)

    def _table_result(self, table: dict, shape: tuple) -> MIResult:
        """The table path's quantiles (nats) as an MIResult in self.units (design §12i)."""
        q = {lv: v * UNITS[self.units] for lv, v in table.items()}
        return MIResult(q, self.units, *shape, n_subsets=0, extra={"prior_driven": False, "method": "table"})

    def _prepare(self, x, y, constant_columns, rng, discrete_x=None, discrete_y=None):
        """Validate, cap, take the table path where it applies, and fit the width.
        Returns (((x, y) as the network will see them, before mist.unmix; how many binary
        columns of each side mist.categorical merged) or None for an empty side or a table;
        (N, dx, dy); the entropy cap in nats or None (see `entropy_cap`); the table path's
        {level: MI in nats} where both sides are discrete and the table well sampled, else None
        (mist.discrete_table; the network is then not run))."""
        x, y = check_pair(x, y, constant_columns)
        shape = (len(x), x.shape[1], y.shape[1])
        if x.shape[1] == 0 or y.shape[1] == 0:
            return None, shape, None, None
        cap, both_discrete = entropy_cap(x, y, discrete_x, discrete_y, with_kinds=True)
        if both_discrete and self.table_path and (table := table_quantiles(x, y, self.levels, cap, rng)) is not None:
            return None, shape, cap, table
        x, y, merged = self._collapse(x, y)
        return (self._fit_width(x, y), merged, self._head_statistics(x, y)), shape, cap, None

    def _head_statistics(self, x: np.ndarray, y: np.ndarray) -> np.ndarray | None:
        """The singular-regime head's statistics of x (N, dx), y (N, dy) (after mist.categorical,
        before any cut to principal components) where the head serves that shape, else None."""
        if self.stat_head is None:
            return None
        spec = self.stat_head_spec
        if not serves(spec["n_range"], spec["dim_max"], len(x), x.shape[1], y.shape[1]):
            return None
        return singular_statistics(x, y)

    def _collapse(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        """With collapse_binary, each side's binary columns as one categorical column
        (mist.categorical, §12m; a map of each side alone) and how many were merged per side."""
        if not self.collapse_binary:
            return x, y, (0, 0)
        (x, mx), (y, my) = collapse_binary(x), collapse_binary(y)
        return x, y, (mx, my)

    def _codes(self, x: np.ndarray, y: np.ndarray, rng) -> list[np.ndarray]:
        """Split N > max_n into random subsets and rank each (sub)set's columns: exactly the
        network's rank-gauss step as score codes (dx + dy, n) int64, done once here in float64
        numpy (safe for huge values and integers) instead of again in the network."""
        xy = np.concatenate([x, y], axis=1)
        rows = self._subset_rows(len(xy), rng)
        return [rank_codes_np(xy)] if rows is None else [rank_codes_np(xy[idx]) for idx in rows]

    def dim_max(self, n: int) -> int | None:
        """The most columns per side the network serving n rows was trained on: for a routed
        checkpoint the smallest among the experts its router blends at n (None: unknown, no
        reduction); wider sides are reduced by `_fit_width`."""
        n = min(n, self.max_n)
        expert_configs = self.config.get("expert_configs")
        if expert_configs is None:
            return trained_dim_max(self.config)
        dims = [d for i, _ in self.model.weights(n) if (d := trained_dim_max(expert_configs[i])) is not None]
        return min(dims) if dims else None

    def _seen_widths(self, n: int, dx: int, dy: int) -> tuple[int, int]:
        """The columns per side the network sees for a set of shape (n, dx, dy) (mist.reduce)."""
        dim_max = self.dim_max(n)
        return reduced_width(dx, n, dim_max), reduced_width(dy, n, dim_max)

    def _regime_offsets(self, n: int, dx: int, dy: int, seen: tuple[int, int]) -> torch.Tensor | None:
        """The regime calibration's z offsets (K,) if a set of shape (n, dx, dy), seen by the
        network as `seen` columns per side, falls in its regime and fitted N range, else None."""
        if self.regime_calibration is None:
            return None
        regime, (lo, hi), offsets = self.regime_calibration
        return offsets if lo <= n <= hi and in_regime(regime, n, dx, dy, seen) else None

    def _fit_width(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x (N, dx), y (N, dy) validated -> the same, or a side wider than the trained range
        replaced by its leading principal components (mist.reduce: a map of that side alone, so
        independence is kept and the target becomes a lower bound of I(X; Y))."""
        kx, ky = self._seen_widths(len(x), x.shape[1], y.shape[1])
        x = x if kx == x.shape[1] else principal_scores(x, kx)
        y = y if ky == y.shape[1] else principal_scores(y, ky)
        return x, y

    def _subset_rows(self, n: int, rng) -> list[np.ndarray] | None:
        """Row indices of the random subsets of max_n rows that stand in for a set of n > max_n
        rows (disjoint when they fit, else drawn independently); None when n <= max_n."""
        if n <= self.max_n:
            return None
        m = min(self.max_subsets, math.ceil(n / self.max_n))
        if m * self.max_n <= n:
            perm = rng.permutation(n)
            return [perm[j * self.max_n:(j + 1) * self.max_n] for j in range(m)]
        return [rng.choice(n, self.max_n, replace=False) for _ in range(m)]

    def independence_test(self, x, y, n_permutations: int = 200, seed: int | None = None,
                          constant_columns: str = "error", cells_per_batch: int = 2**16):
        """Exact permutation test of X independent of Y with the network's median MI as the
        statistic: result.p_value, result.mi, result.estimate (see mist.independence)."""
        from mist.independence import independence_test
        return independence_test(self, x, y, n_permutations=n_permutations, seed=seed,
                                 constant_columns=constant_columns, cells_per_batch=cells_per_batch)

    # ---------------------------------------------------------------- differentiable (torch)
    def quantiles_t(self, x_t: torch.Tensor, y_t: torch.Tensor, temperature: float = DEFAULT_TEMPERATURE,
                    constant_columns: str = "error") -> torch.Tensor:
        """Differentiable MI quantiles (K,) in `units` for torch tensors x_t (N, dx), y_t (N, dy),
        or (B, K) for batched x_t (B, N, dx), y_t (B, N, dy). Validated as `estimate` validates,
        constant_columns included; uses soft ranks (see mist.differentiable for how this differs
        from `estimate`). Computed in the model's dtype (call `est.model.double()` for float64
        gradient checks)."""
        if self.collapse_binary:  # as in estimate (mist.categorical): binary columns as one category
            x_t, y_t = collapse_binary_t(x_t), collapse_binary_t(y_t)
        q = soft_quantiles(self.model, x_t, y_t, temperature, constant_columns, self.device) * UNITS[self.units]
        # validated by now: tensors (N, d) or (B, N, d), or (N,)
        widths = tuple(t.shape[-1] if t.dim() > 1 else 1 for t in (x_t, y_t))
        dim_max = self.dim_max(x_t.shape[-2] if x_t.dim() > 1 else x_t.shape[0])
        if dim_max is not None and max(widths) > dim_max:
            # estimate() cuts such a side to principal components (mist.reduce); a differentiable
            # PCA of soft ranks is not built, so say that this value extrapolates
            warnings.warn(f"x_t / y_t have {widths[0]} / {widths[1]} columns, more than the {dim_max} per side "
                          "the network was trained on: the differentiable value extrapolates (estimate() "
                          "reduces such sides to principal components and widens their intervals); project "
                          "wide sides first",
                          UserWarning, stacklevel=2)
        return q

    def mi(self, x_t: torch.Tensor, y_t: torch.Tensor, temperature: float = DEFAULT_TEMPERATURE,
           constant_columns: str = "error") -> torch.Tensor:
        """Differentiable median MI: a torch scalar (or (B,) for batched inputs)."""
        q = self.quantiles_t(x_t, y_t, temperature, constant_columns)
        k = self.levels.index(0.5)
        return q[..., k]


def in_regime(regime: str, n: int, dx: int, dy: int, seen: tuple[int, int]) -> bool:
    """Whether a set of shape (n, dx, dy), seen by the network as `seen` columns per side
    (MIEstimator._seen_widths), falls in a regime of mist.regime_calibration: "reduced", a side is
    cut to principal components; "singular", n <= dx + dy."""
    if regime == "reduced":
        return seen != (dx, dy)
    if regime == "singular":
        return n <= dx + dy
    raise ValueError(f"regime must be one of {list(REGIMES)}, got {regime!r}")


def _side_entropy(z: np.ndarray, hint: bool | None) -> float | None:
    """Miller-Madow entropy (nats) of the rows of z (N, d) if the side is discrete, else None."""
    n = len(z)
    _, counts = np.unique(z, axis=0, return_counts=True)
    if hint is False or (hint is None and len(counts) > n / 2):
        return None
    return float(miller_madow_entropy(counts[None], n)[0])


def entropy_cap(x: np.ndarray, y: np.ndarray, discrete_x: bool | None, discrete_y: bool | None,
                with_kinds: bool = False):
    """The smallest entropy of a discrete side of a validated pair x (N, dx), y (N, dy) (an upper
    bound on I(X; Y)), or None; with_kinds: (that, whether both sides are discrete)."""
    sides = (_side_entropy(x, discrete_x), _side_entropy(y, discrete_y))
    caps = [h for h in sides if h is not None]
    cap = min(caps) if caps else None
    return (cap, len(caps) == 2) if with_kinds else cap


def mutual_information(x, y, units: str = "nats", checkpoint=None, **kwargs) -> float:
    """One-off use, like scikit-learn's mutual_info_regression: the median MI of (x, y)."""
    return MIEstimator.from_pretrained(checkpoint, units=units).estimate(x, y, **kwargs).mi
