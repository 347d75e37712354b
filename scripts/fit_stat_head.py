"""Fit the singular-regime head of a checkpoint and store it there (docs/design.md §12q).

    python scripts/fit_stat_head.py [--checkpoint checkpoints/mist-default] [--fit-batches 5000]
        [--calib-batches 1500] [--run-dir runs/stat_head] [--data default extended] [--dry-run]

Collects the sets the head serves (8 <= N <= 127, N <= dx + dy, at most 64 columns per side) from
the "train" split (stream seed 41, never used by a network's training run) and the "calib"
split, alternating batches between the priors of the data configs named by --data (each
composed as training composes it, N capped at 127); trains the head by pinball loss and fits its
conformal offsets on the calib sets. Collected sets are cached in --run-dir, so a stopped run
resumes. Prints the calib coverage before and after calibration.
"""

import argparse
import sys
from pathlib import Path

import torch

from mist.checkpoint import save_stat_head
from mist.data.stream import StreamConfig
from mist.estimator import MIEstimator
from mist.stat_head_fit import DIM_MAX, N_RANGE, calibrate_head, collect, train_head
from mist.train.calibrate import interval_coverage

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibrate_regimes import CONF, data_prior  # noqa: E402  (the one way scripts compose a data config)

FIT_SEED = 41


def coverage(head, inputs, z, levels) -> float:
    with torch.no_grad():
        q = head(torch.from_numpy(inputs).float()).double().numpy()
    return interval_coverage(q, z, levels)["0.90"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="checkpoints/mist-default")
    # defaults: the shipped head's recipe (design §12q; width and steps chosen by held-out pinball loss)
    ap.add_argument("--fit-batches", type=int, default=5000)
    ap.add_argument("--calib-batches", type=int, default=1500)
    ap.add_argument("--run-dir", default="runs/stat_head")
    ap.add_argument("--data", nargs="+", default=["default", "extended"])
    ap.add_argument("--steps", type=int, default=12000)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--dry-run", action="store_true", help="fit and print, do not write the checkpoint")
    args = ap.parse_args(argv)
    for name in args.data:
        if not (CONF / "data" / f"{name}.yaml").is_file():
            ap.error(f"--data {name!r}: no conf/data/{name}.yaml")
    if min(args.fit_batches, args.calib_batches, args.steps) < 1:
        ap.error("--fit-batches, --calib-batches and --steps must be >= 1")
    run = Path(args.run_dir)
    run.mkdir(parents=True, exist_ok=True)
    est = MIEstimator.from_pretrained(args.checkpoint, stat_head=False)
    priors = [data_prior(name, N_RANGE[1]) for name in args.data]
    fit_x, fit_z = collect(est, priors, "train", args.fit_batches, run / "fit.npz",
                           StreamConfig(batch_size=64, cells_per_batch=65536, seed=FIT_SEED))
    cal_x, cal_z = collect(est, priors, "calib", args.calib_batches, run / "calib.npz")
    print(f"{len(fit_z)} fit sets, {len(cal_z)} calib sets")
    head, record = train_head(fit_x, fit_z, est.levels, width=args.width, steps=args.steps)
    before = coverage(head, cal_x, cal_z, est.levels)
    offsets = calibrate_head(head, cal_x, cal_z, est.levels)
    after = coverage(head, cal_x, cal_z, est.levels)
    print(f"calib 90% coverage: raw {before:.3f}, calibrated {after:.3f}; offsets "
          + " ".join(f"{o:+.3f}" for o in offsets))
    record.update({"n_range": list(N_RANGE), "dim_max": DIM_MAX, "levels": list(est.levels),
                   "data": args.data, "fit": {"split": "train", "stream_seed": FIT_SEED, "batches": args.fit_batches},
                   "calibration": {"split": "calib", "stream_seed": 0, "batches": args.calib_batches,
                                   "sets": int(len(cal_z)), "offsets_z": offsets, "cov90_before": before,
                                   "cov90_after": after},
                   "command": " ".join(["python"] + sys.argv)})
    if args.dry_run:
        print("not written (--dry-run)")
    else:
        save_stat_head(args.checkpoint, head, record)
        print(f"written to {args.checkpoint}/stat_head.safetensors and config.json")


if __name__ == "__main__":
    main()
