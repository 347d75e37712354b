"""Evaluation output: the CSV of every estimate, metric tables, a markdown report and PNG plots.

Rows are flat dicts as produced by :mod:`mist.evaluate.harness`: suite, estimator, set_id,
true_mi, n, dx, dy, family, estimate, seconds, optional quantile columns ``q<level>`` (e.g.
``q0.05``) and, for networks run with the reliability check, ``consistent`` and ``sub_*`` columns.
Plots use matplotlib's object API with the Agg canvas (no pyplot, no display needed).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mist import metrics

__all__ = [
    "INTERVALS",
    "GROUPINGS",
    "write_csv",
    "read_csv",
    "quantile_levels",
    "metric_table",
    "calibration_table",
    "consistency_table",
    "plot_estimate_vs_truth",
    "plot_error_vs_n",
    "plot_calibration",
    "plot_time",
    "write_report",
]

#: Central intervals reported as coverage / width columns: level -> (lower, upper) quantile columns.
INTERVALS = {0.5: ("q0.25", "q0.75"), 0.9: ("q0.05", "q0.95")}


def _dim(r):
    return metrics.dim_bin(int(r["dx"]) + int(r["dy"]))


def _mi(r):
    return metrics.mi_bin(max(float(r["true_mi"]), 0.0))  # Monte Carlo truths can be -1e-4


def _n(r):
    return metrics.n_bin(int(r["n"]))


#: name -> (row -> group label, label order or None)
GROUPINGS = {
    "N": (_n, metrics.n_bin.labels),
    "dimension (dx + dy)": (_dim, metrics.dim_bin.labels),
    "family": (lambda r: r["family"], None),
    "true MI (nats)": (_mi, metrics.mi_bin.labels),
}


# ------------------------------------------------------------------------------------ csv
def write_csv(rows: Sequence[Mapping], path) -> Path:
    """Write rows with the union of their keys as columns (first-appearance order); missing -> ""."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fields: dict = {}
    for r in rows:
        fields.update(dict.fromkeys(r))
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(fields), restval="")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if v is None else repr(v) if isinstance(v, float) else v) for k, v in r.items()})
    return path


def _parse(v: str):
    if v == "":
        return None
    if v in ("True", "False"):
        return v == "True"
    try:
        return int(v)
    except ValueError:
        pass
    try:
        return float(v)
    except ValueError:
        return v


def read_csv(path) -> list[dict]:
    """Rows written by :func:`write_csv`, with numbers, booleans and None ("") restored."""
    with Path(path).open(newline="") as fh:
        return [{k: _parse(v) for k, v in r.items()} for r in csv.DictReader(fh)]


# --------------------------------------------------------------------------------- tables
def _estimators(rows) -> list[str]:
    return list(dict.fromkeys(r["estimator"] for r in rows))


def _suites(rows) -> list[str]:
    return list(dict.fromkeys(r["suite"] for r in rows))


def _finite(v) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def quantile_levels(rows: Sequence[Mapping]) -> list[float]:
    """The levels of the q<level> columns present in every one of the rows, sorted."""
    common = None
    for r in rows:
        levels = {float(k[1:]) for k, v in r.items() if k.startswith("q") and _is_level(k) and _finite(v)}
        common = levels if common is None else common & levels
    return sorted(common or ())


def _is_level(key: str) -> bool:
    try:
        return 0 < float(key[1:]) < 1
    except ValueError:
        return False


def metric_table(rows: Sequence[Mapping], by=None, order=None) -> list[dict]:
    """Metrics per (estimator, group) over the rows with a finite estimate.

    by: None (one group "all") or a callable row -> label; order: label order. Each output row:
    estimator, group, count, failed (non-finite estimates, excluded), mae, rmse, bias, solved,
    cov50, width50, cov90, width90 (None without those quantile columns), seconds (mean point-
    estimate time per dataset).
    """
    by = by or (lambda r: "all")
    out = []
    for est in _estimators(rows):
        mine = [r for r in rows if r["estimator"] == est]
        ok = [r for r in mine if _finite(r.get("estimate"))]
        groups_all: dict = {}
        for r in mine:
            groups_all.setdefault(by(r), []).append(r)
        if not ok:
            continue
        summary = metrics.summarize(ok, by, order=order)
        for s in summary:
            g_rows = [r for r in ok if by(r) == s["group"]]
            row = {"estimator": est, "group": s["group"], "count": s["count"],
                   "failed": len(groups_all[s["group"]]) - s["count"],
                   "mae": s["mae"], "rmse": s["rmse"], "bias": s["bias"], "solved": s["solved"]}
            for level, (lo, hi) in INTERVALS.items():
                tag = f"{int(level * 100)}"
                if all(_finite(r.get(lo)) and _finite(r.get(hi)) for r in g_rows):
                    row[f"cov{tag}"] = metrics.coverage([r[lo] for r in g_rows], [r[hi] for r in g_rows],
                                                        [r["true_mi"] for r in g_rows])
                    row[f"width{tag}"] = metrics.mean_width([r[lo] for r in g_rows], [r[hi] for r in g_rows])
                else:
                    row[f"cov{tag}"] = row[f"width{tag}"] = None
            row["seconds"] = float(np.mean([r["seconds"] for r in g_rows]))
            out.append(row)
    return out


def calibration_table(rows: Sequence[Mapping]) -> list[dict]:
    """Per estimator with quantile columns: for every level tau the share of datasets with
    truth <= q_tau (one-sided, ideal = tau), and for every symmetric pair (tau, 1 - tau) the share
    inside [q_tau, q_(1-tau)] (central coverage, ideal = 1 - 2 tau).

    Returns rows {"estimator", "kind": "quantile" | "central", "nominal", "empirical", "count"}.
    """
    out = []
    for est in _estimators(rows):
        mine = [r for r in rows if r["estimator"] == est and _finite(r.get("estimate"))]
        levels = quantile_levels(mine) if mine else []
        if not levels:
            continue
        t = np.array([r["true_mi"] for r in mine])
        q = {lv: np.array([r[f"q{lv:g}"] for r in mine]) for lv in levels}
        for lv in levels:
            out.append({"estimator": est, "kind": "quantile", "nominal": lv,
                        "empirical": float(np.mean(t <= q[lv])), "count": len(t)})
        for lv in levels:
            if lv < 0.5 and round(1 - lv, 6) in q:
                out.append({"estimator": est, "kind": "central", "nominal": round(1 - 2 * lv, 6),
                            "empirical": metrics.coverage(q[lv], q[round(1 - lv, 6)], t), "count": len(t)})
    return out


def consistency_table(rows: Sequence[Mapping], factor: float = 1.5) -> list[dict]:
    """How the reliability check's flags (consistent == False) relate to actual errors.

    Per estimator and suite with a check: "wrong" = not solved (|log(estimate / truth)| >= log
    factor, absolute rule below 0.1 nats, as in metrics.solved_share); "missed" = truth outside the
    90% interval. Returns rows with checked (datasets with a verdict), unchecked, flagged, and
    flagged_wrong = P(flag | wrong), flagged_good = P(flag | solved), wrong_given_flag =
    P(wrong | flag), wrong_given_pass = P(wrong | no flag), and the same for "missed".
    """
    out = []
    checked_estimators = [e for e in _estimators(rows)
                          if any(r["estimator"] == e and r.get("consistent") is not None for r in rows)]
    for est in checked_estimators:
        for suite in _suites(rows) + ["all"]:
            mine = [r for r in rows if r["estimator"] == est and (suite == "all" or r["suite"] == suite)]
            checked = [r for r in mine if r.get("consistent") is not None]
            row = {"estimator": est, "suite": suite, "checked": len(checked),
                   "unchecked": len(mine) - len(checked)}
            if checked:
                flag = np.array([not r["consistent"] for r in checked])
                wrong = np.array([metrics.solved_share([r["estimate"]], [r["true_mi"]], factor) == 0.0
                                  for r in checked])
                row["flagged"] = float(flag.mean())
                row.update(_rates(flag, wrong, "wrong", "good"))
                if all(_finite(r.get("q0.05")) and _finite(r.get("q0.95")) for r in checked):
                    missed = np.array([not (r["q0.05"] <= r["true_mi"] <= r["q0.95"]) for r in checked])
                    row.update(_rates(flag, missed, "missed", "covered"))
            out.append(row)
    return out


def _rates(flag: np.ndarray, bad: np.ndarray, bad_name: str, good_name: str) -> dict:
    def share(a, mask):
        return float(a[mask].mean()) if mask.any() else None
    return {f"n_{bad_name}": int(bad.sum()), f"flagged_{bad_name}": share(flag, bad),
            f"flagged_{good_name}": share(flag, ~bad), f"{bad_name}_given_flag": share(bad, flag),
            f"{bad_name}_given_pass": share(bad, ~flag)}


# ---------------------------------------------------------------------------------- plots
def _save(fig: Figure, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def _colors(keys) -> dict:
    cycle = ["C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9"]
    return {k: cycle[i % len(cycle)] for i, k in enumerate(keys)}


def plot_estimate_vs_truth(rows, path) -> Path:
    """One panel per estimator: estimate against true MI (symlog axes), colored by suite, with the
    90% intervals (where the estimator has them) as faint vertical bars."""
    ests, suites = _estimators(rows), _suites(rows)
    color = _colors(suites)
    ncols = min(4, len(ests))
    nrows = -(-len(ests) // ncols)
    fig = Figure(figsize=(3.6 * ncols, 3.4 * nrows))
    top = max([r["true_mi"] for r in rows] + [1.0]) * 1.2
    for k, est in enumerate(ests):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        for s in suites:
            sel = [r for r in rows if r["estimator"] == est and r["suite"] == s and _finite(r.get("estimate"))]
            if not sel:
                continue
            t = np.array([r["true_mi"] for r in sel])
            e = np.array([r["estimate"] for r in sel])
            if all(_finite(r.get("q0.05")) and _finite(r.get("q0.95")) for r in sel):
                ax.vlines(t, [r["q0.05"] for r in sel], [r["q0.95"] for r in sel], color=color[s], alpha=0.2, lw=1)
            ax.scatter(t, e, s=8, alpha=0.7, color=color[s], label=s)
        ax.plot([0, top], [0, top], "k--", lw=0.8)
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_xlim(0, top)
        ax.set_title(est)
        ax.set_xlabel("true MI (nats)")
        if k % ncols == 0:
            ax.set_ylabel("estimate (nats)")
        if k == 0:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_error_vs_n(rows, path) -> Path:
    """MAE and solved share against the N bin, one line per estimator, one column per suite."""
    ests, suites = _estimators(rows), _suites(rows)
    color = _colors(ests)
    labels = metrics.n_bin.labels
    fig = Figure(figsize=(4.5 * len(suites), 6.4))
    for j, s in enumerate(suites):
        ax_mae = fig.add_subplot(2, len(suites), j + 1)
        ax_sol = fig.add_subplot(2, len(suites), len(suites) + j + 1)
        table = metric_table([r for r in rows if r["suite"] == s], by=_n, order=labels)
        for est in ests:
            t = [r for r in table if r["estimator"] == est]
            xs = [labels.index(r["group"]) for r in t]
            ax_mae.plot(xs, [r["mae"] for r in t], "o-", color=color[est], label=est)
            ax_sol.plot(xs, [r["solved"] for r in t], "o-", color=color[est], label=est)
        for ax in (ax_mae, ax_sol):
            ax.set_xticks(range(len(labels)), labels, fontsize=8)
            ax.set_xlabel("N")
        ax_mae.set_yscale("log")
        ax_mae.set_title(f"{s}: MAE (nats)")
        ax_sol.set_title(f"{s}: solved share")
        ax_sol.set_ylim(-0.02, 1.02)
        if j == 0:
            ax_mae.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def plot_calibration(rows, path) -> Path:
    """Left: share of truths below each predicted quantile against its level. Right: empirical
    against nominal coverage of the central intervals. Diagonal = calibrated."""
    cal = calibration_table(rows)
    color = _colors(_estimators(rows))
    fig = Figure(figsize=(9, 4))
    for k, kind in enumerate(("quantile", "central")):
        ax = fig.add_subplot(1, 2, k + 1)
        for est in dict.fromkeys(c["estimator"] for c in cal):
            c = [r for r in cal if r["estimator"] == est and r["kind"] == kind]
            c.sort(key=lambda r: r["nominal"])
            ax.plot([r["nominal"] for r in c], [r["empirical"] for r in c], "o-", color=color[est], label=est)
        ax.plot([0, 1], [0, 1], "k--", lw=0.8)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("quantile level" if kind == "quantile" else "nominal coverage")
        ax.set_ylabel("P(truth <= quantile)" if kind == "quantile" else "empirical coverage")
        ax.set_title("quantile calibration" if kind == "quantile" else "central intervals")
        if k == 0 and cal:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_time(rows, path) -> Path:
    """Seconds per dataset (point estimate) against N, log-log, one color per estimator."""
    ests = _estimators(rows)
    color = _colors(ests)
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot(1, 1, 1)
    for est in ests:
        sel = [r for r in rows if r["estimator"] == est and _finite(r.get("seconds")) and r["seconds"] > 0]
        if sel:
            ax.scatter([r["n"] for r in sel], [r["seconds"] for r in sel], s=8, alpha=0.6, color=color[est],
                       label=f"{est} (median {np.median([r['seconds'] for r in sel]):.2g} s)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel("seconds per dataset")
    ax.set_title("wall time per dataset")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


PLOTS = {"estimate_vs_truth.png": plot_estimate_vs_truth, "error_vs_n.png": plot_error_vs_n,
         "calibration.png": plot_calibration, "time.png": plot_time}


# ------------------------------------------------------------------------------- markdown
def _cell(v, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return "nan"
        return f"{v:.{digits}f}" if abs(v) >= 10 ** -digits or v == 0 else f"{v:.1e}"
    return str(v)


def _md_table(rows: Sequence[Mapping], columns: Sequence[tuple[str, str]]) -> list[str]:
    lines = ["| " + " | ".join(h for _, h in columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(_cell(r.get(k)) for k, _ in columns) + " |")
    return lines


METRIC_COLUMNS = [("count", "sets"), ("failed", "failed"), ("mae", "MAE"), ("rmse", "RMSE"), ("bias", "bias"),
                  ("solved", "solved"), ("cov50", "cov 50%"), ("width50", "width 50%"),
                  ("cov90", "cov 90%"), ("width90", "width 90%"), ("seconds", "s / set")]


def _pivot_calibration(cal: list[dict], kind: str) -> tuple[list, list[dict]]:
    """Calibration rows of one kind as (sorted nominal levels, one row per estimator)."""
    levels = sorted({c["nominal"] for c in cal if c["kind"] == kind})
    table = []
    for est in dict.fromkeys(c["estimator"] for c in cal):
        row = {"estimator": est}
        row.update({c["nominal"]: c["empirical"] for c in cal if c["estimator"] == est and c["kind"] == kind})
        table.append(row)
    return levels, table


def write_report(rows: Sequence[Mapping], out_dir, *, title: str = "MI estimator benchmark",
                 meta: Mapping | None = None, descriptions: Mapping[str, str] | None = None,
                 report_name: str = "report.md", fig_dir=None, fig_link: str = "") -> dict:
    """Write the markdown report and the PNG plots.

    out_dir: folder of the report; fig_dir: folder of the PNGs (default out_dir); fig_link: how the
    report links to them (a prefix such as "benchmark/"); meta: key -> value lines at the top;
    descriptions: estimator -> one line on what it is and its budget.
    Returns {"report": path, "plots": [paths]}.
    """
    out_dir = Path(out_dir)
    fig_dir = Path(fig_dir) if fig_dir is not None else out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = [fn(rows, fig_dir / name) for name, fn in PLOTS.items()]

    lines = [f"# {title}", ""]
    for k, v in (meta or {}).items():
        lines.append(f"- **{k}**: {v}")
    lines += [
        "",
        "Metrics (nats): MAE, RMSE, bias = mean(estimate - truth); *solved* = share with "
        "|log(estimate / truth)| < log 1.5 (|estimate - truth| < 0.1 when truth < 0.1); *cov* / *width*: "
        "share of truths inside, and mean width of, the central 50% and 90% intervals; *s / set*: wall "
        "time of the point estimate per dataset (mist: batched forward pass per set; neural baselines: "
        "training plus the held-out resampling; intervals of KSG / CCA and the reliability check not included). *failed*: datasets "
        "without an estimate (e.g. N too small for KSG's k); they are left out of the metrics.",
        "",
    ]
    if descriptions:
        lines += ["## Estimators", ""]
        lines += [f"- **{k}**: {v}" for k, v in descriptions.items() if k in _estimators(rows)]
        lines.append("")

    for suite in _suites(rows):
        sel = [r for r in rows if r["suite"] == suite]
        lines += [f"## Suite `{suite}` ({len({r['set_id'] for r in sel})} datasets)", "", "### Overall", ""]
        lines += _md_table(metric_table(sel), [("estimator", "estimator")] + METRIC_COLUMNS)
        for gname, (fn, order) in GROUPINGS.items():
            table = metric_table(sel, fn, order)
            groups = list(dict.fromkeys(r["group"] for r in table))
            if order is not None:
                groups = [g for g in order if g in groups] + [g for g in groups if g not in order]
            else:
                groups = sorted(groups, key=str)
            table.sort(key=lambda r: groups.index(r["group"]))  # stable: estimators stay in order
            lines += ["", f"### By {gname}", ""]
            lines += _md_table(table, [("group", gname), ("estimator", "estimator")] + METRIC_COLUMNS)
        lines.append("")

    cal = calibration_table(rows)
    if cal:
        lines += ["## Calibration (all suites)", "",
                  "Share of truths at or below each predicted quantile (ideal: the level), and coverage of "
                  "the central intervals (ideal: nominal).", ""]
        levels, table = _pivot_calibration(cal, "quantile")
        lines += _md_table(table, [("estimator", "estimator")] + [(lv, f"q{lv:g}") for lv in levels])
        lines.append("")
        central, table = _pivot_calibration(cal, "central")
        lines += _md_table(table, [("estimator", "estimator")] + [(lv, f"{lv:.0%} interval") for lv in central])
        lines.append("")

    cons = consistency_table(rows)
    if cons:
        from mist.consistency import RULE
        levels = {r.get("check_level") for r in rows if r.get("consistent") is not None} - {None}
        level = levels.pop() if len(levels) == 1 else 0.9
        lines += ["## Reliability check (nested subsamples)", "",
                  f"Each dataset is re-estimated on nested random subsamples (N, N/2, N/4 by default); it is "
                  f"flagged inconsistent unless the {RULE.format(level=level)} (Abdelaleem, Martini & "
                  "Nemenman 2025). *wrong* = not solved; *missed* = truth outside the 90% interval. "
                  "A useful check flags wrong estimates often and good ones rarely.", ""]
        lines += _md_table(cons, [("estimator", "estimator"), ("suite", "suite"), ("checked", "checked"),
                                  ("unchecked", "N < 16"), ("flagged", "flagged"),
                                  ("n_wrong", "wrong"), ("flagged_wrong", "P(flag | wrong)"),
                                  ("flagged_good", "P(flag | solved)"), ("wrong_given_flag", "P(wrong | flag)"),
                                  ("wrong_given_pass", "P(wrong | pass)"), ("n_missed", "missed"),
                                  ("flagged_missed", "P(flag | missed)"), ("flagged_covered", "P(flag | covered)")])
        lines.append("")

    lines += ["## Plots", ""]
    rel = {p.name: f"{fig_link}{p.name}" for p in plots}
    captions = {"estimate_vs_truth.png": "Estimate vs truth", "error_vs_n.png": "Error vs N",
                "calibration.png": "Calibration", "time.png": "Time per dataset"}
    for name, link in rel.items():
        lines += [f"### {captions[name]}", "", f"![{captions[name]}]({link})", ""]
    report = out_dir / report_name
    report.write_text("\n".join(lines) + "\n")
    return {"report": report, "plots": plots}
