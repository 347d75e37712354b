"""Pairwise MI over the columns of a table: `mi_matrix`, its result `MIMatrix`, and a heatmap.

    from mist import mi_matrix
    m = mi_matrix(df)                      # every pair of columns of a DataFrame or (N, C) array
    m.mi, m.low, m.high                    # (C, C) medians and 90% interval ends, labelled
    m.pairs()[:5]                          # the most dependent pairs
    m.plot("mi.png")

Every pair is one more dataset in a batched forward pass: the table is validated once, each
column is ranked once (per random subset when N exceeds the network's largest N), and the pairs
go through the network in chunks, so memory stays bounded whatever the number of columns (the
result matrices themselves are C x C). The same machinery scores features against a target
(mist.feature_selection).

Shape letters: N samples, C table columns, P pairs, K quantile levels, S subsets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from mist._frames import frame_library, to_array
from mist._validate import as_2d, check_samples
from mist.estimator import CODE_CELLS_PER_CHUNK, UNITS, MIEstimator
from mist.network.normalize import rank_codes_np
from mist.network.quantiles import report_mi
from mist.reduce import principal_scores, reduced_width
from mist.result import quantile_at



@lru_cache(maxsize=4)
def default_estimator(checkpoint=None, device: str = "cpu", units: str = "nats"):
    """The shipped estimator, loaded once per process (mi_matrix, mi_score and the CLI share it)."""
    return MIEstimator.from_pretrained(checkpoint, device=device, units=units)


def read_table(data, name: str = "data") -> tuple[np.ndarray, list[str]]:
    """A DataFrame, (N, C) array, tensor or list -> float64 (N, C) and column names (the
    DataFrame's, else "0", "1", ...). Checked once: numbers only, no NaN/inf, N >= 8."""
    arr, names = to_array(data, name)
    table = as_2d(arr, name)
    check_samples(len(table), len(table))
    return table, names if names is not None else [str(j) for j in range(table.shape[1])]


def _resolve(spec, names: list[str], what: str) -> int:
    """A column given by name or 0-based position -> its index."""
    if isinstance(spec, str):
        if spec in names:
            return names.index(spec)
        raise ValueError(f"{what}: no column {spec!r}; columns are {names[:20]}{'...' if len(names) > 20 else ''}")
    if isinstance(spec, (int, np.integer)) and -len(names) <= spec < len(names):
        return int(spec) % len(names)
    raise ValueError(f"{what}: column {spec!r} is neither a column name nor a position in 0..{len(names) - 1}")


def _blocks(names: list[str], columns, groups) -> tuple[list[str], list[list[int]]]:
    """Labels and table-column indices of the matrix's rows: single columns, or named groups."""
    if groups is not None:
        if columns is not None:
            raise ValueError("give columns= or groups=, not both (a group of one column is a column)")
        if not groups:
            raise ValueError("groups is empty")
        labels, blocks, owner = [], [], {}
        for label, members in groups.items():
            members = [members] if isinstance(members, (str, int, np.integer)) else list(members)
            if not members:
                raise ValueError(f"group {label!r} names no column")
            idx = [_resolve(m, names, f"group {label!r}") for m in members]
            for j in idx:
                if j in owner and owner[j] != label:
                    raise ValueError(f"groups {owner[j]!r} and {label!r} share column {names[j]!r}: the MI of two "
                                     "groups that share a continuous column is infinite")
                owner[j] = label
            labels.append(str(label))
            blocks.append(sorted(set(idx)))
        return labels, blocks
    idx = list(range(len(names))) if columns is None else [_resolve(c, names, "columns") for c in columns]
    if len(set(idx)) != len(idx):
        raise ValueError("columns names a column twice")
    return [names[j] for j in idx], [[j] for j in idx]


def _fit_block_widths(estimator, table: np.ndarray, blocks: list[list[int]]):
    """Blocks wider than the trained range are replaced, as estimate() replaces such a side, by
    their leading principal components, appended to the table as new columns (mist.reduce)."""
    n, dim_max = len(table), estimator.dim_max(len(table))
    extra, out = [], []
    for b in blocks:
        k = reduced_width(len(b), n, dim_max)
        if k == len(b):
            out.append(b)
            continue
        start = table.shape[1] + sum(e.shape[1] for e in extra)
        extra.append(principal_scores(table[:, b], k))
        out.append(list(range(start, start + k)))
    return (np.hstack([table, *extra]) if extra else table), out


def block_pairs_mi(estimator, table: np.ndarray, blocks: list[list[int]], pairs: list[tuple[int, int]],
                   level: float = 0.9, progress: bool | None = None, cells_per_batch: int = 2**16,
                   desc: str = "MI pairs") -> np.ndarray:
    """(P, 3) median, low, high MI (estimator units; interval of coverage `level`) between
    blocks[a] and blocks[b] for each (a, b) in pairs. table: validated float64 (N, C).

    Constant columns are dropped from their block (they carry 0 nats); a pair with a fully
    constant block has MI exactly 0. For N > estimator.max_n every pair uses the random row
    subsets that estimate() draws for N rows (from estimator.seed), so each column is ranked once
    per subset and every value equals estimate() on that pair up to float rounding.
    progress: True / False, or None for a bar that appears only once the run has taken 2 s."""
    from tqdm.auto import tqdm

    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    if not 0 < level < 1 or lo_q < min(estimator.levels):
        raise ValueError(f"level must be in (0, {1 - 2 * min(estimator.levels):.2f}] (the predicted quantiles "
                         f"span {min(estimator.levels)}..{max(estimator.levels)}), got {level}")
    n = len(table)
    keep = np.ptp(table, axis=0) > 0
    blocks = [[j for j in b if keep[j]] for b in blocks]
    table, blocks = _fit_block_widths(estimator, table, blocks)
    used = sorted({j for b in blocks for j in b})
    slot = {j: k for k, j in enumerate(used)}  # table column -> row of the code arrays
    rows = estimator._subset_rows(n, np.random.default_rng(estimator.seed))
    sub_tables = [table[:, used]] if rows is None else [table[idx][:, used] for idx in rows]
    codes_SCN = [rank_codes_np(t) for t in sub_tables] if used else []  # each column ranked once per subset

    out = np.zeros((len(pairs), 3))
    by_shape: dict[tuple, list[int]] = {}
    for p, (a, b) in enumerate(pairs):
        if blocks[a] and blocks[b]:
            by_shape.setdefault((len(blocks[a]), len(blocks[b])), []).append(p)
    bar = tqdm(total=len(pairs), desc=desc, unit="pair", disable=progress is False,
               delay=0 if progress else 2.0, leave=False)
    bar.update(len(pairs) - sum(len(v) for v in by_shape.values()))
    for (dx, dy), items in by_shape.items():
        one_one = (dx, dy) == (1, 1)  # column against column: the network shares each column's work
        cells = CODE_CELLS_PER_CHUNK * (4 if one_one else 1)  # a 1 + 1 chunk stores only pair indices
        chunk = max(1, cells // ((dx + dy) * len(codes_SCN) * codes_SCN[0].shape[1]))
        for start in range(0, len(items), chunk):
            part = items[start:start + chunk]
            if one_one:
                i_P, j_P = (np.array([slot[blocks[pairs[p][k]][0]] for p in part]) for k in (0, 1))
                z_PK = estimator._z_of_column_pairs(codes_SCN, i_P, j_P)
            else:
                sets = [[c[[slot[j] for j in blocks[pairs[p][0]] + blocks[pairs[p][1]]]] for c in codes_SCN]
                        for p in part]
                z_PK = estimator._z_of_sets(sets, dx, cells_per_batch)
            # what estimator._result(z_K, ...) gives, for the whole chunk at once
            q_PK = report_mi(z_PK).numpy() * UNITS[estimator.units]
            out[part] = np.stack([quantile_at(q_PK, estimator.levels, lv) for lv in (0.5, lo_q, hi_q)], 1)
            bar.update(len(part))
    bar.close()
    return out


@dataclass
class MIMatrix:
    """Pairwise MI between the columns (or column groups) of a table.

    mi, low, high: (C, C) symmetric matrices of the median and the ends of the central interval
    of coverage `level`, in `units`; pandas DataFrames indexed by the column names when the input
    was a pandas DataFrame, else numpy arrays (names in `columns`). The diagonal is NaN: I(X; X)
    is the entropy of X, infinite for a continuous column, so it is not estimated. A pair that
    involves a constant column has MI exactly 0 (a constant carries 0 nats); `constant` lists
    those columns."""

    mi: object
    low: object
    high: object
    columns: list
    n: int
    units: str
    level: float
    constant: list = field(default_factory=list)

    def pairs(self, sort: bool = True) -> list[tuple[str, str, float, float, float]]:
        """[(a, b, mi, low, high)] for every pair a < b (matrix order), by decreasing MI if sort."""
        mi, lo, hi = (np.asarray(m, dtype=float) for m in (self.mi, self.low, self.high))
        ii, jj = np.triu_indices(len(self.columns), 1)
        out = [(self.columns[i], self.columns[j], float(mi[i, j]), float(lo[i, j]), float(hi[i, j]))
               for i, j in zip(ii, jj)]
        return sorted(out, key=lambda t: -t[2]) if sort else out

    def to_csv(self, path, long: bool = False):
        """Write the median matrix (header and first column: the names; empty diagonal), or with
        long=True one row per pair: a,b,mi,low,high. path: a file name or an open text file."""
        import csv
        if hasattr(path, "write"):
            return self._write_csv(csv.writer(path), long)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="") as f:
            self._write_csv(csv.writer(f), long)
        return path

    def _write_csv(self, w, long: bool) -> None:
        if long:
            w.writerow(["a", "b", "mi", "low", "high"])
            w.writerows((a, b, f"{m:.6g}", f"{lo:.6g}", f"{hi:.6g}") for a, b, m, lo, hi in self.pairs())
            return
        w.writerow([""] + list(self.columns))
        for name, row in zip(self.columns, np.asarray(self.mi, dtype=float)):
            w.writerow([name] + ["" if np.isnan(v) else f"{v:.6g}" for v in row])

    def plot(self, path=None, ax=None, **kwargs):
        """Heatmap of the medians; see plot_mi_matrix."""
        return plot_mi_matrix(self, path=path, ax=ax, **kwargs)

    def __repr__(self) -> str:
        return (f"MIMatrix({len(self.columns)} columns, {len(self.columns) * (len(self.columns) - 1) // 2} pairs, "
                f"N={self.n}, {self.units}, {self.level:.0%} intervals)")


def mi_matrix(data, columns=None, groups=None, *, estimator=None, level: float = 0.9,
              progress: bool | None = None, cells_per_batch: int = 2**16) -> MIMatrix:
    """MI between every pair of columns of `data` (a pandas/polars DataFrame or an (N, C) array).

    columns: a subset of columns (names or 0-based positions), in the order wanted;
    groups: {label: [columns]} to estimate MI between named groups of columns instead (the
    matrix is then over the labels; groups must not share a column);
    estimator: an MIEstimator (default: the shipped checkpoint, loaded once; its units apply);
    level: coverage of the interval in .low / .high (default 0.9: the 5% and 95% quantiles);
    progress: True / False, or None (default) for a progress bar once the run has taken 2 s.
    Categorical or text columns are refused with a message that says how to encode them."""
    table, names = read_table(data)
    labels, blocks = _blocks(names, columns, groups)
    est = estimator if estimator is not None else default_estimator()
    c = len(labels)
    ii, jj = np.triu_indices(c, 1)
    vals = block_pairs_mi(est, table, blocks, list(zip(ii.tolist(), jj.tolist())), level, progress, cells_per_batch)
    mats = []
    for k in range(3):
        m = np.full((c, c), np.nan)
        m[ii, jj] = m[jj, ii] = vals[:, k]
        mats.append(m)
    if frame_library(data) == "pandas" and type(data).__name__ == "DataFrame":
        import pandas as pd
        mats = [pd.DataFrame(m, index=labels, columns=labels) for m in mats]
    const = np.ptp(table, axis=0) == 0
    constant = [names[j] for b in blocks for j in b if const[j]]
    return MIMatrix(*mats, columns=labels, n=len(table), units=est.units, level=level, constant=constant)


def plot_mi_matrix(result: MIMatrix, path=None, ax=None, annotate: bool | None = None, cmap: str = "viridis"):
    """Heatmap of result.mi (the diagonal, not estimated, in grey). Draws into `ax` if given,
    else into a new Figure; saves to `path` if given. annotate: write the values in the cells
    (default: when there are at most 15 columns). Column names label the axes up to 60 columns.
    Returns the matplotlib Figure."""
    import matplotlib
    from matplotlib.figure import Figure

    mi = np.asarray(result.mi, dtype=float)
    c = len(result.columns)
    if ax is None:
        side = min(3 + 0.35 * c, 14)
        fig = Figure(figsize=(side + 1.2, side))
        ax = fig.subplots()
    else:
        fig = ax.figure
    masked = np.ma.masked_invalid(mi)
    cm = matplotlib.colormaps[cmap].with_extremes(bad="0.85")
    im = ax.imshow(masked, cmap=cm, vmin=0, interpolation="nearest")
    fig.colorbar(im, ax=ax, label=f"MI ({result.units}, median)", shrink=0.8)
    if c <= 60:
        ax.set_xticks(range(c), result.columns, rotation=90, fontsize=8)
        ax.set_yticks(range(c), result.columns, fontsize=8)
    if annotate if annotate is not None else c <= 15:
        top = np.nanmax(mi) if np.isfinite(mi).any() else 0.0
        for i in range(c):
            for j in range(c):
                if np.isfinite(mi[i, j]):
                    ax.text(j, i, f"{mi[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="black" if mi[i, j] > 0.6 * top else "white")
    ax.set_title(f"pairwise MI, N={result.n}")
    if path is not None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        FigureCanvasAgg(fig)
        fig.savefig(path, dpi=110, bbox_inches="tight")
    return fig
