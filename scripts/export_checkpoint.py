"""Ship a trained run: export its network(s) into checkpoints/<name>/, calibrate the intervals,
fit the estimator-level widening of cut sides (scripts/calibrate_regimes.py, routed checkpoints),
measure the accuracy on the frozen suites (never seen in training) through MIEstimator, and
generate the model card from the checkpoint's records.

    python scripts/export_checkpoint.py --run runs/main [--name mist-default] [--batches 48]

A routed checkpoint (one expert network per range of N, see mist/network/routed.py) takes one
--expert RUN:N_MIN per expert instead of --run, e.g.
    python scripts/export_checkpoint.py --expert runs/small_n:8 --expert runs/fast:128
--card-only re-measures an existing checkpoint and regenerates its card (weights untouched).
"""

import argparse
import shutil
import time
from pathlib import Path

from mist import MIEstimator, metrics
from mist.checkpoint import read_config, update_record
from mist.data.suites import build_suite
from mist.evaluate.rows import estimator_rows
from mist.regime_calibration import calibrate_regime
from mist.train.calibrate import calibrate_checkpoint
from mist.train.export import export_network, export_routed, write_model_card

from calibrate_regimes import data_prior  # scripts/ is on sys.path when a script runs


def measure(folder, batches: int) -> dict:
    est = MIEstimator.from_pretrained(folder)
    out = {}
    for suite in ("imd", "oomd"):
        rows = estimator_rows(est, build_suite(suite, batches), suite, "mist")
        out[suite] = {"datasets": len(rows), **metrics.headline(rows)}
    return out


def _experts(items: list[str]) -> list[tuple[str, int]]:
    out = []
    for item in items:
        run, _, n_min = item.rpartition(":")
        if not run or not n_min.isdigit():
            raise SystemExit(f"--expert {item!r}: expected RUN:N_MIN, e.g. runs/fast:128")
        out.append((str(Path(run) / "model"), int(n_min)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", help="a training run folder (its exported model/ is shipped)")
    ap.add_argument("--expert", action="append", default=[], metavar="RUN:N_MIN",
                    help="repeatable: a run and the smallest N it serves, for a routed checkpoint")
    ap.add_argument("--card-only", action="store_true", help="re-measure checkpoints/<name> and regenerate its card")
    ap.add_argument("--blend", type=float, default=1.25,
                    help="routed: blend neighbouring experts for N in [s / blend, s * blend) around each start s")
    ap.add_argument("--name", default="mist-default")
    ap.add_argument("--batches", type=int, default=48)
    ap.add_argument("--calibration-batches", type=int, default=128,
                    help="calib-split batches for the conformal interval calibration (0: none)")
    ap.add_argument("--regime-batches", type=int, default=200,
                    help="routed: extended-prior calib batches for the widening of cut sides (0: none; design 12f)")
    ap.add_argument("--recipe", default=None, help="the training command(s) that produced the run, for the model card")
    args = ap.parse_args()
    dst = Path("checkpoints") / args.name
    if args.card_only:
        if args.run or args.expert:
            ap.error("--card-only takes no --run / --expert")
        card = read_config(dst).get("card", {})
    else:
        if bool(args.run) == bool(args.expert):
            ap.error("give either --run or one --expert per expert")
        if dst.exists():
            shutil.rmtree(dst)
        if args.run:
            export_network(Path(args.run) / "model", dst)
        else:
            experts = _experts(args.expert)
            export_routed(experts, dst, args.blend)
        if args.calibration_batches:
            calibration = calibrate_checkpoint(dst, args.calibration_batches,
                                               f"python scripts/calibrate.py --checkpoint {dst} --batches {args.calibration_batches}")
            for c in calibration.get("experts", [calibration]):
                print(f"calibration, N in {c['n_range']}: {c['sets']} calib sets, coverage before {c['coverage_before']}")
        if args.expert and args.regime_batches:
            small_n_max = experts[1][1] - 1 if len(experts) > 1 else 127  # the first expert's range
            r = calibrate_regime(dst, data_prior("extended", small_n_max), "reduced", args.regime_batches,
                                 command=f"python scripts/calibrate_regimes.py --checkpoint {dst} --regime reduced "
                                         f"--batches {args.regime_batches}")
            print(f"regime calibration (cut sides), N in {r['n_range']}: {r['sets']} sets, coverage before "
                  f"{r['coverage_before']}")
        source = f"--run {args.run}" if args.run else " ".join(f"--expert {e}" for e in args.expert)
        card = {"source": source}
    card.update(measured=measure(dst, args.batches), measured_on=time.strftime("%Y-%m-%d"),
                command=f"python scripts/export_checkpoint.py --name {args.name} --card-only --batches {args.batches}")
    if args.recipe:
        card["recipe"] = args.recipe
    update_record(dst, card=card)
    print(write_model_card(dst, args.name).read_text())


if __name__ == "__main__":
    main()
