"""Command line: `mist estimate data.csv --x a,b --y c` prints MI quantiles (table or --json);
`mist matrix data.csv --out mi.csv --plot mi.png` the MI of every pair of columns (mist.tabular).

Every failure is one line `mist: ...` on stderr that names the problem, and a non-zero exit
(argparse's own usage errors exit with 2). Nothing is dropped silently: a CSV/TSV is read with
the standard library's csv module (quoting rules), strictly as UTF-8 (a byte-order mark is
allowed); a ragged row, a blank line inside the data, an empty or missing cell in a selected
column, or a cell that is not a number is an error naming its line and column. Lines starting
with "#" are not comments (numpy's savetxt writes its header that way: pass `comments=""`).
Columns not named by --x / --y may hold anything (e.g. an id or a label).

The first row is the header when it holds no number and at least one name (a cell with a letter
that is not a missing-value token; empty header cells, as pandas writes for an index, are
allowed); --header / --no-header override that guess.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from pathlib import Path

import numpy as np

# cells read as a missing value (compared lower-case), never as data
MISSING = {"", "na", "n/a", "nan", "-nan", "null", "none"}


class CLIError(Exception):
    """A problem with the user's input or options: printed as one `mist: ...` line."""


def _is_number(s: str) -> bool:
    if s.lower() in MISSING:
        return False
    try:
        float(s)
        return True
    except ValueError:
        return False


def _is_name(s: str) -> bool:
    """A header-like cell: not a number or missing value, and with a letter in it (so a garbled
    number such as "1.0.0" does not make its row a header)."""
    return not _is_number(s) and s.lower() not in MISSING and any(ch.isalpha() for ch in s)


# ---------------------------------------------------------------- reading tables
def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\0" in data:
        raise CLIError(f"{path} is a binary file, not CSV text (it holds NUL bytes)")
    try:
        return data.decode("utf-8-sig")  # a byte-order mark (Excel's "CSV UTF-8") is not data
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise CLIError(f"{path} is not UTF-8 text (byte 0x{data[err.start]:02x} on line {line}); "
                       "save it as UTF-8") from None


def read_csv(path: Path, delimiter: str, header: bool | None = None):
    """-> (rows: list of stripped cell lists, lines: the file line of each row, names or None).
    header None: guess (see the module docstring)."""
    reader = csv.reader(io.StringIO(_read_text(path), newline=""), delimiter=delimiter, strict=True)
    rows, lines = [], []
    try:
        for row in reader:
            rows.append([c.strip() for c in row])
            lines.append(reader.line_num)
    except csv.Error as err:
        raise CLIError(f"{path} line {reader.line_num}: {err}") from None
    trailing = []
    while rows and not any(rows[-1]):  # blank lines at the end are not rows ...
        rows.pop()
        trailing.append(lines.pop())
    if not rows:
        raise CLIError(f"{path} is empty")
    if trailing and len(rows[0]) == 1:  # ... except in a one-column table, where they may be missing values
        raise CLIError(f"{path} line {trailing[-1]} is blank: in a one-column table that is a missing value; "
                       "fill it in, or remove the blank line(s) at the end")
    if header is None:
        header = not any(_is_number(c) for c in rows[0]) and any(_is_name(c) for c in rows[0])
    names = rows[0] if header else None
    if header:
        rows, lines = rows[1:], lines[1:]
        dup = sorted({c for c in names if c and names.count(c) > 1})
        if dup:
            raise CLIError(f"{path}: duplicate column name(s) {dup} in the header; rename them")
        if not rows:
            raise CLIError(f"{path} has a header but no data rows")
    width = len(names) if names is not None else len(rows[0])
    what = "the header has" if names is not None else f"line {lines[0]} has"
    for row, line in zip(rows, lines):
        if len(row) != width:
            blank = " (a blank line)" if not any(row) else ""
            raise CLIError(f"{path} line {line} has {len(row)} field(s){blank}, {what} {width}{_hash_hint(row, rows[0], names)}")
    return rows, lines, names


def _hash_hint(*rows) -> str:
    """A hint for rows that look like comments (which csv, and so mist, reads as data)."""
    if any(r and r[0].startswith("#") for r in rows if r):
        return " (lines starting with '#' are data here, not comments: remove them)"
    return ""


def _read_array(path: Path, key: str | None) -> np.ndarray:
    what = "a NumPy .npz archive" if path.suffix == ".npz" else "a NumPy .npy array"
    with open(path, "rb") as f:
        magic = f.read(6)
    if path.suffix == ".npy" and magic != b"\x93NUMPY":  # else numpy would try it as a pickle
        raise CLIError(f"cannot read {path} as {what}: it does not start with the .npy header")
    try:
        if path.suffix == ".npy":
            a = np.load(path, allow_pickle=False)
        else:
            with np.load(path, allow_pickle=False) as z:
                names = list(z.keys())
                if not names:
                    raise CLIError(f"{path} holds no arrays")
                if key is None and len(names) != 1:
                    raise CLIError(f"{path} holds arrays {names}; choose one with --key")
                if key is not None and key not in names:
                    raise CLIError(f"{path} has no array {key!r} (--key); arrays: {names}")
                a = z[key or names[0]]
    except CLIError:
        raise
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise CLIError(f"{path} holds Python objects (an object array); only numeric arrays are read "
                           "(loading objects could run code)") from None
        raise CLIError(f"cannot read {path} as {what}: {err}") from None
    except Exception as err:  # zipfile.BadZipFile, EOFError, OSError, ... from a damaged file
        raise CLIError(f"cannot read {path} as {what}: {type(err).__name__}: {err}") from None
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise CLIError(f"{path} holds an array of dtype {a.dtype}, not numbers")
    if a.ndim != 2:
        raise CLIError(f"{path}: expected a 2-D table (N, columns), got shape {a.shape}")
    return a


class Table:
    """A loaded table: `names` (CSV header) or None, `n_cols`, and `column(j)` -> float64 (N,)."""

    def __init__(self, path: Path, array: np.ndarray | None = None, rows=None, lines=None, names=None):
        self.path, self.array, self.rows, self.lines, self.names = path, array, rows, lines, names
        self.n_cols = array.shape[1] if array is not None else (len(names) if names is not None else len(rows[0]))

    def label(self, j: int) -> str:
        return repr(self.names[j]) if self.names is not None and self.names[j] else str(j)

    def column(self, j: int) -> np.ndarray:
        if self.array is not None:
            return self.array[:, j]
        cells = [row[j] for row in self.rows]
        try:
            values = np.array([float(c) for c in cells], dtype=np.float64)
            if np.isfinite(values).all():
                return values
        except ValueError:
            pass
        self._bad_cell(j, cells)

    def _bad_cell(self, j: int, cells: list[str]):
        """Raise for the first cell of column j that is missing, not a number, or not finite."""
        missing = [i for i, c in enumerate(cells) if c.lower() in MISSING]
        if missing:
            i = missing[0]
            raise CLIError(f"{self.path} line {self.lines[i]}, column {self.label(j)}: missing value ({cells[i]!r}; "
                           f"{len(missing)} in this column); remove or impute missing values first")
        for i, c in enumerate(cells):
            if not _is_number(c):
                hint = " (is the first line a header? pass --header)" if i == 0 and self.names is None else ""
                hint = _hash_hint([c]) or hint
                raise CLIError(f"{self.path} line {self.lines[i]}, column {self.label(j)}: {c!r} is not a number{hint}")
            if not math.isfinite(float(c)):
                raise CLIError(f"{self.path} line {self.lines[i]}, column {self.label(j)}: {c!r} is not finite")


def load_table(path: str, key: str | None = None, header: bool | None = None) -> Table:
    """A .csv / .tsv file (anything else is read as CSV) or a .npy / .npz array (N, columns)."""
    p = Path(path)
    if not p.is_file():
        raise CLIError(f"no such file: {path}")
    if p.suffix in (".npy", ".npz"):
        return Table(p, array=_read_array(p, key))
    rows, lines, names = read_csv(p, "\t" if p.suffix == ".tsv" else ",", header)
    return Table(p, rows=rows, lines=lines, names=names)


def _columns(spec: str, table: Table, flag: str) -> list[int]:
    header, n_cols = table.names, table.n_cols
    out = []
    for tok in (t.strip() for t in spec.split(",") if t.strip()):
        if header is not None and tok in header:
            out.append(header.index(tok))
        elif tok.lstrip("-").isdigit() and -n_cols <= int(tok) < n_cols:
            out.append(int(tok) % n_cols)
        else:
            known = f"; columns are {header}" if header else f"; indices 0..{n_cols - 1}"
            raise CLIError(f"{flag}: unknown column {tok!r}{known}")
    if not out:
        raise CLIError(f"{flag} names no column")
    return out


# ---------------------------------------------------------------- the command
def _device(name: str):
    import torch
    try:
        device = torch.device(name)
        torch.empty(0, device=device)  # e.g. "cuda" on a machine without CUDA fails here
    except Exception as err:  # RuntimeError, AssertionError ("Torch not compiled with CUDA enabled")
        raise CLIError(f"--device {name}: {err}") from None
    return device


def _estimator(args):
    from mist import MIEstimator
    device = _device(args.device)
    try:
        return MIEstimator.from_pretrained(args.checkpoint, units=args.units, device=device,
                                           table_path=getattr(args, "table_path", False),
                                           **({"unmix": args.unmix} if getattr(args, "unmix", None) is not None else {}),
                                           collapse_binary=not getattr(args, "keep_binary", False),
                                           stat_head=not getattr(args, "no_stat_head", False))
    except Exception as err:  # any damage to a checkpoint; loading never runs code (safetensors + JSON)
        raise CLIError(f"--checkpoint {args.checkpoint or 'mist-default'}: {err}") from None


def _estimate(args) -> int:
    table = load_table(args.data, args.key, args.header)
    xi, yi = _columns(args.x, table, "--x"), _columns(args.y, table, "--y")
    x = np.stack([table.column(j) for j in xi], axis=1)
    y = np.stack([table.column(j) for j in yi], axis=1)
    est = _estimator(args)
    try:
        r = est.estimate(x, y, constant_columns="drop" if args.drop_constant else "error")
    except (ValueError, TypeError) as err:
        raise CLIError(str(err)) from None
    lo, hi = r.interval(0.9)
    if args.json:
        print(json.dumps({"mi": r.mi, "units": r.units, "interval90": [lo, hi], "n": r.n, "dx": r.dx, "dy": r.dy,
                          "method": r.extra.get("method", "network"),
                          "turned": list(r.extra["turned"]) if "turned" in r.extra else None,
                          "merged_binary": list(r.extra.get("merged_binary", (0, 0))),
                          "quantiles": {str(k): v for k, v in r.quantiles.items()}}, indent=2))
    else:
        method = {"table": "   (table path: both sides discrete)",
                  "stat_head": "   (N <= dx + dy: singular-regime head)"}.get(r.extra.get("method"), "")
        if any(r.extra.get("turned", ())):
            method += "   (turned: " + " and ".join(s for s, t in zip("xy", r.extra["turned"]) if t) + ")"
        print(f"MI = {r.mi:.4f} {r.units}   90% interval [{lo:.4f}, {hi:.4f}]   N={r.n} dx={r.dx} dy={r.dy}{method}")
        print("level  " + "  ".join(f"{k:>6.3f}" for k in r.quantiles))
        print("value  " + "  ".join(f"{v:>6.3f}" for v in r.quantiles.values()))
    return 0


def _matrix(args) -> int:
    """`mist matrix`: MI between every pair of columns (mist.tabular.mi_matrix)."""
    from mist.tabular import mi_matrix
    table = load_table(args.data, args.key, args.header)
    cols = _columns(args.columns, table, "--columns") if args.columns else list(range(table.n_cols))
    if len(cols) < 2:
        raise CLIError("--columns: a matrix needs at least two columns")
    names = [table.names[j] if table.names is not None and table.names[j] else str(j) for j in cols]
    try:
        data = np.stack([table.column(j) for j in cols], axis=1)
    except CLIError as err:
        raise CLIError(f"{err}{'' if args.columns else ' (choose the numeric columns with --columns)'}") from None
    est = _estimator(args)
    try:
        m = mi_matrix(data, estimator=est, progress=None)
    except (ValueError, TypeError) as err:
        raise CLIError(str(err)) from None
    m.columns = names
    m.to_csv(args.out or sys.stdout, long=args.long)
    if args.plot:
        m.plot(args.plot)
    if args.out or args.plot:
        top = "; ".join(f"{a}-{b} {v:.3f}" for a, b, v, _, _ in m.pairs()[:3])
        print(f"MI matrix of {len(names)} columns, N={m.n}, {m.units}; wrote "
              f"{', '.join(p for p in (args.out, args.plot) if p)}; top pairs: {top}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mist", description="Estimate mutual information with a pretrained network (one forward pass).")
    sub = parser.add_subparsers(dest="command", required=True)
    e = sub.add_parser("estimate", help="MI between column groups of a CSV/TSV/.npy/.npz table",
                       description="Print MI quantiles between the columns given by --x and --y.")
    e.add_argument("data", help="a .csv/.tsv file (UTF-8, header optional) or a .npy/.npz array (N, columns)")
    e.add_argument("--x", required=True, help="X columns: names (CSV header) or 0-based indices, comma-separated")
    e.add_argument("--y", required=True, help="Y columns, same form")
    e.add_argument("--key", help="array name inside a .npz with several arrays")
    h = e.add_mutually_exclusive_group()
    h.add_argument("--header", dest="header", action="store_true", default=None,
                   help="the first CSV row is a header (default: guessed: no number and at least one name)")
    h.add_argument("--no-header", dest="header", action="store_false", help="the first CSV row is data")
    e.add_argument("--units", choices=["nats", "bits"], default="nats")
    e.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    e.add_argument("--checkpoint", help="checkpoint folder, or the name of a shipped one (default: mist-default)")
    e.add_argument("--drop-constant", action="store_true", help="drop constant columns (they carry 0 nats)")
    e.add_argument("--json", action="store_true", help="print JSON instead of a table")
    e.add_argument("--table-path", action="store_true",
                   help="both sides discrete with a small, well-sampled table: the Miller-Madow plug-in "
                        "with bootstrap quantiles instead of the network (docs/design.md 12i)")
    e.add_argument("--keep-binary", action="store_true",
                   help="do not merge a side's binary columns into one categorical column (docs/design.md 12m)")
    e.add_argument("--no-stat-head", action="store_true",
                   help="where N <= dx + dy, keep the network's quantiles instead of the singular-regime head's "
                        "(docs/design.md 12q)")
    e.add_argument("--unmix", dest="unmix", action="store_const", const=True, default=None,
                   help="turn every side of 2-16 continuous columns (N >= 128) whose dependence is spread over "
                        "its columns until it lies along them (MI unchanged; slow). Default: only a side whose "
                        "other side is one column (docs/design.md 12k-12p)")
    e.add_argument("--no-unmix", dest="unmix", action="store_const", const=False, help="turn no side")
    m = sub.add_parser("matrix", help="MI between every pair of columns of a table",
                       description="MI medians between every pair of columns (CSV matrix; diagonal empty).")
    m.add_argument("data", help="a .csv/.tsv file (UTF-8, header optional) or a .npy/.npz array (N, columns)")
    m.add_argument("--columns", help="columns to use: names or 0-based indices, comma-separated (default: all)")
    m.add_argument("--out", help="CSV file for the matrix (default: print it)")
    m.add_argument("--long", action="store_true", help="one row per pair instead: a,b,mi,low,high (90%% interval)")
    m.add_argument("--plot", help="save a heatmap to this image file (e.g. mi.png)")
    m.add_argument("--key", help="array name inside a .npz with several arrays")
    mh = m.add_mutually_exclusive_group()
    mh.add_argument("--header", dest="header", action="store_true", default=None, help="the first CSV row is a header")
    mh.add_argument("--no-header", dest="header", action="store_false", help="the first CSV row is data")
    m.add_argument("--units", choices=["nats", "bits"], default="nats")
    m.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    m.add_argument("--checkpoint", help="checkpoint folder, or the name of a shipped one (default: mist-default)")
    args = parser.parse_args(argv)
    try:
        return _matrix(args) if args.command == "matrix" else _estimate(args)
    except CLIError as err:
        raise SystemExit("mist: " + " ".join(str(err).split("\n")))
    except OSError as err:  # e.g. a file that cannot be read (permissions)
        raise SystemExit(f"mist: {err}")


if __name__ == "__main__":
    sys.exit(main())
