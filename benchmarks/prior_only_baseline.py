"""How much do small samples tell? A data-blind baseline for the N 8-31 bin.

The baseline never looks at x or y: it predicts the median MI that the prior gives to sets with
similar dimensions (the k nearest (log dx, log dy) among `calib` sets, a split no training run or
evaluation suite uses). Where mist is barely better than this baseline, the samples carry
little information the estimator can use; where it is much better, they do.

    python benchmarks/prior_only_baseline.py [--calib-batches 1500] [--imd-batches 48] [--k 400]

Prints MAE on the imd sets with N < 32 for the baseline, mist (--checkpoint, default mist-default)
and KSG, and mist's 90% coverage, split by N > dx + dy (full-rank sample covariance) and N <= dx + dy.
"""

import argparse

import numpy as np
import torch

from mist import MIEstimator
from mist.data.stream import StreamConfig, make_batch
from mist import metrics
from mist.evaluate.estimators import KSG
from mist.evaluate.rows import estimator_rows
from mist.data.prior import PriorConfig
from mist.data.suites import build_suite


def dims_key(dx, dy):
    """Symmetric in X and Y, as the estimators are."""
    return np.stack([np.log(np.minimum(dx, dy)), np.log(np.maximum(dx, dy))], axis=-1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calib-batches", type=int, default=1500)
    ap.add_argument("--imd-batches", type=int, default=48)
    ap.add_argument("--k", type=int, default=400, help="calib sets per baseline prediction")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--checkpoint", default=None, help="checkpoint folder or shipped name (default mist-default)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    prior = PriorConfig(n_max=31)
    prior.validate("calib")
    dx, dy, mi = [], [], []
    for k in range(args.calib_batches):
        b = make_batch(prior, StreamConfig(), "calib", k)
        dx += [b["x"].shape[-1]] * len(b["mi"])
        dy += [b["y"].shape[-1]] * len(b["mi"])
        mi += b["mi"].double().tolist()
    ref_key, ref_mi = dims_key(np.array(dx), np.array(dy)), np.array(mi)

    batches = [b for b in build_suite("imd", args.imd_batches) if b["x"].shape[1] < 32]
    ours = estimator_rows(MIEstimator.from_pretrained(args.checkpoint), batches, "imd", "mist")
    ksg = estimator_rows(KSG(k=5, n_boot=0), batches, "imd", "ksg")
    t = np.array([r["true_mi"] for r in ours])
    key = dims_key(np.array([r["dx"] for r in ours]), np.array([r["dy"] for r in ours]))
    nearest = np.argsort(((key[:, None, :] - ref_key[None, :, :]) ** 2).sum(-1), axis=1)[:, :args.k]
    blind = np.median(ref_mi[nearest], axis=1)
    est = {"prior-only baseline": blind, "mist": np.array([r["estimate"] for r in ours]),
           "KSG k=5": np.array([r["estimate"] for r in ksg])}
    full_rank = np.array([r["n"] > r["dx"] + r["dy"] for r in ours])
    print(f"imd sets with N < 32: {len(t)} (calib reference: {len(ref_mi)} sets, k = {args.k})")
    print(f"  {'estimator':<22} {'all':>7} {'N > dx+dy':>10} {'N <= dx+dy':>11}")
    for name, e in est.items():
        print(f"  {name:<22} {metrics.mae(e, t):>7.3f} {metrics.mae(e[full_rank], t[full_rank]):>10.3f} "
              f"{metrics.mae(e[~full_rank], t[~full_rank]):>11.3f}")
    print(f"  sets: {len(t)}, {full_rank.sum()}, {(~full_rank).sum()}")
    lo, hi = np.array([r["q0.05"] for r in ours]), np.array([r["q0.95"] for r in ours])
    inside = (lo <= t) & (t <= hi)
    print(f"  mist 90% coverage     {inside.mean():>7.3f} {inside[full_rank].mean():>10.3f} {inside[~full_rank].mean():>11.3f}")


if __name__ == "__main__":
    main()
