"""Accuracy on the suites beyond the Gaussian copula (issues 14 and 15), next to KSG and the
mixed-variable KSG (Gao et al. 2017), in the same run.

    python benchmarks/bench_extended.py [--checkpoint PATH] [--batches 24] [--suites functional discrete structured]
                                        [--table-path]

Suites (mist.data.splits.EXTENDED_SUITES, never trained on: their own split tags and the
evaluation part of the pools): functional and discrete report their in-distribution (even
batches) and held-out (odd batches: held-out functions, shapes, encodings) halves separately;
structured reports N <= dx + dy and N > dx + dy separately. Prints MAE, solved share and 90%
coverage per part and estimator (KSG/mixed-KSG without intervals unless --n-boot > 0).
"""

from __future__ import annotations

import argparse
import time

import torch

from mist import MIEstimator
from mist.data.suites import build_suite
from mist.evaluate.estimators import make_baseline, option_kwargs
from mist.evaluate.rows import estimator_rows
from mist.metrics import headline


def _part(suite: str, row: dict) -> str:
    if suite == "structured":
        return "N<=dx+dy" if row["n"] <= row["dx"] + row["dy"] else "N>dx+dy"
    return "in-distribution" if row["index"] % 2 == 0 else "held-out"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=None, help="checkpoint folder or shipped name (default mist-default)")
    ap.add_argument("--batches", type=int, default=24)
    ap.add_argument("--suites", nargs="+", default=["functional", "discrete", "structured"])
    ap.add_argument("--baselines", nargs="*", default=["ksg", "mixed_ksg"])
    ap.add_argument("--n-boot", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--collapse-binary", choices=["on", "off"], default=None,
                    help="MIEstimator(collapse_binary=...) (design §12m); default: the estimator's default")
    ap.add_argument("--unmix", choices=["on", "off", "auto"], default=None, help="MIEstimator(unmix=...) (design §12k)")
    ap.add_argument("--from-batch", type=int, default=0,
                    help="report only batches with index >= this (a clean check on batches not used to design)")
    ap.add_argument("--table-path", action="store_true",
                    help="mist with table_path=True (design §12i); also prints the sets that took it")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    estimators = {"mist": MIEstimator.from_pretrained(args.checkpoint, table_path=args.table_path,
                                                     **option_kwargs(args.unmix, args.collapse_binary))}
    for b in args.baselines:
        estimators[b] = make_baseline(b, {b: {"n_boot": args.n_boot}})
    print(f"checkpoint: {args.checkpoint or 'mist-default'}; {args.batches} batches per suite")
    print("| suite | part | sets | estimator | MAE | solved | cov90 | s/set |")
    print("|---|---|---|---|---|---|---|---|")
    for suite in args.suites:
        batches = [b for b in build_suite(suite, args.batches) if int(b["index"]) >= args.from_batch]
        for name, est in estimators.items():
            t0 = time.perf_counter()
            rows = estimator_rows(est, batches, suite, name)
            per_set = (time.perf_counter() - t0) / len(rows)
            parts = sorted({_part(suite, r) for r in rows}) + ["all"]
            for part in parts:
                sel = [r for r in rows if part == "all" or _part(suite, r) == part]
                h = headline(sel)
                cov = f"{h['cov90']:.3f}" if "cov90" in h else "-"
                print(f"| {suite} | {part} | {len(sel)} | {name} | {h['mae']:.4f} | {h['solved']:.3f} | {cov} | "
                      f"{per_set:.4f} |", flush=True)
            if name == "mist":
                _table_path_lines(suite, batches, rows, args.checkpoint)


def _table_path_lines(suite: str, batches: list, rows: list, checkpoint) -> None:
    """The sets that took the table path (both sides discrete, design §12i): mist on them, and
    the network alone on the same sets (MIEstimator(table_path=False)), per part."""
    table = [r for r in rows if r.get("method") == "table"]
    if not table:
        return
    network = estimator_rows(MIEstimator.from_pretrained(checkpoint, table_path=False), batches, suite, "network")
    on_table = {(r["index"], r["set_id"]) for r in table}
    network = [r for r in network if (r["index"], r["set_id"]) in on_table]
    for part in sorted({_part(suite, r) for r in table}) + ["all"]:
        for name, sub in (("mist, table path", table), ("network alone", network)):
            sel = [r for r in sub if part == "all" or _part(suite, r) == part]
            h = headline(sel)
            print(f"| {suite} | {part}: table-path sets | {len(sel)} | {name} | {h['mae']:.4f} | {h['solved']:.3f} | "
                  f"{h['cov90']:.3f} | - |", flush=True)


if __name__ == "__main__":
    main()
