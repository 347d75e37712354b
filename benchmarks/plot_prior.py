"""Histograms of the training prior: MI, N, dx/dy, and the family mix (docs/prior.png).

    python benchmarks/plot_prior.py [--sets 5000] [--out docs/prior.png]
"""

import argparse
from collections import Counter

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mist.data.splits import batch_rng  # noqa: E402
from mist.data.prior import PriorConfig, sample_distribution, sample_shape  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", type=int, default=5000)
    ap.add_argument("--out", default="docs/prior.png")
    args = ap.parse_args()
    prior = PriorConfig()
    mi, ns, dxs, dys, fams = [], [], [], [], Counter()
    for k in range(args.sets):  # one set per batch index: the shapes follow the per-batch draw
        rng = batch_rng(0, "train", k)
        n, dx, dy = sample_shape(prior, rng)
        dist, family, _, _ = sample_distribution(prior, rng, dx, dy)
        mi.append(dist.mi); ns.append(n); dxs.append(dx); dys.append(dy); fams[family] += 1
    mi = np.array(mi)
    fig, ax = plt.subplots(1, 4, figsize=(17, 3.6))
    ax[0].hist(mi, bins=80, color="C0"); ax[0].set_yscale("log"); ax[0].set_xlabel("MI (nats)")
    ax[0].set_title(f"MI: {np.mean(mi <= 5):.0%} in 0..5 nats, max {mi.max():.1f}")
    ax[1].hist(ns, bins=np.geomspace(8, 2048, 30), color="C1"); ax[1].set_xscale("log"); ax[1].set_xlabel("N")
    ax[1].set_title("N (log-uniform 8..2048)")
    ax[2].hist([dxs, dys], bins=np.arange(0.5, 33.5), label=["dx", "dy"]); ax[2].legend()
    ax[2].set_xlabel("dimension"); ax[2].set_title("dx, dy (independent, log-uniform 1..32)")
    names = sorted(fams)
    ax[3].barh(names, [fams[f] / args.sets for f in names], color="C2"); ax[3].set_title("family share")
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)
    print(f"{args.sets} sets: MI mean {mi.mean():.2f}, median {np.median(mi):.2f}, share 0..5 nats {np.mean(mi <= 5):.3f}, "
          f"share MI=0 {np.mean(mi == 0):.3f}, share >10 {np.mean(mi > 10):.3f}, max {mi.max():.1f}")
    print("families: " + ", ".join(f"{f} {fams[f] / args.sets:.3f}" for f in names))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
