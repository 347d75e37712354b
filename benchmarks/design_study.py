"""Design study: evaluate the models of the equal-CPU-time runs on the frozen suites.

Train first (each for the same wall time on one thread, all at once so they share the machine):
  for d in row_set two_axis two_axis_nopair two_axis_light; do
    python scripts/train.py study=design_$d trainer.max_time=00:00:20:00 & done; wait
then: python benchmarks/design_study.py   (the table in docs/design.md came from this)
"""

import argparse
import json
from pathlib import Path


from mist.checkpoint import load_checkpoint
from mist import metrics
from mist import MIEstimator
from mist.evaluate.estimators import CCA, KSG
from mist.evaluate.rows import estimator_rows
from mist.data.suites import build_suite


def summary(rows):
    return {k.upper() if k in ("mae", "rmse") else k: v for k, v in metrics.headline(rows).items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="runs/design")
    ap.add_argument("--designs", default="row_set,two_axis,two_axis_nopair,two_axis_light")
    ap.add_argument("--batches", type=int, default=48)
    ap.add_argument("--out", default="runs/design/table.md")
    args = ap.parse_args()

    suites = {name: build_suite(name, args.batches) for name in ("imd", "oomd")}
    lines = ["| design | params | train sets | sets/s (train) | imd MAE | imd cov90 | imd cov50 | oomd MAE | oomd cov90 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for d in args.designs.split(","):
        folder = Path(args.runs) / d / "model"
        model, cfg = load_checkpoint(folder)
        tr = cfg["training"]
        est = MIEstimator(model, cfg, max_n=2048)
        res = {s: summary(estimator_rows(est, b, s, d)) for s, b in suites.items()}
        n_params = sum(p.numel() for p in model.parameters())
        rate = tr["sets_seen"] / tr["wall_time_s_this_process"]
        lines.append(f"| {d} | {n_params} | {tr['sets_seen']} | {rate:.1f} | {res['imd']['MAE']:.3f} | "
                     f"{res['imd']['cov90']:.2f} | {res['imd']['cov50']:.2f} | {res['oomd']['MAE']:.3f} | "
                     f"{res['oomd']['cov90']:.2f} |")
        print(lines[-1], flush=True)
    references = {"KSG k=5": KSG(k=5, n_boot=0),
                  "rank-CCA (the log-det head's channel 0 alone)": CCA(rank_gauss=True, n_boot=0)}
    for name, ref in references.items():
        for s, b in suites.items():
            k = summary(estimator_rows(ref, b, s, name))
            lines.append(f"| {name} ({s}) | - | - | - | {k['MAE']:.3f} (MAE on {s}) | - | - | - | - |")
            print(lines[-1], flush=True)
    n_sets = {s: sum(len(x["mi"]) for x in b) for s, b in suites.items()}
    lines.append(f"\nSuites: imd {n_sets['imd']} sets, oomd {n_sets['oomd']} sets ({args.batches} batches each).")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(json.dumps({"written": args.out}))


if __name__ == "__main__":
    main()
