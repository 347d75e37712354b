"""Ship a trained run: copy <run>/model into checkpoints/<name>/ and write its model card
with accuracy measured now on the frozen suites (never seen in training).

    python scripts/export_checkpoint.py --run runs/main [--name mist-default] [--batches 48]

A routed checkpoint (one expert network per range of N, see mist/network/routed.py) takes one
--expert RUN:N_MIN per expert instead of --run, e.g.
    python scripts/export_checkpoint.py --expert runs/small_n:8 --expert runs/fast:128
"""

import argparse
import json
import shutil
import time
from pathlib import Path

from mist import __version__
from mist.checkpoint import CONFIG, FORMAT_VERSION, WEIGHTS, load_checkpoint
from mist.evaluate import metrics
from mist.evaluate.calibrate import calibrate_checkpoint
from mist.evaluate.predict import network_rows
from mist.generate.suites import build_suite


def measure(model, batches):
    rows = network_rows(model, batches)
    return {"datasets": len(rows), **metrics.headline(rows)}


def describe(m: dict) -> str:
    """One line on an architecture config."""
    extra = " + the debiased copula feature" if m.get("debiased_copula") else ""
    if m["arch"] == "two_axis":
        return (f"`two_axis`: width {m['width']}, {m['blocks']} two-axis block(s), {m['heads']} heads, "
                f"{m['n_inducing']} inducing points, {m['pair_channels']} log-det pair channels{extra}")
    if m["arch"] == "pooled" and not m["blocks"]:
        return (f"`pooled` without blocks (learned marginal transforms, evaluated on the score table): "
                f"width {m['width']}, {m['pair_channels']} log-det pair channels{extra}")
    if m["arch"] == "pooled":
        hidden = m.get("block_hidden") or 2 * m["width"]
        return (f"`pooled`: width {m['width']}, {m['blocks']} pooled block(s) with {hidden} hidden units, "
                f"{m['pair_channels']} log-det pair channels{extra}")
    return f"`{m['arch']}`: width {m['width']}, {m['blocks']} block(s)"


def copy_run(run: Path, dst: Path) -> None:
    dst.mkdir(parents=True)
    for name in (WEIGHTS, CONFIG):
        shutil.copy(run / "model" / name, dst / name)


def write_routed(experts: list[str], dst: Path, blend: float) -> None:
    """checkpoints/<name>/config.json lists the experts; each is a full checkpoint in a subfolder."""
    specs = []
    for i, item in enumerate(experts):
        run, _, n_min = item.rpartition(":")
        if not run or not n_min.isdigit():
            raise SystemExit(f"--expert {item!r}: expected RUN:N_MIN, e.g. runs/fast:128")
        folder = f"expert{i}"
        copy_run(Path(run), dst / folder)
        specs.append({"folder": folder, "n_min": int(n_min)})
    config = {"format_version": FORMAT_VERSION, "mist_version": __version__, "experts": specs, "blend": blend}
    (dst / CONFIG).write_text(json.dumps(config, indent=2))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", help="a training run folder (its exported model/ is shipped)")
    ap.add_argument("--expert", action="append", default=[], metavar="RUN:N_MIN",
                    help="repeatable: a run and the smallest N it serves, for a routed checkpoint")
    ap.add_argument("--blend", type=float, default=1.25,
                    help="routed: blend neighbouring experts for N in [s / blend, s * blend) around each start s")
    ap.add_argument("--name", default="mist-default")
    ap.add_argument("--batches", type=int, default=48)
    ap.add_argument("--calibration-batches", type=int, default=128,
                    help="calib-split batches for the conformal interval calibration (0: none)")
    ap.add_argument("--recipe", default="python scripts/train.py experiment=cpu",
                    help="the training command(s) that produced the run, for the model card")
    args = ap.parse_args()
    if bool(args.run) == bool(args.expert):
        ap.error("give either --run or one --expert per expert")
    dst = Path("checkpoints") / args.name
    if dst.exists():
        shutil.rmtree(dst)
    if args.run:
        copy_run(Path(args.run), dst)
    else:
        write_routed(args.expert, dst, args.blend)
    if args.calibration_batches:
        calibration = calibrate_checkpoint(dst, args.calibration_batches,
                                           f"python scripts/calibrate.py --checkpoint {dst} --batches {args.calibration_batches}")
        for c in calibration.get("experts", [calibration]):
            print(f"calibration, N in {c['n_range']}: {c['sets']} calib sets, coverage before {c['coverage_before']}")
    model, loaded = load_checkpoint(dst)
    res = {s: measure(model, build_suite(s, args.batches)) for s in ("imd", "oomd")}
    source = f"--run {args.run}" if args.run else " ".join(f"--expert {e}" for e in args.expert)
    config = json.loads((dst / CONFIG).read_text())
    config["card"] = {"measured": res, "measured_on": time.strftime("%Y-%m-%d"),
                      "command": f"python scripts/export_checkpoint.py {source} --name {args.name} --batches {args.batches}",
                      "recipe": args.recipe}
    (dst / CONFIG).write_text(json.dumps(config, indent=2))
    parts = [(dst, loaded, "")] if args.run else [
        (dst / spec["folder"], sub, f"N {spec['n_min']}-{nxt['n_min'] - 1}: " if nxt else f"N >= {spec['n_min']}: ")
        for spec, nxt, sub in zip(config["experts"], config["experts"][1:] + [None], loaded["expert_configs"])]
    lines = [f"# {args.name}", ""]
    for folder, sub, prefix in parts:
        tr = sub["training"]
        lines += [f"{prefix}{describe(sub['model'])}; {(folder / WEIGHTS).stat().st_size / 1e6:.2f} MB. "
                  f"Its last training stage ran {tr.get('steps')} steps on {tr.get('sets_seen')} synthetic datasets, on CPU "
                  f"(see `training` in its config.json).", ""]
    if not args.run and args.blend > 1:
        lines += [f"Around each boundary s the two experts' z-quantiles are blended for N in [s / {args.blend:g}, "
                  f"s * {args.blend:g}), with a weight linear in log N (mist/network/routed.py).", ""]
    lines += [f"Quantile levels {[round(float(v), 4) for v in model.levels]}; {sum(p.numel() for p in model.parameters())} parameters in all. "
              f"Trained with `{args.recipe}`.", "",
             "Accuracy on the frozen suites (seeds disjoint from training; oomd = held-out family and transform):", "",
             "| suite | datasets | MAE | RMSE | bias | 90% coverage | 50% coverage | solved |",
             "|---|---|---|---|---|---|---|---|"]
    for s, r in res.items():
        lines.append(f"| {s} | {r['datasets']} | {r['mae']:.3f} | {r['rmse']:.3f} | {r['bias']:+.3f} | {r['cov90']:.2f} | "
                     f"{r['cov50']:.2f} | {r['solved']:.2f} |")
    cals = [sub.get("calibration") for _, sub, _ in parts]
    if all(cals):
        lines += ["", "Intervals: conformally calibrated (mist/network/calibration.py) on sets of the `calib` split"
                  + "".join(f"; N in {c['n_range']}: {c['sets']} sets, z offsets {[round(o, 3) for o in c['offsets_z']]}"
                            for c in cals) + "."]
    else:
        lines += ["", "Intervals: raw network quantiles (no calibration)."]
    lines += ["", f"Measured by `{config['card']['command']}`. Comparisons with KSG, CCA and neural bounds:",
              "`docs/benchmark.md` and `python scripts/bench_estimator.py`.", "",
              "Limits: trained on N in 8..2048 and 1..32 dims per side; MI per coordinate pair above ~4 nats is",
              "beyond what the prior shows (intervals widen there); larger N is handled by subset averaging."]
    (dst / "MODEL_CARD.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
