"""Fit the conformal interval calibration of a checkpoint and store it in its config.json.

    python scripts/calibrate.py [--checkpoint checkpoints/mist-default] [--batches 128]

Runs the network with raw quantiles on `--batches` batches of the "calib" split of the
checkpoint's training prior (disjoint from training and from the evaluation suites), fits
per-interval offsets (mist/network/calibration.py) and writes them under "calibration" in
config.json; load_checkpoint applies them from then on. Prints each central interval's coverage
on the calibration sets before and after (after is >= nominal there by construction; the
evaluation suites are the honest check). scripts/export_checkpoint.py runs this too.
"""

import argparse
import sys

from mist.train.calibrate import calibrate_checkpoint


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="checkpoints/mist-default")
    ap.add_argument("--batches", type=int, default=128)
    args = ap.parse_args()
    r = calibrate_checkpoint(args.checkpoint, args.batches, " ".join(["python"] + sys.argv))
    print(f"{r['sets']} calibration sets in {r['seconds']:.0f} s")
    for e in r.get("experts", [r]):  # a routed checkpoint has one calibration per expert
        print(f"N in {e['n_range']}: offsets (z = log1p MI):", " ".join(f"{o:+.3f}" for o in e["offsets_z"]))
        print("  coverage before:", e["coverage_before"])
        print("  coverage after: ", e["coverage_after"])


if __name__ == "__main__":
    main()
