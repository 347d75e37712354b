"""How far the differentiable value `est.mi` (soft ranks) is from `est.estimate(...).mi` (hard
ranks), on the `imd` suite, for a few soft-rank temperatures.

    python benchmarks/soft_vs_hard.py                        # shipped checkpoint, 40 imd batches
    python benchmarks/soft_vs_hard.py --checkpoint runs/x/model --n-batches 8 --temperatures 0.02 0.05

Prints per temperature: mean |soft - hard| (nats), the hard estimate's MAE vs the true MI, their
ratio, the mean signed gap and the 90th percentile of |soft - hard|; also the soft estimate's
own MAE vs the truth, and the gap by sample size N. Sets are capped at `--max-n` samples (soft
ranks cost O(N^2) memory); the same capped set goes to both paths. Saves a scatter plot of soft
vs hard (soft_vs_hard.png) and the figures (soft_vs_hard.json) to --out.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from mist import MIEstimator
from mist.data.suites import build_suite


N_BANDS = ((8, 32), (32, 128), (128, 512), (512, 2049))


def compare(est: MIEstimator, n_batches: int, temperatures, max_n: int = 2048) -> dict:
    """{"true", "hard", "soft": {T: values}, "n", "d"} over the suite's sets (arrays)."""
    true, hard, n_, d_ = [], [], [], []
    soft = {t: [] for t in temperatures}
    for batch in build_suite("imd", n_batches):
        x, y = batch["x"][:, :max_n], batch["y"][:, :max_n]
        pairs = [(x[i].numpy(), y[i].numpy()) for i in range(len(x))]
        hard += [r.mi for r in est.estimate_many(pairs, constant_columns="drop")]
        true += batch["mi"].tolist()
        n_ += [x.shape[1]] * len(x)
        d_ += [x.shape[2] + y.shape[2]] * len(x)
        with torch.no_grad():
            for t in temperatures:
                soft[t] += est.mi(x, y, temperature=t, constant_columns="drop").tolist()
    return {"true": np.array(true), "hard": np.array(hard), "n": np.array(n_), "d": np.array(d_),
            "soft": {t: np.array(v) for t, v in soft.items()}}


def summarize(res: dict) -> dict:
    mae_hard = float(np.mean(np.abs(res["hard"] - res["true"])))
    out = {"sets": int(len(res["true"])), "mae_hard_vs_true": mae_hard, "per_temperature": {}}
    for t, s in res["soft"].items():
        gap = s - res["hard"]
        out["per_temperature"][t] = {
            "mean_abs_gap": float(np.mean(np.abs(gap))), "gap_over_mae": float(np.mean(np.abs(gap)) / mae_hard),
            "mean_gap": float(np.mean(gap)), "p90_abs_gap": float(np.quantile(np.abs(gap), 0.9)),
            "mae_soft_vs_true": float(np.mean(np.abs(s - res["true"]))),
            "mean_abs_gap_n_ge_256": float(np.mean(np.abs(gap[res["n"] >= 256]))) if (res["n"] >= 256).any() else None,
        }
    bands = {}
    for lo, hi in N_BANDS:
        m = (res["n"] >= lo) & (res["n"] < hi)
        if m.any():
            mae = float(np.mean(np.abs(res["hard"][m] - res["true"][m])))
            bands[f"{lo}-{hi - 1}"] = {"sets": int(m.sum()), "mae_hard_vs_true": mae, "mean_abs_gap": {
                t: float(np.mean(np.abs(s[m] - res["hard"][m]))) for t, s in res["soft"].items()}}
    out["by_n"] = bands
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the shipped one)")
    ap.add_argument("--n-batches", type=int, default=40)
    ap.add_argument("--temperatures", type=float, nargs="+", default=[0.01, 0.02, 0.05, 0.1, 0.2])
    ap.add_argument("--max-n", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="runs/examples")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    est = MIEstimator.from_pretrained(args.checkpoint)
    t0 = time.time()
    res = compare(est, args.n_batches, args.temperatures, args.max_n)
    summary = summarize(res)
    summary["checkpoint"] = str(args.checkpoint or "shipped default")
    print(f"imd suite: {summary['sets']} sets ({args.n_batches} batches), hard MAE vs truth "
          f"{summary['mae_hard_vs_true']:.4f} nats  ({time.time() - t0:.0f} s)")
    print(f"{'T':>6} {'mean|soft-hard|':>16} {'/ MAE':>7} {'mean gap':>9} {'p90|gap|':>9} {'soft MAE':>9} "
          f"{'|gap| N>=256':>13}")
    for t, r in summary["per_temperature"].items():
        big = r["mean_abs_gap_n_ge_256"]
        print(f"{t:6.3f} {r['mean_abs_gap']:16.4f} {r['gap_over_mae']:7.3f} {r['mean_gap']:+9.4f} "
              f"{r['p90_abs_gap']:9.4f} {r['mae_soft_vs_true']:9.4f} {big if big is None else f'{big:13.4f}'}")
    print("mean |soft - hard| by N (hard MAE vs truth in brackets):")
    for band, b in summary["by_n"].items():
        print(f"  N {band:>9} ({b['sets']:3d} sets, MAE {b['mae_hard_vs_true']:.3f}): "
              + "  ".join(f"T={t:g}: {v:.4f}" for t, v in b["mean_abs_gap"].items()))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "soft_vs_hard.json").write_text(json.dumps(summary, indent=2))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    hi = max(res["hard"].max(), max(s.max() for s in res["soft"].values())) * 1.05
    for t, s in res["soft"].items():
        axes[0].scatter(res["hard"], s, s=6, alpha=0.6, label=f"T={t}")
    axes[0].plot([0, hi], [0, hi], "k--", lw=0.8)
    axes[0].set(xlabel="estimate(...).mi (hard ranks) [nats]", ylabel="est.mi (soft ranks) [nats]",
                title="soft vs hard on imd")
    axes[0].legend(fontsize=8)
    ts = list(summary["per_temperature"])
    axes[1].plot(ts, [summary["per_temperature"][t]["mean_abs_gap"] for t in ts], "o-", label="mean |soft - hard|")
    axes[1].plot(ts, [summary["per_temperature"][t]["mae_soft_vs_true"] for t in ts], "s-", label="soft MAE vs truth")
    axes[1].axhline(summary["mae_hard_vs_true"], color="k", ls="--", label="hard MAE vs truth")
    axes[1].set(xscale="log", xlabel="temperature (x column IQR / 1.349)", ylabel="nats", title="gap vs temperature")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "soft_vs_hard.png", dpi=120)
    print(f"saved {out / 'soft_vs_hard.png'} and {out / 'soft_vs_hard.json'}")
    return summary


if __name__ == "__main__":
    main()
