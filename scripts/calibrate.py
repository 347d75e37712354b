"""Fit the conformal interval calibration of a checkpoint and store it in its config.json.

    python scripts/calibrate.py [--checkpoint checkpoints/mist-default] [--batches 128]
                                [--expert I --data NAME]

Runs the network with raw quantiles on `--batches` batches of the "calib" split of the
checkpoint's training prior (disjoint from training and from the evaluation suites), fits
per-interval offsets (mist/network/calibration.py) and writes them under "calibration" in
config.json; load_checkpoint applies them from then on. Prints each central interval's coverage
on the calibration sets before and after (after is >= nominal there by construction; the
evaluation suites are the honest check). scripts/export_checkpoint.py runs this too.
--data NAME draws the calib sets from conf/data/NAME.yaml's prior instead; with --expert I only
expert I of a routed checkpoint is recalibrated (docs/design.md §12h).
"""

import argparse
import sys

from mist.train.calibrate import calibrate_checkpoint

from calibrate_regimes import CONF, data_prior  # scripts/ is on sys.path when a script runs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="checkpoints/mist-default")
    ap.add_argument("--batches", type=int, default=128)
    ap.add_argument("--data", default=None, help="a data config in conf/data (default: each network's training prior)")
    ap.add_argument("--expert", type=int, default=None, help="routed: recalibrate only this expert (index from 0)")
    args = ap.parse_args()
    if args.batches < 1:
        ap.error(f"--batches must be >= 1, got {args.batches}")
    prior = None
    if args.data is not None:
        if not (CONF / "data" / f"{args.data}.yaml").is_file():
            ap.error(f"--data {args.data!r}: no conf/data/{args.data}.yaml")
        prior = data_prior(args.data, 10**9)
    try:
        r = calibrate_checkpoint(args.checkpoint, args.batches, " ".join(["python"] + sys.argv), prior=prior,
                                 prior_source=f"conf/data/{args.data}.yaml" if args.data else "training",
                                 expert=args.expert)
    except ValueError as err:
        raise SystemExit(f"calibrate.py: {err}")
    print(f"{r['sets']} calibration sets in {r['seconds']:.0f} s")
    for i, e in enumerate(r.get("experts", [r])):  # a routed checkpoint has one calibration per expert
        if args.expert is not None and i != args.expert:
            continue
        print(f"N in {e['n_range']}: offsets (z = log1p MI):", " ".join(f"{o:+.3f}" for o in e["offsets_z"]))
        print("  coverage before:", e["coverage_before"])
        print("  coverage after: ", e["coverage_after"])


if __name__ == "__main__":
    main()
