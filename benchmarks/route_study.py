"""Which network should serve which N? MAE by N bin of candidate checkpoints on the `calib` split.

    python benchmarks/route_study.py --model stage2=runs/finetune/model --model small=runs/small_n/model \
        --model fast=runs/fast/model [--batches 96]

The calib split is the training prior under its own seed tag: neither training nor the frozen
evaluation suites (imd, oomd) ever see it, so choosing the routing here leaves the suites
untouched for the final measurement. Also prints each model's forward time per set.
"""

import argparse

import numpy as np
import torch

from mist.data.stream import StreamConfig, make_batch
from mist import MIEstimator
from mist.checkpoint import load_checkpoint
from mist import metrics
from mist.evaluate.rows import estimator_rows
from mist.data.prior import PriorConfig


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True, metavar="NAME=FOLDER")
    ap.add_argument("--batches", type=int, default=96)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    prior = PriorConfig()
    prior.validate("calib")
    batches = [make_batch(prior, StreamConfig(), "calib", k) for k in range(args.batches)]
    table = {}
    for item in args.model:
        name, _, folder = item.partition("=")
        model, config = load_checkpoint(folder)  # every model on every N, also outside its served range
        rows = estimator_rows(MIEstimator(model, config, max_n=prior.n_max), batches, "calib", name)
        t = np.array([r["true_mi"] for r in rows])
        e = np.array([r["estimate"] for r in rows])
        lo, hi = np.array([r["q0.05"] for r in rows]), np.array([r["q0.95"] for r in rows])
        bins = np.array([metrics.n_bin(r["n"]) for r in rows])
        by_bin = {b: (metrics.mae(e[m], t[m]), metrics.coverage(lo[m], hi[m], t[m]), int(m.sum()))
                  for b in metrics.n_bin.labels if (m := bins == b).any()}
        table[name] = (by_bin, float(np.mean([r["seconds"] for r in rows])))
    print(f"calib split, {args.batches} batches; MAE (90% coverage of the quantiles as loaded) by N bin")
    for name, (by_bin, seconds) in table.items():
        cells = "  ".join(f"{b}: {m:.3f} ({c:.2f}, {k} sets)" for b, (m, c, k) in by_bin.items())
        print(f"  {name:<8} {cells}  | {seconds * 1e3:.1f} ms/set")


if __name__ == "__main__":
    main()
