"""Command line: `mist estimate data.csv --x a,b --y c` prints MI quantiles (table or --json)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def _columns(spec: str, header: list[str] | None, n_cols: int, flag: str) -> list[int]:
    out = []
    for tok in (t.strip() for t in spec.split(",") if t.strip()):
        if header is not None and tok in header:
            out.append(header.index(tok))
        elif tok.lstrip("-").isdigit() and -n_cols <= int(tok) < n_cols:
            out.append(int(tok) % n_cols)
        else:
            known = f"; columns are {header}" if header else f"; indices 0..{n_cols - 1}"
            raise SystemExit(f"mist: {flag}: unknown column {tok!r}{known}")
    if not out:
        raise SystemExit(f"mist: {flag} names no column")
    return out


def load_table(path: str, key: str | None = None) -> tuple[np.ndarray, list[str] | None]:
    """(N, columns) float array and the header (CSV) or None (.npy / .npz)."""
    p = Path(path)
    if not p.is_file():
        raise SystemExit(f"mist: no such file: {path}")
    if p.suffix == ".npy":
        return np.load(p, allow_pickle=False), None
    if p.suffix == ".npz":
        with np.load(p, allow_pickle=False) as z:
            names = list(z.keys())
            if key is None and len(names) != 1:
                raise SystemExit(f"mist: {path} holds arrays {names}; choose one with --key")
            return z[key or names[0]], None
    with open(p, newline="") as f:
        first = f.readline()
    delim = "\t" if p.suffix == ".tsv" else ","
    cells = [c.strip() for c in first.split(delim)]
    has_header = any(not _is_number(c) for c in cells)
    data = np.genfromtxt(p, delimiter=delim, skip_header=1 if has_header else 0, dtype=np.float64, ndmin=2)
    return data, cells if has_header else None


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mist", description="Estimate mutual information with a pretrained network (one forward pass).")
    sub = parser.add_subparsers(dest="command", required=True)
    e = sub.add_parser("estimate", help="MI between column groups of a CSV/TSV/.npy/.npz table",
                       description="Print MI quantiles between the columns given by --x and --y.")
    e.add_argument("data", help="a .csv/.tsv file (header optional) or a .npy/.npz array (N, columns)")
    e.add_argument("--x", required=True, help="X columns: names (CSV header) or 0-based indices, comma-separated")
    e.add_argument("--y", required=True, help="Y columns, same form")
    e.add_argument("--key", help="array name inside a .npz with several arrays")
    e.add_argument("--units", choices=["nats", "bits"], default="nats")
    e.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    e.add_argument("--checkpoint", help="checkpoint folder, or the name of a shipped one (default: mist-default)")
    e.add_argument("--drop-constant", action="store_true", help="drop constant columns (they carry 0 nats)")
    e.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    from mist import MIEstimator, tune_cpu_allocator

    tune_cpu_allocator()  # a short-lived process: keeping freed memory costs nothing here

    table, header = load_table(args.data, args.key)
    if table.ndim != 2:
        raise SystemExit(f"mist: expected a 2-D table, got shape {table.shape}")
    xi = _columns(args.x, header, table.shape[1], "--x")
    yi = _columns(args.y, header, table.shape[1], "--y")
    est = MIEstimator.from_pretrained(args.checkpoint, units=args.units, device=args.device)
    try:
        r = est.estimate(table[:, xi], table[:, yi], constant_columns="drop" if args.drop_constant else "error")
    except ValueError as err:
        raise SystemExit(f"mist: {err}")
    lo, hi = r.interval(0.9)
    if args.json:
        print(json.dumps({"mi": r.mi, "units": r.units, "interval90": [lo, hi], "n": r.n, "dx": r.dx, "dy": r.dy,
                          "quantiles": {str(k): v for k, v in r.quantiles.items()}}, indent=2))
    else:
        print(f"MI = {r.mi:.4f} {r.units}   90% interval [{lo:.4f}, {hi:.4f}]   N={r.n} dx={r.dx} dy={r.dy}")
        print("level  " + "  ".join(f"{k:>6.3f}" for k in r.quantiles))
        print("value  " + "  ".join(f"{v:>6.3f}" for v in r.quantiles.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
