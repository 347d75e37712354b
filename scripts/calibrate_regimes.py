"""Fit the estimator-level conformal widening of one regime and store it in a checkpoint.

    python scripts/calibrate_regimes.py [--checkpoint checkpoints/mist-default] [--regime reduced]
        [--batches 200] [--data extended] [--n-max 127] [--dry-run]

Draws the first `--batches` batches of the "calib" split of the prior of data config `--data`
(conf/data/<name>.yaml composed by Hydra as training composes it; "extended": every family, up
to 64 columns per side), with N capped at `--n-max` (the small-N expert's range). Keeps those
whose shape falls in the regime ("reduced": a side is cut to principal components; "singular":
N <= dx + dy), runs the estimator on them and fits one set of z offsets (docs/design.md §12f,
mist/regime_calibration.py). Prints the coverage on the calibration sets before and after;
--dry-run prints without writing.
"""

import argparse
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from mist.data.prior import PriorConfig
from mist.regime_calibration import REGIMES, calibrate_regime
from mist.train.schemas import register_schemas

CONF = Path(__file__).resolve().parents[1] / "conf"


def data_prior(data: str, n_max: int) -> PriorConfig:
    """The PriorConfig of conf/data/<data>.yaml as training composes it, N capped at n_max."""
    register_schemas()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[f"data={data}"])
    fields = OmegaConf.to_container(cfg.data.prior, resolve=True)
    return PriorConfig(**{**fields, "n_max": min(fields["n_max"], n_max)})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="checkpoints/mist-default")
    ap.add_argument("--regime", choices=REGIMES, default="reduced")
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--data", default="extended", help="a data config in conf/data")
    ap.add_argument("--n-max", type=int, default=127)
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args(argv)
    if args.batches < 1:
        ap.error(f"--batches must be >= 1, got {args.batches}")
    if not (CONF / "data" / f"{args.data}.yaml").is_file():
        ap.error(f"--data {args.data!r}: no conf/data/{args.data}.yaml")
    prior = data_prior(args.data, args.n_max)
    r = calibrate_regime(args.checkpoint, prior, args.regime, args.batches, command=" ".join(["python"] + sys.argv),
                         write=not args.dry_run)
    print(f"regime {r['regime']!r}, N {r['n_range']}: {r['sets']} calibration sets ({r['regime_batches']} of "
          f"{r['batches']} batches) in {r['seconds']:.0f} s")
    print("offsets (z = log1p MI):", " ".join(f"{o:+.3f}" for o in r["offsets_z"]))
    print("coverage before:", r["coverage_before"])
    print("coverage after: ", r["coverage_after"])
    print("not written (--dry-run)" if args.dry_run else f"written to {args.checkpoint}/config.json")


if __name__ == "__main__":
    main()
