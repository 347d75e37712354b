"""The shipped estimator against KSG (k=5) on the frozen suites, plus speed, in one run.

Prints: MAE overall and per N-bin (mist vs KSG and their ratio), 90%/50% interval coverage,
batched datasets/s at N=500, dx=dy=5 vs KSG on the same data, single-dataset latency, and the
time for N=100,000 with dx=dy=10. Both estimators go through the evaluation harness's one path
(mist.evaluate.rows): mist as users call it (MIEstimator.estimate_many), KSG behind the same
interface.

    python benchmarks/bench_estimator.py [--checkpoint PATH] [--batches 64] [--threads 1] [--speed-only]
"""

import argparse
import time

import numpy as np
import torch

from mist import MIEstimator
from mist import metrics
from mist.evaluate.ksg import ksg_mi
from mist.evaluate.estimators import KSG, option_kwargs
from mist.evaluate.rows import estimator_rows
from mist.data.suites import build_suite


def accuracy(est, name, batches):
    ours = estimator_rows(est, batches, name, "mist")
    ksg = estimator_rows(KSG(k=5, n_boot=0), batches, name, "ksg")
    t = np.array([r["true_mi"] for r in ours])
    e, k = np.array([r["estimate"] for r in ours]), np.array([r["estimate"] for r in ksg])
    lo90, hi90 = np.array([r["q0.05"] for r in ours]), np.array([r["q0.95"] for r in ours])
    lo50, hi50 = np.array([r["q0.25"] for r in ours]), np.array([r["q0.75"] for r in ours])
    print(f"\n[{name}] {len(t)} datasets, true MI mean {t.mean():.2f} nats")
    print(f"  {'group':<12} {'count':>5} {'mist MAE':>9} {'KSG MAE':>8} {'ratio':>6} {'cov90':>6} {'cov50':>6}")
    groups = [("all", np.ones(len(t), bool))]
    bins = np.array([metrics.n_bin(r["n"]) for r in ours])
    groups += [(b, bins == b) for b in metrics.n_bin.labels if (bins == b).any()]
    for g, m in groups:
        a, b = metrics.mae(e[m], t[m]), metrics.mae(k[m], t[m])
        print(f"  {g:<12} {m.sum():>5} {a:>9.4f} {b:>8.4f} {a / b:>6.3f} "
              f"{metrics.coverage(lo90[m], hi90[m], t[m]):>6.4f} {metrics.coverage(lo50[m], hi50[m], t[m]):>6.4f}")
    print(f"  solved (|log(e/t)| < log 1.5): mist {metrics.solved_share(e, t):.4f}, KSG {metrics.solved_share(k, t):.4f}")


def speed(est):
    rng = np.random.default_rng(0)
    pairs = []
    for _ in range(64):
        x = rng.standard_normal((500, 5))
        pairs.append((x, 0.6 * x + 0.8 * rng.standard_normal((500, 5))))
    est.estimate_many(pairs[:4])
    rounds = []  # interleaved, so both see the same machine load; the median round is reported
    for _ in range(3):
        t0 = time.perf_counter()
        est.estimate_many(pairs)
        ours = len(pairs) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for x, y in pairs[:16]:
            ksg_mi(x, y, k=5)
        theirs = 16 / (time.perf_counter() - t0)
        rounds.append((ours / theirs, ours, theirs))
    _, ours, theirs = sorted(rounds)[1]
    print(f"\n[speed] N=500, dx=dy=5, {torch.get_num_threads()} torch threads")
    print(f"  mist batched: {ours:.1f} datasets/s;  KSG: {theirs:.1f} datasets/s;  ratio {ours / theirs:.1f}x")
    lat = []
    for x, y in pairs[:10]:
        t0 = time.perf_counter()
        est.estimate(x, y)
        lat.append(time.perf_counter() - t0)
    print(f"  mist single-dataset latency: median {np.median(lat) * 1e3:.0f} ms")
    x = rng.standard_normal((100_000, 10))
    y = 0.5 * x + rng.standard_normal((100_000, 10))
    t0 = time.perf_counter()
    r = est.estimate(x, y)
    print(f"  N=100,000, dx=dy=10: {time.perf_counter() - t0:.1f} s, {r.n_subsets} subsets, "
          f"MI {r.mi:.2f} (true {-5 * np.log(1 - 0.25 / 1.25):.2f}), 90% [{r.interval()[0]:.2f}, {r.interval()[1]:.2f}]")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--batches", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--collapse-binary", choices=["on", "off"], default=None,
                    help="MIEstimator(collapse_binary=...) (design §12m); default: the estimator's default")
    ap.add_argument("--unmix", choices=["on", "off", "auto"], default=None,
                    help="MIEstimator(unmix=...) (design §12k); default: the estimator's default")
    ap.add_argument("--speed-only", action="store_true", help="skip the accuracy tables")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    est = MIEstimator.from_pretrained(args.checkpoint, **option_kwargs(args.unmix, args.collapse_binary))
    for name in () if args.speed_only else ("imd", "oomd"):
        accuracy(est, name, build_suite(name, args.batches))
    speed(est)


if __name__ == "__main__":
    main()
